//! Self-tests of `support/sipphone.rs`, the firmware-like SIP phone of the Asterisk tests.
//!
//! - The pure parts: the MD5 digest (RFC 2617 §3.5 example), challenge parsing, SIP message
//!   parsing and serialisation (a 401 in Asterisk PJSIP's style), `Content-Length` framing of
//!   a TCP stream.
//! - The phone itself on 127.0.0.1, in the test's own network namespace (no root, no
//!   Asterisk), against a registrar that the test plays with a plain socket: registration,
//!   requests from the PBX and calls both ways, over UDP and over TCP. The listen port is a
//!   free port, not 5060, which may be taken on the machine.
//!
//! What they prove about the firmware behaviour: over UDP the REGISTER leaves from a port other
//! than the one in its `Via` (which has no `rport`), an answer to that source port is only
//! recorded as stray, and everything else is received and answered on the listen port; over
//! TCP everything travels on the one connection the phone opened.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};

use support::sipphone::{
    authorization_value, digest_response, header_param, parse_challenges, pick_md5_challenge,
    uri_of, Arrival, DigestParams, PhoneSip, SipMessage, SipPhone, StartLine, StreamFramer,
    Transport,
};

/// How long a step of a loopback test may take; the exchanges themselves take milliseconds.
const STEP_TIMEOUT: Duration = Duration::from_secs(2);
/// Read timeout of the fake registrar's sockets, the step of its polling.
const READ_STEP: Duration = Duration::from_millis(20);
/// The test line's credentials.
const USER: &str = "1001";
const AUTH_NAME: &str = "1001-auth";
const PASSWORD: &str = "s3cret,with \"quotes\"";
const USER_AGENT: &str = "Cisco-CP7941G/9.4";

/// A 401 as Asterisk 22's res_pjsip sends it (PJSIP header spelling and order).
const PJSIP_401: &str = "SIP/2.0 401 Unauthorized\r\n\
Via: SIP/2.0/UDP 198.18.7.41:5060;rport=50933;received=198.18.7.41;branch=z9hG4bK4a7e1c\r\n\
Call-ID: 00aa11bb-22cc33dd@198.18.7.41\r\n\
From: <sip:1001@198.18.7.1>;tag=9c1f2e\r\n\
To: <sip:1001@198.18.7.1>;tag=z9hG4bK4a7e1c\r\n\
CSeq: 101 REGISTER\r\n\
WWW-Authenticate: Digest realm=\"asterisk\",nonce=\"1700000000/abc\",opaque=\"d1\",algorithm=MD5,qop=\"auth\"\r\n\
Server: Asterisk PBX 22.10.1\r\n\
Content-Length:  0\r\n\
\r\n";

// ---------------------------------------------------------------------------------------------
// Digest
// ---------------------------------------------------------------------------------------------

#[test]
fn digest_matches_the_rfc_2617_example() {
    // RFC 2617 §3.5.
    let header = "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
                  nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
                  opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    let challenge = pick_md5_challenge([header]).expect("an md5 challenge");
    let params = DigestParams {
        username: "Mufasa",
        password: "Circle Of Life",
        method: "GET",
        uri: "/dir/index.html",
        cnonce: "0a4f113b",
        nc: 1,
    };
    let response = digest_response(&challenge, &params).expect("digest");
    assert_eq!(response, "6629fae49393a05397450978507c4ef1");

    let value = authorization_value(&challenge, &params).expect("authorization");
    assert_eq!(
        value,
        "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", \
         response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, cnonce=\"0a4f113b\", \
         qop=auth, nc=00000001, opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""
    );
}

#[test]
fn digest_without_qop_is_md5_of_ha1_nonce_ha2() {
    let challenge = pick_md5_challenge(["Digest realm=\"asterisk\", nonce=\"n0\""]).expect("md5");
    let params = DigestParams {
        username: "1001",
        password: "pw",
        method: "REGISTER",
        uri: "sip:198.18.7.1",
        cnonce: "ignored",
        nc: 1,
    };
    let ha1 = md5_hex("1001:asterisk:pw");
    let ha2 = md5_hex("REGISTER:sip:198.18.7.1");
    let expected = md5_hex(&format!("{ha1}:n0:{ha2}"));
    assert_eq!(digest_response(&challenge, &params), Ok(expected));
    let value = authorization_value(&challenge, &params).expect("authorization");
    assert!(!value.contains("cnonce") && !value.contains("qop") && !value.contains("nc="));
    assert!(!value.contains("opaque"), "{value}");
}

#[test]
fn digest_needs_realm_and_nonce() {
    let challenge = pick_md5_challenge(["Digest realm=\"asterisk\""]).expect("md5");
    let params = DigestParams {
        username: "u",
        password: "p",
        method: "REGISTER",
        uri: "sip:h",
        cnonce: "c",
        nc: 1,
    };
    assert_eq!(
        digest_response(&challenge, &params),
        Err("challenge has no nonce".to_string())
    );
}

