//! The PBX benchmarks of issue 11: `cargo bench --bench pbx [-- NAME…]` as root.
//!
//! NAME is `chroot` or `register` (default: both). Each prints one table row per figure.
//!
//! - **chroot**: the size of the cached Asterisk chroot (`scripts/asterisk-chroot.sh`), and
//!   the time to build a fresh one into a temporary directory with the same script (it
//!   downloads about 70 MB from Debian's archive, so the figure includes the network).
//! - **register**: nine phones of five models (XML firmware on TCP, 7940/7960 on UDP) on
//!   one LAN with real dnsmasq, the release daemon and Asterisk 22 (`tests/support/
//!   pbx_site.rs`, the site of `tests/e2e_asterisk.rs`). For each phone: from the end of
//!   its DHCP exchange, through its TFTP requests, to the 200 OK of its REGISTER, retried
//!   every 0.5 s while Asterisk does not know it yet. Two arrival patterns, each with the
//!   default `reload_interval_s` (2) and with 10: **one by one** (a phone every 3 s) and
//!   **burst** (all nine boot at once, one thread each: DHCP, TFTP, REGISTER; dnsmasq with
//!   `--no-ping`, else it offers one address every 3 s).
//!
//! Needs root (network namespaces) and the cached chroot; prints why it skips otherwise.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::asterisk::{asterisk_chroot, disk_usage, missing_asterisk};
use support::netns::{missing_prerequisite, Phone};
use support::pbx_site::{PbxSite, PROGRAMS};

/// Nine phones of five models, unique Cisco MACs.
const PHONES: [Phone; 9] = [
    Phone::CP_7941G,
    Phone::CP_7940G,
    support::pbx_site::PHONE_7965,
    phone(
        "00:1b:0c:18:be:01",
        "Cisco Systems, Inc. IP Phone CP-7942G",
        "SEP001B0C18BE01",
    ),
    phone(
        "00:1b:0c:18:be:02",
        "Cisco Systems, Inc. IP Phone CP-7962G",
        "SEP001B0C18BE02",
    ),
    phone(
        "00:1b:0c:18:be:03",
        "Cisco Systems, Inc. IP Phone CP-7960G",
        "SEP001B0C18BE03",
    ),
    phone(
        "00:1b:0c:18:be:04",
        "Cisco Systems, Inc. IP Phone CP-7970G",
        "SEP001B0C18BE04",
    ),
    phone(
        "00:1b:0c:18:be:05",
        "Cisco Systems, Inc. IP Phone CP-7941G",
        "SEP001B0C18BE05",
    ),
    phone(
        "00:1b:0c:18:be:06",
        "Cisco Systems, Inc. IP Phone CP-7940G",
        "SEP001B0C18BE06",
    ),
];

const fn phone(mac: &'static str, vendor_class: &'static str, hostname: &'static str) -> Phone {
    Phone {
        mac,
        vendor_class,
        hostname,
    }
}

/// Gap between two phones in the one-by-one pattern.
const ONE_BY_ONE_GAP: Duration = Duration::from_secs(3);

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let all = ["chroot", "register"];
    for name in &wanted {
        assert!(
            all.contains(&name.as_str()),
            "unknown benchmark {name:?}: expected one of {all:?}"
        );
    }
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    if let Some(reason) = missing_asterisk().or_else(|| missing_prerequisite(PROGRAMS)) {
        println!("pbx benchmarks skipped: {reason}");
        return;
    }
    let mut rows: Vec<[String; 3]> = Vec::new();
    if run("chroot") {
        bench_chroot(&mut rows);
    }
    if run("register") {
        for interval in [2, 10] {
            bench_register(&mut rows, interval, false);
            bench_register(&mut rows, interval, true);
        }
    }
    println!("\n| figure | value | note |\n|---|---|---|");
    for [figure, value, note] in rows {
        println!("| {figure} | {value} | {note} |");
    }
}

fn bench_chroot(rows: &mut Vec<[String; 3]>) {
    let cached = asterisk_chroot().expect("checked before");
    let size = disk_usage(&cached);
    rows.push([
        "Asterisk chroot on disk".into(),
        format!("{:.0} MB", size as f64 / 1e6),
        cached.display().to_string(),
    ]);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = dir.path().join("asterisk-sid");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/asterisk-chroot.sh");
    let started = Instant::now();
    let output = Command::new(&script)
        .arg(&target)
        .output()
        .expect("run scripts/asterisk-chroot.sh");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "chroot build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    rows.push([
        "Asterisk chroot build (fresh, with download)".into(),
        format!("{:.1} s", elapsed.as_secs_f64()),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    ]);
}

fn bench_register(rows: &mut Vec<[String; 3]>, reload_interval_s: u64, burst: bool) {
    let pattern = if burst { "burst" } else { "one by one" };
    let name = format!("bench_register_{reload_interval_s}s_{}", burst as u8);
    // A burst needs dnsmasq's --no-ping: with its ping check dnsmasq offers one address
    // every 3 s, so the phones would not arrive at once (see PbxSite::start_with).
    let extra: &[&str] = if burst { &["--no-ping"] } else { &[] };
    let mut site =
        PbxSite::start_with(&name, &PHONES, reload_interval_s, extra).expect("checked before");
    let mut times: Vec<Duration> = Vec::new();
    if burst {
        times = site.boot_all_at_once();
    } else {
        let mut booted = Vec::new();
        for i in 0..PHONES.len() {
            let started = Instant::now();
            let phone = site.boot(i);
            times.push(phone.lease_to_registered);
            booted.push(phone);
            std::thread::sleep(ONE_BY_ONE_GAP.saturating_sub(started.elapsed()));
        }
    }
    times.sort();
    let log = site.daemon_log();
    let reloads = log.matches("reload command finished").count();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    rows.push([
        format!("Lease → REGISTER 200, {pattern}, reload_interval_s = {reload_interval_s}"),
        format!(
            "p50 {:.0} ms, max {:.0} ms",
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        ),
        format!(
            "{} phones; {reloads} reloads; all: {}",
            times.len(),
            times
                .iter()
                .map(|t| format!("{:.0}", ms(*t)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    ]);
}
