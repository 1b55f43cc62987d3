//! End-to-end test of the `journal` source against a real `systemd-journald`.
//!
//! field-evidence.md §4: "Syslog/logread sources trust the program tag: `logger -t
//! dnsmasq-dhcp …` by any local user forges leases. journald records the sender's `_COMM`,
//! `_UID`, `_PID`". This test proves that a `journal` source takes the lease a real dnsmasq
//! logs and turns away the same line forged by another user, under `policy = "auto"`, where
//! one believed lease is enough for an extension and a secret.
//!
//! The lab (`support/netns.rs`) holds a router and a phone namespace. In the router
//! namespace a private `systemd-journald` runs in its own mount namespace: tmpfs over
//! `/run/systemd/journal`, `/run/log` and `/var/log/journal`, and a private `/dev` whose `log`
//! links to journald's `dev-log` socket; the host's journal and `/dev` are never touched.
//! dnsmasq (as user `dnsmasq`, logging to syslog with `--log-dhcp`), the daemon (and so its
//! `journalctl`), `logger` and `journalctl` for the assertions enter that mount namespace
//! with `nsenter`. The daemon has two `journal` sources, both with `users = ["dnsmasq"]`:
//! one with the default command (journalctl keeps only `_COMM=dnsmasq`…) and one whose
//! `journalctl` matches nothing, so that the daemon's own `_COMM` check sees every entry.
//!
//! Steps: (1) a copy of `logger` named `dnsmasq`, run as uid 65534, logs `DHCPACK(eth0) …
//! 00:1b:54:aa:bb:cd SEP001B54AABBCD` (`_COMM=dnsmasq`, `_UID=65534`) until both sources
//! report it skipped (which also shows both `journalctl`s follow); (2) `logger -t
//! dnsmasq-dhcp` as uid 65534 forges `00:1b:54:aa:bb:cc` (`_COMM=logger`): the unfiltered
//! source reports it skipped; (3) the phone (MAC `00:1b:54:12:34:56`, Cisco OUI, hostname
//! `SEP001B54123456`, vendor class CP-7941G) gets a real lease from dnsmasq. Then: the phone
//! is provisioned (extension, `SEP001B54123456.cnf.xml`: the model came from the logged
//! vendor class), journald holds both forgeries with the sender fields above, and neither
//! forged MAC is in the state or has a file.
//!
//! Root is required (namespaces, mounts, setpriv); without it, or without journald, dnsmasq,
//! udhcpc, tftp, logger, setpriv, nsenter, unshare or the `dnsmasq` user, the test is skipped
//! with the reason, and with `CI=true` it fails instead. Takes about 5 s (udhcpc's discover
//! retries are most of it). Run with `cargo test --test e2e_journal -- --nocapture`.

mod support;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::checks::{phone_status, text_of};
use support::netns::{
    file_len, find_program, read_from, skip_or_fail, wait_until, Lab, Phone, ProcessId,
    READY_TIMEOUT,
};

/// Programs this test needs besides `ip`.
const PROGRAMS: &[&str] = &[
    "dnsmasq",
    "udhcpc",
    "tftp",
    "journalctl",
    "logger",
    "setpriv",
    "nsenter",
    "unshare",
];
/// Debian's journald.
const JOURNALD: &str = "/lib/systemd/systemd-journald";
/// The phone: a Cisco OUI (00:1b:54), booting as a 7941 does.
const PHONE: Phone = Phone {
    mac: "00:1b:54:12:34:56",
    vendor_class: "Cisco Systems, Inc. IP Phone CP-7941G",
    hostname: "SEP001B54123456",
};
const MAC: &str = "001B54123456";
/// Forged by a copy of `logger` named `dnsmasq`, and by `logger -t dnsmasq-dhcp`.
const RENAMED_FORGERY: (&str, &str) = ("00:1b:54:aa:bb:cd", "SEP001B54AABBCD");
const LOGGER_FORGERY: (&str, &str) = ("00:1b:54:aa:bb:cc", "SEP001B54AABBCC");
/// The uid of the forger (`nobody`).
const FORGER_UID: &str = "65534";
/// What the daemon logs for each entry it turns away.
const SKIPPED: &str = "journal line from another sender skipped";
/// The command of the second source: every entry, no match.
const UNFILTERED: &str = "journalctl --follow --lines=0 --output=json";

