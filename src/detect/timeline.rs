//! A phone's boot timeline: its latest events (leases, TFTP requests with their outcome),
//! oldest first, at most [`TIMELINE_LEN`]. Part of the phone's record, so it is persisted in
//! the state file and `explain` reads it from there.
//!
//! Consecutive identical events (a renewal of the same address, the same file asked for with
//! the same outcome) are kept as one event with a count and the time of the last repeat: a
//! phone looping on one file does not push its lease out of the timeline.
//!
//! The serialised form is short (`{"t":…,"k":"tftp","f":…,"o":"sent"}`): it is written with
//! every save of the state.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::event::TftpOutcome;

/// Events kept per phone.
pub const TIMELINE_LEN: usize = 32;

/// One event, or a run of identical consecutive ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "EventWire")]
pub struct Event {
    /// Unix seconds of the (first) event: the time in its line, else when it was read.
    pub time: i64,
    /// How many identical events in a row; 1 for a single one.
    pub count: u32,
    /// Unix seconds of the last repeat, when `count` > 1.
    pub until: Option<i64>,
    /// What happened.
    pub what: What,
}

/// What an event was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A DHCP lease (from a lease file, a DHCP log line or a hook).
    Lease {
        /// The leased address.
        ip: Ipv4Addr,
    },
    /// A TFTP request attributed to the phone.
    Tftp {
        /// The name as requested (case kept; at most 64 characters, never a path).
        file: String,
        /// What the TFTP server said.
        outcome: Outcome,
    },
}

/// The stored form of an [`Event`]: one flat object, `k` naming the kind. Spelled out rather
/// than `#[serde(flatten)]` + `#[serde(tag)]`, which buffer every event in serde's generic
/// `Content` tree when the state is read and weigh about 15 KB in the binary.
/// Read as owned values, written from borrows (a save copies no event).
#[derive(Serialize, Deserialize)]
struct EventWire<F = String> {
    t: i64,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    n: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<i64>,
    k: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    f: Option<F>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<Outcome>,
}

#[derive(Serialize, Deserialize)]
enum Kind {
    #[serde(rename = "lease")]
    Lease,
    #[serde(rename = "tftp")]
    Tftp,
}

fn one() -> u32 {
    1
}

fn is_one(count: &u32) -> bool {
    *count == 1
}

impl TryFrom<EventWire> for Event {
    type Error = &'static str;

    fn try_from(wire: EventWire) -> Result<Self, Self::Error> {
        let what = match (wire.k, wire.ip, wire.f, wire.o) {
            (Kind::Lease, Some(ip), None, None) => What::Lease { ip },
            (Kind::Tftp, None, Some(file), Some(outcome)) => What::Tftp { file, outcome },
            (Kind::Lease, ..) => return Err("a lease event needs ip and nothing else"),
            (Kind::Tftp, ..) => return Err("a tftp event needs f and o and no ip"),
        };
        Ok(Event {
            time: wire.t,
            count: wire.n,
            until: wire.u,
            what,
        })
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (k, ip, f, o) = match &self.what {
            What::Lease { ip } => (Kind::Lease, Some(*ip), None, None),
            What::Tftp { file, outcome } => (Kind::Tftp, None, Some(file.as_str()), Some(*outcome)),
        };
        EventWire {
            t: self.time,
            n: self.count,
            u: self.until,
            k,
            ip,
            f,
            o,
        }
        .serialize(serializer)
    }
}

/// A TFTP outcome as the timeline stores it (the serialisable twin of [`TftpOutcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Logged on arrival; whether it was served is not known.
    #[serde(rename = "requested")]
    Requested,
    /// Sent whole.
    #[serde(rename = "sent")]
    Sent,
    /// Not found.
    #[serde(rename = "not found")]
    NotFound,
    /// Refused.
    #[serde(rename = "denied")]
    Denied,
    /// Started, not completed.
    #[serde(rename = "failed")]
    Failed,
}

impl From<TftpOutcome> for Outcome {
    fn from(outcome: TftpOutcome) -> Outcome {
        match outcome {
            TftpOutcome::Requested => Outcome::Requested,
            TftpOutcome::Sent => Outcome::Sent,
            TftpOutcome::NotFound => Outcome::NotFound,
            TftpOutcome::Denied => Outcome::Denied,
            TftpOutcome::Failed => Outcome::Failed,
        }
    }
}

impl Outcome {
    /// Lowercase name, as in logs and `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Requested => "requested",
            Outcome::Sent => "sent",
            Outcome::NotFound => "not found",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

impl Event {
    /// The time of the last occurrence.
    pub fn last_time(&self) -> i64 {
        self.until.unwrap_or(self.time)
    }

    /// The requested file, for TFTP events.
    pub fn file(&self) -> Option<&str> {
        match &self.what {
            What::Tftp { file, .. } => Some(file),
            What::Lease { .. } => None,
        }
    }

