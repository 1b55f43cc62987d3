//! Import scenarios: packages laid out as Cisco ships them, and hostile ones, built in a
//! temporary directory. Every test checks what the TFTP root holds afterwards, and that
//! nothing appeared next to it.

use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::*;
use crate::firmware::{scan, zip as zip_reader};

const SIP41: &[&str] = &[
    "jar41sip.9-4-2ES26.sbn",
    "cnu41.9-4-2ES26.sbn",
    "apps41.9-4-2ES26.sbn",
    "dsp41.9-4-2ES26.sbn",
    "cvm41sip.9-4-2ES26.sbn",
];

const SCCP11: &[&str] = &[
    "jar11sccp.8-5-2TH1-9.sbn",
    "cnu11.8-5-2TH1-9.sbn",
    "apps11.8-5-2TH1-9.sbn",
    "dsp11.8-5-2TH1-9.sbn",
    "cvm11sccp.8-5-2TH1-9.sbn",
];

fn data(name: &str) -> Vec<u8> {
    fs::read(format!(
        "{}/tests/data/firmware/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Distinct, recognisable bytes for an image.
fn image(name: &str) -> Vec<u8> {
    name.bytes().cycle().take(3000 + name.len() * 7).collect()
}

/// A scratch directory holding an empty TFTP root `tftp/` and room for packages next to it.
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

    /// Writes a package next to the root and returns its path.
    fn package(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// The names in the root, sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.root())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// Nothing but the root and the packages is next to the root: nothing escaped it.
    fn assert_nothing_outside(&self, packages: &[&str]) {
        let mut names: Vec<String> = fs::read_dir(self.dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut want: Vec<String> = packages.iter().map(|name| name.to_string()).collect();
        want.push("tftp".into());
        want.sort();
        assert_eq!(names, want);
    }
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    names.sort();
    names
}

/// A `.sgn` header as Cisco's signed files start: version, header length, signer, signature,
/// file name, padding to four bytes.
fn sgn_header(file_name: &str) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
        out.push(tag);
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
    }
    let mut header = vec![1, 0, 2, 1, 2, 2, 0, 2, 0, 0];
    field(&mut header, 4, b"CN=cisco-autoprov test signer\0");
    let signature: Vec<u8> = (0..128u32).map(|i| (i * 97 + 13) as u8).collect();
    field(&mut header, 12, &signature);
    field(&mut header, 14, format!("{file_name}\0").as_bytes());
    while header.len() % 4 != 0 {
        header.push(0x0d);
    }
    let length = header.len() as u16;
    header[8..10].copy_from_slice(&length.to_be_bytes());
    header
}

/// A tar of regular files (name, bytes), as `tar` writes them.
fn tar_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = ::tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = ::tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(::tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The contents of a COP package for the 7906/7911 SCCP 8.5.2 load: firmware and term files at
/// the top level, next to CUCM's install script and device-default files.
fn sccp11_cop_files() -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![
        ("copstart.sh", b"#!/bin/bash\n".to_vec()),
        (
            "load307.txt",
            b"307 SCCP11.8-5-2S 11 // IP Phone 7911\n".to_vec(),
        ),
        ("SCCP11.8-5-2S.loads", data("SCCP11.8-5-2S.loads")),
        ("term06.default.loads", data("SCCP11.8-5-2S.loads")),
        ("term11.default.loads", data("SCCP11.8-5-2S.loads")),
    ];
    files.extend(SCCP11.iter().map(|name| (*name, image(name))));
    files
}

/// `cmterm-7941_7961-sip.9-4-2SR3-1.zip` as Cisco's download holds it: everything under one
/// directory, written by a real zip library.
fn sip41_zip() -> Vec<u8> {
    use ::zip::write::SimpleFileOptions;
    use ::zip::CompressionMethod;
    let mut writer = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let dir = "cmterm-7941_7961-sip.9-4-2SR3-1";
    writer.add_directory(dir, deflated).unwrap();
    // The .loads first in the archive: the import must still write it last.
    for (name, bytes, options) in [
        (
            "SIP41.9-4-2SR3-1S.loads",
            data("SIP41.9-4-2SR3-1S.loads"),
            stored,
        ),
        ("term41.default.loads", data("term41.default.loads"), stored),
        (
            "term61.default.loads",
            data("term41.default.loads"),
            deflated,
        ),
        (
            "readme.txt",
            b"SIP firmware for the 7941 and 7961\n".to_vec(),
            deflated,
        ),
    ]
    .into_iter()
    .chain(SIP41.iter().map(|name| (*name, image(name), deflated)))
    {
        writer.start_file(format!("{dir}/{name}"), options).unwrap();
        writer.write_all(&bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn imports_a_cisco_zip_with_a_directory_prefix() {
    let scratch = Scratch::new();
    let package = scratch.package("cmterm-7941_7961-sip.9-4-2SR3-1.zip", &sip41_zip());
    let report = import(&package, &scratch.root(), false).unwrap();

    // Images first, in archive order; the .loads files after every image.
    let mut written: Vec<&str> = SIP41.to_vec();
    written.extend([
        "SIP41.9-4-2SR3-1S.loads",
        "term41.default.loads",
        "term61.default.loads",
    ]);
    assert_eq!(report.written, written);
    assert_eq!(
        report.skipped,
        ["cmterm-7941_7961-sip.9-4-2SR3-1/readme.txt"]
    );
    assert!(report.refused.is_empty() && report.unchanged.is_empty());
    assert_eq!(scratch.listing(), sorted(&written));
    scratch.assert_nothing_outside(&["cmterm-7941_7961-sip.9-4-2SR3-1.zip"]);
    for name in &written {
        let path = scratch.root().join(name);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644,
            "{name}"
        );
    }
    assert_eq!(
        fs::read(scratch.root().join("apps41.9-4-2ES26.sbn")).unwrap(),
        image("apps41.9-4-2ES26.sbn")
    );

    let inventory = scan(&scratch.root()).unwrap();
    assert_eq!(
        inventory.newest_complete("SIP41").unwrap().name,
        "SIP41.9-4-2SR3-1S"
    );
    assert_eq!(inventory.term_files.len(), 2);

    // Again: nothing to do.
    let again = import(&package, &scratch.root(), false).unwrap();
    assert!(again.written.is_empty() && again.refused.is_empty());
    assert_eq!(again.unchanged.len(), written.len());
}

#[test]
fn imports_a_streamed_zip_with_descriptors_zip64_and_a_symlink() {
    use ::zip::write::SimpleFileOptions;
    use ::zip::CompressionMethod;
    // A zip written to a pipe: sizes in data descriptors after each entry; one entry with
    // zip64 sizes; a symbolic link, which must be refused.
    let mut writer = ::zip::ZipWriter::new_stream(Vec::new());
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    writer.start_file("P0S3-8-12-00.loads", deflated).unwrap();
    writer.write_all(&data("P0S3-8-12-00.loads")).unwrap();
    writer
        .start_file("P003-8-12-00.sbn", deflated.large_file(true))
        .unwrap();
    writer.write_all(&image("P003-8-12-00.sbn")).unwrap();
    writer.start_file("P0S3-8-12-00.sb2", deflated).unwrap();
    writer.write_all(&image("P0S3-8-12-00.sb2")).unwrap();
    writer
        .add_symlink("P003-8-12-00.bin", "/etc/shadow", deflated)
        .unwrap();
    let bytes = writer.finish().unwrap().into_inner();

    let scratch = Scratch::new();
    let package = scratch.package("P0S3-8-12-00.zip", &bytes);
    let report = import(&package, &scratch.root(), false).unwrap();
    assert_eq!(
        report.written,
        ["P003-8-12-00.sbn", "P0S3-8-12-00.sb2", "P0S3-8-12-00.loads"]
    );
    assert_eq!(
        report.refused,
        [("P003-8-12-00.bin".to_string(), "symbolic link".to_string())]
    );
    assert_eq!(
        fs::read(scratch.root().join("P003-8-12-00.sbn")).unwrap(),
        image("P003-8-12-00.sbn")
    );
    assert!(scan(&scratch.root())
        .unwrap()
        .newest_complete("P0S3")
        .is_some());
    scratch.assert_nothing_outside(&["P0S3-8-12-00.zip"]);
}

#[test]
fn imports_a_signed_cop() {
    let scratch = Scratch::new();
    let mut bytes = sgn_header("cmterm-7911_7906-sccp.8-5-2.cop");
    bytes.extend(gzip(&tar_of(&sccp11_cop_files())));
    let package = scratch.package("cmterm-7911_7906-sccp.8-5-2.cop.sgn", &bytes);
    let report = import(&package, &scratch.root(), false).unwrap();

    let mut written: Vec<&str> = SCCP11.to_vec();
    written.extend([
        "SCCP11.8-5-2S.loads",
        "term06.default.loads",
        "term11.default.loads",
    ]);
    assert_eq!(report.written, written);
    assert_eq!(report.skipped, ["copstart.sh", "load307.txt"]);
    assert!(report.refused.is_empty());
    assert_eq!(scratch.listing(), sorted(&written));
    scratch.assert_nothing_outside(&["cmterm-7911_7906-sccp.8-5-2.cop.sgn"]);

    let inventory = scan(&scratch.root()).unwrap();
    assert_eq!(
        inventory.ladder_step("SIP11").unwrap().name,
        "SCCP11.8-5-2S"
    );
}

#[test]
fn finds_the_archive_after_a_header_it_does_not_know() {
    // No `.sgn` fields we recognise: the first gzip magic starts the archive.
    let scratch = Scratch::new();
    let mut bytes = b"\x02\x00\x05junk signature block \x1f\x8b junk\x00\x00".to_vec();
    bytes.extend(gzip(&tar_of(&sccp11_cop_files())));
    let package = scratch.package("cmterm-7911_7906-sccp.8-5-2.cop.sgn", &bytes);
    let report = import(&package, &scratch.root(), false).unwrap();
    assert_eq!(report.written.len(), 8);

    // The same junk in front of an unsigned name is not searched: it is not a package.
    let other = scratch.package("firmware.bin", &bytes);
    let err = import(&other, &scratch.root(), false).unwrap_err();
    assert!(matches!(err, ImportError::UnknownFormat { .. }), "{err}");
}

#[test]
fn imports_cop_tgz_and_plain_tar() {
    let cop = gzip(&tar_of(&sccp11_cop_files()));
    for name in [
        "cmterm-7911_7906-sccp.8-5-2.cop",
        "sccp11.tgz",
        "sccp11.tar.gz",
    ] {
        let scratch = Scratch::new();
        let report = import(&scratch.package(name, &cop), &scratch.root(), false).unwrap();
        assert_eq!(report.written.len(), 8, "{name}");
    }
    let scratch = Scratch::new();
    let files = vec![
        ("P0S3-8-12-00.loads", data("P0S3-8-12-00.loads")),
        ("P003-8-12-00.sbn", image("P003-8-12-00.sbn")),
        ("P0S3-8-12-00.sb2", image("P0S3-8-12-00.sb2")),
        ("P003-8-12-00.bin", image("P003-8-12-00.bin")),
        ("P0S3-8-12-00.bin", image("P0S3-8-12-00.bin")),
    ];
    let report = import(
        &scratch.package("P0S3-8-12-00.tar", &tar_of(&files)),
        &scratch.root(),
        false,
    )
    .unwrap();
    assert_eq!(
        report.written.last().map(String::as_str),
        Some("P0S3-8-12-00.loads")
    );
    assert_eq!(scratch.listing().len(), 5);
}

#[test]
fn imports_a_tar_inside_a_zip() {
    // The 7940/7960 SIP bundle as passed around: a zip holding `P0S3-8-12-00.tar`.
    let tar = tar_of(&[
        ("P0S3-8-12-00.loads", data("P0S3-8-12-00.loads")),
        ("P003-8-12-00.sbn", image("P003-8-12-00.sbn")),
        ("P0S3-8-12-00.sb2", image("P0S3-8-12-00.sb2")),
    ]);
    let zip = zip_reader::tests::build(&[
        (b"7940_7960/SIP/", b"", Some(0o040_755), false),
        (
            b"7940_7960/SIP/P0S3-8-12-00.tar",
            &tar,
            Some(0o100_644),
            true,
        ),
        (
            b"7940_7960/readme.txt",
            b"unpack the tar",
            Some(0o100_644),
            true,
        ),
    ]);
    let scratch = Scratch::new();
    let report = import(
        &scratch.package("7940_7960.zip", &zip),
        &scratch.root(),
        false,
    )
    .unwrap();
    assert_eq!(
        report.written,
        ["P003-8-12-00.sbn", "P0S3-8-12-00.sb2", "P0S3-8-12-00.loads"]
    );
    assert_eq!(report.skipped, ["7940_7960/readme.txt"]);
    assert!(report.refused.is_empty());
    // The tar was unpacked from a scratch file in the root, which has no name.
    assert_eq!(
        scratch.listing(),
        sorted(&["P003-8-12-00.sbn", "P0S3-8-12-00.sb2", "P0S3-8-12-00.loads"])
    );
    scratch.assert_nothing_outside(&["7940_7960.zip"]);

    // A tar cut short: refused as one entry, its .loads dropped, no scratch file left.
    let cut =
        zip_reader::tests::build(&[(b"P0S3-8-12-00.tar", &tar[..tar.len() - 1500], None, true)]);
    let scratch = Scratch::new();
    let report = import(&scratch.package("cut.zip", &cut), &scratch.root(), false).unwrap();
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert_eq!(report.refused[0].0, "P0S3-8-12-00.tar");
    assert!(
        report.refused[0].1.starts_with("damaged archive: tar: "),
        "{report:?}"
    );
    assert!(scratch
        .listing()
        .iter()
        .all(|name| !name.ends_with(".loads") && !name.starts_with('.')));

    // One level only: a package in a package in a package is not opened.
    let outer = zip_reader::tests::build(&[(b"inner.zip", &zip, None, false)]);
    let scratch = Scratch::new();
    let report = import(
        &scratch.package("outer.zip", &outer),
        &scratch.root(),
        false,
    )
    .unwrap();
    assert_eq!(
        report.skipped,
        [
            "inner.zip!7940_7960/SIP/P0S3-8-12-00.tar",
            "inner.zip!7940_7960/readme.txt"
        ]
    );
    assert!(scratch.listing().is_empty());
}

/// A tar header with any name, type and link name: `::tar::Builder` refuses the hostile ones.
fn raw_entry(name: &[u8], kind: ::tar::EntryType, link: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut header = ::tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(bytes.len() as u64);
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(bytes);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

#[test]
fn refuses_hostile_tar_entries() {
    let regular = ::tar::EntryType::Regular;
    let mut tar = Vec::new();
    for entry in [
        raw_entry(b"../../etc/x.sbn", regular, b"", b"escape"),
        raw_entry(b"/abs/x.sbn", regular, b"", b"absolute"),
        raw_entry(b"firmware/../../../x.loads", regular, b"", b"zip slip"),
        raw_entry(b"link.sbn", ::tar::EntryType::Symlink, b"/etc/shadow", b""),
        raw_entry(b"hard.sbn", ::tar::EntryType::Link, b"/etc/shadow", b""),
        raw_entry(b"dev.sbn", ::tar::EntryType::Char, b"", b""),
        raw_entry(b"fifo.sbn", ::tar::EntryType::Fifo, b"", b""),
        raw_entry(b"ok/apps11.8-5-2TH1-9.sbn", regular, b"", b"fine"),
    ] {
        tar.extend(entry);
    }
    tar.extend([0u8; 1024]);
    let scratch = Scratch::new();
    let package = scratch.package("evil.cop", &gzip(&tar));
    let report = import(&package, &scratch.root(), false).unwrap();
    let refused: Vec<(&str, &str)> = report
        .refused
        .iter()
        .map(|(entry, reason)| (entry.as_str(), reason.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            ("../../etc/x.sbn", "path with a .. component"),
            ("/abs/x.sbn", "absolute path"),
            ("firmware/../../../x.loads", "path with a .. component"),
            ("link.sbn", "symbolic link"),
            ("hard.sbn", "hard link"),
            ("dev.sbn", "device, fifo or socket"),
            ("fifo.sbn", "device, fifo or socket"),
        ]
    );
    assert_eq!(report.written, ["apps11.8-5-2TH1-9.sbn"]);
    assert_eq!(scratch.listing(), ["apps11.8-5-2TH1-9.sbn"]);
    scratch.assert_nothing_outside(&["evil.cop"]);
    assert!(!Path::new("/abs/x.sbn").exists());
}

#[test]
fn refuses_hostile_zip_entries() {
    let zip = zip_reader::tests::build(&[
        (b"../../etc/x.sbn", b"escape", None, false),
        (b"/abs/x.sbn", b"absolute", None, true),
        (
            b"firmware/../../x.loads",
            b"zip slip",
            Some(0o100_644),
            false,
        ),
        (b"..\\..\\evil.sbn", b"windows slip", None, false),
        (b"C:\\tftp\\evil.sbn", b"drive", None, false),
        (b"firmware/link.sbn", b"/etc/shadow", Some(0o120_777), false),
        (b"firmware/dev.sbn", b"", Some(0o020_644), false),
        (b"bad\xffname.sbn", b"latin-1", None, false),
        (
            b"firmware/cnu11.8-5-2TH1-9.sbn",
            b"fine",
            Some(0o100_644),
            true,
        ),
    ]);
    let scratch = Scratch::new();
    let package = scratch.package("evil.zip", &zip);
    let report = import(&package, &scratch.root(), false).unwrap();
    let reasons: Vec<&str> = report
        .refused
        .iter()
        .map(|(_, reason)| reason.as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            "path with a .. component",
            "absolute path",
            "path with a .. component",
            "path with a .. component",
            "absolute path",
            "symbolic link",
            "device, fifo or socket",
            "name is not valid utf-8",
        ]
    );
    assert_eq!(scratch.listing(), ["cnu11.8-5-2TH1-9.sbn"]);
    scratch.assert_nothing_outside(&["evil.zip"]);
}

#[test]
fn a_different_file_in_the_root_is_kept_unless_forced() {
    let scratch = Scratch::new();
    // The SIP package's term41 is there; the SCCP one would replace it.
    fs::write(
        scratch.root().join("term11.default.loads"),
        b"points at SIP images",
    )
    .unwrap();
    fs::write(
        scratch.root().join("apps11.8-5-2TH1-9.sbn"),
        image("apps11.8-5-2TH1-9.sbn"),
    )
    .unwrap();
    fs::create_dir(scratch.root().join("dsp11.8-5-2TH1-9.sbn")).unwrap();
    let package = scratch.package("sccp11.cop", &gzip(&tar_of(&sccp11_cop_files())));

    let report = import(&package, &scratch.root(), false).unwrap();
    assert_eq!(report.unchanged, ["apps11.8-5-2TH1-9.sbn"]);
    assert_eq!(
        report.refused,
        [
            (
                "dsp11.8-5-2TH1-9.sbn".to_string(),
                "dsp11.8-5-2TH1-9.sbn is in the tftp root and is not a regular file".to_string()
            ),
            (
                "term11.default.loads".to_string(),
                "term11.default.loads is already in the tftp root with other contents (force replaces it)"
                    .to_string()
            ),
        ]
    );
    assert_eq!(
        fs::read(scratch.root().join("term11.default.loads")).unwrap(),
        b"points at SIP images"
    );

    let forced = import(&package, &scratch.root(), true).unwrap();
    assert_eq!(forced.written, ["term11.default.loads"]);
    assert_eq!(forced.refused.len(), 1, "a directory is never replaced");
    assert_eq!(
        fs::read(scratch.root().join("term11.default.loads")).unwrap(),
        data("SCCP11.8-5-2S.loads")
    );
}

#[test]
fn one_name_twice_in_an_archive() {
    let tar = tar_of(&[
        ("a/cnu11.8-5-2TH1-9.sbn", b"first".to_vec()),
        ("b/cnu11.8-5-2TH1-9.sbn", b"first".to_vec()),
        ("c/cnu11.8-5-2TH1-9.sbn", b"second".to_vec()),
    ]);
    let scratch = Scratch::new();
    let report = import(&scratch.package("twice.tar", &tar), &scratch.root(), true).unwrap();
    assert_eq!(report.written, ["cnu11.8-5-2TH1-9.sbn"]);
    assert_eq!(
        report.refused,
        [(
            "c/cnu11.8-5-2TH1-9.sbn".to_string(),
            "another entry of this archive has the same file name".to_string()
        )]
    );
    assert_eq!(
        fs::read(scratch.root().join("cnu11.8-5-2TH1-9.sbn")).unwrap(),
        b"first"
    );
}

#[test]
fn damaged_archives_write_no_loads_file() {
    let cop = gzip(&tar_of(&sccp11_cop_files()));
    let zip = sip41_zip();
    let tar = tar_of(&sccp11_cop_files());
    for (name, bytes) in [
        ("cut.cop", &cop[..cop.len() - 20]),
        ("cut-early.cop", &cop[..cop.len() / 3]),
        ("cut.zip", &zip[..zip.len() - 30]),
        ("cut.tar", &tar[..tar.len() - 4000]),
        ("empty.tar.gz", &cop[..0]),
    ] {
        let scratch = Scratch::new();
        let package = scratch.package(name, bytes);
        let err = import(&package, &scratch.root(), false).unwrap_err();
        let listing = scratch.listing();
        assert!(
            listing.iter().all(|file| !file.ends_with(".loads")),
            "{name}: {listing:?}"
        );
        match &err {
            ImportError::Damaged { written, .. } => {
                assert_eq!(
                    listing,
                    sorted(&written.iter().map(String::as_str).collect::<Vec<_>>()),
                    "{name}"
                );
                // Compressed archives are checked before anything is written.
                if name.ends_with(".cop") {
                    assert!(listing.is_empty(), "{name}: {listing:?}");
                }
            }
            ImportError::UnknownFormat { .. } => assert!(listing.is_empty(), "{name}"),
            other => panic!("{name}: {other}"),
        }
        let message = err.to_string();
        assert!(message.contains(name), "{message}");
    }
}

#[test]
fn a_damaged_zip_entry_is_refused_alone() {
    let mut zip = zip_reader::tests::build(&[
        (
            b"jar11sccp.8-5-2TH1-9.sbn",
            &image("jar11sccp.8-5-2TH1-9.sbn"),
            None,
            false,
        ),
        (
            b"cnu11.8-5-2TH1-9.sbn",
            &image("cnu11.8-5-2TH1-9.sbn"),
            None,
            false,
        ),
    ]);
    zip[100] ^= 0x55;
    let scratch = Scratch::new();
    let report = import(&scratch.package("bad.zip", &zip), &scratch.root(), false).unwrap();
    assert_eq!(
        report.refused,
        [(
            "jar11sccp.8-5-2TH1-9.sbn".to_string(),
            "damaged: crc-32 mismatch".to_string()
        )]
    );
    assert_eq!(scratch.listing(), ["cnu11.8-5-2TH1-9.sbn"]);
}

#[test]
fn errors_name_the_file() {
    let scratch = Scratch::new();
    let text = scratch.package("notes.txt", b"not a package at all, just some text\n");
    let err = import(&text, &scratch.root(), false).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a firmware package (a zip, tar, tar.gz, .cop or .cop.sgn)",
            text.display()
        )
    );
    let missing = scratch.dir.path().join("missing.zip");
    let err = import(&missing, &scratch.root(), false).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())),
        "{err}"
    );
    let err = import(&text, &scratch.dir.path().join("no-root"), false).unwrap_err();
    assert!(matches!(err, ImportError::Root { .. }));
    assert!(err.to_string().starts_with("tftp root "), "{err}");
    let err = import(&text, &text, false).unwrap_err();
    assert!(err.to_string().ends_with("not a directory"), "{err}");
    let first = err.to_string().chars().next().unwrap();
    assert!(!first.is_uppercase(), "{err}");
}

