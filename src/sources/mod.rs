//! Sources: the files cisco-autoprov reads, turned into observations.
//!
//! A source is a lease file (a snapshot, re-read whole), a log (tailed) or a command whose
//! output is a log (`command.rs`). Reading a file source is synchronous and cheap; the daemon
//! calls [`Source::read`] when inotify says its file changed, `scan` calls it once.

pub mod command;
pub mod journal;
pub mod journald;
pub mod leases;
pub mod tail;
pub mod watch;

use std::collections::VecDeque;
use std::io;
use std::path::Path;

use tracing::{debug, warn};

use crate::config::{self, SourceKind};
use crate::event::Observation;
use crate::parse::tftp_log::{self, LogRecord};
use crate::state::Position;
use journal::{IscJournal, KeaJournal};
use leases::{LeaseSnapshot, SnapshotFormat};
use tail::{StartAt, Tail};

/// Bad lines logged at warn per source before the rest go to debug (all are counted).
const MAX_WARNED_LINES: u64 = 10;
/// dnsmasq `--log-dhcp` vendor classes kept until their DHCPACK line comes.
const MAX_PENDING_VENDOR_CLASSES: usize = 64;

/// What one read of a source produced besides observations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Lines read (logs) or leases parsed (lease files).
    pub n_lines: u64,
    /// Lines that looked like ours but did not parse.
    pub n_bad_lines: u64,
}

#[derive(Debug)]
enum Reader {
    Snapshot(LeaseSnapshot),
    Isc(IscJournal),
    Kea(KeaJournal),
    Log(Tail),
}

/// Turns log lines into observations for one log (a file or a command's output), keeping
/// what spans lines: the `--log-dhcp` vendor classes waiting for their DHCPACK, and counts
/// for rate-limited warnings.
#[derive(Debug)]
pub struct LineReader {
    /// Names the log in warnings.
    label: String,
    /// Bad lines seen so far, for rate-limiting warnings.
    n_bad_lines: u64,
    /// Lines read since this process started reading the log: bad lines are reported by
    /// this number (a resumed log's first line is not the file's first line).
    n_lines_read: u64,
    /// Vendor classes from dnsmasq's `<xid> vendor class: …` lines, waiting for the DHCPACK
    /// of the same transaction (it comes a few lines later), newest last.
    vendor_classes: VecDeque<(u32, String)>,
}

impl LineReader {
    /// A reader for the log named `label` in warnings.
    pub fn new(label: String) -> LineReader {
        LineReader {
            label,
            n_bad_lines: 0,
            n_lines_read: 0,
            vendor_classes: VecDeque::new(),
        }
    }

    /// Interprets one line (without its newline); observations go to `out`. Returns false
    /// for a line that looked like ours but did not parse.
    pub fn line(
        &mut self,
        bytes: &[u8],
        context: &tftp_log::Context<'_>,
        out: &mut Vec<Observation>,
    ) -> bool {
        self.n_lines_read += 1;
        if !might_be_ours(bytes) {
            return true;
        }
        let line = String::from_utf8_lossy(bytes);
        self.record(tftp_log::parse_line(&line, context), out)
    }

    /// Interprets a message whose program (`tag`, e.g. `dnsmasq-dhcp`) and time (Unix
    /// seconds) are known: a journal entry's. Returns false like [`LineReader::line`].
    pub fn message(
        &mut self,
        tag: &str,
        message: &str,
        time: i64,
        context: &tftp_log::Context<'_>,
        out: &mut Vec<Observation>,
    ) -> bool {
        self.n_lines_read += 1;
        self.record(tftp_log::parse_message(tag, message, time, context), out)
    }

    /// Counts and reports a line that could not be read at all (a journal entry that is not
    /// JSON).
    pub fn bad_line(&mut self, reason: &str) {
        self.n_lines_read += 1;
        self.n_bad_lines += 1;
        report_bad_line(&self.label, self.n_lines_read, reason, self.n_bad_lines);
    }

    /// The name of the log in warnings.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn record(
        &mut self,
        parsed: Result<Option<LogRecord>, String>,
        out: &mut Vec<Observation>,
    ) -> bool {
        match parsed {
            Ok(Some(record)) => {
                if let Some(observation) = observation_of(record, &mut self.vendor_classes) {
                    debug!(?observation, "log line");
                    out.push(observation);
                }
                true
            }
            Ok(None) => true,
            Err(reason) => {
                self.n_bad_lines += 1;
                report_bad_line(&self.label, self.n_lines_read, &reason, self.n_bad_lines);
                false
            }
        }
    }
}

/// The reader of a command source's lines: log text, or journal entries (`journal`).
#[derive(Debug)]
pub enum CommandReader {
    /// A `command` source: each line is a log line.
    Text(LineReader),
    /// A `journal` source: each line is a journal entry, checked for its sender.
    Journal(journald::JournalReader),
}

impl CommandReader {
    /// The reader for the command source `config`.
    pub fn new(config: &config::Source) -> CommandReader {
        match config.kind {
            SourceKind::Journal => CommandReader::Journal(journald::JournalReader::new(config)),
            _ => CommandReader::Text(LineReader::new(config.label())),
        }
    }

