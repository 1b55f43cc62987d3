//! The parsers fuzzed: every format the daemon reads (dnsmasq leases, isc-dhcp's journal read
//! incrementally, Kea's CSV, odhcpd's state file, syslog and TFTP/DHCP log lines, the line
//! splitter, the hook datagram and the hook invocation, FreePBX's extension export), through
//! the library's public API.
//!
//! The inputs come from a deterministic generator: the captured real files in `tests/data/`
//! mutated (bytes flipped, inserted and deleted, NUL bytes, invalid UTF-8, lines spliced from
//! other formats, huge numbers), pure garbage, and 10 MB lines of shapes that could make a
//! parser loop, recurse or allocate (one long token, nested braces, open quotes, escapes).
//! Bytes are turned into text lossily, as the daemon does. Every call must return without
//! panicking, within a time bound, and without allocating more than a bounded multiple of its
//! input (a counting allocator measures each call's peak, per thread).
//!
//! `FUZZ_SEED` picks another sequence, `FUZZ_ITERATIONS` runs more inputs (default 1,500 per
//! format); a failure prints the seed and the input.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Duration;

use cisco_autoprov::hook;
use cisco_autoprov::parse::{
    dnsmasq_leases, freepbx_csv, isc_leases, journal_json, kea_leases, odhcpd_leases, syslog,
    tftp_log,
};
use cisco_autoprov::sources::journal::{IscJournal, KeaJournal};
use cisco_autoprov::sources::tail::{LineSplitter, MAX_LINE};
use cisco_autoprov::sources::LineReader;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::measured;

// ---------------------------------------------------------------------------------------
// Inputs

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Rng {
        let seed = std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(0x5eed_cafe_f00d_d00d_u64);
        Rng((seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn iterations() -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1500)
}

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// Every captured file under `tests/data/<dir>`, recursively.
fn seeds(dirs: &[&str]) -> Vec<Vec<u8>> {
    fn walk(path: &Path, out: &mut Vec<Vec<u8>>) {
        if path.is_dir() {
            let mut entries: Vec<_> = fs::read_dir(path)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .collect();
            entries.sort();
            for entry in entries {
                walk(&entry, out);
            }
        } else if path
            .extension()
            .is_none_or(|ext| ext != "md" && ext != "py")
        {
            out.push(fs::read(path).unwrap());
        }
    }
    let mut out = Vec::new();
    for dir in dirs {
        walk(&Path::new(DATA).join(dir), &mut out);
    }
    assert!(!out.is_empty(), "no seed files in {dirs:?}");
    out
}

/// Lines of every format, to splice into any other.
const FOREIGN: &[&str] = &[
    "1795252463 00:1b:0c:18:bd:c1 198.18.0.151 SEP001B0C18BDC1 01:00:1b:0c:18:bd:c1",
    "lease 198.18.0.100 {\n  starts 5 2026/11/21 08:18:06;\n  hardware ethernet 00:1b:0c:18:bd:c1;\n  set vendor-class-identifier = \"Cisco Systems, Inc. IP Phone CP-7941G\";\n}",
    "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context",
    "198.18.0.151,00:1b:0c:18:bd:c1,01:00:1b:0c:18:bd:c1,3600,1795252463,1,0,0,sep001b0c18bdc1,0,",
    "# br-lan 001b0c18bdc1 1 SEP001B0C18BDC1 1795252463 c0a80097 24 198.18.0.151/24",
    "2026-11-21T08:18:09.198444+00:00 router in.tftpd[27389]: RRQ from 198.18.0.100 filename CTLSEP001B0C18BDC1.tlv",
    "Nov 21 08:14:28 dnsmasq-tftp[25848]: file /srv/tftp/CTLSEP001B0C18BDC1.tlv not found for 198.18.0.151",
    "Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1 SEP001B0C18BDC1",
    "Nov 21 08:14:20 dnsmasq-dhcp[25848]: 2633243775 vendor class: Cisco Systems, Inc. IP Phone CP-7941G",
    "2026-11-21T08:18:06.029332+00:00 router dhcpd[27240]: DHCPACK on 198.18.0.100 to 00:1b:0c:18:bd:c1 (SEP001B0C18BDC1) via br0",
    "Nov 21 08:21:18 router atftpd[28892.140131057186496]: Serving term41.default.loads to 198.18.0.41:32818",
    "2026-11-21 08:18:06.029 INFO  [kea-dhcp4.leases/27240.140] DHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], cid=[no info], tid=0x1: lease 198.18.0.100 has been allocated for 3600 seconds",
    "<30>Nov 21 08:14:28 dnsmasq-tftp[1]: sent /srv/tftp/SEP001B0C18BDC1.cnf.xml to 198.18.0.151",
    "Fri Nov 21 08:18:09 2026 daemon.info dnsmasq-tftp[1]: sent /srv/tftp/XMLDefault.cnf.xml to 198.18.0.151",
    "in.tftpd[27389]: sending NAK (1, File not found) to 198.18.0.100",
    "{\"event\":\"lease\",\"mac\":\"00:1b:0c:18:bd:c1\",\"ip\":\"198.18.0.151\",\"hostname\":\"SEP001B0C18BDC1\",\"vendor_class\":\"Cisco Systems, Inc. IP Phone CP-7941G\"}",
    "{\"event\":\"tftp\",\"ip\":\"198.18.0.151\",\"path\":\"/srv/tftp/SEP001B0C18BDC1.cnf.xml\"}",
    "{\"event\":\"release\",\"mac\":\"001b.0c18.bdc1\",\"ip\":\"198.18.0.151\"}",
    "{\"event\":\"decision\",\"mac\":\"00:1b:0c:18:bd:c1\",\"decision\":\"approve\"}",
    "extension,name,tech,secret\n2001,\"Reception, front\",pjsip,5ac9b2f18e0d4c7a",
];

/// Byte strings that break parsers: invalid UTF-8, NUL, control bytes, huge numbers, the
/// delimiters of every format.
const NASTY: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\xc3",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    "é".as_bytes(),
    "💥".as_bytes(),
    b"\r",
    b"\r\n",
    b"\t",
    b"\x1b[2J",
    b"99999999999999999999999999",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"255.255.255.256",
    b"::",
    b":::::::::::::::::",
    b"{",
    b"}",
    b"\"",
    b"\\",
    b"\\x",
    b"\\\"",
    b";",
    b",",
    b"[",
    b"]",
    b"(",
    b")",
    b"&#x2c",
    b"&#x",
    b"#",
    b"<",
    b"%s%n",
    b"broken\\x20",
];

