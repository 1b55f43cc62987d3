//! The last step of the mission, proven: phones provisioned by cisco-autoprov register to a
//! real Asterisk, call each other and get their message-waiting lamp lit.
//!
//! ```text
//!   router namespace (bridge 198.18.k.1/24)                     three phone namespaces
//!   dnsmasq (DHCP + TFTP) ── lease file, log ──► cisco-autoprov   7941 (TCP)  udhcpc, tftp,
//!   Asterisk 22 (sid chroot, user asterisk) ◄── PJSIP include ──┘ 7965 (TCP)  a SIP phone that
//!        ▲ module reload res_pjsip.so (the daemon's reload_command)  7940 (UDP)  behaves like the
//!        └────────────── REGISTER, INVITE, OPTIONS, NOTIFY ──────────────────────  firmware
//! ```
//!
//! Each phone gets a lease from real dnsmasq (with its model's vendor class), asks for its
//! files over TFTP in the firmware's order, reads its credentials from what it got, exactly
//! where the firmware reads them (`SEP<MAC>.cnf.xml` for the XML firmware;
//! `SIPDefault.cnf` + `SIP<MAC>.cnf` for the 7940), and registers with them. On the wire it
//! behaves like Cisco's firmware (`support/sipphone.rs`): over UDP it sends from an ephemeral
//! port with `Via: …:5060` and no `rport` and hears only what comes to port 5060
//! (drachtio-server issue 374, field-evidence.md §1); over TCP it keeps one connection and
//! accepts no other. Asterisk runs as user `asterisk` from Debian sid's package
//! (`support/asterisk.rs`, field-evidence.md §2), with a `pjsip.conf` that `#include`s the
//! file the daemon writes, given to Asterisk's group by `[pbx] group`.
//!
//! What it proves, for a 7941, a 7965 and a 7940 at once:
//! - each registers (401, then 200 with the secret from its file), `pjsip show contacts`
//!   lists it, and a wrong password is refused;
//! - Asterisk's qualify OPTIONS reach each phone where it listens and are answered;
//! - a call from one provisioned phone to another rings and is answered, over TCP and to the
//!   UDP phone's port 5060;
//! - after a voicemail count change the MWI NOTIFY reaches the phone where it listens, and
//!   the XML phones' files light the lamp (`messageWaitingLampPolicy` 3);
//! - the include stays readable by Asterisk's group across every rewrite, and the reload
//!   command ran after the changes, never failing.
//!
//! It needs root, the lab's programs, and the cached chroot of `scripts/asterisk-chroot.sh`
//! (`.ci/run` builds it); without them it skips, and under `CI=true` it fails instead.

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::asterisk::{
    asterisk_chroot, missing_asterisk, Asterisk, AsteriskConfig, ASTERISK_PROGRAMS, ASTERISK_UID,
};
use support::netns::{skip_or_fail, wait_until, DnsmasqMode, Lab, Ns, Phone};
use support::sipphone::{Arrival, PhoneSip, SipPhone, Transport};

/// Programs besides `ip` and [`ASTERISK_PROGRAMS`]: the lab's servers and clients.
const PROGRAMS: &[&str] = &["dnsmasq", "udhcpc", "tftp"];

/// The three phones: a 7941 and a 7965 (XML firmware, TCP), a 7940 (SIP firmware, UDP).
const PHONE_7941: Phone = Phone::CP_7941G;
const PHONE_7965: Phone = Phone {
    mac: "00:1b:0c:18:bd:c5",
    vendor_class: "Cisco Systems, Inc. IP Phone CP-7965G",
    hostname: "SEP001B0C18BDC5",
};
const PHONE_7940: Phone = Phone::CP_7940G;

/// How long a phone may take from its lease to a 200 OK for its REGISTER. The firmware
/// retries a refused registration; so does the test phone, every [`REGISTER_EVERY`].
const REGISTER_TIMEOUT: Duration = Duration::from_secs(20);
const REGISTER_EVERY: Duration = Duration::from_millis(500);
/// Bound for one SIP exchange (a call, a NOTIFY to arrive).
const SIP_TIMEOUT: Duration = Duration::from_secs(10);

