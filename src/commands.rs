//! The one-shot commands: `scan`, `status`, `check`, and loading the config file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, Config, ConfigError};
use crate::detect::Phone;
use crate::localtime::LocalZone;
use crate::models::Model;
use crate::provision::{now, Provisioner};
use crate::sources::tail::StartAt;
use crate::sources::Source;
use crate::state::{self, StateStore};
use crate::template::Templates;

/// The system's time zone, for a config that names none: Debian's `/etc/timezone`, else the
/// zone `/etc/localtime` links to; UTC when neither names one the phones can show (OpenWrt
/// keeps a POSIX rule in `/etc/TZ`, not a name: set `[provision] time_zone` there).
pub fn system_clock() -> crate::timezone::SiteClock {
    let from_file = fs::read_to_string("/etc/timezone")
        .ok()
        .and_then(|text| text.lines().next().map(|line| line.trim().to_string()));
    let from_link = fs::read_link("/etc/localtime").ok().and_then(|target| {
        let target = target.to_string_lossy().into_owned();
        target
            .split_once("zoneinfo/")
            .map(|(_, name)| name.to_string())
    });
    from_file
        .into_iter()
        .chain(from_link)
        .find_map(|name| crate::timezone::resolve(&name).ok())
        .unwrap_or_else(|| crate::timezone::resolve("UTC").expect("UTC is in the table"))
}

/// Where [`load_zone`] looks for the system's time zone; the tests point it at their own files.
#[derive(Debug, Clone, Copy)]
pub struct ZoneFiles<'a> {
    /// OpenWrt's POSIX TZ string, written from uci `system.timezone` at boot.
    pub etc_tz: &'a Path,
    /// OpenWrt's uci file holding `option timezone '…'`, read only when `etc_tz` is missing.
    pub uci_system: &'a Path,
    /// The TZif file (usually a link into the zoneinfo directory).
    pub localtime: &'a Path,
    /// Where `TZ=:America/New_York` and `TZ=America/New_York` are looked up.
    pub zoneinfo: &'a Path,
}

impl ZoneFiles<'static> {
    /// The files of a real system.
    pub fn system() -> ZoneFiles<'static> {
        ZoneFiles {
            etc_tz: Path::new("/etc/TZ"),
            uci_system: Path::new("/etc/config/system"),
            localtime: Path::new("/etc/localtime"),
            zoneinfo: Path::new("/usr/share/zoneinfo"),
        }
    }
}

/// The system's time zone, the first of: the `TZ` environment variable (a POSIX TZ string, a
/// `:path` or a zone name), OpenWrt's `/etc/TZ` (a POSIX string), uci `system.timezone` in
/// `/etc/config/system` when `/etc/TZ` is missing, `/etc/localtime` (TZif, the link followed);
/// else UTC. A source that is there but unusable is skipped and named in the problems (`check`
/// prints them, the daemon logs them at start).
pub fn load_zone(tz: Option<&str>, files: &ZoneFiles<'_>) -> (LocalZone, Vec<String>) {
    let mut problems = Vec::new();
    if let Some(tz) = tz.map(str::trim).filter(|tz| !tz.is_empty() && *tz != ":") {
        match zone_from_tz(tz, files) {
            Ok(zone) => return (zone, problems),
            Err(err) => problems.push(format!("time zone: TZ={tz:?} skipped: {err}")),
        }
    }
    let posix = match fs::read_to_string(files.etc_tz) {
        Ok(text) => Some((text, files.etc_tz.display().to_string())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => fs::read_to_string(files.uci_system)
            .ok()
            .and_then(|text| uci_timezone(&text))
            .map(|rule| {
                let origin = format!("{} system.timezone", files.uci_system.display());
                (rule, origin)
            }),
        Err(err) => {
            problems.push(format!(
                "time zone: {} skipped: {}",
                files.etc_tz.display(),
                crate::fsutil::plain(&err)
            ));
            None
        }
    };
    if let Some((text, origin)) = posix {
        let rule = text.lines().next().unwrap_or_default();
        match LocalZone::from_posix(rule, &origin) {
            Ok(zone) => return (zone, problems),
            Err(err) => problems.push(format!("time zone: {origin} skipped: {err}")),
        }
    }
    match fs::read(files.localtime) {
        Ok(bytes) => {
            let origin = match fs::read_link(files.localtime) {
                Ok(target) => format!("{} -> {}", files.localtime.display(), target.display()),
                Err(_) => files.localtime.display().to_string(),
            };
            match LocalZone::from_tzif(&bytes, &origin) {
                Ok(zone) => return (zone, problems),
                Err(err) => problems.push(format!("time zone: {origin} skipped: {err}")),
            }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => problems.push(format!(
            "time zone: {} skipped: {}",
            files.localtime.display(),
            crate::fsutil::plain(&err)
        )),
    }
    (LocalZone::utc(), problems)
}

/// The zone the `TZ` variable names: `:path` or `:Area/City` (a TZif file), a POSIX string,
/// or, as the C library also accepts, a zone name without the colon.
fn zone_from_tz(tz: &str, files: &ZoneFiles<'_>) -> Result<LocalZone, String> {
    let origin = format!("TZ={tz}");
    let file = match tz.strip_prefix(':') {
        Some(name) => name,
        None => match LocalZone::from_posix(tz, &origin) {
            Ok(zone) => return Ok(zone),
            Err(err) if tz.contains(',') => return Err(err.to_string()),
            Err(_) => tz,
        },
    };
    let path = if file.starts_with('/') {
        PathBuf::from(file)
    } else if file.split('/').any(|part| part == ".." || part.is_empty()) {
        return Err(format!("{file:?} is not a zone name"));
    } else {
        files.zoneinfo.join(file)
    };
    let bytes = fs::read(&path)
        .map_err(|err| format!("{}: {}", path.display(), crate::fsutil::plain(&err)))?;
    LocalZone::from_tzif(&bytes, &origin).map_err(|err| format!("{}: {err}", path.display()))
}

/// The value of `option timezone` in a uci `config system` section (OpenWrt writes `/etc/TZ`
/// from it at boot).
fn uci_timezone(text: &str) -> Option<String> {
    let mut in_system = false;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("config"), Some(kind)) => in_system = kind == "system",
            (Some("option"), Some("timezone")) if in_system => {
                let value = line.trim().strip_prefix("option")?.trim_start();
                let value = value.strip_prefix("timezone")?.trim();
                let value = value
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                    .unwrap_or(value);
                return Some(value.to_string()).filter(|value| !value.is_empty());
            }
            _ => {}
        }
    }
    None
}

