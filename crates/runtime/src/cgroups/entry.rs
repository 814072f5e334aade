//! Entering a container's cgroup without paying for a migration.
//!
//! Moving a process into a cgroup by writing its pid to `cgroup.procs` takes the kernel's
//! global threadgroup lock for writing, which first waits for an RCU grace period when no
//! migration happened recently: 5–30 ms here, more than the rest of a container start. Two
//! ways in avoid it:
//!
//! - on cgroup v1, a single-threaded process moves *itself* by writing `0` to each
//!   hierarchy's `tasks` file (the kernel skips the lock for the calling thread);
//! - on cgroup v2, the process is created in its cgroup by `clone3(CLONE_INTO_CGROUP)`.
//!
//! [`Entry`] holds what both need, opened by the parent before the fork.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};

use super::error::{write, CgroupError, Result};
use super::{Backend, Cgroup};

/// The open files of a cgroup a new process enters through.
#[derive(Debug)]
pub struct Entry {
    /// `tasks` of every v1 hierarchy, open for writing.
    v1_tasks: Vec<OwnedFd>,
    /// The v2 directory (the v2 hierarchy, or the v2 mount beside v1), for
    /// `CLONE_INTO_CGROUP`, and its `cgroup.procs` for when that cannot be used.
    v2: Option<(OwnedFd, PathBuf)>,
}

impl Cgroup {
    /// Opens what a process needs to enter this cgroup (see the module's notes).
    pub fn entry(&self) -> Result<Entry> {
        let open = |path: PathBuf, flags: OFlags| {
            rustix::fs::open(&path, flags | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
                CgroupError::Io {
                    op: "opening",
                    path: path.clone(),
                    source: e.into(),
                }
            })
        };
        let dir_flags = OFlags::PATH | OFlags::DIRECTORY;
        match &self.backend {
            Backend::V1(v) => {
                let mut v1_tasks = Vec::new();
                let mut v2 = None;
                for l in &v.leaves {
                    if l.unified {
                        v2 = Some((open(l.dir.clone(), dir_flags)?, l.procs.clone()));
                    } else {
                        v1_tasks.push(open(l.dir.join("tasks"), OFlags::WRONLY)?);
                    }
                }
                Ok(Entry { v1_tasks, v2 })
            }
            Backend::V2(v) => Ok(Entry {
                v1_tasks: Vec::new(),
                v2: Some((open(v.dir.clone(), dir_flags)?, v.procs.clone())),
            }),
        }
    }
}

impl Entry {
    /// The v2 directory a child should be created in.
    pub fn v2_dir(&self) -> Option<BorrowedFd<'_>> {
        self.v2.as_ref().map(|(fd, _)| fd.as_fd())
    }

    /// In the new process, while it has one thread: joins every v1 hierarchy.
    pub fn join_v1(&self) -> std::io::Result<()> {
        for fd in &self.v1_tasks {
            rustix::io::write(fd, b"0")?;
        }
        Ok(())
    }

    /// In the parent, for a child that could not be created in the v2 cgroup: moves it
    /// there the slow way.
    pub fn add_to_v2(&self, pid: u32) -> Result<()> {
        match &self.v2 {
            Some((_, procs)) => write(procs, &pid.to_string()),
            None => Ok(()),
        }
    }
}