/// What a phone read from its files: where to register, as whom, over what.
#[derive(Debug, Clone)]
struct LineConfig {
    registrar: String,
    port: u16,
    transport: Transport,
    user: String,
    auth_name: String,
    password: String,
    /// `messageWaitingLampPolicy` of line 1 (XML firmware only).
    lamp_policy: Option<String>,
}

#[test]
fn provisioned_phones_register_call_and_get_mwi_on_real_asterisk() {
    let test = "provisioned_phones_register_call_and_get_mwi_on_real_asterisk";
    if let Some(reason) = missing_asterisk() {
        skip_or_fail(test, &reason);
        return;
    }
    let chroot = asterisk_chroot().expect("checked by missing_asterisk");
    let phones = [PHONE_7941, PHONE_7965, PHONE_7940];
    let programs: Vec<&str> = PROGRAMS.iter().chain(ASTERISK_PROGRAMS).copied().collect();
    let Some(mut lab) = Lab::start_lan(test, &programs, &phones) else {
        return;
    };
    let started = Instant::now();
    lab.start_dnsmasq(DnsmasqMode::DhcpAndTftp);

    // The admin's one-time set-up (README, "On the PBX"): an empty include that Asterisk's
    // group may read, `#include`d from pjsip.conf. The daemon must keep it that way across
    // every rewrite (field-evidence.md §2: losing the group breaks the whole pjsip.conf).
    let etc = Asterisk::etc_dir_in(&lab);
    fs::create_dir_all(&etc).expect("create /etc/asterisk");
    let include = etc.join("pjsip.cisco-autoprov.conf");
    fs::write(&include, "").expect("create the include");
    std::os::unix::fs::chown(&include, Some(0), Some(ASTERISK_UID)).expect("chgrp asterisk");
    fs::set_permissions(&include, fs::Permissions::from_mode(0o640)).expect("chmod 640");
    let asterisk_config = AsteriskConfig {
        bind: lab.router_ip(),
        extensions_conf: DIALPLAN.to_string(),
        pjsip_extra: "#include pjsip.cisco-autoprov.conf\n".to_string(),
        voicemail_conf: voicemail_conf(),
    };
    let asterisk = Asterisk::start(&mut lab, &asterisk_config);
    assert_eq!(asterisk.etc_dir(), etc);
    eprintln!(
        "{test}: chroot {}, asterisk up after {:?} ({:?} of it asterisk's own start)",
        chroot.display(),
        started.elapsed(),
        asterisk.startup_time()
    );
    let config = write_config(&lab, &include, &asterisk.rx_script());
    let daemon = lab.start_daemon(&config);
    wait_until(
        "the daemon rewrote the include",
        Duration::from_secs(5),
        || fs::read_to_string(&include).is_ok_and(|text| text.contains("No phones yet")),
    );
    assert_pbx_readable(&include);

    // Each phone boots as it would when plugged in: DHCP, its files in the firmware's order,
    // then REGISTER (401, then 200 with the secret from its own file), retried like the
    // firmware until the PBX knows it. Then the next phone; all three stay registered.
    let mut booted = Vec::new();
    let mut sip_phones: Vec<SipPhone> = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        let ns = Ns::Lan(i);
        let dhcp = lab.run_udhcpc_in(ns);
        dhcp.assert_success();
        let leased_at = dhcp.exited_at;
        let ip = lab.udhcpc_bound_env_in(ns)["ip"].clone();
        let line = fetch_config_like_the_firmware(&lab, ns, phone);
        let model = &phone.vendor_class[phone.vendor_class.len() - 6..];
        let sip = SipPhone::start(PhoneSip {
            netns: lab.ns_name(ns).to_string(),
            local_ip: ip.parse().expect("leased address"),
            registrar: line.registrar.parse().expect("registrar is an address"),
            registrar_port: line.port,
            transport: line.transport,
            user: line.user.clone(),
            auth_name: line.auth_name.clone(),
            password: line.password.clone(),
            listen_port: 5060,
            user_agent: format!("Cisco-CP{model}/9.4.2"),
        })
        .unwrap_or_else(|err| panic!("start the SIP phone of {}: {err}", phone.hostname));
        let (statuses, _) = sip
            .register_until_ok(REGISTER_EVERY, REGISTER_TIMEOUT)
            .unwrap_or_else(|err| {
                panic!(
                    "{} ({}) did not register: {err}\n{}",
                    phone.hostname,
                    line.user,
                    asterisk.rx(&lab, "pjsip show endpoints")
                )
            });
        assert_eq!(statuses, [401, 200], "{}", phone.hostname);
        eprintln!(
            "{test}: {} ({:?}, extension {}) registered {:?} after its lease",
            phone.hostname,
            line.transport,
            line.user,
            leased_at.elapsed()
        );
        booted.push((ns, *phone, ip, line));
        sip_phones.push(sip);
    }
    let contacts = asterisk.rx(&lab, "pjsip show contacts");
    for (_, _, ip, line) in &booted {
        assert!(
            contacts.contains(&format!("{}/sip:{}@{ip}", line.user, line.user)),
            "contact of {} at {ip} missing:\n{contacts}",
            line.user
        );
    }

    // 2. Qualify: Asterisk's OPTIONS reach every phone where it listens, and are answered.
    for (sip, (_, phone, _, line)) in sip_phones.iter().zip(&booted) {
        let options = sip
            .wait_for_request("OPTIONS", SIP_TIMEOUT)
            .unwrap_or_else(|| panic!("{}: no qualify OPTIONS", phone.hostname));
        assert_eq!(
            options.arrival,
            arrival_for(line.transport),
            "{}",
            phone.hostname
        );
    }
    wait_until("every contact is Avail", SIP_TIMEOUT, || {
        let contacts = asterisk.rx(&lab, "pjsip show contacts");
        booted.iter().all(|(_, _, _, line)| {
            contacts
                .lines()
                .any(|row| row.contains(&format!("{}/sip:", line.user)) && row.contains("Avail"))
        })
    });

    // 3. A wrong password is refused (a second phone process on another port, same line).
    let (_, _, ip_7940, line_7940) = &booted[2];
    let impostor = SipPhone::start(PhoneSip {
        netns: lab.ns_name(Ns::Lan(2)).to_string(),
        local_ip: ip_7940.parse().unwrap(),
        registrar: line_7940.registrar.parse().unwrap(),
        registrar_port: line_7940.port,
        transport: Transport::Udp,
        user: line_7940.user.clone(),
        auth_name: line_7940.auth_name.clone(),
        password: format!("{}x", line_7940.password),
        listen_port: 5070,
        user_agent: "Cisco-CP7940G/8.0".to_string(),
    })
    .expect("start the impostor");
    let refused = impostor.register(SIP_TIMEOUT).expect("an answer");
    assert!(
        refused.first() == Some(&401) && refused.last() != Some(&200),
        "a wrong password got {refused:?}"
    );
    drop(impostor);

    // 4. Calls: 7941 → 7965 (TCP to TCP), 7965 → 7940 (to the UDP phone's port 5060).
    for (caller, callee) in [(0, 1), (1, 2)] {
        let target = &booted[callee].3.user;
        let statuses = sip_phones[caller]
            .call(target, Duration::from_millis(300), SIP_TIMEOUT)
            .unwrap_or_else(|err| panic!("call {caller} -> {target}: {err}"));
        assert!(statuses.contains(&180), "no ringing: {statuses:?}");
        assert!(statuses.contains(&200), "not answered: {statuses:?}");
        let invite = sip_phones[callee]
            .wait_for_request("INVITE", SIP_TIMEOUT)
            .expect("the INVITE reached the called phone");
        assert_eq!(invite.arrival, arrival_for(booted[callee].3.transport));
        sip_phones[callee]
            .wait_for_request("BYE", SIP_TIMEOUT)
            .expect("the hang-up reached the called phone");
    }

    // 5. Message waiting: a message lands in two mailboxes, Asterisk re-counts them, the
    // NOTIFY reaches each phone where it listens; the XML phone's file lights the lamp.
    for index in [0, 2] {
        let line = &booted[index].3;
        asterisk.leave_voicemail("default", &line.user);
        let reply = asterisk.ami(
            &lab,
            &[
                ("Action", "VoicemailRefresh"),
                ("Context", "default"),
                ("Mailbox", line.user.as_str()),
            ],
        );
        assert!(reply.contains("Success"), "VoicemailRefresh: {reply}");
        let notify = wait_for_mwi(&sip_phones[index]).unwrap_or_else(|| {
            panic!(
                "{}: no MWI NOTIFY; received {:?}",
                line.user,
                sip_phones[index].received()
            )
        });
        assert_eq!(notify.arrival, arrival_for(line.transport));
    }
    assert_eq!(
        booted[0].3.lamp_policy.as_deref(),
        Some("3"),
        "messageWaitingLampPolicy 3 lights the lamp (usecallmanager.nz; zencoffee-7965)"
    );

    // 6. Nothing went to a UDP phone's sending port: every answer came to 5060.
    assert!(
        sip_phones[2].stray().is_empty(),
        "answers to the ephemeral port: {:?}",
        sip_phones[2].stray()
    );

    // 7. The include stayed Asterisk's across every rewrite, and the reloads worked.
    assert_pbx_readable(&include);
    let log = fs::read_to_string(lab.path("daemon.log")).unwrap_or_default();
    let written = log.matches("pbx file written").count();
    let reloads = log.matches("reload command finished").count();
    assert!(written >= 2, "include written {written} times:\n{log}");
    assert!(
        (1..=written).contains(&reloads),
        "{reloads} reloads for {written} writes"
    );
    assert!(
        !log.contains("reload command failed") && !log.contains("cannot run the reload"),
        "{log}"
    );
    let asterisk_log = fs::read_to_string(asterisk.log_path()).unwrap_or_default();
    assert!(
        !asterisk_log.contains("Permission denied"),
        "asterisk could not read a file:\n{asterisk_log}"
    );
    eprintln!(
        "{test}: {written} include writes, {reloads} reloads, {:?} in all",
        started.elapsed()
    );
    drop(sip_phones);
    lab.stop(daemon);
}