/// One mutation of `input`.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    let at = |rng: &mut Rng, input: &Vec<u8>| rng.below(input.len() + 1);
    match rng.below(10) {
        0 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = at(rng, input);
            let bytes = NASTY[rng.below(NASTY.len())];
            input.splice(i..i, bytes.iter().copied());
        }
        2 => {
            let i = at(rng, input);
            let n = rng.below(16);
            let garbage: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            input.splice(i..i, garbage);
        }
        3 if !input.is_empty() => {
            let i = rng.below(input.len());
            let n = rng.below(64).min(input.len() - i);
            input.drain(i..i + n);
        }
        4 if !input.is_empty() => {
            let i = rng.below(input.len());
            let n = rng.below(128).min(input.len() - i);
            let copy = input[i..i + n].to_vec();
            let j = at(rng, input);
            input.splice(j..j, copy);
        }
        5 => {
            let i = at(rng, input);
            let mut line = FOREIGN[rng.below(FOREIGN.len())].as_bytes().to_vec();
            if rng.chance(50) {
                line.push(b'\n');
            }
            input.splice(i..i, line);
        }
        6 if !input.is_empty() => {
            // Cut at a random point (a writer caught mid-write).
            let i = rng.below(input.len());
            input.truncate(i);
        }
        7 => {
            // Newlines removed or added.
            if rng.chance(50) {
                input.retain(|&b| b != b'\n');
            } else {
                let i = at(rng, input);
                input.insert(i, b'\n');
            }
        }
        8 => {
            // A long run of one nasty byte string.
            let i = at(rng, input);
            let bytes = NASTY[rng.below(NASTY.len())];
            let n = 1 + rng.below(2000);
            let run: Vec<u8> = bytes
                .iter()
                .copied()
                .cycle()
                .take(bytes.len() * n)
                .collect();
            input.splice(i..i, run);
        }
        _ => {
            // Digits replaced by more digits.
            for byte in input.iter_mut() {
                if byte.is_ascii_digit() && rng.chance(2) {
                    *byte = b'9';
                }
            }
            let i = at(rng, input);
            input.splice(i..i, b"0000000000000000000000000000000".iter().copied());
        }
    }
}

