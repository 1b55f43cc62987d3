//! End-to-end tests against the two other TFTP servers, for TFTP-log-only provisioning (one
//! `[[source]] kind = "log"`; the phone has the static address 198.18.k.41, no DHCP):
//! tftpd-hpa logging through a private rsyslogd, and atftpd writing its own log file. The
//! simulated phone is tftp-hpa in a phone namespace, as in `e2e_dnsmasq.rs`.
//!
//! What they prove:
//! - `tftpd_hpa_via_rsyslog_provisions_on_next_request`: from the real Debian 12 rsyslog
//!   line (`<RFC 3339 µs> <host> in.tftpd[pid]: RRQ from … filename SEP….cnf.xml`), the
//!   daemon writes the config within a second of the failed request, and the retry succeeds.
//! - `atftpd_logfile_provisions_on_next_request`: the same from atftpd's own log file
//!   (`Nov 21 08:20:35 host atftpd[pid.thread]: Serving … to ip:port`; at `--verbose=5` that
//!   line is all there is, so the daemon acts on the first `Serving SEP…` line).
//! - `atftpd_logfile_copytruncate_keeps_following`: after a copytruncate rotation of that
//!   log (Debian's logrotate snippet for atftpd), a second phone (MAC 00:1b:0c:18:bd:c2,
//!   198.18.k.42, in its own namespace) is still provisioned within a second.
//!
//! Prerequisites (missing ones skip the tests, or fail them with `CI=true`): root, `ip`,
//! `tftp` (tftp-hpa), and
//! - for tftpd-hpa: `rsyslogd` (package rsyslog), `in.tftpd` (tftpd-hpa), `unshare` and
//!   `mount` (util-linux). Install both packages with their services kept from starting
//!   (a `policy-rc.d` that exits 101); the tests start their own instances inside the lab.
//! - for atftpd: Debian's atftpd package conflicts with tftpd-hpa, so it is unpacked, not
//!   installed, and run from there (it needs libwrap0 and libpcre2-8-0, which tftpd-hpa and
//!   the base system bring):
//!
//!   ```text
//!   cd /tmp && apt-get download atftpd
//!   mkdir -p /opt/cisco-autoprov-test/atftpd
//!   dpkg-deb -x /tmp/atftpd_*.deb /opt/cisco-autoprov-test/atftpd
//!   ```
//!
//!   The binary is then `/opt/cisco-autoprov-test/atftpd/usr/sbin/atftpd`; the environment
//!   variable `ATFTPD` names another path.
//!
//! The rules (own namespaces, 198.18.0.0/15 only, cleanup on drop, polling, skips unless
//! `CI=true`) are explained in `support/netns.rs`; that is also where the servers are started
//! (`Lab::start_rsyslogd`, `Lab::start_in_tftpd`, `Lab::start_atftpd`). Run with
//! `cargo test --test e2e_tftpd -- --nocapture` as root.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::checks::{between, phone_status, put_static_file, text_of};
use support::netns::{file_len, poll_until, Lab, Ns, Phone, POLL_STEP};

/// Programs the tftpd-hpa test needs besides `ip`.
const TFTPD_HPA_PROGRAMS: &[&str] = &["rsyslogd", "in.tftpd", "unshare", "mount", "tftp"];
/// Programs the atftpd tests need besides `ip`; `atftpd` is found by
/// `support::netns::atftpd_binary`, not in `PATH`.
const ATFTPD_PROGRAMS: &[&str] = &["atftpd", "chown", "tftp"];
/// The config file the first phone (MAC 00:1b:0c:18:bd:c1) asks for.
const SEP_FILE: &str = "SEP001B0C18BDC1.cnf.xml";
/// The first phone's MAC as the daemon reports it.
const MAC: &str = "001B0C18BDC1";
/// The config file of the second phone (MAC 00:1b:0c:18:bd:c2).
const SEP_FILE_2: &str = "SEP001B0C18BDC2.cnf.xml";
/// The second phone's MAC as the daemon reports it.
const MAC_2: &str = "001B0C18BDC2";
/// The 7941's firmware load file; real phones ask for it before their config.
const LOADS_FILE: &str = "term41.default.loads";
/// Host part of the first phone's static address.
const PHONE_HOST: u8 = 41;
/// Host part of the second phone's static address.
const PHONE_2_HOST: u8 = 42;
/// How soon after the failed request the config must exist.
const MAX_LATENCY: Duration = Duration::from_secs(1);

