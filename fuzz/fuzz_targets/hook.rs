//! The hook decoder: a datagram as the daemon receives it (JSON, then validated), and the same
//! bytes as a hook invocation (dnsmasq's dhcp-script, OpenWrt hotplug, isc-dhcp `on commit`).
#![no_main]

use cisco_autoprov::hook;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let roots = vec!["/srv/tftp".to_string()];
    let _ = hook::decode_datagram(&data[..data.len().min(hook::MAX_DATAGRAM)], 0, &roots);
    let text = String::from_utf8_lossy(data).into_owned();
    let args: Vec<String> = text.split('\0').take(6).map(str::to_string).collect();
    for kind in ["dnsmasq", "hotplug-dhcp", "hotplug-tftp", "isc", "other"] {
        let env = |name: &str| {
            text.split('\0')
                .find_map(|kv| kv.strip_prefix(name))
                .map(str::to_string)
        };
        if let Ok(Some(event)) = hook::from_invocation(kind, &args, &env) {
            let _ = hook::to_observation(event, 0, &roots);
        }
    }
});
