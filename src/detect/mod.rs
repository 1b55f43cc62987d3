//! Detection and correlation: observations in, decisions out. Pure: no IO, no clock, no tokio.
//!
//! The [`Engine`] keeps what is known about each phone (a [`Phone`] per MAC, which is also
//! what the state file stores) and the current IP ↔ MAC bindings. Each [`Observation`] updates
//! them and returns [`Action`]s for the edge to carry out: files to (re)write, events to log.
//!
//! ## Who is a phone
//! A MAC is provisioned when it is in the inventory, or when it is in a Cisco OUI block *and*
//! shows phone behaviour: a `SEP<MAC>` DHCP hostname, a vendor class naming an IP phone, or a
//! TFTP request only a phone makes (`SEP<MAC>.cnf.xml`, `SIP<MAC>.cnf`, `CTLSEP`/`ITLSEP<MAC>.tlv`).
//! A TFTP request that names a MAC from an IP leased to a *different* MAC is somebody asking
//! for another phone's config: it is counted and never provisions anything.
//!
//! ## Model
//! From the vendor class (`CP-7941G`) or from `termNN.default.loads`, asked for by the phone's
//! IP. A `termNN` request from an IP whose MAC is not known yet is remembered (bounded) and
//! applied when the MAC shows up.
//!
//! ## Boot timeline
//! Each phone keeps its latest events ([`timeline`]: leases, TFTP requests with their outcome,
//! a file-less tftpd-hpa NAK answering the request just made) and what the stuck-phone rules
//! of [`crate::diagnose`] read: the lease it waits after for its first request, the times of
//! its `.loads` streak, whether it asked for files and fetched its config since its files
//! changed. The rules' findings come back through [`Engine::set_diagnoses`]; the phones an
//! observation touched are handed out by [`Engine::take_touched`].

pub mod codes;
pub mod dedup;
pub mod files;
pub mod names;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::config::{Config, Policy};
use crate::event::{LeaseSeen, Observation, TftpOutcome, TftpSeen};
use crate::mac::Mac;
use crate::models::Model;
use crate::oui;
pub use files::FileSet;
use names::{classify, TftpName};
use timeline::{Timeline, What};

/// How many IPs with a model hint but no known MAC are remembered.
const MAX_IP_HINTS: usize = 4096;
/// How many phones are noted before the oldest without credentials is forgotten.
pub const MAX_SEEN: usize = 1000;
/// How many unleased addresses' MAC claims are remembered.
const MAX_CLAIMS: usize = 4096;
/// An unleased address claiming another MAC within this many seconds is spoofing.
const CLAIM_WINDOW_S: i64 = 600;
/// The same `.loads` asked for this many times with no image in between: the phone cannot
/// take the load (a 79x1/7906/7911 below 8.3.3 facing 9.x loops so: cisco-facts.md 7).
pub const LADDER_LOOP: u32 = 3;

/// Where a phone is in its boot, as far as the logs show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PhoneState {
    /// Known from a TFTP request or an inventory match, no lease seen.
    #[serde(rename = "seen")]
    Seen,
    /// Holds a DHCP lease.
    #[serde(rename = "leased")]
    Leased,
    /// Asking for `termNN.default.loads`, `.loads` or image files.
    #[serde(rename = "loading firmware")]
    LoadingFirmware,
    /// Asking for trust lists and config files.
    #[serde(rename = "fetching config")]
    FetchingConfig,
    /// Fetched its config file after we last wrote it.
    #[serde(rename = "configured")]
    Configured,
}

impl PhoneState {
    /// The lowercase name shown in `status` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneState::Seen => "seen",
            PhoneState::Leased => "leased",
            PhoneState::LoadingFirmware => "loading firmware",
            PhoneState::FetchingConfig => "fetching config",
            PhoneState::Configured => "configured",
        }
    }
}

/// Everything known about one phone. This is also the state file's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    /// The phone's MAC.
    pub mac: Mac,
    /// Its last known address.
    pub ip: Option<Ipv4Addr>,
    /// Full model name (`7941G-GE`), when known.
    pub model: Option<String>,
    /// DHCP hostname, when a lease carried one.
    pub hostname: Option<String>,
    /// DHCP vendor class, when a source carried it.
    pub vendor_class: Option<String>,
    /// The SIP extension; `None` until the phone is provisioned.
    pub extension: Option<String>,
    /// The SIP secret; never logged.
    pub secret: Option<String>,
    /// Line label from the inventory.
    pub label: Option<String>,
    /// Boot progress.
    pub state: PhoneState,
    /// Unix seconds of the first observation.
    pub first_seen: i64,
    /// Unix seconds of the latest observation.
    pub last_seen: i64,
    /// Unix seconds (our clock) of our last change to this phone's files (0: never).
    pub written_at: i64,
    /// Names under the TFTP root written for this phone.
    pub files: FileSet,
    /// The phone loops on its firmware (old bootloader): serve the 8.5.2 step first.
    #[serde(default)]
    pub needs_ladder: bool,
    /// Firmware requests since the last image request: `(name, count)` of the repeated
    /// `.loads` file, to see a loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loads_streak: Option<(String, u32)>,
    /// The admin's decision (`approve`/`deny`), when one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Where the extension came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The latest fetches of this phone's config by another device (leak alerts), newest
    /// last, at most [`MAX_LEAKS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leaks: Vec<Leak>,
    /// The latest events (leases, TFTP requests and their outcomes), oldest first.
    #[serde(default, skip_serializing_if = "Timeline::is_empty")]
    pub timeline: Timeline,
    /// Unix seconds of the lease after which no TFTP request has come yet: set by a lease
    /// of a phone never seen asking for a file (or one that moved to another address),
    /// cleared by its next TFTP request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_tftp: Option<i64>,
    /// Unix seconds of its latest TFTP request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tftp_at: Option<i64>,
    /// It asked for a file since its files last changed (processing order, not clocks).
    #[serde(default, skip_serializing_if = "is_false")]
    pub tftp_since_write: bool,
    /// It fetched its config file since its files last changed. (Its boot state may go back
    /// to `fetching config` after that, when it reads a shared file.)
    #[serde(default, skip_serializing_if = "is_false")]
    pub fetched_since_write: bool,
    /// Times of the requests of the `.loads` file in `loads_streak`, oldest first, at most
    /// [`crate::config::MAX_LOOP_COUNT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loads_times: Vec<i64>,
    /// What is wrong with it, as the rules of [`crate::diagnose`] last found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<Diagnosis>,
    /// Its lines after line 1 (inventory `lines`), with their secrets; never logged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<Line>,
    /// The password generated for its settings when the config names none (never the
    /// factory `cisco`); never logged, shown by `status --show-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_password: Option<String>,
    /// Seen only in TFTP requests under `policy = "auto"`: it waits for `approve`
    /// (`[provision] tftp_only`), and `status` says `pending`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub needs_approval: bool,
    /// A DHCP lease has bound its MAC to its address (kept across restarts: the engine's
    /// table of current leases is rebuilt only as sources are read again).
    #[serde(default, skip_serializing_if = "is_false")]
    pub leased: bool,
}

