//! Engine scenarios: a config, a sequence of observations, and what must follow.

use std::path::Path;

use super::*;
use crate::event::LeaseSeen;

const PHONE: &str = "001B0C18BDC1";
const PHONE2: &str = "001B0C18BDC2";
const VCI_7941: &str = "Cisco Systems, Inc. IP Phone CP-7941G";

fn config(extra: &str) -> Config {
    // `[provision]` lines in `extra` join the table this helper opens.
    let (provision, rest) = match extra.strip_prefix("[provision]\n") {
        Some(after) => match after.find("\n[") {
            Some(end) => (&after[..=end], &after[end + 1..]),
            None => (after, ""),
        },
        None => ("", extra),
    };
    let range = if provision.contains("extensions") {
        ""
    } else {
        "extensions = \"2000-2002\"\n"
    };
    let text = format!("[pbx]\nhost = \"198.18.0.10\"\n[provision]\n{range}{provision}{rest}");
    crate::config::parse(&text, "test.toml", Path::new("/")).unwrap()
}

/// An engine where PHONE and PHONE2 got leases (198.18.0.151 and .152) with their `SEP`
/// hostnames.
fn two_phones_leased(config: &Config) -> Engine {
    let mut engine = Engine::default();
    run(
        &mut engine,
        config,
        &[
            lease("00:1b:0c:18:bd:c1", 151, Some("SEP001B0C18BDC1"), None),
            lease("00:1b:0c:18:bd:c2", 152, Some("SEP001B0C18BDC2"), None),
        ],
    );
    engine
}

fn mac(text: &str) -> Mac {
    text.parse().unwrap()
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, last)
}

fn lease(
    mac_text: &str,
    last: u8,
    hostname: Option<&str>,
    vendor_class: Option<&str>,
) -> Observation {
    Observation::Lease(LeaseSeen {
        mac: mac(mac_text),
        ip: ip(last),
        hostname: hostname.map(str::to_string),
        vendor_class: vendor_class.map(str::to_string),
        time: 100,
    })
}

fn tftp(last: u8, file: &str, outcome: TftpOutcome) -> Observation {
    Observation::Tftp(TftpSeen {
        ip: ip(last),
        file: file.to_string(),
        outcome,
        time: 200,
    })
}

/// Runs observations with secrets `s1`, `s2`, …; returns every action.
fn run(engine: &mut Engine, config: &Config, observations: &[Observation]) -> Vec<Action> {
    let mut n = 0;
    let mut secrets = move || {
        n += 1;
        format!("s{n}")
    };
    observations
        .iter()
        .flat_map(|observation| engine.observe(observation, config, &mut secrets))
        .collect()
}

#[track_caller]
fn check_phone(
    engine: &Engine,
    mac_text: &str,
    extension: &str,
    model: Option<&str>,
    state: PhoneState,
) {
    let phone = engine.phone(mac(mac_text)).expect("phone known");
    assert_eq!(phone.extension.as_deref(), Some(extension), "extension");
    assert_eq!(phone.model.as_deref(), model, "model");
    assert_eq!(phone.state, state, "state");
}

#[test]
fn inventory_phone_from_its_lease() {
    let config = config(
        "[[phone]]\nmac = \"00:1B:0C:18:BD:C1\"\nextension = \"1006\"\nsecret = \"s3cret\"\nlabel = \"Thomas\"\n",
    );
    let mut engine = Engine::default();
    let actions = run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            Some(VCI_7941),
        )],
    );
    assert!(actions.contains(&Action::Provision(mac(PHONE))));
    assert!(actions.contains(&Action::Detected {
        mac: mac(PHONE),
        evidence: "inventory"
    }));
    check_phone(&engine, PHONE, "1006", Some("7941"), PhoneState::Leased);
    let phone = engine.phone(mac(PHONE)).unwrap();
    assert_eq!(phone.secret.as_deref(), Some("s3cret"));
    assert_eq!(phone.label.as_deref(), Some("Thomas"));
    assert_eq!(phone.ip, Some(ip(151)));
}

#[test]
fn pool_phone_from_sep_hostname_then_boot() {
    let config = config("");
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            None,
        )],
    );
    check_phone(&engine, PHONE, "2000", None, PhoneState::Leased);
    assert_eq!(
        engine.phone(mac(PHONE)).unwrap().secret.as_deref(),
        Some("s1")
    );

    let actions = run(
        &mut engine,
        &config,
        &[tftp(151, "term41.default.loads", TftpOutcome::Sent)],
    );
    assert!(actions.contains(&Action::ModelLearned {
        mac: mac(PHONE),
        model: "7941"
    }));
    assert!(
        actions.contains(&Action::Provision(mac(PHONE))),
        "model change re-renders"
    );
    check_phone(
        &engine,
        PHONE,
        "2000",
        Some("7941"),
        PhoneState::LoadingFirmware,
    );

    engine.files_written(
        mac(PHONE),
        ["SEP001B0C18BDC1.cnf.xml".to_string()].into(),
        true,
        150,
    );
    run(
        &mut engine,
        &config,
        &[tftp(151, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::Sent)],
    );
    check_phone(&engine, PHONE, "2000", Some("7941"), PhoneState::Configured);

    // A renewed lease does not move a configured phone back.
    run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            None,
        )],
    );
    check_phone(&engine, PHONE, "2000", Some("7941"), PhoneState::Configured);

    // New contents: it has to fetch them again.
    engine.files_written(
        mac(PHONE),
        ["SEP001B0C18BDC1.cnf.xml".to_string()].into(),
        true,
        300,
    );
    check_phone(
        &engine,
        PHONE,
        "2000",
        Some("7941"),
        PhoneState::FetchingConfig,
    );
}

