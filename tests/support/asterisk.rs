//! A real Asterisk 22 for end-to-end tests, running in the lab's router namespace.
//!
//! Asterisk is not in bookworm and its modules need sid's libc, so it runs from a cached
//! Debian sid chroot built by `scripts/asterisk-chroot.sh` (field-evidence.md §2). Each
//! [`Asterisk`] gets a throw-away view of that chroot:
//!
//! ```text
//!   ip netns exec <router ns>                          (the lab's network namespace)
//!     unshare --mount --propagation private            (a mount namespace of its own)
//!       /bin/sh <lab>/asterisk/start.sh                 (mounts below, then execs)
//!         chroot --userspec=64990:64990 --groups=64990 <lab>/asterisk/root
//!           /usr/sbin/asterisk -f -n -C /etc/asterisk/asterisk.conf
//!
//!   <lab>/asterisk/root                   overlay: lowerdir = the cached chroot (never written),
//!                                                   upperdir/workdir = <lab>/asterisk/{upper,work}
//!   <root>/dev/{null,zero,full,random,urandom}      bind mounts of the host's nodes
//!   <root>/proc                                     a proc mount
//!   <root>/etc/asterisk                 bind mount of <lab>/asterisk/etc        (Asterisk::etc_dir)
//!   <root>/var/log/asterisk             bind mount of <lab>/asterisk/log        (Asterisk::log_path)
//!   <root>/var/spool/asterisk/voicemail bind mount of <lab>/asterisk/voicemail  (Asterisk::mailbox_dir)
//! ```
//!
//! Why it looks like this:
//! - **Nothing is mounted on the host.** Every mount lives in the private mount namespace
//!   that `unshare` creates for Asterisk; the kernel drops them with its last process. `ip
//!   netns exec` already makes its own (slave) mount namespace; `--propagation private` makes
//!   sure nothing travels in either direction.
//! - **The spawned pid is Asterisk.** `ip netns exec`, `unshare`, `sh` (`exec`) and `chroot`
//!   all exec, so the lab's SIGTERM on drop reaches Asterisk itself, and
//!   `/proc/<pid>/status` is Asterisk's.
//! - **Never as root.** On Debian and FreePBX Asterisk runs as user `asterisk`; the field
//!   failure this lab exists for (a PJSIP include the daemon wrote `root:root 0640`, unreadable
//!   for Asterisk; field-evidence.md §2) only shows when it does here too. `chroot --userspec`
//!   drops to uid and gid [`ASTERISK_UID`] with no other group before Asterisk starts, rather
//!   than Asterisk's own `-U`, which starts as root. The chroot script gave the user that
//!   fixed id so that host files can be given to its group across the chroot boundary.
//! - **Host directories for what tests read and write**: `/etc/asterisk` (a file the daemon
//!   under test writes there is exactly what Asterisk reads), the log, and the voicemail spool
//!   are bind mounts of lab directories, so the host sees them without looking into the
//!   overlay (writing into an overlay's upper dir behind its back is undefined).
//! - **Readiness is polled**: the `full` log's `Asterisk Ready`, then `core waitfullybooted`,
//!   then the SIP (UDP and TCP) and AMI sockets in `/proc/<pid>/net`.
//!
//! Modules: `autoload=yes`, minus those that open ports or talk to outside services (IAX2,
//! UNISTIM, DUNDi, HTTP/ARI, HEP, XMPP, …), CDR/CEL backends, the ODBC voicemail that
//! conflicts with `app_voicemail`, and applications that refuse to load without a config of
//! their own; see [`NOLOAD_MODULES`]. A few configs are written empty or copied from Debian's
//! samples so that a start logs no error; the one warning left is `res_musiconhold`'s "No
//! music on hold classes configured" (the chroot has no sound files). Start-up takes about
//! 0.4 s (263 modules).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::netns::{
    file_len, find_program, set_mode, skip_or_fail, tail_of, Lab, Ns, ProcessId, RunOutput,
    POLL_STEP, READY_TIMEOUT,
};

/// Environment variable naming the cached chroot; see [`asterisk_chroot`].
pub const ASTERISK_CHROOT_ENV: &str = "ASTERISK_CHROOT";
/// Where `scripts/asterisk-chroot.sh` builds the chroot by default.
pub const ASTERISK_CHROOT_DEFAULT: &str = "/var/cache/cisco-autoprov-test/asterisk-sid";
/// The file `scripts/asterisk-chroot.sh` writes last: without it the chroot is incomplete.
pub const ASTERISK_CHROOT_MARKER: &str = ".cisco-autoprov-complete";
/// Uid and gid of user and group `asterisk` inside the chroot (fixed by the chroot script so
/// that it collides with no host user). Asterisk runs as this uid and gid.
pub const ASTERISK_UID: u32 = 64990;
/// Programs [`Asterisk::start`] needs on the host, besides `ip`.
pub const ASTERISK_PROGRAMS: &[&str] = &["unshare", "mount", "chroot", "nsenter"];
/// How long Asterisk may take to be fully booted and listening. Far above the few seconds
/// it takes: the machine running the tests may be busy with other builds.
pub const ASTERISK_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound for one `asterisk -rx` or one AMI exchange.
pub const ASTERISK_COMMAND_TIMEOUT: Duration = Duration::from_secs(15);
/// SIP port of both transports.
pub const SIP_PORT: u16 = 5060;
/// AMI port, on 127.0.0.1 of the router namespace only.
pub const AMI_PORT: u16 = 5038;
/// The AMI user of `manager.conf`.
pub const AMI_USER: &str = "autoprov-test";
/// Its secret. Only reachable from inside the lab's router namespace.
pub const AMI_SECRET: &str = "autoprov-test-secret";

