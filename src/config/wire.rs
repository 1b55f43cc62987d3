//! The shape of the TOML config file, read from toml's spanned document tree. No logic:
//! validation and defaults live in `config::mod`, which turns these into a `Config`.
//!
//! This is written out by hand rather than derived with serde: the derived deserializers
//! for these few structs cost about 100 KB of binary on a router. Errors are in the admin's
//! words: the key with its table (`[pbx] port`), the expected type in plain words ("a whole
//! number", "text in quotes"), "write it in quotes" for a number where text is wanted, and a
//! duplicate key with the line it was first set on.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The whole file.
#[derive(Debug, Default)]
pub struct File {
    pub tftp_root: Option<Spanned<String>>,
    pub tftp_unique_root: Option<Spanned<String>>,
    pub state_dir: Option<Spanned<String>>,
    pub log_level: Option<Spanned<String>>,
    pub save_interval_s: Option<Spanned<i64>>,
    pub notify_socket: Option<Spanned<String>>,
    pub templates_dir: Option<Spanned<String>>,
    pub pbx: Option<Pbx>,
    pub dhcp: Option<Dhcp>,
    pub provision: Option<Provision>,
    pub firmware: Option<Firmware>,
    pub diagnostics: Option<Diagnostics>,
    pub dialplan: Option<DialPlan>,
    pub sources: Option<Vec<Spanned<Source>>>,
    pub phones: Vec<Spanned<Phone>>,
}

/// `[pbx]`
#[derive(Debug, Default)]
pub struct Pbx {
    pub pjsip_snippet: Option<Spanned<String>>,
    pub freepbx_csv: Option<Spanned<String>>,
    pub host: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
    pub voicemail: Option<Spanned<String>>,
    pub transport: Option<Spanned<String>>,
    pub pjsip_udp_transport: Option<Spanned<String>>,
    pub pjsip_tcp_transport: Option<Spanned<String>>,
    pub context: Option<Spanned<String>>,
    pub unapproved_context: Option<Spanned<String>>,
    pub dialplan_file: Option<Spanned<String>>,
    pub mailbox_context: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub reload_command: Option<Spanned<Vec<String>>>,
    pub reload_interval_s: Option<Spanned<i64>>,
}

/// `[dhcp]`
#[derive(Debug, Default)]
pub struct Dhcp {
    pub tftp_server: Option<Spanned<String>>,
    pub dnsmasq_snippet: Option<Spanned<String>>,
    pub isc_snippet: Option<Spanned<String>>,
    pub kea_snippet: Option<Spanned<String>>,
    pub uci_snippet: Option<Spanned<String>>,
    pub reload_command: Option<Spanned<Vec<String>>>,
    pub dnsmasq_script: Option<Spanned<String>>,
    pub reservations: Option<bool>,
}

/// `[provision]`
#[derive(Debug, Default)]
pub struct Provision {
    pub policy: Option<Spanned<String>>,
    pub pool_csv: Option<Spanned<String>>,
    pub max_pending: Option<Spanned<i64>>,
    pub max_new_per_minute: Option<Spanned<i64>>,
    pub extensions: Option<Spanned<String>>,
    pub time_zone: Option<Spanned<String>>,
    pub time_zone_7940: Option<Spanned<String>>,
    pub ntp_server: Option<Spanned<String>>,
    pub country: Option<Spanned<String>>,
    pub phone_password: Option<Spanned<String>>,
    pub ring: Option<Spanned<String>>,
    pub tftp_only: Option<Spanned<String>>,
    pub rotate_secret_on_leak: Option<bool>,
}

/// `[firmware]`
#[derive(Debug, Default)]
pub struct Firmware {
    pub pin: Option<BTreeMap<String, Spanned<String>>>,
}

