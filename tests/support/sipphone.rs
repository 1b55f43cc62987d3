//! A SIP user agent that behaves on the wire like a Cisco 79xx phone on SIP firmware, so that
//! the end-to-end tests can register it with a real Asterisk 22 (PJSIP), place a call through
//! it, and see what the PBX sends back (qualify OPTIONS, incoming INVITEs, message-waiting
//! NOTIFYs).
//!
//! It is deliberately *not* a correct RFC 3261 agent: the failures the tests are about come
//! from the firmware's quirks, so the quirks are reproduced exactly.
//!
//! - **UDP: requests leave from an ephemeral port, everything is received on 5060.** A 7970 on
//!   SIP70.8-4-2S sends REGISTER from an ephemeral source port (50933 in the capture) while its
//!   `Via` says `SIP/2.0/UDP <ip>:5060;branch=z9hG4bK…` without `rport`, and it listens on 5060
//!   only; a server that answered to the source port never got that phone registered
//!   (drachtio/drachtio-server issue 374). So [`SipPhone`] has two UDP sockets: one bound to
//!   `<local_ip>:<listen_port>` that receives (and answers) everything, and one bound to
//!   `<local_ip>:0` that only *sends* the phone's requests (REGISTER, INVITE, ACK, BYE).
//!   Whatever arrives on the ephemeral socket is never processed, as the firmware never sees
//!   it, but is kept as "stray" text ([`SipPhone::stray`]) so that a test can assert that the
//!   PBX sent nothing there. Responses to the PBX's requests leave from the 5060 socket to the
//!   source address of the request.
//! - **TCP: one connection, reused both ways.** usecallmanager.nz (`sepmac-cnf-xml.html`,
//!   `transportLayerProtocol`) recommends TCP because the phones cause retransmit errors over
//!   UDP, and buba0/Cisco-7900-and-8800-series-freepbx-setup says to enable TCP if a phone does
//!   not register. The phone opens exactly one connection, from `local_ip` (bound before the
//!   connect) and an ephemeral port, to the registrar; its `Via` says `SIP/2.0/TCP <ip>:5060` and its `Contact`
//!   `<sip:USER@IP:5060;transport=tcp>`. Every request and response of both sides travels on
//!   that connection. There is no TCP listener at all, so an INVITE, OPTIONS or NOTIFY that
//!   reaches the phone proves that the PBX reused the phone's connection. Messages are framed
//!   by `Content-Length` (RFC 3261 §18.3); keep-alive CRLFs (RFC 5626 §4.4.1) are skipped.
//! - **Digest authentication** as RFC 2617 / RFC 7616 with MD5, the only algorithm the 79xx
//!   know: [`digest_response`], [`authorization_value`].
//!
//! Measured with this phone against Asterisk 22.10.1 (sid package, PJSIP), which is why the
//! strictness matters:
//! - UDP with the endpoint defaults (`force_rport=yes`): the 401 to REGISTER goes to the
//!   ephemeral port, lands in [`SipPhone::stray`], and [`SipPhone::register`] times out. With
//!   `force_rport=no` and `rewrite_contact=no` the phone registers (401, 200), and calls and
//!   requests from the PBX reach the listen port.
//! - TCP with `rewrite_contact=no`: Asterisk sends its OPTIONS, INVITE and NOTIFY over a *new*
//!   connection to the Contact's port 5060, which the phone does not listen on (a call to it
//!   gets 503). With `rewrite_contact=yes` everything comes over the phone's connection.
//!
//! Not reproduced: RTP (the SDP announces port 16384, the 79xx default `start_media_port`, but
//! nothing listens there), re-registration before expiry, reconnection after the PBX closes
//! the TCP connection, TLS, reliable provisional responses, session timers.
//!
//! Sockets are opened inside a network namespace by [`in_netns`]; an empty namespace name
//! means the caller's own namespace (the self-tests use 127.0.0.1 that way). Background
//! threads read with a short timeout, check a stop flag and run the response timers on every
//! turn, so that dropping a [`SipPhone`] returns within a few tens of milliseconds.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use nix::sched::{setns, CloneFlags};

/// RFC 3261 timer T1 (round-trip estimate): the first retransmission interval over UDP.
pub const T1: Duration = Duration::from_millis(500);
/// RFC 3261 timer T2: the longest retransmission interval of non-INVITE requests and of a 2xx
/// answer to an INVITE.
pub const T2: Duration = Duration::from_secs(4);
/// How long the 200 OK to an incoming INVITE is retransmitted without an ACK (64*T1, RFC 3261
/// §13.3.1.4) before the phone gives up on it.
pub const ANSWER_GIVE_UP: Duration = Duration::from_secs(32);
/// How long an incoming call rings before the phone "picks up" (sends 200 OK): long enough for
/// the 180 to be seen first, short enough to keep the tests fast.
pub const ANSWER_DELAY: Duration = Duration::from_millis(200);
/// Step at which the caller's thread looks at the queues the background threads fill.
pub const POLL_STEP: Duration = Duration::from_millis(10);
/// Read timeout of every socket: how soon a background thread notices a stop or a due timer.
const READ_STEP: Duration = Duration::from_millis(20);
/// Upper bound for opening the TCP connection to the registrar.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Upper bound for one blocked write on the TCP connection (so that `Drop` cannot hang).
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// Largest header block the TCP framer accepts before it calls the stream broken.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest body the TCP framer accepts.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// RTP port announced in SDP: the 79xx default `start_media_port`.
const RTP_PORT: u16 = 16384;

/// Source of the unique part of tags, branches, Call-IDs and cnonces.
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------------------------
// Configuration and public types
// ---------------------------------------------------------------------------------------------

/// How the phone reaches the registrar, as `transportLayerProtocol` in its configuration file
/// chooses. The two behave very differently on the wire (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Two sockets: receive on the listen port, send from an ephemeral one.
    Udp,
    /// One connection from an ephemeral port, used for everything.
    Tcp,
}

impl Transport {
    /// The transport's name in a `Via` header.
    fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// What a phone reads from its configuration files (line, credentials, proxy, transport) plus
/// where the test puts it (namespace, address).
#[derive(Debug, Clone)]
pub struct PhoneSip {
    /// Network namespace (a name under `/run/netns`) in which the sockets are opened; empty
    /// means the caller's own namespace.
    pub netns: String,
    /// The phone's address: source of its datagrams and host in its `Via` and `Contact`.
    pub local_ip: Ipv4Addr,
    /// The PBX, which is both registrar and proxy for a 79xx.
    pub registrar: Ipv4Addr,
    /// The PBX's SIP port.
    pub registrar_port: u16,
    /// UDP or TCP, as `transportLayerProtocol` says.
    pub transport: Transport,
    /// Line name / extension: user part of `From`, `To` and `Contact`.
    pub user: String,
    /// Digest user name (`authName` in the configuration file).
    pub auth_name: String,
    /// Digest password.
    pub password: String,
    /// The port the phone listens on and announces in `Via` and `Contact` (5060 on real phones).
    pub listen_port: u16,
    /// `User-Agent` of requests and `Server` of responses, e.g. `Cisco-CP7941G/9.4`.
    pub user_agent: String,
}

impl PhoneSip {
    /// The registrar's socket address, where every request goes.
    fn registrar_addr(&self) -> SocketAddr {
        SocketAddr::from((self.registrar, self.registrar_port))
    }

    /// Host part of the URIs addressed to the registrar (port only when not 5060, as a phone
    /// configured with `proxy1_port` 5060 writes them).
    fn registrar_host(&self) -> String {
        if self.registrar_port == 5060 {
            self.registrar.to_string()
        } else {
            format!("{}:{}", self.registrar, self.registrar_port)
        }
    }

    /// `Contact` of REGISTER, of the INVITE and of the phone's answers.
    fn contact(&self) -> String {
        match self.transport {
            Transport::Udp => format!("<sip:{}@{}:{}>", self.user, self.local_ip, self.listen_port),
            Transport::Tcp => format!(
                "<sip:{}@{}:{};transport=tcp>",
                self.user, self.local_ip, self.listen_port
            ),
        }
    }

    /// The phone's `Via` with a fresh branch: the listen port, and no `rport`.
    fn via(&self) -> String {
        format!(
            "SIP/2.0/{} {}:{};branch=z9hG4bK{}",
            self.transport.via_name(),
            self.local_ip,
            self.listen_port,
            unique_hex()
        )
    }
}

/// Where a message came in, so that a test can tell which socket the PBX addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The UDP listen socket (5060).
    Listen,
    /// The ephemeral UDP socket the requests leave from. The firmware never reads it, so no
    /// [`Received`] has this arrival: what comes there is in [`SipPhone::stray`].
    Ephemeral,
    /// The phone's TCP connection.
    Connection,
}

