//! Small checks the end-to-end test files share: reading `status --json`, file modes, the
//! DHCP range, placing static files in the TFTP root.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::netns::{set_mode, Lab};

/// The phone `mac` (12 upper-case hex digits) in `status --json` output.
pub fn phone_status<'a>(status: &'a serde_json::Value, mac: &str) -> &'a serde_json::Value {
    status
        .as_array()
        .unwrap_or_else(|| panic!("status --json is not an array: {status}"))
        .iter()
        .find(|phone| phone["mac"] == mac)
        .unwrap_or_else(|| panic!("no phone {mac} in status: {status}"))
}

/// A JSON value as text (a string without its quotes).
pub fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The text between the first `open` and the next `close`.
pub fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

/// True when `ip` is in the lab's DHCP range (hosts 100–199).
pub fn in_dhcp_range(lab: &Lab, ip: &str) -> bool {
    ip.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| (100..=199).any(|host| lab.ip(host) == ip))
}

/// Puts a small world-readable file named `name` into the lab's TFTP root.
pub fn put_static_file(lab: &Lab, name: &str) {
    let path = lab.tftp_root().join(name);
    fs::write(&path, format!("dummy {name} for the e2e tests\n")).expect("write static file");
    set_mode(&path, 0o644);
}

/// The TFTP server runs as an unprivileged user: every file we write must be world-readable.
#[track_caller]
pub fn assert_world_readable(path: &Path) {
    let mode = fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode();
    assert!(mode & 0o004 != 0, "{} has mode {mode:o}", path.display());
}

/// A stand-in for a Cisco `.loads` file: binary signature junk, then the image names.
pub fn put_firmware(lab: &Lab, loads: &str, images: &[&str]) {
    let mut body: Vec<u8> = vec![0x89, b'S', b'G', b'N', 0, 1, 2, 0xff, 0xfe];
    for image in images {
        body.extend_from_slice(image.as_bytes());
        body.push(b'\n');
    }
    let put = |name: &str, bytes: &[u8]| {
        let path = lab.tftp_root().join(name);
        fs::write(&path, bytes).expect("write firmware stand-in");
        set_mode(&path, 0o644);
    };
    put(loads, &body);
    for image in images {
        put(image, format!("image {image}\n").as_bytes());
    }
}

/// The images of the 7941/7961 SIP load 9.4(2)SR3 (`SIP41.9-4-2SR3-1S.loads`), as the capture's
/// `term41.default.loads` names them.
pub const SIP41_IMAGES: [&str; 5] = [
    "jar41sip.9-4-2ES26.sbn",
    "apps41.9-4-2ES26.sbn",
    "cnu41.9-4-2ES26.sbn",
    "cvm41sip.9-4-2ES26.sbn",
    "dsp41.9-4-2ES26.sbn",
];
