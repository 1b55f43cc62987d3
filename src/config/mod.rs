//! The validated configuration.
//!
//! TOML text → [`wire::File`] (the file's shape, unknown keys rejected) → [`Config`] (checked
//! values, defaults filled in, relative paths resolved against the config file's directory).
//! Every problem is reported with the file and line it comes from, all of them at once, so
//! `cisco-autoprov check` can list them one per line.
//!
//! This module does no IO: the caller reads the file and passes its text in.

pub mod wire;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::mac::Mac;
pub use crate::pbx::SipTransport;

/// Where the config is read from when `-c` is not given.
pub const DEFAULT_PATH: &str = "/etc/cisco-autoprov/config.toml";

/// Longest SIP secret, user name and line label the 79xx firmware accepts
/// (`authPassword`, `authName`, `featureLabel`: cisco-facts.md section 4b).
pub const MAX_FIELD_LEN: usize = 30;

/// The checked configuration the daemon runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file this config was read from; `None` for the built-in defaults.
    pub path: Option<PathBuf>,
    /// Phone files are written here; must be the TFTP server's root.
    pub tftp_root: PathBuf,
    /// Each provisioned phone's files in its own directory of the root, named by its MAC as
    /// dnsmasq's `tftp-unique-root=mac` spells it (`00-1b-54-aa-bb-cc`), so dnsmasq serves
    /// them to that phone only (`tftp_unique_root = "mac"`).
    pub tftp_unique_root: bool,
    /// State (assignments, read positions) lives here; created 0700.
    pub state_dir: PathBuf,
    /// How long routine updates (boot timelines, diagnoses, read positions) wait before they
    /// are saved, in seconds; `None`: 300 ms (positions 5 s). Assignments are saved at once,
    /// before any file carrying them. On flash (OpenWrt) a minute, so the flash is not worn.
    pub save_interval_s: Option<u64>,
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: String,
    /// A directory of templates replacing the built-in ones (`SEP.cnf.xml`, `SIP.cnf`, …).
    pub templates_dir: Option<PathBuf>,
    /// Loads pinned per model name (`"7941" = "SIP41.9-4-2SR3-1S"`), instead of the newest
    /// complete one present.
    pub firmware_pins: BTreeMap<String, String>,
    /// The Unix datagram socket `cisco-autoprov notify` sends hook events to; in the state
    /// directory unless set.
    pub notify_socket: PathBuf,
    /// The SIP registrar.
    pub pbx: Pbx,
    /// The address DHCP option 150/66 carries, when known.
    pub tftp_server: Option<Ipv4Addr>,
    /// DHCP server snippets to keep written, and what to run when one changes.
    pub snippets: Snippets,
    /// Site-wide phone settings and the extension pool.
    pub provision: Provision,
    /// What to watch.
    pub sources: Vec<Source>,
    /// What the file leaves to this system's defaults ([`Config::apply_system_defaults`]).
    pub defaulted: Defaulted,
    /// Phones the admin listed, by MAC. Inventory entries win over the pool.
    pub inventory: BTreeMap<Mac, InventoryPhone>,
    /// Thresholds of the stuck-phone diagnoses.
    pub diagnostics: Diagnostics,
    /// The phones' dial template (`dialplan.xml`), from `[dialplan]`; its extension lengths
    /// are those of the range and the inventory.
    pub dialplan: crate::dialplan::DialPlan,
    /// What the phones would get wrong with that plan (rows that never take effect,
    /// extensions a shorter row cuts): reported by `check` and at start-up, not fatal.
    pub dialplan_problems: Vec<String>,
    /// The system's time zone: how log stamps without an offset are read and how `status`,
    /// `explain` and the diagnoses write times. Not in the file: the edge loads it
    /// (`commands::load_config` from `TZ`, `/etc/TZ`, uci, `/etc/localtime`); UTC by default.
    pub local_zone: crate::localtime::LocalZone,
    /// Time zone sources that were there but unusable (skipped): reported by `check` and at
    /// start-up, not fatal.
    pub zone_problems: Vec<String>,
}

/// Most `.loads` requests remembered per phone, and so the largest `loop_count`.
pub const MAX_LOOP_COUNT: u32 = 32;

/// `[diagnostics]`: when a phone counts as stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diagnostics {
    /// The same `.loads` file requested this many times …
    pub loop_count: u32,
    /// … within this many seconds, with no image after it: a firmware loop.
    pub loop_window_s: i64,
    /// A lease with no TFTP request for this many seconds: option 150/66 not delivered; a
    /// phone quiet this long without fetching its config: config never fetched.
    pub no_tftp_after_s: i64,
}

impl Default for Diagnostics {
    fn default() -> Diagnostics {
        Diagnostics {
            loop_count: 5,
            loop_window_s: 600,
            no_tftp_after_s: 120,
        }
    }
}

/// `[pbx]`: the registrar the phones register to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pbx {
    /// Host name or IPv4 address.
    pub host: String,
    /// SIP port, default 5060.
    pub port: u16,
    /// Number the Messages key dials; default `*97` (FreePBX voicemail).
    pub voicemail: String,
    /// Asterisk PJSIP snippet with every provisioned phone, written when set.
    pub pjsip_snippet: Option<PathBuf>,
    /// FreePBX Bulk Handler CSV of the phones whose extension came from the range.
    pub freepbx_csv: Option<PathBuf>,
    /// Which SIP transport phones and endpoints use (`[pbx] transport`).
    pub transport: TransportChoice,
    /// Name of the PJSIP UDP transport in `pjsip.conf`.
    pub pjsip_udp_transport: String,
    /// Name of the PJSIP TCP transport in `pjsip.conf`.
    pub pjsip_tcp_transport: String,
    /// Dialplan context of the endpoints of approved phones (an admin's `approve`, an
    /// inventory entry).
    pub context: String,
    /// Dialplan context of the endpoints of phones that got credentials hands-off, on a
    /// DHCP lease alone, until an admin approves them.
    pub unapproved_context: String,
    /// Asterisk dialplan include defining the default `unapproved_context`, written when set.
    pub dialplan_file: Option<PathBuf>,
    /// Voicemail context of the endpoints' `mailboxes=` (`<extension>@<context>`).
    pub mailbox_context: String,
    /// Group (name or number) the PJSIP include and FreePBX CSV are given, so the PBX can
    /// read them; `None` keeps the group of the file being replaced.
    pub group: Option<String>,
    /// Run (no shell) after a PBX file changed, e.g. `asterisk -rx "module reload
    /// res_pjsip.so"`; empty: nothing.
    pub reload_command: Vec<String>,
    /// At most one PBX reload per this many seconds; changes in between are reloaded
    /// together at the end of the interval.
    pub reload_interval_s: u64,
}

/// `[pbx] transport`: the SIP transport of the phones and of their PJSIP endpoints.
///
/// Over UDP the 79xx send from an ephemeral port with a `Via` of 5060 and no `rport`, and
/// listen only on 5060 (field-evidence.md §1): answering where the packet came from strands
/// them. The XML firmware (79x1/79x2/79x5/797x) does TCP, which usecallmanager.nz and the
/// buba0 FreePBX guide recommend for it; the 7940/7960 SIP firmware has no transport
/// setting in any working configuration (`real-configs/teo-lkml-7960`,
/// `german-fritzbox-7960`, `mkirbst-configs_cisco7960`) and stays on UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportChoice {
    /// TCP for the XML firmware, UDP for the 7940/7960 and phones whose model is unknown.
    Auto,
    /// UDP for every phone.
    Udp,
    /// TCP for the XML firmware; the 7940/7960 stay on UDP (see above).
    Tcp,
}

impl TransportChoice {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportChoice::Auto => "auto",
            TransportChoice::Udp => "udp",
            TransportChoice::Tcp => "tcp",
        }
    }

    /// The transport of a phone of `model` (`None`: not known yet). A phone whose model is
    /// unknown gets UDP, which every family can do, until its model is learned; its files
    /// and endpoint are then rewritten together.
    pub fn for_model(self, model: Option<crate::models::Model>) -> SipTransport {
        let xml_firmware =
            model.and_then(|model| model.family()) == Some(crate::models::ConfigFamily::Sepxml);
        match self {
            TransportChoice::Udp => SipTransport::Udp,
            TransportChoice::Auto | TransportChoice::Tcp if xml_firmware => SipTransport::Tcp,
            TransportChoice::Auto | TransportChoice::Tcp => SipTransport::Udp,
        }
    }
}

/// Longest host name the XML firmware takes in `processNodeName` and an NTP `<name>`
/// (usecallmanager.nz `sepmac-cnf-xml`, field-evidence.md §3): a longer one is cut or
/// ignored by the phone, which then registers nowhere or keeps a wrong clock.
pub const MAX_PHONE_HOST_LEN: usize = 50;

/// The message for a host name the phones cannot take.
fn too_long_host(key: &str) -> String {
    format!(
        "{key} is longer than the {MAX_PHONE_HOST_LEN} characters the phones take (processNodeName, ntp name): use a shorter name or the ipv4 address"
    )
}

/// Default of `[pbx] reload_interval_s`.
pub const DEFAULT_RELOAD_INTERVAL_S: u64 = 2;

/// `[dhcp]` snippet keys: which files to write for the DHCP servers (option 150/66 for
/// Cisco phones only, and the hooks), and how to make the server re-read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snippets {
    /// dnsmasq conf-dir drop-in.
    pub dnsmasq: Option<PathBuf>,
    /// isc-dhcp-server include file.
    pub isc: Option<PathBuf>,
    /// Kea `Dhcp4` fragment.
    pub kea: Option<PathBuf>,
    /// OpenWrt `uci batch` script.
    pub uci: Option<PathBuf>,
    /// Run (no shell) after a snippet file changed; empty: nothing.
    pub reload_command: Vec<String>,
    /// The `dhcp-script=` line of the dnsmasq drop-in; `None` leaves it out (OpenWrt sets
    /// its own, and dnsmasq accepts only one).
    pub dnsmasq_script: Option<String>,
    /// Reserve each provisioned phone's address in the dnsmasq drop-in (`dhcp-host`).
    pub reservations: bool,
}

