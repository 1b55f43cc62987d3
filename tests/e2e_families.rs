//! End-to-end tests of the phone families against real dnsmasq (DHCP + TFTP), a real DHCP
//! client and a real TFTP client, in network namespaces (rules in `support/netns.rs`):
//!
//! - `phone_7940_on_sip_gets_its_files_on_first_request`: a 7940 on SIP firmware asks for
//!   `SIPDefault.cnf`, `SIP<MAC>.cnf` and `OS79XX.TXT` straight after its lease (cisco-facts.md
//!   1b): every one is there on the first request, naming the SIP image present.
//! - `phone_7941_on_sccp_converts`: a factory-reset 7941 on SCCP asks for
//!   `term41.default.loads`, its trust list, `SEP<MAC>.cnf.xml` and `XMLDefault.cnf.xml`: the
//!   config files are there on the first request and name the complete SIP load present, so
//!   the phone converts itself.
//!
//! The firmware files are small stand-ins with Cisco's layout: a `.loads` file whose body
//! names its images, and the images.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::checks::{phone_status, put_firmware, text_of, SIP41_IMAGES};
use support::netns::{poll_until, DnsmasqMode, Lab, Phone, POLL_STEP};

const PROGRAMS: &[&str] = &["dnsmasq", "udhcpc", "tftp"];

fn write_config(lab: &Lab) -> PathBuf {
    let config = lab.path("config.toml");
    fs::write(
        &config,
        format!(
            "tftp_root = \"{root}\"\nstate_dir = \"{state}\"\n\
             [pbx]\nhost = \"{pbx}\"\n[dhcp]\ntftp_server = \"{router}\"\n[provision]\nextensions = \"2000-2099\"\n\
             [[source]]\nkind = \"dnsmasq-leases\"\npath = \"{leases}\"\n\
             [[source]]\nkind = \"log\"\npath = \"{log}\"\n",
            root = lab.tftp_root().display(),
            state = lab.path("state").display(),
            pbx = lab.ip(10),
            router = lab.router_ip(),
            leases = lab.path("dnsmasq.leases").display(),
            log = lab.path("dnsmasq.log").display(),
        ),
    )
    .expect("write config");
    config
}

/// Gets `name` and checks the first request succeeded; returns the text.
#[track_caller]
fn first_get(lab: &Lab, name: &str) -> String {
    let got = lab.tftp_get(name);
    assert!(got.ok(), "first request for {name} must succeed: {got}");
    String::from_utf8_lossy(got.bytes()).into_owned()
}

/// Waits until `status --json` shows the phone with `model`.
fn wait_for_model(lab: &Lab, config: &Path, mac: &str, model: &str) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    let found = poll_until(Duration::from_secs(2), POLL_STEP, || {
        last = phone_status(&lab.daemon_status(config), mac).clone();
        last["model"] == model
    });
    assert!(found.is_some(), "model {model} not in status: {last}");
    last
}

#[test]
fn phone_7940_on_sip_gets_its_files_on_first_request() {
    let test = "phone_7940_on_sip_gets_its_files_on_first_request";
    let Some(mut lab) = Lab::start_as(test, PROGRAMS, Phone::CP_7940G) else {
        return;
    };
    put_firmware(
        &lab,
        "P0S3-8-12-00.loads",
        &["P003-8-12-00.sbn", "P0S3-8-12-00.sb2"],
    );
    lab.start_dnsmasq(DnsmasqMode::DhcpAndTftp);
    let config = write_config(&lab);
    let daemon = lab.start_daemon(&config);

    lab.run_udhcpc().assert_success();
    let sip_default = first_get(&lab, "SIPDefault.cnf");
    let own = first_get(&lab, "SIP001B0C18BDC2.cnf");
    let image = first_get(&lab, "OS79XX.TXT");
    // The dial template SIPDefault.cnf names (dial_template: "dialplan"), which the 7960 of
    // the teo capture fetched at every boot (real-configs/teo-lkml-7960-as-fetched).
    let dial_template = first_get(&lab, "dialplan.xml");
    assert!(dial_template.contains("<DIALTEMPLATE>"), "{dial_template}");

    assert!(
        sip_default.contains("image_version: \"P0S3-8-12-00\"\n"),
        "{sip_default}"
    );
    assert!(
        sip_default.contains(&format!("proxy1_address: \"{}\"\n", lab.ip(10))),
        "{sip_default}"
    );
    assert!(own.contains("line1_name: \"2000\"\n"), "{own}");
    assert!(own.contains("line1_authname: \"2000\"\n"), "{own}");
    let secret = own
        .lines()
        .find_map(|line| line.strip_prefix("line1_password: \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no line1_password in:\n{own}"));
    assert!((1..=30).contains(&secret.len()), "secret {secret:?}");
    // The universal loader the SIP load ships, as in the working 8.12 guides
    // (real-configs/teo-lkml-7960/OS79XX.TXT; field-evidence.md §3).
    assert_eq!(image, "P003-8-12-00\n");

    let phone = wait_for_model(&lab, &config, "001B0C18BDC2", "7940");
    assert_eq!(text_of(&phone["extension"]), "2000", "{phone}");
    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit: {exit}");
}

#[test]
fn phone_7941_on_sccp_converts() {
    let test = "phone_7941_on_sccp_converts";
    let Some(mut lab) = Lab::start(test, PROGRAMS) else {
        return;
    };
    let images = SIP41_IMAGES;
    put_firmware(&lab, "SIP41.9-4-2SR3-1S.loads", &images);
    // The package's pointer file, named for the model; it lists the same images.
    put_firmware(&lab, "term41.default.loads", &images);
    lab.start_dnsmasq(DnsmasqMode::DhcpAndTftp);
    let config = write_config(&lab);
    let daemon = lab.start_daemon(&config);

    lab.run_udhcpc().assert_success();
    first_get(&lab, "term41.default.loads");
    assert!(
        !lab.tftp_get("CTLSEP001B0C18BDC1.tlv").ok(),
        "no trust list is served"
    );
    let own = first_get(&lab, "SEP001B0C18BDC1.cnf.xml");
    let default = first_get(&lab, "XMLDefault.cnf.xml");

    assert!(
        own.contains("<loadInformation>SIP41.9-4-2SR3-1S</loadInformation>"),
        "{own}"
    );
    assert!(own.contains("<authName>2000</authName>"), "{own}");
    assert!(
        default.contains(
            "<loadInformation115 model=\"Cisco 7941\">SIP41.9-4-2SR3-1S</loadInformation115>"
        ),
        "{default}"
    );
    assert!(
        default.contains(
            "<loadInformation30018 model=\"Cisco 7961\">SIP41.9-4-2SR3-1S</loadInformation30018>"
        ),
        "the 7961 shares the load: {default}"
    );
    for text in [&own, &default] {
        roxmltree::Document::parse(text).expect("well-formed XML");
    }
    let phone = wait_for_model(&lab, &config, "001B0C18BDC1", "7941");
    assert_eq!(text_of(&phone["extension"]), "2000", "{phone}");
    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit: {exit}");
}
