//! Why a phone is stuck: rules over a phone's record, each with a stable code, a message that
//! names the file or address, and a fix in plain words.
//!
//! Pure: the rules read the phone's record (its timeline, its `.loads` streak, the lease it
//! waits after, its leak alerts) and what the edge hands them in a [`Context`]: the config,
//! the firmware inventory of the TFTP root, a [`Root`] to look up names and read a config file
//! the daemon did not write, and the time to judge deadlines at. The edge
//! (`provision`) runs them after every batch of observations for the phones it touched, at the
//! deadlines [`deadline`] names, and for every phone when the firmware or the config changes;
//! [`merge`] tells it which diagnoses are new (logged once at warn) and which went away.
//!
//! | code | rule |
//! |---|---|
//! | `no-tftp-after-lease` | a lease, then no TFTP request for `no_tftp_after_s` |
//! | `firmware-loop` | the same `.loads` asked for `loop_count` times within `loop_window_s`, no image after |
//! | `image-missing` | an image asked for that is not in the TFTP root |
//! | `mac-case` | its config asked for with the MAC in another case than the file's |
//! | `config-never-fetched` | asked for files since its config was written, never for the config, then quiet |
//! | `secret-too-long` | a secret longer than the model takes (its record, or a file we did not write) |
//! | `phone-label-invalid` | a `phoneLabel` with spaces or over 12 characters (a file we did not write, or user templates) |
//! | `config-fetched-by-other-ip` | the leak alerts: its config fetched by another address |
//! | `file-disagrees` | its own file, written or edited by hand, gives another extension or secret than its record |
//! | `secret-unknown-to-pbx` | a generated secret (range extension, `[[phone]]` without one) and no `[pbx] pjsip_snippet` or `freepbx_csv` to tell the PBX |

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::config::{Config, SourceKind, MAX_FIELD_LEN};
use crate::detect::names::{classify, TftpName};
use crate::detect::timeline::Outcome;
use crate::detect::{Diagnosis, Phone, PhoneState};
use crate::firmware::{Inventory, Load, Version};
use crate::models::{ConfigFamily, Model};

pub use crate::detect::codes::*;

/// The TFTP root as the rules see it. The edge looks at the disk; tests use data.
pub trait Root {
    /// The names in the root equal to `name` without regard to ASCII case (`name` itself
    /// when it exists).
    fn names_like(&self, name: &str) -> Vec<String>;
    /// The text of a (small) file in the root, when it exists and can be read.
    fn text(&self, name: &str) -> Option<String>;
}

/// What the rules need besides the phone.
pub struct Context<'a> {
    /// Thresholds, DHCP servers and snippets (for the fix of `no-tftp-after-lease`).
    pub config: &'a Config,
    /// The loads and images in the TFTP root.
    pub firmware: &'a Inventory,
    /// Names and config files in the TFTP root.
    pub root: &'a dyn Root,
    /// Unix seconds to judge deadlines at.
    pub now: i64,
    /// TFTP requests can be seen at all: a source that carries them (a log, a command, the
    /// journal) is readable, or a hook reported one. Without, a lease followed by "no
    /// request" says nothing about the phone (field-evidence.md §5: with a missing log every
    /// phone was reported `no-tftp-after-lease`).
    pub tftp_visible: bool,
}

/// What a rule found: the message, the fix, and when the problem began as far as the events
/// tell (the deadline that passed, the request that showed it), so that `scan` over a log
/// stamps it as the live daemon did.
type Finding = (String, String, i64);

