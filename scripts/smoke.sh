#!/usr/bin/env bash
# Smoke run of a cisco-autoprov binary, native or under qemu-user (scripts/cross.sh smoke).
#
#   QEMU="qemu-mips-static -cpu 24Kc" scripts/smoke.sh BINARY [REFERENCE]
#
# 1. --version and --help.
# 2. `check` of a config for a temporary directory.
# 3. `scan` of the real captured logs in tests/data/logs (dnsmasq, atftpd, isc-dhcpd, Kea): the summary and the
#    names of the files written must be those of REFERENCE (a native build, e.g. the x86_64 one)
#    when one is given; endianness and word-size bugs show up here.
# 4. `run` in the background on a lease file and a TFTP log in a temporary directory: a lease
#    and a request for term41.default.loads must give SEP<MAC>.cnf.xml; SIGTERM must stop it
#    (exit 0) within 20 s.
#
# With SMOKE_PHONES=N (scripts/cross.sh rss): instead, N phones in the lease file; a first run
# provisions them and stops, a second run (restart from the state) is measured 6 s after
# `daemon ready`: VmRSS, RssAnon, RssFile. Natively from /proc/PID/status. Under qemu the
# process is qemu's, so the guest's share is summed from /proc/PID/smaps over the guest's
# address range: qemu is told to put the guest at 0x100000000000 (QEMU_GUEST_BASE), and only
# mappings in [0x100000000000, 0x500000000000) count (qemu's own code, heap and translation
# cache lie elsewhere; a 64-bit guest is kept in 4 GiB there with QEMU_RESERVED_VA); Anonymous
# is the anon part, the rest of Rss the file-backed part.
set -euo pipefail

bin=${1:?usage: scripts/smoke.sh BINARY [REFERENCE]}
reference=${2:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
qemu=${QEMU:-}
phones=${SMOKE_PHONES:-}
guest_base=0x100000000000
guest_end=0x500000000000
# A 64-bit guest's address space is 256 TiB: qemu would put its heap and mmaps anywhere in
# it, most of it outside the range measured. Four GiB, reserved at the base, keep every guest
# mapping in [guest_base, guest_base + 4 GiB). (32-bit guests have at most that already; MIPS
# refuses more than its 2 GiB.)
case "$qemu" in
*aarch64* | *x86_64* | *riscv64* | *mips64* | *ppc64*) export QEMU_RESERVED_VA=0x100000000 ;;
esac

say() { printf '\033[1msmoke:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31msmoke: FAILED:\033[0m %s\n' "$*" >&2; exit 1; }

bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[ -x "$bin" ] || die "$bin is not an executable"
work=$(mktemp -d "${TMPDIR:-/tmp}/cisco-autoprov-smoke.XXXXXX")
daemon_pid=""
cleanup() {
    if [ -n "$daemon_pid" ]; then kill -KILL "$daemon_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Runs the binary under test (through qemu when set).
ca() {
    # shellcheck disable=SC2086 # $qemu is a command with its options
    QEMU_GUEST_BASE=$guest_base $qemu "$bin" "$@"
}

# Writes a config for directory $1 with the given sources (KIND:PATH ...).
write_config() {
    local dir="$1" pool="$2"
    shift 2
    mkdir -p "$dir/tftp"
    {
        echo "tftp_root = \"$dir/tftp\""
        echo "state_dir = \"$dir/state\""
        echo "notify_socket = \"$dir/notify.sock\""
        echo "[pbx]"
        echo 'host = "192.0.2.10"'
        echo "pjsip_snippet = \"$dir/pjsip.conf\""
        echo "dialplan_file = \"$dir/extensions.conf\""
        echo "[dhcp]"
        echo 'tftp_server = "192.0.2.1"'
        echo "[provision]"
        echo "extensions = \"$pool\""
        echo 'max_new_per_minute = 100000'
        echo 'max_pending = 100000'
        local source
        for source in "$@"; do
            echo "[[source]]"
            echo "kind = \"${source%%:*}\""
            echo "path = \"${source#*:}\""
        done
    } > "$dir/config.toml"
}

started=$SECONDS
what="${qemu:+under $qemu}"
say "$(basename "$bin") ${what:-natively}"

# 1. --version, --help
version=$(ca --version) || die "--version failed"
case "$version" in "cisco-autoprov "*) ;; *) die "--version printed '$version'" ;; esac
ca --help > /dev/null || die "--help failed"
say "ok: --version ($version), --help"

