//! The isc-dhcp-server include file (`include "/etc/dhcp/cisco-autoprov.conf";` in
//! `dhcpd.conf`, at the top level).

use std::fmt::Write as _;

use super::{header, oui_colon, SnippetInput, VENDOR_CLASS_SUBSTRING};

/// The class for phones by vendor class.
pub const PHONE_CLASS: &str = "cisco-autoprov-phone";
/// The class for phones by OUI, with one subclass per block.
pub const OUI_CLASS: &str = "cisco-autoprov-oui";

/// The include file: the definition of option 150 (`voip-tftp-server`), a class matching
/// phones by vendor class and one by OUI (a `subclass` hash, one line per block), each giving
/// options 150 and 66, and the `on commit` / `on release` / `on expiry` hooks of
/// `contrib/isc-dhcp/cisco-autoprov-hooks.conf` (include one or the other: dhcpd keeps one
/// `on commit` per scope, so a hook of your own in `dhcpd.conf`'s top level competes with
/// these).
///
/// Defining option 150 again is harmless: dhcpd accepts a repeated definition, also under
/// another name (the seeds' `voip-tftp-servers`).
pub fn isc(input: &SnippetInput) -> String {
    let mut out = header("#", "isc", input);
    out.push_str(
        "#\n\
         # Include it at the top level of dhcpd.conf, e.g. include \"/etc/dhcp/cisco-autoprov.conf\";\n\
         # DHCP options 150 and 66 for Cisco IP phones only, and the hooks that tell\n\
         # cisco-autoprov about leases. Restart dhcpd after it changes.\n\n\
         option voip-tftp-server code 150 = ip-address;\n\n",
    );

    let options = |out: &mut String| {
        if input.has_address() {
            let ip = input.tftp_server;
            let _ = writeln!(out, "    option voip-tftp-server {ip};");
            let _ = writeln!(out, "    option tftp-server-name \"{ip}\";");
        } else {
            out.push_str("    # no options: [dhcp] tftp_server is not set\n");
        }
    };

    out.push_str(
        "# Phones by vendor class (option 60, e.g. \"Cisco Systems, Inc. IP Phone CP-7941G\" and\n\
         # a NUL): ~= is a regular expression match, i.e. \"contains\".\n",
    );
    let _ = writeln!(out, "class \"{PHONE_CLASS}\" {{");
    let _ = writeln!(
        out,
        "    match if option vendor-class-identifier ~= \"{VENDOR_CLASS_SUBSTRING}\";"
    );
    options(&mut out);
    out.push_str("}\n");

    let ouis = input.ouis();
    if !ouis.is_empty() {
        let _ = write!(
            out,
            "\n# Phones that send no phone vendor class (6901, 7921, MPP): the {} Cisco MAC blocks,\n\
             # as subclasses (one hash lookup per packet) listed at the end of this file.\n",
            ouis.len()
        );
        let _ = writeln!(out, "class \"{OUI_CLASS}\" {{");
        out.push_str("    match substring(hardware, 1, 3);\n");
        options(&mut out);
        out.push_str("}\n");
    }

    out.push_str(
        "\n# Lease events to cisco-autoprov, with the vendor class (contrib/isc-dhcp/cisco-autoprov-hooks.conf).\n\
         # execute() waits; `cisco-autoprov notify` sends one datagram and always exits 0.\n",
    );
    out.push_str(&hooks(input));

    if !ouis.is_empty() {
        out.push('\n');
        for oui in ouis {
            let _ = writeln!(out, "subclass \"{OUI_CLASS}\" {};", oui_colon(oui));
        }
    }
    out
}

/// The three hook statements, laid out as in `contrib/isc-dhcp/cisco-autoprov-hooks.conf`.
fn hooks(input: &SnippetInput) -> String {
    let mut call = format!("execute({}, \"notify\"", string(input.binary));
    if let Some(config) = input.config_arg() {
        let _ = write!(call, ", \"-c\", {}", string(config));
    }
    const INDENT: &str = "            ";
    let address = "binary-to-ascii(10, 8, \".\", leased-address)";
    let mac = "binary-to-ascii(16, 8, \":\", substring(hardware, 1, 6))";
    let mut out = String::new();
    let _ = write!(
        out,
        "on commit {{\n    {call}, \"isc\", \"commit\",\n\
         {INDENT}{address},\n\
         {INDENT}{mac},\n\
         {INDENT}pick-first-value(option host-name, \"\"),\n\
         {INDENT}pick-first-value(option vendor-class-identifier, \"\"));\n}}\n"
    );
    for event in ["release", "expiry"] {
        let _ = write!(
            out,
            "\non {event} {{\n    {call}, \"isc\", \"{event}\",\n\
             {INDENT}{address},\n\
             {INDENT}{mac});\n}}\n"
        );
    }
    out
}