/// A request the PBX sent to the phone, kept after the phone answered it so that tests can
/// check what the PBX does (qualify, MWI, incoming calls).
#[derive(Debug, Clone)]
pub struct Received {
    /// Request method, e.g. `OPTIONS`, `NOTIFY`.
    pub method: String,
    /// Socket or connection it arrived on.
    pub arrival: Arrival,
    /// Source address of the datagram, or the peer of the connection.
    pub from_addr: SocketAddr,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (e.g. `Messages-Waiting: yes` of an MWI NOTIFY).
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// The first header called `name` (case-insensitive; the compact form, e.g. `i` for
    /// `Call-ID`, matches too), because PBXs differ in how they spell them.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// Runs `f` on a short-lived thread that first enters network namespace `netns` (a name under
/// `/run/netns`; empty: stay in the current one), and returns its result. Sockets keep the
/// namespace they were created in, so they can be used from any thread afterwards: this is how
/// the phone's sockets, or an Asterisk manager connection from the router namespace, are
/// opened without `ip netns exec`. Needs CAP_SYS_ADMIN for a named namespace.
pub fn in_netns<T: Send + 'static>(
    netns: &str,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, String> {
    let name = netns.to_string();
    let handle = thread::Builder::new()
        .name(format!("netns-{netns}"))
        .spawn(move || -> Result<T, String> {
            enter_netns(&name)?;
            f().map_err(|error| namespace_error(&name, &error.to_string()))
        })
        .map_err(|error| format!("cannot start a thread for namespace {netns:?}: {error}"))?;
    handle
        .join()
        .map_err(|_| format!("the thread in namespace {netns:?} panicked"))?
}

/// Moves the calling thread into network namespace `name` (nothing for an empty name).
fn enter_netns(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Ok(());
    }
    let path = format!("/run/netns/{name}");
    let file = File::open(&path).map_err(|error| format!("cannot open {path}: {error}"))?;
    setns(&file, CloneFlags::CLONE_NEWNET)
        .map_err(|error| format!("cannot enter network namespace {name}: {error}"))
}

/// An error from inside a namespace, naming the namespace.
fn namespace_error(netns: &str, error: &str) -> String {
    if netns.is_empty() {
        error.to_string()
    } else {
        format!("{error} (in network namespace {netns})")
    }
}

// ---------------------------------------------------------------------------------------------
// SIP messages
// ---------------------------------------------------------------------------------------------

/// First line of a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD uri SIP/2.0`
    Request {
        /// e.g. `REGISTER`.
        method: String,
        /// Request-URI.
        uri: String,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// Status code, 100–699.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
}

/// A parsed SIP message. Header names and values are kept as sent (order, duplicates,
/// spelling), because responses must copy `Via`, `From`, `To`, `Call-ID` and `CSeq` verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    /// Request or status line.
    pub start: StartLine,
    /// Header fields in order; folded lines are joined.
    pub headers: Vec<(String, String)>,
    /// The body, `Content-Length` bytes of it.
    pub body: String,
}

impl SipMessage {
    /// A request with no headers yet.
    pub fn request(method: &str, uri: &str) -> SipMessage {
        SipMessage {
            start: StartLine::Request {
                method: method.to_string(),
                uri: uri.to_string(),
            },
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// A response with no headers yet.
    pub fn response(code: u16, reason: &str) -> SipMessage {
        SipMessage {
            start: StartLine::Response {
                code,
                reason: reason.to_string(),
            },
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// The message with one more header, for building messages in one expression.
    pub fn with(mut self, name: &str, value: &str) -> SipMessage {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The message with this body (its `Content-Length` is computed when serialised).
    pub fn with_body(mut self, content_type: &str, body: &str) -> SipMessage {
        self.headers
            .push(("Content-Type".to_string(), content_type.to_string()));
        self.body = body.to_string();
        self
    }

    /// The response to this request that RFC 3261 §8.2.6.2 asks for: every `Via`, `From`,
    /// `Call-ID`, `CSeq` and `Record-Route` copied, `To` copied with `to_tag` added when it
    /// has no tag yet. Public so that the tests' fake registrars answer the same way.
    pub fn response_to(&self, code: u16, reason: &str, to_tag: Option<&str>) -> SipMessage {
        let mut response = SipMessage::response(code, reason);
        for (name, value) in &self.headers {
            match canonical_name(name).as_str() {
                "via" | "from" | "call-id" | "cseq" | "record-route" => {
                    response.headers.push((name.clone(), value.clone()));
                }
                "to" => response
                    .headers
                    .push((name.clone(), with_tag(value, to_tag))),
                _ => {}
            }
        }
        response
    }

    /// Parses one message (a datagram, or a frame cut by [`StreamFramer`]). Lines may end in
    /// CRLF or LF; without `Content-Length` the body is the rest of the input (UDP).
    pub fn parse(bytes: &[u8]) -> Result<SipMessage, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "message is not utf-8".to_string())?;
        let (head, rest) = split_head(text).ok_or("message has no empty line after its headers")?;
        let mut lines = head
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line));
        let start = parse_start_line(lines.next().unwrap_or_default())?;
        let headers = parse_headers(lines)?;
        let body = take_body(&headers, rest)?;
        Ok(SipMessage {
            start,
            headers,
            body,
        })
    }

    /// The message on the wire, with CRLFs and a `Content-Length` that matches the body (any
    /// `Content-Length` among the headers is replaced).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = match &self.start {
            StartLine::Request { method, uri } => format!("{method} {uri} SIP/2.0\r\n"),
            StartLine::Response { code, reason } => format!("SIP/2.0 {code} {reason}\r\n"),
        };
        for (name, value) in &self.headers {
            if canonical_name(name) != "content-length" {
                text.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        text.push_str(&self.body);
        text.into_bytes()
    }

    /// The first header called `name` (case-insensitive, compact forms too).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Every header called `name`, in order (e.g. all `WWW-Authenticate` challenges).
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        let wanted = canonical_name(name);
        self.headers
            .iter()
            .filter(|(candidate, _)| canonical_name(candidate) == wanted)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The method of a request, `None` for a response.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response, `None` for a request.
    pub fn code(&self) -> Option<u16> {
        match &self.start {
            StartLine::Request { .. } => None,
            StartLine::Response { code, .. } => Some(*code),
        }
    }

    /// `CSeq` as (number, method).
    pub fn cseq(&self) -> Option<(u32, String)> {
        let (number, method) = self
            .header("CSeq")?
            .trim()
            .split_once(char::is_whitespace)?;
        Some((number.parse().ok()?, method.trim().to_string()))
    }

    /// The `branch` of the top `Via`: what ties a response to the request it answers.
    pub fn branch(&self) -> Option<String> {
        let top = self.header("Via")?.split(',').next()?;
        header_param(top, "branch")
    }

    /// `Call-ID` and `CSeq` number: what ties an ACK or CANCEL to its INVITE, and a
    /// retransmitted response to the ACK already sent for it.
    fn transaction_key(&self) -> Option<String> {
        Some(format!("{} {}", self.header("Call-ID")?, self.cseq()?.0))
    }
}

/// Splits a message at the empty line after the headers.
fn split_head(text: &str) -> Option<(&str, &str)> {
    let crlf = text.find("\r\n\r\n").map(|at| (at, 4));
    let lf = text.find("\n\n").map(|at| (at, 2));
    let (at, len) = match (crlf, lf) {
        (Some(crlf), Some(lf)) => crlf.min(lf),
        (found, None) | (None, found) => found?,
    };
    Some((&text[..at], &text[at + len..]))
}

/// Parses a request line or a status line.
fn parse_start_line(line: &str) -> Result<StartLine, String> {
    if let Some(status) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = status.split_once(' ').unwrap_or((status, ""));
        let code: u16 = code
            .parse()
            .map_err(|_| format!("bad status code in {line:?}"))?;
        if !(100..700).contains(&code) {
            return Err(format!("status code out of range in {line:?}"));
        }
        return Ok(StartLine::Response {
            code,
            reason: reason.to_string(),
        });
    }
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(uri), Some("SIP/2.0"), None) if !method.is_empty() => {
            Ok(StartLine::Request {
                method: method.to_string(),
                uri: uri.to_string(),
            })
        }
        _ => Err(format!("bad request line {line:?}")),
    }
}

/// Parses header lines, joining folded continuation lines (RFC 3261 §7.3.1).
fn parse_headers<'a>(
    lines: impl Iterator<Item = &'a str>,
) -> Result<Vec<(String, String)>, String> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let (_, value) = headers
                .last_mut()
                .ok_or_else(|| format!("continuation line before any header: {line:?}"))?;
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header line without a colon: {line:?}"))?;
        if name.trim().is_empty() {
            return Err(format!("header line without a name: {line:?}"));
        }
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    Ok(headers)
}