#[test]
fn journal_source_accepts_only_the_configured_sender() {
    let test = "journal_source_accepts_only_the_configured_sender";
    if !Path::new(JOURNALD).is_file() {
        skip_or_fail(test, &format!("no {JOURNALD} (install systemd)"));
        return;
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    if !passwd.lines().any(|line| line.starts_with("dnsmasq:")) {
        skip_or_fail(
            test,
            "no user dnsmasq in /etc/passwd (install Debian's dnsmasq package)",
        );
        return;
    }
    let Some(mut lab) = Lab::start_as(test, PROGRAMS, PHONE) else {
        return;
    };
    let started = Instant::now();
    let journald = start_journald(&mut lab);
    let jpid = lab.pid(journald);

    let dnsmasq = dnsmasq_argv(&lab);
    let dnsmasq = lab.spawn_in_router(
        &in_journal_ns(jpid, &dnsmasq),
        &[],
        &lab.path("dnsmasq.log"),
    );
    wait_until(
        "dnsmasq logged its TFTP root to the journal",
        READY_TIMEOUT,
        || journal(&lab, jpid).contains("TFTP root is"),
    );

    let config = write_config(&lab);
    let daemon_log = lab.path("daemon.log");
    let daemon_argv: Vec<OsString> = vec![
        support::netns::daemon_binary().into(),
        "run".into(),
        "-c".into(),
        config.clone().into_os_string(),
    ];
    let daemon = lab.spawn_in_router(
        &in_journal_ns(jpid, &daemon_argv),
        &[("RUST_LOG", "debug")],
        &daemon_log,
    );
    lab.wait_for_text(daemon, &daemon_log, 0, "daemon ready", READY_TIMEOUT);

    // (1) The renamed logger, until both sources have turned it away: then both journalctls
    // follow, and the genuine lease below cannot be missed.
    let renamed = lab.path("dnsmasq");
    fs::copy(find_program("logger").unwrap(), &renamed).expect("copy logger");
    let forge = |lab: &Lab, program: &Path, (mac, hostname): (&str, &str)| {
        let k = lab.k();
        let line = format!("DHCPACK(eth0) 198.18.{k}.51 {mac} {hostname}");
        let argv: Vec<OsString> = vec![
            find_program("setpriv").unwrap().into(),
            format!("--reuid={FORGER_UID}").into(),
            format!("--regid={FORGER_UID}").into(),
            "--clear-groups".into(),
            program.into(),
            "-t".into(),
            "dnsmasq-dhcp".into(),
            line.into(),
        ];
        lab.run_in_router(&in_journal_ns(jpid, &argv), READY_TIMEOUT)
            .assert_success();
    };
    let skipped = |lab: &Lab, comm: &str, unfiltered: bool| {
        read_from(&lab.path("daemon.log"), 0).lines().any(|line| {
            line.contains(SKIPPED)
                && line.contains(&format!("comm=\"{comm}\""))
                && line.contains(&format!("uid={FORGER_UID}"))
                // Only the first source's label names its matches.
                && line.contains("_COMM=dnsmasq") != unfiltered
        })
    };
    wait_until(
        "both sources skipped the renamed logger",
        READY_TIMEOUT,
        || {
            forge(&lab, &renamed, RENAMED_FORGERY);
            std::thread::sleep(Duration::from_millis(200));
            skipped(&lab, "dnsmasq", false) && skipped(&lab, "dnsmasq", true)
        },
    );
    // (2) Plain logger: journalctl's own match drops it for the first source; the second
    // source's check turns it away.
    // Sent again until seen: journald reads `_COMM` from /proc after the datagram arrives,
    // and a sender that already exited leaves it out (a loaded machine shows this).
    let logger = find_program("logger").unwrap();
    wait_until(
        "the unfiltered source skipped logger",
        READY_TIMEOUT,
        || {
            forge(&lab, &logger, LOGGER_FORGERY);
            std::thread::sleep(Duration::from_millis(200));
            skipped(&lab, "logger", true)
        },
    );

    // (3) The genuine lease from the real dnsmasq.
    let from = file_len(&daemon_log);
    lab.run_udhcpc().assert_success();
    lab.wait_for_text(
        daemon,
        &daemon_log,
        from,
        "phone provisioned",
        READY_TIMEOUT,
    );
    let sep = lab.tftp_root().join("SEP001B54123456.cnf.xml");
    wait_until("the phone's config is written", READY_TIMEOUT, || {
        sep.exists()
    });
    let got = lab.tftp_get("SEP001B54123456.cnf.xml");
    assert!(got.ok(), "the phone fetches its config: {got}");
    // dnsmasq's `sent` line of that transfer comes back through the journal too.
    let sent = "file: \"SEP001B54123456.cnf.xml\", outcome: Sent";
    lab.wait_for_text(daemon, &daemon_log, from, sent, READY_TIMEOUT);
    lab.stop(daemon);

    // The forgeries reached journald with the sender fields the source checks.
    let entries = journal(&lab, jpid);
    for (comm, (mac, _)) in [("dnsmasq", RENAMED_FORGERY), ("logger", LOGGER_FORGERY)] {
        let entry = entries
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|entry| entry["MESSAGE"].as_str().is_some_and(|m| m.contains(mac)))
            .unwrap_or_else(|| panic!("no journal entry for {mac}:\n{entries}"));
        assert_eq!(
            (text_of(&entry["_COMM"]), text_of(&entry["_UID"])),
            (comm.to_string(), FORGER_UID.to_string()),
            "{entry}"
        );
    }
    let genuine = entries
        .lines()
        .find(|line| line.contains(&format!("{} {}", PHONE.mac, PHONE.hostname)))
        .unwrap_or_else(|| panic!("no DHCPACK of the phone in the journal:\n{entries}"));
    let uid = fs::read_to_string(format!("/proc/{}/status", lab.pid(dnsmasq))).unwrap();
    assert!(genuine.contains("\"_COMM\":\"dnsmasq\""), "{genuine}");
    assert!(
        !genuine.contains(&format!("\"_UID\":\"{FORGER_UID}\"")),
        "dnsmasq runs as its own user: {genuine}\n{uid}"
    );

    let status = lab.daemon_status(&config);
    let phone = phone_status(&status, MAC);
    assert!(phone["extension"].is_string(), "{phone}");
    assert_eq!(text_of(&phone["model_name"]), "7941", "{phone}");
    for (mac, hostname) in [RENAMED_FORGERY, LOGGER_FORGERY] {
        let mac = mac.replace(':', "").to_uppercase();
        assert!(
            !status.to_string().contains(&mac),
            "forged {mac} is in the state: {status}"
        );
        assert!(!lab.tftp_root().join(format!("{hostname}.cnf.xml")).exists());
    }
    eprintln!("{test}: {:?}", started.elapsed());
}