/// The inputs for one format: seeds mutated 1–8 times, and now and then pure garbage.
fn inputs(rng: &mut Rng, seeds: &[Vec<u8>], n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            if rng.chance(5) {
                let len = rng.below(4096);
                return (0..len).map(|_| rng.next() as u8).collect();
            }
            let mut input = seeds[rng.below(seeds.len())].clone();
            // Also single lines of a seed, as a log source hands them over.
            if rng.chance(30) {
                let lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
                input = lines[rng.below(lines.len())].to_vec();
            }
            for _ in 0..1 + rng.below(8) {
                mutate(rng, &mut input);
            }
            input
        })
        .collect()
}

/// The repeated units of the 10 MB inputs: a long token, NUL bytes, invalid UTF-8 (three
/// bytes of text each once decoded), nested braces, open quotes and escapes, MAC and CSV
/// delimiters.
const HUGE_UNITS: [(&str, &[u8]); 7] = [
    ("letters", b"a"),
    ("NUL bytes", b"\0"),
    ("invalid UTF-8", b"\xff\xfe"),
    ("open braces", b"{"),
    ("quotes and escapes", b"\"\\\\\\\""),
    ("colons", b"00:"),
    ("commas", b","),
];

/// A 10 MB line: `prefix`, then `unit` repeated, then a newline.
fn huge_input(prefix: &str, unit: &[u8]) -> Vec<u8> {
    const TEN_MB: usize = 10 * 1024 * 1024;
    let mut input = Vec::with_capacity(TEN_MB + unit.len() + 1);
    input.extend_from_slice(prefix.as_bytes());
    while input.len() < TEN_MB {
        input.extend_from_slice(unit);
    }
    input.push(b'\n');
    input
}

// ---------------------------------------------------------------------------------------
// The harness

/// Bounds for one call: small inputs must be quick; a 10 MB input may take longer (this runs
/// unoptimised) but not quadratically long, and may not allocate more than a few times itself.
fn time_bound(len: usize) -> Duration {
    Duration::from_millis(500) + Duration::from_secs(2) * (len / (1024 * 1024)) as u32
}

fn memory_bound(len: usize) -> usize {
    8 * len + (1 << 20)
}

struct Report {
    format: &'static str,
    n_inputs: usize,
    slowest: (Duration, usize),
    hungriest: (usize, usize),
    failures: Vec<String>,
}

impl Report {
    fn new(format: &'static str) -> Report {
        Report {
            format,
            n_inputs: 0,
            slowest: (Duration::ZERO, 0),
            hungriest: (0, 0),
            failures: Vec::new(),
        }
    }

    /// Runs `target` on `input` (described by `what` in failures).
    fn run(&mut self, what: &str, input: &[u8], target: &mut dyn FnMut(&[u8])) {
        self.n_inputs += 1;
        let result = catch_unwind(AssertUnwindSafe(|| measured(|| target(input))));
        match result {
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                self.failures.push(format!(
                    "{}: panic ({message}) on {what}: {}",
                    self.format,
                    show(input)
                ));
            }
            Ok(((), took, peak)) => {
                if took > self.slowest.0 {
                    self.slowest = (took, input.len());
                }
                if peak > self.hungriest.0 {
                    self.hungriest = (peak, input.len());
                }
                if took > time_bound(input.len()) {
                    self.failures.push(format!(
                        "{}: {took:?} for {} bytes ({what}): {}",
                        self.format,
                        input.len(),
                        show(input)
                    ));
                }
                if peak > memory_bound(input.len()) {
                    self.failures.push(format!(
                        "{}: {peak} bytes allocated for an input of {} bytes ({what}): {}",
                        self.format,
                        input.len(),
                        show(input)
                    ));
                }
            }
        }
    }

    fn finish(self) {
        println!(
            "{}: {} inputs; slowest {:?} ({} bytes); largest allocation peak {} bytes (input {} bytes)",
            self.format,
            self.n_inputs,
            self.slowest.0,
            self.slowest.1,
            self.hungriest.0,
            self.hungriest.1
        );
        assert!(
            self.failures.is_empty(),
            "{} failure(s), FUZZ_SEED={:?}:\n{}",
            self.failures.len(),
            std::env::var("FUZZ_SEED").ok(),
            self.failures.join("\n")
        );
    }
}

