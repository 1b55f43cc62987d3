//! End-to-end tests against the other DHCP servers and the hooks: ISC dhcpd (with the
//! `on commit` hook of `contrib/isc-dhcp`, and without it), Kea's memfile lease CSV, and
//! dnsmasq's `--dhcp-script` (`contrib/dnsmasq/dhcp-script`) as the daemon's only input. The
//! simulated phone is the 7941 of `e2e_dnsmasq.rs` (busybox udhcpc with vendor class
//! `Cisco Systems, Inc. IP Phone CP-7941G` and hostname `SEP001B0C18BDC1`, then tftp-hpa).
//!
//! In every test the phone asks for `SEP001B0C18BDC1.cnf.xml` straight after udhcpc exits
//! (under 200 ms later), and that first request must succeed: the daemon has to learn of the
//! lease and write the file before the phone's first TFTP request. No inventory, so the phone
//! gets 2000 from the pool.
//!
//! What they prove:
//! - `isc_dhcpd_with_on_commit_hook`: dhcpd 4.4 with the contrib `on commit`/`on release`/
//!   `on expiry` statements (pointed at the test binary and config), tftpd-hpa logging through
//!   a private rsyslogd; sources `isc-leases` and `log`. The model comes from the vendor class,
//!   and the daemon log shows the hook event carrying it (so the hook path itself works,
//!   non-zero-padded MAC from `binary-to-ascii` included).
//! - `isc_dhcpd_leases_file_alone`: the same without the hook and without the log source: the
//!   `dhcpd.leases` journal alone provisions before the first request, model included
//!   (`set vendor-class-identifier`).
//! - `kea_memfile_csv`: kea-dhcp4 2.2 with a memfile CSV (`kea-leases` source), TFTP from
//!   dnsmasq in TFTP-only mode. Kea stores no vendor class and lower-cases the hostname
//!   (`sep001b0c18bdc1`): the phone must still be recognised; its model may stay unknown.
//! - `dnsmasq_dhcp_script_hook`: dnsmasq (DHCP and TFTP) with the contrib dhcp-script and a
//!   daemon with no source at all: the `add` event provisions (model from
//!   `DNSMASQ_VENDOR_CLASS`), the previous dhcp-script named in the chain file still runs with
//!   dnsmasq's arguments, and the `tftp` event of the phone's download makes it `configured`.
//!
//! Prerequisites (missing ones skip the tests, or fail them with `CI=true`): root, `ip`,
//! busybox `udhcpc`, `tftp` (tftp-hpa), and
//! - ISC: `dhcpd` (isc-dhcp-server), `rsyslogd` (rsyslog), `in.tftpd` (tftpd-hpa), `unshare`
//!   and `mount` (util-linux);
//! - Kea: `kea-dhcp4` (kea-dhcp4-server) and `dnsmasq` (dnsmasq-base);
//! - dnsmasq: `dnsmasq`.
//!
//! Install the server packages with their services kept from starting (a `policy-rc.d` that
//! exits 101), and make sure none runs on the host: the tests start their own instances
//! inside the lab. dhcpd logs with syslog(3), so like in.tftpd it gets a private `/dev/log`
//! leading to the lab's rsyslogd (`Lab::spawn_with_private_devlog`).
//!
//! The rules (own namespaces, 198.18.0.0/15 only, cleanup on drop, polling, skips unless
//! `CI=true`) are explained in `support/netns.rs`; that is also where the servers are started
//! (`Lab::start_isc_dhcpd`, `Lab::start_kea_dhcp4`, `Lab::start_dnsmasq_with`). Run with
//! `cargo test --test e2e_dhcp_servers -- --nocapture` as root.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::checks::{in_dhcp_range, phone_status, text_of};
use support::netns::{
    daemon_binary, poll_until, set_mode, wait_until, DnsmasqMode, Lab, Phone, POLL_STEP,
};

/// Programs the ISC tests need besides `ip`.
const ISC_PROGRAMS: &[&str] = &[
    "dhcpd", "rsyslogd", "in.tftpd", "unshare", "mount", "udhcpc", "tftp",
];
/// Programs the Kea test needs besides `ip`.
const KEA_PROGRAMS: &[&str] = &["kea-dhcp4", "dnsmasq", "udhcpc", "tftp"];
/// Programs the dhcp-script test needs besides `ip`.
const DNSMASQ_PROGRAMS: &[&str] = &["dnsmasq", "udhcpc", "tftp"];
/// The config file the 7941 asks for, named after its MAC.
const SEP_FILE: &str = "SEP001B0C18BDC1.cnf.xml";
/// The MAC as the daemon reports it.
const MAC: &str = "001B0C18BDC1";
/// Longest accepted gap between udhcpc's exit and the phone's TFTP request.
const MAX_REQUEST_GAP: Duration = Duration::from_millis(200);
/// How long the daemon may take to reflect a hook event in its log or status.
const HOOK_LATENCY: Duration = Duration::from_secs(2);

