//! A throw-away network lab for end-to-end tests: two network namespaces joined by a veth
//! pair, with real servers (dnsmasq), real clients (busybox udhcpc, tftp-hpa) and our daemon
//! running inside them.
//!
//! ```text
//!   router namespace                         phone namespace
//!   ar<pid>n<n>  198.18.<k>.1/24  <-veth->   ap<pid>n<n>  MAC 00:1b:0c:18:bd:c1
//!   dnsmasq, cisco-autoprov                  udhcpc, tftp
//! ```
//!
//! Other servers for the router namespace: a private rsyslogd ([`Lab::start_rsyslogd`]),
//! tftpd-hpa logging to it through a `/dev/log` that exists only in its own mount namespace
//! ([`Lab::start_in_tftpd`]), atftpd ([`Lab::start_atftpd`]), ISC dhcpd with the same private
//! `/dev/log` ([`Lab::start_isc_dhcpd`]), kea-dhcp4 with a memfile lease CSV
//! ([`Lab::start_kea_dhcp4`]), and dnsmasq with extra arguments and environment, e.g. a
//! `--dhcp-script` ([`Lab::start_dnsmasq_with`]). [`Lab::add_second_phone`] adds a third
//! namespace with its own veth pair (`br…`/`bp…`), for a second phone.
//!
//! Why the rules look the way they do:
//! - **Nothing runs in the host namespace.** Both ends of the veth are created directly inside
//!   our namespaces (`ip link add … netns R type veth peer name … netns P`), and every process
//!   is started with `ip netns exec`. A DHCP server on the host network would be a real
//!   outage on someone's LAN.
//! - **Addresses only from 198.18.0.0/15** (RFC 2544 benchmarking space), `198.18.<k>.0/24`
//!   with a `k` that differs per lab, so nothing could clash with a real network.
//! - **Unique names** (process id + atomic counter) so the tests run in parallel, and several
//!   test binaries can run at once. Veth names stay within the kernel's 15 characters.
//! - **[`Lab`]'s `Drop` cleans up even when a test panics**: it stops every process it
//!   started (SIGTERM, wait, then SIGKILL), kills anything else still inside its namespaces
//!   (by pid, from `ip netns pids`), prints the tail of every log it knows of when the test is
//!   failing, and deletes the namespaces. Before creating a namespace it removes a leftover of
//!   the same name (a crashed earlier run with a reused pid).
//! - **Readiness is polled** ([`wait_until`], 50 ms steps, 10 s at most), never slept for.
//! - **Skipping**: without root or without the programs a test needs, [`Lab::start`] prints
//!   `skipping <test>: <reason>` and returns `None`, so the test passes. When `CI=true` a
//!   missing prerequisite is a failure instead: CI must really run these tests.
//!
//! Everything a test writes (config, dnsmasq log and lease file, TFTP root, daemon log, client
//! scripts) lives in one temporary directory per lab. That directory and the TFTP root are
//! mode 0755 because dnsmasq drops privileges to `nobody`; it must be able to read what our
//! daemon writes, exactly as on a router.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Step between two checks of a readiness condition.
pub const POLL_STEP: Duration = Duration::from_millis(50);
/// How long a server or the daemon may take to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a process may take to exit after SIGTERM before it gets SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// Upper bound for one run of a client (udhcpc gives up by itself after about 5 s).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(12);
/// Upper bound for one TFTP transfer. tftp-hpa's own timeout is 25 s, far too long for us.
pub const TFTP_TIMEOUT: Duration = Duration::from_secs(8);
/// Step for noticing that a short-lived client exited. Finer than [`POLL_STEP`] because some
/// tests measure what happens in the milliseconds after a client exits.
const EXIT_POLL_STEP: Duration = Duration::from_millis(2);

/// Number of the next lab in this process; part of every name and of the subnet.
static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// The identity a simulated phone presents on the wire.
#[derive(Debug, Clone, Copy)]
pub struct Phone {
    /// MAC of the phone-side veth, lower case with colons, as `ip link` wants it.
    pub mac: &'static str,
    /// DHCP option 60 (vendor class identifier).
    pub vendor_class: &'static str,
    /// DHCP option 12; real Cisco phones send `SEP<MAC>`.
    pub hostname: &'static str,
}

impl Phone {
    /// The phone of the captures in `/work/shared/reference/formats.md`.
    pub const CP_7941G: Phone = Phone {
        mac: "00:1b:0c:18:bd:c1",
        vendor_class: "Cisco Systems, Inc. IP Phone CP-7941G",
        hostname: "SEP001B0C18BDC1",
    };

    /// The second phone of the captures ("phone2" in formats.md), for
    /// [`Lab::add_second_phone`].
    pub const CP_7940G: Phone = Phone {
        mac: "00:1b:0c:18:bd:c2",
        vendor_class: "Cisco Systems, Inc. IP Phone CP-7940G",
        hostname: "SEP001B0C18BDC2",
    };
}

/// Which namespace of the lab a command runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    /// Holds the servers and our daemon.
    Router,
    /// Holds the client side of the simulated phone.
    Phone,
    /// Holds a second simulated phone; exists only after [`Lab::add_second_phone`].
    SecondPhone,
    /// Holds phone `i` (1, 2, …) of a LAN lab ([`Lab::start_lan`]); phone 0 is [`Ns::Phone`].
    Lan(usize),
}

/// Handle to a long-running process started with [`Lab::spawn_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId(usize);

/// What dnsmasq should serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsmasqMode {
    /// DHCP on 198.18.k.100–199 (with option 150) and TFTP.
    DhcpAndTftp,
    /// As [`DnsmasqMode::DhcpAndTftp`] without option 150: the test's own arguments (e.g. a
    /// `--conf-dir` with a drop-in) are dnsmasq's only source of DHCP options.
    DhcpAndTftpWithoutOptions,
    /// TFTP only: no `--dhcp-range`, no lease file.
    TftpOnly,
}

/// The result of a short-lived command run with [`Lab::run_in`].
#[derive(Debug)]
pub struct RunOutput {
    /// The command line, for messages.
    pub command: String,
    /// Exit status; a command killed on timeout has a signal status.
    pub status: ExitStatus,
    /// Whether we killed it because it ran longer than its timeout.
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    /// Just before the process was spawned.
    pub started_at: Instant,
    /// When we saw it exit (within [`EXIT_POLL_STEP`] of the real exit).
    pub exited_at: Instant,
}

impl RunOutput {
    /// True when the command exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.status.success() && !self.timed_out
    }

    /// Panics with the whole output unless the command succeeded.
    #[track_caller]
    pub fn assert_success(&self) {
        assert!(self.success(), "command failed: {self}");
    }
}