#[test]
fn challenges_with_quoted_commas_and_several_schemes() {
    let header = "Digest realm=\"a, b\", nonce=\"x\\\"y\", algorithm=SHA-256, qop=\"auth\", \
                  Digest realm=\"asterisk\",nonce=\"1700000000/abc\",algorithm=MD5,qop=\"auth\"";
    let challenges = parse_challenges(header);
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert_eq!(challenges[0].param("realm"), Some("a, b"));
    assert_eq!(challenges[0].param("nonce"), Some("x\"y"));
    assert!(!challenges[0].is_md5_digest());
    let md5 = pick_md5_challenge([header]).expect("md5 challenge");
    assert_eq!(md5.param("realm"), Some("asterisk"));
    assert_eq!(md5.param("nonce"), Some("1700000000/abc"));

    // One challenge per header, SHA-256 first, as Asterisk 22 may send them; and a Basic one.
    let headers = [
        "Basic realm=\"x\"",
        "Digest algorithm=SHA-256, realm=\"asterisk\", nonce=\"s\"",
        "DIGEST REALM=\"asterisk\", NONCE=\"m\"",
    ];
    let md5 = pick_md5_challenge(headers).expect("md5 among several headers");
    assert_eq!(md5.param("nonce"), Some("m"));
    assert!(!md5.offers_qop_auth());
    assert!(pick_md5_challenge(["Digest algorithm=SHA-256, nonce=\"s\""]).is_none());
    assert!(parse_challenges("").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

#[test]
fn pjsip_401_parses_and_round_trips() {
    let message = SipMessage::parse(PJSIP_401.as_bytes()).expect("parse");
    assert_eq!(message.code(), Some(401));
    assert_eq!(message.method(), None);
    assert_eq!(message.cseq(), Some((101, "REGISTER".to_string())));
    assert_eq!(message.branch().as_deref(), Some("z9hG4bK4a7e1c"));
    assert_eq!(
        message.header("call-id"),
        Some("00aa11bb-22cc33dd@198.18.7.41")
    );
    assert_eq!(message.header("i"), Some("00aa11bb-22cc33dd@198.18.7.41"));
    assert_eq!(message.body, "");
    let challenge =
        pick_md5_challenge(message.headers_named("WWW-Authenticate")).expect("challenge");
    assert_eq!(challenge.param("realm"), Some("asterisk"));
    assert_eq!(challenge.param("opaque"), Some("d1"));
    assert!(challenge.offers_qop_auth());

    let bytes = message.to_bytes();
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    assert!(
        text.starts_with("SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP "),
        "{text}"
    );
    assert!(text.ends_with("Content-Length: 0\r\n\r\n"), "{text}");
    assert_eq!(SipMessage::parse(&bytes), Ok(message));
}

#[test]
fn request_with_body_compact_headers_and_folding_round_trips() {
    let text = "INVITE sip:1001@198.18.7.41:5060 SIP/2.0\r\n\
                v: SIP/2.0/UDP 198.18.7.1:5060;rport;branch=z9hG4bKPja\r\n\
                Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKPjb\r\n\
                f: <sip:1002@198.18.7.1>;tag=abc\r\n\
                t: <sip:1001@198.18.7.41>\r\n\
                i: call-1\r\n\
                CSeq: 7 INVITE\r\n\
                Subject: a folded\r\n  header\r\n\
                c: application/sdp\r\n\
                l: 5\r\n\
                \r\n\
                v=0\r\nextra bytes beyond the length";
    let message = SipMessage::parse(text.as_bytes()).expect("parse");
    assert_eq!(
        message.start,
        StartLine::Request {
            method: "INVITE".to_string(),
            uri: "sip:1001@198.18.7.41:5060".to_string()
        }
    );
    assert_eq!(message.body, "v=0\r\n");
    assert_eq!(message.header("Subject"), Some("a folded header"));
    assert_eq!(message.headers_named("Via").len(), 2);
    assert_eq!(message.branch().as_deref(), Some("z9hG4bKPja"));
    assert_eq!(message.header("Content-Length"), Some("5"));
    let again = SipMessage::parse(&message.to_bytes()).expect("reparse");
    assert_eq!(again.body, message.body);
    assert_eq!(again.header("Call-ID"), Some("call-1"));
    assert_eq!(again.header("Content-Length"), Some("5"));

    // The answer copies both Vias, From, Call-ID and CSeq, and tags To once.
    let ringing = message.response_to(180, "Ringing", Some("t1"));
    assert_eq!(ringing.headers_named("via"), message.headers_named("via"));
    assert_eq!(ringing.header("To"), Some("<sip:1001@198.18.7.41>;tag=t1"));
    assert_eq!(ringing.header("From"), message.header("From"));
    assert_eq!(ringing.header("CSeq"), Some("7 INVITE"));
    let tagged = ringing.response_to(200, "OK", Some("t2"));
    assert_eq!(tagged.header("To"), Some("<sip:1001@198.18.7.41>;tag=t1"));
    assert_eq!(
        message.response_to(100, "Trying", None).header("To"),
        message.header("To")
    );
}

#[test]
fn malformed_messages_are_errors() {
    let cases: &[(&str, &str)] = &[
        ("SIP/2.0 999 Nope\r\n\r\n", "status code out of range"),
        ("SIP/2.0 abc OK\r\n\r\n", "bad status code"),
        ("REGISTER sip:h\r\n\r\n", "bad request line"),
        (
            "OPTIONS sip:h SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n",
            "without a colon",
        ),
        (
            "OPTIONS sip:h SIP/2.0\r\nContent-Length: 10\r\n\r\nshort",
            "shorter than",
        ),
        (
            "OPTIONS sip:h SIP/2.0\r\nContent-Length: x\r\n\r\n",
            "bad content-length",
        ),
        ("OPTIONS sip:h SIP/2.0\r\nVia: x", "no empty line"),
    ];
    for (text, expected) in cases {
        let error = SipMessage::parse(text.as_bytes()).expect_err(text);
        assert!(error.contains(expected), "{text:?}: {error}");
    }
    assert!(SipMessage::parse(&[0xff, 0xfe, b'\r', b'\n', b'\r', b'\n']).is_err());
}

#[test]
fn header_params_and_uris() {
    let via = "SIP/2.0/UDP 198.18.7.41:5060;branch=z9hG4bK1;rport";
    assert_eq!(header_param(via, "branch").as_deref(), Some("z9hG4bK1"));
    assert_eq!(header_param(via, "rport").as_deref(), Some(""));
    assert_eq!(header_param(via, "received"), None);
    let to = "\"Bob\" <sip:1002@h;transport=tcp>;tag=a1";
    assert_eq!(header_param(to, "tag").as_deref(), Some("a1"));
    assert_eq!(header_param(to, "transport"), None);
    assert_eq!(uri_of(to), "sip:1002@h;transport=tcp");
    assert_eq!(uri_of("sip:1002@h;tag=x"), "sip:1002@h");
}

// ---------------------------------------------------------------------------------------------
// TCP framing
// ---------------------------------------------------------------------------------------------

/// Two messages: an OPTIONS without body and a NOTIFY whose length is given in compact form.
fn two_messages() -> (String, String) {
    let options = "OPTIONS sip:1001@198.18.7.41:5060;transport=tcp SIP/2.0\r\n\
                   Via: SIP/2.0/TCP 198.18.7.1:5060;branch=z9hG4bKo\r\n\
                   Content-Length: 0\r\n\r\n"
        .to_string();
    let notify = "NOTIFY sip:1001@198.18.7.41:5060 SIP/2.0\r\n\
                  Event: message-summary\r\n\
                  l: 23\r\n\r\n\
                  Messages-Waiting: yes\r\n"
        .to_string();
    (options, notify)
}

#[test]
fn framer_joins_a_message_split_across_reads() {
    let (options, notify) = two_messages();
    let stream = format!("{options}{notify}");
    let mut framer = StreamFramer::default();
    let mut frames = Vec::new();
    for byte in stream.as_bytes() {
        framer.push(std::slice::from_ref(byte));
        while let Some(frame) = framer.next_message().expect("frame") {
            frames.push(String::from_utf8(frame).expect("utf-8"));
        }
    }
    assert_eq!(frames, [options, notify]);
}

#[test]
fn framer_splits_two_messages_in_one_read_and_skips_keepalives() {
    let (options, notify) = two_messages();
    let mut framer = StreamFramer::default();
    framer.push(format!("\r\n\r\n{options}\r\n\r\n{notify}\r\n").as_bytes());
    assert_eq!(framer.next_message(), Ok(Some(options.into_bytes())));
    let notify_frame = framer
        .next_message()
        .expect("frame")
        .expect("second message");
    assert_eq!(notify_frame, notify.as_bytes());
    let parsed = SipMessage::parse(&notify_frame).expect("parse");
    assert_eq!(parsed.body, "Messages-Waiting: yes\r\n");
    assert_eq!(
        framer.next_message(),
        Ok(None),
        "a trailing pong is not a message"
    );
    // A message whose body has not fully arrived is not returned yet.
    framer.push(b"NOTIFY sip:x SIP/2.0\r\nContent-Length: 4\r\n\r\nab");
    assert_eq!(framer.next_message(), Ok(None));
    framer.push(b"cd");
    let frame = framer.next_message().expect("frame").expect("complete");
    assert!(frame.ends_with(b"\r\n\r\nabcd"));
}

#[test]
fn framer_rejects_a_bad_content_length() {
    let mut framer = StreamFramer::default();
    framer.push(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: -1\r\n\r\n");
    assert!(framer.next_message().is_err());
}

// ---------------------------------------------------------------------------------------------
// Loopback: the phone against a registrar played by the test
// ---------------------------------------------------------------------------------------------

/// The phone's configuration on 127.0.0.1 in the current namespace.
fn phone_config(transport: Transport, registrar_port: u16, listen_port: u16) -> PhoneSip {
    PhoneSip {
        netns: String::new(),
        local_ip: [127, 0, 0, 1].into(),
        registrar: [127, 0, 0, 1].into(),
        registrar_port,
        transport,
        user: USER.to_string(),
        auth_name: AUTH_NAME.to_string(),
        password: PASSWORD.to_string(),
        listen_port,
        user_agent: USER_AGENT.to_string(),
    }
}

/// A UDP port free right now, for the phone's listen port.
fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a free port");
    socket.local_addr().expect("local address").port()
}

/// The fake registrar's UDP socket.
fn udp_registrar() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the registrar");
    socket
        .set_read_timeout(Some(READ_STEP))
        .expect("read timeout");
    socket
}

/// A registrar's UDP socket on loopback and a phone started against it on a free port.
struct UdpPair {
    registrar: UdpSocket,
    registrar_address: SocketAddr,
    listen_port: u16,
    phone: SipPhone,
    /// Where the phone listens: requests from the PBX go here.
    phone_address: SocketAddr,
}

fn udp_pair() -> UdpPair {
    let registrar = udp_registrar();
    let registrar_address = registrar.local_addr().expect("address");
    let listen_port = free_udp_port();
    let phone = SipPhone::start(phone_config(
        Transport::Udp,
        registrar_address.port(),
        listen_port,
    ))
    .expect("start the phone");
    UdpPair {
        registrar,
        registrar_address,
        listen_port,
        phone,
        phone_address: ([127, 0, 0, 1], listen_port).into(),
    }
}

/// The next SIP message on `socket`, or a panic after [`STEP_TIMEOUT`].
#[track_caller]
fn receive(socket: &UdpSocket) -> (SipMessage, SocketAddr) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut buffer = [0u8; 65535];
    while Instant::now() < deadline {
        match socket.recv_from(&mut buffer) {
            Ok((length, from)) => {
                let message = SipMessage::parse(&buffer[..length]).expect("phone sent valid sip");
                return (message, from);
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("registrar receive: {error}"),
        }
    }
    panic!("the phone sent nothing within {STEP_TIMEOUT:?}");
}

/// Sends `message` from the fake registrar.
fn send(socket: &UdpSocket, message: &SipMessage, to: SocketAddr) {
    socket
        .send_to(&message.to_bytes(), to)
        .expect("registrar send");
}

/// Where the top `Via` of `message` says responses go (its sent-by).
fn via_address(message: &SipMessage) -> SocketAddr {
    let via = message.header("Via").expect("via");
    let sent_by = via
        .split(';')
        .next()
        .and_then(|protocol_and_host| protocol_and_host.split_whitespace().nth(1))
        .expect("via sent-by");
    sent_by.parse().expect("via sent-by is ip:port")
}

/// A challenge in PJSIP's style for `request`, as 401 (WWW-Authenticate) or 407.
fn challenge(request: &SipMessage, code: u16, nonce: &str) -> SipMessage {
    let (reason, header) = if code == 407 {
        ("Proxy Authentication Required", "Proxy-Authenticate")
    } else {
        ("Unauthorized", "WWW-Authenticate")
    };
    let value = format!(
        "Digest realm=\"asterisk\",nonce=\"{nonce}\",opaque=\"d1\",algorithm=MD5,qop=\"auth\""
    );
    request
        .response_to(code, reason, Some("srvtag"))
        .with("Server", "Asterisk PBX 22.10.1")
        .with(header, &value)
}

/// Checks the credentials in `request` (header `header`) as Asterisk would: the digest must be
/// the one for the test's password, the request's method and URI, and nonce `nonce`.
#[track_caller]
fn assert_authorized(request: &SipMessage, header: &str, nonce: &str) {
    let value = request.header(header).expect("credentials");
    let given = parse_challenges(value).remove(0);
    let StartLine::Request { method, uri } = &request.start else {
        panic!("not a request");
    };
    assert_eq!(given.scheme, "Digest");
    assert_eq!(given.param("username"), Some(AUTH_NAME));
    assert_eq!(given.param("uri"), Some(uri.as_str()));
    assert_eq!(given.param("nonce"), Some(nonce));
    assert_eq!(given.param("opaque"), Some("d1"));
    assert_eq!(given.param("qop"), Some("auth"));
    assert_eq!(given.param("nc"), Some("00000001"));
    let issued =
        pick_md5_challenge([
            format!("Digest realm=\"asterisk\",nonce=\"{nonce}\",qop=\"auth\"").as_str(),
        ])
        .expect("challenge");
    let params = DigestParams {
        username: AUTH_NAME,
        password: PASSWORD,
        method,
        uri,
        cnonce: given.param("cnonce").expect("cnonce"),
        nc: 1,
    };
    let expected = digest_response(&issued, &params).expect("digest");
    assert_eq!(given.param("response"), Some(expected.as_str()));
}

/// A 200 OK to REGISTER as the registrar sends it.
fn register_ok(request: &SipMessage, listen_port: u16) -> SipMessage {
    request
        .response_to(200, "OK", Some("srvtag"))
        .with(
            "Contact",
            &format!("<sip:{USER}@127.0.0.1:{listen_port}>;expires=3600"),
        )
        .with("Date", "Sat, 01 Aug 2026 10:00:00 GMT")
}

#[test]
fn udp_register_leaves_from_an_ephemeral_port_and_ignores_answers_sent_there() {
    let UdpPair {
        registrar,
        listen_port,
        phone,
        ..
    } = udp_pair();
    let request_port = phone.request_port().expect("request port");
    assert_ne!(request_port, listen_port);

    thread::scope(|scope| {
        let registration = scope.spawn(|| phone.register(STEP_TIMEOUT));
        let (first, source) = receive(&registrar);
        assert_eq!(first.method(), Some("REGISTER"));
        assert_eq!(
            source.port(),
            request_port,
            "sent from the ephemeral socket"
        );
        let via = first.header("Via").expect("via");
        let prefix = format!("SIP/2.0/UDP 127.0.0.1:{listen_port};branch=z9hG4bK");
        assert!(via.starts_with(&prefix), "{via}");
        assert_eq!(header_param(via, "rport"), None, "no rport: {via}");
        let contact = format!("<sip:{USER}@127.0.0.1:{listen_port}>");
        assert_eq!(first.header("Contact"), Some(contact.as_str()));
        assert_eq!(first.header("Expires"), Some("3600"));
        assert_eq!(first.header("User-Agent"), Some(USER_AGENT));
        assert_eq!(first.header("Authorization"), None);

        // Answered to the source port, as with force_rport: the firmware never sees it and
        // retransmits after T1.
        send(&registrar, &challenge(&first, 401, "n1"), source);
        let (retransmitted, _) = receive(&registrar);
        assert_eq!(retransmitted.branch(), first.branch());

        send(
            &registrar,
            &challenge(&first, 401, "n1"),
            via_address(&first),
        );
        let (second, _) = receive(&registrar);
        assert_authorized(&second, "Authorization", "n1");
        assert_eq!(second.header("Call-ID"), first.header("Call-ID"));
        let (first_cseq, _) = first.cseq().expect("cseq");
        assert_eq!(
            second.cseq(),
            Some((first_cseq + 1, "REGISTER".to_string()))
        );
        assert_ne!(second.branch(), first.branch());
        send(
            &registrar,
            &register_ok(&second, listen_port),
            via_address(&second),
        );

        let statuses = registration.join().expect("register thread");
        assert_eq!(statuses, Ok(vec![401, 200]));
    });
    let stray = phone.stray();
    assert_eq!(stray.len(), 1, "{stray:?}");
    assert!(
        stray[0].starts_with("SIP/2.0 401 Unauthorized\r\n"),
        "{stray:?}"
    );
    assert!(phone.received().is_empty());
}

#[test]
fn udp_register_until_ok_retries_and_register_times_out_without_answer() {
    let UdpPair {
        registrar,
        listen_port,
        phone,
        ..
    } = udp_pair();

    let error = phone
        .register(Duration::from_millis(100))
        .expect_err("no answer");
    assert!(error.contains("no response to REGISTER"), "{error}");

    thread::scope(|scope| {
        let registration =
            scope.spawn(|| phone.register_until_ok(Duration::from_millis(300), STEP_TIMEOUT));
        // The first attempt is refused, the next one accepted without challenge. The
        // REGISTER of the timed-out attempt above (CSeq 101) may still be in the socket.
        let (mut first, _) = receive(&registrar);
        if first.cseq() == Some((101, "REGISTER".to_string())) {
            first = receive(&registrar).0;
        }
        send(
            &registrar,
            &first.response_to(403, "Forbidden", Some("x")),
            via_address(&first),
        );
        let (second, _) = receive(&registrar);
        send(
            &registrar,
            &register_ok(&second, listen_port),
            via_address(&second),
        );
        let (statuses, took) = registration.join().expect("thread").expect("registered");
        assert_eq!(statuses, [200]);
        assert!(took >= Duration::from_millis(250), "{took:?}");
    });
}

#[test]
fn udp_requests_from_the_pbx_are_answered_from_the_listen_port() {
    let UdpPair {
        registrar,
        registrar_address,
        listen_port,
        phone,
        phone_address,
    } = udp_pair();
    let pbx_request = |method: &str, extra: &[(&str, &str)], body: &str| {
        let mut request =
            SipMessage::request(method, &format!("sip:{USER}@127.0.0.1:{listen_port}"))
                .with(
                    "Via",
                    &format!("SIP/2.0/UDP {registrar_address};rport;branch=z9hG4bKPj{method}"),
                )
                .with("Via", "SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKinner")
                .with("From", "<sip:asterisk@127.0.0.1>;tag=pbx")
                .with("To", &format!("<sip:{USER}@127.0.0.1>"))
                .with("Call-ID", &format!("{method}-call"))
                .with("CSeq", &format!("5 {method}"));
        for (name, value) in extra {
            request = request.with(name, value);
        }
        request.body = body.to_string();
        request
    };

    let options = pbx_request("OPTIONS", &[], "");
    send(&registrar, &options, phone_address);
    let (ok, from) = receive(&registrar);
    assert_eq!(from, phone_address, "answered from the listen port");
    assert_eq!(ok.code(), Some(200));
    assert_eq!(ok.headers_named("Via"), options.headers_named("Via"));
    assert_eq!(ok.header("Call-ID"), Some("OPTIONS-call"));
    assert_eq!(ok.header("CSeq"), Some("5 OPTIONS"));
    assert!(ok
        .header("To")
        .is_some_and(|to| header_param(to, "tag").is_some()));

    let notify = pbx_request(
        "NOTIFY",
        &[
            ("Event", "message-summary"),
            ("Content-Type", "application/simple-message-summary"),
        ],
        "Messages-Waiting: yes\r\nVoice-Message: 1/0 (0/0)\r\n",
    );
    send(&registrar, &notify, phone_address);
    assert_eq!(receive(&registrar).0.code(), Some(200));

    send(
        &registrar,
        &pbx_request("SUBSCRIBE", &[], ""),
        phone_address,
    );
    assert_eq!(receive(&registrar).0.code(), Some(501));

    let mwi = phone
        .wait_for_request("NOTIFY", STEP_TIMEOUT)
        .expect("notify recorded");
    assert_eq!(mwi.arrival, Arrival::Listen);
    assert_eq!(mwi.from_addr, registrar_address);
    assert_eq!(mwi.header("event"), Some("message-summary"));
    assert!(mwi.body.starts_with("Messages-Waiting: yes"));
    let methods: Vec<String> = phone.received().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["OPTIONS", "NOTIFY", "SUBSCRIBE"]);
    assert!(phone
        .wait_for_request("INFO", Duration::from_millis(30))
        .is_none());
    assert!(phone.stray().is_empty());
}