/// `[dialplan]`
#[derive(Debug, Default)]
pub struct DialPlan {
    pub emergency: Option<Spanned<Vec<String>>>,
    pub outside_prefix: Option<Spanned<String>>,
    pub feature_codes: Option<bool>,
    pub catch_all_timeout: Option<Spanned<i64>>,
    pub patterns: Vec<Spanned<Pattern>>,
}

/// `patterns = [{ match = "0049.", timeout = 3 }]`
#[derive(Debug)]
pub struct Pattern {
    pub pattern: Spanned<String>,
    pub timeout: Spanned<i64>,
}

/// `[diagnostics]`
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub loop_count: Option<Spanned<i64>>,
    pub loop_window_s: Option<Spanned<i64>>,
    pub no_tftp_after_s: Option<Spanned<i64>>,
}

/// `[[source]]`
#[derive(Debug)]
pub struct Source {
    pub kind: Spanned<String>,
    pub path: Option<Spanned<String>>,
    pub command: Option<Spanned<Vec<String>>>,
    /// `journal` only: accepted `_COMM` values.
    pub programs: Option<Spanned<Vec<String>>>,
    /// `journal` only: accepted users, names or uids (an integer is kept as its digits).
    pub users: Option<Spanned<Vec<String>>>,
}

/// `[[phone]]`
#[derive(Debug)]
pub struct Phone {
    pub mac: Spanned<String>,
    pub extension: Spanned<String>,
    pub secret: Option<Spanned<String>>,
    pub label: Option<Spanned<String>>,
    pub speed_dials: Vec<Spanned<SpeedDial>>,
    pub addon_modules: Option<Spanned<Vec<String>>>,
    pub lines: Vec<Spanned<Line>>,
    pub phone_password: Option<Spanned<String>>,
    pub ring: Option<Spanned<String>>,
}

/// `lines = [{ extension = "1007", secret = "…", label = "Sales" }]`
#[derive(Debug)]
pub struct Line {
    pub extension: Spanned<String>,
    pub secret: Option<Spanned<String>>,
    pub label: Option<Spanned<String>>,
}

/// `speed_dials = [{ number = "11", label = "Monika", blf = true }]`
#[derive(Debug)]
pub struct SpeedDial {
    pub number: Spanned<String>,
    pub label: Option<Spanned<String>>,
    pub blf: Option<bool>,
}

/// The first problem in the file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Byte range in the text, when known.
    pub span: Option<Range<usize>>,
    /// Lowercase description.
    pub message: String,
}

type Result<T> = std::result::Result<T, WireError>;
type Value<'i> = Spanned<DeValue<'i>>;

fn error<T>(span: Range<usize>, message: String) -> Result<T> {
    Err(WireError {
        span: Some(span),
        message,
    })
}

/// Where a value sits, as the admin reads the file: `tftp_root`, `[pbx] port`,
/// `[[phone]] extension`, `[[phone]] lines.extension`.
fn place(table: &str, key: &str) -> String {
    match table {
        "" => key.to_string(),
        _ if table.contains(' ') => format!("{table}.{key}"),
        _ => format!("{table} {key}"),
    }
}

