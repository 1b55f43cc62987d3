//! Recognises the TFTP and DHCP lines we care about in syslog and in the servers' own log files.
//!
//! [`crate::parse::syslog`] splits the prefix; this module looks at the tag, then at the
//! message. Every other line, the vast majority, is rejected after a tag comparison, without
//! date arithmetic or allocation. The forms below are the exact captured ones (formats.md).
//!
//! **dnsmasq-tftp** logs outcomes only, never requests, with the **absolute** path:
//!
//! | message | record |
//! |---|---|
//! | `sent /srv/tftp/term41.default.loads to 198.18.0.151` | [`TftpOutcome::Sent`] |
//! | `file /srv/tftp/CTLSEP001B0C18BDC1.tlv not found for 198.18.0.151` | [`TftpOutcome::NotFound`] |
//! | `failed sending /srv/tftp/SCCP41.9-4-2SR3-1S.sbn to 198.18.0.151` | [`TftpOutcome::Failed`] |
//! | `error 0 Phone aborted transfer received from 198.18.0.151` | none: the `failed sending` line follows |
//! | `cannot access /srv/tftp/../../etc/passwd: Permission denied`, `cannot read …: File name too long` | none: no client address |
//! | `unsupported request from 198.18.0.151` (a WRQ) | none: no file name |
//!
//! The longest of [`Context::tftp_roots`] that prefixes the path is stripped, with the `/`
//! after it; when none does, the last path component is kept. Paths are cut from the right
//! (the address is the last token), so a name with spaces survives. dnsmasq strips a
//! leading `/` from requests (`/etc/passwd` is logged as `/srv/tftp/etc/passwd`). With
//! `tftp-unique-root=mac` the path holds the client's directory (`/srv/tftp/00-1b-54-aa-bb-cc/
//! SEP001B54AABBCC.cnf.xml`, as dnsmasq 2.90 logs it): that component is dropped, the phone
//! asked for the name after it.
//!
//! **tftpd-hpa** (`in.tftpd`) logs the request when it arrives (`-v`) and, from `-vv`, a NAK:
//!
//! | message | record |
//! |---|---|
//! | `RRQ from 198.18.0.100 filename CTLSEP001B0C18BDC1.tlv` | [`TftpOutcome::Requested`] |
//! | `RRQ from 198.18.0.41 filename SEP….cnf.xml remapped to phones/SEP….cnf.xml` | requested name kept |
//! | `sending NAK (1, File not found) to 198.18.0.100` | [`TftpOutcome::NotFound`], empty `file` |
//! | `sending NAK (0, Permission denied) to …`, `(2, Only absolute filenames allowed)` | [`TftpOutcome::Denied`], empty `file` |
//! | `WRQ from 198.18.0.100 filename upload.txt` | none |
//!
//! **atftpd** logs `Serving CTLSEP001B0C18BDC1.tlv to 198.18.0.41:60111` for every RRQ
//! ([`TftpOutcome::Requested`]), whatever happens next. `File /srv/tftp/X not found` (level 6)
//! carries no address: only the `pid.thread` ties it to its `Serving` line, so it is ignored,
//! as is `Fetching from … to …` (a WRQ). atftpd cuts messages at 127 bytes: a `Serving` line
//! cut before its address is ignored (`Ok(None)`), because the name is lost and any client
//! can cause it with a long name, so it must not count as a parse error. Debian installs
//! atftpd as `/usr/sbin/in.tftpd` too, so both servers' messages are accepted under the tags
//! `in.tftpd`, `tftpd` and `atftpd`.
//!
//! **DHCP servers** give lease evidence:
//!
//! | tag | message | record |
//! |---|---|---|
//! | `dnsmasq-dhcp` | `[<xid> ]DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1[ SEP001B0C18BDC1]` | [`LogRecord::DhcpAck`] |
//! | `dnsmasq-dhcp` | `2633243775 vendor class: Cisco Systems, Inc. IP Phone CP-7941G` (`--log-dhcp`) | [`LogRecord::DhcpVendorClass`] |
//! | `dhcpd` | `DHCPACK on 198.18.0.100 to 00:1b:0c:18:bd:c1[ (SEP001B0C18BDC1)] via br0` | [`LogRecord::DhcpAck`] |
//! | `dhcpd` | `DHCPACK to 198.18.0.100 (00:1b:0c:18:bd:c1) via br0` (reply to DHCPINFORM) | none |
//! | `kea-dhcp4…` | `DHCP4_LEASE_ALLOC [hwtype=1 00:1b:…], cid=[…], tid=0x…: lease 198.18.0.100 has been allocated for 3600 seconds` | [`LogRecord::DhcpAck`], no hostname |
//! | `kea-dhcp4…` | `DHCP4_LEASE_REUSE …: lease … has been reused for … seconds` (a renew within the cache threshold) | [`LogRecord::DhcpAck`] |
//!
//! Also:
//! - Hardware addresses longer than six bytes (InfiniBand and the like) are skipped; no phone
//!   has one. IPv6 clients are skipped; an IPv4-mapped IPv6 address counts as IPv4.
//! - rsyslog's `message repeated N times: [msg]` is read as one `msg`.
//! - Kea's messages are found after a level and `[logger]` too, as Kea writes them to syslog
//!   and journald.
//! - File names are kept as logged, untrusted and unvalidated. dnsmasq drops unprintable
//!   characters before logging, and rsyslog escapes control characters as `#ooo`.

use std::net::{IpAddr, Ipv4Addr};

use crate::event::{LeaseSeen, TftpOutcome, TftpSeen};
use crate::localtime::LocalZone;
use crate::mac::Mac;
use crate::parse::syslog;
use crate::parse::{ParseError, Parsed};

/// The evidence one log line carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRecord {
    /// A TFTP request or its outcome. `time` is the line's timestamp, else [`Context::now`].
    ///
    /// tftpd-hpa's `sending NAK (code, text) to <ip>` names no file: it gives an **empty**
    /// `file` with [`TftpOutcome::NotFound`] (code 1) or [`TftpOutcome::Denied`] (any other
    /// code). The caller pairs it with the last `RRQ` from the same address. Beware that a
    /// refused WRQ is NAKed the same way (`(1, File not found)`) and its `WRQ` line gives no
    /// record; in the syslog line the RRQ and its NAK share the pid of the forked child.
    Tftp(TftpSeen),
    /// A DHCPACK seen in a DHCP server's log: lease evidence.
    DhcpAck {
        /// The lease acknowledged.
        lease: LeaseSeen,
        /// dnsmasq's transaction id with `--log-dhcp`: the key to its `vendor class:` line.
        xid: Option<u32>,
    },
    /// dnsmasq `--log-dhcp` extra line carrying the vendor class for transaction `xid`.
    ///
    /// It comes *before* the DHCPACK line of the same packet; the caller joins them by xid.
    DhcpVendorClass {
        /// The DHCP transaction id, as dnsmasq prints it in decimal.
        xid: u32,
        /// Option 60 as logged.
        vendor_class: String,
    },
}

/// What [`parse_line`] needs besides the line. The default is 1970, no TFTP root and UTC.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Unix seconds now: the time of lines without a timestamp, and the year of year-less ones.
    pub now: i64,
    /// TFTP roots whose prefix is stripped from dnsmasq's absolute paths (e.g. `["/srv/tftp"]`).
    pub tftp_roots: &'a [String],
    /// The zone of stamps without an offset (year-less syslog, atftpd, logread, Kea's file):
    /// the system's, which the edge loads (`Config::local_zone`).
    pub zone: &'a LocalZone,
}

impl Default for Context<'_> {
    fn default() -> Self {
        Context {
            now: 0,
            tftp_roots: &[],
            zone: &crate::localtime::UTC,
        }
    }
}

/// The server whose messages a tag announces.
#[derive(Clone, Copy)]
enum Server {
    DnsmasqTftp,
    DnsmasqDhcp,
    Tftpd,
    Dhcpd,
    Kea,
}

/// atftpd formats each message into a 128-byte buffer: at most 127 bytes survive.
const ATFTPD_MESSAGE_MAX: usize = 127;

/// A message this close to atftpd's limit was cut (trailing blanks at the cut are trimmed).
const ATFTPD_CUT_THRESHOLD: usize = ATFTPD_MESSAGE_MAX - 8;