#[test]
fn udp_incoming_call_rings_answers_and_retransmits_until_ack() {
    let UdpPair {
        registrar,
        registrar_address,
        listen_port,
        phone,
        phone_address,
    } = udp_pair();
    let invite = SipMessage::request("INVITE", &format!("sip:{USER}@127.0.0.1:{listen_port}"))
        .with(
            "Via",
            &format!("SIP/2.0/UDP {registrar_address};rport;branch=z9hG4bKPjinv"),
        )
        .with("From", "\"1002\" <sip:1002@127.0.0.1>;tag=caller")
        .with("To", &format!("<sip:{USER}@127.0.0.1>"))
        .with("Contact", &format!("<sip:asterisk@{registrar_address}>"))
        .with("Call-ID", "incoming-1")
        .with("CSeq", "9 INVITE")
        .with_body(
            "application/sdp",
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Asterisk\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio 10000 RTP/AVP 0 8 101\r\n",
        );
    send(&registrar, &invite, phone_address);
    let sent_at = Instant::now();

    let (trying, _) = receive(&registrar);
    assert_eq!(trying.code(), Some(100));
    assert_eq!(trying.header("To"), invite.header("To"), "100 has no tag");
    let (ringing, _) = receive(&registrar);
    assert_eq!(ringing.code(), Some(180));
    let tag = header_param(ringing.header("To").expect("to"), "tag").expect("to tag");
    let contact = format!("<sip:{USER}@127.0.0.1:{listen_port}>");
    assert_eq!(ringing.header("Contact"), Some(contact.as_str()));

    let (ok, _) = receive(&registrar);
    let answered_after = sent_at.elapsed();
    assert_eq!(ok.code(), Some(200));
    assert!(
        answered_after >= Duration::from_millis(150),
        "{answered_after:?}"
    );
    assert_eq!(
        header_param(ok.header("To").expect("to"), "tag"),
        Some(tag.clone())
    );
    assert_eq!(ok.header("Contact"), Some(contact.as_str()));
    assert_eq!(ok.header("CSeq"), Some("9 INVITE"));
    assert_eq!(ok.header("Content-Type"), Some("application/sdp"));
    assert!(
        ok.body.contains("m=audio 16384 RTP/AVP 0\r\n"),
        "{}",
        ok.body
    );
    assert!(ok.body.contains("a=rtpmap:0 PCMU/8000"), "{}", ok.body);

    // No ACK yet: the 200 comes again after T1.
    let (again, _) = receive(&registrar);
    assert_eq!(again.code(), Some(200));
    assert!(sent_at.elapsed() - answered_after >= Duration::from_millis(400));

    let in_dialog = |method: &str, cseq: u32| {
        SipMessage::request(method, &format!("sip:{USER}@127.0.0.1:{listen_port}"))
            .with(
                "Via",
                &format!("SIP/2.0/UDP {registrar_address};branch=z9hG4bKPj{method}"),
            )
            .with("From", "\"1002\" <sip:1002@127.0.0.1>;tag=caller")
            .with("To", &format!("<sip:{USER}@127.0.0.1>;tag={tag}"))
            .with("Call-ID", "incoming-1")
            .with("CSeq", &format!("{cseq} {method}"))
    };
    send(&registrar, &in_dialog("ACK", 9), phone_address);
    send(&registrar, &in_dialog("BYE", 10), phone_address);
    let (bye_ok, _) = receive(&registrar);
    assert_eq!(
        (bye_ok.code(), bye_ok.header("CSeq")),
        (Some(200), Some("10 BYE"))
    );
    let methods: Vec<String> = phone.received().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["INVITE", "ACK", "BYE"]);
}

