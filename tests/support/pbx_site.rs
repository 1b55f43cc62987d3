//! A site with a PBX for the end-to-end tests and the PBX benchmark: a LAN lab
//! ([`Lab::start_lan`]) whose router namespace runs dnsmasq (DHCP + TFTP), Asterisk 22
//! ([`super::asterisk`]) and cisco-autoprov, and phones that boot as the firmware does:
//! DHCP, their files over TFTP, then SIP ([`super::sipphone`]) with what they read.
//!
//! The admin's one-time set-up is done as README's "On the PBX" says: an empty include that
//! Asterisk's group may read, `#include`d from `pjsip.conf`, created before Asterisk starts.
//! The daemon must keep it that way across every rewrite (field-evidence.md §2).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::asterisk::{
    missing_asterisk, Asterisk, AsteriskConfig, ASTERISK_PROGRAMS, ASTERISK_UID,
};
use super::netns::{
    skip_or_fail, wait_until, DnsmasqMode, Lab, Ns, Phone, ProcessId, CLIENT_TIMEOUT,
};
use super::sipphone::{PhoneSip, SipPhone, Transport};

/// Programs besides `ip` and [`ASTERISK_PROGRAMS`]: the lab's servers and clients.
pub const PROGRAMS: &[&str] = &["dnsmasq", "udhcpc", "tftp"];

/// How long a phone may take from its lease to a 200 OK for its REGISTER. The firmware
/// retries a refused registration; so does the test phone, every [`REGISTER_EVERY`].
pub const REGISTER_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a phone whose REGISTER was refused tries again.
pub const REGISTER_EVERY: Duration = Duration::from_millis(500);

/// The lab, Asterisk, the daemon, and the include it writes.
pub struct PbxSite {
    pub lab: Lab,
    pub asterisk: Asterisk,
    pub daemon: ProcessId,
    pub include: PathBuf,
    /// The phones given to [`PbxSite::start`], phone `i` in [`Ns::Lan`]`(i)`.
    pub phones: Vec<Phone>,
}

/// A phone that booted and registered.
pub struct Booted {
    pub ns: Ns,
    pub phone: Phone,
    /// Its leased address.
    pub ip: String,
    /// What it read from its files.
    pub line: LineConfig,
    /// Its SIP side, registered.
    pub sip: SipPhone,
    /// The statuses of its successful registration attempt (`[401, 200]`).
    pub statuses: Vec<u16>,
    /// From the end of its DHCP exchange to the 200 OK of its REGISTER.
    pub lease_to_registered: Duration,
}

impl PbxSite {
    /// Builds the site, or prints why the test is skipped and returns `None` (under
    /// `CI=true` a missing prerequisite panics). `reload_interval_s` is the daemon's
    /// `[pbx] reload_interval_s`.
    #[track_caller]
    pub fn start(test: &str, phones: &[Phone], reload_interval_s: u64) -> Option<PbxSite> {
        PbxSite::start_with(test, phones, reload_interval_s, &[])
    }

    /// [`PbxSite::start`] with extra dnsmasq arguments, e.g. `--no-ping`: dnsmasq pings an
    /// address before offering it and handles no other DHCP packet for up to 3 s meanwhile,
    /// so phones that all ask at once get their leases 3 s apart.
    #[track_caller]
    pub fn start_with(
        test: &str,
        phones: &[Phone],
        reload_interval_s: u64,
        dnsmasq_extra: &[&str],
    ) -> Option<PbxSite> {
        PbxSite::start_full(test, phones, reload_interval_s, dnsmasq_extra, "")
    }

