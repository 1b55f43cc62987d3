//! The DHCP snippets (`cisco_autoprov::snippets`) checked by the real servers, and the
//! packaging in `contrib/` checked by the real tools.
//!
//! - Each snippet is parsed by its server's own checker, each run in a fresh network
//!   namespace (`unshare -n`): `dnsmasq --test`, `dhcpd -t`, `kea-dhcp4 -t`. Each test also
//!   shows that its checker rejects a broken file, so a pass means something.
//! - dnsmasq in the lab (`support/netns.rs`): the drop-in is dnsmasq's only source of option
//!   150, and the phone's DHCP reply carries it (busybox udhcpc's environment shows
//!   `opt150`, `tftp`); clients that are not phones get nothing; the OUI list and the
//!   `0.0.0.0` placeholder work; the reservation and the `dhcp-script` line work.
//! - isc dhcpd in the lab: the vendor class match (`~=`) really matches a phone at run time.
//! - uci: no uci implementation is packaged for Debian, so the batch script runs against a
//!   strict model of uci (quoting, comments, `@type[n]`, `set`/`add_list`/`delete`/`commit`
//!   as uci's cli.c and file.c do them) on a copy of OpenWrt's stock `/etc/config/dhcp`,
//!   twice: the second run changes nothing. The result, turned into dnsmasq options as
//!   OpenWrt's dnsmasq init does, passes `dnsmasq --test`.
//! - contrib: shellcheck on every shell file, busybox ash's `sh -n` on the OpenWrt ones, the
//!   init script's TOML (run under busybox with stubbed uci/procd functions) accepted by the
//!   config parser, `systemd-analyze verify` on the unit, the examples current.
//!
//! Without root or a program, a test prints `skipping <test>: <reason>`; with `CI=true` it
//! fails instead.

mod support;

use std::collections::HashMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cisco_autoprov::mac::Mac;
use cisco_autoprov::snippets::{self, SnippetInput, DEFAULT_DNSMASQ_SCRIPT};
use support::netns::{
    find_program, missing_prerequisite, skip_or_fail, udhcpc_command, wait_until, DnsmasqMode, Lab,
    CLIENT_TIMEOUT,
};

/// Where the repository's files are.
fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The 1,044 Cisco OUIs of `data/cisco-oui.txt`.
fn cisco_ouis() -> Vec<u32> {
    let text = fs::read_to_string(repo("data/cisco-oui.txt")).expect("read data/cisco-oui.txt");
    let ouis: Vec<u32> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| u32::from_str_radix(line.trim(), 16).expect("an OUI line"))
        .collect();
    assert_eq!(ouis.len(), 1044);
    ouis
}

fn mac(text: &str) -> Mac {
    text.parse().expect("a MAC")
}

/// A snippet input with everything in it: both reservations, the dhcp-script, all OUIs.
fn full_input<'a>(reservations: &'a [(Mac, Ipv4Addr)], ouis: &'a [u32]) -> SnippetInput<'a> {
    SnippetInput {
        config_path: Some("/etc/cisco-autoprov/lab.toml"),
        dnsmasq_script: Some(DEFAULT_DNSMASQ_SCRIPT),
        reservations,
        cisco_ouis: ouis,
        ..SnippetInput::new(Ipv4Addr::new(192, 0, 2, 1))
    }
}

/// The smallest input: the `0.0.0.0` placeholder, nothing optional.
fn bare_input() -> SnippetInput<'static> {
    SnippetInput::new(Ipv4Addr::UNSPECIFIED)
}

fn reservations() -> Vec<(Mac, Ipv4Addr)> {
    vec![
        (mac("00:1b:0c:18:bd:c1"), Ipv4Addr::new(192, 0, 2, 151)),
        (mac("00:1b:0c:18:bd:c2"), Ipv4Addr::new(192, 0, 2, 152)),
        // Taken address: left out, or dnsmasq would refuse to start.
        (mac("00:1b:0c:18:bd:c3"), Ipv4Addr::new(192, 0, 2, 152)),
    ]
}

/// Whether `programs` (and root, for namespaces) are there; prints the skip otherwise, or
/// panics when `CI=true`.
#[track_caller]
fn have(test: &str, programs: &[&str]) -> bool {
    match missing_prerequisite(programs) {
        Some(reason) => {
            skip_or_fail(test, &reason);
            false
        }
        None => true,
    }
}

/// Like [`have`] for tools that need no root (shellcheck, busybox, systemd-analyze).
#[track_caller]
fn have_tools(test: &str, programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|program| find_program(program).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip_or_fail(test, &format!("missing program(s): {}", missing.join(", ")));
    false
}