    /// Interprets one line of output; see [`LineReader::line`].
    pub fn line(
        &mut self,
        bytes: &[u8],
        context: &tftp_log::Context<'_>,
        out: &mut Vec<Observation>,
    ) -> bool {
        match self {
            CommandReader::Text(reader) => reader.line(bytes, context, out),
            CommandReader::Journal(reader) => reader.line(bytes, context, out),
        }
    }
}

/// False for a line no parser can want: every tag `tftp_log::parse_line` knows
/// (`dnsmasq-tftp`, `dnsmasq-dhcp`, `in.tftpd`, `tftpd`, `atftpd`, `dhcpd`, `kea-dhcp4*`)
/// contains `tftp` or `dhcp`. The other 99 % of a busy syslog are not even decoded.
pub fn might_be_ours(line: &[u8]) -> bool {
    memchr::memmem::find(line, b"tftp").is_some() || memchr::memmem::find(line, b"dhcp").is_some()
}

/// One configured file source and its reading state.
#[derive(Debug)]
pub struct Source {
    kind: SourceKind,
    reader: Reader,
    lines: LineReader,
    /// A log's `path.1`: a rotation renames the log there, and the server writes on into
    /// it until it reopens its log.
    rotated: Option<std::path::PathBuf>,
}

impl Source {
    /// A source for a file `[[source]]` entry. `start` applies to logs.
    pub fn new(config: &config::Source, start: StartAt) -> Source {
        let reader = match config.kind {
            SourceKind::DnsmasqLeases => {
                Reader::Snapshot(LeaseSnapshot::new(&config.path, SnapshotFormat::Dnsmasq))
            }
            SourceKind::Odhcpd => {
                Reader::Snapshot(LeaseSnapshot::new(&config.path, SnapshotFormat::Odhcpd))
            }
            SourceKind::IscLeases => Reader::Isc(IscJournal::new(&config.path)),
            SourceKind::KeaLeases => Reader::Kea(KeaJournal::new(&config.path)),
            SourceKind::Log | SourceKind::Command | SourceKind::Journal => {
                Reader::Log(Tail::new(&config.path, start))
            }
        };
        let rotated = match &reader {
            Reader::Log(tail) => Some(tail.rotated_path()),
            _ => None,
        };
        Source {
            kind: config.kind,
            reader,
            lines: LineReader::new(config.path.display().to_string()),
            rotated,
        }
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        match &self.reader {
            Reader::Snapshot(snapshot) => snapshot.path(),
            Reader::Isc(journal) => journal.path(),
            Reader::Kea(journal) => journal.path(),
            Reader::Log(tail) => tail.path(),
        }
    }

    /// Another file in the same directory whose changes concern this source: Kea's `.2`, a
    /// log's `.1` (renamed away, still written to before the new file exists: read at once
    /// through the open descriptor, not when the new file appears).
    pub fn companion_path(&self) -> Option<&Path> {
        match &self.reader {
            Reader::Kea(journal) => Some(journal.compacted_path()),
            Reader::Log(_) => self.rotated.as_deref(),
            _ => None,
        }
    }

    /// What kind of source this is.
    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    /// The read position to persist (logs only).
    pub fn position(&self) -> Option<Position> {
        match &self.reader {
            Reader::Log(tail) => tail.position(),
            _ => None,
        }
    }

    /// Reads what is new and appends the observations to `out`. The context's `now` (Unix
    /// seconds) stamps lines without a time, its zone reads stamps without an offset, its
    /// `tftp_roots` are stripped from dnsmasq's absolute paths.
    pub fn read(
        &mut self,
        context: &tftp_log::Context<'_>,
        out: &mut Vec<Observation>,
    ) -> io::Result<ReadStats> {
        let now = context.now;
        let mut stats = ReadStats::default();
        let lease_read = match &mut self.reader {
            Reader::Snapshot(snapshot) => Some(snapshot.read(now)?),
            Reader::Isc(journal) => Some(journal.read(now)?),
            Reader::Kea(journal) => Some(journal.read(now)?),
            Reader::Log(_) => None,
        };
        match &mut self.reader {
            Reader::Snapshot(_) | Reader::Isc(_) | Reader::Kea(_) => {
                let (observations, errors) = lease_read.expect("read above");
                stats.n_lines = observations.len() as u64;
                for error in &errors {
                    self.lines.n_bad_lines += 1;
                    report_bad_line(
                        &self.lines.label,
                        error.line as u64,
                        &error.reason,
                        self.lines.n_bad_lines,
                    );
                }
                stats.n_bad_lines = errors.len() as u64;
                out.extend(observations);
            }
            Reader::Log(tail) => {
                let lines = &mut self.lines;
                tail.read(&mut |bytes| {
                    stats.n_lines += 1;
                    if !lines.line(bytes, context, out) {
                        stats.n_bad_lines += 1;
                    }
                })?;
            }
        }
        Ok(stats)
    }

