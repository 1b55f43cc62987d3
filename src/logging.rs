//! The log sink: a `tracing` subscriber that writes one line per event to stderr (or, split,
//! info and debug to stdout).
//!
//! Line format, as `tracing-subscriber`'s default `fmt` without target:
//! `2026-11-21T10:02:42.123456Z  INFO phone provisioned mac=001B0C18BDC1 ext="101"`.
//! String fields are quoted, `%`-fields are written with `Display`, `?`-fields with `Debug`.
//! Each line carries one time and the right priority wherever it ends up:
//! - under systemd (`JOURNAL_STREAM` names the stream our stderr is), no time (journald
//!   stamps each line) and a `<N>` syslog priority prefix, which journald reads
//!   (`SyslogLevelPrefix=`, on by default): `<3>` error, `<4>` warn, `<6>` info, `<7>` debug;
//! - split (`run --log-split`, procd), no time (logd stamps each line): procd logs a
//!   service's stdout at `daemon.info` and its stderr at `daemon.err` (procd's
//!   `service/instance.c`, `instance_stdout`/`instance_stderr`), so info and debug go to
//!   stdout and warn and error to stderr. That is all procd can carry: a warning arrives as
//!   `daemon.err` and debug as `daemon.info`; the level word at the start of each line
//!   (`WARN`, `DEBUG`) tells them apart in `logread`.
//!
//! Hand-written rather than `tracing-subscriber`: the daemon has no spans, no per-module
//! filters and one output, and `fmt` with its registry weighed 35 KB of the router binary
//! for that. Callsites above the level are switched off once, at registration (no cost per
//! `debug!` on a busy log), and each line is written with one `write` so lines from the
//! daemon never interleave.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::metadata::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use crate::civil::civil_from_days;

/// Where lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Everything to stderr, each line stamped with UTC time.
    Stderr,
    /// info and debug to stdout, warn and error to stderr, no time.
    Split,
    /// Everything to stderr, no time, a `<N>` syslog priority prefix (journald).
    Journal,
}

/// True when stderr is connected to the journal: systemd sets `JOURNAL_STREAM` to the device
/// and inode (`8:12345`) of the stream it gives a service as stderr. A program started from
/// such a service with its stderr elsewhere (a shell's terminal, a file) inherits the variable,
/// hence the comparison with the descriptor itself.
pub fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|text| {
        let (dev, ino) = text.split_once(':')?;
        Some((dev.parse::<u64>().ok()?, ino.parse::<u64>().ok()?))
    }) else {
        return false;
    };
    let meta = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .and_then(|fd| std::fs::File::from(fd).metadata());
    meta.is_ok_and(|meta| meta.dev() == dev && meta.ino() == ino)
}

/// The syslog priority of a level, as journald reads it from a `<N>` prefix.
fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// Reads a level name (`error`, `warn`, `info`, `debug`, `trace`, any case); anything else
/// is `info`.
pub fn level(name: &str) -> Level {
    match name.to_ascii_lowercase().as_str() {
        "error" => Level::ERROR,
        "warn" => Level::WARN,
        "debug" => Level::DEBUG,
        "trace" => Level::TRACE,
        _ => Level::INFO,
    }
}

/// Installs the sink as the global default. A second call keeps the first.
pub fn init(max: Level, output: Output) {
    let _ = tracing::subscriber::set_global_default(Sink { max, output });
}

struct Sink {
    max: Level,
    output: Output,
}

impl Sink {
    fn on(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }
}

