#!/usr/bin/env bash
# Packages of cisco-autoprov from the static builds in dist/bin (scripts/cross.sh build), and
# their checks.
#
#   scripts/package.sh deb [ARCH...]     Debian .deb: amd64 arm64 armhf (default: amd64)
#   scripts/package.sh ipk [ARCH...]     OpenWrt .ipk (opkg, 23.05/24.10): x86_64 mipsel_24kc
#                                        mips_24kc aarch64_cortex-a53 aarch64_generic
#                                        arm_cortex-a7_neon-vfpv4 arm_arm1176jzf-s_vfp
#                                        (default: those whose binary is in dist/bin)
#   scripts/package.sh check-deb FILE    file list, modes, conffiles, control; then dpkg -i, a
#                                        reinstall, -r and -P in a minimal Debian root (mmdebstrap,
#                                        cached) with a policy-rc.d that refuses every start
#   scripts/package.sh check-ipk FILE    file list, modes, conffiles, control; then the maintainer
#                                        scripts against a stand-in OpenWrt root (busybox sh)
#
# Packages land in dist/. Everything the packages hold comes from contrib/ (the OpenWrt
# files are those contrib/openwrt/cisco-autoprov/Makefile installs; tests/snippets.rs checks
# the two lists agree). Archives are reproducible: owner root, sorted, mtime of the last commit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dist=${DIST_DIR:-$repo/dist}
cache=${CROSS_CACHE:-/var/cache/cisco-autoprov-build}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
maintainer=$(sed -n 's/^PKG_MAINTAINER:=//p' "$repo/contrib/openwrt/cisco-autoprov/Makefile")
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
owrt="$repo/contrib/openwrt/cisco-autoprov/files"

say() { printf '\033[1mpackage:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mpackage: error:\033[0m %s\n' "$*" >&2; exit 1; }

# A reproducible tar.gz of directory $1 (contents as ./...) into $2.
tar_gz() {
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu \
        -C "$1" -cf - . | gzip -9n > "$2"
}

triple_of_deb() {
    case "$1" in
    amd64) echo x86_64-unknown-linux-musl ;;
    arm64) echo aarch64-unknown-linux-musl ;;
    armhf) echo armv7-unknown-linux-musleabihf ;;
    *) die "unknown Debian architecture '$1' (amd64, arm64, armhf)" ;;
    esac
}

triple_of_ipk() {
    case "$1" in
    x86_64) echo x86_64-unknown-linux-musl ;;
    mipsel_24kc) echo mipsel-unknown-linux-musl ;;
    mips_24kc) echo mips-unknown-linux-musl ;;
    aarch64_cortex-a53 | aarch64_generic) echo aarch64-unknown-linux-musl ;;
    arm_cortex-a7_neon-vfpv4) echo armv7-unknown-linux-musleabihf ;;
    arm_arm1176jzf-s_vfp) echo arm-unknown-linux-musleabihf ;;
    *) die "unknown OpenWrt architecture '$1'" ;;
    esac
}
all_ipk_arches="x86_64 mipsel_24kc mips_24kc aarch64_cortex-a53 aarch64_generic arm_cortex-a7_neon-vfpv4 arm_arm1176jzf-s_vfp"

binary_for() {
    local bin="$dist/bin/cisco-autoprov-$1"
    [ -x "$bin" ] || die "no $bin: run scripts/cross.sh build $1 first"
    echo "$bin"
}

description="Auto-provisioning of used Cisco IP phones for Asterisk/FreePBX"
# The long description as control files want it: each line indented by one space.
long_description=" Watches the DHCP server's leases and the TFTP server's log, detects Cisco IP
 phones (79xx and others) and writes their SEP<MAC>.cnf.xml into the TFTP root,
 so that they register with an Asterisk/FreePBX box."

# --- Debian --------------------------------------------------------------------------------