#[test]
fn isc_dhcpd_with_on_commit_hook() {
    let test = "isc_dhcpd_with_on_commit_hook";
    let Some(mut lab) = Lab::start(test, ISC_PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    lab.start_rsyslogd();
    lab.start_in_tftpd();
    let config = write_config(
        &lab,
        &[
            ("isc-leases", lab.isc_leases_path()),
            ("log", lab.syslog_path()),
        ],
    );
    let hooks = write_isc_hooks(&lab, &config);
    lab.start_isc_dhcpd(&format!("include \"{}\";", hooks.display()));
    let daemon = lab.start_daemon(&config);

    let boot = boot_and_fetch(&mut lab);
    assert_provisioned(&lab, &config, &boot, Some("7941"));

    // dhcpd really ran our hook: it logs each execute() argument (formats.md §2.1).
    let dhcpd_log = fs::read_to_string(lab.path("dhcpd.log")).unwrap_or_default();
    let argv0 = format!("execute_statement argv[0] = {}", daemon_binary());
    assert!(dhcpd_log.contains(&argv0), "no `{argv0}` in dhcpd.log");
    // And the daemon received it, vendor class included.
    let vendor_class = Phone::CP_7941G.vendor_class;
    let daemon_log = lab.path("daemon.log");
    let found = poll_until(HOOK_LATENCY, POLL_STEP, || {
        fs::read_to_string(&daemon_log).is_ok_and(|text| {
            text.lines()
                .any(|line| line.contains("hook event") && line.contains(vendor_class))
        })
    });
    assert!(
        found.is_some(),
        "no `hook event` line with {vendor_class:?} in the daemon log"
    );
    assert_no_bad_hook_events(&lab);

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!("{test}: {:?} ({boot})", started.elapsed());
}

#[test]
fn isc_dhcpd_leases_file_alone() {
    let test = "isc_dhcpd_leases_file_alone";
    let Some(mut lab) = Lab::start(test, ISC_PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    lab.start_rsyslogd();
    lab.start_in_tftpd();
    let config = write_config(&lab, &[("isc-leases", lab.isc_leases_path())]);
    lab.start_isc_dhcpd("");
    let daemon = lab.start_daemon(&config);

    let boot = boot_and_fetch(&mut lab);
    // The journal holds the vendor class (formats.md §2.2), so the model is known too.
    let leases = fs::read_to_string(lab.isc_leases_path()).unwrap_or_default();
    let stored = format!(
        "set vendor-class-identifier = \"{}\";",
        Phone::CP_7941G.vendor_class
    );
    assert!(
        leases.contains(&stored),
        "dhcpd.leases lacks `{stored}`:\n{leases}"
    );
    assert_provisioned(&lab, &config, &boot, Some("7941"));
    let daemon_log = fs::read_to_string(lab.path("daemon.log")).unwrap_or_default();
    assert!(
        !daemon_log.contains("hook event"),
        "a hook event although no hook is installed"
    );

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!("{test}: {:?} ({boot})", started.elapsed());
}

#[test]
fn kea_memfile_csv() {
    let test = "kea_memfile_csv";
    let Some(mut lab) = Lab::start(test, KEA_PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    lab.start_dnsmasq(DnsmasqMode::TftpOnly);
    lab.start_kea_dhcp4();
    // Kea's memfile holds no vendor class, and the daemon writes no SEP file while the
    // model is unknown (issue 12: a phone still on SCCP converts from XMLDefault.cnf.xml):
    // the TFTP log names the model when the phone asks for its term file.
    let config = write_config(
        &lab,
        &[
            ("kea-leases", lab.kea_leases_path()),
            ("log", lab.path("dnsmasq.log")),
        ],
    );
    let daemon = lab.start_daemon(&config);

    let boot = boot_term_then_fetch(&mut lab);
    // What the daemon had to go on: a lower-cased hostname and no vendor class.
    let csv = fs::read_to_string(lab.kea_leases_path()).unwrap_or_default();
    let row = format!("{},00:1b:0c:18:bd:c1,", boot.leased);
    let line = csv
        .lines()
        .find(|line| line.starts_with(&row))
        .unwrap_or_else(|| panic!("no row for {row} in the Kea CSV:\n{csv}"));
    assert!(line.contains(",sep001b0c18bdc1,"), "Kea row: {line}");
    assert_provisioned(&lab, &config, &boot, None);

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!("{test}: {:?} ({boot})", started.elapsed());
}

#[test]
fn dnsmasq_dhcp_script_hook() {
    let test = "dnsmasq_dhcp_script_hook";
    let Some(mut lab) = Lab::start(test, DNSMASQ_PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    let config = write_config(&lab, &[]);
    let daemon = lab.start_daemon(&config);

    // The dhcp-script dnsmasq had before: it must still run, with dnsmasq's arguments.
    let chained = lab.path("chained-dhcp-script");
    let chain_log = lab.path("chained-dhcp-script.log");
    fs::write(
        &chained,
        format!(
            "#!/bin/sh\n\
             # The previous dhcp-script of the e2e tests: records its arguments.\n\
             echo \"$@\" >> '{}'\n",
            chain_log.display()
        ),
    )
    .expect("write the chained script");
    set_mode(&chained, 0o755);
    lab.note_log(&chain_log);
    let chain_file = lab.path("dhcp-script.chain");
    fs::write(&chain_file, format!("{}\n", chained.display())).expect("write the chain file");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/dnsmasq/dhcp-script");
    let config_arg = config.display().to_string();
    let chain_arg = chain_file.display().to_string();
    lab.start_dnsmasq_with(
        DnsmasqMode::DhcpAndTftp,
        &[format!("--dhcp-script={}", script.display())],
        &[
            ("CISCO_AUTOPROV", daemon_binary()),
            ("CISCO_AUTOPROV_CONFIG", &config_arg),
            ("CISCO_AUTOPROV_CHAIN_FILE", &chain_arg),
        ],
    );

    let boot = boot_and_fetch(&mut lab);
    assert_provisioned(&lab, &config, &boot, Some("7941"));

    let add = format!("add 00:1b:0c:18:bd:c1 {} SEP001B0C18BDC1", boot.leased);
    wait_until(
        &format!("the chained script ran with `{add}`"),
        HOOK_LATENCY,
        || {
            fs::read_to_string(&chain_log)
                .is_ok_and(|text| text.lines().any(|line| line.trim_end() == add))
        },
    );

    // The phone's download makes dnsmasq run the script with `tftp SIZE IP PATH`; with no
    // log source, that event is the only way the daemon can learn of it.
    let mut last = serde_json::Value::Null;
    let configured = poll_until(HOOK_LATENCY, POLL_STEP, || {
        last = phone_status(&lab.daemon_status(&config), MAC).clone();
        last["state"] == "configured"
    });
    assert!(
        configured.is_some(),
        "not `configured` {HOOK_LATENCY:?} after the download: {last}"
    );
    let daemon_log = fs::read_to_string(lab.path("daemon.log")).unwrap_or_default();
    assert!(
        daemon_log
            .lines()
            .any(|line| line.contains("hook event") && line.contains(SEP_FILE)),
        "no `hook event` line for the download of {SEP_FILE} in the daemon log"
    );
    assert_no_bad_hook_events(&lab);

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!(
        "{test}: {:?} ({boot}; configured {:?} after the status polling began)",
        started.elapsed(),
        configured.unwrap_or_default()
    );
}

/// What [`boot_and_fetch`] saw.
struct Boot {
    /// The address the phone leased.
    leased: String,
    /// The config the phone received on its first request.
    text: String,
    /// From udhcpc's exit to the start of the TFTP request.
    gap: Duration,
    /// How long udhcpc took.
    udhcpc: Duration,
}

impl std::fmt::Display for Boot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "udhcpc {:?}, TFTP request {:?} after the lease",
            self.udhcpc, self.gap
        )
    }
}

/// The phone boots: udhcpc gets a lease (with option 150 pointing at the router), then at
/// once tftp-hpa asks for `SEP….cnf.xml`, which must already be there.
#[track_caller]
fn boot_and_fetch(lab: &mut Lab) -> Boot {
    let dhcp = lab.run_udhcpc();
    // Straight after the lease, as a phone does: nothing between the two.
    let got = lab.tftp_get(SEP_FILE);
    let gap = got.output.started_at - dhcp.exited_at;
    dhcp.assert_success();
    assert!(
        gap < MAX_REQUEST_GAP,
        "TFTP request {gap:?} after the lease"
    );
    assert!(
        got.ok(),
        "first request after the lease must succeed: {got}"
    );

    let env = lab.udhcpc_bound_env();
    let leased = env.get("ip").cloned().unwrap_or_default();
    assert!(
        in_dhcp_range(lab, &leased),
        "leased {leased:?}, env {env:?}"
    );
    assert!(
        lab.phone_addresses().contains(&format!(" {leased}/24 ")),
        "the udhcpc script did not configure {leased}: {}",
        lab.phone_addresses()
    );
    // Option 150 arrives as hex: 198.18.k.1 = c6 12 kk 01.
    let opt150 = format!("c612{:02x}01", lab.k());
    assert_eq!(env.get("opt150"), Some(&opt150), "{env:?}");
    Boot {
        leased,
        text: String::from_utf8_lossy(got.bytes()).into_owned(),
        gap,
        udhcpc: dhcp.exited_at - dhcp.started_at,
    }
}

/// As [`boot_and_fetch`] for a lease source without the model: the phone asks for
/// `term41.default.loads` first, as a 7941 does after its lease (dnsmasq/dnsmasq.log.1 line
/// 109), and then for its config once that exists.
fn boot_term_then_fetch(lab: &mut Lab) -> Boot {
    let dhcp = lab.run_udhcpc();
    dhcp.assert_success();
    let term = lab.tftp_get("term41.default.loads");
    let sep = lab.tftp_root().join(SEP_FILE);
    wait_until(
        "the SEP file after the term request",
        Duration::from_secs(2),
        || sep.exists(),
    );
    let got = lab.tftp_get(SEP_FILE);
    assert!(got.ok(), "the config after the term request: {got}");
    let leased = lab
        .udhcpc_bound_env()
        .get("ip")
        .cloned()
        .unwrap_or_default();
    Boot {
        leased,
        text: String::from_utf8_lossy(got.bytes()).into_owned(),
        gap: got.output.started_at - term.output.exited_at,
        udhcpc: dhcp.exited_at - dhcp.started_at,
    }
}

/// The phone's config and status: extension 2000 from the pool, registrar the PBX, the
/// leased address and `model` (`None`: unknown or `7941` are both accepted).
#[track_caller]
fn assert_provisioned(lab: &Lab, config: &Path, boot: &Boot, model: Option<&str>) {
    for needle in [
        "<authName>2000</authName>".to_string(),
        lab.ip(10).to_string(),
    ] {
        assert!(
            boot.text.contains(&needle),
            "{SEP_FILE} lacks {needle}:\n{}",
            boot.text
        );
    }
    let status = lab.daemon_status(config);
    let phone = phone_status(&status, MAC);
    assert_eq!(text_of(&phone["extension"]), "2000", "{phone}");
    assert_eq!(phone["ip"], boot.leased.as_str(), "{phone}");
    match model {
        Some(model) => assert_eq!(phone["model"], model, "{phone}"),
        None => assert!(
            phone["model"].is_null() || phone["model"] == "7941",
            "{phone}"
        ),
    }
}

/// No hook datagram was refused (`ignoring a bad hook event`).
#[track_caller]
fn assert_no_bad_hook_events(lab: &Lab) {
    let log = fs::read_to_string(lab.path("daemon.log")).unwrap_or_default();
    let bad: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("bad hook event"))
        .collect();
    assert!(bad.is_empty(), "refused hook events:\n{}", bad.join("\n"));
}

