//! The binary as a user drives it, on temporary directories: `check`, `scan`, `status`, and
//! the daemon's life cycle (start, provision, reload, hand-edited files, stop). No root and
//! no network needed; the real-daemon tests are in `e2e_dnsmasq.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cisco-autoprov");
const LEASE_7941: &str =
    "1795252463 00:1b:0c:18:bd:c1 198.18.0.151 SEP001B0C18BDC1 01:00:1b:0c:18:bd:c1\n";
/// What a 7941 asks for after its lease, before its SEP file (dnsmasq/dnsmasq.log.1 line
/// 109): it names the model. A dnsmasq lease file has no vendor class, and the daemon writes
/// no SEP file while the model is unknown (issue 12: the phone then reads XMLDefault).
const TERM_7941: &str =
    "Nov 21 08:14:29 dnsmasq-tftp[1]: sent /srv/tftp/term41.default.loads to 198.18.0.151\n";

/// A temporary site: config, TFTP root, state dir, a lease file and a log.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(extra: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("tftp")).unwrap();
        let site = Site { dir };
        site.write_config("198.18.0.10", extra);
        site
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self) -> String {
        self.path("config.toml").display().to_string()
    }

    /// The site's config: its phones are often known only from TFTP log lines, so they get
    /// credentials without approval (`tftp_only = "auto"`; the default is tested in the
    /// engine's tests and `tftp_only_phones_wait_for_approval_by_default`).
    fn write_config(&self, pbx: &str, extra: &str) {
        let text = format!(
            "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nhost = \"{pbx}\"\nfreepbx_csv = \"freepbx.csv\"\n[provision]\nextensions = \"2000-2099\"\ntftp_only = \"auto\"\n\
             [[source]]\nkind = \"dnsmasq-leases\"\npath = \"dhcp.leases\"\n[[source]]\nkind = \"log\"\npath = \"tftp.log\"\n{extra}"
        );
        fs::write(self.path("config.toml"), text).unwrap();
    }

    /// Runs the binary in UTC: stamps without an offset and the times it prints do not
    /// depend on the zone of the machine running the tests.
    fn run(&self, args: &[&str]) -> Output {
        self.run_in("UTC", args)
    }

    /// Runs the binary with `TZ` set to `tz`.
    fn run_in(&self, tz: &str, args: &[&str]) -> Output {
        Command::new(BIN).args(args).env("TZ", tz).output().unwrap()
    }

    fn append(&self, name: &str, text: &str) {
        use std::io::Write;
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(name))
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    fn status_json(&self) -> serde_json::Value {
        let output = self.run(&["status", "-c", &self.config(), "--json"]);
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

/// The daemon as a child process; killed on drop.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// The daemon in UTC (see [`Site::run`]).
    fn start(site: &Site) -> Daemon {
        Daemon::start_in(site, "UTC")
    }

    fn start_in(site: &Site, tz: &str) -> Daemon {
        let log = site.path("daemon.log");
        let child = Command::new(BIN)
            .args(["run", "-c", &site.config()])
            .env("RUST_LOG", "debug")
            .env("TZ", tz)
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let daemon = Daemon { child, log };
        daemon.wait_log("daemon ready");
        daemon
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    #[track_caller]
    fn wait_log(&self, needle: &str) {
        wait_for(&format!("log line {needle:?}"), || {
            self.log_text().contains(needle)
        });
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stop(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not stop:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[track_caller]
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn help_and_version() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["run", "scan", "status", "explain", "check"] {
        assert!(
            text.contains(&format!("cisco-autoprov {command}")),
            "{text}"
        );
    }
    // The exit statuses are documented where the admin looks first.
    for line in [
        "  0  ok",
        "  1  a runtime problem",
        "  2  a usage or config error",
    ] {
        assert!(text.contains(line), "{text}");
    }
    for flag in ["--version", "-V"] {
        let version = Command::new(BIN).arg(flag).output().unwrap();
        assert!(version.status.success());
        assert_eq!(
            String::from_utf8_lossy(&version.stdout),
            concat!("cisco-autoprov ", env!("CARGO_PKG_VERSION"), "\n")
        );
    }
}

/// Usage errors: one line naming the option or argument, a pointer to --help, exit 2.
#[test]
fn usage_errors_exit_2_and_name_the_option() {
    for (args, want) in [
        (&["frobnicate"][..], "unknown command \"frobnicate\""),
        (&["status", "--frob"][..], "unknown option --frob"),
        (&["status", "-c"][..], "-c needs a file"),
        (&["run", "--json"][..], "--json is not an option of run"),
        (
            &["snippet"][..],
            "snippet needs one of dnsmasq, isc, uci, kea, hex",
        ),
        (&["explain"][..], "explain needs one MAC"),
        (&[][..], "no command given"),
    ] {
        let output = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("cisco-autoprov: {want} (see cisco-autoprov --help)\n"),
            "{args:?}"
        );
    }
}

/// `-c FILE` before the command works as after it (field-evidence.md §5).
#[test]
fn global_options_before_or_after_the_command() {
    let site = Site::new("");
    site.append("dhcp.leases", LEASE_7941);
    assert!(site.run(&["scan", "-c", &site.config()]).status.success());
    for args in [
        ["-c", &site.config(), "status", "--json"],
        ["--json", "--config", &site.config(), "status"],
        ["status", "--json", "-c", &site.config()],
    ] {
        let output = site.run(&args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        let phones: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(phones[0]["mac"], "001B0C18BDC1", "{args:?}");
    }
    let config = format!("--config={}", site.config());
    let output = site.run(&[&config, "check"]);
    assert!(output.status.success(), "{output:?}");
}

/// Exit statuses: 0 ok, 1 a runtime problem (and `check` finding problems), 2 a usage or
/// config error; `notify` always 0.
#[test]
fn exit_statuses_are_consistent() {
    let site = Site::new("");
    let code = |args: &[&str]| site.run(args).status.code();
    let config = site.config();
    assert_eq!(code(&["check", "-c", &config]), Some(0));
    assert_eq!(code(&["scan", "-c", &config]), Some(0));
    assert_eq!(
        code(&["explain", "00:1b:0c:18:bd:c9", "-c", &config]),
        Some(1)
    );
    assert_eq!(code(&["explain", "nope", "-c", &config]), Some(2));
    assert_eq!(code(&["snippet", "isc", "-c", &config]), Some(1));
    fs::remove_dir_all(site.path("tftp")).unwrap();
    assert_eq!(code(&["check", "-c", &config]), Some(1));
    assert_eq!(code(&["scan", "-c", &config]), Some(1));
    assert_eq!(code(&["notify", "-c", &config, "dnsmasq", "add"]), Some(0));
    fs::write(site.path("config.toml"), "[pbx]\nport = \"5060\"\n").unwrap();
    for command in ["check", "scan", "run", "explain 00:1b:0c:18:bd:c9"] {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.extend(["-c", &config]);
        assert_eq!(code(&args), Some(2), "{command}");
    }
    assert_eq!(code(&["notify", "-c", &config, "dnsmasq", "add"]), Some(0));
}

/// Config errors in the admin's words: the key with its table, the type in plain words,
/// "write it in quotes" for a number where text is wanted, a duplicate key with both lines.
#[test]
fn config_errors_in_admin_words() {
    let site = Site::new("[[phone]]\nmac = \"00:1b:0c:18:bd:c1\"\nextension = 2000\n");
    let output = site.run(&["check", "-c", &site.config()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("config.toml:17: [[phone]] extension: write it in quotes, \"2000\""),
        "{stderr}"
    );
    let site = Site::new("[diagnostics]\nloop_count = \"3\"\nloop_count = 4\n");
    let stderr =
        String::from_utf8_lossy(&site.run(&["check", "-c", &site.config()]).stderr).into_owned();
    assert!(
        stderr.contains(
            "config.toml:17: [diagnostics] loop_count is set twice (first on line 16): keep one"
        ),
        "{stderr}"
    );
    let site = Site::new("[diagnostics]\nloop_count = \"3\"\n");
    let stderr =
        String::from_utf8_lossy(&site.run(&["check", "-c", &site.config()]).stderr).into_owned();
    assert!(
        stderr.contains("config.toml:16: [diagnostics] loop_count: expected a whole number (without quotes), found text \"3\""),
        "{stderr}"
    );
    assert!(
        !stderr.contains("os error") && !stderr.contains("invalid type"),
        "{stderr}"
    );
}

/// `status` says whether the daemon runs (and since when), in the table's first line and
/// with `--daemon` (`--json`: an object; the phone array of `status --json` is unchanged).
#[test]
fn status_says_whether_the_daemon_runs() {
    let site = Site::new("");
    let status = |args: &[&str]| {
        let mut all = vec!["status", "-c"];
        let config = site.config();
        all.push(&config);
        all.extend(args);
        let output = site.run(&all);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(
        status(&["--daemon"]),
        "daemon: not running (no daemon has run on this state directory)\n"
    );
    let daemon = Daemon::start(&site);
    let pid = daemon.child.id();
    let line = status(&[]);
    let first = line.lines().next().unwrap();
    assert!(
        first.starts_with("daemon: running since ") && first.ends_with(&format!("(pid {pid})")),
        "{line}"
    );
    let json: serde_json::Value = serde_json::from_str(&status(&["--daemon", "--json"])).unwrap();
    assert_eq!(json["running"], true, "{json}");
    assert_eq!(json["pid"], pid, "{json}");
    assert!(site.status_json().is_array());
    // A scan is refused while the daemon runs, and status still says the daemon runs.
    assert_eq!(
        site.run(&["scan", "-c", &site.config()]).status.code(),
        Some(1)
    );
    assert!(status(&["--daemon"]).starts_with("daemon: running since "));
    assert!(daemon.stop().success());
    let line = status(&["--daemon"]);
    assert!(
        line.starts_with("daemon: not running (last stopped "),
        "{line}"
    );
    let json: serde_json::Value = serde_json::from_str(&status(&["--daemon", "--json"])).unwrap();
    assert_eq!(json["running"], false, "{json}");
    assert!(json["stopped"].is_i64(), "{json}");

    // Killed: the record was not closed.
    let mut daemon = Daemon::start(&site);
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    let line = status(&["--daemon"]);
    assert!(
        line.starts_with(&format!(
            "daemon: not running (the last one, pid {}, started ",
            daemon.child.id()
        )) && line.contains("did not stop cleanly"),
        "{line}"
    );
}

/// A broken config does not keep `status` from the state: it reads the file's state_dir
/// and says the config is broken.
#[test]
fn status_works_with_a_broken_config() {
    let site = Site::new("");
    site.append("dhcp.leases", LEASE_7941);
    assert!(site.run(&["scan", "-c", &site.config()]).status.success());
    site.append("config.toml", "[diagnostics]\nloop_count = \"x\"\n");
    let output = site.run(&["status", "-c", &site.config()]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("daemon: not running"), "{stdout}");
    assert!(
        stdout.contains("00:1B:0C:18:BD:C1") || stdout.contains("001B0C18BDC1"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: the config is broken: ")
            && stderr.contains("[diagnostics] loop_count"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "showing the state in {}",
            site.path("state").display()
        )),
        "{stderr}"
    );
    // Every other command refuses it.
    assert_eq!(
        site.run(&["check", "-c", &site.config()]).status.code(),
        Some(2)
    );
}

/// The committed man page and bash completion are what `cli` generates now, from the same
/// tables as --help (`UPDATE_GENERATED=1 cargo test --test cli man_page` rewrites them); bash
/// accepts the completion and registers it.
#[test]
fn man_page_and_completion_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (generated, file) in [
        (cisco_autoprov::cli::man_page(), "man/cisco-autoprov.1"),
        (
            cisco_autoprov::cli::bash_completion(),
            "contrib/completions/cisco-autoprov.bash",
        ),
    ] {
        if std::env::var_os("UPDATE_GENERATED").is_some() {
            fs::write(root.join(file), &generated).unwrap();
        }
        assert_eq!(
            read(&root.join(file)),
            generated,
            "{file} is stale: run UPDATE_GENERATED=1 cargo test --test cli man_page"
        );
    }
    let completion = root.join("contrib/completions/cisco-autoprov.bash");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&completion)
        .status()
        .unwrap();
    assert!(syntax.success());
    let script = format!(
        "source {}\ncomplete -p cisco-autoprov\nCOMP_WORDS=(cisco-autoprov -c x.toml snippet '')\nCOMP_CWORD=4\n_cisco_autoprov\necho \"${{COMPREPLY[*]}}\"\nCOMP_WORDS=(cisco-autoprov firmware '')\nCOMP_CWORD=2\n_cisco_autoprov\necho \"${{COMPREPLY[*]}}\"\n",
        completion.display()
    );
    let output = Command::new("bash").arg("-c").arg(script).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout,
        "complete -F _cisco_autoprov cisco-autoprov\ndnsmasq isc uci kea hex -c --config -h --help\nlist import --force -c --config -h --help\n",
        "{output:?}"
    );
    let man = read(&root.join("man/cisco-autoprov.1"));
    for section in [".SH COMMANDS", ".SH OPTIONS", ".SH EXIT STATUS"] {
        assert!(man.contains(section), "{section}");
    }
}

/// Under systemd (JOURNAL_STREAM names our stderr) each line has journald's priority prefix
/// and no time of ours; with JOURNAL_STREAM naming another stream, our time as before.
#[test]
fn journal_lines_carry_priority_and_no_time() {
    use std::os::unix::fs::MetadataExt;
    // The log of a first scan of a new site, with JOURNAL_STREAM naming `stream`.
    let scan_log = |stream_is_stderr: bool| {
        let site = Site::new("");
        site.append("dhcp.leases", LEASE_7941);
        let log = site.path("scan.log");
        let stderr = fs::File::create(&log).unwrap();
        let other = site.path("other.log");
        fs::write(&other, "").unwrap();
        let meta = fs::metadata(if stream_is_stderr { &log } else { &other }).unwrap();
        let output = Command::new(BIN)
            .args(["scan", "-c", &site.config()])
            .env("RUST_LOG", "debug")
            .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
            .stderr(stderr)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        read(&log)
    };
    let text = scan_log(true);
    assert!(text.contains("<6>INFO phone provisioned"), "{text}");
    for line in text.lines() {
        assert!(
            ["<3>ERROR ", "<4>WARN ", "<6>INFO ", "<7>DEBUG "]
                .iter()
                .any(|prefix| line.starts_with(prefix)),
            "{line}\n{text}"
        );
    }
    // Another stream (a shell started from a service inherits JOURNAL_STREAM): our format.
    let text = scan_log(false);
    assert!(
        text.lines()
            .all(|line| line.starts_with("20") && line.contains("Z ")),
        "{text}"
    );
    assert!(text.contains("Z  INFO phone provisioned"), "{text}");

    // The packaging matches: journald reads the prefix (SyslogLevelPrefix= is on unless
    // turned off), procd gets --log-split with stdout and stderr both logged.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = read(&root.join("contrib/systemd/cisco-autoprov.service"));
    assert!(
        !unit.contains("SyslogLevelPrefix=no") && !unit.contains("--log-split"),
        "{unit}"
    );
    let init = read(&root.join("contrib/openwrt/cisco-autoprov/files/cisco-autoprov.init"));
    for needle in [
        "run --log-split",
        "procd_set_param stdout 1",
        "procd_set_param stderr 1",
    ] {
        assert!(init.contains(needle), "{needle}");
    }
}

#[test]
fn check_reports_each_problem_with_its_line() {
    let site = Site::new("[[phone]]\nmac = \"nope\"\nextension = \"1006\"\n");
    let output = site.run(&["check", "-c", &site.config()]);
    // A config that does not validate: exit 2 (problems `check` finds in the environment: 1).
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("config.toml:16: phone.mac: invalid mac address \"nope\""),
        "{stderr}"
    );

    let site = Site::new("");
    fs::remove_dir(site.path("tftp")).unwrap();
    let output = site.run(&["check", "-c", &site.config()]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("problem: tftp_root"), "{stdout}");

    let site = Site::new("");
    let output = site.run(&["check", "-c", &site.config()]);
    assert!(output.status.success(), "{output:?}");
}

/// The default: a MAC seen only in a TFTP request gets no credentials until `approve`
/// (field-evidence.md §4: one request for a made-up MAC's SEP file got it a real extension,
/// a second request returned its secret).
#[test]
fn tftp_only_phones_wait_for_approval_by_default() {
    let site = Site::new("");
    let text = fs::read_to_string(site.path("config.toml"))
        .unwrap()
        .replace("tftp_only = \"auto\"\n", "");
    fs::write(site.path("config.toml"), text).unwrap();
    let daemon = Daemon::start(&site);
    site.append(
        "tftp.log",
        "Nov 21 08:14:29 dnsmasq-tftp[1]: file /srv/tftp/SEP001B0C18BDC1.cnf.xml not found for 198.18.0.41\n",
    );
    daemon.wait_log("phone waits for approval");
    wait_for("status says pending", || {
        site.status_json()[0]["state"] == "pending"
    });
    assert!(!site.path("tftp/SIP001B0C18BDC1.cnf").exists());
    let approve = site.run(&["approve", "001B0C18BDC1", "-c", &site.config()]);
    assert!(approve.status.success(), "{approve:?}");
    daemon.wait_log("credentials handed out");
    assert!(daemon.log_text().contains("evidence=\"admin approval\""));
    wait_for("its file", || {
        site.path("tftp/SIP001B0C18BDC1.cnf").exists()
    });
    assert!(daemon.stop().success());
}

/// A phone whose secret the PBX cannot know is a configuration problem, said before any
/// phone shows up (issue 11: the README's first example used to produce such phones).
#[test]
fn check_says_when_phones_could_not_register() {
    let site = Site::new("");
    let text = fs::read_to_string(site.path("config.toml"))
        .unwrap()
        .replace("freepbx_csv = \"freepbx.csv\"\n", "");
    fs::write(site.path("config.toml"), text).unwrap();
    let output = site.run(&["check", "-c", &site.config()]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    for words in [
        "extension from [provision] extensions (2000-2099)",
        "cannot register",
        "[pbx] pjsip_snippet",
        "[pbx] freepbx_csv",
    ] {
        assert!(stdout.contains(words), "{words:?} missing: {stdout}");
    }
    // A PBX group that does not exist and a reload program that does not exist are named.
    let site = Site::new("");
    let text = fs::read_to_string(site.path("config.toml")).unwrap().replace(
        "freepbx_csv = \"freepbx.csv\"\n",
        "freepbx_csv = \"freepbx.csv\"\ngroup = \"no-such-group-here\"\nreload_command = [\"/nonexistent/asterisk\", \"-rx\", \"module reload res_pjsip.so\"]\n",
    );
    fs::write(site.path("config.toml"), text).unwrap();
    let output = site.run(&["check", "-c", &site.config()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("pbx.group \"no-such-group-here\" is not in /etc/group"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pbx.reload_command: program /nonexistent/asterisk not found"),
        "{stdout}"
    );
}

/// The PJSIP include puts hands-off phones in the restricted context (field-evidence.md §4);
/// without the dialplan file that defines it their calls fail, and `check` says so.
#[test]
fn check_says_when_the_restricted_context_is_not_defined() {
    let site = Site::new("");
    let text = fs::read_to_string(site.path("config.toml"))
        .unwrap()
        .replace(
            "freepbx_csv = \"freepbx.csv\"\n",
            "pjsip_snippet = \"pjsip.cisco-autoprov.conf\"\n",
        );
    fs::write(site.path("config.toml"), &text).unwrap();
    let output = site.run(&["check", "-c", &site.config()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("context cisco-autoprov-unapproved")
            && stdout.contains("[pbx] dialplan_file"),
        "{stdout}"
    );
    let text = text.replace(
        "pjsip_snippet = \"pjsip.cisco-autoprov.conf\"\n",
        "pjsip_snippet = \"pjsip.cisco-autoprov.conf\"\ndialplan_file = \"extensions.cisco-autoprov.conf\"\n",
    );
    fs::write(site.path("config.toml"), text).unwrap();
    let output = site.run(&["check", "-c", &site.config()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("cisco-autoprov-unapproved"), "{stdout}");
}

#[test]
fn missing_config_file_given_with_c_is_an_error() {
    let output = Command::new(BIN)
        .args(["check", "-c", "/nonexistent/config.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        "cisco-autoprov: /nonexistent/config.toml: cannot read: no such file or directory\n"
    );
}

#[test]
fn daemon_provisions_reloads_and_stops_cleanly() {
    let site = Site::new("[[phone]]\nmac = \"00:1B:0C:18:BD:C1\"\nextension = \"1006\"\nsecret = \"s3cret\"\nlabel = \"Thomas\"\n");
    let daemon = Daemon::start(&site);
    let sep = site.path("tftp/SEP001B0C18BDC1.cnf.xml");

    // The lease file appears after start-up.
    site.append("dhcp.leases", LEASE_7941);
    site.append("tftp.log", TERM_7941);
    wait_for("the SEP file", || {
        read(&sep).contains("<authPassword>s3cret</authPassword>")
    });
    assert!(read(&sep).contains("<processNodeName>198.18.0.10</processNodeName>"));
    assert!(
        !daemon.log_text().contains("s3cret"),
        "the secret must never be logged"
    );

    // A broken config is refused and the daemon keeps going.
    fs::write(site.path("config.toml"), "this is not toml = = =").unwrap();
    daemon.signal("HUP");
    daemon.wait_log("new configuration rejected; keeping the old one");

    // A good one takes effect: the phone's file follows the new PBX address.
    site.write_config(
        "198.18.0.20",
        "[[phone]]\nmac = \"00:1B:0C:18:BD:C1\"\nextension = \"1006\"\nsecret = \"s3cret\"\n",
    );
    daemon.signal("HUP");
    wait_for("re-rendered file", || {
        read(&sep).contains("<processNodeName>198.18.0.20</processNodeName>")
    });

    // The TFTP log reports the phone fetching its file: configured.
    site.append(
        "tftp.log",
        "Nov 21 08:14:29 dnsmasq-tftp[1]: sent /srv/tftp/SEP001B0C18BDC1.cnf.xml to 198.18.0.151\n",
    );
    daemon.wait_log("state=\"configured\"");

    let status = daemon.stop();
    assert!(status.success(), "exit status {status:?}");
    let phones = site.status_json();
    let phone = &phones[0];
    assert_eq!(phone["mac"], "001B0C18BDC1");
    assert_eq!(phone["extension"], "1006");
    assert_eq!(phone["ip"], "198.18.0.151");
    assert_eq!(phone["state"], "configured");
    assert_eq!(phone["files"][0], "SEP001B0C18BDC1.cnf.xml");
    assert!(phone.get("secret").is_none());
    let mode = |p: &Path| {
        std::os::unix::fs::PermissionsExt::mode(&fs::metadata(p).unwrap().permissions()) & 0o777
    };
    assert_eq!(mode(&sep), 0o644);
    assert_eq!(mode(&site.path("state")), 0o700);
}

#[test]
fn hand_edited_files_are_left_alone() {
    let site = Site::new("");
    fs::write(
        site.path("tftp/XMLDefault.cnf.xml"),
        "<Default>admin's own</Default>",
    )
    .unwrap();
    fs::write(
        site.path("tftp/SEP001B0C18BDC1.cnf.xml"),
        "<device>hand made</device>",
    )
    .unwrap();
    let daemon = Daemon::start(&site);
    site.append("dhcp.leases", LEASE_7941);
    site.append("tftp.log", TERM_7941);
    daemon.wait_log("phone detected");
    daemon.wait_log("leaving it alone");
    assert!(daemon.stop().success());
    assert_eq!(
        read(&site.path("tftp/SEP001B0C18BDC1.cnf.xml")),
        "<device>hand made</device>"
    );
    assert_eq!(
        read(&site.path("tftp/XMLDefault.cnf.xml")),
        "<Default>admin's own</Default>"
    );
}

#[test]
fn scan_reads_history_and_a_second_writer_is_refused() {
    let site = Site::new("");
    fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/dnsmasq/lease-snapshots/03-phone2-bound--dnsmasq.leases"
        ),
        site.path("dhcp.leases"),
    )
    .unwrap();
    site.append("tftp.log", "Nov 21 08:14:29 dnsmasq-tftp[25848]: sent /srv/tftp/term41.default.loads to 198.18.0.151\n");
    let output = site.run(&["scan", "-c", &site.config()]);
    assert!(output.status.success(), "{output:?}");
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        summary.contains("phones: 2 known, 2 provisioned"),
        "{summary}"
    );
    let phones = site.status_json();
    let models: Vec<&serde_json::Value> = phones
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["model"])
        .collect();
    assert_eq!(
        models,
        [&serde_json::json!("7941"), &serde_json::Value::Null]
    );
    assert!(site.path("tftp/SIP001B0C18BDC2.cnf").exists());

    let daemon = Daemon::start(&site);
    let second = site.run(&["scan", "-c", &site.config()]);
    assert_eq!(second.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use by another cisco-autoprov"));
    assert!(daemon.stop().success());
}

/// inotify must not report our own reads back to us: an idle daemon reads nothing.
#[test]
fn idle_daemon_does_not_wake_on_its_own_reads() {
    let site = Site::new("");
    site.append("dhcp.leases", LEASE_7941);
    let daemon = Daemon::start(&site);
    // A log is read from its end at the first start: the model comes after.
    site.append("tftp.log", TERM_7941);
    wait_for("the SEP file", || {
        site.path("tftp/SEP001B0C18BDC1.cnf.xml").exists()
    });
    let count = || daemon.log_text().matches("source read").count();
    let before = count();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        count(),
        before,
        "the daemon read a source nobody wrote to:\n{}",
        daemon.log_text()
    );
    // One write: exactly one more read of that source.
    site.append(
        "tftp.log",
        "Nov 21 08:14:30 dnsmasq-tftp[1]: sent /srv/tftp/XMLDefault.cnf.xml to 198.18.0.151\n",
    );
    wait_for("one read", || count() > before);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        count() - before <= 2,
        "{} reads for one append",
        count() - before
    );
    assert!(daemon.stop().success());
}

/// Hook events reach the running daemon; with the daemon down, `notify` still exits 0 at once.
#[test]
fn notify_hands_hook_events_to_the_daemon() {
    let site = Site::new("");
    let notify = |args: &[&str], env: &[(&str, &str)]| {
        let started = Instant::now();
        let output = Command::new(BIN)
            .args(["notify", "-c", &site.config()])
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let vendor_class = [(
        "DNSMASQ_VENDOR_CLASS",
        "Cisco Systems, Inc. IP Phone CP-7962G",
    )];
    let add = [
        "dnsmasq",
        "add",
        "00:1b:0c:18:bd:c1",
        "198.18.0.151",
        "SEP001B0C18BDC1",
    ];

    // No daemon: a clear note on stderr, exit 0.
    assert!(notify(&add, &vendor_class).contains("daemon not reachable"));

    let daemon = Daemon::start(&site);
    assert_eq!(notify(&add, &vendor_class), "");
    wait_for("the SEP file", || {
        site.path("tftp/SEP001B0C18BDC1.cnf.xml").exists()
    });
    notify(
        &["hotplug-tftp"],
        &[
            ("ACTION", "add"),
            ("TFTP_ADDR", "198.18.0.151"),
            ("TFTP_PATH", "/srv/tftp/SEP001B0C18BDC1.cnf.xml"),
        ],
    );
    daemon.wait_log("state=\"configured\"");
    // Garbage from a hook is refused, not fatal.
    assert!(notify(&["isc", "commit", "198.18.0.100", "not-a-mac"], &[]).is_empty());
    daemon.wait_log("ignoring a bad hook event");
    assert!(daemon.stop().success());
    let phones = site.status_json();
    assert_eq!(phones[0]["model"], "7962");
    assert_eq!(
        phones[0]["vendor_class"],
        "Cisco Systems, Inc. IP Phone CP-7962G"
    );
    assert_eq!(phones[0]["state"], "configured");
}

/// `status | head`: a reader that stops early is a normal end (it panicked on EPIPE,
/// field-evidence.md §4).
#[test]
fn status_into_a_closed_pipe_is_not_a_panic() {
    let site = Site::new("[[phone]]\nmac = \"00:1B:0C:18:BD:C1\"\nextension = \"1006\"\n");
    let scan = site.run(&["scan", "-c", &site.config()]);
    assert!(scan.status.success(), "{scan:?}");
    let mut child = Command::new(BIN)
        .args(["status", "-c", &site.config(), "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "{output:?}");
}

/// isc-dhcp passes the client's raw `option host-name` bytes to its hook: `notify` used to
/// exit 101 on a non-UTF-8 argument (field-evidence.md §4). The event must arrive, decoded
/// lossily, and `notify` exits 0.
#[test]
fn notify_takes_non_utf8_arguments() {
    use std::os::unix::ffi::OsStrExt;
    let site = Site::new("");
    let socket_path = site.path("test.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let host = std::ffi::OsStr::from_bytes(b"SEP\xff\xfe-phone");
    let output = Command::new(BIN)
        .args(["notify", "--socket"])
        .arg(&socket_path)
        .args(["isc", "commit", "198.18.0.151", "00:1b:0c:18:bd:c1"])
        .arg(host)
        .env(
            "DNSMASQ_VENDOR_CLASS",
            std::ffi::OsStr::from_bytes(b"Cisco \xff"),
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let mut datagram = vec![0u8; 65536];
    let n = socket.recv(&mut datagram).expect("the event arrives");
    let text = String::from_utf8_lossy(&datagram[..n]);
    assert!(
        text.contains("00:1b:0c:18:bd:c1") || text.contains("001B0C18BDC1"),
        "{text}"
    );
    assert!(text.contains("SEP\u{FFFD}\u{FFFD}-phone"), "{text}");
}

/// contrib/dnsmasq/dhcp-script hands the event to the daemon and then runs the dhcp-script
/// dnsmasq had before, with the same arguments and environment.
#[test]
fn dnsmasq_hook_script_chains_to_the_previous_script() {
    let site = Site::new("");
    let previous = site.path("previous-script");
    fs::write(
        &previous,
        format!(
            "#!/bin/sh\necho \"$* $DNSMASQ_VENDOR_CLASS\" > {}\n",
            site.path("chained").display()
        ),
    )
    .unwrap();
    fs::set_permissions(
        &previous,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    fs::write(site.path("chain"), format!("{}\n", previous.display())).unwrap();
    let daemon = Daemon::start(&site);
    let status = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/dnsmasq/dhcp-script"
    ))
    .args([
        "add",
        "00:1b:0c:18:bd:c1",
        "198.18.0.151",
        "SEP001B0C18BDC1",
    ])
    .env("CISCO_AUTOPROV", BIN)
    .env("CISCO_AUTOPROV_CONFIG", site.config())
    .env("CISCO_AUTOPROV_CHAIN_FILE", site.path("chain"))
    .env(
        "DNSMASQ_VENDOR_CLASS",
        "Cisco Systems, Inc. IP Phone CP-7941G",
    )
    .status()
    .unwrap();
    assert!(status.success());
    wait_for("the SEP file", || {
        site.path("tftp/SEP001B0C18BDC1.cnf.xml").exists()
    });
    assert_eq!(
        read(&site.path("chained")),
        "add 00:1b:0c:18:bd:c1 198.18.0.151 SEP001B0C18BDC1 Cisco Systems, Inc. IP Phone CP-7941G\n"
    );
    assert!(daemon.stop().success());
}

/// A command whose output is a log (like `logread -f`): its lines provision phones, and
/// it is restarted when it exits.
#[test]
fn command_source_is_read_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("tftp")).unwrap();
    let script = "echo 'Fri Nov 21 08:14:29 2026 daemon.info dnsmasq-tftp[1]: file /srv/tftp/SEP001B0C18BDC1.cnf.xml not found for 198.18.0.41'; echo 'oops' >&2; exit 3";
    let config = dir.path().join("config.toml");
    fs::write(
        &config,
        format!("tftp_root = \"tftp\"\nstate_dir = \"state\"\n[pbx]\nfreepbx_csv = \"freepbx.csv\"\n[provision]\ntftp_only = \"auto\"\n[[source]]\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"{script}\"]\n"),
    )
    .unwrap();
    let site = Site { dir };
    let daemon = Daemon::start(&site);
    // A TFTP-only request names no model: the phone's 7940/7960 file is written, its
    // SEP file waits for the model.
    wait_for("the phone's file", || {
        site.path("tftp/SIP001B0C18BDC1.cnf").exists()
    });
    daemon.wait_log("command source exited");
    daemon.wait_log("restarting command source after a pause");
    // Its last words on stderr are logged before its exit, every time: stdout closing
    // first does not lose them (it did about one run in a dozen).
    let log = daemon.log_text();
    let (stderr_at, exit_at) = (
        log.find("command source stderr"),
        log.find("command source exited"),
    );
    assert!(
        stderr_at.is_some_and(|stderr_at| Some(stderr_at) < exit_at),
        "{log}"
    );
    let check = site.run(&["check", "-c", &site.config()]);
    assert!(check.status.success(), "{check:?}");
    assert!(daemon.stop().success());
}

/// Read positions survive a restart: nothing is replayed, nothing written while the daemon
/// was down is missed.
#[test]
fn restart_resumes_the_log_where_it_stopped() {
    let site = Site::new("");
    // Each phone at its own address: one address asking for two phones' files is spoofing.
    let line = |mac: &str| {
        let host = u8::from_str_radix(&mac[10..], 16).unwrap();
        format!("Nov 21 08:14:29 dnsmasq-tftp[1]: file /srv/tftp/SEP{mac}.cnf.xml not found for 198.18.0.{host}\n")
    };
    let daemon = Daemon::start(&site);
    site.append("tftp.log", &line("001B0C18BDC1"));
    wait_for("phone 1", || site.path("tftp/SIP001B0C18BDC1.cnf").exists());
    assert!(daemon.stop().success());

    site.append("tftp.log", &line("001B0C18BDC3"));
    let daemon = Daemon::start(&site);
    wait_for("phone 3", || site.path("tftp/SIP001B0C18BDC3.cnf").exists());
    std::thread::sleep(Duration::from_millis(200));
    let log = daemon.log_text();
    assert_eq!(
        log.matches("log line").count(),
        1,
        "only the new line is read:\n{log}"
    );
    assert_eq!(log.matches("phone detected").count(), 1, "{log}");
    assert!(daemon.stop().success());
}

/// A log whose directory does not exist yet, and a log that is a symlink re-pointed to
/// another file: both are followed without polling.
#[test]
fn missing_directories_and_symlinked_logs_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("tftp")).unwrap();
    fs::create_dir(dir.path().join("real")).unwrap();
    fs::write(dir.path().join("real/a.log"), "").unwrap();
    std::os::unix::fs::symlink(dir.path().join("real/a.log"), dir.path().join("link.log")).unwrap();
    fs::write(
        dir.path().join("config.toml"),
        "tftp_root = \"tftp\"\nstate_dir = \"state\"\n[provision]\ntftp_only = \"auto\"\n\
         [[source]]\nkind = \"log\"\npath = \"link.log\"\n\
         [[source]]\nkind = \"log\"\npath = \"later/logs/tftp.log\"\n",
    )
    .unwrap();
    let site = Site { dir };
    // Each phone at its own address: one address asking for two phones' files is spoofing.
    let line = |mac: &str| {
        let host = u8::from_str_radix(&mac[10..], 16).unwrap();
        format!("Nov 21 08:14:29 dnsmasq-tftp[1]: file /srv/tftp/SEP{mac}.cnf.xml not found for 198.18.0.{host}\n")
    };
    let daemon = Daemon::start(&site);
    daemon.wait_log("source directory does not exist yet; waiting for it");

    site.append("real/a.log", &line("001B0C18BDC1"));
    wait_for("phone 1 via the symlink target", || {
        site.path("tftp/SIP001B0C18BDC1.cnf").exists()
    });

    fs::write(site.path("real/b.log"), "").unwrap();
    std::os::unix::fs::symlink(site.path("real/b.log"), site.path("link.new")).unwrap();
    fs::rename(site.path("link.new"), site.path("link.log")).unwrap();
    site.append("real/b.log", &line("001B0C18BDC2"));
    wait_for("phone 2 via the re-pointed symlink", || {
        site.path("tftp/SIP001B0C18BDC2.cnf").exists()
    });

    fs::create_dir_all(site.path("later/logs")).unwrap();
    site.append("later/logs/tftp.log", &line("001B0C18BDC3"));
    wait_for("phone 3 in the late directory", || {
        site.path("tftp/SIP001B0C18BDC3.cnf").exists()
    });
    assert!(daemon.stop().success());
}

/// The daemon keeps the dnsmasq snippet written and runs the reload command only when the
/// snippet's text changed: a DHCP server replaying its leases after a reload changes
/// nothing, so a reload never causes another.
#[test]
fn snippets_are_written_and_reloads_never_loop() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("tftp")).unwrap();
    fs::create_dir(dir.path().join("dnsmasq.d")).unwrap();
    let reloads = dir.path().join("reloads");
    fs::write(
        dir.path().join("config.toml"),
        format!(
            "tftp_root = \"tftp\"\nstate_dir = \"state\"\n\
             [dhcp]\ntftp_server = \"198.18.0.1\"\ndnsmasq_snippet = \"dnsmasq.d/cisco-autoprov.conf\"\n\
             reload_command = [\"sh\", \"-c\", \"echo reload >> {}\"]\nreservations = true\n\
             [[source]]\nkind = \"dnsmasq-leases\"\npath = \"dhcp.leases\"\n",
            reloads.display()
        ),
    )
    .unwrap();
    let site = Site { dir };
    let snippet = site.path("dnsmasq.d/cisco-autoprov.conf");
    let n_reloads = || read(&reloads).lines().count();

    let printed = site.run(&["snippet", "dnsmasq", "-c", &site.config()]);
    assert!(printed.status.success(), "{printed:?}");
    let hex = site.run(&["snippet", "hex", "-c", &site.config()]);
    assert_eq!(String::from_utf8_lossy(&hex.stdout).trim(), "0x010012C6");

    let daemon = Daemon::start(&site);
    wait_for("the snippet and one reload", || {
        snippet.exists() && n_reloads() == 1
    });
    assert_eq!(
        read(&snippet),
        String::from_utf8_lossy(&printed.stdout),
        "the daemon writes what `snippet` prints"
    );

    // A new phone: its reservation changes the snippet, one more reload.
    site.append("dhcp.leases", LEASE_7941);
    site.append("tftp.log", TERM_7941);
    wait_for("the reservation", || {
        read(&snippet).contains("dhcp-host=00:1b:0c:18:bd:c1")
    });
    wait_for("the second reload", || n_reloads() == 2);

    // dnsmasq reloads and rewrites its lease file with the same leases; the config is
    // reloaded too: nothing changes, no reload follows.
    fs::write(site.path("dhcp.leases"), LEASE_7941).unwrap();
    daemon.signal("HUP");
    daemon.wait_log("configuration reloaded");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(n_reloads(), 2, "a reload must not cause another");
    assert!(daemon.stop().success());
}

