//! `firmware import` streams big entries: an image goes from the decompressor into a
//! temporary file in the TFTP root, never into memory (field-evidence.md §4: entries held in
//! memory turned a 1.5 MB zip into 1.5 GB of RSS). A counting allocator (its own test binary:
//! a `#[global_allocator]` is per program) measures the peak of the heap during each import.
//!
//! The packages are zips of a few MB that unpack to hundreds of MB of zeros: the deflate
//! streams are written here by hand (fixed Huffman codes, one literal zero, then 258-byte
//! copies), which costs nothing, where compressing 200 MiB in a debug build takes seconds.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use cisco_autoprov::firmware::{import, ImportReport};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::measured;

/// The most an import may allocate, whatever the size of its entries: its buffers (a copy
/// buffer, the inflate window, two buffers to compare with a file already there) and the
/// report. Well under the 8 MiB of the issue.
const HEAP_BOUND: usize = 1 << 20;

const MIB: u64 = 1 << 20;

// ---------------------------------------------------------------------------------------
// Packages.

/// A deflate stream in one block with the fixed Huffman codes (RFC 1951, 3.2.6).
struct Deflate {
    out: Vec<u8>,
    bits: u64,
    count: u32,
}

impl Deflate {
    fn new() -> Deflate {
        let mut deflate = Deflate {
            out: Vec::new(),
            bits: 0,
            count: 0,
        };
        deflate.put(1, 1); // The last block...
        deflate.put(1, 2); // ... with the fixed codes.
        deflate
    }

    /// `count` bits of `value`, least significant first.
    fn put(&mut self, value: u32, count: u32) {
        self.bits |= u64::from(value) << self.count;
        self.count += count;
        while self.count >= 8 {
            self.out.push(self.bits as u8);
            self.bits >>= 8;
            self.count -= 8;
        }
    }

    /// A Huffman code: most significant bit first.
    fn code(&mut self, code: u32, length: u32) {
        let reversed = code.reverse_bits() >> (32 - length);
        self.put(reversed, length);
    }

    fn literal(&mut self, byte: u8) {
        if byte < 144 {
            self.code(0x30 + u32::from(byte), 8);
        } else {
            self.code(0x190 + u32::from(byte - 144), 9);
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.literal(byte);
        }
    }

    /// `count` zero bytes: one literal, then copies of 258 bytes at distance 1.
    fn zeros(&mut self, mut count: u64) {
        if count == 0 {
            return;
        }
        self.literal(0);
        count -= 1;
        while count >= 258 {
            self.code(0xc5, 8); // Length 258: symbol 285, no extra bits.
            self.code(0, 5); // Distance 1: code 0, no extra bits.
            count -= 258;
        }
        for _ in 0..count {
            self.literal(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.code(0, 7); // End of block: symbol 256.
        if self.count > 0 {
            self.put(0, 8 - self.count);
        }
        self.out
    }
}

/// The CRC-32 of `count` zero bytes after `head`.
fn crc_of(head: &[u8], zeros: u64, tail: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(head);
    let block = vec![0u8; MIB as usize];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(MIB);
        crc.update(&block[..n as usize]);
        left -= n;
    }
    crc.update(tail);
    crc.sum()
}

/// One deflated zip entry: its name, the size and CRC-32 its records say, its deflate data.
struct Entry {
    name: &'static str,
    size: u64,
    crc: u32,
    data: Vec<u8>,
}

/// An entry of `size` zero bytes; `real` zero bytes in its data (a lie when they differ).
fn zeros_entry(name: &'static str, size: u64, real: u64) -> Entry {
    let mut deflate = Deflate::new();
    deflate.zeros(real);
    Entry {
        name,
        size,
        crc: crc_of(&[], size, &[]),
        data: deflate.finish(),
    }
}

/// A small entry with these bytes.
fn bytes_entry(name: &'static str, bytes: &[u8]) -> Entry {
    let mut deflate = Deflate::new();
    deflate.bytes(bytes);
    Entry {
        name,
        size: bytes.len() as u64,
        crc: crc_of(bytes, 0, &[]),
        data: deflate.finish(),
    }
}

/// A zip of deflated entries (sizes under 4 GiB: no zip64).
fn zip_of(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let offset = out.len() as u32;
        let mut fields = Vec::new();
        fields.extend_from_slice(&20u16.to_le_bytes()); // Version needed.
        fields.extend_from_slice(&0u16.to_le_bytes()); // Flags.
        fields.extend_from_slice(&8u16.to_le_bytes()); // Deflate.
        fields.extend_from_slice(&[0; 4]); // Time and date.
        fields.extend_from_slice(&entry.crc.to_le_bytes());
        fields.extend_from_slice(&(entry.data.len() as u32).to_le_bytes());
        fields.extend_from_slice(&(entry.size as u32).to_le_bytes());
        fields.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
        fields.extend_from_slice(&0u16.to_le_bytes()); // Extra field length.
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&fields);
        out.extend_from_slice(entry.name.as_bytes());
        out.extend_from_slice(&entry.data);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes()); // Made by: DOS.
        central.extend_from_slice(&fields);
        central.extend_from_slice(&[0; 10]); // Comment length, disk, attributes.
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(entry.name.as_bytes());
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A tar header block for a regular file.
fn tar_header(name: &str, size: u64) -> Vec<u8> {
    let mut header = tar::Header::new_ustar();
    header.set_path(name).unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    header.as_bytes().to_vec()
}