# Starts the daemon on $1/config.toml in the background, logging to $1/daemon.log.
start_daemon() {
    # shellcheck disable=SC2086
    QEMU_GUEST_BASE=$guest_base $qemu "$bin" run -c "$1/config.toml" > "$1/daemon.log" 2>&1 &
    daemon_pid=$!
}

# Waits up to $2 s for file $1 to exist (or, with $3, for $3 files matching glob $1).
wait_for() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        if [ -n "${3:-}" ]; then
            # shellcheck disable=SC2086 # the glob
            [ "$(find $1 2>/dev/null | wc -l)" -ge "$3" ] && return 0
        elif [ -e "$1" ]; then
            return 0
        fi
        if [ -n "$daemon_pid" ] && ! kill -0 "$daemon_pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.2
    done
    return 1
}

wait_log() {
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$daemon_pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# SIGTERM, then the exit status within 20 s.
stop_daemon() {
    kill -TERM "$daemon_pid"
    local deadline=$((SECONDS + 20))
    while kill -0 "$daemon_pid" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || die "the daemon did not stop within 20 s of SIGTERM"
        sleep 0.2
    done
    local status=0
    wait "$daemon_pid" || status=$?
    daemon_pid=""
    [ "$status" = 0 ] || { cat "$1/daemon.log" >&2; die "the daemon exited with status $status after SIGTERM"; }
}

# kB of a mapping field summed over the guest's range of /proc/PID/smaps (under qemu).
guest_smaps_kb() {
    awk -v field="$2:" -v lo="$guest_base" -v hi="$guest_end" '
        function hex(s,   i, n, c) { n = 0; s = tolower(s); sub(/^0x/, "", s)
            for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; n = n * 16 + c }
            return n }
        BEGIN { l = hex(lo); h = hex(hi) }
        /^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); inside = (hex(r[1]) >= l && hex(r[2]) <= h); next }
        inside && $1 == field { sum += $2 }
        END { print sum + 0 }' "/proc/$1/smaps"
}

status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# Prints "VmRSS RssAnon RssFile" (kB) of the daemon.
measure() {
    local pid="$1"
    if [ -z "$qemu" ]; then
        echo "$(status_kb "$pid" VmRSS) $(status_kb "$pid" RssAnon) $(($(status_kb "$pid" RssFile) + $(status_kb "$pid" RssShmem)))"
    else
        local rss anon
        rss=$(guest_smaps_kb "$pid" Rss)
        anon=$(guest_smaps_kb "$pid" Anonymous)
        echo "$rss $anon $((rss - anon))"
    fi
}

if [ -n "$phones" ]; then
    dir="$work/rss"
    mkdir -p "$dir"
    write_config "$dir" "10000-19999" "dnsmasq-leases:$dir/dhcp.leases"
    i=0
    : > "$dir/dhcp.leases"
    while [ $i -lt "$phones" ]; do
        printf '1795252463 00:1b:0c:%02x:%02x:%02x 10.%d.%d.%d SEP001B0C%02X%02X%02X *\n' \
            $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)) $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)) \
            $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)) >> "$dir/dhcp.leases"
        i=$((i + 1))
    done
    start_daemon "$dir"
    wait_for "$dir/tftp/SIP001B0C*.cnf" 900 "$phones" || { cat "$dir/daemon.log" >&2; die "$phones phones not provisioned within 900 s"; }
    sleep 2
    read -r first_rss first_anon first_file < <(measure "$daemon_pid")
    provisioned=$((SECONDS - started))
    stop_daemon "$dir"
    start_daemon "$dir"
    wait_log "$dir/daemon.log" "daemon ready" 300 || { cat "$dir/daemon.log" >&2; die "no 'daemon ready' within 300 s"; }
    sleep 6
    read -r rss anon file < <(measure "$daemon_pid")
    stop_daemon "$dir"
    method="/proc/PID/status"
    [ -z "$qemu" ] || method="qemu's /proc/PID/smaps, guest range"
    echo "rss: $(basename "$bin"): $phones phones, idle after restart from state: VmRSS $rss kB (anon $anon kB, file $file kB); right after provisioning them: $first_rss kB (anon $first_anon kB, file $first_file kB); provisioned in ${provisioned} s; method: $method"
    exit 0
