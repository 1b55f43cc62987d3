//! The FreePBX Bulk Handler "Extensions" import file (`[pbx] freepbx_csv`).
//!
//! Admin → Bulk Handler → Import → Extensions takes a CSV whose header row names the
//! fields. The names are the keys FreePBX's `core` module reads (FreePBX/core
//! `Core.class.php`):
//!
//! - `bulkhandlerGetHeaders('extensions')` declares `extension` (required), `name`
//!   (required in FreePBX 16/17), `description` and `tech` ("Device Technology");
//! - `bulkhandlerValidate` wants `extension` numeric, `name` not blank, and `tech` one of
//!   `pjsip`, `sip`, `virtual`, `iax2`, `dahdi`, `custom`;
//! - `bulkhandlerImport` builds the device from `generateDefaultDeviceSettings(tech,
//!   extension, name)` and overrides every default whose key is a column: the PJSIP
//!   driver's defaults (`functions.inc/drivers/PJSip.class.php`, `getDefaultDeviceSettings`)
//!   include `secret` (a generated one unless given; `REGEN` asks for a new one),
//!   `direct_media` (default `yes`), `force_rport` and `rewrite_contact` (both default
//!   `yes`). FreePBX 16/17 lower-case the keys before reading them; FreePBX 13 takes them
//!   as written, so the header is lower case.
//!
//! Bulk Handler (FreePBX/bulkhandler `Bulkhandler.class.php`, `fileToArray`) reads the file
//! with PHP's `fgetcsv`, the first row being the header, and refuses a file whose rows do not
//! all have the header's number of fields. FreePBX's own export writes these same column
//! names (with many more), so an export and this file are the same format.
//!
//! The file lists only the phones whose extension came from the `[provision] extensions`
//! range: inventory extensions are the admin's own, pool extensions come from FreePBX. One
//! row per phone, sorted by extension: `tech` `pjsip`, `name` and `description` the label
//! (the extension without one), `secret` the phone's, `direct_media` `no` as in the PJSIP
//! file (RTP through Asterisk), and `force_rport`/`rewrite_contact` as in the PJSIP file for
//! the phone's transport (`no`/`no` on UDP, `no`/`yes` on TCP: see `pjsip.rs`). FreePBX's
//! `yes`/`yes` defaults would answer a 79xx on UDP at a port it does not listen on
//! (field-evidence.md §1). The `transport` column is left to FreePBX (its transport names
//! depend on its bind address): with `rewrite_contact` a TCP phone's requests go back over
//! its own connection whatever the endpoint's transport. The file always lists every range phone; for rows FreePBX
//! already has, the import's "Replace existing" choice decides (ticked, FreePBX deletes and
//! recreates the extension with these values, losing what was changed in the GUI since).
//!
//! Quoting is RFC 4180, which `fgetcsv` reads: a field with a comma, a double quote, a line
//! break or surrounding blanks is quoted, its quotes doubled. Names are reduced to one plain
//! line (`plain_name`; FreePBX itself mangles `<>` and breaks on `"` in names).
//! Extensions that are not all digits (FreePBX refuses them; the range only makes digits)
//! and secrets the PJSIP file could not carry either (empty, control characters, blanks at
//! the ends: FreePBX writes the secret into its own pjsip.conf) get no row.

use super::{plain_name, secret_problem, sorted, PbxPhone};

/// The header row, in order.
pub const FREEPBX_COLUMNS: [&str; 8] = [
    "extension",
    "name",
    "description",
    "tech",
    "secret",
    "direct_media",
    "force_rport",
    "rewrite_contact",
];

/// The CSV: the header, then one row per phone whose extension came from the range.
pub fn freepbx_csv(phones: &[PbxPhone]) -> String {
    let mut out = String::new();
    push_row(&mut out, &FREEPBX_COLUMNS);
    let range: Vec<PbxPhone> = phones.iter().filter(|p| p.from_range).copied().collect();
    let (kept, _repeated) = sorted(&range);
    for phone in kept {
        let ext = phone.extension;
        let numeric = !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit());
        if !numeric || secret_problem(phone.secret).is_some() {
            continue;
        }
        let name = phone
            .label
            .and_then(plain_name)
            .unwrap_or_else(|| ext.to_string());
        let rewrite_contact = match phone.transport {
            super::SipTransport::Udp => "no",
            super::SipTransport::Tcp => "yes",
        };
        push_row(
            &mut out,
            &[
                ext,
                &name,
                &name,
                "pjsip",
                phone.secret,
                "no",
                "no",
                rewrite_contact,
            ],
        );
    }
    out
}

