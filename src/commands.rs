//! The one-shot commands: `scan`, `status`, `check`, and loading the config file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, Config, ConfigError};
use crate::detect::Phone;
use crate::models::Model;
use crate::provision::{now, Provisioner};
use crate::sources::tail::StartAt;
use crate::sources::Source;
use crate::state::{self, StateStore};
use crate::template::Templates;

/// Reads and checks the config. With no `-c`, the default path is used when it exists, and
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

/// the built-in defaults when it does not.
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
    if let Some(pool_path) = config.provision.pool_csv.clone() {
        read_pool(&mut config, &pool_path)?;
    }
    resolve_journal_users(&mut config, &name)?;
    Ok(config)
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
    let binary = own_binary();
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

/// Where this program is, for the hook lines of the snippets.
pub fn own_binary() -> String {
    std::env::current_exe()
        .ok()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|| crate::snippets::DEFAULT_BINARY.to_string())
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
    user.sort();
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
    provisioner.set_firmware(crate::provision::firmware_in(&config.tftp_root));
    provisioner.write_shared();
    provisioner.rewrite_all();
    let roots = vec![config.tftp_root.to_string_lossy().into_owned()];
    let mut n_lines = 0;
    let mut n_bad_lines = 0;
    let mut n_missing = 0;
    let mut positions = Vec::new();
    for source_config in &config.sources {
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
        match source.read(now(), &roots, &mut observations) {
            Ok(stats) => {
                n_lines += stats.n_lines;
                n_bad_lines += stats.n_bad_lines;
            }
            Err(err) => {
                tracing::warn!(source = %source_config.path.display(), %err, "cannot read source")
            }
        }
        provisioner.observe(&observations);
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
    first_seen: i64,
    last_seen: i64,
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
        Ok(daemon) => daemon.line(crate::diagnose::time_text),
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
            ago(now - view.last_seen),
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
    use crate::diagnose::{span, time_text};
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
    out.push_str("\ntimeline (UTC; lines logged without a time zone as written):\n");
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
