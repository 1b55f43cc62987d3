//! The provisioner: the edge around the pure engine. It feeds observations to the engine,
//! carries out its actions (render, write, log) and keeps the state file in step.
//!
//! Ordering that the invariants rest on:
//! 1. the engine assigns extensions;
//! 2. the state (with the assignments) is saved and fsynced;
//! 3. only then are the phone files written, and the state saved again with their
//!    fingerprints.
//!
//! A crash between 2 and 3 leaves an assignment without files, which the next start writes;
//! never a file carrying an extension the state does not know. A file written in 3 whose
//! fingerprint did not reach the state is still recognised as ours, because it holds exactly
//! what we would write.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::detect::{Action, Engine, Phone};
use crate::event::Observation;
use crate::mac::Mac;
use crate::models::{self, Model};
use crate::render::{self, PhoneView, SharedView, Site};
use crate::state::{State, StateError, StateStore};
use crate::template::Templates;
use crate::writer::{FileWriter, Place, WriteOutcome};

/// Characters of generated SIP secrets: letters and digits, safe in every config format.
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/// Length of generated secrets: ~140 bits, within the 30-character limit of the 79xx.
const SECRET_LEN: usize = 24;

/// A SIP secret from the operating system's CSPRNG.
pub fn generate_secret() -> String {
    let mut out = String::with_capacity(SECRET_LEN);
    let mut bytes = [0u8; 64];
    while out.len() < SECRET_LEN {
        // getrandom only fails when the kernel has no entropy source at all; there is no
        // safe fallback for a secret, so that is fatal.
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % SECRET_ALPHABET.len();
        for &byte in bytes.iter().filter(|&&b| usize::from(b) < limit) {
            if out.len() == SECRET_LEN {
                break;
            }
            out.push(char::from(
                SECRET_ALPHABET[usize::from(byte) % SECRET_ALPHABET.len()],
            ));
        }
    }
    out
}

/// Counts for a summary (`scan`) and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Files written.
    pub n_written: u64,
    /// Files left alone because a person owns them.
    pub n_kept: u64,
    /// Writes that failed.
    pub n_write_errors: u64,
}

/// The firmware present in the TFTP root, as far as choosing loads goes: the newest
/// complete SIP load per load prefix (`SIP41` → `SIP41.9-4-2SR3-1S`, `P0S3` →
/// `P0S3-8-12-00`) and the 8.5.2 stepping stone per Java family. Built by the daemon from a
/// scan of the TFTP root (`firmware`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirmwareChoice {
    /// Load prefix → newest complete SIP load.
    pub newest: BTreeMap<String, String>,
    /// SIP load prefix of a Java family → its complete 8.5.2 load (SIP or SCCP).
    pub ladder: BTreeMap<String, String>,
}

impl FirmwareChoice {
    /// The choice for every load prefix of the model table, from an inventory of the TFTP
    /// root.
    pub fn from_inventory(inventory: &crate::firmware::Inventory) -> FirmwareChoice {
        let mut choice = FirmwareChoice::default();
        for info in models::all() {
            let Some(prefix) = info.loads_prefix else {
                continue;
            };
            if let Some(load) = inventory.newest_complete(prefix) {
                choice.newest.insert(prefix.to_string(), load.name.clone());
            }
            if info.config == Some(models::ConfigFamily::Sepxml) {
                if let Some(step) = inventory.ladder_step(prefix) {
                    choice.ladder.insert(prefix.to_string(), step.name.clone());
                }
            }
        }
        choice
    }
}

/// Scans the TFTP root for firmware; an unreadable root gives no firmware (logged).
pub fn firmware_in(root: &Path) -> crate::firmware::Inventory {
    match crate::firmware::scan(root) {
        Ok(inventory) => {
            for load in inventory.loads.iter().filter(|load| !load.is_complete()) {
                warn!(load = %load.name, missing = ?load.missing, "firmware load is incomplete: phones would fail to download it; it is not offered");
            }
            inventory
        }
        Err(err) => {
            warn!(root = %root.display(), %err, "cannot read the TFTP root for firmware");
            crate::firmware::Inventory::default()
        }
    }
}

/// Longest config file the diagnoses read (a `SEP<MAC>.cnf.xml` is a few kilobytes).
const CONFIG_READ_LIMIT: u64 = 256 << 10;

/// The TFTP root as the diagnoses see it: the directory is listed at most once per pass, and
/// only when a rule asks (a config requested under a name that is not the phone's file).
struct DiskRoot<'a> {
    dir: &'a Path,
    listing: RefCell<Option<Vec<String>>>,
}

