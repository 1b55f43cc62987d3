//! A small tar reader: entry names, types and data, from a stream.
//!
//! Reads what `tar`, GNU tar, busybox and Cisco's COP builds write: ustar (with the name
//! prefix field), old v7 headers, GNU long names (`L`), pax extended headers (`x`: `path`,
//! `size`; `g` is skipped). Sizes in octal or in GNU base-256. Every header's checksum is
//! checked. Names are returned as stored: the caller decides what a name may be.
//!
//! Written here rather than taken from the `tar` crate, which costs 22 KB of binary for
//! features (unpacking, permissions, times, sparse files) the import does not use.

use std::io::{self, Read};

/// What an entry is: its type flag, as in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Directory,
    Symlink,
    HardLink,
    /// Character or block device, FIFO.
    Special,
    /// A GNU sparse file or a type we do not know.
    Unsupported,
}

/// One entry's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub path: Vec<u8>,
    pub kind: Kind,
    pub size: u64,
}

/// Reads entries one after the other; [`Reader::data`] streams the current one's bytes (and
/// [`Reader::read_data`] reads small ones whole), which are otherwise skipped.
pub(crate) struct Reader<'a> {
    inner: &'a mut dyn Read,
    /// Unread data bytes of the current entry, and the padding after them.
    unread: u64,
    padding: u64,
}

const BLOCK: usize = 512;
/// The largest GNU long name or pax header we read.
const META_LIMIT: u64 = 64 << 10;

fn damaged(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// The bytes of a NUL-terminated field.
fn field(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// An octal number (blanks and NULs around it), or GNU base-256 when the top bit is set.
fn number(bytes: &[u8]) -> Option<u64> {
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        if bytes[0] & 0x40 != 0 {
            return None; // Negative.
        }
        let mut value: u64 = u64::from(bytes[0] & 0x3f);
        for &byte in &bytes[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(byte))?;
        }
        return Some(value);
    }
    let text = std::str::from_utf8(field(bytes))
        .ok()?
        .trim_matches([' ', '\0']);
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// Whether `block` is a header whose checksum matches (unsigned sum, or the signed sum some
/// old tars wrote).
pub(crate) fn is_header(block: &[u8]) -> bool {
    let Some(block) = block.get(..BLOCK) else {
        return false;
    };
    let Some(recorded) = number(&block[148..156]) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &byte) in block.iter().enumerate() {
        let byte = if (148..156).contains(&i) { b' ' } else { byte };
        unsigned += u64::from(byte);
        signed += i64::from(byte as i8);
    }
    block.iter().any(|&b| b != 0) && (recorded == unsigned || recorded as i64 == signed)
}

impl<'a> Reader<'a> {
    pub(crate) fn new(inner: &'a mut dyn Read) -> Reader<'a> {
        Reader {
            inner,
            unread: 0,
            padding: 0,
        }
    }

    /// The next entry; `None` at the end of the archive (a zero block, or the end of the
    /// stream between entries).
    pub(crate) fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        let mut long_name: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            self.skip_rest()?;
            let mut block = [0u8; BLOCK];
            if !self.read_block(&mut block)? {
                return Ok(None);
            }
            if block.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            if !is_header(&block) {
                return Err(damaged("tar header checksum mismatch"));
            }
            let size = number(&block[124..136]).ok_or_else(|| damaged("bad size in tar header"))?;
            self.unread = size;
            self.padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
            match block[156] {
                b'L' => {
                    let mut name = self.read_meta(size)?;
                    name.truncate(field(&name).len());
                    long_name = Some(name);
                    continue;
                }
                b'x' => {
                    let records = self.read_meta(size)?;
                    let (path, size) = pax(&records)?;
                    if path.is_some() {
                        long_name = path;
                    }
                    if size.is_some() {
                        pax_size = size;
                    }
                    continue;
                }
                b'g' | b'K' => continue,
                _ => {}
            }
            let path = match long_name.take() {
                Some(name) => name,
                None => {
                    let name = field(&block[..100]);
                    let prefix = field(&block[345..500]);
                    if &block[257..262] == b"ustar" && !prefix.is_empty() {
                        [prefix, b"/", name].concat()
                    } else {
                        name.to_vec()
                    }
                }
            };
            let kind = match block[156] {
                b'0' | b'\0' | b'7' => Kind::File,
                b'5' => Kind::Directory,
                b'2' => Kind::Symlink,
                b'1' => Kind::HardLink,
                b'3' | b'4' | b'6' => Kind::Special,
                _ => Kind::Unsupported,
            };
            let size = pax_size.take().unwrap_or(size);
            self.unread = size;
            self.padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
            return Ok(Some(Entry { path, kind, size }));
        }
    }

    /// The current entry's bytes (at most `limit`; more is an error).
    pub(crate) fn read_data(&mut self, limit: u64) -> io::Result<Vec<u8>> {
        if self.unread > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "entry too large",
            ));
        }
        let mut data = Vec::new();
        self.data().read_to_end(&mut data)?;
        Ok(data)
    }

    /// The current entry's bytes as a stream: exactly the size its header says, or an
    /// `UnexpectedEof` error when the archive ends before. What is not read is skipped by
    /// the next [`Reader::next_entry`].
    pub(crate) fn data(&mut self) -> Data<'_, 'a> {
        Data { reader: self }
    }

    fn read_meta(&mut self, size: u64) -> io::Result<Vec<u8>> {
        if size > META_LIMIT {
            return Err(damaged("tar extended header too large"));
        }
        self.read_data(size)
    }

    /// Skips what is left of the current entry.
    fn skip_rest(&mut self) -> io::Result<()> {
        let skip = self.unread + self.padding;
        if skip > 0 {
            let skipped = io::copy(&mut Read::take(&mut *self.inner, skip), &mut io::sink())?;
            if skipped < skip {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "tar entry cut short",
                ));
            }
        }
        self.unread = 0;
        self.padding = 0;
        Ok(())
    }

    /// Reads a whole block; `false` at the end of the stream before its first byte.
    fn read_block(&mut self, block: &mut [u8; BLOCK]) -> io::Result<bool> {
        let mut filled = 0;
        while filled < BLOCK {
            match self.inner.read(&mut block[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "tar header cut short",
                    ))
                }
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(true)
    }
}

