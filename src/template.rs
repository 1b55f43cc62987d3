//! Templates for phone files: the built-in ones in `templates/`, replaceable file by file
//! from the config's `templates_dir`. Pure: text in, text out.
//!
//! The syntax is two kinds of placeholder and nothing else:
//! - `{{name}}`: a value, escaped for the file's format (XML escaping for `.xml`; for the
//!   `key: "value"` files of the 7940/7960 quotes and control characters are removed; plain
//!   text keeps one line);
//! - `{{&name}}`: a block the renderer builds itself (already in the file's format), such as
//!   the `<loadInformation>` list.
//!
//! A template is checked when it is loaded: an unknown placeholder or an unclosed `{{` is an
//! error with its line, and an XML template must render to well-formed XML (checked with a
//! real parser, `roxmltree`), so a broken user template stops the daemon at start-up instead
//! of bricking phones later.

use std::collections::BTreeMap;
use std::fmt;

/// The values a template may use. Every name is always given (empty when unknown).
pub const VALUES: &[&str] = &[
    "mac",
    "model",
    "extension",
    "secret",
    "display_name",
    "phone_label",
    "phone_label_7940",
    "pbx_host",
    "pbx_port",
    "voicemail",
    "ntp_server",
    "time_zone",
    "time_zone_7940",
    "tftp_server",
    "image_7940",
    "transport_layer",
    "universal_loader",
    "advertise_g722",
    "network_locale",
    "phone_password",
    "ring_idle",
];

/// The blocks the renderer builds.
pub const BLOCKS: &[&str] = &[
    "load_information",
    "load_information_list",
    "image_version_line",
    "extra_buttons",
    "extra_lines",
    "extra_lines_7940",
    "clock_7940",
];

/// The format of a file, from its name: decides escaping and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `*.xml`
    Xml,
    /// `*.cnf`: `key: "value"` lines of the 7940/7960 SIP firmware.
    Cnf,
    /// Anything else (`OS79XX.TXT`, `RINGLIST.DAT`).
    Text,
}

impl FileKind {
    /// The kind of a file name.
    pub fn of(name: &str) -> FileKind {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".xml") {
            FileKind::Xml
        } else if lower.ends_with(".cnf") {
            FileKind::Cnf
        } else {
            FileKind::Text
        }
    }

    /// Escapes a value for this format.
    pub fn escape(self, value: &str) -> String {
        match self {
            FileKind::Xml => xml_escape(value),
            FileKind::Cnf => value
                .chars()
                .filter(|c| *c != '"' && !c.is_control())
                .collect(),
            FileKind::Text => value.chars().filter(|c| !c.is_control()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(&'static str),
    Block(&'static str),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The file name it renders (`SEP.cnf.xml` stands for `SEP<MAC>.cnf.xml`).
    pub name: String,
    /// Where it came from: `built-in` or a path.
    pub origin: String,
    kind: FileKind,
    parts: Vec<Part>,
}

/// A problem in a template, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The template's origin (a path, or `built-in NAME`).
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// Lowercase reason.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.origin, self.line, self.message)
    }
}

/// Values and blocks for one rendering.
pub type Values = BTreeMap<&'static str, String>;

impl Template {
    /// Parses `text` as the template for file `name`, from `origin`; checks placeholders and,
    /// for XML, that a rendering with sample values is well-formed.
    pub fn parse(name: &str, origin: &str, text: &str) -> Result<Template, TemplateError> {
        let kind = FileKind::of(name);
        let mut parts = Vec::new();
        let mut rest = text;
        let line_at = |consumed: usize| text[..consumed].matches('\n').count() + 1;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let offset = text.len() - rest.len() + open;
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(TemplateError {
                    origin: origin.to_string(),
                    line: line_at(offset),
                    message: "`{{` is not closed".into(),
                });
            };
            let inside = after[..close].trim();
            let (is_block, key) = match inside.strip_prefix('&') {
                Some(key) => (true, key.trim()),
                None => (false, inside),
            };
            let known = if is_block { BLOCKS } else { VALUES };
            let Some(&key) = known.iter().find(|&&k| k == key) else {
                let expected = if is_block {
                    BLOCKS.join(", ")
                } else {
                    VALUES.join(", ")
                };
                return Err(TemplateError {
                    origin: origin.to_string(),
                    line: line_at(offset),
                    message: format!(
                        "unknown placeholder {{{{{inside}}}}}: expected one of {expected}"
                    ),
                });
            };
            parts.push(if is_block {
                Part::Block(key)
            } else {
                Part::Value(key)
            });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        let template = Template {
            name: name.to_string(),
            origin: origin.to_string(),
            kind,
            parts,
        };
        if kind == FileKind::Xml {
            let sample = template.render(&sample_values());
            if let Err(err) = roxmltree::Document::parse(&sample) {
                return Err(TemplateError {
                    origin: origin.to_string(),
                    line: err.pos().row as usize,
                    message: format!("does not render to well-formed xml: {err}"),
                });
            }
        }
        Ok(template)
    }

    /// The file's format.
    pub fn kind(&self) -> FileKind {
        self.kind
    }

    /// Renders with `values`; missing names render empty.
    pub fn render(&self, values: &Values) -> String {
        let mut out = String::with_capacity(4096);
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value(key) => {
                    out.push_str(&self.kind.escape(values.get(key).map_or("", String::as_str)))
                }
                Part::Block(key) => out.push_str(values.get(key).map_or("", String::as_str)),
            }
        }
        out
    }
}