/// Another line of a phone: its own extension and SIP secret, on the button after the
/// previous line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub extension: String,
    /// The SIP secret; never logged.
    pub secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// A problem found with a phone by a rule of [`crate::diagnose`]. Kept in the phone's record,
/// so `status` and `explain` show what the daemon found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The rule's stable code: `firmware-loop`, `image-missing`, `no-tftp-after-lease`, …
    pub code: String,
    /// What is wrong, naming the file or the address.
    pub message: String,
    /// What to do about it, in plain words.
    pub fix: String,
    /// Unix seconds when the problem began as far as the events tell (the deadline that
    /// passed, the request that showed it), kept while the problem lasts.
    pub since: i64,
}

/// An admin's decision about a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// It may get credentials.
    Approved,
    /// It must not.
    Denied,
}

/// Where a phone's extension came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A `[[phone]]` entry.
    Inventory,
    /// The `pool_csv` export: the extension exists on the PBX.
    Pool,
    /// The `extensions` range: the PBX may not know it yet.
    Range,
}

impl Origin {
    /// The name the state file and `status` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Inventory => "inventory",
            Origin::Pool => "pool",
            Origin::Range => "range",
        }
    }
}

/// A request for a phone's config from an address that is not the phone's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leak {
    /// The requesting address.
    pub ip: Ipv4Addr,
    /// The MAC that address is leased to, when known.
    pub leased_to: Option<Mac>,
    /// The file asked for.
    pub file: String,
    /// Unix seconds.
    pub time: i64,
}

/// Leak alerts kept per phone.
pub const MAX_LEAKS: usize = 8;

impl Phone {
    fn new(mac: Mac, time: i64) -> Phone {
        Phone {
            mac,
            ip: None,
            model: None,
            hostname: None,
            vendor_class: None,
            extension: None,
            secret: None,
            label: None,
            state: PhoneState::Seen,
            first_seen: time,
            last_seen: time,
            written_at: 0,
            files: FileSet::new(),
            needs_ladder: false,
            loads_streak: None,
            decision: None,
            origin: None,
            leaks: Vec::new(),
            timeline: Timeline::default(),
            awaiting_tftp: None,
            tftp_at: None,
            tftp_since_write: false,
            fetched_since_write: false,
            loads_times: Vec::new(),
            diagnoses: Vec::new(),
            lines: Vec::new(),
            phone_password: None,
            needs_approval: false,
            leased: false,
        }
    }

    /// The model, looked up in the table.
    pub fn model(&self) -> Option<Model> {
        self.model.as_deref().and_then(Model::by_name)
    }

    /// True once it has an extension and secret.
    pub fn is_provisioned(&self) -> bool {
        self.extension.is_some() && self.secret.is_some()
    }

    /// True when the PBX can only learn its secret from us: its extension came from the
    /// range, or its `[[phone]]` entry has no secret (one was generated). Pool extensions
    /// and inventory secrets exist on the PBX already.
    pub fn secret_is_ours(&self, config: &Config) -> bool {
        match self.origin {
            Some(Origin::Range) => true,
            Some(Origin::Inventory) => config
                .inventory
                .get(&self.mac)
                .is_some_and(|entry| entry.secret.is_none()),
            Some(Origin::Pool) | None => false,
        }
    }

    /// How `status` names it: `stuck` when a diagnosis says it cannot get further, else its
    /// boot state; `pending`/`denied`/`seen` while it has no credentials because of the policy.
    pub fn status_word(&self, policy: Policy, in_inventory: bool) -> &'static str {
        let progress = if self.stuck().is_some() {
            "stuck"
        } else {
            self.state.as_str()
        };
        if self.is_provisioned() || in_inventory {
            return progress;
        }
        match (self.decision, policy) {
            (Some(Decision::Denied), _) => "denied",
            (None, Policy::Auto) if self.needs_approval => "pending",
            (Some(Decision::Approved), _) | (None, Policy::Auto) => progress,
            (None, Policy::Approve) => "pending",
            (None, Policy::Inventory) => "seen",
        }
    }

    /// The first diagnosis that keeps it from booting (the reason it is `stuck`).
    pub fn stuck(&self) -> Option<&Diagnosis> {
        self.diagnoses
            .iter()
            .find(|diagnosis| codes::is_stuck(&diagnosis.code))
    }
}

/// Something the edge must do or report after an observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A phone was recognised for the first time.
    Detected {
        /// Which.
        mac: Mac,
        /// Why it counts as a phone.
        evidence: &'static str,
    },
    /// (Re)write this phone's files: its assignment, model or inventory entry changed.
    Provision(Mac),
    /// The phone's boot state changed.
    StateChanged {
        /// Which.
        mac: Mac,
        /// New state.
        state: PhoneState,
    },
    /// The phone's model became known or changed.
    ModelLearned {
        /// Which.
        mac: Mac,
        /// The model name.
        model: &'static str,
    },
    /// A phone should be provisioned but the extension range is used up.
    PoolExhausted(Mac),
    /// A phone loops on a firmware file: it gets the 8.5.2 stepping stone first.
    FirmwareLoop {
        /// Which.
        mac: Mac,
        /// The file it keeps asking for.
        file: String,
    },
    /// A phone took the 8.5.2 stepping stone: it gets its target load next.
    LadderStepTaken(Mac),
    /// A leak alert under `rotate_secret_on_leak`: the phone got a new secret (`rotated`), or
    /// could not because the secret is the config's or the PBX pool's.
    SecretRotation {
        mac: Mac,
        ip: Ipv4Addr,
        rotated: bool,
    },
    /// A new phone waits for `cisco-autoprov approve`.
    Pending(Mac),
    /// A phone got an extension and a secret for the first time, on this evidence.
    CredentialsIssued { mac: Mac, evidence: &'static str },
    /// A phone lost its credentials (denied or forgotten): remove these files of it.
    RemoveFiles {
        /// Which.
        mac: Mac,
        /// Its files under the TFTP root.
        files: FileSet,
    },
    /// A provisioned phone's config was asked for by an address that is not the phone's.
    Leak {
        /// Whose config.
        mac: Mac,
        /// The requesting address.
        ip: Ipv4Addr,
        /// The MAC that address is leased to, when known.
        leased_to: Option<Mac>,
    },
    /// A would-be phone was turned away by a bound (summarised by the edge, not per line).
    Rejected(Rejection),
    /// A request named a phone's file from an IP leased to another MAC.
    ForeignRequest {
        /// The MAC in the requested name.
        named: Mac,
        /// The MAC the requesting IP is leased to.
        leased_to: Mac,
        /// The requesting IP.
        ip: Ipv4Addr,
    },
}