/// The body: `Content-Length` bytes of `rest`, or all of it when there is no `Content-Length`.
fn take_body(headers: &[(String, String)], rest: &str) -> Result<String, String> {
    let Some(length) = find_header(headers, "Content-Length") else {
        return Ok(rest.to_string());
    };
    let length: usize = length
        .parse()
        .map_err(|_| format!("bad content-length {length:?}"))?;
    rest.get(..length)
        .map(str::to_string)
        .ok_or_else(|| format!("body shorter than its content-length {length}"))
}

/// The long, lower-case name of a header, for comparing names (RFC 3261 §7.3.3 compact forms,
/// plus `o`/`u` of RFC 6665 and `x` of RFC 4028).
pub fn canonical_name(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let long = match lower.as_str() {
        "i" => "call-id",
        "m" => "contact",
        "e" => "content-encoding",
        "l" => "content-length",
        "c" => "content-type",
        "f" => "from",
        "s" => "subject",
        "k" => "supported",
        "t" => "to",
        "v" => "via",
        "o" => "event",
        "u" => "allow-events",
        "r" => "refer-to",
        "b" => "referred-by",
        "x" => "session-expires",
        _ => return lower,
    };
    long.to_string()
}

/// The first header called `name` in `headers` (case-insensitive, compact forms too).
fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let wanted = canonical_name(name);
    headers
        .iter()
        .find(|(candidate, _)| canonical_name(candidate) == wanted)
        .map(|(_, value)| value.as_str())
}

/// The value of header parameter `name` (e.g. `tag` in `<sip:1001@pbx>;tag=a1`, `branch` or
/// `rport` in a `Via`); an empty string for a parameter without value. Parameters inside the
/// `<…>` URI are not header parameters and are skipped.
pub fn header_param(value: &str, name: &str) -> Option<String> {
    let params = match value.rfind('>') {
        Some(end) => &value[end + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|param| {
        let (key, param_value) = param.split_once('=').unwrap_or((param, ""));
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| param_value.trim().trim_matches('"').to_string())
    })
}

/// The URI in a name-addr (`"Bob" <sip:bob@h>;tag=x` → `sip:bob@h`) or addr-spec.
pub fn uri_of(value: &str) -> &str {
    match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value.split(';').next().unwrap_or(value).trim(),
    }
}

/// `value` (a `To`) with `;tag=<tag>` appended, unless it has a tag already or `tag` is `None`.
fn with_tag(value: &str, tag: Option<&str>) -> String {
    match tag {
        Some(tag) if header_param(value, "tag").is_none() => format!("{value};tag={tag}"),
        _ => value.to_string(),
    }
}

/// A fresh hexadecimal token for tags, branches, Call-IDs and cnonces: clock, process id and a
/// counter, so two phones (or two test processes) never pick the same.
fn unique_hex() -> String {
    let count = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:08x}{:05x}{count:x}", std::process::id() & 0xfffff)
}

// ---------------------------------------------------------------------------------------------
// TCP framing
// ---------------------------------------------------------------------------------------------

/// Cuts a TCP byte stream into SIP messages by the empty line after the headers and
/// `Content-Length` (RFC 3261 §18.3), whatever the read boundaries. CRLFs between messages
/// (RFC 5626 keep-alive pings and pongs) are dropped.
#[derive(Debug, Default)]
pub struct StreamFramer {
    /// Bytes read but not yet returned; always starts at a message boundary (or inside
    /// keep-alive CRLFs).
    buffer: Vec<u8>,
}

impl StreamFramer {
    /// Appends what one read returned.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete message, `None` until one is complete. An error means the stream
    /// cannot be resynchronised (headers too long, bad `Content-Length`).
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, String> {
        let keepalive = self
            .buffer
            .iter()
            .take_while(|byte| matches!(byte, b'\r' | b'\n'))
            .count();
        self.buffer.drain(..keepalive);
        let Some(head_end) = find_bytes(&self.buffer, b"\r\n\r\n") else {
            if self.buffer.len() > MAX_HEADER_BYTES {
                return Err("sip headers longer than 64 KiB on the connection".to_string());
            }
            return Ok(None);
        };
        let body_start = head_end + 4;
        let body_length = frame_content_length(&self.buffer[..head_end])?;
        if self.buffer.len() < body_start + body_length {
            return Ok(None);
        }
        Ok(Some(
            self.buffer.drain(..body_start + body_length).collect(),
        ))
    }
}

/// `Content-Length` (or `l`) of a header block; 0 when absent.
fn frame_content_length(head: &[u8]) -> Result<usize, String> {
    let head = String::from_utf8_lossy(head);
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if canonical_name(name) == "content-length" {
            let length: usize = value
                .trim()
                .parse()
                .map_err(|_| format!("bad content-length {:?} on the connection", value.trim()))?;
            if length > MAX_BODY_BYTES {
                return Err(format!(
                    "content-length {length} too large on the connection"
                ));
            }
            return Ok(length);
        }
    }
    Ok(0)
}

/// Position of `needle` in `haystack`.
fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

// ---------------------------------------------------------------------------------------------
// Digest authentication
// ---------------------------------------------------------------------------------------------

/// One challenge of a `WWW-Authenticate` / `Proxy-Authenticate` header (or the parameters of
/// an `Authorization` header, which have the same syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Authentication scheme, e.g. `Digest`.
    pub scheme: String,
    /// Parameters in order, names lower-cased, quotes and escapes removed.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The parameter called `name` (lower case).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_str())
    }

    /// True for a Digest challenge a 79xx can answer: MD5 (or no algorithm, which means MD5).
    pub fn is_md5_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("digest")
            && self
                .param("algorithm")
                .is_none_or(|algorithm| algorithm.eq_ignore_ascii_case("md5"))
    }

    /// True when the server offers `qop=auth` (possibly among others, e.g. `auth,auth-int`).
    pub fn offers_qop_auth(&self) -> bool {
        self.param("qop").is_some_and(|qop| {
            qop.split(',')
                .any(|option| option.trim().eq_ignore_ascii_case("auth"))
        })
    }
}

/// Parses a challenge header value, which may hold several challenges
/// (`Digest realm="a", nonce="b", Digest realm=…`) and quoted values with commas.
pub fn parse_challenges(value: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = value;
    // Every turn consumes at least one character, so the loop ends with the input.
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            return challenges;
        }
        let token_end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let token = &rest[..token_end];
        if let Some(after_equals) = rest[token_end..].trim_start().strip_prefix('=') {
            let (param_value, remaining) = read_param_value(after_equals.trim_start());
            if let Some(challenge) = challenges.last_mut() {
                challenge
                    .params
                    .push((token.to_ascii_lowercase(), param_value));
            }
            rest = remaining;
        } else {
            challenges.push(Challenge {
                scheme: token.to_string(),
                params: Vec::new(),
            });
            rest = &rest[token_end..];
        }
    }
}

/// Reads a quoted-string (with backslash escapes) or a token; returns it and what follows.
fn read_param_value(text: &str) -> (String, &str) {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text
            .find(|c: char| c == ',' || c.is_whitespace())
            .unwrap_or(text.len());
        return (text[..end].to_string(), &text[end..]);
    };
    let mut value = String::new();
    let mut escaped = false;
    for (at, c) in quoted.char_indices() {
        match (escaped, c) {
            (true, _) => {
                value.push(c);
                escaped = false;
            }
            (false, '\\') => escaped = true,
            (false, '"') => return (value, &quoted[at + 1..]),
            (false, _) => value.push(c),
        }
    }
    (value, "")
}

/// The first MD5 Digest challenge among the values of all challenge headers of a response
/// (Asterisk 22 may offer SHA-256 and MD5 side by side; the firmware only knows MD5).
pub fn pick_md5_challenge<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    values
        .into_iter()
        .flat_map(parse_challenges)
        .find(Challenge::is_md5_digest)
}

/// What the client contributes to a digest response besides the challenge.
#[derive(Debug, Clone, Copy)]
pub struct DigestParams<'a> {
    /// `authName`.
    pub username: &'a str,
    /// The password.
    pub password: &'a str,
    /// Method of the request being authorised (`REGISTER`, `INVITE`, …).
    pub method: &'a str,
    /// Request-URI of that request, also sent as `uri=`.
    pub uri: &'a str,
    /// Client nonce (used with `qop=auth` only).
    pub cnonce: &'a str,
    /// Nonce count (used with `qop=auth` only), sent as 8 hex digits.
    pub nc: u32,
}

