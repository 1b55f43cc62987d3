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
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use support::asterisk::{
    asterisk_chroot, missing_asterisk, Asterisk, ASTERISK_PROGRAMS, ASTERISK_UID,
};
use support::checks::{phone_status, put_firmware, text_of, SIP41_IMAGES};
use support::netns::{skip_or_fail, wait_until, Lab, Ns, Phone};
use support::pbx_site::{
    assert_pbx_readable, asterisk_config, fetch_config_like_the_firmware, PbxSite, PHONE_7965,
};
use support::sipphone::{Arrival, PhoneSip, SipPhone, Transport};

/// The three phones: a 7941 and a 7965 (XML firmware, TCP), a 7940 (SIP firmware, UDP).
const PHONE_7941: Phone = Phone::CP_7941G;
const PHONE_7940: Phone = Phone::CP_7940G;

/// Bound for one SIP exchange (a call, a NOTIFY to arrive).
const SIP_TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn provisioned_phones_register_call_and_get_mwi_on_real_asterisk() {
    let test = "provisioned_phones_register_call_and_get_mwi_on_real_asterisk";
    let started = Instant::now();
    let phones = [PHONE_7941, PHONE_7965, PHONE_7940];
    let Some(mut site) = PbxSite::start(test, &phones, 1) else {
        return;
    };
    eprintln!(
        "{test}: chroot {}, asterisk up after {:?} ({:?} of it asterisk's own start)",
        asterisk_chroot().unwrap_or_default().display(),
        started.elapsed(),
        site.asterisk.startup_time()
    );

    // 1. Each phone boots as it would when plugged in (DHCP, its files in the firmware's
    // order, REGISTER retried until the PBX knows it), then the next; all three stay
    // registered. Registration is 401, then 200 with the secret from the phone's own file.
    let mut booted = Vec::new();
    for i in 0..phones.len() {
        let phone = site.boot(i);
        assert_eq!(phone.statuses, [401, 200], "{}", phone.phone.hostname);
        eprintln!(
            "{test}: {} ({:?}, extension {}) registered {:?} after its lease",
            phone.phone.hostname, phone.line.transport, phone.line.user, phone.lease_to_registered
        );
        booted.push(phone);
    }
    let (lab, asterisk) = (&site.lab, &site.asterisk);
    let contacts = asterisk.rx(lab, "pjsip show contacts");
    for phone in &booted {
        let (user, ip) = (&phone.line.user, &phone.ip);
        assert!(
            contacts.contains(&format!("{user}/sip:{user}@{ip}")),
            "contact of {user} at {ip} missing:\n{contacts}"
        );
    }

    // 2. Qualify: Asterisk's OPTIONS reach every phone where it listens, and are answered.
    for phone in &booted {
        let options = phone
            .sip
            .wait_for_request("OPTIONS", SIP_TIMEOUT)
            .unwrap_or_else(|| panic!("{}: no qualify OPTIONS", phone.phone.hostname));
        assert_eq!(
            options.arrival,
            arrival_for(phone.line.transport),
            "{}",
            phone.phone.hostname
        );
    }
    wait_until("every contact is Avail", SIP_TIMEOUT, || {
        let contacts = asterisk.rx(lab, "pjsip show contacts");
        booted.iter().all(|phone| {
            contacts.lines().any(|row| {
                row.contains(&format!("{}/sip:", phone.line.user)) && row.contains("Avail")
            })
        })
    });

    // 3. A wrong password is refused (a second phone process on another port, same line).
    let (ip_7940, line_7940) = (&booted[2].ip, &booted[2].line);
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
        let target = &booted[callee].line.user;
        let statuses = booted[caller]
            .sip
            .call(target, Duration::from_millis(300), SIP_TIMEOUT)
            .unwrap_or_else(|err| panic!("call {caller} -> {target}: {err}"));
        assert!(statuses.contains(&180), "no ringing: {statuses:?}");
        assert!(statuses.contains(&200), "not answered: {statuses:?}");
        let invite = booted[callee]
            .sip
            .wait_for_request("INVITE", SIP_TIMEOUT)
            .expect("the INVITE reached the called phone");
        assert_eq!(invite.arrival, arrival_for(booted[callee].line.transport));
        booted[callee]
            .sip
            .wait_for_request("BYE", SIP_TIMEOUT)
            .expect("the hang-up reached the called phone");
    }

    // 5. Message waiting: a message lands in two mailboxes, Asterisk re-counts them, the
    // NOTIFY reaches each phone where it listens; the XML phone's file lights the lamp.
    for index in [0, 2] {
        let line = &booted[index].line;
        asterisk.leave_voicemail("default", &line.user);
        let reply = asterisk.ami(
            lab,
            &[
                ("Action", "VoicemailRefresh"),
                ("Context", "default"),
                ("Mailbox", line.user.as_str()),
            ],
        );
        assert!(reply.contains("Success"), "VoicemailRefresh: {reply}");
        let notify = wait_for_mwi(&booted[index].sip).unwrap_or_else(|| {
            panic!(
                "{}: no MWI NOTIFY; received {:?}",
                line.user,
                booted[index].sip.received()
            )
        });
        assert_eq!(notify.arrival, arrival_for(line.transport));
    }
    assert_eq!(
        booted[0].line.lamp_policy.as_deref(),
        Some("3"),
        "messageWaitingLampPolicy 3 lights the lamp (usecallmanager.nz; zencoffee-7965)"
    );

    // 6. Nothing went to a UDP phone's sending port: every answer came to 5060.
    assert!(
        booted[2].sip.stray().is_empty(),
        "answers to the ephemeral port: {:?}",
        booted[2].sip.stray()
    );

    // 7. The include stayed Asterisk's across every rewrite, and the reloads worked.
    assert_pbx_readable(&site.include);
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
    drop(booted);
    site.lab.stop(site.daemon);
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
    let config = asterisk_config(&lab);
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