/// Why a would-be phone was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// More new TFTP-only phones in a minute than `max_new_per_minute`.
    RateLimited,
    /// An address with no lease asked for a second MAC's files within ten minutes.
    ConflictingClaim,
    /// `max_pending` phones already wait.
    PendingFull,
}

/// Counters of input that was skipped; reported in summaries and `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// TFTP names with path separators, `..`, control characters or over-long.
    pub suspicious_names: u64,
    /// Requests naming a MAC from an IP leased to another MAC.
    pub foreign_requests: u64,
    /// Cisco-named requests for MACs outside Cisco's OUI blocks.
    pub non_cisco_macs: u64,
    /// New TFTP-only phones over `max_new_per_minute`.
    #[serde(default)]
    pub rate_limited: u64,
    /// Addresses claiming a second MAC.
    #[serde(default)]
    pub conflicting_claims: u64,
    /// Would-be phones turned away because `max_pending` phones wait.
    #[serde(default)]
    pub pending_full: u64,
    /// Config fetches by another device.
    #[serde(default)]
    pub leaks: u64,
    /// Phones without credentials forgotten to keep at most [`MAX_SEEN`].
    #[serde(default)]
    pub seen_forgotten: u64,
}

/// Generates a SIP secret; the edge passes a CSPRNG, tests a fixed sequence.
pub type SecretSource<'a> = &'a mut dyn FnMut() -> String;

/// The correlation state machine.
#[derive(Debug, Default)]
pub struct Engine {
    /// Every phone we know, by MAC. Persisted.
    phones: BTreeMap<Mac, Phone>,
    /// Current DHCP bindings, from lease sources.
    leases: HashMap<Ipv4Addr, Mac>,
    /// Each MAC's newest binding in `leases`: [`Engine::leased_ip`] without a scan of
    /// tens of thousands of leases for every phone, and the newest address of a phone that
    /// moved rather than whichever one a hash map yields first.
    lease_of: HashMap<Mac, Ipv4Addr>,
    /// The MAC last seen at each IP (leases and TFTP requests naming a MAC).
    mac_at_ip: HashMap<Ipv4Addr, Mac>,
    /// Models asked for (`termNN`) by IPs whose MAC is not known yet, oldest first.
    ip_hints: VecDeque<(Ipv4Addr, Model)>,
    /// When the latest new TFTP-only phones were accepted (observation time), oldest first.
    tftp_new: VecDeque<i64>,
    /// The MAC each unleased address last claimed through a file name, and when.
    claims: HashMap<Ipv4Addr, (Mac, i64)>,
    /// Phones in the order they were first seen, at most [`MAX_SEEN`]: when a new one comes,
    /// the oldest one that still has no credentials and no decision is forgotten.
    seen_order: VecDeque<Mac>,
    /// Skipped-input counters.
    pub counters: Counters,
    /// Phones whose record an observation changed since [`Engine::take_touched`].
    touched: BTreeSet<Mac>,
}

impl Engine {
    /// Builds the engine from the phones of the state file.
    pub fn new(phones: Vec<Phone>) -> Engine {
        let mut engine = Engine::default();
        for phone in &phones {
            if let Some(ip) = phone.ip {
                engine.mac_at_ip.insert(ip, phone.mac);
                // The leases learned before a restart (from logs and hooks too, which are
                // not read again): leak detection works from the first request.
                if phone.leased {
                    engine.bind_lease(ip, phone.mac);
                }
            }
        }
        // Built whole, the B-tree's nodes are full: inserted one by one in order, they were
        // left about two-thirds full (240 KB more heap with 1,000 phones). The last record
        // of a MAC wins, as it did.
        engine.phones = phones.into_iter().map(|phone| (phone.mac, phone)).collect();
        let mut order: Vec<(i64, Mac)> = engine
            .phones
            .values()
            .map(|phone| (phone.first_seen, phone.mac))
            .collect();
        order.sort_unstable();
        engine.seen_order = order.into_iter().map(|(_, mac)| mac).collect();
        engine
    }

    /// Every phone, by MAC.
    pub fn phones(&self) -> &BTreeMap<Mac, Phone> {
        &self.phones
    }

    /// One phone.
    pub fn phone(&self, mac: Mac) -> Option<&Phone> {
        self.phones.get(&mac)
    }

    /// The phones observations touched since the last call (their rules are run again).
    pub fn take_touched(&mut self) -> BTreeSet<Mac> {
        std::mem::take(&mut self.touched)
    }

    /// Replaces a phone's diagnoses; returns whether they changed.
    pub fn set_diagnoses(&mut self, mac: Mac, diagnoses: Vec<Diagnosis>) -> bool {
        match self.phones.get_mut(&mac) {
            Some(phone) if phone.diagnoses != diagnoses => {
                phone.diagnoses = diagnoses;
                true
            }
            _ => false,
        }
    }

    /// Records which files under the TFTP root are this phone's, and whether their contents
    /// just changed (at `time`). A configured phone whose files changed has to fetch them
    /// again, so it goes back to `fetching config`.
    pub fn files_written(&mut self, mac: Mac, files: FileSet, changed: bool, time: i64) {
        if let Some(phone) = self.phones.get_mut(&mac) {
            phone.files = files;
            if changed {
                phone.written_at = time;
                phone.tftp_since_write = false;
                phone.fetched_since_write = false;
                if phone.state == PhoneState::Configured {
                    phone.state = PhoneState::FetchingConfig;
                }
            }
        }
    }

