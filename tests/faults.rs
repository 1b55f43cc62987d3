//! Fault tests: the daemon killed with SIGKILL during a storm, a full TFTP root, permission
//! denied on a source and on the TFTP root, a source directory that disappears and comes
//! back, and log rotation in the middle of a storm.
//!
//! Each test drives the real binary on a temporary site and checks what a TFTP server would
//! serve: no file cut short (every `SEP*.cnf.xml` parses as XML, every `SIP*.cnf` ends with its
//! newline), no extension given to two phones, every phone provisioned in the end.
//!
//! The tests that need root (a private tmpfs, an unprivileged daemon through `setpriv`) skip
//! with a printed reason without it, and fail instead when `CI=true`. Random choices are
//! printed as `FAULTS_SEED=…`; set that variable to repeat a run.

#[path = "support/fault_env.rs"]
mod fault_env;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use fault_env::{
    bad_files, chown, prerequisites, provisioning_problems, set_mode, syslog_line, Daemon,
    DnsmasqLeases, Phone, Rng, Site, NOBODY,
};

const LEASES: &str = "[[source]]\nkind = \"dnsmasq-leases\"\npath = \"dhcp.leases\"\n";
const LOG: &str = "[[source]]\nkind = \"log\"\npath = \"tftp.log\"\n";

/// The phone's TFTP request as tftpd-hpa logs it (the file name carries the MAC).
fn rrq(phone: Phone, file: &str) -> String {
    syslog_line(&format!(
        "in.tftpd[{}]: RRQ from {} filename {file}",
        27000 + phone.0 % 1000,
        phone.ip()
    ))
}

/// True when every phone's config file is in `root`.
fn all_configs_in(root: &Path, phones: &[Phone]) -> bool {
    phones.iter().all(|phone| phone.has_file_in(root))
}

fn missing_configs(root: &Path, phones: &[Phone]) -> Vec<String> {
    phones
        .iter()
        .filter(|phone| !phone.has_file_in(root))
        .map(|phone| phone.mac())
        .collect()
}

/// Polls `root` in a thread and collects every cut-off or malformed phone file it ever sees.
struct Watchman {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
    thread: Option<thread::JoinHandle<u64>>,
}