/// `[provision]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provision {
    /// Who gets credentials.
    pub policy: Policy,
    /// A FreePBX Bulk Handler extensions export: extensions that exist on the PBX, with
    /// their secrets, handed out before the range.
    pub pool_csv: Option<PathBuf>,
    /// The extensions of `pool_csv`, read by the caller (`commands::load_config`).
    pub pool: Vec<PoolExtension>,
    /// Rows of `pool_csv` that were skipped, with their line (for the log and `check`).
    pub pool_problems: Vec<String>,
    /// At most this many phones wait for a decision or an extension.
    pub max_pending: usize,
    /// At most this many new phones seen only through TFTP are provisioned per minute.
    pub max_new_per_minute: usize,
    /// Pool for detected phones that are not in the inventory.
    pub extensions: ExtensionRange,
    /// The site's time zone (`[provision] time_zone`, an IANA name) as each firmware family
    /// shows it; `None` in the file means the system's, which the loader fills in.
    pub clock: Option<crate::timezone::SiteClock>,
    /// NTP server for the phones; the PBX host when not set.
    pub ntp_server: Option<String>,
    /// The network locale (tones) for the site's country (`[provision] country`).
    pub network_locale: &'static str,
    /// The password that unlocks the phones' settings; one generated per phone when absent
    /// (never the factory `cisco`).
    pub phone_password: Option<String>,
    /// How the phones ring when idle.
    pub ring: Ring,
    /// What a MAC seen only in TFTP requests gets under `policy = "auto"`.
    pub tftp_only: TftpOnly,
    /// A leak alert (a phone's config fetched by another device) gives the phone a new SIP
    /// secret, written to its file and the PBX files together.
    pub rotate_secret_on_leak: bool,
}

/// `[provision] tftp_only`: a TFTP request proves nothing (one UDP packet from any host can
/// name any MAC: field-evidence.md §4), so by default such a phone waits for `approve` like
/// under `policy = "approve"`; a DHCP lease binding the MAC to its address is evidence enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TftpOnly {
    /// It waits as `pending` until `cisco-autoprov approve MAC` (or an inventory entry).
    Approve,
    /// It gets credentials at once (the old behaviour): only on a LAN you trust.
    Auto,
}

/// Who gets credentials (`[provision] policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// A Cisco OUI and phone behaviour (a SEP hostname, a phone vendor class, phone-only TFTP
    /// requests) is enough.
    Auto,
    /// New phones wait as `pending` until `cisco-autoprov approve MAC`.
    Approve,
    /// Only `[[phone]]` entries get credentials; other phones are listed as seen.
    Inventory,
}

impl Policy {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Auto => "auto",
            Policy::Approve => "approve",
            Policy::Inventory => "inventory",
        }
    }
}

/// An extension that already exists on the PBX (from `pool_csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolExtension {
    /// The extension.
    pub extension: String,
    /// Its name on the PBX.
    pub name: Option<String>,
    /// Its SIP secret on the PBX.
    pub secret: String,
}

/// An inclusive range of numeric extensions, `2000-2099`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionRange {
    /// First number.
    pub first: u64,
    /// Last number, `>= first`.
    pub last: u64,
    /// Digits to pad to, when the range was written with leading zeros (`0100-0199`).
    pub width: usize,
}

impl ExtensionRange {
    /// The extensions of the range, in order.
    pub fn iter(&self) -> impl Iterator<Item = String> + '_ {
        (self.first..=self.last).map(move |n| format!("{n:0width$}", width = self.width))
    }

    /// Whether `extension` is one of [`ExtensionRange::iter`]'s, spelled the same (digits
    /// only, padded to the range's width), without listing the range.
    pub fn contains(&self, extension: &str) -> bool {
        extension.bytes().all(|b| b.is_ascii_digit())
            && extension.parse::<u64>().is_ok_and(|n| {
                (self.first..=self.last).contains(&n)
                    && format!("{n:0width$}", width = self.width) == extension
            })
    }

    /// How many extensions the range holds.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true: a range holds at least one extension.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for ExtensionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.width;
        write!(f, "{:0width$}-{:0width$}", self.first, self.last)
    }
}

/// What a `[[source]]` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// dnsmasq's lease file: a snapshot re-read on every change.
    DnsmasqLeases,
    /// isc-dhcp-server's `dhcpd.leases`: a journal read as it grows.
    IscLeases,
    /// Kea's memfile CSV (`kea-leases4.csv`, with its `.2` after cleanup).
    KeaLeases,
    /// OpenWrt odhcpd's DHCPv4 state file: a snapshot replaced by rename.
    Odhcpd,
    /// A daemon log (dnsmasq, tftpd-hpa, atftpd; any syslog flavour), tailed.
    Log,
    /// A long-running command whose standard output is such a log (`logread -f`,
    /// `journalctl -f`); restarted with back-off when it exits.
    Command,
    /// `journalctl --output=json` (a command), whose entries are accepted only from the
    /// configured senders (`_COMM`, `_UID`): see [`Source::programs`].
    Journal,
}

impl SourceKind {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::DnsmasqLeases => "dnsmasq-leases",
            SourceKind::IscLeases => "isc-leases",
            SourceKind::KeaLeases => "kea-leases",
            SourceKind::Odhcpd => "odhcpd",
            SourceKind::Log => "log",
            SourceKind::Command => "command",
            SourceKind::Journal => "journal",
        }
    }

    /// Whether the source is a program's output rather than a file.
    pub fn is_command(self) -> bool {
        matches!(self, SourceKind::Command | SourceKind::Journal)
    }
}

/// What a config file left to this system's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Defaulted {
    /// No `[[source]]`.
    pub sources: bool,
    /// No `state_dir`.
    pub state_dir: bool,
    /// No `save_interval_s`.
    pub save_interval: bool,
}

/// Where `contrib/dnsmasq/dhcp-script` is installed: the default of `[dhcp] dnsmasq_script`.
pub const DEFAULT_DNSMASQ_SCRIPT: &str = "/usr/libexec/cisco-autoprov/dhcp-script";

/// Where the state lives on OpenWrt by default: on flash (`/var` is a RAM disk there, so
/// state in it meant new secrets after every reboot, field-evidence.md §5).
pub const OPENWRT_STATE_DIR: &str = "/etc/cisco-autoprov/state";

/// How long routine state updates wait on OpenWrt by default: flash wears with each write.
pub const OPENWRT_SAVE_INTERVAL_S: u64 = 60;

impl Config {
    /// Whether the inventory gives phone `mac`'s line `extension` its secret (else the secret
    /// is generated here, and the PBX learns it from our files).
    pub fn line_secret_given(&self, mac: Mac, extension: &str) -> bool {
        self.inventory.get(&mac).is_some_and(|entry| {
            entry
                .lines
                .iter()
                .any(|line| line.extension == extension && line.secret.is_some())
        })
    }

    /// Fills what the file left open with this system's defaults: the sources
    /// ([`default_sources`]), and on OpenWrt the state on flash, saved at most once a minute
    /// for routine updates.
    pub fn apply_system_defaults(&mut self, facts: SystemFacts) {
        if self.defaulted.sources {
            self.sources = default_sources(facts);
        }
        if facts.openwrt {
            if self.defaulted.state_dir {
                let notify_default = self.notify_socket == self.state_dir.join("notify.sock");
                self.state_dir = PathBuf::from(OPENWRT_STATE_DIR);
                if notify_default {
                    // The socket stays in RAM.
                    self.notify_socket = PathBuf::from("/var/run/cisco-autoprov/notify.sock");
                }
            }
            if self.defaulted.save_interval {
                self.save_interval_s = Some(OPENWRT_SAVE_INTERVAL_S);
            }
        }
    }
}

/// What the edge found on this system, for [`default_sources`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemFacts {
    /// OpenWrt (`/etc/openwrt_release`): dnsmasq's leases in `/tmp/dhcp.leases`, the log in
    /// logd's ring buffer (`logread`).
    pub openwrt: bool,
    /// `/var/log/syslog` exists (rsyslog).
    pub syslog_file: bool,
    /// journald runs (`/run/systemd/journal/socket`).
    pub journald: bool,
}

/// The sources of a config that names none: dnsmasq's lease file where the system keeps it,
/// and the log where the system keeps it: `logread -f` on OpenWrt, `/var/log/syslog` when
/// rsyslog writes it, else the journal (Debian 12 keeps its logs in journald only,
/// field-evidence.md §5).
pub fn default_sources(facts: SystemFacts) -> Vec<Source> {
    if facts.openwrt {
        return vec![
            Source::file(SourceKind::DnsmasqLeases, "/tmp/dhcp.leases"),
            Source {
                command: vec!["logread".into(), "-f".into()],
                ..Source::file(SourceKind::Command, PathBuf::new())
            },
        ];
    }
    let leases = Source::file(SourceKind::DnsmasqLeases, "/var/lib/misc/dnsmasq.leases");
    let log = if facts.syslog_file || !facts.journald {
        Source::file(SourceKind::Log, "/var/log/syslog")
    } else {
        let programs: Vec<String> = JOURNAL_PROGRAMS.iter().map(|p| p.to_string()).collect();
        Source {
            command: journal_command(&programs),
            programs,
            ..Source::file(SourceKind::Journal, PathBuf::new())
        }
    };
    vec![leases, log]
}

/// The `_COMM` a `journal` source accepts by default: the servers whose messages
/// `parse::tftp_log` reads (Debian's atftpd and tftpd-hpa both run as `in.tftpd`).
pub const JOURNAL_PROGRAMS: &[&str] = &["dnsmasq", "in.tftpd", "atftpd", "dhcpd", "kea-dhcp4"];

/// The longest `_COMM`: the kernel keeps 15 bytes of a process name (`TASK_COMM_LEN`).
pub const MAX_COMM_LEN: usize = 15;

/// The command of a `journal` source without `command`: new entries of `programs` only, as
/// JSON, with just the fields the source reads (several matches of one field are ORed).
pub fn journal_command(programs: &[String]) -> Vec<String> {
    let mut command: Vec<String> = [
        "journalctl",
        "--follow",
        "--lines=0",
        "--output=json",
        "--output-fields=MESSAGE,SYSLOG_IDENTIFIER,_COMM,_UID,_PID,_HOSTNAME",
    ]
    .map(String::from)
    .to_vec();
    command.extend(programs.iter().map(|program| format!("_COMM={program}")));
    command
}

