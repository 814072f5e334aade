//! Writing a tree as a tar stream without ever leaving it: each level is opened relative to
//! its parent with `O_NOFOLLOW`, so a symlink (or a directory a running container swaps for
//! one meanwhile) is archived as the link it is, never followed. `cp` out of a container,
//! `export`, and a container's upper directory turned into a layer (`commit`, where
//! overlayfs whiteouts become OCI ones) all go through [`pack`].

mod header;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{fgetxattr, fstat, openat, readlinkat, statat, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use tar::EntryType;

use self::header::{write_header, Attrs};
use crate::error::PackError;
use crate::fsutil::list_names;
use crate::unpack::OPAQUE_XATTR;

/// The only extended attribute archived, as docker does: file capabilities.
const CAPABILITY_XATTR: &str = "security.capability";
/// Set by overlayfs on a directory renamed with `redirect_dir`; its content then lives
/// elsewhere in the lower layers, which a tar diff cannot express.
const REDIRECT_XATTR: &str = "trusted.overlay.redirect";
const COPY_BUFFER: usize = 256 << 10;

/// What to do with overlayfs whiteouts found in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PackWhiteouts {
    /// Archive them as the character devices they are (a merged view has none).
    #[default]
    Keep,
    /// Write them as OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`): for an upper directory
    /// becoming a layer.
    Oci,
}

/// How [`pack`] archives a tree.
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    pub whiteouts: PackWhiteouts,
    /// No entry newer than this (seconds since the epoch): `SOURCE_DATE_EPOCH`, for layers
    /// that are the same bytes whenever they are built.
    pub clamp_mtime: Option<u64>,
}

/// What a pack wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackStats {
    /// Archive entries written.
    pub entries: u64,
    /// Sum of the sizes of the regular files.
    pub bytes: u64,
}

/// Archives `name` in directory `at` (a single name, not followed if a symlink; `.` for
/// `at` itself), and everything under it, as a complete tar stream.
///
/// `archive_name` is the top entry's name in the archive; its descendants are named below
/// it (`etc`, `etc/passwd`; `.`, `./passwd`; `/`, `/bin`). An empty `archive_name` leaves
/// the top entry out and names its descendants from the top (`bin`, `bin/sh`).
pub fn pack(
    at: BorrowedFd<'_>,
    name: &[u8],
    archive_name: &[u8],
    opts: &PackOptions,
    out: &mut dyn Write,
) -> Result<PackStats, PackError> {
    let mut p = Packer {
        out,
        opts,
        links: HashMap::new(),
        buf: vec![0; COPY_BUFFER],
        stats: PackStats::default(),
    };
    p.item(at, name, archive_name)?;
    header::finish(p.out).map_err(PackError::Write)?;
    Ok(p.stats)
}

struct Packer<'a> {
    out: &'a mut dyn Write,
    opts: &'a PackOptions,
    /// Archive name of the first entry seen for each multiply-linked inode.
    links: HashMap<(u64, u64), Vec<u8>>,
    buf: Vec<u8>,
    stats: PackStats,
}

fn attrs(st: &rustix::fs::Stat) -> Attrs {
    Attrs {
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        mtime: u64::try_from(st.st_mtime).unwrap_or(0),
        size: 0,
        dev: (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev)),
    }
}

/// `parent/name` in the archive; a parent ending in `/` (the root, `/`) gets no second one.
fn child_name(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = parent.to_vec();
    if !out.is_empty() && !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

fn xattr(fd: BorrowedFd<'_>, name: &str) -> rustix::io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    loop {
        match fgetxattr(fd, name, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(Errno::NODATA | Errno::NOTSUP) => return Ok(None),
            Err(Errno::RANGE) if buf.len() < 1 << 16 => buf.resize(buf.len() * 4, 0),
            Err(e) => return Err(e),
        }
    }
}