/// Writes `config.toml` for the daemon with `sources` (kind, path) and no inventory; every
/// path is inside the lab directory. No sources means `source = []`: hooks only (without
/// it the daemon would watch its defaults, `/tmp/dhcp.leases` and `/var/log/syslog`).
fn write_config(lab: &Lab, sources: &[(&str, PathBuf)]) -> PathBuf {
    let mut config = format!(
        "tftp_root = \"{tftp_root}\"\n\
         state_dir = \"{state_dir}\"\n",
        tftp_root = lab.tftp_root().display(),
        state_dir = lab.path("state").display(),
    );
    if sources.is_empty() {
        config += "source = []\n";
    }
    config += &format!(
        "\n\
         [pbx]\n\
         host = \"{pbx}\"\n\
         port = 5060\n\
         \n\
         [dhcp]\n\
         tftp_server = \"{router}\"\n\
         \n\
         [provision]\n\
         extensions = \"2000-2099\"\n",
        pbx = lab.ip(10),
        router = lab.router_ip(),
    );
    for (kind, path) in sources {
        config += &format!(
            "\n[[source]]\nkind = \"{kind}\"\npath = \"{}\"\n",
            path.display()
        );
    }
    let path = lab.path("config.toml");
    fs::write(&path, config).expect("write config.toml");
    path
}

