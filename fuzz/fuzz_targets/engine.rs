//! The engine fed observations made from bytes: each line is a TFTP or DHCP server's log line
//! (as the log sources read it), or a hook datagram when it starts with `{`. Checked after
//! every input: with `tftp_only = "approve"`, only a MAC some lease named holds a SIP secret
//! (no credentials for a forged TFTP request), and every file name the engine planned for a
//! phone is a plain name inside the TFTP root.
#![no_main]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use cisco_autoprov::config::{self, Config};
use cisco_autoprov::detect::Engine;
use cisco_autoprov::event::Observation;
use cisco_autoprov::hook::{self, Datagram};
use cisco_autoprov::parse::tftp_log::{self, LogRecord};
use libfuzzer_sys::fuzz_target;

fn configs() -> &'static [Config; 2] {
    static CONFIGS: OnceLock<[Config; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let make = |tftp_only: &str| {
            let text = format!(
                "[pbx]\nhost = \"198.18.0.10\"\n[provision]\nextensions = \"2000-2009\"\n\
                 tftp_only = \"{tftp_only}\"\n"
            );
            config::parse(&text, "fuzz.toml", Path::new("/")).expect("fuzz config")
        };
        [make("approve"), make("auto")]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let approve = which % 2 == 0;
    let config = &configs()[usize::from(!approve)];
    let roots = vec!["/srv/tftp".to_string()];
    let ctx = tftp_log::Context {
        now: 1_795_249_089,
        tftp_roots: &roots,
        ..Default::default()
    };
    let text = String::from_utf8_lossy(rest);
    let mut engine = Engine::new(Vec::new());
    let mut counter = 0u32;
    let mut secrets = || {
        counter += 1;
        format!("secret{counter}")
    };
    let mut leased = BTreeSet::new();
    for line in text.lines() {
        let observation = if line.starts_with('{') {
            match hook::decode_datagram(line.as_bytes(), 0, &roots) {
                Ok(Datagram::Observation(observation)) => Some(observation),
                // Decisions are the admin's word, not an attacker's: not fed here.
                Ok(Datagram::Decision(..)) | Err(_) => None,
            }
        } else {
            match tftp_log::parse_line(line, &ctx) {
                Ok(Some(LogRecord::Tftp(request))) => Some(Observation::Tftp(request)),
                Ok(Some(LogRecord::DhcpAck { lease, .. })) => Some(Observation::Lease(lease)),
                _ => None,
            }
        };
        if let Some(observation) = observation {
            if let Observation::Lease(lease) = &observation {
                leased.insert(lease.mac);
            }
            let _ = engine.observe(&observation, config, &mut secrets);
        }
    }
    for (mac, phone) in engine.phones() {
        if approve && phone.secret.is_some() {
            assert!(
                leased.contains(mac),
                "{mac} got a secret from TFTP requests alone"
            );
        }
        for file in &phone.files {
            assert!(
                !file.is_empty() && !file.contains('/') && file != "..",
                "{mac}: file name {file:?} is not a plain name"
            );
        }
    }
});
