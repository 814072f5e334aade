//! The lock between writers and the sweep: `flock` on `<root>/gc.lock`, shared by each
//! write that makes content reachable, exclusive while the collector deletes one blob. It
//! works across processes (`serve` and `gc` on one root) and, because each holder opens its
//! own descriptor, between threads of one process too.

use std::fs::File;
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

use super::StorageError;

/// Held until dropped (closing the descriptor releases the lock).
#[derive(Debug)]
pub struct GcLock {
    _file: File,
}

impl GcLock {
    pub fn shared(root: &Path) -> Result<GcLock, StorageError> {
        GcLock::take(root, FlockOperation::LockShared)
    }

    pub fn exclusive(root: &Path) -> Result<GcLock, StorageError> {
        GcLock::take(root, FlockOperation::LockExclusive)
    }

    fn take(root: &Path, op: FlockOperation) -> Result<GcLock, StorageError> {
        let path = root.join("gc.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::io("open", &path, e))?;
        flock(&file, op).map_err(|e| StorageError::io("lock", &path, e.into()))?;
        Ok(GcLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_holders_coexist_and_exclude_a_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let a = GcLock::shared(dir.path()).unwrap();
        let _b = GcLock::shared(dir.path()).unwrap();
        let path = dir.path().join("gc.lock");
        let probe = File::open(&path).unwrap();
        assert!(flock(&probe, FlockOperation::NonBlockingLockExclusive).is_err());
        drop(a);
        drop(_b);
        assert!(flock(&probe, FlockOperation::NonBlockingLockExclusive).is_ok());
    }
}
