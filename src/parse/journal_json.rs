//! One entry of `journalctl --output=json`: a JSON object per line.
//!
//! What a `journal` source needs of an entry is who sent it and what it said:
//!
//! | field | meaning | here |
//! |---|---|---|
//! | `__REALTIME_TIMESTAMP` | when journald received it, µs since the epoch, as a string of digits | [`JournalRecord::time`], whole seconds |
//! | `_COMM` | the sender's process name (`/proc/<pid>/comm`, at most 15 bytes), set by journald | [`JournalRecord::comm`] |
//! | `_UID`, `_PID` | the sender's uid and pid from the socket credentials, set by journald | [`JournalRecord::uid`], [`JournalRecord::pid`] |
//! | `SYSLOG_IDENTIFIER` | the tag the sender chose (`dnsmasq-dhcp`, `in.tftpd`) | [`JournalRecord::identifier`] |
//! | `_HOSTNAME` | the host | [`JournalRecord::hostname`] |
//! | `MESSAGE` | the text | [`JournalRecord::message`] |
//!
//! Fields whose name starts with `_` are journald's own ("trusted"): a client cannot set them.
//! `_COMM` can still be chosen by the sender (a copy of `logger` named `dnsmasq`, or
//! `prctl(PR_SET_NAME)`), the uid cannot; `SYSLOG_IDENTIFIER` is whatever the sender wrote.
//!
//! journalctl writes a field as a JSON string when it is valid UTF-8, as an array of byte
//! values when it is not, as `null` when it is larger than 4096 bytes (without `--all`), and
//! as an array of those when the entry holds the field several times. A `MESSAGE` of bytes is
//! decoded lossily; a `null` or several `MESSAGE`s, a missing `MESSAGE` or time, and anything
//! that is not a JSON object are errors. Every other field is ignored.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::parse::{ParseError, Parsed};

/// One journal entry, reduced to the sender and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRecord {
    /// Unix seconds from `__REALTIME_TIMESTAMP` (when journald received it).
    pub time: i64,
    /// `_COMM`: the sender's process name; `None` when journald could not read it (the
    /// sender had exited).
    pub comm: Option<String>,
    /// `_UID`: the sender's uid.
    pub uid: Option<u32>,
    /// `_PID`: the sender's pid.
    pub pid: Option<u32>,
    /// `SYSLOG_IDENTIFIER`: the tag the sender chose.
    pub identifier: Option<String>,
    /// `_HOSTNAME`.
    pub hostname: Option<String>,
    /// `MESSAGE`, lossily decoded when it is not UTF-8.
    pub message: String,
}

/// A field as journalctl writes it.
#[derive(Debug, Default)]
enum Field {
    /// Not in the entry.
    #[default]
    Absent,
    /// A JSON string.
    Text(String),
    /// An array of byte values: the field is not UTF-8.
    Bytes(Vec<u8>),
    /// `null`: larger than journalctl's limit.
    TooLarge,
    /// An array of values: the entry holds the field several times.
    Several,
}

impl Field {
    /// The value as text (bytes decoded lossily); `None` when absent, too large or repeated.
    fn text(self) -> Option<String> {
        match self {
            Field::Text(text) => Some(text),
            Field::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Field::Absent | Field::TooLarge | Field::Several => None,
        }
    }
}

/// The fields read; serde skips the others without building them.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "__REALTIME_TIMESTAMP", default, deserialize_with = "field")]
    realtime: Field,
    #[serde(rename = "_COMM", default, deserialize_with = "field")]
    comm: Field,
    #[serde(rename = "_UID", default, deserialize_with = "field")]
    uid: Field,
    #[serde(rename = "_PID", default, deserialize_with = "field")]
    pid: Field,
    #[serde(rename = "SYSLOG_IDENTIFIER", default, deserialize_with = "field")]
    identifier: Field,
    #[serde(rename = "_HOSTNAME", default, deserialize_with = "field")]
    hostname: Field,
    #[serde(rename = "MESSAGE", default, deserialize_with = "field")]
    message: Field,
}