/// Modules not loaded, to keep start-up fast and quiet and to open no port besides SIP and
/// AMI: other channel drivers and their listeners (IAX2 4569, UNISTIM 5000, DUNDi 4520,
/// Motif/XMPP, WebSocket, AudioSocket, console audio), the HTTP server and everything on it
/// (ARI and Stasis, phoneprov, Prometheus, WebSocket transport), HEP capture, SNMP, statsd,
/// calendars, database/realtime back ends, CDR and CEL back ends, fax, STIR/SHAKEN, AEAP
/// speech, unbound as resolver, and `app_voicemail_odbc`, which registers the same
/// applications as `app_voicemail`. Also the applications that decline to load without a
/// config file of their own (queues, agents, ConfBridge and Page, AMD, FollowMe, MiniVM,
/// parking, CLI aliases, geolocation) and the deprecated ADSI modules, which warn at every
/// start. With these off, a start logs no error.
pub const NOLOAD_MODULES: &[&str] = &[
    "chan_iax2.so",
    "chan_unistim.so",
    "chan_motif.so",
    "chan_websocket.so",
    "chan_audiosocket.so",
    "chan_console.so",
    "pbx_dundi.so",
    "pbx_lua.so",
    "pbx_ael.so",
    "pbx_realtime.so",
    "res_xmpp.so",
    "res_http_websocket.so",
    "res_http_post.so",
    "res_http_media_cache.so",
    "res_websocket_client.so",
    "res_pjsip_transport_websocket.so",
    "res_ari.so",
    "res_ari_applications.so",
    "res_ari_asterisk.so",
    "res_ari_bridges.so",
    "res_ari_channels.so",
    "res_ari_device_states.so",
    "res_ari_endpoints.so",
    "res_ari_events.so",
    "res_ari_model.so",
    "res_ari_playbacks.so",
    "res_ari_recordings.so",
    "res_ari_sounds.so",
    "res_phoneprov.so",
    "res_pjsip_phoneprov_provider.so",
    "res_prometheus.so",
    "res_hep.so",
    "res_hep_pjsip.so",
    "res_hep_rtcp.so",
    "res_snmp.so",
    "res_statsd.so",
    "res_calendar.so",
    "res_calendar_caldav.so",
    "res_calendar_ews.so",
    "res_calendar_exchange.so",
    "res_calendar_icalendar.so",
    "res_config_curl.so",
    "res_config_ldap.so",
    "res_config_odbc.so",
    "res_config_pgsql.so",
    "res_config_sqlite3.so",
    "res_odbc.so",
    "res_odbc_transaction.so",
    "func_odbc.so",
    "res_smdi.so",
    "res_audiosocket.so",
    "res_aeap.so",
    "res_speech_aeap.so",
    "res_stir_shaken.so",
    "res_pjsip_stir_shaken.so",
    "res_resolver_unbound.so",
    "res_fax.so",
    "res_fax_spandsp.so",
    "res_stun_monitor.so",
    "app_voicemail_odbc.so",
    "app_jack.so",
    "app_festival.so",
    "app_audiosocket.so",
    "app_stasis.so",
    "app_stasis_broadcast.so",
    "res_stasis.so",
    "res_stasis_answer.so",
    "res_stasis_broadcast.so",
    "res_stasis_device_state.so",
    "res_stasis_playback.so",
    "res_stasis_recording.so",
    "res_stasis_snoop.so",
    "res_stasis_test.so",
    "res_geolocation.so",
    "res_pjsip_geolocation.so",
    "res_parking.so",
    "res_clialiases.so",
    "res_adsi.so",
    "app_adsiprog.so",
    "app_getcpeid.so",
    "app_agent_pool.so",
    "app_alarmreceiver.so",
    "app_amd.so",
    "app_confbridge.so",
    "app_page.so",
    "app_followme.so",
    "app_minivm.so",
    "app_queue.so",
    "cdr_adaptive_odbc.so",
    "cdr_csv.so",
    "cdr_custom.so",
    "cdr_manager.so",
    "cdr_odbc.so",
    "cdr_pgsql.so",
    "cdr_radius.so",
    "cdr_sqlite3_custom.so",
    "cdr_tds.so",
    "cel_custom.so",
    "cel_manager.so",
    "cel_odbc.so",
    "cel_pgsql.so",
    "cel_radius.so",
    "cel_sqlite3_custom.so",
    "cel_tds.so",
];

/// Number of the next AMI action in this process, for unique `ActionID`s.
static NEXT_ACTION: AtomicU32 = AtomicU32::new(0);