fn push_row(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, field);
    }
    out.push('\n');
}

fn push_field(out: &mut String, field: &str) {
    let quote = field.contains([',', '"', '\r', '\n'])
        || field.starts_with(char::is_whitespace)
        || field.ends_with(char::is_whitespace);
    if quote {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::Mac;
    use crate::parse::freepbx_csv::{parse, PoolEntry};

    fn phone<'a>(
        n: u8,
        extension: &'a str,
        secret: &'a str,
        label: Option<&'a str>,
        from_range: bool,
    ) -> PbxPhone<'a> {
        PbxPhone {
            mac: Mac::from_bytes([0x00, 0x1b, 0x0c, 0x18, 0xbd, n]),
            extension,
            secret,
            label,
            model: Some("7941"),
            from_range,
            transport: if n == 4 {
                super::super::SipTransport::Tcp
            } else {
                super::super::SipTransport::Udp
            },
            approved: true,
        }
    }

    #[test]
    fn header_is_freepbx_core_column_names() {
        let text = freepbx_csv(&[]);
        // FreePBX/core Core.class.php: bulkhandlerGetHeaders('extensions') declares
        // extension, name, description, tech; the PJSIP driver's device settings
        // (PJSip.class.php getDefaultDeviceSettings) give secret, direct_media,
        // force_rport and rewrite_contact.
        assert_eq!(
            text,
            "extension,name,description,tech,secret,direct_media,force_rport,rewrite_contact\n"
        );
    }

    #[test]
    fn rows() {
        let phones = [
            phone(1, "2001", "Xk7pQ2mR9vT4wZ8nB3cF6hJ2", None, true),
            phone(2, "1006", "inventory-secret", Some("Reception"), false),
            phone(3, "2000", "a,b\"c", Some("Müller, Jürgen"), true),
            phone(4, "2002", "x\\y", Some("Bob \"the builder\""), true),
            phone(5, "20a3", "not-a-number", None, true),
            phone(6, "2004", "", None, true),
            phone(7, "2000", "second-phone", None, true),
            phone(8, "2005", "x", Some("two\nlines"), true),
            phone(9, "2006", " padded ", None, true),
            phone(10, "2007", "tab\tbed", None, true),
        ];
        let text = freepbx_csv(&phones);
        assert_eq!(
            text,
            "extension,name,description,tech,secret,direct_media,force_rport,rewrite_contact\n\
             2000,\"Müller, Jürgen\",\"Müller, Jürgen\",pjsip,\"a,b\"\"c\",no,no,no\n\
             2001,2001,2001,pjsip,Xk7pQ2mR9vT4wZ8nB3cF6hJ2,no,no,no\n\
             2002,Bob the builder,Bob the builder,pjsip,x\\y,no,no,yes\n\
             2005,two lines,two lines,pjsip,x,no,no,no\n"
        );
        // No inventory phone, no secret of a phone without a row.
        for absent in [
            "1006",
            "inventory-secret",
            "not-a-number",
            "second-phone",
            "padded",
            "bed",
        ] {
            assert!(!text.contains(absent), "{absent}");
        }
    }

    #[test]
    fn round_trips_through_the_pool_parser() {
        let phones = [
            phone(1, "2001", "Xk7pQ2mR9vT4wZ8nB3cF6hJ2", None, true),
            phone(3, "2000", "a,b c;d", Some("Müller, \"Jürgen\""), true),
            phone(4, "2002", "back\\slash", Some("  Front   desk "), true),
            phone(5, "2010", "p=q", Some("Sales; 2nd floor"), true),
        ];
        let parsed = parse(&freepbx_csv(&phones));
        assert_eq!(parsed.errors, []);
        let entry = |extension: &str, name: &str, secret: &str| PoolEntry {
            extension: extension.to_string(),
            name: Some(name.to_string()),
            secret: secret.to_string(),
        };
        assert_eq!(
            parsed.items,
            [
                entry("2000", "Müller, Jürgen", "a,b c;d"),
                entry("2001", "2001", "Xk7pQ2mR9vT4wZ8nB3cF6hJ2"),
                entry("2002", "Front desk", "back\\slash"),
                entry("2010", "Sales; 2nd floor", "p=q"),
            ]
        );
    }
}