#[test]
fn tftpd_hpa_via_rsyslog_provisions_on_next_request() {
    let test = "tftpd_hpa_via_rsyslog_provisions_on_next_request";
    let Some(mut lab) = Lab::start(test, TFTPD_HPA_PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    put_static_file(&lab, LOADS_FILE);
    lab.start_rsyslogd();
    lab.start_in_tftpd();
    let config = write_config(&lab, &lab.syslog_path());
    let daemon = lab.start_daemon(&config);
    lab.add_phone_address(PHONE_HOST);

    let provisioned = provision_by_request(&lab, Ns::Phone, Some(LOADS_FILE), SEP_FILE);
    assert_first_phone(&lab, &config, &provisioned);

    // The line the daemon acted on is the real thing: Debian 12's rsyslog default format.
    let syslog = fs::read_to_string(lab.syslog_path()).unwrap_or_default();
    let rrq = format!("RRQ from {} filename {SEP_FILE}", lab.ip(PHONE_HOST));
    let line = syslog
        .lines()
        .find(|line| line.ends_with(&rrq))
        .unwrap_or_else(|| panic!("no `{rrq}` line in the syslog:\n{syslog}"));
    assert_rfc3339_in_tftpd_line(line, &rrq);

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!(
        "{test}: {:?} (config written {:?} after the request)",
        started.elapsed(),
        provisioned.latency
    );
}

#[test]
fn atftpd_logfile_provisions_on_next_request() {
    let test = "atftpd_logfile_provisions_on_next_request";
    let Some(mut lab) = Lab::start(test, ATFTPD_PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    let (config, daemon) = start_atftpd_and_daemon(&mut lab);

    let provisioned = provision_by_request(&lab, Ns::Phone, Some(LOADS_FILE), SEP_FILE);
    assert_first_phone(&lab, &config, &provisioned);

    // atftpd's own format: zero-padded day, host, `atftpd[pid.thread]`; one `Serving` line
    // per request, the failed one and the retry alike.
    let log = fs::read_to_string(lab.atftpd_log()).unwrap_or_default();
    let serving = format!("]: Serving {SEP_FILE} to {}:", lab.ip(PHONE_HOST));
    let lines: Vec<&str> = log.lines().filter(|line| line.contains(&serving)).collect();
    assert_eq!(lines.len(), 2, "`{serving}` lines in atftpd.log:\n{log}");
    for line in lines {
        assert_atftpd_line(line);
    }

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!(
        "{test}: {:?} (config written {:?} after the request)",
        started.elapsed(),
        provisioned.latency
    );
}

#[test]
fn atftpd_logfile_copytruncate_keeps_following() {
    let test = "atftpd_logfile_copytruncate_keeps_following";
    let Some(mut lab) = Lab::start(test, ATFTPD_PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    let (config, daemon) = start_atftpd_and_daemon(&mut lab);
    lab.add_second_phone(Phone::CP_7940G, PHONE_2_HOST);
    assert!(
        lab.second_phone_addresses()
            .contains(&format!(" {}/24 ", lab.ip(PHONE_2_HOST))),
        "{}",
        lab.second_phone_addresses()
    );

    let first = provision_by_request(&lab, Ns::Phone, Some(LOADS_FILE), SEP_FILE);
    assert_first_phone(&lab, &config, &first);

    // logrotate's copytruncate, as Debian's /etc/logrotate.d/atftpd does it.
    let log = lab.atftpd_log();
    let rotated = lab.path("atftpd.log.1");
    fs::copy(&log, &rotated).expect("cp atftpd.log atftpd.log.1");
    fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .and_then(|file| file.set_len(0))
        .expect("truncate -s 0 atftpd.log");
    assert_eq!(file_len(&log), 0);
    let rotated_at = Instant::now();

    let second = provision_by_request(&lab, Ns::SecondPhone, Some(LOADS_FILE), SEP_FILE_2);
    let text = String::from_utf8_lossy(&second.bytes).into_owned();
    let extension = between(&text, "<authName>", "</authName>")
        .unwrap_or_else(|| panic!("no <authName> in {SEP_FILE_2}:\n{text}"));
    assert_ne!(
        extension, "2000",
        "the second phone got the first one's extension"
    );
    assert!(
        extension.len() == 4 && ("2000".."2100").contains(&extension),
        "extension {extension:?} is not from the pool 2000-2099"
    );
    let status = lab.daemon_status(&config);
    let phone = phone_status(&status, MAC_2);
    assert_eq!(text_of(&phone["extension"]), extension, "{phone}");
    assert_eq!(
        phone["ip"],
        lab.ip(PHONE_2_HOST).to_string().as_str(),
        "{phone}"
    );
    // The first phone is still known, with its extension.
    assert_eq!(
        text_of(&phone_status(&status, MAC)["extension"]),
        "2000",
        "{status}"
    );

    // The harness did what it claims: atftpd (O_APPEND) wrote the new line at offset 0 of
    // the truncated file, and the old lines are only in the copy.
    let now = fs::read_to_string(&log).unwrap_or_default();
    let old = fs::read_to_string(&rotated).unwrap_or_default();
    let serving_2 = format!("]: Serving {SEP_FILE_2} to {}:", lab.ip(PHONE_2_HOST));
    let serving_1 = format!("]: Serving {SEP_FILE} to {}:", lab.ip(PHONE_HOST));
    // Phone 2 asked for its term file, then its config (the 7941's order).
    let first_line = now.lines().next().unwrap_or_default();
    assert!(
        first_line.contains(&format!(" to {}:", lab.ip(PHONE_2_HOST))) && now.contains(&serving_2),
        "atftpd.log after the rotation:\n{now}"
    );
    assert_atftpd_line(first_line);
    assert!(
        !now.contains(&serving_1) && old.contains(&serving_1) && !old.contains(&serving_2),
        "atftpd.log:\n{now}\natftpd.log.1:\n{old}"
    );

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!(
        "{test}: {:?} (phone 1 written {:?} after its request; phone 2 {:?} after its \
         request, {:?} after the rotation)",
        started.elapsed(),
        first.latency,
        second.latency,
        second.requested_at - rotated_at + second.latency,
    );
}

/// The TFTP root's static file, atftpd, the daemon with atftpd's log as its only source, and
/// the phone at 198.18.k.41.
fn start_atftpd_and_daemon(lab: &mut Lab) -> (PathBuf, support::netns::ProcessId) {
    put_static_file(lab, LOADS_FILE);
    lab.start_atftpd();
    let config = write_config(lab, &lab.atftpd_log());
    let daemon = lab.start_daemon(&config);
    lab.add_phone_address(PHONE_HOST);
    (config, daemon)
}

/// Writes `config.toml` for the daemon with one `log` source at `log`; every path is inside
/// the lab directory.
fn write_config(lab: &Lab, log: &Path) -> PathBuf {
    let config = format!(
        "tftp_root = \"{tftp_root}\"\n\
         state_dir = \"{state_dir}\"\n\
         \n\
         [pbx]\n\
         host = \"{pbx}\"\n\
         port = 5060\n\
         \n\
         [dhcp]\n\
         tftp_server = \"{router}\"\n\
         \n\
         [provision]\n\
         extensions = \"2000-2099\"\n\
         tftp_only = \"auto\"\n\
         \n\
         [[source]]\n\
         kind = \"log\"\n\
         path = \"{log}\"\n",
        tftp_root = lab.tftp_root().display(),
        state_dir = lab.path("state").display(),
        pbx = lab.ip(10),
        router = lab.router_ip(),
        log = log.display(),
    );
    let path = lab.path("config.toml");
    fs::write(&path, config).expect("write config.toml");
    path
}

/// What [`provision_by_request`] saw.
struct Provisioned {
    /// The config the phone received on its retry.
    bytes: Vec<u8>,
    /// When the failed request started.
    requested_at: Instant,
    /// From the start of the failed request until the config existed (polled in
    /// [`POLL_STEP`]s, so at most one step too long).
    latency: Duration,
}

/// A phone's boot sequence against a daemon that has never seen it: optionally the loads
/// file, then its config `sep_file`, which cannot exist yet; the server must answer
/// `File not found`, the daemon must write the file within [`MAX_LATENCY`] of that request,
/// and the retry succeeds.
#[track_caller]
fn provision_by_request(lab: &Lab, ns: Ns, loads: Option<&str>, sep_file: &str) -> Provisioned {
    if let Some(loads) = loads {
        let got = lab.tftp_get_in(ns, loads);
        assert!(got.ok(), "{loads}: {got}");
    }
    let first = lab.tftp_get_in(ns, sep_file);
    assert!(
        !first.ok(),
        "the daemon cannot know the phone before it asks: {first}"
    );
    // A real answer from the server, not a timeout: the request reached it and was logged.
    assert!(
        first.output.stdout.contains("Error code 1")
            || first.output.stderr.contains("Error code 1"),
        "expected `Error code 1: File not found`: {first}"
    );

    let sep_path = lab.tftp_root().join(sep_file);
    let requested_at = first.output.started_at;
    poll_until(Duration::from_secs(5), POLL_STEP, || sep_path.exists());
    let latency = requested_at.elapsed();
    assert!(
        sep_path.exists(),
        "{sep_file} never appeared in the TFTP root (5 s after the request)"
    );
    assert!(
        latency < MAX_LATENCY,
        "{sep_file} appeared {latency:?} after the request"
    );

    let second = lab.tftp_get_in(ns, sep_file);
    Provisioned {
        bytes: second.bytes().to_vec(),
        requested_at,
        latency,
    }
}

/// The first phone's config and status: extension 2000 from the pool, model 7941 (from its
/// loads file request), its static address, and (see below) its file.
#[track_caller]
fn assert_first_phone(lab: &Lab, config: &Path, provisioned: &Provisioned) {
    let text = String::from_utf8_lossy(&provisioned.bytes).into_owned();
    assert!(text.contains("<authName>2000</authName>"), "{text}");
    let status = lab.daemon_status(config);
    let phone = phone_status(&status, MAC);
    assert_eq!(phone["model"], "7941", "{phone}");
    assert_eq!(text_of(&phone["extension"]), "2000", "{phone}");
    assert_eq!(
        phone["ip"],
        lab.ip(PHONE_HOST).to_string().as_str(),
        "{phone}"
    );

    // The daemon saves the extension before it writes the file, but records the written
    // file (`files`) only after the write, fsyncs included, has returned. So a phone can
    // fetch its config a few milliseconds before `status` lists it (seen once in 30 runs:
    // `"files":[]`, `"state":"fetching config"`). `status` must catch up within 1 s.
    let lists_sep = |phone: &serde_json::Value| {
        phone["files"]
            .as_array()
            .unwrap_or_else(|| panic!("`files` is not an array: {phone}"))
            .iter()
            .any(|file| file == SEP_FILE)
    };
    if !lists_sep(phone) {
        let mut last = phone.clone();
        let lag = poll_until(MAX_LATENCY, POLL_STEP, || {
            last = phone_status(&lab.daemon_status(config), MAC).clone();
            lists_sep(&last)
        });
        let Some(lag) = lag else {
            panic!(
                "status does not list {SEP_FILE} {MAX_LATENCY:?} after the phone got it: {last}"
            );
        };
        eprintln!("note: status listed {SEP_FILE} only {lag:?} after the phone had fetched it");
    }
}

/// `2026-11-21T08:18:09.198444+00:00 <host> in.tftpd[<pid>]: <message>`, formats.md §3.
#[track_caller]
fn assert_rfc3339_in_tftpd_line(line: &str, message: &str) {
    let fields: Vec<&str> = line.splitn(4, ' ').collect();
    let [stamp, host, tag, rest] = fields[..] else {
        panic!("not a syslog line: {line:?}");
    };
    assert!(
        matches_shape(stamp, "0000-00-00T00:00:00.000000+00:00"),
        "not an RFC 3339 stamp with microseconds and offset: {line:?}"
    );
    assert!(!host.is_empty(), "{line:?}");
    let pid = tag
        .strip_prefix("in.tftpd[")
        .and_then(|tag| tag.strip_suffix("]:"))
        .unwrap_or_else(|| panic!("tag is not in.tftpd[pid]: {line:?}"));
    assert!(
        !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()),
        "{line:?}"
    );
    assert_eq!(rest, message, "{line:?}");
}

/// `Nov 21 08:20:35 <host> atftpd[<pid>.<thread>]: <message>`, formats.md §4.1: `%b %d`
/// (zero-padded day), no year.
#[track_caller]
fn assert_atftpd_line(line: &str) {
    let fields: Vec<&str> = line.splitn(6, ' ').collect();
    let [month, day, time, host, tag, _message] = fields[..] else {
        panic!("not an atftpd log line: {line:?}");
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    assert!(MONTHS.contains(&month), "{line:?}");
    assert!(matches_shape(day, "00"), "day not zero-padded: {line:?}");
    assert!(matches_shape(time, "00:00:00"), "{line:?}");
    assert!(!host.is_empty(), "{line:?}");
    let ids = tag
        .strip_prefix("atftpd[")
        .and_then(|tag| tag.strip_suffix("]:"))
        .unwrap_or_else(|| panic!("tag is not atftpd[pid.thread]: {line:?}"));
    let (pid, thread) = ids
        .split_once('.')
        .unwrap_or_else(|| panic!("no pid.thread: {line:?}"));
    for number in [pid, thread] {
        assert!(
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
            "{line:?}"
        );
    }
}

/// Whether `text` has the shape of `pattern`: `0` stands for a digit, `+` for `+` or `-`,
/// anything else for itself.
fn matches_shape(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
            b'0' => c.is_ascii_digit(),
            b'+' => c == b'+' || c == b'-',
            _ => c == p,
        })
}