impl<'a> DiskRoot<'a> {
    fn new(dir: &'a Path) -> DiskRoot<'a> {
        DiskRoot {
            dir,
            listing: RefCell::new(None),
        }
    }
}

impl crate::diagnose::Root for DiskRoot<'_> {
    fn names_like(&self, name: &str) -> Vec<String> {
        let mut listing = self.listing.borrow_mut();
        let names = listing.get_or_insert_with(|| {
            std::fs::read_dir(self.dir)
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .filter_map(|entry| entry.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default()
        });
        names
            .iter()
            .filter(|candidate| candidate.eq_ignore_ascii_case(name))
            .cloned()
            .collect()
    }

    fn text(&self, name: &str) -> Option<String> {
        use std::io::Read;
        let path: PathBuf = self.dir.join(name);
        if !std::fs::metadata(&path).is_ok_and(|meta| meta.is_file()) {
            return None;
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .ok()?
            .take(CONFIG_READ_LIMIT)
            .read_to_end(&mut bytes)
            .ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Engine + writer + state store.
#[derive(Debug)]
pub struct Provisioner {
    config: Config,
    /// The templates in force (built-in, or the config's `templates_dir`).
    templates: Templates,
    /// Loads available for each family.
    firmware: FirmwareChoice,
    /// Everything firmware in the TFTP root (the diagnoses name missing images and loads).
    inventory: crate::firmware::Inventory,
    /// The time of the last [`Provisioner::tick`]: deadlines up to it were handled.
    last_tick: i64,
    engine: Engine,
    writer: FileWriter,
    store: StateStore,
    state: State,
    /// Phones whose files could not be written; retried by [`Provisioner::retry`].
    failed: BTreeSet<Mac>,
    /// A shared file, PBX file or DHCP snippet could not be written; retried with the phones.
    outputs_failed: bool,
    /// Phones whose files are due, oldest first: written by [`Provisioner::write_queued`].
    queue: std::collections::VecDeque<Mac>,
    /// How long one [`Provisioner::write_queued`] may write before it returns, so the daemon
    /// reads its sources between slices of a storm; `None`: until the queue is empty.
    write_budget: Option<std::time::Duration>,
    /// Warnings already given, so repeats do not flood the log.
    warned: HashSet<(Mac, &'static str)>,
    /// Leak alerts already given (phone, requesting address).
    leak_warned: HashSet<(Mac, std::net::Ipv4Addr)>,
    /// The root's names a phone's directory links to (`tftp_unique_root`), listed once per
    /// change of the root.
    links: Option<Vec<String>>,
    /// Recent events by source, so one reported by several sources counts once.
    dedup: crate::detect::dedup::Dedup,
    /// A source of TFTP requests is readable (see `diagnose::Context::tftp_visible`).
    tftp_visible: bool,
    /// Registry keys of the files written in the current write slice, for the journal.
    slice_written: Vec<String>,
    /// Would-be phones turned away since the last summary, by reason.
    rejected: BTreeMap<&'static str, u64>,
    /// The first rejection was explained in the log.
    rejections_reported: bool,
    /// Phone records changed in memory since the last save (state, model, new phones).
    unsaved: bool,
    /// The reservations the dnsmasq snippet was last written with.
    reservations: Vec<(Mac, std::net::Ipv4Addr)>,
    /// The `[dhcp] reload_command`, run after a snippet changed.
    dhcp_reload: crate::reload::Reloader,
    /// The `[pbx] reload_command`, run after a PBX file changed.
    pbx_reload: crate::reload::Reloader,
    /// A `[pbx] group` problem was logged (once per config).
    group_warned: bool,
    /// Snippet files we refused to replace (warned once).
    foreign_snippets: HashSet<std::path::PathBuf>,
    /// Running totals.
    pub totals: Totals,
}

impl Provisioner {
    /// Builds the provisioner from the loaded state and applies the config's inventory.
    pub fn new(
        config: Config,
        templates: Templates,
        store: StateStore,
        mut state: State,
    ) -> Provisioner {
        let engine = Engine::new(std::mem::take(&mut state.phones));
        let dhcp_reload = crate::reload::Reloader::new(
            "dhcp",
            config.snippets.reload_command.clone(),
            DHCP_RELOAD_INTERVAL,
        );
        let pbx_reload = crate::reload::Reloader::new(
            "pbx",
            config.pbx.reload_command.clone(),
            std::time::Duration::from_secs(config.pbx.reload_interval_s),
        );
        let mut provisioner = Provisioner {
            writer: FileWriter::new(&config.tftp_root),
            config,
            templates,
            firmware: FirmwareChoice::default(),
            inventory: crate::firmware::Inventory::default(),
            last_tick: i64::MIN,
            engine,
            store,
            state,
            failed: BTreeSet::new(),
            outputs_failed: false,
            queue: std::collections::VecDeque::new(),
            write_budget: None,
            warned: HashSet::new(),
            leak_warned: HashSet::new(),
            links: None,
            dedup: crate::detect::dedup::Dedup::new(DEDUP_KEYS, 16),
            tftp_visible: true,
            slice_written: Vec::new(),
            rejected: BTreeMap::new(),
            rejections_reported: false,
            unsaved: false,
            reservations: Vec::new(),
            dhcp_reload,
            pbx_reload,
            group_warned: false,
            foreign_snippets: HashSet::new(),
            totals: Totals::default(),
        };
        provisioner.engine.counters = provisioner.state.counters;
        let actions = provisioner
            .engine
            .apply_config(&provisioner.config, &mut generate_secret);
        provisioner.carry_out(actions);
        provisioner
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The engine (read-only).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The persisted state (positions live here).
    pub fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    /// True when phone records changed since the last save: the daemon saves soon after,
    /// so `status` shows boot progress without a write per TFTP request.
    pub fn has_unsaved_changes(&self) -> bool {
        self.unsaved
    }

    /// True when turned-away phones wait to be summarised in the log.
    pub fn has_unreported_rejections(&self) -> bool {
        !self.rejected.is_empty()
    }

    /// Logs one line for the phones turned away since the last summary.
    pub fn report_rejections(&mut self) {
        if self.rejected.is_empty() {
            return;
        }
        let summary: Vec<String> = self
            .rejected
            .iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect();
        warn!(turned_away = %summary.join(", "), "would-be phones turned away in the last minute");
        self.rejected.clear();
    }

    /// Applies an admin's decision (`approve`, `deny`, or `forget` as `None`) and saves.
    pub fn decide(&mut self, mac: Mac, decision: Option<crate::detect::Decision>) {
        let actions = self
            .engine
            .decide(mac, decision, &self.config, &mut generate_secret, now());
        let verb = match decision {
            Some(crate::detect::Decision::Approved) => "approved",
            Some(crate::detect::Decision::Denied) => "denied",
            None => "forgotten",
        };
        info!(%mac, decision = verb, "admin decision");
        self.unsaved = true;
        self.carry_out(actions);
        self.diagnose([mac], now());
        let _ = self.save();
        self.write_pbx_files();
    }

    /// True when some phone's files still have to be written.
    pub fn has_failed_writes(&self) -> bool {
        !self.failed.is_empty() || self.outputs_failed
    }

    /// Swaps in the firmware found in the TFTP root (see [`firmware_in`]); rewrites what
    /// names loads, and runs every phone's diagnoses again (an image may have come).
    pub fn set_firmware(&mut self, inventory: crate::firmware::Inventory) {
        let firmware = FirmwareChoice::from_inventory(&inventory);
        self.inventory = inventory;
        if firmware != self.firmware {
            info!(loads = ?firmware.newest, "firmware present");
            self.firmware = firmware;
            self.write_shared();
            self.rewrite_all();
        }
        self.relink_all();
        self.diagnose_all();
    }

    /// Swaps in a new config and templates (after SIGHUP) and applies its inventory.
    pub fn reload(&mut self, config: Config, templates: Templates) {
        self.writer = FileWriter::new(&config.tftp_root);
        self.dhcp_reload
            .configure(config.snippets.reload_command.clone(), DHCP_RELOAD_INTERVAL);
        self.pbx_reload.configure(
            config.pbx.reload_command.clone(),
            std::time::Duration::from_secs(config.pbx.reload_interval_s),
        );
        self.group_warned = false;
        self.links = None;
        self.config = config;
        self.templates = templates;
        let actions = self.engine.apply_config(&self.config, &mut generate_secret);
        self.carry_out(actions);
        self.write_shared();
        self.rewrite_all();
        self.write_snippets();
        self.write_pbx_files();
        self.diagnose_all();
    }

    /// Feeds observations and carries out what follows, then runs the diagnoses of the
    /// phones they concern.
    pub fn observe(&mut self, observations: &[Observation]) {
        self.observe_from(None, observations);
    }

    /// [`Provisioner::observe`] for what `source` reported: an event another source already
    /// reported (dnsmasq's hook and its log, a log read twice) counts once
    /// ([`crate::detect::dedup`]). `None`: no other source reports these.
    pub fn observe_from(
        &mut self,
        source: Option<crate::detect::dedup::SourceId>,
        observations: &[Observation],
    ) {
        self.observe_batch(observations.iter().map(|observation| (source, observation)));
    }

    /// [`Provisioner::observe_from`] for what several sources reported in one wake-up, in
    /// one batch: a lease from the lease file and its vendor class from the log's DHCPACK
    /// make one decision, one set of files and one PBX reload (processed source by source,
    /// the PBX was reloaded with the first and a phone could register before the second).
    pub fn observe_batch<'a>(
        &mut self,
        observations: impl IntoIterator<
            Item = (Option<crate::detect::dedup::SourceId>, &'a Observation),
        >,
    ) {
        let mut actions = Vec::new();
        for (source, observation) in observations {
            let repeat = source.is_some_and(|source| {
                self.dedup.see(source, observation) == crate::detect::dedup::Seen::Repeat
            });
            if repeat {
                debug!(?observation, "reported by another source already");
                actions.extend(self.engine.observe_repeat(
                    observation,
                    &self.config,
                    &mut generate_secret,
                ));
                continue;
            }
            actions.extend(
                self.engine
                    .observe(observation, &self.config, &mut generate_secret),
            );
        }
        self.carry_out(actions);
        if self.config.snippets.reservations && self.current_reservations() != self.reservations {
            self.write_snippets();
        }
        let touched = self.engine.take_touched();
        self.diagnose(touched, now());
    }

    /// The next time (Unix seconds) a diagnosis may become due by time alone (a phone waits
    /// for its first TFTP request, or for its config); `None` when no phone waits. The
    /// daemon sleeps until then: no timer runs while nothing is pending.
    pub fn next_deadline(&self) -> Option<i64> {
        self.engine
            .phones()
            .values()
            .filter_map(|phone| crate::diagnose::deadline(phone, &self.config))
            .filter(|&at| at > self.last_tick)
            .min()
    }

    /// Runs the diagnoses of the phones whose deadline has come (at `now`, Unix seconds).
    pub fn tick(&mut self, now: i64) {
        let due: Vec<Mac> = self
            .engine
            .phones()
            .values()
            .filter(|phone| {
                crate::diagnose::deadline(phone, &self.config).is_some_and(|at| at <= now)
            })
            .map(|phone| phone.mac)
            .collect();
        self.last_tick = self.last_tick.max(now);
        self.diagnose(due, now);
    }

    /// Runs every phone's diagnoses (firmware or config changed).
    fn diagnose_all(&mut self) {
        let macs: Vec<Mac> = self.engine.phones().keys().copied().collect();
        self.diagnose(macs, now());
    }

    /// Runs the rules of [`crate::diagnose`] for `macs` at `now`; logs each new diagnosis
    /// once at warn (it is kept in the phone's record, across restarts too) and each one
    /// that went away at info.
    fn diagnose(&mut self, macs: impl IntoIterator<Item = Mac>, now: i64) {
        let root = DiskRoot::new(&self.config.tftp_root);
        let mut updates = Vec::new();
        for mac in macs {
            let Some(phone) = self.engine.phone(mac) else {
                continue;
            };
            let context = crate::diagnose::Context {
                config: &self.config,
                firmware: &self.inventory,
                root: &root,
                now,
                tftp_visible: self.tftp_visible,
            };
            let found = crate::diagnose::diagnose(phone, &context);
            let update = crate::diagnose::merge(&phone.diagnoses, found);
            if update.diagnoses != phone.diagnoses {
                updates.push((mac, update));
            }
        }
        for (mac, update) in updates {
            for code in &update.new {
                if let Some(diagnosis) = update.diagnoses.iter().find(|d| &d.code == code) {
                    warn!(%mac, code = %diagnosis.code, problem = %diagnosis.message, "phone problem found (cisco-autoprov explain MAC says what to do)");
                }
            }
            for code in &update.resolved {
                info!(%mac, code = %code, "phone problem gone");
            }
            if self.engine.set_diagnoses(mac, update.diagnoses) {
                self.unsaved = true;
            }
        }
    }

    /// Writes the files every phone shares (`XMLDefault.cnf.xml`, `SIPDefault.cnf`,
    /// `OS79XX.TXT`, and the templates directory's extras).
    pub fn write_shared(&mut self) {
        let site = site(&self.config);
        let shared = self.shared_view();
        for (name, contents) in render::shared_files(&self.templates, &site, &shared) {
            match self.writer.write(&name, &contents, &mut self.state.written) {
                Ok(WriteOutcome::Written) => {
                    self.totals.n_written += 1;
                    self.links = None;
                    info!(file = name, "shared file written");
                }
                Ok(WriteOutcome::Unchanged) => {}
                Ok(WriteOutcome::KeptForeign) => self.totals.n_kept += 1,
                Err(err) => {
                    self.totals.n_write_errors += 1;
                    self.outputs_failed = true;
                    error!(file = name, %err, "cannot write shared file; will retry");
                }
            }
        }
    }

    /// Writes the PBX files configured under `[pbx]` (the PJSIP include and the FreePBX
    /// import CSV) from the provisioned phones whose secret the PBX cannot know yet: those
    /// with a range extension, and inventory phones with a generated secret. Rewritten only
    /// when their text changes; they hold secrets, so they are not world-readable.
    pub fn write_pbx_files(&mut self) {
        let (pjsip_path, csv_path, dialplan_path) = (
            self.config.pbx.pjsip_snippet.clone(),
            self.config.pbx.freepbx_csv.clone(),
            self.config.pbx.dialplan_file.clone(),
        );
        if pjsip_path.is_none() && csv_path.is_none() && dialplan_path.is_none() {
            return;
        }
        let transport = self.config.pbx.transport;
        let mut phones: Vec<crate::pbx::PbxPhone<'_>> = Vec::new();
        for phone in self.engine.phones().values() {
            let base = crate::pbx::PbxPhone {
                mac: phone.mac,
                extension: "",
                secret: "",
                label: None,
                model: phone.model().map(|model| model.base()),
                from_range: true,
                transport: transport.for_model(phone.model()),
                approved: phone.decision == Some(crate::detect::Decision::Approved)
                    || self.config.inventory.contains_key(&phone.mac),
            };
            if let (true, Some(extension), Some(secret)) = (
                phone.secret_is_ours(&self.config),
                phone.extension.as_deref(),
                phone.secret.as_deref(),
            ) {
                phones.push(crate::pbx::PbxPhone {
                    extension,
                    secret,
                    label: phone.label.as_deref(),
                    ..base
                });
            }
            // Its other lines whose secret was generated here: the PBX learns them from us.
            for line in &phone.lines {
                if !self.config.line_secret_given(phone.mac, &line.extension) {
                    phones.push(crate::pbx::PbxPhone {
                        extension: &line.extension,
                        secret: &line.secret,
                        label: line.label.as_deref(),
                        ..base
                    });
                }
            }
        }
        let pbx = &self.config.pbx;
        let settings = crate::pbx::PjsipSettings {
            udp_transport: &pbx.pjsip_udp_transport,
            tcp_transport: &pbx.pjsip_tcp_transport,
            context: &pbx.context,
            unapproved_context: &pbx.unapproved_context,
            mailbox_context: &pbx.mailbox_context,
        };
        let group = match pbx.group.as_deref().map(crate::fsutil::group_id) {
            None => None,
            Some(Ok(Some(gid))) => Some(gid),
            Some(result) => {
                if !self.group_warned {
                    self.group_warned = true;
                    let err = result.err().map(|err| err.to_string());
                    error!(group = pbx.group.as_deref().unwrap_or_default(), err, "pbx.group is not a group of this system (see /etc/group); the pbx files keep the group they have");
                }
                None
            }
        };
        // With a group the PBX reads the CSV too (FreePBX runs as asterisk).
        let csv_mode = if group.is_some() { 0o640 } else { 0o600 };
        let dialplan = dialplan_path.as_ref().map(|_| self.restricted_dialplan());
        let files = [
            (pjsip_path, crate::pbx::pjsip(&phones, &settings), 0o640),
            (csv_path, crate::pbx::freepbx_csv(&phones), csv_mode),
            (dialplan_path, dialplan.unwrap_or_default(), 0o640),
        ];
        let mut changed = false;
        for (path, text, mode) in files {
            let Some(path) = path else { continue };
            if std::fs::read_to_string(&path).is_ok_and(|existing| existing == text) {
                continue;
            }
            match crate::fsutil::replace_keeping_owner(&path, text.as_bytes(), mode, group) {
                Ok(()) => {
                    changed = true;
                    info!(file = %path.display(), n_phones = phones.len(), "pbx file written")
                }
                Err(err) => {
                    self.outputs_failed = true;
                    error!(file = %path.display(), %err, "cannot write pbx file (run as root, or as a member of pbx.group); will retry");
                }
            }
        }
        if changed {
            self.pbx_reload.request(std::time::Instant::now());
        }
    }

    /// The dialplan include defining `[pbx] unapproved_context`: the range, every other
    /// extension of the site (inventory, pool, known phones and their lines), the voicemail
    /// and emergency numbers, each sent on to `[pbx] context`.
    fn restricted_dialplan(&self) -> String {
        let config = &self.config;
        let range = &config.provision.extensions;
        let mut extensions: Vec<&str> = Vec::new();
        for entry in config.inventory.values() {
            extensions.push(&entry.extension);
            extensions.extend(entry.lines.iter().map(|line| line.extension.as_str()));
        }
        extensions.extend(config.provision.pool.iter().map(|p| p.extension.as_str()));
        for phone in self.engine.phones().values() {
            extensions.extend(phone.extension.as_deref());
            extensions.extend(phone.lines.iter().map(|line| line.extension.as_str()));
        }
        extensions.retain(|extension| !range.contains(extension));
        crate::pbx::restricted_context(&crate::pbx::Restricted {
            context: &config.pbx.unapproved_context,
            approved_context: &config.pbx.context,
            range: (range.first, range.last, range.width),
            extensions: &extensions,
            voicemail: &config.pbx.voicemail,
            emergency: &config.dialplan.emergency,
        })
    }

    /// When [`Provisioner::poll_reloads`] must run next: a reload waits for its interval,
    /// or one in progress may have to be killed.
    pub fn next_reload_deadline(&self) -> Option<std::time::Instant> {
        match (
            self.dhcp_reload.next_deadline(),
            self.pbx_reload.next_deadline(),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reaps finished reload commands (logging failures) and starts the due ones. Called at
    /// [`Provisioner::next_reload_deadline`] and on `SIGCHLD`.
    pub fn poll_reloads(&mut self) {
        let now = std::time::Instant::now();
        self.dhcp_reload.poll(now);
        self.pbx_reload.poll(now);
    }

    /// Writes the DHCP server snippets configured under `[dhcp]` and runs the reload command
    /// when one changed. A snippet is rewritten only when its text changes, and its text
    /// depends only on the config and the set of reserved phones (sorted): a DHCP server
    /// replaying its leases after a reload changes nothing, so a reload never causes another.
    pub fn write_snippets(&mut self) {
        let snippets = self.config.snippets.clone();
        if snippets.dnsmasq.is_none()
            && snippets.isc.is_none()
            && snippets.kea.is_none()
            && snippets.uci.is_none()
        {
            return;
        }
        self.reservations = self.current_reservations();
        let binary = own_binary();
        let config_path = self
            .config
            .path
            .as_ref()
            .map(|path| path.display().to_string());
        let input = crate::snippets::SnippetInput {
            tftp_server: self
                .config
                .tftp_server
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
            binary: &binary,
            config_path: config_path.as_deref(),
            dnsmasq_script: snippets.dnsmasq_script.as_deref(),
            reservations: &self.reservations,
            cisco_ouis: crate::oui::blocks(),
            tftp_unique_root: self.config.tftp_unique_root,
        };
        let mut changed = false;
        let wanted = [
            (
                &snippets.dnsmasq,
                crate::snippets::dnsmasq as fn(&crate::snippets::SnippetInput<'_>) -> String,
            ),
            (&snippets.isc, crate::snippets::isc),
            (&snippets.kea, crate::snippets::kea),
            (&snippets.uci, crate::snippets::uci),
        ];
        for (path, render) in wanted {
            let Some(path) = path else { continue };
            let text = render(&input);
            match std::fs::read_to_string(path) {
                Ok(existing) if existing == text => continue,
                Ok(existing) if !crate::snippets::is_generated(&existing) => {
                    if self.foreign_snippets.insert(path.clone()) {
                        error!(file = %path.display(), "not replacing a snippet file cisco-autoprov did not write; delete it or point the config elsewhere");
                    }
                    continue;
                }
                _ => {}
            }
            match crate::fsutil::write_atomic(path, text.as_bytes(), 0o644) {
                Ok(()) => {
                    info!(file = %path.display(), "dhcp snippet written");
                    changed = true;
                }
                Err(err) => {
                    self.outputs_failed = true;
                    error!(file = %path.display(), %err, "cannot write dhcp snippet; will retry");
                }
            }
        }
        if changed {
            self.dhcp_reload.request(std::time::Instant::now());
        }
    }

    /// Provisioned phones with a leased address, sorted, when reservations are on. Only a
    /// lease binds a MAC to an address: a TFTP request from an unleased address re-pointed a
    /// `dhcp-host` line and restarted dnsmasq at every request (field-evidence.md §4).
    fn current_reservations(&self) -> Vec<(Mac, std::net::Ipv4Addr)> {
        if !self.config.snippets.reservations {
            return Vec::new();
        }
        let mut reservations: Vec<(Mac, std::net::Ipv4Addr)> = self
            .engine
            .phones()
            .values()
            .filter(|phone| phone.is_provisioned())
            .filter_map(|phone| Some((phone.mac, self.engine.leased_ip(phone.mac)?)))
            .collect();
        reservations.sort_unstable();
        reservations
    }

    /// The load a model should run: pinned, else the newest complete one present.
    fn load_for_model(&self, model: Model) -> Option<String> {
        if let Some(pinned) = self.config.firmware_pins.get(model.name()) {
            return Some(pinned.clone());
        }
        if let Some(base) = Model::by_name(model.base()) {
            if let Some(pinned) = self.config.firmware_pins.get(base.name()) {
                return Some(pinned.clone());
            }
        }
        let prefix = model.info().loads_prefix?;
        self.firmware.newest.get(prefix).cloned()
    }

    /// What `XMLDefault.cnf.xml`, `SIPDefault.cnf` and `OS79XX.TXT` name.
    fn shared_view(&self) -> SharedView {
        let mut view = SharedView::default();
        for info in models::all() {
            let Some(model) = Model::by_name(info.name) else {
                continue;
            };
            let (Some(device_type), Some(_)) = (info.device_type, info.config) else {
                continue;
            };
            if let Some(load) = self.load_for_model(model) {
                // The CUCM typemodel name (cisco-facts.md section 2): phones match on the
                // number in the element name; the attribute is descriptive.
                view.loads
                    .push((device_type, format!("Cisco {}", info.name), load));
            }
        }
        view.image_7940 = Model::by_name("7940").and_then(|model| self.load_for_model(model));
        view.universal_loader = view
            .image_7940
            .as_deref()
            .and_then(|load| self.inventory.universal_loader(load));
        view.dialplan = Some(crate::dialplan::dialplan_xml(&self.config.dialplan));
        view
    }

    /// The MACs of the phones with credentials.
    fn provisioned_macs(&self) -> Vec<Mac> {
        self.engine
            .phones()
            .values()
            .filter(|phone| phone.is_provisioned())
            .map(|phone| phone.mac)
            .collect()
    }

    /// Re-renders every provisioned phone (start-up, reload): templates or site values may
    /// have changed. Unchanged files are not touched.
    pub fn rewrite_all(&mut self) {
        let macs = self.provisioned_macs();
        self.write_phones(&macs);
    }

    /// Retries what could not be written: phones' files, and the shared files, PBX files
    /// and DHCP snippets (each rewritten only if its text differs from what is there).
    pub fn retry(&mut self) {
        if std::mem::take(&mut self.outputs_failed) {
            self.write_shared();
            self.write_pbx_files();
            self.write_snippets();
        }
        let macs: Vec<Mac> = std::mem::take(&mut self.failed).into_iter().collect();
        self.write_phones(&macs);
    }

    /// Saves the state. Failure is logged: the daemon keeps running on what it has.
    pub fn save(&mut self) -> Result<(), StateError> {
        self.state.counters = self.engine.counters;
        let result = self
            .store
            .save_with_phones(&self.state, self.engine.phones().values());
        if result.is_ok() {
            self.unsaved = false;
        }
        if let Err(err) = &result {
            error!(%err, "cannot save state");
        }
        result
    }

    fn carry_out(&mut self, actions: Vec<Action>) {
        let mut to_write = Vec::new();
        if !actions.is_empty() {
            self.unsaved = true;
        }
        for action in actions {
            match action {
                Action::Detected { mac, evidence } => {
                    info!(%mac, evidence, "phone detected");
                }
                Action::ModelLearned { mac, model } => {
                    info!(%mac, model, "phone model learned");
                }
                Action::StateChanged { mac, state } => {
                    info!(%mac, state = state.as_str(), "phone state changed");
                }
                Action::Provision(mac) => {
                    if !to_write.contains(&mac) {
                        to_write.push(mac);
                    }
                }
                Action::FirmwareLoop { mac, file } => {
                    warn!(%mac, file, "phone keeps asking for the same firmware without taking it; serving the 8.5.2 stepping stone if present");
                }
                Action::LadderStepTaken(mac) => {
                    info!(%mac, "phone took the 8.5.2 stepping stone; its target load comes next");
                }
                Action::PoolExhausted(mac) => {
                    if self.warned.insert((mac, "pool")) {
                        warn!(%mac, range = %self.config.provision.extensions, "extension range is used up; phone not provisioned");
                    }
                }
                Action::ForeignRequest {
                    named,
                    leased_to,
                    ip,
                } => {
                    debug!(requested_for = %named, %ip, ip_leased_to = %leased_to, "config request for a phone from an address leased to another device; ignored");
                }
                Action::Leak { mac, ip, leased_to } => {
                    if self.leak_warned.len() < 10_000 && self.leak_warned.insert((mac, ip)) {
                        let leased_to = leased_to
                            .map(|m| m.to_string())
                            .unwrap_or_else(|| "nobody".into());
                        warn!(phone = %mac, phone_ip = ?self.engine.phone(mac).and_then(|p| p.ip), requested_by = %ip, requester_leased_to = %leased_to, "leak alert: a phone's config was asked for by another device");
                    }
                }
                Action::SecretRotation {
                    mac,
                    ip,
                    rotated: true,
                } => {
                    warn!(phone = %mac, requested_by = %ip, "sip secret rotated after a leak alert: the phone and pbx files carry the new one; the phone registers again after its next restart (power-cycle it)");
                }
                Action::SecretRotation {
                    mac,
                    ip,
                    rotated: false,
                } => {
                    warn!(phone = %mac, requested_by = %ip, "cannot rotate a leaked sip secret that comes from the config or the pbx pool: change it there");
                }
                Action::CredentialsIssued { mac, evidence } => {
                    let extension = self.engine.phone(mac).and_then(|p| p.extension.clone());
                    info!(%mac, extension, evidence, "credentials handed out");
                }
                Action::Pending(mac) => {
                    if self.warned.insert((mac, "pending")) {
                        info!(%mac, "phone waits for approval (cisco-autoprov approve MAC)");
                    }
                }
                Action::RemoveFiles { mac, files } => {
                    for name in files {
                        self.remove_phone_file(
                            mac,
                            &name,
                            [Place::Root, Place::PhoneDir(mac)],
                            "it has no credentials",
                        );
                    }
                    // Its directory would keep dnsmasq from serving it the root's files.
                    if let Err(err) = self.writer.remove_phone_dir(mac, &mut self.state.written) {
                        warn!(%mac, %err, "cannot remove a phone's directory");
                    }
                }
                Action::Rejected(rejection) => {
                    let first = self.rejected.is_empty() && !self.rejections_reported;
                    *self.rejected.entry(rejection_name(rejection)).or_insert(0) += 1;
                    if first {
                        self.rejections_reported = true;
                        warn!(reason = rejection_name(rejection), "turning away a would-be phone; further ones are summarised once a minute");
                    }
                }
            }
        }
        if to_write.is_empty() {
            return;
        }
        // Assignments reach the disk before any file that carries them: appended to the
        // journal (a few hundred bytes per phone); the whole state follows at the save timer.
        let appended = self.store.append_assignments(
            to_write.iter().filter_map(|mac| self.engine.phone(*mac)),
            &[],
        );
        if let Err(err) = appended {
            error!(%err, "cannot save the assignments; the phones' files wait");
            self.failed.extend(to_write);
            return;
        }
        self.unsaved = true;
        self.write_phones(&to_write);
    }

    /// Takes back the assignments of phones the state does not know from their own files
    /// in the TFTP root (and their directories, `tftp_unique_root`), when those carry our
    /// marker: with the state lost and the root kept, no extension is handed out twice
    /// (field-evidence.md §5). The files become ours again. Returns how many phones were
    /// taken back.
    pub fn adopt_from_root(&mut self) -> usize {
        use crate::detect::names::{classify, TftpName};
        let root = self.config.tftp_root.clone();
        let Ok(entries) = std::fs::read_dir(&root) else {
            return 0;
        };
        // (mac, registry key, path)
        let mut found: Vec<(Mac, String, PathBuf)> = Vec::new();
        let mut note = |name: &str, key: String, path: PathBuf| {
            if let TftpName::SepConfig(mac) | TftpName::SipConfig(mac) = classify(name) {
                found.push((mac, key, path));
            }
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if Mac::from_dashed(&name).is_some()
                && entry.file_type().is_ok_and(|kind| kind.is_dir())
            {
                for inner in std::fs::read_dir(entry.path())
                    .into_iter()
                    .flatten()
                    .filter_map(Result::ok)
                {
                    if let Ok(inner_name) = inner.file_name().into_string() {
                        note(&inner_name, format!("{name}/{inner_name}"), inner.path());
                    }
                }
            } else {
                note(&name, name.clone(), entry.path());
            }
        }
        found.sort_unstable();
        let mut adopted = 0;
        let now = now();
        let mut index = 0;
        while index < found.len() {
            let mac = found[index].0;
            let end = found[index..]
                .iter()
                .position(|(other, _, _)| *other != mac)
                .map_or(found.len(), |n| index + n);
            let group = &found[index..end];
            index = end;
            if self
                .engine
                .phone(mac)
                .is_some_and(|phone| phone.extension.is_some())
            {
                continue;
            }
            // Every file of the phone with its bytes; the first that parses decides.
            let mut files = Vec::new();
            for (_, key, path) in group {
                if let Ok(crate::fsutil::Existing::Bytes(bytes)) =
                    crate::fsutil::read_existing(path, crate::writer::MAX_EXISTING)
                {
                    files.push((key.clone(), bytes));
                }
            }
            let parsed = files.iter().find_map(|(key, bytes)| {
                let text = String::from_utf8_lossy(bytes);
                let parsed = if key.ends_with(".cnf.xml") {
                    crate::parse::phone_file::parse_sep_xml(&text)
                } else {
                    crate::parse::phone_file::parse_sip_cnf(&text)
                };
                parsed.ok().map(|file| (key.clone(), file))
            });
            let Some((key, file)) = parsed else { continue };
            match self.engine.adopt(mac, &file, &self.config) {
                Ok(origin) => {
                    adopted += 1;
                    let mut names = BTreeSet::new();
                    for (key, bytes) in &files {
                        let print = format!("{:016x}", crate::fsutil::fingerprint(bytes));
                        self.state.written.insert(key.clone(), print);
                        let name = key.rsplit('/').next().unwrap_or(key);
                        names.insert(name.to_string());
                    }
                    self.engine.files_written(mac, names.into(), false, now);
                    info!(%mac, extension = %file.extension, origin = origin.as_str(), file = %key, "assignment taken back from the phone's file (the state did not know the phone)");
                }
                Err(reason) => {
                    warn!(%mac, file = %key, reason, "phone file not taken back; its extension may be handed out again");
                }
            }
        }
        if adopted > 0 {
            self.unsaved = true;
            let _ = self.save();
        }
        adopted
    }

    /// Whether TFTP requests can be seen at all (a log, command or journal source readable,
    /// or a hook that reported one); when it changes, every phone is diagnosed again.
    pub fn set_tftp_visible(&mut self, visible: bool) {
        if visible != self.tftp_visible {
            self.tftp_visible = visible;
            if visible {
                info!("tftp requests can be seen again");
            } else {
                warn!("no source of tftp requests can be read: phones are not judged on missing requests until one can (cisco-autoprov check says which)");
            }
            self.diagnose_all();
        }
    }

    /// Remembers up to `max_keys` events for [`Provisioner::observe_from`] (`scan` reads
    /// each source whole before the next, so it needs every event of its logs).
    pub fn set_dedup_capacity(&mut self, max_keys: usize, per_key: usize) {
        self.dedup = crate::detect::dedup::Dedup::new(max_keys, per_key);
    }

    /// Bounds each [`Provisioner::write_queued`] to about `budget` of writing (the daemon's
    /// setting; `scan` and tests write everything at once).
    pub fn set_write_budget(&mut self, budget: std::time::Duration) {
        self.write_budget = Some(budget);
    }

    /// True while phones wait in the write queue.
    pub fn has_queued_writes(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Writes queued phones, oldest first, until the queue is empty or the write budget is
    /// spent. Their assignments are already saved: a phone still queued when the daemon
    /// dies is written at the next start (`rewrite_all`).
    pub fn write_queued(&mut self) {
        let started = std::time::Instant::now();
        let mut n_phones = 0;
        let mut written_phones = Vec::new();
        while let Some(mac) = self.queue.pop_front() {
            self.write_phone_files(mac);
            written_phones.push(mac);
            n_phones += 1;
            if self
                .write_budget
                .is_some_and(|budget| started.elapsed() >= budget)
            {
                break;
            }
        }
        if n_phones > 0 {
            // The fingerprints of the files just written go to the journal at once (so a
            // crash cannot make them look hand-edited), with the phones' records (the files
            // `status` lists); the whole state at the save timer.
            let written: Vec<(&str, &str)> = self
                .slice_written
                .iter()
                .filter_map(|key| {
                    self.state
                        .written
                        .get_key_value(key)
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                })
                .collect();
            let phones = written_phones
                .iter()
                .filter_map(|mac| self.engine.phone(*mac));
            if let Err(err) = self.store.append_assignments(phones, &written) {
                error!(%err, "cannot save the fingerprints of the files written; saving the whole state");
                let _ = self.save();
            }
            self.slice_written.clear();
            self.unsaved = true;
            self.write_pbx_files();
        }
    }

    /// The files of one provisioned phone: name → contents.
    fn render_phone(&self, site: &Site<'_>, phone: &Phone) -> Option<Vec<(String, String)>> {
        let model = phone.model();
        let load = match model {
            Some(model) if phone.needs_ladder => model
                .info()
                .loads_prefix
                .and_then(|prefix| self.firmware.ladder.get(prefix).cloned())
                .or_else(|| self.load_for_model(model)),
            Some(model) => self.load_for_model(model),
            None => None,
        };
        let entry = self.config.inventory.get(&phone.mac);
        let view = PhoneView {
            mac: phone.mac,
            model,
            extension: phone.extension.as_deref()?,
            secret: phone.secret.as_deref()?,
            label: phone.label.as_deref(),
            load: load.as_deref(),
            speed_dials: entry.map_or(&[], |entry| entry.speed_dials.as_slice()),
            addon_modules: entry.map_or(&[], |entry| entry.addon_modules.as_slice()),
            transport: self.config.pbx.transport.for_model(model),
            lines: phone
                .lines
                .iter()
                .map(|line| render::LineView {
                    extension: &line.extension,
                    secret: &line.secret,
                    label: line.label.as_deref(),
                })
                .collect(),
            // The phone's own password, the site's, else the one generated for it.
            phone_password: entry
                .and_then(|entry| entry.phone_password.as_deref())
                .or(self.config.provision.phone_password.as_deref())
                .or(phone.phone_password.as_deref())
                .unwrap_or_default(),
            ring: entry
                .and_then(|entry| entry.ring)
                .unwrap_or(self.config.provision.ring),
        };
        let lines_fit = view.lines_that_fit();
        if lines_fit < view.lines.len() {
            warn!(mac = %phone.mac, model = model.map_or("?", |m| m.name()), n_lines = view.lines.len() + 1, n_fit = lines_fit + 1, "more lines than the phone has buttons; the rest are left out");
        }
        let fit = view.speed_dials_that_fit();
        if fit < view.speed_dials.len() {
            warn!(mac = %phone.mac, model = model.map_or("?", |m| m.name()), n_speed_dials = view.speed_dials.len(), n_fit = fit, "more speed dials than the phone has buttons; the rest are left out");
        }
        if let (Some(model), Some(kem)) = (model, view.addon_modules.first()) {
            if !model.takes_addon_module(kem) {
                warn!(mac = %phone.mac, model = model.name(), addon_module = %kem, "this model takes no such expansion module; its buttons are not counted");
            }
        }
        Some(render::phone_files(&self.templates, site, &view))
    }

    /// Queues phones for writing and writes what the budget allows (all of it outside the
    /// daemon); the daemon's loop writes the rest.
    fn write_phones(&mut self, macs: &[Mac]) {
        for &mac in macs {
            if !self.queue.contains(&mac) {
                self.queue.push_back(mac);
            }
        }
        self.write_queued();
    }

    /// Renders and writes one phone's files (the caller saves the state afterwards).
    fn write_phone_files(&mut self, mac: Mac) {
        let site = site(&self.config);
        let Some(phone) = self.engine.phone(mac) else {
            return;
        };
        let Some(files) = self.render_phone(&site, phone) else {
            return;
        };
        let (place, other) = if self.config.tftp_unique_root {
            (Place::PhoneDir(mac), Place::Root)
        } else {
            (Place::Root, Place::PhoneDir(mac))
        };
        // Files of the other family, written before the model was known, go.
        let stale: Vec<String> = phone
            .files
            .iter()
            .filter(|name| !files.iter().any(|(new, _)| new == *name))
            .cloned()
            .collect();
        let extension = phone.extension.clone().unwrap_or_default();
        for name in stale {
            self.remove_phone_file(mac, &name, [place, other], "its model does not read it");
        }
        let mut ours = BTreeSet::new();
        let mut n_written = 0;
        let mut failed = false;
        for (name, contents) in &files {
            match self
                .writer
                .write_in(place, name, contents, &mut self.state.written)
            {
                Ok(WriteOutcome::Written) => {
                    n_written += 1;
                    ours.insert(name.clone());
                    self.slice_written.push(place.key(name));
                }
                Ok(WriteOutcome::Unchanged) => {
                    ours.insert(name.clone());
                }
                Ok(WriteOutcome::KeptForeign) => self.totals.n_kept += 1,
                Err(err) => {
                    failed = true;
                    self.totals.n_write_errors += 1;
                    error!(%mac, file = %name, %err, "cannot write phone file; will retry");
                }
            }
        }
        self.totals.n_written += n_written;
        // The copy at the other place (`tftp_unique_root` switched) goes: a file left in the
        // root would still be served to any host.
        for name in &ours {
            if let Ok(true) = self.writer.remove_in(other, name, &mut self.state.written) {
                info!(%mac, file = %other.key(name), "moved a phone's file (tftp_unique_root)");
            }
        }
        if !failed {
            failed |= !self.place_phone_dir(mac);
        }
        if failed {
            self.failed.insert(mac);
        }
        let now = now();
        if n_written > 0 {
            let names: Vec<&str> = ours.iter().map(String::as_str).collect();
            info!(%mac, extension, files = ?names, "phone provisioned");
            self.engine.files_written(mac, ours.into(), true, now);
        } else {
            self.engine.files_written(mac, ours.into(), false, now);
        }
    }

    /// Removes a file of `mac` we wrote, wherever it is among `places`, saying `why`.
    fn remove_phone_file(&mut self, mac: Mac, name: &str, places: [Place; 2], why: &str) {
        for at in places {
            match self.writer.remove_in(at, name, &mut self.state.written) {
                Ok(true) => info!(%mac, file = %at.key(name), why, "removed a phone's file"),
                Ok(false) => {}
                Err(err) => {
                    warn!(%mac, file = %at.key(name), why, %err, "cannot remove a phone's file")
                }
            }
        }
    }

    /// Keeps `mac`'s directory in step with `tftp_unique_root`: with it, the directory links
    /// every shared name of the root (dnsmasq serves that phone nothing else); without it,
    /// the directory goes. Returns false when that failed (retried with the phone's files).
    fn place_phone_dir(&mut self, mac: Mac) -> bool {
        if !self.config.tftp_unique_root {
            return match self.writer.remove_phone_dir(mac, &mut self.state.written) {
                Ok(_) => true,
                Err(err) => {
                    warn!(%mac, %err, "cannot remove a phone's directory");
                    false
                }
            };
        }
        if self.links.is_none() {
            match self.writer.link_names() {
                Ok(names) => self.links = Some(names),
                Err(err) => {
                    error!(root = %self.config.tftp_root.display(), %err, "cannot list the tftp root for a phone's links; will retry");
                    return false;
                }
            }
        }
        let wanted = self.links.as_deref().unwrap_or_default();
        match self.writer.sync_links(mac, wanted) {
            Ok((made, removed)) => {
                if made + removed > 0 {
                    debug!(%mac, made, removed, "phone directory links updated");
                }
                true
            }
            Err(err) => {
                error!(%mac, %err, "cannot link the shared files into a phone's directory; will retry");
                false
            }
        }
    }

    /// The root's names changed (firmware, shared files): with `tftp_unique_root`, every
    /// provisioned phone's directory links are brought in step.
    pub fn relink_all(&mut self) {
        self.links = None;
        if !self.config.tftp_unique_root {
            return;
        }
        let macs = self.provisioned_macs();
        for mac in macs {
            if !self.place_phone_dir(mac) {
                self.failed.insert(mac);
            }
        }
    }
}

/// Distinct recent events remembered to recognise one reported by several sources: a few
/// thousand phones booting at once, each with a lease and a handful of requests in the
/// window ([`crate::detect::dedup::WINDOW_S`]).
pub const DEDUP_KEYS: usize = 8192;

/// Where this program is, for the hook lines of the snippets.
pub fn own_binary() -> String {
    std::env::current_exe()
        .ok()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|| crate::snippets::DEFAULT_BINARY.to_string())
}

/// At most one `[dhcp] reload_command` per this interval: a storm of reservations restarts
/// the DHCP server once per interval, not once per phone.
pub const DHCP_RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// The site values every file carries.
fn site(config: &Config) -> Site<'_> {
    let clock = config
        .provision
        .clock
        .clone()
        .unwrap_or_else(|| crate::timezone::resolve("UTC").expect("UTC is in the table"));
    Site {
        pbx_host: &config.pbx.host,
        pbx_port: config.pbx.port,
        voicemail: &config.pbx.voicemail,
        ntp_server: config
            .provision
            .ntp_server
            .as_deref()
            .unwrap_or(&config.pbx.host),
        time_zone: clock.xml_zone,
        time_zone_7940: clock.sip_zone,
        clock_7940: clock.sipdefault_lines(),
        tftp_server: config.tftp_server.map(|ip| ip.to_string()),
        network_locale: network_locale_in_root(config),
    }
}

/// The configured network locale when its tones are in the TFTP root (Cisco's locale
/// installer puts them in a directory of that name), else the firmware's built-in one, as
/// usecallmanager.nz advises without the locale files (`check` names the missing directory).
pub fn network_locale_in_root(config: &Config) -> &'static str {
    let locale = config.provision.network_locale;
    if locale == crate::locale::DEFAULT_NETWORK_LOCALE || config.tftp_root.join(locale).is_dir() {
        locale
    } else {
        crate::locale::DEFAULT_NETWORK_LOCALE
    }
}

/// How a rejection is named in the log.
fn rejection_name(rejection: crate::detect::Rejection) -> &'static str {
    match rejection {
        crate::detect::Rejection::RateLimited => "over max_new_per_minute",
        crate::detect::Rejection::ConflictingClaim => "addresses claiming a second mac",
        crate::detect::Rejection::PendingFull => "over max_pending",
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provisioner on `text` (a config whose paths are relative to a fresh temporary
    /// directory, which holds `tftp/`); the directory lives as long as the returned guard.
    fn provisioner(text: &str) -> (tempfile::TempDir, Provisioner) {
        let dir = tempfile::tempdir().unwrap();
        let provisioner = provisioner_in(dir.path(), text);
        (dir, provisioner)
    }

    /// [`provisioner`] in a directory the caller prepared.
    fn provisioner_in(dir: &std::path::Path, text: &str) -> Provisioner {
        let config = crate::config::parse(text, "config.toml", dir).unwrap();
        std::fs::create_dir(dir.join("tftp")).unwrap();
        let store = StateStore::open(&dir.join("state")).unwrap();
        let templates = Templates::with_overrides(&[]).unwrap();
        Provisioner::new(config, templates, store, State::default())
    }

    #[test]
    fn secrets_are_random_and_fit_the_phones() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), SECRET_LEN);
        assert!(a.len() <= crate::config::MAX_FIELD_LEN);
        assert!(a.bytes().all(|c| SECRET_ALPHABET.contains(&c)));
    }

    /// With a write budget, a burst is written a slice at a time (at least one phone per
    /// slice), oldest first, and its extensions are saved before any file is written.
    #[test]
    fn bursts_are_written_in_slices() {
        let text = "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nhost = \"198.18.0.10\"\n\
                    [provision]\nextensions = \"2000-2999\"\n";
        let (dir, mut provisioner) = provisioner(text);
        provisioner.set_write_budget(std::time::Duration::ZERO);
        let lease = |n: u8| {
            Observation::Lease(crate::event::LeaseSeen {
                mac: Mac::from_bytes([0x00, 0x1b, 0x0c, 0x18, 0xbd, n]),
                ip: std::net::Ipv4Addr::new(198, 18, 0, n),
                hostname: Some(format!("SEP001B0C18BD{n:02X}")),
                vendor_class: Some("Cisco Systems, Inc. IP Phone CP-7941G".to_string()),
                time: 1,
            })
        };
        provisioner.observe(&[lease(1), lease(2), lease(3)]);
        let written = |n: u8| {
            dir.path()
                .join(format!("tftp/SEP001B0C18BD{n:02X}.cnf.xml"))
                .exists()
        };
        assert_eq!((written(1), written(2), written(3)), (true, false, false));
        let saved = crate::state::read(&dir.path().join("state")).unwrap();
        assert_eq!(saved.phones.len(), 3, "assignments saved before the files");
        assert!(saved.phones.iter().all(|phone| phone.extension.is_some()));
        provisioner.write_queued();
        assert_eq!((written(2), written(3)), (true, false));
        provisioner.write_queued();
        assert!(written(3) && !provisioner.has_queued_writes());
    }

    /// What the phone's file says and what its endpoint says agree, per family: a 7965
    /// (vendor class) on TCP with the contact rewritten to its connection, a 7940 on UDP
    /// answered at its `Via` port. Two new phones, one reload. The include keeps the group
    /// the admin gave it (field-evidence.md §2: a rewrite that drops it breaks pjsip.conf).
    #[test]
    fn phone_file_and_endpoint_agree_and_one_reload_follows() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let reloads = dir.path().join("reloads");
        let text = format!(
            "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nhost = \"198.18.0.10\"\n\
             pjsip_snippet = \"pjsip.cisco-autoprov.conf\"\nreload_interval_s = 60\n\
             reload_command = [\"sh\", \"-c\", \"echo reload >> {}\"]\n\
             [provision]\nextensions = \"2000-2999\"\n",
            reloads.display()
        );
        let include = dir.path().join("pjsip.cisco-autoprov.conf");
        std::fs::write(&include, "").unwrap();
        std::fs::set_permissions(
            &include,
            std::os::unix::fs::PermissionsExt::from_mode(0o660),
        )
        .unwrap();
        let mut provisioner = provisioner_in(dir.path(), &text);
        let lease = |n: u8, model: &str| {
            Observation::Lease(crate::event::LeaseSeen {
                mac: Mac::from_bytes([0x00, 0x1b, 0x0c, 0x18, 0xbd, n]),
                ip: std::net::Ipv4Addr::new(198, 18, 0, n),
                hostname: Some(format!("SEP001B0C18BD{n:02X}")),
                vendor_class: Some(format!("Cisco Systems, Inc. IP Phone CP-{model}G")),
                time: 1,
            })
        };
        provisioner.observe(&[lease(1, "7965"), lease(2, "7940")]);
        provisioner.write_pbx_files();
        let text = std::fs::read_to_string(&include).unwrap();
        let endpoint = |ext: &str| {
            let start = text.find(&format!("[{ext}]\ntype=endpoint\n")).unwrap();
            text[start..].split("\n\n").next().unwrap().to_string()
        };
        let sep = std::fs::read_to_string(dir.path().join("tftp/SEP001B0C18BD01.cnf.xml")).unwrap();
        assert!(sep.contains("<transportLayerProtocol>1</transportLayerProtocol>"));
        assert!(sep.contains("<name>2000</name>"));
        let tcp = endpoint("2000");
        assert!(tcp.contains("transport=transport-tcp\n"), "{tcp}");
        assert!(
            tcp.contains("force_rport=no\nrewrite_contact=yes\n"),
            "{tcp}"
        );
        assert!(dir.path().join("tftp/SIP001B0C18BD02.cnf").exists());
        let udp = endpoint("2001");
        assert!(udp.contains("transport=transport-udp\n"), "{udp}");
        assert!(
            udp.contains("force_rport=no\nrewrite_contact=no\n"),
            "{udp}"
        );
        assert!(udp.contains("mailboxes=2001@default\n"), "{udp}");
        let meta = std::fs::metadata(&include).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o660, "the admin's mode is kept");
        // The reload runs once for both phones (the first change starts it at once).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_to_string(&reloads)
            .unwrap_or_default()
            .is_empty()
        {
            assert!(std::time::Instant::now() < deadline, "no reload");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        while provisioner.pbx_reload.is_busy() && provisioner.pbx_reload.n_runs == 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "reload never finished"
            );
            provisioner.poll_reloads();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(std::fs::read_to_string(&reloads).unwrap(), "reload\n");
        assert_eq!(provisioner.pbx_reload.n_runs, 1);
    }

    /// `[pbx] group` gives both PBX files to the PBX's group (FreePBX runs as `asterisk` and
    /// must read the CSV too, so with a group it is 0640). Needs root to give a group we are
    /// not in: CI runs it as root, elsewhere it checks nothing.
    #[test]
    fn pbx_group_is_given_to_both_files() {
        use std::os::unix::fs::MetadataExt;
        if crate::fsutil::effective_uid() != Some(0) {
            eprintln!("skipping pbx_group_is_given_to_both_files: needs root to chgrp");
            return;
        }
        let text = "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nhost = \"198.18.0.10\"\n\
                    pjsip_snippet = \"pjsip.conf\"\nfreepbx_csv = \"import.csv\"\ngroup = \"64990\"\n\
                    [provision]\nextensions = \"2000-2999\"\n";
        let (dir, mut provisioner) = provisioner(text);
        provisioner.write_pbx_files();
        for (name, mode) in [("pjsip.conf", 0o640), ("import.csv", 0o640)] {
            let meta = std::fs::metadata(dir.path().join(name)).unwrap();
            assert_eq!((meta.gid(), meta.mode() & 0o777), (64990, mode), "{name}");
        }
    }

    /// A phone's other lines reach the PBX with the secrets generated for them (a line whose
    /// secret the admin gave is the PBX's already), and its file carries them.
    #[test]
    fn extra_lines_reach_the_pbx() {
        let text = "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nhost = \"198.18.0.10\"\n\
                    pjsip_snippet = \"pjsip.conf\"\n[provision]\nextensions = \"2000-2999\"\n\
                    [[phone]]\nmac = \"00:1b:0c:18:bd:c1\"\nextension = \"1006\"\nsecret = \"given-1\"\n\
                    lines = [{ extension = \"1007\" }, { extension = \"1008\", secret = \"given-3\" }]\n";
        let (dir, mut provisioner) = provisioner(text);
        provisioner.observe(&[Observation::Lease(crate::event::LeaseSeen {
            mac: Mac::from_bytes([0x00, 0x1b, 0x0c, 0x18, 0xbd, 0xc1]),
            ip: std::net::Ipv4Addr::new(198, 18, 0, 151),
            hostname: Some("SEP001B0C18BDC1".into()),
            vendor_class: Some("Cisco Systems, Inc. IP Phone CP-7965G".into()),
            time: 1,
        })]);
        provisioner.write_queued();
        provisioner.write_pbx_files();
        let include = std::fs::read_to_string(dir.path().join("pjsip.conf")).unwrap();
        let secret = provisioner.engine().phones().values().next().unwrap().lines[0]
            .secret
            .clone();
        assert!(
            include.contains(&format!(
                "[1007]\ntype=auth\nusername=1007\npassword={secret}\n"
            )),
            "{include}"
        );
        assert!(
            !include.contains("[1006]") && !include.contains("[1008]"),
            "given secrets are the pbx's: {include}"
        );
        let sep = std::fs::read_to_string(dir.path().join("tftp/SEP001B0C18BDC1.cnf.xml")).unwrap();
        assert!(sep.contains(&format!("<authPassword>{secret}</authPassword>")));
        assert!(sep.contains("<authPassword>given-3</authPassword>"));
    }

    /// Reservations follow leases only: a phone known from TFTP requests alone gets no
    /// `dhcp-host` line, and a request from another, unleased address does not move one
    /// (field-evidence.md §4: each such request re-pointed the line and restarted dnsmasq).
    #[test]
    fn reservations_follow_leases_not_tftp_requests() {
        let (dir, mut provisioner) = provisioner(
            "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nhost = \"198.18.0.10\"\n\
             freepbx_csv = \"import.csv\"\n[dhcp]\ntftp_server = \"198.18.0.1\"\n\
             dnsmasq_snippet = \"dnsmasq.conf\"\nreservations = true\n\
             [provision]\nextensions = \"2000-2999\"\n",
        );
        let tftp = |ip: [u8; 4], mac: &str| {
            Observation::Tftp(crate::event::TftpSeen {
                ip: std::net::Ipv4Addr::from(ip),
                file: format!("SEP{mac}.cnf.xml"),
                outcome: crate::event::TftpOutcome::NotFound,
                time: 1,
            })
        };
        provisioner.observe(&[Observation::Lease(crate::event::LeaseSeen {
            mac: Mac::from_bytes([0x00, 0x1b, 0x0c, 0x18, 0xbd, 0xc1]),
            ip: std::net::Ipv4Addr::new(198, 18, 0, 151),
            hostname: Some("SEP001B0C18BDC1".into()),
            vendor_class: None,
            time: 1,
        })]);
        provisioner.observe(&[tftp([198, 18, 0, 42], "001B0C18BDC2")]);
        provisioner.write_queued();
        provisioner.write_snippets();
        let snippet = std::fs::read_to_string(dir.path().join("dnsmasq.conf")).unwrap();
        assert!(
            snippet.contains("dhcp-host=00:1b:0c:18:bd:c1,set:ciscophone,198.18.0.151"),
            "{snippet}"
        );
        assert!(
            !snippet.contains("00:1b:0c:18:bd:c2"),
            "tftp-only: no reservation\n{snippet}"
        );
        // The leased phone's config asked for from an unleased address: nothing moves.
        provisioner.observe(&[tftp([198, 18, 0, 77], "001B0C18BDC1")]);
        provisioner.write_snippets();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("dnsmasq.conf")).unwrap(),
            snippet
        );
    }
}