/// [`load_zone`] on this system, with the process's `TZ`.
pub fn system_zone() -> (LocalZone, Vec<String>) {
    let tz = std::env::var("TZ").ok();
    load_zone(tz.as_deref(), &ZoneFiles::system())
}

/// The directory relative paths in the config file at `path` are resolved against.
fn base_dir(path: &Path) -> PathBuf {
    let base_dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    fs::canonicalize(&base_dir).unwrap_or(base_dir)
}

/// For `status` when the config does not load: the built-in defaults with the file's own
/// `state_dir`, found by a tolerant scan for a top-level `state_dir = "…"` line (the rest of
/// the file may be broken in any way).
pub fn fallback_config(path: Option<&Path>) -> Config {
    let mut config = Config::default();
    let path = path.unwrap_or(Path::new(config::DEFAULT_PATH));
    let Ok(text) = fs::read_to_string(path) else {
        return config;
    };
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            break;
        }
        let Some(value) = line
            .strip_prefix("state_dir")
            .and_then(|rest| rest.trim_start().strip_prefix('='))
            .map(str::trim)
        else {
            continue;
        };
        let quoted = ['"', '\''].into_iter().find_map(|quote| {
            let (inside, _) = value.strip_prefix(quote)?.split_once(quote)?;
            Some(inside)
        });
        if let Some(dir) = quoted.filter(|dir| !dir.is_empty() && !dir.contains('\\')) {
            config.state_dir = base_dir(path).join(dir);
        }
    }
    config
}

/// Reads and checks the config. With no `-c`, the default path is used when it exists, and
/// the built-in defaults when it does not. The system's time zone is loaded with it.
pub fn load_config(path: Option<&Path>) -> Result<Config, Vec<ConfigError>> {
    let (path, required) = match path {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from(config::DEFAULT_PATH), false),
    };
    let name = path.display().to_string();
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound && !required => {
            let mut config = Config::default();
            config.provision.clock = Some(system_clock());
            config.apply_system_defaults(system_facts());
            (config.local_zone, config.zone_problems) = system_zone();
            return Ok(config);
        }
        Err(err) => {
            return Err(vec![ConfigError {
                file: name,
                line: None,
                message: format!("cannot read: {}", crate::fsutil::plain(&err)),
            }])
        }
    };
    let mut config = config::parse(&text, &name, &base_dir(&path))?;
    config.path = Some(path);
    if config.provision.clock.is_none() {
        config.provision.clock = Some(system_clock());
    }
    (config.local_zone, config.zone_problems) = system_zone();
    if let Some(pool_path) = config.provision.pool_csv.clone() {
        read_pool(&mut config, &pool_path)?;
    }
    config.apply_system_defaults(system_facts());
    resolve_journal_users(&mut config, &name)?;
    Ok(config)
}

/// What [`config::default_sources`] needs to know about this system.
fn system_facts() -> config::SystemFacts {
    config::SystemFacts {
        openwrt: Path::new("/etc/openwrt_release").exists(),
        syslog_file: Path::new("/var/log/syslog").exists(),
        journald: Path::new("/run/systemd/journal/socket").exists(),
    }
}