build_deb() {
    local arch="$1" bin
    bin=$(binary_for "$(triple_of_deb "$arch")")
    local work
    work=$(mktemp -d)
    local root="$work/root" control="$work/control"
    mkdir -p "$root" "$control"
    install -D -m 755 "$bin" "$root/usr/sbin/cisco-autoprov"
    install -D -m 644 "$repo/contrib/systemd/cisco-autoprov.service" "$root/lib/systemd/system/cisco-autoprov.service"
    install -D -m 644 "$repo/contrib/debian/config.toml" "$root/etc/cisco-autoprov/config.toml"
    install -D -m 755 "$repo/contrib/dnsmasq/dhcp-script" "$root/usr/libexec/cisco-autoprov/dhcp-script"
    install -D -m 644 "$repo/man/cisco-autoprov.1" "$root/usr/share/man/man1/cisco-autoprov.1"
    gzip -9n "$root/usr/share/man/man1/cisco-autoprov.1"
    install -D -m 644 "$repo/contrib/completions/cisco-autoprov.bash" "$root/usr/share/bash-completion/completions/cisco-autoprov"
    local doc="$root/usr/share/doc/cisco-autoprov"
    install -D -m 644 "$repo/contrib/dnsmasq/cisco-autoprov.conf" "$doc/examples/dnsmasq.d/cisco-autoprov.conf"
    install -D -m 644 "$repo/contrib/isc-dhcp/cisco-autoprov.conf" "$doc/examples/isc-dhcp/cisco-autoprov.conf"
    install -D -m 644 "$repo/contrib/isc-dhcp/cisco-autoprov-hooks.conf" "$doc/examples/isc-dhcp/cisco-autoprov-hooks.conf"
    install -D -m 644 "$repo/contrib/kea/cisco-autoprov.json" "$doc/examples/kea/cisco-autoprov.json"
    gzip -9n < "$repo/README.md" > "$doc/README.md.gz" && chmod 644 "$doc/README.md.gz"
    {
        echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
        echo "Upstream-Name: cisco-autoprov"
        echo
        echo "Files: *"
        echo "Copyright: the cisco-autoprov authors"
        echo "License: MIT or Apache-2.0"
        echo " On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0."
        echo " The MIT license:"
        echo " ."
        sed -n '/^Permission is hereby granted/,$p' "$repo/LICENSE-MIT" | sed 's/^$/./; s/^/ /'
    } > "$doc/copyright"
    chmod 644 "$doc/copyright"
    find "$root" -type d -exec chmod 755 {} +

    local installed_size
    installed_size=$(du -sk --apparent-size "$root" | cut -f1)
    cat > "$control/control" <<EOF
Package: cisco-autoprov
Version: $version-1
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Suggests: dnsmasq | tftpd-hpa | atftpd
Section: net
Priority: optional
Description: $description
$long_description
 .
 A static binary: it needs no library. The service starts only once configured
 and enabled (systemctl enable --now cisco-autoprov).
EOF
    echo "/etc/cisco-autoprov/config.toml" > "$control/conffiles"
    install -m 755 "$repo/contrib/debian/postinst" "$repo/contrib/debian/prerm" "$repo/contrib/debian/postrm" "$control/"
    (cd "$root" && find . -type f ! -path ./DEBIAN/\* -printf '%P\0' | sort -z | xargs -0 md5sum) > "$control/md5sums"
    chmod 644 "$control/control" "$control/conffiles" "$control/md5sums"

    mkdir -p "$dist"
    local out="$dist/cisco-autoprov_${version}-1_$arch.deb"
    cp -a "$control" "$root/DEBIAN"
    find "$root" -exec touch -h -d "@$epoch" {} +
    SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$root" "$out" > /dev/null ||
        die "dpkg-deb --build failed"
    rm -rf "$work"
    say "built $(basename "$out") ($(stat -c %s "$out") bytes)"
}

