//! A small zip reader: the central directory, and stored or deflated entries.
//!
//! Enough for Cisco's `cmterm-*.zip` packages and for zips people make of a TFTP directory:
//! zip64 records, data descriptors, a prefix before the archive (self-extractors, signed
//! wrappers), Unix and DOS attributes. Not supported, and reported per entry: encryption,
//! compression other than deflate, split archives. Sizes come from the central directory;
//! entries are read as streams ([`open`]) that check the size as the bytes come and the
//! CRC-32 at the end.

use std::io::{self, Read, Seek, SeekFrom};

use super::gzip::{Crc32, Inflate};

/// A seekable archive: a file, or bytes in memory (an archive inside an archive). Used as a
/// trait object so the reader is compiled once.
pub(crate) trait Source: Read + Seek {}

impl<T: Read + Seek> Source for T {}

/// What an entry is, from its name and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Directory,
    Symlink,
    /// A Unix device, FIFO or socket.
    Special,
}

/// One central-directory record.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The name as stored (UTF-8 or, without the UTF-8 flag, usually ASCII).
    pub name: Vec<u8>,
    pub kind: Kind,
    /// Uncompressed size.
    pub size: u64,
    flags: u16,
    method: u16,
    crc: u32,
    compressed_size: u64,
    /// Offset of the local header, already corrected for a prefix before the archive.
    local_offset: u64,
}

/// Why an entry could not be read; the archive as a whole may still be fine.
#[derive(Debug)]
pub(crate) enum EntryError {
    /// The entry is in a form we do not read (encrypted, another compression method).
    Unsupported(String),
    /// Its data is damaged or does not match its record.
    Damaged(String),
    /// It is larger than the caller's limit.
    TooLarge,
    /// Reading the archive failed.
    Io(io::Error),
}

const EOCD_SIGNATURE: [u8; 4] = *b"PK\x05\x06";
const ZIP64_LOCATOR_SIGNATURE: [u8; 4] = *b"PK\x06\x07";
const ZIP64_EOCD_SIGNATURE: [u8; 4] = *b"PK\x06\x06";
const CENTRAL_SIGNATURE: [u8; 4] = *b"PK\x01\x02";
const LOCAL_SIGNATURE: [u8; 4] = *b"PK\x03\x04";
/// Fixed part of the end-of-central-directory record; a comment of up to 65535 bytes follows.
const EOCD_LEN: usize = 22;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Whether `reader` holds a zip archive: an end-of-central-directory record near its end.
pub(crate) fn looks_like_zip(reader: &mut dyn Source) -> io::Result<bool> {
    Ok(find_end(reader)?.is_some())
}

/// The end-of-central-directory record: its offset and its bytes (comment included).
fn find_end(reader: &mut dyn Source) -> io::Result<Option<(u64, Vec<u8>)>> {
    let len = reader.seek(SeekFrom::End(0))?;
    let tail_len = len.min((EOCD_LEN + usize::from(u16::MAX)) as u64);
    reader.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0; tail_len as usize];
    reader.read_exact(&mut tail)?;
    // The last record whose comment length reaches exactly to the end of the file; a
    // signature inside a comment does not fit that test.
    let found = (0..tail.len().saturating_sub(EOCD_LEN - 1))
        .rev()
        .find(|&at| {
            tail[at..at + 4] == EOCD_SIGNATURE
                && u16_at(&tail, at + 20).map(usize::from) == Some(tail.len() - at - EOCD_LEN)
        });
    Ok(found.map(|at| (len - tail_len + at as u64, tail[at..].to_vec())))
}