/// Where a request to a phone on `transport` must arrive.
fn arrival_for(transport: Transport) -> Arrival {
    match transport {
        Transport::Udp => Arrival::Listen,
        Transport::Tcp => Arrival::Connection,
    }
}

/// Waits for a NOTIFY of `Event: message-summary` saying messages are waiting.
fn wait_for_mwi(phone: &SipPhone) -> Option<support::sipphone::Received> {
    let deadline = Instant::now() + SIP_TIMEOUT;
    while Instant::now() < deadline {
        let found = phone.received().into_iter().find(|request| {
            request.method == "NOTIFY"
                && request
                    .header("Event")
                    .is_some_and(|event| event.contains("message-summary"))
                && request.body.contains("Messages-Waiting: yes")
        });
        if found.is_some() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The phone asks for its files over TFTP in the firmware's order and reads its line from
/// them the way the firmware does.
///
/// - XML firmware (7941, 7965): the trust lists (absent here), then `SEP<MAC>.cnf.xml`:
///   registrar in `processNodeName` and `sipPort`, transport in `transportLayerProtocol`,
///   line 1 in `sipLines/line[@button=1]` (`name`, `authName`, `authPassword`).
/// - SIP firmware (7940): as in the teo capture (`real-configs/teo-lkml-7960-as-fetched`):
///   the trust list, `SEP<MAC>.cnf.xml` (which an SCCP load would read), `SIPDefault.cnf`,
///   then `SIP<MAC>.cnf`, whose keys override the defaults: `proxy1_address`,
///   `proxy1_port`, `line1_name`, `line1_authname`, `line1_password`. Always UDP.
fn fetch_config_like_the_firmware(lab: &Lab, ns: Ns, phone: &Phone) -> LineConfig {
    let mac = phone.hostname.trim_start_matches("SEP");
    let ctl = lab.tftp_get_in(ns, &format!("CTLSEP{mac}.tlv"));
    assert!(!ctl.ok(), "no trust list in this lab: {ctl}");
    let sep = lab.tftp_get_in(ns, &format!("SEP{mac}.cnf.xml"));
    let sep_text = String::from_utf8_lossy(sep.bytes()).into_owned();
    if phone.vendor_class.ends_with("7940G") {
        let defaults = lab.tftp_get_in(ns, "SIPDefault.cnf");
        let own = lab.tftp_get_in(ns, &format!("SIP{mac}.cnf"));
        let mut keys = cnf_keys(&String::from_utf8_lossy(defaults.bytes()));
        keys.extend(cnf_keys(&String::from_utf8_lossy(own.bytes())));
        let key = |name: &str| {
            keys.get(name)
                .cloned()
                .unwrap_or_else(|| panic!("{name} missing from SIPDefault.cnf/SIP{mac}.cnf"))
        };
        return LineConfig {
            registrar: key("proxy1_address"),
            port: key("proxy1_port").parse().expect("proxy1_port is a number"),
            transport: Transport::Udp,
            user: key("line1_name"),
            auth_name: key("line1_authname"),
            password: key("line1_password"),
            lamp_policy: None,
        };
    }
    let doc = roxmltree::Document::parse(&sep_text).expect("SEP file is well-formed XML");
    let text = |node: roxmltree::Node, tag: &str| {
        node.descendants()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .unwrap_or_else(|| panic!("<{tag}> missing from SEP{mac}.cnf.xml"))
            .to_string()
    };
    let root = doc.root_element();
    let line = root
        .descendants()
        .find(|n| n.has_tag_name("line") && n.attribute("button") == Some("1"))
        .expect("line button 1");
    let transport = match text(root, "transportLayerProtocol").as_str() {
        "1" => Transport::Tcp,
        "2" => Transport::Udp,
        other => panic!("transportLayerProtocol {other}: this phone does not do it"),
    };
    LineConfig {
        registrar: text(root, "processNodeName"),
        port: text(root, "sipPort").parse().expect("sipPort is a number"),
        transport,
        user: text(line, "name"),
        auth_name: text(line, "authName"),
        password: text(line, "authPassword"),
        lamp_policy: Some(text(line, "messageWaitingLampPolicy")),
    }
}

/// `key: "value"` lines of the 7940/7960 SIP firmware (quotes optional, `#` comments).
fn cnf_keys(text: &str) -> std::collections::HashMap<String, String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| {
            let value = value.split(';').next().unwrap_or_default().trim();
            (key.trim().to_string(), value.trim_matches('"').to_string())
        })
        .collect()
}