#[test]
fn never_panics_on_garbage_packages() {
    let mut state = 0x0123_4567_89ab_cdefu64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let cop = gzip(&tar_of(&sccp11_cop_files()));
    let zip = sip41_zip();
    for round in 0..60 {
        let base: &[u8] = if round % 2 == 0 { &cop } else { &zip };
        let mut bytes = base.to_vec();
        // Flip a few bytes anywhere.
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % bytes.len();
            bytes[at] ^= (next() as u8) | 1;
        }
        let scratch = Scratch::new();
        let name = if round % 2 == 0 { "x.cop.sgn" } else { "x.zip" };
        let _ = import(&scratch.package(name, &bytes), &scratch.root(), false);
        scratch.assert_nothing_outside(&[name]);
    }
}

/// A `.loads` entry is held in memory until the archive's end: a big one is refused, not
/// held (field-evidence.md §4: a 1.5 MB zip of `.loads` entries cost 1.5 GB of RSS).
#[test]
fn a_huge_loads_entry_is_refused() {
    let scratch = Scratch::new();
    let big = vec![b'A'; 200 << 10];
    let package = scratch.package(
        "cmterm-7940-7960-sip.8-12-00.tar",
        &tar_of(&[("P0S3-8-12-00.loads", big)]),
    );
    let report = import(&package, &scratch.root(), false).unwrap();
    assert!(report.written.is_empty(), "{report:?}");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(
        report.refused[0].1.contains("larger than 64 KiB"),
        "{report:?}"
    );
}