/// Values that exercise escaping, used to check templates.
fn sample_values() -> Values {
    let mut values: Values = VALUES
        .iter()
        .map(|&key| (key, format!("<{key}&\"'>")))
        .collect();
    values.insert(
        "load_information",
        "<loadInformation>SIP41.9-4-2SR3-1S</loadInformation>".into(),
    );
    values.insert(
        "load_information_list",
        "  <loadInformation115 model=\"Cisco 7941\">SIP41.9-4-2SR3-1S</loadInformation115>\n"
            .into(),
    );
    values.insert(
        "image_version_line",
        "image_version: \"P0S3-8-12-00\"\n".into(),
    );
    values.insert(
        "extra_buttons",
        "      <line button=\"2\">\n        <featureID>21</featureID>\n      </line>\n".into(),
    );
    values
}

/// The built-in templates, compiled in.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("SEP.cnf.xml", include_str!("../templates/SEP.cnf.xml")),
    (
        "XMLDefault.cnf.xml",
        include_str!("../templates/XMLDefault.cnf.xml"),
    ),
    (
        "SIPDefault.cnf",
        include_str!("../templates/SIPDefault.cnf"),
    ),
    ("SIP.cnf", include_str!("../templates/SIP.cnf")),
    ("OS79XX.TXT", include_str!("../templates/OS79XX.TXT")),
];

/// Files a `templates_dir` may add that have no built-in (rendered with the site's values and
/// written once into the TFTP root).
pub const EXTRA_NAMES: &[&str] = &["RINGLIST.DAT", "dialplan.xml"];

/// The set of templates in force.
#[derive(Debug, Clone)]
pub struct Templates {
    /// `SEP<MAC>.cnf.xml`
    pub sep: Template,
    /// `XMLDefault.cnf.xml`
    pub xml_default: Template,
    /// `SIPDefault.cnf`
    pub sip_default: Template,
    /// `SIP<MAC>.cnf`
    pub sip: Template,
    /// `OS79XX.TXT`
    pub os79xx: Template,
    /// Shared files only a user template provides (`RINGLIST.DAT`, `dialplan.xml`).
    pub extra: Vec<Template>,
}

