//! The benchmarks of issue 8, as one program: `cargo bench --bench daemon [-- NAME…]`.
//!
//! NAME is any of `size`, `latency`, `storm`, `bigtable`, `scan`, `idle` (default: all, in
//! that order). Each benchmark starts the release binary (`cargo bench` builds it with the
//! `bench` profile, which inherits the router profile of `release`) as a child process, the way
//! it runs on a router, and prints one table row per figure with its target. The whole run
//! takes about two and a half minutes on two cores; `idle` alone takes 70 s.
//!
//! Files the daemon reads and writes live on tmpfs (`/dev/shm`) where the issue says so, so
//! the figures are the daemon's work and not the disk's. BENCHMARKS.md explains every figure.
//!
//! How each figure is taken:
//! - **latency**: 1,000 phones are added one by one to a dnsmasq lease file, rewritten the way
//!   dnsmasq does it (same open file, `ftruncate` to 0, `write` in 4 KiB stdio-sized chunks,
//!   `fsync`; the new lease is written last). The clock starts when the last `write` returns
//!   and stops when inotify reports the rename of the phone's file (`SIP<MAC>.cnf`: a lease
//!   line names no model, so no `SEP<MAC>.cnf.xml` yet; before issue 12 it was the SEP file) (and of every file of
//!   the phone) into the TFTP root.
//! - **storm**: 1,000 phones in 50 steps of 20, one step every 20 ms: each step rewrites the
//!   lease file and appends each new phone's TFTP request (`file … not found`) to the log.
//! - **bigtable**: a 50,000-lease file (no phones) is in place when the daemon starts; then it
//!   is rewritten 20 times, each time with one more phone, timed as for latency.
//! - **scan**: a 200 MB RFC 3339 syslog, 1 % of it lines scan recognises; best of 3 of
//!   `LC_ALL=C grep -cE PATTERN` and of `scan` (fresh state and TFTP root each run).
//! - **idle**: 1,000 phones known (provisioned by a first daemon run), every kind of source
//!   present; after start-up and a 6 s settle time (the 5 s position-save deadline), 60 s
//!   without writes: CPU ticks from `/proc/PID/stat`, context switches, `VmRSS`.
//! - **size**: the size of the binary cargo built (stripped by the profile).

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use inotify::{Inotify, WatchMask};

/// The binary cargo built for this bench; `BENCH_BIN` overrides it (e.g. a build with
/// symbols, for profiling).
static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cisco-autoprov").to_string())
});

/// Where the tmpfs benchmarks keep their files.
const TMPFS: &str = "/dev/shm";

/// stdio's buffer for a regular file (`st_blksize`): dnsmasq's lease file is written in
/// chunks of this size.
const STDIO_CHUNK: usize = 4096;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let all = [
        "size",
        "latency",
        "latency-load",
        "storm",
        "bigtable",
        "scan",
        "idle",
    ];
    for name in &wanted {
        assert!(
            all.contains(&name.as_str()),
            "unknown benchmark {name:?}: expected one of {all:?}"
        );
    }
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    println!(
        "machine: {} cores, Linux {}, {}",
        thread::available_parallelism().map_or(0, |n| n.get()),
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        cpu_model()
    );
    println!("binary: {}", *BIN);
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-C", env!("CARGO_MANIFEST_DIR")])
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    println!(
        "source: commit {}, {}",
        git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown (no git)".into()),
        match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if changes.is_empty() => "clean tree".to_string(),
            Some(_) => "tree has uncommitted changes".to_string(),
            None => "tree state unknown".to_string(),
        }
    );
    let mut table = Table::default();
    let started = Instant::now();
    if run("size") {
        print_load();
        bench_size(&mut table);
    }
    if run("latency") {
        print_load();
        bench_latency(&mut table, "latency");
    }
    if run("latency-load") {
        // The same with every core busy: one shell busy loop per core at normal priority,
        // like other work on a router (issue 14: "on a machine with other load").
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        let mut hogs: Vec<std::process::Child> = (0..cores)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()
                    .expect("start a busy loop")
            })
            .collect();
        thread::sleep(Duration::from_millis(500));
        print_load();
        bench_latency(&mut table, &format!("latency, {cores} busy loops"));
        for hog in &mut hogs {
            let _ = hog.kill();
            let _ = hog.wait();
        }
    }
    if run("storm") {
        print_load();
        bench_storm(&mut table);
    }
    if run("bigtable") {
        print_load();
        bench_big_table(&mut table);
    }
    if run("scan") {
        print_load();
        bench_scan(&mut table, Mix::Servers);
        print_load();
        bench_scan(&mut table, Mix::TftpdHpa);
    }
    if run("idle") {
        print_load();
        bench_idle(&mut table);
    }
    table.print();
    println!("total time: {:.1} s", started.elapsed().as_secs_f64());
}