/// Bytes that differ everywhere, several copy buffers long.
fn big_image(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// An image is compared with the file already there from its temporary file: the same bytes
/// are unchanged, a difference in the last byte is refused unless forced, and no temporary
/// file is left in any case.
#[test]
fn streamed_images_are_compared_with_the_file_there() {
    let name = "jar41sip.9-4-2ES26.sbn";
    let bytes = big_image(300 << 10, 41);
    let zip = zip_reader::tests::build(&[(name.as_bytes(), &bytes, None, true)]);
    let scratch = Scratch::new();
    let package = scratch.package("jar41.zip", &zip);
    let target = scratch.root().join(name);

    fs::write(&target, &bytes).unwrap();
    let report = import(&package, &scratch.root(), false).unwrap();
    assert_eq!(report.unchanged, [name]);
    assert!(report.written.is_empty() && report.refused.is_empty());
    assert_eq!(scratch.listing(), [name]);

    let mut other = bytes.clone();
    *other.last_mut().unwrap() ^= 1;
    fs::write(&target, &other).unwrap();
    let report = import(&package, &scratch.root(), false).unwrap();
    assert_eq!(
        report.refused,
        [(
            name.to_string(),
            format!("{name} is already in the tftp root with other contents (force replaces it)")
        )]
    );
    assert_eq!(fs::read(&target).unwrap(), other);
    assert_eq!(scratch.listing(), [name]);

    let report = import(&package, &scratch.root(), true).unwrap();
    assert_eq!(report.written, [name]);
    assert_eq!(fs::read(&target).unwrap(), bytes);
    assert_eq!(scratch.listing(), [name]);
}

/// A zip entry's CRC-32 is known to be wrong only after its last byte went to the temporary
/// file: the entry is refused, the file there stays even with force, the temporary file goes,
/// and the next entry is still read.
#[test]
fn a_crc_mismatch_at_the_end_of_a_streamed_entry_keeps_the_old_file() {
    let bytes = big_image(300 << 10, 7);
    let mut zip = zip_reader::tests::build(&[
        (b"cnu41.9-4-2ES26.sbn", &bytes, None, true),
        (b"dsp41.9-4-2ES26.sbn", &bytes, None, false),
    ]);
    // The CRC in the first central directory record.
    let cd = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    zip[cd + 16] ^= 0x01;
    let scratch = Scratch::new();
    fs::write(scratch.root().join("cnu41.9-4-2ES26.sbn"), b"old build").unwrap();
    let report = import(&scratch.package("crc.zip", &zip), &scratch.root(), true).unwrap();
    assert_eq!(
        report.refused,
        [(
            "cnu41.9-4-2ES26.sbn".to_string(),
            "damaged: crc-32 mismatch".to_string()
        )]
    );
    assert_eq!(report.written, ["dsp41.9-4-2ES26.sbn"]);
    assert_eq!(
        fs::read(scratch.root().join("cnu41.9-4-2ES26.sbn")).unwrap(),
        b"old build"
    );
    assert_eq!(
        scratch.listing(),
        ["cnu41.9-4-2ES26.sbn", "dsp41.9-4-2ES26.sbn"]
    );
}
