#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/) for a fixed time, seeded with the captured
# real files of tests/data/. Needs a nightly toolchain and cargo-fuzz
# (`rustup toolchain install nightly && cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [seconds per target] [target ...]     (default: 20 s, every target)
#
# The corpus each run grows is kept in fuzz/corpus/<target> (not committed). A crash stops the
# script with libFuzzer's report; the input is in fuzz/artifacts/<target>/, and
# `cargo +nightly fuzz run <target> <file>` replays it. Turn it into a unit test before fixing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(lease_files log_lines hook config engine archive)
fi

seeds=fuzz/target/seeds
rm -rf "$seeds"
for target in "${targets[@]}"; do mkdir -p "$seeds/$target" "fuzz/corpus/$target"; done

# A seed is a captured file; for targets whose first byte picks a format or a mode, that byte
# is prefixed.
seed() { # target name prefix-byte(0-7, or empty) file
    if [ -d "$seeds/$1" ]; then
        { if [ -n "$3" ]; then printf '%b' "\\00$3"; fi; cat "$4"; } > "$seeds/$1/$2"
    fi
}
n=0
for pair in 0:dnsmasq 1:isc-dhcpd 2:kea 3:odhcpd 4:freepbx; do
    byte=${pair%%:*}
    while IFS= read -r file; do
        n=$((n + 1)); seed lease_files "$n" "$byte" "$file"
    done < <(find "tests/data/${pair#*:}" -type f ! -name '*.md' ! -name '*.py')
done
while IFS= read -r file; do
    n=$((n + 1))
    seed log_lines "$n" "" "$file"
    seed engine "$n-approve" 0 "$file"
    seed engine "$n-auto" 1 "$file"
done < <(find tests/data/logs -type f ! -name '*.md')
for file in $(find tests/data/config -type f) demo/*.toml; do
    n=$((n + 1)); seed config "$n" "" "$file"
done
for file in templates/*; do
    [ -f "$file" ] && { n=$((n + 1)); seed config "$n" "" "$file"; }
done
printf '{"event":"lease","mac":"00:1b:0c:18:bd:c1","ip":"198.18.0.151","hostname":"SEP001B0C18BDC1"}' \
    > "$seeds/hook/lease" 2>/dev/null || true
printf '{"event":"tftp","ip":"198.18.0.151","path":"/srv/tftp/SEP001B0C18BDC1.cnf.xml"}' \
    > "$seeds/hook/tftp" 2>/dev/null || true
if [ -d "$seeds/archive" ]; then
    tar -C tests/data/firmware -cf "$seeds/archive/firmware.tar" --exclude='*.md' --exclude='*.py' .
    gzip -c "$seeds/archive/firmware.tar" > "$seeds/archive/firmware.tar.gz"
    if command -v zip >/dev/null; then
        (cd tests/data/firmware && zip -q -r - . -x '*.md' '*.py') > "$seeds/archive/firmware.zip"
    fi
fi

for target in "${targets[@]}"; do
    echo "fuzzing $target for ${seconds}s"
    log=fuzz/target/$target.log
    # -rss_limit_mb: a parser that needs more than 1 GB for a small input is a finding too.
    status=0
    cargo +nightly fuzz run --release "$target" "fuzz/corpus/$target" "$seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=1048576 -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed 's/^/    /' || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log" >&2
        echo "fuzz target $target failed: the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
