//! The PBX side: what Asterisk or FreePBX must know about the provisioned phones.
//!
//! A phone registers as its extension with its secret; the PBX must have an extension with
//! the same secret. Two outputs, both pure (phones in, the text of one file out):
//!
//! - [`pjsip()`]: an Asterisk PJSIP include file for plain Asterisk (`#include` it from
//!   `pjsip.conf`): per phone an `endpoint`, an `auth` and an `aor` section.
//! - [`freepbx_csv()`]: a FreePBX Bulk Handler "Extensions" import file for the phones whose
//!   extension came from the `[provision] extensions` range, the ones FreePBX does not know.
//! - [`restricted_context()`]: an Asterisk dialplan include defining the context of phones
//!   not yet approved (the site's extensions and emergency numbers only).
//!
//! The reverse direction, a Bulk Handler export used as a pool of extensions that already
//! exist on FreePBX, is read by [`crate::parse::freepbx_csv`].
//!
//! Both files carry SIP secrets: that is what they are for. The caller writes them readable
//! by the PBX only and never logs their content.
//!
//! Output does not depend on the order of the phones (sorted by extension, a repeated
//! extension is left out), so an unchanged set of phones gives the same bytes.

pub mod extensions;
pub mod freepbx;
pub mod pjsip;

use crate::label::plain_name;
use crate::mac::Mac;

pub use extensions::{restricted_context, Restricted};
pub use freepbx::{freepbx_csv, FREEPBX_COLUMNS};
pub use pjsip::{
    offers_g722, pjsip, PjsipSettings, DEFAULT_CONTEXT, DEFAULT_MAILBOX_CONTEXT,
    DEFAULT_TCP_TRANSPORT, DEFAULT_TRANSPORT, DEFAULT_UNAPPROVED_CONTEXT,
};

/// The SIP transport one phone uses, in its file and in its endpoint (chosen by
/// `config::TransportChoice::for_model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipTransport {
    /// UDP: the endpoint answers the `Via` port (no `force_rport`) and keeps the
    /// registered contact (no `rewrite_contact`), where a 79xx listens.
    Udp,
    /// TCP: one connection from the phone; the endpoint rewrites the contact to that
    /// connection so requests to the phone go over it.
    Tcp,
}

impl SipTransport {
    /// Lower-case name, for logs and `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            SipTransport::Udp => "udp",
            SipTransport::Tcp => "tcp",
        }
    }
}

/// A provisioned phone as the PBX sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PbxPhone<'a> {
    /// The phone, for comments (never a secret).
    pub mac: Mac,
    /// Its extension: SIP user, authentication name, and the name of its PJSIP sections.
    pub extension: &'a str,
    /// Its SIP secret.
    pub secret: &'a str,
    /// Caller name and line label; the extension when `None`.
    pub label: Option<&'a str>,
    /// Base model number (`"7942"`, also for a 7941G-GE `"7941"`), when known: chooses the
    /// codecs.
    pub model: Option<&'a str>,
    /// The extension came from the `[provision] extensions` range, not the inventory or the
    /// pool CSV: FreePBX does not have it yet.
    pub from_range: bool,
    /// The transport its file names.
    pub transport: SipTransport,
    /// An admin approved it (`approve`, an inventory entry): its endpoint is in `[pbx]
    /// context`, else in `[pbx] unapproved_context`.
    pub approved: bool,
}

/// Longest name [`is_safe_name`] accepts: Asterisk keeps a config section name in 80 bytes.
pub const MAX_NAME_LEN: usize = 79;

/// Whether `name` can stand as a PJSIP section name, a reference to one (`transport=`,
/// `aors=`, `auth=`) and a dialplan context: 1 to [`MAX_NAME_LEN`] ASCII letters, digits and
/// `-_.+*`.
///
/// Stricter than Asterisk's parser (which only stops at `]`, `;` and the end of the line) on
/// purpose: a comma would split the `aors`/`auth` lists, `@` and `/` the `PJSIP/<endpoint>`
/// dial strings, whitespace is stripped, `#` is not allowed unescaped in a SIP user. The
/// config checks `[pbx]` names with this before the daemon ever writes a file.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+' | b'*'))
}

/// The phones sorted by extension (shorter first, so `999` before `1000`), without a second
/// phone for an extension: `(kept, repeated)`.
fn sorted<'p, 'a>(phones: &'p [PbxPhone<'a>]) -> (Vec<&'p PbxPhone<'a>>, Vec<&'p PbxPhone<'a>>) {
    let mut all: Vec<&PbxPhone> = phones.iter().collect();
    all.sort_unstable_by(|a, b| {
        (a.extension.len(), a.extension, a.mac).cmp(&(b.extension.len(), b.extension, b.mac))
    });
    let mut kept: Vec<&PbxPhone> = Vec::with_capacity(all.len());
    let mut repeated = Vec::new();
    for phone in all {
        match kept.last() {
            Some(last) if last.extension == phone.extension => repeated.push(phone),
            _ => kept.push(phone),
        }
    }
    (kept, repeated)
}

/// Why a secret cannot be handed to the PBX, if it cannot: empty (an endpoint without
/// authentication would let anyone in), a control character (a config line cannot carry
/// it), or a blank at either end (Asterisk's config parser strips it, so the PBX would check
/// another secret than the phone sends). Never quotes the secret.
fn secret_problem(secret: &str) -> Option<&'static str> {
    if secret.is_empty() {
        Some("it has no secret")
    } else if secret.chars().any(char::is_control) {
        Some("its secret has a control character, which pjsip.conf cannot carry")
    } else if secret.starts_with(char::is_whitespace) || secret.ends_with(char::is_whitespace) {
        Some("its secret starts or ends with a blank, which pjsip.conf strips")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        let table: &[(&str, bool)] = &[
            ("2000", true),
            ("transport-udp", true),
            ("from-internal", true),
            ("0.0.0.0-udp", true),
            ("ext_2000+1*", true),
            ("", false),
            ("20 00", false),
            ("2000]", false),
            ("[2000", false),
            ("2000;x", false),
            ("a,b", false),
            ("a@b", false),
            ("PJSIP/2000", false),
            ("#2000", false),
            ("2000\n[evil]", false),
            ("é", false),
        ];
        for (name, want) in table {
            assert_eq!(is_safe_name(name), *want, "{name:?}");
        }
        assert!(is_safe_name(&"9".repeat(MAX_NAME_LEN)));
        assert!(!is_safe_name(&"9".repeat(MAX_NAME_LEN + 1)));
    }

    #[test]
    fn sorting_and_repeats() {
        let mac = |n: u8| Mac::from_bytes([0, 0x1b, 0x0c, 0, 0, n]);
        let phone = |n: u8, extension: &'static str| PbxPhone {
            mac: mac(n),
            extension,
            secret: "s",
            label: None,
            model: None,
            from_range: true,
            transport: SipTransport::Udp,
            approved: true,
        };
        let phones = [
            phone(1, "1000"),
            phone(2, "999"),
            phone(4, "1000"),
            phone(3, "1000"),
        ];
        let (kept, repeated) = sorted(&phones);
        let got: Vec<(&str, Mac)> = kept.iter().map(|p| (p.extension, p.mac)).collect();
        assert_eq!(got, [("999", mac(2)), ("1000", mac(1))]);
        let got: Vec<Mac> = repeated.iter().map(|p| p.mac).collect();
        assert_eq!(got, [mac(3), mac(4)]);
    }
}