/// Reads the central directory.
pub(crate) fn entries(reader: &mut dyn Source) -> io::Result<Vec<Entry>> {
    let (end_offset, end) = find_end(reader)?.ok_or_else(|| damaged("no zip end record"))?;
    let disk = u16_at(&end, 4).unwrap_or(0);
    let cd_disk = u16_at(&end, 6).unwrap_or(0);
    let mut count = u64::from(u16_at(&end, 10).unwrap_or(0));
    let mut cd_size = u64::from(u32_at(&end, 12).unwrap_or(0));
    let mut cd_offset = u64::from(u32_at(&end, 16).unwrap_or(0));
    let mut records_end = end_offset;
    if count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
        let (zip64_offset, zip64) = read_zip64_end(reader, end_offset)?;
        count = u64_at(&zip64, 32).ok_or_else(|| damaged("short zip64 end record"))?;
        cd_size = u64_at(&zip64, 40).ok_or_else(|| damaged("short zip64 end record"))?;
        cd_offset = u64_at(&zip64, 48).ok_or_else(|| damaged("short zip64 end record"))?;
        records_end = zip64_offset;
    } else if disk != 0 || cd_disk != 0 {
        return Err(damaged("split zip archives are not supported"));
    }
    // Bytes before the archive (a signature header, a self-extractor) shift every offset.
    let prefix = records_end
        .checked_sub(cd_size)
        .and_then(|start| start.checked_sub(cd_offset))
        .ok_or_else(|| damaged("zip central directory out of range"))?;
    let cd_size_usize =
        usize::try_from(cd_size).map_err(|_| damaged("zip central directory too large"))?;
    if cd_size_usize > 256 << 20 {
        return Err(damaged("zip central directory too large"));
    }
    reader.seek(SeekFrom::Start(prefix + cd_offset))?;
    let mut cd = vec![0; cd_size_usize];
    reader.read_exact(&mut cd)?;

    let mut out = Vec::new();
    let mut at = 0usize;
    while out.len() as u64 != count {
        if cd.get(at..at + 4) != Some(&CENTRAL_SIGNATURE[..]) {
            return Err(damaged("bad zip central directory record"));
        }
        let field =
            |offset: usize| u16_at(&cd, at + offset).ok_or_else(|| damaged("short zip record"));
        let field32 =
            |offset: usize| u32_at(&cd, at + offset).ok_or_else(|| damaged("short zip record"));
        let made_by = field(4)?;
        let flags = field(8)?;
        let method = field(10)?;
        let crc = field32(16)?;
        let mut compressed_size = u64::from(field32(20)?);
        let mut size = u64::from(field32(24)?);
        let name_len = usize::from(field(28)?);
        let extra_len = usize::from(field(30)?);
        let comment_len = usize::from(field(32)?);
        let external = field32(38)?;
        let mut local_offset = u64::from(field32(42)?);
        let name_start = at + 46;
        let name = cd
            .get(name_start..name_start + name_len)
            .ok_or_else(|| damaged("short zip record"))?
            .to_vec();
        let extra = cd
            .get(name_start + name_len..name_start + name_len + extra_len)
            .ok_or_else(|| damaged("short zip record"))?;
        // Zip64: the fields that overflowed are in extra field 1, in this order.
        if let Some(zip64) = extra_field(extra, 1) {
            let mut values = zip64.chunks_exact(8).map(|c| u64_at(c, 0).unwrap_or(0));
            if size == 0xffff_ffff {
                size = values.next().ok_or_else(|| damaged("short zip64 field"))?;
            }
            if compressed_size == 0xffff_ffff {
                compressed_size = values.next().ok_or_else(|| damaged("short zip64 field"))?;
            }
            if local_offset == 0xffff_ffff {
                local_offset = values.next().ok_or_else(|| damaged("short zip64 field"))?;
            }
        }
        let unix_mode = if made_by >> 8 == 3 { external >> 16 } else { 0 };
        let kind = match unix_mode & 0o170_000 {
            0o120_000 => Kind::Symlink,
            0o040_000 => Kind::Directory,
            0o010_000 | 0o020_000 | 0o060_000 | 0o140_000 => Kind::Special,
            _ if name.ends_with(b"/") || name.ends_with(b"\\") || external & 0x10 != 0 => {
                Kind::Directory
            }
            _ => Kind::File,
        };
        out.push(Entry {
            name,
            kind,
            size,
            flags,
            method,
            crc,
            compressed_size,
            local_offset: local_offset
                .checked_add(prefix)
                .ok_or_else(|| damaged("zip entry offset out of range"))?,
        });
        at = name_start + name_len + extra_len + comment_len;
    }
    // Each entry's data follows its own local header: two entries whose spans overlap share
    // bytes, the trick that turned 255 KB into 2 GB on disk (field-evidence.md §4). A
    // firmware package never does that; refuse the archive.
    let mut spans: Vec<(u64, u64)> = out
        .iter()
        .map(|entry| {
            let start = entry.local_offset;
            (
                start,
                start
                    .saturating_add(30)
                    .saturating_add(entry.compressed_size),
            )
        })
        .collect();
    spans.sort_unstable();
    if spans.windows(2).any(|pair| pair[0].1 > pair[1].0) {
        return Err(damaged(
            "zip entries overlap (a zip bomb, not a firmware package)",
        ));
    }
    Ok(out)
}

