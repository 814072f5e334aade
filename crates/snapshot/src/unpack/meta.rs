//! The metadata of an entry (owner, mode, times, extended attributes) as read from its tar
//! header and PAX records, and how it is applied to what was created.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::Timespec;
use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fsetxattr, futimens, setxattr, utimensat, AtFlags, Gid, Mode,
    Timestamps, Uid, XattrFlags,
};
use rustix::io::{Errno, Result};

const XATTR_PAX_PREFIX: &[u8] = b"SCHILY.xattr.";

/// Attributes of one entry.
pub(crate) struct Meta {
    /// Permission bits including setuid, setgid and sticky.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) times: Timestamps,
}

/// Why a header could not be turned into [`Meta`].
pub(crate) type HeaderError = std::io::Error;

impl Meta {
    /// Reads the header of `entry` and its PAX records; extended attributes are appended to
    /// `xattrs` (cleared first), which the caller reuses across entries.
    pub(crate) fn read<R: Read>(
        entry: &mut tar::Entry<'_, R>,
        xattrs: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) -> std::result::Result<Self, HeaderError> {
        let header = entry.header();
        let old = header.as_old();
        let mode = lenient(&old.mode, header.mode().map(u64::from))? as u32 & 0o7777;
        let uid = id(lenient(&old.uid, header.uid())?, "uid")?;
        let gid = id(lenient(&old.gid, header.gid())?, "gid")?;
        let mtime = Timespec {
            tv_sec: i64::try_from(lenient(&old.mtime, header.mtime())?).unwrap_or(i64::MAX),
            tv_nsec: 0,
        };
        let mut times = Timestamps {
            last_access: mtime,
            last_modification: mtime,
        };
        let mut atime = None;
        xattrs.clear();
        if let Some(pax) = entry.pax_extensions()? {
            for record in pax {
                let record = record?;
                let (key, value) = (record.key_bytes(), record.value_bytes());
                match key {
                    b"mtime" => times.last_modification = pax_time(value)?,
                    b"atime" => atime = Some(pax_time(value)?),
                    _ => {
                        if let Some(name) = key.strip_prefix(XATTR_PAX_PREFIX) {
                            xattrs.push((name.to_vec(), value.to_vec()));
                        }
                    }
                }
            }
        }
        // An entry without an atime gets its mtime, so unpacking the same layer twice gives
        // identical trees.
        times.last_access = atime.unwrap_or(times.last_modification);
        Ok(Self {
            mode,
            uid,
            gid,
            times,
        })
    }

    fn mode(&self) -> Mode {
        Mode::from_raw_mode(self.mode)
    }

    fn owner(&self) -> (Option<Uid>, Option<Gid>) {
        (Some(Uid::from_raw(self.uid)), Some(Gid::from_raw(self.gid)))
    }

    /// Applies owner (if `owner`) and then mode (chown clears setuid/setgid, so mode must
    /// come after), on an open regular file or directory.
    pub(crate) fn apply_fd(&self, fd: BorrowedFd<'_>, owner: bool) -> Result<()> {
        if owner {
            let (u, g) = self.owner();
            fchown(fd, u, g)?;
        }
        fchmod(fd, self.mode())
    }

    /// Applies the times to an open file.
    pub(crate) fn apply_times_fd(&self, fd: BorrowedFd<'_>) -> Result<()> {
        futimens(fd, &self.times)
    }

    /// Applies owner and times to the symlink `name` in `dir`, without following it.
    pub(crate) fn apply_symlink(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        owner: bool,
    ) -> Result<()> {
        if owner {
            let (u, g) = self.owner();
            chownat(dir, name, u, g, AtFlags::SYMLINK_NOFOLLOW)?;
        }
        utimensat(dir, name, &self.times, AtFlags::SYMLINK_NOFOLLOW)
    }

    /// Applies everything to a device node or FIFO through an `O_PATH` descriptor of it.
    /// Such nodes cannot be opened for I/O safely, and a path-based chmod would follow a
    /// symlink swapped in meanwhile, so mode, times and xattrs go through the descriptor's
    /// `/proc/self/fd` link, which names exactly the inode we created.
    pub(crate) fn apply_node(
        &self,
        node: BorrowedFd<'_>,
        owner: bool,
        xattrs: &[(Vec<u8>, Vec<u8>)],
        privileged: bool,
    ) -> Result<()> {
        if owner {
            let (u, g) = self.owner();
            chownat(node, c"", u, g, AtFlags::EMPTY_PATH)?;
        }
        let proc_path = proc_fd_path(node);
        chmodat(
            rustix::fs::CWD,
            proc_path.as_str(),
            self.mode(),
            AtFlags::empty(),
        )?;
        for (name, value) in xattrs {
            if skip_xattr(name) {
                continue;
            }
            let r = setxattr(
                proc_path.as_str(),
                name.as_slice(),
                value,
                XattrFlags::empty(),
            );
            tolerate_xattr(r, name, privileged)?;
        }
        utimensat(
            rustix::fs::CWD,
            proc_path.as_str(),
            &self.times,
            AtFlags::empty(),
        )
    }
}