/// A scratch directory with an empty TFTP root `tftp/`; packages go next to it.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("tftp")).unwrap();
        Scratch { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("tftp")
    }

    fn package(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// Every name in the root, dot files included, sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.root())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

/// Imports and checks the heap stayed under [`HEAP_BOUND`]; prints the figures.
fn import_measured(what: &str, package: &Path, root: &Path, force: bool) -> ImportReport {
    let (report, took, peak) = measured(|| import(package, root, force));
    let report = report.unwrap();
    println!("{what}: {took:?}, heap peak {peak} bytes");
    assert!(
        peak < HEAP_BOUND,
        "{what}: the import allocated {peak} bytes"
    );
    report
}

/// Whether the file holds `size` zero bytes, read 1 MiB at a time.
fn is_zeros(path: &Path, size: u64) -> bool {
    use std::io::Read;
    let mut file = fs::File::open(path).unwrap();
    let mut block = vec![0u8; MIB as usize];
    let mut total = 0;
    loop {
        let n = file.read(&mut block).unwrap();
        if n == 0 {
            return total == size;
        }
        if block[..n].iter().any(|&b| b != 0) {
            return false;
        }
        total += n as u64;
    }
}

// ---------------------------------------------------------------------------------------

/// A 2 MB zip whose image unpacks to 200 MiB: imported with a heap of a few hundred KiB, and
/// again (same bytes: unchanged), and over a file that differs in its last byte (refused,
/// then replaced with force).
#[test]
fn a_200_mib_image_is_streamed() {
    const IMAGE: &str = "apps41.9-4-2ES26.sbn";
    const SIZE: u64 = 200 * MIB;
    let scratch = Scratch::new();
    let zip = zip_of(&[
        bytes_entry("SIP41.9-4-2SR3-1S.loads", b"apps41.9-4-2ES26.sbn\n"),
        zeros_entry(IMAGE, SIZE, SIZE),
    ]);
    assert!(zip.len() < 2 << 20, "{} bytes", zip.len());
    let package = scratch.package("apps41.zip", &zip);
    let image = scratch.root().join(IMAGE);

    let report = import_measured("200 MiB image", &package, &scratch.root(), false);
    assert_eq!(report.written, [IMAGE, "SIP41.9-4-2SR3-1S.loads"]);
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(scratch.listing(), ["SIP41.9-4-2SR3-1S.loads", IMAGE]);
    assert!(is_zeros(&image, SIZE));

    let report = import_measured("200 MiB image, again", &package, &scratch.root(), false);
    assert_eq!(report.unchanged, [IMAGE, "SIP41.9-4-2SR3-1S.loads"]);
    assert!(report.written.is_empty() && report.refused.is_empty());
    assert_eq!(scratch.listing(), ["SIP41.9-4-2SR3-1S.loads", IMAGE]);

    // Another build of the image: only its last byte differs.
    let mut file = fs::OpenOptions::new().write(true).open(&image).unwrap();
    file.seek(SeekFrom::End(-1)).unwrap();
    file.write_all(&[1]).unwrap();
    drop(file);
    let report = import_measured(
        "200 MiB image, other bytes",
        &package,
        &scratch.root(),
        false,
    );
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(
        report.refused[0].1.contains("force replaces it"),
        "{report:?}"
    );
    assert!(!is_zeros(&image, SIZE));
    assert_eq!(scratch.listing(), ["SIP41.9-4-2SR3-1S.loads", IMAGE]);

    let report = import_measured("200 MiB image, forced", &package, &scratch.root(), true);
    assert_eq!(report.written, [IMAGE]);
    assert!(is_zeros(&image, SIZE));
    assert_eq!(scratch.listing(), ["SIP41.9-4-2SR3-1S.loads", IMAGE]);
}

/// An entry whose records say 1 MiB but whose data goes on past the largest entry we unpack
/// (256 MiB): reading stops after the recorded size, the entry is refused, and no file is
/// left in the root, not even a temporary one.
#[test]
fn an_entry_longer_than_its_records_say_is_refused_and_leaves_nothing() {
    let scratch = Scratch::new();
    fs::write(scratch.root().join("cnu41.9-4-2ES26.sbn"), b"old build").unwrap();
    let zip = zip_of(&[
        zeros_entry("dsp41.9-4-2ES26.sbn", MIB, 300 * MIB),
        zeros_entry("cnu41.9-4-2ES26.sbn", MIB, 300 * MIB),
    ]);
    let package = scratch.package("bomb.zip", &zip);
    let report = import_measured("lying entry", &package, &scratch.root(), true);
    let reason = "damaged: more than the 1048576 bytes the directory says";
    assert_eq!(
        report.refused,
        [
            ("dsp41.9-4-2ES26.sbn".to_string(), reason.to_string()),
            ("cnu41.9-4-2ES26.sbn".to_string(), reason.to_string())
        ]
    );
    assert!(report.written.is_empty(), "{report:?}");
    assert_eq!(scratch.listing(), ["cnu41.9-4-2ES26.sbn"]);
    assert_eq!(
        fs::read(scratch.root().join("cnu41.9-4-2ES26.sbn")).unwrap(),
        b"old build"
    );
}

/// A CRC-32 that does not match is found at the end of a 64 MiB entry, after every byte went
/// to the temporary file: the entry is refused, even with force the old file stays, and the
/// temporary file is gone.
#[test]
fn a_crc_mismatch_at_the_end_keeps_the_old_file() {
    let scratch = Scratch::new();
    let image = scratch.root().join("jar41sip.9-4-2ES26.sbn");
    fs::write(&image, b"old build").unwrap();
    let mut entry = zeros_entry("jar41sip.9-4-2ES26.sbn", 64 * MIB, 64 * MIB);
    entry.crc ^= 1;
    let package = scratch.package("bad-crc.zip", &zip_of(&[entry]));
    let report = import_measured("crc mismatch", &package, &scratch.root(), true);
    assert_eq!(
        report.refused,
        [(
            "jar41sip.9-4-2ES26.sbn".to_string(),
            "damaged: crc-32 mismatch".to_string()
        )]
    );
    assert_eq!(fs::read(&image).unwrap(), b"old build");
    assert_eq!(scratch.listing(), ["jar41sip.9-4-2ES26.sbn"]);
}

/// A tar inside a zip (the 7940/7960 bundle) whose image is 64 MiB: the tar goes to an
/// unnamed scratch file, not into memory, and nothing but the firmware is left in the root.
#[test]
fn a_tar_inside_a_zip_is_streamed() {
    const IMAGE_SIZE: u64 = 64 * MIB;
    let loads = b"P003-8-12-00.sbn\n";
    let mut head = tar_header("P0S3-8-12-00.loads", loads.len() as u64);
    head.extend_from_slice(loads);
    head.resize(1024, 0);
    head.extend(tar_header("P003-8-12-00.sbn", IMAGE_SIZE));
    // The image's zeros, then the two zero blocks that end the archive.
    let zeros = IMAGE_SIZE + 1024;
    let mut deflate = Deflate::new();
    deflate.bytes(&head);
    deflate.zeros(zeros);
    let tar = Entry {
        name: "7940_7960/SIP/P0S3-8-12-00.tar",
        size: head.len() as u64 + zeros,
        crc: crc_of(&head, zeros, &[]),
        data: deflate.finish(),
    };
    let scratch = Scratch::new();
    let package = scratch.package("7940_7960.zip", &zip_of(&[tar]));
    let report = import_measured("tar in a zip", &package, &scratch.root(), false);
    assert_eq!(report.written, ["P003-8-12-00.sbn", "P0S3-8-12-00.loads"]);
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(
        scratch.listing(),
        ["P003-8-12-00.sbn", "P0S3-8-12-00.loads"]
    );
    assert!(is_zeros(
        &scratch.root().join("P003-8-12-00.sbn"),
        IMAGE_SIZE
    ));
}