/// `contrib/isc-dhcp/cisco-autoprov-hooks.conf` with its `execute()` statements pointed at
/// the test binary and config (`"<binary>", "notify", "-c", "<config>", …`); everything else
/// is kept, so a change to the shipped statements is tested here too.
fn write_isc_hooks(lab: &Lab, config: &Path) -> PathBuf {
    let contrib =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/isc-dhcp/cisco-autoprov-hooks.conf");
    let text =
        fs::read_to_string(&contrib).unwrap_or_else(|e| panic!("read {}: {e}", contrib.display()));
    let shipped = "execute(\"/usr/sbin/cisco-autoprov\", \"notify\",";
    assert_eq!(
        text.matches(shipped).count(),
        3,
        "expected three `{shipped}` statements (commit, release, expiry) in {}",
        contrib.display()
    );
    let ours = format!(
        "execute(\"{}\", \"notify\", \"-c\", \"{}\",",
        daemon_binary(),
        config.display()
    );
    let path = lab.path("cisco-autoprov-hooks.conf");
    fs::write(&path, text.replace(shipped, &ours)).expect("write cisco-autoprov-hooks.conf");
    path
}

/// One event per real request (field-evidence.md §5: with dnsmasq's `dhcp-script` hook and
/// its log both read, three real `term41.default.loads` requests gave `firmware-loop` "6
/// times"). Real dnsmasq reports each download to the hook *and* logs it, and the lease
/// shows in the lease file, the hook and the log's DHCPACK: the daemon reads all three and
/// counts each request once.
#[test]
fn dnsmasq_hook_and_log_together_count_each_request_once() {
    let test = "dnsmasq_hook_and_log_together_count_each_request_once";
    let Some(mut lab) = Lab::start(test, DNSMASQ_PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    support::checks::put_static_file(&lab, "term41.default.loads");
    let config = write_config(
        &lab,
        &[
            ("dnsmasq-leases", lab.path("dnsmasq.leases")),
            ("log", lab.path("dnsmasq.log")),
        ],
    );
    let daemon = lab.start_daemon(&config);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/dnsmasq/dhcp-script");
    let config_arg = config.display().to_string();
    let no_chain = lab.path("no-such-chain-file");
    let chain_arg = no_chain.display().to_string();
    lab.start_dnsmasq_with(
        DnsmasqMode::DhcpAndTftp,
        &[format!("--dhcp-script={}", script.display())],
        &[
            ("CISCO_AUTOPROV", daemon_binary()),
            ("CISCO_AUTOPROV_CONFIG", &config_arg),
            ("CISCO_AUTOPROV_CHAIN_FILE", &chain_arg),
        ],
    );
    lab.run_udhcpc().assert_success();
    for _ in 0..3 {
        assert!(lab.tftp_get("term41.default.loads").ok());
    }
    // Both paths delivered: the hook's events are in the daemon's log, and dnsmasq logged
    // the three downloads.
    wait_until("the hook reported the downloads", HOOK_LATENCY, || {
        let log = fs::read_to_string(lab.path("daemon.log")).unwrap_or_default();
        log.lines()
            .filter(|line| line.contains("hook event") && line.contains("term41.default.loads"))
            .count()
            == 3
    });
    let dnsmasq_log = fs::read_to_string(lab.path("dnsmasq.log")).unwrap_or_default();
    assert_eq!(
        dnsmasq_log
            .lines()
            .filter(|line| line.contains("sent") && line.contains("term41.default.loads"))
            .count(),
        3
    );
    let explain = || {
        let output = std::process::Command::new(daemon_binary())
            .args(["explain", MAC, "-c"])
            .arg(&config)
            .output()
            .expect("run explain");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let mut text = String::new();
    let counted = poll_until(Duration::from_secs(5), POLL_STEP, || {
        text = explain();
        text.contains("term41.default.loads: sent (x3,")
    });
    assert!(
        counted.is_some(),
        "three requests, counted once each:\n{text}"
    );
    let lease_lines: Vec<&str> = text.lines().filter(|l| l.contains("DHCP lease")).collect();
    assert_eq!(lease_lines.len(), 1, "{text}");
    assert!(
        !lease_lines[0].contains("(x"),
        "one lease, one event:\n{text}"
    );
    assert!(!text.contains("firmware-loop"), "{text}");
    let log = fs::read_to_string(lab.path("daemon.log")).unwrap_or_default();
    assert!(
        log.contains("reported by another source already"),
        "no repeat seen"
    );

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!("{test}: {:?}", started.elapsed());
}
