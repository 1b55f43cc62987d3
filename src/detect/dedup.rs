//! One event per real request when one server reaches us through several sources.
//!
//! dnsmasq reports a TFTP download to its `dhcp-script` (our hook) *and* logs it; a lease
//! shows in the lease file, the hook and the log's DHCPACK; a log may be read through two
//! sources (a file and `logread`). Counted once per source, three real requests of
//! `term41.default.loads` gave `firmware-loop` "6 times" and the ladder fell back after the
//! second request (field-evidence.md §5).
//!
//! Each source reports each event once, in order. So an event from source `s` is a repeat
//! exactly when another source already reported the same event (same key) within
//! [`WINDOW_S`] and `s` has not yet matched that occurrence: the counts stay exact, including
//! a phone asking for the same file twice in a row (each source then reports it twice, and
//! each report matches one occurrence). Pure: times come from the observations.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::net::Ipv4Addr;

use crate::event::{Observation, TftpOutcome};
use crate::mac::Mac;

/// Seconds between two sources' reports of one event: a hook runs within milliseconds of the
/// log line, whose stamp has whole seconds; a lease file is re-read at once.
pub const WINDOW_S: i64 = 5;

/// Identifies a source: the hook socket, a file source, a command source.
pub type SourceId = u8;

/// What makes two reports the same event. Only its digest is kept.
#[derive(Hash)]
enum Key<'a> {
    Tftp(Ipv4Addr, &'a str, TftpOutcome),
    Lease(Mac, Ipv4Addr),
    Gone(Mac, Ipv4Addr),
}

#[derive(Debug, Clone, Copy)]
struct Occurrence {
    time: i64,
    /// Sources that reported it, one bit per [`SourceId`] (ids ≥ 64 share the last bit).
    sources: u64,
}

/// The occurrences of one key: nearly always one (a lease, a request), so inline.
#[derive(Debug)]
enum Occurrences {
    One(Occurrence),
    Many(VecDeque<Occurrence>),
}

impl Occurrences {
    fn find(&mut self, bit: u64, time: i64) -> Option<&mut Occurrence> {
        let matches = |occurrence: &&mut Occurrence| {
            occurrence.sources & bit == 0 && (occurrence.time - time).abs() <= WINDOW_S
        };
        match self {
            Occurrences::One(occurrence) => Some(occurrence).filter(matches),
            Occurrences::Many(list) => list.iter_mut().find(|o| matches(o)),
        }
    }

    /// Adds `occurrence`, dropping the oldest beyond `per_key`.
    fn push(&mut self, occurrence: Occurrence, per_key: usize) {
        match self {
            Occurrences::One(_) if per_key == 1 => *self = Occurrences::One(occurrence),
            Occurrences::One(first) => {
                *self = Occurrences::Many(VecDeque::from([*first, occurrence]))
            }
            Occurrences::Many(list) => {
                if list.len() >= per_key {
                    list.pop_front();
                }
                list.push_back(occurrence);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Occurrences::One(_) => 1,
            Occurrences::Many(list) => list.len(),
        }
    }
}

/// Whether an observation is news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The first report of this event.
    New,
    /// Another source reported this event already.
    Repeat,
}

/// The recent events of every source, by the digest of their key, bounded in keys and in occurrences per
/// key. A key is kept as a 64-bit SipHash digest with this table's own random keys (a file
/// name of 128 bytes costs 8): two different events taken for one, a 1 in 2^64 chance per
/// pair, and no client can choose names that collide. About 40 bytes per key, where the keys
/// themselves (and a list per key) cost 150 KB of idle heap after 1,000 leases.
#[derive(Debug)]
pub struct Dedup {
    occurrences: HashMap<u64, Occurrences>,
    /// Digests in the order they were first used, for eviction past `max_keys`.
    order: VecDeque<u64>,
    keys: RandomState,
    max_keys: usize,
    /// Occurrences remembered per key (a phone asking for the same file in a burst).
    per_key: usize,
    /// Reports found to be repeats.
    pub n_repeats: u64,
}

impl Dedup {
    /// At most `max_keys` distinct events, each with its latest `per_key` occurrences, are
    /// remembered; older ones are forgotten first. The daemon needs a few thousand keys and a
    /// few occurrences (sources report within seconds of each other); `scan`, which reads each
    /// source whole before the next, needs every occurrence its logs hold.
    pub fn new(max_keys: usize, per_key: usize) -> Dedup {
        Dedup {
            occurrences: HashMap::new(),
            order: VecDeque::new(),
            keys: RandomState::new(),
            max_keys: max_keys.max(1),
            per_key: per_key.max(1),
            n_repeats: 0,
        }
    }

