//! Syslog/journal lines of every TFTP and DHCP server the daemon follows, and the entries of
//! `journalctl --output=json` (the `journal` source).
#![no_main]

use cisco_autoprov::localtime::LocalZone;
use cisco_autoprov::parse::{journal_json, syslog, tftp_log};
use libfuzzer_sys::fuzz_target;

const ROOTS: &[String] = &[];

static NEW_YORK: std::sync::LazyLock<LocalZone> = std::sync::LazyLock::new(|| {
    LocalZone::from_posix("EST5EDT,M3.2.0,M11.1.0", "fuzz").expect("a valid rule")
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let roots = vec!["/srv/tftp".to_string(), "/var/lib/tftpboot/".to_string()];
    let ctx = tftp_log::Context {
        now: 1_795_249_089,
        tftp_roots: &roots,
        ..Default::default()
    };
    for line in text.lines() {
        let _ = syslog::split(line, ctx.now, ctx.zone);
        // And in a zone with DST, as a box in New York reads them.
        let _ = syslog::split(line, ctx.now, &NEW_YORK);
        let _ = tftp_log::parse_line(line, &ctx);
    }
    for line in data.split(|&b| b == b'\n') {
        if let Ok(entry) = journal_json::parse_line(line) {
            let tag = entry.identifier.as_deref().unwrap_or_default();
            let _ = tftp_log::parse_message(tag, &entry.message, entry.time, &ctx);
        }
    }
    let _ = journal_json::parse_text(data);
    let _ = tftp_log::parse_text(
        &text,
        &tftp_log::Context {
            now: 0,
            tftp_roots: ROOTS,
            ..Default::default()
        },
    );
});
