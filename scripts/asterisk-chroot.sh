#!/usr/bin/env bash
# Builds (once) the Debian sid chroot with Asterisk that tests/e2e_asterisk.rs runs.
#
# Asterisk is not in bookworm, and sid's package needs sid's libc, so it runs in a minimal sid
# chroot built by mmdebstrap (field-evidence.md §2): essential packages plus `asterisk`, no
# recommends, no docs. The user `asterisk` gets a fixed id (ASTERISK_UID, default 64990) that
# does not collide with the host's users, so files the daemon writes on the host can be given
# to Asterisk's group across the chroot boundary.
#
# The chroot is cached: an existing, complete one is kept (a marker file says it is complete),
# so only the first run pays for the download. The tests never write into it: each test mounts
# an overlay on top of it in a mount namespace of its own.
#
# Usage: scripts/asterisk-chroot.sh [DIR]   (default /var/cache/cisco-autoprov-test/asterisk-sid)
set -euo pipefail

dir=${1:-${ASTERISK_CHROOT:-/var/cache/cisco-autoprov-test/asterisk-sid}}
uid=${ASTERISK_UID:-64990}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
marker="$dir/.cisco-autoprov-complete"

if [ -e "$marker" ]; then
    echo "asterisk chroot: cached at $dir ($(cat "$marker"))"
    exit 0
fi
command -v mmdebstrap >/dev/null || { echo "asterisk chroot: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }

parent=$(dirname "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.asterisk-sid.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
started=$(date +%s)

# sid's Release may be past its Valid-Until on a mirror snapshot: signatures are still
# checked, with the host's keyring.
mmdebstrap \
    --variant=essential \
    --include=asterisk \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='u=$(chroot "$1" id -u asterisk); g=$(chroot "$1" id -g asterisk); chroot "$1" groupmod -g '"$uid"' asterisk; chroot "$1" usermod -u '"$uid"' asterisk; chroot "$1" find / -xdev -uid "$u" -exec chown -h '"$uid"' {} +; chroot "$1" find / -xdev -gid "$g" -exec chgrp -h '"$uid"' {} +' \
    --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages' \
    sid "$tmp/root" "$mirror"

version=$(chroot "$tmp/root" dpkg-query -W -f '${Version}' asterisk)
echo "asterisk $version, built in $(( $(date +%s) - started )) s, $(du -sm "$tmp/root" | cut -f1) MB" > "$tmp/root/.cisco-autoprov-complete"
rm -rf "$dir"
mv "$tmp/root" "$dir"
echo "asterisk chroot: built at $dir ($(cat "$marker"))"