/// An input for a failure message: short ones whole, long ones by their start and length.
fn show(input: &[u8]) -> String {
    if input.len() <= 300 {
        format!("{:?}", String::from_utf8_lossy(input))
    } else {
        format!(
            "{:?}… ({} bytes)",
            String::from_utf8_lossy(&input[..200]),
            input.len()
        )
    }
}

/// The daemon's conversion of bytes read from a file.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fuzzes `target` with mutated `seed_dirs` and the 10 MB shapes after each of `prefixes`.
fn fuzz(
    format: &'static str,
    salt: u64,
    seed_dirs: &[&str],
    prefixes: &[&str],
    target: &mut dyn FnMut(&[u8]),
) {
    let mut rng = Rng::new(salt);
    let mut report = Report::new(format);
    let seeds = seeds(seed_dirs);
    for seed in &seeds {
        report.run("a captured file", seed, target);
    }
    for input in inputs(&mut rng, &seeds, iterations()) {
        report.run("a mutated input", &input, target);
    }
    for prefix in prefixes {
        for (name, unit) in HUGE_UNITS {
            let input = huge_input(prefix, unit);
            report.run(&format!("{prefix:?} + 10 MB of {name}"), &input, target);
        }
    }
    report.finish();
}

const TFTP_ROOTS: &[String] = &[];

/// New York's rule: zone-less stamps go through the DST arithmetic, not UTC's shortcut.
static NEW_YORK: std::sync::LazyLock<cisco_autoprov::localtime::LocalZone> =
    std::sync::LazyLock::new(|| {
        cisco_autoprov::localtime::LocalZone::from_posix("EST5EDT,M3.2.0,M11.1.0", "test").unwrap()
    });

fn log_context() -> tftp_log::Context<'static> {
    tftp_log::Context {
        now: 1_795_249_089,
        tftp_roots: TFTP_ROOTS,
        zone: &NEW_YORK,
    }
}

// ---------------------------------------------------------------------------------------
// One test per format

#[test]
fn dnsmasq_lease_file() {
    fuzz(
        "dnsmasq leases",
        1,
        &["dnsmasq"],
        &[
            "",
            "1795252463 ",
            "1795252463 00:1b:0c:18:bd:c1 198.18.0.151 ",
        ],
        &mut |bytes| {
            let file = dnsmasq_leases::parse(&lossy(bytes));
            assert!(file.parsed.errors.iter().all(|error| error.line >= 1));
        },
    );
}

/// The journal is read incrementally: the text arrives in random pieces, as dhcpd appends
/// it; what `parse_incremental` does not consume is kept for the next piece.
#[test]
fn isc_lease_journal() {
    let mut rng = Rng::new(2);
    fuzz(
        "isc leases (incremental)",
        2,
        &["isc-dhcpd"],
        &[
            "",
            "lease 198.18.0.100 {\n  client-hostname \"",
            "lease 198.18.0.100 {\n  ",
        ],
        &mut |bytes| {
            let text = lossy(bytes);
            // Whole.
            let (_, consumed) = isc_leases::parse_incremental(&text);
            assert!(consumed <= text.len() && text.is_char_boundary(consumed));
            // In pieces (small inputs only: the pieces make it quadratic by design).
            if text.len() <= 64 * 1024 {
                let mut pending = String::new();
                let mut rest = text.as_str();
                while !rest.is_empty() {
                    let mut cut = (1 + rng.below(rest.len())).min(rest.len());
                    while !rest.is_char_boundary(cut) {
                        cut += 1;
                    }
                    pending.push_str(&rest[..cut]);
                    rest = &rest[cut..];
                    let (_, consumed) = isc_leases::parse_incremental(&pending);
                    assert!(consumed <= pending.len() && pending.is_char_boundary(consumed));
                    pending.drain(..consumed);
                }
            }
        },
    );
}

#[test]
fn kea_lease_csv() {
    fuzz(
        "kea leases",
        3,
        &["kea"],
        &[
            "",
            "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n198.18.0.151,00:1b:0c:18:bd:c1,,3600,1795252463,1,0,0,",
            "address,",
        ],
        &mut |bytes| {
            let text = lossy(bytes);
            let _ = kea_leases::parse(&text);
            let mut csv = kea_leases::KeaCsv::default();
            for (index, line) in text.split('\n').enumerate() {
                let _ = csv.feed_line(line, index + 1);
            }
        },
    );
}