/// Runs `program args…` inside a fresh network namespace (`unshare -n`), with a clean
/// environment plus `env`, and returns its output. The checkers only parse and exit; the
/// namespace makes sure that nothing they might open touches the host's network.
fn run_isolated(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let unshare = find_program("unshare").expect("unshare was checked before");
    let binary = find_program(program).expect("the checker was checked before");
    Command::new(unshare)
        .arg("-n")
        .arg(&binary)
        .args(args)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run unshare -n {program}: {e}"))
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

// ---------------------------------------------------------------------------------------
// dnsmasq --test

/// `dnsmasq --test` on a main config whose `conf-dir` holds `drop_in`, plus `main_extra`.
fn dnsmasq_test(drop_in: &str, main_extra: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf_dir = dir.path().join("dnsmasq.d");
    fs::create_dir(&conf_dir).expect("create conf-dir");
    fs::write(conf_dir.join("cisco-autoprov.conf"), drop_in).expect("write the drop-in");
    let main = dir.path().join("dnsmasq.conf");
    fs::write(
        &main,
        format!(
            "port=0\n\
             dhcp-range=192.0.2.100,192.0.2.199,255.255.255.0,1h\n\
             conf-dir={},*.conf\n\
             {main_extra}",
            conf_dir.display()
        ),
    )
    .expect("write dnsmasq.conf");
    let conf_arg = format!("--conf-file={}", main.display());
    run_isolated("dnsmasq", &["--test", &conf_arg], &[])
}

#[test]
fn dnsmasq_accepts_the_drop_in() {
    let test = "dnsmasq_accepts_the_drop_in";
    if !have(test, &["unshare", "dnsmasq"]) {
        return;
    }
    let ouis = cisco_ouis();
    let reservations = reservations();
    for (what, input) in [
        ("everything", full_input(&reservations, &ouis)),
        ("bare", bare_input()),
    ] {
        let text = snippets::dnsmasq(&input);
        let output = dnsmasq_test(&text, "");
        assert!(
            output.status.success()
                && String::from_utf8_lossy(&output.stderr).contains("syntax check OK"),
            "{what}: {}\n{text}",
            describe(&output)
        );
    }
    // The checker is real: a second dhcp-script is refused (why the line is optional).
    let text = snippets::dnsmasq(&full_input(&reservations, &ouis));
    let output = dnsmasq_test(&text, "dhcp-script=/bin/true\n");
    assert!(
        !output.status.success()
            && String::from_utf8_lossy(&output.stderr).contains("illegal repeated keyword"),
        "{}",
        describe(&output)
    );
}

// ---------------------------------------------------------------------------------------
// dhcpd -t

/// `dhcpd -t` on a dhcpd.conf that declares a subnet and includes `include`, after
/// `before`.
fn dhcpd_test(include: &str, before: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let snippet = dir.path().join("cisco-autoprov.conf");
    fs::write(&snippet, include).expect("write the include");
    let conf = dir.path().join("dhcpd.conf");
    fs::write(
        &conf,
        format!(
            "{before}\
             authoritative;\n\
             subnet 192.0.2.0 netmask 255.255.255.0 {{\n\
             \x20 range 192.0.2.100 192.0.2.199;\n\
             }}\n\
             include \"{}\";\n",
            snippet.display()
        ),
    )
    .expect("write dhcpd.conf");
    let conf_arg = conf.display().to_string();
    run_isolated("dhcpd", &["-4", "-t", "-cf", &conf_arg], &[])
}

#[test]
fn dhcpd_accepts_the_include() {
    let test = "dhcpd_accepts_the_include";
    if !have(test, &["unshare", "dhcpd"]) {
        return;
    }
    let ouis = cisco_ouis();
    let reservations = reservations();
    let full = snippets::isc(&full_input(&reservations, &ouis));
    for (what, text, before) in [
        ("everything", full.clone(), ""),
        ("bare", snippets::isc(&bare_input()), ""),
        // The seeds' own definition of 150, under another name, before ours.
        (
            "after the seed's definition",
            full.clone(),
            "option voip-tftp-servers code 150 = ip-address;\n\
             option voip-tftp-servers 192.0.2.1;\n",
        ),
    ] {
        let output = dhcpd_test(&text, before);
        assert!(output.status.success(), "{what}: {}", describe(&output));
    }
    let broken = full.replace("~= \"IP Phone\"", "~= ");
    let output = dhcpd_test(&broken, "");
    assert!(!output.status.success(), "{}", describe(&output));
}

#[test]
fn isc_hooks_are_the_shipped_hooks() {
    // Without -c and with the default binary, the snippet's hooks are the statements of
    // contrib/isc-dhcp/cisco-autoprov-hooks.conf, comments aside.
    let statements = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    let shipped = statements(
        &fs::read_to_string(repo("contrib/isc-dhcp/cisco-autoprov-hooks.conf"))
            .expect("read the shipped hooks"),
    );
    let snippet = statements(&snippets::isc(&bare_input()));
    let start = snippet
        .iter()
        .position(|line| line == "on commit {")
        .expect("an on commit hook");
    assert_eq!(snippet[start..start + shipped.len()], shipped[..]);
}

// ---------------------------------------------------------------------------------------
// kea-dhcp4 -t

/// `kea-dhcp4 -t` on a config whose `Dhcp4` map has the fragment's members: pasted in, or
/// through `<?include?>` when `include` is set.
fn kea_test(fragment: &str, include: bool) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let fragment_path = dir.path().join("cisco-autoprov.json");
    fs::write(&fragment_path, fragment).expect("write the fragment");
    let members = if include {
        format!("<?include \"{}\"?>", fragment_path.display())
    } else {
        fragment.to_string()
    };
    let conf = dir.path().join("kea-dhcp4.conf");
    fs::write(
        &conf,
        format!(
            "{{\n\"Dhcp4\": {{\n{members},\n\
             \"interfaces-config\": {{ \"interfaces\": [] }},\n\
             \"lease-database\": {{ \"type\": \"memfile\", \"persist\": false }},\n\
             \"subnet4\": [ {{ \"id\": 1, \"subnet\": \"192.0.2.0/24\",\n\
             \x20 \"pools\": [ {{ \"pool\": \"192.0.2.100 - 192.0.2.199\" }} ] }} ]\n\
             }}\n}}\n"
        ),
    )
    .expect("write kea-dhcp4.conf");
    let state = dir.path().display().to_string();
    let conf_arg = conf.display().to_string();
    run_isolated(
        "kea-dhcp4",
        &["-t", &conf_arg],
        &[
            ("KEA_LOCKFILE_DIR", state.as_str()),
            ("KEA_PIDFILE_DIR", state.as_str()),
        ],
    )
}

#[test]
fn kea_accepts_the_fragment() {
    let test = "kea_accepts_the_fragment";
    if !have(test, &["unshare", "kea-dhcp4"]) {
        return;
    }
    let ouis = cisco_ouis();
    let reservations = reservations();
    let full = snippets::kea(&full_input(&reservations, &ouis));
    for (what, text, include) in [
        ("everything, pasted", full.clone(), false),
        ("everything, <?include?>", full.clone(), true),
        ("bare", snippets::kea(&bare_input()), true),
    ] {
        let output = kea_test(&text, include);
        assert!(output.status.success(), "{what}: {}", describe(&output));
    }
    // kea-dhcp4 -t compiles the class test: a broken one is refused.
    let broken = full.replacen("substring(pkt4.mac", "substrin(pkt4.mac", 1);
    let output = kea_test(&broken, true);
    assert!(!output.status.success(), "a broken class test passed -t");
}

// ---------------------------------------------------------------------------------------
// dnsmasq in the lab: the phone's DHCP reply

/// Runs busybox udhcpc in the lab's phone namespace with option 60 `vendor_class` (busybox's
/// own `udhcp <version>` when `None`), asking for options 150 and 66, and returns the
/// environment of its `bound` event.
fn dhcp_as(lab: &mut Lab, name: &str, vendor_class: Option<&str>) -> HashMap<String, String> {
    let env_log = lab.path(&format!("{name}-env.log"));
    let script = lab.path(&format!("{name}.sh"));
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             # udhcpc hook of tests/snippets.rs: record the bound event, touch nothing.\n\
             [ \"$1\" = bound ] && env | sort > '{}'\n\
             exit 0\n",
            env_log.display()
        ),
    )
    .expect("write the udhcpc script");
    support::netns::set_mode(&script, 0o755);
    lab.note_log(&env_log);
    let mut argv = udhcpc_command().expect("udhcpc was checked before");
    for arg in ["-f", "-q", "-n", "-t", "5", "-T", "1", "-i", lab.phone_if()] {
        argv.push(arg.into());
    }
    if let Some(vendor_class) = vendor_class {
        argv.push("-V".into());
        argv.push(vendor_class.into());
    }
    for arg in ["-O", "150", "-O", "66", "-s"] {
        argv.push(arg.into());
    }
    argv.push(script.into_os_string());
    let output = lab.run_in_phone(&argv, CLIENT_TIMEOUT);
    output.assert_success();
    fs::read_to_string(&env_log)
        .unwrap_or_else(|_| panic!("{name}: udhcpc never bound: {output}"))
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Starts the lab's dnsmasq with `drop_in` as its only extra config (a `--conf-dir`).
fn start_dnsmasq_with_drop_in(lab: &mut Lab, drop_in: &str, env: &[(&str, &str)]) {
    let conf_dir = lab.path("dnsmasq.d");
    fs::create_dir_all(&conf_dir).expect("create conf-dir");
    fs::write(conf_dir.join("cisco-autoprov.conf"), drop_in).expect("write the drop-in");
    lab.note_log(&conf_dir.join("cisco-autoprov.conf"));
    lab.start_dnsmasq_with(
        DnsmasqMode::DhcpAndTftpWithoutOptions,
        &[format!("--conf-dir={},*.conf", conf_dir.display())],
        env,
    );
}