/// A value in plain words, for "found …".
fn found(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => format!("text {:?}", text.as_ref()),
        DeValue::Integer(n) => format!("the number {}", n.as_str()),
        DeValue::Float(n) => format!("the number {}", n.as_str()),
        DeValue::Boolean(b) => format!("{b}"),
        DeValue::Datetime(d) => format!("the date {d}"),
        DeValue::Array(_) => "a list".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

fn invalid_type<T>(value: &Value<'_>, at: &str, expected: &str) -> Result<T> {
    error(
        value.span(),
        format!(
            "{at}: expected {expected}, found {}",
            found(value.get_ref())
        ),
    )
}

fn string(value: &Value<'_>, at: &str) -> Result<Spanned<String>> {
    match value.get_ref() {
        DeValue::String(text) => Ok(Spanned::new(value.span(), text.to_string())),
        // `extension = 2000`: TOML reads a number, the phones need the digits as written.
        DeValue::Integer(n) => error(
            value.span(),
            format!("{at}: write it in quotes, \"{}\"", n.as_str()),
        ),
        DeValue::Float(n) => error(
            value.span(),
            format!("{at}: write it in quotes, \"{}\"", n.as_str()),
        ),
        _ => invalid_type(value, at, "text in quotes"),
    }
}

fn integer(value: &Value<'_>, at: &str) -> Result<Spanned<i64>> {
    let DeValue::Integer(n) = value.get_ref() else {
        let expected = match value.get_ref() {
            DeValue::String(_) => "a whole number (without quotes)",
            _ => "a whole number",
        };
        return invalid_type(value, at, expected);
    };
    match i64::from_str_radix(n.as_str(), n.radix()) {
        Ok(n) => Ok(Spanned::new(value.span(), n)),
        Err(_) => error(value.span(), format!("{at}: the number is too large")),
    }
}

fn boolean(value: &Value<'_>, at: &str) -> Result<bool> {
    match value.get_ref() {
        DeValue::Boolean(b) => Ok(*b),
        DeValue::String(_) => invalid_type(value, at, "true or false (without quotes)"),
        _ => invalid_type(value, at, "true or false"),
    }
}

fn strings(value: &Value<'_>, at: &str) -> Result<Spanned<Vec<String>>> {
    let DeValue::Array(items) = value.get_ref() else {
        return invalid_type(value, at, "a list of text, like [\"a\", \"b\"]");
    };
    let texts = items
        .iter()
        .map(|item| string(item, at).map(Spanned::into_inner))
        .collect::<Result<Vec<String>>>()?;
    Ok(Spanned::new(value.span(), texts))
}

/// A table's entries, refusing keys not in `fields`.
fn entries<'t, 'i>(
    value: &'t Value<'i>,
    table: &str,
    fields: &'static [&'static str],
) -> Result<Vec<(&'static str, &'t Value<'i>)>> {
    let DeValue::Table(entries) = value.get_ref() else {
        return invalid_type(value, table, "a table");
    };
    table_entries(entries, table, fields)
}

fn table_entries<'t, 'i>(
    entries: &'t DeTable<'i>,
    table: &str,
    fields: &'static [&'static str],
) -> Result<Vec<(&'static str, &'t Value<'i>)>> {
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries.iter() {
        let name: &Cow<'_, str> = key.get_ref();
        match fields.iter().find(|field| **field == name.as_ref()) {
            Some(field) => out.push((*field, value)),
            None => {
                return error(
                    key.span(),
                    format!(
                        "{}: unknown key, expected one of {}",
                        place(table, name),
                        fields.join(", ")
                    ),
                );
            }
        }
    }
    Ok(out)
}

fn missing<T>(span: Range<usize>, table: &str, field: &str) -> Result<T> {
    error(span, format!("{} is missing", place(table, field)))
}

/// A list of tables (`[[source]]`, `[[phone]]`, inline tables in an array).
fn tables<'t, 'i>(value: &'t Value<'i>, at: &str) -> Result<&'t [Value<'i>]> {
    match value.get_ref() {
        DeValue::Array(items) => Ok(items.as_ref()),
        _ => invalid_type(value, at, "a list of tables"),
    }
}