/// Starts journald in the router namespace, in a new mount namespace of its own (see the
/// module docs), and waits until its sockets exist. Its pid names that mount namespace.
fn start_journald(lab: &mut Lab) -> ProcessId {
    let new_dev = lab.path("journal-dev");
    fs::create_dir_all(&new_dev).expect("create the mount point for /dev");
    let script = lab.path("journald.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             # journald of the e2e test. Runs under `unshare --mount` (private propagation):\n\
             # no mount below is visible outside this process and the ones that nsenter it.\n\
             set -e\n\
             for dir in /run/systemd/journal /run/log /var/log/journal; do\n\
             \x20 if [ -d $dir ]; then mount -t tmpfs -o mode=0755 autoprov-journal $dir; fi\n\
             done\n\
             # `ip netns exec` mounted a sysfs of the namespace, without the cgroup tree\n\
             # journald looks itself up in.\n\
             if ! [ -e /sys/fs/cgroup/cgroup.procs ]; then\n\
             \x20 mount -t cgroup2 autoprov-cgroup /sys/fs/cgroup\n\
             fi\n\
             mount -t tmpfs -o mode=0755,size=64k autoprov-dev '{dev}'\n\
             for device in null zero full random urandom; do\n\
             \x20 : > '{dev}'/$device\n\
             \x20 mount --bind /dev/$device '{dev}'/$device\n\
             done\n\
             ln -s /run/systemd/journal/dev-log '{dev}/log'\n\
             mount --move '{dev}' /dev\n\
             exec {JOURNALD}\n",
            dev = new_dev.display(),
        ),
    )
    .expect("write journald.sh");
    let argv: Vec<OsString> = vec![
        find_program("unshare").unwrap().into(),
        "--mount".into(),
        "/bin/sh".into(),
        script.into_os_string(),
    ];
    let log = lab.path("journald.log");
    lab.note_log(&log);
    let id = lab.spawn_in_router(&argv, &[], &log);
    let pid = lab.pid(id);
    let socket = PathBuf::from(format!("/proc/{pid}/root/run/systemd/journal/dev-log"));
    wait_until("journald listens on dev-log", READY_TIMEOUT, || {
        socket.exists()
    });
    id
}

