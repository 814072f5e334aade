//! A container's root file system: prepared (with its init directory) the first time it is
//! needed, by a start or by the engine's own file operations (`cp`, `export`), and held
//! mounted for those operations whether the container runs or not.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

use berth_snapshot::InitPath;
use rustix::fs::{Mode, OFlags};

use super::record::{ContainerRecord, Status};
use super::{Container, ContainerService};
use crate::error::{snapshot_kind, EngineError, EngineResult};

/// Mount points the runtime needs in every root file system; an image that lacks them gets
/// them from the snapshot's init directory, so they never count as the container's changes.
const INIT_PATHS: &[InitPath] = &[
    InitPath::Dir("/proc"),
    InitPath::Dir("/sys"),
    InitPath::Dir("/dev"),
    InitPath::File("/etc/hosts"),
    InitPath::File("/etc/hostname"),
    InitPath::File("/etc/resolv.conf"),
];

/// A mounted root file system, open, for as long as the guard lives. For a container that
/// is not running, the container's operation lock is held (so it cannot start meanwhile)
/// and the file system is unmounted again at the end.
pub struct RootfsGuard<'c> {
    pub fd: OwnedFd,
    pub record: Arc<ContainerRecord>,
    unmount: Option<&'c ContainerService>,
    _op: Option<tokio::sync::MutexGuard<'c, ()>>,
}

impl Drop for RootfsGuard<'_> {
    fn drop(&mut self) {
        if let Some(svc) = self.unmount {
            if let Err(e) = svc.images.layers().unmount(&self.record.id) {
                tracing::warn!(id = %self.record.id, error = %e, "unmounting the container's root file system");
            }
        }
    }
}

fn mounted_while_running(status: Status) -> bool {
    matches!(status, Status::Running | Status::Paused)
}

impl ContainerService {
    /// Mounts the root file system of `rec`, preparing its snapshot over the image's
    /// layers on first use; returns the mount point. Mounting one that is mounted is fine.
    /// Blocking.
    pub(super) fn mount_rootfs(&self, rec: &ContainerRecord) -> EngineResult<PathBuf> {
        let layers = self.images.layers();
        let mounted = if layers.has_active(&rec.id) {
            layers.mount(&rec.id)
        } else {
            let record = self.images.record(&rec.image_id)?;
            let lowers: Vec<String> = record
                .layers
                .iter()
                .rev()
                .map(|l| l.diff_id.to_string())
                .collect();
            layers.prepare_with_init(&rec.id, &lowers, INIT_PATHS)
        };
        mounted.map_err(|e| {
            EngineError::new(
                snapshot_kind(e.kind()),
                format!("preparing the root file system: {e}"),
            )
        })
    }

    /// Mounts and opens the root file system of `c` for the engine's own use. Blocking: it
    /// may wait for a start or stop of the container to finish.
    pub(super) fn open_rootfs<'c>(&'c self, c: &'c Container) -> EngineResult<RootfsGuard<'c>> {
        let mut op = None;
        let (record, running) = loop {
            let record = c.record();
            let running = mounted_while_running(record.state.status);
            if running || op.is_some() {
                break (record, running);
            }
            op = Some(c.op.blocking_lock());
        };
        if matches!(record.state.status, Status::Removing | Status::Dead) {
            // Its file system is gone or going; preparing it again would leak a snapshot.
            return Err(EngineError::conflict(format!(
                "container {} is marked for removal",
                record.id
            )));
        }
        let path = self.mount_rootfs(&record)?;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = match rustix::fs::open(&path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                if !running {
                    let _ = self.images.layers().unmount(&record.id);
                }
                return Err(EngineError::internal(format!(
                    "opening {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(RootfsGuard {
            fd,
            record,
            unmount: (!running).then_some(self),
            _op: op,
        })
    }
}