#[test]
fn not_every_cisco_mac_is_a_phone() {
    let config = config("");
    let mut engine = Engine::default();
    let actions = run(
        &mut engine,
        &config,
        &[
            // A Cisco switch: Cisco OUI, no phone evidence.
            lease("00:1b:0c:00:00:01", 160, Some("Switch"), None),
            // A laptop named like a phone: not a Cisco OUI.
            lease("02:00:00:00:00:01", 161, Some("SEP020000000001"), None),
            // SEP hostname of another MAC.
            lease("00:1b:0c:00:00:02", 162, Some("SEP001B0C18BDC1"), None),
        ],
    );
    assert_eq!(actions, []);
    assert!(engine.phones().is_empty());
}

/// A MAC seen only in TFTP requests: one UDP packet from any host can name it, so by default
/// it waits for `approve` (field-evidence.md §4: a made-up MAC got an extension and secret,
/// and a second request returned them); `tftp_only = "auto"` is the old hands-off path.
#[test]
fn tftp_only_phone_waits_for_approval() {
    let config = config("");
    let mut engine = Engine::default();
    let requests = [
        tftp(41, "term41.default.loads", TftpOutcome::Sent),
        tftp(41, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::NotFound),
    ];
    let actions = run(&mut engine, &config, &requests);
    assert!(
        actions.contains(&Action::Pending(mac(PHONE))),
        "{actions:?}"
    );
    assert!(!actions.contains(&Action::Provision(mac(PHONE))));
    let phone = engine.phone(mac(PHONE)).unwrap();
    assert_eq!(
        (phone.extension.as_ref(), phone.secret.as_ref()),
        (None, None)
    );
    assert_eq!(phone.status_word(config.provision.policy, false), "pending");
    // The admin approves it: credentials, with the evidence logged.
    let actions = engine.decide(
        mac(PHONE),
        Some(Decision::Approved),
        &config,
        &mut || "s1".to_string(),
        300,
    );
    assert!(actions.contains(&Action::CredentialsIssued {
        mac: mac(PHONE),
        evidence: "admin approval"
    }));
    // A lease binding the MAC to its address is evidence enough, without approval.
    let mut engine = Engine::default();
    let actions = run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            41,
            Some("SEP001B0C18BDC1"),
            None,
        )],
    );
    assert!(actions.contains(&Action::CredentialsIssued {
        mac: mac(PHONE),
        evidence: "a dhcp lease binding its mac and address"
    }));
}

/// Real phones still get extensions while made-up MACs flood the TFTP log: the flood only
/// fills the bounded waiting list, never the range.
#[test]
fn a_tftp_flood_does_not_drain_the_range() {
    let config = config("[provision]\nmax_pending = 5\nmax_new_per_minute = 1000\n");
    let mut engine = Engine::default();
    let flood: Vec<Observation> = (0..200u32)
        .map(|n| {
            let [_, _, a, b] = n.to_be_bytes();
            Observation::Tftp(TftpSeen {
                ip: Ipv4Addr::new(198, 18, 1 + a, b),
                file: format!("SEP001B0C{:02X}{:02X}{:02X}.cnf.xml", 0x40, a, b),
                outcome: TftpOutcome::NotFound,
                time: 200,
            })
        })
        .collect();
    run(&mut engine, &config, &flood);
    assert!(engine
        .phones()
        .values()
        .all(|phone| phone.extension.is_none()));
    run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            None,
        )],
    );
    assert_eq!(
        engine.phone(mac(PHONE)).unwrap().extension.as_deref(),
        Some("2000")
    );
}

#[test]
fn tftp_only_phone() {
    let config = config("[provision]\ntftp_only = \"auto\"\n");
    let mut engine = Engine::default();
    let actions = run(
        &mut engine,
        &config,
        &[
            tftp(41, "CTLSEP001B0C18BDC1.tlv", TftpOutcome::NotFound),
            tftp(41, "term41.default.loads", TftpOutcome::Sent),
            tftp(41, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::NotFound),
        ],
    );
    // The trust-list request already names the MAC: the phone is provisioned at once.
    assert_eq!(
        actions[0],
        Action::Detected {
            mac: mac(PHONE),
            evidence: "cisco oui and phone tftp request"
        }
    );
    assert!(actions.contains(&Action::Provision(mac(PHONE))));
    check_phone(
        &engine,
        PHONE,
        "2000",
        Some("7941"),
        PhoneState::FetchingConfig,
    );
    assert_eq!(engine.phone(mac(PHONE)).unwrap().ip, Some(ip(41)));
}

#[test]
fn model_hint_before_the_mac_is_known() {
    let config = config("[provision]\ntftp_only = \"auto\"\n");
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[
            tftp(41, "term06.default.loads", TftpOutcome::Requested),
            tftp(41, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::Requested),
        ],
    );
    check_phone(
        &engine,
        PHONE,
        "2000",
        Some("7906"),
        PhoneState::FetchingConfig,
    );
}

