//! Every lease-file format the daemon reads, and FreePBX's extension export: the first byte
//! picks the parser, the rest is the file (read lossily, as the sources do).
#![no_main]

use cisco_autoprov::parse::{dnsmasq_leases, freepbx_csv, isc_leases, kea_leases, odhcpd_leases};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match which % 5 {
        0 => drop(dnsmasq_leases::parse(&text)),
        1 => {
            let (parsed, consumed) = isc_leases::parse_incremental(&text);
            assert!(consumed <= text.len(), "isc parser consumed past the end");
            assert!(
                text.is_char_boundary(consumed),
                "isc parser stopped inside a character"
            );
            drop(parsed);
        }
        2 => drop(kea_leases::parse(&text)),
        3 => drop(odhcpd_leases::parse(&text)),
        _ => drop(freepbx_csv::parse(&text)),
    }
});