impl std::fmt::Display for RunOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` -> {}{} after {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.command,
            self.status,
            if self.timed_out {
                " (killed on timeout)"
            } else {
                ""
            },
            self.exited_at - self.started_at,
            self.stdout,
            self.stderr
        )
    }
}

/// One TFTP download done by the phone with tftp-hpa.
///
/// tftp-hpa 5.2 exits with status 0 even on `Error code 1: …`, prints that error on
/// **stdout**, and leaves an empty local file behind; see [`TftpGet::ok`].
#[derive(Debug)]
pub struct TftpGet {
    /// The requested file name.
    pub name: String,
    /// The tftp-hpa run.
    pub output: RunOutput,
    /// What the phone received; `None` when tftp-hpa left no file.
    pub received: Option<Vec<u8>>,
    /// The file in the TFTP root, read right after the transfer; `None` when it does not exist.
    pub served: Option<Vec<u8>>,
}

impl TftpGet {
    /// Success as a phone sees it: a non-empty file whose bytes equal the file in the TFTP
    /// root. tftp-hpa leaves an empty file behind on `Error code 1: …` and exits 0 anyway,
    /// so neither the file's existence nor the exit status means success.
    pub fn ok(&self) -> bool {
        match (&self.received, &self.served) {
            (Some(received), Some(served)) => !received.is_empty() && received == served,
            _ => false,
        }
    }

    /// The received bytes; panics with the whole transfer unless [`TftpGet::ok`].
    #[track_caller]
    pub fn bytes(&self) -> &[u8] {
        assert!(self.ok(), "TFTP get of {} failed: {self}", self.name);
        self.received.as_deref().unwrap_or_default()
    }
}

impl std::fmt::Display for TftpGet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let describe = |bytes: &Option<Vec<u8>>| match bytes {
            None => "no file".to_string(),
            Some(bytes) => format!("{} bytes", bytes.len()),
        };
        write!(
            f,
            "received {}, TFTP root has {}; {}",
            describe(&self.received),
            describe(&self.served),
            self.output
        )
    }
}

/// A long-running process started by the lab.
struct Spawned {
    /// Short name for messages, e.g. `dnsmasq`.
    name: String,
    /// The process. `ip netns exec` execs the command, so this pid is the program itself.
    child: Child,
    /// Where its stdout and stderr go.
    log: PathBuf,
}

/// Two namespaces, a veth pair between them and the processes running inside; see the module
/// docs. Everything is torn down on drop.
pub struct Lab {
    /// Test name, for messages.
    test: String,
    /// Third octet of every address: the lab owns `198.18.<k>.0/24`. 1..=254.
    k: u8,
    /// Router namespace name, unique per process and lab.
    router_ns: String,
    /// Phone namespace name, unique per process and lab.
    phone_ns: String,
    /// Router end of the veth (inside `router_ns`), at most 15 characters.
    router_if: String,
    /// Phone end of the veth (inside `phone_ns`), at most 15 characters, MAC = `phone.mac`.
    phone_if: String,
    /// The phone identity used by the clients.
    phone: Phone,
    /// Absolute path of `ip`.
    ip: PathBuf,
    /// Namespaces created so far; deleted on drop.
    namespaces: Vec<String>,
    /// Every long-running process started; stopped on drop, in reverse order.
    processes: Vec<Spawned>,
    /// Logs to print when the test fails (besides the processes' own logs).
    logs: Vec<PathBuf>,
    /// Working directory (mode 0755); removed after the namespaces on drop.
    dir: tempfile::TempDir,
    /// `<pid>n<n>`: the unique part of the veth names, for links added later.
    tag: String,
    /// The second phone, once [`Lab::add_second_phone`] has created it.
    second_phone: Option<SecondPhone>,
    /// Phones 1, 2, … of a LAN lab ([`Lab::start_lan`]), each in its own namespace.
    lan_phones: Vec<SecondPhone>,
}

/// A second phone namespace with its own veth pair to the router namespace; see
/// [`Lab::add_second_phone`].
struct SecondPhone {
    /// Namespace name.
    ns: String,
    /// Phone end of the veth (inside `ns`), MAC = `phone.mac`.
    interface: String,
    /// The phone identity.
    phone: Phone,
}

impl Lab {
    /// Checks the prerequisites (root, `ip`, and `programs`) and builds a lab, or prints why
    /// the test is skipped and returns `None`. With `CI=true` a missing prerequisite panics.
    ///
    /// `programs` are looked up in `PATH` plus the sbin directories; `udhcpc` is also
    /// satisfied by `busybox udhcpc`.
    #[track_caller]
    pub fn start(test: &str, programs: &[&str]) -> Option<Lab> {
        Lab::start_as(test, programs, Phone::CP_7941G)
    }

    /// Like [`Lab::start`], with another identity for the phone (MAC, vendor class, hostname).
    #[track_caller]
    pub fn start_as(test: &str, programs: &[&str], phone: Phone) -> Option<Lab> {
        let missing = missing_prerequisite(programs);
        let result = match missing {
            Some(reason) => Err(reason),
            None => Lab::new(test, phone),
        };
        match result {
            Ok(lab) => Some(lab),
            Err(reason) => {
                skip_or_fail(test, &reason);
                None
            }
        }
    }

    /// Builds the lab. Returns `Err` only when the first namespace cannot be created (no
    /// CAP_SYS_ADMIN, e.g. uid 0 in an unprivileged container); any later failure panics.
    fn new(test: &str, phone: Phone) -> Result<Lab, String> {
        let n = NEXT_LAB.fetch_add(1, Ordering::SeqCst);
        let k = u8::try_from(n + 1)
            .ok()
            .filter(|&k| k < 255)
            .expect("more than 254 labs in one test process");
        let pid = std::process::id();
        let router_if = format!("ar{pid}n{n}");
        let phone_if = format!("ap{pid}n{n}");
        assert!(
            router_if.len() <= 15 && phone_if.len() <= 15,
            "veth name too long"
        );

        let dir = tempfile::Builder::new()
            .prefix(&format!("autoprov-{test}-"))
            .tempdir()
            .expect("create the lab's temp dir");
        // dnsmasq runs as `nobody`: it must be able to traverse into the TFTP root.
        set_mode(dir.path(), 0o755);
        let tftp_root = dir.path().join("tftp");
        fs::create_dir(&tftp_root).expect("create the TFTP root");
        set_mode(&tftp_root, 0o755);

        let mut lab = Lab {
            test: test.to_string(),
            k,
            router_ns: format!("autoprov-{pid}-{n}-router"),
            phone_ns: format!("autoprov-{pid}-{n}-phone"),
            router_if,
            phone_if,
            phone,
            ip: find_program("ip").expect("`ip` was checked before"),
            namespaces: Vec::new(),
            processes: Vec::new(),
            logs: Vec::new(),
            dir,
            tag: format!("{pid}n{n}"),
            second_phone: None,
            lan_phones: Vec::new(),
        };

        for ns in [lab.router_ns.clone(), lab.phone_ns.clone()] {
            lab.remove_namespace(&ns);
            let output = lab.ip_output(&["netns", "add", &ns]);
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
                if lab.namespaces.is_empty() {
                    return Err(format!("cannot create a network namespace: {stderr}"));
                }
                panic!("ip netns add {ns}: {stderr}");
            }
            lab.namespaces.push(ns);
        }

        let (router_ns, phone_ns) = (lab.router_ns.clone(), lab.phone_ns.clone());
        let (router_if, phone_if) = (lab.router_if.clone(), lab.phone_if.clone());
        let router_cidr = format!("{}/24", lab.router_ip());
        // Both ends are born inside their namespaces: no moment in the host namespace.
        lab.ip_ok(&[
            "link", "add", &router_if, "netns", &router_ns, "type", "veth", "peer", "name",
            &phone_if, "netns", &phone_ns,
        ]);
        lab.ip_ok(&[
            "-n",
            &phone_ns,
            "link",
            "set",
            &phone_if,
            "address",
            lab.phone.mac,
        ]);
        lab.ip_ok(&[
            "-n",
            &router_ns,
            "addr",
            "add",
            &router_cidr,
            "dev",
            &router_if,
        ]);
        for (ns, interface) in [(&router_ns, &router_if), (&phone_ns, &phone_if)] {
            lab.ip_ok(&["-n", ns, "link", "set", "lo", "up"]);
            lab.ip_ok(&["-n", ns, "link", "set", interface, "up"]);
        }
        for (ns, interface) in [(&router_ns, &router_if), (&phone_ns, &phone_if)] {
            wait_until(&format!("{interface} has carrier"), READY_TIMEOUT, || {
                let output = lab.ip_output(&["-n", ns, "link", "show", "dev", interface]);
                String::from_utf8_lossy(&output.stdout).contains("LOWER_UP")
            });
        }
        Ok(lab)
    }

    /// The lab's working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the working directory.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// The TFTP root served by the lab's TFTP server (mode 0755).
    pub fn tftp_root(&self) -> PathBuf {
        self.path("tftp")
    }

    /// The lab's subnet number: the lab owns `198.18.<k>.0/24`.
    pub fn k(&self) -> u8 {
        self.k
    }

    /// Address `198.18.<k>.<host>`.
    pub fn ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, self.k, host)
    }

    /// The router's address, `198.18.<k>.1`: DHCP server, TFTP server, option 150.
    pub fn router_ip(&self) -> Ipv4Addr {
        self.ip(1)
    }

    /// The router-side veth name (inside the router namespace).
    pub fn router_if(&self) -> &str {
        &self.router_if
    }

    /// The phone-side veth name (inside the phone namespace).
    pub fn phone_if(&self) -> &str {
        &self.phone_if
    }

    /// The simulated phone.
    pub fn phone(&self) -> Phone {
        self.phone
    }

    /// Name of one of the lab's namespaces.
    pub fn ns_name(&self, ns: Ns) -> &str {
        match ns {
            Ns::Router => &self.router_ns,
            Ns::Phone => &self.phone_ns,
            Ns::SecondPhone => match &self.second_phone {
                Some(second) => &second.ns,
                None => panic!("Ns::SecondPhone used before Lab::add_second_phone"),
            },
            Ns::Lan(0) => &self.phone_ns,
            Ns::Lan(i) => match self.lan_phones.get(i - 1) {
                Some(phone) => &phone.ns,
                None => panic!("Ns::Lan({i}): the lab has no such phone"),
            },
        }
    }

    /// The phone-side interface and identity of the phone in `ns`.
    fn phone_in(&self, ns: Ns) -> (&str, Phone) {
        match ns {
            Ns::Phone | Ns::Lan(0) => (&self.phone_if, self.phone),
            Ns::SecondPhone => {
                let second = self.second_phone.as_ref().expect("no second phone");
                (&second.interface, second.phone)
            }
            Ns::Lan(i) => {
                let phone = &self.lan_phones[i - 1];
                (&phone.interface, phone.phone)
            }
            Ns::Router => panic!("the router namespace has no phone"),
        }
    }

    /// A lab whose phones share one LAN: in the router namespace a bridge (named like
    /// [`Lab::router_if`], so servers bind to it as usual) with the router address, and per
    /// phone a namespace joined to the bridge by its own veth pair; phone `i` is
    /// [`Ns::Lan`]`(i)` (`Ns::Lan(0)` is [`Ns::Phone`]). All phones get DHCP from one server,
    /// as on an office LAN. Skips (or fails under `CI=true`) like [`Lab::start`].
    #[track_caller]
    pub fn start_lan(test: &str, programs: &[&str], phones: &[Phone]) -> Option<Lab> {
        assert!(
            (1..10).contains(&phones.len()),
            "a LAN lab has 1 to 9 phones"
        );
        let mut lab = Lab::start_as(test, programs, phones[0])?;
        lab.bridge_first_phone();
        for &phone in &phones[1..] {
            lab.add_lan_phone(phone);
        }
        Some(lab)
    }

    /// Turns the router end of the first veth pair into a bridge port: the router address
    /// moves to a bridge named like the old router end, so every server option that names
    /// [`Lab::router_if`] keeps working.
    fn bridge_first_phone(&mut self) {
        let router_ns = self.router_ns.clone();
        let old = self.router_if.clone();
        let port = format!("q0{}", self.tag);
        assert!(port.len() <= 15, "veth name too long");
        self.ip_ok(&["-n", &router_ns, "link", "set", &old, "down"]);
        self.ip_ok(&["-n", &router_ns, "addr", "flush", "dev", &old]);
        self.ip_ok(&["-n", &router_ns, "link", "set", &old, "name", &port]);
        // No STP: a port forwards as soon as it is up.
        self.ip_ok(&[
            "-n",
            &router_ns,
            "link",
            "add",
            "name",
            &old,
            "type",
            "bridge",
            "stp_state",
            "0",
        ]);
        self.ip_ok(&["-n", &router_ns, "link", "set", &port, "master", &old]);
        let cidr = format!("{}/24", self.router_ip());
        self.ip_ok(&["-n", &router_ns, "addr", "add", &cidr, "dev", &old]);
        self.ip_ok(&["-n", &router_ns, "link", "set", &port, "up"]);
        self.ip_ok(&["-n", &router_ns, "link", "set", &old, "up"]);
        wait_until(&format!("bridge {old} is up"), READY_TIMEOUT, || {
            let output = self.ip_output(&["-n", &router_ns, "link", "show", "dev", &old]);
            String::from_utf8_lossy(&output.stdout).contains("LOWER_UP")
        });
    }

    /// Adds phone `self.lan_phones.len() + 1` of a LAN lab: its namespace, and a veth pair
    /// whose router end is a port of the bridge. Both ends are born inside their namespaces.
    fn add_lan_phone(&mut self, phone: Phone) {
        let i = self.lan_phones.len() + 1;
        let base = self
            .router_ns
            .strip_suffix("-router")
            .expect("router namespace name ends in -router")
            .to_string();
        let ns = format!("{base}-lan{i}");
        let port = format!("q{i}{}", self.tag);
        let phone_if = format!("l{i}{}", self.tag);
        assert!(
            port.len() <= 15 && phone_if.len() <= 15,
            "veth name too long"
        );
        self.remove_namespace(&ns);
        self.ip_ok(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        let router_ns = self.router_ns.clone();
        self.ip_ok(&[
            "link", "add", &port, "netns", &router_ns, "type", "veth", "peer", "name", &phone_if,
            "netns", &ns,
        ]);
        self.ip_ok(&["-n", &ns, "link", "set", &phone_if, "address", phone.mac]);
        self.ip_ok(&[
            "-n",
            &router_ns,
            "link",
            "set",
            &port,
            "master",
            &self.router_if,
        ]);
        for (ns, interface) in [(&router_ns, &port), (&ns, &phone_if)] {
            self.ip_ok(&["-n", ns, "link", "set", "lo", "up"]);
            self.ip_ok(&["-n", ns, "link", "set", interface, "up"]);
        }
        for (ns, interface) in [(&router_ns, &port), (&ns, &phone_if)] {
            wait_until(&format!("{interface} has carrier"), READY_TIMEOUT, || {
                let output = self.ip_output(&["-n", ns, "link", "show", "dev", interface]);
                String::from_utf8_lossy(&output.stdout).contains("LOWER_UP")
            });
        }
        self.lan_phones.push(SecondPhone {
            ns,
            interface: phone_if,
            phone,
        });
    }

    /// Gives the phone a static address `198.18.<k>.<host>/24` (for TFTP-only tests).
    pub fn add_phone_address(&self, host: u8) {
        let cidr = format!("{}/24", self.ip(host));
        self.ip_ok(&[
            "-n",
            &self.phone_ns,
            "addr",
            "add",
            &cidr,
            "dev",
            &self.phone_if,
        ]);
    }

    /// Adds a second phone namespace ([`Ns::SecondPhone`]) with its own veth pair to the
    /// router namespace: the phone end has `phone.mac` and `198.18.<k>.<host>/24`. A second
    /// namespace, because tftp-hpa cannot choose its source address.
    ///
    /// As for the first pair, both ends are born inside their namespaces. The router end
    /// (`br<pid>n<n>`) gets the router address as a /32, so that it answers ARP for it
    /// whatever `arp_ignore` says, and the router a /32 route to the phone through it; the
    /// first pair and its /24 are untouched. Only one second phone per lab.
    #[track_caller]
    pub fn add_second_phone(&mut self, phone: Phone, host: u8) {
        assert!(
            self.second_phone.is_none(),
            "the lab already has a second phone"
        );
        let base = self
            .router_ns
            .strip_suffix("-router")
            .expect("router namespace name ends in -router");
        let ns = format!("{base}-phone2");
        let router_if = format!("br{}", self.tag);
        let phone_if = format!("bp{}", self.tag);
        assert!(
            router_if.len() <= 15 && phone_if.len() <= 15,
            "veth name too long"
        );
        self.remove_namespace(&ns);
        self.ip_ok(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        self.second_phone = Some(SecondPhone {
            ns: ns.clone(),
            interface: phone_if.clone(),
            phone,
        });

        let router_ns = self.router_ns.clone();
        self.ip_ok(&[
            "link", "add", &router_if, "netns", &router_ns, "type", "veth", "peer", "name",
            &phone_if, "netns", &ns,
        ]);
        self.ip_ok(&["-n", &ns, "link", "set", &phone_if, "address", phone.mac]);
        let router_host = format!("{}/32", self.router_ip());
        self.ip_ok(&[
            "-n",
            &router_ns,
            "addr",
            "add",
            &router_host,
            "dev",
            &router_if,
        ]);
        let phone_cidr = format!("{}/24", self.ip(host));
        self.ip_ok(&["-n", &ns, "addr", "add", &phone_cidr, "dev", &phone_if]);
        for (ns, interface) in [(&router_ns, &router_if), (&ns, &phone_if)] {
            self.ip_ok(&["-n", ns, "link", "set", "lo", "up"]);
            self.ip_ok(&["-n", ns, "link", "set", interface, "up"]);
        }
        let phone_host = format!("{}/32", self.ip(host));
        self.ip_ok(&[
            "-n",
            &router_ns,
            "route",
            "add",
            &phone_host,
            "dev",
            &router_if,
        ]);
        for (ns, interface) in [(&router_ns, &router_if), (&ns, &phone_if)] {
            wait_until(&format!("{interface} has carrier"), READY_TIMEOUT, || {
                let output = self.ip_output(&["-n", ns, "link", "show", "dev", interface]);
                String::from_utf8_lossy(&output.stdout).contains("LOWER_UP")
            });
        }
    }

    /// The second phone, once [`Lab::add_second_phone`] has created it.
    pub fn second_phone(&self) -> Option<Phone> {
        self.second_phone.as_ref().map(|second| second.phone)
    }

    /// `ip -4 addr show` of the second phone's veth; panics before [`Lab::add_second_phone`].
    pub fn second_phone_addresses(&self) -> String {
        let second = self
            .second_phone
            .as_ref()
            .expect("Lab::add_second_phone first");
        let output = self.ip_output(&[
            "-n",
            &second.ns,
            "-4",
            "addr",
            "show",
            "dev",
            &second.interface,
        ]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `ip -4 addr show` of the phone-side veth.
    pub fn phone_addresses(&self) -> String {
        let output = self.ip_output(&[
            "-n",
            &self.phone_ns,
            "-4",
            "addr",
            "show",
            "dev",
            &self.phone_if,
        ]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Adds a file to the list whose tails are printed when the test fails.
    pub fn note_log(&mut self, path: &Path) {
        if !self.logs.iter().any(|known| known == path) {
            self.logs.push(path.to_path_buf());
        }
    }

    /// Starts a long-running process inside `ns`, stdout and stderr appended to `log`.
    /// It is stopped by [`Lab::stop`] or on drop.
    pub fn spawn_in<S: AsRef<OsStr>>(
        &mut self,
        ns: Ns,
        argv: &[S],
        env: &[(&str, &str)],
        log: &Path,
    ) -> ProcessId {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
        let stderr = file.try_clone().expect("clone log file handle");
        let mut command = self.command_in(ns, argv);
        command
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(stderr);
        let name = program_name(argv);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", describe(&command)));
        self.processes.push(Spawned {
            name,
            child,
            log: log.to_path_buf(),
        });
        ProcessId(self.processes.len() - 1)
    }

    /// [`Lab::spawn_in`] in the router namespace.
    pub fn spawn_in_router<S: AsRef<OsStr>>(
        &mut self,
        argv: &[S],
        env: &[(&str, &str)],
        log: &Path,
    ) -> ProcessId {
        self.spawn_in(Ns::Router, argv, env, log)
    }

    /// Runs a command to completion inside `ns`, killing it after `timeout`.
    pub fn run_in<S: AsRef<OsStr>>(&self, ns: Ns, argv: &[S], timeout: Duration) -> RunOutput {
        run_command(self.command_in(ns, argv), timeout)
    }

    /// [`Lab::run_in`] in the phone namespace.
    pub fn run_in_phone<S: AsRef<OsStr>>(&self, argv: &[S], timeout: Duration) -> RunOutput {
        self.run_in(Ns::Phone, argv, timeout)
    }

    /// [`Lab::run_in`] in the router namespace.
    pub fn run_in_router<S: AsRef<OsStr>>(&self, argv: &[S], timeout: Duration) -> RunOutput {
        self.run_in(Ns::Router, argv, timeout)
    }

    /// The process id of a spawned process. `ip netns exec` (and any wrapper that execs)
    /// leaves the program itself at this pid, so it is what `/proc/<pid>/…` and
    /// `nsenter -t <pid>` need.
    pub fn pid(&self, id: ProcessId) -> u32 {
        self.processes[id.0].child.id()
    }

    /// Whether a spawned process is still running.
    pub fn is_running(&mut self, id: ProcessId) -> bool {
        matches!(self.processes[id.0].child.try_wait(), Ok(None))
    }

    /// Stops a spawned process: SIGTERM, up to [`STOP_GRACE`] to exit, then SIGKILL.
    /// Returns its exit status (a signal status if it had to be killed).
    pub fn stop(&mut self, id: ProcessId) -> ExitStatus {
        let spawned = &mut self.processes[id.0];
        terminate(&mut spawned.child, &spawned.name)
    }

    /// Polls `path` (from byte `from` on) until it contains `needle`. Panics with the log
    /// tails if process `id` exits first or after `timeout`. Returns the time it took.
    #[track_caller]
    pub fn wait_for_text(
        &mut self,
        id: ProcessId,
        path: &Path,
        from: u64,
        needle: &str,
        timeout: Duration,
    ) -> Duration {
        let started = Instant::now();
        loop {
            if read_from(path, from).contains(needle) {
                return started.elapsed();
            }
            let spawned = &mut self.processes[id.0];
            if let Ok(Some(status)) = spawned.child.try_wait() {
                // It may have written the line just before exiting.
                if read_from(path, from).contains(needle) {
                    return started.elapsed();
                }
                panic!(
                    "{} exited ({status}) before {} contained {needle:?}\n{}",
                    spawned.name,
                    path.display(),
                    tail_of(&logs_of(&spawned.log, path))
                );
            }
            if started.elapsed() > timeout {
                panic!(
                    "{} did not contain {needle:?} within {timeout:?}\n{}",
                    path.display(),
                    tail_of(&logs_of(&self.processes[id.0].log, path))
                );
            }
            thread::sleep(POLL_STEP);
        }
    }

    /// Starts dnsmasq in the router namespace and waits until it logs `TFTP root is`.
    ///
    /// Every path is inside the lab directory; dnsmasq drops privileges to `nobody` as it
    /// does by default, so served files must really be world-readable.
    #[track_caller]
    pub fn start_dnsmasq(&mut self, mode: DnsmasqMode) -> ProcessId {
        self.start_dnsmasq_with::<&str>(mode, &[], &[])
    }

    /// [`Lab::start_dnsmasq`] with `extra` arguments after the lab's own and `env` added to
    /// its (otherwise cleared) environment, e.g. `--dhcp-script=…` and the variables that
    /// script reads: dnsmasq hands its environment on to the script.
    #[track_caller]
    pub fn start_dnsmasq_with<S: AsRef<OsStr>>(
        &mut self,
        mode: DnsmasqMode,
        extra: &[S],
        env: &[(&str, &str)],
    ) -> ProcessId {
        let dnsmasq = find_program("dnsmasq").expect("dnsmasq was checked before");
        let log = self.path("dnsmasq.log");
        let k = self.k;
        let mut argv: Vec<OsString> = vec![dnsmasq.into_os_string()];
        let mut push = |arg: String| argv.push(arg.into());
        push("--conf-file=/dev/null".into());
        push("--keep-in-foreground".into());
        push("--port=0".into());
        push(format!("--interface={}", self.router_if));
        push("--bind-interfaces".into());
        push("--log-dhcp".into());
        push(format!("--log-facility={}", log.display()));
        push(format!("--pid-file={}", self.path("dnsmasq.pid").display()));
        push("--enable-tftp".into());
        push(format!("--tftp-root={}", self.tftp_root().display()));
        if mode != DnsmasqMode::TftpOnly {
            push(format!(
                "--dhcp-range=198.18.{k}.100,198.18.{k}.199,255.255.255.0,1h"
            ));
            push(format!(
                "--dhcp-leasefile={}",
                self.path("dnsmasq.leases").display()
            ));
        }
        if mode == DnsmasqMode::DhcpAndTftp {
            push(format!("--dhcp-option=150,{}", self.router_ip()));
        }
        argv.extend(extra.iter().map(|arg| arg.as_ref().to_os_string()));
        self.note_log(&log);
        let id = self.spawn_in_router(&argv, env, &self.path("dnsmasq.stderr"));
        self.wait_for_text(id, &log, 0, "TFTP root is", READY_TIMEOUT);
        id
    }

    /// The socket [`Lab::start_rsyslogd`] reads: `/dev/log` of [`Lab::start_in_tftpd`].
    pub fn devlog_socket(&self) -> PathBuf {
        self.path("devlog.sock")
    }

    /// The file [`Lab::start_rsyslogd`] writes every message to.
    pub fn syslog_path(&self) -> PathBuf {
        self.path("syslog")
    }

    /// Starts a private rsyslogd in the router namespace
    /// (`rsyslogd -n -f rsyslog.conf -i rsyslog.pid`) and waits until a test message sent
    /// to its socket has reached [`Lab::syslog_path`].
    ///
    /// It reads only [`Lab::devlog_socket`] (`SysSock.Use="off"`: never the host's
    /// `/dev/log`) and writes every message to `syslog` in rsyslog's default file format,
    /// which is Debian 12's (RFC 3339 with microseconds and offset, formats.md §3): the
    /// config has no `$ActionFileDefaultTemplate`. Its state goes to the lab directory.
    #[track_caller]
    pub fn start_rsyslogd(&mut self) -> ProcessId {
        let rsyslogd = find_program("rsyslogd").expect("rsyslogd was checked before");
        let socket = self.devlog_socket();
        let syslog = self.syslog_path();
        // sun_path holds 108 bytes including the terminating NUL.
        assert!(
            socket.as_os_str().len() < 108,
            "socket path too long for AF_UNIX (set TMPDIR to a shorter directory): {}",
            socket.display()
        );
        let conf = self.path("rsyslog.conf");
        fs::write(
            &conf,
            format!(
                "# rsyslogd of the e2e tests: one private socket in, one file out, in rsyslog's\n\
                 # default file format (Debian 12: no $ActionFileDefaultTemplate).\n\
                 $WorkDirectory {dir}\n\
                 module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
                 input(type=\"imuxsock\" Socket=\"{socket}\" CreatePath=\"on\")\n\
                 *.* {syslog}\n",
                dir = self.dir().display(),
                socket = socket.display(),
                syslog = syslog.display(),
            ),
        )
        .expect("write rsyslog.conf");
        self.note_log(&syslog);
        let pid_file = self.path("rsyslog.pid");
        let argv: [&OsStr; 6] = [
            rsyslogd.as_os_str(),
            "-n".as_ref(),
            "-f".as_ref(),
            conf.as_os_str(),
            "-i".as_ref(),
            pid_file.as_os_str(),
        ];
        let id = self.spawn_in_router(&argv, &[], &self.path("rsyslogd.log"));
        self.wait_while_running(id, "rsyslogd created its socket", READY_TIMEOUT, || {
            socket.exists()
        });
        // The socket exists once bound, so this datagram waits in its queue if need be.
        let probe = format!("autoprov-lab rsyslogd ready in lab {}", self.k);
        std::os::unix::net::UnixDatagram::unbound()
            .and_then(|sender| {
                sender.send_to(format!("<14>autoprov-lab: {probe}").as_bytes(), &socket)
            })
            .unwrap_or_else(|e| panic!("send a test message to {}: {e}", socket.display()));
        self.wait_for_text(id, &syslog, 0, &probe, READY_TIMEOUT);
        id
    }

    /// Starts tftpd-hpa in the router namespace,
    /// `in.tftpd -L -v -v -s <tftp root> -a 198.18.<k>.1:69 -u nobody` (foreground,
    /// chrooted into the TFTP root, as `nobody`), and waits until it listens. Call
    /// [`Lab::start_rsyslogd`] first: this is where its log goes.
    ///
    /// in.tftpd logs only with syslog(3), i.e. to `/dev/log`, and the host's `/dev` must not
    /// be touched. So it runs under `unshare --mount` with a private `/dev`: a tmpfs holding
    /// bind mounts of the host's null, zero, full, random and urandom plus a `log` symlink
    /// to [`Lab::devlog_socket`], moved over `/dev` (the reference lab did the same,
    /// formats.md §10). Those mounts exist only in that mount namespace and vanish with its
    /// last process. in.tftpd connects to the socket (`LOG_NDELAY`) before it chroots, which
    /// is why rsyslogd must already be listening.
    #[track_caller]
    pub fn start_in_tftpd(&mut self) -> ProcessId {
        let in_tftpd = find_program("in.tftpd").expect("in.tftpd was checked before");
        let root = self.tftp_root();
        let listen = format!("{}:69", self.router_ip());
        let argv: [&OsStr; 10] = [
            in_tftpd.as_os_str(),
            "-L".as_ref(),
            "-v".as_ref(),
            "-v".as_ref(),
            "-s".as_ref(),
            root.as_os_str(),
            "-a".as_ref(),
            listen.as_ref(),
            "-u".as_ref(),
            "nobody".as_ref(),
        ];
        let log = self.path("in.tftpd.log");
        let id = self.spawn_with_private_devlog("in.tftpd", &argv, &[], &log);
        let router = self.router_ip();
        self.wait_for_udp_port(id, router, 69);
        id
    }

    /// Starts `argv` in the router namespace with a private `/dev` whose `log` is
    /// [`Lab::devlog_socket`], for servers that log only with syslog(3) (in.tftpd, dhcpd):
    /// their lines reach [`Lab::syslog_path`] and never the host's `/dev/log`. Call
    /// [`Lab::start_rsyslogd`] first.
    ///
    /// It runs `unshare --mount /bin/sh <name>.sh`; the script mounts a tmpfs holding bind
    /// mounts of the host's null, zero, full, random and urandom plus the `log` symlink, moves
    /// it over `/dev` and execs `argv` (so the pid is the program's). Those mounts exist only
    /// in that mount namespace (private propagation) and vanish with its last process;
    /// children (dhcpd's `execute()` hooks) share it. The program must open `/dev/log` only
    /// after rsyslogd listens, which is why rsyslogd comes first. `name` is the process name
    /// in messages and names the script and the mount point (`<name>-dev`).
    #[track_caller]
    pub fn spawn_with_private_devlog<S: AsRef<OsStr>>(
        &mut self,
        name: &str,
        argv: &[S],
        env: &[(&str, &str)],
        log: &Path,
    ) -> ProcessId {
        let unshare = find_program("unshare").expect("unshare was checked before");
        let socket = self.devlog_socket();
        assert!(
            socket.exists(),
            "{name} needs start_rsyslogd first: no {}",
            socket.display()
        );
        let new_dev = self.path(&format!("{name}-dev"));
        fs::create_dir_all(&new_dev)
            .unwrap_or_else(|e| panic!("create the mount point for {name}'s /dev: {e}"));
        let script = self.path(&format!("{name}.sh"));
        let command: Vec<String> = argv
            .iter()
            .map(|arg| shell_quote(&arg.as_ref().to_string_lossy()))
            .collect();
        fs::write(
            &script,
            format!(
                "#!/bin/sh\n\
                 # {name} of the e2e tests. Runs under `unshare --mount` (private propagation):\n\
                 # no mount below is visible outside this process and its children.\n\
                 set -e\n\
                 mount -t tmpfs -o mode=0755,size=64k autoprov-dev '{new_dev}'\n\
                 for device in null zero full random urandom; do\n\
                 \x20 : > '{new_dev}'/$device\n\
                 \x20 mount --bind /dev/$device '{new_dev}'/$device\n\
                 done\n\
                 ln -s '{socket}' '{new_dev}/log'\n\
                 mount --move '{new_dev}' /dev\n\
                 exec {command}\n",
                new_dev = new_dev.display(),
                socket = socket.display(),
                command = command.join(" "),
            ),
        )
        .unwrap_or_else(|e| panic!("write {}: {e}", script.display()));
        set_mode(&script, 0o755);
        let wrapper: [&OsStr; 4] = [
            unshare.as_os_str(),
            "--mount".as_ref(),
            "/bin/sh".as_ref(),
            script.as_os_str(),
        ];
        // unshare and sh exec, so the pid is the program's.
        let id = self.spawn_in_router(&wrapper, env, log);
        self.processes[id.0].name = name.to_string();
        id
    }

    /// Starts atftpd 0.8 ([`atftpd_binary`]) in the router namespace,
    /// `atftpd --daemon --no-fork --user nobody.nogroup --bind-address 198.18.<k>.1
    /// --port 69 --pidfile atftpd.pid --logfile atftpd.log --verbose=5 <tftp root>`, and
    /// waits until it has logged its start and listens.
    ///
    /// atftpd opens its log file after dropping to `nobody`, so (like Debian's postinst) the
    /// file is created first, `nobody:nogroup` 0640. At verbosity 5 it logs one
    /// `Serving <file> to <ip>:<port>` line per request, before it even opens the file
    /// (formats.md §4). SIGHUP kills it; [`Lab::stop`] sends SIGTERM.
    #[track_caller]
    pub fn start_atftpd(&mut self) -> ProcessId {
        let atftpd = atftpd_binary().expect("atftpd was checked before");
        let log = self.atftpd_log();
        let pid_file = self.path("atftpd.pid");
        // A leftover pid file only makes atftpd complain; start clean anyway.
        let _ = fs::remove_file(&pid_file);
        if !log.exists() {
            fs::write(&log, "").expect("create atftpd.log");
        }
        set_mode(&log, 0o640);
        let chown = find_program("chown").unwrap_or_else(|| PathBuf::from("chown"));
        let argv: [&OsStr; 3] = [
            chown.as_os_str(),
            "nobody:nogroup".as_ref(),
            log.as_os_str(),
        ];
        self.run_in_router(&argv, READY_TIMEOUT).assert_success();
        let from = file_len(&log);
        let mut argv: Vec<OsString> = vec![atftpd.into_os_string()];
        for arg in [
            "--daemon".to_string(),
            "--no-fork".into(),
            "--user".into(),
            "nobody.nogroup".into(),
            "--bind-address".into(),
            self.router_ip().to_string(),
            "--port".into(),
            "69".into(),
            "--pidfile".into(),
            pid_file.display().to_string(),
            "--logfile".into(),
            log.display().to_string(),
            "--verbose=5".into(),
            self.tftp_root().display().to_string(),
        ] {
            argv.push(arg.into());
        }
        self.note_log(&log);
        let id = self.spawn_in_router(&argv, &[], &self.path("atftpd.stderr"));
        self.wait_for_text(
            id,
            &log,
            from,
            "Advanced Trivial FTP server started",
            READY_TIMEOUT,
        );
        let router = self.router_ip();
        self.wait_for_udp_port(id, router, 69);
        id
    }

    /// atftpd's log file ([`Lab::start_atftpd`]).
    pub fn atftpd_log(&self) -> PathBuf {
        self.path("atftpd.log")
    }

    /// Starts ISC dhcpd in the router namespace as the reference lab ran it
    /// (formats.md §2), `dhcpd -4 -f -d -cf dhcpd.conf -lf dhcpd.leases -pf dhcpd.pid
    /// <router veth>`, and waits until it logs `Server starting service.`. Call
    /// [`Lab::start_rsyslogd`] first: dhcpd logs with syslog(3) as well as to stderr, so it
    /// runs with a private `/dev/log` ([`Lab::spawn_with_private_devlog`]).
    ///
    /// `dhcpd.conf` is `captures/isc-dhcpd/dhcpd.conf` for the lab's subnet (range
    /// 198.18.k.100–199, option 150 declared as `voip-tftp-server` and sent, option 66,
    /// next-server) without its hooks, plus `ping-check false;` (nothing else is on the
    /// link; the ping costs a second per offer), followed by `extra` (e.g. an `include` of
    /// the hook statements). The lease file ([`Lab::isc_leases_path`]) is created empty, as
    /// dhcpd requires. dhcpd runs as root, and so do its `execute()` hooks.
    #[track_caller]
    pub fn start_isc_dhcpd(&mut self, extra: &str) -> ProcessId {
        let dhcpd = find_program("dhcpd").expect("dhcpd was checked before");
        let conf = self.path("dhcpd.conf");
        let router = self.router_ip();
        let k = self.k;
        fs::write(
            &conf,
            format!(
                "# dhcpd.conf of the e2e tests (captures/isc-dhcpd/dhcpd.conf for this lab).\n\
                 option voip-tftp-server code 150 = ip-address;\n\
                 authoritative;\n\
                 ddns-update-style none;\n\
                 default-lease-time 3600;\n\
                 max-lease-time 7200;\n\
                 ping-check false;\n\
                 subnet 198.18.{k}.0 netmask 255.255.255.0 {{\n\
                 \x20 range 198.18.{k}.100 198.18.{k}.199;\n\
                 \x20 option routers {router};\n\
                 \x20 option tftp-server-name \"{router}\";\n\
                 \x20 option voip-tftp-server {router};\n\
                 \x20 next-server {router};\n\
                 }}\n\
                 {extra}\n"
            ),
        )
        .expect("write dhcpd.conf");
        let leases = self.isc_leases_path();
        if !leases.exists() {
            fs::write(&leases, "").expect("create dhcpd.leases");
        }
        self.note_log(&leases);
        let pid_file = self.path("dhcpd.pid");
        let interface = self.router_if.clone();
        let argv: [&OsStr; 11] = [
            dhcpd.as_os_str(),
            "-4".as_ref(),
            "-f".as_ref(),
            "-d".as_ref(),
            "-cf".as_ref(),
            conf.as_os_str(),
            "-lf".as_ref(),
            leases.as_os_str(),
            "-pf".as_ref(),
            pid_file.as_os_str(),
            interface.as_ref(),
        ];
        let log = self.path("dhcpd.log");
        let from = file_len(&log);
        let id = self.spawn_with_private_devlog("dhcpd", &argv, &[], &log);
        self.wait_for_text(id, &log, from, "Server starting service.", READY_TIMEOUT);
        id
    }

    /// dhcpd's lease file ([`Lab::start_isc_dhcpd`]).
    pub fn isc_leases_path(&self) -> PathBuf {
        self.path("dhcpd.leases")
    }

    /// Starts Kea's DHCPv4 server in the router namespace, `kea-dhcp4 -c kea-dhcp4.conf`,
    /// and waits until its log says `DHCP4_STARTED`.
    ///
    /// The config follows `captures/kea/kea-dhcp4.conf` for the lab: raw sockets on the
    /// router veth, pool 198.18.k.100–199, option 150 defined (`cisco-tftp-servers`) and
    /// sent with option 66, a memfile lease CSV ([`Lab::kea_leases_path`]) with an LFC
    /// interval of an hour (no cleanup during a test), a control socket, and the
    /// `kea-dhcp4` logger at INFO to [`Lab::kea_log`]. No hooks library. Kea's lock and pid
    /// files go to the lab directory (`KEA_LOCKFILE_DIR`, `KEA_PIDFILE_DIR`); without them
    /// it would use `/run/kea`.
    #[track_caller]
    pub fn start_kea_dhcp4(&mut self) -> ProcessId {
        let kea = find_program("kea-dhcp4").expect("kea-dhcp4 was checked before");
        let router = self.router_ip().to_string();
        let k = self.k;
        let log = self.kea_log();
        let socket = self.path("kea4-ctrl.sock");
        assert!(
            socket.as_os_str().len() < 100,
            "socket path too long for AF_UNIX (set TMPDIR to a shorter directory): {}",
            socket.display()
        );
        let config = serde_json::json!({
            "Dhcp4": {
                "interfaces-config": {
                    "interfaces": [self.router_if],
                    "dhcp-socket-type": "raw"
                },
                "control-socket": {
                    "socket-type": "unix",
                    "socket-name": socket.display().to_string()
                },
                "lease-database": {
                    "type": "memfile",
                    "persist": true,
                    "name": self.kea_leases_path().display().to_string(),
                    "lfc-interval": 3600
                },
                "valid-lifetime": 3600,
                "renew-timer": 900,
                "rebind-timer": 1800,
                "option-def": [{
                    "name": "cisco-tftp-servers",
                    "code": 150,
                    "type": "ipv4-address",
                    "array": true,
                    "space": "dhcp4"
                }],
                "subnet4": [{
                    "id": 1,
                    "subnet": format!("198.18.{k}.0/24"),
                    "pools": [{ "pool": format!("198.18.{k}.100 - 198.18.{k}.199") }],
                    "option-data": [
                        { "name": "routers", "data": router },
                        { "name": "tftp-server-name", "data": router },
                        { "name": "cisco-tftp-servers", "data": router }
                    ]
                }],
                "loggers": [{
                    "name": "kea-dhcp4",
                    "severity": "INFO",
                    "output_options": [{ "output": log.display().to_string() }]
                }]
            }
        });
        let conf = self.path("kea-dhcp4.conf");
        fs::write(
            &conf,
            serde_json::to_string_pretty(&config).expect("serialise the Kea config"),
        )
        .expect("write kea-dhcp4.conf");
        self.note_log(&log);
        self.note_log(&self.kea_leases_path());
        let dir = self.dir().display().to_string();
        let argv: [&OsStr; 3] = [kea.as_os_str(), "-c".as_ref(), conf.as_os_str()];
        let env = [
            ("KEA_LOCKFILE_DIR", dir.as_str()),
            ("KEA_PIDFILE_DIR", dir.as_str()),
        ];
        let from = file_len(&log);
        let id = self.spawn_in_router(&argv, &env, &self.path("kea-dhcp4.stdout"));
        self.wait_for_text(id, &log, from, "DHCP4_STARTED", READY_TIMEOUT);
        id
    }

    /// Kea's memfile lease CSV ([`Lab::start_kea_dhcp4`]).
    pub fn kea_leases_path(&self) -> PathBuf {
        self.path("kea-leases4.csv")
    }

    /// Kea's log file ([`Lab::start_kea_dhcp4`]).
    pub fn kea_log(&self) -> PathBuf {
        self.path("kea-dhcp4.log")
    }

    /// Polls until process `id`'s network namespace has a UDP socket bound to
    /// `address:port`; panics with its log if it exits first or after [`READY_TIMEOUT`].
    #[track_caller]
    fn wait_for_udp_port(&mut self, id: ProcessId, address: Ipv4Addr, port: u16) {
        let pid = self.processes[id.0].child.id();
        // /proc/<pid>/net/udp lists the sockets of <pid>'s network namespace; addresses are
        // in host byte order (little-endian here), ports big-endian, both as hex.
        let local = format!("{:08X}:{port:04X}", u32::from_le_bytes(address.octets()));
        let table = PathBuf::from(format!("/proc/{pid}/net/udp"));
        self.wait_while_running(
            id,
            &format!("something listens on {address}:{port}/udp"),
            READY_TIMEOUT,
            || {
                fs::read_to_string(&table).is_ok_and(|text| {
                    text.lines()
                        .filter_map(|line| line.split_whitespace().nth(1))
                        .any(|field| field == local)
                })
            },
        );
    }

    /// Polls `condition` every [`POLL_STEP`]; panics with process `id`'s log and the noted
    /// logs if the process exits before it holds, or after `timeout`.
    #[track_caller]
    fn wait_while_running(
        &mut self,
        id: ProcessId,
        what: &str,
        timeout: Duration,
        mut condition: impl FnMut() -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            if condition() {
                return started.elapsed();
            }
            let spawned = &mut self.processes[id.0];
            // Its own output, and the logs it may write to instead (in.tftpd: the syslog).
            let mut logs = vec![spawned.log.clone()];
            logs.extend(self.logs.iter().filter(|log| **log != spawned.log).cloned());
            if let Ok(Some(status)) = spawned.child.try_wait() {
                if condition() {
                    return started.elapsed();
                }
                panic!(
                    "{} exited ({status}) before {what}\n{}",
                    spawned.name,
                    tail_of(&logs)
                );
            }
            if started.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting until {what}\n{}",
                    tail_of(&logs)
                );
            }
            thread::sleep(POLL_STEP);
        }
    }

    /// Runs busybox udhcpc as the phone (`-f -q -n -t 5 -T 1`, option 60, hostname, asking
    /// for options 150 and 66) with our own script, and returns when it exits.
    ///
    /// The script only adds the leased address on `bound`/`renew` (never touches
    /// `/etc/resolv.conf`) and appends `=== <event>` plus its sorted environment to
    /// `udhcpc-env.log`; see [`Lab::udhcpc_bound_env`].
    ///
    /// dnsmasq answers `-O 66` only when option 66 is configured, which [`Lab::start_dnsmasq`]
    /// does not do: expect `opt150` but no `tftp` variable.
    pub fn run_udhcpc(&mut self) -> RunOutput {
        self.run_udhcpc_in(Ns::Phone)
    }

    /// [`Lab::run_udhcpc`] for the phone in `ns` (its interface, vendor class and hostname);
    /// its events go to `udhcpc-env.log` for [`Ns::Phone`], `udhcpc-env-<ns>.log` otherwise
    /// (see [`Lab::udhcpc_bound_env_in`]).
    pub fn run_udhcpc_in(&mut self, ns: Ns) -> RunOutput {
        let argv = self.udhcpc_argv(ns);
        self.run_in(ns, &argv, CLIENT_TIMEOUT)
    }

    /// Writes the udhcpc script of the phone in `ns`, notes its event log, and returns the
    /// udhcpc command line that [`Lab::run_udhcpc_in`] runs: several phones can then run it
    /// at once with [`Lab::run_in`], which needs only `&self`.
    pub fn udhcpc_argv(&mut self, ns: Ns) -> Vec<OsString> {
        let env_log = self.udhcpc_env_log(ns);
        let script = match ns {
            Ns::Phone => self.path("udhcpc.sh"),
            other => self.path(&format!("udhcpc-{other:?}.sh")),
        };
        let ip = self.ip.display().to_string();
        fs::write(
            &script,
            format!(
                "#!/bin/sh\n\
                 # udhcpc hook of the e2e tests: log the event and environment, then configure\n\
                 # only the address. Never touches /etc/resolv.conf or routes.\n\
                 {{ echo \"=== $1\"; env | sort; }} >> '{log}'\n\
                 case \"$1\" in\n\
                 \x20 bound|renew) '{ip}' addr add \"$ip/$mask\" dev \"$interface\" 2>/dev/null \\\n\
                 \x20   || '{ip}' addr show dev \"$interface\" | grep -q \" $ip/\" ;;\n\
                 esac\n\
                 exit 0\n",
                log = env_log.display(),
            ),
        )
        .expect("write udhcpc script");
        set_mode(&script, 0o755);
        self.note_log(&env_log);

        let mut argv = udhcpc_command().expect("udhcpc was checked before");
        let (interface, phone) = self.phone_in(ns);
        let interface = interface.to_string();
        for arg in [
            "-f".to_string(),
            "-q".into(),
            "-n".into(),
            "-t".into(),
            "5".into(),
            "-T".into(),
            "1".into(),
            "-i".into(),
            interface,
            "-V".into(),
            phone.vendor_class.into(),
            "-x".into(),
            format!("hostname:{}", phone.hostname),
            "-O".into(),
            "150".into(),
            "-O".into(),
            "66".into(),
            "-s".into(),
            script.display().to_string(),
        ] {
            argv.push(arg.into());
        }
        argv
    }

    /// The environment of the last `bound` event logged by the udhcpc script, e.g.
    /// `ip`, `mask`, `opt150` (hex), `tftp`, `serverid`.
    pub fn udhcpc_bound_env(&self) -> HashMap<String, String> {
        self.udhcpc_bound_env_in(Ns::Phone)
    }

    /// Where the udhcpc script of the phone in `ns` logs its events.
    fn udhcpc_env_log(&self, ns: Ns) -> PathBuf {
        match ns {
            Ns::Phone => self.path("udhcpc-env.log"),
            other => self.path(&format!("udhcpc-env-{other:?}.log")),
        }
    }

    /// [`Lab::udhcpc_bound_env`] of the phone in `ns`.
    pub fn udhcpc_bound_env_in(&self, ns: Ns) -> HashMap<String, String> {
        let text = fs::read_to_string(self.udhcpc_env_log(ns)).unwrap_or_default();
        let marker = "=== bound\n";
        let Some(start) = text.rfind(marker) else {
            panic!("udhcpc never ran its script with `bound`:\n{text}");
        };
        text[start + marker.len()..]
            .lines()
            .take_while(|line| !line.starts_with("=== "))
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    /// The phone downloads `name` from the router with tftp-hpa (binary mode) into
    /// `got-<name>` and compares it with the file in the TFTP root.
    pub fn tftp_get(&self, name: &str) -> TftpGet {
        self.tftp_get_in(Ns::Phone, name)
    }

    /// [`Lab::tftp_get`] by the phone in namespace `ns` ([`Ns::Phone`] or
    /// [`Ns::SecondPhone`]); other phones than the first save to `got-<ns>-<name>`.
    pub fn tftp_get_in(&self, ns: Ns, name: &str) -> TftpGet {
        let local = match ns {
            Ns::Phone => self.path(&format!("got-{name}")),
            other => self.path(&format!("got-{other:?}-{name}")),
        };
        // A failed earlier get may have left an empty file; never mistake it for this one.
        let _ = fs::remove_file(&local);
        let tftp = find_program("tftp").expect("tftp was checked before");
        let router = self.router_ip().to_string();
        let local_arg = local.display().to_string();
        let argv: [&OsStr; 8] = [
            tftp.as_os_str(),
            "-m".as_ref(),
            "binary".as_ref(),
            router.as_ref(),
            "-c".as_ref(),
            "get".as_ref(),
            name.as_ref(),
            local_arg.as_ref(),
        ];
        let output = self.run_in(ns, &argv, TFTP_TIMEOUT);
        TftpGet {
            name: name.to_string(),
            output,
            received: fs::read(&local).ok(),
            served: fs::read(self.tftp_root().join(name)).ok(),
        }
    }

    /// Starts `cisco-autoprov run -c <config>` in the router namespace with
    /// `RUST_LOG=debug`, output appended to `daemon.log`, and waits for `daemon ready`
    /// (logged once its file watches are set).
    #[track_caller]
    pub fn start_daemon(&mut self, config: &Path) -> ProcessId {
        let log = self.path("daemon.log");
        let from = file_len(&log);
        let argv: [&OsStr; 4] = [
            daemon_binary().as_ref(),
            "run".as_ref(),
            "-c".as_ref(),
            config.as_os_str(),
        ];
        let id = self.spawn_in_router(&argv, &[("RUST_LOG", "debug")], &log);
        self.wait_for_text(id, &log, from, "daemon ready", READY_TIMEOUT);
        id
    }

    /// Runs `cisco-autoprov status -c <config> --json` and parses its output.
    #[track_caller]
    pub fn daemon_status(&self, config: &Path) -> serde_json::Value {
        let argv: [&OsStr; 5] = [
            daemon_binary().as_ref(),
            "status".as_ref(),
            "-c".as_ref(),
            config.as_os_str(),
            "--json".as_ref(),
        ];
        let output = self.run_in_router(&argv, READY_TIMEOUT);
        output.assert_success();
        serde_json::from_str(&output.stdout)
            .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {output}"))
    }

    /// `ip netns exec <ns> argv…` with a minimal environment: nothing of the test runner's
    /// environment (which may hold CI secrets) leaks into lab processes or the logs they
    /// write, e.g. the udhcpc script's environment dump. `RUST_BACKTRACE` is passed through.
    fn command_in<S: AsRef<OsStr>>(&self, ns: Ns, argv: &[S]) -> Command {
        let mut command = Command::new(&self.ip);
        command
            .args(["netns", "exec", self.ns_name(ns)])
            .args(argv)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("LANG", "C.UTF-8");
        if let Some(backtrace) = std::env::var_os("RUST_BACKTRACE") {
            command.env("RUST_BACKTRACE", backtrace);
        }
        command
    }

    fn ip_output(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.ip)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run ip {args:?}: {e}"))
    }

    #[track_caller]
    fn ip_ok(&self, args: &[&str]) {
        let output = self.ip_output(args);
        assert!(
            output.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Kills (by pid) whatever still runs inside `ns`, then deletes it. Ignores a missing
    /// namespace. Only our own namespaces are ever passed here.
    fn remove_namespace(&self, ns: &str) {
        if !Path::new("/run/netns").join(ns).exists() {
            return;
        }
        let pids_in_ns = || -> Vec<String> {
            let output = self.ip_output(&["netns", "pids", ns]);
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        let stragglers = pids_in_ns();
        if !stragglers.is_empty() {
            eprintln!(
                "{}: killing leftover processes in {ns}: {stragglers:?}",
                self.test
            );
            send_signal("KILL", &stragglers);
            poll_until(Duration::from_secs(2), POLL_STEP, || {
                pids_in_ns().is_empty()
            });
        }
        let output = self.ip_output(&["netns", "del", ns]);
        if !output.status.success() {
            eprintln!(
                "{}: ip netns del {ns}: {}",
                self.test,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for spawned in self.processes.iter_mut().rev() {
            terminate(&mut spawned.child, &spawned.name);
        }
        if thread::panicking() {
            let mut logs: Vec<PathBuf> = self.processes.iter().map(|p| p.log.clone()).collect();
            for log in &self.logs {
                if !logs.contains(log) {
                    logs.push(log.clone());
                }
            }
            eprintln!(
                "--- {} failed; lab directory {} ---",
                self.test,
                self.dir().display()
            );
            eprintln!("{}", tail_of(&logs));
        }
        for ns in std::mem::take(&mut self.namespaces).iter().rev() {
            self.remove_namespace(ns);
        }
    }
}

/// Polls `condition` every [`POLL_STEP`] until it holds; panics after `timeout`.
/// Returns how long it took.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, condition: impl FnMut() -> bool) -> Duration {
    match poll_until(timeout, POLL_STEP, condition) {
        Some(elapsed) => elapsed,
        None => panic!("timed out after {timeout:?} waiting until {what}"),
    }
}

/// Polls `condition` every `step` until it holds (returns the time it took) or `timeout`
/// passes (returns `None`). The condition is checked once more at the deadline.
pub fn poll_until(
    timeout: Duration,
    step: Duration,
    mut condition: impl FnMut() -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if condition() {
            return Some(started.elapsed());
        }
        if started.elapsed() >= timeout {
            return None;
        }
        thread::sleep(step);
    }
}

/// Absolute path of our daemon, built by cargo for integration tests.
pub fn daemon_binary() -> &'static str {
    env!("CARGO_BIN_EXE_cisco-autoprov")
}

/// Finds an executable in `PATH`, then in the sbin/bin directories (`cargo test` under sudo
/// may have a PATH without sbin, where `ip` and `dnsmasq` live).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .into_iter()
            .map(PathBuf::from),
        )
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// argv prefix for udhcpc: the `udhcpc` program, or `busybox udhcpc` when busybox has the
/// applet but no `udhcpc` link is installed.
pub fn udhcpc_command() -> Option<Vec<OsString>> {
    if let Some(udhcpc) = find_program("udhcpc") {
        return Some(vec![udhcpc.into_os_string()]);
    }
    let busybox = find_program("busybox")?;
    let list = Command::new(&busybox).arg("--list").output().ok()?;
    String::from_utf8_lossy(&list.stdout)
        .lines()
        .any(|applet| applet == "udhcpc")
        .then(|| vec![busybox.into_os_string(), "udhcpc".into()])
}

