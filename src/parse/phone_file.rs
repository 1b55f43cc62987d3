//! A phone's own config file as cisco-autoprov wrote it (or someone edited it): the
//! credentials in it. Two formats:
//!
//! - `SEP<MAC>.cnf.xml` (XML firmware): each `<line button="N">` with `<name>` (the
//!   extension), `<authName>` and `<authPassword>`, under `<sipLines>`;
//! - `SIP<MAC>.cnf` (7940/7960 SIP firmware): `lineN_name`, `lineN_password` key lines.
//!
//! Used to rebuild the assignments when the state is lost but the TFTP root is kept
//! (field-evidence.md §5: two phones ended up on one extension although the files on disk
//! still held each phone's extension and secret), and to say when a file and the state
//! disagree. Pure: text in, credentials out.

/// The marker our templates put in the first lines of every phone file.
pub const MARKER: &str = "Written by cisco-autoprov for";

/// What a phone file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneFile {
    /// Line 1's extension and secret.
    pub extension: String,
    pub secret: String,
    /// Lines 2, 3, …: extension and secret.
    pub lines: Vec<(String, String)>,
    /// The file carries our marker (written by cisco-autoprov, maybe edited since).
    pub ours: bool,
}

/// Parses a `SEP<MAC>.cnf.xml`.
pub fn parse_sep_xml(text: &str) -> Result<PhoneFile, String> {
    let doc = roxmltree::Document::parse(text).map_err(|err| format!("not xml: {err}"))?;
    let mut lines: Vec<(u32, String, String)> = Vec::new();
    for line in doc
        .descendants()
        .filter(|node| node.has_tag_name("line"))
        .filter(|node| node.parent().is_some_and(|p| p.has_tag_name("sipLines")))
    {
        let child = |tag: &str| {
            line.children()
                .find(|node| node.has_tag_name(tag))
                .and_then(|node| node.text())
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        let button = line
            .attribute("button")
            .and_then(|b| b.parse().ok())
            .unwrap_or(u32::MAX);
        let extension = child("name");
        // A speed dial or BLF button has no authName.
        if child("featureLabel").is_empty() && child("authName").is_empty() {
            continue;
        }
        if extension.is_empty() {
            continue;
        }
        lines.push((button, extension, child("authPassword")));
    }
    lines.sort_by_key(|(button, _, _)| *button);
    finish(lines.into_iter().map(|(_, e, s)| (e, s)).collect(), text)
}

/// Parses a `SIP<MAC>.cnf`.
pub fn parse_sip_cnf(text: &str) -> Result<PhoneFile, String> {
    let mut names: Vec<(u32, String)> = Vec::new();
    let mut passwords: Vec<(u32, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.split(';').next().unwrap_or_default().trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value)
            .to_string();
        let Some(rest) = key.trim().strip_prefix("line") else {
            continue;
        };
        let Some((number, field)) = rest.split_once('_') else {
            continue;
        };
        let Ok(number) = number.parse::<u32>() else {
            continue;
        };
        match field {
            "name" => names.push((number, value)),
            "password" => passwords.push((number, value)),
            _ => {}
        }
    }
    names.sort_unstable();
    let lines = names
        .into_iter()
        .filter(|(_, name)| !name.is_empty())
        .map(|(number, name)| {
            let secret = passwords
                .iter()
                .find(|(n, _)| *n == number)
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            (name, secret)
        })
        .collect();
    finish(lines, text)
}

fn finish(mut lines: Vec<(String, String)>, text: &str) -> Result<PhoneFile, String> {
    if lines.is_empty() {
        return Err("no line with an extension".to_string());
    }
    let (extension, secret) = lines.remove(0);
    Ok(PhoneFile {
        extension,
        secret,
        lines,
        ours: text.lines().take(3).any(|line| line.contains(MARKER)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What our own templates write reads back as the credentials it was given.
    #[test]
    fn our_files_read_back() {
        use crate::models::Model;
        use crate::render::{phone_files, LineView, PhoneView, Site};
        let templates = crate::template::Templates::built_in();
        let utc = crate::timezone::resolve("UTC").unwrap();
        let site = Site {
            pbx_host: "198.18.0.10",
            pbx_port: 5060,
            voicemail: "*97",
            ntp_server: "198.18.0.1",
            time_zone: utc.xml_zone,
            time_zone_7940: utc.sip_zone,
            clock_7940: utc.sipdefault_lines(),
            tftp_server: None,
            network_locale: "United_States",
        };
        for name in ["7941", "7940", "7965"] {
            let model = Model::by_name(name);
            let view = PhoneView {
                mac: "001B0C18BDC1".parse().unwrap(),
                model,
                extension: "2000",
                secret: "s3cr&et<x>#1",
                label: None,
                load: None,
                speed_dials: &[],
                addon_modules: &[],
                transport: crate::config::TransportChoice::Auto.for_model(model),
                lines: vec![LineView {
                    extension: "2001",
                    secret: "line&2<secret>",
                    label: None,
                }],
                phone_password: "7305",
                ring: crate::config::Ring::Ring,
            };
            for (file, text) in phone_files(&templates, &site, &view) {
                let parsed = if file.ends_with(".cnf.xml") {
                    parse_sep_xml(&text)
                } else if file.starts_with("SIP") {
                    parse_sip_cnf(&text)
                } else {
                    continue;
                };
                let parsed = parsed.unwrap_or_else(|e| panic!("{file}: {e}\n{text}"));
                assert_eq!(parsed.extension, "2000", "{name} {file}");
                assert_eq!(parsed.secret, "s3cr&et<x>#1", "{name} {file}");
                assert!(parsed.ours, "{file}");
                assert_eq!(
                    parsed.lines,
                    [("2001".to_string(), "line&2<secret>".to_string())],
                    "{name} {file}"
                );
            }
        }
    }

    /// Files other people run on real phones, read, not copied: a line list as in
    /// real-configs/zencoffee-7965/SEP001122334455.cnf.xml and
    /// mkirbst-configs_cisco7961/SEP0012345678DE.cnf.xml (a speed dial on button 2), and the
    /// 7960's quoted `lineN_*` keys as in teo-lkml-7960/SIP000E84C060A6.cnf, with `#` lines
    /// (german-fritzbox-7960) and `; comment` after a value (mkirbst-configs_cisco7960). The credentials come out, and they are not ours.
    #[test]
    fn hand_written_files() {
        let xml = "<device><sipProfile><sipLines>\
            <line button=\"1\"><featureID>9</featureID><featureLabel>Office</featureLabel>\
            <name>101</name><authName>101</authName><authPassword>pw1</authPassword></line>\
            <line button=\"2\"><featureID>21</featureID><featureLabel>Boss</featureLabel>\
            <speedDialNumber>102</speedDialNumber></line>\
            </sipLines></sipProfile></device>";
        let parsed = parse_sep_xml(xml).unwrap();
        assert_eq!(
            (parsed.extension.as_str(), parsed.secret.as_str()),
            ("101", "pw1")
        );
        assert!(parsed.lines.is_empty() && !parsed.ours);
        let cnf = "# teo's 7960\nline1_name: 7000\nline1_authname: \"7000\"\nline1_password: \"secret\" ; trailing\nline2_name: \"\"\n";
        let parsed = parse_sip_cnf(cnf).unwrap();
        assert_eq!(
            (parsed.extension.as_str(), parsed.secret.as_str()),
            ("7000", "secret")
        );
        assert!(parse_sip_cnf("proxy1_address: x\n").is_err());
        assert!(parse_sep_xml("<device>").is_err());
    }
}