# The expected contents of the .deb: mode path (conffile marked by its listing in conffiles).
deb_expected() {
    cat <<'EOF'
drwxr-xr-x ./etc/
drwxr-xr-x ./etc/cisco-autoprov/
-rw-r--r-- ./etc/cisco-autoprov/config.toml
drwxr-xr-x ./lib/
drwxr-xr-x ./lib/systemd/
drwxr-xr-x ./lib/systemd/system/
-rw-r--r-- ./lib/systemd/system/cisco-autoprov.service
drwxr-xr-x ./usr/
drwxr-xr-x ./usr/libexec/
drwxr-xr-x ./usr/libexec/cisco-autoprov/
-rwxr-xr-x ./usr/libexec/cisco-autoprov/dhcp-script
drwxr-xr-x ./usr/sbin/
-rwxr-xr-x ./usr/sbin/cisco-autoprov
drwxr-xr-x ./usr/share/
drwxr-xr-x ./usr/share/bash-completion/
drwxr-xr-x ./usr/share/bash-completion/completions/
-rw-r--r-- ./usr/share/bash-completion/completions/cisco-autoprov
drwxr-xr-x ./usr/share/doc/
drwxr-xr-x ./usr/share/doc/cisco-autoprov/
-rw-r--r-- ./usr/share/doc/cisco-autoprov/README.md.gz
-rw-r--r-- ./usr/share/doc/cisco-autoprov/copyright
drwxr-xr-x ./usr/share/doc/cisco-autoprov/examples/
drwxr-xr-x ./usr/share/doc/cisco-autoprov/examples/dnsmasq.d/
-rw-r--r-- ./usr/share/doc/cisco-autoprov/examples/dnsmasq.d/cisco-autoprov.conf
drwxr-xr-x ./usr/share/doc/cisco-autoprov/examples/isc-dhcp/
-rw-r--r-- ./usr/share/doc/cisco-autoprov/examples/isc-dhcp/cisco-autoprov-hooks.conf
-rw-r--r-- ./usr/share/doc/cisco-autoprov/examples/isc-dhcp/cisco-autoprov.conf
drwxr-xr-x ./usr/share/doc/cisco-autoprov/examples/kea/
-rw-r--r-- ./usr/share/doc/cisco-autoprov/examples/kea/cisco-autoprov.json
drwxr-xr-x ./usr/share/man/
drwxr-xr-x ./usr/share/man/man1/
-rw-r--r-- ./usr/share/man/man1/cisco-autoprov.1.gz
EOF
}

# A minimal Debian 12 root (essential packages: dpkg, sh, coreutils), built once and cached.
deb_root() {
    local dir="$cache/deb-root-bookworm"
    if [ ! -e "$dir/.complete" ]; then
        command -v mmdebstrap > /dev/null || die "mmdebstrap is missing (apt-get install mmdebstrap)"
        say "check-deb: building a minimal Debian 12 root in $dir (once)"
        rm -rf "$dir.tmp"
        mmdebstrap --quiet --variant=essential \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' \
            bookworm "$dir.tmp" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" ||
            die "mmdebstrap of a Debian 12 root failed"
        rm -rf "$dir" && mv "$dir.tmp" "$dir"
        touch "$dir/.complete"
    fi
    echo "$dir"
}