/// The `response=` value (RFC 2617 §3.2.2, RFC 7616 §3.4.1, MD5): with `qop=auth`
/// `MD5(HA1:nonce:nc:cnonce:auth:HA2)`, without qop `MD5(HA1:nonce:HA2)`, where
/// `HA1 = MD5(user:realm:password)` and `HA2 = MD5(method:uri)`.
pub fn digest_response(challenge: &Challenge, params: &DigestParams) -> Result<String, String> {
    let realm = challenge.param("realm").ok_or("challenge has no realm")?;
    let nonce = challenge.param("nonce").ok_or("challenge has no nonce")?;
    let ha1 = md5_hex(&format!("{}:{realm}:{}", params.username, params.password));
    let ha2 = md5_hex(&format!("{}:{}", params.method, params.uri));
    if challenge.offers_qop_auth() {
        let nc = params.nc;
        let cnonce = params.cnonce;
        Ok(md5_hex(&format!(
            "{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}"
        )))
    } else {
        Ok(md5_hex(&format!("{ha1}:{nonce}:{ha2}")))
    }
}

/// The value of an `Authorization` / `Proxy-Authorization` header answering `challenge`
/// (`cnonce`, `qop` and `nc` only with `qop=auth`, as RFC 2617 requires; `opaque` echoed).
pub fn authorization_value(challenge: &Challenge, params: &DigestParams) -> Result<String, String> {
    let response = digest_response(challenge, params)?;
    let realm = challenge.param("realm").unwrap_or_default();
    let nonce = challenge.param("nonce").unwrap_or_default();
    let mut value = format!(
        "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{}\", \
         response=\"{response}\", algorithm=MD5",
        params.username, params.uri
    );
    if challenge.offers_qop_auth() {
        value.push_str(&format!(
            ", cnonce=\"{}\", qop=auth, nc={:08x}",
            params.cnonce, params.nc
        ));
    }
    if let Some(opaque) = challenge.param("opaque") {
        value.push_str(&format!(", opaque=\"{opaque}\""));
    }
    Ok(value)
}

/// Lower-case hex MD5 of `text`.
fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// SDP
// ---------------------------------------------------------------------------------------------

/// A minimal audio SDP in the firmware's style for `payloads` (0 PCMU, 8 PCMA, 101
/// telephone-event).
fn sdp(ip: Ipv4Addr, payloads: &[u8]) -> String {
    let session = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0);
    let list: Vec<String> = payloads.iter().map(u8::to_string).collect();
    let mut text = format!(
        "v=0\r\no=Cisco-SIPUA {session} 0 IN IP4 {ip}\r\ns=SIP Call\r\nc=IN IP4 {ip}\r\n\
         t=0 0\r\nm=audio {RTP_PORT} RTP/AVP {}\r\n",
        list.join(" ")
    );
    for payload in payloads {
        match payload {
            0 => text.push_str("a=rtpmap:0 PCMU/8000\r\n"),
            8 => text.push_str("a=rtpmap:8 PCMA/8000\r\n"),
            101 => text.push_str("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"),
            _ => {}
        }
    }
    text.push_str("a=sendrecv\r\n");
    text
}

// ---------------------------------------------------------------------------------------------
// The phone
// ---------------------------------------------------------------------------------------------

/// The phone's sockets.
enum Link {
    /// Receives and answers on `listen`, sends its requests from `ephemeral`.
    Udp {
        listen: UdpSocket,
        ephemeral: UdpSocket,
    },
    /// The one connection. The reader thread owns a third clone of the stream.
    Tcp {
        /// Every write goes through this lock so that two messages never interleave.
        writer: Mutex<TcpStream>,
        /// Used only to shut the connection down from `Drop`, without taking the lock.
        control: TcpStream,
        /// The registrar end of the connection.
        peer: SocketAddr,
    },
}

/// Key of an incoming INVITE transaction: Call-ID and CSeq number.
type TransactionKey = String;

/// An incoming call the phone is answering: the 200 OK waiting for its time, then being
/// retransmitted over UDP until the ACK comes.
struct Answer {
    /// Call-ID and CSeq number of the INVITE.
    key: TransactionKey,
    /// The INVITE, to build a 487 from if a CANCEL comes first.
    invite: SipMessage,
    /// The phone's To tag for this dialog.
    tag: String,
    /// Where responses go: the INVITE's source.
    to: SocketAddr,
    /// The last provisional response, repeated if the INVITE is retransmitted.
    provisional: Vec<u8>,
    /// The 200 OK.
    ok: Vec<u8>,
    /// When the 200 OK is (re)sent next.
    send_at: Instant,
    /// Next retransmission interval (T1, doubling, at most T2).
    interval: Duration,
    /// When the 200 OK was first sent.
    first_sent: Option<Instant>,
}

/// Everything the background threads and the caller's thread share, behind one lock.
#[derive(Default)]
struct Journal {
    /// Requests from the PBX, after the phone answered them.
    received: Vec<Received>,
    /// Datagrams that reached the ephemeral socket.
    stray: Vec<String>,
    /// Responses to the phone's own requests, not yet taken by the waiting call.
    responses: Vec<SipMessage>,
    /// ACKs sent, by Call-ID and CSeq number, to repeat when a final response is retransmitted.
    acks: HashMap<TransactionKey, Vec<u8>>,
    /// Incoming calls being answered.
    answers: Vec<Answer>,
    /// Why the TCP connection is gone, once it is.
    closed: Option<String>,
}

/// State shared between [`SipPhone`] and its background threads.
struct Shared {
    config: PhoneSip,
    link: Link,
    /// Set by `Drop`; every background loop checks it at least every [`READ_STEP`].
    stop: AtomicBool,
    journal: Mutex<Journal>,
    /// Call-ID of all REGISTERs (a UA keeps it across registrations, RFC 3261 §10.2).
    register_call_id: String,
    /// From tag of all REGISTERs.
    register_tag: String,
    /// Next REGISTER CSeq.
    register_cseq: AtomicU32,
}

/// A firmware-like SIP phone running in the background (see the module documentation).
pub struct SipPhone {
    shared: Arc<Shared>,
    /// Background threads, joined by `Drop`.
    threads: Vec<JoinHandle<()>>,
}

/// Credentials for the next try of a challenged request: header name and value.
type Credential = (String, String);

/// A request of the phone in flight, with its UDP retransmission timer (RFC 3261 timers A/E).
struct Outgoing {
    bytes: Vec<u8>,
    branch: String,
    /// What it is, for error messages.
    what: String,
    /// Next retransmission; `None` over TCP and once any response came.
    resend_at: Option<Instant>,
    interval: Duration,
    /// The interval's cap: T2 for non-INVITE, none (the deadline) for INVITE.
    cap: Duration,
}

impl SipPhone {
    /// Opens the sockets (in the namespace) and starts the background receiver: over UDP the
    /// listen socket and the ephemeral socket are bound, over TCP the connection is opened and
    /// must leave from `local_ip`.
    pub fn start(config: PhoneSip) -> Result<SipPhone, String> {
        let (link, tcp_reader) = match config.transport {
            Transport::Udp => (open_udp(&config)?, None),
            Transport::Tcp => {
                let (link, reader) = open_tcp(&config)?;
                (link, Some(reader))
            }
        };
        let shared = Arc::new(Shared {
            register_call_id: format!("{}@{}", unique_hex(), config.local_ip),
            register_tag: unique_hex(),
            register_cseq: AtomicU32::new(101),
            config,
            link,
            stop: AtomicBool::new(false),
            journal: Mutex::new(Journal::default()),
        });
        // Built before the threads start so that a failed spawn still stops the others.
        let mut phone = SipPhone {
            shared,
            threads: Vec::new(),
        };
        phone.spawn_threads(tcp_reader)?;
        Ok(phone)
    }

    /// Starts the receiver thread(s): over UDP one per socket, over TCP one for the connection.
    fn spawn_threads(&mut self, tcp_reader: Option<TcpStream>) -> Result<(), String> {
        let shared = Arc::clone(&self.shared);
        match tcp_reader {
            Some(stream) => self.spawn("sipphone-tcp", move || tcp_loop(&shared, stream)),
            None => {
                let stray = Arc::clone(&self.shared);
                self.spawn("sipphone-udp", move || udp_listen_loop(&shared))?;
                self.spawn("sipphone-stray", move || udp_stray_loop(&stray))
            }
        }
    }

    /// Spawns one background thread and keeps its handle for `Drop`.
    fn spawn(&mut self, name: &str, body: impl FnOnce() + Send + 'static) -> Result<(), String> {
        let handle = thread::Builder::new()
            .name(name.to_string())
            .spawn(body)
            .map_err(|error| format!("cannot start thread {name}: {error}"))?;
        self.threads.push(handle);
        Ok(())
    }

