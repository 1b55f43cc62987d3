//! Scenario files: `tests/data/scenarios/*.toml`. Each holds the config, the TFTP root (file
//! names, `.loads` bodies, texts of config files cisco-autoprov did not write), a sequence of
//! events, mostly real log lines fed through the log parser, and what must follow: each phone's
//! `status` word, boot state and diagnoses, words their messages must name, and which
//! diagnoses were reported (once each). One runner runs every file.
//!
//! The runner plays the edge the way `provision` does: observations go to the engine, its
//! `Provision` actions are "written" (rendered with the built-in templates, kept in memory,
//! a file of the scenario's root under the same name counts as a person's and is left alone),
//! and after each event the rules run for the phones it touched; `tick N` moves the clock on
//! and runs the rules of the phones whose deadline came, as the daemon's timer does.
//!
//! Event lines:
//! - `lease MAC IP [HOSTNAME]`: a lease as a lease file or hook reports it, at the clock;
//! - `tick SECONDS`: time passes;
//! - `tick_at SECONDS`: the daemon's timer at `now` + SECONDS by the wall clock, whatever the
//!   lines said (the clock never goes back);
//! - anything else: a log line, parsed as the daemon parses it (its time moves the clock), in
//!   the scenario's `zone`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::*;
use crate::detect::{Action, Engine};
use crate::event::{LeaseSeen, Observation};
use crate::mac::Mac;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    /// What the scenario is and where its lines come from.
    about: String,
    /// Unix seconds when the log is read: the year of year-less stamps.
    now: i64,
    /// The system's time zone, in which stamps without an offset are read: a POSIX TZ string,
    /// or a file of `tests/data/zoneinfo/` (`America/New_York`). UTC when absent.
    #[serde(default)]
    zone: Option<String>,
    /// Config text after the runner's `[pbx]` (host, and a FreePBX CSV unless
    /// `no_pbx_file`).
    #[serde(default)]
    config: String,
    /// Leave `[pbx] freepbx_csv` out of the runner's `[pbx]`.
    #[serde(default)]
    no_pbx_file: bool,
    #[serde(default)]
    root: RootData,
    events: String,
    expect: Vec<Expect>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RootData {
    /// Plain files (images, anything).
    #[serde(default)]
    files: Vec<String>,
    /// `.loads` files (term files too) and the images their body names.
    #[serde(default)]
    loads: BTreeMap<String, Vec<String>>,
    /// Files with a text: config files a person (or another tool) wrote.
    #[serde(default)]
    text: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    mac: String,
    /// The `status` word (`stuck`, `configured`, …).
    state: String,
    /// The boot state under it.
    #[serde(default)]
    boot_state: Option<String>,
    /// The diagnosis codes, in order.
    codes: Vec<String>,
    /// Words the messages and fixes must contain.
    #[serde(default)]
    mentions: Vec<String>,
    /// Words they must not contain.
    #[serde(default)]
    never: Vec<String>,
    /// The codes reported as new, in order (each problem once).
    #[serde(default)]
    reported: Option<Vec<String>>,
}

/// The scenario's TFTP root plus what the runner "wrote".
struct MemRoot {
    files: BTreeSet<String>,
    text: BTreeMap<String, String>,
    written: RefCell<BTreeMap<String, String>>,
}

impl Root for MemRoot {
    fn names_like(&self, name: &str) -> Vec<String> {
        self.files
            .iter()
            .chain(self.text.keys())
            .chain(self.written.borrow().keys())
            .filter(|candidate| candidate.eq_ignore_ascii_case(name))
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect()
    }

    fn text(&self, name: &str) -> Option<String> {
        self.text
            .get(name)
            .or(self.written.borrow().get(name))
            .cloned()
    }
}

struct Run {
    config: Config,
    inventory: crate::firmware::Inventory,
    root: MemRoot,
    engine: Engine,
    reported: Vec<(Mac, String)>,
    secret_n: u32,
    last_tick: i64,
}