fn read_zip64_end(reader: &mut dyn Source, end_offset: u64) -> io::Result<(u64, Vec<u8>)> {
    let locator_offset = end_offset
        .checked_sub(20)
        .ok_or_else(|| damaged("no zip64 locator"))?;
    reader.seek(SeekFrom::Start(locator_offset))?;
    let mut locator = [0u8; 20];
    reader.read_exact(&mut locator)?;
    if locator[..4] != ZIP64_LOCATOR_SIGNATURE {
        return Err(damaged("no zip64 locator"));
    }
    let mut zip64_offset = u64_at(&locator, 8).unwrap_or(0);
    // With bytes before the archive the recorded offset is short by their length: the record
    // ends where the locator starts.
    if zip64_offset + 56 > locator_offset
        || !has_signature(reader, zip64_offset, ZIP64_EOCD_SIGNATURE)?
    {
        zip64_offset = locator_offset
            .checked_sub(56)
            .ok_or_else(|| damaged("no zip64 end record"))?;
    }
    reader.seek(SeekFrom::Start(zip64_offset))?;
    let mut record = [0u8; 56];
    reader.read_exact(&mut record)?;
    if record[..4] != ZIP64_EOCD_SIGNATURE {
        return Err(damaged("no zip64 end record"));
    }
    Ok((zip64_offset, record.to_vec()))
}

fn has_signature(reader: &mut dyn Source, offset: u64, signature: [u8; 4]) -> io::Result<bool> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut found = [0u8; 4];
    match reader.read_exact(&mut found) {
        Ok(()) => Ok(found == signature),
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(err) => Err(err),
    }
}

/// The data of extra field `id`.
fn extra_field(mut extra: &[u8], id: u16) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let field_id = u16_at(extra, 0)?;
        let len = usize::from(u16_at(extra, 2)?);
        let data = extra.get(4..4 + len)?;
        if field_id == id {
            return Some(data);
        }
        extra = &extra[4 + len..];
    }
    None
}

/// Opens one entry for reading; `limit` bounds its uncompressed size as the central
/// directory records it.
pub(crate) fn open<'a>(
    reader: &'a mut dyn Source,
    entry: &Entry,
    limit: u64,
) -> Result<EntryReader<'a>, EntryError> {
    if entry.flags & 1 != 0 {
        return Err(EntryError::Unsupported("encrypted".into()));
    }
    if entry.method != 0 && entry.method != 8 {
        return Err(EntryError::Unsupported(format!(
            "compression method {} is not supported (only stored and deflate)",
            entry.method
        )));
    }
    if entry.size > limit {
        return Err(EntryError::TooLarge);
    }
    reader
        .seek(SeekFrom::Start(entry.local_offset))
        .map_err(EntryError::Io)?;
    let mut local = [0u8; 30];
    reader
        .read_exact(&mut local)
        .map_err(|err| truncated(err, "local header"))?;
    if local[..4] != LOCAL_SIGNATURE {
        return Err(EntryError::Damaged("bad local header".into()));
    }
    let skip =
        u64::from(u16_at(&local, 26).unwrap_or(0)) + u64::from(u16_at(&local, 28).unwrap_or(0));
    reader
        .seek(SeekFrom::Current(skip as i64))
        .map_err(EntryError::Io)?;
    let compressed = Read::take(reader, entry.compressed_size);
    let data = if entry.method == 0 {
        Data::Stored(compressed)
    } else {
        Data::Deflated(Inflate::new(io::BufReader::new(compressed)))
    };
    Ok(EntryReader {
        data,
        crc: Crc32::new(),
        read: 0,
        size: entry.size,
        expected_crc: entry.crc,
        state: State::Reading,
    })
}