    /// The local port the phone's requests leave from: the ephemeral UDP socket, or the
    /// phone's end of the TCP connection. A PBX that stores this port (`rewrite_contact`)
    /// will send its requests where the firmware does not listen.
    pub fn request_port(&self) -> Result<u16, String> {
        let local = match &self.shared.link {
            Link::Udp { ephemeral, .. } => ephemeral.local_addr(),
            Link::Tcp { control, .. } => control.local_addr(),
        };
        local
            .map(|address| address.port())
            .map_err(|error| format!("cannot read the local address: {error}"))
    }

    /// One registration attempt as the firmware does it: REGISTER, expect 401 with
    /// WWW-Authenticate (digest MD5, qop=auth or none), REGISTER again with Authorization;
    /// returns every final status code seen in order (e.g. [401, 200]) or an error on timeout.
    /// A 407 is answered the same way with Proxy-Authorization; a second challenge is not
    /// answered again. Call-ID and From tag stay the same across calls, CSeq grows.
    pub fn register(&self, timeout: Duration) -> Result<Vec<u16>, String> {
        let deadline = Instant::now() + timeout;
        let mut build = |credential: Option<&Credential>| self.register_request(credential);
        self.request_with_auth(&mut build, deadline)
    }

    /// Repeats `register` every `every` until it ends in 200 or `timeout` passes; returns the
    /// last statuses and how long it took. Each attempt may take up to `every` (at least
    /// [`POLL_STEP`]); the next one starts `every` after the previous one started.
    pub fn register_until_ok(
        &self,
        every: Duration,
        timeout: Duration,
    ) -> Result<(Vec<u16>, Duration), String> {
        let started = Instant::now();
        let deadline = started + timeout;
        let every = every.max(POLL_STEP);
        let mut last = String::from("no attempt");
        loop {
            let attempt_started = Instant::now();
            if attempt_started >= deadline {
                return Err(format!(
                    "no 200 to register within {timeout:?}; last attempt: {last}"
                ));
            }
            let attempt_end = (attempt_started + every).min(deadline);
            match self.register(attempt_end - attempt_started) {
                Ok(statuses) if statuses.last() == Some(&200) => {
                    return Ok((statuses, started.elapsed()))
                }
                Ok(statuses) => last = format!("{statuses:?}"),
                Err(error) => last = error,
            }
            // Pacing between attempts, not a wait for a condition.
            thread::sleep(attempt_end.saturating_duration_since(Instant::now()));
        }
    }

    /// Calls `target` (an extension) through the registrar: INVITE with SDP
    /// (PCMU/PCMA/telephone-event 101), answers a 401/407 challenge (ACK the challenge,
    /// re-INVITE with credentials, CSeq+1), waits for 180 or 183 and then 200, ACKs the 200,
    /// keeps the call `hold` long, then BYE and waits for its 200. Returns the list of statuses
    /// seen: every response to the INVITEs (100, 401, 180, 200, …) then the BYE's final
    /// status(es). A final failure (e.g. 486) is ACKed and ends the list; if the PBX hangs up
    /// during `hold` (its BYE is answered by the receiver) no BYE is sent. `timeout` bounds the
    /// call set-up and, again, the BYE; an error means one of them timed out or a send failed.
    pub fn call(
        &self,
        target: &str,
        hold: Duration,
        timeout: Duration,
    ) -> Result<Vec<u16>, String> {
        let mut statuses = Vec::new();
        let mut dialog = Dialog::outgoing(&self.shared.config, target);
        let answered = self.establish(&mut dialog, &mut statuses, Instant::now() + timeout)?;
        let Some(ok) = answered else {
            return Ok(statuses);
        };
        dialog.confirm(&ok);
        self.send_ack(dialog.ack(&self.shared.config), &ok)?;
        if self.hold_call(&dialog.call_id, hold) {
            return Ok(statuses);
        }
        let deadline = Instant::now() + timeout;
        let mut build = |credential: Option<&Credential>| {
            dialog.cseq += 1;
            dialog.in_dialog(&self.shared.config, "BYE", credential)
        };
        let bye_statuses = self
            .request_with_auth(&mut build, deadline)
            .map_err(|error| format!("{error} (call statuses: {statuses:?})"))?;
        statuses.extend(bye_statuses);
        Ok(statuses)
    }

    /// Every request received so far (after the phone answered it), in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.journal().received.clone()
    }

    /// Waits until a request with this method has been received (polls, short steps); returns
    /// the first one, possibly received before the call.
    pub fn wait_for_request(&self, method: &str, timeout: Duration) -> Option<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .shared
                .journal()
                .received
                .iter()
                .find(|request| request.method.eq_ignore_ascii_case(method))
                .cloned();
            let now = Instant::now();
            if found.is_some() || now >= deadline {
                return found;
            }
            thread::sleep(POLL_STEP.min(deadline - now));
        }
    }

    /// Datagrams that arrived on the ephemeral UDP port (ignored, as the firmware would), as
    /// text. Always empty over TCP.
    pub fn stray(&self) -> Vec<String> {
        self.shared.journal().stray.clone()
    }

    /// A REGISTER as the firmware sends it.
    fn register_request(&self, credential: Option<&Credential>) -> SipMessage {
        let shared = &self.shared;
        let config = &shared.config;
        let cseq = shared.register_cseq.fetch_add(1, Ordering::Relaxed);
        let aor = format!("<sip:{}@{}>", config.user, config.registrar_host());
        let request = SipMessage::request("REGISTER", &format!("sip:{}", config.registrar_host()))
            .with("Via", &config.via())
            .with("From", &format!("{aor};tag={}", shared.register_tag))
            .with("To", &aor)
            .with("Call-ID", &shared.register_call_id)
            .with("Max-Forwards", "70")
            .with("CSeq", &format!("{cseq} REGISTER"))
            .with("User-Agent", &config.user_agent)
            .with("Contact", &config.contact())
            .with("Expires", "3600");
        with_credential(request, credential)
    }

    /// A non-INVITE transaction that answers one 401/407 challenge: `build` makes each try
    /// (fresh branch and CSeq). Returns the final statuses.
    fn request_with_auth(
        &self,
        build: &mut dyn FnMut(Option<&Credential>) -> SipMessage,
        deadline: Instant,
    ) -> Result<Vec<u16>, String> {
        let mut statuses = Vec::new();
        let mut credential = None;
        for attempt in 0..2 {
            let request = build(credential.as_ref());
            let response = self
                .final_response(&request, deadline)
                .map_err(|error| format!("{error} (statuses so far: {statuses:?})"))?;
            let code = response.code().unwrap_or_default();
            statuses.push(code);
            if attempt > 0 || !is_challenge(code) {
                break;
            }
            credential = Some(self.credential_for(&response, &request)?);
        }
        Ok(statuses)
    }

    /// Sends `request` and waits for its final response.
    fn final_response(
        &self,
        request: &SipMessage,
        deadline: Instant,
    ) -> Result<SipMessage, String> {
        let mut outgoing = self.send_new(request, T2)?;
        // Bounded by `deadline` inside `next_response`.
        loop {
            let response = self.next_response(&mut outgoing, deadline)?;
            if response.code().unwrap_or_default() >= 200 {
                return Ok(response);
            }
        }
    }

    /// Sends a new request and returns its retransmission state.
    fn send_new(&self, request: &SipMessage, cap: Duration) -> Result<Outgoing, String> {
        let branch = request.branch().ok_or("request without a via branch")?;
        let bytes = request.to_bytes();
        self.shared.send_request(&bytes)?;
        let retransmits = self.shared.config.transport == Transport::Udp;
        Ok(Outgoing {
            bytes,
            branch,
            what: request.method().unwrap_or("request").to_string(),
            resend_at: retransmits.then(|| Instant::now() + T1),
            interval: T1,
            cap,
        })
    }

    /// The next response (provisional or final) to `outgoing`, retransmitting it over UDP until
    /// a response comes.
    fn next_response(
        &self,
        outgoing: &mut Outgoing,
        deadline: Instant,
    ) -> Result<SipMessage, String> {
        loop {
            if let Some(response) = self.shared.take_response(&outgoing.branch) {
                outgoing.resend_at = None;
                return Ok(response);
            }
            if let Some(reason) = self.shared.journal().closed.clone() {
                return Err(format!("no response to {}: {reason}", outgoing.what));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("no response to {} in time", outgoing.what));
            }
            if outgoing.resend_at.is_some_and(|at| now >= at) {
                self.shared.send_request(&outgoing.bytes)?;
                outgoing.interval = outgoing.interval.saturating_mul(2).min(outgoing.cap);
                outgoing.resend_at = Some(now + outgoing.interval);
            }
            thread::sleep(POLL_STEP.min(deadline - now));
        }
    }

    /// Credentials answering the challenge in `response` (401 or 407) for `request`.
    fn credential_for(
        &self,
        response: &SipMessage,
        request: &SipMessage,
    ) -> Result<Credential, String> {
        let code = response.code().unwrap_or_default();
        let (challenge_header, credential_header) = if code == 407 {
            ("Proxy-Authenticate", "Proxy-Authorization")
        } else {
            ("WWW-Authenticate", "Authorization")
        };
        let challenge = pick_md5_challenge(response.headers_named(challenge_header))
            .ok_or_else(|| format!("{code} without an md5 digest challenge"))?;
        let StartLine::Request { method, uri } = &request.start else {
            return Err("cannot authorise a response".to_string());
        };
        let config = &self.shared.config;
        let cnonce = unique_hex();
        let params = DigestParams {
            username: &config.auth_name,
            password: &config.password,
            method,
            uri,
            cnonce: &cnonce,
            nc: 1,
        };
        Ok((
            credential_header.to_string(),
            authorization_value(&challenge, &params)?,
        ))
    }

    /// INVITE (and once more with credentials if challenged) until a final response: the 2xx,
    /// or `None` after a failure, which has been ACKed. Every status is added to `statuses`.
    fn establish(
        &self,
        dialog: &mut Dialog,
        statuses: &mut Vec<u16>,
        deadline: Instant,
    ) -> Result<Option<SipMessage>, String> {
        let mut credential = None;
        for attempt in 0..2 {
            let invite = dialog.invite(&self.shared.config, credential.as_ref());
            let response = self
                .invite_final(&invite, statuses, deadline)
                .map_err(|error| format!("{error} (statuses so far: {statuses:?})"))?;
            let code = response.code().unwrap_or_default();
            if (200..300).contains(&code) {
                return Ok(Some(response));
            }
            self.send_ack(ack_for_failure(&invite, &response), &response)?;
            if attempt > 0 || !is_challenge(code) {
                return Ok(None);
            }
            credential = Some(self.credential_for(&response, &invite)?);
            dialog.cseq += 1;
        }
        Ok(None)
    }

    /// Sends an INVITE and collects its responses until the final one.
    fn invite_final(
        &self,
        invite: &SipMessage,
        statuses: &mut Vec<u16>,
        deadline: Instant,
    ) -> Result<SipMessage, String> {
        let mut outgoing = self.send_new(invite, Duration::MAX)?;
        // Bounded by `deadline` inside `next_response`.
        loop {
            let response = self.next_response(&mut outgoing, deadline)?;
            let code = response.code().unwrap_or_default();
            statuses.push(code);
            if code >= 200 {
                return Ok(response);
            }
        }
    }

    /// Sends an ACK and remembers it, so that the receiver repeats it when the final response
    /// it acknowledges is retransmitted.
    fn send_ack(&self, ack: SipMessage, response: &SipMessage) -> Result<(), String> {
        let bytes = ack.to_bytes();
        // Remembered first: a retransmission may arrive as soon as the ACK is out.
        if let Some(key) = response.transaction_key() {
            self.shared.journal().acks.insert(key, bytes.clone());
        }
        self.shared.send_request(&bytes)
    }

    /// Keeps an established call up for `hold`; true if the PBX hung up (sent BYE) meanwhile.
    fn hold_call(&self, call_id: &str, hold: Duration) -> bool {
        let deadline = Instant::now() + hold;
        loop {
            let hung_up = self.shared.journal().received.iter().any(|request| {
                request.method == "BYE" && request.header("Call-ID") == Some(call_id)
            });
            let now = Instant::now();
            if hung_up || now >= deadline {
                return hung_up;
            }
            thread::sleep(POLL_STEP.min(deadline - now));
        }
    }
}