/// Parse one line. `Ok(None)` = not a line we care about (the vast majority). `Err` = a line
/// that claims to be one of ours (right tag, right keyword) but is malformed: lowercase reason.
pub fn parse_line(line: &str, ctx: &Context) -> Result<Option<LogRecord>, String> {
    let Some(raw) = syslog::split_raw(line) else {
        return Ok(None);
    };
    // The date arithmetic is paid only by lines that become records.
    let time = || raw.time(ctx.now, ctx.zone).unwrap_or(ctx.now);
    tagged(raw.tag, raw.message, ctx, &time)
}

/// Interprets a message whose tag and time are known without a text prefix: a journal
/// entry's `SYSLOG_IDENTIFIER`, `MESSAGE` and `__REALTIME_TIMESTAMP` (Unix seconds). Same
/// results as [`parse_line`] on the line `<time> host <tag>[pid]: <message>`.
pub fn parse_message(
    tag: &str,
    message: &str,
    time: i64,
    ctx: &Context,
) -> Result<Option<LogRecord>, String> {
    tagged(tag, message, ctx, &|| time)
}

fn tagged(
    tag: &str,
    message: &str,
    ctx: &Context,
    time: &dyn Fn() -> i64,
) -> Result<Option<LogRecord>, String> {
    let server = match tag {
        "dnsmasq-tftp" => Server::DnsmasqTftp,
        "dnsmasq-dhcp" => Server::DnsmasqDhcp,
        "in.tftpd" | "tftpd" | "atftpd" => Server::Tftpd,
        "dhcpd" => Server::Dhcpd,
        tag if tag.starts_with("kea-dhcp4") => Server::Kea,
        _ => return Ok(None),
    };
    let message = unwrap_repeated(message);
    match server {
        Server::DnsmasqTftp => dnsmasq_tftp(message, ctx, time),
        Server::DnsmasqDhcp => dnsmasq_dhcp(message, time),
        Server::Tftpd => tftpd(message, time),
        Server::Dhcpd => dhcpd(message, time),
        Server::Kea => kea(message, time),
    }
}

/// Parse a whole text (line numbers 1-based).
pub fn parse_text(text: &str, ctx: &Context) -> Parsed<LogRecord> {
    let mut out = Parsed::default();
    for (index, line) in text.lines().enumerate() {
        match parse_line(line, ctx) {
            Ok(Some(record)) => out.items.push(record),
            Ok(None) => {}
            Err(reason) => out.errors.push(ParseError {
                line: index + 1,
                reason,
            }),
        }
    }
    out
}

/// rsyslog's `message repeated 2 times: [RRQ from …]` → `RRQ from …`.
fn unwrap_repeated(message: &str) -> &str {
    let Some(rest) = message.strip_prefix("message repeated ") else {
        return message;
    };
    rest.split_once(" times: [")
        .and_then(|(_, inner)| inner.strip_suffix(']'))
        .unwrap_or(message)
}

fn dnsmasq_tftp(
    message: &str,
    ctx: &Context,
    time: &dyn Fn() -> i64,
) -> Result<Option<LogRecord>, String> {
    let (path, ip, outcome) = if let Some(rest) = message.strip_prefix("sent ") {
        let (path, ip) = rest
            .rsplit_once(" to ")
            .ok_or("expected \"sent <path> to <ip>\"")?;
        (path, ip, TftpOutcome::Sent)
    } else if let Some(rest) = message.strip_prefix("failed sending ") {
        let (path, ip) = rest
            .rsplit_once(" to ")
            .ok_or("expected \"failed sending <path> to <ip>\"")?;
        (path, ip, TftpOutcome::Failed)
    } else if let Some(rest) = message.strip_prefix("file ") {
        match rest.rsplit_once(" not found for ") {
            Some((path, ip)) => (path, ip, TftpOutcome::NotFound),
            None => return Ok(None),
        }
    } else {
        // `error N … received from`, `cannot access`, `cannot read`, `unsupported request`,
        // `TFTP root is`: no file or no address.
        return Ok(None);
    };
    let Some(ip) = client_ip(ip)? else {
        return Ok(None);
    };
    Ok(Some(LogRecord::Tftp(TftpSeen {
        ip,
        file: relative_name(path, ctx.tftp_roots).to_string(),
        outcome,
        time: time(),
    })))
}

/// The name relative to the longest matching TFTP root, else the last path component; a
/// `tftp-unique-root=mac` directory after the root is dropped. Also used for the paths of
/// dnsmasq's `tftp` hook calls.
pub fn relative_name<'a>(path: &'a str, roots: &[String]) -> &'a str {
    let mut best: Option<(usize, &str)> = None;
    for root in roots {
        let root = root.trim_end_matches('/');
        let Some(name) = path
            .strip_prefix(root)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            continue;
        };
        if best.is_none_or(|(len, _)| root.len() > len) {
            best = Some((root.len(), name));
        }
    }
    match best {
        Some((_, name)) => match name.split_once('/') {
            Some((dir, rest)) if crate::mac::Mac::from_dashed(dir).is_some() => rest,
            _ => name,
        },
        None => path.rsplit_once('/').map_or(path, |(_, name)| name),
    }
}

