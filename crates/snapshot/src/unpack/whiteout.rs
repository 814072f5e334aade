//! OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`), either converted to the overlayfs format
//! for a layer that will be a lower directory, or applied to a full tree (ADD, `cp`).

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{fsetxattr, makedev, mknodat, openat, FileType, Mode, OFlags, XattrFlags};
use rustix::io::Errno;

use super::entry::create_replacing;
use super::path::join_into;
use super::{Cx, State, WhiteoutMode};
use crate::error::UnpackError;
use crate::fsutil::{list_names, remove_all_at, reopen_dir};

/// The xattr overlayfs reads to treat a directory of an upper layer as hiding the lower ones.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

impl State {
    /// `dir/.wh.name`: hide `dir/name`.
    pub(super) fn whiteout(
        &mut self,
        cx: &Cx<'_>,
        dir: &[u8],
        name: &[u8],
    ) -> Result<(), UnpackError> {
        let overlay = self.whiteouts == WhiteoutMode::Overlay;
        let parent = self
            .dirs
            .take(cx.root, dir, overlay)
            .map_err(cx.errno("opening whiteout directory"))?;
        let result = match parent.fd(cx.root) {
            // Nothing there to hide.
            None => Ok(()),
            // Overlayfs hides a lower name behind a 0:0 character device of that name.
            Some(pfd) if overlay => create_replacing(&mut self.dirs, false, pfd, name, || {
                mknodat(
                    pfd,
                    name,
                    FileType::CharacterDevice,
                    Mode::empty(),
                    makedev(0, 0),
                )
            })
            .map_err(cx.errno("creating whiteout")),
            Some(pfd) => {
                let mut target = std::mem::take(&mut self.scratch);
                join_into(dir, name, &mut target);
                // A whiteout only hides what lower layers have, never its own layer's files.
                let own = self.written.as_ref().is_some_and(|w| w.contains(&target));
                self.scratch = target;
                if own {
                    Ok(())
                } else {
                    self.dirs.clear();
                    remove_all_at(pfd, name).map_err(cx.errno("removing whited-out path"))
                }
            }
        };
        self.dirs.put_parent(dir, parent);
        result
    }

    /// `dir/.wh..wh..opq`: hide everything lower layers have in `dir`.
    pub(super) fn opaque(&mut self, cx: &Cx<'_>, dir: &[u8]) -> Result<(), UnpackError> {
        let overlay = self.whiteouts == WhiteoutMode::Overlay;
        let parent = self
            .dirs
            .take(cx.root, dir, overlay)
            .map_err(cx.errno("opening opaque directory"))?;
        let result = match parent.fd(cx.root) {
            None => Ok(()),
            Some(pfd) if overlay => reopen_dir(pfd)
                .and_then(|d| fsetxattr(&d, OPAQUE_XATTR, b"y", XattrFlags::empty()))
                .map_err(cx.errno("marking directory opaque")),
            Some(pfd) => {
                let empty = HashSet::new();
                let written = self.written.as_ref().unwrap_or(&empty);
                let mut path = dir.to_vec();
                self.dirs.clear();
                prune(pfd, &mut path, written).map_err(cx.errno("emptying opaque directory"))
            }
        };
        self.dirs.put_parent(dir, parent);
        result
    }
}

/// Removes everything under directory `dir` (at normalised `path`) that this archive did
/// not write, descending into directories it did write to drop their older contents. The
/// order of entries in the archive therefore does not matter.
fn prune(
    dir: BorrowedFd<'_>,
    path: &mut Vec<u8>,
    written: &HashSet<Vec<u8>>,
) -> rustix::io::Result<()> {
    for name in list_names(dir)? {
        let name = name.to_bytes();
        let len = path.len();
        if len > 0 {
            path.push(b'/');
        }
        path.extend_from_slice(name);
        if written.contains(path.as_slice()) {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match openat(dir, name, flags, Mode::empty()) {
                Ok(sub) => prune(sub.as_fd(), path, written)?,
                Err(Errno::NOTDIR | Errno::LOOP) => {}
                Err(e) => return Err(e),
            }
        } else {
            remove_all_at(dir, name)?;
        }
        path.truncate(len);
    }
    Ok(())
}