check_deb() {
    local deb="${1:?check-deb FILE}"
    [ -f "$deb" ] || die "no $deb"
    deb=$(readlink -f "$deb")
    local work
    work=$(mktemp -d)
    # shellcheck disable=SC2064 # $work now
    trap "rm -rf '$work'" RETURN
    say "check-deb: $(basename "$deb")"

    # 1. The archive: members, file list with modes and owners, control fields, conffiles.
    [ "$(ar t "$deb" | tr '\n' ' ')" = "debian-binary control.tar.xz data.tar.xz " ] ||
        die "unexpected members: $(ar t "$deb" | tr '\n' ' ')"
    dpkg-deb -c "$deb" | awk '$6 != "./" { print $1, $2, $6 }' > "$work/list"
    awk '$2 != "root/root" { print; bad = 1 } END { exit bad }' "$work/list" || die "files not owned by root"
    awk '{ print $1, $3 }' "$work/list" > "$work/got"
    deb_expected > "$work/want"
    diff -u "$work/want" "$work/got" >&2 || die "the file list or a mode differs from the expected one"
    dpkg-deb -f "$deb" Package Version Architecture Maintainer > "$work/fields"
    grep -q "^Maintainer: .*<.*@.*>" "$work/fields" || die "no Maintainer with an email"
    mkdir "$work/control"
    dpkg-deb -e "$deb" "$work/control"
    [ "$(cat "$work/control/conffiles")" = "/etc/cisco-autoprov/config.toml" ] || die "conffiles: $(cat "$work/control/conffiles")"
    local script
    for script in postinst prerm postrm; do
        [ "$(stat -c %a "$work/control/$script")" = 755 ] || die "$script is not 0755"
    done
    if command -v shellcheck > /dev/null; then
        shellcheck "$work/control/postinst" "$work/control/prerm" "$work/control/postrm" || die "maintainer scripts fail shellcheck"
    fi
    (cd "$work" && mkdir data && dpkg-deb -x "$deb" data && cd data && md5sum --quiet -c ../control/md5sums) ||
        die "md5sums do not match"
    say "ok: members, $(grep -c . "$work/want") entries with their modes, root-owned, conffiles, md5sums"

    # 2. dpkg -i, a reinstall (the upgrade path), -r, -P in a copy of a minimal Debian root.
    # dpkg --root runs the maintainer scripts chrooted there; policy-rc.d refuses every start,
    # and /run/systemd/system is absent, so no service can start, on the host or in there.
    local base root="$work/root"
    base=$(deb_root)
    cp -a "$base" "$root"
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    cp "$deb" "$root/tmp/pkg.deb"
    in_root() { chroot "$root" "$@"; }
    # A package for another CPU installs with --force-architecture; its binary is not run.
    local native=1 force=""
    if [ "$(dpkg-deb -f "$deb" Architecture)" != "$(dpkg --print-architecture)" ]; then
        native=0
        force=--force-architecture
    fi
    in_root dpkg -i $force /tmp/pkg.deb > "$work/install.log" 2>&1 || { cat "$work/install.log" >&2; die "dpkg -i failed"; }
    grep -q "not started" "$work/install.log" || die "postinst did not say the service is not started"
    [ "$(in_root dpkg-query -W -f "\${Status}" cisco-autoprov)" = "install ok installed" ] || die "not installed"
    [ -d "$root/srv/tftp" ] || die "postinst did not create /srv/tftp"
    [ "$(stat -c %a "$root/var/lib/cisco-autoprov")" = 700 ] || die "postinst did not create /var/lib/cisco-autoprov 0700"
    [ ! -e "$root/etc/systemd/system/multi-user.target.wants/cisco-autoprov.service" ] || die "the service was enabled"
    if [ "$native" = 1 ]; then
        in_root /usr/sbin/cisco-autoprov --version > /dev/null || die "the installed binary does not run"
    fi
    # Not configured yet: check says so (the shipped config's empty [pbx] host).
    if [ "$native" = 0 ]; then
        say "check-deb: $(dpkg-deb -f "$deb" Architecture) package: its binary is not run here"
    elif in_root /usr/sbin/cisco-autoprov check -c /etc/cisco-autoprov/config.toml > "$work/check.out" 2>&1; then
        cat "$work/check.out" >&2
        die "check passed on the unconfigured example config"
    fi
    [ "$native" = 0 ] || grep -q 'pbx.host ""' "$work/check.out" || { cat "$work/check.out" >&2; die "check did not name the unconfigured PBX host"; }
    # A local edit of the conffile survives a reinstall.
    echo "# local edit" >> "$root/etc/cisco-autoprov/config.toml"
    in_root dpkg -i $force /tmp/pkg.deb > "$work/reinstall.log" 2>&1 || { cat "$work/reinstall.log" >&2; die "reinstall failed"; }
    grep -q "# local edit" "$root/etc/cisco-autoprov/config.toml" || die "the conffile edit was lost on reinstall"
    mkdir -p "$root/var/lib/cisco-autoprov" && echo '{}' > "$root/var/lib/cisco-autoprov/state.json"
    in_root dpkg -r cisco-autoprov > "$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; die "dpkg -r failed"; }
    [ ! -e "$root/usr/sbin/cisco-autoprov" ] || die "the binary stayed after dpkg -r"
    [ -e "$root/etc/cisco-autoprov/config.toml" ] || die "the conffile went with dpkg -r"
    in_root dpkg -P cisco-autoprov > "$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; die "dpkg -P failed"; }
    [ ! -e "$root/etc/cisco-autoprov" ] || die "/etc/cisco-autoprov stayed after purge"
    [ ! -e "$root/var/lib/cisco-autoprov" ] || die "the state stayed after purge"
    local refused="check refuses the unconfigured config"
    [ "$native" = 1 ] || refused="binary not run: foreign CPU"
    say "ok: dpkg -i (nothing enabled or started, $refused), reinstall keeps the edited conffile, -r keeps it, -P removes it and the state"
}

