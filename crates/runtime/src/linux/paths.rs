//! Opening and creating paths inside a container's root without ever leaving it: every
//! lookup is done by the kernel with `RESOLVE_IN_ROOT`, so `..` and symlinks (absolute or
//! relative) in the image resolve within the root, never to the host.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// What to create when the path is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Nothing,
    Dir,
    File,
}

fn resolve_flags() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

/// How many symlinks one lookup may follow before it is a loop, as the kernel counts.
const MAX_SYMLINKS: usize = 40;

/// Opens `path` (absolute or relative, it is taken as inside the root) under `root` as an
/// `O_PATH` descriptor, creating it (and missing parents, as directories) when asked.
///
/// A missing path is walked one component at a time, following symlinks by hand with their
/// targets taken inside the root, so a dangling link such as `/evil -> /etc` creates the
/// directory the link names inside the root, never a host path.
pub fn open_in_root(root: impl AsFd, path: &Path, create: Create) -> Result<OwnedFd, Errno> {
    let root = root.as_fd();
    let rel = relative(path);
    let flags = OFlags::PATH | OFlags::CLOEXEC;
    match rustix::fs::openat2(root, &rel, flags, Mode::empty(), resolve_flags()) {
        Ok(fd) => return Ok(fd),
        Err(Errno::NOENT) if create != Create::Nothing => {}
        Err(e) => return Err(e),
    }
    if create == Create::Dir {
        if let Some(made) = make_last_dir(root, &rel)? {
            return Ok(made);
        }
    }
    let resolved = create_in_root(root, &rel, create)?;
    rustix::fs::openat2(root, &resolved, flags, Mode::empty(), resolve_flags())
}

/// The common case of a missing mount point, in three system calls: the parent exists, and
/// the last component is not there at all. Making it there cannot be fooled by a link, since
/// the directory is new (a dangling link in its place makes `mkdirat` fail with `EEXIST`). In
/// any other case (the parent missing, something in the way) nothing is done and `None`
/// hands over to the walk.
fn make_last_dir(root: BorrowedFd<'_>, rel: &Path) -> Result<Option<OwnedFd>, Errno> {
    let (Some(parent), Some(Component::Normal(last))) =
        (rel.parent(), rel.components().next_back())
    else {
        return Ok(None);
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let parent = match rustix::fs::openat2(
        root,
        parent,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        resolve_flags(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT | Errno::NOTDIR) => return Ok(None),
        Err(e) => return Err(e),
    };
    match rustix::fs::mkdirat(&parent, last, Mode::from_raw_mode(0o755)) {
        Ok(()) => {}
        Err(Errno::EXIST) => return Ok(None),
        Err(e) => return Err(e),
    }
    rustix::fs::openat(
        &parent,
        last,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map(Some)
}

/// Walks `rel` from `root`, creating what is missing; returns the path it reached, made of
/// real directories only (every symlink on the way replaced by what it names).
fn create_in_root(root: BorrowedFd<'_>, rel: &Path, create: Create) -> Result<PathBuf, Errno> {
    let mut pending: VecDeque<OsString> = components(rel).collect();
    let mut reached: Vec<OsString> = Vec::new();
    let mut links = 0;
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            reached.pop();
            continue;
        }
        let parent: PathBuf = std::iter::once(OsString::from("."))
            .chain(reached.iter().cloned())
            .collect();
        let parent = rustix::fs::openat2(
            root,
            &parent,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            resolve_flags(),
        )?;
        let is_last = pending.is_empty();
        let found = match rustix::fs::openat(&parent, name.as_os_str(), flags, Mode::empty()) {
            Ok(fd) => Some(fd),
            Err(Errno::NOENT) => None,
            Err(e) => return Err(e),
        };
        let Some(fd) = found else {
            if is_last && create == Create::File {
                let made = rustix::fs::openat(
                    &parent,
                    name.as_os_str(),
                    OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::WRONLY
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o644),
                );
                match made {
                    Ok(_) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e),
                }
            } else {
                match rustix::fs::mkdirat(&parent, name.as_os_str(), Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e),
                }
            }
            reached.push(name);
            continue;
        };
        let stat = rustix::fs::fstat(&fd)?;
        if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::Symlink {
            reached.push(name);
            continue;
        }
        links += 1;
        if links > MAX_SYMLINKS {
            return Err(Errno::LOOP);
        }
        let target = rustix::fs::readlinkat(&parent, name.as_os_str(), Vec::new())?;
        let target = PathBuf::from(OsString::from_vec(target.into_bytes()));
        if target.is_absolute() {
            reached.clear();
        }
        for c in components(&target).collect::<Vec<_>>().into_iter().rev() {
            pending.push_front(c);
        }
    }
    Ok(std::iter::once(OsString::from("."))
        .chain(reached)
        .collect())
}