/// Runs every rule on `phone`, in the order of [`CODES`] ([`merge`] keeps the `since` of a
/// diagnosis found before).
pub fn diagnose(phone: &Phone, cx: &Context<'_>) -> Vec<Diagnosis> {
    let mut found: Vec<(&'static str, Finding)> = Vec::new();
    if let Some(finding) = no_tftp_after_lease(phone, cx) {
        found.push((NO_TFTP_AFTER_LEASE, finding));
    }
    if let Some(finding) = firmware_loop(phone, cx) {
        found.push((FIRMWARE_LOOP, finding));
    }
    if let Some(finding) = image_missing(phone, cx) {
        found.push((IMAGE_MISSING, finding));
    }
    if let Some(finding) = mac_case(phone, cx) {
        found.push((MAC_CASE, finding));
    }
    // The rules above name a cause; this one only says that the config never came.
    if found.iter().all(|(code, _)| *code == NO_TFTP_AFTER_LEASE) {
        if let Some(finding) = config_never_fetched(phone, cx) {
            found.push((CONFIG_NEVER_FETCHED, finding));
        }
    }
    let file = foreign_config(phone, cx);
    if let Some(finding) = secret_too_long(phone, file.as_ref(), cx.now) {
        found.push((SECRET_TOO_LONG, finding));
    }
    if let Some(finding) = phone_label_invalid(file.as_ref(), cx.now) {
        found.push((PHONE_LABEL_INVALID, finding));
    }
    if let Some(finding) = config_fetched_by_other_ip(phone, cx) {
        found.push((CONFIG_FETCHED_BY_OTHER_IP, finding));
    }
    if let Some(finding) = file_disagrees(phone, file.as_ref(), cx) {
        found.push((FILE_DISAGREES, finding));
    }
    if let Some(finding) = secret_unknown_to_pbx(phone, cx) {
        found.push((SECRET_UNKNOWN_TO_PBX, finding));
    }
    found
        .into_iter()
        .map(|(code, (message, fix, since))| Diagnosis {
            code: code.to_string(),
            message,
            fix,
            since,
        })
        .collect()
}

/// The outcome of running the rules again: the phone's diagnoses, which of them are new, and
/// which went away.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// The diagnoses now, in rule order; those found before keep their `since`.
    pub diagnoses: Vec<Diagnosis>,
    /// The codes found now and not before (logged at warn, once).
    pub new: Vec<String>,
    /// The codes found before and not now.
    pub resolved: Vec<String>,
}

/// Compares what the rules found with what the phone had.
pub fn merge(old: &[Diagnosis], found: Vec<Diagnosis>) -> Update {
    let mut update = Update::default();
    for mut diagnosis in found {
        match old.iter().find(|before| before.code == diagnosis.code) {
            Some(before) => diagnosis.since = before.since,
            None => update.new.push(diagnosis.code.clone()),
        }
        update.diagnoses.push(diagnosis);
    }
    update.resolved = old
        .iter()
        .filter(|before| !update.diagnoses.iter().any(|now| now.code == before.code))
        .map(|before| before.code.clone())
        .collect();
    update
}

/// The earliest time at which a rule that depends on time alone may start to hold for this
/// phone, when it does not hold already: the `no_tftp_after_s` deadline after a lease, and the
/// quiet time after which a phone that never fetched its config counts as stuck. `None`: no
/// deadline; the daemon arms no timer for this phone.
pub fn deadline(phone: &Phone, config: &Config) -> Option<i64> {
    let has = |code: &str| phone.diagnoses.iter().any(|d| d.code == code);
    let no_tftp = phone
        .awaiting_tftp
        .filter(|_| !has(NO_TFTP_AFTER_LEASE))
        .map(|since| since.saturating_add(config.diagnostics.no_tftp_after_s));
    let config_wait = config_wait(phone, config).filter(|_| !has(CONFIG_NEVER_FETCHED));
    match (no_tftp, config_wait) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

// ---------------------------------------------------------------------------------------
// The rules. Each returns (message, fix) when it holds.

fn no_tftp_after_lease(phone: &Phone, cx: &Context<'_>) -> Option<Finding> {
    if !cx.tftp_visible {
        return None;
    }
    let since = phone.awaiting_tftp?;
    let waited = cx.now.saturating_sub(since);
    if waited < cx.config.diagnostics.no_tftp_after_s {
        return None;
    }
    let ip = phone
        .ip
        .map_or_else(|| "its address".to_string(), |ip| ip.to_string());
    let servers = dhcp_servers(cx.config);
    let commands: Vec<String> = servers
        .iter()
        .map(|server| format!("`cisco-autoprov snippet {server}`"))
        .collect();
    let message = format!(
        "no TFTP request for {} since its lease of {ip} ({}): DHCP option 150/66 (the TFTP server) is probably not reaching it; {} prints what {} needs",
        span(waited),
        time_text(&cx.config.local_zone, since),
        commands.join(" or "),
        if servers.len() == 1 { "the DHCP server" } else { "each DHCP server" },
    );
    let mut fix = String::new();
    for server in &servers {
        let _ = write!(fix, "{} ", snippet_fix(server, cx.config));
    }
    fix.push_str(
        "Then power-cycle the phone. Without the option, set the TFTP server on the phone itself: \
         unlock its settings (**#), Network Configuration, Alternate TFTP = Yes, TFTP Server 1 = \
         this server. A 7940/7960 that shows \"Protocol Application Invalid\" after a half-done \
         upgrade needs the option to finish it. (A phone that was already running when \
         cisco-autoprov first saw its lease asks for nothing until it reboots.)",
    );
    Some((
        message,
        fix,
        since.saturating_add(cx.config.diagnostics.no_tftp_after_s),
    ))
}

/// The DHCP servers the config points at: the snippets it keeps written, else the kinds of its
/// lease sources, else all of them.
pub fn dhcp_servers(config: &Config) -> Vec<&'static str> {
    let snippets = &config.snippets;
    let mut servers: Vec<&'static str> = [
        (snippets.dnsmasq.is_some(), "dnsmasq"),
        (snippets.isc.is_some(), "isc"),
        (snippets.kea.is_some(), "kea"),
        (snippets.uci.is_some(), "uci"),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, server)| *server)
    .collect();
    if servers.is_empty() {
        for source in &config.sources {
            let server = match source.kind {
                SourceKind::DnsmasqLeases => "dnsmasq",
                SourceKind::IscLeases => "isc",
                SourceKind::KeaLeases => "kea",
                SourceKind::Odhcpd => "uci",
                SourceKind::Log | SourceKind::Command | SourceKind::Journal => continue,
            };
            if !servers.contains(&server) {
                servers.push(server);
            }
        }
    }
    if servers.is_empty() {
        servers = vec!["dnsmasq", "isc", "kea", "uci"];
    }
    servers
}