/// Issue 12, item 4: an SCCP 7941 whose lease carries no vendor class and that never asks for
/// `term41.default.loads` still converts, then registers. Nothing names its model, so the
/// daemon writes it no `SEP<MAC>.cnf.xml`; the phone, finding none, reads
/// `XMLDefault.cnf.xml` (Cisco's admin guides, field-evidence.md §3), takes the load named for
/// its device type (115, the 7941's: `real-configs/chan-sccp-xmldefault`), fetches it and
/// reboots into SIP. The load it asked for named its family, so by then its SEP file exists,
/// and it registers with what it reads there.
#[test]
fn an_sccp_7941_without_vendor_class_converts_and_registers() {
    let test = "an_sccp_7941_without_vendor_class_converts_and_registers";
    const SCCP_7941: Phone = Phone {
        mac: "00:1b:0c:18:bd:c7",
        vendor_class: "",
        hostname: "SEP001B0C18BDC7",
    };
    const DEVICE_TYPE_7941: &str = "115";
    const LOAD: &str = "SIP41.9-4-2SR3-1S";
    let Some(mut site) = PbxSite::start(test, &[SCCP_7941], 1) else {
        return;
    };
    let images = SIP41_IMAGES;
    put_firmware(&site.lab, &format!("{LOAD}.loads"), &images);
    let xml_default = site.lab.tftp_root().join("XMLDefault.cnf.xml");
    wait_until("XMLDefault names the 7941's load", SIP_TIMEOUT, || {
        fs::read_to_string(&xml_default).is_ok_and(|text| text.contains(LOAD))
    });

    // Boot on SCCP: no vendor class in the lease, no term file asked for.
    let ns = Ns::Phone;
    site.lab.run_udhcpc_in(ns).assert_success();
    let dnsmasq_log = fs::read_to_string(site.lab.path("dnsmasq.log")).unwrap_or_default();
    assert!(
        !dnsmasq_log.contains("vendor class"),
        "the lease must carry no vendor class:\n{dnsmasq_log}"
    );
    let sep = "SEP001B0C18BDC7.cnf.xml";
    let first = site.lab.tftp_get_in(ns, sep);
    assert!(
        !first.ok(),
        "no SEP file while the model is unknown: {first}"
    );
    let default = site.lab.tftp_get_in(ns, "XMLDefault.cnf.xml");
    let text = String::from_utf8_lossy(default.bytes()).into_owned();
    let doc = roxmltree::Document::parse(&text).expect("XMLDefault is well-formed");
    let element = format!("loadInformation{DEVICE_TYPE_7941}");
    let load = doc
        .descendants()
        .find(|node| node.has_tag_name(element.as_str()))
        .and_then(|node| node.text())
        .unwrap_or_else(|| panic!("no <{element}> in XMLDefault.cnf.xml:\n{text}"))
        .to_string();
    assert_eq!(load, LOAD);
    let loads = site.lab.tftp_get_in(ns, &format!("{load}.loads"));
    // A .loads file is signature bytes, then the image names.
    let body = String::from_utf8_lossy(loads.bytes()).into_owned();
    let named: Vec<&str> = body
        .split(|c: char| !c.is_ascii_graphic())
        .filter(|token| token.ends_with(".sbn"))
        .collect();
    assert_eq!(named.len(), images.len(), "{body:?}");
    for image in named {
        assert!(site.lab.tftp_get_in(ns, image).ok(), "image {image}");
    }

    // Rebooted into SIP: it asks for its own file again, and now it is there.
    let line = fetch_config_like_the_firmware(&site.lab, ns, &SCCP_7941);
    assert_eq!(line.transport, Transport::Tcp, "the 7941's file says TCP");
    let status = site.lab.daemon_status(&site.lab.path("config.toml"));
    assert_eq!(
        text_of(&phone_status(&status, "001B0C18BDC7")["model"]),
        "7941"
    );
    let ip = site.lab.udhcpc_bound_env_in(ns)["ip"].clone();
    let sip = SipPhone::start(PhoneSip {
        netns: site.lab.ns_name(ns).to_string(),
        local_ip: ip.parse().unwrap(),
        registrar: line.registrar.parse().unwrap(),
        registrar_port: line.port,
        transport: line.transport,
        user: line.user.clone(),
        auth_name: line.auth_name.clone(),
        password: line.password.clone(),
        listen_port: 5060,
        user_agent: "Cisco-CP7941G/9.4.2".to_string(),
    })
    .expect("start the phone");
    let (statuses, _) = sip
        .register_until_ok(Duration::from_millis(500), SIP_TIMEOUT)
        .expect("the converted phone registers");
    assert_eq!(statuses, [401, 200]);
}