impl Drop for SipPhone {
    /// Stops the background threads (they notice within [`READ_STEP`]) and closes the sockets;
    /// a TCP connection is shut down first so that the PBX sees it go.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Link::Tcp { control, .. } = &self.shared.link {
            // Already closed by the peer is fine.
            let _ = control.shutdown(Shutdown::Both);
        }
        for handle in self.threads.drain(..) {
            // A panicked receiver has nothing left to clean up.
            let _ = handle.join();
        }
    }
}

/// True for the statuses that carry a digest challenge.
fn is_challenge(code: u16) -> bool {
    code == 401 || code == 407
}

/// `request` with the credential header, if any.
fn with_credential(request: SipMessage, credential: Option<&Credential>) -> SipMessage {
    match credential {
        Some((name, value)) => request.with(name, value),
        None => request,
    }
}

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same Request-URI, top `Via`
/// (branch), `From`, `Call-ID` and `Route` as the INVITE, `To` of the response.
fn ack_for_failure(invite: &SipMessage, response: &SipMessage) -> SipMessage {
    let uri = match &invite.start {
        StartLine::Request { uri, .. } => uri.as_str(),
        StartLine::Response { .. } => "",
    };
    let mut ack = SipMessage::request("ACK", uri);
    let number = invite.cseq().map(|(number, _)| number).unwrap_or_default();
    for (name, value) in &invite.headers {
        match canonical_name(name).as_str() {
            "via" | "from" | "call-id" | "route" | "max-forwards" => {
                ack.headers.push((name.clone(), value.clone()));
            }
            "to" => {
                let to = response.header("To").unwrap_or(value);
                ack.headers.push((name.clone(), to.to_string()));
            }
            "cseq" => ack.headers.push((name.clone(), format!("{number} ACK"))),
            _ => {}
        }
    }
    ack
}

/// The phone's side of an outgoing call.
struct Dialog {
    call_id: String,
    /// `From`, with the phone's tag.
    local: String,
    /// `To`, with the remote tag once the call is answered.
    remote: String,
    /// Request-URI of the INVITE.
    request_uri: String,
    /// Where in-dialog requests go: the `Contact` of the 200 OK.
    remote_target: String,
    /// `Route` set from the 200's `Record-Route`, reversed (RFC 3261 §12.1.2).
    route: Vec<String>,
    /// CSeq number of the last request sent.
    cseq: u32,
}

impl Dialog {
    /// A new call from the phone's line to extension `target` at the registrar.
    fn outgoing(config: &PhoneSip, target: &str) -> Dialog {
        let host = config.registrar_host();
        let request_uri = format!("sip:{target}@{host}");
        Dialog {
            call_id: format!("{}@{}", unique_hex(), config.local_ip),
            local: format!("<sip:{}@{host}>;tag={}", config.user, unique_hex()),
            remote: format!("<{request_uri}>"),
            remote_target: request_uri.clone(),
            request_uri,
            route: Vec::new(),
            cseq: 101,
        }
    }

    /// The INVITE with the firmware's SDP offer.
    fn invite(&self, config: &PhoneSip, credential: Option<&Credential>) -> SipMessage {
        let request = SipMessage::request("INVITE", &self.request_uri)
            .with("Via", &config.via())
            .with("From", &self.local)
            .with("To", &self.remote)
            .with("Call-ID", &self.call_id)
            .with("Max-Forwards", "70")
            .with("CSeq", &format!("{} INVITE", self.cseq))
            .with("User-Agent", &config.user_agent)
            .with("Contact", &config.contact())
            .with("Allow", ALLOW);
        with_credential(request, credential)
            .with_body("application/sdp", &sdp(config.local_ip, &[0, 8, 101]))
    }

    /// Takes the remote tag, target and route set from the 200 OK.
    fn confirm(&mut self, ok: &SipMessage) {
        if let Some(to) = ok.header("To") {
            self.remote = to.to_string();
        }
        if let Some(contact) = ok.header("Contact") {
            self.remote_target = uri_of(contact).to_string();
        }
        self.route = ok
            .headers_named("Record-Route")
            .iter()
            .flat_map(|value| value.split(','))
            .map(|route| route.trim().to_string())
            .rev()
            .collect();
    }

    /// The ACK of the 200 OK: a new transaction (new branch), CSeq number of the INVITE.
    fn ack(&self, config: &PhoneSip) -> SipMessage {
        let mut ack = self.in_dialog_base(config, "ACK");
        ack.headers
            .push(("CSeq".to_string(), format!("{} ACK", self.cseq)));
        ack
    }

    /// A request inside the dialog (BYE) with the current CSeq number.
    fn in_dialog(
        &self,
        config: &PhoneSip,
        method: &str,
        credential: Option<&Credential>,
    ) -> SipMessage {
        let mut request = self.in_dialog_base(config, method);
        request
            .headers
            .push(("CSeq".to_string(), format!("{} {method}", self.cseq)));
        let request = request.with("User-Agent", &config.user_agent);
        with_credential(request, credential)
    }