fn snippet_fix(server: &str, config: &Config) -> String {
    let kept = match server {
        "dnsmasq" => config.snippets.dnsmasq.as_ref(),
        "isc" => config.snippets.isc.as_ref(),
        "kea" => config.snippets.kea.as_ref(),
        _ => config.snippets.uci.as_ref(),
    };
    let needs_address = matches!(server, "isc" | "kea") && config.tftp_server.is_none();
    let how = match server {
        "dnsmasq" => "`cisco-autoprov snippet dnsmasq > /etc/dnsmasq.d/cisco-autoprov.conf` (option 150 for Cisco phones only), then restart dnsmasq.",
        "isc" => "`cisco-autoprov snippet isc > /etc/dhcp/cisco-autoprov.conf`, `include \"/etc/dhcp/cisco-autoprov.conf\";` in dhcpd.conf, then restart isc-dhcp-server.",
        "kea" => "`cisco-autoprov snippet kea`: merge the fragment into the Dhcp4 section of kea-dhcp4.conf, then reload Kea.",
        _ => "OpenWrt: `cisco-autoprov snippet uci | uci -q batch && uci commit dhcp && /etc/init.d/dnsmasq restart`.",
    };
    let mut text = match kept {
        Some(path) => format!(
            "cisco-autoprov keeps the {server} snippet written at {}: check that the DHCP server reads it and was restarted since it changed ({how})",
            path.display()
        ),
        None => how.to_string(),
    };
    if needs_address {
        text.push_str(" Set [dhcp] tftp_server in the config first.");
    }
    text
}