#[test]
fn udp_outgoing_call_answers_a_proxy_challenge_and_hangs_up() {
    let UdpPair {
        registrar,
        registrar_address,
        listen_port,
        phone,
        ..
    } = udp_pair();

    thread::scope(|scope| {
        let call = scope.spawn(|| phone.call("1002", Duration::from_millis(100), STEP_TIMEOUT));
        let (invite, _) = receive(&registrar);
        let to_phone = via_address(&invite);
        assert_eq!(to_phone.port(), listen_port);
        assert!(
            invite.body.contains("m=audio 16384 RTP/AVP 0 8 101\r\n"),
            "{}",
            invite.body
        );
        assert!(
            invite.body.contains("a=rtpmap:101 telephone-event/8000"),
            "{}",
            invite.body
        );
        assert_eq!(
            uri_of(invite.header("To").expect("to")),
            format!("sip:1002@{registrar_address}")
        );
        send(&registrar, &challenge(&invite, 407, "n7"), to_phone);

        let (ack, _) = receive(&registrar);
        assert_eq!(ack.method(), Some("ACK"));
        assert_eq!(
            ack.branch(),
            invite.branch(),
            "ACK of a failure is in its transaction"
        );
        let (invite_cseq, _) = invite.cseq().expect("cseq");
        assert_eq!(ack.cseq(), Some((invite_cseq, "ACK".to_string())));
        assert!(ack
            .header("To")
            .is_some_and(|to| to.ends_with(";tag=srvtag")));

        let (second, _) = receive(&registrar);
        assert_eq!(second.cseq(), Some((invite_cseq + 1, "INVITE".to_string())));
        assert_eq!(second.header("Call-ID"), invite.header("Call-ID"));
        assert_authorized(&second, "Proxy-Authorization", "n7");
        send(
            &registrar,
            &second.response_to(100, "Trying", None),
            to_phone,
        );
        send(
            &registrar,
            &second.response_to(180, "Ringing", Some("callee")),
            to_phone,
        );
        let remote_target = format!("sip:1002@{registrar_address}");
        let ok = second
            .response_to(200, "OK", Some("callee"))
            .with("Contact", &format!("<{remote_target}>"))
            .with_body("application/sdp", "v=0\r\n");
        send(&registrar, &ok, to_phone);

        let (ack, _) = receive(&registrar);
        assert_eq!(
            ack.start,
            StartLine::Request {
                method: "ACK".into(),
                uri: remote_target.clone()
            }
        );
        assert_eq!(ack.cseq(), Some((invite_cseq + 1, "ACK".to_string())));
        assert_ne!(
            ack.branch(),
            second.branch(),
            "ACK of a 2xx is a new transaction"
        );
        // A retransmitted 200 gets the same ACK again.
        send(&registrar, &ok, to_phone);
        let (ack_again, _) = receive(&registrar);
        assert_eq!(ack_again, ack);

        let (bye, _) = receive(&registrar);
        assert_eq!(bye.method(), Some("BYE"));
        assert_eq!(bye.cseq(), Some((invite_cseq + 2, "BYE".to_string())));
        assert!(bye
            .header("To")
            .is_some_and(|to| to.ends_with(";tag=callee")));
        send(&registrar, &bye.response_to(200, "OK", None), to_phone);

        let statuses = call.join().expect("call thread");
        assert_eq!(statuses, Ok(vec![407, 100, 180, 200, 200]));
    });
}