/// The cached chroot: `$ASTERISK_CHROOT`, else [`ASTERISK_CHROOT_DEFAULT`], if it holds the
/// marker file [`ASTERISK_CHROOT_MARKER`] (the build script writes it last, so a half-built
/// chroot is never used).
pub fn asterisk_chroot() -> Option<PathBuf> {
    let dir = std::env::var_os(ASTERISK_CHROOT_ENV)
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(ASTERISK_CHROOT_DEFAULT), PathBuf::from);
    dir.join(ASTERISK_CHROOT_MARKER).is_file().then_some(dir)
}

/// Why Asterisk cannot run here, if it cannot: no complete chroot, or no overlayfs. The lab's
/// own prerequisites (root, programs) are checked by [`Lab::start`].
pub fn missing_asterisk() -> Option<String> {
    if asterisk_chroot().is_none() {
        let dir = std::env::var(ASTERISK_CHROOT_ENV)
            .ok()
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| ASTERISK_CHROOT_DEFAULT.to_string());
        return Some(format!(
            "no complete asterisk chroot at {dir} (build it with scripts/asterisk-chroot.sh; \
             ${ASTERISK_CHROOT_ENV} names another directory)"
        ));
    }
    if !overlay_available() {
        return Some("the kernel has no overlay filesystem".to_string());
    }
    None
}

/// Whether overlayfs is in the kernel or can be loaded: listed in `/proc/filesystems`, or
/// its module is installed (mount(2) loads it on first use).
fn overlay_available() -> bool {
    let filesystems = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if filesystems
        .lines()
        .any(|line| line.split_whitespace().last() == Some("overlay"))
    {
        return true;
    }
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dir = Path::new("/lib/modules")
        .join(release.trim())
        .join("kernel/fs/overlayfs");
    fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("overlay.ko")
        })
    })
}

/// A lab for an Asterisk test: [`missing_asterisk`], then [`Lab::start`] with
/// [`ASTERISK_PROGRAMS`] plus `programs`. Prints why the test is skipped and returns `None`
/// when something is missing; panics instead with `CI=true`.
#[track_caller]
pub fn start_lab(test: &str, programs: &[&str]) -> Option<Lab> {
    if let Some(reason) = missing_asterisk() {
        skip_or_fail(test, &reason);
        return None;
    }
    let all: Vec<&str> = ASTERISK_PROGRAMS.iter().chain(programs).copied().collect();
    Lab::start(test, &all)
}

/// What the test wants Asterisk to run with. The rest of `/etc/asterisk` (asterisk.conf,
/// modules.conf, logger.conf, manager.conf, cdr.conf and the base of pjsip.conf) is written
/// by [`Asterisk::start`].
#[derive(Debug, Clone)]
pub struct AsteriskConfig {
    /// Address of both SIP transports (UDP and TCP, port [`SIP_PORT`]); normally
    /// [`Lab::router_ip`].
    pub bind: Ipv4Addr,
    /// The whole `extensions.conf` (dialplan).
    pub extensions_conf: String,
    /// Appended to `pjsip.conf` after `[global]` and the two transports, e.g.
    /// `#include pjsip.cisco-autoprov.conf`. A missing or unreadable `#include` makes the
    /// whole file invalid, transports included (field-evidence.md §2).
    pub pjsip_extra: String,
    /// The whole `voicemail.conf`; `[general]` can set e.g. `pollmailboxes=yes` and
    /// `pollfreq=1` so that files dropped into [`Asterisk::mailbox_dir`] are noticed.
    pub voicemail_conf: String,
}

impl AsteriskConfig {
    /// SIP on `bind`, an empty `default` context, nothing in `pjsip_extra`, and a
    /// `voicemail.conf` that only polls mailboxes every second.
    pub fn new(bind: Ipv4Addr) -> AsteriskConfig {
        AsteriskConfig {
            bind,
            extensions_conf: "[general]\nstatic=yes\nwriteprotect=yes\n\n[default]\n".to_string(),
            pjsip_extra: String::new(),
            voicemail_conf: "[general]\npollmailboxes=yes\npollfreq=1\n\n[default]\n".to_string(),
        }
    }
}

/// A running Asterisk inside a lab; see the module docs. It is one of the lab's processes,
/// so the lab stops it on drop (SIGTERM, then SIGKILL), and its mounts vanish with it.
#[derive(Debug)]
pub struct Asterisk {
    /// The lab's handle of the process.
    id: ProcessId,
    /// Asterisk's pid (the spawned pid: every wrapper execs).
    pid: u32,
    /// `<lab>/asterisk`: config, log, spool, overlay layers and scripts.
    base: PathBuf,
    /// The lab's router namespace, for AMI connections.
    router_ns: String,
    /// From spawn to fully booted with SIP and AMI listening.
    startup_time: Duration,
}