/// Least privilege on the PBX side (field-evidence.md §4: one TFTP request returns a
/// phone's secret, and SIP credentials are toll-fraud money). A phone that got its
/// credentials on a DHCP lease alone sits in the restricted context the daemon's dialplan
/// include defines: it calls the site's extensions but not the "outside line" (`0…`, refused
/// with 403), until `cisco-autoprov approve` moves its endpoint to `from-internal`. Then, with
/// `rotate_secret_on_leak`, another phone on the LAN fetches its config: the daemon gives it a
/// new secret in its file and in the PJSIP include together; after its restart the phone
/// registers with the new one, and the leaked one is refused.
#[test]
fn unapproved_phones_are_restricted_and_a_leak_rotates_the_secret() {
    let test = "unapproved_phones_are_restricted_and_a_leak_rotates_the_secret";
    let started = Instant::now();
    let phones = [PHONE_7941, PHONE_7940];
    let Some(mut site) = PbxSite::start_full(test, &phones, 1, &[], "rotate_secret_on_leak = true")
    else {
        return;
    };
    let first = site.boot(0);
    let second = site.boot(1);
    let endpoint_context = |site: &PbxSite, extension: &str| {
        let text = site
            .asterisk
            .rx(&site.lab, &format!("pjsip show endpoint {extension}"));
        text.lines()
            .find(|line| line.trim_start().starts_with("context "))
            .map(|line| {
                line.rsplit(':')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        endpoint_context(&site, &first.line.user),
        "cisco-autoprov-unapproved"
    );

    // Not approved: the other phone rings, the outside line is refused.
    let internal = first
        .sip
        .call(&second.line.user, Duration::from_millis(300), SIP_TIMEOUT)
        .expect("internal call");
    assert!(internal.contains(&200), "internal call: {internal:?}");
    let outside = first
        .sip
        .call("0123456789", Duration::from_millis(300), SIP_TIMEOUT)
        .expect("outside call attempt");
    assert!(
        outside.contains(&403) && !outside.contains(&200),
        "outside line from an unapproved phone: {outside:?}"
    );
    let asterisk_log = fs::read_to_string(site.asterisk.log_path()).unwrap_or_default();
    assert!(
        asterisk_log.contains("is not approved yet: 0123456789 refused"),
        "asterisk's log names the refusal"
    );

    // Approved: its endpoint moves to from-internal, the outside line answers.
    let mac = PHONE_7941.hostname.trim_start_matches("SEP");
    let config = site.lab.path("config.toml");
    let approve = std::process::Command::new(env!("CARGO_BIN_EXE_cisco-autoprov"))
        .args(["approve", mac, "-c"])
        .arg(&config)
        .output()
        .expect("run approve");
    assert!(approve.status.success(), "{approve:?}");
    wait_until("the endpoint moved to from-internal", SIP_TIMEOUT, || {
        endpoint_context(&site, &first.line.user) == "from-internal"
    });
    let outside = first
        .sip
        .call("0123456789", Duration::from_millis(300), SIP_TIMEOUT)
        .expect("outside call");
    assert!(
        outside.contains(&200),
        "outside line once approved: {outside:?}"
    );

    // A leak: the 7940 fetches the 7941's file. New secret, in both files.
    let old_password = first.line.password.clone();
    let sep = format!("SEP{mac}.cnf.xml");
    let leaked = site.lab.tftp_get_in(Ns::Lan(1), &sep);
    assert!(
        String::from_utf8_lossy(leaked.bytes()).contains(&old_password),
        "the fetch got the secret"
    );
    wait_until("the include carries a new secret", SIP_TIMEOUT, || {
        let include = fs::read_to_string(&site.include).unwrap_or_default();
        let file = fs::read_to_string(site.lab.tftp_root().join(&sep)).unwrap_or_default();
        !include.contains(&format!("password={old_password}\n")) && !file.contains(&old_password)
    });
    let log = site.daemon_log();
    assert!(
        log.contains("sip secret rotated after a leak alert"),
        "{log}"
    );
    assert!(!log.contains(&old_password), "a secret reached the log");
    drop(first);

    // The phone restarts, reads its new file and registers; the leaked secret is refused.
    let fetched = site.lease_and_fetch(0);
    assert_ne!(fetched.line.password, old_password);
    let (renewed, statuses) = fetched.register().expect("registers with the new secret");
    assert_eq!(statuses.last(), Some(&200));
    let impostor = SipPhone::start(PhoneSip {
        netns: fetched.netns.clone(),
        local_ip: fetched.ip.parse().unwrap(),
        registrar: fetched.line.registrar.parse().unwrap(),
        registrar_port: fetched.line.port,
        transport: fetched.line.transport,
        user: fetched.line.user.clone(),
        auth_name: fetched.line.auth_name.clone(),
        password: old_password,
        listen_port: 5070,
        user_agent: "Cisco-CP7941G/9.4".to_string(),
    })
    .expect("start the impostor");
    let refused = impostor.register(SIP_TIMEOUT).expect("an answer");
    assert!(
        refused.last() != Some(&200),
        "the leaked secret still registers: {refused:?}"
    );
    drop((impostor, renewed, second));
    eprintln!("{test}: {:?}", started.elapsed());
    site.lab.stop(site.daemon);
}
