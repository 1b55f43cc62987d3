#!/usr/bin/env bash
# The one command for release builds and packages, on a clean checkout (as root: the
# toolchain cache is under /var/cache, the .deb check uses chroot):
#
#   scripts/dist.sh          every router target, smoke runs under qemu, the unit tests for
#                            big-endian MIPS under qemu, all packages and their checks,
#                            the source tarball and a feed Makefile with its PKG_HASH
#   scripts/dist.sh --ci     what .ci/run does: x86_64 and big-endian mips only (builds,
#                            unit tests of mips under qemu, smoke runs), the amd64 .deb and
#                            the mips_24kc and x86_64 .ipk, checked, and the source tarball
#                            with its feed Makefile, checked
#
# A release runs it on its tag with --home URL (the project's home: the feed Makefile's
# PKG_SOURCE_URL is URL/releases/download/vVERSION, where the tarball is uploaded) and
# --maintainer "Name <email>" (default: git config user.name and user.email): the
# Makefile in dist/openwrt-feed/net/cisco-autoprov/ is then the one to send to the feed.
#
# Steps and their times here (2 cores, toolchain cached; BENCHMARKS.md, "Router builds"):
# scripts/cross.sh setup (16 s the first time, 0 s after), builds (55-70 s per target),
# smoke runs (a few seconds each), unit tests under qemu (~4 min for mips), packages and
# checks (~20 s the first time: the minimal Debian root for dpkg -i, then < 1 s each).
# Output: dist/ (binaries in dist/bin, packages, SHA256SUMS, sizes.txt).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dist=${DIST_DIR:-$repo/dist}
cd "$repo"

say() { printf '\033[1;34mdist:\033[0m %s\n' "$*" >&2; }
step() {
    local started=$SECONDS
    say "== $*"
    "$@" || { printf '\033[1;31mdist: FAILED:\033[0m %s\n' "$*" >&2; exit 1; }
    say "== done in $((SECONDS - started)) s: $*"
}

ci=""
home=${CISCO_AUTOPROV_HOME:-}
maintainer=${CISCO_AUTOPROV_MAINTAINER:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --ci) ci=1 ;;
    --home) home=${2:?--home needs a URL}; shift ;;
    --maintainer) maintainer=${2:?--maintainer needs "Name <email>"}; shift ;;
    *) sed -n '2,/^set -e/{/^#/p}' "$0" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$maintainer" ] && git config user.email > /dev/null; then
    maintainer="$(git config user.name) <$(git config user.email)>"
fi

if [ -n "$ci" ]; then
    targets="x86_64 mips"
    debs="amd64"
    ipks="x86_64 mips_24kc"
    tests="mips"
else
    targets="x86_64 mips mipsel aarch64 armv7 arm"
    debs="amd64 arm64 armhf"
    ipks="x86_64 mipsel_24kc mips_24kc aarch64_cortex-a53 aarch64_generic arm_cortex-a7_neon-vfpv4 arm_arm1176jzf-s_vfp"
    tests="mips"
fi

started=$SECONDS
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# shellcheck disable=SC2086 # word lists
{
    step scripts/cross.sh setup
    step scripts/cross.sh build $targets
    step scripts/cross.sh smoke $targets
    step scripts/cross.sh test $tests
    step scripts/package.sh deb $debs
    for arch in $debs; do step scripts/package.sh check-deb "$dist/cisco-autoprov_${version}-1_$arch.deb"; done
    step scripts/package.sh ipk $ipks
    for arch in $ipks; do step scripts/package.sh check-ipk "$dist/cisco-autoprov_${version}-r1_$arch.ipk"; done
}

# The source tarball of HEAD (a release runs this on its tag) and the feed Makefile for it.
feed() {
    local tarball="$dist/cisco-autoprov-$version.tar.gz" feed_dir="$dist/openwrt-feed/net/cisco-autoprov"
    git archive --format=tar --prefix="cisco-autoprov-$version/" HEAD | gzip -9n > "$tarball"
    local hash
    hash=$(sha256sum "$tarball" | cut -d' ' -f1)
    rm -rf "$dist/openwrt-feed"
    mkdir -p "$feed_dir"
    cp -a contrib/openwrt/cisco-autoprov/. "$feed_dir/"
    rm -f "$feed_dir/test.sh"
    local makefile="$feed_dir/Makefile" url="${home:-https://cisco-autoprov.invalid}"
    url=${url%/}
    # Literal lines, as the feed wants them: no variable of ours left.
    # Our notes on the release scheme are for this repository, not for the feed.
    sed -i -e '2,/^include /{/^#/d}' -e '/^# The source is the release tarball/,/USE_SOURCE_DIR/d' \
        -e '/^CISCO_AUTOPROV_HOME:=/d' -e "s|\$(CISCO_AUTOPROV_HOME)|$url|g" \
        -e "s/^PKG_HASH:=.*/PKG_HASH:=$hash/" "$makefile"
    [ -z "$maintainer" ] || sed -i "s|^PKG_MAINTAINER:=.*|PKG_MAINTAINER:=$maintainer|" "$makefile"
    # The checks: what the feed's build will download and verify.
    local problems=""
    grep -q 'CISCO_AUTOPROV_' "$makefile" && problems="$problems; a variable of ours is left"
    grep -qx "PKG_HASH:=$hash" "$makefile" || problems="$problems; PKG_HASH is not the tarball's sha256"
    grep -qx "PKG_SOURCE_URL:=$url/releases/download/v\$(PKG_VERSION)" "$makefile" ||
        problems="$problems; PKG_SOURCE_URL is not $url/releases/download/v\$(PKG_VERSION)"
    grep -qx "PKG_VERSION:=$version" "$makefile" || problems="$problems; PKG_VERSION is not $version (Cargo.toml)"
    grep -qE '^PKG_MAINTAINER:=[^<>]+ <[^@<> ]+@[^@<> ]+>$' "$makefile" ||
        problems="$problems; PKG_MAINTAINER is not 'Name <email>'"
    local listed file
    listed=$(tar -tzf "$tarball")
    for file in Cargo.toml Cargo.lock $(sed -n 's/^PKG_LICENSE_FILES:=//p' "$makefile"); do
        grep -qx "cisco-autoprov-$version/$file" <<< "$listed" || problems="$problems; the tarball has no $file"
    done
    [ -z "$problems" ] || { printf '\033[1;31mdist: feed Makefile:\033[0m %s\n' "${problems#; }" >&2; return 1; }
    say "source: $(basename "$tarball"), sha256 $hash; feed Makefile: dist/openwrt-feed/net/cisco-autoprov/Makefile"
    local not_ready=""
    case "$url" in *.invalid) not_ready="no --home (the release URL is a placeholder)" ;; esac
    case "$maintainer" in "" | *.example\> | *.invalid\>) not_ready="${not_ready:+$not_ready, }no --maintainer with a real address" ;; esac
    [ -z "$not_ready" ] || say "feed Makefile: not for submission: $not_ready"
}
step feed

{
    echo "# stripped sizes, bytes (profile release: opt-level z, LTO, panic unwind; -abort: release-abort)"
    for f in "$dist"/bin/cisco-autoprov-*; do echo "$(stat -c %s "$f") $(basename "$f")"; done
} > "$dist/sizes.txt"
(cd "$dist" && sha256sum ./*.deb ./*.ipk ./*.tar.gz 2>/dev/null > SHA256SUMS) || true
cat "$dist/sizes.txt" >&2
say "all done in $((SECONDS - started)) s: $(find "$dist" -maxdepth 1 -name '*.deb' -o -maxdepth 1 -name '*.ipk' | sort | tr '\n' ' ')"
