//! `/containers/{id}/archive` and `export`: stat a path in a container, archive it, extract
//! an archive into it, or archive the whole file system — running or stopped.
//!
//! Paths are docker's: absolute inside the container, cleaned, with a trailing `/` (the
//! directory itself) or `/.` (its contents) kept. Every lookup is confined to the root file
//! system by the kernel (`RESOLVE_IN_ROOT`), so a symlink in the container pointing at `/`
//! or `/etc` resolves inside it, never on the host. Archives are read and written with the
//! snapshot crate's confined packer and unpacker.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use berth_api::types::{file_mode, ContainerPathStat};
use berth_runtime::linux::paths::{fd_path, open_in_root, Create};
use berth_snapshot::{pack, unpack_at, PackOptions, UnpackOptions, WhiteoutMode};
use rustix::fs::{fstat, statat, AtFlags, FileType};
use rustix::io::Errno;

use super::rootfs::RootfsGuard;
use super::ContainerService;
use crate::error::{snapshot_kind, EngineError, EngineResult, ErrorKind};

/// What a trailing part of a path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    None,
    /// `dir/`: the directory itself, a symlink to one followed.
    Slash,
    /// `dir/.`: the directory's contents.
    Dot,
}

/// A path in a container as the archive endpoints take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPath {
    /// Absolute and lexically cleaned (Go's `filepath.Join("/", p)`): `/etc/passwd`.
    clean: String,
    suffix: Suffix,
}

impl ContainerPath {
    pub fn parse(raw: &str) -> EngineResult<ContainerPath> {
        if raw.is_empty() {
            return Err(EngineError::invalid("must specify path parameter"));
        }
        if raw.contains('\0') {
            return Err(EngineError::invalid("invalid path: it contains a NUL byte"));
        }
        let mut parts: Vec<&str> = Vec::new();
        for comp in raw.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        let clean = format!("/{}", parts.join("/"));
        let suffix = if raw.ends_with("/.") || raw == "." {
            Suffix::Dot
        } else if clean == "/" {
            Suffix::None
        } else if raw.ends_with('/') {
            Suffix::Slash
        } else {
            Suffix::None
        };
        Ok(ContainerPath { clean, suffix })
    }

    /// The name docker gives the path's top entry in an archive and its stat: the last
    /// element, `.` for contents, `/` for the root.
    fn base(&self) -> &str {
        match self.suffix {
            Suffix::Dot => ".",
            _ if self.clean == "/" => "/",
            _ => self.clean.rsplit('/').next().unwrap_or_default(),
        }
    }

    fn parent(&self) -> &str {
        match self.clean.rfind('/') {
            Some(0) | None => "/",
            Some(i) => &self.clean[..i],
        }
    }
}

/// A resolved path: a directory and a name in it (not followed), or `.` for the directory.
struct Resolved {
    at: OwnedFd,
    name: Vec<u8>,
}

fn is_dir(fd: &OwnedFd) -> Result<(), Errno> {
    let st = fstat(fd)?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        Ok(())
    } else {
        Err(Errno::NOTDIR)
    }
}

/// Resolves `p` inside `root` as docker's `ResolvePath`: every element but the last is
/// followed; the last too when the path ends in `/` or `/.`, or is the root.
fn resolve(root: &OwnedFd, p: &ContainerPath) -> Result<Resolved, Errno> {
    if p.suffix != Suffix::None || p.clean == "/" {
        let at = open_in_root(root, Path::new(&p.clean), Create::Nothing)?;
        is_dir(&at)?;
        return Ok(Resolved {
            at,
            name: b".".to_vec(),
        });
    }
    let at = open_in_root(root, Path::new(p.parent()), Create::Nothing)?;
    is_dir(&at)?;
    Ok(Resolved {
        at,
        name: p.base().as_bytes().to_vec(),
    })
}

fn path_error(e: Errno, path: &str, container: &str) -> EngineError {
    match e {
        Errno::NOENT => EngineError::not_found(format!(
            "Could not find the file {path} in container {container}"
        )),
        Errno::NOTDIR => EngineError::invalid("not a directory"),
        Errno::LOOP => EngineError::invalid(format!("{path}: too many levels of symbolic links")),
        other => EngineError::internal(format!("{path}: {other}")),
    }
}

/// Where a symlink at `p` leads inside the container; a dangling one is read as written.
fn link_target(guard: &RootfsGuard<'_>, r: &Resolved, p: &ContainerPath) -> String {
    if let Ok(fd) = open_in_root(&guard.fd, Path::new(&p.clean), Create::Nothing) {
        let root = std::fs::read_link(fd_path(&guard.fd)).unwrap_or_default();
        if let Ok(real) = std::fs::read_link(fd_path(&fd)) {
            if let Ok(inside) = real.strip_prefix(&root) {
                return format!("/{}", inside.display());
            }
        }
    }
    let text = rustix::fs::readlinkat(&r.at, r.name.as_slice(), Vec::new())
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_default();
    let joined = if text.starts_with('/') {
        text
    } else {
        format!("{}/{text}", p.parent())
    };
    ContainerPath::parse(&joined)
        .map(|c| c.clean)
        .unwrap_or_default()
}