impl Run {
    /// Plays `provision::write_phones` for one phone.
    fn write(&mut self, mac: Mac, time: i64) {
        let Some(phone) = self.engine.phone(mac) else {
            return;
        };
        let (Some(extension), Some(secret)) = (phone.extension.as_deref(), phone.secret.as_deref())
        else {
            return;
        };
        let config = &self.config;
        let site = crate::render::Site {
            pbx_host: &config.pbx.host,
            pbx_port: config.pbx.port,
            voicemail: &config.pbx.voicemail,
            ntp_server: &config.pbx.host,
            time_zone: "Greenwich Standard Time",
            time_zone_7940: "GMT",
            clock_7940: String::new(),
            tftp_server: config.tftp_server.map(|ip| ip.to_string()),
            network_locale: config.provision.network_locale,
        };
        let view = crate::render::PhoneView {
            mac,
            model: phone.model(),
            extension,
            secret,
            label: phone.label.as_deref(),
            load: None,
            speed_dials: &[],
            addon_modules: &[],
            transport: config.pbx.transport.for_model(phone.model()),
            lines: Vec::new(),
            phone_password: "",
            ring: config.provision.ring,
        };
        let files =
            crate::render::phone_files(&crate::template::Templates::built_in(), &site, &view);
        let mut written = self.root.written.borrow_mut();
        for stale in phone
            .files
            .iter()
            .filter(|name| !files.iter().any(|(new, _)| new == *name))
        {
            written.remove(stale);
        }
        let mut ours = BTreeSet::new();
        let mut changed = false;
        for (name, contents) in files {
            if self.root.text.contains_key(&name) {
                continue; // a person's file: left alone
            }
            changed |= written.get(&name) != Some(&contents);
            written.insert(name.clone(), contents);
            ours.insert(name);
        }
        drop(written);
        self.engine.files_written(mac, ours.into(), changed, time);
    }

    /// Plays `provision::diagnose`.
    fn diagnose(&mut self, macs: impl IntoIterator<Item = Mac>, now: i64) {
        for mac in macs {
            let Some(phone) = self.engine.phone(mac) else {
                continue;
            };
            let context = Context {
                config: &self.config,
                firmware: &self.inventory,
                root: &self.root,
                now,
                tftp_visible: true,
            };
            let update = merge(&phone.diagnoses, diagnose(phone, &context));
            self.reported
                .extend(update.new.iter().map(|code| (mac, code.clone())));
            self.engine.set_diagnoses(mac, update.diagnoses);
        }
    }

    fn observe(&mut self, observation: &Observation, time: i64) {
        let mut n = self.secret_n;
        let mut secrets = move || {
            n += 1;
            format!("secret{n}")
        };
        let actions = self.engine.observe(observation, &self.config, &mut secrets);
        self.secret_n += actions
            .iter()
            .filter(|action| matches!(action, Action::Provision(_)))
            .count() as u32;
        for action in actions {
            if let Action::Provision(mac) = action {
                self.write(mac, time);
            }
        }
        let touched = self.engine.take_touched();
        self.diagnose(touched, time);
    }

    /// Plays the daemon's timer: the phones whose deadline has come.
    fn tick(&mut self, now: i64) {
        let due: Vec<Mac> = self
            .engine
            .phones()
            .values()
            .filter(|phone| {
                deadline(phone, &self.config).is_some_and(|at| at <= now && at > self.last_tick)
            })
            .map(|phone| phone.mac)
            .collect();
        self.last_tick = now;
        self.diagnose(due, now);
    }
}