/// The uids of the user names of `journal` sources, from `/etc/passwd` (numbers were taken
/// by the config already). A name that is not there is an error: it would let no entry in.
fn resolve_journal_users(config: &mut Config, file: &str) -> Result<(), Vec<ConfigError>> {
    let mut errors = Vec::new();
    for source in &mut config.sources {
        for user in &source.users {
            if user.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            match crate::fsutil::user_id(user) {
                Ok(Some(uid)) => source.uids.push(uid),
                Ok(None) => errors.push(format!("source.users: {user:?} is not in /etc/passwd: name the user the server runs as (dnsmasq, tftp, root), or its uid")),
                Err(err) => errors.push(format!("source.users: {user:?}: cannot read /etc/passwd: {}", crate::fsutil::plain(&err))),
            }
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(errors
        .into_iter()
        .map(|message| ConfigError {
            file: file.to_string(),
            line: None,
            message,
        })
        .collect())
}

/// Reads the FreePBX export of `[provision] pool_csv`. An unreadable file is a config error;
/// bad rows are skipped and listed in `pool_problems`.
fn read_pool(config: &mut Config, path: &Path) -> Result<(), Vec<ConfigError>> {
    let bytes = fs::read(path).map_err(|err| {
        vec![ConfigError {
            file: path.display().to_string(),
            line: None,
            message: format!(
                "provision.pool_csv: cannot read: {}",
                crate::fsutil::plain(&err)
            ),
        }]
    })?;
    let parsed = crate::parse::freepbx_csv::parse(&String::from_utf8_lossy(&bytes));
    config.provision.pool = parsed
        .items
        .into_iter()
        .map(|entry| config::PoolExtension {
            extension: entry.extension,
            name: entry.name,
            secret: entry.secret,
        })
        .collect();
    config.provision.pool_problems = parsed
        .errors
        .iter()
        .map(|error| format!("{}:{}: {}", path.display(), error.line, error.reason))
        .collect();
    Ok(())
}

/// The text of one DHCP snippet (`snippet KIND`): `dnsmasq`, `isc`, `uci`, `kea` or `hex`.
pub fn snippet(config: &Config, kind: &str) -> Result<String, String> {
    let tftp_server = config
        .tftp_server
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    if kind == "hex" {
        if tftp_server.is_unspecified() {
            return Err("snippet hex needs dhcp.tftp_server in the config".into());
        }
        return Ok(crate::snippets::hex(tftp_server));
    }
    let binary = crate::provision::own_binary();
    let config_path = config.path.as_ref().map(|path| path.display().to_string());
    let input = crate::snippets::SnippetInput {
        tftp_server,
        binary: &binary,
        config_path: config_path.as_deref(),
        dnsmasq_script: config.snippets.dnsmasq_script.as_deref(),
        reservations: &[],
        cisco_ouis: crate::oui::blocks(),
        tftp_unique_root: config.tftp_unique_root,
    };
    match kind {
        "dnsmasq" => Ok(crate::snippets::dnsmasq(&input)),
        "isc" | "kea" if tftp_server.is_unspecified() => Err(format!(
            "snippet {kind} needs dhcp.tftp_server in the config"
        )),
        "isc" => Ok(crate::snippets::isc(&input)),
        "kea" => Ok(crate::snippets::kea(&input)),
        "uci" => Ok(crate::snippets::uci(&input)),
        other => Err(format!(
            "unknown snippet {other:?}: expected dnsmasq, isc, uci, kea or hex"
        )),
    }
}

/// The templates in force: the built-ins, replaced by the files of `templates_dir`. Errors
/// name the file and line.
pub fn load_templates(config: &Config) -> Result<Templates, Vec<String>> {
    let Some(dir) = &config.templates_dir else {
        return Ok(Templates::built_in());
    };
    let entries = fs::read_dir(dir).map_err(|err| {
        vec![format!(
            "templates_dir {}: {}",
            dir.display(),
            crate::fsutil::plain(&err)
        )]
    })?;
    let mut user = Vec::new();
    let mut errors = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(text) => user.push((name, text, path.display().to_string())),
            Err(err) => errors.push(format!(
                "{}: {}",
                path.display(),
                crate::fsutil::plain(&err)
            )),
        }
    }
    user.sort_unstable();
    match Templates::with_overrides(&user) {
        Ok(templates) if errors.is_empty() => Ok(templates),
        Ok(_) => Err(errors),
        Err(template_errors) => {
            errors.extend(template_errors.iter().map(ToString::to_string));
            Err(errors)
        }
    }
}

/// `scan`: reads every source from its beginning once, provisions, prints a summary.
pub fn scan(config: Config) -> Result<String, String> {
    if !config.tftp_root.is_dir() {
        return Err(format!(
            "tftp_root {} is not a directory",
            config.tftp_root.display()
        ));
    }
    let store = StateStore::open(&config.state_dir).map_err(|err| err.to_string())?;
    let (state, warning) = store.load().map_err(|err| err.to_string())?;
    if let Some(warning) = warning {
        tracing::error!(%warning, "state file unreadable; starting with an empty state");
    }
    let templates = load_templates(&config).map_err(|errors| errors.join("\n"))?;
    let mut provisioner = Provisioner::new(config.clone(), templates, store, state);
    // No log to read: no TFTP request could be seen, so none is missed either.
    provisioner.set_tftp_visible(tftp_source_exists(&config));
    provisioner.adopt_from_root();
    // Each source is read whole before the next: remember every event of the logs, so one
    // logged twice (two sources of one server) counts once here as in the daemon.
    provisioner.set_dedup_capacity(1 << 16, 1 << 12);
    provisioner.set_firmware(crate::provision::firmware_in(&config.tftp_root));
    provisioner.write_shared();
    provisioner.rewrite_all();
    let roots = vec![config.tftp_root.to_string_lossy().into_owned()];
    let mut n_lines = 0;
    let mut n_bad_lines = 0;
    let mut n_missing = 0;
    let mut positions = Vec::new();
    for (index, source_config) in config.sources.iter().enumerate() {
        if source_config.kind.is_command() {
            // A command's output has no beginning to read from.
            n_missing += 1;
            continue;
        }
        let mut source = Source::new(source_config, StartAt::Beginning);
        if !source_config.path.exists() {
            n_missing += 1;
            continue;
        }
        let mut observations = Vec::new();
        let context = crate::parse::tftp_log::Context {
            now: now(),
            tftp_roots: &roots,
            zone: &provisioner.config().local_zone,
        };
        match source.read(&context, &mut observations) {
            Ok(stats) => {
                n_lines += stats.n_lines;
                n_bad_lines += stats.n_bad_lines;
            }
            Err(err) => {
                tracing::warn!(source = %source_config.path.display(), %err, "cannot read source")
            }
        }
        provisioner.observe_from(Some(u8::try_from(index).unwrap_or(u8::MAX)), &observations);
        if let Some(position) = source.position() {
            positions.push((source_config.path.to_string_lossy().into_owned(), position));
        }
    }
    // What the live daemon would have found by now: deadlines that passed since the lines
    // were written (times come from the lines).
    provisioner.tick(now());
    provisioner.state_mut().positions.extend(positions);
    provisioner.save().map_err(|err| err.to_string())?;
    let phones = provisioner.engine().phones();
    let n_provisioned = phones
        .values()
        .filter(|phone| phone.is_provisioned())
        .count();
    let totals = provisioner.totals;
    let counters = provisioner.engine().counters;
    let mut problems: Vec<(&str, usize)> = Vec::new();
    for code in crate::diagnose::CODES {
        let n = phones
            .values()
            .filter(|phone| phone.diagnoses.iter().any(|d| d.code == *code))
            .count();
        if n > 0 {
            problems.push((code, n));
        }
    }
    let problems = if problems.is_empty() {
        "none".to_string()
    } else {
        let list: Vec<String> = problems
            .iter()
            .map(|(code, n)| format!("{n} {code}"))
            .collect();
        format!(
            "{} (`cisco-autoprov status`, `cisco-autoprov explain MAC`)",
            list.join(", ")
        )
    };
    Ok(format!(
        "scanned {} sources ({} missing or commands), {} lines/leases, {} unparsable\n\
         phones: {} known, {} provisioned\n\
         files: {} written, {} left alone (not ours), {} failed\n\
         skipped requests: {} suspicious names, {} for another device's config, {} non-cisco macs\n\
         problems: {}",
        config.sources.len() - n_missing,
        n_missing,
        n_lines,
        n_bad_lines,
        phones.len(),
        n_provisioned,
        totals.n_written,
        totals.n_kept,
        totals.n_write_errors,
        counters.suspicious_names,
        counters.foreign_requests,
        counters.non_cisco_macs,
        problems,
    ))
}

