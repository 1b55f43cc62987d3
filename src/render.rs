//! Phone files as text. Pure: values in, file contents out.
//!
//! Which files a phone gets depends on its firmware family (`models`):
//!
//! | model | files |
//! |---|---|
//! | XML firmware (79x1/79x2/79x5/797x/7906/7911/7931 and newer) | `SEP<MAC>.cnf.xml` |
//! | 7940/7960 | `SIP<MAC>.cnf` for the SIP firmware, and `SEP<MAC>.cnf.xml`, which the SCCP firmware reads: its `loadInformation` names the SIP load, so a phone still on SCCP converts itself |
//! | not known yet | `SIP<MAC>.cnf` only, until a vendor class, `termNN.default.loads` or the SIP load it asks for names it (below) |
//! | no SIP config format (7902/7905/7912, wireless, …) | none |
//!
//! **No `SEP<MAC>.cnf.xml` while the model is unknown.** The phone asks for
//! `SEP<MAC>.cnf.xml` first and reads `XMLDefault.cnf.xml` only when that is missing (Cisco's
//! admin guides, field-evidence.md §3). `XMLDefault.cnf.xml` names the SIP load of every
//! device type, so an SCCP phone of any model converts from it; a SEP file without
//! `<loadInformation>` (we cannot name the load without the model) would leave it on SCCP.
//! The 7940/7960 SIP firmware reads `SIP<MAC>.cnf`, which no other phone asks for, so that
//! one is written at once.
//!
//! Every phone also reads shared files: `XMLDefault.cnf.xml` (a `loadInformationNNN` per
//! device type, from the firmware present), `SIPDefault.cnf` and `OS79XX.TXT` (the 7940/7960
//! SIP image). The text comes from [`crate::template`]s; the SEP file follows the structure of
//! the working example in seed 000, without its defects (default SSH credentials, mismatched
//! tags). Lines say `<proxy>USECALLMANAGER</proxy>` and the registrar is in
//! `callManagerGroup`, as the 79x1-and-newer SIP firmware requires (cisco-facts.md 4b).

use crate::config::{Ring, SipTransport, SpeedDial};
use crate::mac::Mac;
use crate::models::{ConfigFamily, Model};
use crate::template::{xml_escape, Templates, Values};

/// Longest `phoneLabel` the 79xx XML firmware shows (cisco-facts.md section 4b).
pub const MAX_PHONE_LABEL: usize = 12;
/// Longest `phone_label` of the 7940/7960 SIP firmware (sample config comment, S32).
pub const MAX_PHONE_LABEL_7940: usize = 11;

/// The shared default file the XML firmware asks for when its own file is missing.
pub const XML_DEFAULT: &str = "XMLDefault.cnf.xml";
/// The shared file of the 7940/7960 SIP firmware.
pub const SIP_DEFAULT: &str = "SIPDefault.cnf";
/// The image name file of old 7940/7960 loaders.
pub const OS79XX: &str = "OS79XX.TXT";

/// Site-wide values every phone file carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site<'a> {
    /// SIP registrar host or IP.
    pub pbx_host: &'a str,
    /// SIP registrar port.
    pub pbx_port: u16,
    /// Number the Messages key dials.
    pub voicemail: &'a str,
    /// NTP server.
    pub ntp_server: &'a str,
    /// Cisco time zone name (XML firmware).
    pub time_zone: &'a str,
    /// The `time_zone` and `dst_*` lines of `SIPDefault.cnf` (7940/7960 SIP firmware).
    pub clock_7940: String,
    /// Time zone of the 7940/7960 SIP firmware (`GMT`, `CET`, `EST`…).
    pub time_zone_7940: &'a str,
    /// The TFTP server's address, when configured.
    pub tftp_server: Option<String>,
    /// Network locale (tones) of the XML firmware: a directory in the TFTP root, or the
    /// firmware's built-in `United_States` (see `crate::locale`).
    pub network_locale: &'a str,
}