/// Environment variable naming the atftpd binary; see [`atftpd_binary`].
pub const ATFTPD_ENV: &str = "ATFTPD";
/// Where [`atftpd_binary`] looks without [`ATFTPD_ENV`]. The Debian package conflicts with
/// tftpd-hpa, so it is unpacked rather than installed (commands in `tests/e2e_tftpd.rs`).
pub const ATFTPD_DEFAULT: &str = "/opt/cisco-autoprov-test/atftpd/usr/sbin/atftpd";

/// The atftpd binary: `$ATFTPD`, else [`ATFTPD_DEFAULT`], if that is an executable file.
pub fn atftpd_binary() -> Option<PathBuf> {
    let path = std::env::var_os(ATFTPD_ENV)
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(ATFTPD_DEFAULT), PathBuf::from);
    fs::metadata(&path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .then_some(path)
}

/// Why the lab cannot run here, if it cannot: not root, or `ip` or one of `programs`
/// missing. `atftpd` is looked for with [`atftpd_binary`], not in `PATH`.
pub fn missing_prerequisite(programs: &[&str]) -> Option<String> {
    match effective_uid() {
        Some(0) => {}
        Some(uid) => return Some(format!("needs root for network namespaces (euid is {uid})")),
        None => return Some("cannot read the euid from /proc/self/status".to_string()),
    }
    let mut missing: Vec<&str> = std::iter::once(&"ip")
        .chain(programs)
        .copied()
        .filter(|&program| match program {
            "udhcpc" => udhcpc_command().is_none(),
            "atftpd" => atftpd_binary().is_none(),
            _ => find_program(program).is_none(),
        })
        .collect();
    missing.dedup();
    let hint = if missing.contains(&"atftpd") {
        format!(" (atftpd is looked for at ${ATFTPD_ENV}, else {ATFTPD_DEFAULT})")
    } else {
        String::new()
    };
    (!missing.is_empty()).then(|| format!("missing program(s): {}{hint}", missing.join(", ")))
}