# --- OpenWrt ipk ---------------------------------------------------------------------------

# The files of the OpenWrt package: mode, source, destination (as the Makefile installs them).
ipk_files() {
    cat <<EOF
755 BIN /usr/sbin/cisco-autoprov
755 $owrt/cisco-autoprov.init /etc/init.d/cisco-autoprov
600 $owrt/cisco-autoprov.config /etc/config/cisco-autoprov
644 $owrt/cisco-autoprov.uci-defaults /etc/uci-defaults/90-cisco-autoprov
644 $owrt/cisco-autoprov.keep /lib/upgrade/keep.d/cisco-autoprov
644 $owrt/cisco-autoprov.hotplug-dhcp /etc/hotplug.d/dhcp/50-cisco-autoprov
644 $owrt/cisco-autoprov.hotplug-tftp /etc/hotplug.d/tftp/50-cisco-autoprov
EOF
}

build_ipk() {
    local arch="$1" bin
    bin=$(binary_for "$(triple_of_ipk "$arch")")
    local work
    work=$(mktemp -d)
    local data="$work/data" control="$work/control" outer="$work/outer"
    mkdir -p "$data" "$control" "$outer"
    local mode src dest
    while read -r mode src dest; do
        [ "$src" = BIN ] && src="$bin"
        install -D -m "$mode" "$src" "$data$dest"
    done < <(ipk_files)
    mkdir -p "$data/etc/cisco-autoprov"
    find "$data" -type d -exec chmod 755 {} +
    local size
    size=$(du -sb "$data" | cut -f1)
    {
        echo "Package: cisco-autoprov"
        echo "Version: $version-r1"
        echo "Depends: libc"
        echo "Source: feeds/cisco_autoprov/cisco-autoprov"
        echo "SourceName: cisco-autoprov"
        echo "License: $(sed -n 's/^PKG_LICENSE:=//p' "$repo/contrib/openwrt/cisco-autoprov/Makefile")"
        echo "LicenseFiles: $(sed -n 's/^PKG_LICENSE_FILES:=//p' "$repo/contrib/openwrt/cisco-autoprov/Makefile")"
        echo "Section: net"
        echo "SourceDateEpoch: $epoch"
        echo "Maintainer: $maintainer"
        echo "Architecture: $arch"
        echo "Installed-Size: $size"
        echo "Description: $description"
        echo "$long_description"
    } > "$control/control"
    echo "/etc/config/cisco-autoprov" > "$control/conffiles"
    # What OpenWrt's include/package-pack.mk writes: default_postinst/default_prerm (uci-defaults,
    # enable + start of the init script, which starts nothing while `enabled` is 0), and the
    # package's own parts as postinst-pkg/prerm-pkg.
    cat > "$control/postinst" <<'EOF'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
EOF
    cat > "$control/prerm" <<'EOF'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
EOF
    sed -n '/^define Package\/cisco-autoprov\/prerm$/,/^endef$/p' "$repo/contrib/openwrt/cisco-autoprov/Makefile" |
        sed '1d;$d;s/\$\$/$/g' > "$control/prerm-pkg"
    [ -s "$control/prerm-pkg" ] || rm -f "$control/prerm-pkg"
    chmod 644 "$control/control" "$control/conffiles"
    chmod 755 "$control/postinst" "$control/prerm"
    [ ! -e "$control/prerm-pkg" ] || chmod 755 "$control/prerm-pkg"

    echo "2.0" > "$outer/debian-binary"
    tar_gz "$control" "$outer/control.tar.gz"
    tar_gz "$data" "$outer/data.tar.gz"
    mkdir -p "$dist"
    local out="$dist/cisco-autoprov_${version}-r1_$arch.ipk"
    # As OpenWrt's scripts/ipkg-build: a gzipped tar of the three members.
    tar --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu -C "$outer" \
        -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -9n > "$out"
    rm -rf "$work"
    say "built $(basename "$out") ($(stat -c %s "$out") bytes)"
}