impl Watchman {
    fn start(root: PathBuf) -> Watchman {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            thread::spawn(move || {
                let mut n_scans = 0;
                while !stop.load(Ordering::Relaxed) {
                    let problems = bad_files(&root, true);
                    if !problems.is_empty() {
                        seen.lock().unwrap().extend(problems);
                    }
                    n_scans += 1;
                    thread::sleep(Duration::from_millis(2));
                }
                n_scans
            })
        };
        Watchman {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// Stops polling; returns the number of scans and the problems seen.
    fn finish(mut self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let n_scans = self.thread.take().unwrap().join().unwrap();
        let seen = std::mem::take(&mut *self.seen.lock().unwrap());
        (n_scans, seen)
    }
}

impl Drop for Watchman {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------

/// 300 phones arrive in a dnsmasq lease file in 60 steps while the daemon is killed with
/// SIGKILL at random moments and restarted. After every kill the TFTP root holds only
/// complete files and the state file parses; in the end every phone is provisioned, with an
/// extension of its own that its file carries, and no temporary file is left.
#[test]
fn kill_9_during_a_storm_loses_nothing() {
    let mut rng = Rng::new("kill_9_during_a_storm_loses_nothing");
    let site = Site::new(&format!("{LEASES}{LOG}"));
    fs::write(site.path("tftp.log"), "").unwrap();
    let phones: Vec<Phone> = (0..300).map(|i| Phone(0x10_0000 + i)).collect();

    // The storm: each step adds 5 leases and logs, for the phones of the step before, the
    // request that tells their model (the files change once more: the 7941 drops SIP<MAC>.cnf).
    let storm = {
        let phones = phones.clone();
        let leases_path = site.path("dhcp.leases");
        let log_path = site.path("tftp.log");
        thread::spawn(move || {
            let mut leases = DnsmasqLeases::open(&leases_path);
            let mut log = OpenOptions::new().append(true).open(&log_path).unwrap();
            for step in 0..60 {
                leases.rewrite(&phones[..(step + 1) * 5]);
                if step > 0 {
                    for phone in &phones[(step - 1) * 5..step * 5] {
                        log.write_all(rrq(*phone, "term41.default.loads").as_bytes())
                            .unwrap();
                    }
                }
                thread::sleep(Duration::from_millis(40));
            }
        })
    };

    let mut n_kills = 0;
    let started = Instant::now();
    while !storm.is_finished() || n_kills < 12 {
        let daemon = Daemon::start(&site);
        thread::sleep(Duration::from_millis(rng.range(20, 300)));
        daemon.kill9();
        n_kills += 1;
        let problems = bad_files(&site.tftp(), true);
        assert!(
            problems.is_empty(),
            "after SIGKILL number {n_kills}: {problems:?}"
        );
        let state = fs::read(site.path("state/state.json")).unwrap_or_else(|_| b"{}".to_vec());
        if let Err(err) = serde_json::from_slice::<serde_json::Value>(&state) {
            panic!("after SIGKILL number {n_kills}: state.json does not parse: {err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "the kill loop takes too long"
        );
    }
    storm.join().unwrap();

    let log_before = fs::read_to_string(site.log_path()).unwrap_or_default();
    let mut daemon = Daemon::start(&site);
    let root = site.tftp();
    daemon.wait_for("every phone's config", Duration::from_secs(20), || {
        all_configs_in(&root, &phones)
    });
    // The last phones' model requests may still be in flight: let them settle.
    thread::sleep(Duration::from_millis(500));
    daemon.stop();
    let final_log = fs::read_to_string(site.log_path()).unwrap_or_default();
    let final_log = &final_log[log_before.len().min(final_log.len())..];

    let mut problems = provisioning_problems(&site, &root, &phones);
    problems.extend(bad_files(&root, false));
    if final_log.contains("state file unreadable") {
        problems.push("the state file was unreadable after a SIGKILL".to_string());
    }
    let n_foreign = final_log
        .matches("was not written by cisco-autoprov")
        .count();
    if n_foreign > 0 {
        problems.push(format!(
            "{n_foreign} file(s) written by an earlier run taken for hand-edited ones (their fingerprint was lost in the SIGKILL)"
        ));
    }
    println!("{n_kills} SIGKILLs, {} phones", phones.len());
    assert!(
        problems.is_empty(),
        "after {n_kills} SIGKILLs: {problems:#?}"
    );
}

// ---------------------------------------------------------------------------------------

/// The TFTP root is a 256 KiB tmpfs, mounted in a private mount namespace that exists only
/// for the daemon (it goes away with the process, even if this test panics). The test fills
/// it, adds phones, checks that the daemon logs the failure and keeps running, frees the space,
/// and waits for the files: the first retry comes 2 s after the failure. A watchman parses every
/// phone file it sees during the whole test.
#[test]
fn enospc_on_the_tftp_root_then_space_returns() {
    if !prerequisites(
        "enospc_on_the_tftp_root_then_space_returns",
        true,
        &["unshare", "mount", "sh"],
    ) {
        return;
    }
    let site = Site::new(LEASES);
    let host_view = site.tftp();
    let mut daemon = Daemon::start_wrapped(
        &site,
        &[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs -o size=256k,mode=0755 cisco-autoprov-enospc \"$0\" && exec \"$@\"",
            host_view.to_str().unwrap(),
        ],
    );
    // The daemon's own view of its TFTP root: through its root in /proc.
    let root = PathBuf::from(format!(
        "/proc/{}/root{}",
        daemon.pid(),
        host_view.display()
    ));
    let mountinfo = fs::read_to_string(format!("/proc/{}/mountinfo", daemon.pid())).unwrap();
    assert!(
        mountinfo.contains("cisco-autoprov-enospc"),
        "no private tmpfs in the daemon's mount namespace:\n{mountinfo}"
    );
    assert!(
        !fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains("cisco-autoprov-enospc"),
        "the private tmpfs leaked into the test's mount namespace"
    );
    let watchman = Watchman::start(root.clone());

    // Fill the file system.
    let filler = root.join("filler.bin");
    {
        let mut file = File::create(&filler).unwrap();
        let block = vec![0x55u8; 4096];
        loop {
            match file.write_all(&block) {
                Ok(()) => {}
                Err(err) if err.raw_os_error() == Some(28) => break,
                Err(err) => panic!("filling the tmpfs: {err}"),
            }
        }
    }

    let phones: Vec<Phone> = (0..5).map(|i| Phone(0x20_0000 + i)).collect();
    let mut leases = DnsmasqLeases::open(&site.path("dhcp.leases"));
    leases.rewrite(&phones);
    daemon.wait_for(
        "the write error in the log",
        Duration::from_secs(10),
        || {
            fs::read_to_string(daemon_log(&site))
                .unwrap_or_default()
                .contains("cannot write phone file; will retry")
        },
    );
    let failed_at = Instant::now();
    thread::sleep(Duration::from_millis(300));
    assert!(
        daemon.is_running(),
        "the daemon died on ENOSPC:\n{}",
        daemon.log_text()
    );
    assert!(
        missing_configs(&root, &phones).len() == phones.len(),
        "a config was written into a full file system?"
    );

    fs::remove_file(&filler).unwrap();
    daemon.wait_for(
        "the configs once space is back",
        Duration::from_secs(20),
        || all_configs_in(&root, &phones),
    );
    let recovered_after = failed_at.elapsed();
    thread::sleep(Duration::from_millis(100));
    let (n_scans, seen) = watchman.finish();
    assert!(daemon.is_running(), "{}", daemon.log_text());
    let mut problems = seen;
    problems.extend(bad_files(&root, false));
    problems.extend(provisioning_problems(&site, &root, &phones));
    println!(
        "recovered {:.1} s after the first failure; {n_scans} scans of the root, {} write errors logged",
        recovered_after.as_secs_f64(),
        daemon.count("cannot write phone file")
    );
    assert!(problems.is_empty(), "{problems:#?}\n{}", daemon.log_text());
    daemon.stop();
}

fn daemon_log(site: &Site) -> PathBuf {
    site.log_path()
}

// ---------------------------------------------------------------------------------------

/// Prepares a site for a daemon running as `nobody`: the site directory traversable, state
/// dir and TFTP root its own, config readable.
fn site_for_nobody(extra: &str) -> Site {
    let site = Site::new(extra);
    set_mode(site.dir.path(), 0o755);
    set_mode(&site.root(), 0o755);
    fs::create_dir(site.path("state")).unwrap();
    chown(&site.path("state"), NOBODY);
    chown(&site.tftp(), NOBODY);
    set_mode(&site.path("config.toml"), 0o644);
    site
}

const AS_NOBODY: [&str; 4] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

/// The daemon runs as `nobody`; its lease file and its log are root's, mode 0600. It logs
/// the problem and keeps running; once the files are readable, the next change is read.
#[test]
fn permission_denied_on_sources() {
    if !prerequisites("permission_denied_on_sources", true, &["setpriv", "chown"]) {
        return;
    }
    let site = site_for_nobody(&format!("{LEASES}{LOG}"));
    let (a, b, c, d) = (
        Phone(0x30_0001),
        Phone(0x30_0002),
        Phone(0x30_0003),
        Phone(0x30_0004),
    );
    let mut leases = DnsmasqLeases::open(&site.path("dhcp.leases"));
    leases.rewrite(&[a]);
    fs::write(site.path("tftp.log"), "").unwrap();
    set_mode(&site.path("dhcp.leases"), 0o600);
    set_mode(&site.path("tftp.log"), 0o600);

    let mut daemon = Daemon::start_wrapped(&site, &AS_NOBODY);
    // While unreadable: a lease change and 20 log lines, each its own write.
    leases.rewrite(&[a, b]);
    for _ in 0..20 {
        site.append("tftp.log", &rrq(c, &c.config_name()));
        thread::sleep(Duration::from_millis(5));
    }
    thread::sleep(Duration::from_millis(300));
    assert!(daemon.is_running(), "{}", daemon.log_text());
    let n_warnings = daemon.count("cannot read source");
    assert!(
        n_warnings > 0,
        "no warning about the unreadable sources:\n{}",
        daemon.log_text()
    );
    assert!(
        daemon.log_text().contains("Permission denied"),
        "the warning does not say why:\n{}",
        daemon.log_text()
    );
    assert!(!a.has_file_in(&site.tftp()));

    assert_eq!(
        n_warnings,
        2,
        "one warning per unreadable source, not one per change:\n{}",
        daemon.log_text()
    );

    // Readable again: the next change of each source is read, and the log from where it
    // ended when it could not be read (phone c's lines were appended since).
    set_mode(&site.path("dhcp.leases"), 0o644);
    set_mode(&site.path("tftp.log"), 0o644);
    leases.rewrite(&[a, b]);
    site.append("tftp.log", &rrq(d, &d.config_name()));
    let root = site.tftp();
    daemon.wait_for(
        "phones a, b (leases), c and d (log)",
        Duration::from_secs(10),
        || all_configs_in(&root, &[a, b, c, d]),
    );
    // Every phone is in: no write is in flight when the directory is checked.
    daemon.wait_for("the state saved", Duration::from_secs(5), || {
        provisioning_problems(&site, &root, &[a, b, c, d]).is_empty()
    });
    let mut problems = provisioning_problems(&site, &root, &[a, b, c, d]);
    problems.extend(bad_files(&root, false));
    assert!(problems.is_empty(), "{problems:#?}");
    daemon.stop();
}

/// The daemon runs as `nobody` and the TFTP root is root's (0755): writes fail with EACCES.
/// It logs, keeps running and retries; once the root is its own, the files appear.
#[test]
fn permission_denied_on_the_tftp_root() {
    if !prerequisites(
        "permission_denied_on_the_tftp_root",
        true,
        &["setpriv", "chown"],
    ) {
        return;
    }
    let site = site_for_nobody(LEASES);
    chown(&site.tftp(), 0);
    set_mode(&site.tftp(), 0o755);
    let mut daemon = Daemon::start_wrapped(&site, &AS_NOBODY);
    let phones = [Phone(0x40_0001), Phone(0x40_0002)];
    let mut leases = DnsmasqLeases::open(&site.path("dhcp.leases"));
    set_mode(&site.path("dhcp.leases"), 0o644);
    leases.rewrite(&phones);
    daemon.wait_for(
        "the write error in the log",
        Duration::from_secs(10),
        || {
            fs::read_to_string(daemon_log(&site))
                .unwrap_or_default()
                .contains("cannot write phone file; will retry")
        },
    );
    assert!(
        daemon.log_text().contains("Permission denied"),
        "{}",
        daemon.log_text()
    );
    thread::sleep(Duration::from_millis(200));
    assert!(daemon.is_running(), "{}", daemon.log_text());

    chown(&site.tftp(), NOBODY);
    let root = site.tftp();
    daemon.wait_for(
        "the phone files after the fix",
        Duration::from_secs(15),
        || all_configs_in(&root, &phones),
    );
    let mut problems = provisioning_problems(&site, &root, &phones);
    problems.extend(bad_files(&root, false));
    // The files every phone shares failed at start-up: they are due too.
    thread::sleep(Duration::from_millis(500));
    for shared in ["XMLDefault.cnf.xml", "SIPDefault.cnf"] {
        if !root.join(shared).exists() {
            problems.push(format!(
                "{shared} (failed at start-up) not written after the TFTP root became writable"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}\n{}", daemon.log_text());
    daemon.stop();
}

// ---------------------------------------------------------------------------------------

const SOURCES_IN_SUBDIRS: &str =
    "[[source]]\nkind = \"dnsmasq-leases\"\npath = \"leases/dhcp.leases\"\n\
                                  [[source]]\nkind = \"log\"\npath = \"logs/tftp.log\"\n";

/// A daemon whose lease file and log have been read once (phones 0 and 1 provisioned).
fn site_with_sources_in_subdirs(phones: &[Phone]) -> (Site, Daemon) {
    let site = Site::new(SOURCES_IN_SUBDIRS);
    fs::create_dir(site.path("leases")).unwrap();
    fs::create_dir(site.path("logs")).unwrap();
    let mut daemon = Daemon::start(&site);
    DnsmasqLeases::open(&site.path("leases/dhcp.leases")).rewrite(&[phones[0]]);
    site.append("logs/tftp.log", &rrq(phones[1], &phones[1].config_name()));
    let root = site.tftp();
    daemon.wait_for(
        "phones 0 (lease) and 1 (log)",
        Duration::from_secs(10),
        || all_configs_in(&root, &phones[..2]),
    );
    (site, daemon)
}

/// The directories of a lease file and of a log (whose file the daemon holds open) are
/// deleted and created again with new files: the daemon follows both back.
#[test]
fn source_directories_deleted_and_recreated() {
    let phones: Vec<Phone> = (0..4).map(|i| Phone(0x50_0000 + i)).collect();
    let (site, mut daemon) = site_with_sources_in_subdirs(&phones);
    fs::remove_dir_all(site.path("leases")).unwrap();
    fs::remove_dir_all(site.path("logs")).unwrap();
    thread::sleep(Duration::from_millis(300));
    assert!(daemon.is_running(), "{}", daemon.log_text());
    fs::create_dir(site.path("leases")).unwrap();
    fs::create_dir(site.path("logs")).unwrap();
    DnsmasqLeases::open(&site.path("leases/dhcp.leases")).rewrite(&[phones[0], phones[2]]);
    site.append("logs/tftp.log", &rrq(phones[3], &phones[3].config_name()));
    let root = site.tftp();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !all_configs_in(&root, &phones) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let mut problems: Vec<String> = Vec::new();
    if !phones[2].has_file_in(&root) {
        problems.push("phone 2, in the lease file of the recreated leases/, was missed".into());
    }
    if !phones[3].has_file_in(&root) {
        problems.push("phone 3, in the log of the recreated logs/, was missed".into());
    }
    problems.extend(bad_files(&root, false));
    assert!(problems.is_empty(), "{problems:#?}\n{}", daemon.log_text());
    assert!(provisioning_problems(&site, &root, &phones).is_empty());
    daemon.stop();
}

/// The same directories renamed away and created again with new files: the daemon follows
/// the new ones. Once it reads the new files, what is written into the renamed directories is
/// not read any more. (Until then the log renamed away is still read: its writer may keep
/// appending to it until it reopens, as with a rotated log.)
#[test]
fn source_directories_renamed_away_and_recreated() {
    let phones: Vec<Phone> = (0..6).map(|i| Phone(0x51_0000 + i)).collect();
    let (site, mut daemon) = site_with_sources_in_subdirs(&phones);
    fs::rename(site.path("leases"), site.path("leases.old")).unwrap();
    fs::rename(site.path("logs"), site.path("logs.old")).unwrap();
    thread::sleep(Duration::from_millis(300));
    assert!(daemon.is_running(), "{}", daemon.log_text());
    fs::create_dir(site.path("leases")).unwrap();
    fs::create_dir(site.path("logs")).unwrap();
    DnsmasqLeases::open(&site.path("leases/dhcp.leases")).rewrite(&[phones[2]]);
    site.append("logs/tftp.log", &rrq(phones[3], &phones[3].config_name()));
    let root = site.tftp();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !all_configs_in(&root, &phones[..4]) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let mut problems = Vec::new();
    for (index, place) in [(2, "the recreated leases/"), (3, "the recreated logs/")] {
        if !phones[index].has_file_in(&root) {
            problems.push(format!("phone {index}, in {place}, was missed"));
        }
    }
    DnsmasqLeases::open(&site.path("leases.old/dhcp.leases")).rewrite(&[phones[0], phones[4]]);
    site.append(
        "logs.old/tftp.log",
        &rrq(phones[5], &phones[5].config_name()),
    );
    thread::sleep(Duration::from_millis(500));
    for (index, place) in [(4, "leases.old/"), (5, "logs.old/")] {
        if phones[index].has_file_in(&root) {
            problems.push(format!(
                "phone {index} was read from {place} after the new source was followed"
            ));
        }
    }
    problems.extend(bad_files(&root, false));
    assert!(problems.is_empty(), "{problems:#?}\n{}", daemon.log_text());
    daemon.stop();
}

// ---------------------------------------------------------------------------------------

/// How a log is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rotation {
    /// `mv log log.1`, a few more lines into the old file (the writer has not reopened yet,
    /// as rsyslog until its HUP), then a new `log`.
    RenameCreate,
    /// `cp log log.1; truncate -s 0 log` (logrotate's copytruncate); the writer keeps its
    /// O_APPEND descriptor.
    CopyTruncate,
}

/// How long a round waits at most for the daemon to provision the phones logged so far.
const CATCH_UP: Duration = Duration::from_secs(2);

/// Pause after each rotation: logrotate does not run twice in a row. (After two rename
/// rotations with no read in between, the middle file has been renamed over by the next one
/// and is gone for any reader.)
const ROTATION_GAP: Duration = Duration::from_millis(250);

/// The request line of phone number `index` of a storm: tftpd-hpa and atftpd formats in turn.
fn storm_line(index: usize, phone: Phone) -> String {
    if index.is_multiple_of(2) {
        rrq(phone, &phone.config_name())
    } else {
        syslog_line(&format!(
            "atftpd[2889]: Serving {} to {}:{}",
            phone.config_name(),
            phone.ip(),
            1024 + phone.0 % 60000
        ))
    }
}

/// Runs a TFTP-log storm of `n` phones, one request line each, each line its own write, and
/// returns the phones the daemon missed.
///
/// The storm comes in rounds, the way a rotation meets a storm: a burst of requests (the
/// daemon wakes up and provisions those phones), a second burst a moment later (written while
/// the daemon is still busy with the first), then the rotation, of a kind drawn from `kinds`,
/// then a pause until the daemon has caught up (rotations are hours apart in real life; a
/// daemon starved by a loaded machine would otherwise meet two rotations between two reads). Burst sizes, the moment of the second burst and the rotation kinds are random
/// (`FAULTS_SEED`).
fn rotation_storm(test: &str, kinds: &[Rotation], n: u32, base: u32) -> Vec<String> {
    let mut rng = Rng::new(test);
    let site = Site::new(LOG);
    let log_path = site.path("tftp.log");
    let old_path = site.path("tftp.log.1");
    fs::write(&log_path, "").unwrap();
    let mut daemon = Daemon::start(&site);
    let phones: Vec<Phone> = (0..n).map(|i| Phone(base + i)).collect();
    let mut log = OpenOptions::new().append(true).open(&log_path).unwrap();
    let root = site.tftp();
    let mut rotations: Vec<(usize, Rotation)> = Vec::new();
    let mut before_rotation: Vec<Option<Rotation>> = vec![None; phones.len()];
    let mut next = 0;
    while next < phones.len() {
        let first = rng.range(10, 30) as usize;
        let second = rng.range(5, 20) as usize;
        let round_start = next;
        for (burst, size) in [first, second].into_iter().enumerate() {
            if burst == 1 {
                thread::sleep(Duration::from_micros(rng.range(0, 3000)));
            }
            for _ in 0..size.min(phones.len() - next) {
                log.write_all(storm_line(next, phones[next]).as_bytes())
                    .unwrap();
                next += 1;
            }
        }
        let kind = kinds[rng.range(0, kinds.len() as u64) as usize];
        rotate(kind, &log_path, &old_path, &mut log, &mut rng);
        rotations.push((next, kind));
        for slot in &mut before_rotation[round_start..next] {
            *slot = Some(kind);
        }
        // Rotations are hours apart: let the daemon catch up (at most CATCH_UP, which a loaded
        // machine may need) before the next round, so no round meets two rotations.
        thread::sleep(ROTATION_GAP);
        let caught_up = Instant::now() + CATCH_UP;
        while !all_configs_in(&root, &phones[..next]) && Instant::now() < caught_up {
            thread::sleep(Duration::from_millis(20));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !all_configs_in(&root, &phones) && Instant::now() < deadline && daemon.is_running() {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(daemon.is_running(), "{}", daemon.log_text());
    let mut problems: Vec<String> = phones
        .iter()
        .enumerate()
        .filter(|(_, phone)| !phone.has_file_in(&root))
        .map(|(index, phone)| {
            format!(
                "phone {index} ({}) missed; its line was logged just before a {:?}",
                phone.mac(),
                before_rotation[index]
            )
        })
        .collect();
    problems.extend(bad_files(&root, false));
    println!(
        "{test}: {} phones, {} rotations (after line: kind) {:?}",
        phones.len(),
        rotations.len(),
        rotations
    );
    if !problems.is_empty() && std::env::var_os("FAULTS_SHOW_LOG").is_some() {
        println!("daemon log:\n{}", daemon.log_text());
    }
    daemon.stop();
    problems
}

fn rotate(kind: Rotation, log_path: &Path, old_path: &Path, log: &mut File, rng: &mut Rng) {
    // logrotate first shifts the generations (`log.1` → `log.2`), so `log.1` is always a new
    // file: a copy never overwrites the file a rename made a moment ago.
    if old_path.exists() {
        let mut older = log_path.as_os_str().to_owned();
        older.push(".2");
        fs::rename(old_path, PathBuf::from(older)).unwrap();
    }
    match kind {
        Rotation::RenameCreate => {
            fs::rename(log_path, old_path).unwrap();
            // The writer has not reopened yet: these lines go to the old file.
            for _ in 0..rng.range(0, 3) {
                log.write_all(syslog_line("rsyslogd: -- MARK --").as_bytes())
                    .unwrap();
            }
            *log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(log_path)
                .unwrap();
        }
        Rotation::CopyTruncate => {
            fs::copy(log_path, old_path).unwrap();
            OpenOptions::new()
                .write(true)
                .open(log_path)
                .unwrap()
                .set_len(0)
                .unwrap();
        }
    }
}

/// rename + create (rsyslog, dnsmasq's SIGUSR2) in the middle of a 300-phone TFTP-log storm:
/// no phone is missed.
#[test]
fn rename_rotation_during_a_storm_misses_no_phone() {
    let problems = rotation_storm(
        "rename_rotation_during_a_storm_misses_no_phone",
        &[Rotation::RenameCreate],
        300,
        0x60_0000,
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

/// copytruncate (and rename + create) in the middle of a 300-phone TFTP-log storm: no phone is
/// missed. Lines the daemon has not read yet when the log is truncated are only in the copy,
/// `tftp.log.1`.
#[test]
fn copytruncate_rotation_during_a_storm_misses_no_phone() {
    let problems = rotation_storm(
        "copytruncate_rotation_during_a_storm_misses_no_phone",
        &[Rotation::CopyTruncate, Rotation::RenameCreate],
        300,
        0x70_0000,
    );
    assert!(problems.is_empty(), "{problems:#?}");
}