/// One phone's line and firmware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneView<'a> {
    /// The phone.
    pub mac: Mac,
    /// Its model, when known.
    pub model: Option<Model>,
    /// SIP user name and extension.
    pub extension: &'a str,
    /// SIP secret.
    pub secret: &'a str,
    /// Caller name and button label; the extension when absent.
    pub label: Option<&'a str>,
    /// The load this phone should run (`SIP41.9-4-2SR3-1S`), when one is present for it.
    pub load: Option<&'a str>,
    /// Speed dials for the buttons after the line.
    pub speed_dials: &'a [SpeedDial],
    /// Key expansion modules attached.
    pub addon_modules: &'a [String],
    /// The SIP transport its file names (the XML firmware's `transportLayerProtocol`; the
    /// 7940/7960 SIP firmware is always UDP).
    pub transport: SipTransport,
    /// Lines 2, 3, … on the buttons after line 1, before the speed dials.
    pub lines: Vec<LineView<'a>>,
    /// The password that unlocks the phone's settings.
    pub phone_password: &'a str,
    /// How it rings when idle.
    pub ring: Ring,
}

/// A line after line 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineView<'a> {
    pub extension: &'a str,
    pub secret: &'a str,
    pub label: Option<&'a str>,
}

impl PhoneView<'_> {
    /// How many of the lines after line 1 fit: the buttons of the model and its expansion
    /// modules, less line 1's; all of them while the model (or its button count) is unknown.
    pub fn lines_that_fit(&self) -> usize {
        match self.buttons() {
            Some(buttons) => self.lines.len().min(buttons.saturating_sub(1)),
            None => self.lines.len(),
        }
    }

    /// How many speed dials fit on the buttons the lines leave; all of them while the model
    /// (or its button count) is unknown.
    pub fn speed_dials_that_fit(&self) -> usize {
        match self.buttons() {
            Some(buttons) => self
                .speed_dials
                .len()
                .min(buttons.saturating_sub(1 + self.lines_that_fit())),
            None => self.speed_dials.len(),
        }
    }

    fn buttons(&self) -> Option<usize> {
        self.model
            .and_then(|model| model.buttons_with(self.addon_modules))
    }
}

/// What the shared files list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedView {
    /// `(device type, model description, load name)` for `XMLDefault.cnf.xml`.
    pub loads: Vec<(u32, String, String)>,
    /// The 7940/7960 SIP load (`P0S3-8-12-00`) for `SIPDefault.cnf`.
    pub image_7940: Option<String>,
    /// The universal loader that load ships (`P003-8-12-00`), for `OS79XX.TXT`; no file
    /// without one.
    pub universal_loader: Option<String>,
    /// The text of `dialplan.xml` ([`crate::dialplan`]); a user template of that name wins.
    pub dialplan: Option<String>,
}

/// `SEP001B0C18BDC1.cnf.xml` (MAC upper-case, as the phones ask for it).
pub fn sep_file_name(mac: Mac) -> String {
    format!("SEP{mac}.cnf.xml")
}

/// `SIP001B0C18BDC1.cnf` (MAC upper-case, extension lower-case: cisco-facts.md 4a).
pub fn sip_file_name(mac: Mac) -> String {
    format!("SIP{mac}.cnf")
}

/// A label for a small display: without spaces (the 7900 series rejects them in
/// `phoneLabel`), cut to `max` characters.
pub fn short_label(label: Option<&str>, extension: &str, max: usize) -> String {
    label
        .unwrap_or(extension)
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(max)
        .collect()
}

fn site_values(site: &Site<'_>) -> Values {
    let mut values = Values::new();
    values.insert("pbx_host", site.pbx_host.to_string());
    values.insert("pbx_port", site.pbx_port.to_string());
    values.insert("voicemail", site.voicemail.to_string());
    values.insert("ntp_server", site.ntp_server.to_string());
    values.insert("time_zone", site.time_zone.to_string());
    values.insert("time_zone_7940", site.time_zone_7940.to_string());
    values.insert("clock_7940", site.clock_7940.clone());
    values.insert("tftp_server", site.tftp_server.clone().unwrap_or_default());
    values.insert("network_locale", site.network_locale.to_string());
    values
}