check_ipk() {
    local ipk="${1:?check-ipk FILE}"
    [ -f "$ipk" ] || die "no $ipk"
    ipk=$(readlink -f "$ipk")
    local work
    work=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    say "check-ipk: $(basename "$ipk")"
    mkdir "$work/outer" "$work/control" "$work/data"
    tar -xzf "$ipk" -C "$work/outer" || die "not a tar.gz"
    [ "$(tar -tzf "$ipk" | tr '\n' ' ')" = "./debian-binary ./data.tar.gz ./control.tar.gz " ] ||
        die "members: $(tar -tzf "$ipk" | tr '\n' ' ')"
    [ "$(cat "$work/outer/debian-binary")" = "2.0" ] || die "debian-binary is not 2.0"
    tar -xzf "$work/outer/control.tar.gz" -C "$work/control"
    tar -xzf "$work/outer/data.tar.gz" -C "$work/data"
    tar -tvzf "$work/outer/data.tar.gz" | awk '$2 != "0/0" { print; bad = 1 } END { exit bad }' ||
        die "files not owned by 0/0"
    local mode src dest
    while read -r mode src dest; do
        [ -f "$work/data$dest" ] || die "missing $dest"
        [ "$(stat -c %a "$work/data$dest")" = "$mode" ] || die "$dest has mode $(stat -c %a "$work/data$dest"), not $mode"
        [ "$src" = BIN ] || cmp -s "$src" "$work/data$dest" || die "$dest differs from $src"
    done < <(ipk_files)
    local expected got
    expected=$( (ipk_files | awk '{ print "." $3 }'; echo ./etc/cisco-autoprov) | sort)
    got=$(cd "$work/data" && find . -mindepth 1 ! -type d -print -o -type d -empty -print | sort)
    [ "$expected" = "$got" ] || die "file list differs: $(diff <(echo "$expected") <(echo "$got") | tr '\n' ' ')"
    [ "$(cat "$work/control/conffiles")" = /etc/config/cisco-autoprov ] || die "conffiles"
    local field
    for field in Package Version Depends License Section Maintainer Architecture Installed-Size Description; do
        grep -q "^$field: ." "$work/control/control" || die "control has no $field"
    done
    sh -n "$work/control/postinst" || die "postinst does not parse"
    sh -n "$work/control/prerm" || die "prerm does not parse"
    # The data files run as they would on the router: the init script prints the TOML from the
    # shipped uci config (tests/snippets.rs checks it is accepted), the binary is the target's.
    say "ok: members, $(echo "$expected" | wc -l) files with their modes and contents, root-owned, conffiles, control fields"
    if command -v busybox > /dev/null; then
        opkg_install_sim "$work"
    fi
}