fn proc_fd_path(fd: BorrowedFd<'_>) -> String {
    use std::os::fd::AsRawFd;
    format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())
}

/// Sets the extended attributes of an open file or directory.
pub(crate) fn apply_xattrs(
    fd: BorrowedFd<'_>,
    xattrs: &[(Vec<u8>, Vec<u8>)],
    privileged: bool,
) -> Result<()> {
    for (name, value) in xattrs {
        if skip_xattr(name) {
            continue;
        }
        let r = fsetxattr(fd, name.as_slice(), value, XattrFlags::empty());
        tolerate_xattr(r, name, privileged)?;
    }
    Ok(())
}

/// Overlayfs keeps its own bookkeeping (opaque dirs, redirects, metacopy) in these
/// namespaces; taken from an archive they could make a layer reach into another one.
fn skip_xattr(name: &[u8]) -> bool {
    let skip = name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.");
    if skip {
        tracing::debug!(xattr = %String::from_utf8_lossy(name), "ignoring overlayfs xattr from archive");
    }
    skip
}

/// Filesystems without xattr support, or an unprivileged unpack asked for `trusted.*` or
/// `security.*`, are not worth failing a whole layer for.
fn tolerate_xattr(r: Result<()>, name: &[u8], privileged: bool) -> Result<()> {
    match r {
        Err(Errno::NOTSUP) => {
            tracing::debug!(xattr = %String::from_utf8_lossy(name), "xattr not supported here");
            Ok(())
        }
        Err(Errno::PERM) if !privileged => {
            tracing::debug!(xattr = %String::from_utf8_lossy(name), "xattr needs privilege");
            Ok(())
        }
        other => other,
    }
}

/// Some archivers leave numeric fields blank (all NUL or spaces): read those as 0 rather
/// than refuse a layer that every tar reader accepts.
pub(crate) fn lenient(field: &[u8], parsed: std::io::Result<u64>) -> std::io::Result<u64> {
    match parsed {
        Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        other => other,
    }
}

fn id(raw: u64, what: &str) -> std::result::Result<u32, HeaderError> {
    // u32::MAX is -1 to chown ("leave unchanged"), never a real id.
    u32::try_from(raw)
        .ok()
        .filter(|&v| v != u32::MAX)
        .ok_or_else(|| std::io::Error::other(format!("{what} {raw} out of range")))
}

/// Parses a PAX time, `<seconds>[.<fraction>]`, possibly negative.
fn pax_time(value: &[u8]) -> std::result::Result<Timespec, HeaderError> {
    let bad = || {
        std::io::Error::other(format!(
            "invalid PAX time {:?}",
            String::from_utf8_lossy(value)
        ))
    };
    let text = std::str::from_utf8(value).map_err(|_| bad())?;
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let tv_sec: i64 = secs.parse().map_err(|_| bad())?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let mut tv_nsec: i64 = 0;
    for i in 0..9 {
        tv_nsec = tv_nsec * 10 + frac.as_bytes().get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    // "-1.5" is one and a half seconds before the epoch: -2 s + 0.5 s.
    if secs.starts_with('-') && tv_nsec > 0 {
        return Ok(Timespec {
            tv_sec: tv_sec - 1,
            tv_nsec: 1_000_000_000 - tv_nsec,
        });
    }
    Ok(Timespec { tv_sec, tv_nsec })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pax_times() {
        let t = pax_time(b"1700000000.123456789").expect("valid");
        assert_eq!((t.tv_sec, t.tv_nsec), (1_700_000_000, 123_456_789));
        let t = pax_time(b"5.5").expect("valid");
        assert_eq!((t.tv_sec, t.tv_nsec), (5, 500_000_000));
        let t = pax_time(b"42").expect("valid");
        assert_eq!((t.tv_sec, t.tv_nsec), (42, 0));
        let t = pax_time(b"-1.5").expect("valid");
        assert_eq!((t.tv_sec, t.tv_nsec), (-2, 500_000_000));
        let t = pax_time(b"1.1234567891234").expect("valid");
        assert_eq!(t.tv_nsec, 123_456_789);
        assert!(pax_time(b"abc").is_err());
        assert!(pax_time(b"1.2x").is_err());
        assert!(pax_time(b"").is_err());
    }

    #[test]
    fn refuses_ids_chown_would_misread() {
        assert_eq!(id(0, "uid").expect("valid"), 0);
        assert!(id(u64::from(u32::MAX), "uid").is_err());
        assert!(id(1 << 40, "gid").is_err());
    }
}