/// The per-phone files of `phone`: name → contents. Empty for a model with no SIP config.
pub fn phone_files(
    templates: &Templates,
    site: &Site<'_>,
    phone: &PhoneView<'_>,
) -> Vec<(String, String)> {
    let family = match phone.model {
        Some(model) => match model.family() {
            Some(family) => Some(family),
            None => return Vec::new(),
        },
        None => None,
    };
    let mut values = site_values(site);
    values.insert("mac", phone.mac.to_string());
    values.insert(
        "model",
        phone.model.map_or("unknown", |m| m.name()).to_string(),
    );
    values.insert("extension", phone.extension.to_string());
    values.insert("secret", phone.secret.to_string());
    values.insert(
        "display_name",
        phone.label.unwrap_or(phone.extension).to_string(),
    );
    values.insert(
        "phone_label",
        short_label(phone.label, phone.extension, MAX_PHONE_LABEL),
    );
    values.insert(
        "phone_label_7940",
        short_label(phone.label, phone.extension, MAX_PHONE_LABEL_7940),
    );
    if let Some(load) = phone.load {
        values.insert(
            "load_information",
            format!("<loadInformation>{}</loadInformation>", xml_escape(load)),
        );
    }
    values.insert("extra_lines", extra_lines_xml(phone, site));
    values.insert("extra_lines_7940", extra_lines_cnf(phone));
    values.insert("extra_buttons", extra_buttons(phone));
    values.insert("phone_password", phone.phone_password.to_string());
    values.insert("ring_idle", phone.ring.xml_code().to_string());
    // usecallmanager.nz sepmac-cnf-xml (`real-configs/usecallmanager-site/`):
    // transportLayerProtocol 1 is TCP, 2 UDP.
    // advertiseG722Codec (usecallmanager.nz sepmac-cnf-xml: 0 off, 1 on, 2 the device's
    // default): on where the endpoint allows G.722 too, off elsewhere, so phone and PBX
    // offer the same codecs (zencoffee-7965 and the usecallmanager tftpboot use 1).
    values.insert(
        "advertise_g722",
        if crate::pbx::offers_g722(phone.model.map(|model| model.base())) {
            "1"
        } else {
            "0"
        }
        .to_string(),
    );
    values.insert(
        "transport_layer",
        match phone.transport {
            SipTransport::Tcp => "1",
            SipTransport::Udp => "2",
        }
        .to_string(),
    );
    let mut files = Vec::new();
    if family.is_some() {
        files.push((sep_file_name(phone.mac), templates.sep.render(&values)));
    }
    if family != Some(ConfigFamily::Sepxml) {
        files.push((sip_file_name(phone.mac), templates.sip.render(&values)));
    }
    files
}

/// Lines 2, 3, … of the XML firmware: feature 9 (a line), each with its own name, auth name
/// and secret, as line 1 (`real-configs/usecallmanager-site/line-keys.txt`, "Line"; with a
/// plain Asterisk every line registers with its own credentials).
fn extra_lines_xml(phone: &PhoneView<'_>, site: &Site<'_>) -> String {
    let (port, voicemail) = (site.pbx_port, xml_escape(site.voicemail));
    let mut out = String::new();
    for (index, line) in phone.lines.iter().take(phone.lines_that_fit()).enumerate() {
        let button = index + 2;
        let name = xml_escape(line.extension);
        let label = xml_escape(line.label.unwrap_or(line.extension));
        let secret = xml_escape(line.secret);
        let ring = phone.ring.xml_code();
        out.push_str(&format!(
            "      <line button=\"{button}\" lineIndex=\"{button}\">\n\
             \x20       <featureID>9</featureID>\n\
             \x20       <featureLabel>{label}</featureLabel>\n\
             \x20       <proxy>USECALLMANAGER</proxy>\n\
             \x20       <port>{port}</port>\n\
             \x20       <name>{name}</name>\n\
             \x20       <displayName>{label}</displayName>\n\
             \x20       <autoAnswer>\n\
             \x20         <autoAnswerEnabled>2</autoAnswerEnabled>\n\
             \x20       </autoAnswer>\n\
             \x20       <callWaiting>3</callWaiting>\n\
             \x20       <authName>{name}</authName>\n\
             \x20       <authPassword>{secret}</authPassword>\n\
             \x20       <sharedLine>false</sharedLine>\n\
             \x20       <messageWaitingLampPolicy>3</messageWaitingLampPolicy>\n\
             \x20       <messagesNumber>{voicemail}</messagesNumber>\n\
             \x20       <ringSettingIdle>{ring}</ringSettingIdle>\n\
             \x20       <ringSettingActive>5</ringSettingActive>\n\
             \x20       <contact>{name}</contact>\n\
             \x20     </line>\n"
        ));
    }
    out
}