/// The include exists as Asterisk's: group `asterisk` (the chroot's fixed id), 0640.
#[track_caller]
fn assert_pbx_readable(include: &Path) {
    let meta = fs::metadata(include).expect("the include exists");
    assert_eq!(
        (meta.gid(), meta.mode() & 0o777),
        (ASTERISK_UID, 0o640),
        "{} must stay readable by asterisk's group",
        include.display()
    );
}

/// Every call from the phones' context goes to the dialled extension's endpoint.
const DIALPLAN: &str = "[general]\nstatic=yes\nwriteprotect=yes\n\n\
                        [from-internal]\n\
                        exten => _X.,1,Dial(PJSIP/${EXTEN},20)\n \
                        same => n,Hangup()\n";

/// A mailbox for each extension the range can hand out first; polled every second.
fn voicemail_conf() -> String {
    let mut text =
        String::from("[general]\nformat=wav\npollmailboxes=yes\npollfreq=1\n\n[default]\n");
    for extension in 2000..2010 {
        text.push_str(&format!("{extension} => 1234,Phone {extension}\n"));
    }
    text
}

/// The daemon's config: dnsmasq's lease file and log, range extensions, the PJSIP include
/// in Asterisk's config directory (its group is the one the admin gave it: no `[pbx] group`
/// here, so this also proves the group is kept), and the reload through `asterisk -rx` run
/// in Asterisk's chroot.
fn write_config(lab: &Lab, include: &Path, rx_script: &Path) -> PathBuf {
    let config = format!(
        "tftp_root = \"{tftp_root}\"\n\
         state_dir = \"{state_dir}\"\n\
         \n\
         [pbx]\n\
         host = \"{router}\"\n\
         port = 5060\n\
         pjsip_snippet = \"{include}\"\n\
         reload_command = [\"{rx}\", \"module reload res_pjsip.so\"]\n\
         reload_interval_s = 1\n\
         \n\
         [dhcp]\n\
         tftp_server = \"{router}\"\n\
         \n\
         [provision]\n\
         extensions = \"2000-2099\"\n\
         \n\
         [[source]]\nkind = \"dnsmasq-leases\"\npath = \"{leases}\"\n\
         \n\
         [[source]]\nkind = \"log\"\npath = \"{log}\"\n",
        tftp_root = lab.tftp_root().display(),
        state_dir = lab.path("state").display(),
        router = lab.router_ip(),
        include = include.display(),
        rx = rx_script.display(),
        leases = lab.path("dnsmasq.leases").display(),
        log = lab.path("dnsmasq.log").display(),
    );
    let path = lab.path("config.toml");
    fs::write(&path, config).expect("write config.toml");
    path
}