fn firmware_loop(phone: &Phone, cx: &Context<'_>) -> Option<Finding> {
    let (file, _) = phone.loads_streak.as_ref()?;
    let last = *phone.loads_times.last()?;
    let window = cx.config.diagnostics.loop_window_s;
    let in_window: Vec<i64> = phone
        .loads_times
        .iter()
        .copied()
        .filter(|&time| last - time <= window)
        .collect();
    if in_window.len() < cx.config.diagnostics.loop_count as usize {
        return None;
    }
    let name = classify(file);
    let model = phone.model().or(match &name {
        TftpName::TermLoads(code) => Model::from_term_code(code),
        _ => None,
    });
    let model_text = model.map_or("phone".to_string(), |m| m.name().to_string());
    let family = model.and_then(family_digits).or_else(|| match &name {
        TftpName::Loads => load_family(file.trim_end_matches(".loads")),
        _ => None,
    });
    let mut message = format!(
        "asked for {file} {} times in {} without fetching an image",
        in_window.len(),
        span(last - in_window[0])
    );
    let last_outcome = phone
        .timeline
        .iter()
        .rev()
        .find(|event| event.file() == Some(file.as_str()))
        .and_then(|event| event.outcome());
    // What the file names, from the inventory: (images, the load they make up).
    let (present, images, load): (bool, Vec<String>, Option<&Load>) = match &name {
        TftpName::TermLoads(_) => {
            match cx.firmware.term_files.iter().find(|(term, _)| term == file) {
                Some((_, images)) => (
                    true,
                    images.clone(),
                    images
                        .first()
                        .and_then(|image| cx.firmware.load_containing(image)),
                ),
                None => (false, Vec::new(), None),
            }
        }
        _ => match cx.firmware.get(file.trim_end_matches(".loads")) {
            Some(load) => (true, load.images.clone(), Some(load)),
            None => (false, Vec::new(), None),
        },
    };
    let package = family
        .as_deref()
        .map(|digits| package_models(digits, &model_text));
    let import = |what: &str| {
        format!(
            "`cisco-autoprov firmware import PACKAGE` ({}{what}); `cisco-autoprov firmware list` shows every load and what it misses",
            package.as_deref().map_or_else(String::new, |models| format!(
                "a package named like cmterm-{models}-sip.<version>.zip or .cop.sgn; "
            ))
        )
    };
    if !present && last_outcome == Some(Outcome::Sent) {
        let _ = write!(
            message,
            ": the TFTP server sent it, but it is not in {}",
            cx.config.tftp_root.display()
        );
        let fix = "Point tftp_root at the directory the TFTP server serves: cisco-autoprov reads the firmware and writes the phones' files there.".to_string();
        return Some((message, fix, last));
    }
    if !present {
        message.push_str(": the file is not in the TFTP root");
        let fix = format!(
            "Put the {model_text}'s firmware into the TFTP root: {}. Then power-cycle the phone.",
            import("the package holds the .loads files and the images")
        );
        return Some((message, fix, last));
    }
    if last_outcome == Some(Outcome::NotFound) {
        message.push_str(": it was not in the TFTP root when the phone asked, and is there now");
        let fix = "Power-cycle the phone: it asks again at boot.".to_string();
        return Some((message, fix, last));
    }
    if images.is_empty() {
        message.push_str(": cisco-autoprov cannot read which images it names");
        let fix = format!(
            "Import the package it came from again: {}.",
            import("add --force to replace a damaged file")
        );
        return Some((message, fix, last));
    }
    let missing: Vec<&str> = images
        .iter()
        .filter(|image| !cx.firmware.images.contains(*image))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let _ = write!(
            message,
            ": it names images that are not in the TFTP root: {}",
            missing.join(", ")
        );
        let fix = format!(
            "Import the package that holds them again{}: {}. A phone must never be offered a load without its images.",
            load.map_or(String::new(), |load| format!(" (the load {})", load.name)),
            import("it unpacks every image next to the .loads file")
        );
        return Some((message, fix, last));
    }
    let target = load.map_or_else(|| file.clone(), |load| load.name.clone());
    let java = model.and_then(|m| m.family()) == Some(ConfigFamily::Sepxml)
        || matches!(name, TftpName::TermLoads(_));
    if !java {
        let _ = write!(
            message,
            ": the load {target} is complete, yet the phone does not take it"
        );
        let fix = format!(
            "Check that {target} is a load for the {model_text}. A 7940/7960 on old firmware may need an intermediate load first (Cisco's upgrade matrix); power-cycle it after each step."
        );
        return Some((message, fix, last));
    }
    if load
        .and_then(|load| load.version.as_ref())
        .is_some_and(|version: &Version| version.is(8, 5, 2))
    {
        let _ = write!(
            message,
            ": it does not take even the 8.5.2 stepping stone {target}"
        );
        let fix = "Erase the phone's flash and let it load again: hold # while powering it up until the line buttons flash, then key 3491672850*#. If it still loops, give it an older load first.".to_string();
        return Some((message, fix, last));
    }
    let _ = write!(
        message,
        ": the load {target} is complete, so the phone's own firmware is too old for it (a 79x1/7906/7911 below 8.3.3 loops on 9.x and needs the 8.5.2 load first)"
    );
    let step_package = package.as_deref().map_or_else(
        || format!("the 8.5.2 package for the {model_text}"),
        |models| format!("an 8.5.2 package for the {model_text} (named like cmterm-{models}-sccp.8-5-2.cop.sgn)"),
    );
    let ladder = model
        .and_then(|m| m.info().loads_prefix)
        .and_then(|prefix| cx.firmware.ladder_step(prefix));
    let fix = match (&name, ladder) {
        (TftpName::TermLoads(_), ladder) => format!(
            "A phone in firmware-download mode reads only {file}: make it point at the 8.5.2 images by importing {step_package} over the current one (`cisco-autoprov firmware import --force PACKAGE`){}. Once the phone runs 8.5.2, import the package of {target} again with --force: it then takes {target}.",
            ladder.map_or(String::new(), |load| format!("; the 8.5.2 load {} is already in the TFTP root, but {file} does not point at it", load.name))
        ),
        (_, Some(ladder)) => format!(
            "cisco-autoprov now names the 8.5.2 load {} in this phone's config, and {target} once it took it; power-cycle the phone if it does not pick it up.",
            ladder.name
        ),
        (_, None) => format!(
            "Import {step_package} into the TFTP root (`cisco-autoprov firmware import PACKAGE`): cisco-autoprov then gives this phone the 8.5.2 load first and {target} after it."
        ),
    };
    Some((message, fix, last))
}