/// Prints `skipping <test>: <reason>`, or panics with the reason when `CI=true`.
#[track_caller]
pub fn skip_or_fail(test: &str, reason: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{test}: CI=true, so this test must run, but {reason}");
    }
    eprintln!("skipping {test}: {reason}");
}

/// The effective uid, from the `Uid:` line of `/proc/self/status` (real, effective, …).
fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Runs `command` to completion (stdin closed, output captured), killing it after `timeout`.
fn run_command(mut command: Command, timeout: Duration) -> RunOutput {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let description = describe(&command);
    let started_at = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {description}: {e}"));
    // Drain both pipes in the background so a chatty child can never block on a full pipe.
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started_at.elapsed() > timeout => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("wait for a killed child");
            }
            Ok(None) => thread::sleep(EXIT_POLL_STEP),
            Err(e) => panic!("wait for {description}: {e}"),
        }
    };
    let exited_at = Instant::now();
    RunOutput {
        command: description,
        status,
        timed_out,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        started_at,
        exited_at,
    }
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// SIGTERM, then up to [`STOP_GRACE`] for the child to exit, then SIGKILL. Always reaps.
fn terminate(child: &mut Child, name: &str) -> ExitStatus {
    if let Ok(Some(status)) = child.try_wait() {
        return status;
    }
    send_signal("TERM", &[child.id().to_string()]);
    let mut status = None;
    poll_until(STOP_GRACE, Duration::from_millis(10), || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    match status {
        Some(status) => status,
        None => {
            eprintln!(
                "{name} (pid {}) ignored SIGTERM for {STOP_GRACE:?}; SIGKILL",
                child.id()
            );
            let _ = child.kill();
            child.wait().expect("wait for a killed child")
        }
    }
}

/// `kill -<signal> <pids>`; std has no kill(2) other than SIGKILL on a `Child`.
fn send_signal(signal: &str, pids: &[String]) {
    let kill = find_program("kill").unwrap_or_else(|| PathBuf::from("kill"));
    let _ = Command::new(kill)
        .arg(format!("-{signal}"))
        .args(pids)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Sets the permission bits of `path`.
pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// Size of a file, 0 when it does not exist.
pub fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|meta| meta.len()).unwrap_or(0)
}