#[test]
fn foreign_request_is_refused() {
    let config = config("");
    let mut engine = Engine::default();
    let actions = run(
        &mut engine,
        &config,
        &[
            lease("00:1b:0c:18:bd:c2", 152, Some("SEP001B0C18BDC2"), None),
            // 198.18.0.152 is leased to ...C2 but asks for ...C1's config.
            tftp(152, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::NotFound),
        ],
    );
    assert!(actions.contains(&Action::ForeignRequest {
        named: mac(PHONE),
        leased_to: mac(PHONE2),
        ip: ip(152)
    }));
    assert!(engine.phone(mac(PHONE)).is_none());
    assert_eq!(engine.counters.foreign_requests, 1);
}

#[test]
fn hostile_names_are_counted_not_used() {
    let config = config("");
    let mut engine = Engine::default();
    let long = format!("{}SEP001B0C18BDC1.cnf.xml", "A".repeat(300));
    let actions = run(
        &mut engine,
        &config,
        &[
            tftp(41, "../../SEP001B0C18BDC1.cnf.xml", TftpOutcome::Requested),
            tftp(41, "/SEP001B0C18BDC1.cnf.xml", TftpOutcome::Requested),
            tftp(41, &long, TftpOutcome::Denied),
            tftp(41, "SEP020000000001.cnf.xml", TftpOutcome::NotFound),
        ],
    );
    assert_eq!(actions, []);
    assert_eq!(engine.counters.suspicious_names, 3);
    assert_eq!(engine.counters.non_cisco_macs, 1);
}

#[test]
fn pool_runs_out() {
    let config = config("[[phone]]\nmac = \"00:1b:0c:00:00:09\"\nextension = \"2001\"\n");
    let mut engine = Engine::default();
    let actions = run(
        &mut engine,
        &config,
        &[
            lease("00:1b:0c:00:00:01", 101, Some("SEP001B0C000001"), None),
            lease("00:1b:0c:00:00:02", 102, Some("SEP001B0C000002"), None),
            lease("00:1b:0c:00:00:03", 103, Some("SEP001B0C000003"), None),
        ],
    );
    // 2001 is claimed by the inventory: the pool phones get 2000 and 2002.
    check_phone(&engine, "001B0C000001", "2000", None, PhoneState::Leased);
    check_phone(&engine, "001B0C000002", "2002", None, PhoneState::Leased);
    assert!(actions.contains(&Action::PoolExhausted(mac("001B0C000003"))));
}

#[test]
fn restart_keeps_assignments_and_inventory_wins_on_reload() {
    let config_before = config("");
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config_before,
        &[lease(
            "00:1b:0c:00:00:01",
            101,
            Some("SEP001B0C000001"),
            None,
        )],
    );
    let saved: Vec<Phone> = engine.phones().values().cloned().collect();

    // Same config after a restart: same extension, same secret, nothing to rewrite.
    let mut engine = Engine::new(saved.clone());
    let mut secrets = || "never".to_string();
    assert_eq!(engine.apply_config(&config_before, &mut secrets), []);
    run(
        &mut engine,
        &config_before,
        &[lease(
            "00:1b:0c:00:00:01",
            101,
            Some("SEP001B0C000001"),
            None,
        )],
    );
    check_phone(&engine, "001B0C000001", "2000", None, PhoneState::Leased);
    assert_eq!(
        engine.phone(mac("001B0C000001")).unwrap().secret.as_deref(),
        Some("s1")
    );

    // The admin gives 2000 to another phone in the inventory: the pool phone moves to 2001.
    let config_after = config("[[phone]]\nmac = \"00:1b:0c:00:00:09\"\nextension = \"2000\"\n");
    let mut engine = Engine::new(saved);
    let mut n = 0;
    let mut secrets = || {
        n += 1;
        format!("new{n}")
    };
    let actions = engine.apply_config(&config_after, &mut secrets);
    assert_eq!(
        actions,
        [
            Action::CredentialsIssued {
                mac: mac("001B0C000001"),
                evidence: "a dhcp lease binding its mac and address"
            },
            Action::Provision(mac("001B0C000001"))
        ]
    );
    check_phone(&engine, "001B0C000001", "2001", None, PhoneState::Leased);
}

/// Seed 003: a 7906 asks for term06.default.loads again and again; once the 8.5.2 images
/// come, the phone has taken the step.
#[test]
fn firmware_loop_asks_for_the_ladder_step() {
    let config = config("");
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            224,
            Some("SEP001B0C18BDC1"),
            None,
        )],
    );
    let loop_requests: Vec<Observation> = (0..3)
        .map(|_| tftp(224, "term06.default.loads", TftpOutcome::Requested))
        .collect();
    let actions = run(&mut engine, &config, &loop_requests);
    assert!(
        actions.contains(&Action::FirmwareLoop {
            mac: mac(PHONE),
            file: "term06.default.loads".into()
        }),
        "{actions:?}"
    );
    assert!(engine.phone(mac(PHONE)).unwrap().needs_ladder);
    let actions = run(
        &mut engine,
        &config,
        &[tftp(
            224,
            "jar11sccp.8-5-2TH1-9.sbn",
            TftpOutcome::Requested,
        )],
    );
    assert!(actions.contains(&Action::LadderStepTaken(mac(PHONE))));
    assert!(actions.contains(&Action::Provision(mac(PHONE))));
    assert!(!engine.phone(mac(PHONE)).unwrap().needs_ladder);
    // Images in between break a streak: no loop.
    let actions = run(
        &mut engine,
        &config,
        &[
            tftp(224, "SIP11.9-4-2SR3-1S.loads", TftpOutcome::Requested),
            tftp(224, "jar11sip.9-4-2ES26.sbn", TftpOutcome::Requested),
            tftp(224, "SIP11.9-4-2SR3-1S.loads", TftpOutcome::Requested),
            tftp(224, "SIP11.9-4-2SR3-1S.loads", TftpOutcome::Requested),
        ],
    );
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::FirmwareLoop { .. })),
        "{actions:?}"
    );
}