fn image_missing(phone: &Phone, cx: &Context<'_>) -> Option<Finding> {
    let mut missing: Vec<&str> = Vec::new();
    let mut at = None;
    for event in phone.timeline.iter() {
        let (Some(file), Some(outcome)) = (event.file(), event.outcome()) else {
            continue;
        };
        if classify(file) != TftpName::Image || missing.contains(&file) {
            continue;
        }
        let answered = matches!(outcome, Outcome::NotFound | Outcome::Requested);
        let sent_later = phone
            .timeline
            .iter()
            .rev()
            .find(|later| later.file() == Some(file))
            .and_then(|later| later.outcome())
            == Some(Outcome::Sent);
        if answered && !sent_later && !cx.firmware.images.contains(file) {
            missing.push(file);
            at.get_or_insert(event.time);
        }
    }
    let first = *missing.first()?;
    let message = format!(
        "asked for {}, which {} not in the TFTP root",
        missing.join(", "),
        if missing.len() == 1 { "is" } else { "are" }
    );
    let holder = cx.firmware.load_containing(first).map(|load| {
        (
            load.name.clone(),
            load_family(&load.name).map(|digits| {
                format!(
                    "cmterm-{}-{}.{}",
                    package_models(&digits, "phone"),
                    load.protocol.as_str(),
                    load_release(&load.name)
                )
            }),
        )
    });
    let fix = match holder {
        Some((load, package)) => format!(
            "The load {load} names it: import its package again ({}; `cisco-autoprov firmware import PACKAGE`). `cisco-autoprov firmware list` shows what each load misses.",
            package.map_or_else(
                || "the cmterm package of that load".to_string(),
                |stem| format!("named like {stem}.zip, .cop or .cop.sgn")
            )
        ),
        None => {
            let term = cx
                .firmware
                .term_files
                .iter()
                .find(|(_, images)| images.iter().any(|image| image == first))
                .map(|(term, _)| term.clone());
            let family = image_family(first)
                .map(|digits| format!(" for the {}", package_models(&digits, "phone").replace('_', "/")))
                .unwrap_or_default();
            format!(
                "{} Import the firmware package{family} whose images carry version {} (`cisco-autoprov firmware import PACKAGE`).",
                match term {
                    Some(term) => format!("{term} names it, but no .loads file in the TFTP root does."),
                    None => "No .loads file in the TFTP root names it: the phone's config or an old term file points at a load that is not here.".to_string(),
                },
                first.split_once('.').map_or(first, |(_, rest)| rest.rsplit_once('.').map_or(rest, |(version, _)| version)),
            )
        }
    };
    Some((message, fix, at.unwrap_or(cx.now)))
}

fn mac_case(phone: &Phone, cx: &Context<'_>) -> Option<Finding> {
    if phone.fetched_since_write || phone.state == PhoneState::Configured {
        return None;
    }
    let mut checked: Vec<&str> = Vec::new();
    for event in phone.timeline.iter() {
        let Some(file) = event.file() else { continue };
        if checked.contains(&file) || phone.files.contains(file) {
            continue;
        }
        checked.push(file);
        let named = match classify(file) {
            TftpName::SepConfig(mac) | TftpName::SipConfig(mac) => mac,
            _ => continue,
        };
        if named != phone.mac {
            continue;
        }
        let ours = phone
            .files
            .iter()
            .find(|name| name.eq_ignore_ascii_case(file))
            .cloned();
        let like = cx.root.names_like(file);
        if like.iter().any(|name| name == file) {
            continue;
        }
        let Some(actual) = ours.or_else(|| like.into_iter().next()) else {
            continue;
        };
        let message = format!(
            "asked for {file}, but the file is {actual}: TFTP names are case-sensitive, so the phone gets \"not found\""
        );
        let asks_upper = file
            .get(3..15)
            .is_some_and(|hex| !hex.bytes().any(|b| b.is_ascii_lowercase()));
        let fix = if asks_upper {
            format!(
                "Cisco phones ask with the MAC in upper case: rename the file (`mv {actual} {file}` in the TFTP root, {}), or make the TFTP server match names without regard to case (tftpd-hpa: a remap file given with -m, holding an `ri` rule).",
                cx.config.tftp_root.display()
            )
        } else {
            format!(
                "Give it the name it asks for: `ln -s {actual} {file}` in the TFTP root ({}), or make the TFTP server match names without regard to case (tftpd-hpa: a remap file given with -m, holding an `ri` rule). Cisco 79xx phones ask with the MAC in upper case; one asking in lower case was set up by hand.",
                cx.config.tftp_root.display()
            )
        };
        return Some((message, fix, event.time));
    }
    None
}