fn stat_of(
    guard: &RootfsGuard<'_>,
    r: &Resolved,
    p: &ContainerPath,
) -> Result<ContainerPathStat, Errno> {
    let st = statat(&r.at, r.name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)?;
    let mode = file_mode::from_unix(st.st_mode);
    let mtime = chrono::DateTime::from_timestamp(st.st_mtime, st.st_mtime_nsec as u32)
        .map(crate::timefmt::go_rfc3339_nano)
        .unwrap_or_else(|| crate::timefmt::GO_ZERO_TIME.to_string());
    let link_target = if mode & file_mode::SYMLINK != 0 {
        link_target(guard, r, p)
    } else {
        String::new()
    };
    Ok(ContainerPathStat {
        name: p.base().to_string(),
        size: st.st_size,
        mode,
        mtime,
        link_target,
    })
}

impl ContainerService {
    /// `HEAD /containers/{id}/archive`. Blocking.
    pub fn stat_path(&self, name: &str, path: &str) -> EngineResult<ContainerPathStat> {
        let p = ContainerPath::parse(path)?;
        let c = self.find(name)?;
        let guard = self.open_rootfs(&c)?;
        resolve(&guard.fd, &p)
            .and_then(|r| stat_of(&guard, &r, &p))
            .map_err(|e| path_error(e, path, name))
    }

    /// `GET /containers/{id}/archive`: the stat of `path`, handed to `started` before any
    /// byte is written, then the archive of it into `out`. Blocking.
    pub fn archive_path(
        &self,
        name: &str,
        path: &str,
        started: impl FnOnce(ContainerPathStat),
        out: &mut dyn Write,
    ) -> EngineResult<()> {
        let p = ContainerPath::parse(path)?;
        let c = self.find(name)?;
        let guard = self.open_rootfs(&c)?;
        let r = resolve(&guard.fd, &p).map_err(|e| path_error(e, path, name))?;
        let stat = stat_of(&guard, &r, &p).map_err(|e| path_error(e, path, name))?;
        started(stat);
        pack(
            r.at.as_fd(),
            &r.name,
            p.base().as_bytes(),
            &PackOptions::default(),
            out,
        )
        .map_err(|e| EngineError::new(snapshot_kind(e.kind()), e.to_string()))?;
        self.announce(&guard.record, "archive-path", &[]);
        Ok(())
    }

    /// `PUT /containers/{id}/archive`: extracts the tar stream `content` into the directory
    /// `path` (a symlink to one is followed, inside the container). Without `copy_uid_gid`
    /// everything extracted belongs to root. Blocking.
    pub fn extract_to_dir(
        &self,
        name: &str,
        path: &str,
        copy_uid_gid: bool,
        no_overwrite_dir_non_dir: bool,
        content: impl Read + Send,
    ) -> EngineResult<()> {
        let p = ContainerPath::parse(path)?;
        let c = self.find(name)?;
        let guard = self.open_rootfs(&c)?;
        let dir = open_in_root(&guard.fd, Path::new(&p.clean), Create::Nothing)
            .map_err(|e| path_error(e, path, name))?;
        if is_dir(&dir).is_err() {
            return Err(EngineError::invalid("extraction point is not a directory"));
        }
        if guard.record.host_config.readonly_rootfs {
            return Err(EngineError::new(
                ErrorKind::Forbidden,
                "container rootfs is marked read-only",
            ));
        }
        let opts = UnpackOptions {
            whiteouts: WhiteoutMode::Apply,
            preserve_owner: copy_uid_gid,
            no_overwrite_dir_non_dir,
            ..UnpackOptions::default()
        };
        let content = berth_snapshot::decompress(content)
            .map_err(|e| EngineError::invalid(format!("reading the archive: {e}")))?;
        unpack_at(content, dir.as_fd(), &opts)
            .map_err(|e| EngineError::new(snapshot_kind(e.kind()), e.to_string()))?;
        self.announce(&guard.record, "extract-to-dir", &[]);
        Ok(())
    }

    /// `GET /containers/{id}/export`: the whole file system as a tar stream. Blocking.
    pub fn export(&self, name: &str, out: &mut dyn Write) -> EngineResult<()> {
        let c = self.find(name)?;
        let guard = self.open_rootfs(&c)?;
        pack(guard.fd.as_fd(), b".", b"", &PackOptions::default(), out)
            .map_err(|e| EngineError::new(snapshot_kind(e.kind()), e.to_string()))?;
        self.announce(&guard.record, "export", &[]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> (String, Suffix, String) {
        let p = ContainerPath::parse(raw).unwrap();
        let base = p.base().to_string();
        (p.clean, p.suffix, base)
    }

    #[test]
    fn paths_are_cleaned_as_dockers() {
        assert_eq!(
            parsed("etc/passwd"),
            ("/etc/passwd".into(), Suffix::None, "passwd".into())
        );
        assert_eq!(
            parsed("/etc/"),
            ("/etc".into(), Suffix::Slash, "etc".into())
        );
        assert_eq!(parsed("/etc/."), ("/etc".into(), Suffix::Dot, ".".into()));
        assert_eq!(
            parsed("/a/../../etc"),
            ("/etc".into(), Suffix::None, "etc".into())
        );
        assert_eq!(parsed("/"), ("/".into(), Suffix::None, "/".into()));
        assert_eq!(parsed("/."), ("/".into(), Suffix::Dot, ".".into()));
        assert!(ContainerPath::parse("").is_err());
    }
}