/// The TOML parser's "duplicate key" in the admin's words: the key, and the line it was
/// first set on when a plain scan finds it (`key =` in the same table, or the same
/// `[table]` header).
fn duplicate(text: &str, span: &Range<usize>) -> String {
    let key = text
        .get(span.clone())
        .unwrap_or("")
        .trim_matches(|c| c == '"' || c == '\'');
    let before = &text[..span.start.min(text.len())];
    let header = format!("[{key}]");
    // The last element is the duplicate's own line, up to the key.
    let lines: Vec<&str> = before.split('\n').collect();
    let earlier = &lines[..lines.len().saturating_sub(1)];
    let is_header = lines
        .last()
        .is_some_and(|line| line.trim_start().starts_with('['));
    let first = if is_header {
        earlier.iter().position(|line| line.trim() == header)
    } else {
        earlier
            .iter()
            .enumerate()
            .rev()
            .take_while(|(_, line)| !line.trim_start().starts_with('['))
            .find(|(_, line)| {
                line.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map(|(index, _)| index)
    };
    let what = if is_header {
        format!("table {header}")
    } else {
        // The table it is in, as its header is written.
        let table = earlier
            .iter()
            .rev()
            .map(|line| line.trim())
            .find(|line| line.starts_with('['))
            .and_then(|line| line.get(..=line.rfind(']')?));
        match table {
            Some(table) => format!("{table} {key}"),
            None => key.to_string(),
        }
    };
    match first {
        Some(index) => format!(
            "{what} is set twice (first on line {}): keep one",
            index + 1
        ),
        None => format!("{what} is set twice: keep one"),
    }
}

/// Reads the file's text. Syntax errors (from the TOML parser) and shape errors (unknown
/// keys, wrong types, missing fields) both come back as the first problem found.
pub fn parse(text: &str) -> Result<File> {
    let document = DeTable::parse(text).map_err(|err| {
        let message = match err.span() {
            Some(span) if err.message() == "duplicate key" => duplicate(text, &span),
            _ => err.message().trim_end_matches('.').to_string(),
        };
        WireError {
            span: err.span(),
            message,
        }
    })?;
    let mut file = File::default();
    const TOP: &[&str] = &[
        "tftp_root",
        "tftp_unique_root",
        "state_dir",
        "log_level",
        "save_interval_s",
        "notify_socket",
        "templates_dir",
        "pbx",
        "dhcp",
        "provision",
        "firmware",
        "diagnostics",
        "dialplan",
        "source",
        "phone",
    ];
    for (key, value) in table_entries(document.get_ref(), "", TOP)? {
        let at = key;
        match key {
            "tftp_root" => file.tftp_root = Some(string(value, at)?),
            "tftp_unique_root" => file.tftp_unique_root = Some(string(value, at)?),
            "state_dir" => file.state_dir = Some(string(value, at)?),
            "log_level" => file.log_level = Some(string(value, at)?),
            "save_interval_s" => file.save_interval_s = Some(integer(value, at)?),
            "notify_socket" => file.notify_socket = Some(string(value, at)?),
            "templates_dir" => file.templates_dir = Some(string(value, at)?),
            "pbx" => file.pbx = Some(pbx(value)?),
            "dhcp" => file.dhcp = Some(dhcp(value)?),
            "provision" => file.provision = Some(provision(value)?),
            "firmware" => file.firmware = Some(firmware(value)?),
            "diagnostics" => file.diagnostics = Some(diagnostics(value)?),
            "dialplan" => file.dialplan = Some(dialplan(value)?),
            "source" => {
                let mut sources = Vec::new();
                for item in tables(value, at)? {
                    sources.push(Spanned::new(item.span(), source(item)?));
                }
                file.sources = Some(sources);
            }
            "phone" => {
                for item in tables(value, at)? {
                    file.phones.push(Spanned::new(item.span(), phone(item)?));
                }
            }
            _ => unreachable!("keys come from TOP"),
        }
    }
    Ok(file)
}

fn pbx(value: &Value<'_>) -> Result<Pbx> {
    const TABLE: &str = "[pbx]";
    let mut out = Pbx::default();
    const FIELDS: &[&str] = &[
        "pjsip_snippet",
        "freepbx_csv",
        "host",
        "port",
        "voicemail",
        "transport",
        "pjsip_udp_transport",
        "pjsip_tcp_transport",
        "context",
        "unapproved_context",
        "dialplan_file",
        "mailbox_context",
        "group",
        "reload_command",
        "reload_interval_s",
    ];
    for (key, value) in entries(value, TABLE, FIELDS)? {
        let at = place(TABLE, key);
        match key {
            "pjsip_snippet" => out.pjsip_snippet = Some(string(value, &at)?),
            "freepbx_csv" => out.freepbx_csv = Some(string(value, &at)?),
            "host" => out.host = Some(string(value, &at)?),
            "port" => out.port = Some(integer(value, &at)?),
            "voicemail" => out.voicemail = Some(string(value, &at)?),
            "transport" => out.transport = Some(string(value, &at)?),
            "pjsip_udp_transport" => out.pjsip_udp_transport = Some(string(value, &at)?),
            "pjsip_tcp_transport" => out.pjsip_tcp_transport = Some(string(value, &at)?),
            "context" => out.context = Some(string(value, &at)?),
            "unapproved_context" => out.unapproved_context = Some(string(value, &at)?),
            "dialplan_file" => out.dialplan_file = Some(string(value, &at)?),
            "mailbox_context" => out.mailbox_context = Some(string(value, &at)?),
            "group" => out.group = Some(string(value, &at)?),
            "reload_command" => out.reload_command = Some(strings(value, &at)?),
            _ => out.reload_interval_s = Some(integer(value, &at)?),
        }
    }
    Ok(out)
}

fn dhcp(value: &Value<'_>) -> Result<Dhcp> {
    const TABLE: &str = "[dhcp]";
    let mut out = Dhcp::default();
    const FIELDS: &[&str] = &[
        "tftp_server",
        "dnsmasq_snippet",
        "isc_snippet",
        "kea_snippet",
        "uci_snippet",
        "reload_command",
        "dnsmasq_script",
        "reservations",
    ];
    for (key, value) in entries(value, TABLE, FIELDS)? {
        let at = place(TABLE, key);
        match key {
            "tftp_server" => out.tftp_server = Some(string(value, &at)?),
            "dnsmasq_snippet" => out.dnsmasq_snippet = Some(string(value, &at)?),
            "isc_snippet" => out.isc_snippet = Some(string(value, &at)?),
            "kea_snippet" => out.kea_snippet = Some(string(value, &at)?),
            "uci_snippet" => out.uci_snippet = Some(string(value, &at)?),
            "reload_command" => out.reload_command = Some(strings(value, &at)?),
            "dnsmasq_script" => out.dnsmasq_script = Some(string(value, &at)?),
            _ => out.reservations = Some(boolean(value, &at)?),
        }
    }
    Ok(out)
}

fn provision(value: &Value<'_>) -> Result<Provision> {
    const TABLE: &str = "[provision]";
    let mut out = Provision::default();
    const FIELDS: &[&str] = &[
        "policy",
        "pool_csv",
        "max_pending",
        "max_new_per_minute",
        "extensions",
        "time_zone",
        "time_zone_7940",
        "ntp_server",
        "country",
        "phone_password",
        "ring",
        "tftp_only",
        "rotate_secret_on_leak",
    ];
    for (key, value) in entries(value, TABLE, FIELDS)? {
        let at = place(TABLE, key);
        match key {
            "policy" => out.policy = Some(string(value, &at)?),
            "pool_csv" => out.pool_csv = Some(string(value, &at)?),
            "max_pending" => out.max_pending = Some(integer(value, &at)?),
            "max_new_per_minute" => out.max_new_per_minute = Some(integer(value, &at)?),
            "extensions" => out.extensions = Some(string(value, &at)?),
            "time_zone" => out.time_zone = Some(string(value, &at)?),
            "time_zone_7940" => out.time_zone_7940 = Some(string(value, &at)?),
            "ntp_server" => out.ntp_server = Some(string(value, &at)?),
            "country" => out.country = Some(string(value, &at)?),
            "phone_password" => out.phone_password = Some(string(value, &at)?),
            "ring" => out.ring = Some(string(value, &at)?),
            "tftp_only" => out.tftp_only = Some(string(value, &at)?),
            _ => out.rotate_secret_on_leak = Some(boolean(value, &at)?),
        }
    }
    Ok(out)
}

fn firmware(value: &Value<'_>) -> Result<Firmware> {
    const TABLE: &str = "[firmware]";
    let mut out = Firmware::default();
    for (key, pins) in entries(value, TABLE, &["pin"])? {
        let at = place(TABLE, key);
        let DeValue::Table(table) = pins.get_ref() else {
            return invalid_type(pins, &at, "a table of model = \"load\"");
        };
        let mut map = BTreeMap::new();
        for (model, load) in table.iter() {
            let at = format!("{at}.{}", model.get_ref());
            map.insert(model.get_ref().to_string(), string(load, &at)?);
        }
        out.pin = Some(map);
    }
    Ok(out)
}

fn diagnostics(value: &Value<'_>) -> Result<Diagnostics> {
    const TABLE: &str = "[diagnostics]";
    let mut out = Diagnostics::default();
    const FIELDS: &[&str] = &["loop_count", "loop_window_s", "no_tftp_after_s"];
    for (key, value) in entries(value, TABLE, FIELDS)? {
        let at = place(TABLE, key);
        let number = Some(integer(value, &at)?);
        match key {
            "loop_count" => out.loop_count = number,
            "loop_window_s" => out.loop_window_s = number,
            _ => out.no_tftp_after_s = number,
        }
    }
    Ok(out)
}

fn source(value: &Value<'_>) -> Result<Source> {
    const TABLE: &str = "[[source]]";
    let (mut kind, mut path, mut command) = (None, None, None);
    let (mut programs, mut users) = (None, None);
    const FIELDS: &[&str] = &["kind", "path", "command", "programs", "users"];
    for (key, value) in entries(value, TABLE, FIELDS)? {
        let at = place(TABLE, key);
        match key {
            "kind" => kind = Some(string(value, &at)?),
            "path" => path = Some(string(value, &at)?),
            "command" => command = Some(strings(value, &at)?),
            "programs" => programs = Some(strings(value, &at)?),
            _ => users = Some(names_or_ids(value, &at)?),
        }
    }
    let Some(kind) = kind else {
        return missing(value.span(), TABLE, "kind");
    };
    Ok(Source {
        kind,
        path,
        command,
        programs,
        users,
    })
}

/// `users = ["dnsmasq", 0]`: strings and non-negative integers, the integers as digits.
fn names_or_ids(value: &Value<'_>, at: &str) -> Result<Spanned<Vec<String>>> {
    let DeValue::Array(items) = value.get_ref() else {
        return invalid_type(value, at, "a list of user names or uids");
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items.iter() {
        match item.get_ref() {
            DeValue::Integer(_) => match integer(item, at)?.into_inner() {
                n @ 0.. => out.push(n.to_string()),
                _ => return invalid_type(item, at, "a user name or a uid"),
            },
            _ => out.push(string(item, at)?.into_inner()),
        }
    }
    Ok(Spanned::new(value.span(), out))
}

fn dialplan(value: &Value<'_>) -> Result<DialPlan> {
    const TABLE: &str = "[dialplan]";
    let mut out = DialPlan::default();
    const FIELDS: &[&str] = &[
        "emergency",
        "outside_prefix",
        "feature_codes",
        "catch_all_timeout",
        "patterns",
    ];
    for (key, value) in entries(value, TABLE, FIELDS)? {
        let at = place(TABLE, key);
        match key {
            "emergency" => out.emergency = Some(strings(value, &at)?),
            "outside_prefix" => out.outside_prefix = Some(string(value, &at)?),
            "feature_codes" => out.feature_codes = Some(boolean(value, &at)?),
            "catch_all_timeout" => out.catch_all_timeout = Some(integer(value, &at)?),
            _ => {
                for item in tables(value, &at)? {
                    out.patterns.push(Spanned::new(item.span(), pattern(item)?));
                }
            }
        }
    }
    Ok(out)
}

fn pattern(value: &Value<'_>) -> Result<Pattern> {
    const TABLE: &str = "[dialplan] patterns";
    let (mut pattern, mut timeout) = (None, None);
    for (key, value) in entries(value, TABLE, &["match", "timeout"])? {
        let at = place(TABLE, key);
        match key {
            "match" => pattern = Some(string(value, &at)?),
            _ => timeout = Some(integer(value, &at)?),
        }
    }
    let Some(pattern) = pattern else {
        return missing(value.span(), TABLE, "match");
    };
    let Some(timeout) = timeout else {
        return missing(value.span(), TABLE, "timeout");
    };
    Ok(Pattern { pattern, timeout })
}

fn phone(value: &Value<'_>) -> Result<Phone> {
    const TABLE: &str = "[[phone]]";
    let (mut mac, mut extension, mut secret, mut label) = (None, None, None, None);
    let (mut speed_dials, mut addon_modules) = (Vec::new(), None);
    let (mut lines, mut phone_password, mut ring) = (Vec::new(), None, None);
    const FIELDS: &[&str] = &[
        "mac",
        "extension",
        "secret",
        "label",
        "speed_dials",
        "addon_modules",
        "lines",
        "phone_password",
        "ring",
    ];
    for (key, value) in entries(value, TABLE, FIELDS)? {
        let at = place(TABLE, key);
        match key {
            "mac" => mac = Some(string(value, &at)?),
            "extension" => extension = Some(string(value, &at)?),
            "secret" => secret = Some(string(value, &at)?),
            "label" => label = Some(string(value, &at)?),
            "speed_dials" => {
                for item in tables(value, &at)? {
                    speed_dials.push(Spanned::new(item.span(), speed_dial(item)?));
                }
            }
            "lines" => {
                for item in tables(value, &at)? {
                    lines.push(Spanned::new(item.span(), line(item)?));
                }
            }
            "phone_password" => phone_password = Some(string(value, &at)?),
            "ring" => ring = Some(string(value, &at)?),
            _ => addon_modules = Some(strings(value, &at)?),
        }
    }
    let Some(mac) = mac else {
        return missing(value.span(), TABLE, "mac");
    };
    let Some(extension) = extension else {
        return missing(value.span(), TABLE, "extension");
    };
    Ok(Phone {
        mac,
        extension,
        secret,
        label,
        speed_dials,
        addon_modules,
        lines,
        phone_password,
        ring,
    })
}

fn line(value: &Value<'_>) -> Result<Line> {
    const TABLE: &str = "[[phone]] lines";
    let (mut extension, mut secret, mut label) = (None, None, None);
    for (key, value) in entries(value, TABLE, &["extension", "secret", "label"])? {
        let at = place(TABLE, key);
        match key {
            "extension" => extension = Some(string(value, &at)?),
            "secret" => secret = Some(string(value, &at)?),
            _ => label = Some(string(value, &at)?),
        }
    }
    let Some(extension) = extension else {
        return missing(value.span(), TABLE, "extension");
    };
    Ok(Line {
        extension,
        secret,
        label,
    })
}

fn speed_dial(value: &Value<'_>) -> Result<SpeedDial> {
    const TABLE: &str = "[[phone]] speed_dials";
    let (mut number, mut label, mut blf) = (None, None, None);
    for (key, value) in entries(value, TABLE, &["number", "label", "blf"])? {
        let at = place(TABLE, key);
        match key {
            "number" => number = Some(string(value, &at)?),
            "label" => label = Some(string(value, &at)?),
            _ => blf = Some(boolean(value, &at)?),
        }
    }
    let Some(number) = number else {
        return missing(value.span(), TABLE, "number");
    };
    Ok(SpeedDial { number, label, blf })
}