/// Option 150 as udhcpc shows it: the address in hex, `c612kk01` for 198.18.k.1.
fn opt150(ip: Ipv4Addr) -> String {
    ip.octets()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn dnsmasq_drop_in_is_the_only_source_of_option_150() {
    let test = "dnsmasq_drop_in_is_the_only_source_of_option_150";
    let Some(mut lab) = Lab::start(test, &["dnsmasq", "udhcpc"]) else {
        return;
    };
    // The hook line runs contrib/dnsmasq/dhcp-script, which runs "cisco-autoprov": here a
    // script that records its arguments.
    let recorder = lab.path("recorder.sh");
    let recorded = lab.path("recorded.log");
    fs::write(
        &recorder,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n", recorded.display()),
    )
    .expect("write the recorder");
    support::netns::set_mode(&recorder, 0o755);
    lab.note_log(&recorded);
    let script = repo("contrib/dnsmasq/dhcp-script").display().to_string();
    let router = lab.router_ip();
    let reserved = lab.ip(150);
    let reservations = [(mac(lab.phone().mac), reserved)];
    let input = SnippetInput {
        dnsmasq_script: Some(&script),
        reservations: &reservations,
        ..SnippetInput::new(router)
    };
    let recorder_arg = recorder.display().to_string();
    let chain_arg = lab.path("no-chain").display().to_string();
    start_dnsmasq_with_drop_in(
        &mut lab,
        &snippets::dnsmasq(&input),
        &[
            ("CISCO_AUTOPROV", &recorder_arg),
            ("CISCO_AUTOPROV_CHAIN_FILE", &chain_arg),
        ],
    );

    // The lab's own client: the 7941's vendor class, hostname, options 150 and 66.
    lab.run_udhcpc().assert_success();
    let env = lab.udhcpc_bound_env();
    assert_eq!(env.get("opt150"), Some(&opt150(router)), "{env:?}");
    assert_eq!(env.get("tftp"), Some(&router.to_string()), "{env:?}");
    assert_eq!(env.get("ip"), Some(&reserved.to_string()), "{env:?}");

    let add = format!(
        "notify dnsmasq add {} {reserved} SEP001B0C18BDC1",
        lab.phone().mac
    );
    wait_until(
        &format!("the dhcp-script line ran `{add}`"),
        std::time::Duration::from_secs(5),
        || fs::read_to_string(&recorded).is_ok_and(|text| text.lines().any(|l| l == add)),
    );
}

#[test]
fn dnsmasq_drop_in_gives_nothing_to_other_clients() {
    let test = "dnsmasq_drop_in_gives_nothing_to_other_clients";
    let Some(mut lab) = Lab::start(test, &["dnsmasq", "udhcpc"]) else {
        return;
    };
    // The vendor class alone, and 0.0.0.0: dnsmasq's own address on the phone's link.
    start_dnsmasq_with_drop_in(&mut lab, &snippets::dnsmasq(&bare_input()), &[]);
    let router = lab.router_ip();

    let laptop = dhcp_as(&mut lab, "laptop", Some("MSFT 5.0"));
    assert!(laptop.contains_key("ip"), "{laptop:?}");
    assert_eq!(laptop.get("opt150"), None, "{laptop:?}");
    assert_eq!(laptop.get("tftp"), None, "{laptop:?}");

    // The 7941's vendor class (without its trailing NUL, which udhcpc's -V cannot carry and
    // a substring match does not need), and the old 7940 loader's bare one.
    for vendor_class in [
        "Cisco Systems, Inc. IP Phone CP-7941G",
        "Cisco Systems, Inc. IP Phone",
    ] {
        let phone = dhcp_as(&mut lab, "phone", Some(vendor_class));
        assert_eq!(phone.get("opt150"), Some(&opt150(router)), "{phone:?}");
        // 66 is text, and 0.0.0.0 has no text form: left out.
        assert_eq!(phone.get("tftp"), None, "{phone:?}");
    }

    // A phone that sends no phone vendor class (a 7921's) is not matched by it.
    let wireless = dhcp_as(
        &mut lab,
        "wireless",
        Some("Cisco Systems Inc. Wireless Phone 7921"),
    );
    assert_eq!(wireless.get("opt150"), None, "{wireless:?}");
}

#[test]
fn dnsmasq_drop_in_matches_cisco_macs_by_oui() {
    let test = "dnsmasq_drop_in_matches_cisco_macs_by_oui";
    let Some(mut lab) = Lab::start(test, &["dnsmasq", "udhcpc"]) else {
        return;
    };
    let ouis = cisco_ouis();
    let router = lab.router_ip();
    let input = SnippetInput {
        cisco_ouis: &ouis,
        ..SnippetInput::new(router)
    };
    start_dnsmasq_with_drop_in(&mut lab, &snippets::dnsmasq(&input), &[]);

    // The lab's phone has a Cisco MAC (00:1b:0c): a 7921's vendor class is enough now.
    let wireless = dhcp_as(
        &mut lab,
        "wireless",
        Some("Cisco Systems Inc. Wireless Phone 7921"),
    );
    assert_eq!(
        wireless.get("opt150"),
        Some(&opt150(router)),
        "{wireless:?}"
    );
    assert_eq!(
        wireless.get("tftp"),
        Some(&router.to_string()),
        "{wireless:?}"
    );

    // The same client with a MAC outside Cisco's blocks gets nothing.
    let phone_if = lab.phone_if().to_string();
    for args in [
        ["ip", "link", "set", "dev", phone_if.as_str(), "down"],
        ["ip", "link", "set", "dev", phone_if.as_str(), "address"],
        ["ip", "link", "set", "dev", phone_if.as_str(), "up"],
    ] {
        let mut argv: Vec<&str> = args.to_vec();
        if args[5] == "address" {
            argv.push("02:00:5e:10:00:01");
        }
        lab.run_in_phone(&argv, CLIENT_TIMEOUT).assert_success();
    }
    wait_until(
        "the phone's link is up again",
        std::time::Duration::from_secs(10),
        || {
            lab.run_in_phone(&["ip", "link", "show", "dev", &phone_if], CLIENT_TIMEOUT)
                .stdout
                .contains("LOWER_UP")
        },
    );
    let other = dhcp_as(
        &mut lab,
        "other",
        Some("Cisco Systems Inc. Wireless Phone 7921"),
    );
    assert!(other.contains_key("ip"), "{other:?}");
    assert_eq!(other.get("opt150"), None, "{other:?}");
}

// ---------------------------------------------------------------------------------------
// isc dhcpd in the lab: the class matches at run time

#[test]
fn dhcpd_class_matches_the_phone() {
    let test = "dhcpd_class_matches_the_phone";
    let Some(mut lab) = Lab::start(test, &["dhcpd", "rsyslogd", "unshare", "udhcpc"]) else {
        return;
    };
    // The lab's dhcpd.conf sends option 150 = 198.18.k.1 to everyone in the subnet; the
    // class sends .2 to phones and wins (class scope is inside subnet scope).
    let class_server = lab.ip(2);
    let recorder = lab.path("recorder.sh");
    let recorded = lab.path("recorded.log");
    fs::write(
        &recorder,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n", recorded.display()),
    )
    .expect("write the recorder");
    support::netns::set_mode(&recorder, 0o755);
    lab.note_log(&recorded);
    let recorder_arg = recorder.display().to_string();
    let input = SnippetInput {
        binary: &recorder_arg,
        ..SnippetInput::new(class_server)
    };
    let include = lab.path("cisco-autoprov.conf");
    fs::write(&include, snippets::isc(&input)).expect("write the include");
    lab.note_log(&include);
    lab.start_rsyslogd();
    lab.start_isc_dhcpd(&format!("include \"{}\";", include.display()));

    let phone = dhcp_as(
        &mut lab,
        "phone",
        Some("Cisco Systems, Inc. IP Phone CP-7941G"),
    );
    assert_eq!(
        phone.get("opt150"),
        Some(&opt150(class_server)),
        "{phone:?}"
    );
    assert_eq!(
        phone.get("tftp"),
        Some(&class_server.to_string()),
        "{phone:?}"
    );
    let commit = format!(
        "notify isc commit {} 0:1b:c:18:bd:c1 ",
        phone.get("ip").cloned().unwrap_or_default()
    );
    wait_until(
        "the on commit hook ran",
        std::time::Duration::from_secs(5),
        || fs::read_to_string(&recorded).is_ok_and(|text| text.contains(&commit)),
    );

    let laptop = dhcp_as(&mut lab, "laptop", Some("MSFT 5.0"));
    assert_eq!(laptop.get("opt150"), Some(&opt150(lab.ip(1))), "{laptop:?}");
}

// ---------------------------------------------------------------------------------------
// uci: a strict model of uci, on OpenWrt's stock /etc/config/dhcp

/// openwrt/openwrt `package/network/services/dnsmasq/files/dhcp.conf` (1a1f361), as
/// installed: comments, unquoted values, an anonymous section.
const STOCK_DHCP: &str = "config dnsmasq
\toption domainneeded\t1
\toption boguspriv\t1
\toption filterwin2k\t0  # enable for dial on demand
\toption localise_queries\t1
\toption rebind_protection 1  # disable if upstream must serve RFC1918 addresses
\toption rebind_localhost 1  # enable for RBL checking and similar services
\t#list rebind_domain example.lan  # whitelist RFC1918 responses for domains
\toption local\t'/lan/'
\toption domain\t'lan'
\toption expandhosts\t1
\toption nonegcache\t0
\toption cachesize\t1000
\toption authoritative\t1
\toption readethers\t1
\toption leasefile\t'/tmp/dhcp.leases'
\toption resolvfile\t'/tmp/resolv.conf.d/resolv.conf.auto'
\t#list server\t\t'/mycompany.local/1.2.3.4'
\toption nonwildcard\t1 # bind to & keep track of interfaces
\t#list interface\t\tbr-lan
\t#list notinterface\tlo
\t#list bogusnxdomain     '64.94.110.11'
\toption localservice\t1  # disable to allow DNS requests from non-local subnets
\toption fast_dns_retry 0
\toption ednspacket_max\t1232
\toption filter_aaaa\t0
\toption filter_a\t\t0
\t#list addnmount\t\t/some/path # read-only mount path to expose it to dnsmasq

config dhcp lan
\toption interface\tlan
\toption start \t100
\toption limit\t150
\toption leasetime\t12h

config dhcp wan
\toption interface\twan
\toption ignore\t1
";

mod uci_model {
    //! uci's data model and the parts of its syntax and commands our scripts use, as
    //! `openwrt/uci` file.c (parse_str: quotes, backslashes, `#`) and cli.c (batch: one
    //! command per line, at most three arguments, a failing command reported and skipped)
    //! do them. Stricter than uci where our files should never go: unknown commands,
    //! `;`, multi-line quotes, bad names, a package other than `dhcp` are errors.

    /// An option's value.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Value {
        Single(String),
        List(Vec<String>),
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Section {
        pub kind: String,
        /// `None` for an anonymous section.
        pub name: Option<String>,
        pub options: Vec<(String, Value)>,
    }

    impl Section {
        pub fn get(&self, option: &str) -> Option<&Value> {
            self.options
                .iter()
                .find(|(name, _)| name == option)
                .map(|(_, value)| value)
        }

        pub fn single(&self, option: &str) -> Option<&str> {
            match self.get(option) {
                Some(Value::Single(value)) => Some(value),
                _ => None,
            }
        }

        pub fn list(&self, option: &str) -> Vec<String> {
            match self.get(option) {
                Some(Value::List(values)) => values.clone(),
                Some(Value::Single(value)) => vec![value.clone()],
                None => Vec::new(),
            }
        }
    }

    /// One package (`/etc/config/<name>`): its committed sections and the pending ones.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Package {
        pub name: String,
        pub committed: Vec<Section>,
        pending: Vec<Section>,
    }

    /// Splits a line into words as uci's parse_str does.
    pub fn words(line: &str) -> Result<Vec<String>, String> {
        let mut words = Vec::new();
        let mut chars = line.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let Some(&first) = chars.peek() else { break };
            if first == '#' {
                break;
            }
            let mut word = String::new();
            let mut comment = false;
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                match c {
                    '\'' => loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(c) => word.push(c),
                            None => return Err(format!("unterminated ' in {line:?}")),
                        }
                    },
                    '"' => loop {
                        match chars.next() {
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some(c) => word.push(c),
                                None => return Err(format!("backslash at the end of {line:?}")),
                            },
                            Some(c) => word.push(c),
                            None => return Err(format!("unterminated \" in {line:?}")),
                        }
                    },
                    '\\' => match chars.next() {
                        Some(c) => word.push(c),
                        None => return Err(format!("backslash at the end of {line:?}")),
                    },
                    '#' => {
                        comment = true;
                        break;
                    }
                    ';' => return Err(format!("`;` in {line:?}")),
                    c => word.push(c),
                }
            }
            words.push(word);
            if comment {
                break;
            }
        }
        Ok(words)
    }

    fn check_name(name: &str) -> Result<(), String> {
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Ok(())
        } else {
            Err(format!("invalid name {name:?}"))
        }
    }

    fn check_type(kind: &str) -> Result<(), String> {
        if !kind.is_empty()
            && kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            Ok(())
        } else {
            Err(format!("invalid type {kind:?}"))
        }
    }

    /// What a failing batch command did: uci reports it and goes on with the next line.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Soft {
        NotFound(String),
    }

    impl Package {
        /// Parses a config file (`config`, `option`, `list`, comments).
        pub fn parse(name: &str, text: &str) -> Result<Package, String> {
            let mut sections: Vec<Section> = Vec::new();
            for (number, line) in text.lines().enumerate() {
                let at = |message: String| format!("{name}:{}: {message}", number + 1);
                let words = words(line).map_err(at)?;
                let Some((command, args)) = words.split_first() else {
                    continue;
                };
                match (command.as_str(), args) {
                    ("config", [kind]) => {
                        check_type(kind).map_err(at)?;
                        sections.push(Section {
                            kind: kind.clone(),
                            name: None,
                            options: Vec::new(),
                        });
                    }
                    ("config", [kind, section]) => {
                        check_type(kind).map_err(at)?;
                        check_name(section).map_err(at)?;
                        if sections.iter().any(|s| s.name.as_deref() == Some(section)) {
                            return Err(at(format!("section {section} twice")));
                        }
                        sections.push(Section {
                            kind: kind.clone(),
                            name: Some(section.clone()),
                            options: Vec::new(),
                        });
                    }
                    ("option" | "list", [option, value]) => {
                        check_name(option).map_err(at)?;
                        let section = sections
                            .last_mut()
                            .ok_or_else(|| at("option before the first section".into()))?;
                        if command == "option" {
                            set_option(section, option, value);
                        } else {
                            add_list(section, option, value);
                        }
                    }
                    _ => return Err(at(format!("not a uci line: {line:?}"))),
                }
            }
            Ok(Package {
                name: name.to_string(),
                committed: sections.clone(),
                pending: sections,
            })
        }

        /// The package as `uci commit` writes it (uci_export_package).
        pub fn export(&self) -> String {
            let mut out = String::new();
            for section in &self.committed {
                out.push_str(&format!("\nconfig {}", section.kind));
                if let Some(name) = &section.name {
                    out.push_str(&format!(" '{name}'"));
                }
                out.push('\n');
                for (option, value) in &section.options {
                    let quote = |v: &str| v.replace('\'', r"'\''");
                    match value {
                        Value::Single(v) => {
                            out.push_str(&format!("\toption {option} '{}'\n", quote(v)))
                        }
                        Value::List(values) => {
                            for v in values {
                                out.push_str(&format!("\tlist {option} '{}'\n", quote(v)));
                            }
                        }
                    }
                }
            }
            out.push('\n');
            out
        }

        /// Runs a `uci batch` script. Returns the commands that failed softly (uci prints
        /// them and goes on); anything our model does not know is an error.
        pub fn batch(&mut self, script: &str) -> Result<Vec<Soft>, String> {
            let mut soft = Vec::new();
            for (number, line) in script.lines().enumerate() {
                let at = |message: String| format!("batch line {}: {message}", number + 1);
                let words = words(line).map_err(at)?;
                let Some((command, args)) = words.split_first() else {
                    continue;
                };
                if args.len() > 3 {
                    return Err(at("too many arguments".into()));
                }
                let result = match (command.as_str(), args) {
                    ("commit", [package]) if *package == self.name => {
                        self.committed = self.pending.clone();
                        Ok(())
                    }
                    ("set" | "add_list" | "del_list" | "delete", [pointer]) => {
                        self.edit(command, pointer).map_err(at)?
                    }
                    _ => return Err(at(format!("unknown or malformed command {line:?}"))),
                };
                if let Err(failure) = result {
                    soft.push(failure);
                }
            }
            Ok(soft)
        }

        /// One `set`/`add_list`/`del_list`/`delete`: `Err` for a malformed command,
        /// `Ok(Err)` for one uci would report and skip.
        fn edit(&mut self, command: &str, pointer: &str) -> Result<Result<(), Soft>, String> {
            let (path, value) = match pointer.split_once('=') {
                Some((path, value)) => (path, Some(value)),
                None => (pointer, None),
            };
            let parts: Vec<&str> = path.split('.').collect();
            let (package, section, option) = match parts[..] {
                [package, section] => (package, section, None),
                [package, section, option] => (package, section, Some(option)),
                _ => return Err(format!("bad pointer {pointer:?}")),
            };
            if package != self.name {
                return Err(format!("package {package:?} is not in the model"));
            }
            if let Some(option) = option {
                check_name(option)?;
            }
            let index = self.find(section)?;
            let not_found = || Ok(Err(Soft::NotFound(pointer.to_string())));
            match (command, option, value) {
                ("set", None, Some(kind)) => {
                    check_type(kind)?;
                    match index {
                        Some(index) => self.pending[index].kind = kind.to_string(),
                        None if section.starts_with('@') => return not_found(),
                        None => {
                            check_name(section)?;
                            self.pending.push(Section {
                                kind: kind.to_string(),
                                name: Some(section.to_string()),
                                options: Vec::new(),
                            });
                        }
                    }
                }
                ("set", Some(option), Some(value)) => {
                    let Some(index) = index else {
                        return not_found();
                    };
                    let section = &mut self.pending[index];
                    if value.is_empty() {
                        section.options.retain(|(name, _)| name != option);
                    } else {
                        set_option(section, option, value);
                    }
                }
                ("add_list", Some(option), Some(value)) => {
                    let Some(index) = index else {
                        return not_found();
                    };
                    add_list(&mut self.pending[index], option, value);
                }
                ("del_list", Some(option), Some(value)) => {
                    let Some(index) = index else {
                        return not_found();
                    };
                    let section = &mut self.pending[index];
                    match section.options.iter_mut().find(|(name, _)| name == option) {
                        Some((_, Value::List(values))) => values.retain(|v| v != value),
                        Some(_) | None => return not_found(),
                    }
                }
                ("delete", None, None) => {
                    let Some(index) = index else {
                        return not_found();
                    };
                    self.pending.remove(index);
                }
                ("delete", Some(option), None) => {
                    let Some(index) = index else {
                        return not_found();
                    };
                    let section = &mut self.pending[index];
                    let before = section.options.len();
                    section.options.retain(|(name, _)| name != option);
                    if section.options.len() == before {
                        return not_found();
                    }
                }
                _ => return Err(format!("unsupported form of {command}: {pointer:?}")),
            }
            Ok(Ok(()))
        }

        /// The index of a section: by name, or `@type[n]` (negative from the end).
        fn find(&self, section: &str) -> Result<Option<usize>, String> {
            if let Some(reference) = section.strip_prefix('@') {
                let (kind, rest) = reference
                    .split_once('[')
                    .ok_or_else(|| format!("bad section reference {section:?}"))?;
                let n: i64 = rest
                    .strip_suffix(']')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("bad section reference {section:?}"))?;
                let of_kind: Vec<usize> = (0..self.pending.len())
                    .filter(|&i| self.pending[i].kind == kind)
                    .collect();
                let position = if n < 0 {
                    usize::try_from(n + i64::try_from(of_kind.len()).unwrap_or(0)).ok()
                } else {
                    usize::try_from(n).ok()
                };
                Ok(position.and_then(|p| of_kind.get(p).copied()))
            } else {
                check_name(section)?;
                Ok(self
                    .pending
                    .iter()
                    .position(|s| s.name.as_deref() == Some(section)))
            }
        }

        /// The committed section named `name`.
        pub fn section(&self, name: &str) -> Option<&Section> {
            self.committed
                .iter()
                .find(|s| s.name.as_deref() == Some(name))
        }
    }

    fn set_option(section: &mut Section, option: &str, value: &str) {
        let value = Value::Single(value.to_string());
        match section.options.iter_mut().find(|(name, _)| name == option) {
            Some(slot) => slot.1 = value,
            None => section.options.push((option.to_string(), value)),
        }
    }

    fn add_list(section: &mut Section, option: &str, value: &str) {
        match section.options.iter_mut().find(|(name, _)| name == option) {
            Some((_, Value::List(values))) => values.push(value.to_string()),
            Some(slot) => {
                let Value::Single(old) = slot.1.clone() else {
                    unreachable!()
                };
                slot.1 = Value::List(vec![old, value.to_string()]);
            }
            None => section
                .options
                .push((option.to_string(), Value::List(vec![value.to_string()]))),
        }
    }
}

