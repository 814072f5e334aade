//! Test harness: a tar writer that emits raw headers (so tests can craft the hostile
//! entries a well-behaved builder refuses), and sandboxes that unmount everything under
//! them before deleting, even when a test fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use berth_snapshot::{unpack_into, UnpackError, UnpackOptions, UnpackStats};

pub const REGULAR: u8 = b'0';
pub const HARDLINK: u8 = b'1';
pub const SYMLINK: u8 = b'2';
pub const CHAR: u8 = b'3';
pub const BLOCK: u8 = b'4';
pub const DIR: u8 = b'5';
pub const FIFO: u8 = b'6';

/// One entry, every header field under the test's control.
#[derive(Clone)]
pub struct Entry {
    pub path: Vec<u8>,
    pub kind: u8,
    pub link: Vec<u8>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
    pub data: Vec<u8>,
    pub dev: (u32, u32),
    pub pax: Vec<(String, Vec<u8>)>,
}

impl Entry {
    pub fn new(path: &str, kind: u8) -> Self {
        Self {
            path: path.as_bytes().to_vec(),
            kind,
            link: Vec::new(),
            mode: if kind == DIR { 0o755 } else { 0o644 },
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            data: Vec::new(),
            dev: (0, 0),
            pax: Vec::new(),
        }
    }
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    pub fn owner(mut self, uid: u32, gid: u32) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }
    pub fn mtime(mut self, mtime: u64) -> Self {
        self.mtime = mtime;
        self
    }
    pub fn data(mut self, data: &[u8]) -> Self {
        self.data = data.to_vec();
        self
    }
    pub fn link(mut self, link: &str) -> Self {
        self.link = link.as_bytes().to_vec();
        self
    }
    pub fn dev(mut self, major: u32, minor: u32) -> Self {
        self.dev = (major, minor);
        self
    }
    pub fn pax(mut self, key: &str, value: &[u8]) -> Self {
        self.pax.push((key.to_owned(), value.to_vec()));
        self
    }
}

/// Writes tar archives byte by byte (ustar headers, PAX records when asked).
#[derive(Default)]
pub struct Tar {
    buf: Vec<u8>,
}

fn octal(field: &mut [u8], value: u64) {
    let text = format!("{:0width$o}\0", value, width = field.len() - 1);
    assert_eq!(text.len(), field.len(), "value {value} too large for field");
    field.copy_from_slice(text.as_bytes());
}

/// A 512-byte ustar header with a correct checksum.
pub fn header(e: &Entry, size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    assert!(e.path.len() <= 100, "long paths go through PAX");
    h[..e.path.len()].copy_from_slice(&e.path);
    octal(&mut h[100..108], u64::from(e.mode));
    octal(&mut h[108..116], u64::from(e.uid));
    octal(&mut h[116..124], u64::from(e.gid));
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], e.mtime);
    h[156] = e.kind;
    assert!(e.link.len() <= 100);
    h[157..157 + e.link.len()].copy_from_slice(&e.link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    octal(&mut h[329..337], u64::from(e.dev.0));
    octal(&mut h[337..345], u64::from(e.dev.1));
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    // The length prefix counts itself: grow it until it is consistent.
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut rec = format!("{len} {key}=").into_bytes();
    rec.extend_from_slice(value);
    rec.push(b'\n');
    rec
}

impl Tar {
    pub fn new() -> Self {
        Self::default()
    }

    fn block_pad(&mut self) {
        let rem = self.buf.len() % 512;
        if rem != 0 {
            self.buf.resize(self.buf.len() + 512 - rem, 0);
        }
    }

    pub fn add(&mut self, e: Entry) -> &mut Self {
        if !e.pax.is_empty() {
            let mut data = Vec::new();
            for (k, v) in &e.pax {
                data.extend(pax_record(k, v));
            }
            let mut x = Entry::new("PaxHeaders/entry", b'x');
            x.mode = 0o644;
            self.buf.extend_from_slice(&header(&x, data.len() as u64));
            self.buf.extend_from_slice(&data);
            self.block_pad();
        }
        let size = if matches!(e.kind, REGULAR | b'7') {
            e.data.len() as u64
        } else {
            0
        };
        self.buf.extend_from_slice(&header(&e, size));
        if size > 0 {
            self.buf.extend_from_slice(&e.data);
            self.block_pad();
        }
        self
    }

    pub fn file(&mut self, path: &str, data: &[u8]) -> &mut Self {
        self.add(Entry::new(path, REGULAR).data(data))
    }
    pub fn dir(&mut self, path: &str) -> &mut Self {
        self.add(Entry::new(path, DIR))
    }
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.add(Entry::new(path, SYMLINK).mode(0o777).link(target))
    }
    pub fn hardlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.add(Entry::new(path, HARDLINK).link(target))
    }

    /// The archive, with the two zero blocks that end it.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = self.buf.clone();
        out.resize(out.len() + 1024, 0);
        out
    }
}

/// A temporary directory whose mounts are detached before it is deleted, so a failing test
/// can neither leak a mount nor delete through one.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("creating a temp dir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    /// A fresh subdirectory.
    pub fn mkdir(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).expect("creating a test dir");
        p
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Err(e) = berth_snapshot::overlay::unmount_all_under(self.dir.path()) {
            eprintln!("sandbox cleanup: {e}");
        }
    }
}

pub fn unpack(tar: &[u8], root: &Path) -> Result<UnpackStats, UnpackError> {
    unpack_into(tar, root, &UnpackOptions::default())
}

pub fn unpack_with(
    tar: &[u8],
    root: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, UnpackError> {
    unpack_into(tar, root, opts)
}

pub fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn lstat(path: impl AsRef<Path>) -> std::fs::Metadata {
    let path = path.as_ref();
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("lstat {}: {e}", path.display()))
}

pub fn exists(path: impl AsRef<Path>) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}