fi

# 2. check
dir="$work/check"
mkdir -p "$dir"
: > "$dir/dhcp.leases"
: > "$dir/tftp.log"
write_config "$dir" "2000-2099" "dnsmasq-leases:$dir/dhcp.leases" "log:$dir/tftp.log"
ca check -c "$dir/config.toml" > "$dir/check.out" 2>&1 || { cat "$dir/check.out" >&2; die "check failed"; }
say "ok: check"

# 3. scan of the captured logs
scan() {
    local binary="$1" dir="$2"
    mkdir -p "$dir"
    local logs="$repo/tests/data/logs"
    write_config "$dir" "2000-2999" \
        "log:$logs/dnsmasq/dnsmasq.log.1" "log:$logs/dnsmasq/dnsmasq.log" \
        "log:$logs/atftpd/atftpd.log.1" "log:$logs/atftpd/atftpd.log" \
        "log:$logs/isc-dhcpd/syslog" "log:$logs/kea/kea-dhcp4.log" \
        "log:$logs/kea/kea-dhcp4-packets-debug.log"
    # shellcheck disable=SC2086
    QEMU_GUEST_BASE=$guest_base ${3:-} "$binary" scan -c "$dir/config.toml" > "$dir/scan.out" 2> "$dir/scan.err" ||
        { cat "$dir/scan.err" >&2; die "scan failed"; }
    (cd "$dir/tftp" && find . -type f | sort) > "$dir/files"
}
scan "$bin" "$work/scan" "$qemu"
[ -s "$work/scan/files" ] || die "scan wrote no files into the TFTP root"
say "ok: scan: $(wc -l < "$work/scan/files") files written; $(head -1 "$work/scan/scan.out")"
if [ -n "$reference" ]; then
    scan "$reference" "$work/scan-ref"
    sed "s|$work/scan-ref|DIR|g" "$work/scan-ref/scan.out" > "$work/scan-ref/scan.norm"
    sed "s|$work/scan|DIR|g" "$work/scan/scan.out" > "$work/scan/scan.norm"
    diff -u "$work/scan-ref/scan.norm" "$work/scan/scan.norm" >&2 || die "scan summary differs from $(basename "$reference")'s"
    diff -u "$work/scan-ref/files" "$work/scan/files" >&2 || die "scan wrote other files than $(basename "$reference")"
    say "ok: scan: same summary and files as $(basename "$reference")"
fi

# 4. run: lease + TFTP request -> SEP file; SIGTERM
dir="$work/run"
mkdir -p "$dir"
: > "$dir/dhcp.leases"
: > "$dir/tftp.log"
write_config "$dir" "2000-2099" "dnsmasq-leases:$dir/dhcp.leases" "log:$dir/tftp.log"
start_daemon "$dir"
wait_log "$dir/daemon.log" "daemon ready" 120 || { cat "$dir/daemon.log" >&2; die "no 'daemon ready' within 120 s"; }
echo "1795252463 00:1b:0c:18:bd:c1 198.18.0.151 SEP001B0C18BDC1 01:00:1b:0c:18:bd:c1" >> "$dir/dhcp.leases"
wait_for "$dir/tftp/SIP001B0C18BDC1.cnf" 60 || { cat "$dir/daemon.log" >&2; die "no SIP001B0C18BDC1.cnf within 60 s of the lease"; }
echo "Nov 21 08:14:28 dnsmasq-tftp[1]: sent /srv/tftp/term41.default.loads to 198.18.0.151" >> "$dir/tftp.log"
wait_for "$dir/tftp/SEP001B0C18BDC1.cnf.xml" 60 || { cat "$dir/daemon.log" >&2; die "no SEP001B0C18BDC1.cnf.xml within 60 s of the TFTP request"; }
grep -q "<processNodeName>192.0.2.10</processNodeName>" "$dir/tftp/SEP001B0C18BDC1.cnf.xml" ||
    die "SEP001B0C18BDC1.cnf.xml does not name the PBX"
stop_daemon "$dir"
say "ok: run: lease and TFTP request gave SEP001B0C18BDC1.cnf.xml; SIGTERM stopped the daemon (exit 0)"
say "passed in $((SECONDS - started)) s"