/// When a provisioned phone that asked for files since its config was (re)written, but never
/// for the config, counts as stuck: its latest request plus `no_tftp_after_s` (after an image,
/// at least `loop_window_s`: the phone is flashing and reboots on its own).
fn config_wait(phone: &Phone, config: &Config) -> Option<i64> {
    if !phone.is_provisioned()
        || phone.files.is_empty()
        || !phone.tftp_since_write
        || phone.fetched_since_write
        || phone.state == PhoneState::Configured
    {
        return None;
    }
    let last = phone.tftp_at?;
    let after_image = phone
        .timeline
        .iter()
        .rev()
        .find_map(|event| event.file())
        .is_some_and(|file| classify(file) == TftpName::Image);
    let thresholds = &config.diagnostics;
    let quiet = if after_image {
        thresholds.no_tftp_after_s.max(thresholds.loop_window_s)
    } else {
        thresholds.no_tftp_after_s
    };
    Some(last.saturating_add(quiet))
}

fn config_never_fetched(phone: &Phone, cx: &Context<'_>) -> Option<Finding> {
    let at = config_wait(phone, cx.config)?;
    if cx.now < at {
        return None;
    }
    let config_file = phone
        .files
        .iter()
        .find(|name| matches!(classify(name), TftpName::SepConfig(_)))
        .or_else(|| phone.files.iter().next())?
        .clone();
    let last = phone
        .timeline
        .iter()
        .rev()
        .find(|event| event.file().is_some());
    let asked_missing = phone.timeline.iter().rev().find(|event| {
        event.file().is_some_and(|file| phone.files.contains(file))
            && event.outcome() == Some(Outcome::NotFound)
    });
    let read_default = phone.timeline.iter().any(|event| {
        event
            .file()
            .is_some_and(|file| file.eq_ignore_ascii_case("XMLDefault.cnf.xml"))
    });
    let converting = phone.model.is_none() && read_default;
    let mut message = if converting {
        format!(
            "its model is not known yet, so it has no SEP{}.cnf.xml and read XMLDefault.cnf.xml; it did not go on to the sip load XMLDefault.cnf.xml names for its model",
            phone.mac
        )
    } else {
        format!("did not fetch its config {config_file}")
    };
    if let Some(event) = last {
        let _ = write!(
            message,
            "; its last request was {} ({}) at {}",
            event.file().unwrap_or_default(),
            event.outcome().map_or("?", Outcome::as_str),
            time_text(&cx.config.local_zone, event.last_time())
        );
    }
    if let Some(event) = asked_missing {
        let _ = write!(
            message,
            "; it asked for it at {} when it was not there yet",
            time_text(&cx.config.local_zone, event.last_time())
        );
    } else if read_default && !converting {
        message.push_str(
            "; it read XMLDefault.cnf.xml, which a phone reads when it has no file of its own",
        );
    }
    let convert = if converting {
        "An SCCP phone converts to SIP with the load XMLDefault.cnf.xml names for its device type: put the SIP firmware for its model into the TFTP root (cisco-autoprov firmware import PACKAGE), then power-cycle it. "
    } else {
        ""
    };
    let fix = convert.to_string() + "Power-cycle the phone: it asks for its config at every boot. If it stops at the same place again, a phone that came from another system may hold that system's trust list (CTL/ITL) and refuse files it did not sign: erase it (Settings, Security Configuration, Trust List, Erase) or reset the phone to factory settings (hold # while powering up, then 3491672850*# on 79x1/79x2/79x5/797x, 123456789*0# on 7940/7960).";
    Some((message, fix, at))
}

/// The phone's `SEP<MAC>.cnf.xml` when its text is not simply what cisco-autoprov renders
/// from its record: a file we did not write (hand-made, another provisioning tool), or one
/// written from user templates. `(name, text, ours)`.
fn foreign_config(phone: &Phone, cx: &Context<'_>) -> Option<(String, String, bool)> {
    let name = format!("SEP{}.cnf.xml", phone.mac);
    let ours = phone.files.contains(&name);
    if ours && cx.config.templates_dir.is_none() {
        return None;
    }
    let text = cx.root.text(&name)?;
    Some((name, text, ours))
}

