//! A COPY or ADD step without a container: the parent's layers under a writable snapshot,
//! each source packed as a tar stream (named as its destination) and unpacked into the
//! snapshot with every path resolved inside it, then the snapshot's changes committed. A
//! `--from` image is read through a snapshot of its own. `--chown` and `--chmod` rewrite the
//! stream's headers on the way.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use berth_build::backend::{BackendError, CopyFrom, CopyItem, CopyStep, Image};
use berth_runtime::linux::paths::{open_in_root, Create};
use berth_snapshot::{pack, unpack_at, PackOptions, PackWhiteouts, UnpackOptions, WhiteoutMode};

use super::EngineBackend;

/// An active snapshot of the build's, released when dropped.
pub(super) struct Snapshot<'a> {
    b: &'a EngineBackend,
    key: String,
    pub root: File,
}

impl<'a> Snapshot<'a> {
    /// A writable snapshot over `image`'s layers (none for scratch).
    pub fn over(b: &'a EngineBackend, image: &str) -> Result<Snapshot<'a>, BackendError> {
        let lowers: Vec<String> = if image.is_empty() {
            Vec::new()
        } else {
            let id = super::parse_id(image)?;
            let record = b.engine.images.record(&id).map_err(super::backend_error)?;
            record
                .layers
                .iter()
                .rev()
                .map(|l| l.diff_id.to_string())
                .collect()
        };
        let key = format!("build-{}", &crate::containers::new_id()[..24]);
        let layers = b.engine.images.layers();
        let merged = layers
            .prepare(&key, &lowers)
            .map_err(|e| BackendError(format!("preparing a snapshot: {e}")))?;
        let root = File::open(&merged).map_err(|e| {
            let _ = layers.release(&key);
            BackendError(format!("opening {}: {e}", merged.display()))
        })?;
        Ok(Snapshot { b, key, root })
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.b.engine.images.layers().release(&self.key) {
            tracing::warn!(snapshot = %self.key, error = %e, "releasing a build snapshot");
        }
    }
}

pub(super) fn copy(b: &EngineBackend, step: &CopyStep) -> Result<Image, BackendError> {
    let config = b.run_config(&step.parent)?;
    let target = Snapshot::over(b, &step.parent.id)?;
    let from_image;
    let source_root: File = match &step.from {
        CopyFrom::Context(dir) => {
            File::open(dir).map_err(|e| BackendError(format!("opening the build context: {e}")))?
        }
        CopyFrom::Image(id) => {
            from_image = Snapshot::over(b, id)?;
            from_image
                .root
                .try_clone()
                .map_err(|e| BackendError(e.to_string()))?
        }
    };
    let owner = match &step.chown {
        Some(spec) => Some(resolve_owner(target.root.as_fd(), spec)?),
        None => None,
    };
    for item in &step.items {
        let own_root = match &item.root {
            Some(dir) => Some(
                File::open(dir)
                    .map_err(|e| BackendError(format!("opening {}: {e}", dir.display())))?,
            ),
            None => None,
        };
        let from = own_root.as_ref().map_or(source_root.as_fd(), |f| f.as_fd());
        copy_item(from, target.root.as_fd(), item, owner, step.chmod)?;
    }
    let layers = b.engine.images.layers();
    layers
        .unmount(&target.key)
        .map_err(|e| BackendError(format!("unmounting the step's snapshot: {e}")))?;
    b.commit_snapshot(
        &step.parent,
        &target.key,
        config,
        String::new(),
        (&step.created_by, &step.step),
    )
}

/// One source to its destination.
fn copy_item(
    source_root: BorrowedFd<'_>,
    target_root: BorrowedFd<'_>,
    item: &CopyItem,
    owner: Option<(u32, u32)>,
    chmod: Option<u32>,
) -> Result<(), BackendError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        BackendError(format!("{what} {}: {e}", item.source))
    };
    let (src_dir, src_name) = split(&item.source);
    let src_dir = open_in_root(source_root, Path::new(src_dir), Create::Nothing)
        .map_err(|e| failed("reading", &e))?;
    if item.extract {
        let dest = open_in_root(target_root, Path::new(&item.dest), Create::Dir)
            .map_err(|e| failed("making the destination of", &e))?;
        let file = rustix::fs::openat(
            &src_dir,
            src_name,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC | rustix::fs::OFlags::NOFOLLOW,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| failed("opening", &e))?;
        let tar =
            berth_snapshot::decompress(File::from(file)).map_err(|e| failed("reading", &e))?;
        return unpack(tar, dest.as_fd(), owner, chmod).map_err(|e| failed("extracting", &e));
    }
    // A directory's contents into the destination; a file as the destination, or into it
    // under its own name. Either way the stream's top entry is named as its final place
    // and unpacked in that place's parent directory.
    let is_dir = rustix::fs::statat(&src_dir, src_name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        .map(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory
        })
        .map_err(|e| failed("reading", &e))?;
    let dest_dir = item.dest.trim_end_matches('/');
    let target: String = if !is_dir && item.into_dir {
        let base = Path::new(src_name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{dest_dir}/{base}")
    } else {
        dest_dir.to_string()
    };
    let (parent, name) = if target.is_empty() {
        ("/", "")
    } else {
        split(&target)
    };
    let parent = open_in_root(target_root, Path::new(parent), Create::Dir)
        .map_err(|e| failed("making the destination of", &e))?;
    let (mut reader, mut writer) =
        crate::pipe::pipe().map_err(|e| BackendError(format!("making a pipe: {e}")))?;
    let name = name.as_bytes().to_vec();
    std::thread::scope(|s| {
        let packer = s.spawn(|| {
            let opts = PackOptions {
                whiteouts: PackWhiteouts::Oci,
                clamp_mtime: None,
            };
            let r = pack(
                src_dir.as_fd(),
                src_name.as_bytes(),
                &name,
                &opts,
                &mut writer,
            );
            drop(writer);
            r
        });
        let unpacked = unpack(&mut reader, parent.as_fd(), owner, chmod);
        drop(reader);
        match packer.join() {
            Ok(Ok(_)) => unpacked.map_err(|e| failed("copying", &e)),
            Ok(Err(e)) => Err(failed("reading", &e)),
            Err(_) => Err(failed("reading", &"the reader failed")),
        }
    })
}