/// The file's text from byte `from` on; empty when missing. Lossy: logs may hold any byte.
pub fn read_from(path: &Path, from: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = usize::try_from(from).unwrap_or(usize::MAX).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// The last lines of each file, for failure messages.
pub fn tail_of(paths: &[PathBuf]) -> String {
    const LINES: usize = 40;
    let mut out = String::new();
    for path in paths {
        let text = read_from(path, 0);
        let lines: Vec<&str> = text.lines().collect();
        let skip = lines.len().saturating_sub(LINES);
        out.push_str(&format!(
            "--- {} (last {} lines) ---\n",
            path.display(),
            lines.len() - skip
        ));
        for line in &lines[skip..] {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A process's own log, plus `path` when that is a different file.
fn logs_of(own_log: &Path, path: &Path) -> Vec<PathBuf> {
    let mut logs = vec![own_log.to_path_buf()];
    if path != own_log {
        logs.push(path.to_path_buf());
    }
    logs
}

fn program_name<S: AsRef<OsStr>>(argv: &[S]) -> String {
    let Some(first) = argv.first() else {
        return "<empty>".to_string();
    };
    let path = Path::new(first.as_ref());
    let base = path
        .file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy();
    match (base.as_ref(), argv.get(1)) {
        ("busybox", Some(applet)) => format!("busybox {}", applet.as_ref().to_string_lossy()),
        _ => base.into_owned(),
    }
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` as one single-quoted `sh` word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
