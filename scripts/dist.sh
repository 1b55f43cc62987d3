#!/usr/bin/env bash
# The one command for release builds and packages, on a clean checkout (as root: the
# toolchain cache is under /var/cache, the .deb check uses chroot):
#
#   scripts/dist.sh          every router target, smoke runs under qemu, the unit tests for
#                            big-endian MIPS under qemu, all packages and their checks,
#                            the source tarball and a feed Makefile with its PKG_HASH
#   scripts/dist.sh --ci     what .ci/run does: x86_64 and big-endian mips only (builds,
#                            unit tests of mips under qemu, smoke runs), the amd64 .deb and
#                            the mips_24kc and x86_64 .ipk, checked
#
# Steps and their times here (2 cores, toolchain cached; BENCHMARKS.md, "Router builds"):
# scripts/cross.sh setup (16 s the first time, 0 s after), builds (60-140 s per target),
# smoke runs (a few seconds each), unit tests under qemu (~6 min for mips), packages and
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

if [ "${1:-}" = --ci ]; then
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

# The source tarball of HEAD (a release runs this on its tag) and the feed Makefile with it.
if [ "${1:-}" != --ci ]; then
    tarball="$dist/cisco-autoprov-$version.tar.gz"
    git archive --format=tar --prefix="cisco-autoprov-$version/" HEAD | gzip -9n > "$tarball"
    hash=$(sha256sum "$tarball" | cut -d' ' -f1)
    mkdir -p "$dist/openwrt-feed/cisco-autoprov"
    cp -a contrib/openwrt/cisco-autoprov/. "$dist/openwrt-feed/cisco-autoprov/"
    sed -i "s/^PKG_HASH:=.*/PKG_HASH:=$hash/" "$dist/openwrt-feed/cisco-autoprov/Makefile"
    say "source: $(basename "$tarball"), sha256 $hash (PKG_HASH in dist/openwrt-feed/cisco-autoprov/Makefile)"
fi

{
    echo "# stripped sizes, bytes (profile release: opt-level z, LTO, panic unwind; -abort: release-abort)"
    for f in "$dist"/bin/cisco-autoprov-*; do echo "$(stat -c %s "$f") $(basename "$f")"; done
} > "$dist/sizes.txt"
(cd "$dist" && sha256sum ./*.deb ./*.ipk ./*.tar.gz 2>/dev/null > SHA256SUMS) || true
cat "$dist/sizes.txt" >&2
say "all done in $((SECONDS - started)) s: $(find "$dist" -maxdepth 1 -name '*.deb' -o -maxdepth 1 -name '*.ipk' | sort | tr '\n' ' ')"
