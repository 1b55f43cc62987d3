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

use std::collections::{BTreeSet, HashSet};

use tracing::{error, info, warn};

use crate::config::Config;
use crate::detect::{Action, Engine, Phone};
use crate::event::Observation;
use crate::mac::Mac;
use crate::render::{self, Line, Site};
use crate::state::{State, StateError, StateStore};
use crate::writer::{FileWriter, WriteOutcome};

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

/// Engine + writer + state store.
#[derive(Debug)]
pub struct Provisioner {
    config: Config,
    engine: Engine,
    writer: FileWriter,
    store: StateStore,
    state: State,
    /// Phones whose files could not be written; retried by [`Provisioner::retry`].
    failed: BTreeSet<Mac>,
    /// Warnings already given, so repeats do not flood the log.
    warned: HashSet<(Mac, &'static str)>,
    /// Phone records changed in memory since the last save (state, model, new phones).
    unsaved: bool,
    /// Running totals.
    pub totals: Totals,
}

impl Provisioner {
    /// Builds the provisioner from the loaded state and applies the config's inventory.
    pub fn new(config: Config, store: StateStore, mut state: State) -> Provisioner {
        let engine = Engine::new(std::mem::take(&mut state.phones));
        let mut provisioner = Provisioner {
            writer: FileWriter::new(&config.tftp_root),
            config,
            engine,
            store,
            state,
            failed: BTreeSet::new(),
            warned: HashSet::new(),
            unsaved: false,
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

    /// True when some phone's files still have to be written.
    pub fn has_failed_writes(&self) -> bool {
        !self.failed.is_empty()
    }

    /// Swaps in a new config (after SIGHUP) and applies its inventory.
    pub fn reload(&mut self, config: Config) {
        self.writer = FileWriter::new(&config.tftp_root);
        self.config = config;
        let actions = self.engine.apply_config(&self.config, &mut generate_secret);
        self.carry_out(actions);
        self.write_shared();
        self.rewrite_all();
    }

    /// Feeds observations and carries out what follows.
    pub fn observe(&mut self, observations: &[Observation]) {
        let mut actions = Vec::new();
        for observation in observations {
            actions.extend(
                self.engine
                    .observe(observation, &self.config, &mut generate_secret),
            );
        }
        self.carry_out(actions);
    }

    /// Writes the files every phone shares (`XMLDefault.cnf.xml`).
    pub fn write_shared(&mut self) {
        let site = site(&self.config);
        let contents = render::xml_default(&site, &[]);
        let name = render::XML_DEFAULT;
        match self.writer.write(name, &contents, &mut self.state.written) {
            Ok(WriteOutcome::Written) => {
                self.totals.n_written += 1;
                info!(file = name, "shared file written");
            }
            Ok(WriteOutcome::Unchanged) => {}
            Ok(WriteOutcome::KeptForeign) => self.totals.n_kept += 1,
            Err(err) => {
                self.totals.n_write_errors += 1;
                error!(file = name, %err, "cannot write shared file");
            }
        }
    }

    /// Re-renders every provisioned phone (start-up, reload): templates or site values may
    /// have changed. Unchanged files are not touched.
    pub fn rewrite_all(&mut self) {
        let macs: Vec<Mac> = self
            .engine
            .phones()
            .values()
            .filter(|phone| phone.is_provisioned())
            .map(|phone| phone.mac)
            .collect();
        self.write_phones(&macs);
    }

    /// Retries phones whose files could not be written.
    pub fn retry(&mut self) {
        let macs: Vec<Mac> = std::mem::take(&mut self.failed).into_iter().collect();
        self.write_phones(&macs);
    }

    /// Saves the state. Failure is logged: the daemon keeps running on what it has.
    pub fn save(&mut self) -> Result<(), StateError> {
        self.state.phones = self.engine.phones().values().cloned().collect();
        self.state.counters = self.engine.counters;
        let result = self.store.save(&self.state);
        self.state.phones.clear();
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
                    if self.warned.len() < 10_000 && self.warned.insert((named, "foreign")) {
                        warn!(requested_for = %named, %ip, ip_leased_to = %leased_to, "config request for a phone from an address leased to another device; ignored");
                    }
                }
            }
        }
        if to_write.is_empty() {
            return;
        }
        // Assignments reach the disk before any file that carries them.
        if self.save().is_err() {
            self.failed.extend(to_write);
            return;
        }
        self.write_phones(&to_write);
    }

    fn write_phones(&mut self, macs: &[Mac]) {
        if macs.is_empty() {
            return;
        }
        let site = site(&self.config);
        let now = now();
        for &mac in macs {
            let Some(phone) = self.engine.phone(mac) else {
                continue;
            };
            let Some(files) = render_phone(&site, phone) else {
                continue;
            };
            let mut ours = BTreeSet::new();
            let mut n_written = 0;
            let mut failed = false;
            for (name, contents) in &files {
                match self.writer.write(name, contents, &mut self.state.written) {
                    Ok(WriteOutcome::Written) => {
                        n_written += 1;
                        ours.insert(name.clone());
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
            if failed {
                self.failed.insert(mac);
            }
            if n_written > 0 {
                let extension = phone.extension.clone().unwrap_or_default();
                let names: Vec<&str> = ours.iter().map(String::as_str).collect();
                info!(%mac, extension, files = ?names, "phone provisioned");
                self.engine.files_written(mac, ours, true, now);
            } else {
                self.engine.files_written(mac, ours, false, now);
            }
        }
        let _ = self.save();
    }
}

/// The site values every file carries.
fn site(config: &Config) -> Site<'_> {
    Site {
        pbx_host: &config.pbx.host,
        pbx_port: config.pbx.port,
        voicemail: &config.pbx.voicemail,
        ntp_server: config
            .provision
            .ntp_server
            .as_deref()
            .unwrap_or(&config.pbx.host),
        time_zone: &config.provision.time_zone,
    }
}

/// The files of one provisioned phone: name → contents.
fn render_phone(site: &Site<'_>, phone: &Phone) -> Option<Vec<(String, String)>> {
    let line = Line {
        extension: phone.extension.as_deref()?,
        secret: phone.secret.as_deref()?,
        label: phone.label.as_deref(),
    };
    Some(vec![(
        render::sep_file_name(phone.mac),
        render::sep_cnf_xml(site, &line),
    )])
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

    #[test]
    fn secrets_are_random_and_fit_the_phones() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), SECRET_LEN);
        assert!(a.len() <= crate::config::MAX_FIELD_LEN);
        assert!(a.bytes().all(|c| SECRET_ALPHABET.contains(&c)));
    }
}