fn dnsmasq_dhcp(message: &str, time: &dyn Fn() -> i64) -> Result<Option<LogRecord>, String> {
    // With `--log-dhcp` every line opens with the decimal transaction id.
    let (xid, body) = match message.split_once(' ') {
        Some((xid, body)) if xid.bytes().all(|b| b.is_ascii_digit()) => (xid.parse().ok(), body),
        _ => (None, message),
    };
    if let Some(rest) = body.strip_prefix("DHCPACK(") {
        // `DHCPACK(iface) ip mac[ hostname]`, written as "%s(%s) %s%s%s %s%s".
        let (_iface, rest) = rest
            .split_once(") ")
            .ok_or("expected \"DHCPACK(<iface>) <ip> <mac>\"")?;
        let (ip, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let (mac, hostname) = rest.split_once(' ').unwrap_or((rest, ""));
        return ack(ip, mac, hostname.trim(), xid, time);
    }
    if let Some(vendor_class) = body.strip_prefix("vendor class: ") {
        return Ok(xid.map(|xid| LogRecord::DhcpVendorClass {
            xid,
            vendor_class: vendor_class.to_string(),
        }));
    }
    Ok(None)
}

fn dhcpd(message: &str, time: &dyn Fn() -> i64) -> Result<Option<LogRecord>, String> {
    // `DHCPACK to <ip> (<mac>) via …` answers a DHCPINFORM: no lease.
    let Some(rest) = message.strip_prefix("DHCPACK on ") else {
        return Ok(None);
    };
    let expected = "expected \"DHCPACK on <ip> to <mac> [(<hostname>) ]via <interface>\"";
    let (ip, rest) = rest.split_once(" to ").ok_or(expected)?;
    let (mac, rest) = rest.split_once(' ').ok_or(expected)?;
    let hostname = if let Some(rest) = rest.strip_prefix('(') {
        // Option 12 may hold anything, even ") via ": cut at the last one.
        rest.rsplit_once(") via ").ok_or(expected)?.0
    } else if rest.starts_with("via ") {
        ""
    } else {
        return Err(expected.to_string());
    };
    ack(ip, mac, hostname, None, time)
}

fn kea(message: &str, time: &dyn Fn() -> i64) -> Result<Option<LogRecord>, String> {
    // In Kea's own file the message id opens the message; through syslog or journald a level
    // and `[logger…]` come first.
    let Some(start) = message.find("DHCP4_LEASE_") else {
        return Ok(None);
    };
    if start > 0 && message.as_bytes()[start - 1] != b' ' {
        return Ok(None);
    }
    let body = &message[start..];
    let Some(rest) = body
        .strip_prefix("DHCP4_LEASE_ALLOC ")
        .or_else(|| body.strip_prefix("DHCP4_LEASE_REUSE "))
    else {
        return Ok(None);
    };
    if rest.starts_with("[no hwaddr info]") {
        return Ok(None);
    }
    let expected = "expected \"[hwtype=<n> <mac>], …: lease <ip> …\"";
    let (hwaddr, rest) = rest
        .strip_prefix("[hwtype=")
        .and_then(|rest| rest.split_once(']'))
        .ok_or(expected)?;
    let (_hwtype, mac) = hwaddr.split_once(' ').ok_or(expected)?;
    let (_, lease) = rest.split_once(": lease ").ok_or(expected)?;
    let ip = lease.split_once(' ').map_or(lease, |(ip, _)| ip);
    ack(ip, mac, "", None, time)
}

/// Builds a [`LogRecord::DhcpAck`]; an empty hostname is none.
fn ack(
    ip: &str,
    mac: &str,
    hostname: &str,
    xid: Option<u32>,
    time: &dyn Fn() -> i64,
) -> Result<Option<LogRecord>, String> {
    let ip: Ipv4Addr = ip
        .parse()
        .map_err(|_| format!("bad ipv4 address {:?}", truncate(ip)))?;
    // `aa:bb:cc:dd:ee:ff` is 17 characters; longer hardware addresses are not Ethernet.
    if mac.len() > 17 {
        return Ok(None);
    }
    let mac: Mac = mac.parse().map_err(|err| format!("{err}"))?;
    Ok(Some(LogRecord::DhcpAck {
        lease: LeaseSeen {
            mac,
            ip,
            hostname: (!hostname.is_empty()).then(|| hostname.to_string()),
            vendor_class: None,
            time: time(),
        },
        xid,
    }))
}

/// tftpd-hpa and atftpd, which may both call themselves `in.tftpd`.
fn tftpd(message: &str, time: &dyn Fn() -> i64) -> Result<Option<LogRecord>, String> {
    let tftp = |ip, file: &str, outcome| {
        Some(LogRecord::Tftp(TftpSeen {
            ip,
            file: file.to_string(),
            outcome,
            time: time(),
        }))
    };
    if let Some(rest) = message.strip_prefix("RRQ from ") {
        let expected = "expected \"RRQ from <ip> filename <file>\"";
        let (ip, rest) = rest.split_once(' ').ok_or(expected)?;
        let file = rest.strip_prefix("filename ").ok_or(expected)?;
        // With `-m`, ` remapped to <new>` follows; a requested name holding that text is cut.
        let file = file
            .split_once(" remapped to ")
            .map_or(file, |(file, _)| file);
        let Some(ip) = client_ip(ip)? else {
            return Ok(None);
        };
        return Ok(tftp(ip, file, TftpOutcome::Requested));
    }
    if let Some(rest) = message.strip_prefix("sending NAK (") {
        let expected = "expected \"sending NAK (<code>, <text>) to <ip>\"";
        let (code, rest) = rest.split_once(", ").ok_or(expected)?;
        let code: u16 = code
            .parse()
            .map_err(|_| format!("bad nak code {:?}", truncate(code)))?;
        let (_text, ip) = rest.rsplit_once(") to ").ok_or(expected)?;
        let Some(ip) = client_ip(ip)? else {
            return Ok(None);
        };
        let outcome = if code == 1 {
            TftpOutcome::NotFound
        } else {
            TftpOutcome::Denied
        };
        return Ok(tftp(ip, "", outcome));
    }
    if let Some(rest) = message.strip_prefix("Serving ") {
        // atftpd: `Serving <file> to <ip>:<port>`.
        let cut = message.len() >= ATFTPD_CUT_THRESHOLD;
        let parsed = rest.rsplit_once(" to ").and_then(|(file, address)| {
            let (ip, port) = address.rsplit_once(':')?;
            port.parse::<u16>().ok().map(|_| (file, ip))
        });
        let (file, ip) = match parsed {
            Some(parsed) => parsed,
            None if cut => return Ok(None),
            None => return Err("expected \"Serving <file> to <ip>:<port>\"".to_string()),
        };
        return match client_ip(ip) {
            Ok(Some(ip)) => Ok(tftp(ip, file, TftpOutcome::Requested)),
            Ok(None) => Ok(None),
            Err(_) if cut => Ok(None),
            Err(err) => Err(err),
        };
    }
    // `WRQ from`, `Fetching from`, `File … not found`, `timeout block …`, startup lines.
    Ok(None)
}

/// The client's IPv4 address; `None` for an IPv6 client, which cannot be a phone we serve.
fn client_ip(text: &str) -> Result<Option<Ipv4Addr>, String> {
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => Ok(Some(ip)),
        Ok(IpAddr::V6(ip)) => Ok(ip.to_ipv4_mapped()),
        Err(_) => Err(format!("bad client address {:?}", truncate(text))),
    }
}

