//! The Asterisk PJSIP include file for plain Asterisk (`[pbx] pjsip_snippet`).
//!
//! Per phone three sections named after its extension, the layout of Asterisk's own
//! "Configuring res_pjsip" example (one name, told apart by `type`): the `endpoint` (the
//! name matches the From user of the phone's requests), its `auth` (user name = the
//! extension, the phone's `authName`) and its `aor` (the name matches the To user of the
//! REGISTER).
//!
//! # Options (every one checked in Asterisk's `res/res_pjsip/pjsip_config.xml`)
//!
//! | section | option | value | why |
//! |---|---|---|---|
//! | endpoint | `transport` | the phone's: [`PjsipSettings::udp_transport`] or [`PjsipSettings::tcp_transport`] | the transport the phone's file names (see below) |
//! | endpoint | `context` | [`PjsipSettings::context`] | where the phone's calls go in the dialplan |
//! | endpoint | `disallow`, `allow` | `all`; `ulaw,alaw` (+ `g722`, see below) | codecs the phones have, no transcoding for G.711 |
//! | endpoint | `rtp_symmetric` | `yes` | send RTP where the phone's RTP comes from |
//! | endpoint | `force_rport` | `no` | a 79xx on UDP sends from an ephemeral port, says 5060 in `Via` without `rport`, and listens only on 5060: the answer must go to the `Via` port |
//! | endpoint | `rewrite_contact` | `no` on UDP, `yes` on TCP | UDP: the registered contact (port 5060) is where the phone listens, the source port is not. TCP: the contact becomes the phone's own connection, so INVITE, OPTIONS and NOTIFY reuse it instead of dialling the phone |
//! | endpoint | `direct_media` | `no` | keep RTP through Asterisk: no re-INVITE pointing two phones at each other across NAT |
//! | endpoint | `dtmf_mode` | `rfc4733` | the phones send RTP events (`dtmfAvtPayload` 101) |
//! | endpoint | `callerid` | `"label" <extension>` | |
//! | endpoint | `mailboxes` | `<extension>@<mailbox_context>` | Asterisk sends unsolicited MWI NOTIFYs only to endpoints with `mailboxes=` (field-evidence.md §3); the 79xx never SUBSCRIBE for it |
//! | endpoint | `auth`, `aors` | the extension | |
//! | auth | `username`, `password` | extension, secret | `auth_type` is left to its default, see below |
//! | aor | `max_contacts` = 1, `remove_existing` = yes | | a rebooted phone replaces its old registration (chan_sip behaviour, as the option's documentation recommends) |
//! | aor | `qualify_frequency` | 60 | OPTIONS every minute: `pjsip show contacts` says whether the phone is there |
//!
//! `auth_type` is not written: its default is `userpass` up to Asterisk 20.11/21.6/22.1 and
//! `digest` from 20.12/21.7/22.2 on, where `userpass` is deprecated; both read `password`.
//!
//! **Transport.** The phone's file and its endpoint name the same transport
//! ([`SipTransport`], chosen per model by `config::TransportChoice`): TCP for the XML
//! firmware, UDP for the 7940/7960. Both answer the phone where it listens; the test
//! `tests/e2e_asterisk.rs` proves it against a real Asterisk with a phone that behaves like
//! the firmware on the wire.
//!
//! **Codecs.** Every 79xx with SIP firmware does G.711 µ-law and A-law. G.722 (wideband) is
//! offered, after G.711, only to the 7942, 7945, 7962, 7965 and 7975: the second-generation
//! phones with wideband handsets. Cisco's "type B" 7906/7911/79x1/7970/7971 can decode G.722
//! too (Global Knowledge, "Cisco IP Phone Audio Codecs", 2009) but have narrowband audio
//! paths, so it would only cost transcoding. G.729a is left out: Asterisk ships no G.729
//! codec, so it would fail for any call that needs translation. An unknown model gets G.711.
//!
//! # Escaping (Asterisk's `main/config.c`)
//!
//! - `;` starts a comment anywhere on a line unless written `\;`, and the parser then drops
//!   only that one backslash: every `;` in a value is written `\;`, which gives back the
//!   exact value, backslashes included.
//! - Leading and trailing blanks of a value are stripped, and a value cannot span lines: a
//!   phone whose secret has them (or any control character) cannot be described and is left
//!   out with a comment. So is a phone with an empty secret (an endpoint without `auth`
//!   would let anyone in), a second phone for one extension, and an extension that is not
//!   [`super::is_safe_name`] (a section name ends at `]`; `,` would split `aors`).
//! - The caller-ID name is reduced to one plain line (`plain_name`: no `"`, `<`,
//!   `>`, `\` or control characters), then `;` escaped.
//! - Comments name phones by MAC and model only: no label, no secret.