fn status_of(engine: &Engine, config: &Config, mac_text: &str) -> &'static str {
    let phone = engine.phone(mac(mac_text)).expect("phone known");
    phone.status_word(
        config.provision.policy,
        config.inventory.contains_key(&phone.mac),
    )
}

#[test]
fn inventory_policy_lists_others_as_seen() {
    let config = config("[provision]\npolicy = \"inventory\"\n[[phone]]\nmac = \"00:1b:0c:18:bd:c2\"\nextension = \"7\"\n");
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[
            lease(
                "00:1b:0c:18:bd:c1",
                151,
                Some("SEP001B0C18BDC1"),
                Some(VCI_7941),
            ),
            lease("00:1b:0c:18:bd:c2", 152, Some("SEP001B0C18BDC2"), None),
        ],
    );
    assert!(!engine.phone(mac(PHONE)).unwrap().is_provisioned());
    assert_eq!(status_of(&engine, &config, PHONE), "seen");
    check_phone(&engine, PHONE2, "7", None, PhoneState::Leased);
}

#[test]
fn approve_policy_waits_for_a_decision() {
    let config = config("[provision]\npolicy = \"approve\"\n");
    let mut engine = Engine::default();
    let actions = run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            Some(VCI_7941),
        )],
    );
    assert!(actions.contains(&Action::Pending(mac(PHONE))));
    assert_eq!(status_of(&engine, &config, PHONE), "pending");
    let phone = engine.phone(mac(PHONE)).unwrap();
    assert_eq!(
        (phone.extension.as_deref(), phone.model.as_deref()),
        (None, Some("7941")),
        "the evidence is kept"
    );

    let mut secrets = || "s".to_string();
    let actions = engine.decide(
        mac(PHONE),
        Some(Decision::Approved),
        &config,
        &mut secrets,
        0,
    );
    assert!(actions.contains(&Action::Provision(mac(PHONE))));
    check_phone(&engine, PHONE, "2000", Some("7941"), PhoneState::Leased);
    engine.files_written(
        mac(PHONE),
        ["SEP001B0C18BDC1.cnf.xml".to_string()].into(),
        true,
        1,
    );

    let actions = engine.decide(mac(PHONE), Some(Decision::Denied), &config, &mut secrets, 0);
    assert_eq!(
        actions,
        [Action::RemoveFiles {
            mac: mac(PHONE),
            files: ["SEP001B0C18BDC1.cnf.xml".to_string()].into()
        }]
    );
    assert_eq!(status_of(&engine, &config, PHONE), "denied");
    // A denied phone stays without credentials whatever it does.
    run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            None,
        )],
    );
    assert!(!engine.phone(mac(PHONE)).unwrap().is_provisioned());

    engine.decide(mac(PHONE), None, &config, &mut secrets, 0);
    assert!(engine.phone(mac(PHONE)).is_none(), "forgotten");
    // Approving a phone not seen yet: it is provisioned when it shows up.
    engine.decide(
        mac(PHONE2),
        Some(Decision::Approved),
        &config,
        &mut secrets,
        0,
    );
    assert!(engine.phone(mac(PHONE2)).unwrap().is_provisioned());
}

#[test]
fn max_pending_bounds_the_waiting_list() {
    let config = config("[provision]\npolicy = \"approve\"\nmax_pending = 2\n");
    let mut engine = Engine::default();
    let leases: Vec<Observation> = (1..=4)
        .map(|n| {
            lease(
                &format!("00:1b:0c:00:00:0{n}"),
                100 + n,
                Some(&format!("SEP001B0C00000{n}")),
                None,
            )
        })
        .collect();
    let actions = run(&mut engine, &config, &leases);
    assert_eq!(engine.phones().len(), 2);
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == Action::Rejected(Rejection::PendingFull))
            .count(),
        2
    );
    assert_eq!(engine.counters.pending_full, 2);
}