/// Other work on the machine disturbs the timings: the load average before each benchmark.
fn print_load() {
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\n(load average {})",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The results table

#[derive(Default)]
struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    /// Adds a figure; `met` is `None` for a figure that has no target of its own.
    fn add(&mut self, figure: &str, value: String, target: &str, met: Option<bool>) {
        let verdict = match met {
            Some(true) => "met",
            Some(false) => "NOT met",
            None => "-",
        };
        println!("  {figure}: {value} (target {target}: {verdict})");
        self.rows.push([
            figure.to_string(),
            value,
            target.to_string(),
            verdict.to_string(),
        ]);
    }

    fn print(&self) {
        let widths: Vec<usize> = (0..4)
            .map(|col| {
                self.rows
                    .iter()
                    .map(|row| row[col].chars().count())
                    .chain([6])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        println!();
        let header = ["figure", "value", "target", "verdict"];
        let line = |cells: [&str; 4]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        line(header);
        let rules: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
        println!("|-{}-|", rules.join("-|-"));
        for row in &self.rows {
            line([&row[0], &row[1], &row[2], &row[3]]);
        }
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The `q`-quantile (0..=1) of sorted values, nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    assert!(!sorted.is_empty());
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

// ---------------------------------------------------------------------------------------
// Sites, phones and the daemon

/// A temporary site: config, TFTP root, state dir, sources.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    /// A site under `base` whose config has the given `[[source]]` tables.
    fn new(base: &str, sources: &str) -> Site {
        let dir = tempfile::Builder::new()
            .prefix("cisco-autoprov-bench.")
            .tempdir_in(base)
            .expect("temporary directory");
        fs::create_dir(dir.path().join("tftp")).unwrap();
        let site = Site { dir };
        let config = format!(
            "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nhost = \"198.18.0.10\"\nfreepbx_csv = \"freepbx.csv\"\n\
             [provision]\nextensions = \"2000-2999\"\ntftp_only = \"auto\"\n{sources}"
        );
        fs::write(site.path("config.toml"), config).unwrap();
        site
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self) -> String {
        self.path("config.toml").display().to_string()
    }

    fn tftp(&self) -> PathBuf {
        self.path("tftp")
    }

    fn status(&self) -> serde_json::Value {
        let output = Command::new(&*BIN)
            .args(["status", "-c", &self.config(), "--json"])
            .output()
            .unwrap();
        assert!(output.status.success(), "status: {output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

const LEASES_SOURCE: &str = "[[source]]\nkind = \"dnsmasq-leases\"\npath = \"dhcp.leases\"\n";
const LOG_SOURCE: &str = "[[source]]\nkind = \"log\"\npath = \"tftp.log\"\n";

/// Phone number `i`: a Cisco MAC, an address, its lease line.
#[derive(Clone, Copy)]
struct Phone(u32);

impl Phone {
    fn mac_upper(self) -> String {
        format!(
            "001B0C{:02X}{:02X}{:02X}",
            (self.0 >> 16) & 0xff,
            (self.0 >> 8) & 0xff,
            self.0 & 0xff
        )
    }

    fn mac_colons(self) -> String {
        format!(
            "00:1b:0c:{:02x}:{:02x}:{:02x}",
            (self.0 >> 16) & 0xff,
            (self.0 >> 8) & 0xff,
            self.0 & 0xff
        )
    }

    /// Unique among 40,000 consecutive phones.
    fn ip(self) -> String {
        let n = self.0 % 40_000;
        format!("198.18.{}.{}", 1 + n / 200, 10 + n % 200)
    }

    fn lease_line(self) -> String {
        format!(
            "1795252463 {} {} SEP{} 01:{}\n",
            self.mac_colons(),
            self.ip(),
            self.mac_upper(),
            self.mac_colons()
        )
    }

    fn config_name(self) -> String {
        format!("SEP{}.cnf.xml", self.mac_upper())
    }

    fn sip_name(self) -> String {
        format!("SIP{}.cnf", self.mac_upper())
    }
}

/// A lease file kept open and rewritten in place, as dnsmasq does (`lease_update_file`:
/// rewind, `ftruncate(fd, 0)`, stdio writes, `fflush`, `fsync`; the file is never closed).
struct DnsmasqLeaseFile {
    file: File,
}

impl DnsmasqLeaseFile {
    fn create(path: &Path) -> DnsmasqLeaseFile {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        DnsmasqLeaseFile { file }
    }

    /// Rewrites the file with `text`; returns the moment the last `write` returned.
    fn rewrite(&mut self, text: &[u8]) -> Instant {
        self.file.seek(SeekFrom::Start(0)).unwrap();
        self.file.set_len(0).unwrap();
        for chunk in text.chunks(STDIO_CHUNK) {
            self.file.write_all(chunk).unwrap();
        }
        let end = Instant::now();
        self.file.sync_all().unwrap();
        end
    }
}

/// The daemon as a child process, stopped (SIGTERM, then SIGKILL) when dropped.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(site: &Site) -> Daemon {
        let log = site.path("daemon.log");
        let child = Command::new(&*BIN)
            .args(["run", "-c", &site.config()])
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let daemon = Daemon { child, log };
        daemon.wait_log("daemon ready", Duration::from_secs(60));
        daemon
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log_text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the daemon log:\n{}",
                self.log_text()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Files renamed into a directory (our atomic writes end with a rename), as inotify reports
/// them. Waits have a deadline: a watchdog thread creates a marker file to wake the read.
struct Arrivals {
    inotify: Inotify,
    dir: PathBuf,
    buffer: Vec<u8>,
}

const WAKE_MARKER: &str = "bench-wakeup.marker";

impl Arrivals {
    fn watch(dir: &Path) -> Arrivals {
        let inotify = Inotify::init().unwrap();
        inotify
            .watches()
            .add(dir, WatchMask::MOVED_TO | WatchMask::CREATE)
            .unwrap();
        Arrivals {
            inotify,
            dir: dir.to_path_buf(),
            buffer: vec![0; 64 * 1024],
        }
    }

    /// A watchdog that wakes [`Arrivals::wait`] after `timeout` unless told otherwise first.
    fn watchdog(&self, timeout: Duration) -> mpsc::Sender<()> {
        let (cancel, cancelled) = mpsc::channel::<()>();
        let marker = self.dir.join(WAKE_MARKER);
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(timeout) {
                let _ = File::create(&marker);
            }
        });
        cancel
    }

    /// Waits until every name in `names` was renamed into the directory; returns the moment
    /// each arrived (those that did not arrive before the watchdog fired are missing).
    fn wait(
        &mut self,
        names: &HashSet<OsString>,
        watchdog: mpsc::Sender<()>,
    ) -> Vec<(OsString, Instant)> {
        let mut seen = Vec::new();
        let mut missing: HashSet<&OsString> = names.iter().collect();
        'outer: while !missing.is_empty() {
            let events = self.inotify.read_events_blocking(&mut self.buffer).unwrap();
            let now = Instant::now();
            for event in events {
                let Some(name) = event.name else { continue };
                if name == WAKE_MARKER {
                    break 'outer;
                }
                if event.mask.contains(inotify::EventMask::MOVED_TO) {
                    if let Some(key) = missing.take(&name.to_os_string()) {
                        seen.push((key.clone(), now));
                    }
                }
            }
        }
        drop(watchdog);
        let _ = fs::remove_file(self.dir.join(WAKE_MARKER));
        seen
    }
}

/// Checks that every phone is provisioned once, with an extension of its own.
fn check_provisioned(site: &Site, phones: &[Phone]) -> Result<(), String> {
    let status = site.status();
    let list = status.as_array().ok_or("status is not an array")?;
    let by_mac: BTreeMap<String, &serde_json::Value> = list
        .iter()
        .map(|phone| (phone["mac"].as_str().unwrap_or("").to_string(), phone))
        .collect();
    let mut extensions = HashSet::new();
    for phone in phones {
        let entry = by_mac
            .get(&phone.mac_upper())
            .ok_or_else(|| format!("phone {} unknown", phone.mac_upper()))?;
        let extension = entry["extension"].as_str().unwrap_or("").to_string();
        if extension.is_empty() || !extensions.insert(extension.clone()) {
            return Err(format!(
                "phone {} has extension {extension:?}",
                phone.mac_upper()
            ));
        }
        // Nothing names these phones' model (lease lines, SEP requests): their file is the
        // 7940/7960 one; the SEP file waits for the model.
        let config = site.tftp().join(phone.sip_name());
        let text =
            fs::read_to_string(&config).map_err(|err| format!("{}: {err}", config.display()))?;
        if !text.contains(&format!("line1_authname: \"{extension}\"")) {
            return Err(format!("{} lacks extension {extension}", config.display()));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// size

fn bench_size(table: &mut Table) {
    println!("== size: the binary under test (`cargo bench` builds it with the bench profile, which inherits the release one; BENCHMARKS.md reports `cargo build --release`)");
    let size = fs::metadata(&*BIN).unwrap().len();
    let stripped = Command::new("file")
        .arg(&*BIN)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains(", stripped"))
        .unwrap_or(false);
    let limit = 1_600_000;
    table.add(
        "size: stripped binary",
        format!(
            "{size} B = {:.3} MB = {:.3} MiB{}",
            size as f64 / 1e6,
            size as f64 / 1048576.0,
            if stripped { "" } else { " (NOT stripped)" }
        ),
        "<= 1.6 MB (1,600,000 B)",
        Some(size <= limit),
    );
}

// ---------------------------------------------------------------------------------------
// latency

fn bench_latency(table: &mut Table, label: &str) {
    println!("== latency: lease written (dnsmasq in-place rewrite) -> config on disk, 1,000 phones one by one, tmpfs");
    let site = Site::new(TMPFS, LEASES_SOURCE);
    let mut leases = DnsmasqLeaseFile::create(&site.path("dhcp.leases"));
    let daemon = Daemon::start(&site);
    let mut arrivals = Arrivals::watch(&site.tftp());
    let phones: Vec<Phone> = (0..1000).map(Phone).collect();
    let mut text = String::new();
    let mut to_config = Vec::new();
    let mut to_all_files = Vec::new();
    for &phone in &phones {
        text.push_str(&phone.lease_line());
        // A lease line names no model: the phone's file is `SIP<MAC>.cnf` until it asks
        // for its term file (no SEP file while the model is unknown, issue 12).
        let names: HashSet<OsString> = [phone.sip_name()].into_iter().map(OsString::from).collect();
        let watchdog = arrivals.watchdog(Duration::from_secs(5));
        let written = leases.rewrite(text.as_bytes());
        let seen = arrivals.wait(&names, watchdog);
        assert_eq!(
            seen.len(),
            1,
            "phone {} not provisioned within 5 s:\n{}",
            phone.mac_upper(),
            daemon.log_text()
        );
        let config_at = seen
            .iter()
            .find(|(name, _)| *name == *phone.sip_name())
            .map(|(_, at)| *at)
            .unwrap();
        let last_at = seen.iter().map(|(_, at)| *at).max().unwrap();
        to_config.push(config_at.saturating_duration_since(written));
        to_all_files.push(last_at.saturating_duration_since(written));
        // Let the daemon go back to waiting, as between two real DHCP exchanges.
        thread::sleep(Duration::from_millis(2));
    }
    let first_100: Vec<Duration> = {
        let mut v = to_config[..100].to_vec();
        v.sort();
        v
    };
    let last_100: Vec<Duration> = {
        let mut v = to_config[900..].to_vec();
        v.sort();
        v
    };
    to_config.sort();
    to_all_files.sort();
    let p99 = quantile(&to_config, 0.99);
    table.add(
        &format!("{label}: lease -> phone file, p50"),
        format!("{:.2} ms", ms(quantile(&to_config, 0.5))),
        "-",
        None,
    );
    table.add(
        &format!("{label}: lease -> phone file, p99"),
        format!(
            "{:.2} ms (max {:.2} ms)",
            ms(p99),
            ms(*to_config.last().unwrap())
        ),
        "p99 <= 5 ms",
        Some(p99 <= Duration::from_millis(5)),
    );
    table.add(
        &format!("{label}: lease -> all files of the phone, p50 / p99"),
        format!(
            "{:.2} / {:.2} ms",
            ms(quantile(&to_all_files, 0.5)),
            ms(quantile(&to_all_files, 0.99))
        ),
        "-",
        None,
    );
    table.add(
        &format!("{label}: p50 phones 1-100 / 901-1000"),
        format!(
            "{:.2} / {:.2} ms",
            ms(quantile(&first_100, 0.5)),
            ms(quantile(&last_100, 0.5))
        ),
        "-",
        None,
    );
    daemon.stop();
    if let Err(err) = check_provisioned(&site, &phones) {
        panic!("latency: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// storm

fn bench_storm(table: &mut Table) {
    println!("== storm: 1,000 phones leased and requesting their config within 1 s, tmpfs");
    let mut worst = Duration::ZERO;
    let mut results = Vec::new();
    for round in 0..3 {
        let site = Site::new(TMPFS, &format!("{LEASES_SOURCE}{LOG_SOURCE}"));
        let mut leases = DnsmasqLeaseFile::create(&site.path("dhcp.leases"));
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(site.path("tftp.log"))
            .unwrap();
        let daemon = Daemon::start(&site);
        let phones: Vec<Phone> = (0..1000)
            .map(|i| Phone(0x10000 * (round + 1) + i))
            .collect();
        let names: HashSet<OsString> = phones
            .iter()
            .map(|phone| OsString::from(phone.sip_name()))
            .collect();
        let mut arrivals = Arrivals::watch(&site.tftp());
        let watchdog = arrivals.watchdog(Duration::from_secs(15));
        let tftp_root = site.tftp().display().to_string();
        let (start_tx, start_rx) = mpsc::channel();
        let waiter = thread::spawn(move || {
            let seen = arrivals.wait(&names, watchdog);
            let start: Instant = start_rx.recv().unwrap();
            let last = seen.iter().map(|(_, at)| *at).max();
            (
                seen.len(),
                last.map(|at| at.saturating_duration_since(start)),
            )
        });
        let start = Instant::now();
        let mut text = String::new();
        for (step, chunk) in phones.chunks(20).enumerate() {
            let due = start + Duration::from_millis(20 * step as u64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
            for phone in chunk {
                text.push_str(&phone.lease_line());
            }
            leases.rewrite(text.as_bytes());
            let mut lines = String::new();
            for phone in chunk {
                lines.push_str(&format!(
                    "2026-11-21T08:18:09.198444+00:00 router dnsmasq-tftp[812]: file {tftp_root}/{} not found for {}\n",
                    phone.config_name(),
                    phone.ip()
                ));
            }
            log.write_all(lines.as_bytes()).unwrap();
        }
        let storm_took = start.elapsed();
        start_tx.send(start).unwrap();
        let (n_seen, all_in) = waiter.join().unwrap();
        let all_in = all_in.unwrap_or(Duration::MAX);
        thread::sleep(Duration::from_millis(500));
        daemon.stop();
        let check = check_provisioned(&site, &phones);
        println!(
            "  round {}: storm written in {:.0} ms, {n_seen}/1000 configs, last one {:.0} ms after the start; {}",
            round + 1,
            ms(storm_took),
            ms(all_in),
            match &check {
                Ok(()) => "all provisioned, extensions unique".to_string(),
                Err(err) => format!("CHECK FAILED: {err}"),
            }
        );
        if n_seen < 1000 || check.is_err() {
            worst = Duration::MAX;
        } else {
            worst = worst.max(all_in);
        }
        results.push((all_in, all_in.saturating_sub(storm_took)));
    }
    let shown: Vec<String> = results
        .iter()
        .map(|(all_in, after)| format!("{:.0} ({:.0})", ms(*all_in), ms(*after)))
        .collect();
    table.add(
        "storm: 1,000 phones in 1 s -> last config written, from the start (after the last write), 3 rounds",
        format!(
            "{} ms, none lost: {}",
            shown.join(" / "),
            worst != Duration::MAX
        ),
        "<= 2,000 ms, none lost",
        Some(worst <= Duration::from_secs(2)),
    );
}

// ---------------------------------------------------------------------------------------
// bigtable

/// Lease `i` of a big table: a PC, printer or phone of another vendor (no Cisco OUI).
fn other_lease_line(i: u32) -> String {
    const OUIS: [&str; 4] = ["3c:22:fb", "f8:bc:12", "b8:27:eb", "00:50:56"];
    let oui = OUIS[(i % 4) as usize];
    let host = if i.is_multiple_of(3) {
        "*".to_string()
    } else {
        format!("host-{i:05}")
    };
    format!(
        "{} {oui}:{:02x}:{:02x}:{:02x} 10.{}.{}.{} {host} 01:{oui}:{:02x}:{:02x}:{:02x}\n",
        1795252463 + i,
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff,
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff,
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff,
    )
}

fn bench_big_table(table: &mut Table) {
    println!("== bigtable: a 50,000-lease dnsmasq file rewritten with one new phone, tmpfs");
    let site = Site::new(TMPFS, LEASES_SOURCE);
    let mut text: String = (0..50_000).map(other_lease_line).collect();
    println!("  lease file: {} bytes", text.len());
    let mut leases = DnsmasqLeaseFile::create(&site.path("dhcp.leases"));
    leases.rewrite(text.as_bytes());

    // The parse and the diff alone, in this process (same profile as the daemon).
    {
        use cisco_autoprov::parse::dnsmasq_leases;
        use cisco_autoprov::sources::leases::{LeaseRecord, LeaseTable};
        let mut parse_times = Vec::new();
        let mut diff_times = Vec::new();
        let mut lease_table = LeaseTable::default();
        for _ in 0..5 {
            let t0 = Instant::now();
            let file = dnsmasq_leases::parse(&text);
            let t1 = Instant::now();
            let records: Vec<LeaseRecord> = file
                .parsed
                .items
                .into_iter()
                .map(|lease| LeaseRecord {
                    mac: lease.mac,
                    ip: lease.ip,
                    hostname: lease.hostname,
                    vendor_class: None,
                    expires: lease.expires,
                })
                .collect();
            let _ = lease_table.update(records, 0);
            diff_times.push(t1.elapsed());
            parse_times.push(t1 - t0);
        }
        parse_times.sort();
        diff_times.sort();
        table.add(
            "bigtable breakdown: parse 50,000 leases / diff (in-process, median of 5)",
            format!("{:.2} / {:.2} ms", ms(parse_times[2]), ms(diff_times[2])),
            "-",
            None,
        );
    }

    let daemon = Daemon::start(&site);
    let mut arrivals = Arrivals::watch(&site.tftp());
    let mut times = Vec::new();
    let phones: Vec<Phone> = (0..20).map(|i| Phone(0x200000 + i)).collect();
    for &phone in &phones {
        text.push_str(&phone.lease_line());
        let names: HashSet<OsString> = [OsString::from(phone.sip_name())].into_iter().collect();
        let watchdog = arrivals.watchdog(Duration::from_secs(10));
        let written = leases.rewrite(text.as_bytes());
        let seen = arrivals.wait(&names, watchdog);
        assert_eq!(
            seen.len(),
            1,
            "phone not provisioned:\n{}",
            daemon.log_text()
        );
        times.push(seen[0].1.saturating_duration_since(written));
        thread::sleep(Duration::from_millis(200));
    }
    times.sort();
    let max = *times.last().unwrap();
    table.add(
        "bigtable: 50,000 leases + 1 phone -> config on disk (20 rewrites)",
        format!(
            "median {:.1} ms, max {:.1} ms",
            ms(quantile(&times, 0.5)),
            ms(max)
        ),
        "p50 <= 30 ms",
        Some(quantile(&times, 0.5) <= Duration::from_millis(30)),
    );
    daemon.stop();
    if let Err(err) = check_provisioned(&site, &phones) {
        panic!("bigtable: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// scan

/// xorshift64*: deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One pattern for every line kind scan recognises in this file: dnsmasq-tftp `sent` and
/// `file … not found`, tftpd-hpa `RRQ from`, atftpd `Serving`, dnsmasq and isc dhcpd
/// DHCPACK.
const GREP_PATTERN: &str = r"(dnsmasq-tftp\[[0-9]+\]: (sent|file) /|in\.tftpd\[[0-9]+\]: RRQ from |atftpd\[[0-9]+\]: Serving |dnsmasq-dhcp\[[0-9]+\]: DHCPACK\(|dhcpd\[[0-9]+\]: DHCPACK on )";

/// Writes the syslog; returns the number of recognised lines in it.
/// Which lines a generated syslog holds besides other daemons' noise.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// 1 % lines of every server scan knows, among DNS/DHCP noise of dnsmasq and dhcpd too.
    Servers,
    /// 1 % tftpd-hpa `RRQ` lines; the other 99 % from daemons that are none of ours
    /// (kernel, sshd, cron, systemd, chronyd, postfix): a Debian box with tftpd-hpa.
    TftpdHpa,
}

fn write_syslog(path: &Path, target_bytes: u64, tftp_root: &str, mix: Mix) -> u64 {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut written = 0u64;
    let mut n_ours = 0u64;
    let mut n_lines = 0u64;
    let mut second = 8 * 3600u64;
    let phones: Vec<Phone> = (0..400).map(|i| Phone(0x300000 + i)).collect();
    let names = [
        "CTLSEP{MAC}.tlv",
        "ITLSEP{MAC}.tlv",
        "SEP{MAC}.cnf.xml",
        "term41.default.loads",
        "term61.default.loads",
        "XMLDefault.cnf.xml",
        "jar41sip.9-4-2ES26.sbn",
        "dkern41sip.9-4-2ES26.sebn",
    ];
    let domains = [
        "www.debian.org",
        "deb.debian.org",
        "connectivity-check.ubuntu.com",
        "time.cloudflare.com",
        "api.github.com",
        "outlook.office365.com",
        "fonts.gstatic.com",
        "clients4.google.com",
        "pool.ntp.org",
        "wpad.lan",
    ];
    let users = ["admin", "backup", "root", "deploy"];
    let mut line = String::with_capacity(512);
    while written < target_bytes {
        line.clear();
        if rng.below(12) == 0 {
            second += 1;
        }
        let stamp = format!(
            "2026-11-21T{:02}:{:02}:{:02}.{:06}+00:00 router ",
            (second / 3600) % 24,
            (second / 60) % 60,
            second % 60,
            rng.below(1_000_000)
        );
        line.push_str(&stamp);
        let pid = 1000 + rng.below(30000);
        if n_lines.is_multiple_of(100) {
            // One line in a hundred is one scan recognises.
            n_ours += 1;
            let phone = phones[rng.below(phones.len() as u64) as usize];
            let name = rng.pick(&names).replace("{MAC}", &phone.mac_upper());
            let ip = phone.ip();
            let kind = if mix == Mix::TftpdHpa {
                2
            } else {
                rng.below(6)
            };
            let text = match kind {
                0 => format!("dnsmasq-tftp[812]: sent {tftp_root}/{name} to {ip}"),
                1 => format!("dnsmasq-tftp[812]: file {tftp_root}/{name} not found for {ip}"),
                2 => format!("in.tftpd[{pid}]: RRQ from {ip} filename {name}"),
                3 => format!(
                    "atftpd[{pid}]: Serving {name} to {ip}:{}",
                    1024 + rng.below(60000)
                ),
                4 => format!(
                    "dnsmasq-dhcp[812]: DHCPACK(br0) {ip} {} SEP{}",
                    phone.mac_colons(),
                    phone.mac_upper()
                ),
                _ => format!(
                    "dhcpd[{pid}]: DHCPACK on {ip} to {} (SEP{}) via br0",
                    phone.mac_colons(),
                    phone.mac_upper()
                ),
            };
            line.push_str(&text);
        } else {
            let host = rng.below(250);
            let kind = if mix == Mix::TftpdHpa {
                const OTHERS: [u64; 9] = [9, 10, 11, 14, 15, 16, 17, 18, 19];
                OTHERS[rng.below(OTHERS.len() as u64) as usize]
            } else {
                rng.below(20)
            };
            let text = match kind {
                0..=4 => format!(
                    "dnsmasq[812]: query[{}] {} from 192.168.1.{host}",
                    rng.pick(&["A", "AAAA", "HTTPS"]),
                    rng.pick(&domains)
                ),
                5..=6 => format!(
                    "dnsmasq[812]: forwarded {} to 1.1.1.1",
                    rng.pick(&domains)
                ),
                7..=8 => format!(
                    "dnsmasq[812]: reply {} is 104.18.{}.{}",
                    rng.pick(&domains),
                    rng.below(256),
                    rng.below(256)
                ),
                9..=11 => format!(
                    "kernel: [{}.{:06}] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:00:0d:b9:4a:2c:10:08:00 SRC=203.0.113.{host} DST=198.51.100.2 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID={} DF PROTO=TCP SPT={} DPT={} WINDOW=64240 RES=0x00 SYN URGP=0",
                    second,
                    rng.below(1_000_000),
                    rng.below(65536),
                    1024 + rng.below(60000),
                    rng.pick(&["22", "23", "443", "3389", "5060"])
                ),
                12 => format!(
                    "dnsmasq-dhcp[812]: {}(br0) 192.168.1.{host} 3c:22:fb:{:02x}:{:02x}:{:02x} ",
                    rng.pick(&["DHCPREQUEST", "DHCPOFFER", "DHCPDISCOVER"]),
                    rng.below(256),
                    rng.below(256),
                    rng.below(256)
                ),
                13 => format!(
                    "dhcpd[{pid}]: DHCPREQUEST for 192.168.1.{host} from f8:bc:12:{:02x}:{:02x}:{:02x} via br0",
                    rng.below(256),
                    rng.below(256),
                    rng.below(256)
                ),
                14 => format!(
                    "sshd[{pid}]: Accepted publickey for {} from 192.168.1.{host} port {} ssh2: ED25519 SHA256:Xn3b1Q0y9Zr7YHkq2bqkM6oA0d5V6w3u8LkJ1mT4pRs",
                    rng.pick(&users),
                    1024 + rng.below(60000)
                ),
                15 => format!(
                    "sshd[{pid}]: pam_unix(sshd:session): session opened for user {}(uid=1000) by (uid=0)",
                    rng.pick(&users)
                ),
                16 => format!(
                    "CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)"
                ),
                17 => format!(
                    "systemd[1]: Started session-{}.scope - Session {} of User {}.",
                    pid,
                    pid,
                    rng.pick(&users)
                ),
                18 => format!(
                    "chronyd[{pid}]: Selected source 162.159.200.{} (time.cloudflare.com)",
                    rng.below(256)
                ),
                _ => format!(
                    "postfix/smtpd[{pid}]: disconnect from unknown[203.0.113.{host}] ehlo=1 auth=0/1 quit=1 commands=2/3"
                ),
            };
            line.push_str(&text);
        }
        line.push('\n');
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        n_lines += 1;
    }
    out.flush().unwrap();
    n_ours
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, Vec<Duration>, T) {
    let mut all = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let (took, value) = f();
        all.push(took);
        last = Some(value);
    }
    let best = *all.iter().min().unwrap();
    (best, all, last.unwrap())
}

fn bench_scan(table: &mut Table, mix: Mix) {
    let what = match mix {
        Mix::Servers => "1 % lines of every server",
        Mix::TftpdHpa => "1 % tftpd-hpa, 99 % other daemons",
    };
    println!("== scan: 200 MB syslog, {what}, against LC_ALL=C grep -cE (best of 3)");
    let data = tempfile::Builder::new()
        .prefix("cisco-autoprov-bench-scan.")
        .tempdir_in(TMPFS)
        .unwrap();
    let syslog = data.path().join("syslog");
    let t0 = Instant::now();
    let n_ours = write_syslog(&syslog, 200 * 1000 * 1000, "/srv/tftp", mix);
    let size = fs::metadata(&syslog).unwrap().len();
    println!(
        "  generated {size} bytes, {n_ours} recognised lines, in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    // Warm the page cache for both contenders.
    let mut sink = Vec::new();
    File::open(&syslog).unwrap().read_to_end(&mut sink).unwrap();
    drop(sink);

    let (grep_best, grep_all, grep_count) = best_of(3, || {
        let t0 = Instant::now();
        let output = Command::new("grep")
            .env("LC_ALL", "C")
            .args(["-cE", GREP_PATTERN])
            .arg(&syslog)
            .output()
            .unwrap();
        let took = t0.elapsed();
        let count: u64 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        (took, count)
    });
    assert_eq!(
        grep_count, n_ours,
        "the grep pattern must match exactly the recognised lines"
    );

    let mut run_no = 0;
    let (scan_best, scan_all, summary) = best_of(3, || {
        run_no += 1;
        let site_dir = data.path().join(format!("site{run_no}"));
        fs::create_dir_all(site_dir.join("tftp")).unwrap();
        let config = site_dir.join("config.toml");
        fs::write(
            &config,
            format!(
                "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nhost = \"198.18.0.10\"\n\
                 [provision]\nextensions = \"2000-2999\"\ntftp_only = \"auto\"\n[[source]]\nkind = \"log\"\npath = \"{}\"\n",
                syslog.display()
            ),
        )
        .unwrap();
        let t0 = Instant::now();
        let output = Command::new(&*BIN)
            .args(["scan", "-c", &config.display().to_string()])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let took = t0.elapsed();
        assert!(output.status.success(), "scan failed: {output:?}");
        (took, String::from_utf8_lossy(&output.stdout).into_owned())
    });
    println!("  scan summary: {}", summary.replace('\n', "; "));
    let show = |all: &[Duration]| {
        all.iter()
            .map(|d| format!("{:.0}", ms(*d)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "  grep runs: {} ms; scan runs: {} ms",
        show(&grep_all),
        show(&scan_all)
    );
    let ratio = scan_best.as_secs_f64() / grep_best.as_secs_f64();
    table.add(
        &format!("scan ({what}): LC_ALL=C grep -cE, 200 MB (best of 3)"),
        format!("{:.0} ms", ms(grep_best)),
        "-",
        None,
    );
    table.add(
        &format!("scan ({what}): cisco-autoprov scan, 200 MB (best of 3)"),
        format!("{:.0} ms = {ratio:.2} x grep", ms(scan_best)),
        "<= 1.5 x grep",
        Some(ratio <= 1.5),
    );
}

// ---------------------------------------------------------------------------------------
// idle

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after ")": state is field 3, so utime (14) and stime (15) are at 11 and 12.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Resident kB of a process's heap (`[heap]` plus anonymous private maps that are not the
/// stack, i.e. malloc arenas and large allocations) and of its other anonymous pages (stack,
/// the binary's data).
fn heap_kb(pid: u32) -> (u64, u64) {
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let (mut heap, mut other) = (0, 0);
    let mut kind = "";
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.contains('-') && first.chars().next().is_some_and(|c| c.is_ascii_hexdigit()) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            kind = match fields.get(5) {
                Some(&"[heap]") => "heap",
                None => "heap", // anonymous: malloc's mmapped arenas and big blocks
                Some(name) if name.starts_with('[') => "other",
                Some(_) if fields.get(4) == Some(&"0") => "other",
                Some(_) => "file",
            };
            continue;
        }
        if let Some(rest) = line.strip_prefix("Anonymous:") {
            let kb: u64 = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            match kind {
                "heap" => heap += kb,
                _ => other += kb,
            }
        }
    }
    (heap, other)
}

/// A `kB` field of `/proc/PID/status`.
fn status_kb(pid: u32, field: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Context switches (voluntary + involuntary) of every thread of a process.
fn context_switches(pid: u32) -> u64 {
    let mut total = 0;
    for task in fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        let status = fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches")
                || line.starts_with("nonvoluntary_ctxt_switches")
            {
                total += line
                    .split_whitespace()
                    .last()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

fn bench_idle(table: &mut Table) {
    println!("== idle: every kind of source present, 1,000 phones known, 60 s without writes");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let sources = format!(
        "{LEASES_SOURCE}{LOG_SOURCE}\
         [[source]]\nkind = \"isc-leases\"\npath = \"isc/dhcpd.leases\"\n\
         [[source]]\nkind = \"kea-leases\"\npath = \"kea/kea-leases4.csv\"\n\
         [[source]]\nkind = \"odhcpd\"\npath = \"odhcpd/odhcpd\"\n\
         [[source]]\nkind = \"log\"\npath = \"log/syslog\"\n\
         [[source]]\nkind = \"command\"\ncommand = [\"sleep\", \"600\"]\n"
    );
    let site = Site::new(TMPFS, &sources);
    for dir in ["isc", "kea", "odhcpd", "log"] {
        fs::create_dir(site.path(dir)).unwrap();
    }
    fs::copy(
        format!("{data}/isc-dhcpd/lease-snapshots/10-after-restart--dhcpd.leases"),
        site.path("isc/dhcpd.leases"),
    )
    .unwrap();
    fs::copy(
        format!("{data}/kea/lease-snapshots/11-after-restart--kea-leases4.csv"),
        site.path("kea/kea-leases4.csv"),
    )
    .unwrap();
    fs::copy(
        format!("{data}/odhcpd/statefile-current"),
        site.path("odhcpd/odhcpd"),
    )
    .unwrap();
    fs::copy(
        format!("{data}/logs/isc-dhcpd/syslog"),
        site.path("log/syslog"),
    )
    .unwrap();
    fs::write(site.path("tftp.log"), "").unwrap();
    let phones: Vec<Phone> = (0..1000).map(|i| Phone(0x400000 + i)).collect();
    let text: String = phones.iter().map(|phone| phone.lease_line()).collect();
    fs::write(site.path("dhcp.leases"), text).unwrap();

    // First run: provisions the 1,000 phones.
    let first = Daemon::start(&site);
    let last = phones.last().unwrap().sip_name();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !site.tftp().join(&last).exists() {
        assert!(
            Instant::now() < deadline,
            "phones not provisioned:\n{}",
            first.log_text()
        );
        thread::sleep(Duration::from_millis(20));
    }
    let first_rss = status_kb(first.pid(), "VmRSS");
    let first_hwm = status_kb(first.pid(), "VmHWM");
    first.stop();
    let known = site.status().as_array().map_or(0, Vec::len);
    assert!(known >= 1000, "only {known} phones known");

    // Second run: the phones are known from the state file.
    let daemon = Daemon::start(&site);
    let pid = daemon.pid();
    let ready_rss = status_kb(pid, "VmRSS");
    thread::sleep(Duration::from_secs(6));
    let ticks_before = cpu_ticks(pid);
    let switches_before = context_switches(pid);
    let rss_before = status_kb(pid, "VmRSS");
    thread::sleep(Duration::from_secs(60));
    let ticks = cpu_ticks(pid) - ticks_before;
    let switches = context_switches(pid) - switches_before;
    let rss = status_kb(pid, "VmRSS");
    let hwm = status_kb(pid, "VmHWM");
    let anon = status_kb(pid, "RssAnon");
    let file = status_kb(pid, "RssFile");
    let threads = fs::read_dir(format!("/proc/{pid}/task")).unwrap().count();
    // Proportional set size: shared libraries counted by their share.
    let pss = fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    // The heap alone: the `[heap]` mapping (brk) and glibc's other arenas (anonymous maps
    // that are not stacks), apart from the binary's and libraries' own pages.
    let (heap, other_anon) = heap_kb(pid);
    table.add(
        "idle: heap with 1,000 phones known ([heap] + malloc arenas / other anonymous)",
        format!("{heap} kB / {other_anon} kB"),
        "-",
        None,
    );
    table.add(
        "idle: CPU ticks in 60 s (utime+stime, USER_HZ=100)",
        format!("{ticks} ticks, {switches} context switches, {threads} thread(s)"),
        "0 ticks",
        Some(ticks == 0),
    );
    table.add(
        "idle: VmRSS with 1,000 phones known (restart from state)",
        format!(
            "{rss} kB = {:.2} MiB (anon {anon} kB, file {file} kB, PSS {pss} kB; at ready {ready_rss} kB, before idle {rss_before} kB, peak {hwm} kB)",
            rss as f64 / 1024.0
        ),
        "<= 4 MB",
        Some(rss as f64 <= 4.0 * 1024.0),
    );
    table.add(
        "idle: VmRSS right after provisioning 1,000 phones (first run)",
        format!("{first_rss} kB (peak {first_hwm} kB)"),
        "-",
        None,
    );
    daemon.stop();
}