/// A `[[source]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// How to read it.
    pub kind: SourceKind,
    /// Absolute path of the file; empty for a command.
    pub path: PathBuf,
    /// Program and arguments of a `command` or `journal` source; empty otherwise.
    pub command: Vec<String>,
    /// `journal`: the `_COMM` values accepted; empty otherwise.
    pub programs: Vec<String>,
    /// `journal`: the users accepted, as written (names and uids); empty = any user.
    pub users: Vec<String>,
    /// `journal`: the uids of `users`. Numbers are taken here; names are resolved by the
    /// caller (`commands::load_config`, from `/etc/passwd`). A name not resolved adds no
    /// uid, so it lets no entry in.
    pub uids: Vec<u32>,
}

impl Source {
    /// A file source.
    pub fn file(kind: SourceKind, path: impl Into<PathBuf>) -> Source {
        Source {
            kind,
            path: path.into(),
            command: Vec::new(),
            programs: Vec::new(),
            users: Vec::new(),
            uids: Vec::new(),
        }
    }

    /// How to name the source in logs: its path, or its command line.
    pub fn label(&self) -> String {
        if self.kind.is_command() {
            format!("{}: {}", self.kind.as_str(), self.command.join(" "))
        } else {
            self.path.display().to_string()
        }
    }
}

/// A `[[phone]]` inventory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryPhone {
    /// The SIP user and extension.
    pub extension: String,
    /// The SIP secret; generated when absent.
    pub secret: Option<String>,
    /// Shown next to the line button and as caller name.
    pub label: Option<String>,
    /// Buttons after the line: speed dials, optionally with busy-lamp field.
    pub speed_dials: Vec<SpeedDial>,
    /// Key expansion modules attached (`7914`, `7915`, `7916`), for more buttons.
    pub addon_modules: Vec<String>,
    /// Lines 2, 3, … on the buttons after line 1 (before the speed dials).
    pub lines: Vec<ExtraLine>,
    /// The password that unlocks the phone's settings; the site's when absent.
    pub phone_password: Option<String>,
    /// How the phone rings; the site's when absent.
    pub ring: Option<Ring>,
}

impl InventoryPhone {
    /// Every extension of the phone: line 1, then its other lines.
    pub fn extensions(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.extension.as_str())
            .chain(self.lines.iter().map(|line| line.extension.as_str()))
    }
}

/// A second (third, …) line of an inventory phone: its own extension and SIP secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraLine {
    /// The SIP user and extension.
    pub extension: String,
    /// The SIP secret; generated (and kept) when absent.
    pub secret: Option<String>,
    /// Shown next to its button and as caller name.
    pub label: Option<String>,
}

/// How a phone rings when idle (XML firmware `ringSettingIdle`: usecallmanager.nz
/// sepmac-cnf-xml, 1 disable, 2 flash only, 3 ring once, 4 ring).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ring {
    Ring,
    RingOnce,
    Flash,
    Off,
}

impl Ring {
    /// The config file's words.
    pub const NAMES: [(&'static str, Ring); 4] = [
        ("ring", Ring::Ring),
        ("ring-once", Ring::RingOnce),
        ("flash", Ring::Flash),
        ("off", Ring::Off),
    ];

    /// The `ringSettingIdle` value.
    pub fn xml_code(self) -> u8 {
        match self {
            Ring::Off => 1,
            Ring::Flash => 2,
            Ring::RingOnce => 3,
            Ring::Ring => 4,
        }
    }

    fn parse(text: &str) -> Option<Ring> {
        Ring::NAMES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, ring)| *ring)
    }
}

/// Longest phone password: the 7940/7960 SIP firmware takes 31 characters
/// (`real-configs/mkirbst-configs_cisco7960/SIPDefault.cnf`).
pub const MAX_PHONE_PASSWORD_LEN: usize = 31;

/// A speed-dial button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeedDial {
    /// The number dialled.
    pub number: String,
    /// The button's text; the number when absent.
    pub label: Option<String>,
    /// Busy-lamp field: the button lights up with the number's state (seed 000's line 2).
    pub blf: bool,
}

/// One problem in the config, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, when the problem has a place.
    pub line: Option<usize>,
    /// Lowercase description.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Default for Config {
    /// The built-in defaults, used when no config file exists.
    fn default() -> Config {
        Config {
            path: None,
            tftp_root: PathBuf::from("/srv/tftp"),
            tftp_unique_root: false,
            state_dir: PathBuf::from("/var/lib/cisco-autoprov"),
            save_interval_s: None,
            log_level: "info".to_string(),
            notify_socket: PathBuf::from("/var/lib/cisco-autoprov/notify.sock"),
            templates_dir: None,
            firmware_pins: BTreeMap::new(),
            pbx: Pbx {
                host: "127.0.0.1".to_string(),
                port: 5060,
                voicemail: "*97".to_string(),
                pjsip_snippet: None,
                freepbx_csv: None,
                transport: TransportChoice::Auto,
                pjsip_udp_transport: crate::pbx::DEFAULT_TRANSPORT.to_string(),
                pjsip_tcp_transport: crate::pbx::DEFAULT_TCP_TRANSPORT.to_string(),
                context: crate::pbx::DEFAULT_CONTEXT.to_string(),
                unapproved_context: crate::pbx::DEFAULT_UNAPPROVED_CONTEXT.to_string(),
                dialplan_file: None,
                mailbox_context: crate::pbx::DEFAULT_MAILBOX_CONTEXT.to_string(),
                group: None,
                reload_command: Vec::new(),
                reload_interval_s: DEFAULT_RELOAD_INTERVAL_S,
            },
            tftp_server: None,
            snippets: Snippets {
                dnsmasq_script: Some(DEFAULT_DNSMASQ_SCRIPT.to_string()),
                ..Snippets::default()
            },
            provision: Provision {
                policy: Policy::Auto,
                pool_csv: None,
                pool: Vec::new(),
                pool_problems: Vec::new(),
                max_pending: 50,
                max_new_per_minute: 20,
                extensions: ExtensionRange {
                    first: 2000,
                    last: 2099,
                    width: 0,
                },
                clock: None,
                ntp_server: None,
                network_locale: crate::locale::DEFAULT_NETWORK_LOCALE,
                phone_password: None,
                ring: Ring::Ring,
                tftp_only: TftpOnly::Approve,
                rotate_secret_on_leak: false,
            },
            sources: vec![
                Source::file(SourceKind::DnsmasqLeases, "/tmp/dhcp.leases"),
                Source::file(SourceKind::Log, "/var/log/syslog"),
            ],
            defaulted: Defaulted {
                sources: true,
                state_dir: true,
                save_interval: true,
            },
            inventory: BTreeMap::new(),
            diagnostics: Diagnostics::default(),
            dialplan: crate::dialplan::DialPlan::default(),
            dialplan_problems: Vec::new(),
            local_zone: crate::localtime::LocalZone::utc(),
            zone_problems: Vec::new(),
        }
    }
}

/// Collects errors with line numbers while the file is checked.
struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    base_dir: &'a Path,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn error<T>(&mut self, value: &Spanned<T>, message: String) {
        let line = Some(self.line_of(value.span().start));
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            message,
        });
    }

    fn path(&mut self, value: &Spanned<String>, key: &str) -> Option<PathBuf> {
        let text = value.get_ref();
        if text.is_empty() || text.contains('\0') {
            self.error(value, format!("{key}: path must not be empty"));
            return None;
        }
        let path = Path::new(text);
        Some(if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        })
    }

    /// A value that goes into phone files: printable, at most `max` characters.
    fn field(&mut self, value: &Spanned<String>, key: &str, max: usize) -> Option<String> {
        let text = value.get_ref();
        if text.is_empty() {
            self.error(value, format!("{key} must not be empty"));
            return None;
        }
        if text.chars().any(char::is_control) {
            self.error(value, format!("{key} must not contain control characters"));
            return None;
        }
        if text.contains('"') {
            // The 7940/7960 `key: "value"` files cannot carry a double quote.
            self.error(value, format!("{key} must not contain a double quote"));
            return None;
        }
        let n_chars = text.chars().count();
        if n_chars > max {
            self.error(
                value,
                format!("{key} is {n_chars} characters, the phones accept at most {max}"),
            );
            return None;
        }
        Some(text.clone())
    }
}

/// Parses and checks a config file's text. `file` names it in errors; relative paths are
/// resolved against `base_dir` (the file's directory).
pub fn parse(text: &str, file: &str, base_dir: &Path) -> Result<Config, Vec<ConfigError>> {
    let wire = wire::parse(text).map_err(|err| {
        let line = err.span.map(|span| {
            text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        });
        vec![ConfigError {
            file: file.to_string(),
            line,
            message: err.message,
        }]
    })?;
    let mut checker = Checker {
        file,
        text,
        base_dir,
        errors: Vec::new(),
    };
    let config = build(wire, &mut checker);
    if checker.errors.is_empty() {
        Ok(config)
    } else {
        Err(checker.errors)
    }
}

