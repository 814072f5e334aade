//! Crash-safe file operations for metadata: a record is replaced whole (temp → fsync →
//! rename → fsync of its directory) and a new directory is made durable in its parent.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use super::StorageError;

/// A name no tag, digest or repository component can have (they never start with `.`),
/// so a half-written record is never mistaken for a real one.
fn temp_name() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // O_EXCL below turns a collision into an error, never into a shared file.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes = nanos.to_le_bytes();
    }
    format!(".tmp-{}", hex::encode(bytes))
}

pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StorageError::io("sync", dir, e))
}

/// Creates `dir` and any missing parents, each made durable in its own parent.
pub fn ensure_dir(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    ensure_dir(parent)?;
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StorageError::io("create", dir, e)),
    }
}

/// Replaces `path` with `bytes`: readers see the old content or the new, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let dir = path
        .parent()
        .ok_or_else(|| StorageError::io("write", path, io::ErrorKind::InvalidInput.into()))?;
    ensure_dir(dir)?;
    let temp = dir.join(temp_name());
    let written = File::options()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(StorageError::io("write", &temp, e));
    }
    if let Err(e) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err(StorageError::io("rename", path, e));
    }
    sync_dir(dir)
}

/// Removes `path` durably; `false` when it was not there.
pub fn remove(path: &Path) -> Result<bool, StorageError> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                sync_dir(dir)?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StorageError::io("remove", path, e)),
    }
}

/// Reads a small record; `None` when it does not exist.
pub fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(StorageError::io("read", path, e)),
    }
}

/// The entries of a directory, skipping temporaries; empty when it does not exist.
pub fn list_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::io("list", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io("list", dir, e))?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            out.push(entry);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_whole_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c/record");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
        assert!(remove(&path).unwrap());
        assert!(!remove(&path).unwrap());
        assert_eq!(read_opt(&path).unwrap(), None);
        assert!(list_dir(&dir.path().join("missing")).unwrap().is_empty());
    }
}