impl Asterisk {
    /// Writes `/etc/asterisk` into [`Asterisk::etc_dir`], mounts the overlay and bind mounts
    /// of the module docs in a private mount namespace, runs `/usr/sbin/asterisk -f -n` (in
    /// the foreground, no console, no colour codes in its stdout log `asterisk/asterisk.log`)
    /// as uid and gid [`ASTERISK_UID`] in the lab's router namespace, and waits until it has
    /// fully booted and listens on SIP (UDP and TCP) and AMI.
    ///
    /// One Asterisk at a time per lab. After [`Lab::stop`] a new `start` in the same lab is a
    /// restart: same directories, same overlay upper dir (astdb and all), a new pid (the
    /// [`Asterisk::rx_script`] is rewritten for it).
    ///
    /// Files written here are `root:asterisk 0640` in an `asterisk:asterisk 0755`
    /// directory, as Debian's package has them: a file the test (or the daemon) adds needs
    /// group [`ASTERISK_UID`] and mode 0640 too, or Asterisk cannot read it.
    ///
    /// Panics (with the log tails) if Asterisk exits or is not ready within
    /// [`ASTERISK_READY_TIMEOUT`]. Call [`start_lab`] first: it checks the chroot.
    #[track_caller]
    pub fn start(lab: &mut Lab, config: &AsteriskConfig) -> Asterisk {
        let chroot = asterisk_chroot().expect("the asterisk chroot was checked before");
        let module_dir = module_dir(&chroot);
        let base = lab.path("asterisk");
        let etc = Asterisk::etc_dir_in(lab);
        let log = base.join("log");
        let voicemail = base.join("voicemail");
        let (upper, work, root) = (base.join("upper"), base.join("work"), base.join("root"));
        for dir in [&base, &etc, &log, &voicemail, &upper, &work, &root] {
            fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        set_mode(&base, 0o755);
        for (dir, mode) in [(&etc, 0o755), (&log, 0o755), (&voicemail, 0o750)] {
            give_to_asterisk(dir, ASTERISK_UID, mode);
        }

        let mut files = vec![
            ("asterisk.conf", asterisk_conf(&module_dir)),
            ("modules.conf", modules_conf()),
            ("logger.conf", LOGGER_CONF.to_string()),
            ("manager.conf", manager_conf()),
            ("cdr.conf", "[general]\nenable=no\n".to_string()),
            ("pjsip.conf", pjsip_conf(config)),
            ("extensions.conf", config.extensions_conf.clone()),
            ("voicemail.conf", config.voicemail_conf.clone()),
        ];
        for name in EMPTY_CONFIGS {
            files.push((
                name,
                "; empty on purpose: tests/support/asterisk.rs\n".to_string(),
            ));
        }
        for name in SAMPLE_CONFIGS {
            let sample = chroot.join("etc/asterisk").join(name);
            let text = fs::read_to_string(&sample)
                .unwrap_or_else(|e| panic!("read {}: {e}", sample.display()));
            files.push((name, text));
        }
        for (name, text) in &files {
            let path = etc.join(name);
            fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            chown(&path, Some(0), Some(ASTERISK_UID))
                .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
            set_mode(&path, 0o640);
        }

        let script = base.join("start.sh");
        fs::write(
            &script,
            start_script(&chroot, &base, &etc, &log, &voicemail),
        )
        .unwrap_or_else(|e| panic!("write {}: {e}", script.display()));
        set_mode(&script, 0o755);

        let unshare = find_program("unshare").expect("unshare was checked before");
        let argv = [
            unshare.as_os_str(),
            "--mount".as_ref(),
            "--propagation".as_ref(),
            "private".as_ref(),
            "/bin/sh".as_ref(),
            script.as_os_str(),
        ];
        let full_log = log.join("full");
        lab.note_log(&full_log);
        let from = file_len(&full_log);
        let started = Instant::now();
        let id = lab.spawn_in(Ns::Router, &argv, &[], &base.join("asterisk.log"));
        let pid = lab.pid(id);
        let mut asterisk = Asterisk {
            id,
            pid,
            base,
            router_ns: lab.ns_name(Ns::Router).to_string(),
            startup_time: Duration::ZERO,
        };

        asterisk.write_rx_script();
        lab.wait_for_text(
            id,
            &full_log,
            from,
            "Asterisk Ready",
            ASTERISK_READY_TIMEOUT,
        );
        let booted = asterisk.try_rx(lab, "core waitfullybooted");
        assert!(
            booted.success() && booted.stdout.contains("fully booted"),
            "asterisk logged `Asterisk Ready` but `core waitfullybooted` failed: {booted}"
        );
        asterisk.wait_listening(lab, "udp", config.bind, SIP_PORT);
        asterisk.wait_listening(lab, "tcp", config.bind, SIP_PORT);
        asterisk.wait_listening(lab, "tcp", Ipv4Addr::LOCALHOST, AMI_PORT);
        asterisk.startup_time = started.elapsed();
        asterisk
    }

    /// Where [`Asterisk::start`] puts `/etc/asterisk` in `lab` ([`Asterisk::etc_dir`] once
    /// started): a test writes files that its config `#include`s here before the start.
    pub fn etc_dir_in(lab: &Lab) -> PathBuf {
        lab.path("asterisk/etc")
    }

    /// `asterisk -rx <command>` against this instance; returns its stdout. Panics (with the
    /// output) unless it exits 0 within [`ASTERISK_COMMAND_TIMEOUT`].
    ///
    /// It runs `nsenter -t <pid> -m -n -r -w -S 64990 -G 64990 /usr/sbin/asterisk -rx …`
    /// inside the router namespace: the chroot's own `asterisk` binary, in Asterisk's mount
    /// namespace and root (where its control socket is), as user asterisk (the socket is
    /// Asterisk's, and nothing of the test runs as root inside the chroot).
    #[track_caller]
    pub fn rx(&self, lab: &Lab, command: &str) -> String {
        let output = self.try_rx(lab, command);
        output.assert_success();
        output.stdout
    }

    /// [`Asterisk::rx`] without the success check, for polling.
    pub fn try_rx(&self, lab: &Lab, command: &str) -> RunOutput {
        let mut argv = self.nsenter_prefix();
        argv.extend(["-rx".to_string(), command.to_string()]);
        lab.run_in(Ns::Router, &argv, ASTERISK_COMMAND_TIMEOUT)
    }

    /// A host script (mode 0755, in the lab directory) that runs `asterisk -rx "$*"`
    /// against this instance exactly as [`Asterisk::rx`] does, e.g. for the daemon's
    /// `reload_command = ["<script>", "module reload res_pjsip.so"]`. Several arguments are
    /// joined with spaces, so `["<script>", "module", "reload", "res_pjsip.so"]` works too.
    pub fn rx_script(&self) -> PathBuf {
        self.base.join("rx.sh")
    }

    /// Asterisk's `full` log (verbose, notice, warning, error and DTMF messages; see
    /// `logger.conf`), a host file. [`Asterisk::start`] registers it with [`Lab::note_log`],
    /// so a failing test prints its tail.
    pub fn log_path(&self) -> PathBuf {
        self.base.join("log").join("full")
    }

    /// The host directory Asterisk sees as `/etc/asterisk`. A file written here is what
    /// Asterisk reads on its next reload; it must be readable by group [`ASTERISK_UID`].
    pub fn etc_dir(&self) -> PathBuf {
        self.base.join("etc")
    }

    /// The voicemail spool directory of `mailbox@context` as a host path
    /// (`/var/spool/asterisk/voicemail/<context>/<mailbox>` inside). Creates it and its
    /// `INBOX` (owner asterisk, mode 0750) when missing, so a test can drop a message in; a
    /// file put there must be owned by (or readable for) [`ASTERISK_UID`].
    pub fn mailbox_dir(&self, context: &str, mailbox: &str) -> PathBuf {
        let context_dir = self.base.join("voicemail").join(context);
        let mailbox_dir = context_dir.join(mailbox);
        for dir in [&context_dir, &mailbox_dir, &mailbox_dir.join("INBOX")] {
            if !dir.exists() {
                fs::create_dir(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
                give_to_asterisk(dir, ASTERISK_UID, 0o750);
            }
        }
        mailbox_dir
    }

    /// Puts message 0 into `mailbox`'s INBOX as app_voicemail stores one (file storage,
    /// `format=wav`): the `msg0000.txt` metadata and the `msg0000.wav` audio (0.1 s of
    /// silence), owned by asterisk. Asterisk counts it at its next poll of the mailbox, or
    /// at once after AMI `VoicemailRefresh`.
    pub fn leave_voicemail(&self, context: &str, mailbox: &str) {
        let inbox = self.mailbox_dir(context, mailbox).join("INBOX");
        let metadata = format!(
            "[message]\norigmailbox={mailbox}\ncontext={context}\nmacrocontext=\nexten={mailbox}\n\
             rdnis=unknown\npriority=1\ncallerchan=PJSIP/test-00000001\n\
             callerid=\"Test\" <200>\norigdate=Thu Jan  1 00:00:00 AM UTC 1970\n\
             origtime=0\ncategory=\nmsg_id=0-00000001\nflag=\nduration=1\n"
        );
        // 8 kHz, 16-bit mono PCM.
        let samples = vec![0u8; 1600];
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        for field in [16u32.to_le_bytes(), [1, 0, 1, 0], 8000u32.to_le_bytes()] {
            wav.extend_from_slice(&field);
        }
        wav.extend_from_slice(&16000u32.to_le_bytes());
        wav.extend_from_slice(&[2, 0, 16, 0]);
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&(samples.len() as u32).to_le_bytes());
        wav.extend_from_slice(&samples);
        for (name, bytes) in [("msg0000.txt", metadata.as_bytes()), ("msg0000.wav", &wav)] {
            let path = inbox.join(name);
            fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            chown(&path, Some(ASTERISK_UID), Some(ASTERISK_UID))
                .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
            set_mode(&path, 0o640);
        }
    }

    /// Sends one AMI action (`[("Action", "Ping")]`, …) as user [`AMI_USER`] and returns
    /// the response text: the response block, and for list actions (`EventList: start`) every
    /// event up to `EventList: Complete`, blocks separated by a blank line, lines ending in
    /// `\r\n` as on the wire. An `ActionID` is added unless the action has one.
    ///
    /// AMI listens on 127.0.0.1 of the router namespace only; the connection is made from a
    /// short-lived thread that entered that namespace with `setns(2)`, so no process is
    /// spawned and nothing listens anywhere else. Panics on any failure (connection, login,
    /// timeout of [`ASTERISK_COMMAND_TIMEOUT`]).
    #[track_caller]
    pub fn ami(&self, lab: &Lab, action: &[(&str, &str)]) -> String {
        let ns_path = PathBuf::from("/run/netns").join(lab.ns_name(Ns::Router));
        assert_eq!(
            lab.ns_name(Ns::Router),
            self.router_ns,
            "ami() called with another lab"
        );
        let mut lines: Vec<(String, String)> = action
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        if !lines
            .iter()
            .any(|(key, _)| key.eq_ignore_ascii_case("ActionID"))
        {
            let n = NEXT_ACTION.fetch_add(1, Ordering::SeqCst);
            lines.push(("ActionID".to_string(), format!("autoprov-{n}")));
        }
        let handle = thread::spawn(move || ami_exchange(&ns_path, &lines));
        match handle.join() {
            Ok(Ok(response)) => response,
            Ok(Err(message)) => panic!("ami {action:?}: {message}"),
            Err(_) => panic!("ami {action:?}: the connection thread panicked"),
        }
    }

    /// Asterisk's pid (also the pid the lab spawned).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The lab's handle of the process, e.g. for [`Lab::stop`] or [`Lab::is_running`].
    pub fn process_id(&self) -> ProcessId {
        self.id
    }

    /// How long [`Asterisk::start`] took from spawning to fully booted and listening.
    pub fn startup_time(&self) -> Duration {
        self.startup_time
    }

    /// The overlay's upper directory: everything Asterisk changed in the chroot (astdb,
    /// `/run/asterisk`, …), for diagnostics. Read it only; see the module docs.
    pub fn overlay_upper_dir(&self) -> PathBuf {
        self.base.join("upper")
    }

    /// Writes [`Asterisk::rx_script`] for this instance's pid.
    fn write_rx_script(&self) {
        let path = self.rx_script();
        let command = self.nsenter_prefix().join(" ");
        fs::write(
            &path,
            format!(
                "#!/bin/sh\n\
                 # `asterisk -rx` against the test's Asterisk (pid {pid}): enters its mount\n\
                 # and network namespaces and its root (the overlay chroot) and runs the\n\
                 # chroot's asterisk binary as user asterisk ({uid}), never as root.\n\
                 exec {command} -rx \"$*\"\n",
                pid = self.pid,
                uid = ASTERISK_UID,
            ),
        )
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        set_mode(&path, 0o755);
    }

    /// `nsenter` into Asterisk's namespaces and root as user asterisk, up to the chroot's
    /// `asterisk` binary; [`Asterisk::rx`] and [`Asterisk::rx_script`] add `-rx …`.
    fn nsenter_prefix(&self) -> Vec<String> {
        let nsenter = find_program("nsenter").expect("nsenter was checked before");
        let id = ASTERISK_UID.to_string();
        vec![
            nsenter.to_string_lossy().into_owned(),
            "-t".to_string(),
            self.pid.to_string(),
            "-m".to_string(),
            "-n".to_string(),
            "-r".to_string(),
            "-w".to_string(),
            "-S".to_string(),
            id.clone(),
            "-G".to_string(),
            id,
            "/usr/sbin/asterisk".to_string(),
        ]
    }

    /// Polls `/proc/<pid>/net/<protocol>` (the sockets of Asterisk's network namespace)
    /// until a socket is bound to `address:port` (for TCP: listening). Called once Asterisk
    /// is fully booted, when its transports and AMI are bound already, so the deadline is
    /// the short [`READY_TIMEOUT`]: a miss means a bad config (e.g. an unreadable pjsip
    /// `#include` leaves no transport at all), not a slow machine. Panics with the log tails
    /// if Asterisk exits first or after that.
    #[track_caller]
    fn wait_listening(&self, lab: &mut Lab, protocol: &str, address: Ipv4Addr, port: u16) {
        // Addresses are in host byte order (little-endian here), ports big-endian, both hex;
        // TCP state 0A is LISTEN.
        let local = format!("{:08X}:{port:04X}", u32::from_le_bytes(address.octets()));
        let table = PathBuf::from(format!("/proc/{}/net/{protocol}", self.pid));
        let started = Instant::now();
        loop {
            let text = fs::read_to_string(&table).unwrap_or_default();
            let bound = text.lines().any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(1) == Some(&local.as_str())
                    && (protocol != "tcp" || fields.get(3) == Some(&"0A"))
            });
            if bound {
                return;
            }
            assert!(
                lab.is_running(self.id),
                "asterisk exited before listening on {address}:{port}/{protocol}\n{}",
                tail_of(&[self.base.join("asterisk.log"), self.log_path()])
            );
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "asterisk is fully booted but does not listen on {address}:{port}/{protocol} \
                 after {READY_TIMEOUT:?} (is its config valid?)\n{}",
                tail_of(&[self.log_path()])
            );
            thread::sleep(POLL_STEP);
        }
    }
}