    /// [`PbxSite::start_with`] with `provision_extra` lines in the daemon's `[provision]`
    /// table, e.g. `rotate_secret_on_leak = true`.
    #[track_caller]
    pub fn start_full(
        test: &str,
        phones: &[Phone],
        reload_interval_s: u64,
        dnsmasq_extra: &[&str],
        provision_extra: &str,
    ) -> Option<PbxSite> {
        if let Some(reason) = missing_asterisk() {
            skip_or_fail(test, &reason);
            return None;
        }
        let programs: Vec<&str> = PROGRAMS.iter().chain(ASTERISK_PROGRAMS).copied().collect();
        let mut lab = Lab::start_lan(test, &programs, phones)?;
        lab.start_dnsmasq_with(DnsmasqMode::DhcpAndTftp, dnsmasq_extra, &[]);

        let etc = Asterisk::etc_dir_in(&lab);
        fs::create_dir_all(&etc).expect("create /etc/asterisk");
        let include = etc.join("pjsip.cisco-autoprov.conf");
        let dialplan = etc.join("extensions.cisco-autoprov.conf");
        for file in [&include, &dialplan] {
            fs::write(file, "").expect("create the include");
            std::os::unix::fs::chown(file, Some(0), Some(ASTERISK_UID)).expect("chgrp asterisk");
            fs::set_permissions(file, fs::Permissions::from_mode(0o640)).expect("chmod 640");
        }
        let config = asterisk_config(&lab);
        let asterisk = Asterisk::start(&mut lab, &config);
        assert_eq!(asterisk.etc_dir(), etc);
        let config = write_config(
            &lab,
            &include,
            &dialplan,
            &asterisk.rx_script(),
            reload_interval_s,
            provision_extra,
        );
        let daemon = lab.start_daemon(&config);
        wait_until(
            "the daemon rewrote the includes",
            Duration::from_secs(5),
            || {
                fs::read_to_string(&include).is_ok_and(|text| text.contains("No phones yet"))
                    && fs::read_to_string(&dialplan)
                        .is_ok_and(|text| text.contains("[cisco-autoprov-unapproved]"))
            },
        );
        assert_pbx_readable(&include);
        Some(PbxSite {
            lab,
            asterisk,
            daemon,
            include,
            phones: phones.to_vec(),
        })
    }

    /// Phone `i` boots as it would when plugged in: DHCP, its files in the firmware's order,
    /// then REGISTER (401, then 200 with the secret from its own file), retried like the
    /// firmware until the PBX knows it.
    #[track_caller]
    pub fn boot(&mut self, i: usize) -> Booted {
        let fetched = self.lease_and_fetch(i);
        let (sip, statuses) = fetched.register().unwrap_or_else(|err| {
            panic!(
                "{err}\n{}",
                self.asterisk.rx(&self.lab, "pjsip show endpoints")
            )
        });
        let lease_to_registered = fetched.leased_at.elapsed();
        Booted {
            ns: fetched.ns,
            phone: fetched.phone,
            ip: fetched.ip,
            line: fetched.line,
            sip,
            statuses,
            lease_to_registered,
        }
    }

    /// The first half of [`PbxSite::boot`]: DHCP and the files, no SIP yet.
    #[track_caller]
    pub fn lease_and_fetch(&mut self, i: usize) -> Fetched {
        let argv = self.lab.udhcpc_argv(Ns::Lan(i));
        lease_and_fetch(&self.lab, i, self.phones[i], &argv)
    }

