//! One engine per data root: an exclusive lock on `<data-root>/berth.lock` (holding the
//! owner's pid), and the pidfile, locked the same way. The kernel drops both locks when the
//! process dies, however it dies, so a crashed daemon never blocks the next start.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another berth daemon (pid {pid}) is already using {}", path.display())]
    Held { path: PathBuf, pid: String },
    #[error("locking {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held for the daemon's lifetime; dropping it removes the pidfile.
#[derive(Debug)]
pub struct EngineLock {
    _data_root: File,
    _pid: File,
    pidfile: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LockError + '_ {
    move |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens `path`, takes an exclusive lock without waiting, and writes our pid into it.
fn lock_and_stamp(path: &Path) -> Result<File, LockError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err(path))?;
    if flock(file.as_fd(), FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut pid = String::new();
        let _ = file.read_to_string(&mut pid);
        return Err(LockError::Held {
            path: path.to_path_buf(),
            pid: pid.trim().to_string(),
        });
    }
    file.set_len(0).map_err(io_err(path))?;
    file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    writeln!(file, "{}", std::process::id()).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    Ok(file)
}

impl EngineLock {
    pub fn acquire(data_root: &Path, pidfile: &Path) -> Result<EngineLock, LockError> {
        let data_lock = lock_and_stamp(&data_root.join("berth.lock"))?;
        let pid = lock_and_stamp(pidfile)?;
        Ok(EngineLock {
            _data_root: data_lock,
            _pid: pid,
            pidfile: pidfile.to_path_buf(),
        })
    }
}

impl Drop for EngineLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.pidfile);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_engine_on_the_same_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = EngineLock::acquire(dir.path(), &dir.path().join("a.pid")).unwrap();
        let err = EngineLock::acquire(dir.path(), &dir.path().join("b.pid")).unwrap_err();
        match err {
            LockError::Held { pid, .. } => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("{other}"),
        }
        drop(first);
        assert!(!dir.path().join("a.pid").exists());
        EngineLock::acquire(dir.path(), &dir.path().join("b.pid")).unwrap();
    }
}