/// Seed 003's 7906: it loops on term06.default.loads under a 9.x load. With the 8.5.2
/// stepping stone in the TFTP root it is served that first, and its target once it took it.
#[test]
fn firmware_loop_gets_the_ladder_step_then_the_target() {
    let site = Site::new("");
    let put_load = |name: &str, images: &[&str]| {
        let mut body = vec![0x89, b'S', b'G', b'N', 0];
        for image in images {
            body.extend_from_slice(format!("{image}\n").as_bytes());
            fs::write(site.path(&format!("tftp/{image}")), image).unwrap();
        }
        fs::write(site.path(&format!("tftp/{name}")), body).unwrap();
    };
    put_load(
        "SIP11.9-4-2SR3-1S.loads",
        &["jar11sip.9-4-2ES26.sbn", "apps11.9-4-2ES26.sbn"],
    );
    put_load(
        "SCCP11.8-5-2S.loads",
        &["jar11sccp.8-5-2TH1-9.sbn", "apps11.8-5-2TH1-9.sbn"],
    );
    let daemon = Daemon::start(&site);
    let line = |file: &str| {
        format!("Dec 30 10:15:32 localhost in.tftpd[1]: RRQ from 198.18.0.224 filename {file}\n")
    };
    let sep = site.path("tftp/SEP001B0C18BDC1.cnf.xml");
    site.append("tftp.log", &line("SEP001B0C18BDC1.cnf.xml"));
    site.append("tftp.log", &line("term06.default.loads"));
    wait_for("the target load", || {
        read(&sep).contains("<loadInformation>SIP11.9-4-2SR3-1S</loadInformation>")
    });
    for _ in 0..3 {
        site.append("tftp.log", &line("term06.default.loads"));
    }
    wait_for("the 8.5.2 step", || {
        read(&sep).contains("<loadInformation>SCCP11.8-5-2S</loadInformation>")
    });
    daemon.wait_log("serving the 8.5.2 stepping stone");
    site.append("tftp.log", &line("jar11sccp.8-5-2TH1-9.sbn"));
    wait_for("the target again", || {
        read(&sep).contains("<loadInformation>SIP11.9-4-2SR3-1S</loadInformation>")
    });
    assert!(daemon.stop().success());
}