    /// Every phone boots at once, as when the office's switch comes back: one thread per
    /// phone does DHCP, its files and its registration. Returns each phone's time from its
    /// lease to its 200 OK, in the order of the phones.
    pub fn boot_all_at_once(&mut self) -> Vec<Duration> {
        let argvs: Vec<_> = (0..self.phones.len())
            .map(|i| self.lab.udhcpc_argv(Ns::Lan(i)))
            .collect();
        let lab = &self.lab;
        std::thread::scope(|scope| {
            let handles: Vec<_> = argvs
                .iter()
                .enumerate()
                .map(|(i, argv)| {
                    let phone = self.phones[i];
                    scope.spawn(move || {
                        let fetched = lease_and_fetch(lab, i, phone, argv);
                        let (sip, _) = fetched.register().unwrap_or_else(|err| panic!("{err}"));
                        let took = fetched.leased_at.elapsed();
                        drop(sip);
                        took
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a phone's thread"))
                .collect()
        })
    }

    /// The daemon's log so far.
    pub fn daemon_log(&self) -> String {
        fs::read_to_string(self.lab.path("daemon.log")).unwrap_or_default()
    }
}

/// Asterisk for a site: SIP on the router address, the test dialplan and mailboxes, and
/// `pjsip.conf` including the file the daemon writes.
pub fn asterisk_config(lab: &Lab) -> AsteriskConfig {
    AsteriskConfig {
        bind: lab.router_ip(),
        extensions_conf: DIALPLAN.to_string(),
        pjsip_extra: "#include pjsip.cisco-autoprov.conf\n".to_string(),
        voicemail_conf: voicemail_conf(),
    }
}

/// DHCP with `argv` (from [`Lab::udhcpc_argv`]) and the files of phone `i`.
#[track_caller]
fn lease_and_fetch(lab: &Lab, i: usize, phone: Phone, argv: &[std::ffi::OsString]) -> Fetched {
    let ns = Ns::Lan(i);
    let dhcp = lab.run_in(ns, argv, CLIENT_TIMEOUT);
    dhcp.assert_success();
    let leased_at = dhcp.exited_at;
    let ip = lab.udhcpc_bound_env_in(ns)["ip"].clone();
    let line = fetch_config_like_the_firmware(lab, ns, &phone);
    Fetched {
        ns,
        netns: lab.ns_name(ns).to_string(),
        phone,
        ip,
        line,
        leased_at,
    }
}

/// A phone that has its lease and its files, before SIP; [`Fetched::register`] is the rest
/// of the boot and may run on another thread.
pub struct Fetched {
    pub ns: Ns,
    /// The namespace's name, for the SIP phone's sockets.
    pub netns: String,
    pub phone: Phone,
    pub ip: String,
    pub line: LineConfig,
    /// When its DHCP exchange ended.
    pub leased_at: std::time::Instant,
}

impl Fetched {
    /// Starts its SIP side and registers, retrying every [`REGISTER_EVERY`] for at most
    /// [`REGISTER_TIMEOUT`] as the firmware retries: the phone and the statuses of the
    /// attempt that got 200.
    pub fn register(&self) -> Result<(SipPhone, Vec<u16>), String> {
        let model = &self.phone.vendor_class[self.phone.vendor_class.len() - 6..];
        let sip = SipPhone::start(PhoneSip {
            netns: self.netns.clone(),
            local_ip: self.ip.parse().expect("leased address"),
            registrar: self
                .line
                .registrar
                .parse()
                .expect("registrar is an address"),
            registrar_port: self.line.port,
            transport: self.line.transport,
            user: self.line.user.clone(),
            auth_name: self.line.auth_name.clone(),
            password: self.line.password.clone(),
            listen_port: 5060,
            user_agent: format!("Cisco-CP{model}/9.4.2"),
        })
        .map_err(|err| format!("start the SIP phone of {}: {err}", self.phone.hostname))?;
        let (statuses, _) = sip
            .register_until_ok(REGISTER_EVERY, REGISTER_TIMEOUT)
            .map_err(|err| {
                format!(
                    "{} ({}) did not register: {err}",
                    self.phone.hostname, self.line.user
                )
            })?;
        Ok((sip, statuses))
    }
}

/// A Cisco 7965 (XML firmware) for the LAN labs.
pub const PHONE_7965: Phone = Phone {
    mac: "00:1b:0c:18:bd:c5",
    vendor_class: "Cisco Systems, Inc. IP Phone CP-7965G",
    hostname: "SEP001B0C18BDC5",
};

/// What a phone read from its files: where to register, as whom, over what.
#[derive(Debug, Clone)]
pub struct LineConfig {
    pub registrar: String,
    pub port: u16,
    pub transport: Transport,
    pub user: String,
    pub auth_name: String,
    pub password: String,
    /// `messageWaitingLampPolicy` of line 1 (XML firmware only).
    pub lamp_policy: Option<String>,
}

/// The phone asks for its files over TFTP in the firmware's order and reads its line from
/// them the way the firmware does.
///
/// - XML firmware (7941, 7965): the trust lists (absent here), then `SEP<MAC>.cnf.xml`:
///   registrar in `processNodeName` and `sipPort`, transport in `transportLayerProtocol`,
///   line 1 in `sipLines/line[@button=1]` (`name`, `authName`, `authPassword`).
/// - SIP firmware (7940): as in the teo capture (`real-configs/teo-lkml-7960-as-fetched`):
///   the trust list, `SEP<MAC>.cnf.xml` (which an SCCP load would read), `SIPDefault.cnf`,
///   then `SIP<MAC>.cnf`, whose keys override the defaults: `proxy1_address`,
///   `proxy1_port`, `line1_name`, `line1_authname`, `line1_password`. Always UDP.
pub fn fetch_config_like_the_firmware(lab: &Lab, ns: Ns, phone: &Phone) -> LineConfig {
    let mac = phone.hostname.trim_start_matches("SEP");
    let ctl = lab.tftp_get_in(ns, &format!("CTLSEP{mac}.tlv"));
    assert!(!ctl.ok(), "no trust list in this lab: {ctl}");
    let sep = lab.tftp_get_in(ns, &format!("SEP{mac}.cnf.xml"));
    let sep_text = String::from_utf8_lossy(sep.bytes()).into_owned();
    if phone.vendor_class.ends_with("7940G") || phone.vendor_class.ends_with("7960G") {
        let defaults = lab.tftp_get_in(ns, "SIPDefault.cnf");
        let own = lab.tftp_get_in(ns, &format!("SIP{mac}.cnf"));
        let mut keys = cnf_keys(&String::from_utf8_lossy(defaults.bytes()));
        keys.extend(cnf_keys(&String::from_utf8_lossy(own.bytes())));
        let key = |name: &str| {
            keys.get(name)
                .cloned()
                .unwrap_or_else(|| panic!("{name} missing from SIPDefault.cnf/SIP{mac}.cnf"))
        };
        // The dial template it is told to use, as the teo 7960 fetched it.
        fetch_dial_template(lab, ns, &format!("{}.xml", key("dial_template")));
        return LineConfig {
            registrar: key("proxy1_address"),
            port: key("proxy1_port").parse().expect("proxy1_port is a number"),
            transport: Transport::Udp,
            user: key("line1_name"),
            auth_name: key("line1_authname"),
            password: key("line1_password"),
            lamp_policy: None,
        };
    }
    let doc = roxmltree::Document::parse(&sep_text).expect("SEP file is well-formed XML");
    let text = |node: roxmltree::Node, tag: &str| {
        node.descendants()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .unwrap_or_else(|| panic!("<{tag}> missing from SEP{mac}.cnf.xml"))
            .to_string()
    };
    let root = doc.root_element();
    let line = root
        .descendants()
        .find(|n| n.has_tag_name("line") && n.attribute("button") == Some("1"))
        .expect("line button 1");
    let transport = match text(root, "transportLayerProtocol").as_str() {
        "1" => Transport::Tcp,
        "2" => Transport::Udp,
        other => panic!("transportLayerProtocol {other}: this phone does not do it"),
    };
    fetch_dial_template(lab, ns, &text(root, "dialTemplate"));
    LineConfig {
        registrar: text(root, "processNodeName"),
        port: text(root, "sipPort").parse().expect("sipPort is a number"),
        transport,
        user: text(line, "name"),
        auth_name: text(line, "authName"),
        password: text(line, "authPassword"),
        lamp_policy: Some(text(line, "messageWaitingLampPolicy")),
    }
}

/// The phone fetches the dial template its file names (issue 12): it must be there and be
/// a `<DIALTEMPLATE>` of `<TEMPLATE MATCH=… Timeout=…/>` rows.
#[track_caller]
fn fetch_dial_template(lab: &Lab, ns: Ns, name: &str) {
    let got = lab.tftp_get_in(ns, name);
    let text = String::from_utf8_lossy(got.bytes()).into_owned();
    let doc = roxmltree::Document::parse(&text).expect("the dial template is well-formed XML");
    assert_eq!(
        doc.root_element().tag_name().name(),
        "DIALTEMPLATE",
        "{text}"
    );
    assert!(doc
        .root_element()
        .children()
        .filter(|n| n.is_element())
        .all(|n| n.has_tag_name("TEMPLATE") && n.attribute("MATCH").is_some()));
}

/// `key: "value"` lines of the 7940/7960 SIP firmware (quotes optional, `#` comments).
pub fn cnf_keys(text: &str) -> std::collections::HashMap<String, String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| {
            let value = value.split(';').next().unwrap_or_default().trim();
            (key.trim().to_string(), value.trim_matches('"').to_string())
        })
        .collect()
}

/// The include exists as Asterisk's: group `asterisk` (the chroot's fixed id), 0640.
#[track_caller]
pub fn assert_pbx_readable(include: &Path) {
    let meta = fs::metadata(include).expect("the include exists");
    assert_eq!(
        (meta.gid(), meta.mode() & 0o777),
        (ASTERISK_UID, 0o640),
        "{} must stay readable by asterisk's group",
        include.display()
    );
}

/// Every call from the phones' context goes to the dialled extension's endpoint; a number
/// starting with 0 is the "outside line" (answered, held a second, hung up), which phones
/// not approved yet must not reach. The daemon's include defines their context (README, "On
/// the PBX").
pub const DIALPLAN: &str = "[general]\nstatic=yes\nwriteprotect=yes\n\n\
                        [from-internal]\n\
                        exten => _X.,1,Dial(PJSIP/${EXTEN},20)\n \
                        same => n,Hangup()\n\
                        exten => _0X.,1,Answer()\n \
                        same => n,Wait(1)\n \
                        same => n,Hangup()\n\n\
                        #include extensions.cisco-autoprov.conf\n";

/// A mailbox for each extension the range can hand out first; polled every second.
pub fn voicemail_conf() -> String {
    let mut text =
        String::from("[general]\nformat=wav\npollmailboxes=yes\npollfreq=1\n\n[default]\n");
    for extension in 2000..2010 {
        text.push_str(&format!("{extension} => 1234,Phone {extension}\n"));
    }
    text
}

/// The daemon's config: dnsmasq's lease file and log, range extensions, the PJSIP include
/// in Asterisk's config directory (its group is the one the admin gave it: no `[pbx] group`
/// here, so this also proves the group is kept), and the reload through `asterisk -rx` run
/// in Asterisk's chroot.
fn write_config(
    lab: &Lab,
    include: &Path,
    dialplan: &Path,
    rx_script: &Path,
    reload_interval_s: u64,
    provision_extra: &str,
) -> PathBuf {
    let config = format!(
        "tftp_root = \"{tftp_root}\"\n\
         state_dir = \"{state_dir}\"\n\
         \n\
         [pbx]\n\
         host = \"{router}\"\n\
         port = 5060\n\
         pjsip_snippet = \"{include}\"\n\
         dialplan_file = \"{dialplan}\"\n\
         reload_command = [\"{rx}\", \"module reload res_pjsip.so pbx_config.so\"]\n\
         reload_interval_s = {reload_interval_s}\n\
         \n\
         [dhcp]\n\
         tftp_server = \"{router}\"\n\
         \n\
         [provision]\n\
         extensions = \"2000-2099\"\n\
         {provision_extra}\n\
         \n\
         [[source]]\nkind = \"dnsmasq-leases\"\npath = \"{leases}\"\n\
         \n\
         [[source]]\nkind = \"log\"\npath = \"{log}\"\n",
        tftp_root = lab.tftp_root().display(),
        state_dir = lab.path("state").display(),
        router = lab.router_ip(),
        include = include.display(),
        dialplan = dialplan.display(),
        rx = rx_script.display(),
        leases = lab.path("dnsmasq.leases").display(),
        log = lab.path("dnsmasq.log").display(),
    );
    let path = lab.path("config.toml");
    fs::write(&path, config).expect("write config.toml");
    path
}
