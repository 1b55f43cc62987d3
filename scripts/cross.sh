#!/usr/bin/env bash
# Static builds of cisco-autoprov for router CPUs, and runs of them under qemu-user.
#
#   scripts/cross.sh setup                  toolchain pieces into the cache (once)
#   scripts/cross.sh build [TARGET...]      release builds, stripped, into dist/bin/
#   scripts/cross.sh build-abort [TARGET...] the same with panic = "abort" (profile release-abort)
#   scripts/cross.sh test [TARGET...]       the library's unit tests under qemu-user
#   scripts/cross.sh smoke [TARGET...]      check, scan and run of the built binary under qemu-user
#   scripts/cross.sh rss [TARGET...]        RSS of the daemon with 1,000 phones under qemu-user
#   scripts/cross.sh targets                the targets, with their qemu CPU
#
# TARGET is a Rust triple or a short name (mips, mipsel, aarch64, armv7, arm, x86_64); none
# means all six. Everything here comes from the registries this project may use (no rustup
# download): the machine's nightly Rust with the standard library's source from Debian sid's
# `rust-src` (linked into a copy of the nightly's sysroot, `-Z build-std`), zig and
# cargo-zigbuild from PyPI in a venv (linker and musl libc), qemu-user-static from Debian
# (downloaded and unpacked, never installed: no binfmt_misc handler is registered).
#
# Cache: $CROSS_CACHE (default /var/cache/cisco-autoprov-build); each piece is kept once
# complete (a marker file), so a second run sets up nothing. Builds: $CROSS_TARGET_DIR
# (default target/cross). Binaries: dist/bin/cisco-autoprov-<target>[-abort].
#
# Times here (2 cores; BENCHMARKS.md, "Router builds"): setup 1-3 min the first time, 0 s
# after; one target 1.5-3 min (release), the unit tests of one target ~10 min under qemu.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CROSS_CACHE:-/var/cache/cisco-autoprov-build}
target_dir=${CROSS_TARGET_DIR:-$repo/target/cross}
dist=${DIST_DIR:-$repo/dist}
jobs=${CROSS_JOBS:-1}
# std's own size option (smaller formatting, sorting and hashing code in core and alloc):
# -350 KB on mipsel (BENCHMARKS.md, "Router builds"); panic-unwind is std's default feature.
std_features=${CROSS_STD_FEATURES:-panic-unwind,optimize_for_size}
zig_version=0.17.0
zigbuild_version=0.24.0

all_targets="mipsel-unknown-linux-musl mips-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf arm-unknown-linux-musleabihf x86_64-unknown-linux-musl"

say() { printf '\033[1mcross:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mcross: error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- targets -------------------------------------------------------------------------------

triple_of() {
    case "$1" in
    mips | mips-unknown-linux-musl) echo mips-unknown-linux-musl ;;
    mipsel | mipsel-unknown-linux-musl) echo mipsel-unknown-linux-musl ;;
    aarch64 | arm64 | aarch64-unknown-linux-musl) echo aarch64-unknown-linux-musl ;;
    armv7 | armv7-unknown-linux-musleabihf) echo armv7-unknown-linux-musleabihf ;;
    arm | armv6 | arm-unknown-linux-musleabihf) echo arm-unknown-linux-musleabihf ;;
    x86_64 | amd64 | x86_64-unknown-linux-musl) echo x86_64-unknown-linux-musl ;;
    *) die "unknown target '$1' (known: $all_targets)" ;;
    esac
}

# The qemu-user binary and CPU that match the routers of each target: MT7621 (24KEc, no FPU),
# ath79 (24Kc, big-endian), Filogic/MT7622 (Cortex-A53), ipq40xx (Cortex-A7), bcm2708 (ARM1176).
qemu_of() {
    case "$1" in
    mips-*) echo "qemu-mips-static -cpu 24Kc" ;;
    mipsel-*) echo "qemu-mipsel-static -cpu 24KEc" ;;
    aarch64-*) echo "qemu-aarch64-static -cpu cortex-a53" ;;
    armv7-*) echo "qemu-arm-static -cpu cortex-a7" ;;
    arm-*) echo "qemu-arm-static -cpu arm1176" ;;
    x86_64-*) echo "" ;;
    esac
}