/// `approve|deny|forget MAC`: handed to the running daemon over its socket, or applied to
/// the state directly when no daemon holds it.
pub fn decide(config: &Config, mac: &str, verb: &str) -> Result<String, String> {
    let (mac, decision) = crate::hook::parse_decision(mac, verb)?;
    match StateStore::open(&config.state_dir) {
        Ok(store) => {
            let (state, _) = store.load().map_err(|err| err.to_string())?;
            let templates = load_templates(config).map_err(|errors| errors.join("\n"))?;
            let mut provisioner = Provisioner::new(config.clone(), templates, store, state);
            provisioner.set_tftp_visible(tftp_source_exists(config));
            provisioner.set_firmware(crate::provision::firmware_in(&config.tftp_root));
            provisioner.decide(mac, decision);
            Ok(format!("{verb} {mac}: done (no daemon was running)"))
        }
        Err(crate::state::StateError::Locked(_)) => {
            let event = crate::hook::HookEvent::Decision {
                mac: mac.to_string(),
                decision: verb.to_string(),
            };
            let message = serde_json::to_vec(&event).map_err(|err| err.to_string())?;
            let socket =
                std::os::unix::net::UnixDatagram::unbound().map_err(|err| err.to_string())?;
            socket
                .send_to(&message, &config.notify_socket)
                .map_err(|err| {
                    format!(
                        "the daemon holds the state but its socket {} does not answer: {}",
                        config.notify_socket.display(),
                        crate::fsutil::plain(&err)
                    )
                })?;
            Ok(format!("{verb} {mac}: handed to the running daemon"))
        }
        Err(err) => Err(err.to_string()),
    }
}

/// One phone as `status --json` prints it. No secret unless asked.
#[derive(Debug, Serialize)]
struct PhoneView<'a> {
    mac: String,
    ip: Option<String>,
    model: Option<&'static str>,
    model_name: Option<&'a str>,
    extension: Option<&'a str>,
    label: Option<&'a str>,
    state: &'static str,
    boot_state: &'static str,
    stuck_reason: Option<&'a str>,
    diagnoses: Vec<DiagnosisView<'a>>,
    hostname: Option<&'a str>,
    vendor_class: Option<&'a str>,
    files: Vec<&'a str>,
    /// Unix seconds.
    first_seen: i64,
    last_seen: i64,
    /// The same in the system's local time, RFC 3339 with the offset
    /// (`2026-11-21T03:18:09-05:00`).
    first_seen_local: String,
    last_seen_local: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<crate::detect::Origin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<crate::detect::Decision>,
    leaks: &'a [crate::detect::Leak],
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    /// Its other lines; their secrets only with `--show-secrets`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lines: Vec<LineStatus<'a>>,
    /// The generated settings password, only with `--show-secrets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_password: Option<&'a str>,
}

/// A line after line 1 as `status --json` prints it.
#[derive(Debug, Serialize)]
struct LineStatus<'a> {
    extension: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

/// A diagnosis as `status --json` prints it; `explain` adds the fix.
#[derive(Debug, Serialize)]
struct DiagnosisView<'a> {
    code: &'a str,
    message: &'a str,
}