use uci_model::{Package, Soft};

/// Runs `script` twice on the stock dhcp config: the first run may only fail to delete
/// what is not there yet, the second must not fail at all nor change the file.
fn run_twice(script: &str) -> Package {
    let mut dhcp = Package::parse("dhcp", STOCK_DHCP).expect("the stock config parses");
    let soft = dhcp.batch(script).expect("first run");
    assert!(
        soft.iter()
            .all(|s| matches!(s, Soft::NotFound(p) if p.starts_with("dhcp.ciscophone"))),
        "{soft:?}"
    );
    let first = dhcp.export();
    let soft = dhcp.batch(script).expect("second run");
    assert_eq!(soft, [], "the second run failed somewhere");
    assert_eq!(
        dhcp.export(),
        first,
        "the second run changed /etc/config/dhcp"
    );
    // What uci wrote reads back as the same package.
    let again = Package::parse("dhcp", &first).expect("the written file parses");
    assert_eq!(again.committed, dhcp.committed);
    dhcp
}

/// The dnsmasq options OpenWrt's dnsmasq init makes of `config vendorclass` sections
/// (dhcp_vendorclass_add, dhcp_option_add: the list split at whitespace).
fn dnsmasq_lines_of(dhcp: &Package) -> Vec<String> {
    let mut lines = Vec::new();
    for section in dhcp.committed.iter().filter(|s| s.kind == "vendorclass") {
        let networkid = section.single("networkid").expect("networkid");
        let vendorclass = section.single("vendorclass").expect("vendorclass");
        lines.push(format!("dhcp-vendorclass=set:{networkid},{vendorclass}"));
        for value in section.list("dhcp_option") {
            for option in value.split_whitespace() {
                lines.push(format!("dhcp-option={networkid},{option}"));
            }
        }
    }
    lines
}