/// The normal and `..` components of `path`.
fn components(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        _ => None,
    })
}

/// `path` with its root and `.` components removed (`..` is kept: the kernel confines it).
pub fn relative(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The `/proc/self/fd/N` path of a descriptor, for system calls that want a path but must
/// act on exactly what was resolved.
pub fn fd_path(fd: impl AsFd) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", root.path().join("evil")).unwrap();
        let dir =
            rustix::fs::open(root.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        // "/evil/passwd" would be the host's /etc/passwd outside a confined lookup.
        let fd = open_in_root(&dir, Path::new("/evil/passwd"), Create::File).unwrap();
        let real = std::fs::read_link(fd_path(&fd)).unwrap();
        assert!(real.starts_with(root.path()), "{}", real.display());
        assert!(root.path().join("etc/passwd").exists());
        let fd = open_in_root(&dir, Path::new("../../a/b/c"), Create::Dir).unwrap();
        let real = std::fs::read_link(fd_path(&fd)).unwrap();
        assert_eq!(real, root.path().join("a/b/c"));
        // A relative link climbing out is confined too.
        std::os::unix::fs::symlink("../../../../tmp/x", root.path().join("a/up")).unwrap();
        let fd = open_in_root(&dir, Path::new("a/up/f"), Create::File).unwrap();
        let real = std::fs::read_link(fd_path(&fd)).unwrap();
        assert_eq!(real, root.path().join("tmp/x/f"));
    }

    #[test]
    fn a_missing_mount_point_is_made_where_it_belongs() {
        let root = tempfile::tempdir().unwrap();
        let dir =
            rustix::fs::open(root.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        std::fs::create_dir(root.path().join("srv")).unwrap();
        // The parent is there: made in one step.
        let fd = open_in_root(&dir, Path::new("/srv/data"), Create::Dir).unwrap();
        assert_eq!(
            std::fs::read_link(fd_path(&fd)).unwrap(),
            root.path().join("srv/data")
        );
        assert!(root.path().join("srv/data").is_dir());
        // A dangling link in its place is followed inside the root, never made over.
        std::os::unix::fs::symlink("/etc/berth-test-target", root.path().join("link")).unwrap();
        let fd = open_in_root(&dir, Path::new("/link"), Create::Dir).unwrap();
        assert_eq!(
            std::fs::read_link(fd_path(&fd)).unwrap(),
            root.path().join("etc/berth-test-target")
        );
        assert!(!Path::new("/etc/berth-test-target").exists());
        // A link as the parent is resolved inside the root too.
        std::os::unix::fs::symlink("/srv", root.path().join("s")).unwrap();
        let fd = open_in_root(&dir, Path::new("/s/more"), Create::Dir).unwrap();
        assert_eq!(
            std::fs::read_link(fd_path(&fd)).unwrap(),
            root.path().join("srv/more")
        );
    }

    #[test]
    fn symlink_loops_are_refused() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/b", root.path().join("a")).unwrap();
        std::os::unix::fs::symlink("/a", root.path().join("b")).unwrap();
        let dir =
            rustix::fs::open(root.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        assert_eq!(
            open_in_root(&dir, Path::new("/a/f"), Create::File).unwrap_err(),
            Errno::LOOP
        );
    }

    #[test]
    fn missing_paths_are_errors_without_create() {
        let root = tempfile::tempdir().unwrap();
        let dir =
            rustix::fs::open(root.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        assert_eq!(
            open_in_root(&dir, Path::new("/nope"), Create::Nothing).unwrap_err(),
            Errno::NOENT
        );
    }
}