/// One entry's bytes, decompressed as they are read, never held. A byte beyond the size the
/// central directory records, a shorter entry or a CRC-32 that does not match is an
/// `InvalidData` error: the size is checked as the bytes come, the CRC at the end, so only
/// a reader that got to its end (`Ok(0)`) has had good data.
pub(crate) struct EntryReader<'a> {
    data: Data<'a>,
    crc: Crc32,
    read: u64,
    size: u64,
    expected_crc: u32,
    state: State,
}

enum Data<'a> {
    Stored(io::Take<&'a mut dyn Source>),
    Deflated(Inflate<io::BufReader<io::Take<&'a mut dyn Source>>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// The end was reached and checked.
    Done,
    /// An error was returned; the entry is not read further.
    Failed,
}

impl Read for EntryReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.state {
            State::Reading => {}
            State::Done => return Ok(0),
            State::Failed => return Err(damaged("entry already found damaged")),
        }
        if out.is_empty() {
            return Ok(0);
        }
        let result = self.read_checked(out);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }
}

impl EntryReader<'_> {
    fn read_checked(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Never past the recorded size; once there, one byte more tells whether the data
        // goes on.
        let remaining = self.size - self.read;
        let want = if remaining == 0 {
            1
        } else {
            usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(out.len())
        };
        let out = &mut out[..want];
        let n = match &mut self.data {
            Data::Stored(data) => data.read(out),
            Data::Deflated(data) => data.read(out),
        }
        .map_err(|err| match err.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput => io::Error::new(err.kind(), format!("data: {err}")),
            _ => err,
        })?;
        if n == 0 {
            if self.read != self.size {
                return Err(damaged(&format!(
                    "size is {} bytes, the directory says {}",
                    self.read, self.size
                )));
            }
            if self.crc.sum() != self.expected_crc {
                return Err(damaged("crc-32 mismatch"));
            }
            self.state = State::Done;
            return Ok(0);
        }
        if remaining == 0 {
            return Err(damaged(&format!(
                "more than the {} bytes the directory says",
                self.size
            )));
        }
        self.crc.update(&out[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// An error from an [`EntryReader`]: damage, unless reading the archive itself failed.
pub(crate) fn stream_error(err: io::Error) -> EntryError {
    match err.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
            EntryError::Damaged(err.to_string())
        }
        _ => EntryError::Io(err),
    }
}