#[test]
fn uci_batch_is_idempotent_on_the_stock_config() {
    for tftp_server in [Ipv4Addr::new(192, 168, 1, 1), Ipv4Addr::UNSPECIFIED] {
        let input = SnippetInput {
            tftp_server,
            ..bare_input()
        };
        let dhcp = run_twice(&snippets::uci(&input));
        let section = dhcp.section("ciscophone").expect("the section");
        assert_eq!(section.kind, "vendorclass");
        assert_eq!(section.single("networkid"), Some("ciscophone"));
        assert_eq!(section.single("vendorclass"), Some("IP Phone"));
        let expected: Vec<String> = if tftp_server.is_unspecified() {
            vec!["150,0.0.0.0".into()]
        } else {
            vec!["150,192.168.1.1".into(), "66,\"192.168.1.1\"".into()]
        };
        assert_eq!(section.list("dhcp_option"), expected);
        // The rest of the stock file is untouched.
        let stock = Package::parse("dhcp", STOCK_DHCP).unwrap();
        assert_eq!(dhcp.committed[..stock.committed.len()], stock.committed[..]);
    }
}

#[test]
fn uci_batch_keeps_a_changed_tftp_server_and_added_options() {
    // Run with one address, then another: one list, the new values, and an option someone
    // added to the section (force) survives.
    let mut dhcp = Package::parse("dhcp", STOCK_DHCP).unwrap();
    let first = SnippetInput::new(Ipv4Addr::new(192, 168, 1, 1));
    dhcp.batch(&snippets::uci(&first)).unwrap();
    dhcp.batch("set dhcp.ciscophone.force='1'\ncommit dhcp\n")
        .unwrap();
    let second = SnippetInput::new(Ipv4Addr::new(192, 168, 1, 2));
    assert_eq!(dhcp.batch(&snippets::uci(&second)).unwrap(), []);
    let section = dhcp.section("ciscophone").unwrap();
    assert_eq!(
        section.list("dhcp_option"),
        ["150,192.168.1.2", "66,\"192.168.1.2\""]
    );
    assert_eq!(section.single("force"), Some("1"));
}