use std::fmt::Write as _;

use super::{is_safe_name, plain_name, secret_problem, sorted, PbxPhone, SipTransport};

/// The UDP transport the endpoints use when the config names none: the UDP transport of
/// Asterisk's example `pjsip.conf`.
pub const DEFAULT_TRANSPORT: &str = "transport-udp";

/// The TCP transport the endpoints use when the config names none.
pub const DEFAULT_TCP_TRANSPORT: &str = "transport-tcp";

/// The dialplan context for the phones' calls when the config names none: FreePBX's and
/// Asterisk's examples' context for internal phones.
pub const DEFAULT_CONTEXT: &str = "from-internal";

/// The dialplan context of phones that got credentials on a DHCP lease alone, until an
/// admin approves them: [`crate::pbx::dialplan`] defines it (internal extensions and
/// emergency numbers only), in the file `[pbx] dialplan_file`.
pub const DEFAULT_UNAPPROVED_CONTEXT: &str = "cisco-autoprov-unapproved";

/// The voicemail context of `mailboxes=` when the config names none: app_voicemail's
/// `default`, which FreePBX uses too.
pub const DEFAULT_MAILBOX_CONTEXT: &str = "default";

/// Seconds between OPTIONS requests to each phone (`qualify_frequency`).
pub const QUALIFY_FREQUENCY: u32 = 60;

/// Base models offered G.722 (see the module docs).
const G722_MODELS: [&str; 5] = ["7942", "7945", "7962", "7965", "7975"];

/// Names from `[pbx]` the include refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PjsipSettings<'a> {
    /// The UDP transport section of `pjsip.conf`.
    pub udp_transport: &'a str,
    /// The TCP transport section of `pjsip.conf`.
    pub tcp_transport: &'a str,
    /// The dialplan context of the endpoints of approved phones.
    pub context: &'a str,
    /// The dialplan context of the endpoints of phones not approved yet.
    pub unapproved_context: &'a str,
    /// The voicemail context of `mailboxes=`.
    pub mailbox_context: &'a str,
}

impl Default for PjsipSettings<'_> {
    fn default() -> Self {
        PjsipSettings {
            udp_transport: DEFAULT_TRANSPORT,
            tcp_transport: DEFAULT_TCP_TRANSPORT,
            context: DEFAULT_CONTEXT,
            unapproved_context: DEFAULT_UNAPPROVED_CONTEXT,
            mailbox_context: DEFAULT_MAILBOX_CONTEXT,
        }
    }
}

/// Whether a base model (`"7965"`) is offered G.722 (see the module docs).
pub fn offers_g722(model: Option<&str>) -> bool {
    model.is_some_and(|model| G722_MODELS.contains(&model))
}

/// The `allow=` list for a model.
pub fn codecs(model: Option<&str>) -> &'static str {
    if offers_g722(model) {
        "ulaw,alaw,g722"
    } else {
        "ulaw,alaw"
    }
}

/// The include file: a header, then per phone an endpoint, an auth and an aor section named
/// after its extension. A transport, context or mailbox context name that is not
/// [`is_safe_name`] is left out (Asterisk then picks the first transport of the protocol,
/// the `default` context, no MWI) with a comment saying so; the config refuses such names
/// before the daemon ever gets here.
pub fn pjsip(phones: &[PbxPhone], settings: &PjsipSettings<'_>) -> String {
    let mut out = String::new();
    out.push_str(
        "; Generated by cisco-autoprov: do not edit, the next change of phones overwrites it.\n\
         ; Asterisk PJSIP endpoints for the Cisco phones cisco-autoprov provisioned. Include it\n\
         ; from pjsip.conf:\n\
         ;   #include pjsip.cisco-autoprov.conf\n\
         ; then reload PJSIP (asterisk -rx 'module reload res_pjsip.so').\n\
         ; It holds the phones' SIP secrets: keep it readable by Asterisk only.\n\
         ; Not for FreePBX, which writes its own endpoints: import the Bulk Handler CSV there.\n",
    );
    let names = Names {
        udp: safe(settings.udp_transport),
        tcp: safe(settings.tcp_transport),
        context: safe(settings.context),
        unapproved_context: safe(settings.unapproved_context),
        mailbox_context: safe(settings.mailbox_context),
    };
    describe_transports(&mut out, &names);
    if names.context.is_none() || names.unapproved_context.is_none() {
        out.push_str(
            "; The configured context name is not usable (letters, digits, -_.+* only): the\n\
             ; endpoints name none, so their calls go to context default.\n",
        );
    }
    if names.mailbox_context.is_none() {
        out.push_str(
            "; The configured mailbox context is not usable (letters, digits, -_.+* only): the\n\
             ; endpoints name no mailbox, so no message waiting lamp lights.\n",
        );
    }

    let (kept, repeated) = sorted(phones);
    let mut written = 0;
    for phone in kept {
        if let Some(reason) = unusable(phone) {
            let _ = writeln!(out, "\n; left out: phone {} ({reason})", phone.mac);
            continue;
        }
        written += 1;
        phone_sections(&mut out, phone, &names);
    }
    for phone in repeated {
        let _ = writeln!(
            out,
            "\n; left out: phone {} (its extension is already another phone's)",
            phone.mac
        );
    }
    if written == 0 {
        out.push_str("\n; No phones yet.\n");
    }
    out
}