/// `/usr/lib/<multiarch>/asterisk/modules` of the chroot (x86_64-linux-gnu, aarch64-linux-gnu,
/// …), as a path inside it.
fn module_dir(chroot: &Path) -> String {
    let lib = chroot.join("usr/lib");
    let entries = fs::read_dir(&lib).unwrap_or_else(|e| panic!("read {}: {e}", lib.display()));
    for entry in entries.flatten() {
        if entry
            .path()
            .join("asterisk/modules/chan_pjsip.so")
            .is_file()
        {
            return format!(
                "/usr/lib/{}/asterisk/modules",
                entry.file_name().to_string_lossy()
            );
        }
    }
    panic!(
        "no usr/lib/*/asterisk/modules/chan_pjsip.so in {}",
        chroot.display()
    );
}

/// `chown uid:uid` and `chmod mode`.
fn give_to_asterisk(path: &Path, uid: u32, mode: u32) {
    chown(path, Some(uid), Some(uid)).unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    set_mode(path, mode);
}

/// The script run under `unshare --mount --propagation private`: mounts (see the module
/// docs), then execs chroot, which execs Asterisk.
fn start_script(chroot: &Path, base: &Path, etc: &Path, log: &Path, voicemail: &Path) -> String {
    let quote = |path: &Path| format!("'{}'", path.display().to_string().replace('\'', r"'\''"));
    let root = base.join("root");
    format!(
        "#!/bin/sh\n\
         # Asterisk of the e2e tests (tests/support/asterisk.rs). Runs under\n\
         # `unshare --mount --propagation private`: no mount below is visible outside this\n\
         # process, and all of them vanish with it.\n\
         set -e\n\
         root={root}\n\
         mount -t overlay -o lowerdir={lower},upperdir={upper},workdir={work} autoprov-asterisk \"$root\"\n\
         for device in null zero full random urandom; do\n\
         \x20 mount --bind /dev/$device \"$root/dev/$device\"\n\
         done\n\
         mount -t proc -o nosuid,nodev,noexec autoprov-proc \"$root/proc\"\n\
         mount --bind {etc} \"$root/etc/asterisk\"\n\
         mount --bind {log} \"$root/var/log/asterisk\"\n\
         mount --bind {voicemail} \"$root/var/spool/asterisk/voicemail\"\n\
         for dir in /run/asterisk /var/lib/asterisk/keys; do\n\
         \x20 mkdir -p \"$root$dir\"\n\
         \x20 chown {uid}:{uid} \"$root$dir\"\n\
         done\n\
         exec chroot --userspec={uid}:{uid} --groups={uid} \"$root\" \
         /usr/sbin/asterisk -f -n -C /etc/asterisk/asterisk.conf\n",
        root = quote(&root),
        lower = chroot.display(),
        upper = base.join("upper").display(),
        work = base.join("work").display(),
        etc = quote(etc),
        log = quote(log),
        voicemail = quote(voicemail),
        uid = ASTERISK_UID,
    )
}