    /// Takes back a phone's assignment from its own file when the state does not know the
    /// phone (the state was lost, the TFTP root kept: field-evidence.md §5), so its extension
    /// is not handed to another phone. `file` must carry our marker; the extension must be
    /// one the config could have given it (its inventory entry, the pool, the range) and no
    /// other phone's. Returns the origin it was given, or why not.
    pub fn adopt(
        &mut self,
        mac: Mac,
        file: &crate::parse::phone_file::PhoneFile,
        config: &Config,
    ) -> Result<Origin, String> {
        if self
            .phones
            .get(&mac)
            .is_some_and(|phone| phone.extension.is_some())
        {
            return Err("the state knows this phone".into());
        }
        if !file.ours {
            return Err("the file was not written by cisco-autoprov".into());
        }
        let extension = file.extension.as_str();
        if file.secret.is_empty() {
            return Err("the file holds no secret".into());
        }
        if let Some(other) = self
            .phones
            .values()
            .find(|phone| phone.extension.as_deref() == Some(extension))
        {
            return Err(format!("extension {extension} is phone {}'s", other.mac));
        }
        let in_range = config.provision.extensions.contains(extension);
        let origin = match config.inventory.get(&mac) {
            Some(entry) if entry.extension == extension => Origin::Inventory,
            Some(entry) => {
                return Err(format!(
                    "its [[phone]] entry gives extension {}",
                    entry.extension
                ))
            }
            None if config.inventory.values().any(|e| e.extension == extension) => {
                return Err(format!(
                    "extension {extension} belongs to another [[phone]] entry"
                ))
            }
            None if config
                .provision
                .pool
                .iter()
                .any(|p| p.extension == extension) =>
            {
                Origin::Pool
            }
            None if in_range => Origin::Range,
            None => {
                return Err(format!(
                    "extension {extension} is not in the range, the pool or the inventory"
                ))
            }
        };
        if config.provision.policy == Policy::Inventory && origin != Origin::Inventory {
            return Err("policy = \"inventory\" and the phone has no [[phone]] entry".into());
        }
        let known = self.phones.contains_key(&mac);
        // Not seen yet: the file says what it was given, not when it was seen.
        let phone = self.phones.entry(mac).or_insert_with(|| Phone::new(mac, 0));
        phone.extension = Some(file.extension.clone());
        phone.secret = Some(file.secret.clone());
        phone.origin = Some(origin);
        phone.lines = file
            .lines
            .iter()
            .map(|(extension, secret)| Line {
                extension: extension.clone(),
                secret: secret.clone(),
                label: None,
            })
            .collect();
        phone.needs_approval = false;
        if config.provision.policy == Policy::Approve && origin != Origin::Inventory {
            // It had credentials under `approve`: someone approved it.
            phone.decision = Some(Decision::Approved);
        }
        if !known {
            self.remember_new(mac);
        }
        self.touched.insert(mac);
        Ok(origin)
    }

    /// Applies the config's inventory to the known phones (at start-up and after a reload):
    /// inventory values replace earlier assignments, and a phone whose pool extension is now
    /// claimed by the inventory gets a new one.
    pub fn apply_config(&mut self, config: &Config, secrets: SecretSource<'_>) -> Vec<Action> {
        let mut actions = Vec::new();
        let claimed: BTreeSet<&str> = config
            .inventory
            .values()
            .flat_map(|entry| entry.extensions())
            .collect();
        let macs: Vec<Mac> = self.phones.keys().copied().collect();
        for mac in macs {
            let phone = &self.phones[&mac];
            let in_inventory = config.inventory.contains_key(&mac);
            let displaced = !in_inventory
                && phone
                    .extension
                    .as_deref()
                    .is_some_and(|ext| claimed.contains(ext));
            if in_inventory || displaced {
                if displaced {
                    let phone = self.phones.get_mut(&mac).expect("mac from keys");
                    phone.extension = None;
                    phone.secret = None;
                }
                self.assign(mac, config, secrets, &mut actions);
            }
        }
        actions
    }

    /// The address a DHCP lease binds to `mac`, if one does. A TFTP request proves no
    /// address: any host can send one.
    pub fn leased_ip(&self, mac: Mac) -> Option<Ipv4Addr> {
        self.lease_of.get(&mac).copied()
    }

    /// A lease binds `mac` to `ip`: it replaces whatever `ip` was leased to before.
    fn bind_lease(&mut self, ip: Ipv4Addr, mac: Mac) {
        if let Some(previous) = self.leases.insert(ip, mac) {
            if previous != mac && self.lease_of.get(&previous) == Some(&ip) {
                self.lease_of.remove(&previous);
            }
        }
        self.lease_of.insert(mac, ip);
    }