/// 10,000 spoofed SEP<MAC>.cnf.xml requests: from one address only its first MAC counts;
/// from many addresses, at most max_new_per_minute new phones a minute. Nothing else is
/// listed, the pool is not drained, and every one is counted.
#[test]
fn a_flood_of_spoofed_requests_is_bounded() {
    let config = config(
        "[provision]\nextensions = \"2000-2999\"\nmax_new_per_minute = 20\nmax_pending = 50\n",
    );
    let mut engine = Engine::default();
    let mut n_actions = 0;
    for n in 0..10_000u32 {
        let [_, b, c, d] = n.to_be_bytes();
        let request = Observation::Tftp(TftpSeen {
            ip: Ipv4Addr::new(198, 19, c, d.max(1)).min(Ipv4Addr::new(198, 19, 255, 254)),
            file: format!("SEP001B0C{b:02X}{c:02X}{d:02X}.cnf.xml"),
            outcome: TftpOutcome::NotFound,
            time: 1000 + i64::from(n / 1000),
        });
        n_actions += run(&mut engine, &config, &[request]).len();
        // The same address asking for another MAC right after.
        let spoof = Observation::Tftp(TftpSeen {
            ip: Ipv4Addr::new(198, 19, c, d.max(1)),
            file: format!("SEP001B0CFF{c:02X}{d:02X}.cnf.xml"),
            outcome: TftpOutcome::NotFound,
            time: 1000 + i64::from(n / 1000),
        });
        n_actions += run(&mut engine, &config, &[spoof]).len();
    }
    // 10 minutes of requests: at most 20 a minute.
    assert!(
        engine.phones().len() <= 200,
        "{} phones",
        engine.phones().len()
    );
    assert!(engine.counters.rate_limited + engine.counters.conflicting_claims >= 19_800 - 200);
    assert!(n_actions < 25_000);
}

/// A provisioned phone's config fetched by another address is a leak: counted, recorded on
/// the phone, and nothing about the phone changes.
#[test]
fn leak_alerts() {
    let config = config("");
    let mut engine = two_phones_leased(&config);
    let actions = run(
        &mut engine,
        &config,
        &[
            // Leased to the other phone.
            tftp(152, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::Sent),
            // Not leased at all while the phone holds its lease elsewhere.
            tftp(99, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::Sent),
        ],
    );
    assert!(actions.contains(&Action::Leak {
        mac: mac(PHONE),
        ip: ip(152),
        leased_to: Some(mac(PHONE2))
    }));
    assert!(actions.contains(&Action::Leak {
        mac: mac(PHONE),
        ip: ip(99),
        leased_to: None
    }));
    let phone = engine.phone(mac(PHONE)).unwrap();
    assert_eq!(phone.leaks.len(), 2);
    assert_eq!(
        phone.ip,
        Some(ip(151)),
        "the phone's address is not taken over"
    );
    assert_eq!(engine.counters.leaks, 2);
}

/// Traversal and odd names from the captures (dnsmasq, tftpd-hpa and atftpd runs).
#[test]
fn traversal_names_from_the_captures() {
    let config = config("");
    let mut engine = Engine::default();
    let long = format!("{}SEP001B0C18BDC1.cnf.xml", "A".repeat(300));
    for file in [
        "../../etc/passwd",
        "/etc/passwd",
        "etc/passwd",
        long.as_str(),
        "private.cfg",
    ] {
        assert_eq!(
            run(
                &mut engine,
                &config,
                &[tftp(41, file, TftpOutcome::Requested)]
            ),
            [],
            "{file}"
        );
    }
    assert!(engine.phones().is_empty());
    assert_eq!(engine.counters.suspicious_names, 4);
}

#[test]
fn pool_csv_extensions_come_before_the_range() {
    let mut config = config("");
    config.provision.pool = vec![crate::config::PoolExtension {
        extension: "1001".into(),
        name: Some("Reception".into()),
        secret: "pbx-secret".into(),
    }];
    let engine = two_phones_leased(&config);
    let first = engine.phone(mac(PHONE)).unwrap();
    assert_eq!(
        (
            first.extension.as_deref(),
            first.secret.as_deref(),
            first.label.as_deref()
        ),
        (Some("1001"), Some("pbx-secret"), Some("Reception"))
    );
    assert_eq!(first.origin, Some(Origin::Pool));
    let second = engine.phone(mac(PHONE2)).unwrap();
    assert_eq!(
        (second.extension.as_deref(), second.origin),
        (Some("2000"), Some(Origin::Range))
    );
}

/// A lease of a phone never seen asking for a file starts the wait for its first request
/// (the `no-tftp-after-lease` deadline); renewals do not restart it, a request ends it, and
/// only a move to another address starts it again for a phone that asked for files before.
#[test]
fn a_lease_starts_the_wait_for_the_first_file_request() {
    let config = config("");
    let mut engine = Engine::default();
    let waiting = |engine: &Engine| engine.phone(mac(PHONE)).unwrap().awaiting_tftp;
    let renewal = |time: i64, last: u8| {
        Observation::Lease(LeaseSeen {
            mac: mac(PHONE),
            ip: ip(last),
            hostname: Some("SEP001B0C18BDC1".into()),
            vendor_class: None,
            time,
        })
    };
    run(&mut engine, &config, &[renewal(100, 151)]);
    assert_eq!(waiting(&engine), Some(100));
    assert_eq!(engine.take_touched(), BTreeSet::from([mac(PHONE)]));
    run(&mut engine, &config, &[renewal(150, 151)]);
    assert_eq!(waiting(&engine), Some(100), "a renewal keeps the start");

    run(
        &mut engine,
        &config,
        &[tftp(151, "term41.default.loads", TftpOutcome::Sent)],
    );
    let phone = engine.phone(mac(PHONE)).unwrap();
    assert_eq!(
        (phone.awaiting_tftp, phone.tftp_at, phone.tftp_since_write),
        (None, Some(200), true)
    );
    run(&mut engine, &config, &[renewal(300, 151)]);
    assert_eq!(waiting(&engine), None, "a running phone renews quietly");
    run(&mut engine, &config, &[renewal(400, 152)]);
    assert_eq!(waiting(&engine), Some(400), "a new address is a new boot");

    let timeline: Vec<(i64, u32)> = engine
        .phone(mac(PHONE))
        .unwrap()
        .timeline
        .iter()
        .map(|event| (event.time, event.count))
        .collect();
    assert_eq!(timeline, [(100, 2), (200, 1), (300, 1), (400, 1)]);
}

