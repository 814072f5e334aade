//! Small filesystem primitives that never follow a path out of the directory they start
//! from: kernel-confined resolution (`openat2` with `RESOLVE_IN_ROOT`) and recursive removal
//! that opens every level with `O_NOFOLLOW`.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{openat, openat2, unlinkat, AtFlags, Dir, Mode, OFlags, ResolveFlags};
use rustix::io::{Errno, Result};

/// `RESOLVE_IN_ROOT` treats the starting directory as `/` for `..`, absolute symlinks and
/// absolute paths alike; magic links (`/proc/self/fd/N`) could still jump out, so refuse them.
const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// openat2 answers EAGAIN when a concurrent rename could have raced its `..` checks; the
/// lookup is cheap, so retry a few times before giving up.
const EAGAIN_RETRIES: usize = 16;

/// Opens `path` (relative; may be empty for `root` itself) with every component, symlinks
/// included, resolved as if `root` were the filesystem root.
pub(crate) fn open_in_root(root: BorrowedFd<'_>, path: &[u8], flags: OFlags) -> Result<OwnedFd> {
    let path: &[u8] = if path.is_empty() { b"." } else { path };
    let mut tries = 0;
    loop {
        match openat2(root, path, flags | OFlags::CLOEXEC, Mode::empty(), IN_ROOT) {
            Err(Errno::AGAIN) if tries < EAGAIN_RETRIES => tries += 1,
            other => return other,
        }
    }
}

/// Opens the directory `fd` refers to for reading, since an `O_PATH` descriptor can name a
/// directory but not list it or change its metadata.
pub(crate) fn reopen_dir(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    openat(
        fd,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// The names in directory `dir`, without `.` and `..`.
pub(crate) fn list_names(dir: BorrowedFd<'_>) -> Result<Vec<CString>> {
    let mut names = Vec::new();
    for entry in Dir::new(reopen_dir(dir)?)? {
        let entry = entry?;
        let name = entry.file_name();
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// Removes `name` in `dir` and, if it is a directory, everything under it. Each level is
/// opened with `O_NOFOLLOW` relative to its parent, so a symlink is removed, never followed.
/// A missing `name` is not an error.
pub(crate) fn remove_all_at(dir: BorrowedFd<'_>, name: &[u8]) -> Result<()> {
    match unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        // Linux says EISDIR for a directory; EPERM is what POSIX allows instead.
        Err(Errno::ISDIR | Errno::PERM) => {}
        Err(e) => return Err(e),
    }
    let sub = openat(
        dir,
        name,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    empty_dir(sub.as_fd())?;
    match unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes everything inside directory `dir`, keeping `dir` itself.
pub(crate) fn empty_dir(dir: BorrowedFd<'_>) -> Result<()> {
    for name in list_names(dir)? {
        remove_all_at(dir, name.to_bytes())?;
    }
    Ok(())
}

/// The `/proc/self/fd/N` path of a descriptor, to name it in errors.
pub(crate) fn fd_path(fd: BorrowedFd<'_>) -> std::path::PathBuf {
    use std::os::fd::AsRawFd;
    std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// A random name for staging directories: 128 bits, hex.
pub(crate) fn random_name() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(bytes))
}