impl Packer<'_> {
    fn io<'p>(arch: &'p [u8], op: &'static str) -> impl FnOnce(Errno) -> PackError + 'p {
        move |e| PackError::Io {
            path: String::from_utf8_lossy(arch).into_owned(),
            op,
            source: e.into(),
        }
    }

    fn header(
        &mut self,
        kind: EntryType,
        name: &[u8],
        link: Option<&[u8]>,
        attrs: &Attrs,
        pax: &[(&str, &[u8])],
    ) -> Result<(), PackError> {
        self.stats.entries += 1;
        let clamped;
        let attrs = match self.opts.clamp_mtime {
            Some(max) if attrs.mtime > max => {
                clamped = Attrs {
                    mtime: max,
                    ..*attrs
                };
                &clamped
            }
            _ => attrs,
        };
        write_header(self.out, kind, name, link, attrs, pax).map_err(PackError::Write)
    }

    fn item(&mut self, at: BorrowedFd<'_>, name: &[u8], arch: &[u8]) -> Result<(), PackError> {
        let st = match statat(at, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            // Removed by the container meanwhile: there is nothing left to archive.
            Err(Errno::NOENT) if !arch.is_empty() => return Ok(()),
            Err(e) => return Err(Self::io(arch, "reading")(e)),
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => self.dir(at, name, arch),
            FileType::RegularFile => self.file(at, name, arch, &st),
            FileType::Symlink => {
                let target =
                    readlinkat(at, name, Vec::new()).map_err(Self::io(arch, "reading symlink"))?;
                self.header(
                    EntryType::Symlink,
                    arch,
                    Some(target.as_bytes()),
                    &attrs(&st),
                    &[],
                )
            }
            FileType::CharacterDevice
                if self.opts.whiteouts == PackWhiteouts::Oci && st.st_rdev == 0 =>
            {
                let (parent, base) = match arch.iter().rposition(|&b| b == b'/') {
                    Some(i) => (&arch[..i], &arch[i + 1..]),
                    None => (&b""[..], arch),
                };
                let mut wh = b".wh.".to_vec();
                wh.extend_from_slice(base);
                let wh = child_name(parent, &wh);
                let a = Attrs {
                    mode: 0o600,
                    ..attrs(&st)
                };
                self.header(EntryType::Regular, &wh, None, &a, &[])
            }
            FileType::CharacterDevice => self.header(EntryType::Char, arch, None, &attrs(&st), &[]),
            FileType::BlockDevice => self.header(EntryType::Block, arch, None, &attrs(&st), &[]),
            FileType::Fifo => self.header(EntryType::Fifo, arch, None, &attrs(&st), &[]),
            // Sockets (and anything stranger) cannot be archived; docker leaves them out too.
            _ => {
                tracing::debug!(path = %String::from_utf8_lossy(arch), "not archiving a socket");
                Ok(())
            }
        }
    }

    fn dir(&mut self, at: BorrowedFd<'_>, name: &[u8], arch: &[u8]) -> Result<(), PackError> {
        let fd = open(at, name, OFlags::DIRECTORY).map_err(Self::io(arch, "opening directory"))?;
        let st = fstat(&fd).map_err(Self::io(arch, "reading directory"))?;
        let oci = self.opts.whiteouts == PackWhiteouts::Oci;
        let opaque = oci
            && xattr(fd.as_fd(), OPAQUE_XATTR)
                .map_err(Self::io(arch, "reading xattrs"))?
                .is_some_and(|v| v == b"y");
        if oci
            && xattr(fd.as_fd(), REDIRECT_XATTR)
                .map_err(Self::io(arch, "reading xattrs"))?
                .is_some()
        {
            return Err(PackError::Redirect {
                path: String::from_utf8_lossy(arch).into_owned(),
            });
        }
        if !arch.is_empty() {
            let mut dir_name = arch.to_vec();
            if !dir_name.ends_with(b"/") {
                dir_name.push(b'/');
            }
            self.header(EntryType::Directory, &dir_name, None, &attrs(&st), &[])?;
            if opaque {
                let marker = child_name(arch, b".wh..wh..opq");
                let a = Attrs {
                    mode: st.st_mode & 0o777,
                    ..attrs(&st)
                };
                self.header(EntryType::Regular, &marker, None, &a, &[])?;
            }
        }
        let mut names: Vec<Vec<u8>> = list_names(fd.as_fd())
            .map_err(Self::io(arch, "listing directory"))?
            .into_iter()
            .map(|n| n.into_bytes())
            .collect();
        // Sorted, so the same tree always gives the same archive (and layer digest).
        names.sort();
        for child in names {
            let child_arch = child_name(arch, &child);
            self.item(fd.as_fd(), &child, &child_arch)?;
        }
        Ok(())
    }

    fn file(
        &mut self,
        at: BorrowedFd<'_>,
        name: &[u8],
        arch: &[u8],
        st: &rustix::fs::Stat,
    ) -> Result<(), PackError> {
        let key = (st.st_dev, st.st_ino);
        if st.st_nlink > 1 {
            if let Some(first) = self.links.get(&key).cloned() {
                let a = Attrs {
                    size: 0,
                    ..attrs(st)
                };
                return self.header(EntryType::Link, arch, Some(&first), &a, &[]);
            }
        }
        let fd = match open(at, name, OFlags::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(Self::io(arch, "opening file")(e)),
        };
        // The descriptor's own metadata: the name may have been replaced since the lookup.
        let st = fstat(&fd).map_err(Self::io(arch, "reading file"))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Ok(());
        }
        let caps = xattr(fd.as_fd(), CAPABILITY_XATTR).map_err(Self::io(arch, "reading xattrs"))?;
        let pax: Vec<(&str, &[u8])> = caps
            .as_deref()
            .map(|c| vec![("SCHILY.xattr.security.capability", c)])
            .unwrap_or_default();
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let a = Attrs { size, ..attrs(&st) };
        self.header(EntryType::Regular, arch, None, &a, &pax)?;
        self.copy(File::from(fd), size, arch)?;
        if st.st_nlink > 1 {
            self.links.insert(key, arch.to_vec());
        }
        self.stats.bytes += size;
        Ok(())
    }

    /// Copies exactly `size` bytes: a file that shrinks while it is read (a running
    /// container) is padded with zeros, one that grows is cut, so the archive stays valid.
    fn copy(&mut self, mut file: File, size: u64, arch: &[u8]) -> Result<(), PackError> {
        let mut left = size;
        while left > 0 {
            let want = self
                .buf
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match file.read(&mut self.buf[..want]) {
                Ok(0) => {
                    tracing::debug!(path = %String::from_utf8_lossy(arch), "file shrank while archived");
                    self.buf[..want].fill(0);
                    want
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(PackError::Io {
                        path: String::from_utf8_lossy(arch).into_owned(),
                        op: "reading file",
                        source: e,
                    })
                }
            };
            self.out
                .write_all(&self.buf[..n])
                .map_err(PackError::Write)?;
            left -= n as u64;
        }
        header::pad(self.out, size).map_err(PackError::Write)
    }
}

/// Opens `name` in `at` for reading without following a symlink (`.` is `at` itself).
fn open(at: BorrowedFd<'_>, name: &[u8], extra: OFlags) -> rustix::io::Result<OwnedFd> {
    openat(
        at,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | extra,
        Mode::empty(),
    )
}