/// An SCCP 7941 whose lease names no model and that never asks for `term41.default.loads`:
/// without a SEP file it reads XMLDefault.cnf.xml and asks for the SIP load it names
/// (field-evidence.md §3; the 7940's conversion in cisco-facts.md §3 goes the same way: its
/// SEP file, XMLDefault.cnf.xml, then `P0S3-8-12-00.loads`). The load names the family: the
/// model is learned there, and its files are rendered before the phone reboots into SIP.
#[test]
fn the_sip_load_an_unknown_phone_asks_for_names_its_model() {
    let config = config("");
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            None,
        )],
    );
    let actions = run(
        &mut engine,
        &config,
        &[
            tftp(151, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::NotFound),
            tftp(151, "XMLDefault.cnf.xml", TftpOutcome::Sent),
        ],
    );
    assert!(!actions
        .iter()
        .any(|action| matches!(action, Action::ModelLearned { .. })));
    let actions = run(
        &mut engine,
        &config,
        &[tftp(151, "SIP41.9-4-2SR3-1S.loads", TftpOutcome::Sent)],
    );
    assert!(actions.contains(&Action::ModelLearned {
        mac: mac(PHONE),
        model: "7941"
    }));
    assert!(actions.contains(&Action::Provision(mac(PHONE))));
    // A model already known is not overridden by a load (7961 and 7941 share SIP41).
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            Some("Cisco Systems, Inc. IP Phone CP-7961G"),
        )],
    );
    let actions = run(
        &mut engine,
        &config,
        &[tftp(151, "SIP41.9-4-2SR3-1S.loads", TftpOutcome::Sent)],
    );
    assert!(!actions
        .iter()
        .any(|action| matches!(action, Action::ModelLearned { .. })));
    assert_eq!(
        engine.phone(mac(PHONE)).unwrap().model.as_deref(),
        Some("7961")
    );
    // The 7940/7960 SIP load names the 7940.
    assert_eq!(
        model_of_load("P0S3-8-12-00.loads").map(|m| m.name()),
        Some("7940")
    );
    assert_eq!(
        model_of_load("SIP41.loads"),
        None,
        "no version: not a load name"
    );
    assert_eq!(model_of_load("€.loads"), None);
}

/// An inventory phone's other lines: each gets its own secret (the given one, or one
/// generated once and kept across restarts and config reloads), the range never hands out
/// their extensions, and a password for its settings is generated when the config names
/// none (never the factory `cisco`).
#[test]
fn inventory_lines_and_phone_password() {
    let config = config(
        "[provision]\nextensions = \"2000-2001\"\n\
         [[phone]]\nmac = \"00:1b:0c:18:bd:c1\"\nextension = \"2000\"\n\
         lines = [{ extension = \"2001\", label = \"Sales\" }, { extension = \"1009\", secret = \"given\" }]\n",
    );
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[
            lease(
                "00:1b:0c:18:bd:c1",
                151,
                Some("SEP001B0C18BDC1"),
                Some(VCI_7941),
            ),
            lease(
                "00:1b:0c:18:bd:c2",
                152,
                Some("SEP001B0C18BDC2"),
                Some(VCI_7941),
            ),
        ],
    );
    let phone = engine.phone(mac(PHONE)).unwrap().clone();
    let lines: Vec<(&str, &str)> = phone
        .lines
        .iter()
        .map(|line| (line.extension.as_str(), line.secret.as_str()))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1], ("1009", "given"));
    assert_eq!(lines[0].0, "2001");
    assert!(lines[0].1.starts_with('s'), "generated: {lines:?}");
    assert!(phone
        .phone_password
        .as_deref()
        .is_some_and(|p| p != "cisco"));
    // 2000 and 2001 are the inventory phone's: the other phone gets nothing from 2000-2001.
    assert_eq!(engine.phone(mac(PHONE2)).unwrap().extension, None);
    // A restart (records from the state file) and a reload keep every secret.
    let mut restarted = Engine::new(engine.phones().values().cloned().collect());
    restarted.apply_config(&config, &mut || "new".to_string());
    let again = restarted.phone(mac(PHONE)).unwrap();
    assert_eq!(again.lines, phone.lines);
    assert_eq!(again.phone_password, phone.phone_password);
    assert_eq!(again.secret, phone.secret);
}