#[test]
fn setup_dhcp_batch_is_the_snippet_and_idempotent() {
    let text = fs::read_to_string(repo(
        "contrib/openwrt/cisco-autoprov/files/cisco-autoprov.init",
    ))
    .expect("read the init script");
    let start = text
        .find("uci -q batch <<-EOF\n")
        .expect("a uci batch here-document")
        + "uci -q batch <<-EOF\n".len();
    let end = start + text[start..].find("\n\tEOF\n").expect("its end");
    // <<- strips leading tabs; $tftp_root is the only expansion.
    let batch: String = text[start..end]
        .lines()
        .map(|line| format!("{}\n", line.trim_start_matches('\t')))
        .collect::<String>()
        .replace("$tftp_root", "/tmp/tftp");
    let dhcp = run_twice(&batch);
    let dnsmasq = &dhcp.committed[0];
    assert_eq!(dnsmasq.single("enable_tftp"), Some("1"));
    assert_eq!(dnsmasq.single("tftp_root"), Some("/tmp/tftp"));
    // Every statement of the snippet for 0.0.0.0, in order.
    let statements = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let ours = statements(&snippets::uci(&bare_input()));
    let theirs = statements(&batch);
    let mut position = 0;
    for statement in &ours {
        position += theirs[position..]
            .iter()
            .position(|s| s == statement)
            .unwrap_or_else(|| panic!("{statement:?} is not in setup_dhcp's batch"));
    }
}

#[test]
fn uci_result_is_accepted_by_dnsmasq() {
    let test = "uci_result_is_accepted_by_dnsmasq";
    if !have(test, &["unshare", "dnsmasq"]) {
        return;
    }
    for tftp_server in [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::UNSPECIFIED] {
        let input = SnippetInput {
            tftp_server,
            ..bare_input()
        };
        let dhcp = run_twice(&snippets::uci(&input));
        let lines = dnsmasq_lines_of(&dhcp);
        assert_eq!(lines[0], "dhcp-vendorclass=set:ciscophone,IP Phone");
        let conf = format!("{}\n", lines.join("\n"));
        let output = dnsmasq_test("", &conf);
        assert!(output.status.success(), "{conf}{}", describe(&output));
    }
}

// ---------------------------------------------------------------------------------------
// contrib

/// Every shell file in contrib and the build scripts, and whether it runs on OpenWrt (busybox
/// ash).
const SHELL_FILES: &[(&str, bool)] = &[
    ("contrib/dnsmasq/dhcp-script", false),
    ("contrib/debian/postinst", false),
    ("contrib/debian/prerm", false),
    ("contrib/debian/postrm", false),
    ("scripts/cross.sh", false),
    ("scripts/smoke.sh", false),
    ("scripts/package.sh", false),
    ("contrib/openwrt/cisco-autoprov/test.sh", true),
    (
        "contrib/openwrt/cisco-autoprov/files/cisco-autoprov.init",
        true,
    ),
    (
        "contrib/openwrt/cisco-autoprov/files/cisco-autoprov.uci-defaults",
        true,
    ),
    (
        "contrib/openwrt/cisco-autoprov/files/cisco-autoprov.hotplug-dhcp",
        true,
    ),
    (
        "contrib/openwrt/cisco-autoprov/files/cisco-autoprov.hotplug-tftp",
        true,
    ),
];

#[test]
fn contrib_shell_passes_shellcheck() {
    let test = "contrib_shell_passes_shellcheck";
    if !have_tools(test, &["shellcheck"]) {
        return;
    }
    for (file, _) in SHELL_FILES {
        let output = Command::new(find_program("shellcheck").unwrap())
            .args(["--norc", "--severity=style"])
            .arg(repo(file))
            .output()
            .expect("run shellcheck");
        assert!(output.status.success(), "{file}: {}", describe(&output));
    }
}

#[test]
fn openwrt_shell_parses_with_busybox_ash() {
    let test = "openwrt_shell_parses_with_busybox_ash";
    if !have_tools(test, &["busybox"]) {
        return;
    }
    for (file, openwrt) in SHELL_FILES {
        if !openwrt {
            continue;
        }
        let output = Command::new(find_program("busybox").unwrap())
            .args(["sh", "-n"])
            .arg(repo(file))
            .output()
            .expect("run busybox sh -n");
        assert!(output.status.success(), "{file}: {}", describe(&output));
    }
}

#[test]
fn openwrt_package_installs_every_file() {
    let makefile = fs::read_to_string(repo("contrib/openwrt/cisco-autoprov/Makefile"))
        .expect("read the Makefile");
    for entry in fs::read_dir(repo("contrib/openwrt/cisco-autoprov/files")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            makefile.contains(&format!("./files/{name} ")),
            "the Makefile does not install files/{name}"
        );
    }
    assert!(makefile.contains("$(eval $(call RustBinPackage,cisco-autoprov))"));
    assert!(makefile
        .contains("define Package/cisco-autoprov/conffiles\n/etc/config/cisco-autoprov\nendef"));
    let cargo = fs::read_to_string(repo("Cargo.toml")).unwrap();
    let version = cargo
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("the crate version");
    assert!(
        makefile.contains(&format!("PKG_VERSION:={version}\n")),
        "PKG_VERSION is not the crate's {version}"
    );
}

/// Stand-ins for OpenWrt's /lib/functions.sh (config_* over CONFIG_<section>_<option>
/// variables, as it keeps them), procd.sh (recording every call) and uci (dnsmasq's
/// tftp_root), for running the init script under busybox sh.
const INIT_STUBS: &str = r#"
config_load() { :; }
config_get() {
	eval "$1=\${CONFIG_$2_$3:-\$4}"
}
config_get_bool() {
	local _value
	config_get _value "$2" "$3" "$4"
	case "$_value" in
	1|on|true|yes|enabled) _value=1 ;;
	0|off|false|no|disabled) _value=0 ;;
	*) _value="$4" ;;
	esac
	eval "$1=\$_value"
}
config_foreach() {
	local _function="$1" _type="$2" _section _kind
	shift 2
	for _section in $CONFIG_SECTIONS; do
		eval "_kind=\${CONFIG_${_section}_TYPE}"
		[ "$_kind" = "$_type" ] && "$_function" "$_section" "$@"
	done
	return 0
}
config_list_foreach() {
	local _section="$1" _option="$2" _function="$3" _length _i=1 _value
	shift 3
	eval "_length=\${CONFIG_${_section}_${_option}_LENGTH:-0}"
	while [ "$_i" -le "$_length" ]; do
		eval "_value=\${CONFIG_${_section}_${_option}_ITEM$_i}"
		"$_function" "$_value" "$@"
		_i=$((_i + 1))
	done
}
procd_open_instance() { echo "open_instance $*" >> "$PROCD_LOG"; }
procd_set_param() { echo "set_param $*" >> "$PROCD_LOG"; }
procd_close_instance() { echo "close_instance" >> "$PROCD_LOG"; }
procd_add_reload_trigger() { echo "reload_trigger $*" >> "$PROCD_LOG"; }
uci() {
	case "$*" in
	"-q get dhcp.@dnsmasq[0].tftp_root")
		[ -z "$STUB_DNSMASQ_TFTP_ROOT" ] || echo "$STUB_DNSMASQ_TFTP_ROOT"
		return 0 ;;
	"-q get "*) return 1 ;;
	"-q batch") echo "uci batch" >> "$PROCD_LOG"; sed 's/^/uci	/' >> "$PROCD_LOG" ;;
	*) echo "uci $*" >> "$PROCD_LOG" ;;
	esac
}
pidof() { return 1; }
"#;