/// policy = "approve": a new phone waits; `approve` reaches the running daemon at once,
/// `deny` takes the files away, `forget` removes the phone; without a daemon the decision is
/// applied to the state directly.
#[test]
fn approve_deny_forget() {
    let site = Site::new("");
    let text = fs::read_to_string(site.path("config.toml"))
        .unwrap()
        .replace("[provision]\n", "[provision]\npolicy = \"approve\"\n");
    fs::write(site.path("config.toml"), text).unwrap();
    let sep = site.path("tftp/SEP001B0C18BDC1.cnf.xml");
    let decide = |verb: &str| {
        let output = site.run(&[verb, "00:1b:0c:18:bd:c1", "-c", &site.config()]);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    let daemon = Daemon::start(&site);
    site.append("dhcp.leases", LEASE_7941);
    site.append("tftp.log", TERM_7941);
    daemon.wait_log("phone waits for approval");
    wait_for("pending in status", || {
        site.status_json()[0]["state"] == "pending"
    });
    assert!(!sep.exists());

    assert!(decide("approve").contains("handed to the running daemon"));
    wait_for("the SEP file", || sep.exists());
    assert!(decide("deny").contains("handed to the running daemon"));
    wait_for("the file removed", || !sep.exists());
    wait_for("denied in status", || {
        site.status_json()[0]["state"] == "denied"
    });
    assert!(daemon.stop().success());

    assert!(decide("approve").contains("no daemon was running"));
    assert!(sep.exists());
    assert_eq!(site.status_json()[0]["extension"], "2000");
    decide("forget");
    assert!(!sep.exists());
    assert_eq!(site.status_json(), serde_json::json!([]));
    // A MAC that is not one is a usage error.
    let bad = site.run(&["approve", "nope", "-c", &site.config()]);
    assert_eq!(bad.status.code(), Some(2));
}

/// The PBX side: extensions of a FreePBX export come first (with their secrets); phones given
/// a range extension are written to the PJSIP include and the FreePBX import CSV.
#[test]
fn pbx_files_and_the_pool_csv() {
    let site = Site::new("");
    fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/freepbx/spreadsheet-bom-crlf.csv"
        ),
        site.path("extensions.csv"),
    )
    .unwrap();
    let text = fs::read_to_string(site.path("config.toml"))
        .unwrap()
        .replace(
            "[provision]\n",
            "[provision]\npool_csv = \"extensions.csv\"\n",
        )
        .replace(
            "freepbx_csv = \"freepbx.csv\"\n",
            "pjsip_snippet = \"pjsip.cisco-autoprov.conf\"\nfreepbx_csv = \"freepbx-import.csv\"\n",
        );
    fs::write(site.path("config.toml"), text).unwrap();
    let daemon = Daemon::start(&site);
    // The export holds 2001, 2002 and 2010 with secrets (2004 has none: skipped).
    let leases: String = (1..=4)
        .map(|n| format!("1795252463 00:1b:0c:18:bd:c{n} 198.18.0.15{n} SEP001B0C18BDC{n} *\n"))
        .collect();
    site.append("dhcp.leases", &leases);
    wait_for("four phones", || {
        site.status_json()
            .as_array()
            .is_some_and(|phones| phones.iter().filter(|p| p["extension"].is_string()).count() == 4)
    });
    let found = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        read(&site.path("freepbx-import.csv")).contains("\n2000,")
    });
    assert!(
        found,
        "csv: {:?}\nlog:\n{}",
        read(&site.path("freepbx-import.csv")),
        daemon.log_text()
    );
    daemon.wait_log("skipping a pool_csv row");
    assert!(daemon.stop().success());

    let phones = site.status_json();
    let mut extensions: Vec<(String, String)> = phones
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["extension"].as_str().unwrap().to_string(),
                p["origin"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    extensions.sort();
    assert_eq!(
        extensions,
        [
            ("2000".into(), "range".into()),
            ("2001".into(), "pool".into()),
            ("2002".into(), "pool".into()),
            ("2010".into(), "pool".into())
        ]
    );
    // Models unknown (lease lines only): the phones' files are the 7940/7960 ones for now.
    let own = read(&site.path("tftp/SIP001B0C18BDC1.cnf"))
        + &read(&site.path("tftp/SIP001B0C18BDC2.cnf"));
    assert!(
        own.contains("line1_password: \"5ac9b2f18e0d4c7a91e3\""),
        "the pool's real secret"
    );

    let csv = read(&site.path("freepbx-import.csv"));
    assert!(
        csv.starts_with(
            "extension,name,description,tech,secret,direct_media,force_rport,rewrite_contact\n"
        ),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2, "only the range phone: {csv}");
    let pjsip = read(&site.path("pjsip.cisco-autoprov.conf"));
    assert!(
        pjsip.contains("[2000]") && !pjsip.contains("[2001]"),
        "{pjsip}"
    );
    // No secret in the log or in plain status; all of them with --show-secrets.
    let shown = site.run(&["status", "-c", &site.config(), "--json", "--show-secrets"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let secrets: Vec<String> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["secret"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(secrets.len(), 4);
    let plain =
        String::from_utf8_lossy(&site.run(&["status", "-c", &site.config(), "--json"]).stdout)
            .into_owned();
    let log = fs::read_to_string(site.path("daemon.log")).unwrap();
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()) && !plain.contains(secret.as_str()),
            "secret {secret} leaked"
        );
    }
    let mode = |p: &Path| {
        std::os::unix::fs::PermissionsExt::mode(&fs::metadata(p).unwrap().permissions()) & 0o777
    };
    assert_eq!(mode(&site.path("freepbx-import.csv")), 0o600);
    assert_eq!(mode(&site.path("pjsip.cisco-autoprov.conf")), 0o640);
}

