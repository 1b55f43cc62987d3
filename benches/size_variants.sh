#!/usr/bin/env bash
# Size of the release binary, and what each candidate change would cost or save
# (BENCHMARKS.md, "Size").
#
#   benches/size_variants.sh [COMMIT]      (default HEAD; about 4 minutes on 2 cores)
#
# Every variant is built in a scratch copy from `git archive COMMIT` under a temporary
# directory; the repository itself is never touched. A variant is one small, mechanical change
# (a profile setting, or a Python patch that fails when its anchor text is gone, so a stale
# variant is reported as skipped instead of measured wrongly). Sizes are of the stripped binary
# of the release (router) profile. `cargo bloat --release --crates` gives the per-crate table.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
commit=${1:-HEAD}
work=$(mktemp -d "${TMPDIR:-/tmp}/cisco-autoprov-size.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$work/target"

mkdir "$work/base"
git -C "$repo" archive "$commit" | tar -x -C "$work/base"
echo "commit $(git -C "$repo" rev-parse --short "$commit"), $(rustc --version)"

size_of() { stat -c %s "$CARGO_TARGET_DIR/release/cisco-autoprov"; }

build() { # DIR [ENV=VALUE…]
    local dir=$1
    shift
    if ! (cd "$dir" && env "$@" cargo build --release --quiet 2>"$work/build.log"); then
        echo "build failed:" >&2
        tail -20 "$work/build.log" >&2
        return 1
    fi
}

build "$work/base"
base=$(size_of)
awk -v b="$base" 'BEGIN { printf "%-62s %9d B = %.3f MB = %.3f MiB\n", "base: release profile as committed", b, b / 1e6, b / 1048576 }'

# The patch helper every Python patch starts with.
cat >"$work/helpers.py" <<'PY'
import sys


def replace(path, old, new):
    text = open(path).read()
    if old not in text:
        print(f"anchor not found in {path}: {old[:60]!r}", file=sys.stderr)
        sys.exit(1)
    open(path, "w").write(text.replace(old, new, 1))
PY

variant() { # NAME PATCH-FUNCTION [ENV=VALUE…]
    local name=$1 patch=$2
    shift 2
    rm -rf "$work/variant"
    cp -r "$work/base" "$work/variant"
    if ! (cd "$work/variant" && "$patch" 2>"$work/patch.log"); then
        printf '%-62s skipped: %s\n' "$name" "$(tail -1 "$work/patch.log")"
        return
    fi
    if build "$work/variant" "$@"; then
        local size
        size=$(size_of)
        printf '%-62s %9d B  %+8d B\n' "$name" "$size" "$((size - base))"
    fi
}

no_patch() { :; }

memchr_splitter() {
    PYTHONPATH="$work" python3 - <<'PY'
from helpers import replace
replace("Cargo.toml", "[dependencies]\n",
        '[dependencies]\nmemchr = { version = "2", default-features = false }\n')
replace("src/sources/tail.rs", "chunk.iter().position(|&b| b == b'\\n')",
        "memchr::memchr(b'\\n', chunk)")
PY
}

# The scan recommendation of BENCHMARKS.md: memchr in the splitter, and lines holding neither
# "tftp" nor "dhcp" (every tag scan knows holds one) skipped before they are decoded.
scan_prefilter() {
    memchr_splitter
    PYTHONPATH="$work" python3 - <<'PY'
from helpers import replace
replace("src/sources/mod.rs", "        let line = String::from_utf8_lossy(bytes);",
        """        if memchr::memmem::find(bytes, b"tftp").is_none()
            && memchr::memmem::find(bytes, b"dhcp").is_none()
        {
            return true;
        }
        let line = String::from_utf8_lossy(bytes);""")
PY
}

no_roxmltree() {
    PYTHONPATH="$work" python3 - <<'PY'
from helpers import replace
replace("src/template.rs", "roxmltree::Document::parse(&sample)", "Ok::<(), std::fmt::Error>(())")
replace("src/template.rs", "err.pos().row as usize", "0usize")
replace("Cargo.toml", "\nroxmltree = ", "\n# roxmltree = ")
PY
}

variant 'panic = "abort" (profile only; OpenWrt builds with unwind)' no_patch \
    CARGO_PROFILE_RELEASE_PANIC=abort
variant 'opt-level = "s" instead of "z"' no_patch CARGO_PROFILE_RELEASE_OPT_LEVEL=s
variant "LineSplitter::feed finds newlines with memchr" memchr_splitter
variant "scan: memchr splitter + tftp/dhcp pre-filter (LineReader)" scan_prefilter
variant "no roxmltree (upper bound of a hand-written XML check)" no_roxmltree