# The maintainer scripts against a stand-in OpenWrt root: /lib/functions.sh with the real
# default_postinst/default_prerm logic reduced to what they do for this package (uci-defaults
# sourced then deleted, init script enabled and started), uci and the init script's rc.common
# stubbed; busybox sh as on the router. What it proves: installing changes nothing in
# /etc/config/dhcp while the service is disabled, and starting a disabled service starts
# nothing; removal runs prerm-pkg.
opkg_install_sim() {
    local work="$1" root="$1/owrt"
    mkdir -p "$root/lib" "$root/usr/lib/opkg/info" "$root/etc/rc.d" "$root/bin"
    cp -a "$work/data/." "$root/"
    (cd "$work/data" && find . ! -type d | sed 's/^\.//') > "$root/usr/lib/opkg/info/cisco-autoprov.list"
    cp "$work/control/postinst" "$root/usr/lib/opkg/info/cisco-autoprov.postinst"
    cp "$work/control/prerm" "$root/usr/lib/opkg/info/cisco-autoprov.prerm"
    [ ! -e "$work/control/prerm-pkg" ] || cp "$work/control/prerm-pkg" "$root/usr/lib/opkg/info/cisco-autoprov.prerm-pkg"
    : > "$root/calls.log"
    cat > "$root/lib/functions.sh" <<'EOF'
# Stand-in for OpenWrt's /lib/functions.sh (default_postinst/default_prerm as in base-files:
# uci-defaults of the package sourced and removed when they exit 0, init scripts enabled and
# started; on removal prerm-pkg, then stop and disable). uci and the init script are logged.
uci() { echo "uci $*" >> "$SIM_ROOT/calls.log"; case "$1 $2" in "-q get") return 1 ;; esac; return 0; }
pidof() { return 1; }
default_postinst() {
	local filelist="$SIM_ROOT/usr/lib/opkg/info/cisco-autoprov.list" i
	for i in $(grep -s "^/etc/uci-defaults/" "$filelist"); do
		( [ -f "$SIM_ROOT$i" ] && cd "$(dirname "$SIM_ROOT$i")" && . "$SIM_ROOT$i" ) && rm -f "$SIM_ROOT$i"
	done
	for i in $(grep -s "^/etc/init.d/" "$filelist"); do
		echo "init $i enable" >> "$SIM_ROOT/calls.log"
		echo "init $i start" >> "$SIM_ROOT/calls.log"
	done
	return 0
}
default_prerm() {
	local filelist="$SIM_ROOT/usr/lib/opkg/info/cisco-autoprov.list" i
	if [ -f "$SIM_ROOT/usr/lib/opkg/info/cisco-autoprov.prerm-pkg" ]; then
		( . "$SIM_ROOT/usr/lib/opkg/info/cisco-autoprov.prerm-pkg" ) || return 1
	fi
	for i in $(grep -s "^/etc/init.d/" "$filelist"); do
		echo "init $i disable" >> "$SIM_ROOT/calls.log"
		echo "init $i stop" >> "$SIM_ROOT/calls.log"
	done
	return 0
}
EOF
    # As the image builder runs them: IPKG_INSTROOT=$root, so they source the stand-in.
    (cd "$root" && SIM_ROOT="$root" IPKG_INSTROOT="$root" busybox sh "$root/usr/lib/opkg/info/cisco-autoprov.postinst" install) ||
        die "postinst failed"
    if grep -q "^uci .*dhcp" "$root/calls.log"; then
        cat "$root/calls.log" >&2
        die "installation changed /etc/config/dhcp while the service is disabled"
    fi
    [ ! -e "$root/etc/uci-defaults/90-cisco-autoprov" ] || die "the uci-defaults script was not removed (it did not exit 0)"
    (cd "$root" && SIM_ROOT="$root" IPKG_INSTROOT="$root" busybox sh "$root/usr/lib/opkg/info/cisco-autoprov.prerm" remove) ||
        die "prerm failed"
    say "ok: postinst (uci-defaults ran and went, nothing in /etc/config/dhcp touched while disabled), prerm"
}

# --- main ----------------------------------------------------------------------------------

case "${1:-}" in
deb)
    shift
    for a in "${@:-amd64}"; do build_deb "$a"; done
    ;;
ipk)
    shift
    if [ $# -eq 0 ]; then
        for a in $all_ipk_arches; do
            [ -x "$dist/bin/cisco-autoprov-$(triple_of_ipk "$a")" ] && build_ipk "$a"
        done
    else
        for a in "$@"; do build_ipk "$a"; done
    fi
    ;;
check-deb) check_deb "${2:-}" ;;
check-ipk) check_ipk "${2:-}" ;;
*) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
