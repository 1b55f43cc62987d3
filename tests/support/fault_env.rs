//! What the fault tests (`tests/faults.rs`) share: a site on disk, the daemon as a child process
//! (optionally behind a wrapper such as `unshare` or `setpriv`), simulated phones, a lease file
//! rewritten the way dnsmasq rewrites it, the checks of the TFTP root, and skipping.
//!
//! Kept apart from `netns.rs` (network labs) because nothing here needs a network namespace.
//! Included with `#[path]` from `tests/faults.rs`, so `support/mod.rs` does not list it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_cisco-autoprov");

/// The user the unprivileged daemon runs as (`nobody` on Debian and OpenWrt).
pub const NOBODY: u32 = 65534;

/// Step between two checks of a condition.
pub const POLL: Duration = Duration::from_millis(20);

// ---------------------------------------------------------------------------------------
// Skipping

/// True when the test may run. Without root or a program it needs, prints
/// `skipping <test>: <reason>` and returns false, unless `CI=true`: CI must really run the
/// fault tests, so there a missing prerequisite fails the test.
pub fn prerequisites(test: &str, needs_root: bool, programs: &[&str]) -> bool {
    let mut missing = Vec::new();
    if needs_root && !is_root() {
        missing.push("not running as root".to_string());
    }
    for program in programs {
        if which(program).is_none() {
            missing.push(format!("{program} not found in PATH"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let reason = missing.join(", ");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: prerequisite missing under CI=true: {reason}");
    }
    println!("skipping {test}: {reason}");
    false
}

pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

// ---------------------------------------------------------------------------------------
// Randomness

/// xorshift64*, seeded from `FAULTS_SEED` or the clock; the seed is printed so that a failing
/// run can be repeated.
pub struct Rng(u64);

impl Rng {
    pub fn new(test: &str) -> Rng {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            })
            | 1;
        println!("{test}: FAULTS_SEED={seed}");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `low..high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }
}

// ---------------------------------------------------------------------------------------
// Phones

/// Simulated phone number `n`: a Cisco MAC (OUI 00:1b:0c), an address in 198.18.0.0/15.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(pub u32);

impl Phone {
    pub fn mac(self) -> String {
        format!(
            "001B0C{:02X}{:02X}{:02X}",
            (self.0 >> 16) & 0xff,
            (self.0 >> 8) & 0xff,
            self.0 & 0xff
        )
    }

    pub fn mac_colons(self) -> String {
        self.mac()
            .to_ascii_lowercase()
            .as_bytes()
            .chunks(2)
            .map(|pair| std::str::from_utf8(pair).unwrap())
            .collect::<Vec<_>>()
            .join(":")
    }

    pub fn ip(self) -> String {
        let n = self.0 % 40_000;
        format!("198.18.{}.{}", 1 + n / 200, 10 + n % 200)
    }

    /// Its line in dnsmasq's lease file.
    pub fn lease_line(self) -> String {
        format!(
            "1795252463 {} {} SEP{} 01:{}\n",
            self.mac_colons(),
            self.ip(),
            self.mac(),
            self.mac_colons()
        )
    }

    /// The config it asks for (the XML firmware's).
    pub fn config_name(self) -> String {
        format!("SEP{}.cnf.xml", self.mac())
    }

    /// Whether the daemon wrote its file into `root`: its SEP file once its model is known
    /// (a `term41.default.loads` request), else its 7940/7960 file (nothing named its model;
    /// issue 12: no SEP file then, the phone reads XMLDefault.cnf.xml).
    pub fn has_file_in(self, root: &Path) -> bool {
        root.join(self.config_name()).exists() || root.join(self.sip_name()).exists()
    }

    pub fn sip_name(self) -> String {
        format!("SIP{}.cnf", self.mac())
    }
}

/// A log line in Debian 12's rsyslog format.
pub fn syslog_line(message: &str) -> String {
    format!("2026-11-21T08:18:09.198444+00:00 router {message}\n")
}

/// dnsmasq's lease file, kept open and rewritten in place as dnsmasq does: `ftruncate` to 0,
/// writes in stdio-sized chunks, `fsync`.
pub struct DnsmasqLeases {
    file: File,
}

impl DnsmasqLeases {
    pub fn open(path: &Path) -> DnsmasqLeases {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        DnsmasqLeases { file }
    }

    pub fn rewrite(&mut self, phones: &[Phone]) {
        let text: String = phones.iter().map(|phone| phone.lease_line()).collect();
        self.file.seek(SeekFrom::Start(0)).unwrap();
        self.file.set_len(0).unwrap();
        for chunk in text.as_bytes().chunks(4096) {
            self.file.write_all(chunk).unwrap();
        }
        self.file.sync_all().unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// Sites

/// A temporary site: `config.toml`, `tftp/`, `state/` and the sources in `site/` of a
/// temporary directory, the daemon's log beside it. The log is kept out of `site/` because
/// a source whose directory is missing is waited for with a watch on `site/`: our own log
/// writes would wake the daemon there.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    /// A site whose config has `extra` appended (sources, …). Paths in `extra` are relative
    /// to the site.
    pub fn new(extra: &str) -> Site {
        let dir = tempfile::Builder::new()
            .prefix("cisco-autoprov-faults.")
            .tempdir()
            .unwrap();
        fs::create_dir_all(dir.path().join("site/tftp")).unwrap();
        let site = Site { dir };
        site.write_config(extra);
        site
    }

    /// The site directory (the config's directory).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    /// The daemon's stderr, appended to by every run.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }

    pub fn write_config(&self, extra: &str) {
        let text = format!(
            "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nhost = \"198.18.0.10\"\n\
             [provision]\nextensions = \"2000-2999\"\ntftp_only = \"auto\"\n\
             # The storms here are phones seen only through TFTP: issue 6's bound would let\n\
             # 20 a minute through, and these tests are about faults, not that bound.\n\
             max_new_per_minute = 100000\n{extra}"
        );
        fs::write(self.path("config.toml"), text).unwrap();
    }

    /// `name` in the site directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    pub fn config(&self) -> String {
        self.path("config.toml").display().to_string()
    }

    pub fn tftp(&self) -> PathBuf {
        self.path("tftp")
    }

    /// `status --json`.
    pub fn status(&self) -> serde_json::Value {
        let output = Command::new(BIN)
            .args(["status", "-c", &self.config(), "--json"])
            .output()
            .unwrap();
        assert!(output.status.success(), "status failed: {output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Appends `text` to the file `name` (created when missing).
    pub fn append(&self, name: &str, text: &str) {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(name))
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }
}

/// Sets the permission bits of `path`.
pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|err| panic!("chmod {mode:o} {}: {err}", path.display()));
}

/// `chown -R uid:gid path`.
pub fn chown(path: &Path, uid: u32) {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{uid}"))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "chown {uid} {}", path.display());
}

// ---------------------------------------------------------------------------------------
// The daemon

/// The daemon as a child process; SIGKILLed on drop (a test that panics leaves nothing
/// behind: a private mount namespace dies with it).
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    /// `cisco-autoprov run -c CONFIG`, its stderr appended to [`Site::log_path`]; waits for
    /// its `daemon ready` line.
    pub fn start(site: &Site) -> Daemon {
        Daemon::start_wrapped(site, &[])
    }

    /// As [`Daemon::start`], behind `wrapper` (e.g. `["setpriv", "--reuid=65534", …]`).
    pub fn start_wrapped(site: &Site, wrapper: &[&str]) -> Daemon {
        let log = site.log_path();
        let readies_before = fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("daemon ready")
            .count();
        let mut daemon = Daemon::spawn(site, wrapper, &["run", "-c", &site.config()]);
        daemon.wait_for("daemon ready", Duration::from_secs(20), || {
            fs::read_to_string(&log)
                .unwrap_or_default()
                .matches("daemon ready")
                .count()
                > readies_before
        });
        daemon
    }

    /// Spawns `wrapper… BIN args…` without waiting for anything. Every run appends its
    /// stderr to [`Site::log_path`].
    pub fn spawn(site: &Site, wrapper: &[&str], args: &[&str]) -> Daemon {
        let log = site.log_path();
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(BIN);
                command
            }
            None => Command::new(BIN),
        };
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = command
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("FAULTS_RUST_LOG").unwrap_or_else(|_| "info".to_string()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Occurrences of `needle` in the log.
    pub fn count(&self, needle: &str) -> usize {
        self.log_text().matches(needle).count()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, and reap.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM; waits for the exit (SIGKILL after 10 s).
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(POLL);
        }
    }

    /// Waits until `condition` holds, checking that the daemon still runs; panics with
    /// `what` and the log after `timeout`.
    #[track_caller]
    pub fn wait_for(&mut self, what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if condition() {
                return;
            }
            if !self.is_running() {
                panic!(
                    "the daemon exited while waiting for {what}:\n{}",
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}; daemon log:\n{}",
                self.log_text()
            );
            thread::sleep(POLL);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Checks of the TFTP root

/// Problems with the phone files in `root`: a `SEP*.cnf.xml` that is not well-formed XML, a
/// `SIP*.cnf` that does not end in a newline (both templates end with one), an empty file.
/// `.cisco-autoprov.*` temporary files are reported only when `temp_files_allowed` is false
/// (a SIGKILL can leave one; the next start removes it).
pub fn bad_files(root: &Path, temp_files_allowed: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(entries) = fs::read_dir(root) else {
        return vec![format!("cannot list {}", root.display())];
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(".cisco-autoprov.") {
            // A write in flight (the daemon may still be writing the last phone's second
            // file) finishes within milliseconds; a temporary file left behind stays.
            let deadline = Instant::now() + Duration::from_secs(2);
            while !temp_files_allowed && path.exists() && Instant::now() < deadline {
                thread::sleep(POLL);
            }
            if !temp_files_allowed && path.exists() {
                problems.push(format!("temporary file left: {name}"));
            }
            continue;
        }
        let is_phone_xml = name.starts_with("SEP") && name.ends_with(".cnf.xml");
        let is_xml = is_phone_xml || name == "XMLDefault.cnf.xml";
        let is_sip = name.starts_with("SIP") && name.ends_with(".cnf");
        if !is_xml && !is_sip {
            continue;
        }
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            // Replaced or removed between the listing and the read.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => {
                problems.push(format!("{name}: {err}"));
                continue;
            }
        };
        if bytes.is_empty() {
            problems.push(format!("{name}: empty"));
            continue;
        }
        if is_xml {
            match std::str::from_utf8(&bytes) {
                Ok(text) => {
                    if let Err(err) = roxmltree::Document::parse(text) {
                        problems.push(format!(
                            "{name}: not well-formed XML ({err}), {} bytes",
                            bytes.len()
                        ));
                    }
                }
                Err(err) => problems.push(format!("{name}: not UTF-8 ({err})")),
            }
        } else if !bytes.ends_with(b"\n") {
            problems.push(format!(
                "{name}: cut off ({} bytes, no final newline)",
                bytes.len()
            ));
        }
    }
    problems
}

/// The extension written in a phone's file: `<authName>` of its SEP file, else
/// `line1_authname` of its 7940/7960 file (see [`Phone::has_file_in`]).
pub fn extension_in_file(root: &Path, phone: Phone) -> Option<String> {
    if let Ok(text) = fs::read_to_string(root.join(phone.config_name())) {
        let doc = roxmltree::Document::parse(&text).ok()?;
        return doc
            .descendants()
            .find(|node| node.has_tag_name("authName"))
            .and_then(|node| node.text())
            .map(str::to_string);
    }
    let text = fs::read_to_string(root.join(phone.sip_name())).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("line1_authname: \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .map(str::to_string)
}

/// Checks that every phone is known, has an extension no other phone has, and that its
/// config file carries that extension. Returns the problems found.
pub fn provisioning_problems(site: &Site, root: &Path, phones: &[Phone]) -> Vec<String> {
    let status = site.status();
    let list = status.as_array().cloned().unwrap_or_default();
    let mut problems = Vec::new();
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in &list {
        if let Some(extension) = entry["extension"].as_str() {
            owners
                .entry(extension.to_string())
                .or_default()
                .push(entry["mac"].as_str().unwrap_or("?").to_string());
        }
    }
    for (extension, macs) in &owners {
        if macs.len() > 1 {
            problems.push(format!("extension {extension} given to {macs:?}"));
        }
    }
    let known: HashSet<String> = list
        .iter()
        .filter_map(|entry| entry["mac"].as_str().map(str::to_string))
        .collect();
    let mut in_files: BTreeMap<String, Phone> = BTreeMap::new();
    for &phone in phones {
        if !known.contains(&phone.mac()) {
            problems.push(format!("phone {} unknown to status", phone.mac()));
            continue;
        }
        let entry = list
            .iter()
            .find(|e| e["mac"] == phone.mac().as_str())
            .unwrap();
        let extension = entry["extension"].as_str().unwrap_or("").to_string();
        match extension_in_file(root, phone) {
            None => problems.push(format!(
                "phone {}: no readable {}",
                phone.mac(),
                phone.config_name()
            )),
            Some(in_file) if in_file != extension => problems.push(format!(
                "phone {}: file says extension {in_file}, status says {extension:?}",
                phone.mac()
            )),
            Some(in_file) => {
                if let Some(other) = in_files.insert(in_file.clone(), phone) {
                    problems.push(format!(
                        "extension {in_file} in the files of {} and {}",
                        other.mac(),
                        phone.mac()
                    ));
                }
            }
        }
    }
    problems
}