    /// The outcome, for TFTP events.
    pub fn outcome(&self) -> Option<Outcome> {
        match &self.what {
            What::Tftp { outcome, .. } => Some(*outcome),
            What::Lease { .. } => None,
        }
    }
}

/// The bounded event list of one phone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Timeline(VecDeque<Event>);

/// Read from the state file without spare room: serde grows the list as it reads (four
/// events' room for the one a phone at rest usually has), 192 bytes per phone of idle heap.
impl<'de> Deserialize<'de> for Timeline {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Timeline, D::Error> {
        let mut events = VecDeque::<Event>::deserialize(deserializer)?;
        events.shrink_to_fit();
        Ok(Timeline(events))
    }
}

impl Timeline {
    /// Appends an event, merging it into the newest one when it is the same, and drops the
    /// oldest beyond [`TIMELINE_LEN`].
    pub fn push(&mut self, time: i64, what: What) {
        if let Some(last) = self.0.back_mut() {
            if last.what == what {
                last.count = last.count.saturating_add(1);
                last.until = Some(time.max(last.last_time()));
                return;
            }
        }
        if self.0.len() == TIMELINE_LEN {
            self.0.pop_front();
        }
        self.0.push_back(Event {
            time,
            count: 1,
            until: None,
            what,
        });
    }

    /// A file-less NAK (tftpd-hpa `sending NAK … to IP`) answers the request just logged from
    /// the same address: when the newest event is a `requested` TFTP event of at most a few
    /// seconds before `time`, its last occurrence becomes `outcome`. Returns whether it did.
    pub fn answer_last_request(&mut self, time: i64, outcome: Outcome) -> bool {
        let Some(last) = self.0.back_mut() else {
            return false;
        };
        let What::Tftp {
            file,
            outcome: Outcome::Requested,
        } = &last.what
        else {
            return false;
        };
        if !(0..=5).contains(&(time - last.last_time())) {
            return false;
        }
        let file = file.clone();
        if last.count == 1 {
            last.what = What::Tftp { file, outcome };
            return true;
        }
        // A run of requests: the last one of them was answered.
        let at = last.last_time();
        last.count -= 1;
        if last.count == 1 {
            last.until = None;
        }
        self.push(at, What::Tftp { file, outcome });
        true
    }

    /// The events, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Event> + ExactSizeIterator {
        self.0.iter()
    }

    /// No events yet.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many (merged) events.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tftp(file: &str, outcome: Outcome) -> What {
        What::Tftp {
            file: file.into(),
            outcome,
        }
    }

    #[test]
    fn repeats_merge_and_the_length_is_bounded() {
        let mut timeline = Timeline::default();
        timeline.push(
            10,
            What::Lease {
                ip: Ipv4Addr::new(192, 168, 0, 224),
            },
        );
        for time in [32, 33, 180, 180, 273, 274] {
            timeline.push(time, tftp("term06.default.loads", Outcome::Requested));
        }
        assert_eq!(timeline.len(), 2);
        let run = timeline.iter().nth(1).unwrap();
        assert_eq!((run.time, run.count, run.until), (32, 6, Some(274)));
        for n in 0..100 {
            timeline.push(300 + n, tftp(&format!("f{}", n % 2), Outcome::Sent));
        }
        assert_eq!(timeline.len(), TIMELINE_LEN);
        assert_eq!(timeline.iter().last().unwrap().time, 399);
    }

    #[test]
    fn a_nak_answers_the_last_request() {
        let mut timeline = Timeline::default();
        timeline.push(1, tftp("a.sbn", Outcome::Requested));
        timeline.push(2, tftp("a.sbn", Outcome::Requested));
        assert!(timeline.answer_last_request(2, Outcome::NotFound));
        let events: Vec<(i64, u32, Option<Outcome>)> = timeline
            .iter()
            .map(|e| (e.time, e.count, e.outcome()))
            .collect();
        assert_eq!(
            events,
            [
                (1, 1, Some(Outcome::Requested)),
                (2, 1, Some(Outcome::NotFound))
            ]
        );
        // Only once, and only for a recent request.
        assert!(!timeline.answer_last_request(2, Outcome::NotFound));
        timeline.push(10, tftp("b.sbn", Outcome::Requested));
        assert!(!timeline.answer_last_request(30, Outcome::NotFound));
    }

    #[test]
    fn serialised_form_is_short() {
        let mut timeline = Timeline::default();
        timeline.push(7, tftp("x.sbn", Outcome::NotFound));
        timeline.push(8, tftp("x.sbn", Outcome::NotFound));
        timeline.push(
            9,
            What::Lease {
                ip: Ipv4Addr::new(198, 18, 0, 1),
            },
        );
        let json = serde_json::to_string(&timeline).unwrap();
        assert_eq!(
            json,
            r#"[{"t":7,"n":2,"u":8,"k":"tftp","f":"x.sbn","o":"not found"},{"t":9,"k":"lease","ip":"198.18.0.1"}]"#
        );
        assert_eq!(serde_json::from_str::<Timeline>(&json).unwrap(), timeline);
        for bad in [
            r#"[{"t":1,"k":"tftp","f":"x.sbn"}]"#,
            r#"[{"t":1,"k":"lease"}]"#,
            r#"[{"t":1,"k":"lease","ip":"198.18.0.1","f":"x"}]"#,
            r#"[{"t":1,"k":"reboot"}]"#,
        ] {
            assert!(serde_json::from_str::<Timeline>(bad).is_err(), "{bad}");
        }
    }
}