/// `text` as one single-quoted sh word.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The variables /lib/functions.sh's config_load would set for `config` (uci text).
fn config_variables(config: &str) -> String {
    let package = Package::parse("cisco-autoprov", config).expect("the uci config parses");
    let mut out = String::new();
    let mut names = Vec::new();
    for (index, section) in package.committed.iter().enumerate() {
        let name = section
            .name
            .clone()
            .unwrap_or_else(|| format!("cfg{index:02}"));
        out.push_str(&format!("CONFIG_{name}_TYPE={}\n", sh_quote(&section.kind)));
        for (option, value) in &section.options {
            match value {
                uci_model::Value::Single(v) => {
                    out.push_str(&format!("CONFIG_{name}_{option}={}\n", sh_quote(v)));
                }
                uci_model::Value::List(values) => {
                    for (i, v) in values.iter().enumerate() {
                        out.push_str(&format!(
                            "CONFIG_{name}_{option}_ITEM{}={}\n",
                            i + 1,
                            sh_quote(v)
                        ));
                    }
                    out.push_str(&format!("CONFIG_{name}_{option}_LENGTH={}\n", values.len()));
                }
            }
        }
        names.push(name);
    }
    out.push_str(&format!("CONFIG_SECTIONS={}\n", sh_quote(&names.join(" "))));
    out
}

/// Runs the init script under busybox sh with the stubs and `config` (uci text): `action`
/// is `print_config` or `start_service`. Returns (TOML, procd calls).
fn run_init(dir: &Path, config: &str, dnsmasq_tftp_root: &str, action: &str) -> (String, String) {
    let init = repo("contrib/openwrt/cisco-autoprov/files/cisco-autoprov.init");
    let harness = dir.join("harness.sh");
    let conf = dir.join("etc/cisco-autoprov.toml");
    let procd_log = dir.join("procd.log");
    let _ = fs::remove_file(&conf);
    let _ = fs::remove_file(&procd_log);
    fs::write(
        &harness,
        format!(
            "{INIT_STUBS}\n{vars}\n. {init}\n\
             CONF={conf}\nRUNDIR={rundir}\nDHCP_RECORD={record}\n\
             {action}\n",
            vars = config_variables(config),
            init = sh_quote(&init.display().to_string()),
            conf = sh_quote(&conf.display().to_string()),
            rundir = sh_quote(&dir.join("run").display().to_string()),
            record = sh_quote(&dir.join("dhcp-changed").display().to_string()),
        ),
    )
    .expect("write the harness");
    let output = Command::new(find_program("busybox").unwrap())
        .args(["sh", "-e"])
        .arg(&harness)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("PROCD_LOG", &procd_log)
        .env("STUB_DNSMASQ_TFTP_ROOT", dnsmasq_tftp_root)
        .output()
        .expect("run busybox sh");
    assert!(output.status.success(), "{}", describe(&output));
    let toml = if action == "print_config" {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        fs::read_to_string(&conf).unwrap_or_default()
    };
    (toml, fs::read_to_string(&procd_log).unwrap_or_default())
}

