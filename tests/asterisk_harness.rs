//! Proves the Asterisk harness of `support/asterisk.rs` before the end-to-end tests rely on
//! it: a real Asterisk 22 from the cached sid chroot, in the lab's router namespace, on a
//! throw-away overlay in a private mount namespace.
//!
//! What `asterisk_starts_answers_and_leaves_nothing_behind` proves:
//! - Asterisk boots fully with SIP on UDP and TCP `198.18.<k>.1:5060` and AMI on 127.0.0.1;
//!   `core show version` says Asterisk 22 and `pjsip show transports` lists both transports.
//! - The spawned pid is Asterisk itself, running as uid and gid 64990 with no other group,
//!   never as root.
//! - `asterisk -rx` works through [`Asterisk::rx`] and through the host script of
//!   [`Asterisk::rx_script`] (what the daemon's `reload_command` will run), and AMI answers
//!   `Action: Ping` with `Ping: Pong`.
//! - A voicemail message dropped on the host into [`Asterisk::mailbox_dir`] is counted by
//!   Asterisk (AMI `MailboxCount`).
//! - A PJSIP include written into [`Asterisk::etc_dir`] as the daemon writes it (a new file,
//!   `root:asterisk 0640`) is what Asterisk reads: after `module reload res_pjsip.so`,
//!   `pjsip show endpoints` lists its endpoint.
//! - The overlay and bind mounts are visible only in Asterisk's mount namespace, never on the
//!   host, and once the lab is dropped Asterisk is gone and no mount namespace on the machine
//!   still mentions the lab directory.
//!
//! Prerequisites (missing ones skip the test, or fail it with `CI=true`): root, `ip`,
//! `unshare`, `mount`, `chroot`, `nsenter`, overlayfs, and the chroot built by
//! `scripts/asterisk-chroot.sh` (`$ASTERISK_CHROOT`, default
//! `/var/cache/cisco-autoprov-test/asterisk-sid`). Run with
//! `cargo test --test asterisk_harness -- --nocapture` as root.

mod support;

use std::fs;
use std::os::unix::fs::chown;
use std::path::Path;

use support::asterisk::{
    asterisk_chroot, disk_usage, mode_of, mounts_mentioning, start_lab, Asterisk, AsteriskConfig,
    ASTERISK_COMMAND_TIMEOUT, ASTERISK_UID,
};
use support::netns::{set_mode, wait_until, Ns, POLL_STEP};

/// The PJSIP include, named as the daemon's default.
const INCLUDE: &str = "pjsip.cisco-autoprov.conf";
/// The endpoint the include adds.
const ENDPOINT: &str = "autoprov-harness-phone";
/// Voicemail context of the test mailbox.
const VM_CONTEXT: &str = "default";
/// The test mailbox.
const VM_MAILBOX: &str = "100";