/// Seed 003's in.tftpd log read by `scan` long after: times come from the lines, so the 7906's
/// loop is found as the daemon found it live. `status`, `status --json` and `explain` read it
/// from the state file; a second scan does not report it again.
#[test]
fn scan_diagnoses_an_old_log_and_explain_says_what_to_do() {
    let site = Site::new("");
    let images = [
        "jar11sip.9-4-2ES9.sbn",
        "cnu11.9-4-2ES9.sbn",
        "apps11.9-4-2ES9.sbn",
        "dsp11.9-4-2ES9.sbn",
        "cvm11sip.9-4-2ES9.sbn",
    ];
    let mut body = vec![0x89, b'S', b'G', b'N', 0];
    for image in images {
        body.extend_from_slice(format!("{image}\n").as_bytes());
        fs::write(site.path(&format!("tftp/{image}")), image).unwrap();
    }
    fs::write(site.path("tftp/SIP11.9-4-2SR1-1S.loads"), &body).unwrap();
    fs::write(site.path("tftp/term06.default.loads"), &body).unwrap();
    site.append(
        "dhcp.leases",
        "1795252463 00:1b:0c:18:bd:c1 192.168.0.224 SEP001B0C18BDC1 01:00:1b:0c:18:bd:c1\n",
    );
    for (time, pid) in [
        ("10:15:32", 24929),
        ("10:15:33", 24950),
        ("10:18:00", 25093),
        ("10:18:00", 25094),
        ("10:19:33", 25151),
        ("10:19:34", 25152),
    ] {
        site.append(
            "tftp.log",
            &format!("Dec 30 {time} localhost in.tftpd[{pid}]: RRQ from 192.168.0.224 filename term06.default.loads\n"),
        );
    }
    let output = site.run(&["scan", "-c", &site.config()]);
    assert!(output.status.success(), "{output:?}");
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(summary.contains("problems: 1 firmware-loop"), "{summary}");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(log.matches("code=firmware-loop").count(), 1, "{log}");

    let table = site.run(&["status", "-c", &site.config()]);
    let table = String::from_utf8_lossy(&table.stdout);
    // The first line says whether the daemon runs; the table follows.
    let header = table.lines().nth(1).unwrap();
    for column in [
        "MAC",
        "IP",
        "MODEL",
        "EXT",
        "STATE",
        "LAST SEEN",
        "DIAGNOSIS",
    ] {
        assert!(header.contains(column), "{table}");
    }
    assert!(
        table.contains("stuck") && table.contains("firmware-loop"),
        "{table}"
    );

    let phone = &site.status_json()[0];
    assert_eq!(phone["state"], "stuck", "{phone}");
    assert_eq!(phone["boot_state"], "loading firmware", "{phone}");
    assert_eq!(phone["stuck_reason"], "firmware-loop", "{phone}");
    assert_eq!(phone["diagnoses"][0]["code"], "firmware-loop", "{phone}");
    let message = phone["diagnoses"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("term06.default.loads 6 times in 4 min")
            && message.contains("SIP11.9-4-2SR1-1S"),
        "{message}"
    );

    let explain = site.run(&["explain", "00:1b:0c:18:bd:c1", "-c", &site.config()]);
    assert!(explain.status.success(), "{explain:?}");
    let text = String::from_utf8_lossy(&explain.stdout);
    for needle in [
        "phone 001B0C18BDC1: model 7906",
        "state: stuck (boot state: loading firmware)",
        "DHCP lease 192.168.0.224",
        "TFTP term06.default.loads: requested (x6, the last at",
        "10:19:34 +00:00)",
        "timeline (local time, zone from TZ=UTC)",
        "firmware-loop (since",
        "what to do:",
        "8.5.2",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    let unknown = site.run(&["explain", "001b0c18bdc9", "-c", &site.config()]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no phone 001B0C18BDC9 is known"));

    // Reported once: the state remembers it.
    let again = site.run(&["scan", "-c", &site.config()]);
    assert!(again.status.success(), "{again:?}");
    assert!(!String::from_utf8_lossy(&again.stderr).contains("code=firmware-loop"));
}

/// With no readable source of TFTP requests (field-evidence.md §5: Debian 12 has no
/// `/var/log/syslog`), a lease with no request after it says nothing: no
/// `no-tftp-after-lease`, and `check` warns about the missing log with the fix. Once the log
/// appears and is read, requests can be seen again, and the daemon says so.
#[test]
fn a_missing_tftp_log_judges_no_phone() {
    let site = Site::new("[diagnostics]\nno_tftp_after_s = 1\n");
    let check = site.run(&["check", "-c", &site.config()]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        stdout.contains("warning: source") && stdout.contains("tftp.log (log) does not exist"),
        "{stdout}"
    );
    let daemon = Daemon::start(&site);
    site.append("dhcp.leases", LEASE_7941);
    wait_for("the phone's lease", || {
        site.status_json()[0]["state"] == "leased"
    });
    std::thread::sleep(Duration::from_millis(2500));
    let phone = &site.status_json()[0];
    assert_eq!(phone["diagnoses"], serde_json::json!([]), "{phone}");
    assert!(daemon
        .log_text()
        .contains("no source of tftp requests can be read"));
    // The server starts logging: once the log is read, requests can be seen again.
    site.append("tftp.log", "");
    daemon.wait_log("tftp requests can be seen again");
    drop(daemon);
    fs::remove_file(site.path("tftp.log")).unwrap();
    // scan over the same files: the same verdict.
    let scan = site.run(&["scan", "-c", &site.config()]);
    assert!(scan.status.success(), "{scan:?}");
    let stderr = String::from_utf8_lossy(&scan.stderr);
    assert!(!stderr.contains("no-tftp-after-lease"), "{stderr}");
}

/// A lease and no TFTP request: the daemon's deadline timer (armed only while a phone waits)
/// finds `no-tftp-after-lease` after `no_tftp_after_s`, reports it once, and `status` shows it;
/// the phone's first request clears it.
#[test]
fn daemon_finds_a_phone_that_never_asks_for_a_file() {
    let site = Site::new("[diagnostics]\nno_tftp_after_s = 1\n");
    // The TFTP server's log exists (empty): requests could be seen, and none comes.
    site.append("tftp.log", "");
    let daemon = Daemon::start(&site);
    site.append("dhcp.leases", LEASE_7941);
    wait_for("the diagnosis", || {
        site.status_json()[0]["diagnoses"][0]["code"] == "no-tftp-after-lease"
    });
    let phone = &site.status_json()[0];
    assert_eq!(phone["state"], "stuck", "{phone}");
    let message = phone["diagnoses"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("`cisco-autoprov snippet dnsmasq`"),
        "{message}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        daemon
            .log_text()
            .matches("code=no-tftp-after-lease")
            .count(),
        1,
        "{}",
        daemon.log_text()
    );

    site.append(
        "tftp.log",
        "Nov 21 08:14:29 dnsmasq-tftp[1]: sent /srv/tftp/term41.default.loads to 198.18.0.151\n",
    );
    wait_for("the problem gone", || {
        site.status_json()[0]["diagnoses"] == serde_json::json!([])
    });
    assert_eq!(site.status_json()[0]["state"], "loading firmware");
    daemon.wait_log("phone problem gone");
    assert!(daemon.stop().success());
}

/// The state lost, the TFTP root kept (field-evidence.md §5: two phones ended up on one
/// extension although the files on disk still held each phone's extension and secret): the
/// assignments come back from the phones' own files, so a new phone gets a new extension and
/// the old ones keep theirs, secrets included.
#[test]
fn a_lost_state_is_rebuilt_from_the_phone_files() {
    let site = Site::new("");
    site.append(
        "dhcp.leases",
        "1795252463 00:1b:0c:18:bd:c1 198.18.0.151 SEP001B0C18BDC1 *\n\
         1795252464 00:1b:0c:18:bd:c2 198.18.0.152 SEP001B0C18BDC2 *\n",
    );
    let scan = site.run(&["scan", "-c", &site.config()]);
    assert!(scan.status.success(), "{scan:?}");
    let before = site.run(&["status", "-c", &site.config(), "--json", "--show-secrets"]);
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    let assigned = |status: &serde_json::Value, mac: &str| {
        let phone = status
            .as_array()
            .unwrap()
            .iter()
            .find(|phone| phone["mac"] == mac)
            .unwrap_or_else(|| panic!("{mac} not in {status}"));
        (phone["extension"].clone(), phone["secret"].clone())
    };
    let a = assigned(&before, "001B0C18BDC1");
    let b = assigned(&before, "001B0C18BDC2");
    assert_ne!(a.0, b.0);

    fs::remove_dir_all(site.path("state")).unwrap();
    // A new phone's lease comes first in the file: without the files it would get 2000.
    let leases = fs::read_to_string(site.path("dhcp.leases")).unwrap();
    fs::write(
        site.path("dhcp.leases"),
        format!("1795252465 00:1b:0c:18:bd:c3 198.18.0.153 SEP001B0C18BDC3 *\n{leases}"),
    )
    .unwrap();
    let scan = site.run(&["scan", "-c", &site.config()]);
    assert!(scan.status.success(), "{scan:?}");
    let stderr = String::from_utf8_lossy(&scan.stderr);
    assert_eq!(
        stderr
            .matches("assignment taken back from the phone's file")
            .count(),
        2,
        "{stderr}"
    );
    let after = site.run(&["status", "-c", &site.config(), "--json", "--show-secrets"]);
    let after: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(assigned(&after, "001B0C18BDC1"), a);
    assert_eq!(assigned(&after, "001B0C18BDC2"), b);
    let c = assigned(&after, "001B0C18BDC3");
    assert!(c.0 != a.0 && c.0 != b.0, "the new phone got {c:?}");
    // The files are ours again: rewritten when needed, never "edited by hand".
    assert!(!stderr.contains("edited by hand"), "{stderr}");
}

/// America/New_York's TZif file from tzdata (tests/data/zoneinfo/SOURCE.md), as `TZ=:path`
/// names it: the test does not depend on the machine's tzdata.
fn new_york_tz() -> String {
    format!(
        ":{}/tests/data/zoneinfo/America/New_York",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A box in New York (the TZif file or the POSIX rule in `TZ`): OpenWrt's logread line, which
/// has a year but no offset (formats.md §8.1, from ubox's logread.c), is read as local time
/// (field-evidence.md §5: read as UTC, the stamps were five hours off); `status --json` keeps Unix seconds and adds
/// the local time, `status` and `explain` print local time with the offset, `check` names the
/// zone. The same lines in UTC give times five hours earlier.
#[test]
fn zone_less_stamps_are_read_and_shown_in_the_system_zone() {
    let site = Site::new("");
    site.append(
        "tftp.log",
        "Sat Nov 21 08:14:23 2026 daemon.info dnsmasq-dhcp[1]: DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1 SEP001B0C18BDC1\n",
    );
    // `TZ=America/New_York date -d '2026-11-21 08:14:23' +%s`
    let local = 1_795_266_863;
    for tz in [new_york_tz().as_str(), "EST5EDT,M3.2.0,M11.1.0"] {
        let _ = fs::remove_dir_all(site.path("state"));
        let scan = site.run_in(tz, &["scan", "-c", &site.config()]);
        assert!(scan.status.success(), "{scan:?}");
        let json = site.run_in(tz, &["status", "-c", &site.config(), "--json"]);
        let phones: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let phone = &phones[0];
        assert_eq!(phone["first_seen"], local, "{tz}: {phone}");
        assert_eq!(phone["last_seen"], local, "{tz}: {phone}");
        assert_eq!(
            phone["last_seen_local"], "2026-11-21T08:14:23-05:00",
            "{tz}: {phone}"
        );
        let table = site.run_in(tz, &["status", "-c", &site.config()]);
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(
            table.contains("2026-11-21 08:14:23 -05:00 ("),
            "{tz}:\n{table}"
        );
        let explain = site.run_in(tz, &["explain", "001b0c18bdc1", "-c", &site.config()]);
        let text = String::from_utf8_lossy(&explain.stdout);
        assert!(
            text.contains("seen from 2026-11-21 08:14:23 -05:00 to 2026-11-21 08:14:23 -05:00"),
            "{tz}:\n{text}"
        );
        assert!(
            text.contains(&format!("zone from TZ={tz}")),
            "{tz}:\n{text}"
        );
        let check = site.run_in(tz, &["check", "-c", &site.config()]);
        let check = String::from_utf8_lossy(&check.stdout);
        assert!(
            check.contains(&format!("time zone from TZ={tz} (now ")),
            "{tz}: {check}"
        );
    }
    // The same line on a box in UTC.
    let _ = fs::remove_dir_all(site.path("state"));
    assert!(site.run(&["scan", "-c", &site.config()]).status.success());
    let phone = &site.status_json()[0];
    assert_eq!(phone["first_seen"], local - 5 * 3600, "{phone}");
    assert_eq!(
        phone["last_seen_local"], "2026-11-21T08:14:23+00:00",
        "{phone}"
    );
    // A TZ the binary cannot use is named by `check` and skipped.
    let check = site.run_in("Mars/Olympus_Mons", &["check", "-c", &site.config()]);
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        text.contains("time zone: TZ=\"Mars/Olympus_Mons\" skipped"),
        "{text}"
    );
}

/// Field evidence §5: a New York box warned "no TFTP request for 5 h" one second after boot,
/// because the lease line's local stamp was read as UTC. The daemon, in New York, reads a
/// dnsmasq DHCPACK stamped with the local time now and must not find `no-tftp-after-lease`
/// before `no_tftp_after_s` (60 s here) has passed.
#[test]
fn a_lease_stamped_in_local_time_is_not_hours_old() {
    use cisco_autoprov::localtime::LocalZone;
    let site = Site::new("[diagnostics]\nno_tftp_after_s = 60\n");
    let tz = new_york_tz();
    let zone =
        LocalZone::from_tzif(&fs::read(tz.trim_start_matches(':')).unwrap(), "test").unwrap();
    let daemon = Daemon::start_in(&site, &tz);
    daemon.wait_log("local time zone");
    assert!(
        daemon.log_text().contains(&format!("origin=\"TZ={tz}\"")),
        "{}",
        daemon.log_text()
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (wall, _) = zone.wall_clock(now);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    site.append(
        "tftp.log",
        &format!(
            "{} {:2} {:02}:{:02}:{:02} dnsmasq-dhcp[1]: DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1 SEP001B0C18BDC1\n",
            MONTHS[wall.month as usize - 1],
            wall.day,
            wall.hour,
            wall.minute,
            wall.second
        ),
    );
    wait_for("the lease", || {
        site.status_json()[0]["mac"] == "001B0C18BDC1"
    });
    std::thread::sleep(Duration::from_millis(1500));
    let phone = &site.status_json()[0];
    assert_eq!(phone["diagnoses"], serde_json::json!([]), "{phone}");
    assert!(
        (phone["last_seen"].as_i64().unwrap() - now).abs() <= 2,
        "{phone}"
    );
    assert!(
        !daemon.log_text().contains("no-tftp-after-lease"),
        "{}",
        daemon.log_text()
    );
    assert!(daemon.stop().success());
}

/// A log renamed away (logrotate's default `create`) before the server reopens its log: the
/// server writes on into `log.1`, and a phone booting then must not wait until the new file
/// appears (issue 14: about 2 s). The write to `log.1` wakes the daemon, which reads it
/// through the descriptor it still holds.
#[test]
fn a_log_renamed_away_is_followed_until_the_new_one_appears() {
    let site = Site::new("");
    site.append("tftp.log", "");
    let daemon = Daemon::start(&site);
    site.append(
        "tftp.log",
        "Nov 21 08:14:29 dnsmasq-tftp[1]: file /srv/tftp/SEP001B0C18BDC1.cnf.xml not found for 198.18.0.151\n",
    );
    wait_for("the first phone", || {
        site.status_json()
            .as_array()
            .is_some_and(|phones| phones.len() == 1)
    });
    fs::rename(site.path("tftp.log"), site.path("tftp.log.1")).unwrap();
    // The daemon handles the rename first (nothing new to read then).
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    site.append(
        "tftp.log.1",
        "Nov 21 08:14:30 dnsmasq-tftp[1]: file /srv/tftp/SEP001B0C18BDC2.cnf.xml not found for 198.18.0.152\n",
    );
    wait_for("the phone logged into the renamed log", || {
        site.status_json()
            .as_array()
            .is_some_and(|phones| phones.iter().any(|p| p["mac"] == "001B0C18BDC2"))
    });
    // Seen at once (the state is saved 0.3 s after), long before a new log would appear.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(!site.path("tftp.log").exists());
    drop(daemon);
}

/// `tftp_unique_root` switched on and off again with a phone provisioned (field-evidence.md
/// §4: dnsmasq's `tftp-unique-root=mac` serves `<root>/<mac>/<file>`): the phone's file moves
/// into its directory, and back to the root, the directory going with it; nothing of it stays
/// where the other setting would leave it to any host.
#[test]
fn unique_root_switched_on_and_off_moves_the_phone_files() {
    let site = Site::new("");
    let plain = fs::read_to_string(site.path("config.toml")).unwrap();
    site.append("dhcp.leases", LEASE_7941);
    site.append("tftp.log", TERM_7941);
    let dir = site.path("tftp/00-1b-0c-18-bd-c1");
    let name = "SEP001B0C18BDC1.cnf.xml";
    let scan = |what: &str| {
        let output = site.run(&["scan", "-c", &site.config()]);
        assert!(output.status.success(), "{what}: {output:?}");
    };
    scan("plain");
    assert!(site.path("tftp").join(name).is_file() && !dir.exists());
    fs::write(
        site.path("config.toml"),
        format!("tftp_unique_root = \"mac\"\n{plain}"),
    )
    .unwrap();
    scan("unique root");
    assert!(
        dir.join(name).is_file(),
        "the file is in the phone's directory"
    );
    assert!(
        !site.path("tftp").join(name).exists(),
        "and no longer in the root"
    );
    fs::write(site.path("config.toml"), &plain).unwrap();
    scan("plain again");
    assert!(site.path("tftp").join(name).is_file(), "back in the root");
    assert!(!dir.exists(), "the directory is gone");
}