/// A 15-byte DHCP hostname with a multi-byte character across byte 3 panicked the engine,
/// and through a lease file that is a crash loop (field-evidence.md §4). It is just not a
/// SEP hostname.
#[test]
fn a_hostname_with_a_multibyte_character_is_no_sep_hostname() {
    let config = config("");
    let mut engine = Engine::default();
    for host in [
        "SE€ABCDEFGHIJ",
        "€€€€€",
        "SEP€€€€€€",
        "S\u{1F600}001B0C18BD",
    ] {
        run(
            &mut engine,
            &config,
            &[lease("00:1b:0c:18:bd:c1", 151, Some(host), None)],
        );
    }
    assert!(
        engine.phone(mac(PHONE)).is_none(),
        "not a phone on that evidence"
    );
}

/// The per-address check covers phones already known: one unleased address asking for a
/// second phone's config within the window is a leak alert, and its request changes nothing
/// (field-evidence.md §4: all known phones' secrets could be fetched from one address).
#[test]
fn one_address_cannot_collect_known_phones_configs() {
    let config = config("[provision]\ntftp_only = \"auto\"\n");
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[
            tftp(41, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::NotFound),
            tftp(42, "SEP001B0C18BDC2.cnf.xml", TftpOutcome::NotFound),
        ],
    );
    assert!(engine.phone(mac(PHONE2)).unwrap().is_provisioned());
    // Address .41 (phone 1's) now asks for phone 2's file.
    let actions = run(
        &mut engine,
        &config,
        &[tftp(41, "SEP001B0C18BDC2.cnf.xml", TftpOutcome::Sent)],
    );
    assert!(
        actions
            .iter()
            .any(|action| matches!(action, Action::Leak { .. })),
        "{actions:?}"
    );
    assert_eq!(
        engine.phone(mac(PHONE2)).unwrap().ip,
        Some(ip(42)),
        "not re-pointed"
    );
    assert_eq!(engine.counters.conflicting_claims, 1);
}

/// Made-up MACs cannot grow the phone list without bound: past MAX_SEEN the oldest phone
/// without credentials is forgotten, phones with credentials never are (field-evidence.md
/// §4: 50,000 `seen` phones under `policy = "inventory"`, 17 MB of state, 35 s of CPU).
#[test]
fn phones_without_credentials_are_bounded() {
    let config = config(
        "[provision]\npolicy = \"inventory\"\n\
         [[phone]]\nmac = \"00:1b:0c:18:bd:c1\"\nextension = \"1006\"\n",
    );
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            None,
        )],
    );
    let flood: Vec<Observation> = (0..(MAX_SEEN as u32 + 500))
        .map(|n| {
            let [_, _, a, b] = n.to_be_bytes();
            lease(
                &format!("00:1b:0c:40:{a:02x}:{b:02x}"),
                10,
                Some(&format!("SEP001B0C40{a:02X}{b:02X}")),
                None,
            )
        })
        .collect();
    run(&mut engine, &config, &flood);
    assert!(
        engine.phones().len() <= MAX_SEEN + 1,
        "{}",
        engine.phones().len()
    );
    assert!(engine.counters.seen_forgotten >= 500);
    assert!(
        engine.phone(mac(PHONE)).unwrap().is_provisioned(),
        "the inventory phone stays"
    );
    // The newest are kept, the oldest forgotten.
    assert!(engine.phone("001B0C4005DB".parse().unwrap()).is_some());
    assert!(engine.phone("001B0C400000".parse().unwrap()).is_none());
}

/// A phone that moved is reserved at its newest address, a lease taken over by another MAC
/// is no longer the old one's, and a lease gone is gone (reservations follow leases only:
/// field-evidence.md §4).
#[test]
fn leased_ip_is_the_newest_binding() {
    let config = config("");
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[
            lease(PHONE, 151, Some("SEP001B0C18BDC1"), Some(VCI_7941)),
            lease(PHONE, 152, Some("SEP001B0C18BDC1"), Some(VCI_7941)),
        ],
    );
    assert_eq!(engine.leased_ip(mac(PHONE)), Some(ip(152)));
    run(
        &mut engine,
        &config,
        &[lease(PHONE2, 152, Some("SEP001B0C18BDC2"), Some(VCI_7941))],
    );
    assert_eq!(engine.leased_ip(mac(PHONE)), None);
    assert_eq!(engine.leased_ip(mac(PHONE2)), Some(ip(152)));
    run(
        &mut engine,
        &config,
        &[Observation::LeaseGone {
            mac: mac(PHONE2),
            ip: ip(152),
            time: 300,
        }],
    );
    assert_eq!(engine.leased_ip(mac(PHONE2)), None);
    // After a restart the persisted bindings come back.
    run(
        &mut engine,
        &config,
        &[lease(PHONE, 153, Some("SEP001B0C18BDC1"), Some(VCI_7941))],
    );
    let restarted = Engine::new(engine.phones().values().cloned().collect());
    assert_eq!(restarted.leased_ip(mac(PHONE)), Some(ip(153)));
}