/// The fake registrar's end of the phone's TCP connection.
struct TcpPeer {
    stream: TcpStream,
    framer: StreamFramer,
}

impl TcpPeer {
    /// Accepts the phone's connection (polled, bounded).
    fn accept(listener: &TcpListener) -> TcpPeer {
        listener.set_nonblocking(true).expect("nonblocking");
        let deadline = Instant::now() + STEP_TIMEOUT;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the phone did not connect");
                    thread::sleep(READ_STEP);
                }
                Err(error) => panic!("accept: {error}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_read_timeout(Some(READ_STEP))
            .expect("read timeout");
        TcpPeer {
            stream,
            framer: StreamFramer::default(),
        }
    }

    /// The next message on the connection, or `None` when the phone closed it.
    #[track_caller]
    fn receive(&mut self) -> Option<SipMessage> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        let mut buffer = [0u8; 4096];
        while Instant::now() < deadline {
            if let Some(frame) = self.framer.next_message().expect("framing") {
                return Some(SipMessage::parse(&frame).expect("phone sent valid sip"));
            }
            match self.stream.read(&mut buffer) {
                Ok(0) => return None,
                Ok(length) => self.framer.push(&buffer[..length]),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(error) => panic!("registrar read: {error}"),
            }
        }
        panic!("nothing on the connection within {STEP_TIMEOUT:?}");
    }

    /// Writes raw bytes on the connection.
    fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("registrar write");
    }
}

