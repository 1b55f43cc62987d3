//! Streaming inflate (raw deflate, gzip) over `miniz_oxide`, and CRC-32.
//!
//! Written here rather than taken from `flate2`: a byte-wise CRC table is 1 KiB where
//! `crc32fast`'s tables and SIMD paths are 21 KiB, and the two readers below are all the
//! firmware import needs. The tests check them against `flate2`'s writer.

use std::io::{self, BufRead, Read};

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// CRC-32 (IEEE 802.3, as in zip and gzip), one table lookup per byte.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Crc32(u32);

const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut value = i as u32;
        let mut bit = 0;
        while bit < 8 {
            value = if value & 1 != 0 {
                0xedb8_8320 ^ (value >> 1)
            } else {
                value >> 1
            };
            bit += 1;
        }
        table[i] = value;
        i += 1;
    }
    table
}

impl Crc32 {
    pub(crate) fn new() -> Crc32 {
        Crc32(0xffff_ffff)
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = CRC_TABLE[usize::from((self.0 as u8) ^ byte)] ^ (self.0 >> 8);
        }
    }

    pub(crate) fn sum(&self) -> u32 {
        !self.0
    }
}

/// Raw deflate data from `inner`, decompressed. Reads from `inner` only what the deflate
/// stream holds, so whatever follows it (a gzip trailer) is left there.
pub(crate) struct Inflate<R> {
    inner: R,
    state: Box<InflateState>,
    done: bool,
}

impl<R: BufRead> Inflate<R> {
    pub(crate) fn new(inner: R) -> Inflate<R> {
        Inflate {
            inner,
            state: InflateState::new_boxed(DataFormat::Raw),
            done: false,
        }
    }

    fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: BufRead> Read for Inflate<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.inner.fill_buf()?;
            let at_end = input.is_empty();
            let result = inflate(&mut self.state, input, out, MZFlush::None);
            self.inner.consume(result.bytes_consumed);
            match result.status {
                Ok(MZStatus::StreamEnd) => {
                    self.done = true;
                    return Ok(result.bytes_written);
                }
                _ if result.bytes_written > 0 => return Ok(result.bytes_written),
                Ok(_) | Err(MZError::Buf) if at_end => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "deflate stream ends early",
                    ))
                }
                Ok(_) | Err(MZError::Buf) if result.bytes_consumed > 0 => continue,
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt deflate stream",
                    ))
                }
            }
        }
    }
}

/// One gzip member from `inner`, decompressed; its CRC-32 and length are checked when the end
/// is read (an error then, not `Ok(0)`). Bytes after the member are not read.
pub(crate) struct GzReader<R> {
    body: Option<Inflate<R>>,
    crc: Crc32,
    len: u32,
}