fn safe(name: &str) -> Option<&str> {
    is_safe_name(name).then_some(name)
}

/// The usable names of [`PjsipSettings`].
struct Names<'a> {
    udp: Option<&'a str>,
    tcp: Option<&'a str>,
    context: Option<&'a str>,
    unapproved_context: Option<&'a str>,
    mailbox_context: Option<&'a str>,
}

impl Names<'_> {
    fn transport(&self, transport: SipTransport) -> Option<&str> {
        match transport {
            SipTransport::Udp => self.udp,
            SipTransport::Tcp => self.tcp,
        }
    }
}

/// The header lines saying which transports `pjsip.conf` must define.
fn describe_transports(out: &mut String, names: &Names<'_>) {
    out.push_str("; The endpoints use these transports, which pjsip.conf must define, e.g.\n");
    for (name, protocol) in [(names.udp, "udp"), (names.tcp, "tcp")] {
        match name {
            Some(name) => {
                let _ = writeln!(
                    out,
                    ";   [{name}]\n;   type=transport\n;   protocol={protocol}\n;   bind=0.0.0.0:5060"
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    ";   (the configured {protocol} transport name is not usable: letters, digits,\n\
                     ;   -_.+* only; those endpoints name none, so Asterisk picks one)"
                );
            }
        }
    }
}

/// Why a phone cannot be written, if it cannot. Never names the secret.
fn unusable(phone: &PbxPhone) -> Option<&'static str> {
    if !is_safe_name(phone.extension) {
        return Some("its extension is not usable as a PJSIP name: letters, digits, -_.+* only");
    }
    secret_problem(phone.secret)
}

/// A value as written after `key=`: `;` escaped (see the module docs).
fn value(text: &str) -> String {
    text.replace(';', "\\;")
}