/// At most 40 characters of untrusted text, for error messages.
fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-21T12:00:00Z, the afternoon of the capture day.
    const NOW: i64 = 1_795_262_400;
    const PHONE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 151);

    fn roots() -> Vec<String> {
        vec!["/srv/tftp".to_string()]
    }

    fn tftp(ip: Ipv4Addr, file: &str, outcome: TftpOutcome, time: i64) -> Option<LogRecord> {
        Some(LogRecord::Tftp(TftpSeen {
            ip,
            file: file.to_string(),
            outcome,
            time,
        }))
    }

    fn ack(mac: &str, ip: Ipv4Addr, hostname: Option<&str>, time: i64) -> Option<LogRecord> {
        Some(LogRecord::DhcpAck {
            lease: LeaseSeen {
                mac: mac.parse().unwrap(),
                ip,
                hostname: hostname.map(str::to_string),
                vendor_class: None,
                time,
            },
            xid: None,
        })
    }

    fn with_xid(record: Option<LogRecord>, id: u32) -> Option<LogRecord> {
        match record {
            Some(LogRecord::DhcpAck { lease, .. }) => Some(LogRecord::DhcpAck {
                lease,
                xid: Some(id),
            }),
            other => other,
        }
    }

    #[track_caller]
    fn check_with(roots: &[String], line: &str, want: Result<Option<LogRecord>, &str>) {
        let ctx = Context {
            now: NOW,
            tftp_roots: roots,
            ..Default::default()
        };
        let got = parse_line(line, &ctx);
        assert_eq!(got, want.map_err(str::to_string), "line {line:?}");
    }

    #[track_caller]
    fn check(line: &str, want: Result<Option<LogRecord>, &str>) {
        check_with(&roots(), line, want);
    }

    /// Unix seconds of 2026-11-21 at the given UTC time.
    fn at(hour: i64, minute: i64, second: i64) -> i64 {
        1_795_219_200 + hour * 3600 + minute * 60 + second
    }

    #[test]
    fn dnsmasq_tftp_lines() {
        use TftpOutcome::*;
        let t = at(8, 14, 29);
        let rows: &[(&str, Result<Option<LogRecord>, &str>)] = &[
            ("Nov 21 08:14:29 dnsmasq-tftp[25848]: sent /srv/tftp/term41.default.loads to 198.18.0.151",
                Ok(tftp(PHONE, "term41.default.loads", Sent, t))),
            ("Nov 21 08:14:29 dnsmasq-tftp[25848]: file /srv/tftp/SEP001B0C18BDC1.cnf.xml not found for 198.18.0.151",
                Ok(tftp(PHONE, "SEP001B0C18BDC1.cnf.xml", NotFound, t))),
            ("Nov 21 08:14:29 dnsmasq-tftp[25848]: failed sending /srv/tftp/SCCP41.9-4-2SR3-1S.sbn to 198.18.0.151",
                Ok(tftp(PHONE, "SCCP41.9-4-2SR3-1S.sbn", Failed, t))),
            // The request `/etc/passwd` arrives without its leading slash.
            ("Nov 21 08:14:29 dnsmasq-tftp[25848]: file /srv/tftp/etc/passwd not found for 198.18.0.151",
                Ok(tftp(PHONE, "etc/passwd", NotFound, t))),
            // Lines without an address or without a file.
            ("Nov 21 08:14:29 dnsmasq-tftp[25848]: cannot access /srv/tftp/../../etc/passwd: Permission denied", Ok(None)),
            ("Nov 21 08:14:29 dnsmasq-tftp[25848]: cannot access /srv/tftp/private.cfg: Permission denied", Ok(None)),
            ("Nov 21 08:14:29 dnsmasq-tftp[25848]: unsupported request from 198.18.0.151", Ok(None)),
            ("Nov 21 08:14:29 dnsmasq-tftp[25848]: error 0 Phone aborted transfer received from 198.18.0.151", Ok(None)),
            ("Nov 21 08:14:29 dnsmasq-tftp[25848]: TFTP root is /srv/tftp  ", Ok(None)),
            // Constructed: spaces in the name, a root that does not match, the syslog form.
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: file /srv/tftp/a b to c not found for 198.18.0.151",
                Ok(tftp(PHONE, "a b to c", NotFound, t))),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: sent /srv/tftp/a to b to 198.18.0.151",
                Ok(tftp(PHONE, "a to b", Sent, t))),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: sent /var/lib/tftpboot/phones/OS79XX.TXT to 198.18.0.151",
                Ok(tftp(PHONE, "OS79XX.TXT", Sent, t))),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: sent OS79XX.TXT to 198.18.0.151",
                Ok(tftp(PHONE, "OS79XX.TXT", Sent, t))),
            ("2026-11-21T08:14:29.1+00:00 router dnsmasq-tftp[1]: sent /srv/tftp/x to 198.18.0.151",
                Ok(tftp(PHONE, "x", Sent, t))),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: file /srv/tftp/é not found for 1.2.3.4",
                Ok(tftp(Ipv4Addr::new(1, 2, 3, 4), "é", NotFound, t))),
            // Constructed: IPv6 clients are not ours; bad lines are errors.
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: sent /srv/tftp/x to fe80::1", Ok(None)),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: sent /srv/tftp/x to ::ffff:198.18.0.151",
                Ok(tftp(PHONE, "x", Sent, t))),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: sent /srv/tftp/x", Err("expected \"sent <path> to <ip>\"")),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: sent /srv/tftp/x to 198.18.0", Err("bad client address \"198.18.0\"")),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: failed sending /srv/tftp/x", Err("expected \"failed sending <path> to <ip>\"")),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: file /srv/tftp/x not found for nowhere", Err("bad client address \"nowhere\"")),
            ("Nov 21 08:14:29 dnsmasq-tftp[1]: file /srv/tftp/x too large", Ok(None)),
        ];
        for (line, want) in rows {
            check(line, want.clone());
        }
    }

    #[test]
    fn tftp_roots() {
        use TftpOutcome::Sent;
        let line =
            "Nov 21 08:14:29 dnsmasq-tftp[1]: sent /srv/tftp/phones/SEP.cnf.xml to 198.18.0.151";
        let t = at(8, 14, 29);
        let with = |roots: &[&str], want: &str| {
            let roots: Vec<String> = roots.iter().map(|root| root.to_string()).collect();
            check_with(&roots, line, Ok(tftp(PHONE, want, Sent, t)));
        };
        with(&[], "SEP.cnf.xml");
        with(&["/srv/tftp"], "phones/SEP.cnf.xml");
        with(&["/srv/tftp/"], "phones/SEP.cnf.xml");
        with(&["/srv/tftp", "/srv/tftp/phones"], "SEP.cnf.xml");
        with(&["/srv/tftp/phones", "/srv/tftp"], "SEP.cnf.xml");
        with(&["/srv/tft"], "SEP.cnf.xml");
        with(&["/"], "srv/tftp/phones/SEP.cnf.xml");
    }

    /// dnsmasq 2.90 with `--tftp-unique-root=mac` (field-evidence.md §4: it serves
    /// `<root>/<mac>/<file>`) logs the client's directory in the path (these two lines were printed by dnsmasq 2.90-4~deb12u2 for a client with MAC
    /// 00:11:22:33:44:55 and root /tmp/urroot; `tests/e2e_unique_root.rs` runs it again).
    /// The phone asked for the name after the directory.
    #[test]
    fn unique_root_directories_are_dropped() {
        use TftpOutcome::{NotFound, Sent};
        let roots = vec!["/tmp/urroot".to_string()];
        let client = Ipv4Addr::new(198, 18, 99, 2);
        let t = at(8, 14, 29);
        check_with(
            &roots,
            "Nov 21 08:14:29 dnsmasq-tftp[2997]: sent /tmp/urroot/00-11-22-33-44-55/SEP001122334455.cnf.xml to 198.18.99.2",
            Ok(tftp(client, "SEP001122334455.cnf.xml", Sent, t)),
        );
        check_with(
            &roots,
            "Nov 21 08:14:29 dnsmasq-tftp[2997]: file /tmp/urroot/00-11-22-33-44-55/XMLDefault.cnf.xml not found for 198.18.99.2",
            Ok(tftp(client, "XMLDefault.cnf.xml", NotFound, t)),
        );
        // Only dnsmasq's spelling of a MAC is a unique-root directory.
        check_with(
            &roots,
            "Nov 21 08:14:29 dnsmasq-tftp[2997]: sent /tmp/urroot/Desktops/320x212/List.xml to 198.18.99.2",
            Ok(tftp(client, "Desktops/320x212/List.xml", Sent, t)),
        );
    }

    #[test]
    fn tftpd_hpa_lines() {
        use TftpOutcome::*;
        let client = Ipv4Addr::new(198, 18, 0, 100);
        let t = at(8, 18, 13);
        let rows: &[(&str, Result<Option<LogRecord>, &str>)] = &[
            ("2026-11-21T08:18:13.430451+00:00 router in.tftpd[27459]: RRQ from 198.18.0.100 filename private.cfg",
                Ok(tftp(client, "private.cfg", Requested, t))),
            ("2026-11-21T08:18:13.430534+00:00 router in.tftpd[27459]: sending NAK (0, Permission denied) to 198.18.0.100",
                Ok(tftp(client, "", Denied, t))),
            ("2026-11-21T08:18:13.105362+00:00 router in.tftpd[27454]: sending NAK (0, File name too long) to 198.18.0.100",
                Ok(tftp(client, "", Denied, t))),
            ("2026-11-21T08:18:13.756780+00:00 router in.tftpd[27464]: sending NAK (1, File not found) to 198.18.0.100",
                Ok(tftp(client, "", NotFound, t))),
            ("2026-11-21T08:18:13.756720+00:00 router in.tftpd[27464]: WRQ from 198.18.0.100 filename upload.txt", Ok(None)),
            // Hostile names, kept as requested (captures/isc-dhcpd/syslog).
            ("Nov 21 08:18:13 router in.tftpd[27444]: RRQ from 198.18.0.100 filename ../../etc/passwd",
                Ok(tftp(client, "../../etc/passwd", Requested, t))),
            ("Nov 21 08:18:13 router in.tftpd[27449]: RRQ from 198.18.0.100 filename /etc/passwd",
                Ok(tftp(client, "/etc/passwd", Requested, t))),
            // Without `-s`: NAK code 2 (formats.md section 3).
            ("Nov 21 08:18:13 router in.tftpd[1]: sending NAK (2, Only absolute filenames allowed) to 198.18.0.100",
                Ok(tftp(client, "", Denied, t))),
            ("Nov 21 08:18:13 router in.tftpd[1]: sending NAK (2, Forbidden directory) to 198.18.0.100",
                Ok(tftp(client, "", Denied, t))),
            // `-vvv -m`: the requested name is kept, the remapped one dropped.
            ("Nov 21 08:18:13 router in.tftpd[1]: RRQ from 198.18.0.41 filename SEP001B0C18BDC1.cnf.xml remapped to phones/SEP001B0C18BDC1.cnf.xml",
                Ok(tftp(Ipv4Addr::new(198, 18, 0, 41), "SEP001B0C18BDC1.cnf.xml", Requested, t))),
            ("Nov 21 08:18:13 router in.tftpd[1]: remap: input: SEP001B0C18BDC1.cnf.xml", Ok(None)),
            // The seed blog post, 2015.
            ("Dec 30 10:44:42 localhost in.tftpd[26017]: RRQ from 192.168.0.245 filename jar11sccp.8-5-2TH1-9.sbn",
                Ok(tftp(Ipv4Addr::new(192, 168, 0, 245), "jar11sccp.8-5-2TH1-9.sbn", Requested, 1_767_091_482))),
            // Constructed: names with spaces, rsyslog repeats, a v4-mapped client, errors.
            ("Nov 21 08:18:13 router in.tftpd[1]: RRQ from 198.18.0.100 filename a b",
                Ok(tftp(client, "a b", Requested, t))),
            ("Nov 21 08:18:13 router in.tftpd[1]: message repeated 2 times: [RRQ from 198.18.0.100 filename a]",
                Ok(tftp(client, "a", Requested, t))),
            ("Nov 21 08:18:13 router in.tftpd[1]: RRQ from ::ffff:198.18.0.100 filename a",
                Ok(tftp(client, "a", Requested, t))),
            ("Nov 21 08:18:13 router in.tftpd[1]: RRQ from 2001:db8::1 filename a", Ok(None)),
            ("Nov 21 08:18:13 router in.tftpd[1]: RRQ from 198.18.0.100", Err("expected \"RRQ from <ip> filename <file>\"")),
            ("Nov 21 08:18:13 router in.tftpd[1]: RRQ from 198.18.0.100 file a", Err("expected \"RRQ from <ip> filename <file>\"")),
            ("Nov 21 08:18:13 router in.tftpd[1]: RRQ from host filename a", Err("bad client address \"host\"")),
            ("Nov 21 08:18:13 router in.tftpd[1]: sending NAK (x, y) to 198.18.0.100", Err("bad nak code \"x\"")),
            ("Nov 21 08:18:13 router in.tftpd[1]: sending NAK (1, File not found)", Err("expected \"sending NAK (<code>, <text>) to <ip>\"")),
            // Another program's tag: ignored whatever it says.
            ("Nov 21 08:18:13 router cron[1]: RRQ from 198.18.0.100 filename a", Ok(None)),
        ];
        for (line, want) in rows {
            check(line, want.clone());
        }
    }

    #[test]
    fn tftpd_hpa_long_name() {
        // captures/isc-dhcpd/syslog: the 323-character name is logged in full.
        let name = format!("{}SEP001B0C18BDC1.cnf.xml", "A".repeat(300));
        let line = format!(
            "2026-11-21T08:18:13.105320+00:00 router in.tftpd[27454]: RRQ from 198.18.0.100 filename {name}"
        );
        let client = Ipv4Addr::new(198, 18, 0, 100);
        check(
            &line,
            Ok(tftp(client, &name, TftpOutcome::Requested, at(8, 18, 13))),
        );
    }

    #[test]
    fn atftpd_lines() {
        use TftpOutcome::*;
        let client = Ipv4Addr::new(198, 18, 0, 41);
        let t = at(8, 20, 39);
        let truncated = format!(
            "Nov 21 08:20:39 router atftpd[28892.140131057186496]: Serving {}",
            "A".repeat(ATFTPD_MESSAGE_MAX - "Serving ".len())
        );
        let cut_in_address = format!(
            "Nov 21 08:20:39 router atftpd[1.2]: Serving {} to 198.18.",
            "A".repeat(ATFTPD_MESSAGE_MAX - "Serving ".len() - " to 198.18.".len())
        );
        let rows: &[(&str, Result<Option<LogRecord>, &str>)] = &[
            ("Nov 21 08:20:39 router atftpd[28892.140131057186496]: Serving ../../etc/passwd to 198.18.0.41:54141",
                Ok(tftp(client, "../../etc/passwd", Requested, t))),
            ("Nov 21 08:20:39 router atftpd[28892.140131057186496]: Serving /etc/passwd to 198.18.0.41:51703",
                Ok(tftp(client, "/etc/passwd", Requested, t))),
            // The 323-character name, cut at 127 bytes (captures/atftpd/atftpd.log.1).
            (truncated.as_str(), Ok(None)),
            ("Nov 21 08:20:39 router atftpd[28892.140131057186496]: Fetching from 198.18.0.41 to upload.txt", Ok(None)),
            ("Nov 21 08:20:39 router atftpd[28892.140131057186496]: timeout block 0: retrying ...", Ok(None)),
            ("Nov 21 08:20:39 router atftpd[28892.140131057191808]: Advanced Trivial FTP server started (0.8.0)", Ok(None)),
            // Levels 6 and 7 (formats.md section 4.2).
            ("Nov 21 08:20:39 router atftpd[1.2]: File /srv/tftp/CTLSEP001B0C18BDC1.tlv not found", Ok(None)),
            ("Nov 21 08:20:39 router atftpd[1.2]: File name with /../ are forbidden", Ok(None)),
            ("Nov 21 08:20:39 router atftpd[1.2]: End of transfer", Ok(None)),
            // Syslog mode, and the Debian `in.tftpd` name.
            ("2026-11-21T08:20:39.295726+00:00 router atftpd[29382]: Serving CTLSEP001B0C18BDC1.tlv to 198.18.0.41:49520",
                Ok(tftp(client, "CTLSEP001B0C18BDC1.tlv", Requested, t))),
            ("Nov 21 08:20:39 router in.tftpd[29382]: Serving a to b.tlv to 198.18.0.41:49520",
                Ok(tftp(client, "a to b.tlv", Requested, t))),
            // Cut inside the address: ignored; short and malformed: an error.
            (cut_in_address.as_str(), Ok(None)),
            ("Nov 21 08:20:39 router atftpd[1.2]: Serving a to 198.18.0.41", Err("expected \"Serving <file> to <ip>:<port>\"")),
            ("Nov 21 08:20:39 router atftpd[1.2]: Serving a to 198.18.0:41", Err("bad client address \"198.18.0\"")),
            ("Nov 21 08:20:39 router atftpd[1.2]: Serving a to [fe80::1]:41", Err("bad client address \"[fe80::1]\"")),
            ("Nov 21 08:20:39 router atftpd[1.2]: Serving a to fe80::1:41", Ok(None)),
        ];
        for (line, want) in rows {
            check(line, want.clone());
        }
    }

    #[test]
    fn dhcp_lines() {
        let c1 = "00:1b:0c:18:bd:c1";
        let host = Some("SEP001B0C18BDC1");
        let t = at(8, 14, 23);
        let rows: &[(&str, Result<Option<LogRecord>, &str>)] = &[
            // dnsmasq, own file with `--log-dhcp` (captures/dnsmasq/dnsmasq.log.1).
            ("Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1 SEP001B0C18BDC1",
                Ok(with_xid(ack(c1, PHONE, host, t), 2_633_243_775))),
            ("Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 vendor class: Cisco Systems, Inc. IP Phone CP-7941G",
                Ok(Some(LogRecord::DhcpVendorClass { xid: 2_633_243_775, vendor_class: "Cisco Systems, Inc. IP Phone CP-7941G".to_string() }))),
            ("Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 DHCPOFFER(br0) 198.18.0.151 00:1b:0c:18:bd:c1 ", Ok(None)),
            ("Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 client provides name: SEP001B0C18BDC1", Ok(None)),
            ("Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 sent size: 15 option: 12 hostname  SEP001B0C18BDC1", Ok(None)),
            ("Nov 21 08:14:23 dnsmasq-dhcp[25848]: DHCP, IP range 198.18.0.100 -- 198.18.0.199, lease time 1h", Ok(None)),
            // dnsmasq through rsyslog, default logging (formats.md 1.1, 1.2).
            ("2026-11-21T08:14:23.352543+00:00 router dnsmasq-dhcp[26562]: DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1 SEP001B0C18BDC1",
                Ok(ack(c1, PHONE, host, t))),
            // OpenWrt logread (formats.md 8.1).
            ("Fri Nov  6 10:10:08 2020 daemon.info dnsmasq-dhcp[4703]: DHCPACK(eth0) 192.168.100.132 4c:cc:6a:4f:2d:06 G00R00",
                Ok(ack("4c:cc:6a:4f:2d:06", Ipv4Addr::new(192, 168, 100, 132), Some("G00R00"), 1_604_657_408))),
            // Constructed: no hostname (trailing space), a long hardware address, bad fields.
            ("Nov 21 08:14:23 dnsmasq-dhcp[1]: DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1 ", Ok(ack(c1, PHONE, None, t))),
            ("Nov 21 08:14:23 dnsmasq-dhcp[1]: DHCPACK(ib0) 198.18.0.151 80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:f5:01 x", Ok(None)),
            ("Nov 21 08:14:23 dnsmasq-dhcp[1]: vendor class: x", Ok(None)),
            ("Nov 21 08:14:23 dnsmasq-dhcp[1]: 99999999999 vendor class: x", Ok(None)),
            ("Nov 21 08:14:23 dnsmasq-dhcp[1]: DHCPACK(br0)", Err("expected \"DHCPACK(<iface>) <ip> <mac>\"")),
            ("Nov 21 08:14:23 dnsmasq-dhcp[1]: DHCPACK(br0) 198.18.0.999 00:1b:0c:18:bd:c1 x", Err("bad ipv4 address \"198.18.0.999\"")),
            ("Nov 21 08:14:23 dnsmasq-dhcp[1]: DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd x", Err("invalid mac address \"00:1b:0c:18:bd\"")),
            // ISC dhcpd (captures/isc-dhcpd/syslog).
            ("2026-11-21T08:14:23.029332+00:00 router dhcpd[27240]: DHCPACK on 198.18.0.151 to 00:1b:0c:18:bd:c1 (SEP001B0C18BDC1) via br0",
                Ok(ack(c1, PHONE, host, t))),
            ("2026-11-21T08:14:23.013794+00:00 router dhcpd[27240]: DHCPOFFER on 198.18.0.100 to 00:1b:0c:18:bd:c1 (SEP001B0C18BDC1) via br0", Ok(None)),
            ("2026-11-21T08:14:23.362992+00:00 router dhcpd[27240]: DHCPREQUEST for 198.18.0.100 from 00:1b:0c:18:bd:c1 (SEP001B0C18BDC1) via br0", Ok(None)),
            ("2026-11-21T08:14:23.024534+00:00 router dhcpd[27240]: execute_statement argv[8] = ", Ok(None)),
            // Constructed: no hostname, `binary-to-ascii` MAC, relay, INFORM, odd hostnames.
            ("Nov 21 08:14:23 router dhcpd[1]: DHCPACK on 198.18.0.151 to 0:1b:c:18:bd:c1 via br0", Ok(ack(c1, PHONE, None, t))),
            ("Nov 21 08:14:23 router dhcpd[1]: DHCPACK on 198.18.0.151 to 00:1b:0c:18:bd:c1 (SEP) via 10.0.0.1", Ok(ack(c1, PHONE, Some("SEP"), t))),
            ("Nov 21 08:14:23 router dhcpd[1]: DHCPACK on 198.18.0.151 to 00:1b:0c:18:bd:c1 (a) via b) via br0", Ok(ack(c1, PHONE, Some("a) via b"), t))),
            ("Nov 21 08:14:23 router dhcpd[1]: DHCPACK on 198.18.0.151 to 00:1b:0c:18:bd:c1 () via br0", Ok(ack(c1, PHONE, None, t))),
            ("Nov 21 08:14:23 router dhcpd[1]: DHCPACK to 198.18.0.151 (00:1b:0c:18:bd:c1) via br0", Ok(None)),
            ("Nov 21 08:14:23 router dhcpd[1]: DHCPACK on 198.18.0.151 to 00:1b:0c:18:bd:c1", Err("expected \"DHCPACK on <ip> to <mac> [(<hostname>) ]via <interface>\"")),
            ("Nov 21 08:14:23 router dhcpd[1]: DHCPACK on 198.18.0.151 to 00:1b:0c:18:bd:c1 (SEP via br0", Err("expected \"DHCPACK on <ip> to <mac> [(<hostname>) ]via <interface>\"")),
            // Kea's own file (captures/kea/kea-dhcp4.log).
            ("2026-11-21 08:14:23.401 INFO  [kea-dhcp4.leases/29606.140084106318336] DHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], cid=[01:00:1b:0c:18:bd:c1], tid=0xa584152e: lease 198.18.0.151 has been allocated for 3600 seconds",
                Ok(ack(c1, PHONE, None, t))),
            ("2026-11-21 08:14:23.369 INFO  [kea-dhcp4.leases/29606.140084106318336] DHCP4_LEASE_ADVERT [hwtype=1 00:1b:0c:18:bd:c1], cid=[01:00:1b:0c:18:bd:c1], tid=0xa584152e: lease 198.18.0.100 will be advertised", Ok(None)),
            ("2026-11-21 08:14:23.622 INFO  [kea-dhcp4.leases/29606.140084106318336] DHCP4_RELEASE [hwtype=1 00:1b:0c:18:bd:c1], cid=[01:00:1b:0c:18:bd:c1], tid=0x3447874: address 198.18.0.100 was released properly.", Ok(None)),
            ("2026-11-21 08:14:23.840 INFO  [kea-dhcp4.dhcpsrv/29606.140084106318336] DHCPSRV_MEMFILE_LFC_START starting Lease File Cleanup", Ok(None)),
            // Constructed: a reused lease, Kea through syslog and journald, no hwaddr, errors.
            ("2026-11-21 08:14:23.769 INFO  [kea-dhcp4.leases/1.2] DHCP4_LEASE_REUSE [hwtype=1 00:1b:0c:18:bd:c1], cid=[01:00:1b:0c:18:bd:c1], tid=0xa918cb8b: lease 198.18.0.151 has been reused for 3596 seconds",
                Ok(ack(c1, PHONE, None, t))),
            ("Nov 21 08:14:23 router kea-dhcp4[29606]: INFO  [kea-dhcp4.leases.140084106318336] DHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], cid=[no info], tid=0x1: lease 198.18.0.151 has been allocated for 3600 seconds",
                Ok(ack(c1, PHONE, None, t))),
            ("Nov 21 08:14:23 router kea-dhcp4[29606]: 2026-11-21 08:14:23.401 INFO  [kea-dhcp4.leases/29606.1] DHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], cid=[no info], tid=0x1: lease 198.18.0.151 has been allocated for 3600 seconds",
                Ok(ack(c1, PHONE, None, t))),
            ("2026-11-21 08:14:23.401 INFO  [kea-dhcp4.leases/1.2] DHCP4_LEASE_ALLOC [no hwaddr info], cid=[01:02], tid=0x1: lease 198.18.0.151 has been allocated for 3600 seconds", Ok(None)),
            ("2026-11-21 08:14:23.401 INFO  [kea-dhcp4.leases/1.2] XDHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], x: lease 198.18.0.151 has", Ok(None)),
            ("2026-11-21 08:14:23.401 INFO  [kea-dhcp4.leases/1.2] DHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], tid=0x1", Err("expected \"[hwtype=<n> <mac>], …: lease <ip> …\"")),
            ("2026-11-21 08:14:23.401 INFO  [kea-dhcp4.leases/1.2] DHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], tid=0x1: lease x has", Err("bad ipv4 address \"x\"")),
            ("2026-11-21 08:14:23.401 INFO  [kea-dhcp6.leases/1.2] DHCP6_LEASE_ALLOC duid=[00:01], tid=0x1: lease 2001:db8::1 has", Ok(None)),
        ];
        for (line, want) in rows {
            check(line, want.clone());
        }
    }

    /// Reads a captured log from tests/data/logs.
    fn read(name: &str) -> String {
        crate::parse::testing::read("tests/data/logs", name)
    }

    /// Parses a captured file and renders each record as one short line.
    fn summary(name: &str) -> Vec<String> {
        let roots = roots();
        let ctx = Context {
            now: NOW,
            tftp_roots: &roots,
            ..Default::default()
        };
        let parsed = parse_text(&read(name), &ctx);
        assert!(parsed.errors.is_empty(), "{name}: {:?}", parsed.errors);
        parsed.items.iter().map(render).collect()
    }

    fn render(record: &LogRecord) -> String {
        match record {
            LogRecord::Tftp(t) => format!("tftp {} {:?} {}", t.ip, t.file, t.outcome.as_str()),
            LogRecord::DhcpAck { lease: l, .. } => {
                format!(
                    "ack {} {} {}",
                    l.mac,
                    l.ip,
                    l.hostname.as_deref().unwrap_or("-")
                )
            }
            LogRecord::DhcpVendorClass { xid, vendor_class } => {
                format!("vendor {xid} {vendor_class}")
            }
        }
    }

    #[test]
    fn captured_dnsmasq_log() {
        let vc = |xid: &str, model: &str| {
            format!("vendor {xid} Cisco Systems, Inc. IP Phone CP-{model}")
        };
        let c1 = "ack 001B0C18BDC1 198.18.0.151 SEP001B0C18BDC1";
        let c2 = "ack 001B0C18BDC2 198.18.0.152 SEP001B0C18BDC2";
        let mut want = vec![vc("2633243775", "7941G"); 3];
        want.push(c1.to_string());
        want.extend(vec![vc("4118645815", "7940G"); 2]);
        want.push(c2.to_string());
        want.extend(
            [
                "tftp 198.18.0.151 \"CTLSEP001B0C18BDC1.tlv\" not found",
                "tftp 198.18.0.151 \"ITLSEP001B0C18BDC1.tlv\" not found",
                "tftp 198.18.0.151 \"term41.default.loads\" sent",
                "tftp 198.18.0.151 \"SEP001B0C18BDC1.cnf.xml\" not found",
                "tftp 198.18.0.151 \"SEP001B0C18BDC1.cnf.xml\" sent",
                "tftp 198.18.0.151 \"XMLDefault.cnf.xml\" sent",
                "tftp 198.18.0.152 \"OS79XX.TXT\" sent",
                "tftp 198.18.0.152 \"SIPDefault.cnf\" sent",
                "tftp 198.18.0.152 \"SIP001B0C18BDC2.cnf\" sent",
                "tftp 198.18.0.152 \"RINGLIST.DAT\" not found",
                // `../../etc/passwd`, the 323-character name, private.cfg and the WRQ leave
                // lines without an address or file; `/etc/passwd` arrives as `etc/passwd`.
                "tftp 198.18.0.151 \"etc/passwd\" not found",
                "tftp 198.18.0.151 \"term41.default.loads\" sent",
                // The client abort, then the client that stopped ACKing.
                "tftp 198.18.0.151 \"SCCP41.9-4-2SR3-1S.sbn\" failed",
                "tftp 198.18.0.151 \"SCCP41.9-4-2SR3-1S.sbn\" failed",
                "tftp 198.18.0.151 \"term41.default.loads\" sent",
                "tftp 198.18.0.152 \"OS79XX.TXT\" sent",
                "tftp 198.18.0.152 \"SIPDefault.cnf\" sent",
                "tftp 198.18.0.151 \"CTLSEP001B0C18BDC1.tlv\" not found",
            ]
            .map(str::to_string),
        );
        want.push(vc("2633243775", "7941G"));
        want.push(c1.to_string());
        want.push(vc("3417249564", "7940G"));
        want.push(c2.to_string());
        // A release from dhclient repeats the vendor class; udhcpc's does not.
        want.push(vc("1216922732", "7940G"));
        want.extend(vec![vc("4240303681", "7941G"); 3]);
        want.push(c1.to_string());
        assert_eq!(summary("dnsmasq/dnsmasq.log.1"), want);
        // After copytruncate rotation.
        assert_eq!(
            summary("dnsmasq/dnsmasq.log.2"),
            ["tftp 198.18.0.151 \"term41.default.loads\" sent"]
        );
        assert_eq!(
            summary("dnsmasq/dnsmasq.log"),
            ["tftp 198.18.0.151 \"OS79XX.TXT\" sent"]
        );
    }

    #[test]
    fn captured_dnsmasq_times() {
        let roots = roots();
        let ctx = Context {
            now: NOW,
            tftp_roots: &roots,
            ..Default::default()
        };
        let parsed = parse_text(&read("dnsmasq/dnsmasq.log.1"), &ctx);
        let time = |record: &LogRecord| match record {
            LogRecord::Tftp(t) => Some(t.time),
            LogRecord::DhcpAck { lease: l, .. } => Some(l.time),
            LogRecord::DhcpVendorClass { .. } => None,
        };
        let times: Vec<i64> = parsed.items.iter().filter_map(time).collect();
        assert_eq!(times.first(), Some(&at(8, 14, 23)));
        assert_eq!(times.last(), Some(&at(8, 16, 1)));
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
    }

    /// The captures were written with the machine clock in UTC; read on a box in New York
    /// (tzdata's TZif file, a copy in tests/data/zoneinfo), every zone-less stamp lands five
    /// hours later (EST) and the RFC 3339 stamps, which carry `+00:00`, do not move.
    #[test]
    fn captured_logs_in_new_york_time() {
        let roots = roots();
        let new_york = crate::localtime::LocalZone::from_tzif(
            include_bytes!("../../tests/data/zoneinfo/America/New_York"),
            "test",
        )
        .unwrap();
        let utc = Context {
            now: NOW,
            tftp_roots: &roots,
            ..Default::default()
        };
        let local = Context {
            zone: &new_york,
            ..utc
        };
        let times = |name: &str, ctx: &Context| -> Vec<i64> {
            let parsed = parse_text(&read(name), ctx);
            assert!(parsed.errors.is_empty(), "{name}: {:?}", parsed.errors);
            parsed
                .items
                .iter()
                .filter_map(|record| match record {
                    LogRecord::Tftp(t) => Some(t.time),
                    LogRecord::DhcpAck { lease: l, .. } => Some(l.time),
                    LogRecord::DhcpVendorClass { .. } => None,
                })
                .collect()
        };
        for (name, shift) in [
            ("dnsmasq/dnsmasq.log.1", 5 * 3600),
            ("isc-dhcpd/syslog.traditional", 5 * 3600),
            ("atftpd/atftpd.log.1", 5 * 3600),
            ("kea/kea-dhcp4.log", 5 * 3600),
            ("isc-dhcpd/syslog", 0),
        ] {
            let in_utc = times(name, &utc);
            let in_new_york = times(name, &local);
            assert!(!in_utc.is_empty(), "{name}");
            let shifted: Vec<i64> = in_utc.iter().map(|time| time + shift).collect();
            assert_eq!(in_new_york, shifted, "{name}");
        }
        // dnsmasq.log.1's first DHCPACK, `Nov 21 08:14:23`, is 13:14:23Z
        // (`TZ=America/New_York date -d '2026-11-21 08:14:23' +%s`).
        assert_eq!(
            times("dnsmasq/dnsmasq.log.1", &local).first(),
            Some(&1_795_266_863)
        );
    }

    #[test]
    fn captured_isc_syslog() {
        let c1 = "ack 001B0C18BDC1 198.18.0.100 SEP001B0C18BDC1";
        let c2 = "ack 001B0C18BDC2 198.18.0.101 SEP001B0C18BDC2";
        let rrq = |ip: &str, file: &str| format!("tftp 198.18.0.{ip} {file:?} requested");
        let nak = |ip: &str, outcome: &str| format!("tftp 198.18.0.{ip} \"\" {outcome}");
        let long = format!("{}SEP001B0C18BDC1.cnf.xml", "A".repeat(300));
        let want = vec![
            c1.to_string(),
            c2.to_string(),
            rrq("100", "CTLSEP001B0C18BDC1.tlv"),
            nak("100", "not found"),
            rrq("100", "ITLSEP001B0C18BDC1.tlv"),
            nak("100", "not found"),
            rrq("100", "term41.default.loads"),
            rrq("100", "SEP001B0C18BDC1.cnf.xml"),
            nak("100", "not found"),
            rrq("100", "SEP001B0C18BDC1.cnf.xml"),
            rrq("100", "XMLDefault.cnf.xml"),
            rrq("101", "OS79XX.TXT"),
            rrq("101", "SIPDefault.cnf"),
            rrq("101", "SIP001B0C18BDC2.cnf"),
            rrq("101", "RINGLIST.DAT"),
            nak("101", "not found"),
            rrq("100", "../../etc/passwd"),
            nak("100", "not found"),
            rrq("100", "/etc/passwd"),
            nak("100", "not found"),
            rrq("100", &long),
            nak("100", "denied"),
            rrq("100", "private.cfg"),
            nak("100", "denied"),
            // The WRQ gives nothing; its NAK looks like any other.
            nak("100", "not found"),
            rrq("100", "term41.default.loads"),
            rrq("100", "SCCP41.9-4-2SR3-1S.sbn"),
            rrq("100", "SCCP41.9-4-2SR3-1S.sbn"),
            rrq("100", "term41.default.loads"),
            rrq("101", "OS79XX.TXT"),
            rrq("101", "SIPDefault.cnf"),
            rrq("100", "CTLSEP001B0C18BDC1.tlv"),
            nak("100", "not found"),
            // A renew within 25% of the lease is still ACKed in the log.
            c1.to_string(),
            c2.to_string(),
            c1.to_string(),
        ];
        assert_eq!(summary("isc-dhcpd/syslog"), want);
    }

    #[test]
    fn captured_isc_syslog_traditional_matches_rfc3339() {
        // Same run, two rsyslog templates: the same records at the same whole seconds.
        let roots = roots();
        let ctx = Context {
            now: NOW,
            tftp_roots: &roots,
            ..Default::default()
        };
        let rfc3339 = parse_text(&read("isc-dhcpd/syslog"), &ctx);
        let traditional = parse_text(&read("isc-dhcpd/syslog.traditional"), &ctx);
        assert_eq!(traditional.items.len(), 36);
        assert_eq!(traditional, rfc3339);
    }

    #[test]
    fn captured_atftpd_log() {
        let serving = |ip: &str, file: &str| format!("tftp 198.18.0.{ip} {file:?} requested");
        let want = vec![
            serving("41", "CTLSEP001B0C18BDC1.tlv"),
            serving("41", "ITLSEP001B0C18BDC1.tlv"),
            serving("41", "term41.default.loads"),
            serving("41", "SEP001B0C18BDC1.cnf.xml"),
            serving("41", "SEP001B0C18BDC1.cnf.xml"),
            serving("41", "XMLDefault.cnf.xml"),
            serving("42", "OS79XX.TXT"),
            serving("42", "SIPDefault.cnf"),
            serving("42", "SIP001B0C18BDC2.cnf"),
            serving("42", "RINGLIST.DAT"),
            serving("41", "../../etc/passwd"),
            serving("41", "/etc/passwd"),
            // The 323-character name was cut at 127 bytes: no record. The WRQ: none.
            serving("41", "private.cfg"),
            serving("41", "term41.default.loads"),
            serving("41", "SCCP41.9-4-2SR3-1S.sbn"),
            serving("41", "SCCP41.9-4-2SR3-1S.sbn"),
            serving("41", "term41.default.loads"),
            serving("42", "OS79XX.TXT"),
            serving("42", "SIPDefault.cnf"),
            serving("41", "CTLSEP001B0C18BDC1.tlv"),
        ];
        assert_eq!(summary("atftpd/atftpd.log.1"), want);
        assert_eq!(
            summary("atftpd/atftpd.log"),
            [serving("41", "term41.default.loads")]
        );
    }

    #[test]
    fn captured_kea_log() {
        let c1 = |ip: &str| format!("ack 001B0C18BDC1 198.18.0.{ip} -");
        let c2 = "ack 001B0C18BDC2 198.18.0.101 -".to_string();
        // The hostname is not in Kea's INFO lines; after the release phone 1 got .102.
        let want = vec![c1("100"), c2.clone(), c1("100"), c2, c1("102")];
        assert_eq!(summary("kea/kea-dhcp4.log"), want);
        // DEBUG packet dumps with their continuation lines: nothing, and no error.
        assert_eq!(
            summary("kea/kea-dhcp4-packets-debug.log"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn never_panics() {
        let roots = roots();
        let ctx = Context {
            now: NOW,
            tftp_roots: &roots,
            ..Default::default()
        };
        let run = |line: &str| {
            let _ = parse_line(line, &ctx);
            let _ = syslog::split(line, NOW, ctx.zone);
        };
        let real = [
            "Nov 21 08:14:31 dnsmasq-tftp[25848]: file /srv/tftp/RINGLIST.DAT not found for 198.18.0.152",
            "Nov 21 08:14:29 dnsmasq-tftp[25848]: sent /srv/tftp/term41.default.loads to 198.18.0.151",
            "Nov 21 08:14:33 dnsmasq-tftp[25848]: failed sending /srv/tftp/SCCP41.9-4-2SR3-1S.sbn to 198.18.0.151",
            "Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1 SEP001B0C18BDC1",
            "Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 vendor class: Cisco Systems, Inc. IP Phone CP-7941G",
            "2026-11-21T08:18:09.198465+00:00 router in.tftpd[27389]: sending NAK (1, File not found) to 198.18.0.100",
            "2026-11-21T08:18:09.198444+00:00 router in.tftpd[27389]: RRQ from 198.18.0.100 filename CTLSEP001B0C18BDC1.tlv remapped to x",
            "2026-11-21T08:18:06.029332+00:00 router dhcpd[27240]: DHCPACK on 198.18.0.100 to 00:1b:0c:18:bd:c1 (SEP001B0C18BDC1) via br0",
            "Nov 21 08:20:35 router atftpd[28892.140131057186496]: Serving CTLSEP001B0C18BDC1.tlv to 198.18.0.41:60111",
            "2026-11-21 08:22:56.401 INFO  [kea-dhcp4.leases/29606.140084106318336] DHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], cid=[01:00:1b:0c:18:bd:c1], tid=0xa584152e: lease 198.18.0.100 has been allocated for 3600 seconds",
            "Fri Nov  6 10:10:08 2020 [1604657408.123] daemon.info dnsmasq-dhcp[4703]: DHCPACK(eth0) 192.168.100.132 4c:cc:6a:4f:2d:06 G00R00",
            "Nov 21 08:18:13 router in.tftpd[1]: message repeated 2 times: [RRQ from 198.18.0.100 filename a]",
        ];
        for line in real {
            run(line);
            for (cut, _) in line.char_indices() {
                run(&line[..cut]);
                run(&line[cut..]);
            }
            for cut in 0..line.len() {
                for wide in ["é", "€", "𝄞", "\0", " ", "]", ":"] {
                    run(&format!("{}{wide}{}", &line[..cut], &line[cut + 1..]));
                    run(&format!("{}{wide}{}", &line[..cut], &line[cut..]));
                }
            }
        }
        for line in [
            "",
            " ",
            "        ",
            "\0",
            "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            "Nov 21 08:14:23 dnsmasq-tftp[1]: file /srv/tftp/é not found for 1.2.3.4",
            "Nov 21 08:14:23 dnsmasq-tftp[1]: file /srv/tftp/\0 not found for 1.2.3.4",
            "Nov 21 08:14:23 dnsmasq-tftp[1]: sent é to é",
            "Nov 21 08:14:23 dnsmasq-dhcp[1]: é DHCPACK(é) é é é",
            "Nov 21 08:14:23 router dhcpd[1]: DHCPACK on é to é (é",
            "Nov 21 08:14:23 router in.tftpd[1]: sending NAK (é, é) to é",
            "2026-11-21 08:22:56.401 INFO  [kea-dhcp4/1] DHCP4_LEASE_ALLOC [hwtype=é é]: lease é",
            "2026-11-21 08:22:56.401 INFO  [kea-dhcp4/1] éDHCP4_LEASE_ALLOC",
            "Ã©Nov 21 08:14:23 é[é]: é",
        ] {
            run(line);
        }
        // A 1 MB line of each kind, and one with no spaces at all.
        let mega = "A".repeat(1 << 20);
        run(&mega);
        run(&format!(
            "Nov 21 08:14:23 dnsmasq-tftp[1]: sent /srv/tftp/{mega} to 1.2.3.4"
        ));
        run(&format!(
            "Nov 21 08:14:23 dnsmasq-tftp[1]: sent /srv/tftp/{mega}"
        ));
        run(&format!(
            "Nov 21 08:18:13 router in.tftpd[1]: RRQ from 1.2.3.4 filename {mega}"
        ));
        run(&format!(
            "Nov 21 08:20:39 router atftpd[1.2]: Serving {mega}"
        ));
        run(&format!(
            "Nov 21 08:14:23 dnsmasq-dhcp[1]: {}",
            "1".repeat(1 << 20)
        ));
        // Random splices of fragments (a fixed xorshift sequence, so failures reproduce).
        #[rustfmt::skip]
        let fragments = [
            "Nov", "Fri", " ", "  ", "21", "1", ":", "08:14:23", "2026-11-21", "T", " 08:22:56.401",
            "+00:00", "+0000", "Z", ".5", "[", "]", "]: ", "/", "<30>", "router", "daemon.info",
            "dnsmasq-tftp", "dnsmasq-dhcp", "in.tftpd", "atftpd", "dhcpd", "kea-dhcp4.leases",
            "INFO  ", "sent ", "failed sending ", "file ", " not found for ", " to ", "RRQ from ",
            " filename ", "sending NAK (", ", ", ") to ", "Serving ", "DHCPACK(", "DHCPACK on ",
            "DHCP4_LEASE_ALLOC ", "[hwtype=1 ", ": lease ", "vendor class: ", "1.2.3.4",
            "::ffff:1.2.3.4", "00:1b:0c:18:bd:c1", "é", "𝄞", "\0", "2633243775 ",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut line = String::new();
            for _ in 0..next() % 16 {
                line.push_str(fragments[(next() % fragments.len() as u64) as usize]);
            }
            run(&line);
        }
    }
}