    /// Request line, `Via`, `Route`, `From`, `To`, `Call-ID` and `Max-Forwards` of an
    /// in-dialog request.
    fn in_dialog_base(&self, config: &PhoneSip, method: &str) -> SipMessage {
        let mut request =
            SipMessage::request(method, &self.remote_target).with("Via", &config.via());
        for route in &self.route {
            request = request.with("Route", route);
        }
        request
            .with("From", &self.local)
            .with("To", &self.remote)
            .with("Call-ID", &self.call_id)
            .with("Max-Forwards", "70")
    }
}

/// Methods the phone accepts, for `Allow`.
const ALLOW: &str = "ACK, BYE, CANCEL, INVITE, NOTIFY, OPTIONS";

/// Binds the two UDP sockets inside the namespace.
fn open_udp(config: &PhoneSip) -> Result<Link, String> {
    let listen_addr = SocketAddr::from((config.local_ip, config.listen_port));
    let ephemeral_addr = SocketAddr::from((config.local_ip, 0));
    let (listen, ephemeral) = in_netns(&config.netns, move || {
        Ok((bind_udp(listen_addr)?, bind_udp(ephemeral_addr)?))
    })?;
    for socket in [&listen, &ephemeral] {
        socket
            .set_read_timeout(Some(READ_STEP))
            .map_err(|error| format!("cannot set a read timeout: {error}"))?;
    }
    Ok(Link::Udp { listen, ephemeral })
}

/// Binds one UDP socket, naming the address in the error.
fn bind_udp(address: SocketAddr) -> io::Result<UdpSocket> {
    UdpSocket::bind(address).map_err(|error| {
        io::Error::new(error.kind(), format!("cannot bind udp {address}: {error}"))
    })
}

/// Opens the one TCP connection inside the namespace; returns the link and the reader's clone.
fn open_tcp(config: &PhoneSip) -> Result<(Link, TcpStream), String> {
    let peer = config.registrar_addr();
    let local_ip = config.local_ip;
    let stream = in_netns(&config.netns, move || {
        connect_from(local_ip, peer).map_err(|error| {
            io::Error::new(error.kind(), format!("cannot connect to {peer}: {error}"))
        })
    })?;
    // The phone's address is bound before connecting; checked anyway, as it is what the test
    // is about.
    let local = stream
        .local_addr()
        .map_err(|error| format!("cannot read the connection's local address: {error}"))?;
    if local.ip() != IpAddr::V4(config.local_ip) {
        return Err(format!(
            "the connection to {peer} left from {local}, not from {}",
            config.local_ip
        ));
    }
    let setup = |error: io::Error| format!("cannot set up the connection to {peer}: {error}");
    stream.set_read_timeout(Some(READ_STEP)).map_err(setup)?;
    stream
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(setup)?;
    stream.set_nodelay(true).map_err(setup)?;
    let reader = stream.try_clone().map_err(setup)?;
    let control = stream.try_clone().map_err(setup)?;
    let link = Link::Tcp {
        writer: Mutex::new(stream),
        control,
        peer,
    };
    Ok((link, reader))
}

/// Connects to `peer` from `local_ip` and an ephemeral port. The address must be bound before
/// `connect`, or the kernel picks the namespace's primary address when the phone has several
/// (`Lab::add_phone_address`); std has no bind-then-connect for TCP, tokio's `TcpSocket` (a
/// dependency of the crate already) has, so a throw-away current-thread runtime does the
/// connect and hands back a blocking std stream.
fn connect_from(local_ip: Ipv4Addr, peer: SocketAddr) -> io::Result<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((local_ip, 0)))?;
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(peer))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        let stream = stream.into_std()?;
        stream.set_nonblocking(false)?;
        Ok(stream)
    })
}

/// Locks a mutex; a thread that panicked while holding it left nothing half-done that matters
/// to a test helper.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The shared journal.
    fn journal(&self) -> MutexGuard<'_, Journal> {
        lock(&self.journal)
    }

    /// True once `Drop` asked the threads to end.
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sends one of the phone's requests: from the ephemeral socket to the registrar, or on
    /// the connection.
    fn send_request(&self, bytes: &[u8]) -> Result<(), String> {
        let sent = match &self.link {
            Link::Udp { ephemeral, .. } => ephemeral
                .send_to(bytes, self.config.registrar_addr())
                .map(drop),
            Link::Tcp { writer, .. } => lock(writer).write_all(bytes),
        };
        sent.map_err(|error| format!("cannot send to the registrar: {error}"))
    }

    /// Sends a response: from the listen socket to `to` (the request's source), or on the
    /// connection.
    fn send_response(&self, bytes: &[u8], to: SocketAddr) -> Result<(), String> {
        let sent = match &self.link {
            Link::Udp { listen, .. } => listen.send_to(bytes, to).map(drop),
            Link::Tcp { writer, .. } => lock(writer).write_all(bytes),
        };
        sent.map_err(|error| format!("cannot send a response to {to}: {error}"))
    }

    /// Sends a response from a background thread, where an error can only be reported.
    fn reply(&self, bytes: &[u8], to: SocketAddr) {
        if let Err(error) = self.send_response(bytes, to) {
            eprintln!("sipphone: {error}");
        }
    }

    /// Removes and returns the first queued response with this top-`Via` branch.
    fn take_response(&self, branch: &str) -> Option<SipMessage> {
        let mut journal = self.journal();
        let at = journal
            .responses
            .iter()
            .position(|response| response.branch().as_deref() == Some(branch))?;
        Some(journal.responses.remove(at))
    }

    /// A response of the phone: the copied headers plus `Server`.
    fn answer(
        &self,
        request: &SipMessage,
        code: u16,
        reason: &str,
        tag: Option<&str>,
    ) -> SipMessage {
        request
            .response_to(code, reason, tag)
            .with("Server", &self.config.user_agent)
    }
}

/// Responses to send for a request, each with its destination.
type Replies = Vec<(Vec<u8>, SocketAddr)>;

/// Handles one message from the PBX: responses go to the waiting caller, requests are answered
/// and recorded.
fn dispatch(shared: &Shared, bytes: &[u8], from: SocketAddr, arrival: Arrival) {
    let at = Instant::now();
    let message = match SipMessage::parse(bytes) {
        Ok(message) => message,
        Err(error) => {
            // Garbage is dropped, as a phone would; the note helps when a test fails.
            eprintln!("sipphone: dropped a message from {from}: {error}");
            return;
        }
    };
    if message.code().is_some() {
        on_response(shared, message);
        return;
    }
    let replies = match message.method().unwrap_or_default() {
        "INVITE" => on_invite(shared, &message, from),
        "ACK" => on_ack(shared, &message),
        "CANCEL" => on_cancel(shared, &message, from),
        "BYE" => on_bye(shared, &message, from),
        "OPTIONS" => {
            let ok = shared
                .answer(&message, 200, "OK", Some(&unique_hex()))
                .with("Contact", &shared.config.contact())
                .with("Allow", ALLOW);
            vec![(ok.to_bytes(), from)]
        }
        "NOTIFY" => {
            let ok = shared.answer(&message, 200, "OK", Some(&unique_hex()));
            vec![(ok.to_bytes(), from)]
        }
        _ => {
            let refusal = shared.answer(&message, 501, "Not Implemented", Some(&unique_hex()));
            vec![(refusal.to_bytes(), from)]
        }
    };
    // Sent and recorded under the journal's lock, so that a test that has seen the answer
    // also finds the request in `received()`.
    let mut journal = shared.journal();
    for (reply, to) in &replies {
        shared.reply(reply, *to);
    }
    journal.received.push(Received {
        method: message.method().unwrap_or_default().to_string(),
        arrival,
        from_addr: from,
        headers: message.headers,
        body: message.body,
        at,
    });
}

/// A response to one of the phone's requests: repeats the ACK if it is a retransmitted final
/// response to an INVITE already acknowledged, otherwise queues it for the waiting caller.
fn on_response(shared: &Shared, response: SipMessage) {
    let is_invite_final = response.code().unwrap_or_default() >= 200
        && response
            .cseq()
            .is_some_and(|(_, method)| method == "INVITE");
    let repeat_ack = is_invite_final
        .then(|| response.transaction_key())
        .flatten()
        .and_then(|key| shared.journal().acks.get(&key).cloned());
    match repeat_ack {
        Some(ack) => {
            if let Err(error) = shared.send_request(&ack) {
                eprintln!("sipphone: {error}");
            }
        }
        None => shared.journal().responses.push(response),
    }
}