/// The evidence behind the endpoint settings, replayed on the real Asterisk: with Asterisk's
/// `force_rport` default a UDP phone that behaves like the firmware never sees its 401 (it
/// goes to the ephemeral port the REGISTER came from: drachtio-server issue 374,
/// field-evidence.md §1), and a TCP phone registered without `rewrite_contact` is asked for
/// OPTIONS on a new connection to port 5060 it never accepts, so Asterisk calls it
/// unreachable. The daemon's endpoints (`pbx::pjsip`, proven in the test above) set both.
#[test]
fn asterisk_defaults_strand_a_phone_that_behaves_like_the_firmware() {
    let test = "asterisk_defaults_strand_a_phone_that_behaves_like_the_firmware";
    if let Some(reason) = missing_asterisk() {
        skip_or_fail(test, &reason);
        return;
    }
    let Some(mut lab) = Lab::start(test, ASTERISK_PROGRAMS) else {
        return;
    };
    lab.add_phone_address(41);
    let etc = Asterisk::etc_dir_in(&lab);
    fs::create_dir_all(&etc).expect("create /etc/asterisk");
    let include = etc.join("pjsip.cisco-autoprov.conf");
    // 3000: Asterisk's own defaults (force_rport=yes). 3001: TCP without rewrite_contact.
    let endpoints = "[3000]\ntype=endpoint\ncontext=from-internal\ndisallow=all\nallow=ulaw\n\
                     auth=3000\naors=3000\n\n[3000]\ntype=auth\nusername=3000\npassword=pw3000\n\n\
                     [3000]\ntype=aor\nmax_contacts=1\n\n\
                     [3001]\ntype=endpoint\ntransport=transport-tcp\ncontext=from-internal\n\
                     disallow=all\nallow=ulaw\nforce_rport=no\nrewrite_contact=no\n\
                     auth=3001\naors=3001\n\n[3001]\ntype=auth\nusername=3001\npassword=pw3001\n\n\
                     [3001]\ntype=aor\nmax_contacts=1\nqualify_frequency=60\n";
    fs::write(&include, endpoints).expect("write the include");
    std::os::unix::fs::chown(&include, Some(0), Some(ASTERISK_UID)).expect("chgrp asterisk");
    fs::set_permissions(&include, fs::Permissions::from_mode(0o640)).expect("chmod 640");
    let config = AsteriskConfig {
        bind: lab.router_ip(),
        extensions_conf: DIALPLAN.to_string(),
        pjsip_extra: "#include pjsip.cisco-autoprov.conf\n".to_string(),
        voicemail_conf: voicemail_conf(),
    };
    let asterisk = Asterisk::start(&mut lab, &config);
    let phone = |user: &str, transport: Transport| {
        SipPhone::start(PhoneSip {
            netns: lab.ns_name(Ns::Phone).to_string(),
            local_ip: lab.ip(41),
            registrar: lab.router_ip(),
            registrar_port: 5060,
            transport,
            user: user.to_string(),
            auth_name: user.to_string(),
            password: format!("pw{user}"),
            listen_port: 5060,
            user_agent: "Cisco-CP7940G/8.0".to_string(),
        })
        .expect("start the phone")
    };

    let udp = phone("3000", Transport::Udp);
    let answer = udp.register(Duration::from_secs(3));
    assert!(
        answer.is_err(),
        "the 401 must not reach port 5060: {answer:?}"
    );
    assert!(
        udp.stray()
            .iter()
            .any(|text| text.starts_with("SIP/2.0 401")),
        "the 401 went to the ephemeral port: {:?}",
        udp.stray()
    );
    drop(udp);

    let tcp = phone("3001", Transport::Tcp);
    let statuses = tcp
        .register(SIP_TIMEOUT)
        .expect("an answer over the connection");
    assert_eq!(statuses, [401, 200]);
    wait_until("asterisk gave up on the contact", SIP_TIMEOUT, || {
        asterisk
            .rx(&lab, "pjsip show contacts")
            .lines()
            .any(|row| row.contains("3001/sip:") && row.contains("Unavail"))
    });
    assert!(
        tcp.received()
            .iter()
            .all(|request| request.method != "OPTIONS"),
        "no OPTIONS over the phone's own connection without rewrite_contact"
    );
}