fn phone_sections(out: &mut String, phone: &PbxPhone, names: &Names<'_>) {
    let ext = phone.extension;
    let name = phone
        .label
        .and_then(plain_name)
        .unwrap_or_else(|| ext.to_string());
    let model = phone
        .model
        .filter(|model| is_safe_name(model))
        .map_or(String::new(), |model| format!(" {model}"));
    let _ = writeln!(
        out,
        "\n; {ext}: Cisco{model} {}, SIP over {}",
        phone.mac,
        phone.transport.as_str().to_ascii_uppercase()
    );
    let _ = writeln!(out, "[{ext}]\ntype=endpoint");
    if let Some(transport) = names.transport(phone.transport) {
        let _ = writeln!(out, "transport={transport}");
    }
    let context = if phone.approved {
        names.context
    } else {
        names.unapproved_context
    };
    if let Some(context) = context {
        let _ = writeln!(out, "context={context}");
    }
    let rewrite_contact = match phone.transport {
        SipTransport::Udp => "no",
        SipTransport::Tcp => "yes",
    };
    let _ = writeln!(
        out,
        "disallow=all\n\
         allow={}\n\
         rtp_symmetric=yes\n\
         force_rport=no\n\
         rewrite_contact={rewrite_contact}\n\
         direct_media=no\n\
         dtmf_mode=rfc4733\n\
         callerid=\"{}\" <{ext}>",
        codecs(phone.model),
        value(&name),
    );
    if let Some(mailbox_context) = names.mailbox_context {
        let _ = writeln!(out, "mailboxes={ext}@{mailbox_context}");
    }
    let _ = writeln!(out, "auth={ext}\naors={ext}");
    let _ = writeln!(
        out,
        "\n[{ext}]\ntype=auth\nusername={ext}\npassword={}",
        value(phone.secret)
    );
    let _ = writeln!(
        out,
        "\n[{ext}]\ntype=aor\nmax_contacts=1\nremove_existing=yes\nqualify_frequency={QUALIFY_FREQUENCY}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::Mac;
    use std::collections::{BTreeMap, BTreeSet};

    // A strict reader of Asterisk's config format (the rules of `main/config.c`) and of the
    // PJSIP objects this module writes. Asterisk itself is not installable on the build
    // host (Debian 12 ships no `asterisk` package), so the output is checked against this.

    /// One `[name]` section: its name, template options, and `key=value` lines in order.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Section {
        name: String,
        options: Option<String>,
        line: usize,
        entries: Vec<(String, String)>,
    }

    impl Section {
        fn get(&self, key: &str) -> Option<&str> {
            self.entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        }

        fn kind(&self) -> &str {
            self.get("type").unwrap_or("")
        }
    }

    /// Splits a config text into sections the way `main/config.c` does: `;` comments to the
    /// end of the line, `;-- … --;` block comments (nested), `\;` an escaped semicolon whose
    /// backslash is dropped, surrounding blanks stripped, `[name](options)` headers,
    /// `key = value` and `key => value`. Anything Asterisk would take differently from what
    /// a generator means (a `#` directive, a key outside a section, a line without `=`,
    /// text after a header, an unterminated block comment) is an error.
    fn read_config(text: &str) -> Result<Vec<Section>, String> {
        let mut sections: Vec<Section> = Vec::new();
        let mut depth = 0usize;
        for (index, raw) in text.split('\n').enumerate() {
            let line_no = index + 1;
            let fail = |why: &str| Err(format!("line {line_no}: {why}: {raw:?}"));
            let chars: Vec<char> = raw.chars().collect();
            let mut kept = String::new();
            let mut i = 0;
            while i < chars.len() {
                let at = |k: usize| chars.get(i + k).copied();
                if depth > 0 {
                    if at(0) == Some(';') && at(1) == Some('-') && at(2) == Some('-') {
                        depth += 1;
                        i += 3;
                    } else if at(0) == Some('-') && at(1) == Some('-') && at(2) == Some(';') {
                        depth -= 1;
                        i += 3;
                    } else {
                        i += 1;
                    }
                    continue;
                }
                if chars[i] == ';' {
                    if kept.ends_with('\\') {
                        kept.pop();
                        kept.push(';');
                        i += 1;
                        continue;
                    }
                    if at(1) == Some('-') && at(2) == Some('-') && at(3) != Some('-') {
                        depth = 1;
                        i += 3;
                        continue;
                    }
                    break;
                }
                kept.push(chars[i]);
                i += 1;
            }
            if kept.contains('\r') {
                return fail("carriage return");
            }
            let line = kept.trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with('#') {
                return fail("directive");
            }
            if let Some(rest) = line.strip_prefix('[') {
                let Some(close) = rest.find(']') else {
                    return fail("section header without ]");
                };
                let name = &rest[..close];
                let after = rest[close + 1..].trim();
                let options = if after.is_empty() {
                    None
                } else if after.starts_with('(') && after.ends_with(')') {
                    Some(after[1..after.len() - 1].to_string())
                } else {
                    return fail("text after the section header");
                };
                if name.is_empty() || name.contains(char::is_whitespace) || name.contains('[') {
                    return fail("bad section name");
                }
                sections.push(Section {
                    name: name.to_string(),
                    options,
                    line: line_no,
                    entries: Vec::new(),
                });
                continue;
            }
            let Some(eq) = line.find('=') else {
                return fail("neither a section nor key=value");
            };
            let key = line[..eq].trim();
            let value = line[eq + 1..]
                .strip_prefix('>')
                .unwrap_or(&line[eq + 1..])
                .trim();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return fail("bad key");
            }
            let Some(section) = sections.last_mut() else {
                return fail("key outside a section");
            };
            section.entries.push((key.to_string(), value.to_string()));
        }
        if depth > 0 {
            return Err("unterminated block comment".to_string());
        }
        Ok(sections)
    }

    /// The options this module may write, per object type: each one looked up in
    /// `res/res_pjsip/pjsip_config.xml` of asterisk/asterisk (configObject endpoint, auth,
    /// aor; all present since Asterisk 12/13).
    fn allowed_options(kind: &str) -> &'static [&'static str] {
        match kind {
            "endpoint" => &[
                "type",
                "transport",
                "context",
                "disallow",
                "allow",
                "rtp_symmetric",
                "force_rport",
                "rewrite_contact",
                "direct_media",
                "dtmf_mode",
                "callerid",
                "mailboxes",
                "auth",
                "aors",
            ],
            "auth" => &["type", "username", "password"],
            "aor" => &[
                "type",
                "max_contacts",
                "remove_existing",
                "qualify_frequency",
            ],
            _ => &[],
        }
    }

    /// Reads the file and checks the PJSIP objects: known types and options only, `type`
    /// first, no repeated option, no two objects of one type and name, yes/no and numbers
    /// where Asterisk wants them, `auth`/`aors` naming existing objects, a well-formed
    /// caller ID. Returns the sections by (type, name).
    fn check_pjsip(text: &str) -> Result<BTreeMap<(String, String), Section>, String> {
        let sections = read_config(text)?;
        let mut objects = BTreeMap::new();
        for section in sections {
            let at = format!("[{}] (line {})", section.name, section.line);
            if section.options.is_some() {
                return Err(format!("{at}: templates are not expected"));
            }
            match section.entries.first() {
                Some((key, _)) if key == "type" => {}
                _ => return Err(format!("{at}: type is not the first option")),
            }
            let kind = section.kind().to_string();
            let allowed = allowed_options(&kind);
            if allowed.is_empty() {
                return Err(format!("{at}: unknown type {kind:?}"));
            }
            let mut seen = BTreeSet::new();
            for (key, value) in &section.entries {
                if !allowed.contains(&key.as_str()) {
                    return Err(format!("{at}: unknown {kind} option {key:?}"));
                }
                if !seen.insert(key.clone()) {
                    return Err(format!("{at}: {key} repeated"));
                }
                if value.is_empty() {
                    return Err(format!("{at}: {key} is empty"));
                }
                let ok = match key.as_str() {
                    "rtp_symmetric" | "force_rport" | "rewrite_contact" | "direct_media"
                    | "remove_existing" => value == "yes" || value == "no",
                    "dtmf_mode" => {
                        ["rfc4733", "inband", "info", "auto", "auto_info"].contains(&value.as_str())
                    }
                    "max_contacts" | "qualify_frequency" => value.parse::<u32>().is_ok(),
                    "disallow" => value == "all",
                    "allow" => value
                        .split(',')
                        .all(|codec| ["ulaw", "alaw", "g722"].contains(&codec)),
                    "callerid" => callerid_ok(value, &section.name),
                    _ => true,
                };
                if !ok {
                    return Err(format!("{at}: bad {key} {value:?}"));
                }
            }
            let id = (kind, section.name.clone());
            if objects.contains_key(&id) {
                return Err(format!("{at}: a second {} named {}", id.0, id.1));
            }
            objects.insert(id, section);
        }
        for ((kind, name), section) in &objects {
            if kind != "endpoint" {
                continue;
            }
            for (key, target) in [("auth", "auth"), ("aors", "aor")] {
                let Some(refs) = section.get(key) else {
                    return Err(format!("endpoint {name}: no {key}"));
                };
                for r in refs.split(',') {
                    if !objects.contains_key(&(target.to_string(), r.to_string())) {
                        return Err(format!("endpoint {name}: {key} {r} does not exist"));
                    }
                }
            }
        }
        Ok(objects)
    }

    /// `"name" <number>`, the name free of `"`, the number the endpoint's name.
    fn callerid_ok(value: &str, number: &str) -> bool {
        let Some(rest) = value.strip_prefix('"') else {
            return false;
        };
        let Some((name, tail)) = rest.split_once('"') else {
            return false;
        };
        !name.is_empty() && tail == format!(" <{number}>")
    }

    fn mac(n: u8) -> Mac {
        Mac::from_bytes([0x00, 0x1b, 0x0c, 0x18, 0xbd, n])
    }

    fn phone<'a>(
        n: u8,
        extension: &'a str,
        secret: &'a str,
        label: Option<&'a str>,
        model: Option<&'a str>,
    ) -> PbxPhone<'a> {
        PbxPhone {
            mac: mac(n),
            extension,
            secret,
            label,
            model,
            from_range: n % 2 == 1,
            transport: SipTransport::Udp,
            approved: true,
        }
    }

    const HEADER: &str =
        "; Generated by cisco-autoprov: do not edit, the next change of phones overwrites it.