/// A dhcpd string literal: backslash and double quote escaped, control characters as octal
/// escapes, so nothing in it can end the string or the statement.
fn string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_ascii_control() => {
                let _ = write!(quoted, "\\{:03o}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const GOLDEN: &str = r#"# Generated by cisco-autoprov; do not edit: it is regenerated and edits are lost.
# Change [dhcp] in /etc/cisco-autoprov/config.toml instead; `cisco-autoprov snippet isc` prints it.
#
# Include it at the top level of dhcpd.conf, e.g. include "/etc/dhcp/cisco-autoprov.conf";
# DHCP options 150 and 66 for Cisco IP phones only, and the hooks that tell
# cisco-autoprov about leases. Restart dhcpd after it changes.

option voip-tftp-server code 150 = ip-address;

# Phones by vendor class (option 60, e.g. "Cisco Systems, Inc. IP Phone CP-7941G" and
# a NUL): ~= is a regular expression match, i.e. "contains".
class "cisco-autoprov-phone" {
    match if option vendor-class-identifier ~= "IP Phone";
    option voip-tftp-server 192.0.2.1;
    option tftp-server-name "192.0.2.1";
}

# Phones that send no phone vendor class (6901, 7921, MPP): the 2 Cisco MAC blocks,
# as subclasses (one hash lookup per packet) listed at the end of this file.
class "cisco-autoprov-oui" {
    match substring(hardware, 1, 3);
    option voip-tftp-server 192.0.2.1;
    option tftp-server-name "192.0.2.1";
}

# Lease events to cisco-autoprov, with the vendor class (contrib/isc-dhcp/cisco-autoprov-hooks.conf).
# execute() waits; `cisco-autoprov notify` sends one datagram and always exits 0.
on commit {
    execute("/usr/sbin/cisco-autoprov", "notify", "isc", "commit",
            binary-to-ascii(10, 8, ".", leased-address),
            binary-to-ascii(16, 8, ":", substring(hardware, 1, 6)),
            pick-first-value(option host-name, ""),
            pick-first-value(option vendor-class-identifier, ""));
}

on release {
    execute("/usr/sbin/cisco-autoprov", "notify", "isc", "release",
            binary-to-ascii(10, 8, ".", leased-address),
            binary-to-ascii(16, 8, ":", substring(hardware, 1, 6)));
}

on expiry {
    execute("/usr/sbin/cisco-autoprov", "notify", "isc", "expiry",
            binary-to-ascii(10, 8, ".", leased-address),
            binary-to-ascii(16, 8, ":", substring(hardware, 1, 6)));
}

subclass "cisco-autoprov-oui" 00:1b:0c;
subclass "cisco-autoprov-oui" 00:1b:67;
"#;

    #[test]
    fn golden() {
        let input = SnippetInput {
            cisco_ouis: &[0x001B67, 0x001B0C],
            ..SnippetInput::new(Ipv4Addr::new(192, 0, 2, 1))
        };
        assert_eq!(isc(&input), GOLDEN);
    }

    #[test]
    fn config_argument_and_no_address() {
        let input = SnippetInput {
            binary: "/opt/cap/bin/cisco-autoprov",
            config_path: Some("/etc/cap \"lab\".toml"),
            ..SnippetInput::new(Ipv4Addr::UNSPECIFIED)
        };
        let text = isc(&input);
        assert_eq!(
            text.matches(
                "execute(\"/opt/cap/bin/cisco-autoprov\", \"notify\", \"-c\", \"/etc/cap \\\"lab\\\".toml\", \"isc\","
            )
            .count(),
            3,
            "{text}"
        );
        assert!(!text.contains("option voip-tftp-server 0.0.0.0"), "{text}");
        assert!(text.contains("# no options: [dhcp] tftp_server is not set"));
        assert!(!text.contains(OUI_CLASS));
    }

    #[test]
    fn strings_cannot_break_out() {
        assert_eq!(string("/usr/sbin/x"), "\"/usr/sbin/x\"");
        assert_eq!(string("a\"b\\c\nd"), "\"a\\\"b\\\\c\\012d\"");
    }
}
