//! Observations: what a source saw, parsed and normalised. The input of the detection engine.
//!
//! Sources turn lease files, log lines and hook calls into these values; the engine
//! ([`crate::detect`]) never sees raw text. Times are Unix seconds: the timestamp written in the
//! line when it has one, else the moment the line was read.

use std::net::Ipv4Addr;

use crate::mac::Mac;

/// One thing a source saw about one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// A DHCP lease exists (new, renewed or re-read).
    Lease(LeaseSeen),
    /// A lease that was in the lease file is not there any more (released or expired).
    LeaseGone {
        /// The device whose lease went.
        mac: Mac,
        /// The address it had.
        ip: Ipv4Addr,
        /// When the source noticed.
        time: i64,
    },
    /// A TFTP server logged a request or its outcome.
    Tftp(TftpSeen),
}

/// A DHCP lease and what the server knows of its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSeen {
    /// The client's hardware address.
    pub mac: Mac,
    /// The leased address.
    pub ip: Ipv4Addr,
    /// DHCP option 12 as the server recorded it; `None` when absent (`*` in dnsmasq's file).
    pub hostname: Option<String>,
    /// DHCP option 60 when the source carries it (hooks, isc leases, dnsmasq `--log-dhcp`).
    pub vendor_class: Option<String>,
    /// Unix seconds.
    pub time: i64,
}

/// A TFTP request as one server logged it. TFTP servers know clients only by IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TftpSeen {
    /// The client's address.
    pub ip: Ipv4Addr,
    /// The requested name relative to the TFTP root, as the client spelled it (case kept).
    /// Untrusted: it may contain `../`, `/` or be very long.
    pub file: String,
    /// What the server said about it.
    pub outcome: TftpOutcome,
    /// Unix seconds.
    pub time: i64,
}

/// What a TFTP server's log says happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TftpOutcome {
    /// The request was logged on arrival; the outcome is not known (tftpd-hpa `RRQ from`,
    /// atftpd `Serving … to`).
    Requested,
    /// The whole file was sent (dnsmasq `sent … to`).
    Sent,
    /// The file does not exist (dnsmasq `file … not found for`, tftpd-hpa `sending NAK (1, File not found)`,
    /// atftpd `File … not found`).
    NotFound,
    /// The server refused the request (permission, traversal, bad name).
    Denied,
    /// The transfer started but did not complete (abort, timeout).
    Failed,
}

impl TftpOutcome {
    /// Lowercase name used in logs and `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            TftpOutcome::Requested => "requested",
            TftpOutcome::Sent => "sent",
            TftpOutcome::NotFound => "not found",
            TftpOutcome::Denied => "denied",
            TftpOutcome::Failed => "failed",
        }
    }
}