; Asterisk PJSIP endpoints for the Cisco phones cisco-autoprov provisioned. Include it
; from pjsip.conf:
;   #include pjsip.cisco-autoprov.conf
; then reload PJSIP (asterisk -rx 'module reload res_pjsip.so').
; It holds the phones' SIP secrets: keep it readable by Asterisk only.
; Not for FreePBX, which writes its own endpoints: import the Bulk Handler CSV there.
";

    const TRANSPORTS: &str =
        "; The endpoints use these transports, which pjsip.conf must define, e.g.
;   [transport-udp]
;   type=transport
;   protocol=udp
;   bind=0.0.0.0:5060
;   [transport-tcp]
;   type=transport
;   protocol=tcp
;   bind=0.0.0.0:5060
";

    #[test]
    fn golden() {
        let mut tcp = phone(0xc2, "2001", "Xk7pQ2mR9vT4wZ8nB3cF6hJ2", None, Some("7965"));
        tcp.transport = SipTransport::Tcp;
        let phones = [
            tcp,
            phone(0xc1, "1006", "s3cret-1006", Some("Reception"), Some("7940")),
        ];
        let got = pjsip(&phones, &PjsipSettings::default());
        let want = format!(
            "{HEADER}{TRANSPORTS}
; 1006: Cisco 7940 001B0C18BDC1, SIP over UDP
[1006]
type=endpoint
transport=transport-udp
context=from-internal
disallow=all
allow=ulaw,alaw
rtp_symmetric=yes
force_rport=no
rewrite_contact=no
direct_media=no
dtmf_mode=rfc4733
callerid=\"Reception\" <1006>
mailboxes=1006@default
auth=1006
aors=1006

[1006]
type=auth
username=1006
password=s3cret-1006

[1006]
type=aor
max_contacts=1
remove_existing=yes
qualify_frequency=60

; 2001: Cisco 7965 001B0C18BDC2, SIP over TCP
[2001]
type=endpoint
transport=transport-tcp
context=from-internal
disallow=all
allow=ulaw,alaw,g722
rtp_symmetric=yes
force_rport=no
rewrite_contact=yes
direct_media=no
dtmf_mode=rfc4733
callerid=\"2001\" <2001>
mailboxes=2001@default
auth=2001
aors=2001

[2001]
type=auth
username=2001
password=Xk7pQ2mR9vT4wZ8nB3cF6hJ2

[2001]
type=aor
max_contacts=1
remove_existing=yes
qualify_frequency=60
"
        );
        assert_eq!(got, want);
        let objects = check_pjsip(&got).unwrap();
        assert_eq!(objects.len(), 6);
        // The input order does not matter.
        let reversed = [phones[1], phones[0]];
        assert_eq!(pjsip(&reversed, &PjsipSettings::default()), got);
    }

    /// A 79xx on UDP sends from an ephemeral port with `Via: …:5060` and no `rport`, and
    /// listens only on 5060 (drachtio-server issue 374, field-evidence.md §1): an endpoint
    /// that forces rport or rewrites the contact to the source port strands it. On TCP the
    /// contact must become the phone's connection. tests/e2e_asterisk.rs proves both on a
    /// real Asterisk.
    #[test]
    fn nat_options_follow_the_transport() {
        for (transport, rewrite) in [(SipTransport::Udp, "no"), (SipTransport::Tcp, "yes")] {
            let mut one = phone(1, "2000", "secret", None, Some("7941"));
            one.transport = transport;
            let text = pjsip(&[one], &PjsipSettings::default());
            let objects = check_pjsip(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            let endpoint = &objects[&("endpoint".to_string(), "2000".to_string())];
            assert_eq!(endpoint.get("force_rport"), Some("no"), "{text}");
            assert_eq!(endpoint.get("rewrite_contact"), Some(rewrite), "{text}");
            let name = match transport {
                SipTransport::Udp => DEFAULT_TRANSPORT,
                SipTransport::Tcp => DEFAULT_TCP_TRANSPORT,
            };
            assert_eq!(endpoint.get("transport"), Some(name));
        }
    }

    #[test]
    fn codecs_per_model() {
        let table: &[(Option<&str>, &str)] = &[
            (None, "ulaw,alaw"),
            (Some("7940"), "ulaw,alaw"),
            (Some("7906"), "ulaw,alaw"),
            (Some("7911"), "ulaw,alaw"),
            (Some("7941"), "ulaw,alaw"),
            (Some("7961"), "ulaw,alaw"),
            (Some("7970"), "ulaw,alaw"),
            (Some("7971"), "ulaw,alaw"),
            (Some("7942"), "ulaw,alaw,g722"),
            (Some("7945"), "ulaw,alaw,g722"),
            (Some("7962"), "ulaw,alaw,g722"),
            (Some("7965"), "ulaw,alaw,g722"),
            (Some("7975"), "ulaw,alaw,g722"),
        ];
        for (model, want) in table {
            assert_eq!(codecs(*model), *want, "{model:?}");
        }
    }

    #[test]
    fn hostile_values_survive_the_parser() {
        // (secret, label, the caller-ID name Asterisk must read)
        let table: &[(&str, Option<&str>, &str)] = &[
            ("a;b", Some("Sales; 2nd floor"), "Sales; 2nd floor"),
            ("a\\;b", Some("x\\;y"), "x;y"),
            (
                "ends-with\\",
                Some("new\nline [evil]\ntype=aor"),
                "new line [evil] type=aor",
            ),
            (
                ";--block",
                Some(";-- not a comment --;"),
                ";-- not a comment --;",
            ),
            ("#include x", Some("\"quoted\" <1234>"), "quoted 1234"),
            ("[2000]", Some("type=aor"), "type=aor"),
            ("p=a=s s", Some("Jürgen Müller"), "Jürgen Müller"),
            ("\\\\;;\\", None, "2000"),
            ("x", Some("\"\"<>"), "2000"),
        ];
        for (secret, label, name) in table {
            let phones = [phone(1, "2000", secret, *label, Some("7965"))];
            let text = pjsip(&phones, &PjsipSettings::default());
            let objects = check_pjsip(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            let key = |kind: &str| (kind.to_string(), "2000".to_string());
            assert_eq!(
                objects[&key("auth")].get("password"),
                Some(*secret),
                "{text}"
            );
            assert_eq!(objects[&key("auth")].get("username"), Some("2000"));
            assert_eq!(
                objects[&key("endpoint")].get("callerid"),
                Some(format!("\"{name}\" <2000>").as_str()),
                "{text}"
            );
            assert_eq!(objects.len(), 3, "{text}");
        }
    }

    #[test]
    fn unusable_phones_are_left_out() {
        let phones = [
            phone(1, "2000", "", None, None),
            phone(2, "2001", "line\nbreak", None, None),
            phone(3, "2002", " leading-blank", None, None),
            phone(4, "2003", "trailing-blank ", None, None),
            phone(5, "20 04", "secret-five", None, None),
            phone(6, "2005]\n[evil", "secret-six", None, None),
            phone(7, "2006,2007", "secret-seven", None, None),
            phone(8, "2008", "kept-eight", Some("Kept"), None),
            phone(9, "2008", "secret-nine", Some("Second"), None),
            phone(10, "", "secret-ten", None, None),
        ];
        let text = pjsip(&phones, &PjsipSettings::default());
        let objects = check_pjsip(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let names: BTreeSet<&str> = objects.keys().map(|(_, name)| name.as_str()).collect();
        assert_eq!(names, BTreeSet::from(["2008"]), "{text}");
        let left_out: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("; left out"))
            .collect();
        assert_eq!(
            left_out,
            [
                "; left out: phone 001B0C18BD0A (its extension is not usable as a PJSIP name: letters, digits, -_.+* only)",
                "; left out: phone 001B0C18BD01 (it has no secret)",
                "; left out: phone 001B0C18BD02 (its secret has a control character, which pjsip.conf cannot carry)",
                "; left out: phone 001B0C18BD03 (its secret starts or ends with a blank, which pjsip.conf strips)",
                "; left out: phone 001B0C18BD04 (its secret starts or ends with a blank, which pjsip.conf strips)",
                "; left out: phone 001B0C18BD05 (its extension is not usable as a PJSIP name: letters, digits, -_.+* only)",
                "; left out: phone 001B0C18BD07 (its extension is not usable as a PJSIP name: letters, digits, -_.+* only)",
                "; left out: phone 001B0C18BD06 (its extension is not usable as a PJSIP name: letters, digits, -_.+* only)",
                "; left out: phone 001B0C18BD09 (its extension is already another phone's)",
            ],
            "{text}"
        );
        // Only the written phone's secret is in the file.
        for secret in ["break", "leading-blank", "trailing-blank", "secret-"] {
            assert!(!text.contains(secret), "{secret} in\n{text}");
        }
        assert!(text.contains("password=kept-eight"));
    }

    /// A phone that got its credentials on a lease alone dials from the restricted context
    /// until it is approved (field-evidence.md §4: one UDP packet fetches its secret).
    #[test]
    fn unapproved_phones_get_the_restricted_context() {
        let approved = phone(1, "2000", "s", None, None);
        let hands_off = PbxPhone {
            approved: false,
            ..phone(2, "2001", "t", None, None)
        };
        let text = pjsip(&[approved, hands_off], &PjsipSettings::default());
        let objects = check_pjsip(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let context =
            |ext: &str| objects[&("endpoint".to_string(), ext.to_string())].get("context");
        assert_eq!(context("2000"), Some("from-internal"));
        assert_eq!(context("2001"), Some(DEFAULT_UNAPPROVED_CONTEXT));
    }

    #[test]
    fn unusable_names_are_left_out() {
        let phones = [phone(1, "2000", "s", None, None)];
        for (transport, context, mailbox) in [
            ("udp transport", "from-internal", "default"),
            ("transport-udp", "a;b", "default"),
            ("transport-udp", "phones", "vm]x"),
            ("", "", ""),
        ] {
            let settings = PjsipSettings {
                udp_transport: transport,
                tcp_transport: DEFAULT_TCP_TRANSPORT,
                context,
                unapproved_context: context,
                mailbox_context: mailbox,
            };
            let text = pjsip(&phones, &settings);
            let objects = check_pjsip(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            let endpoint = &objects[&("endpoint".to_string(), "2000".to_string())];
            assert_eq!(
                endpoint.get("transport"),
                is_safe_name(transport).then_some(transport)
            );
            assert_eq!(
                endpoint.get("context"),
                is_safe_name(context).then_some(context)
            );
            assert_eq!(
                endpoint.get("mailboxes").is_some(),
                is_safe_name(mailbox),
                "{text}"
            );
        }
        let settings = PjsipSettings {
            udp_transport: "transport-tls-ish",
            context: "phones",
            mailbox_context: "office",
            ..PjsipSettings::default()
        };
        let text = pjsip(&phones, &settings);
        assert!(text.contains("\ntransport=transport-tls-ish\ncontext=phones\n"));
        assert!(text.contains("\nmailboxes=2000@office\n"));
    }

    #[test]
    fn no_phones() {
        let text = pjsip(&[], &PjsipSettings::default());
        assert!(text.starts_with(&format!("{HEADER}{TRANSPORTS}")));
        assert!(text.ends_with("\n; No phones yet.\n"));
        assert_eq!(check_pjsip(&text).unwrap().len(), 0);
    }

    #[test]
    fn the_checker_is_strict() {
        // Each of these must be refused, or the checker proves nothing.
        let good = "[2000]\ntype=aor\nmax_contacts=1\n";
        assert!(check_pjsip(good).is_ok());
        let table: &[&str] = &[
            "type=aor\n",
            "[2000]\ntype=aor\nmax_contacts=1\n[2000]\ntype=aor\n",
            "[2000]\nmax_contacts=1\ntype=aor\n",
            "[2000]\ntype=aor\nmax_contact=1\n",
            "[2000]\ntype=aor\nmax_contacts=1\nmax_contacts=2\n",
            "[2000]\ntype=aor\nremove_existing=true\n",
            "[2000]\ntype=aor\nqualify_frequency=\n",
            "[2000]\ntype=aor\nqualify_frequency=60 ; sixty\n[x]\ntype=registration\n",
            "[2000](!)\ntype=aor\n",
            "[2000] x\ntype=aor\n",
            "[2000\ntype=aor\n",
            "[2000]\ntype=aor\n#include other.conf\n",
            "[2000]\ntype=aor\n;-- open\n",
            "[2000]\ntype=aor\njunk\n",
            "[2000]\ntype=endpoint\nauth=2000\naors=2000\n",
            "[2000]\ntype=auth\npassword=x\n[2000]\ntype=aor\n[2000]\ntype=endpoint\nauth=2000\naors=2000\ncallerid=2000\n",
            "[2000]\ntype=auth\npassword=x\n[2000]\ntype=aor\n[2000]\ntype=endpoint\nauth=2000\naors=2000\nallow=g729\n",
        ];
        for text in table {
            assert!(check_pjsip(text).is_err(), "accepted {text:?}");
        }
        // Comments and escapes are read the way Asterisk reads them.
        let sections =
            read_config("[a] ; c\nk = v\\;w ; comment\n;-- block\n[hidden]\n --; x => y;--\n--;\n")
                .unwrap();
        assert_eq!(sections.len(), 1);
        assert_eq!(
            sections[0].entries,
            [
                ("k".to_string(), "v;w".to_string()),
                ("x".to_string(), "y".to_string())
            ]
        );
    }
}