#[test]
fn odhcpd_state_file() {
    fuzz(
        "odhcpd",
        4,
        &["odhcpd"],
        &[
            "",
            "# br-lan 001b0c18bdc1 1 ",
            "# br-lan 001b0c18bdc1 1 broken\\x20",
        ],
        &mut |bytes| {
            let _ = odhcpd_leases::parse(&lossy(bytes));
        },
    );
}

/// Log lines as the daemon handles them: split into lines by the tail's splitter in 64 KiB
/// reads (it drops lines over `MAX_LINE`), turned into text lossily, split as syslog, parsed as TFTP
/// and DHCP evidence, and joined by the line reader; each line also directly, whatever its
/// length, and the whole text at once.
#[test]
fn log_lines() {
    let prefixes = [
        "",
        "Nov 21 08:14:28 dnsmasq-tftp[25848]: sent /",
        "2026-11-21T08:18:09.198444+00:00 router in.tftpd[27389]: RRQ from 198.18.0.100 filename ",
        "Nov 21 08:21:18 router atftpd[28892.1]: Serving ",
        "Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 vendor class: ",
        "2026-11-21T08:18:06.029332+00:00 router dhcpd[27240]: DHCPACK on 198.18.0.100 to 00:1b:0c:18:bd:c1 (",
        "Fri Nov 21 08:18:09 2026 daemon.info ",
        "<",
    ];
    let context = log_context();
    let mut reader = LineReader::new("fuzz".to_string());
    fuzz("log lines", 5, &["logs"], &prefixes, &mut |bytes| {
        // In the tail's 64 KiB reads.
        let mut splitter = LineSplitter::default();
        let mut out = Vec::new();
        for chunk in bytes.chunks(64 * 1024) {
            splitter.feed(chunk, &mut |line| {
                assert!(line.len() <= MAX_LINE);
                reader.line(line, &context, &mut out);
            });
        }
        splitter.finish(&mut |line| {
            reader.line(line, &context, &mut out);
        });
        assert!(splitter.pending() == 0);
        let text = lossy(bytes);
        for line in text.lines() {
            let _ = syslog::split(line, context.now, context.zone);
            let _ = tftp_log::parse_line(line, &context);
        }
        let _ = tftp_log::parse_text(&text, &context);
    });
}

/// `journalctl --output=json` entries, through the parser and a `journal` source's reader.
#[test]
fn journal_entries() {
    let prefixes = [
        "",
        "{\"__REALTIME_TIMESTAMP\":\"1796383388313963\",\"_COMM\":\"dnsmasq\",\"SYSLOG_IDENTIFIER\":\"dnsmasq-dhcp\",\"MESSAGE\":\"",
        "{\"__REALTIME_TIMESTAMP\":\"1796383388313963\",\"MESSAGE\":[",
    ];
    let context = log_context();
    let source = cisco_autoprov::config::Source {
        programs: vec!["dnsmasq".into()],
        command: vec!["journalctl".into()],
        ..cisco_autoprov::config::Source::file(cisco_autoprov::config::SourceKind::Journal, "")
    };
    let mut reader = cisco_autoprov::sources::journald::JournalReader::new(&source);
    fuzz(
        "journal entries",
        10,
        &["logs/journald"],
        &prefixes,
        &mut |bytes| {
            let parsed = journal_json::parse_text(bytes);
            assert!(parsed.errors.iter().all(|error| error.line >= 1));
            let mut out = Vec::new();
            for line in bytes
                .split(|&b| b == b'\n')
                .filter(|line| line.len() <= MAX_LINE)
            {
                reader.line(line, &context, &mut out);
            }
        },
    );
}