targets_from_args() {
    if [ $# -eq 0 ]; then
        echo "$all_targets"
        return
    fi
    local out="" t
    for t in "$@"; do out="${out:+$out }$(triple_of "$t")"; done
    echo "$out"
}

env_name() { echo "$1" | tr 'a-z-' 'A-Z_'; }

# --- setup ---------------------------------------------------------------------------------

nightly_sysroot() {
    command -v rustup >/dev/null || die "rustup is missing: the cross builds need the machine's nightly toolchain"
    rustup toolchain list | grep -q '^nightly' ||
        die "no nightly toolchain (rustup toolchain list): -Z build-std needs one"
    rustc +nightly --print sysroot
}

# rust-src from Debian sid, with a private apt state (the host's apt is not touched). sid's
# Release on the mirror may be past its Valid-Until; signatures are still checked.
setup_rust_src() {
    local want="$1" dir="$cache/rust-src" apt="$cache/apt-sid"
    if [ -e "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$want" ]; then
        return
    fi
    say "rust-src: downloading Debian sid's rust-src (the nightly is $want.x)"
    rm -rf "$apt" && mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc/preferences.d" "$apt/etc/apt.conf.d"
    local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    echo "deb $mirror sid main" > "$apt/sources.list"
    touch "$apt/status"
    cat > "$apt/apt.conf" <<EOF
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
Dir::Etc::SourceList "$apt/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Parts "$apt/etc/apt.conf.d";
Dir::Etc::Preferences "$apt/etc/preferences";
Dir::Etc::PreferencesParts "$apt/etc/preferences.d";
Acquire::Check-Valid-Until "false";
Acquire::Languages "none";
APT::Architecture "amd64";
EOF
    APT_CONFIG="$apt/apt.conf" apt-get update -qq || die "apt-get update for Debian sid failed (is the Debian mirror reachable?)"
    local version
    version=$(APT_CONFIG="$apt/apt.conf" apt-cache show rust-src 2>/dev/null | sed -n 's/^Version: //p' | head -1)
    [ -n "$version" ] || die "Debian sid has no rust-src package"
    case "$version" in
    "$want".* | *:"$want".*) ;;
    *) die "Debian sid's rust-src is $version, the nightly is $want: the minor versions must match (cross-builds.md: use sid's own rustc in a chroot)" ;;
    esac
    (cd "$apt/cache" && APT_CONFIG="$apt/apt.conf" apt-get download -qq -o APT::Sandbox::User=root rust-src) || die "apt-get download rust-src failed"
    rm -rf "$dir" && mkdir -p "$dir"
    dpkg-deb -x "$apt"/cache/rust-src_*.deb "$dir"
    [ -d "$dir/usr/lib/rustlib/src/rust/library/std" ] || die "rust-src $version has no library/std"
    rm -f "$apt"/cache/*.deb
    echo "$want" > "$dir/.complete"
    say "rust-src: $version unpacked in $dir"
}

# A copy of the nightly's sysroot (hard links) with the source linked in: its rustc and cargo
# build std for any target. The machine's own nightly is left as it is.
setup_sysroot() {
    local src sysroot version want
    src=$(nightly_sysroot)
    version=$(rustc +nightly --version)
    want=$(echo "$version" | sed -n 's/^rustc \([0-9]*\.[0-9]*\).*/\1/p')
    setup_rust_src "$want"
    sysroot="$cache/sysroot"
    if [ -e "$sysroot/.complete" ] && [ "$(cat "$sysroot/.complete")" = "$version" ]; then
        return
    fi
    say "sysroot: copying $src (hard links) to $sysroot"
    rm -rf "$sysroot"
    cp -al "$src" "$sysroot" 2>/dev/null || cp -a "$src" "$sysroot"
    mkdir -p "$sysroot/lib/rustlib/src"
    rm -rf "$sysroot/lib/rustlib/src/rust"
    ln -s "$cache/rust-src/usr/lib/rustlib/src/rust" "$sysroot/lib/rustlib/src/rust"
    echo "$version" > "$sysroot/.complete"
}