/// Config files written empty: their modules (or the core) log an error or notice at every
/// start without one, and their defaults are what the tests want.
const EMPTY_CONFIGS: &[&str] = &[
    "acl.conf",
    "ccss.conf",
    "cel.conf",
    "features.conf",
    "pjproject.conf",
    "pjsip_wizard.conf",
    "udptl.conf",
];

/// Config files copied from the chroot's own `/etc/asterisk` (Debian's samples): data only,
/// no listener. `pjsip_notify.conf` has `cisco-check-cfg` (`Event: check-sync`) for
/// `pjsip send notify`, `indications.conf` the tones of every country.
const SAMPLE_CONFIGS: &[&str] = &["indications.conf", "pjsip_notify.conf"];

/// `asterisk.conf`: every directory where Debian has it (the module directory found in the
/// chroot), verbose level 3 (registrations and reloads are logged), and no log line for every
/// `asterisk -rx`.
fn asterisk_conf(module_dir: &str) -> String {
    format!(
        "[directories]\n\
         astcachedir => /var/cache/asterisk\n\
         astetcdir => /etc/asterisk\n\
         astmoddir => {module_dir}\n\
         astvarlibdir => /var/lib/asterisk\n\
         astdbdir => /var/lib/asterisk\n\
         astkeydir => /var/lib/asterisk\n\
         astdatadir => /usr/share/asterisk\n\
         astagidir => /usr/share/asterisk/agi-bin\n\
         astspooldir => /var/spool/asterisk\n\
         astrundir => /var/run/asterisk\n\
         astlogdir => /var/log/asterisk\n\
         astsbindir => /usr/sbin\n\
         \n\
         [options]\n\
         verbose = 3\n\
         debug = 0\n\
         hideconnect = yes\n\
         documentation_language = en_US\n"
    )
}

