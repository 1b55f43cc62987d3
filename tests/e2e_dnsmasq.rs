//! End-to-end tests against real dnsmasq: DHCP and TFTP served by dnsmasq in a router
//! namespace, a simulated Cisco 7941 (busybox udhcpc + tftp-hpa, MAC 00:1b:0c:18:bd:c1) in a
//! phone namespace, and `cisco-autoprov run` watching dnsmasq's lease file and log.
//!
//! What they prove:
//! - `harness_dnsmasq_serves_dhcp_and_tftp`: the lab itself works (no daemon involved), so a
//!   failure of the other tests is about the daemon, not the plumbing.
//! - `dnsmasq_lease_provisions_before_first_request`: with the lease source, the phone's
//!   config exists by the time the phone, fresh from its DHCP lease, asks for it.
//! - `tftp_only_phone_is_provisioned_from_the_log`: with only a TFTP log (a static-address
//!   phone), the first request fails and the daemon writes the file within a second.
//! - `daemon_restart_keeps_the_extension`: extension and secret survive a restart.
//!
//! The rules (own namespaces, 198.18.0.0/15 only, cleanup on drop, polling, skips unless
//! `CI=true`) are explained in `support/netns.rs`. Run with
//! `cargo test --test e2e_dnsmasq -- --nocapture` as root.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::checks::{
    assert_world_readable, between, in_dhcp_range, phone_status, put_static_file, text_of,
};
use support::netns::{poll_until, wait_until, DnsmasqMode, Lab, POLL_STEP};

/// Programs these tests need besides `ip`.
const PROGRAMS: &[&str] = &["dnsmasq", "udhcpc", "tftp"];
/// The config file the 7941 asks for, named after its MAC.
const SEP_FILE: &str = "SEP001B0C18BDC1.cnf.xml";
/// The MAC as the daemon reports it.
const MAC: &str = "001B0C18BDC1";
/// The 7941's firmware load file; real phones ask for it before their config.
const LOADS_FILE: &str = "term41.default.loads";

