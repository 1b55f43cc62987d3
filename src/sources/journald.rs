//! `journal` sources: entries of `journalctl --output=json`, accepted only from the
//! configured senders.
//!
//! A syslog file or `logread` carries only the tag a sender chose: `logger -t dnsmasq-dhcp`
//! run by any local user writes a line no reader can tell from dnsmasq's
//! (field-evidence.md §4). journald records who sent each entry: `_COMM` (the process name)
//! and `_UID` (from the socket's credentials), which no client can set. An entry is
//! interpreted only when its `_COMM` is one of the source's `programs` and, when `users` is
//! set, its `_UID` one of theirs; `_COMM` alone can be forged by a program that renames
//! itself, the uid cannot. Every other entry that would have been evidence is counted and
//! logged (warn for the first [`MAX_WARNED_REJECTIONS`], debug afterwards) and never becomes
//! an observation. An accepted entry's `MESSAGE` is read like a log line of the program
//! named by `SYSLOG_IDENTIFIER` (`dnsmasq-dhcp`, `in.tftpd`), at `__REALTIME_TIMESTAMP`.
//!
//! The command runs like a `command` source (`command.rs`); this is the reader of its lines.

use tracing::{debug, warn};

use super::{might_be_ours, LineReader};
use crate::config;
use crate::event::Observation;
use crate::parse::journal_json::{self, JournalRecord};
use crate::parse::tftp_log;

/// Entries from other senders logged at warn per source before the rest go to debug.
const MAX_WARNED_REJECTIONS: u64 = 10;

/// Why an entry's sender is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `_COMM` missing or not one of `programs`.
    Program,
    /// `users` is set and `_UID` is missing or not one of theirs.
    User,
}

impl Rejection {
    fn as_str(self) -> &'static str {
        match self {
            Rejection::Program => "program not in programs",
            Rejection::User => "user not in users",
        }
    }
}

/// Who may write the entries a source reads (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Senders {
    /// Accepted `_COMM` values.
    pub programs: Vec<String>,
    /// Accepted `_UID`s; `None` = any user.
    pub uids: Option<Vec<u32>>,
}

impl Senders {
    /// The senders a `journal` source accepts. `users` given but none resolved: nobody.
    pub fn of(config: &config::Source) -> Senders {
        Senders {
            programs: config.programs.clone(),
            uids: (!config.users.is_empty()).then(|| config.uids.clone()),
        }
    }

    /// Whether the entry's sender is accepted.
    pub fn check(&self, record: &JournalRecord) -> Result<(), Rejection> {
        let program_ok = record
            .comm
            .as_ref()
            .is_some_and(|comm| self.programs.contains(comm));
        if !program_ok {
            return Err(Rejection::Program);
        }
        match (&self.uids, record.uid) {
            (None, _) => Ok(()),
            (Some(uids), Some(uid)) if uids.contains(&uid) => Ok(()),
            (Some(_), _) => Err(Rejection::User),
        }
    }
}

/// Reads the lines of one `journal` source.
#[derive(Debug)]
pub struct JournalReader {
    lines: LineReader,
    senders: Senders,
    /// Entries that would have been evidence, from senders not accepted.
    n_rejected: u64,
}

impl JournalReader {
    /// The reader of the `journal` source `config`.
    pub fn new(config: &config::Source) -> JournalReader {
        JournalReader {
            lines: LineReader::new(config.label()),
            senders: Senders::of(config),
            n_rejected: 0,
        }
    }

    /// Entries skipped so far because of their sender.
    pub fn n_rejected(&self) -> u64 {
        self.n_rejected
    }

    /// Interprets one line of the command's output; observations go to `out`. Returns false
    /// for a line that is not a journal entry or whose message did not parse.
    pub fn line(
        &mut self,
        bytes: &[u8],
        context: &tftp_log::Context<'_>,
        out: &mut Vec<Observation>,
    ) -> bool {
        // Every tag we read contains `tftp` or `dhcp`, and journalctl writes a UTF-8
        // SYSLOG_IDENTIFIER as it is: an entry without either is nobody's evidence.
        if !might_be_ours(bytes) {
            return true;
        }
        let record = match journal_json::parse_line(bytes) {
            Ok(record) => record,
            Err(reason) => {
                self.lines.bad_line(&reason);
                return false;
            }
        };
        let Some(tag) = record.identifier.as_deref() else {
            return true;
        };
        match self.senders.check(&record) {
            Ok(()) => self
                .lines
                .message(tag, &record.message, record.time, context, out),
            Err(rejection) => {
                let evidence = tftp_log::parse_message(tag, &record.message, record.time, context);
                if !matches!(evidence, Ok(None)) {
                    self.n_rejected += 1;
                    self.report(&record, rejection);
                }
                true
            }
        }
    }