fn build(wire: wire::File, checker: &mut Checker<'_>) -> Config {
    let mut config = Config::default();
    if let Some(value) = &wire.tftp_root {
        if let Some(path) = checker.path(value, "tftp_root") {
            config.tftp_root = path;
        }
    }
    if let Some(value) = &wire.tftp_unique_root {
        match value.get_ref().as_str() {
            "off" => config.tftp_unique_root = false,
            "mac" => config.tftp_unique_root = true,
            other => checker.error(
                value,
                format!("tftp_unique_root {other:?}: expected \"off\" or \"mac\" (dnsmasq's tftp-unique-root=mac)"),
            ),
        }
    }
    if let Some(value) = &wire.state_dir {
        if let Some(path) = checker.path(value, "state_dir") {
            config.state_dir = path;
            config.defaulted.state_dir = false;
        }
    }
    if let Some(value) = &wire.save_interval_s {
        match u64::try_from(*value.get_ref()) {
            Ok(seconds @ 0..=3600) => {
                config.save_interval_s = Some(seconds);
                config.defaulted.save_interval = false;
            }
            _ => checker.error(
                value,
                format!("save_interval_s {} is not 0-3600 seconds", value.get_ref()),
            ),
        }
    }
    config.notify_socket = config.state_dir.join("notify.sock");
    if let Some(value) = &wire.notify_socket {
        if let Some(path) = checker.path(value, "notify_socket") {
            config.notify_socket = path;
        }
    }
    if let Some(value) = &wire.templates_dir {
        config.templates_dir = checker.path(value, "templates_dir");
    }
    if let Some(pins) = wire
        .firmware
        .as_ref()
        .and_then(|firmware| firmware.pin.as_ref())
    {
        for (model, load) in pins {
            match crate::models::Model::by_name(model) {
                Some(found) if found.info().loads_prefix.is_some() => {
                    let text = load.get_ref();
                    if text.is_empty()
                        || !text
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                    {
                        checker.error(load, format!("firmware.pin.{model}: {text:?} is not a load name like SIP41.9-4-2SR3-1S"));
                    } else {
                        config
                            .firmware_pins
                            .insert(found.name().to_string(), text.clone());
                    }
                }
                _ => checker.error(
                    load,
                    format!("firmware.pin: {model:?} is not a model with SIP firmware"),
                ),
            }
        }
    }
    if let Some(value) = &wire.log_level {
        match value.get_ref().as_str() {
            "error" | "warn" | "info" | "debug" | "trace" => {
                config.log_level = value.get_ref().clone()
            }
            other => checker.error(
                value,
                format!("log_level {other:?}: expected error, warn, info, debug or trace"),
            ),
        }
    }
    if let Some(pbx) = &wire.pbx {
        if let Some(value) = &pbx.host {
            if is_host(value.get_ref()) && value.get_ref().len() > MAX_PHONE_HOST_LEN {
                checker.error(value, too_long_host("pbx.host"));
            } else if is_host(value.get_ref()) {
                config.pbx.host = value.get_ref().clone();
            } else {
                checker.error(
                    value,
                    format!(
                        "pbx.host {:?} is not a host name or ipv4 address",
                        value.get_ref()
                    ),
                );
            }
        }
        if let Some(value) = &pbx.port {
            match u16::try_from(*value.get_ref()) {
                Ok(port) if port > 0 => config.pbx.port = port,
                _ => checker.error(
                    value,
                    format!("pbx.port {} is not 1-65535", value.get_ref()),
                ),
            }
        }
        if let Some(value) = &pbx.voicemail {
            if let Some(text) = checker.field(value, "pbx.voicemail", MAX_FIELD_LEN) {
                config.pbx.voicemail = text;
            }
        }
    }
    if let Some(dhcp) = &wire.dhcp {
        if let Some(value) = &dhcp.tftp_server {
            match value.get_ref().parse::<Ipv4Addr>() {
                Ok(ip) => config.tftp_server = Some(ip),
                Err(_) => checker.error(
                    value,
                    format!(
                        "dhcp.tftp_server {:?} is not an ipv4 address",
                        value.get_ref()
                    ),
                ),
            }
        }
        let snippets = &mut config.snippets;
        for (value, slot, key) in [
            (
                &dhcp.dnsmasq_snippet,
                &mut snippets.dnsmasq,
                "dhcp.dnsmasq_snippet",
            ),
            (&dhcp.isc_snippet, &mut snippets.isc, "dhcp.isc_snippet"),
            (&dhcp.kea_snippet, &mut snippets.kea, "dhcp.kea_snippet"),
            (&dhcp.uci_snippet, &mut snippets.uci, "dhcp.uci_snippet"),
        ] {
            if let Some(value) = value {
                *slot = checker.path(value, key);
            }
        }
        let unset = config.tftp_server.is_none_or(|ip| ip.is_unspecified());
        for (value, key) in [
            (&dhcp.isc_snippet, "dhcp.isc_snippet"),
            (&dhcp.kea_snippet, "dhcp.kea_snippet"),
        ] {
            if let (Some(value), true) = (value, unset) {
                checker.error(value, format!("{key} needs dhcp.tftp_server: isc-dhcp and Kea have no \"own address\" placeholder"));
            }
        }
        if let Some(value) = &dhcp.reload_command {
            if value.get_ref().first().is_none_or(String::is_empty) {
                checker.error(value, "dhcp.reload_command must name a program".into());
            } else {
                config.snippets.reload_command = value.get_ref().clone();
            }
        }
        if let Some(value) = &dhcp.dnsmasq_script {
            let text = value.get_ref();
            if text.contains(['\n', '\0']) {
                checker.error(value, "dhcp.dnsmasq_script must be one line".into());
            } else {
                config.snippets.dnsmasq_script = (!text.is_empty()).then(|| text.clone());
            }
        }
        if let Some(reservations) = dhcp.reservations {
            config.snippets.reservations = reservations;
        }
    }
    if let Some(pbx) = &wire.pbx {
        if let Some(value) = &pbx.pjsip_snippet {
            config.pbx.pjsip_snippet = checker.path(value, "pbx.pjsip_snippet");
        }
        if let Some(value) = &pbx.freepbx_csv {
            config.pbx.freepbx_csv = checker.path(value, "pbx.freepbx_csv");
        }
        if let Some(value) = &pbx.dialplan_file {
            config.pbx.dialplan_file = checker.path(value, "pbx.dialplan_file");
        }
        if let Some(value) = &pbx.transport {
            match value.get_ref().as_str() {
                "auto" => config.pbx.transport = TransportChoice::Auto,
                "udp" => config.pbx.transport = TransportChoice::Udp,
                "tcp" => config.pbx.transport = TransportChoice::Tcp,
                other => checker.error(
                    value,
                    format!("pbx.transport {other:?}: expected auto, udp or tcp"),
                ),
            }
        }
        for (value, slot, key) in [
            (
                &pbx.pjsip_udp_transport,
                &mut config.pbx.pjsip_udp_transport,
                "pbx.pjsip_udp_transport",
            ),
            (
                &pbx.pjsip_tcp_transport,
                &mut config.pbx.pjsip_tcp_transport,
                "pbx.pjsip_tcp_transport",
            ),
            (&pbx.context, &mut config.pbx.context, "pbx.context"),
            (
                &pbx.unapproved_context,
                &mut config.pbx.unapproved_context,
                "pbx.unapproved_context",
            ),
            (
                &pbx.mailbox_context,
                &mut config.pbx.mailbox_context,
                "pbx.mailbox_context",
            ),
        ] {
            let Some(value) = value else { continue };
            if crate::pbx::is_safe_name(value.get_ref()) {
                *slot = value.get_ref().clone();
            } else {
                checker.error(
                    value,
                    format!(
                        "{key} {:?} is not a usable asterisk name: 1 to {} letters, digits and -_.+*",
                        value.get_ref(),
                        crate::pbx::MAX_NAME_LEN
                    ),
                );
            }
        }
        if let Some(value) = &pbx.group {
            let group = value.get_ref();
            if group.is_empty()
                || group.len() > 32
                || !group
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                checker.error(
                    value,
                    format!("pbx.group {group:?} is not a group name or number"),
                );
            } else {
                config.pbx.group = Some(group.clone());
            }
        }
        if let Some(value) = &pbx.reload_command {
            if value.get_ref().first().is_none_or(String::is_empty) {
                checker.error(value, "pbx.reload_command must name a program".into());
            } else {
                config.pbx.reload_command = value.get_ref().clone();
            }
        }
        if let Some(value) = &pbx.reload_interval_s {
            match u64::try_from(*value.get_ref()) {
                Ok(seconds) if seconds <= 3600 => config.pbx.reload_interval_s = seconds,
                _ => checker.error(
                    value,
                    format!(
                        "pbx.reload_interval_s {} is not 0-3600 seconds",
                        value.get_ref()
                    ),
                ),
            }
        }
    }
    if let Some(provision) = &wire.provision {
        if let Some(value) = &provision.policy {
            match value.get_ref().as_str() {
                "auto" => config.provision.policy = Policy::Auto,
                "approve" => config.provision.policy = Policy::Approve,
                "inventory" => config.provision.policy = Policy::Inventory,
                other => checker.error(
                    value,
                    format!("provision.policy {other:?}: expected auto, approve or inventory"),
                ),
            }
        }
        if let Some(value) = &provision.pool_csv {
            config.provision.pool_csv = checker.path(value, "provision.pool_csv");
        }
        for (value, slot, key) in [
            (
                &provision.max_pending,
                &mut config.provision.max_pending,
                "provision.max_pending",
            ),
            (
                &provision.max_new_per_minute,
                &mut config.provision.max_new_per_minute,
                "provision.max_new_per_minute",
            ),
        ] {
            if let Some(value) = value {
                match usize::try_from(*value.get_ref()) {
                    Ok(n) if n > 0 && n <= 100_000 => *slot = n,
                    _ => checker.error(value, format!("{key} {} is not 1-100000", value.get_ref())),
                }
            }
        }
        if let Some(value) = &provision.extensions {
            match parse_range(value.get_ref()) {
                Ok(range) => config.provision.extensions = range,
                Err(message) => checker.error(value, message),
            }
        }
        if let Some(value) = &provision.time_zone {
            let text = value.get_ref();
            if text.contains(" Time") {
                // The key used to take the XML firmware's own name.
                checker.error(
                    value,
                    format!(
                        "provision.time_zone now takes an iana name such as \"Europe/Berlin\" ({text:?} is a cisco name): cisco-autoprov derives the xml firmware's zone and the 7940/7960 daylight-saving rules from it"
                    ),
                );
            } else {
                match crate::timezone::resolve(text) {
                    Ok(clock) => config.provision.clock = Some(clock),
                    Err(message) => checker.error(value, format!("provision.time_zone: {message}")),
                }
            }
        }
        if let Some(value) = &provision.time_zone_7940 {
            checker.error(
                value,
                "provision.time_zone_7940 is replaced by provision.time_zone (an iana name such as \"Europe/Berlin\"), which sets the 7940/7960 zone and its daylight-saving rules too: remove it".into(),
            );
        }
        if let Some(value) = &provision.ntp_server {
            if !is_host(value.get_ref()) {
                checker.error(
                    value,
                    "provision.ntp_server is not a host name or ipv4 address".into(),
                );
            } else if value.get_ref().len() > MAX_PHONE_HOST_LEN {
                checker.error(value, too_long_host("provision.ntp_server"));
            } else {
                config.provision.ntp_server = Some(value.get_ref().clone());
            }
        }
        if let Some(value) = &provision.tftp_only {
            match value.get_ref().as_str() {
                "approve" => config.provision.tftp_only = TftpOnly::Approve,
                "auto" => config.provision.tftp_only = TftpOnly::Auto,
                other => checker.error(
                    value,
                    format!("provision.tftp_only {other:?}: expected approve or auto"),
                ),
            }
        }
        if let Some(rotate) = provision.rotate_secret_on_leak {
            config.provision.rotate_secret_on_leak = rotate;
        }
        if let Some(value) = &provision.phone_password {
            config.provision.phone_password = phone_password(checker, value, "provision");
        }
        if let Some(value) = &provision.ring {
            if let Some(ring) = ring(checker, value, "provision") {
                config.provision.ring = ring;
            }
        }
        if let Some(value) = &provision.country {
            match crate::locale::network_locale(value.get_ref()) {
                Some(locale) => config.provision.network_locale = locale,
                None => checker.error(
                    value,
                    format!(
                        "provision.country {:?}: expected a two-letter country code with a cisco network locale: {}",
                        value.get_ref(),
                        crate::locale::countries().collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
        }
    }
    if let Some(diagnostics) = &wire.diagnostics {
        if let Some(value) = &diagnostics.loop_count {
            match u32::try_from(*value.get_ref()) {
                Ok(n) if (2..=MAX_LOOP_COUNT).contains(&n) => config.diagnostics.loop_count = n,
                _ => checker.error(
                    value,
                    format!(
                        "diagnostics.loop_count {} is not 2-{MAX_LOOP_COUNT}",
                        value.get_ref()
                    ),
                ),
            }
        }
        for (value, slot, key) in [
            (
                &diagnostics.loop_window_s,
                &mut config.diagnostics.loop_window_s,
                "diagnostics.loop_window_s",
            ),
            (
                &diagnostics.no_tftp_after_s,
                &mut config.diagnostics.no_tftp_after_s,
                "diagnostics.no_tftp_after_s",
            ),
        ] {
            if let Some(value) = value {
                match *value.get_ref() {
                    n @ 1..=86_400 => *slot = n,
                    n => checker.error(value, format!("{key} {n} is not 1-86400 (seconds)")),
                }
            }
        }
    }
    if let Some(sources) = &wire.sources {
        config.defaulted.sources = false;
        config.sources.clear();
        for source in sources {
            let source = source.get_ref();
            let kind = match source.kind.get_ref().as_str() {
                "dnsmasq-leases" => SourceKind::DnsmasqLeases,
                "isc-leases" => SourceKind::IscLeases,
                "kea-leases" => SourceKind::KeaLeases,
                "odhcpd" => SourceKind::Odhcpd,
                "log" => SourceKind::Log,
                "command" => SourceKind::Command,
                "journal" => SourceKind::Journal,
                other => {
                    checker.error(
                        &source.kind,
                        format!("unknown source kind {other:?}: expected dnsmasq-leases, isc-leases, kea-leases, odhcpd, log, command or journal"),
                    );
                    continue;
                }
            };
            if kind == SourceKind::Journal {
                config.sources.extend(journal_source(checker, source));
                continue;
            }
            if let Some(key) = [&source.programs, &source.users]
                .into_iter()
                .flatten()
                .next()
            {
                checker.error(
                    key,
                    "only a journal source takes `programs` and `users`".into(),
                );
                continue;
            }
            if kind == SourceKind::Command {
                if let Some(path) = &source.path {
                    checker.error(path, "a command source takes `command`, not `path`".into());
                    continue;
                }
                let Some(command) = &source.command else {
                    checker.error(
                        &source.kind,
                        "a command source needs `command = [\"program\", \"arg\", …]`".into(),
                    );
                    continue;
                };
                if command.get_ref().is_empty() || command.get_ref()[0].is_empty() {
                    checker.error(command, "command must name a program".into());
                    continue;
                }
                config.sources.push(Source {
                    command: command.get_ref().clone(),
                    ..Source::file(kind, PathBuf::new())
                });
                continue;
            }
            if let Some(command) = &source.command {
                checker.error(
                    command,
                    format!("a {} source takes `path`, not `command`", kind.as_str()),
                );
                continue;
            }
            let Some(path_value) = &source.path else {
                checker.error(
                    &source.kind,
                    format!("a {} source needs `path`", kind.as_str()),
                );
                continue;
            };
            if let Some(path) = checker.path(path_value, "source.path") {
                if config.sources.iter().any(|s| s.path == path) {
                    checker.error(
                        path_value,
                        format!("{} is already a source", path.display()),
                    );
                    continue;
                }
                config.sources.push(Source::file(kind, path));
            }
        }
    }
    let mut extensions = HashSet::new();
    for entry in &wire.phones {
        let phone = entry.get_ref();
        let mac = match phone.mac.get_ref().parse::<Mac>() {
            Ok(mac) => mac,
            Err(err) => {
                checker.error(&phone.mac, format!("phone.mac: {err}"));
                continue;
            }
        };
        let who = format!("phone {mac}");
        let extension = inventory_extension(checker, &phone.extension, &who, &mut extensions);
        let secret = phone
            .secret
            .as_ref()
            .and_then(|value| checker.field(value, &format!("{who}: secret"), MAX_FIELD_LEN));
        let label = phone
            .label
            .as_ref()
            .and_then(|value| checker.field(value, &format!("{who}: label"), MAX_FIELD_LEN));
        if config.inventory.contains_key(&mac) {
            checker.error(&phone.mac, format!("{who} is listed twice"));
            continue;
        }
        let mut speed_dials = Vec::new();
        for entry in &phone.speed_dials {
            let dial = entry.get_ref();
            let number = checker.field(
                &dial.number,
                &format!("{who}: speed dial number"),
                MAX_FIELD_LEN,
            );
            if let Some(number) = &number {
                if !number
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"*#+._-@".contains(&b))
                {
                    checker.error(&dial.number, format!("{who}: speed dial number {number:?} may hold only letters, digits and * # + . _ - @"));
                    continue;
                }
            }
            let label = dial.label.as_ref().and_then(|value| {
                checker.field(value, &format!("{who}: speed dial label"), MAX_FIELD_LEN)
            });
            if let Some(number) = number {
                speed_dials.push(SpeedDial {
                    number,
                    label,
                    blf: dial.blf.unwrap_or(false),
                });
            }
        }
        let mut addon_modules = Vec::new();
        if let Some(value) = &phone.addon_modules {
            let kems = value.get_ref();
            let known = |kem: &String| {
                crate::models::ADDON_MODULES
                    .iter()
                    .any(|(name, _)| name == kem)
            };
            if let Some(unknown) = kems.iter().find(|kem| !known(kem)) {
                checker.error(
                    value,
                    format!("{who}: addon module {unknown:?} is not one of 7914, 7915, 7916"),
                );
            } else if kems.len() > 2 || kems.windows(2).any(|pair| pair[0] != pair[1]) {
                checker.error(
                    value,
                    format!("{who}: at most two addon modules, both of one type"),
                );
            } else {
                addon_modules = kems.clone();
            }
        }
        let mut lines = Vec::new();
        for entry in &phone.lines {
            let line = entry.get_ref();
            let Some(extension) =
                inventory_extension(checker, &line.extension, &who, &mut extensions)
            else {
                continue;
            };
            let secret = line.secret.as_ref().and_then(|value| {
                checker.field(
                    value,
                    &format!("{who}: line {extension} secret"),
                    MAX_FIELD_LEN,
                )
            });
            let label = line.label.as_ref().and_then(|value| {
                checker.field(
                    value,
                    &format!("{who}: line {extension} label"),
                    MAX_FIELD_LEN,
                )
            });
            lines.push(ExtraLine {
                extension,
                secret,
                label,
            });
        }
        let password = phone
            .phone_password
            .as_ref()
            .and_then(|value| phone_password(checker, value, &who));
        let ring = phone
            .ring
            .as_ref()
            .and_then(|value| ring(checker, value, &who));
        if let Some(extension) = extension {
            config.inventory.insert(
                mac,
                InventoryPhone {
                    extension,
                    secret,
                    label,
                    speed_dials,
                    addon_modules,
                    lines,
                    phone_password: password,
                    ring,
                },
            );
        }
    }
    dialplan(&wire, checker, &mut config);
    config
}

/// `[dialplan]`: the plan, its extension lengths from the range and the inventory, checked
/// as the phones would read it (`crate::dialplan`: rows that never take effect, extensions
/// an emergency number or another row would cut).
fn dialplan(wire: &wire::File, checker: &mut Checker<'_>, config: &mut Config) {
    let plan = &mut config.dialplan;
    if let Some(table) = &wire.dialplan {
        if let Some(value) = &table.emergency {
            plan.emergency = value.get_ref().clone();
            for number in value.get_ref() {
                if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                    checker.error(
                        value,
                        format!("dialplan.emergency {number:?} is not a number"),
                    );
                }
            }
        }
        if let Some(value) = &table.outside_prefix {
            let prefix = value.get_ref();
            if prefix.is_empty() || prefix.len() > 4 || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                checker.error(
                    value,
                    format!(
                        "dialplan.outside_prefix {prefix:?}: expected 1 to 4 digits, e.g. \"0\""
                    ),
                );
            } else {
                plan.outside_prefix = Some(prefix.clone());
            }
        }
        if let Some(enabled) = table.feature_codes {
            plan.feature_codes = enabled;
        }
        if let Some(value) = &table.catch_all_timeout {
            match u32::try_from(*value.get_ref()) {
                Ok(seconds) if (1..=crate::dialplan::MAX_TIMEOUT).contains(&seconds) => {
                    plan.catch_all_timeout = seconds;
                }
                _ => checker.error(
                    value,
                    format!(
                        "dialplan.catch_all_timeout {} is not 1-{} seconds",
                        value.get_ref(),
                        crate::dialplan::MAX_TIMEOUT
                    ),
                ),
            }
        }
        for entry in &table.patterns {
            let pattern = entry.get_ref();
            let timeout = u32::try_from(*pattern.timeout.get_ref())
                .ok()
                .filter(|t| *t <= crate::dialplan::MAX_TIMEOUT);
            if let Err(message) = crate::dialplan::check_pattern(pattern.pattern.get_ref()) {
                checker.error(&pattern.pattern, format!("dialplan.patterns: {message}"));
            } else if let Some(timeout) = timeout {
                plan.extra
                    .push((pattern.pattern.get_ref().clone(), timeout));
            } else {
                checker.error(
                    &pattern.timeout,
                    format!(
                        "dialplan.patterns timeout {} is not 0-{} seconds",
                        pattern.timeout.get_ref(),
                        crate::dialplan::MAX_TIMEOUT
                    ),
                );
            }
        }
    }
    // The lengths of the extensions the phones get: the range's, and the inventory's.
    let range = &config.provision.extensions;
    let mut lengths: std::collections::BTreeSet<usize> = [range.first, range.last]
        .iter()
        .map(|n| format!("{n:0width$}", width = range.width).len())
        .collect();
    let inventory: Vec<String> = config
        .inventory
        .values()
        .flat_map(|entry| entry.extensions().map(str::to_string).collect::<Vec<_>>())
        .filter(|ext| !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    lengths.extend(inventory.iter().map(String::len));
    let plan = &mut config.dialplan;
    plan.extension_lengths = lengths.into_iter().collect();
    let mut problems = crate::dialplan::check_plan(plan);
    for extension in &inventory {
        if let Err(problem) = crate::dialplan::check_extension(plan, extension) {
            problems.push(problem);
        }
    }
    config.dialplan_problems = problems;
}