    /// Leases missing from a snapshot for long enough, reported gone (see
    /// [`leases::SETTLE_S`]); nothing for other sources.
    pub fn settle(&mut self, now: i64) -> Vec<Observation> {
        match &mut self.reader {
            Reader::Snapshot(snapshot) => snapshot.settle(now),
            _ => Vec::new(),
        }
    }

    /// When [`Source::settle`] has something to report (Unix seconds), if anything waits.
    pub fn settle_at(&self) -> Option<i64> {
        match &self.reader {
            Reader::Snapshot(snapshot) => snapshot.settle_at(),
            _ => None,
        }
    }

    /// Lines dropped for exceeding the line-length limit (logs only).
    pub fn n_long_lines(&self) -> u64 {
        match &self.reader {
            Reader::Log(tail) => tail.n_long_lines(),
            _ => 0,
        }
    }
}

fn report_bad_line(label: &str, line: u64, reason: &str, n_so_far: u64) {
    if n_so_far <= MAX_WARNED_LINES {
        warn!(
            source = label,
            line, reason, "skipping a line that does not parse"
        );
        if n_so_far == MAX_WARNED_LINES {
            warn!(
                source = label,
                "more unparsable lines follow; they are counted and logged at debug level"
            );
        }
    } else {
        debug!(
            source = label,
            line, reason, "skipping a line that does not parse"
        );
    }
}

/// Turns a parsed log line into an observation, when it is one the engine uses. dnsmasq's
/// `--log-dhcp` vendor-class line is held back and joined to its DHCPACK by transaction id.
fn observation_of(
    record: LogRecord,
    vendor_classes: &mut VecDeque<(u32, String)>,
) -> Option<Observation> {
    match record {
        LogRecord::Tftp(request) => Some(Observation::Tftp(request)),
        LogRecord::DhcpAck { mut lease, xid } => {
            if let Some(xid) = xid {
                if let Some(index) = vendor_classes.iter().rposition(|(id, _)| *id == xid) {
                    lease.vendor_class = vendor_classes.remove(index).map(|(_, vc)| vc);
                }
            }
            Some(Observation::Lease(lease))
        }
        LogRecord::DhcpVendorClass { xid, vendor_class } => {
            vendor_classes.retain(|(id, _)| *id != xid);
            if vendor_classes.len() == MAX_PENDING_VENDOR_CLASSES {
                vendor_classes.pop_front();
            }
            vendor_classes.push_back((xid, vendor_class));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config;

    /// The pre-filter drops no line the parser wants, over every captured log.
    #[test]
    fn prefilter_keeps_every_line_of_ours() {
        let roots = ["/srv/tftp".to_string()];
        let context = tftp_log::Context {
            now: 1_795_250_000,
            tftp_roots: &roots,
            ..Default::default()
        };
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/logs");
        let (mut n_ours, mut n_dropped) = (0, 0);
        for server in std::fs::read_dir(dir).unwrap().flatten() {
            let Ok(files) = std::fs::read_dir(server.path()) else {
                continue;
            };
            for file in files.flatten() {
                let bytes = std::fs::read(file.path()).unwrap();
                for line in bytes.split(|&b| b == b'\n') {
                    let text = String::from_utf8_lossy(line);
                    let wanted = !matches!(tftp_log::parse_line(&text, &context), Ok(None));
                    n_ours += usize::from(wanted);
                    n_dropped += usize::from(!might_be_ours(line));
                    assert!(!wanted || might_be_ours(line), "{text}");
                }
            }
        }
        assert!(n_ours > 20 && n_dropped > 0, "{n_ours} {n_dropped}");
    }

    /// The captured `--log-dhcp` log: each DHCPACK gets the vendor class of its transaction.
    #[test]
    fn vendor_class_joins_its_ack() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnsmasq.log");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/logs/dnsmasq/dnsmasq.log.1"
            ),
            &path,
        )
        .unwrap();
        let config = config::Source::file(config::SourceKind::Log, path.clone());
        let mut source = Source::new(&config, StartAt::Beginning);
        let mut out = Vec::new();
        let roots = ["/srv/tftp".to_string()];
        let context = tftp_log::Context {
            tftp_roots: &roots,
            ..Default::default()
        };
        source.read(&context, &mut out).unwrap();
        let leases: Vec<(String, Option<String>)> = out
            .iter()
            .filter_map(|observation| match observation {
                Observation::Lease(lease) => {
                    Some((lease.mac.to_string(), lease.vendor_class.clone()))
                }
                _ => None,
            })
            .collect();
        let vc = |model: &str| Some(format!("Cisco Systems, Inc. IP Phone CP-{model}"));
        assert_eq!(leases[0], ("001B0C18BDC1".to_string(), vc("7941G")));
        assert_eq!(leases[1], ("001B0C18BDC2".to_string(), vc("7940G")));
        assert!(
            leases
                .iter()
                .all(|(_, vendor_class)| vendor_class.is_some()),
            "{leases:?}"
        );
        assert!(Path::new(&path).exists());
    }
}