#[test]
fn tcp_uses_one_connection_for_everything() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the registrar");
    let registrar_port = listener.local_addr().expect("address").port();
    let listen_port = free_udp_port();
    let phone = SipPhone::start(phone_config(Transport::Tcp, registrar_port, listen_port))
        .expect("start the phone");
    let mut peer = TcpPeer::accept(&listener);
    let phone_end = peer.stream.peer_addr().expect("peer address");
    assert_eq!(phone.request_port(), Ok(phone_end.port()));

    thread::scope(|scope| {
        let registration = scope.spawn(|| phone.register(STEP_TIMEOUT));
        let first = peer.receive().expect("register");
        let via = first.header("Via").expect("via");
        let prefix = format!("SIP/2.0/TCP 127.0.0.1:{listen_port};branch=z9hG4bK");
        assert!(via.starts_with(&prefix), "{via}");
        let contact = format!("<sip:{USER}@127.0.0.1:{listen_port};transport=tcp>");
        assert_eq!(first.header("Contact"), Some(contact.as_str()));
        // The 401 in two writes, cut inside a header.
        let bytes = challenge(&first, 401, "t1").to_bytes();
        peer.write(&bytes[..40]);
        peer.write(&bytes[40..]);
        let second = peer.receive().expect("register with credentials");
        assert_authorized(&second, "Authorization", "t1");
        // The 200, a keep-alive and an OPTIONS in one write.
        let options = SipMessage::request(
            "OPTIONS",
            &format!("sip:{USER}@127.0.0.1:{listen_port};transport=tcp"),
        )
        .with("Via", "SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKPjq")
        .with("From", "<sip:asterisk@127.0.0.1>;tag=q")
        .with("To", &format!("<sip:{USER}@127.0.0.1>"))
        .with("Call-ID", "qualify-1")
        .with("CSeq", "1 OPTIONS");
        let mut burst = register_ok(&second, listen_port).to_bytes();
        burst.extend_from_slice(b"\r\n\r\n");
        burst.extend_from_slice(&options.to_bytes());
        peer.write(&burst);
        assert_eq!(
            registration.join().expect("register thread"),
            Ok(vec![401, 200])
        );
        let ok = peer.receive().expect("200 to OPTIONS");
        assert_eq!(
            (ok.code(), ok.header("Call-ID")),
            (Some(200), Some("qualify-1"))
        );
    });

    // An incoming call on the same connection: answered once, no retransmission over TCP.
    let invite = SipMessage::request(
        "INVITE",
        &format!("sip:{USER}@127.0.0.1:{listen_port};transport=tcp"),
    )
    .with("Via", "SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKPji")
    .with("From", "<sip:1002@127.0.0.1>;tag=c")
    .with("To", &format!("<sip:{USER}@127.0.0.1>"))
    .with("Call-ID", "tcp-call")
    .with("CSeq", "3 INVITE")
    .with_body("application/sdp", "v=0\r\nm=audio 10000 RTP/AVP 0\r\n");
    peer.write(&invite.to_bytes());
    let codes: Vec<Option<u16>> = (0..3)
        .map(|_| peer.receive().expect("response").code())
        .collect();
    assert_eq!(codes, [Some(100), Some(180), Some(200)]);

    let options = phone
        .wait_for_request("OPTIONS", STEP_TIMEOUT)
        .expect("options recorded");
    assert_eq!(options.arrival, Arrival::Connection);
    assert_eq!(options.from_addr, listener.local_addr().expect("address"));
    assert!(phone.stray().is_empty());
    match listener.accept() {
        Err(error) if error.kind() == ErrorKind::WouldBlock => {}
        other => panic!("a second connection: {other:?}"),
    }

    let dropped_at = Instant::now();
    drop(phone);
    assert!(
        dropped_at.elapsed() < Duration::from_millis(500),
        "drop took {:?}",
        dropped_at.elapsed()
    );
    assert!(peer.receive().is_none(), "the phone closed its connection");
}

/// Lower-case hex MD5, computed here independently of the phone's code.
fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