/// Lines 2, 3, … of the 7940/7960 SIP firmware: `lineN_*` keys as line 1's.
fn extra_lines_cnf(phone: &PhoneView<'_>) -> String {
    let quote = |text: &str| crate::template::FileKind::Cnf.escape(text);
    let mut out = String::new();
    for (index, line) in phone.lines.iter().take(phone.lines_that_fit()).enumerate() {
        let n = index + 2;
        let name = quote(line.extension);
        let label = quote(line.label.unwrap_or(line.extension));
        let secret = quote(line.secret);
        out.push_str(&format!(
            "line{n}_name: \"{name}\"\nline{n}_authname: \"{name}\"\nline{n}_password: \"{secret}\"\n\
             line{n}_shortname: \"{label}\"\nline{n}_displayname: \"{label}\"\n"
        ));
    }
    out
}

/// The speed-dial buttons after the lines, as many as the phone has: a busy-lamp field speed
/// dial is feature 21 with option mask 1 (as in seed 000), a plain one feature 2.
fn extra_buttons(phone: &PhoneView<'_>) -> String {
    let first = 2 + phone.lines_that_fit();
    let mut out = String::new();
    for (index, dial) in phone
        .speed_dials
        .iter()
        .take(phone.speed_dials_that_fit())
        .enumerate()
    {
        let label = xml_escape(dial.label.as_deref().unwrap_or(&dial.number));
        let number = xml_escape(&dial.number);
        let (feature, mask) = if dial.blf {
            (21, "\n        <featureOptionMask>1</featureOptionMask>")
        } else {
            (2, "")
        };
        out.push_str(&format!(
            "      <line button=\"{}\">\n        <featureID>{feature}</featureID>\n        <featureLabel>{label}</featureLabel>\n        <speedDialNumber>{number}</speedDialNumber>{mask}\n      </line>\n",
            index + first
        ));
    }
    out
}

/// The files every phone shares: name → contents.
pub fn shared_files(
    templates: &Templates,
    site: &Site<'_>,
    shared: &SharedView,
) -> Vec<(String, String)> {
    let mut values = site_values(site);
    let list: String = shared
        .loads
        .iter()
        .map(|(device_type, model, load)| {
            format!(
                "  <loadInformation{device_type} model=\"{}\">{}</loadInformation{device_type}>\n",
                xml_escape(model),
                xml_escape(load)
            )
        })
        .collect();
    values.insert("load_information_list", list);
    if let Some(image) = &shared.image_7940 {
        values.insert("image_7940", image.clone());
        values.insert(
            "image_version_line",
            format!("image_version: \"{image}\"\n"),
        );
    }
    let mut files = vec![
        (
            XML_DEFAULT.to_string(),
            templates.xml_default.render(&values),
        ),
        (
            SIP_DEFAULT.to_string(),
            templates.sip_default.render(&values),
        ),
    ];
    if let Some(loader) = &shared.universal_loader {
        values.insert("universal_loader", loader.clone());
        files.push((OS79XX.to_string(), templates.os79xx.render(&values)));
    }
    let own_dialplan = templates
        .extra
        .iter()
        .any(|extra| extra.name == crate::dialplan::FILE_NAME);
    if let (Some(text), false) = (&shared.dialplan, own_dialplan) {
        files.push((crate::dialplan::FILE_NAME.to_string(), text.clone()));
    }
    for extra in &templates.extra {
        files.push((extra.name.clone(), extra.render(&values)));
    }
    files
}

#[cfg(test)]
mod tests;