setup_zig() {
    local venv="$cache/venv"
    if [ -e "$venv/.complete" ] && [ "$(cat "$venv/.complete")" = "$zig_version $zigbuild_version" ]; then
        return
    fi
    say "zig: ziglang $zig_version and cargo-zigbuild $zigbuild_version from PyPI into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check "ziglang==$zig_version" "cargo-zigbuild==$zigbuild_version" ||
        die "pip install of ziglang/cargo-zigbuild failed"
    echo "$zig_version $zigbuild_version" > "$venv/.complete"
}

# Debian package $1 of the host's release, downloaded and unpacked into $2 (not installed).
unpack_deb() {
    local package="$1" dir="$2" tmp
    say "$package: downloading Debian's package (unpacked into $dir, not installed)"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$package") ||
        die "apt-get download $package failed (run apt-get update first)"
    rm -rf "$dir" && mkdir -p "$dir"
    dpkg-deb -x "$tmp/${package}"_*.deb "$dir"
    rm -rf "$tmp"
}

# qemu-user-static from the host's Debian, unpacked (binfmt_misc is not touched).
setup_qemu() {
    local dir="$cache/qemu"
    [ -e "$dir/.complete" ] && return
    unpack_deb qemu-user-static "$dir"
    [ -x "$dir/usr/bin/qemu-mips-static" ] || die "qemu-user-static has no qemu-mips-static"
    "$dir/usr/bin/qemu-mips-static" --version | head -1 > "$dir/.complete"
}

# Debian's MIPS binutils, unpacked: its strip removes .pdr (MIPS procedure descriptors, ~180 KB
# that LLVM writes for every function and no one reads at run time), which Debian's own
# binutils cannot (no MIPS support), nor zig's objcopy.
setup_binutils() {
    local dir="$cache/binutils-mips"
    [ -e "$dir/.complete" ] && return
    unpack_deb binutils-mips-linux-gnu "$dir"
    mips_strip --version | head -1 > "$dir/.complete" || die "mips-linux-gnu-strip does not run"
}

mips_strip() {
    LD_LIBRARY_PATH="$cache/binutils-mips/usr/lib/x86_64-linux-gnu" "$cache/binutils-mips/usr/bin/mips-linux-gnu-strip" "$@"
}

setup() {
    mkdir -p "$cache" || die "cannot create the cache $cache (set CROSS_CACHE)"
    local started=$SECONDS
    setup_sysroot
    setup_zig
    setup_qemu
    setup_binutils
    say "toolchain ready in $((SECONDS - started)) s: $(cat "$cache/sysroot/.complete"), rust-src $(cat "$cache/rust-src/.complete"), zig $zig_version, $(cat "$cache/qemu/.complete")"
}

# The environment for cargo: the sysroot copy's rustc/cargo first on PATH, zig, qemu.
toolchain_env() {
    local piece
    for piece in sysroot venv qemu binutils-mips; do
        [ -e "$cache/$piece/.complete" ] || die "toolchain not set up ($cache/$piece): run scripts/cross.sh setup"
    done
    export PATH="$cache/sysroot/bin:$cache/venv/bin:$cache/qemu/usr/bin:$PATH"
    export RUSTC="$cache/sysroot/bin/rustc"
    export CARGO_TARGET_DIR="$target_dir"
    unset RUSTFLAGS
    local t
    for t in $all_targets; do
        # Reproducible wherever it is built: no path of this machine in the binary (panic
        # locations name the crates' and std's sources).
        local flags="-C link-self-contained=no --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo --remap-path-prefix=$cache/sysroot=/sysroot --remap-path-prefix=$repo=/src"
        # mips*-musl link dynamically by default; static like the others. Rust has no
        # static-pie for MIPS, so the binary is a plain static executable at a fixed address
        # either way, and code compiled position-independent (every call and global through
        # the GOT and $t9, as the MIPS ABI makes PIC) buys nothing: non-PIC code is 14 %
        # smaller (mipsel 2,054,396 → 1,759,600 B; BENCHMARKS.md, "Router builds").
        case "$t" in mips*) flags="$flags -C target-feature=+crt-static -C relocation-model=static" ;; esac
        export "CARGO_TARGET_$(env_name "$t")_RUSTFLAGS=$flags"
        local q
        q=$(qemu_of "$t")
        [ -z "$q" ] || export "CARGO_TARGET_$(env_name "$t")_RUNNER=$q"
    done
}