/// `argv` run in the mount namespace of journald (pid `jpid`).
fn in_journal_ns(jpid: u32, argv: &[OsString]) -> Vec<OsString> {
    let mut out: Vec<OsString> = vec![
        find_program("nsenter").unwrap().into(),
        format!("--mount=/proc/{jpid}/ns/mnt").into(),
        "--".into(),
    ];
    out.extend(argv.iter().cloned());
    out
}

/// Every entry of the lab's journal, `journalctl --output=json`.
fn journal(lab: &Lab, jpid: u32) -> String {
    let argv: Vec<OsString> = ["journalctl", "--output=json", "--no-pager"]
        .map(OsString::from)
        .to_vec();
    lab.run_in_router(&in_journal_ns(jpid, &argv), READY_TIMEOUT)
        .stdout
}

/// dnsmasq as Debian runs it (user `dnsmasq`, syslog), DHCP with option 150 and TFTP.
fn dnsmasq_argv(lab: &Lab) -> Vec<OsString> {
    let k = lab.k();
    [
        find_program("dnsmasq").unwrap().display().to_string(),
        "--conf-file=/dev/null".into(),
        "--keep-in-foreground".into(),
        "--port=0".into(),
        format!("--interface={}", lab.router_if()),
        "--bind-interfaces".into(),
        "--user=dnsmasq".into(),
        "--log-dhcp".into(),
        format!("--pid-file={}", lab.path("dnsmasq.pid").display()),
        "--enable-tftp".into(),
        format!("--tftp-root={}", lab.tftp_root().display()),
        format!("--dhcp-range=198.18.{k}.100,198.18.{k}.199,255.255.255.0,1h"),
        format!("--dhcp-leasefile={}", lab.path("dnsmasq.leases").display()),
        format!("--dhcp-option=150,{}", lab.router_ip()),
    ]
    .map(OsString::from)
    .to_vec()
}

/// Only the two journal sources; `policy = "auto"`: a believed lease is enough.
fn write_config(lab: &Lab) -> PathBuf {
    let config = format!(
        "tftp_root = \"{tftp_root}\"\n\
         state_dir = \"{state_dir}\"\n\
         \n\
         [pbx]\n\
         host = \"{pbx}\"\n\
         \n\
         [provision]\n\
         policy = \"auto\"\n\
         extensions = \"2000-2099\"\n\
         \n\
         [[source]]\n\
         kind = \"journal\"\n\
         users = [\"dnsmasq\"]\n\
         \n\
         [[source]]\n\
         kind = \"journal\"\n\
         users = [\"dnsmasq\"]\n\
         command = [{unfiltered}]\n",
        tftp_root = lab.tftp_root().display(),
        state_dir = lab.path("state").display(),
        pbx = lab.ip(10),
        unfiltered = UNFILTERED
            .split(' ')
            .map(|word| format!("\"{word}\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let path = lab.path("config.toml");
    fs::write(&path, config).expect("write config.toml");
    path
}