/// `status` and the files never disagree silently (field-evidence.md §5): a phone file we
/// did not write (or one edited since) whose extension or secret is not the record's is
/// what the phone registers with, while the PBX files carry the record's. `foreign` is the
/// SEP file [`foreign_config`] already read, if it did.
fn file_disagrees(
    phone: &Phone,
    foreign: Option<&(String, String, bool)>,
    cx: &Context<'_>,
) -> Option<Finding> {
    use crate::parse::phone_file::{parse_sep_xml, parse_sip_cnf};
    let extension = phone.extension.as_deref()?;
    let secret = phone.secret.as_deref()?;
    type Parser = fn(&str) -> Result<crate::parse::phone_file::PhoneFile, String>;
    let parsers: [(String, Parser); 2] = [
        (format!("SEP{}.cnf.xml", phone.mac), parse_sep_xml),
        (format!("SIP{}.cnf", phone.mac), parse_sip_cnf),
    ];
    for (name, parse) in parsers {
        if phone.files.contains(&name) {
            continue;
        }
        let read_here;
        let text = match foreign {
            Some((read, text, _)) if *read == name => Some(text.as_str()),
            _ => {
                read_here = cx.root.text(&name);
                read_here.as_deref()
            }
        };
        let Some(file) = text.and_then(|text| parse(text).ok()) else {
            continue;
        };
        let message = if file.extension != extension {
            format!(
                "{name} gives extension {}, but cisco-autoprov assigned it {extension}: the phone registers as {}, the pbx files carry {extension}",
                file.extension, file.extension
            )
        } else if file.secret != secret {
            format!(
                "{name} holds another secret than cisco-autoprov assigned to extension {extension}: the pbx refuses its REGISTER unless it has the file's"
            )
        } else {
            continue;
        };
        let fix = format!(
            "The file was written or edited by hand, so cisco-autoprov leaves it alone. Delete {name} from the TFTP root ({}) to have it written again from the assignment, or give the phone a [[phone]] entry with the file's extension and secret so both agree.",
            cx.config.tftp_root.display()
        );
        return Some((message, fix, cx.now));
    }
    None
}

/// A phone registers with the secret in its file; when that secret was generated here and no
/// PBX file carries it, the PBX answers every REGISTER with 401 and nothing says why.
fn secret_unknown_to_pbx(phone: &Phone, cx: &Context<'_>) -> Option<Finding> {
    let pbx = &cx.config.pbx;
    if !phone.is_provisioned()
        || !phone.secret_is_ours(cx.config)
        || pbx.pjsip_snippet.is_some()
        || pbx.freepbx_csv.is_some()
    {
        return None;
    }
    let extension = phone.extension.as_deref().unwrap_or_default();
    let message = format!(
        "extension {extension} has a secret cisco-autoprov generated, and no pbx file hands it to the pbx: the phone cannot register"
    );
    let fix = "Set [pbx] pjsip_snippet (plain Asterisk: #include it from pjsip.conf) or [pbx] freepbx_csv (FreePBX: import it with Bulk Handler), or give the phone a [[phone]] entry with the extension and secret the PBX has.".to_string();
    Some((message, fix, cx.now))
}

fn secret_too_long(
    phone: &Phone,
    file: Option<&(String, String, bool)>,
    now: i64,
) -> Option<Finding> {
    let model = phone.model();
    let max = match model.and_then(|m| m.family()) {
        // No source gives the limit of the 7940/7960 SIP firmware.
        Some(ConfigFamily::Sipcnf) => return None,
        _ => model
            .and_then(|m| m.info().max_password_len)
            .unwrap_or(MAX_FIELD_LEN),
    };
    let model_text = model.map_or("79xx".to_string(), |m| m.name().to_string());
    let fix = format!(
        "Use a secret of at most {max} characters, on the PBX too: FreePBX generates 32, and a 7906 given one keeps registering and rebooting while Asterisk logs \"Wrong password\"."
    );
    if let Some(length) = phone
        .secret
        .as_deref()
        .map(|secret| secret.chars().count())
        .filter(|&length| length > max)
    {
        let message = format!(
            "its SIP secret is {length} characters; the {model_text} takes at most {max}, so it cannot register"
        );
        return Some((
            message,
            format!("{fix} Give it a shorter `secret` in its [[phone]] entry (or a shorter one in pool_csv)."),
            now,
        ));
    }
    let (name, text, ours) = file?;
    let length = xml_values(text, "authPassword")
        .map(|value| unescape_xml(&value).chars().count())
        .max()
        .filter(|&length| length > max)?;
    let message = format!(
        "{name} ({}) gives an authPassword of {length} characters; the {model_text} takes at most {max}, so it cannot register",
        if *ours { "written from your templates" } else { "not written by cisco-autoprov" }
    );
    Some((
        message,
        format!(
            "{fix} {}",
            if *ours {
                "Check the template's authPassword value."
            } else {
                "Edit that file, or delete it so that cisco-autoprov writes its own."
            }
        ),
        now,
    ))
}