    fn report(&self, record: &JournalRecord, rejection: Rejection) {
        let source = self.lines.label();
        let comm = record.comm.as_deref().unwrap_or("");
        let identifier = record.identifier.as_deref().unwrap_or("");
        let (uid, pid) = (record.uid, record.pid);
        let (reason, n_rejected) = (rejection.as_str(), self.n_rejected);
        if n_rejected <= MAX_WARNED_REJECTIONS {
            warn!(
                source,
                comm,
                uid,
                pid,
                identifier,
                reason,
                n_rejected,
                "journal line from another sender skipped"
            );
            if n_rejected == MAX_WARNED_REJECTIONS {
                warn!(
                    source,
                    "more journal lines from other senders follow; they are counted and logged at debug level"
                );
            }
        } else {
            debug!(
                source,
                comm,
                uid,
                pid,
                identifier,
                reason,
                n_rejected,
                "journal line from another sender skipped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Source, SourceKind};

    fn journal(programs: &[&str], users: &[&str], uids: &[u32]) -> Source {
        Source {
            programs: programs.iter().map(|p| p.to_string()).collect(),
            users: users.iter().map(|u| u.to_string()).collect(),
            uids: uids.to_vec(),
            command: vec!["journalctl".into()],
            ..Source::file(SourceKind::Journal, "")
        }
    }

    /// The captured entries through a reader: the real dnsmasq (uid 999) gives its lease
    /// and TFTP outcomes; the renamed `logger` (`_COMM=dnsmasq`, uid 65534) is turned away by
    /// `users`, plain `logger` by `programs`.
    #[test]
    fn only_configured_senders_give_observations() {
        let text = crate::parse::testing::read("tests/data/logs/journald", "journal-json.txt");
        let roots = ["/tmp/jx/tftp".to_string()];
        let context = tftp_log::Context {
            now: 0,
            tftp_roots: &roots,
            ..Default::default()
        };
        let run = |source: &Source| {
            let mut reader = JournalReader::new(source);
            let mut out = Vec::new();
            for line in text.lines() {
                reader.line(line.as_bytes(), &context, &mut out);
            }
            let seen: Vec<String> = out
                .iter()
                .map(|observation| match observation {
                    Observation::Lease(lease) => format!("lease {} {}", lease.mac, lease.time),
                    Observation::Tftp(tftp) => format!("tftp {} {}", tftp.file, tftp.time),
                    other => format!("{other:?}"),
                })
                .collect();
            (seen, reader.n_rejected())
        };
        let genuine = [
            "lease 001B54123456 1796383388",
            "tftp XMLDefault.cnf.xml 1796383388",
            "tftp SEP001B54123456.cnf.xml 1796383388",
        ];
        // The last two lines repeat the ACK and `sent` (the default command's fields).
        let twice: Vec<&str> = genuine.iter().chain(&genuine[..2]).copied().collect();

        // Programs only: the renamed logger passes as dnsmasq. This is why `users` exists.
        let (seen, n_rejected) = run(&journal(&["dnsmasq"], &[], &[]));
        assert!(
            seen.contains(&"lease 001B54AABBCD 1796383395".to_string()),
            "{seen:?}"
        );
        assert!(!seen.iter().any(|s| s.contains("001B54AABBCC")), "{seen:?}");
        assert_eq!(
            n_rejected, 2,
            "plain logger's ACK and its undecodable `sent`"
        );

        let (seen, n_rejected) = run(&journal(&["dnsmasq"], &["dnsmasq"], &[999]));
        assert_eq!(seen, twice);
        assert_eq!(n_rejected, 3);

        // A user name that was never resolved lets nobody in.
        let (seen, n_rejected) = run(&journal(&["dnsmasq"], &["dnsmasq"], &[]));
        assert!(seen.is_empty(), "{seen:?}");
        assert_eq!(n_rejected, 8);
    }

    #[test]
    fn sender_checks() {
        let record = |comm: Option<&str>, uid: Option<u32>| JournalRecord {
            time: 0,
            comm: comm.map(String::from),
            uid,
            pid: None,
            identifier: Some("dnsmasq-dhcp".into()),
            hostname: None,
            message: String::new(),
        };
        let any_user = Senders::of(&journal(&["dnsmasq", "in.tftpd"], &[], &[]));
        assert_eq!(any_user.check(&record(Some("in.tftpd"), None)), Ok(()));
        assert_eq!(
            any_user.check(&record(Some("logger"), Some(0))),
            Err(Rejection::Program)
        );
        assert_eq!(
            any_user.check(&record(None, Some(0))),
            Err(Rejection::Program)
        );
        let root = Senders::of(&journal(&["dnsmasq"], &["0"], &[0]));
        assert_eq!(root.check(&record(Some("dnsmasq"), Some(0))), Ok(()));
        assert_eq!(
            root.check(&record(Some("dnsmasq"), Some(65534))),
            Err(Rejection::User)
        );
        assert_eq!(
            root.check(&record(Some("dnsmasq"), None)),
            Err(Rejection::User)
        );
    }
}
