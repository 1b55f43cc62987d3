//! End-to-end test of `tftp_unique_root = "mac"` against real dnsmasq 2.90 and its
//! `tftp-unique-root=mac`: each phone's files live in `<root>/<its MAC as 00-1b-0c-18-bd-c1>/`,
//! which dnsmasq serves to that phone only.
//!
//! Why: a phone's config carries its SIP secret, and any host on the LAN can ask the TFTP
//! server for `SEP<MAC>.cnf.xml` of any MAC (field-evidence.md §4: "Mitigation that works on
//! dnsmasq 2.90: `--tftp-unique-root=mac` serves `<root>/<mac>/<file>` only to the client
//! whose MAC dnsmasq knows (ARP/DHCP); another host gets file not found"). dnsmasq then
//! serves that phone nothing from the root itself (no fallback per file, seen on 2.90 while
//! writing this), so the phone's directory must link the shared files (firmware,
//! `XMLDefault.cnf.xml`): the test fetches both through the phone's directory.
//!
//! The rules (own namespaces, 198.18.0.0/15 only, cleanup on drop, skips unless `CI=true`)
//! are explained in `support/netns.rs`. Run with
//! `cargo test --test e2e_unique_root -- --nocapture` as root.

mod support;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::checks::{between, phone_status, put_static_file, text_of};
use support::netns::{wait_until, DnsmasqMode, Lab, Ns, Phone};

const PROGRAMS: &[&str] = &["dnsmasq", "udhcpc", "tftp"];
/// The 7941's config and its directory under `tftp-unique-root=mac`.
const SEP_FILE: &str = "SEP001B0C18BDC1.cnf.xml";
const PHONE_DIR: &str = "00-1b-0c-18-bd-c1";
const MAC: &str = "001B0C18BDC1";
const LOADS_FILE: &str = "term41.default.loads";

/// The daemon's config: dnsmasq's lease file and log, `tftp_unique_root = "mac"`.
fn write_config(lab: &Lab) -> PathBuf {
    let config = format!(
        "tftp_root = \"{root}\"\n\
         tftp_unique_root = \"mac\"\n\
         state_dir = \"{state}\"\n\
         \n\
         [pbx]\n\
         host = \"{pbx}\"\n\
         \n\
         [dhcp]\n\
         tftp_server = \"{router}\"\n\
         \n\
         [provision]\n\
         extensions = \"2000-2099\"\n\
         \n\
         [[source]]\n\
         kind = \"dnsmasq-leases\"\n\
         path = \"{leases}\"\n\
         \n\
         [[source]]\n\
         kind = \"log\"\n\
         path = \"{log}\"\n",
        root = lab.tftp_root().display(),
        state = lab.path("state").display(),
        pbx = lab.ip(10),
        router = lab.router_ip(),
        leases = lab.path("dnsmasq.leases").display(),
        log = lab.path("dnsmasq.log").display(),
    );
    let path = lab.path("config.toml");
    fs::write(&path, config).expect("write config.toml");
    path
}

/// What a TFTP client in `ns` received for `name`, `None` on "file not found" (tftp-hpa
/// leaves an empty file and exits 0: an empty or missing file is a failure).
fn fetch(lab: &Lab, ns: Ns, name: &str) -> Option<Vec<u8>> {
    let got = lab.tftp_get_in(ns, name);
    got.received.filter(|bytes| !bytes.is_empty())
}