impl<'a> PhoneView<'a> {
    fn of(phone: &'a Phone, config: &Config, show_secrets: bool) -> PhoneView<'a> {
        PhoneView {
            mac: phone.mac.to_string(),
            ip: phone.ip.map(|ip| ip.to_string()),
            model: phone.model().map(|model: Model| model.base()),
            model_name: phone.model.as_deref(),
            extension: phone.extension.as_deref(),
            label: phone.label.as_deref(),
            state: phone.status_word(
                config.provision.policy,
                config.inventory.contains_key(&phone.mac),
            ),
            boot_state: phone.state.as_str(),
            stuck_reason: phone.stuck().map(|diagnosis| diagnosis.code.as_str()),
            diagnoses: phone
                .diagnoses
                .iter()
                .map(|diagnosis| DiagnosisView {
                    code: &diagnosis.code,
                    message: &diagnosis.message,
                })
                .collect(),
            hostname: phone.hostname.as_deref(),
            vendor_class: phone
                .vendor_class
                .as_deref()
                .map(|vc| vc.trim_end_matches('\0')),
            files: phone.files.iter().map(String::as_str).collect(),
            first_seen: phone.first_seen,
            last_seen: phone.last_seen,
            first_seen_local: config.local_zone.rfc3339(phone.first_seen),
            last_seen_local: config.local_zone.rfc3339(phone.last_seen),
            origin: phone.origin,
            decision: phone.decision,
            leaks: &phone.leaks,
            secret: phone.secret.as_deref().filter(|_| show_secrets),
            lines: phone
                .lines
                .iter()
                .map(|line| LineStatus {
                    extension: &line.extension,
                    label: line.label.as_deref(),
                    secret: Some(line.secret.as_str()).filter(|_| show_secrets),
                })
                .collect(),
            phone_password: phone.phone_password.as_deref().filter(|_| show_secrets),
        }
    }
}

/// `status`: whether the daemon runs (the first line of the table; with `daemon_only` the
/// only one, or a JSON object), then the phones of the state file, as a table or JSON (an
/// array, as before: the daemon is not in it).
pub fn status(
    config: &Config,
    json: bool,
    show_secrets: bool,
    daemon_only: bool,
) -> Result<String, String> {
    let daemon = state::daemon_status(&config.state_dir);
    if daemon_only && json {
        return daemon.map(|daemon| daemon.to_json());
    }
    let daemon_line = match &daemon {
        Ok(daemon) => daemon.line(|time| config.local_zone.format(time)),
        Err(err) => format!("daemon: unknown ({err})"),
    };
    if daemon_only {
        return Ok(daemon_line);
    }
    let phones = phones(config, json, show_secrets)?;
    Ok(if json {
        phones
    } else {
        format!("{daemon_line}\n{phones}")
    })
}

/// The phones of the state file, as a table or JSON.
fn phones(config: &Config, json: bool, show_secrets: bool) -> Result<String, String> {
    let state = state::read(&config.state_dir).map_err(|err| err.to_string())?;
    let views: Vec<PhoneView<'_>> = state
        .phones
        .iter()
        .map(|phone| PhoneView::of(phone, config, show_secrets))
        .collect();
    if json {
        return serde_json::to_string_pretty(&views).map_err(|err| err.to_string());
    }
    if views.is_empty() {
        return Ok(format!(
            "no phones known yet (state in {})",
            config.state_dir.display()
        ));
    }
    let now = now();
    let mut rows = vec![[
        "MAC".to_string(),
        "IP".to_string(),
        "MODEL".to_string(),
        "EXT".to_string(),
        "STATE".to_string(),
        "LAST SEEN".to_string(),
        "DIAGNOSIS".to_string(),
    ]];
    for view in &views {
        rows.push([
            view.mac.clone(),
            view.ip.clone().unwrap_or_else(|| "-".into()),
            view.model_name.unwrap_or("?").to_string(),
            view.extension.unwrap_or("-").to_string(),
            view.state.to_string(),
            format!(
                "{} ({})",
                config.local_zone.format(view.last_seen),
                ago(now - view.last_seen)
            ),
            if view.diagnoses.is_empty() {
                "-".into()
            } else {
                view.diagnoses
                    .iter()
                    .map(|diagnosis| diagnosis.code)
                    .collect::<Vec<_>>()
                    .join(",")
            },
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.pop();
    Ok(out)
}

/// `explain MAC`: one phone's state, timeline and every diagnosis with its fix, from the
/// state file (what the daemon or the last `scan` found).
pub fn explain(config: &Config, mac: &str) -> Result<String, String> {
    use crate::diagnose::span;
    use std::fmt::Write as _;
    let mac: crate::mac::Mac = mac.parse().map_err(|err| format!("{err}"))?;
    let state = state::read(&config.state_dir).map_err(|err| err.to_string())?;
    let Some(phone) = state.phones.iter().find(|phone| phone.mac == mac) else {
        return Err(format!(
            "no phone {mac} is known (state in {}; `cisco-autoprov status` lists the known ones)",
            config.state_dir.display()
        ));
    };
    let view = PhoneView::of(phone, config, false);
    let time_text = |time: i64| config.local_zone.format(time);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "phone {mac}: model {}, extension {}, address {}",
        view.model_name.unwrap_or("unknown"),
        view.extension.unwrap_or("none"),
        view.ip.as_deref().unwrap_or("unknown"),
    );
    let _ = write!(out, "state: {}", view.state);
    if view.state != view.boot_state {
        let _ = write!(out, " (boot state: {})", view.boot_state);
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "seen from {} to {}; files: {}",
        time_text(phone.first_seen),
        time_text(phone.last_seen),
        if view.files.is_empty() {
            "none".to_string()
        } else {
            view.files.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "\ntimeline (local time, zone from {}):",
        config.local_zone.origin()
    );
    if phone.timeline.is_empty() {
        out.push_str("  nothing recorded yet\n");
    }
    for event in phone.timeline.iter() {
        let what = match &event.what {
            crate::detect::timeline::What::Lease { ip } => format!("DHCP lease {ip}"),
            crate::detect::timeline::What::Tftp { file, outcome } => {
                format!("TFTP {file}: {}", outcome.as_str())
            }
        };
        let _ = write!(out, "  {}  {what}", time_text(event.time));
        if event.count > 1 {
            let _ = write!(
                out,
                " (x{}, the last at {})",
                event.count,
                time_text(event.last_time())
            );
        }
        out.push('\n');
    }
    if let Some(since) = phone.awaiting_tftp {
        let _ = writeln!(
            out,
            "  waiting since {} for its first TFTP request (a problem after {})",
            time_text(since),
            span(config.diagnostics.no_tftp_after_s)
        );
    }
    if phone.diagnoses.is_empty() {
        out.push_str("\nno problem found\n");
    } else {
        out.push_str("\nproblems:\n");
        for diagnosis in &phone.diagnoses {
            let _ = writeln!(
                out,
                "  {} (since {}):",
                diagnosis.code,
                time_text(diagnosis.since)
            );
            out.push_str(&wrap(&diagnosis.message, "    ", 96));
            out.push_str(&wrap(&format!("what to do: {}", diagnosis.fix), "    ", 96));
        }
    }
    Ok(out.trim_end().to_string())
}

/// Breaks `text` into lines of at most `width` characters (words longer than that stay
/// whole), each starting with `indent`.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn ago(seconds: i64) -> String {
    match seconds {
        s if s < 0 => "now".into(),
        s if s < 120 => format!("{s}s ago"),
        s if s < 7200 => format!("{}m ago", s / 60),
        s if s < 172_800 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// `check`: the problems that would stop the daemon or make it useless, one per line.
pub fn check(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    match fs::metadata(&config.tftp_root) {
        Ok(metadata) if metadata.is_dir() => {
            if let Err(err) = probe_writable(&config.tftp_root) {
                problems.push(format!(
                    "tftp_root {} is not writable: {}",
                    config.tftp_root.display(),
                    crate::fsutil::plain(&err)
                ));
            }
        }
        Ok(_) => problems.push(format!(
            "tftp_root {} is not a directory",
            config.tftp_root.display()
        )),
        Err(err) => problems.push(format!(
            "tftp_root {}: {}",
            config.tftp_root.display(),
            crate::fsutil::plain(&err)
        )),
    }
    if let Err(errors) = load_templates(config) {
        problems.extend(errors);
    }
    problems.extend(
        config
            .provision
            .pool_problems
            .iter()
            .map(|problem| format!("pool_csv row skipped: {problem}")),
    );
    let existing_state_ancestor = config.state_dir.ancestors().find(|dir| dir.is_dir());
    match existing_state_ancestor {
        Some(dir) => {
            if let Err(err) = probe_writable(dir) {
                problems.push(format!(
                    "state_dir {} cannot be written: {}",
                    config.state_dir.display(),
                    crate::fsutil::plain(&err)
                ));
            }
        }
        None => problems.push(format!(
            "state_dir {} has no existing parent",
            config.state_dir.display()
        )),
    }
    problems.extend(pbx_problems(config));
    problems.extend(
        config
            .dialplan_problems
            .iter()
            .map(|problem| format!("dialplan: {problem}")),
    );
    problems.extend(config.zone_problems.iter().cloned());
    let locale = config.provision.network_locale;
    if crate::provision::network_locale_in_root(config) != locale {
        problems.push(format!(
            "provision.country: the network locale {locale} is not in the tftp root ({}): install cisco's locale package there; until then the phones use United_States tones",
            config.tftp_root.join(locale).display()
        ));
    }
    for source in &config.sources {
        if source.kind.is_command() {
            if !program_exists(&source.command[0]) {
                problems.push(format!(
                    "source {}: program {} not found{}",
                    source.label(),
                    source.command[0],
                    if source.kind == crate::config::SourceKind::Journal {
                        " (install systemd, or use a log source on a host without journald)"
                    } else {
                        ""
                    }
                ));
            }
            continue;
        }
        let dir = source.path.parent().unwrap_or(Path::new("/"));
        if !dir.is_dir() {
            problems.push(format!(
                "source {} ({}): directory {} does not exist",
                source.path.display(),
                source.kind.as_str(),
                dir.display()
            ));
        } else if source.path.exists() {
            if let Err(err) = fs::File::open(&source.path) {
                problems.push(format!(
                    "source {} cannot be read: {}",
                    source.path.display(),
                    crate::fsutil::plain(&err)
                ));
            }
        }
    }
    problems
}

/// Whether a source that carries TFTP requests exists: a log file that is there, or a
/// command or journal source (the daemon refines this as it reads; hooks count once they
/// report a request).
pub fn tftp_source_exists(config: &Config) -> bool {
    config.sources.iter().any(|source| {
        source.kind.is_command()
            || (source.kind == crate::config::SourceKind::Log && source.path.is_file())
    })
}

/// What `check` reports as a warning (exit status unchanged): sources that do not exist yet
/// or hold no line, and a config with no source of TFTP requests. Each with the fix
/// (field-evidence.md §5: on Debian 12, journald only, `/var/log/syslog` does not exist and
/// `check` used to say ok).
pub fn check_warnings(config: &Config) -> Vec<String> {
    use crate::config::SourceKind;
    let mut warnings = Vec::new();
    for source in &config.sources {
        if source.kind.is_command() {
            continue;
        }
        let path = &source.path;
        let exists = match fs::metadata(path) {
            Ok(meta) => {
                if meta.len() == 0 && source.kind == SourceKind::Log {
                    warnings.push(format!(
                        "source {} holds no line yet: check that the server logs there (tftpd-hpa only with -v in TFTP_OPTIONS; dnsmasq with log-facility= or to syslog)",
                        path.display()
                    ));
                }
                true
            }
            Err(_) => false,
        };
        if exists || !path.parent().is_some_and(Path::is_dir) {
            continue;
        }
        let fix = match source.kind {
            SourceKind::Log if Path::new("/run/systemd/journal/socket").exists() => {
                "this system keeps its logs in journald (Debian 12 has no /var/log/syslog): use a source of kind = \"journal\" instead"
            }
            SourceKind::Log => {
                "check the path: where does the server log? (rsyslog: /var/log/syslog; dnsmasq: log-facility=; atftpd: --logfile)"
            }
            SourceKind::DnsmasqLeases => {
                "dnsmasq writes it at its first lease; check the path (dhcp-leasefile=, /var/lib/misc/dnsmasq.leases on Debian, /tmp/dhcp.leases on OpenWrt)"
            }
            _ => "the DHCP server writes it at its first lease; check the path",
        };
        warnings.push(format!(
            "source {} ({}) does not exist: {fix}",
            path.display(),
            source.kind.as_str()
        ));
    }
    let tftp_source = config
        .sources
        .iter()
        .any(|source| source.kind == SourceKind::Log || source.kind.is_command());
    if !tftp_source {
        warnings.push("no log, journal or command source: TFTP requests are seen only through hooks (dnsmasq's dhcp-script, OpenWrt's tftp hotplug); without them boot progress stops at the lease".to_string());
    }
    warnings
}

/// What keeps phones from registering on the PBX side: generated secrets no PBX file
/// carries, a group or reload program that does not exist, a PBX file's directory missing.
pub fn pbx_problems(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    let pbx = &config.pbx;
    if pbx.pjsip_snippet.is_none() && pbx.freepbx_csv.is_none() {
        let generated_inventory: Vec<String> = config
            .inventory
            .values()
            .filter(|entry| entry.secret.is_none())
            .map(|entry| entry.extension.clone())
            .collect();
        let range = config.provision.policy != crate::config::Policy::Inventory;
        if range || !generated_inventory.is_empty() {
            let who = if range {
                format!(
                    "phones given an extension from [provision] extensions ({first:0width$}-{last:0width$}){}",
                    if config.provision.pool.is_empty() {
                        ""
                    } else {
                        " once pool_csv is used up"
                    },
                    first = config.provision.extensions.first,
                    last = config.provision.extensions.last,
                    width = config.provision.extensions.width,
                )
            } else {
                format!(
                    "[[phone]] entries without a secret (extension {})",
                    generated_inventory.join(", ")
                )
            };
            problems.push(format!(
                "{who} get a generated secret that the pbx never learns, so they cannot register: set [pbx] pjsip_snippet (plain asterisk) or [pbx] freepbx_csv (freepbx bulk handler), or give every [[phone]] the secret the pbx has and set policy = \"inventory\""
            ));
        }
    }
    let hands_off = config.provision.policy == crate::config::Policy::Auto;
    if hands_off
        && pbx.pjsip_snippet.is_some()
        && pbx.dialplan_file.is_none()
        && pbx.unapproved_context == crate::pbx::DEFAULT_UNAPPROVED_CONTEXT
    {
        problems.push(format!(
            "phones that get credentials on a dhcp lease alone are put in context {} until approved, which only [pbx] dialplan_file defines: set it (e.g. /etc/asterisk/extensions.cisco-autoprov.conf, #included from extensions.conf), or name a context of your own in [pbx] unapproved_context; until then their calls fail",
            crate::pbx::DEFAULT_UNAPPROVED_CONTEXT
        ));
    }
    for (path, key) in [
        (&pbx.pjsip_snippet, "pbx.pjsip_snippet"),
        (&pbx.freepbx_csv, "pbx.freepbx_csv"),
        (&pbx.dialplan_file, "pbx.dialplan_file"),
    ] {
        let Some(dir) = path.as_deref().and_then(Path::parent) else {
            continue;
        };
        if !dir.as_os_str().is_empty() && !dir.is_dir() {
            problems.push(format!("{key}: directory {} does not exist", dir.display()));
        }
    }
    if let Some(group) = &pbx.group {
        match crate::fsutil::group_id(group) {
            Ok(Some(_)) => {}
            Ok(None) => problems.push(format!(
                "pbx.group {group:?} is not in /etc/group: name the group the pbx runs as (asterisk), or its number"
            )),
            Err(err) => problems.push(format!("pbx.group {group:?}: cannot read /etc/group: {}", crate::fsutil::plain(&err))),
        }
    }
    if let Some(program) = pbx.reload_command.first() {
        if !program_exists(program) {
            problems.push(format!("pbx.reload_command: program {program} not found"));
        }
    }
    problems
}

/// True when `program` is a path that exists, or a name found in `PATH`.
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Writes and removes a temporary file in `dir`.
fn probe_writable(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(
        "{}check.{}",
        crate::fsutil::TEMP_PREFIX,
        std::process::id()
    ));
    fs::write(&probe, b"")?;
    fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW_YORK: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/zoneinfo/America/New_York"
    );
    /// 2026-07-01T12:00:00Z: EDT (-4 h) in New York, CEST (+2 h) in Berlin.
    const JULY: i64 = 1_782_907_200;

    struct Box {
        dir: tempfile::TempDir,
    }

    impl Box {
        fn new() -> Box {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir_all(dir.path().join("config")).unwrap();
            fs::create_dir_all(dir.path().join("zoneinfo/America")).unwrap();
            fs::copy(NEW_YORK, dir.path().join("zoneinfo/America/New_York")).unwrap();
            Box { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn files(&self) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
            (
                self.path("TZ"),
                self.path("config/system"),
                self.path("localtime"),
                self.path("zoneinfo"),
            )
        }

        /// The zone's offset in July, where it came from, and the problems.
        fn load(&self, tz: Option<&str>) -> (i64, String, Vec<String>) {
            let (etc_tz, uci_system, localtime, zoneinfo) = self.files();
            let files = ZoneFiles {
                etc_tz: &etc_tz,
                uci_system: &uci_system,
                localtime: &localtime,
                zoneinfo: &zoneinfo,
            };
            let (zone, problems) = load_zone(tz, &files);
            (
                zone.offset_at_utc(JULY),
                zone.origin().to_string(),
                problems,
            )
        }
    }

    const BERLIN: &str = "CET-1CEST,M3.5.0,M10.5.0/3";
    const UCI: &str = "\nconfig system\n\toption hostname 'OpenWrt'\n\toption timezone 'CET-1CEST,M3.5.0,M10.5.0/3'\n\toption zonename 'Europe/Berlin'\n\nconfig timeserver 'ntp'\n\toption enabled '1'\n";

    /// TZ > /etc/TZ > uci (only without /etc/TZ) > /etc/localtime > UTC.
    #[test]
    fn the_zone_comes_from_the_first_source_there() {
        let site = Box::new();
        let ok = Vec::<String>::new();
        assert_eq!(site.load(None), (0, "UTC".to_string(), ok.clone()));

        std::os::unix::fs::symlink(
            site.path("zoneinfo/America/New_York"),
            site.path("localtime"),
        )
        .unwrap();
        let (offset, origin, problems) = site.load(None);
        assert_eq!((offset, problems), (-4 * 3600, ok.clone()));
        assert!(origin.contains("localtime -> "), "{origin}");
        assert!(origin.ends_with("zoneinfo/America/New_York"), "{origin}");

        fs::write(site.path("config/system"), UCI).unwrap();
        let (offset, origin, _) = site.load(None);
        assert_eq!(offset, 2 * 3600);
        assert!(
            origin.ends_with("config/system system.timezone"),
            "{origin}"
        );

        // OpenWrt writes /etc/TZ from uci at boot: when it is there, it wins.
        fs::write(site.path("TZ"), "<+0330>-3:30\n").unwrap();
        let (offset, origin, _) = site.load(None);
        assert_eq!(
            (offset, origin),
            (3 * 3600 + 1800, site.path("TZ").display().to_string())
        );

        // TZ wins over everything: a POSIX string, a `:name`, a `:path`, a bare name.
        assert_eq!(site.load(Some(BERLIN)).0, 2 * 3600);
        assert_eq!(site.load(Some(BERLIN)).1, format!("TZ={BERLIN}"));
        assert_eq!(site.load(Some(":America/New_York")).0, -4 * 3600);
        assert_eq!(site.load(Some("America/New_York")).0, -4 * 3600);
        assert_eq!(site.load(Some(&format!(":{NEW_YORK}"))).0, -4 * 3600);
        // An empty TZ is no TZ.
        assert_eq!(site.load(Some("")).0, 3 * 3600 + 1800);
    }

    /// A source that is there but unusable is named and skipped, never fatal.
    #[test]
    fn unusable_sources_are_skipped_and_named() {
        let site = Box::new();
        fs::write(site.path("localtime"), "not a tzif file").unwrap();
        fs::write(site.path("TZ"), "garbage,,\n").unwrap();
        let (offset, origin, problems) = site.load(Some("Mars/Olympus_Mons"));
        assert_eq!((offset, origin.as_str()), (0, "UTC"));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("time zone: TZ=\"Mars/Olympus_Mons\" skipped: "),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("/TZ skipped: \"garbage,,\" is not a usable POSIX TZ string"),
            "{problems:?}"
        );
        assert!(
            problems[2].contains("localtime skipped: not a usable TZif file"),
            "{problems:?}"
        );
        // Names that would leave the zoneinfo directory are refused, not read.
        let (_, _, problems) = site.load(Some(":../zoneinfo/America/New_York"));
        assert!(problems[0].contains("is not a zone name"), "{problems:?}");
        // A broken rule in TZ is not looked up as a file name.
        let (_, _, problems) = site.load(Some("CET-1CEST,M3.5.0"));
        assert!(problems[0].contains("POSIX TZ string"), "{problems:?}");
    }

    #[test]
    fn uci_timezone_values() {
        assert_eq!(uci_timezone(UCI).as_deref(), Some(BERLIN));
        assert_eq!(
            uci_timezone("config system\n\toption timezone \"EST5EDT,M3.2.0,M11.1.0\"\n")
                .as_deref(),
            Some("EST5EDT,M3.2.0,M11.1.0")
        );
        assert_eq!(
            uci_timezone("config system\n\toption timezone UTC\n").as_deref(),
            Some("UTC")
        );
        // Only in the `system` section, and not empty.
        assert_eq!(
            uci_timezone("config other\n\toption timezone 'UTC'\n"),
            None
        );
        assert_eq!(uci_timezone("config system\n\toption timezone ''\n"), None);
        assert_eq!(uci_timezone(""), None);
    }
}