fn truncated(err: io::Error, what: &str) -> EntryError {
    match err.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
            EntryError::Damaged(format!("{what}: {err}"))
        }
        _ => EntryError::Io(err),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Cursor;

    use super::*;

    /// One entry of a hand-made zip: name, data, Unix mode (`None`: a DOS entry), deflated.
    pub(crate) type TestEntry<'a> = (&'a [u8], &'a [u8], Option<u32>, bool);

    /// A hand-made zip, entry by entry, with any name and any attributes.
    pub(crate) fn build(entries: &[TestEntry<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data, mode, deflate) in entries {
            let mut crc = Crc32::new();
            crc.update(data);
            let stored = if *deflate {
                miniz_oxide::deflate::compress_to_vec(data, 6)
            } else {
                data.to_vec()
            };
            let offset = out.len() as u32;
            let method: u16 = if *deflate { 8 } else { 0 };
            out.extend_from_slice(&LOCAL_SIGNATURE);
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&crc.sum().to_le_bytes());
            out.extend_from_slice(&(stored.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name);
            out.extend_from_slice(&stored);

            let made_by: u16 = if mode.is_some() { 3 << 8 | 20 } else { 20 };
            central.extend_from_slice(&CENTRAL_SIGNATURE);
            central.extend_from_slice(&made_by.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&0u16.to_le_bytes());
            central.extend_from_slice(&method.to_le_bytes());
            central.extend_from_slice(&[0; 4]);
            central.extend_from_slice(&crc.sum().to_le_bytes());
            central.extend_from_slice(&(stored.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 4]);
            central.extend_from_slice(&[0; 4]);
            central.extend_from_slice(&(mode.unwrap_or(0) << 16).to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name);
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&EOCD_SIGNATURE);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    /// Two central records pointing at one local entry (the overlapping-entry zip bomb that
    /// turned 255 KB into 2 GB on disk, field-evidence.md §4): the archive is refused.
    #[test]
    fn overlapping_entries_are_refused() {
        let mut bytes = build(&[
            (b"P003-8-12-00.sbn", &[7u8; 4096], None, true),
            (b"P0S3-8-12-00.sb2", &[7u8; 4096], None, true),
        ]);
        let second = bytes
            .windows(4)
            .enumerate()
            .filter(|(_, window)| *window == CENTRAL_SIGNATURE)
            .nth(1)
            .map(|(at, _)| at)
            .unwrap();
        bytes[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
        let err = entries(&mut Cursor::new(bytes)).unwrap_err();
        assert!(err.to_string().contains("overlap"), "{err}");
    }

    /// One entry's bytes, read to the end of its stream.
    fn read(reader: &mut dyn Source, entry: &Entry, limit: u64) -> Result<Vec<u8>, EntryError> {
        let mut data = Vec::new();
        open(reader, entry, limit)?
            .read_to_end(&mut data)
            .map_err(stream_error)?;
        Ok(data)
    }

    fn read_all(bytes: Vec<u8>) -> Vec<(String, Kind, Result<Vec<u8>, String>)> {
        let mut cursor = Cursor::new(bytes);
        entries(&mut cursor)
            .unwrap()
            .iter()
            .map(|entry| {
                let data = read(&mut cursor, entry, 1 << 20).map_err(|err| format!("{err:?}"));
                (
                    String::from_utf8_lossy(&entry.name).into_owned(),
                    entry.kind,
                    data,
                )
            })
            .collect()
    }

    #[test]
    fn reads_stored_and_deflated_entries_and_kinds() {
        let zip = build(&[
            (b"firmware/", b"", Some(0o040_755), false),
            (
                b"firmware/SIP41.9-4-2SR3-1S.loads",
                b"jar41sip.9-4-2ES26.sbn\n",
                Some(0o100_644),
                true,
            ),
            (b"firmware/apps41.9-4-2ES26.sbn", &[7u8; 5000], None, true),
            (b"link.sbn", b"/etc/passwd", Some(0o120_777), false),
            (b"fifo.sbn", b"", Some(0o010_644), false),
            (b"DOSDIR\\", b"", None, false),
        ]);
        let got = read_all(zip);
        let summary: Vec<(&str, Kind)> = got.iter().map(|(n, k, _)| (n.as_str(), *k)).collect();
        assert_eq!(
            summary,
            [
                ("firmware/", Kind::Directory),
                ("firmware/SIP41.9-4-2SR3-1S.loads", Kind::File),
                ("firmware/apps41.9-4-2ES26.sbn", Kind::File),
                ("link.sbn", Kind::Symlink),
                ("fifo.sbn", Kind::Special),
                ("DOSDIR\\", Kind::Directory),
            ]
        );
        assert_eq!(got[1].2.as_deref().unwrap(), b"jar41sip.9-4-2ES26.sbn\n");
        assert_eq!(got[2].2.as_deref().unwrap(), &[7u8; 5000][..]);
    }

    #[test]
    fn a_prefix_before_the_archive_is_skipped() {
        let mut bytes = b"\x01\x00\x02\x01\x02some signature header".to_vec();
        bytes.extend(build(&[(b"a.sbn", b"abc", None, true)]));
        let got = read_all(bytes);
        assert_eq!(got[0].2.as_deref().unwrap(), b"abc");
    }

    #[test]
    fn damaged_entries_are_reported_not_returned() {
        let mut zip = build(&[(b"a.sbn", b"hello firmware", None, false)]);
        // Flip a data byte: the CRC no longer matches.
        let at = 30 + 5;
        zip[at] ^= 0xff;
        let got = read_all(zip);
        assert!(
            matches!(&got[0].2, Err(reason) if reason.contains("crc-32")),
            "{got:?}"
        );

        let zip = build(&[(b"big.sbn", &[0u8; 100], None, true)]);
        let mut cursor = Cursor::new(zip);
        let list = entries(&mut cursor).unwrap();
        assert!(matches!(
            read(&mut cursor, &list[0], 99),
            Err(EntryError::TooLarge)
        ));
    }

    /// The stream hands out bytes as they come: the CRC-32 is known to be wrong only at its
    /// end, and data past the recorded size is an error at the first byte too many.
    #[test]
    fn streams_check_the_crc_at_the_end_and_the_size_as_they_go() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 / 3) as u8).collect();
        let mut zip = build(&[(b"a.sbn", &data, None, true)]);
        let cd = zip.windows(4).position(|w| w == CENTRAL_SIGNATURE).unwrap();
        zip[cd + 16] ^= 1;
        let mut cursor = Cursor::new(zip.clone());
        let list = entries(&mut cursor).unwrap();
        let mut stream = open(&mut cursor, &list[0], 1 << 20).unwrap();
        let mut first = vec![0u8; 1000];
        stream.read_exact(&mut first).unwrap();
        assert_eq!(first, data[..1000]);
        let err = io::copy(&mut stream, &mut io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(err.to_string(), "crc-32 mismatch");
        assert!(
            stream.read(&mut first).is_err(),
            "a failed stream stays failed"
        );

        // The records say 1000 bytes: the 1001st is an error (the CRC is right for 1000).
        zip[cd + 16] ^= 1;
        let mut crc = Crc32::new();
        crc.update(&data[..1000]);
        zip[cd + 16..cd + 20].copy_from_slice(&crc.sum().to_le_bytes());
        zip[cd + 24..cd + 28].copy_from_slice(&1000u32.to_le_bytes());
        let mut cursor = Cursor::new(zip);
        let list = entries(&mut cursor).unwrap();
        let mut stream = open(&mut cursor, &list[0], 1 << 20).unwrap();
        let mut got = Vec::new();
        let err = stream.read_to_end(&mut got).unwrap_err();
        assert_eq!(got, data[..1000]);
        assert_eq!(
            err.to_string(),
            "more than the 1000 bytes the directory says"
        );
    }

    #[test]
    fn truncated_and_garbage_archives_are_errors() {
        let zip = build(&[
            (b"a.sbn", &[1u8; 3000], None, false),
            (b"b.sbn", &[2u8; 3000], None, true),
        ]);
        for cut in [0, 10, 21, zip.len() / 2, zip.len() - 1] {
            let mut cursor = Cursor::new(zip[..cut].to_vec());
            assert!(entries(&mut cursor).is_err(), "cut at {cut}");
        }
        // A central directory intact but data cut out: each entry fails on its own.
        let mut holed = zip.clone();
        for byte in &mut holed[100..200] {
            *byte = 0;
        }
        let got = read_all(holed);
        assert!(got[0].2.is_err());
        assert!(got[1].2.is_ok());
        // Random bytes never panic.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100 {
            let mut bytes: Vec<u8> = (0..600)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            bytes.extend_from_slice(&zip[zip.len() - 22..]);
            let mut cursor = Cursor::new(bytes);
            if let Ok(list) = entries(&mut cursor) {
                for entry in &list {
                    let _ = read(&mut cursor, entry, 1 << 20);
                }
            }
        }
    }

    #[test]
    fn unsupported_entries() {
        let mut zip = build(&[(b"a.sbn", b"x", None, false), (b"b.sbn", b"y", None, false)]);
        // Central directory records: set the encryption flag on the first, method 12 (bzip2)
        // on the second.
        let cd = zip.windows(4).position(|w| w == CENTRAL_SIGNATURE).unwrap();
        zip[cd + 8] |= 1;
        let second = cd + 46 + 5;
        zip[second + 10] = 12;
        let got = read_all(zip);
        assert!(matches!(&got[0].2, Err(reason) if reason.contains("encrypted")));
        assert!(matches!(&got[1].2, Err(reason) if reason.contains("method 12")));
    }
}