#[test]
fn harness_dnsmasq_serves_dhcp_and_tftp() {
    let test = "harness_dnsmasq_serves_dhcp_and_tftp";
    let Some(mut lab) = Lab::start(test, PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    put_static_file(&lab, LOADS_FILE);
    lab.start_dnsmasq(DnsmasqMode::DhcpAndTftp);

    let dhcp = lab.run_udhcpc();
    dhcp.assert_success();
    let env = lab.udhcpc_bound_env();
    let leased = env.get("ip").cloned().unwrap_or_default();
    assert!(
        in_dhcp_range(&lab, &leased),
        "leased {leased:?}, env {env:?}"
    );
    assert_eq!(env.get("mask").map(String::as_str), Some("24"), "{env:?}");
    // Option 150 arrives as hex: 198.18.k.1 = c6 12 kk 01.
    let opt150 = format!("c612{:02x}01", lab.k());
    assert_eq!(env.get("opt150"), Some(&opt150), "{env:?}");
    assert!(
        lab.phone_addresses().contains(&format!(" {leased}/24 ")),
        "the udhcpc script did not configure {leased}: {}",
        lab.phone_addresses()
    );
    let leases = lab.path("dnsmasq.leases");
    let lease_line = format!("00:1b:0c:18:bd:c1 {leased} SEP001B0C18BDC1 ");
    wait_until(
        "the lease file lists the phone",
        Duration::from_secs(5),
        || fs::read_to_string(&leases).is_ok_and(|text| text.contains(&lease_line)),
    );

    let got = lab.tftp_get(LOADS_FILE);
    assert!(got.ok(), "static file: {got}");
    // The failure case must be recognised as one: tests 2 and 3 rely on it.
    let missing = lab.tftp_get(SEP_FILE);
    assert!(
        !missing.ok(),
        "a missing file must not count as received: {missing}"
    );
    assert!(
        missing.output.stderr.contains("Error code 1")
            || missing.output.stdout.contains("Error code 1"),
        "{missing}"
    );
    // The log lines the daemon's log source reads (formats.md §1.3).
    let root = lab.tftp_root();
    let log = fs::read_to_string(lab.path("dnsmasq.log")).unwrap_or_default();
    let sent = format!("sent {}/{LOADS_FILE} to {leased}", root.display());
    let not_found = format!("file {}/{SEP_FILE} not found for {leased}", root.display());
    assert!(
        log.contains(&sent) && log.contains(&not_found),
        "dnsmasq.log:\n{log}"
    );
    eprintln!(
        "{test}: {:?} (udhcpc {:?})",
        started.elapsed(),
        dhcp.exited_at - dhcp.started_at
    );
}

#[test]
fn dnsmasq_lease_provisions_before_first_request() {
    let test = "dnsmasq_lease_provisions_before_first_request";
    let Some(mut lab) = Lab::start(test, PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    lab.start_dnsmasq(DnsmasqMode::DhcpAndTftp);
    let config = write_config(&lab, Sources::LeasesAndLog, Some(INVENTORY));
    let daemon = lab.start_daemon(&config);

    let dhcp = lab.run_udhcpc();
    // Straight after the lease, as a phone does: nothing between the two.
    let config_get = lab.tftp_get(SEP_FILE);
    let delay = config_get.output.started_at - dhcp.exited_at;
    dhcp.assert_success();
    assert!(
        delay < Duration::from_millis(200),
        "TFTP request {delay:?} after the lease"
    );
    assert!(
        config_get.ok(),
        "first request after the lease must succeed: {config_get}"
    );

    let leased = lab
        .udhcpc_bound_env()
        .get("ip")
        .cloned()
        .unwrap_or_default();
    assert!(in_dhcp_range(&lab, &leased), "leased {leased:?}");
    assert!(lab.phone_addresses().contains(&format!(" {leased}/24 ")));
    let text = String::from_utf8_lossy(config_get.bytes()).into_owned();
    for needle in [
        "<authName>1006</authName>".to_string(),
        "<authPassword>s3cret</authPassword>".to_string(),
        lab.ip(10).to_string(),
    ] {
        assert!(text.contains(&needle), "{SEP_FILE} lacks {needle}:\n{text}");
    }
    assert_world_readable(&lab.tftp_root().join(SEP_FILE));
    assert!(
        lab.tftp_root().join("XMLDefault.cnf.xml").is_file(),
        "no XMLDefault.cnf.xml"
    );
    assert_no_temporary_files(&lab.tftp_root());

    let status = lab.daemon_status(&config);
    let phone = phone_status(&status, MAC);
    assert_eq!(phone["model"], "7941", "{phone}");
    assert_eq!(text_of(&phone["extension"]), "1006", "{phone}");
    assert_eq!(phone["ip"], leased.as_str(), "{phone}");
    assert_files_list_sep(phone);

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!(
        "{test}: {:?} (udhcpc {:?}, TFTP request {delay:?} after the lease)",
        started.elapsed(),
        dhcp.exited_at - dhcp.started_at
    );
}

#[test]
fn tftp_only_phone_is_provisioned_from_the_log() {
    let test = "tftp_only_phone_is_provisioned_from_the_log";
    let Some(mut lab) = Lab::start(test, PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    let (config, daemon) = start_tftp_only(&mut lab);
    let bytes = provision_by_request(&lab);

    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(text.contains("<authName>2000</authName>"), "{text}");
    let secret = between(&text, "<authPassword>", "</authPassword>")
        .unwrap_or_else(|| panic!("no <authPassword> in:\n{text}"));
    assert!(
        (1..=30).contains(&secret.chars().count()),
        "secret {secret:?}"
    );
    assert_world_readable(&lab.tftp_root().join(SEP_FILE));

    let status = lab.daemon_status(&config);
    let phone = phone_status(&status, MAC);
    assert_eq!(phone["model"], "7941", "{phone}");
    assert_eq!(text_of(&phone["extension"]), "2000", "{phone}");
    assert_eq!(phone["ip"], lab.ip(41).to_string().as_str(), "{phone}");
    assert_files_list_sep(phone);

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!("{test}: {:?}", started.elapsed());
}

#[test]
fn daemon_restart_keeps_the_extension() {
    let test = "daemon_restart_keeps_the_extension";
    let Some(mut lab) = Lab::start(test, PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    let (config, daemon) = start_tftp_only(&mut lab);
    let before = provision_by_request(&lab);
    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");

    // The TFTP root is on tmpfs on a router and empty after a reboot; only the state dir
    // survives. Removing the file makes the state the only way back to the same values.
    fs::remove_file(lab.tftp_root().join(SEP_FILE)).expect("remove the SEP file");
    let daemon = lab.start_daemon(&config);
    let mut again = lab.tftp_get(SEP_FILE);
    if !again.ok() {
        // The daemon did not rewrite it at startup; the failed request must trigger it.
        let failed_at = again.output.exited_at;
        let sep_path = lab.tftp_root().join(SEP_FILE);
        poll_until(Duration::from_secs(5), POLL_STEP, || sep_path.exists());
        let latency = failed_at.elapsed();
        assert!(
            sep_path.exists(),
            "not rewritten after the restart: {again}"
        );
        assert!(
            latency < Duration::from_secs(1),
            "rewritten {latency:?} after the request"
        );
        again = lab.tftp_get(SEP_FILE);
    }
    assert_eq!(
        String::from_utf8_lossy(again.bytes()),
        String::from_utf8_lossy(&before),
        "config changed across the restart"
    );
    let status = lab.daemon_status(&config);
    assert_eq!(
        text_of(&phone_status(&status, MAC)["extension"]),
        "2000",
        "{status}"
    );

    let exit = lab.stop(daemon);
    assert!(
        exit.success(),
        "daemon exit on SIGTERM after restart: {exit}"
    );
    eprintln!("{test}: {:?}", started.elapsed());
}

/// Inventory entry of test 1: the phone is known, with a fixed extension and secret.
const INVENTORY: &str = r#"
[[phone]]
mac = "00:1B:0C:18:BD:C1"
extension = "1006"
secret = "s3cret"
label = "Thomas"
"#;

/// Which inputs the daemon watches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sources {
    /// dnsmasq's lease file and its log.
    LeasesAndLog,
    /// dnsmasq's log only (TFTP-only router).
    LogOnly,
}

/// Writes `config.toml` for the daemon; every path is inside the lab directory.
fn write_config(lab: &Lab, sources: Sources, inventory: Option<&str>) -> PathBuf {
    let mut config = format!(
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
         tftp_only = \"auto\"\n",
        tftp_root = lab.tftp_root().display(),
        state_dir = lab.path("state").display(),
        pbx = lab.ip(10),
        router = lab.router_ip(),
    );
    if sources == Sources::LeasesAndLog {
        config += &format!(
            "\n[[source]]\nkind = \"dnsmasq-leases\"\npath = \"{}\"\n",
            lab.path("dnsmasq.leases").display()
        );
    }
    config += &format!(
        "\n[[source]]\nkind = \"log\"\npath = \"{}\"\n",
        lab.path("dnsmasq.log").display()
    );
    config += inventory.unwrap_or_default();
    let path = lab.path("config.toml");
    fs::write(&path, config).expect("write config.toml");
    path
}

/// dnsmasq (TFTP only), the loads file, the daemon with only the log source and no
/// inventory, and the phone at the static address 198.18.k.41.
fn start_tftp_only(lab: &mut Lab) -> (PathBuf, support::netns::ProcessId) {
    put_static_file(lab, LOADS_FILE);
    lab.start_dnsmasq(DnsmasqMode::TftpOnly);
    let config = write_config(lab, Sources::LogOnly, None);
    let daemon = lab.start_daemon(&config);
    lab.add_phone_address(41);
    (config, daemon)
}

/// The phone's boot sequence against a daemon that has never seen it: the loads file, then
/// its config, which cannot exist yet; the daemon must write it within 1 s of that failed
/// request, and the retry succeeds. Returns the config's bytes.
fn provision_by_request(lab: &Lab) -> Vec<u8> {
    let loads = lab.tftp_get(LOADS_FILE);
    assert!(loads.ok(), "{LOADS_FILE}: {loads}");
    let first = lab.tftp_get(SEP_FILE);
    assert!(
        !first.ok(),
        "the daemon cannot know the phone before it asks: {first}"
    );

    let sep_path = lab.tftp_root().join(SEP_FILE);
    poll_until(Duration::from_secs(5), POLL_STEP, || sep_path.exists());
    let latency = first.output.exited_at.elapsed();
    assert!(
        sep_path.exists(),
        "{SEP_FILE} never appeared in the TFTP root"
    );
    // Polled in 50 ms steps, so this can overstate the latency by one step.
    assert!(
        latency < Duration::from_secs(1),
        "{SEP_FILE} appeared {latency:?} after the request"
    );

    let second = lab.tftp_get(SEP_FILE);
    second.bytes().to_vec()
}

/// Only finished files in the TFTP root: no dot files, no `*.tmp`, nothing but configs and
/// the static files the tests put there.
#[track_caller]
fn assert_no_temporary_files(root: &Path) {
    let names: Vec<String> = fs::read_dir(root)
        .expect("list the TFTP root")
        .map(|entry| {
            entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let unexpected: Vec<&String> = names
        .iter()
        .filter(|name| {
            // Config files (SEP…cnf.xml, XMLDefault.cnf.xml, SIPDefault.cnf, and SIP…cnf for a
            // phone whose model is not known yet), the dial template and the loads file; no
            // temporary file.
            name.starts_with('.')
                || !(name.ends_with(".cnf.xml")
                    || name.ends_with(".cnf")
                    || name.as_str() == "dialplan.xml"
                    || name.as_str() == LOADS_FILE)
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected files in the TFTP root: {unexpected:?} (all: {names:?})"
    );
}

#[track_caller]
fn assert_files_list_sep(phone: &serde_json::Value) {
    let files = phone["files"]
        .as_array()
        .unwrap_or_else(|| panic!("`files` is not an array: {phone}"));
    assert!(files.iter().any(|file| file == SEP_FILE), "{phone}");
}