impl Subscriber for Sink {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.on(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.on(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // No spans are kept: every span is the same inert one.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let level = *event.metadata().level();
        let time = match self.output {
            Output::Stderr => Some(SystemTime::now()),
            Output::Split | Output::Journal => None,
        };
        let mut line = String::with_capacity(160);
        if self.output == Output::Journal {
            let _ = write!(line, "<{}>", priority(level));
        }
        format_line(&mut line, time, level, |visitor| event.record(visitor));
        let written = if self.output == Output::Split && level > Level::WARN {
            std::io::stdout().lock().write_all(line.as_bytes())
        } else {
            std::io::stderr().lock().write_all(line.as_bytes())
        };
        // Nowhere to report a failed log write; the daemon goes on.
        let _ = written;
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Formats one line, newline included. `record` feeds the event's fields to the visitor.
fn format_line(
    line: &mut String,
    time: Option<SystemTime>,
    level: Level,
    record: impl FnOnce(&mut dyn Visit),
) {
    if let Some(time) = time {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        write_utc(line, since.as_secs() as i64, since.subsec_micros());
        line.push(' ');
        let _ = write!(line, "{:>5} ", level.as_str());
    } else {
        let _ = write!(line, "{} ", level.as_str());
    }
    let mut fields = Fields { line, first: true };
    record(&mut fields);
    if fields.first {
        line.pop();
    }
    line.push('\n');
}

struct Fields<'a> {
    line: &'a mut String,
    first: bool,
}

impl Fields<'_> {
    fn separate(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.line.push(' ');
        }
    }
}

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.separate();
        let _ = if field.name() == "message" {
            write!(self.line, "{value:?}")
        } else {
            write!(self.line, "{}={value:?}", field.name())
        };
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.separate();
            self.line.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for Unix seconds and microseconds.
fn write_utc(line: &mut String, secs: i64, micros: u32) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        line,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_stamps() {
        for (secs, micros, want) in [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, 5, "2000-02-29T00:00:00.000005Z"),
            (1_795_255_362, 123_456, "2026-11-21T10:02:42.123456Z"),
            (4_107_542_399, 999_999, "2100-02-28T23:59:59.999999Z"),
        ] {
            let mut line = String::new();
            write_utc(&mut line, secs, micros);
            assert_eq!(line, want);
        }
    }

    /// The line layout, driven through a real `tracing` event with every kind of field.
    #[test]
    fn lines_look_like_fmt() {
        struct Capture(std::sync::Mutex<Vec<String>>, Option<SystemTime>);
        impl Subscriber for Capture {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &Attributes<'_>) -> Id {
                Id::from_u64(1)
            }
            fn record(&self, _: &Id, _: &Record<'_>) {}
            fn record_follows_from(&self, _: &Id, _: &Id) {}
            fn event(&self, event: &Event<'_>) {
                let mut line = String::new();
                let level = *event.metadata().level();
                format_line(&mut line, self.1, level, |v| event.record(v));
                self.0.lock().unwrap().push(line);
            }
            fn enter(&self, _: &Id) {}
            fn exit(&self, _: &Id) {}
        }
        let stamp = UNIX_EPOCH + Duration::new(1_795_255_362, 123_456_000);
        let capture = std::sync::Arc::new(Capture(Default::default(), Some(stamp)));
        tracing::subscriber::with_default(capture.clone(), || {
            let err = std::io::Error::other("disk full");
            tracing::info!(mac = %"001B0C18BDC1", file = "SEP.cnf.xml", n = 3, "phone provisioned");
            tracing::warn!(error = &err as &dyn std::error::Error, list = ?["a"], "write failed");
        });
        let lines = capture.0.lock().unwrap().clone();
        assert_eq!(
            lines,
            [
                "2026-11-21T10:02:42.123456Z  INFO phone provisioned mac=001B0C18BDC1 file=\"SEP.cnf.xml\" n=3\n",
                "2026-11-21T10:02:42.123456Z  WARN write failed error=disk full list=[\"a\"]\n",
            ]
        );
        let mut line = String::new();
        format_line(&mut line, None, Level::ERROR, |_| {});
        assert_eq!(line, "ERROR\n");
    }

    #[test]
    fn journal_priorities() {
        let levels = [
            Level::ERROR,
            Level::WARN,
            Level::INFO,
            Level::DEBUG,
            Level::TRACE,
        ];
        assert_eq!(levels.map(priority), [3, 4, 6, 7, 7]);
    }

    #[test]
    fn level_names() {
        assert_eq!(level("DEBUG"), Level::DEBUG);
        assert_eq!(level("warn"), Level::WARN);
        assert_eq!(level("loud"), Level::INFO);
    }
}