/// `modules.conf`: everything but [`NOLOAD_MODULES`].
fn modules_conf() -> String {
    let mut text = String::from("[modules]\nautoload = yes\n");
    for module in NOLOAD_MODULES {
        text.push_str(&format!("noload => {module}\n"));
    }
    text
}

/// `logger.conf`: one `full` file with millisecond timestamps.
const LOGGER_CONF: &str = "[general]\n\
                           dateformat = %F %T.%3q\n\
                           \n\
                           [logfiles]\n\
                           full => verbose,notice,warning,error,dtmf\n";

/// `manager.conf`: AMI on 127.0.0.1 only, one user allowed from there only.
fn manager_conf() -> String {
    format!(
        "[general]\n\
         enabled = yes\n\
         port = {AMI_PORT}\n\
         bindaddr = 127.0.0.1\n\
         displayconnects = no\n\
         \n\
         [{AMI_USER}]\n\
         secret = {AMI_SECRET}\n\
         deny = 0.0.0.0/0.0.0.0\n\
         permit = 127.0.0.1/255.255.255.255\n\
         read = all\n\
         write = all\n"
    )
}

/// `pjsip.conf`: global options, UDP and TCP transports on `bind`, then the test's text.
fn pjsip_conf(config: &AsteriskConfig) -> String {
    format!(
        "[global]\n\
         type = global\n\
         user_agent = Asterisk (cisco-autoprov test)\n\
         \n\
         [transport-udp]\n\
         type = transport\n\
         protocol = udp\n\
         bind = {bind}:{SIP_PORT}\n\
         \n\
         [transport-tcp]\n\
         type = transport\n\
         protocol = tcp\n\
         bind = {bind}:{SIP_PORT}\n\
         \n\
         {extra}",
        bind = config.bind,
        extra = config.pjsip_extra,
    )
}