/// The data of the current entry: [`Reader::data`].
pub(crate) struct Data<'r, 'a> {
    reader: &'r mut Reader<'a>,
}

impl Read for Data<'_, '_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let unread = self.reader.unread;
        if unread == 0 || out.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(unread).unwrap_or(usize::MAX).min(out.len());
        let n = self.reader.inner.read(&mut out[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "tar entry cut short",
            ));
        }
        self.reader.unread -= n as u64;
        Ok(n)
    }
}

/// The `path` and `size` of pax records (`<length> <key>=<value>\n`).
fn pax(mut records: &[u8]) -> io::Result<(Option<Vec<u8>>, Option<u64>)> {
    let (mut path, mut size) = (None, None);
    while !records.is_empty() && records[0] != 0 {
        let space = records
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| damaged("bad pax record"))?;
        let length: usize = std::str::from_utf8(&records[..space])
            .ok()
            .and_then(|text| text.parse().ok())
            .filter(|&length| length > space + 1 && length <= records.len())
            .ok_or_else(|| damaged("bad pax record"))?;
        let record = &records[space + 1..length];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(value) = record.strip_prefix(b"path=") {
            path = Some(value.to_vec());
        } else if let Some(value) = record.strip_prefix(b"size=") {
            size = Some(
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| damaged("bad pax size"))?,
            );
        }
        records = &records[length..];
    }
    Ok((path, size))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// Path, kind, size and (for files) data of one entry.
    type Unpacked = (String, Kind, u64, Vec<u8>);

    /// Every entry, with the data of files.
    fn read_all(bytes: &[u8]) -> io::Result<Vec<Unpacked>> {
        let mut cursor = Cursor::new(bytes);
        let mut reader = Reader::new(&mut cursor);
        let mut out = Vec::new();
        while let Some(entry) = reader.next_entry()? {
            let data = if entry.kind == Kind::File {
                reader.read_data(1 << 20)?
            } else {
                Vec::new()
            };
            out.push((
                String::from_utf8_lossy(&entry.path).into_owned(),
                entry.kind,
                entry.size,
                data,
            ));
        }
        Ok(out)
    }

    #[test]
    fn reads_archives_of_the_tar_crate() {
        let long = format!(
            "cmterm-7941_7961-sip.9-4-2SR3-1/{}/jar41sip.9-4-2ES26.sbn",
            "d".repeat(120)
        );
        let mut builder = ::tar::Builder::new(Vec::new());
        let mut add = |name: &str, kind: ::tar::EntryType, data: &[u8], gnu: bool| {
            let mut header = if gnu {
                ::tar::Header::new_gnu()
            } else {
                ::tar::Header::new_ustar()
            };
            header.set_entry_type(kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            if kind == ::tar::EntryType::Symlink {
                header.set_link_name("/etc/shadow").unwrap();
            }
            builder.append_data(&mut header, name, data).unwrap();
        };
        add("cmterm/", ::tar::EntryType::Directory, b"", false);
        add(
            "cmterm/SIP41.9-4-2SR3-1S.loads",
            ::tar::EntryType::Regular,
            b"loads body",
            false,
        );
        add(&long, ::tar::EntryType::Regular, &[9u8; 1500], true);
        add(
            &long.replace("jar41sip", "cnu41"),
            ::tar::EntryType::Regular,
            &[3u8; 512],
            false,
        );
        add("link.sbn", ::tar::EntryType::Symlink, b"", false);
        add("fifo.sbn", ::tar::EntryType::Fifo, b"", false);
        let bytes = builder.into_inner().unwrap();
        let got = read_all(&bytes).unwrap();
        let summary: Vec<(&str, Kind, u64)> = got
            .iter()
            .map(|(p, k, s, _)| (p.as_str(), *k, *s))
            .collect();
        let cnu = long.replace("jar41sip", "cnu41");
        assert_eq!(
            summary,
            [
                ("cmterm/", Kind::Directory, 0),
                ("cmterm/SIP41.9-4-2SR3-1S.loads", Kind::File, 10),
                (long.as_str(), Kind::File, 1500),
                (cnu.as_str(), Kind::File, 512),
                ("link.sbn", Kind::Symlink, 0),
                ("fifo.sbn", Kind::Special, 0),
            ]
        );
        assert_eq!(got[1].3, b"loads body");
        assert_eq!(got[2].3, [9u8; 1500]);
        assert_eq!(got[3].3, [3u8; 512]);
    }

    /// A pax record: its length counts its own digits.
    fn record(key_value: &str) -> String {
        let mut length = key_value.len() + 3;
        loop {
            let line = format!("{length} {key_value}\n");
            if line.len() == length {
                return line;
            }
            length = line.len();
        }
    }

    #[test]
    fn pax_path_and_size() {
        let records: String = [
            "path=firmware/apps41.9-4-2ES26.sbn",
            "mtime=1795252463.5",
            "size=3",
        ]
        .into_iter()
        .map(record)
        .collect();
        let records = records.as_bytes();
        assert_eq!(
            pax(records).unwrap(),
            (Some(b"firmware/apps41.9-4-2ES26.sbn".to_vec()), Some(3))
        );
        assert!(pax(b"99 path=x\n").is_err());
        assert!(pax(b"x path=x\n").is_err());
        assert!(pax(b"3 ").is_err());
        assert_eq!(pax(b"").unwrap(), (None, None));
    }

    #[test]
    fn pax_headers_name_the_next_entry() {
        let records: String = ["path=cmterm/apps41.9-4-2ES26.sbn", "size=3"]
            .into_iter()
            .map(record)
            .collect();
        let mut builder = ::tar::Builder::new(Vec::new());
        let mut pax = ::tar::Header::new_ustar();
        pax.set_entry_type(::tar::EntryType::XHeader);
        pax.set_path("PaxHeaders/apps41").unwrap();
        pax.set_size(records.len() as u64);
        pax.set_cksum();
        builder.append(&pax, records.as_bytes()).unwrap();
        // The header's own size says 0: the pax size wins.
        let mut file = ::tar::Header::new_ustar();
        file.set_path("short-name").unwrap();
        file.set_size(0);
        file.set_cksum();
        builder.append(&file, &b""[..]).unwrap();
        let mut bytes = builder.into_inner().unwrap();
        // Put three data bytes where the entry's data goes (the block after its header).
        let data_at = bytes.len() - 1024;
        bytes.splice(data_at..data_at, b"abc".iter().copied().chain([0u8; 509]));
        let got = read_all(&bytes).unwrap();
        assert_eq!(
            got,
            [(
                "cmterm/apps41.9-4-2ES26.sbn".to_string(),
                Kind::File,
                3,
                b"abc".to_vec()
            )]
        );
    }

    #[test]
    fn numbers() {
        for (bytes, want) in [
            (&b"0000644\0"[..], Some(0o644)),
            (b"   1750 ", Some(0o1750)),
            (b"\0\0\0\0", Some(0)),
            (b"00000001000\0", Some(512)),
            (b"\x80\0\0\0\0\0\0\x01\0\0\0\0", Some(1 << 32)),
            (b"\xff\xff\xff\xff", None),
            (b"12x4", None),
            (b"9", None),
        ] {
            assert_eq!(number(bytes), want, "{bytes:?}");
        }
    }

    #[test]
    fn damage_is_an_error_never_a_panic() {
        let mut builder = ::tar::Builder::new(Vec::new());
        for name in ["a.sbn", "b.sbn"] {
            let mut header = ::tar::Header::new_gnu();
            header.set_size(700);
            builder
                .append_data(&mut header, name, &[1u8; 700][..])
                .unwrap();
        }
        let bytes = builder.into_inner().unwrap();
        // Cut inside the second header and inside the second entry's data.
        assert!(read_all(&bytes[..1536 + 100]).is_err());
        assert!(read_all(&bytes[..1536 + 512 + 100]).is_err());
        // Cut at an entry boundary: the end of the stream ends the archive.
        assert_eq!(read_all(&bytes[..1536]).unwrap().len(), 1);
        // A flipped header byte fails the checksum.
        let mut bad = bytes.clone();
        bad[10] ^= 1;
        assert!(read_all(&bad).is_err());
        // Random bytes.
        let mut state = 0x5851_f42d_4c95_7f2du64;
        for round in 0..200 {
            let mut bytes = bytes.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % bytes.len();
                bytes[at] = (state >> 40) as u8;
            }
            if round % 2 == 0 {
                // Keep the headers valid so the size and type fields get exercised.
                for at in [0, 1536] {
                    let mut header = [0u8; 512];
                    header.copy_from_slice(&bytes[at..at + 512]);
                    header[148..156].fill(b' ');
                    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
                    bytes[at + 148..at + 156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
                }
            }
            let _ = read_all(&bytes);
        }
    }
}