    /// A report another source already gave ([`dedup`]): a lease may still carry what the
    /// first report lacked (a vendor class, a hostname), so it is taken in without counting
    /// as another event; a repeated TFTP request or lease end changes nothing.
    pub fn observe_repeat(
        &mut self,
        observation: &Observation,
        config: &Config,
        secrets: SecretSource<'_>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Observation::Lease(lease) = observation {
            if lease.hostname.is_some() || lease.vendor_class.is_some() {
                self.on_lease(lease, config, secrets, true, &mut actions);
            }
        }
        actions
    }

    /// Feeds one observation.
    pub fn observe(
        &mut self,
        observation: &Observation,
        config: &Config,
        secrets: SecretSource<'_>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        match observation {
            Observation::Lease(lease) => self.on_lease(lease, config, secrets, false, &mut actions),
            Observation::LeaseGone { mac, ip, .. } => {
                if self.leases.get(ip) == Some(mac) {
                    self.leases.remove(ip);
                    if self.lease_of.get(mac) == Some(ip) {
                        self.lease_of.remove(mac);
                    }
                }
            }
            Observation::Tftp(request) => self.on_tftp(request, config, secrets, &mut actions),
        }
        actions
    }

    fn on_lease(
        &mut self,
        lease: &LeaseSeen,
        config: &Config,
        secrets: SecretSource<'_>,
        repeat: bool,
        actions: &mut Vec<Action>,
    ) {
        self.bind_lease(lease.ip, lease.mac);
        // Untrusted text: split with `get`, never by byte index (a multi-byte character
        // across byte 3 of `SE€ABCDEFGHIJ` would panic; field-evidence.md §4).
        let sep_hostname = lease.hostname.as_deref().is_some_and(|host| {
            host.len() == 15
                && host
                    .get(..3)
                    .is_some_and(|sep| sep.eq_ignore_ascii_case("SEP"))
                && host.get(3..).and_then(Mac::from_hex12) == Some(lease.mac)
        });
        let phone_vendor_class = lease
            .vendor_class
            .as_deref()
            .is_some_and(|vc| vc.starts_with("Cisco") && vc.contains("Phone"));
        let evidence = if config.inventory.contains_key(&lease.mac) {
            Some("inventory")
        } else if !oui::is_cisco(lease.mac) {
            None
        } else if sep_hostname {
            Some("cisco oui and SEP hostname")
        } else if phone_vendor_class {
            Some("cisco oui and phone vendor class")
        } else {
            None
        };
        let known = self.phones.contains_key(&lease.mac);
        if evidence.is_none() && !known {
            return;
        }
        // Only a phone that will wait counts against `max_pending`: under `auto` a lease is
        // evidence enough, so a TFTP flood that fills the waiting list never keeps a real
        // phone from its extension (field-evidence.md §4).
        if !known
            && !config.inventory.contains_key(&lease.mac)
            && config.provision.policy == Policy::Approve
            && self.n_waiting(config) >= config.provision.max_pending
        {
            self.counters.pending_full += 1;
            actions.push(Action::Rejected(Rejection::PendingFull));
            return;
        }
        let phone = self.touch(lease.mac, lease.time, evidence, actions);
        let moved = phone.ip.is_some_and(|ip| ip != lease.ip);
        phone.ip = Some(lease.ip);
        phone.leased = true;
        if !repeat {
            phone
                .timeline
                .push(lease.time, What::Lease { ip: lease.ip });
        }
        // A phone that never asked us for a file, or one that came up at another address, is
        // booting: it asks for a file within seconds when DHCP told it the TFTP server. A
        // renewal of a running phone asks for nothing, so it starts no wait.
        if moved || (phone.tftp_at.is_none() && phone.awaiting_tftp.is_none()) {
            phone.awaiting_tftp = Some(lease.time);
        }
        if lease.hostname.is_some() {
            phone.hostname = lease.hostname.clone();
        }
        if lease.vendor_class.is_some() {
            phone.vendor_class = lease.vendor_class.clone();
        }
        let model = lease
            .vendor_class
            .as_deref()
            .and_then(Model::from_vendor_class);
        self.touched.insert(lease.mac);
        self.mac_at_ip.insert(lease.ip, lease.mac);
        if let Some(model) = model.or_else(|| self.take_hint(lease.ip)) {
            self.set_model(lease.mac, model, actions);
        }
        self.advance(lease.mac, PhoneState::Leased, actions);
        self.assign(lease.mac, config, secrets, actions);
    }

    fn on_tftp(
        &mut self,
        request: &TftpSeen,
        config: &Config,
        secrets: SecretSource<'_>,
        actions: &mut Vec<Action>,
    ) {
        if request.file.is_empty() {
            // A NAK line without a name (tftpd-hpa): it answers the request the same address
            // just made.
            if matches!(request.outcome, TftpOutcome::NotFound | TftpOutcome::Denied) {
                let mac = self
                    .leases
                    .get(&request.ip)
                    .or_else(|| self.mac_at_ip.get(&request.ip))
                    .copied();
                if let Some(phone) = mac.and_then(|mac| self.phones.get_mut(&mac)) {
                    if phone
                        .timeline
                        .answer_last_request(request.time, request.outcome.into())
                    {
                        self.touched.insert(phone.mac);
                    }
                }
            }
            return;
        }
        let name = classify(&request.file);
        if name == TftpName::Suspicious {
            self.counters.suspicious_names += 1;
            return;
        }
        // Which MAC asked: the one the name carries, else the one bound to the IP.
        let mac = match name.mac() {
            Some(named) => {
                let leased_to = self.leases.get(&request.ip).copied();
                if let Some(leased_to) = leased_to.filter(|&other| other != named) {
                    self.counters.foreign_requests += 1;
                    actions.push(Action::ForeignRequest {
                        named,
                        leased_to,
                        ip: request.ip,
                    });
                    self.record_leak(named, request, Some(leased_to), config, secrets, actions);
                    return;
                }
                // The phone holds a lease elsewhere: this address is not the phone.
                let leased_elsewhere = self
                    .leases
                    .iter()
                    .any(|(ip, mac)| *mac == named && *ip != request.ip);
                if leased_to.is_none() && leased_elsewhere {
                    self.record_leak(named, request, None, config, secrets, actions);
                    return;
                }
                if !oui::is_cisco(named) && !config.inventory.contains_key(&named) {
                    self.counters.non_cisco_macs += 1;
                    return;
                }
                if leased_to.is_none() && !self.phones.contains_key(&named) {
                    if let Some(rejection) = self.admit_tftp_only(named, request, config) {
                        actions.push(Action::Rejected(rejection));
                        return;
                    }
                } else if leased_to.is_none() {
                    // A known phone asked for from an unleased address that claimed another
                    // MAC within the window: one host fetching several phones' configs (and
                    // secrets) is a leak, whatever the phones (field-evidence.md §4).
                    let conflict = self.claims.get(&request.ip).is_some_and(|&(claimed, at)| {
                        claimed != named && request.time - at < CLAIM_WINDOW_S
                    });
                    if conflict {
                        self.counters.conflicting_claims += 1;
                        self.record_leak(named, request, None, config, secrets, actions);
                        return;
                    }
                    self.claims.insert(request.ip, (named, request.time));
                }
                let evidence = if config.inventory.contains_key(&named) {
                    "inventory"
                } else {
                    "cisco oui and phone tftp request"
                };
                let phone = self.touch(named, request.time, Some(evidence), actions);
                phone.ip = Some(request.ip);
                self.mac_at_ip.insert(request.ip, named);
                if let Some(model) = self.take_hint(request.ip) {
                    self.set_model(named, model, actions);
                }
                self.assign(named, config, secrets, actions);
                Some(named)
            }
            None => self
                .leases
                .get(&request.ip)
                .or_else(|| self.mac_at_ip.get(&request.ip))
                .copied()
                .filter(|mac| self.phones.contains_key(mac)),
        };
        if let TftpName::TermLoads(code) = &name {
            if let Some(model) = Model::from_term_code(code) {
                match mac {
                    Some(mac) => self.set_model(mac, model, actions),
                    None => self.remember_hint(request.ip, model),
                }
            }
        }
        if let (TftpName::Loads, Some(mac)) = (&name, mac) {
            // A phone whose model nothing named (no vendor class, no `term` file: an SCCP
            // phone converting from XMLDefault.cnf.xml) names its family with the load.
            let unknown = self
                .phones
                .get(&mac)
                .is_some_and(|phone| phone.model.is_none());
            if let Some(model) = unknown.then(|| model_of_load(&request.file)).flatten() {
                self.set_model(mac, model, actions);
            }
        }
        let Some(mac) = mac else { return };
        if let Some(phone) = self.phones.get_mut(&mac) {
            phone.last_seen = phone.last_seen.max(request.time);
            phone.timeline.push(
                request.time,
                What::Tftp {
                    file: request.file.clone(),
                    outcome: request.outcome.into(),
                },
            );
            phone.awaiting_tftp = None;
            phone.tftp_at = Some(phone.tftp_at.map_or(request.time, |t| t.max(request.time)));
            phone.tftp_since_write = true;
            self.touched.insert(mac);
        }
        self.follow_firmware(mac, &name, &request.file, request.time, actions);
        let state = match &name {
            TftpName::TermLoads(_) | TftpName::Loads | TftpName::Image => {
                Some(PhoneState::LoadingFirmware)
            }
            TftpName::SepConfig(_) | TftpName::SipConfig(_) => {
                // Observations arrive in the order they were written to the logs, and the edge
                // reports writes as they happen, so a fetch of a file we list is a fetch of
                // the current version. (Line timestamps are not compared with our clock:
                // year-less syslog stamps are local time.)
                let fetched_ours = self.phones.get(&mac).is_some_and(|phone| {
                    phone.files.contains(&request.file)
                        && matches!(request.outcome, TftpOutcome::Sent | TftpOutcome::Requested)
                });
                if fetched_ours {
                    if let Some(phone) = self.phones.get_mut(&mac) {
                        phone.fetched_since_write = true;
                    }
                }
                Some(if fetched_ours {
                    PhoneState::Configured
                } else {
                    PhoneState::FetchingConfig
                })
            }
            TftpName::TrustList(_) | TftpName::Shared => Some(PhoneState::FetchingConfig),
            TftpName::Other | TftpName::Suspicious => None,
        };
        if let Some(state) = state {
            self.set_state(mac, state, actions);
        }
    }

    /// Notes a new phone; past [`MAX_SEEN`] phones noted, the oldest one that never got
    /// credentials or a decision is forgotten (`seen`/`pending` phones are bounded: under
    /// `policy = "inventory"` 50,000 made-up MACs grew the state to 17 MB and cost 35 s of
    /// CPU, field-evidence.md §4). A phone with credentials or a decision is never forgotten.
    fn remember_new(&mut self, mac: Mac) {
        self.seen_order.push_back(mac);
        while self.seen_order.len() > MAX_SEEN {
            let Some(oldest) = self.seen_order.pop_front() else {
                break;
            };
            let forget = self
                .phones
                .get(&oldest)
                .is_some_and(|phone| !phone.is_provisioned() && phone.decision.is_none());
            if !forget {
                continue;
            }
            if let Some(phone) = self.phones.remove(&oldest) {
                self.counters.seen_forgotten += 1;
                if let Some(ip) = phone.ip {
                    if self.mac_at_ip.get(&ip) == Some(&oldest) {
                        self.mac_at_ip.remove(&ip);
                    }
                }
                self.touched.remove(&oldest);
            }
        }
    }

    /// Creates the phone on first sight (reporting why it counts) and refreshes `last_seen`.
    fn touch(
        &mut self,
        mac: Mac,
        time: i64,
        evidence: Option<&'static str>,
        actions: &mut Vec<Action>,
    ) -> &mut Phone {
        if !self.phones.contains_key(&mac) {
            self.remember_new(mac);
        }
        let phone = self.phones.entry(mac).or_insert_with(|| {
            actions.push(Action::Detected {
                mac,
                evidence: evidence.unwrap_or("known"),
            });
            Phone::new(mac, time)
        });
        phone.last_seen = phone.last_seen.max(time);
        // 0: taken back from its file (`adopt`), not seen since; older lines read later
        // (another source, `scan`) move it back.
        if phone.first_seen == 0 || time < phone.first_seen {
            phone.first_seen = time;
        }
        phone
    }

    /// Gives the phone its inventory values or the next free pool extension, and asks for its
    /// files when anything changed.
    fn assign(
        &mut self,
        mac: Mac,
        config: &Config,
        secrets: SecretSource<'_>,
        actions: &mut Vec<Action>,
    ) {
        let Some(phone) = self.phones.get(&mac) else {
            return;
        };
        let in_inventory = config.inventory.contains_key(&mac);
        let leased = phone.leased || self.leased_ip(mac).is_some();
        // Why it may have credentials, for the log; `None`: it may not (yet).
        let evidence = if in_inventory {
            Some("inventory entry")
        } else if phone.is_provisioned() {
            Some("credentials it already had")
        } else {
            match (phone.decision, config.provision.policy) {
                (Some(Decision::Denied), _) => None,
                (Some(Decision::Approved), _) => Some("admin approval"),
                (None, Policy::Auto) if leased => Some("a dhcp lease binding its mac and address"),
                (None, Policy::Auto)
                    if config.provision.tftp_only == crate::config::TftpOnly::Auto =>
                {
                    Some("tftp requests (tftp_only = auto)")
                }
                (None, Policy::Auto) | (None, Policy::Approve) => {
                    actions.push(Action::Pending(mac));
                    None
                }
                (None, Policy::Inventory) => None,
            }
        };
        let waits = evidence.is_none()
            && phone.decision.is_none()
            && config.provision.policy == Policy::Auto;
        if phone.needs_approval != waits {
            self.phones
                .get_mut(&mac)
                .expect("checked above")
                .needs_approval = waits;
        }
        let Some(evidence) = evidence else {
            return;
        };
        let phone = &self.phones[&mac];
        let first_credentials = phone.secret.is_none();
        let mut origin = phone.origin;
        let (extension, secret, label) = match config.inventory.get(&mac) {
            Some(entry) => {
                let secret = match (&entry.secret, &phone.secret) {
                    (Some(secret), _) => secret.clone(),
                    // Keep a secret generated earlier for the same extension.
                    (None, Some(old)) if phone.extension.as_deref() == Some(&entry.extension) => {
                        old.clone()
                    }
                    (None, _) => secrets(),
                };
                origin = Some(Origin::Inventory);
                (entry.extension.clone(), secret, entry.label.clone())
            }
            None => match (&phone.extension, &phone.secret) {
                (Some(extension), Some(secret)) => {
                    (extension.clone(), secret.clone(), phone.label.clone())
                }
                _ => match self.next_from_pool(config) {
                    Some(ready) => {
                        origin = Some(Origin::Pool);
                        (
                            ready.extension.clone(),
                            ready.secret.clone(),
                            ready.name.clone(),
                        )
                    }
                    None => match self.next_free_extension(config) {
                        Some(extension) => {
                            origin = Some(Origin::Range);
                            (extension, secrets(), None)
                        }
                        None => {
                            actions.push(Action::PoolExhausted(mac));
                            return;
                        }
                    },
                },
            },
        };
        let phone = self.phones.get_mut(&mac).expect("checked above");
        let lines = extra_lines(config.inventory.get(&mac), &phone.lines, secrets);
        let password = match (&phone.phone_password, &config.provision.phone_password) {
            (Some(password), _) => Some(password.clone()),
            // The site's password applies; a phone's own one comes from the config too.
            (None, Some(_)) => None,
            (None, None)
                if config
                    .inventory
                    .get(&mac)
                    .is_some_and(|e| e.phone_password.is_some()) =>
            {
                None
            }
            (None, None) => Some(secrets()),
        };
        let changed = phone.extension.as_deref() != Some(extension.as_str())
            || phone.secret.as_deref() != Some(secret.as_str())
            || phone.label != label
            || phone.lines != lines
            || phone.phone_password != password;
        phone.origin = origin;
        if changed {
            phone.extension = Some(extension);
            phone.secret = Some(secret);
            phone.label = label;
            phone.lines = lines;
            phone.phone_password = password;
            if first_credentials {
                actions.push(Action::CredentialsIssued { mac, evidence });
            }
            actions.push(Action::Provision(mac));
        } else if phone.files.is_empty() {
            actions.push(Action::Provision(mac));
        }
    }

    /// The first extension of the `pool_csv` export that no phone holds and the inventory
    /// does not claim.
    fn next_from_pool<'c>(&self, config: &'c Config) -> Option<&'c crate::config::PoolExtension> {
        let taken: BTreeSet<&str> = self
            .phones
            .values()
            .filter_map(|phone| phone.extension.as_deref())
            .chain(
                config
                    .inventory
                    .values()
                    .flat_map(|entry| entry.extensions()),
            )
            .collect();
        config
            .provision
            .pool
            .iter()
            .find(|ready| !taken.contains(ready.extension.as_str()))
    }

    /// Phones waiting for a decision or an extension.
    fn n_waiting(&self, config: &Config) -> usize {
        if config.provision.policy == Policy::Inventory {
            // Nothing waits: other phones are only listed (and their number is bounded).
            return 0;
        }
        self.phones
            .values()
            .filter(|phone| {
                !phone.is_provisioned()
                    && phone.decision != Some(Decision::Denied)
                    && !config.inventory.contains_key(&phone.mac)
                    && config.provision.policy != Policy::Inventory
            })
            .count()
    }

    /// The bounds on new phones known only from TFTP requests (a static address, or a DHCP
    /// server elsewhere): anyone can send such requests, so they are rate-limited, an address
    /// may not claim a second MAC, and the waiting list is bounded.
    fn admit_tftp_only(
        &mut self,
        named: Mac,
        request: &TftpSeen,
        config: &Config,
    ) -> Option<Rejection> {
        if let Some(&(claimed, at)) = self.claims.get(&request.ip) {
            if claimed != named && request.time - at < CLAIM_WINDOW_S {
                self.counters.conflicting_claims += 1;
                return Some(Rejection::ConflictingClaim);
            }
        }
        if config.inventory.contains_key(&named) {
            return None;
        }
        while self
            .tftp_new
            .front()
            .is_some_and(|&at| request.time - at >= 60)
        {
            self.tftp_new.pop_front();
        }
        if self.tftp_new.len() >= config.provision.max_new_per_minute {
            self.counters.rate_limited += 1;
            return Some(Rejection::RateLimited);
        }
        if self.n_waiting(config) >= config.provision.max_pending {
            self.counters.pending_full += 1;
            return Some(Rejection::PendingFull);
        }
        self.tftp_new.push_back(request.time);
        if self.claims.len() >= MAX_CLAIMS {
            // Forget the oldest claim to stay bounded.
            if let Some(oldest) = self
                .claims
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(ip, _)| *ip)
            {
                self.claims.remove(&oldest);
            }
        }
        self.claims.insert(request.ip, (named, request.time));
        None
    }

    /// Notes that `mac`'s files were asked for by an address that is not the phone's.
    ///
    /// With `[provision] rotate_secret_on_leak`, a fetch that may have delivered the file
    /// (anything but "not found" or "denied") from an address not seen leaking this phone
    /// before gives the phone new secrets (its own and its lines', where we generated them),
    /// and its files and the PBX files are rewritten together.
    fn record_leak(
        &mut self,
        mac: Mac,
        request: &TftpSeen,
        leased_to: Option<Mac>,
        config: &Config,
        secrets: SecretSource<'_>,
        actions: &mut Vec<Action>,
    ) {
        let Some(phone) = self.phones.get_mut(&mac) else {
            return;
        };
        if !phone.is_provisioned() {
            return;
        }
        self.counters.leaks += 1;
        self.touched.insert(mac);
        let delivered = !matches!(request.outcome, TftpOutcome::NotFound | TftpOutcome::Denied);
        let new_address = !phone.leaks.iter().any(|leak| leak.ip == request.ip);
        if config.provision.rotate_secret_on_leak && delivered && new_address {
            let rotated = phone.secret_is_ours(config);
            if rotated {
                phone.secret = Some(secrets());
                for line in &mut phone.lines {
                    if !config.line_secret_given(mac, &line.extension) {
                        line.secret = secrets();
                    }
                }
                actions.push(Action::Provision(mac));
            }
            actions.push(Action::SecretRotation {
                mac,
                ip: request.ip,
                rotated,
            });
        }
        if phone.leaks.len() == MAX_LEAKS {
            phone.leaks.remove(0);
        }
        phone.leaks.push(Leak {
            ip: request.ip,
            leased_to,
            file: request.file.chars().take(64).collect(),
            time: request.time,
        });
        actions.push(Action::Leak {
            mac,
            ip: request.ip,
            leased_to,
        });
    }

    /// Carries out an admin's decision: `approve` provisions (now or when the phone shows
    /// up), `deny` takes credentials away and keeps the phone listed as denied, `forget`
    /// removes the phone and its files altogether.
    pub fn decide(
        &mut self,
        mac: Mac,
        decision: Option<Decision>,
        config: &Config,
        secrets: SecretSource<'_>,
        time: i64,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        match decision {
            None => {
                if let Some(phone) = self.phones.remove(&mac) {
                    if !phone.files.is_empty() {
                        actions.push(Action::RemoveFiles {
                            mac,
                            files: phone.files,
                        });
                    }
                    self.mac_at_ip.retain(|_, known| *known != mac);
                }
            }
            Some(Decision::Approved) => {
                let phone = self
                    .phones
                    .entry(mac)
                    .or_insert_with(|| Phone::new(mac, time));
                phone.decision = Some(Decision::Approved);
                self.assign(mac, config, secrets, &mut actions);
            }
            Some(Decision::Denied) => {
                let phone = self
                    .phones
                    .entry(mac)
                    .or_insert_with(|| Phone::new(mac, time));
                phone.decision = Some(Decision::Denied);
                phone.extension = None;
                phone.secret = None;
                phone.origin = None;
                let files = std::mem::take(&mut phone.files);
                if !files.is_empty() {
                    actions.push(Action::RemoveFiles { mac, files });
                }
            }
        }
        actions
    }

    /// The lowest extension of the range that no phone holds and the inventory does not claim.
    fn next_free_extension(&self, config: &Config) -> Option<String> {
        let taken: BTreeSet<&str> = self
            .phones
            .values()
            .filter_map(|phone| phone.extension.as_deref())
            .chain(
                config
                    .inventory
                    .values()
                    .flat_map(|entry| entry.extensions()),
            )
            .chain(
                config
                    .provision
                    .pool
                    .iter()
                    .map(|ready| ready.extension.as_str()),
            )
            .collect();
        config
            .provision
            .extensions
            .iter()
            .find(|extension| !taken.contains(extension.as_str()))
    }

    fn set_model(&mut self, mac: Mac, model: Model, actions: &mut Vec<Action>) {
        let Some(phone) = self.phones.get_mut(&mac) else {
            return;
        };
        // A vendor class may name the exact variant (7941G-GE); a term code only the family.
        // Keep the more specific name when both agree on the base model.
        if let Some(known) = phone.model() {
            if known == model
                || (known.base() == model.base() && known.name().len() > model.name().len())
            {
                return;
            }
        }
        phone.model = Some(model.name().to_string());
        actions.push(Action::ModelLearned {
            mac,
            model: model.name(),
        });
        if phone.is_provisioned() {
            actions.push(Action::Provision(mac));
        }
    }

    /// Moves the state forward (a lease never moves a booting phone back to `leased`).
    fn advance(&mut self, mac: Mac, state: PhoneState, actions: &mut Vec<Action>) {
        if let Some(phone) = self.phones.get(&mac) {
            if phone.state < state {
                self.set_state(mac, state, actions);
            }
        }
    }

    fn set_state(&mut self, mac: Mac, state: PhoneState, actions: &mut Vec<Action>) {
        if let Some(phone) = self.phones.get_mut(&mac) {
            if phone.state != state {
                phone.state = state;
                actions.push(Action::StateChanged { mac, state });
            }
        }
    }

    /// Watches for a firmware loop (the same `.loads` again and again, no image) and for the
    /// stepping stone being taken (an 8.5.2 image asked for).
    fn follow_firmware(
        &mut self,
        mac: Mac,
        name: &TftpName,
        file: &str,
        time: i64,
        actions: &mut Vec<Action>,
    ) {
        let Some(phone) = self.phones.get_mut(&mac) else {
            return;
        };
        match name {
            TftpName::TermLoads(_) | TftpName::Loads => {
                let count = match &phone.loads_streak {
                    Some((last, count)) if last == file => count + 1,
                    _ => {
                        phone.loads_times.clear();
                        1
                    }
                };
                if phone.loads_times.len() >= crate::config::MAX_LOOP_COUNT as usize {
                    phone.loads_times.remove(0);
                }
                phone.loads_times.push(time);
                phone.loads_streak = Some((file.to_string(), count));
                let java = phone.model().and_then(|m| m.family())
                    == Some(crate::models::ConfigFamily::Sepxml);
                if count >= LADDER_LOOP && java && !phone.needs_ladder {
                    phone.needs_ladder = true;
                    actions.push(Action::FirmwareLoop {
                        mac,
                        file: file.to_string(),
                    });
                    actions.push(Action::Provision(mac));
                }
            }
            TftpName::Image => {
                phone.loads_streak = None;
                phone.loads_times.clear();
                if phone.needs_ladder && file.contains(".8-5-2") {
                    phone.needs_ladder = false;
                    actions.push(Action::LadderStepTaken(mac));
                    actions.push(Action::Provision(mac));
                }
            }
            _ => {}
        }
    }

    fn remember_hint(&mut self, ip: Ipv4Addr, model: Model) {
        self.ip_hints.retain(|(hint_ip, _)| *hint_ip != ip);
        if self.ip_hints.len() == MAX_IP_HINTS {
            self.ip_hints.pop_front();
        }
        self.ip_hints.push_back((ip, model));
    }

    fn take_hint(&mut self, ip: Ipv4Addr) -> Option<Model> {
        let index = self
            .ip_hints
            .iter()
            .position(|(hint_ip, _)| *hint_ip == ip)?;
        self.ip_hints.remove(index).map(|(_, model)| model)
    }
}

/// The lines after line 1 of an inventory phone: each entry's secret, or the one generated
/// earlier for the same extension, or a new one.
fn extra_lines(
    entry: Option<&crate::config::InventoryPhone>,
    old: &[Line],
    secrets: SecretSource<'_>,
) -> Vec<Line> {
    let Some(entry) = entry else {
        return Vec::new();
    };
    entry
        .lines
        .iter()
        .map(|line| {
            let secret = line.secret.clone().unwrap_or_else(|| {
                old.iter()
                    .find(|kept| kept.extension == line.extension)
                    .map_or_else(&mut *secrets, |kept| kept.secret.clone())
            });
            Line {
                extension: line.extension.clone(),
                secret,
                label: line.label.clone(),
            }
        })
        .collect()
}

/// The model a requested `.loads` file (`SIP41.9-4-2SR3-1S.loads`, a path or a name) is for.
fn model_of_load(file: &str) -> Option<Model> {
    let name = file.rsplit('/').next()?;
    let stem = name.get(..name.len().checked_sub(".loads".len())?)?;
    let (prefix, version, _) = crate::firmware::version::split_name(stem);
    version?;
    Model::by_loads_prefix(prefix)
}

#[cfg(test)]
mod tests;