#[test]
fn init_script_writes_the_toml_config() {
    let test = "init_script_writes_the_toml_config";
    if !have_tools(test, &["busybox"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shipped = fs::read_to_string(repo(
        "contrib/openwrt/cisco-autoprov/files/cisco-autoprov.config",
    ))
    .unwrap();

    // The shipped config, dnsmasq's TFTP root as the package sets it.
    let (toml, _) = run_init(dir.path(), &shipped, "/tmp/tftp", "print_config");
    let config = cisco_autoprov::config::parse(&toml, "cisco-autoprov.toml", Path::new("/var/etc"))
        .unwrap_or_else(|errors| panic!("{errors:?}\n{toml}"));
    assert_eq!(config.tftp_root, Path::new("/tmp/tftp"), "{toml}");
    // On flash: OpenWrt's /var is RAM (field-evidence.md §5), saved once a minute at most.
    assert_eq!(config.state_dir, Path::new("/etc/cisco-autoprov/state"));
    assert_eq!(config.save_interval_s, Some(60));
    // The harness moves RUNDIR; the hotplug scripts look for the socket where the init
    // script really puts it.
    assert_eq!(config.notify_socket, dir.path().join("run/notify.sock"));
    let init = fs::read_to_string(repo(
        "contrib/openwrt/cisco-autoprov/files/cisco-autoprov.init",
    ))
    .unwrap();
    assert!(init.contains("\nRUNDIR=/var/run/cisco-autoprov\n"));
    assert!(init.contains("notify_socket = $(toml_string \"$RUNDIR/notify.sock\")"));
    for hotplug in ["dhcp", "tftp"] {
        let script = fs::read_to_string(repo(&format!(
            "contrib/openwrt/cisco-autoprov/files/cisco-autoprov.hotplug-{hotplug}"
        )))
        .unwrap();
        assert_eq!(
            script
                .matches("/var/run/cisco-autoprov/notify.sock")
                .count(),
            2,
            "{hotplug}"
        );
        assert!(
            script.contains(&format!("\thotplug-{hotplug} >/dev/null")),
            "{hotplug}"
        );
    }
    let sources: Vec<String> = config.sources.iter().map(|s| s.label()).collect();
    assert_eq!(sources.len(), 2, "{sources:?}\n{toml}");
    assert!(
        toml.contains("[[source]]\nkind = \"dnsmasq-leases\"\npath = \"/tmp/dhcp.leases\"\n"),
        "{toml}"
    );
    assert!(
        toml.contains("[[source]]\nkind = \"command\"\ncommand = [\"logread\", \"-f\", \"-e\", \"^dnsmasq\"]\n"),
        "{toml}"
    );

    // Everything set, phones with awkward secrets, our own TFTP root on USB storage.
    let custom = "\
config cisco-autoprov 'main'
\toption enabled '1'
\toption pbx_host 'pbx.lan'
\toption pbx_port '5070'
\toption voicemail '*98'
\toption extensions '3000-3009'
\toption time_zone 'Europe/Berlin'
\toption log_level 'debug'
\toption tftp_root '/mnt/sda1/tftp'
\toption state_dir '/mnt/sda1/cisco \"autoprov\"'
\tlist source 'odhcpd:/tmp/hosts/odhcpd'
\tlist source 'log:/tmp/dnsmasq.log'
\toption tftp_unique_root 'mac'
\toption save_interval_s '30'
\toption pbx_unapproved_context 'cisco-limited'
\toption dialplan_file '/mnt/sda1/extensions.cisco-autoprov.conf'
\toption pbx_pjsip_tcp_transport 'transport-tcp-lan'
\toption rotate_secret_on_leak 'yes'
\toption country 'DE'
\toption ring 'flash'
\toption loop_count '7'
\toption no_tftp_after_s '300'
\tlist emergency '112'
\tlist emergency '110'
\toption outside_prefix '0'
\toption feature_codes '0'

config phone
\toption mac '00:1b:0c:18:bd:c1'
\toption extension '1001'
\toption secret 'a\\b'\\''c'
\toption label 'Reception'

config phone
\toption mac '001B.0C18.BDC2'
\toption extension '1002'
";
    let (toml, _) = run_init(dir.path(), custom, "/tmp/tftp", "print_config");
    let config = cisco_autoprov::config::parse(&toml, "cisco-autoprov.toml", Path::new("/var/etc"))
        .unwrap_or_else(|errors| panic!("{errors:?}\n{toml}"));
    assert_eq!(config.tftp_root, Path::new("/mnt/sda1/tftp"));
    assert_eq!(config.state_dir, Path::new("/mnt/sda1/cisco \"autoprov\""));
    assert_eq!(config.pbx.host, "pbx.lan");
    assert_eq!(config.pbx.port, 5070);
    assert_eq!(config.log_level, "debug");
    assert!(toml.contains("secret = \"a\\\\b'c\"\n"), "{toml}");
    // The keys of the configuration reference the init script maps (unknown keys would fail
    // the parse above).
    for line in [
        "tftp_unique_root = \"mac\"\n",
        "save_interval_s = 30\n",
        "unapproved_context = \"cisco-limited\"\n",
        "dialplan_file = \"/mnt/sda1/extensions.cisco-autoprov.conf\"\n",
        "pjsip_tcp_transport = \"transport-tcp-lan\"\n",
        "rotate_secret_on_leak = true\n",
        "country = \"DE\"\n",
        "ring = \"flash\"\n",
        "\n[diagnostics]\nloop_count = 7\nno_tftp_after_s = 300\n",
        "\n[dialplan]\nemergency = [\"112\", \"110\"]\noutside_prefix = \"0\"\nfeature_codes = false\n",
    ] {
        assert!(toml.contains(line), "{line:?} missing from\n{toml}");
    }
    assert_eq!(config.sources.len(), 2, "{toml}");
    let first = &config.inventory[&mac("00:1b:0c:18:bd:c1")];
    assert_eq!(first.extension, "1001");
    assert_eq!(first.secret.as_deref(), Some("a\\b'c"), "{toml}");
    assert_eq!(first.label.as_deref(), Some("Reception"));
    assert_eq!(
        config.inventory[&mac("00:1b:0c:18:bd:c2")].extension,
        "1002"
    );

    // The [dhcp] keys, when set (the daemon's [dhcp] snippets).
    let with_dhcp = format!(
        "{}\toption tftp_server '0.0.0.0'\n\toption dnsmasq_snippet '/tmp/dnsmasq.d/cisco-autoprov.conf'\n\
         \tlist reload_command '/etc/init.d/dnsmasq'\n\tlist reload_command 'restart'\n",
        shipped.split("\n# Phones").next().unwrap()
    );
    let (toml, _) = run_init(dir.path(), &with_dhcp, "", "print_config");
    assert!(
        toml.contains(
            "\n[dhcp]\ntftp_server = \"0.0.0.0\"\n\
             dnsmasq_snippet = \"/tmp/dnsmasq.d/cisco-autoprov.conf\"\n\
             reload_command = [\"/etc/init.d/dnsmasq\", \"restart\"]\n"
        ),
        "{toml}"
    );
    assert!(
        toml.contains("tftp_root = \"/tmp/tftp\"\n"),
        "no dnsmasq root: {toml}"
    );

    // start_service: nothing while disabled, not even in /etc/config/dhcp; then the dnsmasq
    // setup, the procd instance and the file.
    let (_, procd) = run_init(dir.path(), &shipped, "/tmp/tftp", "start_service");
    assert_eq!(procd, "", "a disabled service started or changed uci");
    let enabled = custom.replace("/mnt/sda1", &dir.path().join("usb").display().to_string());
    let (toml, log) = run_init(dir.path(), &enabled, "", "start_service");
    let (uci, procd): (Vec<&str>, Vec<&str>) = log.lines().partition(|l| l.starts_with("uci"));
    let procd = procd.iter().map(|l| format!("{l}\n")).collect::<String>();
    assert!(
        uci.contains(&"uci\tadd_list dhcp.ciscophone.dhcp_option='150,0.0.0.0'")
            && uci.last() == Some(&"uci\tcommit dhcp"),
        "{log}"
    );
    // What it changed is recorded (nothing was set before: the stub has no dnsmasq root),
    // and undo_dhcp takes back exactly that.
    assert_eq!(
        fs::read_to_string(dir.path().join("dhcp-changed")).unwrap(),
        "enable_tftp\ntftp_root\nciscophone\n"
    );
    let (_, undo) = run_init(dir.path(), &enabled, "", "undo_dhcp");
    assert_eq!(
        undo,
        "uci -q delete dhcp.ciscophone\nuci -q delete dhcp.@dnsmasq[0].enable_tftp\n\
         uci -q delete dhcp.@dnsmasq[0].tftp_root\nuci -q commit dhcp\n"
    );
    assert!(!dir.path().join("dhcp-changed").exists());
    let conf = dir.path().join("etc/cisco-autoprov.toml");
    assert_eq!(
        procd,
        format!(
            "open_instance \nset_param command /usr/sbin/cisco-autoprov run --log-split -c {conf}\n\
             set_param file {conf}\nset_param reload_signal HUP\nset_param respawn\n\
             set_param stdout 1\nset_param stderr 1\nclose_instance\n",
            conf = conf.display()
        )
    );
    assert!(
        toml.starts_with("# Generated from /etc/config/cisco-autoprov"),
        "{toml}"
    );
    assert!(dir.path().join("usb/tftp").is_dir() && dir.path().join("run").is_dir());
    assert!(!dir.path().join("etc/cisco-autoprov.toml.tmp").exists());
}

#[test]
fn systemd_unit_verifies() {
    let test = "systemd_unit_verifies";
    if !have_tools(test, &["systemd-analyze"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = fs::read_to_string(repo("contrib/systemd/cisco-autoprov.service")).unwrap();
    for setting in [
        "ProtectSystem=strict",
        "ReadWritePaths=/srv/tftp",
        "StateDirectory=cisco-autoprov",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(
            unit.lines().any(|line| line == setting),
            "{setting} missing"
        );
    }
    // systemd-analyze wants the programs to exist: point them at the test binary.
    let path = dir.path().join("cisco-autoprov.service");
    fs::write(
        &path,
        unit.replace(
            "/usr/sbin/cisco-autoprov",
            env!("CARGO_BIN_EXE_cisco-autoprov"),
        ),
    )
    .unwrap();
    let output = Command::new(find_program("systemd-analyze").unwrap())
        .arg("verify")
        .arg(&path)
        .output()
        .expect("run systemd-analyze");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{}",
        describe(&output)
    );
}

// ---------------------------------------------------------------------------------------
// contrib examples: what `cisco-autoprov snippet …` prints for 192.0.2.1

/// The examples in contrib and the snippet each must equal. `UPDATE_CONTRIB=1` rewrites
/// them.
#[test]
fn contrib_examples_are_current() {
    let ouis = cisco_ouis();
    let input = SnippetInput {
        dnsmasq_script: Some(DEFAULT_DNSMASQ_SCRIPT),
        cisco_ouis: &ouis,
        ..SnippetInput::new(Ipv4Addr::new(192, 0, 2, 1))
    };
    let update = std::env::var("UPDATE_CONTRIB").is_ok_and(|v| v == "1");
    for (file, text) in [
        (
            "contrib/dnsmasq/cisco-autoprov.conf",
            snippets::dnsmasq(&input),
        ),
        (
            "contrib/isc-dhcp/cisco-autoprov.conf",
            snippets::isc(&input),
        ),
        ("contrib/kea/cisco-autoprov.json", snippets::kea(&input)),
    ] {
        let path = repo(file);
        if update {
            fs::write(&path, &text).unwrap();
        }
        let current = fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == text,
            "{file} is not what the snippet gives: UPDATE_CONTRIB=1 cargo test --test snippets"
        );
    }
}