#[test]
fn asterisk_starts_answers_and_leaves_nothing_behind() {
    let test = "asterisk_starts_answers_and_leaves_nothing_behind";
    let Some(mut lab) = start_lab(test, &[]) else {
        return;
    };
    let chroot = asterisk_chroot().expect("start_lab checked the chroot");
    let marker = fs::read_to_string(chroot.join(".cisco-autoprov-complete")).unwrap_or_default();
    eprintln!(
        "asterisk chroot {}: {} MB on disk ({})",
        chroot.display(),
        disk_usage(&chroot) / 1_000_000,
        marker.trim()
    );
    let lab_dir = lab.dir().to_string_lossy().into_owned();

    let mut config = AsteriskConfig::new(lab.router_ip());
    config.pjsip_extra = format!("#include {INCLUDE}\n");
    config.voicemail_conf = format!(
        "[general]\nformat=wav\npollmailboxes=yes\npollfreq=1\n\n\
         [{VM_CONTEXT}]\n{VM_MAILBOX} => 1234,Harness Phone\n"
    );
    // The include must exist before start: a missing `#include` invalidates all of
    // pjsip.conf. Empty at first, as the daemon's is before any phone.
    let etc = Asterisk::etc_dir_in(&lab);
    fs::create_dir_all(&etc).expect("create the etc dir");
    write_like_the_daemon(&etc.join(INCLUDE), "; no phone yet\n");

    let asterisk = Asterisk::start(&mut lab, &config);
    eprintln!(
        "asterisk started in {:?} (pid {})",
        asterisk.startup_time(),
        asterisk.pid()
    );
    assert_eq!(asterisk.etc_dir(), etc);

    // The spawned pid is Asterisk itself, as user asterisk with no other group.
    let pid = asterisk.pid();
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).expect("read comm");
    assert_eq!(comm.trim(), "asterisk", "the spawned pid is not asterisk");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let id = ASTERISK_UID.to_string();
    for (field, expected) in [
        ("Uid:", vec![id.as_str(); 4]),
        ("Gid:", vec![id.as_str(); 4]),
        ("Groups:", vec![id.as_str()]),
    ] {
        let line = status
            .lines()
            .find(|line| line.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
        let values: Vec<&str> = line.split_whitespace().skip(1).collect();
        assert_eq!(values, expected, "/proc/{pid}/status: {line}");
    }

    // The overlay is mounted in Asterisk's mount namespace only.
    let own = fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("read mountinfo");
    assert!(
        own.lines()
            .any(|line| line.contains(" overlay ") && line.contains(&lab_dir)),
        "no overlay of the lab in asterisk's mount namespace:\n{own}"
    );
    let host = fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    assert!(
        !host.contains(&lab_dir),
        "a mount of the lab is visible on the host:\n{host}"
    );

    let version = asterisk.rx(&lab, "core show version");
    assert!(
        version.starts_with("Asterisk 22."),
        "core show version: {version}"
    );
    eprintln!("{}", version.trim());

    let transports = asterisk.rx(&lab, "pjsip show transports");
    for (name, protocol) in [("transport-udp", "udp"), ("transport-tcp", "tcp")] {
        let bound = format!("{}:5060", lab.router_ip());
        assert!(
            transports.lines().any(|line| line.contains(name)
                && line.contains(protocol)
                && line.contains(&bound)),
            "no {name} ({protocol}, {bound}) in pjsip show transports:\n{transports}"
        );
    }

    let pong = asterisk.ami(&lab, &[("Action", "Ping")]);
    assert!(
        pong.contains("Response: Success") && pong.contains("Ping: Pong"),
        "ami ping: {pong:?}"
    );

    // The include as the daemon writes it: a new file, root:asterisk 0640, then a reload
    // through the host script (the daemon's reload_command).
    let endpoints = asterisk.rx(&lab, "pjsip show endpoints");
    assert!(
        !endpoints.contains(ENDPOINT),
        "endpoint before the include has it:\n{endpoints}"
    );
    write_like_the_daemon(&etc.join(INCLUDE), &include_text());
    let include = etc.join(INCLUDE);
    assert_eq!(mode_of(&include), 0o640);
    let script = asterisk.rx_script();
    assert_eq!(mode_of(&script), 0o755);
    let script_arg = script.to_string_lossy().into_owned();
    let reload = lab.run_in(
        Ns::Router,
        &[script_arg.as_str(), "module reload res_pjsip.so"],
        ASTERISK_COMMAND_TIMEOUT,
    );
    reload.assert_success();
    assert!(
        reload.stdout.contains("reloaded"),
        "module reload res_pjsip.so: {reload}"
    );
    // res_pjsip reloads synchronously, but poll anyway: the endpoint is the proof.
    let mut endpoints = String::new();
    wait_until(
        "pjsip show endpoints lists the include's endpoint",
        ASTERISK_COMMAND_TIMEOUT,
        || {
            endpoints = asterisk.rx(&lab, "pjsip show endpoints");
            endpoints.contains(ENDPOINT)
        },
    );
    // A message dropped into the mailbox's INBOX on the host is what Asterisk counts.
    let count = |asterisk: &Asterisk| {
        asterisk.ami(
            &lab,
            &[
                ("Action", "MailboxCount"),
                ("Mailbox", &format!("{VM_MAILBOX}@{VM_CONTEXT}")),
            ],
        )
    };
    let before = count(&asterisk);
    assert!(
        before.contains("NewMessages: 0"),
        "mailbox count: {before:?}"
    );
    asterisk.leave_voicemail(VM_CONTEXT, VM_MAILBOX);
    let after = count(&asterisk);
    assert!(after.contains("NewMessages: 1"), "mailbox count: {after:?}");

    let log = fs::read_to_string(asterisk.log_path()).unwrap_or_default();
    assert!(
        !log.contains("Permission denied"),
        "asterisk could not read a file:\n{log}"
    );
    report_log_problems(&log);
    eprintln!(
        "overlay upper dir after the test: {} KB",
        disk_usage(&asterisk.overlay_upper_dir()) / 1000
    );

    // Dropping the lab stops Asterisk; its mount namespace, and every mount in it, go with it.
    let stopping = std::time::Instant::now();
    drop(lab);
    eprintln!("lab with asterisk torn down in {:?}", stopping.elapsed());
    wait_until("asterisk's pid is gone", POLL_STEP * 20, || {
        !Path::new(&format!("/proc/{pid}")).exists()
            || fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() != "asterisk")
    });
    let leftovers = mounts_mentioning(&lab_dir);
    assert!(
        leftovers.is_empty(),
        "mounts of the lab outlived it:\n{}",
        leftovers.join("\n")
    );
}

/// Writes `path` as the daemon does: a new file (temp name, then rename), `root:asterisk
/// 0640`.
fn write_like_the_daemon(path: &Path, text: &str) {
    let temp = path.with_extension("tmp");
    fs::write(&temp, text).unwrap_or_else(|e| panic!("write {}: {e}", temp.display()));
    chown(&temp, Some(0), Some(ASTERISK_UID))
        .unwrap_or_else(|e| panic!("chown {}: {e}", temp.display()));
    set_mode(&temp, 0o640);
    fs::rename(&temp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

/// One endpoint with its auth and AOR, as a provisioned phone would have.
fn include_text() -> String {
    format!(
        "[{ENDPOINT}]\n\
         type = endpoint\n\
         context = default\n\
         disallow = all\n\
         allow = ulaw\n\
         auth = {ENDPOINT}\n\
         aors = {ENDPOINT}\n\
         \n\
         [{ENDPOINT}]\n\
         type = auth\n\
         auth_type = userpass\n\
         username = {ENDPOINT}\n\
         password = harness-secret\n\
         \n\
         [{ENDPOINT}]\n\
         type = aor\n\
         max_contacts = 1\n"
    )
}

/// Prints the warnings and errors of Asterisk's log, for whoever tunes modules.conf.
fn report_log_problems(log: &str) {
    let problems: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("WARNING[") || line.contains("ERROR["))
        .collect();
    eprintln!(
        "asterisk log: {} lines, {} warnings/errors",
        log.lines().count(),
        problems.len()
    );
    for line in problems {
        eprintln!("  {line}");
    }
}