    /// Notes `observation` from `source` and says whether it is news.
    pub fn see(&mut self, source: SourceId, observation: &Observation) -> Seen {
        let (key, time) = match observation {
            Observation::Tftp(request) => (
                Key::Tftp(request.ip, &request.file, request.outcome),
                request.time,
            ),
            Observation::Lease(lease) => (Key::Lease(lease.mac, lease.ip), lease.time),
            Observation::LeaseGone { mac, ip, time } => (Key::Gone(*mac, *ip), *time),
        };
        let digest = self.keys.hash_one(key);
        let bit = 1u64 << source.min(63);
        let occurrence = Occurrence { time, sources: bit };
        if let Some(list) = self.occurrences.get_mut(&digest) {
            if let Some(seen) = list.find(bit, time) {
                seen.sources |= bit;
                self.n_repeats += 1;
                return Seen::Repeat;
            }
            list.push(occurrence, self.per_key);
            return Seen::New;
        }
        while self.order.len() >= self.max_keys {
            if let Some(old) = self.order.pop_front() {
                self.occurrences.remove(&old);
            }
        }
        self.order.push_back(digest);
        self.occurrences
            .insert(digest, Occurrences::One(occurrence));
        Seen::New
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::TftpSeen;

    fn tftp(file: &str, time: i64) -> Observation {
        Observation::Tftp(TftpSeen {
            ip: Ipv4Addr::new(198, 18, 0, 151),
            file: file.to_string(),
            outcome: TftpOutcome::Sent,
            time,
        })
    }

    /// field-evidence.md §5: three real requests of `term41.default.loads`, each reported by
    /// the hook and the log, are three.
    #[test]
    fn each_request_counts_once_whatever_reports_it() {
        let mut dedup = Dedup::new(64, 16);
        let (hook, log) = (0, 1);
        let mut new = 0;
        for second in [0, 20, 40] {
            // The hook at the download, the log line (whole seconds) read just after it.
            for (source, time) in [(hook, 1000 + second), (log, 999 + second)] {
                if dedup.see(source, &tftp("term41.default.loads", time)) == Seen::New {
                    new += 1;
                }
            }
        }
        assert_eq!(new, 3);
        assert_eq!(dedup.n_repeats, 3);
    }

    /// A phone asking twice in a row: each source reports both, in any interleaving.
    #[test]
    fn back_to_back_requests_stay_two() {
        for order in [[0, 0, 1, 1], [0, 1, 0, 1], [1, 0, 0, 1], [1, 1, 0, 0]] {
            let mut dedup = Dedup::new(64, 16);
            let new = order
                .iter()
                .filter(|&&source| dedup.see(source, &tftp("SEP.cnf.xml", 50)) == Seen::New)
                .count();
            assert_eq!(new, 2, "{order:?}");
        }
        // One source alone: every report is a request.
        let mut dedup = Dedup::new(64, 16);
        for _ in 0..5 {
            assert_eq!(dedup.see(3, &tftp("a", 7)), Seen::New);
        }
    }

    /// `scan` reads one source to its end before the next: an early event of the second
    /// source still finds its occurrence; far-apart times never match.
    #[test]
    fn sources_read_one_after_the_other_and_far_times() {
        let mut dedup = Dedup::new(1 << 16, 1 << 12);
        for time in (0..10).map(|i| i * 60) {
            assert_eq!(dedup.see(1, &tftp("x", time)), Seen::New);
        }
        for time in (0..10).map(|i| i * 60) {
            assert_eq!(dedup.see(2, &tftp("x", time)), Seen::Repeat);
        }
        assert_eq!(dedup.see(2, &tftp("x", 10 * 60 + WINDOW_S + 1)), Seen::New);
    }

    #[test]
    fn memory_is_bounded() {
        let mut dedup = Dedup::new(8, 16);
        for n in 0..1000 {
            dedup.see(0, &tftp(&format!("file{n}"), n));
            dedup.see(0, &tftp("same", n));
        }
        assert!(dedup.occurrences.len() <= 8);
        assert!(dedup.occurrences.values().all(|list| list.len() <= 16));
    }
}