# cargo_cross build|test ARGS: cargo-zigbuild (zig cc as the linker, with musl for the
# target) running the sysroot copy's cargo, std built from source.
cargo_cross() {
    local verb="$1"
    shift
    [ "$verb" = build ] && verb=zigbuild
    cargo-zigbuild "$verb" -Z build-std=std,panic_abort -Z build-std-features="$std_features" \
        -j "$jobs" "$@"
}

# --- build ---------------------------------------------------------------------------------

build() {
    local profile="$1" suffix="$2"
    shift 2
    toolchain_env
    mkdir -p "$dist/bin"
    local t
    for t in $(targets_from_args "$@"); do
        local started=$SECONDS
        say "build: $t, profile $profile"
        (cd "$repo" && cargo_cross build --locked --profile "$profile" --target "$t" --bin cisco-autoprov) ||
            die "build for $t failed"
        local out="$target_dir/$t/$profile/cisco-autoprov"
        [ -f "$out" ] || die "no binary at $out"
        install -m 755 "$out" "$dist/bin/cisco-autoprov-$t$suffix"
        case "$t" in
        mips*) mips_strip -R .pdr -R .comment "$dist/bin/cisco-autoprov-$t$suffix" ||
            die "strip of .pdr failed for $t" ;;
        esac
        say "build: $t done in $((SECONDS - started)) s: dist/bin/cisco-autoprov-$t$suffix, $(stat -c %s "$dist/bin/cisco-autoprov-$t$suffix") bytes"
    done
}

# --- runs under qemu -----------------------------------------------------------------------

run_on() {
    local t="$1"
    shift
    local q
    q=$(qemu_of "$t")
    # shellcheck disable=SC2086 # the qemu command and its -cpu are words
    $q "$@"
}

unit_tests() {
    toolchain_env
    local t
    for t in $(targets_from_args "$@"); do
        local started=$SECONDS
        [ -n "$(qemu_of "$t")" ] || { say "test: $t runs natively: cargo test covers it"; }
        say "test: the library's unit tests for $t under $(qemu_of "$t" | cut -d' ' -f1,2,3)"
        (cd "$repo" && CISCO_AUTOPROV_UNDER_QEMU=1 cargo_cross test --locked --lib --target "$t") ||
            die "unit tests for $t failed"
        say "test: $t passed in $((SECONDS - started)) s"
    done
}

smoke() {
    toolchain_env
    local t
    for t in $(targets_from_args "$@"); do
        local bin="$dist/bin/cisco-autoprov-$t"
        [ -x "$bin" ] || die "no $bin: run scripts/cross.sh build $t first"
        # The x86_64 build, run natively, is the reference for the scan's results.
        local reference="$dist/bin/cisco-autoprov-x86_64-unknown-linux-musl"
        [ "$t" != x86_64-unknown-linux-musl ] && [ -x "$reference" ] || reference=""
        say "smoke: $t${reference:+ (scan compared with the native x86_64 build)}"
        QEMU="$(qemu_of "$t")" "$repo/scripts/smoke.sh" "$bin" "$reference" || die "smoke run of $t failed"
    done
}

rss() {
    toolchain_env
    local t
    for t in $(targets_from_args "$@"); do
        local bin="$dist/bin/cisco-autoprov-$t"
        [ -x "$bin" ] || die "no $bin: run scripts/cross.sh build $t first"
        QEMU="$(qemu_of "$t")" SMOKE_PHONES=1000 "$repo/scripts/smoke.sh" "$bin" || die "RSS run of $t failed"
    done
}

case "${1:-}" in
setup) setup ;;
build) shift; build release "" "$@" ;;
build-abort) shift; build release-abort -abort "$@" ;;
test) shift; unit_tests "$@" ;;
smoke) shift; smoke "$@" ;;
rss) shift; rss "$@" ;;
targets) for t in $all_targets; do echo "$t $(qemu_of "$t")"; done ;;
env) toolchain_env; env | grep -E '^(PATH|RUSTC|CARGO_)' ;;
*) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