impl<R: BufRead> GzReader<R> {
    /// Reads the member header; fails when `inner` does not start with one.
    pub(crate) fn new(mut inner: R) -> io::Result<GzReader<R>> {
        let mut header = [0u8; 10];
        inner.read_exact(&mut header)?;
        if header[..3] != [0x1f, 0x8b, 0x08] {
            return Err(invalid("not a gzip stream"));
        }
        let flags = header[3];
        if flags & 0xe0 != 0 {
            return Err(invalid("gzip header with reserved flags"));
        }
        if flags & 0x04 != 0 {
            let mut len = [0u8; 2];
            inner.read_exact(&mut len)?;
            let len = u64::from(u16::from_le_bytes(len));
            if io::copy(&mut inner.by_ref().take(len), &mut io::sink())? != len {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        for flag in [0x08, 0x10] {
            // File name, comment: NUL-terminated.
            if flags & flag != 0 {
                let mut skipped = Vec::new();
                inner.read_until(0, &mut skipped)?;
                if skipped.last() != Some(&0) {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
        }
        if flags & 0x02 != 0 {
            inner.read_exact(&mut [0u8; 2])?;
        }
        Ok(GzReader {
            body: Some(Inflate::new(inner)),
            crc: Crc32::new(),
            len: 0,
        })
    }
}

impl<R: BufRead> Read for GzReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(body) = self.body.as_mut() else {
            return Ok(0);
        };
        let n = body.read(out)?;
        if n > 0 || out.is_empty() {
            self.crc.update(&out[..n]);
            self.len = self.len.wrapping_add(n as u32);
            return Ok(n);
        }
        // The deflate stream ended: the trailer follows.
        if let Some(body) = self.body.take() {
            let mut trailer = [0u8; 8];
            body.into_inner().read_exact(&mut trailer)?;
            let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
            let len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
            if crc != self.crc.sum() || len != self.len {
                return Err(invalid("gzip checksum or length mismatch"));
            }
        }
        Ok(0)
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{BufReader, Cursor};

    use miniz_oxide::deflate::compress_to_vec;

    use super::*;

    /// A gzip member as `gzip -n` writes it (with a file name when `name` is given).
    pub(crate) fn gzip(data: &[u8], name: Option<&str>) -> Vec<u8> {
        let mut out = vec![
            0x1f,
            0x8b,
            0x08,
            if name.is_some() { 0x08 } else { 0 },
            0,
            0,
            0,
            0,
            0,
            3,
        ];
        if let Some(name) = name {
            out.extend_from_slice(name.as_bytes());
            out.push(0);
        }
        out.extend(compress_to_vec(data, 6));
        let mut crc = Crc32::new();
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    fn gunzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzReader::new(BufReader::with_capacity(7, Cursor::new(bytes)))?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn crc32_of_known_strings() {
        for (text, want) in [
            (&b""[..], 0),
            (b"a", 0xe8b7_be43),
            (b"123456789", 0xcbf4_3926),
            (b"The quick brown fox jumps over the lazy dog", 0x414f_a339),
        ] {
            let mut crc = Crc32::new();
            crc.update(text);
            assert_eq!(crc.sum(), want, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn round_trips_through_small_buffers() {
        let data: Vec<u8> = (0..200_000u64).map(|i| (i * i % 251) as u8).collect();
        assert_eq!(
            gunzip(&gzip(&data, Some("P0S3-8-12-00.tar"))).unwrap(),
            data
        );
        assert_eq!(gunzip(&gzip(b"", None)).unwrap(), b"");
        // What follows the member stays unread.
        let mut bytes = gzip(b"firmware", None);
        bytes.extend_from_slice(b"trailing signature");
        let mut cursor = Cursor::new(bytes);
        let mut out = Vec::new();
        GzReader::new(&mut cursor)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"firmware");
        let mut rest = Vec::new();
        cursor.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"trailing signature");
    }

    #[test]
    fn damage_is_an_error() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 7) as u8).collect();
        let good = gzip(&data, None);
        // Cut anywhere.
        for cut in [0, 5, 10, 11, good.len() / 2, good.len() - 8, good.len() - 1] {
            assert!(gunzip(&good[..cut]).is_err(), "cut at {cut}");
        }
        // A wrong CRC, a wrong length.
        for at in [good.len() - 8, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 1;
            let err = gunzip(&bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        }
        // Not gzip, reserved flags.
        assert!(gunzip(b"PK\x03\x04 not gzip at all").is_err());
        let mut reserved = good.clone();
        reserved[3] = 0x20;
        assert!(gunzip(&reserved).is_err());
        // Flipped bytes in the deflate data never panic and never pass unnoticed.
        let mut state = 0x1234_5678_9abc_def1u64;
        for _ in 0..300 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bad = good.clone();
            let at = 10 + (state as usize) % (good.len() - 18);
            bad[at] ^= (state >> 32) as u8 | 1;
            if let Ok(out) = gunzip(&bad) {
                assert_eq!(out, data, "a flip at {at} went unnoticed");
            }
        }
    }

    #[test]
    fn raw_inflate_stops_at_the_stream_end() {
        let mut bytes = compress_to_vec(b"apps41.9-4-2ES26.sbn", 6);
        let deflated = bytes.len();
        bytes.extend_from_slice(b"after");
        let mut cursor = Cursor::new(bytes);
        let mut out = Vec::new();
        let mut inflate = Inflate::new(&mut cursor);
        inflate.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"apps41.9-4-2ES26.sbn");
        assert_eq!(cursor.position() as usize, deflated);
    }
}
