//! End-to-end test of a stuck-phone diagnosis against real servers: dnsmasq serving DHCP and
//! TFTP *without* option 150 (seeds 002 and 004: the phone gets an address but is never told
//! the TFTP server, so it never asks for a file), the simulated 7941 (busybox udhcpc with the
//! 7941's vendor class and hostname) that gets its lease and stops there, and
//! `cisco-autoprov run` watching dnsmasq's lease file and log with `no_tftp_after_s = 2`.
//!
//! What it proves: the daemon's deadline timer (armed only while a leased phone waits for its
//! first TFTP request) fires on time: about 3 s after the lease (never before 2 s), `status
//! --json` shows the phone `stuck` with `no-tftp-after-lease`, whose message names the snippet
//! of the configured DHCP server (`cisco-autoprov snippet dnsmasq`); it is reported once in the
//! log; and `explain` gives the fix.
//!
//! The rules (own namespaces, 198.18.0.0/15 only, cleanup on drop, polling, skips unless
//! `CI=true`) are explained in `support/netns.rs`. Run with
//! `cargo test --test e2e_diagnose -- --nocapture` as root.

mod support;

use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::checks::{in_dhcp_range, phone_status};
use support::netns::{daemon_binary, poll_until, DnsmasqMode, Lab, POLL_STEP};

/// Programs the test needs besides `ip`.
const PROGRAMS: &[&str] = &["dnsmasq", "udhcpc"];
/// The MAC as the daemon reports it.
const MAC: &str = "001B0C18BDC1";
/// The threshold the daemon runs with.
const NO_TFTP_AFTER: Duration = Duration::from_secs(2);

#[test]
fn lease_without_option_150_is_diagnosed() {
    let test = "lease_without_option_150_is_diagnosed";
    let Some(mut lab) = Lab::start(test, PROGRAMS) else {
        return;
    };
    let started = Instant::now();
    lab.start_dnsmasq(DnsmasqMode::DhcpAndTftpWithoutOptions);
    let config = write_config(&lab);
    let daemon = lab.start_daemon(&config);

    let dhcp = lab.run_udhcpc();
    dhcp.assert_success();
    let leased_at = dhcp.exited_at;
    let env = lab.udhcpc_bound_env();
    let leased = env.get("ip").cloned().unwrap_or_default();
    assert!(
        in_dhcp_range(&lab, &leased),
        "leased {leased:?}, env {env:?}"
    );
    assert!(
        !env.contains_key("opt150") && !env.contains_key("tftp"),
        "this dnsmasq must not send option 150/66: {env:?}"
    );

    // The daemon knows the phone from the lease file, and nothing is wrong yet.
    let mut known = None;
    poll_until(Duration::from_secs(2), POLL_STEP, || {
        let status = lab.daemon_status(&config);
        let found = status
            .as_array()
            .is_some_and(|phones| phones.iter().any(|phone| phone["mac"] == MAC));
        if found {
            known = Some(phone_status(&status, MAC).clone());
        }
        found
    });
    let early = known.unwrap_or_else(|| panic!("the daemon never listed {MAC}"));
    if leased_at.elapsed() < NO_TFTP_AFTER {
        assert_eq!(early["state"], "leased", "{early}");
        assert_eq!(early["diagnoses"], serde_json::json!([]), "{early}");
    }

    // Within about 3 s of the lease: stuck, with the reason and the snippet to use.
    let mut diagnosed = None;
    poll_until(Duration::from_secs(4), POLL_STEP, || {
        let status = lab.daemon_status(&config);
        let phone = phone_status(&status, MAC).clone();
        let done = phone["diagnoses"][0]["code"] == "no-tftp-after-lease";
        if done {
            diagnosed = Some(phone);
        }
        done
    });
    let after = leased_at.elapsed();
    let phone = diagnosed.unwrap_or_else(|| {
        panic!(
            "no no-tftp-after-lease {after:?} after the lease: {}",
            lab.daemon_status(&config)
        )
    });
    // Never before the threshold after the daemon read the lease (dnsmasq writes the lease
    // file before udhcpc, which runs its script, exits); times are whole seconds, so up to a
    // second after it.
    assert!(
        after >= NO_TFTP_AFTER - Duration::from_millis(500) && after < Duration::from_millis(3500),
        "diagnosed {after:?} after the lease (no_tftp_after_s = {NO_TFTP_AFTER:?})"
    );
    assert_eq!(phone["state"], "stuck", "{phone}");
    assert_eq!(phone["boot_state"], "leased", "{phone}");
    assert_eq!(phone["stuck_reason"], "no-tftp-after-lease", "{phone}");
    let message = phone["diagnoses"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("`cisco-autoprov snippet dnsmasq`") && message.contains(&leased),
        "{message}"
    );

    // Reported once, not at every wake-up; and no timer runs once it is reported.
    std::thread::sleep(Duration::from_millis(1500));
    let log = fs::read_to_string(lab.path("daemon.log")).unwrap_or_default();
    assert_eq!(
        log.matches("code=no-tftp-after-lease").count(),
        1,
        "daemon.log:\n{log}"
    );

    let argv: [&OsStr; 5] = [
        daemon_binary().as_ref(),
        "explain".as_ref(),
        MAC.as_ref(),
        "-c".as_ref(),
        config.as_os_str(),
    ];
    let explain = lab.run_in_router(&argv, Duration::from_secs(5));
    explain.assert_success();
    for needle in [
        "state: stuck (boot state: leased)",
        "DHCP lease ",
        "no-tftp-after-lease",
        "what to do:",
        "cisco-autoprov snippet dnsmasq",
    ] {
        assert!(
            explain.stdout.contains(needle),
            "{needle:?} not in {explain}"
        );
    }

    let exit = lab.stop(daemon);
    assert!(exit.success(), "daemon exit on SIGTERM: {exit}");
    eprintln!(
        "{test}: {:?} (diagnosed {after:?} after the lease)",
        started.elapsed()
    );
}

/// `config.toml` for the daemon: dnsmasq's lease file and log, and a 2 s threshold.
fn write_config(lab: &Lab) -> PathBuf {
    let config = format!(
        "tftp_root = \"{tftp_root}\"\n\
         state_dir = \"{state_dir}\"\n\
         \n\
         [pbx]\n\
         host = \"{pbx}\"\n\
         freepbx_csv = \"{csv}\"\n\
         \n\
         [diagnostics]\n\
         no_tftp_after_s = {seconds}\n\
         \n\
         [[source]]\n\
         kind = \"dnsmasq-leases\"\n\
         path = \"{leases}\"\n\
         \n\
         [[source]]\n\
         kind = \"log\"\n\
         path = \"{log}\"\n",
        tftp_root = lab.tftp_root().display(),
        state_dir = lab.path("state").display(),
        pbx = lab.ip(10),
        csv = lab.path("freepbx.csv").display(),
        seconds = NO_TFTP_AFTER.as_secs(),
        leases = lab.path("dnsmasq.leases").display(),
        log = lab.path("dnsmasq.log").display(),
    );
    let path = lab.path("config.toml");
    fs::write(&path, config).expect("write config.toml");
    path
}