fn field<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
    deserializer.deserialize_any(FieldVisitor)
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, an array of bytes or null")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Field, E> {
        Ok(Field::Text(text.to_string()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Field, E> {
        Ok(Field::Text(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::TooLarge)
    }

    fn visit_none<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::TooLarge)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
        let mut bytes = Vec::new();
        let mut several = false;
        while let Some(item) = seq.next_element::<Item>()? {
            match item {
                Item::Byte(byte) => bytes.push(byte),
                Item::Other => several = true,
            }
        }
        Ok(if several {
            Field::Several
        } else {
            Field::Bytes(bytes)
        })
    }
}

/// An element of a field's array: a byte, or a whole value (the field is repeated).
enum Item {
    Byte(u8),
    Other,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Item, D::Error> {
        deserializer.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte or a field value")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Item, E> {
        u8::try_from(n)
            .map(Item::Byte)
            .map_err(|_| E::custom(format!("byte value {n} out of range")))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Item, E> {
        Ok(Item::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Item, E> {
        Ok(Item::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Item::Other)
    }
}

/// A field of digits as a number (`_UID`, `_PID`).
fn number<T: std::str::FromStr>(field: Field, name: &str) -> Result<Option<T>, String> {
    match field {
        Field::Absent => Ok(None),
        Field::Text(text) => text
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} {text:?} is not a number")),
        _ => Err(format!("{name} is not a single string")),
    }
}

/// Parses one line of `journalctl --output=json` (without its newline).
pub fn parse_line(line: &[u8]) -> Result<JournalRecord, String> {
    // serde would also fill the struct from an array, by position.
    if line.trim_ascii_start().first() != Some(&b'{') {
        return Err("not a journal json entry: not an object".into());
    }
    let wire: Wire = serde_json::from_slice(line).map_err(|err| {
        let mut reason = err.to_string();
        // serde_json's messages carry the position and start in lower case already.
        reason.insert_str(0, "not a journal json entry: ");
        reason
    })?;
    let realtime = match wire.realtime {
        Field::Text(text) => text,
        Field::Absent => return Err("no __REALTIME_TIMESTAMP".into()),
        _ => return Err("__REALTIME_TIMESTAMP is not a single string".into()),
    };
    let micros: i64 = realtime
        .parse()
        .map_err(|_| format!("__REALTIME_TIMESTAMP {realtime:?} is not a number"))?;
    let message = match wire.message {
        Field::Text(text) => text,
        Field::Bytes(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Field::Absent => return Err("no MESSAGE".into()),
        Field::TooLarge => {
            return Err("MESSAGE too large (journalctl printed null without --all)".into())
        }
        Field::Several => return Err("several MESSAGE fields".into()),
    };
    Ok(JournalRecord {
        time: micros.div_euclid(1_000_000),
        comm: wire.comm.text(),
        uid: number(wire.uid, "_UID")?,
        pid: number(wire.pid, "_PID")?,
        identifier: wire.identifier.text(),
        hostname: wire.hostname.text(),
        message,
    })
}

/// Parses a text of such lines (blank lines skipped; line numbers 1-based).
pub fn parse_text(text: &[u8]) -> Parsed<JournalRecord> {
    let mut out = Parsed::default();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(line) {
            Ok(record) => out.items.push(record),
            Err(reason) => out.errors.push(ParseError {
                line: index + 1,
                reason,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::{check, read};

    fn summary(record: &JournalRecord) -> String {
        format!(
            "{} {}/{}/{} {}@{}: {}",
            record.time,
            record.comm.as_deref().unwrap_or("-"),
            record.uid.map_or("-".into(), |uid| uid.to_string()),
            record.pid.map_or("-".into(), |pid| pid.to_string()),
            record.identifier.as_deref().unwrap_or("-"),
            record.hostname.as_deref().unwrap_or("-"),
            record.message,
        )
    }

    /// The captured entries (tests/data/logs/SOURCE.md): a real dnsmasq's DHCP and TFTP
    /// lines, two forgeries, a message that is not UTF-8, one too large for journalctl, and
    /// two entries as the default command prints them (`--output-fields`).
    #[test]
    fn captured_entries() {
        let text = read("tests/data/logs/journald", "journal-json.txt");
        let parsed = parse_text(text.as_bytes());
        check(
            &text,
            &parsed,
            summary,
            &[
                "1796383384 dnsmasq/999/9859 dnsmasq-tftp@vm: TFTP root is /tmp/jx/tftp",
                "1796383388 dnsmasq/999/9859 dnsmasq-dhcp@vm: DHCPOFFER(jcr0) 198.18.250.131 00:1b:54:12:34:56",
                "1796383388 dnsmasq/999/9859 dnsmasq-dhcp@vm: DHCPACK(jcr0) 198.18.250.131 00:1b:54:12:34:56 SEP001B54123456",
                "1796383388 dnsmasq/999/9859 dnsmasq-tftp@vm: sent /tmp/jx/tftp/XMLDefault.cnf.xml to 198.18.250.131",
                "1796383388 dnsmasq/999/9859 dnsmasq-tftp@vm: file /tmp/jx/tftp/SEP001B54123456.cnf.xml not found for 198.18.250.131",
                "1796383395 dnsmasq/65534/9909 dnsmasq-dhcp@vm: DHCPACK(eth0) 198.18.0.51 00:1b:54:aa:bb:cd SEP001B54AABBCD",
                "1796383395 logger/65534/9910 dnsmasq-dhcp@vm: DHCPACK(eth0) 198.18.0.50 00:1b:54:aa:bb:cc SEP001B54AABBCC",
                "1796383395 logger/0/9912 dnsmasq-tftp@vm: sent /tmp/jx/tftp/caf\u{fffd}\u{fffd}.cnf to 198.18.250.131",
                "1796383388 dnsmasq/999/9859 dnsmasq-dhcp@vm: DHCPACK(jcr0) 198.18.250.131 00:1b:54:12:34:56 SEP001B54123456",
                "1796383388 dnsmasq/999/9859 dnsmasq-tftp@vm: sent /tmp/jx/tftp/XMLDefault.cnf.xml to 198.18.250.131",
            ],
            &[(
                9,
                "MESSAGE too large (journalctl printed null without --all)",
            )],
        );
    }

    /// Malformed entries give a reason each; fields we do not read may be anything.
    #[test]
    fn bad_entries() {
        let cases: &[(&str, &str)] = &[
            ("not json", "not a journal json entry: not an object"),
            ("[\"1000000\",\"dnsmasq\"]", "not a journal json entry: not an object"),
            ("{\"MESSAGE\"", "not a journal json entry: EOF while parsing an object at line 1 column 10"),
            (r#"{"MESSAGE":"x"}"#, "no __REALTIME_TIMESTAMP"),
            (r#"{"__REALTIME_TIMESTAMP":"12x","MESSAGE":"x"}"#, "__REALTIME_TIMESTAMP \"12x\" is not a number"),
            (r#"{"__REALTIME_TIMESTAMP":"1000000"}"#, "no MESSAGE"),
            (r#"{"__REALTIME_TIMESTAMP":"1000000","MESSAGE":["a","b"]}"#, "several MESSAGE fields"),
            (r#"{"__REALTIME_TIMESTAMP":"1000000","MESSAGE":[104,300]}"#, "not a journal json entry: byte value 300 out of range at line 1 column 52"),
            (r#"{"__REALTIME_TIMESTAMP":"1000000","MESSAGE":"x","_UID":"root"}"#, "_UID \"root\" is not a number"),
            (r#"{"__REALTIME_TIMESTAMP":"1000000","MESSAGE":"x","_PID":[49]}"#, "_PID is not a single string"),
            (r#"{"__REALTIME_TIMESTAMP":"1000000","MESSAGE":7}"#, "not a journal json entry: invalid type: integer `7`, expected a string, an array of bytes or null at line 1 column 45"),
        ];
        for (line, reason) in cases {
            assert_eq!(parse_line(line.as_bytes()).unwrap_err(), *reason, "{line}");
        }
        let record = parse_line(
            br#"{"__REALTIME_TIMESTAMP":"1500000","MESSAGE":[104,105],"_COMM":null,"X":{"y":[1]},"SYSLOG_IDENTIFIER":["a","b"]}"#,
        )
        .unwrap();
        assert_eq!(
            (
                record.time,
                record.message.as_str(),
                record.comm,
                record.identifier
            ),
            (1, "hi", None, None)
        );
    }
}