impl Templates {
    /// The built-ins replaced by the user's `(file name, text, origin)` templates. Every
    /// problem is reported; an unknown file name is one.
    pub fn with_overrides(
        user: &[(String, String, String)],
    ) -> Result<Templates, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let mut chosen: BTreeMap<String, Template> = BTreeMap::new();
        for (name, text) in BUILT_IN {
            match Template::parse(name, &format!("built-in {name}"), text) {
                Ok(template) => {
                    chosen.insert(name.to_string(), template);
                }
                Err(err) => errors.push(err),
            }
        }
        let mut extra = Vec::new();
        for (name, text, origin) in user {
            let known =
                BUILT_IN.iter().any(|(n, _)| n == name) || EXTRA_NAMES.contains(&name.as_str());
            if !known {
                let names: Vec<&str> = BUILT_IN
                    .iter()
                    .map(|(n, _)| *n)
                    .chain(EXTRA_NAMES.iter().copied())
                    .collect();
                errors.push(TemplateError {
                    origin: origin.clone(),
                    line: 1,
                    message: format!(
                        "unknown template name {name:?}: expected one of {}",
                        names.join(", ")
                    ),
                });
                continue;
            }
            match Template::parse(name, origin, text) {
                Ok(template) if EXTRA_NAMES.contains(&name.as_str()) => extra.push(template),
                Ok(template) => {
                    chosen.insert(name.clone(), template);
                }
                Err(err) => errors.push(err),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut take = |name: &str| chosen.remove(name).expect("every built-in parsed");
        Ok(Templates {
            sep: take("SEP.cnf.xml"),
            xml_default: take("XMLDefault.cnf.xml"),
            sip_default: take("SIPDefault.cnf"),
            sip: take("SIP.cnf"),
            os79xx: take("OS79XX.TXT"),
            extra,
        })
    }

    /// The built-in templates.
    pub fn built_in() -> Templates {
        // The built-ins are checked by the `built_ins_are_valid` test.
        Templates::with_overrides(&[]).expect("built-in templates are valid")
    }
}

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0; config checks keep them out, this
            // keeps the output well-formed whatever comes in.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_are_valid() {
        let templates = Templates::built_in();
        assert_eq!(templates.sep.kind(), FileKind::Xml);
        assert_eq!(templates.sip.kind(), FileKind::Cnf);
        assert!(templates.extra.is_empty());
    }

    #[track_caller]
    fn check_error(name: &str, text: &str, expected: &str) {
        let user = [(name.to_string(), text.to_string(), format!("/etc/t/{name}"))];
        let errors = Templates::with_overrides(&user).unwrap_err();
        assert_eq!(
            errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [expected]
        );
    }

    #[test]
    fn user_templates_are_checked() {
        check_error(
            "SEP.cnf.xml",
            "<device>\n  <name>{{extension}}</name>\n  <x>{{nope}}</x>\n</device>\n",
            "/etc/t/SEP.cnf.xml:3: unknown placeholder {{nope}}: expected one of mac, model, extension, secret, display_name, phone_label, phone_label_7940, pbx_host, pbx_port, voicemail, ntp_server, time_zone, time_zone_7940, tftp_server, image_7940, transport_layer, universal_loader, advertise_g722, network_locale, phone_password, ring_idle",
        );
        check_error(
            "SIP.cnf",
            "line1_name: \"{{extension\"\n",
            "/etc/t/SIP.cnf:1: `{{` is not closed",
        );
        // Seed 000's XMLDefault sample: <loadInformation …> closed by </loadInformation8>.
        check_error(
            "XMLDefault.cnf.xml",
            "<Default>\n<loadInformation model=\"IP Phone 7941\">SIP41.9-3-1SR-1S</loadInformation8>\n</Default>\n",
            "/etc/t/XMLDefault.cnf.xml:2: does not render to well-formed xml: expected 'loadInformation' tag, not 'loadInformation8' at 2:56",
        );
        check_error("boot.cfg", "x", "/etc/t/boot.cfg:1: unknown template name \"boot.cfg\": expected one of SEP.cnf.xml, XMLDefault.cnf.xml, SIPDefault.cnf, SIP.cnf, OS79XX.TXT, RINGLIST.DAT, dialplan.xml");
    }

    #[test]
    fn values_are_escaped_for_the_format() {
        let xml = Template::parse(
            "SEP.cnf.xml",
            "t",
            "<r><a>{{secret}}</a>{{&load_information}}</r>",
        )
        .unwrap();
        let mut values = Values::new();
        values.insert("secret", "a<b&\"c".into());
        values.insert("load_information", "<b/>".into());
        assert_eq!(xml.render(&values), "<r><a>a&lt;b&amp;&quot;c</a><b/></r>");
        let cnf = Template::parse("SIP.cnf", "t", "line1_password: \"{{secret}}\"\n").unwrap();
        values.insert("secret", "se\"cr\net".into());
        assert_eq!(cnf.render(&values), "line1_password: \"secret\"\n");
        let overridden = Templates::with_overrides(&[(
            "RINGLIST.DAT".into(),
            "ring1.raw\tChirp\n".into(),
            "/etc/t/RINGLIST.DAT".into(),
        )])
        .unwrap();
        assert_eq!(overridden.extra.len(), 1);
    }
}
