//! The shape of the TOML config file, as serde reads it. No logic: validation and defaults
//! live in `config::mod`, which turns these into a `Config`.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub tftp_root: Option<Spanned<String>>,
    pub state_dir: Option<Spanned<String>>,
    pub log_level: Option<Spanned<String>>,
    pub notify_socket: Option<Spanned<String>>,
    pub templates_dir: Option<Spanned<String>>,
    pub pbx: Option<Pbx>,
    pub dhcp: Option<Dhcp>,
    pub provision: Option<Provision>,
    pub firmware: Option<Firmware>,
    pub diagnostics: Option<Diagnostics>,
    #[serde(default, rename = "source")]
    pub sources: Option<Vec<Spanned<Source>>>,
    #[serde(default, rename = "phone")]
    pub phones: Vec<Spanned<Phone>>,
}

/// `[pbx]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pbx {
    pub pjsip_snippet: Option<Spanned<String>>,
    pub freepbx_csv: Option<Spanned<String>>,
    pub host: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
    pub voicemail: Option<Spanned<String>>,
}

/// `[dhcp]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provision {
    pub policy: Option<Spanned<String>>,
    pub pool_csv: Option<Spanned<String>>,
    pub max_pending: Option<Spanned<i64>>,
    pub max_new_per_minute: Option<Spanned<i64>>,
    pub extensions: Option<Spanned<String>>,
    pub time_zone: Option<Spanned<String>>,
    pub time_zone_7940: Option<Spanned<String>>,
    pub ntp_server: Option<Spanned<String>>,
}

/// `[firmware]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Firmware {
    pub pin: Option<std::collections::BTreeMap<String, Spanned<String>>>,
}

/// `[diagnostics]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnostics {
    pub loop_count: Option<Spanned<i64>>,
    pub loop_window_s: Option<Spanned<i64>>,
    pub no_tftp_after_s: Option<Spanned<i64>>,
}

/// `[[source]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub kind: Spanned<String>,
    pub path: Option<Spanned<String>>,
    pub command: Option<Spanned<Vec<String>>>,
}

/// `[[phone]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phone {
    pub mac: Spanned<String>,
    pub extension: Spanned<String>,
    pub secret: Option<Spanned<String>>,
    pub label: Option<Spanned<String>>,
    #[serde(default)]
    pub speed_dials: Vec<Spanned<SpeedDial>>,
    pub addon_modules: Option<Spanned<Vec<String>>>,
}

/// `speed_dials = [{ number = "11", label = "Monika", blf = true }]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeedDial {
    pub number: Spanned<String>,
    pub label: Option<Spanned<String>>,
    pub blf: Option<bool>,
}