/// An inventory extension (line 1 or another line): a plain name, and no other line's.
fn inventory_extension(
    checker: &mut Checker<'_>,
    value: &Spanned<String>,
    who: &str,
    taken: &mut HashSet<String>,
) -> Option<String> {
    let extension = checker.field(value, &format!("{who}: extension"), MAX_FIELD_LEN)?;
    if !extension
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
    {
        checker.error(
            value,
            format!("{who}: extension {extension:?} may hold only letters, digits and . _ + -"),
        );
        return None;
    }
    if !taken.insert(extension.clone()) {
        checker.error(
            value,
            format!("{who}: extension {extension} is given to another phone or line too"),
        );
    }
    Some(extension)
}

/// `phone_password`: 1 to 31 printable ASCII characters without blanks or quotes (the
/// 7940/7960 file quotes it; the phones' keypads type digits and letters).
fn phone_password(checker: &mut Checker<'_>, value: &Spanned<String>, who: &str) -> Option<String> {
    let text = value.get_ref();
    let ok = (1..=MAX_PHONE_PASSWORD_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'\''));
    if ok {
        Some(text.clone())
    } else {
        checker.error(
            value,
            format!("{who}: phone_password must be 1 to {MAX_PHONE_PASSWORD_LEN} printable characters without blanks or quotes"),
        );
        None
    }
}