/// An incoming INVITE: 100 Trying and 180 Ringing now, 200 OK after [`ANSWER_DELAY`] (at once
/// for a re-INVITE, whose `To` has a tag) by [`run_answers`]. A retransmitted INVITE gets the
/// last response again.
fn on_invite(shared: &Shared, invite: &SipMessage, from: SocketAddr) -> Replies {
    let Some(key) = invite.transaction_key() else {
        let refusal = shared.answer(invite, 400, "Bad Request", Some(&unique_hex()));
        return vec![(refusal.to_bytes(), from)];
    };
    if let Some(repeat) = repeat_for_retransmission(shared, &key) {
        return vec![(repeat, from)];
    }
    let existing_tag = invite.header("To").and_then(|to| header_param(to, "tag"));
    let reinvite = existing_tag.is_some();
    let tag = existing_tag.unwrap_or_else(unique_hex);
    let trying = shared.answer(invite, 100, "Trying", None).to_bytes();
    let mut replies = vec![(trying.clone(), from)];
    let mut provisional = trying;
    let mut delay = Duration::ZERO;
    if !reinvite {
        provisional = provisional_180(shared, invite, &tag);
        replies.push((provisional.clone(), from));
        delay = ANSWER_DELAY;
    }
    let answer = Answer {
        key,
        invite: invite.clone(),
        ok: ok_with_sdp(shared, invite, &tag),
        tag,
        to: from,
        provisional,
        send_at: Instant::now() + delay,
        interval: T1,
        first_sent: None,
    };
    shared.journal().answers.push(answer);
    replies
}

/// For a retransmitted INVITE: the 200 OK if already sent, else the last provisional.
fn repeat_for_retransmission(shared: &Shared, key: &str) -> Option<Vec<u8>> {
    let journal = shared.journal();
    let answer = journal.answers.iter().find(|answer| answer.key == key)?;
    Some(match answer.first_sent {
        Some(_) => answer.ok.clone(),
        None => answer.provisional.clone(),
    })
}

/// 180 Ringing with the dialog's tag and the phone's `Contact`.
fn provisional_180(shared: &Shared, invite: &SipMessage, tag: &str) -> Vec<u8> {
    shared
        .answer(invite, 180, "Ringing", Some(tag))
        .with("Contact", &shared.config.contact())
        .to_bytes()
}

/// 200 OK to an INVITE: tag, `Contact` (as in REGISTER) and an SDP answer with PCMU.
fn ok_with_sdp(shared: &Shared, invite: &SipMessage, tag: &str) -> Vec<u8> {
    shared
        .answer(invite, 200, "OK", Some(tag))
        .with("Contact", &shared.config.contact())
        .with("Allow", ALLOW)
        .with_body("application/sdp", &sdp(shared.config.local_ip, &[0]))
        .to_bytes()
}

/// An ACK: ends the retransmission of the 200 OK it acknowledges. Nothing is sent.
fn on_ack(shared: &Shared, ack: &SipMessage) -> Replies {
    if let Some(key) = ack.transaction_key() {
        shared.journal().answers.retain(|answer| answer.key != key);
    }
    Vec::new()
}

/// A BYE: 200 OK, and whatever answer of that call is still pending is dropped.
fn on_bye(shared: &Shared, bye: &SipMessage, from: SocketAddr) -> Replies {
    if let Some(call_id) = bye.header("Call-ID") {
        let prefix = format!("{call_id} ");
        shared
            .journal()
            .answers
            .retain(|answer| !answer.key.starts_with(&prefix));
    }
    let ok = shared.answer(bye, 200, "OK", Some(&unique_hex()));
    vec![(ok.to_bytes(), from)]
}

/// A CANCEL: 200 OK to it; if the INVITE is still ringing, 487 to the INVITE (RFC 3261 §9.2).
/// The 487 is sent once (not retransmitted until ACK).
fn on_cancel(shared: &Shared, cancel: &SipMessage, from: SocketAddr) -> Replies {
    let ok = shared.answer(cancel, 200, "OK", Some(&unique_hex()));
    let mut replies = vec![(ok.to_bytes(), from)];
    let Some(key) = cancel.transaction_key() else {
        return replies;
    };
    let ringing = {
        let mut journal = shared.journal();
        let at = journal
            .answers
            .iter()
            .position(|answer| answer.key == key && answer.first_sent.is_none());
        at.map(|at| journal.answers.remove(at))
    };
    if let Some(answer) = ringing {
        let terminated =
            shared.answer(&answer.invite, 487, "Request Terminated", Some(&answer.tag));
        replies.push((terminated.to_bytes(), answer.to));
    }
    replies
}

/// Sends the 200 OKs that are due: first after the ringing delay, then over UDP every
/// T1, 2·T1, … (at most T2) until the ACK, for at most [`ANSWER_GIVE_UP`].
fn run_answers(shared: &Shared) {
    let retransmits = matches!(shared.link, Link::Udp { .. });
    let now = Instant::now();
    let due: Vec<(Vec<u8>, SocketAddr)> = {
        let mut journal = shared.journal();
        journal.answers.retain(|answer| {
            answer
                .first_sent
                .is_none_or(|first| now < first + ANSWER_GIVE_UP)
        });
        journal
            .answers
            .iter_mut()
            .filter_map(|answer| answer.due(now, retransmits))
            .collect()
    };
    for (bytes, to) in due {
        shared.reply(&bytes, to);
    }
}

impl Answer {
    /// The 200 OK and its destination if it is to be sent now; advances the timer.
    fn due(&mut self, now: Instant, retransmits: bool) -> Option<(Vec<u8>, SocketAddr)> {
        let already_sent = self.first_sent.is_some();
        if now < self.send_at || (already_sent && !retransmits) {
            return None;
        }
        if !already_sent {
            self.first_sent = Some(now);
        } else {
            self.interval = self.interval.saturating_mul(2).min(T2);
        }
        self.send_at = now + self.interval;
        Some((self.ok.clone(), self.to))
    }
}

/// Receives on the UDP listen socket until `Drop`; runs the answer timers on every turn.
fn udp_listen_loop(shared: &Shared) {
    let Link::Udp { listen, .. } = &shared.link else {
        return;
    };
    let mut buffer = vec![0u8; 65535];
    // Bounded by `Drop`: the stop flag is checked at least every READ_STEP.
    while !shared.stopping() {
        match listen.recv_from(&mut buffer) {
            Ok((length, from)) => dispatch(shared, &buffer[..length], from, Arrival::Listen),
            Err(error) if is_timeout(&error) => {}
            Err(error) => eprintln!("sipphone: receive on the listen socket: {error}"),
        }
        run_answers(shared);
    }
}

/// Records what reaches the ephemeral UDP socket, without processing it, until `Drop`.
fn udp_stray_loop(shared: &Shared) {
    let Link::Udp { ephemeral, .. } = &shared.link else {
        return;
    };
    let mut buffer = vec![0u8; 65535];
    // Bounded by `Drop`: the stop flag is checked at least every READ_STEP.
    while !shared.stopping() {
        match ephemeral.recv_from(&mut buffer) {
            Ok((length, _)) => {
                let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
                shared.journal().stray.push(text);
            }
            Err(error) if is_timeout(&error) => {}
            Err(error) => eprintln!("sipphone: receive on the ephemeral socket: {error}"),
        }
    }
}

/// Reads the TCP connection until `Drop` or until the PBX closes it; runs the answer timers
/// on every turn.
fn tcp_loop(shared: &Shared, mut stream: TcpStream) {
    let Link::Tcp { peer, .. } = &shared.link else {
        return;
    };
    let mut framer = StreamFramer::default();
    let mut buffer = vec![0u8; 16384];
    // Bounded by `Drop`: the stop flag is checked at least every READ_STEP.
    while !shared.stopping() {
        let outcome = match stream.read(&mut buffer) {
            Ok(0) => Err("the registrar closed the connection".to_string()),
            Ok(length) => {
                framer.push(&buffer[..length]);
                dispatch_frames(shared, &mut framer, *peer)
            }
            Err(error) if is_timeout(&error) => Ok(()),
            Err(error) => Err(format!("the connection failed: {error}")),
        };
        if let Err(reason) = outcome {
            shared.journal().closed = Some(reason);
            return;
        }
        run_answers(shared);
    }
}

/// Handles every complete message in the framer.
fn dispatch_frames(
    shared: &Shared,
    framer: &mut StreamFramer,
    peer: SocketAddr,
) -> Result<(), String> {
    // Each turn removes a message from the buffer, so the loop ends with the bytes read.
    while let Some(frame) = framer.next_message()? {
        dispatch(shared, &frame, peer, Arrival::Connection);
    }
    Ok(())
}

/// True for the error a read timeout produces (`WouldBlock` or `TimedOut` depending on the
/// platform).
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}