/// `rotate_secret_on_leak`: a phone's config fetched by another device (field-evidence.md
/// §4: one request returns the secret) gives the phone a new secret, once per leaking
/// address, and only when the file may have gone out; its files are rewritten (and with them
/// the PBX files). A secret from the config cannot be rotated here: that is said, not done.
#[test]
fn leaks_rotate_secrets_when_asked() {
    let config = config("[provision]\nrotate_secret_on_leak = true\n[[phone]]\nmac = \"00:1b:0c:18:bd:c2\"\nextension = \"1006\"\nsecret = \"admins\"\n");
    let mut engine = two_phones_leased(&config);
    let before = engine.phone(mac(PHONE)).unwrap().secret.clone();
    let mut fresh = 0;
    let mut fetch = |engine: &mut Engine, from: u8, file: &str, outcome| {
        let mut secrets = || {
            fresh += 1;
            format!("rotated{fresh}")
        };
        engine.observe(&tftp(from, file, outcome), &config, &mut secrets)
    };
    // "Not found" (tftp-unique-root) delivered nothing: an alert, no rotation.
    let actions = fetch(
        &mut engine,
        99,
        "SEP001B0C18BDC1.cnf.xml",
        TftpOutcome::NotFound,
    );
    assert!(actions.iter().any(|a| matches!(a, Action::Leak { .. })));
    assert_eq!(engine.phone(mac(PHONE)).unwrap().secret, before);
    // Sent to another address: new secret, files rewritten.
    let actions = fetch(
        &mut engine,
        98,
        "SEP001B0C18BDC1.cnf.xml",
        TftpOutcome::Sent,
    );
    assert!(
        actions.contains(&Action::Provision(mac(PHONE))),
        "{actions:?}"
    );
    assert!(actions.contains(&Action::SecretRotation {
        mac: mac(PHONE),
        ip: ip(98),
        rotated: true
    }));
    let after = engine.phone(mac(PHONE)).unwrap().secret.clone();
    assert_eq!(after.as_deref(), Some("rotated1"));
    // The same address again: no second rotation (the alert stands).
    let actions = fetch(
        &mut engine,
        98,
        "SEP001B0C18BDC1.cnf.xml",
        TftpOutcome::Sent,
    );
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::SecretRotation { .. })));
    assert_eq!(engine.phone(mac(PHONE)).unwrap().secret, after);
    // The inventory phone's secret is the admin's: said, not changed.
    let actions = fetch(
        &mut engine,
        97,
        "SEP001B0C18BDC2.cnf.xml",
        TftpOutcome::Sent,
    );
    assert!(actions.contains(&Action::SecretRotation {
        mac: mac(PHONE2),
        ip: ip(97),
        rotated: false
    }));
    assert_eq!(
        engine.phone(mac(PHONE2)).unwrap().secret.as_deref(),
        Some("admins")
    );
    // Off (the default): alerts only.
    let config = super::tests::config("");
    let mut engine = Engine::default();
    run(
        &mut engine,
        &config,
        &[lease(
            "00:1b:0c:18:bd:c1",
            151,
            Some("SEP001B0C18BDC1"),
            None,
        )],
    );
    let before = engine.phone(mac(PHONE)).unwrap().secret.clone();
    let actions = run(
        &mut engine,
        &config,
        &[tftp(98, "SEP001B0C18BDC1.cnf.xml", TftpOutcome::Sent)],
    );
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::SecretRotation { .. })));
    assert_eq!(engine.phone(mac(PHONE)).unwrap().secret, before);
}

/// Logs name an origin as the state file and `status` do.
#[test]
fn origin_names_are_the_state_files() {
    for origin in [Origin::Inventory, Origin::Pool, Origin::Range] {
        let json = serde_json::to_string(&origin).unwrap();
        assert_eq!(json, format!("\"{}\"", origin.as_str()));
    }
}

/// A lost state is rebuilt from the phones' own files (field-evidence.md §5), but only what
/// the config could have given: a file without our marker, an extension another phone holds,
/// one outside the range, pool and inventory, or another [[phone]] entry's, and any phone
/// without an entry under `policy = "inventory"`, are refused and leave nothing behind.
#[test]
fn adopt_takes_back_only_what_the_config_could_have_given() {
    let file = |extension: &str, ours: bool| crate::parse::phone_file::PhoneFile {
        extension: extension.to_string(),
        secret: "s3cret".to_string(),
        lines: Vec::new(),
        ours,
    };
    let entry = "[[phone]]\nmac = \"00:1b:0c:00:00:09\"\nextension = \"1006\"\n";
    let cases: [(&str, _, &str); 6] = [
        ("", file("2001", true), "Ok(Range)"),
        ("", file("2001", false), "not written by cisco-autoprov"),
        (
            "",
            file("9999", true),
            "not in the range, the pool or the inventory",
        ),
        (
            entry,
            file("1006", true),
            "belongs to another [[phone]] entry",
        ),
        (
            "[provision]\npolicy = \"inventory\"\n",
            file("2001", true),
            "policy = \"inventory\"",
        ),
        ("", file("2000", true), "is phone 001B0C18BDC2's"),
    ];
    for (extra, phone_file, want) in cases {
        let config = config(extra);
        let mut engine = Engine::new(Vec::new());
        // Phone 2 holds 2000 already.
        engine.adopt(mac(PHONE2), &file("2000", true), &config).ok();
        let got = match engine.adopt(mac(PHONE), &phone_file, &config) {
            Ok(origin) => format!("Ok({origin:?})"),
            Err(why) => why,
        };
        assert!(got.contains(want), "{extra:?} {phone_file:?}: {got}");
        if !got.starts_with("Ok") {
            assert!(
                engine.phone(mac(PHONE)).is_none(),
                "{extra:?}: a refused file leaves no phone"
            );
        }
    }
}
