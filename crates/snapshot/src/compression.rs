//! Recognises how a layer stream is compressed from its first bytes and undoes it, so
//! callers never need to trust a media type: gzip (`1f 8b`), zstd (`28 b5 2f fd`), or
//! anything else passed through as a plain tar stream.

use std::io::{self, BufReader, Chain, Cursor, Read, Take};

/// Size of the buffer in front of a decompressor: large reads keep the per-call overhead
/// of the decoders negligible.
const INPUT_BUFFER: usize = 1 << 20;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// How a stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain (uncompressed) stream.
    None,
    /// gzip (RFC 1952), possibly several members.
    Gzip,
    /// zstd (RFC 8478), possibly several frames.
    Zstd,
}

impl Compression {
    /// Recognises the compression from the first bytes of a stream (4 are enough).
    pub fn detect(magic: &[u8]) -> Self {
        if magic.starts_with(&ZSTD_MAGIC) {
            Self::Zstd
        } else if magic.starts_with(&GZIP_MAGIC) {
            Self::Gzip
        } else {
            Self::None
        }
    }
}

/// The bytes read while sniffing, put back in front of the rest of the stream.
type Sniffed<R> = Chain<Take<Cursor<[u8; 4]>>, R>;

/// A reader yielding the uncompressed bytes of a possibly compressed stream.
pub enum Decompressor<R: Read> {
    /// Passed through unchanged.
    None(Sniffed<R>),
    /// Decoded as gzip.
    Gzip(flate2::bufread::MultiGzDecoder<BufReader<Sniffed<R>>>),
    /// Decoded as zstd.
    Zstd(zstd::stream::read::Decoder<'static, BufReader<Sniffed<R>>>),
}

impl<R: Read> Decompressor<R> {
    /// Reads the first bytes of `reader` to recognise its compression.
    pub fn new(mut reader: R) -> io::Result<Self> {
        let mut magic = [0u8; 4];
        let mut filled = 0;
        // A short read is not the end of the stream: keep going until 4 bytes or EOF.
        while filled < magic.len() {
            match reader.read(&mut magic[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let compression = Compression::detect(&magic[..filled]);
        let sniffed = Cursor::new(magic).take(filled as u64).chain(reader);
        Ok(match compression {
            Compression::None => Self::None(sniffed),
            Compression::Gzip => Self::Gzip(flate2::bufread::MultiGzDecoder::new(
                BufReader::with_capacity(INPUT_BUFFER, sniffed),
            )),
            Compression::Zstd => Self::Zstd(zstd::stream::read::Decoder::with_buffer(
                BufReader::with_capacity(INPUT_BUFFER, sniffed),
            )?),
        })
    }

    /// The compression that was recognised.
    pub fn compression(&self) -> Compression {
        match self {
            Self::None(_) => Compression::None,
            Self::Gzip(_) => Compression::Gzip,
            Self::Zstd(_) => Compression::Zstd,
        }
    }
}

impl<R: Read> Read for Decompressor<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::None(r) => r.read(buf),
            Self::Gzip(r) => r.read(buf),
            Self::Zstd(r) => r.read(buf),
        }
    }
}

/// Sniffs the compression of `reader` and returns a reader of its uncompressed bytes.
pub fn decompress<'a, R: Read + Send + 'a>(reader: R) -> io::Result<Box<dyn Read + Send + 'a>> {
    Ok(Box::new(Decompressor::new(reader)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(compressed: &[u8], want: &[u8], kind: Compression) {
        let mut d = Decompressor::new(compressed).expect("sniff");
        assert_eq!(d.compression(), kind);
        let mut out = Vec::new();
        d.read_to_end(&mut out).expect("decompress");
        assert_eq!(out, want);
    }

    #[test]
    fn detects_by_magic() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(Compression::detect(&ZSTD_MAGIC), Compression::Zstd);
        assert_eq!(Compression::detect(b"usr/"), Compression::None);
        assert_eq!(Compression::detect(&[]), Compression::None);
        assert_eq!(Compression::detect(&[0x1f]), Compression::None);
    }

    #[test]
    fn decodes_each_format() {
        let data = b"hello layer".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).expect("gzip");
        roundtrip(&gz.finish().expect("gzip"), &data, Compression::Gzip);
        let zs = zstd::encode_all(&data[..], 3).expect("zstd");
        roundtrip(&zs, &data, Compression::Zstd);
        roundtrip(&data, &data, Compression::None);
        roundtrip(b"ab", b"ab", Compression::None);
        roundtrip(b"", b"", Compression::None);
    }

    #[test]
    fn short_reads_do_not_defeat_sniffing() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = *first;
                self.0 = rest;
                Ok(1)
            }
        }
        let zs = zstd::encode_all(&b"abc"[..], 1).expect("zstd");
        let mut d = Decompressor::new(OneByte(&zs)).expect("sniff");
        assert_eq!(d.compression(), Compression::Zstd);
        let mut out = Vec::new();
        d.read_to_end(&mut out).expect("decompress");
        assert_eq!(out, b"abc");
    }

    #[test]
    fn corrupt_gzip_is_an_error_not_a_panic() {
        let mut d = Decompressor::new(&[0x1f, 0x8b, 0xff, 0xff, 0, 1, 2][..]).expect("sniff");
        let mut out = Vec::new();
        assert!(d.read_to_end(&mut out).is_err());
    }
}