fn run_scenario(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|err| err.to_string())?;
    let scenario: Scenario = toml::from_str(&text).map_err(|err| err.to_string())?;
    assert!(!scenario.about.is_empty());
    let pbx_file = if scenario.no_pbx_file {
        ""
    } else {
        "freepbx_csv = \"/var/lib/cisco-autoprov/freepbx.csv\"\n"
    };
    let config_text = format!(
        "[pbx]\nhost = \"198.18.0.10\"\n{pbx_file}{}",
        scenario.config
    );
    let mut config = crate::config::parse(&config_text, "scenario", Path::new("/"))
        .map_err(|errors| format!("config: {errors:?}"))?;
    if let Some(zone) = &scenario.zone {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/zoneinfo")
            .join(zone);
        config.local_zone = match std::fs::read(&file) {
            Ok(bytes) => crate::localtime::LocalZone::from_tzif(&bytes, zone),
            Err(_) => crate::localtime::LocalZone::from_posix(zone, zone),
        }
        .map_err(|err| format!("zone: {err}"))?;
    }
    let mut listing: Vec<(String, Option<Vec<u8>>)> = scenario
        .root
        .files
        .iter()
        .map(|name| (name.clone(), None))
        .collect();
    for (name, images) in &scenario.root.loads {
        let body = format!("{name}\n{}\n", images.join("\n"));
        listing.push((name.clone(), Some(body.into_bytes())));
    }
    let inventory = crate::firmware::inventory_of(&listing);
    let mut run = Run {
        root: MemRoot {
            files: listing.iter().map(|(name, _)| name.clone()).collect(),
            text: scenario.root.text.clone(),
            written: RefCell::new(BTreeMap::new()),
        },
        config,
        inventory,
        engine: Engine::default(),
        reported: Vec::new(),
        secret_n: 0,
        last_tick: i64::MIN,
    };
    let roots = vec![run.config.tftp_root.display().to_string()];
    let mut reader = crate::sources::LineReader::new("scenario".into());
    // The time of the latest event; a `lease` before any line is at `now`.
    let mut clock: Option<i64> = None;
    for line in scenario.events.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let observations = match words.as_slice() {
            ["tick", seconds] => {
                let seconds: i64 = seconds.parse().map_err(|_| format!("bad tick: {line}"))?;
                let now = clock.unwrap_or(scenario.now) + seconds;
                clock = Some(now);
                run.tick(now);
                continue;
            }
            ["tick_at", seconds] => {
                let seconds: i64 = seconds
                    .parse()
                    .map_err(|_| format!("bad tick_at: {line}"))?;
                let now = clock.map_or(scenario.now + seconds, |clock| {
                    clock.max(scenario.now + seconds)
                });
                clock = Some(now);
                run.tick(now);
                continue;
            }
            ["lease", mac, ip, rest @ ..] => vec![Observation::Lease(LeaseSeen {
                mac: mac.parse().map_err(|_| format!("bad mac: {line}"))?,
                ip: ip.parse().map_err(|_| format!("bad ip: {line}"))?,
                hostname: rest.first().map(|host| host.to_string()),
                vendor_class: None,
                time: clock.unwrap_or(scenario.now),
            })],
            _ => {
                let mut observations = Vec::new();
                let context = crate::parse::tftp_log::Context {
                    now: scenario.now,
                    tftp_roots: &roots,
                    zone: &run.config.local_zone,
                };
                if !reader.line(line.as_bytes(), &context, &mut observations) {
                    return Err(format!("the log parser rejects: {line}"));
                }
                observations
            }
        };
        for observation in observations {
            let time = match &observation {
                Observation::Lease(lease) => lease.time,
                Observation::LeaseGone { time, .. } => *time,
                Observation::Tftp(request) => request.time,
            };
            // The clock never goes back.
            let now = clock.map_or(time, |clock| clock.max(time));
            clock = Some(now);
            run.observe(&observation, now);
        }
    }

    let mut problems = Vec::new();
    let mut covered = BTreeSet::new();
    for expect in &scenario.expect {
        let mac: Mac = expect
            .mac
            .parse()
            .map_err(|_| "bad expect.mac".to_string())?;
        let Some(phone) = run.engine.phone(mac) else {
            problems.push(format!("{mac}: not a known phone"));
            continue;
        };
        let word = phone.status_word(
            run.config.provision.policy,
            run.config.inventory.contains_key(&mac),
        );
        if word != expect.state {
            problems.push(format!(
                "{mac}: state {word:?}, expected {:?}",
                expect.state
            ));
        }
        if let Some(boot_state) = &expect.boot_state {
            if phone.state.as_str() != boot_state {
                problems.push(format!(
                    "{mac}: boot state {:?}, expected {boot_state:?}",
                    phone.state.as_str()
                ));
            }
        }
        let codes: Vec<&str> = phone.diagnoses.iter().map(|d| d.code.as_str()).collect();
        if codes != expect.codes {
            problems.push(format!(
                "{mac}: codes {codes:?}, expected {:?}",
                expect.codes
            ));
        }
        covered.extend(codes.iter().map(|code| code.to_string()));
        let said: String = phone
            .diagnoses
            .iter()
            .map(|d| format!("{} {}\n", d.message, d.fix))
            .collect();
        for word in &expect.mentions {
            if !said.contains(word.as_str()) {
                problems.push(format!(
                    "{mac}: the diagnoses do not mention {word:?}:\n{said}"
                ));
            }
        }
        for word in &expect.never {
            if said.contains(word.as_str()) {
                problems.push(format!("{mac}: the diagnoses mention {word:?}:\n{said}"));
            }
        }
        if let Some(reported) = &expect.reported {
            let got: Vec<&str> = run
                .reported
                .iter()
                .filter(|(reported_mac, _)| *reported_mac == mac)
                .map(|(_, code)| code.as_str())
                .collect();
            if got != *reported {
                problems.push(format!("{mac}: reported {got:?}, expected {reported:?}"));
            }
        }
    }
    // Secrets never reach a diagnosis; the record (timeline included) survives the state file.
    for phone in run.engine.phones().values() {
        if let Some(secret) = &phone.secret {
            for diagnosis in &phone.diagnoses {
                if diagnosis.message.contains(secret.as_str())
                    || diagnosis.fix.contains(secret.as_str())
                {
                    problems.push(format!("{}: a diagnosis carries the secret", phone.mac));
                }
            }
        }
        let json = serde_json::to_string(phone).map_err(|err| err.to_string())?;
        let back: crate::detect::Phone =
            serde_json::from_str(&json).map_err(|err| err.to_string())?;
        if back != *phone {
            problems.push(format!(
                "{}: the record does not survive the state file",
                phone.mac
            ));
        }
    }
    if problems.is_empty() {
        Ok(covered)
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for path in &paths {
        match run_scenario(path) {
            Ok(codes) => covered.extend(codes),
            Err(problem) => failures.push(format!(
                "{}:\n{problem}",
                path.file_name().unwrap().to_string_lossy()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for code in CODES {
        assert!(covered.contains(*code), "no scenario shows {code}");
    }
}

#[test]
fn merge_reports_each_problem_once() {
    let diagnosis = |code: &str, since: i64| Diagnosis {
        code: code.into(),
        message: format!("{code} message"),
        fix: "fix".into(),
        since,
    };
    let first = merge(&[], vec![diagnosis(FIRMWARE_LOOP, 10)]);
    assert_eq!(first.new, [FIRMWARE_LOOP]);
    let again = merge(
        &first.diagnoses,
        vec![diagnosis(FIRMWARE_LOOP, 20), diagnosis(IMAGE_MISSING, 20)],
    );
    assert_eq!(again.new, [IMAGE_MISSING]);
    assert_eq!(again.diagnoses[0].since, 10, "a problem keeps its start");
    let gone = merge(&again.diagnoses, vec![diagnosis(IMAGE_MISSING, 30)]);
    assert!(gone.new.is_empty());
    assert_eq!(gone.resolved, [FIRMWARE_LOOP]);
}

#[test]
fn a_stored_secret_too_long_for_the_model() {
    // Config and pool rows cannot hold one any more; an older state file can.
    let config = crate::config::parse("", "test", Path::new("/")).unwrap();
    let mut phone: crate::detect::Phone = serde_json::from_str(
        r#"{"mac":"001B0C18BDC1","ip":null,"model":"7906","hostname":null,"vendor_class":null,
            "extension":"1006","secret":"0123456789abcdef0123456789abcdef","label":null,
            "state":"leased","first_seen":0,"last_seen":0,"written_at":0,"files":[]}"#,
    )
    .unwrap();
    let root = MemRoot {
        files: BTreeSet::new(),
        text: BTreeMap::new(),
        written: RefCell::new(BTreeMap::new()),
    };
    let inventory = crate::firmware::Inventory::default();
    let context = Context {
        config: &config,
        firmware: &inventory,
        root: &root,
        now: 5,
        tftp_visible: true,
    };
    let found = diagnose(&phone, &context);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].code, SECRET_TOO_LONG);
    assert!(found[0].message.contains("32 characters"), "{found:?}");
    assert!(found[0].message.contains("at most 30"), "{found:?}");
    assert!(!found[0].message.contains("0123456789abcdef"));
    phone.secret = Some("short".into());
    assert!(diagnose(&phone, &context).is_empty());
}

#[test]
fn times_for_people() {
    let utc = &crate::localtime::UTC;
    assert_eq!(time_text(utc, 0), "1970-01-01 00:00:00 +00:00");
    assert_eq!(time_text(utc, 1_451_470_532), "2015-12-30 10:15:32 +00:00");
    assert_eq!(time_text(utc, 951_782_400), "2000-02-29 00:00:00 +00:00");
    assert_eq!(time_text(utc, -1), "1969-12-31 23:59:59 +00:00");
    assert_eq!(span(45), "45 s");
    assert_eq!(span(242), "4 min");
    assert_eq!(span(7200), "2 h");
    assert_eq!(span(-3), "0 s");
}

/// A hand-edited phone file and the record disagree: said, with the file's name and what
/// differs, never the secrets themselves (field-evidence.md §5).
#[test]
fn a_phone_file_that_disagrees_with_the_record() {
    let config = crate::config::parse("", "test", Path::new("/")).unwrap();
    let phone: crate::detect::Phone = serde_json::from_str(
        r#"{"mac":"001B0C18BDC1","ip":null,"model":"7941","hostname":null,"vendor_class":null,
            "extension":"2000","secret":"recorded-secret","label":null,
            "state":"leased","first_seen":0,"last_seen":0,"written_at":0,"files":[]}"#,
    )
    .unwrap();
    let file = |extension: &str, secret: &str| {
        format!("<device><sipProfile><sipLines><line button=\"1\"><featureLabel>x</featureLabel><name>{extension}</name><authName>{extension}</authName><authPassword>{secret}</authPassword></line></sipLines></sipProfile></device>")
    };
    let inventory = crate::firmware::Inventory::default();
    for (text, want) in [
        (
            file("2001", "recorded-secret"),
            Some("gives extension 2001"),
        ),
        (file("2000", "hand-typed"), Some("holds another secret")),
        (file("2000", "recorded-secret"), None),
    ] {
        let root = MemRoot {
            files: BTreeSet::new(),
            text: BTreeMap::from([("SEP001B0C18BDC1.cnf.xml".to_string(), text)]),
            written: RefCell::new(BTreeMap::new()),
        };
        let context = Context {
            config: &config,
            firmware: &inventory,
            root: &root,
            now: 5,
            tftp_visible: true,
        };
        let found: Vec<_> = diagnose(&phone, &context)
            .into_iter()
            .filter(|d| d.code == FILE_DISAGREES)
            .collect();
        match want {
            Some(words) => {
                assert_eq!(found.len(), 1, "{found:?}");
                assert!(found[0].message.contains(words), "{found:?}");
                assert!(!found[0].message.contains("secret-"), "{found:?}");
                assert!(!found[0].message.contains("hand-typed"), "{found:?}");
            }
            None => assert!(found.is_empty(), "{found:?}"),
        }
    }
}