/// `ring`: one of [`Ring::NAMES`].
fn ring(checker: &mut Checker<'_>, value: &Spanned<String>, who: &str) -> Option<Ring> {
    let ring = Ring::parse(value.get_ref());
    if ring.is_none() {
        let names: Vec<&str> = Ring::NAMES.iter().map(|(name, _)| *name).collect();
        checker.error(
            value,
            format!(
                "{who}: ring {:?}: expected {}",
                value.get_ref(),
                names.join(", ")
            ),
        );
    }
    ring
}

/// `2000-2099` → range; numbers only, first ≤ last, at most 100,000 extensions.
fn parse_range(text: &str) -> Result<ExtensionRange, String> {
    let bad = || format!("provision.extensions {text:?}: expected FIRST-LAST, e.g. \"2000-2099\"");
    let (first, last) = text.trim().split_once('-').ok_or_else(bad)?;
    let (first, last) = (first.trim(), last.trim());
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || !digits(last) {
        return Err(bad());
    }
    let width = if first.starts_with('0') && first.len() > 1 {
        first.len()
    } else {
        0
    };
    let (first_n, last_n): (u64, u64) = (
        first.parse().map_err(|_| bad())?,
        last.parse().map_err(|_| bad())?,
    );
    if first_n > last_n {
        return Err(format!(
            "provision.extensions {text:?}: first is above last"
        ));
    }
    if last_n - first_n >= 100_000 {
        return Err(format!(
            "provision.extensions {text:?}: more than 100000 extensions"
        ));
    }
    Ok(ExtensionRange {
        first: first_n,
        last: last_n,
        width,
    })
}