/// One AMI session from the calling thread, after moving it into the network namespace
/// `ns_path`: login (events off), the action, logoff. Returns the response text.
fn ami_exchange(ns_path: &Path, action: &[(String, String)]) -> Result<String, String> {
    let ns = fs::File::open(ns_path).map_err(|e| format!("open {}: {e}", ns_path.display()))?;
    nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("setns {}: {e}", ns_path.display()))?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, AMI_PORT));
    let stream = TcpStream::connect_timeout(&address, ASTERISK_COMMAND_TIMEOUT)
        .map_err(|e| format!("connect to {address}: {e}"))?;
    for result in [
        stream.set_read_timeout(Some(ASTERISK_COMMAND_TIMEOUT)),
        stream.set_write_timeout(Some(ASTERISK_COMMAND_TIMEOUT)),
    ] {
        result.map_err(|e| format!("set timeouts: {e}"))?;
    }
    let mut writer = stream
        .try_clone()
        .map_err(|e| format!("clone the socket: {e}"))?;
    let mut reader = BufReader::new(stream);

    let mut banner = String::new();
    reader
        .read_line(&mut banner)
        .map_err(|e| format!("read the banner: {e}"))?;
    if !banner.starts_with("Asterisk Call Manager") {
        return Err(format!("unexpected banner {banner:?}"));
    }

    let send = |writer: &mut TcpStream, lines: &[(String, String)]| -> Result<(), String> {
        let mut text = String::new();
        for (key, value) in lines {
            text.push_str(&format!("{key}: {value}\r\n"));
        }
        text.push_str("\r\n");
        writer
            .write_all(text.as_bytes())
            .map_err(|e| format!("send {lines:?}: {e}"))
    };
    let pair = |key: &str, value: &str| (key.to_string(), value.to_string());

    send(
        &mut writer,
        &[
            pair("Action", "Login"),
            pair("Username", AMI_USER),
            pair("Secret", AMI_SECRET),
            pair("Events", "off"),
        ],
    )?;
    let login = read_block(&mut reader)?;
    if !login.contains("Response: Success") {
        return Err(format!("login refused: {login:?}"));
    }

    send(&mut writer, action)?;
    let action_id = action
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("ActionID"))
        .map(|(_, value)| format!("ActionID: {value}\r\n"))
        .unwrap_or_default();
    let mut response = String::new();
    let mut in_list = false;
    loop {
        let block = read_block(&mut reader)?;
        // With events off only our action's blocks arrive, but be strict anyway.
        if !block.contains(&action_id) {
            continue;
        }
        response.push_str(&block);
        response.push_str("\r\n");
        if block.contains("EventList: start") {
            in_list = true;
        }
        if !in_list || block.contains("EventList: Complete") {
            break;
        }
    }
    // Best effort: Asterisk closes the session either way when the socket closes.
    let _ = send(&mut writer, &[pair("Action", "Logoff")]);
    Ok(response)
}

/// Reads one AMI block (lines up to an empty line), without the empty line.
fn read_block(reader: &mut BufReader<TcpStream>) -> Result<String, String> {
    let mut block = String::new();
    loop {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| format!("read a response (so far {block:?}): {e}"))?;
        if n == 0 {
            return Err(format!("connection closed (so far {block:?})"));
        }
        if line == "\r\n" || line == "\n" {
            if block.is_empty() {
                continue;
            }
            return Ok(block);
        }
        block.push_str(&line);
    }
}

/// Disk usage of a directory tree in bytes (allocated blocks, hard links counted once), like
/// `du -s`; for the chroot size in test output.
pub fn disk_usage(path: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
                continue;
            }
            total += meta.blocks() * 512;
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    total
}

/// Every line of every process's `/proc/<pid>/mountinfo` (the host's and any other mount
/// namespace still alive) that mentions `needle`, as `<pid>: <line>`. After a lab is dropped
/// this must be empty for the lab directory: no mount of it may outlive Asterisk.
pub fn mounts_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(text) = fs::read_to_string(entry.path().join("mountinfo")) else {
            continue;
        };
        found.extend(
            text.lines()
                .filter(|line| line.contains(needle))
                .map(|line| format!("{name}: {line}")),
        );
    }
    found
}

/// Mode bits (permissions only) of `path`, for assertions.
pub fn mode_of(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}