fn phone_label_invalid(file: Option<&(String, String, bool)>, now: i64) -> Option<Finding> {
    let (name, text, ours) = file?;
    let label = xml_values(text, "phoneLabel")
        .map(|value| unescape_xml(&value))
        .find(|label| label.chars().count() > 12 || label.chars().any(char::is_whitespace))?;
    let shown: String = label.chars().take(40).collect();
    let suggestion: String = label
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(12)
        .collect();
    let message = format!(
        "{name} has phoneLabel {shown:?}: the 7900 series takes at most 12 characters and no spaces"
    );
    let fix = format!(
        "Use a label without spaces of at most 12 characters (e.g. {suggestion:?}) {}.",
        if *ours {
            "in your template (the built-in ones use {{phone_label}}, which is made to fit)"
        } else {
            "in that file, or delete the file so that cisco-autoprov writes its own"
        }
    );
    Some((message, fix, now))
}

fn config_fetched_by_other_ip(phone: &Phone, cx: &Context<'_>) -> Option<Finding> {
    let latest = phone.leaks.last()?;
    let by = match latest.leased_to {
        Some(mac) => format!("{} (leased to {mac})", latest.ip),
        None => format!("{} (no lease)", latest.ip),
    };
    let mut message = format!(
        "its config {} was fetched by {by} at {}",
        latest.file,
        time_text(&cx.config.local_zone, latest.time)
    );
    if phone.leaks.len() > 1 {
        let others: Vec<Ipv4Addr> = phone
            .leaks
            .iter()
            .map(|leak| leak.ip)
            .filter(|ip| *ip != latest.ip)
            .collect();
        let _ = write!(message, "; {} fetches by other devices", phone.leaks.len());
        if !others.is_empty() {
            let _ = write!(
                message,
                " (also {})",
                others
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let fix = "Whoever fetched it has the phone's SIP secret. Give the phone a new one (a new `secret` in its [[phone]] entry; a phone from the range gets a new extension and secret after `cisco-autoprov forget MAC`), update the PBX, and allow TFTP only from the phones' VLAN (README: who gets credentials).".to_string();
    Some((message, fix, latest.time))
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// The two family digits of a Java 79xx model's loads (`11` for the 7906/7911).
fn family_digits(model: Model) -> Option<String> {
    load_family(model.info().loads_prefix?)
}

/// `SIP11.9-4-2SR1-1S` or `SCCP11` → `11`.
fn load_family(name: &str) -> Option<String> {
    let prefix = name.split('.').next().unwrap_or(name).to_ascii_uppercase();
    let digits = prefix
        .strip_prefix("SIP")
        .or_else(|| prefix.strip_prefix("SCCP"))?;
    (digits.len() == 2 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.to_string())
}

/// `jar11sip.9-4-2ES9.sbn` → `11`.
fn image_family(image: &str) -> Option<String> {
    let digits: String = image
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (digits.len() == 2).then_some(digits)
}

/// `SIP11.9-4-2SR1-1S` → `9-4-2SR1-1` (the release in Cisco's package names).
fn load_release(name: &str) -> &str {
    let version = name.split_once('.').map_or(name, |(_, version)| version);
    version.strip_suffix('S').unwrap_or(version)
}

/// The models in the name of Cisco's firmware packages for a family (`cmterm-7911_7906-…`).
fn package_models(digits: &str, fallback: &str) -> String {
    match digits {
        "11" => "7911_7906".to_string(),
        "41" => "7941_7961".to_string(),
        "42" => "7942_7962".to_string(),
        "45" => "7945_7965".to_string(),
        "70" => "7970_7971".to_string(),
        "75" => "7975".to_string(),
        _ => fallback.to_string(),
    }
}

/// The values of `<tag>…</tag>` in a file's text (no nesting: these hold text).
fn xml_values<'a>(text: &'a str, tag: &str) -> impl Iterator<Item = String> + 'a {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let len = rest[start..].find(&close)?;
        let value = rest[start..start + len].to_string();
        rest = &rest[start + len..];
        Some(value)
    })
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A duration for people: `45 s`, `4 min`, `3 h`, `2 d`.
pub fn span(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// Unix seconds as the system's local time with its offset: `2015-12-30 10:15:32 +00:00`.
pub fn time_text(zone: &crate::localtime::LocalZone, time: i64) -> String {
    zone.format(time)
}

#[cfg(test)]
mod tests;