/// Unpacks `tar` at `root`, with the owner and mode of every entry replaced when asked.
fn unpack(
    tar: impl Read + Send,
    root: BorrowedFd<'_>,
    owner: Option<(u32, u32)>,
    chmod: Option<u32>,
) -> Result<(), String> {
    let opts = UnpackOptions {
        whiteouts: WhiteoutMode::Apply,
        preserve_owner: true,
        ..Default::default()
    };
    if owner.is_none() && chmod.is_none() {
        return unpack_at(tar, root, &opts)
            .map(drop)
            .map_err(|e| e.to_string());
    }
    let (mut reader, mut writer) = crate::pipe::pipe().map_err(|e| e.to_string())?;
    std::thread::scope(|s| {
        let rewriter = s.spawn(move || {
            let r = rewrite(tar, &mut writer, owner, chmod);
            drop(writer);
            r
        });
        let unpacked = unpack_at(&mut reader, root, &opts)
            .map(drop)
            .map_err(|e| e.to_string());
        drop(reader);
        match rewriter.join() {
            Ok(Ok(())) => unpacked,
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("rewriting the copy failed".into()),
        }
    })
}

/// Copies a tar stream, setting each entry's owner and (but for symlinks) mode.
fn rewrite(
    tar: impl Read,
    out: &mut dyn Write,
    owner: Option<(u32, u32)>,
    chmod: Option<u32>,
) -> std::io::Result<()> {
    let mut archive = tar::Archive::new(tar);
    let mut builder = tar::Builder::new(out);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let mut header = entry.header().clone();
        if let Some((uid, gid)) = owner {
            header.set_uid(u64::from(uid));
            header.set_gid(u64::from(gid));
        }
        if let Some(mode) = chmod {
            if header.entry_type() != tar::EntryType::Symlink {
                header.set_mode(mode);
            }
        }
        let path = entry.path_bytes().into_owned();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        match link {
            Some(link) => builder.append_link(&mut header, bytes_path(&path), bytes_path(&link))?,
            None => builder.append_data(&mut header, bytes_path(&path), &mut entry)?,
        }
    }
    builder.finish()
}

fn bytes_path(b: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(b))
}

/// `--chown=user[:group]` as numbers, names looked up in the image's /etc/passwd and
/// /etc/group as docker does; a user alone also gives the group.
fn resolve_owner(root: BorrowedFd<'_>, spec: &str) -> Result<(u32, u32), BackendError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let read = |path: &str| -> String {
        open_in_root(root, Path::new(path), Create::Nothing)
            .ok()
            .and_then(|fd| {
                let mut s = String::new();
                File::open(format!(
                    "/proc/self/fd/{}",
                    std::os::fd::AsRawFd::as_raw_fd(&fd)
                ))
                .ok()?
                .read_to_string(&mut s)
                .ok()?;
                Some(s)
            })
            .unwrap_or_default()
    };
    let lookup = |table: &str, name: &str, field: usize| -> Option<(u32, Option<u32>)> {
        read(table).lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name)).then(|| {
                (
                    f.get(field).and_then(|v| v.parse().ok()).unwrap_or(0),
                    f.get(3).and_then(|v| v.parse().ok()),
                )
            })
        })
    };
    let (uid, user_gid) = match user.parse::<u32>() {
        Ok(n) => (n, None),
        Err(_) => lookup("/etc/passwd", user, 2).ok_or_else(|| {
            BackendError(format!(
                "unable to find user {user}: no matching entries in passwd file"
            ))
        })?,
    };
    let gid = match group {
        None => user_gid.unwrap_or(uid),
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup("/etc/group", g, 2)
                .map(|(gid, _)| gid)
                .ok_or_else(|| {
                    BackendError(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?,
        },
    };
    Ok((uid, gid))
}

/// `a/b/c` as (`a/b`, `c`); a single name is in `.`.
fn split(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    match path.rsplit_once('/') {
        Some((dir, name)) => (if dir.is_empty() { "." } else { dir }, name),
        None => (".", if path.is_empty() { "." } else { path }),
    }
}