/// A DNS name or an IPv4 address: letters, digits, `-` and `.`, at most 253 characters.
fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A `kind = "journal"` entry: `programs` (default [`JOURNAL_PROGRAMS`]), `users` (names or
/// uids; default any), `command` (default [`journal_command`] of the programs).
fn journal_source(checker: &mut Checker<'_>, source: &wire::Source) -> Option<Source> {
    if let Some(path) = &source.path {
        checker.error(path, "a journal source takes no `path`".into());
        return None;
    }
    let mut programs: Vec<String> = JOURNAL_PROGRAMS.iter().map(|p| p.to_string()).collect();
    if let Some(value) = &source.programs {
        programs = value.get_ref().clone();
        let bad = programs
            .iter()
            .find(|p| p.is_empty() || p.len() > MAX_COMM_LEN || p.contains(['=', '\n']));
        if let Some(bad) = bad {
            checker.error(value, format!("source.programs: {bad:?} is not a process name (_COMM): 1-{MAX_COMM_LEN} bytes, the kernel cuts longer names; no '='"));
            return None;
        }
        if programs.is_empty() {
            checker.error(
                value,
                "source.programs must name at least one program".into(),
            );
            return None;
        }
    }
    let (mut users, mut uids) = (Vec::new(), Vec::new());
    if let Some(value) = &source.users {
        users = value.get_ref().clone();
        for user in &users {
            if user.bytes().all(|b| b.is_ascii_digit()) && !user.is_empty() {
                match user.parse() {
                    Ok(uid) => uids.push(uid),
                    Err(_) => {
                        checker.error(value, format!("source.users: uid {user} is too large"))
                    }
                }
            } else if user.is_empty() || user.contains([':', '\n']) {
                checker.error(value, format!("source.users: {user:?} is not a user name"));
            }
        }
        if users.is_empty() {
            checker.error(
                value,
                "source.users must name at least one user (leave it out to accept any)".into(),
            );
        }
    }
    let command = match &source.command {
        Some(command) if command.get_ref().first().is_none_or(String::is_empty) => {
            checker.error(command, "command must name a program".into());
            return None;
        }
        Some(command) => command.get_ref().clone(),
        None => journal_command(&programs),
    };
    Some(Source {
        command,
        programs,
        users,
        uids,
        ..Source::file(SourceKind::Journal, PathBuf::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `contains` says what listing the range would: the same numbers, spelled the same.
    #[test]
    fn range_contains_what_it_lists() {
        for text in ["2000-2099", "0100-0199", "95-105", "7-7"] {
            let range = parse_range(text).unwrap();
            let listed: Vec<String> = range.iter().collect();
            for candidate in (0..2200).flat_map(|n| [format!("{n}"), format!("{n:04}")]) {
                assert_eq!(
                    range.contains(&candidate),
                    listed.contains(&candidate),
                    "{text}: {candidate}"
                );
            }
            for odd in ["", "+2000", " 2000", "2000 ", "20a0", "-100"] {
                assert!(!range.contains(odd), "{text}: {odd:?}");
            }
        }
    }

    fn load(text: &str) -> Result<Config, Vec<String>> {
        parse(text, "config.toml", Path::new("/etc/cisco-autoprov"))
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn issue_example_parses() {
        let config = load(include_str!("../../tests/data/config/issue-example.toml")).unwrap();
        assert_eq!(config.tftp_root, PathBuf::from("/srv/tftp"));
        assert_eq!(config.pbx.host, "192.0.2.10");
        assert_eq!(config.tftp_server, Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(
            config.provision.extensions.iter().next().as_deref(),
            Some("2000")
        );
        assert_eq!(config.provision.extensions.len(), 100);
        assert_eq!(config.sources.len(), 2);
        let mac: Mac = "001B0C18BDC1".parse().unwrap();
        let phone = &config.inventory[&mac];
        assert_eq!(phone.extension, "1006");
        assert_eq!(phone.secret.as_deref(), Some("s3cret"));
        assert_eq!(phone.label.as_deref(), Some("Thomas"));
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(load("").unwrap(), Config::default());
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let config =
            load("tftp_root = \"tftp\"\n[[source]]\nkind = \"log\"\npath = \"x.log\"\n").unwrap();
        assert_eq!(config.tftp_root, PathBuf::from("/etc/cisco-autoprov/tftp"));
        assert_eq!(
            config.sources[0].path,
            PathBuf::from("/etc/cisco-autoprov/x.log")
        );
    }

    #[track_caller]
    fn check_errors(text: &str, expected: &[&str]) {
        let errors = load(text).unwrap_err();
        assert_eq!(errors, expected);
    }

    #[test]
    fn errors_name_file_and_line() {
        check_errors(
            "tftp_root = \"/srv/tftp\"\nbogus = 1\n",
            &["config.toml:2: bogus: unknown key, expected one of tftp_root, tftp_unique_root, state_dir, log_level, save_interval_s, notify_socket, templates_dir, pbx, dhcp, provision, firmware, diagnostics, dialplan, source, phone"],
        );
        check_errors(
            "tftp_unique_root = \"ip\"\n[pbx]\nunapproved_context = \"a;b\"\n[provision]\nrotate_secret_on_leak = \"yes\"\n",
            &["config.toml:5: [provision] rotate_secret_on_leak: expected true or false (without quotes), found text \"yes\""],
        );
        check_errors(
            "tftp_unique_root = \"ip\"\n[pbx]\nunapproved_context = \"a;b\"\n",
            &[
                "config.toml:1: tftp_unique_root \"ip\": expected \"off\" or \"mac\" (dnsmasq's tftp-unique-root=mac)",
                "config.toml:3: pbx.unapproved_context \"a;b\" is not a usable asterisk name: 1 to 79 letters, digits and -_.+*",
            ],
        );
        let config = load("tftp_unique_root = \"mac\"\n[pbx]\ndialplan_file = \"/etc/asterisk/x.conf\"\n[provision]\nrotate_secret_on_leak = true\n").unwrap();
        assert!(config.tftp_unique_root && config.provision.rotate_secret_on_leak);
        assert_eq!(config.pbx.unapproved_context, "cisco-autoprov-unapproved");
        check_errors(
            "[pbx]\nhost = 5\n",
            &["config.toml:2: [pbx] host: write it in quotes, \"5\""],
        );
        // Admin words for every type, with the key and its table (field-evidence.md §5).
        check_errors(
            "[[phone]]\nmac = \"00:1b:0c:18:bd:c1\"\nextension = 2000\n",
            &["config.toml:3: [[phone]] extension: write it in quotes, \"2000\""],
        );
        check_errors(
            "[[phone]]\nmac = \"00:1b:0c:18:bd:c1\"\nextension = \"2000\"\nlines = [{ extension = 2001 }]\n",
            &["config.toml:4: [[phone]] lines.extension: write it in quotes, \"2001\""],
        );
        check_errors(
            "[pbx]\nport = \"5060\"\n",
            &["config.toml:2: [pbx] port: expected a whole number (without quotes), found text \"5060\""],
        );
        check_errors(
            "[diagnostics]\nloop_count = 2.5\n",
            &["config.toml:2: [diagnostics] loop_count: expected a whole number, found the number 2.5"],
        );
        check_errors(
            "[dhcp]\nreload_command = \"systemctl reload dnsmasq\"\n",
            &["config.toml:2: [dhcp] reload_command: expected a list of text, like [\"a\", \"b\"], found text \"systemctl reload dnsmasq\""],
        );
        check_errors(
            "[[phone]]\nmac = \"00:1b:0c:18:bd:c1\"\n",
            &["config.toml:1: [[phone]] extension is missing"],
        );
        check_errors(
            "[pbx]\nport = 5060\nhost = \"pbx\"\nport = 5061\n",
            &["config.toml:4: [pbx] port is set twice (first on line 2): keep one"],
        );
        check_errors(
            "[pbx]\nhost = \"pbx\"\n[provision]\n[pbx]\nport = 1\n",
            &["config.toml:4: table [pbx] is set twice (first on line 1): keep one"],
        );
        check_errors(
            "pbx = 5\n",
            &["config.toml:1: [pbx]: expected a table, found the number 5"],
        );
        check_errors(
            "[pbx]\nport = 70000\n[dhcp]\ntftp_server = \"router\"\n[provision]\nextensions = \"2099-2000\"\n",
            &[
                "config.toml:2: pbx.port 70000 is not 1-65535",
                "config.toml:4: dhcp.tftp_server \"router\" is not an ipv4 address",
                "config.toml:6: provision.extensions \"2099-2000\": first is above last",
            ],
        );
        check_errors(
            "[[source]]\nkind = \"isc\"\npath = \"/x\"\n",
            &["config.toml:2: unknown source kind \"isc\": expected dnsmasq-leases, isc-leases, kea-leases, odhcpd, log, command or journal"],
        );
    }

    /// processNodeName and the NTP `<name>` take at most 50 characters (usecallmanager.nz
    /// sepmac-cnf-xml; field-evidence.md §3); the country picks a network locale Cisco ships;
    /// the new [pbx] keys are checked.
    #[test]
    fn phone_limits_and_pbx_keys() {
        let long = format!("{}.example.org", "a".repeat(40));
        check_errors(
            &format!("[pbx]\nhost = \"{long}\"\n[provision]\nntp_server = \"{long}\"\ncountry = \"XX\"\n"),
            &[
                "config.toml:2: pbx.host is longer than the 50 characters the phones take (processNodeName, ntp name): use a shorter name or the ipv4 address",
                "config.toml:4: provision.ntp_server is longer than the 50 characters the phones take (processNodeName, ntp name): use a shorter name or the ipv4 address",
                &format!(
                    "config.toml:5: provision.country \"XX\": expected a two-letter country code with a cisco network locale: {}",
                    crate::locale::countries().collect::<Vec<_>>().join(", ")
                ),
            ],
        );
        check_errors(
            "[pbx]\ntransport = \"tls\"\ncontext = \"a b\"\ngroup = \"x:y\"\nreload_command = []\nreload_interval_s = -1\n",
            &[
                "config.toml:2: pbx.transport \"tls\": expected auto, udp or tcp",
                "config.toml:3: pbx.context \"a b\" is not a usable asterisk name: 1 to 79 letters, digits and -_.+*",
                "config.toml:4: pbx.group \"x:y\" is not a group name or number",
                "config.toml:5: pbx.reload_command must name a program",
                "config.toml:6: pbx.reload_interval_s -1 is not 0-3600 seconds",
            ],
        );
        let config = load("[pbx]\ntransport = \"udp\"\ngroup = \"asterisk\"\nreload_command = [\"asterisk\", \"-rx\", \"module reload res_pjsip.so\"]\n[provision]\ncountry = \"de\"\n").unwrap();
        assert_eq!(config.pbx.transport, TransportChoice::Udp);
        assert_eq!(config.pbx.group.as_deref(), Some("asterisk"));
        assert_eq!(config.pbx.reload_command.len(), 3);
        assert_eq!(config.pbx.reload_interval_s, DEFAULT_RELOAD_INTERVAL_S);
        assert_eq!(config.provision.network_locale, "Germany");
    }

    /// One site time zone, an IANA name, for both families (issue 12); the old keys say what
    /// replaced them.
    #[test]
    fn time_zone_is_an_iana_name() {
        let config = load("[provision]\ntime_zone = \"Europe/Berlin\"\n").unwrap();
        let clock = config.provision.clock.unwrap();
        assert_eq!(clock.xml_zone, "W. Europe Standard/Daylight Time");
        assert_eq!(clock.sip_zone, "CET");
        assert_eq!(
            load("").unwrap().provision.clock,
            None,
            "the loader fills in the system's"
        );
        check_errors(
            "[provision]\ntime_zone = \"Central Europe Standard/Daylight Time\"\ntime_zone_7940 = \"CET\"\n",
            &[
                "config.toml:2: provision.time_zone now takes an iana name such as \"Europe/Berlin\" (\"Central Europe Standard/Daylight Time\" is a cisco name): cisco-autoprov derives the xml firmware's zone and the 7940/7960 daylight-saving rules from it",
                "config.toml:3: provision.time_zone_7940 is replaced by provision.time_zone (an iana name such as \"Europe/Berlin\"), which sets the 7940/7960 zone and its daylight-saving rules too: remove it",
            ],
        );
        let errors = load("[provision]\ntime_zone = \"Asia/Kathmandu\"\n").unwrap_err();
        assert!(
            errors[0].contains("has no cisco equivalent") && errors[0].contains("Asia/Kolkata"),
            "{errors:?}"
        );
    }

    /// `[dialplan]` and the extension lengths the plan dials: the range's and the
    /// inventory's (issue 12: the extension length(s) in use dial at once).
    #[test]
    fn dialplan_keys() {
        let config = load(
            "[provision]\nextensions = \"200-299\"\n\
             [dialplan]\noutside_prefix = \"0\"\nemergency = [\"112\"]\ncatch_all_timeout = 4\n\
             patterns = [{ match = \"00.\", timeout = 5 }]\n\
             [[phone]]\nmac = \"00:1b:0c:18:bd:c1\"\nextension = \"1006\"\n",
        )
        .unwrap();
        let plan = &config.dialplan;
        assert_eq!(plan.extension_lengths, [3, 4]);
        assert_eq!(plan.outside_prefix.as_deref(), Some("0"));
        assert_eq!(plan.emergency, ["112"]);
        assert_eq!(plan.catch_all_timeout, 4);
        assert_eq!(plan.extra, [("00.".to_string(), 5)]);
        check_errors(
            "[dialplan]\noutside_prefix = \"x\"\ncatch_all_timeout = 0\npatterns = [{ match = \"a<\", timeout = 1 }]\n",
            &[
                "config.toml:2: dialplan.outside_prefix \"x\": expected 1 to 4 digits, e.g. \"0\"",
                "config.toml:3: dialplan.catch_all_timeout 0 is not 1-60 seconds",
                &format!(
                    "config.toml:4: dialplan.patterns: {}",
                    crate::dialplan::check_pattern("a<").unwrap_err()
                ),
            ],
        );
    }

    #[test]
    fn inventory_errors() {
        check_errors(
            r#"
[[phone]]
mac = "00:1B:0C:18:BD:ZZ"
extension = "1"

[[phone]]
mac = "001b0c18bdc1"
extension = "1006"
secret = "0123456789012345678901234567890"

[[phone]]
mac = "00-1B-0C-18-BD-C2"
extension = "1006"
label = "Thomas"

[[phone]]
mac = "001b.0c18.bdc2"
extension = "1007"
"#,
            &[
                "config.toml:3: phone.mac: invalid mac address \"00:1B:0C:18:BD:ZZ\"",
                "config.toml:9: phone 001B0C18BDC1: secret is 31 characters, the phones accept at most 30",
                "config.toml:13: phone 001B0C18BDC2: extension 1006 is given to another phone or line too",
                "config.toml:17: phone 001B0C18BDC2 is listed twice",
            ],
        );
    }

    #[test]
    fn command_sources() {
        let config =
            load("[[source]]\nkind = \"command\"\ncommand = [\"logread\", \"-f\"]\n").unwrap();
        assert_eq!(config.sources[0].command, ["logread", "-f"]);
        assert_eq!(config.sources[0].label(), "command: logread -f");
        check_errors(
            "[[source]]\nkind = \"command\"\npath = \"/x\"\n[[source]]\nkind = \"command\"\ncommand = []\n[[source]]\nkind = \"log\"\ncommand = [\"x\"]\n",
            &[
                "config.toml:3: a command source takes `command`, not `path`",
                "config.toml:6: command must name a program",
                "config.toml:9: a log source takes `path`, not `command`",
            ],
        );
    }

    #[test]
    fn journal_sources() {
        let config = load("[[source]]\nkind = \"journal\"\n").unwrap();
        let source = &config.sources[0];
        assert_eq!(source.programs, JOURNAL_PROGRAMS);
        assert!(source.users.is_empty() && source.uids.is_empty());
        assert_eq!(
            source.command.join(" "),
            "journalctl --follow --lines=0 --output=json --output-fields=MESSAGE,SYSLOG_IDENTIFIER,_COMM,_UID,_PID,_HOSTNAME \
             _COMM=dnsmasq _COMM=in.tftpd _COMM=atftpd _COMM=dhcpd _COMM=kea-dhcp4"
        );
        let config = load(
            "[[source]]\nkind = \"journal\"\nprograms = [\"dnsmasq\"]\nusers = [\"dnsmasq\", 0]\n",
        )
        .unwrap();
        let source = &config.sources[0];
        assert_eq!(source.command.last().unwrap(), "_COMM=dnsmasq");
        // Names are resolved by `commands::load_config`; numbers here.
        assert_eq!(
            (source.users.clone(), source.uids.clone()),
            (vec!["dnsmasq".to_string(), "0".to_string()], vec![0])
        );
        assert!(source.label().starts_with("journal: journalctl --follow"));
        check_errors(
            "[[source]]\nkind = \"journal\"\nprograms = [\"kea-dhcp4-server\"]\n\
             [[source]]\nkind = \"journal\"\npath = \"/x\"\n\
             [[source]]\nkind = \"journal\"\nusers = [\"a:b\", 99999999999]\n\
             [[source]]\nkind = \"log\"\npath = \"/y\"\nprograms = [\"dnsmasq\"]\n\
             [[source]]\nkind = \"journal\"\nprograms = []\n",
            &[
                "config.toml:3: source.programs: \"kea-dhcp4-server\" is not a process name (_COMM): 1-15 bytes, the kernel cuts longer names; no '='",
                "config.toml:6: a journal source takes no `path`",
                "config.toml:9: source.users: \"a:b\" is not a user name",
                "config.toml:9: source.users: uid 99999999999 is too large",
                "config.toml:13: only a journal source takes `programs` and `users`",
                "config.toml:16: source.programs must name at least one program",
            ],
        );
        check_errors(
            "[[source]]\nkind = \"journal\"\nusers = [-1]\n",
            &["config.toml:3: [[source]] users: expected a user name or a uid, found the number -1"],
        );
    }

    #[test]
    fn firmware_pins_and_templates() {
        let config = load("templates_dir = \"t\"\n[firmware]\npin = { \"7941\" = \"SIP41.9-4-2SR3-1S\", \"CP-7940\" = \"P0S3-8-12-00\" }\n").unwrap();
        assert_eq!(
            config.templates_dir,
            Some(PathBuf::from("/etc/cisco-autoprov/t"))
        );
        assert_eq!(config.firmware_pins["7941"], "SIP41.9-4-2SR3-1S");
        assert_eq!(config.firmware_pins["7940"], "P0S3-8-12-00");
        check_errors(
            "[firmware]\npin = { \"7905\" = \"x\", \"7941\" = \"../x\" }\n",
            &[
                "config.toml:2: firmware.pin: \"7905\" is not a model with SIP firmware",
                "config.toml:2: firmware.pin.7941: \"../x\" is not a load name like SIP41.9-4-2SR3-1S",
            ],
        );
        check_errors(
            "[[phone]]\nmac = \"001b0c18bdc1\"\nextension = \"1\"\nsecret = 'a\"b'\n",
            &["config.toml:4: phone 001B0C18BDC1: secret must not contain a double quote"],
        );
    }

    #[test]
    fn snippet_keys() {
        let config = load(
            "[dhcp]\ntftp_server = \"192.0.2.1\"\ndnsmasq_snippet = \"/etc/dnsmasq.d/cisco-autoprov.conf\"\n\
             isc_snippet = \"isc.conf\"\nreload_command = [\"/etc/init.d/dnsmasq\", \"reload\"]\ndnsmasq_script = \"\"\nreservations = true\n",
        )
        .unwrap();
        assert_eq!(
            config.snippets.dnsmasq,
            Some(PathBuf::from("/etc/dnsmasq.d/cisco-autoprov.conf"))
        );
        assert_eq!(
            config.snippets.isc,
            Some(PathBuf::from("/etc/cisco-autoprov/isc.conf"))
        );
        assert_eq!(
            config.snippets.reload_command,
            ["/etc/init.d/dnsmasq", "reload"]
        );
        assert_eq!(config.snippets.dnsmasq_script, None);
        assert!(config.snippets.reservations);
        check_errors(
            "[dhcp]\nkea_snippet = \"k.json\"\nreload_command = []\n",
            &[
                "config.toml:2: dhcp.kea_snippet needs dhcp.tftp_server: isc-dhcp and Kea have no \"own address\" placeholder",
                "config.toml:3: dhcp.reload_command must name a program",
            ],
        );
    }

    #[test]
    fn speed_dials_and_addon_modules() {
        let config = load(
            "[[phone]]\nmac = \"001b0c18bdc1\"\nextension = \"14\"\naddon_modules = [\"7914\"]\n\
             speed_dials = [{ number = \"11\", label = \"11 Monika\", blf = true }, { number = \"*97\" }]\n",
        )
        .unwrap();
        let phone = config.inventory.values().next().unwrap();
        assert_eq!(phone.addon_modules, ["7914"]);
        assert_eq!(
            phone.speed_dials,
            [
                SpeedDial {
                    number: "11".into(),
                    label: Some("11 Monika".into()),
                    blf: true
                },
                SpeedDial {
                    number: "*97".into(),
                    label: None,
                    blf: false
                },
            ]
        );
        check_errors(
            "[[phone]]\nmac = \"001b0c18bdc1\"\nextension = \"14\"\naddon_modules = [\"7914\", \"7915\"]\nspeed_dials = [{ number = \"1 1\" }]\n",
            &[
                "config.toml:5: phone 001B0C18BDC1: speed dial number \"1 1\" may hold only letters, digits and * # + . _ - @",
                "config.toml:4: phone 001B0C18BDC1: at most two addon modules, both of one type",
            ],
        );
    }

    #[test]
    fn policy_keys() {
        let config = load(
            "[provision]\npolicy = \"approve\"\npool_csv = \"ext.csv\"\nmax_pending = 5\nmax_new_per_minute = 3\n\
             [pbx]\npjsip_snippet = \"/etc/asterisk/pjsip.cisco-autoprov.conf\"\nfreepbx_csv = \"import.csv\"\n",
        )
        .unwrap();
        assert_eq!(config.provision.policy, Policy::Approve);
        assert_eq!(
            config.provision.pool_csv,
            Some(PathBuf::from("/etc/cisco-autoprov/ext.csv"))
        );
        assert_eq!(
            (
                config.provision.max_pending,
                config.provision.max_new_per_minute
            ),
            (5, 3)
        );
        assert_eq!(
            config.pbx.freepbx_csv,
            Some(PathBuf::from("/etc/cisco-autoprov/import.csv"))
        );
        check_errors(
            "[provision]\npolicy = \"open\"\nmax_pending = 0\n",
            &[
                "config.toml:2: provision.policy \"open\": expected auto, approve or inventory",
                "config.toml:3: provision.max_pending 0 is not 1-100000",
            ],
        );
    }

    #[test]
    fn diagnostics_keys() {
        assert_eq!(load("").unwrap().diagnostics, Diagnostics::default());
        let config =
            load("[diagnostics]\nloop_count = 5\nloop_window_s = 600\nno_tftp_after_s = 2\n")
                .unwrap();
        assert_eq!(
            config.diagnostics,
            Diagnostics {
                loop_count: 5,
                loop_window_s: 600,
                no_tftp_after_s: 2
            }
        );
        check_errors(
            "[diagnostics]\nloop_count = 1\nloop_window_s = 0\nno_tftp_after_s = 86401\n",
            &[
                "config.toml:2: diagnostics.loop_count 1 is not 2-32",
                "config.toml:3: diagnostics.loop_window_s 0 is not 1-86400 (seconds)",
                "config.toml:4: diagnostics.no_tftp_after_s 86401 is not 1-86400 (seconds)",
            ],
        );
        check_errors(
            "[diagnostics]\nloop_count = 33\nwindow = 1\n",
            &["config.toml:3: [diagnostics] window: unknown key, expected one of loop_count, loop_window_s, no_tftp_after_s"],
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("0100-0102").unwrap().iter().collect::<Vec<_>>(),
            ["0100", "0101", "0102"]
        );
        assert!(parse_range("abc").is_err());
        assert!(parse_range("1-").is_err());
        assert!(parse_range("1-200000").is_err());
        assert_eq!(parse_range(" 7 - 7 ").unwrap().len(), 1);
    }

    /// Without `[[source]]` the sources are where this system keeps them: Debian 12 has no
    /// `/var/log/syslog` (journald only, field-evidence.md §5), OpenWrt keeps its log in
    /// logd (`logread`) and its leases in `/tmp/dhcp.leases`.
    #[test]
    fn default_sources_follow_the_system() {
        let kinds = |facts| -> Vec<(SourceKind, String)> {
            default_sources(facts)
                .iter()
                .map(|source| (source.kind, source.label()))
                .collect()
        };
        let debian12 = SystemFacts {
            journald: true,
            ..SystemFacts::default()
        };
        let journal = kinds(debian12);
        assert_eq!(journal[0].1, "/var/lib/misc/dnsmasq.leases");
        assert_eq!(journal[1].0, SourceKind::Journal);
        assert!(journal[1].1.contains("journalctl --follow"), "{journal:?}");
        assert!(journal[1].1.contains("_COMM=in.tftpd"), "{journal:?}");
        let rsyslog = kinds(SystemFacts {
            syslog_file: true,
            journald: true,
            ..SystemFacts::default()
        });
        assert_eq!(rsyslog[1], (SourceKind::Log, "/var/log/syslog".to_string()));
        let openwrt = kinds(SystemFacts {
            openwrt: true,
            ..SystemFacts::default()
        });
        assert_eq!(openwrt[0].1, "/tmp/dhcp.leases");
        assert_eq!(
            openwrt[1],
            (SourceKind::Command, "command: logread -f".to_string())
        );
        assert!(
            load("[pbx]\nhost = \"192.0.2.10\"\n")
                .unwrap()
                .defaulted
                .sources
        );
        assert!(!load("source = []\n").unwrap().defaulted.sources);
    }

    /// OpenWrt keeps `/var` in RAM: state there meant new secrets after every reboot
    /// (field-evidence.md §5). Its default state is on flash, saved at most once a minute for
    /// routine updates; the hook socket stays in RAM. What the file sets is kept.
    #[test]
    fn openwrt_defaults_keep_the_state_on_flash() {
        let openwrt = SystemFacts {
            openwrt: true,
            ..SystemFacts::default()
        };
        let mut config = load("[pbx]\nhost = \"192.0.2.10\"\n").unwrap();
        config.apply_system_defaults(openwrt);
        assert_eq!(config.state_dir, Path::new(OPENWRT_STATE_DIR));
        assert_eq!(config.save_interval_s, Some(OPENWRT_SAVE_INTERVAL_S));
        assert_eq!(
            config.notify_socket,
            Path::new("/var/run/cisco-autoprov/notify.sock")
        );
        let mut config = load("state_dir = \"/mnt/usb/state\"\nsave_interval_s = 5\n").unwrap();
        config.apply_system_defaults(openwrt);
        assert_eq!(config.state_dir, Path::new("/mnt/usb/state"));
        assert_eq!(config.save_interval_s, Some(5));
        let mut debian = load("").unwrap();
        debian.apply_system_defaults(SystemFacts::default());
        assert_eq!(debian.state_dir, Path::new("/var/lib/cisco-autoprov"));
        assert_eq!(debian.save_interval_s, None);
        assert_eq!(
            load("save_interval_s = 7200\n").unwrap_err(),
            ["config.toml:1: save_interval_s 7200 is not 0-3600 seconds"]
        );
    }
}