/// A hook datagram as the daemon receives it (JSON, then validated), and a hook invocation
/// with garbage arguments and environment.
#[test]
fn hook_events() {
    let roots = vec!["/srv/tftp".to_string()];
    let prefixes = [
        "",
        "{\"event\":\"lease\",\"mac\":\"00:1b:0c:18:bd:c1\",\"ip\":\"198.18.0.151\",\"hostname\":\"",
        "{\"event\":\"tftp\",\"ip\":\"198.18.0.151\",\"path\":\"",
        "[[[[[[[[",
    ];
    fuzz(
        "hook datagrams",
        6,
        &["logs/dnsmasq"],
        &prefixes,
        &mut |bytes| {
            // The daemon reads at most MAX_DATAGRAM bytes; longer inputs are checked whole too.
            for datagram in [&bytes[..bytes.len().min(hook::MAX_DATAGRAM)], bytes] {
                let _ = hook::decode_datagram(datagram, 0, &roots);
            }
            // The same bytes as a hook invocation: words as arguments, the text as every
            // environment variable, each at most 128 KiB (Linux's MAX_ARG_STRLEN).
            let clip = |text: &str| {
                let mut end = text.len().min(128 * 1024);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text[..end].to_string()
            };
            let text = clip(&lossy(&bytes[..bytes.len().min(128 * 1024)]));
            let args: Vec<String> = text.split_whitespace().take(8).map(clip).collect();
            for kind in ["dnsmasq", "hotplug-dhcp", "hotplug-tftp", "isc", "other"] {
                for first in [
                    "add", "old", "del", "tftp", "commit", "release", "expiry", "",
                ] {
                    let mut args = args.clone();
                    args.insert(0, first.to_string());
                    let env = |_: &str| Some(text.clone());
                    if let Ok(Some(event)) = hook::from_invocation(kind, &args, &env) {
                        let _ = hook::to_observation(event, 0, &roots);
                    }
                }
            }
        },
    );
}

/// FreePBX's Bulk Handler export (`[provision] pool_csv`), read whole as `commands` does.
#[test]
fn freepbx_pool_csv() {
    fuzz(
        "freepbx csv",
        8,
        &["freepbx"],
        &[
            "",
            "extension,name,tech,secret\n2001,\"",
            "\u{feff}extension,secret\n",
        ],
        &mut |bytes| {
            let _ = freepbx_csv::parse(&lossy(bytes));
        },
    );
}

/// The isc and Kea journal sources on a real file: mutated text appended in random pieces,
/// read after each append, now and then truncated and rewritten (dhcpd's periodic rewrite).
#[test]
fn lease_journals_on_disk() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(7);
    for (format, seed_dir) in [("isc", "isc-dhcpd"), ("kea", "kea")] {
        let path = dir.path().join(format!("{format}.leases"));
        let seeds = seeds(&[seed_dir]);
        let mut report = Report::new(if format == "isc" {
            "isc journal"
        } else {
            "kea journal"
        });
        for input in inputs(&mut rng, &seeds, iterations() / 5) {
            fs::write(&path, b"").unwrap();
            let mut isc = IscJournal::new(&path);
            let mut kea = KeaJournal::new(&path);
            let mut rest = input.as_slice();
            let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
            let mut pieces = Vec::new();
            while !rest.is_empty() {
                let cut = (1 + rng.below(rest.len())).min(rest.len());
                pieces.push(rest[..cut].to_vec());
                rest = &rest[cut..];
            }
            let mut step = |bytes: &[u8]| {
                if rng.chance(5) {
                    file.set_len(0).unwrap();
                }
                file.write_all(bytes).unwrap();
                if format == "isc" {
                    let _ = isc.read(0);
                } else {
                    let _ = kea.read(0);
                }
            };
            for piece in &pieces {
                report.run("a piece of a mutated journal", piece, &mut step);
            }
        }
        report.finish();
    }
}

/// A broken writer: one line of 10 MB, then good lines. The splitter drops the long line
/// without holding it (at most `MAX_LINE` bytes pending) and hands out the good lines.
#[test]
fn line_splitter_bounds_memory() {
    let mut splitter = LineSplitter::default();
    let mut lines = Vec::new();
    let chunk = vec![b'x'; 64 * 1024];
    let ((), took, peak) = measured(|| {
        for _ in 0..160 {
            splitter.feed(&chunk, &mut |line| lines.push(line.len()));
            assert!(splitter.pending() <= MAX_LINE);
        }
        splitter.feed(b"\nshort line\n", &mut |line| lines.push(line.len()));
    });
    assert_eq!(lines, [10], "the 10 MB line is dropped, the next one kept");
    assert_eq!(splitter.n_long_lines, 1);
    assert!(
        peak <= 2 * MAX_LINE + 4096,
        "the splitter held {peak} bytes"
    );
    println!("line splitter: 10 MB line dropped in {took:?}, peak {peak} bytes");
}