#[test]
fn unique_root_serves_a_phone_its_files_and_nobody_else() {
    let test = "unique_root_serves_a_phone_its_files_and_nobody_else";
    let Some(mut lab) = Lab::start(test, PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    put_static_file(&lab, LOADS_FILE);
    let config = write_config(&lab);
    // dnsmasq gets `tftp-unique-root=mac` (and option 150) only from the drop-in
    // `cisco-autoprov snippet dnsmasq` prints, as an admin would set it up.
    let snippet = std::process::Command::new(env!("CARGO_BIN_EXE_cisco-autoprov"))
        .args(["snippet", "dnsmasq", "-c"])
        .arg(&config)
        .output()
        .expect("run cisco-autoprov snippet");
    assert!(snippet.status.success(), "{snippet:?}");
    let snippet = String::from_utf8_lossy(&snippet.stdout).into_owned();
    assert!(
        snippet.lines().any(|line| line == "tftp-unique-root=mac"),
        "{snippet}"
    );
    let conf_dir = lab.path("dnsmasq.d");
    fs::create_dir_all(&conf_dir).expect("create conf-dir");
    fs::write(conf_dir.join("cisco-autoprov.conf"), &snippet).expect("write the drop-in");
    lab.start_dnsmasq_with(
        DnsmasqMode::DhcpAndTftpWithoutOptions,
        &[format!("--conf-dir={},*.conf", conf_dir.display())],
        &[],
    );
    let daemon = lab.start_daemon(&config);

    // The 7941 leases: the lease binds MAC and address, enough for credentials.
    lab.run_udhcpc().assert_success();
    let dir = lab.tftp_root().join(PHONE_DIR);
    wait_until(
        "the phone's file is written in its own directory",
        Duration::from_secs(5),
        || dir.join(SEP_FILE).is_file(),
    );
    assert!(
        !lab.tftp_root().join(SEP_FILE).exists(),
        "a copy in the root would be served to anyone"
    );

    // The phone gets its config, the firmware and XMLDefault through its directory.
    let text = fetch(&lab, Ns::Phone, SEP_FILE).expect("the phone gets its own config");
    let text = String::from_utf8_lossy(&text).into_owned();
    assert!(text.contains("<authName>2000</authName>"), "{text}");
    let secret = between(&text, "<authPassword>", "</authPassword>").expect("a secret");
    assert_eq!(
        fetch(&lab, Ns::Phone, LOADS_FILE).as_deref(),
        Some(
            fs::read(lab.tftp_root().join(LOADS_FILE))
                .unwrap()
                .as_slice()
        ),
        "the firmware of the root reaches the phone through its directory"
    );
    assert!(
        fetch(&lab, Ns::Phone, "XMLDefault.cnf.xml").is_some(),
        "XMLDefault.cnf.xml reaches the phone through its directory"
    );

    // Another host on the LAN, with a static address and no lease (dnsmasq learns its MAC by
    // ARP), asks for the phone's config: "file not found", no secret.
    const OTHER: Phone = Phone {
        mac: "00:1b:0c:18:bd:c2",
        vendor_class: "",
        hostname: "",
    };
    lab.add_second_phone(OTHER, 77);
    assert_eq!(
        fetch(&lab, Ns::SecondPhone, SEP_FILE),
        None,
        "another host got the phone's config"
    );
    // The shared files stay served to everyone from the root.
    assert!(fetch(&lab, Ns::SecondPhone, LOADS_FILE).is_some());
    let log = fs::read_to_string(lab.path("dnsmasq.log")).unwrap_or_default();
    assert!(
        log.contains(&format!(
            "file {}/{SEP_FILE} not found for {}",
            lab.tftp_root().display(),
            lab.ip(77)
        )),
        "dnsmasq.log:\n{log}"
    );

    // The daemon read dnsmasq's lines with the directory in the path as the phone's own
    // requests.
    wait_until(
        "status shows the phone past its lease (it fetched files)",
        Duration::from_secs(10),
        || {
            let status = lab.daemon_status(&config);
            let phone = phone_status(&status, MAC);
            phone["state"] != "leased" && !phone["leaks"].as_array().is_none_or(Vec::is_empty)
        },
    );
    let status = lab.daemon_status(&config);
    let phone = phone_status(&status, MAC);
    // The other host's attempt is on the phone's record as a leak alert, though it got
    // nothing.
    assert_eq!(
        phone["leaks"][0]["ip"],
        lab.ip(77).to_string().as_str(),
        "{phone}"
    );
    assert_eq!(text_of(&phone["extension"]), "2000", "{phone}");
    let daemon_log = fs::read_to_string(lab.path("daemon.log")).unwrap_or_default();
    assert!(
        !daemon_log.contains(secret),
        "the secret reached the daemon's log"
    );

    // New firmware in the root is linked into the phone's directory.
    put_static_file(&lab, "SIP41.9-4-2SR3-1S.loads");
    wait_until(
        "the new firmware file is linked into the phone's directory",
        Duration::from_secs(10),
        || fs::symlink_metadata(dir.join("SIP41.9-4-2SR3-1S.loads")).is_ok(),
    );
    assert!(fetch(&lab, Ns::Phone, "SIP41.9-4-2SR3-1S.loads").is_some());

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!("{test}: {:?}", started.elapsed());
}
