//! Deleting directory trees off the request path. A tree is renamed into the trash (one
//! atomic rename, however big the tree) and deleted there by a background thread; what a
//! crash leaves in the trash is deleted after the next start. Whatever is in the trash is
//! already gone as far as the engine is concerned.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};

pub struct Trash {
    dir: PathBuf,
    tx: Sender<PathBuf>,
    next: AtomicU64,
}

impl Trash {
    /// The trash under `data_root` (so on the file system of everything thrown into it),
    /// with what an earlier run left there queued for deletion.
    pub fn open(data_root: &Path) -> std::io::Result<Trash> {
        let dir = data_root.join("trash");
        std::fs::create_dir_all(&dir)?;
        let (tx, rx) = channel::<PathBuf>();
        std::thread::Builder::new()
            .name("trash".into())
            .spawn(move || {
                while let Ok(path) = rx.recv() {
                    if let Err(e) = std::fs::remove_dir_all(&path) {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            tracing::warn!(path = %path.display(), error = %e, "emptying the trash");
                        }
                    }
                }
            })?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let _ = tx.send(entry.path());
        }
        Ok(Trash {
            dir,
            tx,
            next: AtomicU64::new(0),
        })
    }

    /// A new, unused path in the trash to move a tree to.
    pub fn slot(&self) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        self.dir.join(format!("{nanos}-{n}"))
    }

    /// Deletes, in the background, the tree just moved to `slot`.
    pub fn empty(&self, slot: PathBuf) {
        if let Err(e) = self.tx.send(slot) {
            let _ = std::fs::remove_dir_all(e.0);
        }
    }

    /// Moves the tree at `path` into the trash to be deleted there; a tree that is not
    /// there is fine. One that cannot be moved (another file system) is deleted now.
    pub fn discard(&self, path: &Path) -> std::io::Result<()> {
        let slot = self.slot();
        match std::fs::rename(path, &slot) {
            Ok(()) => {
                self.empty(slot);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => std::fs::remove_dir_all(path),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discarded_trees_go_at_once_and_are_deleted_behind() {
        let root = tempfile::tempdir().unwrap();
        let tree = root.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/f"), b"x").unwrap();
        let trash = Trash::open(root.path()).unwrap();
        trash.discard(&tree).unwrap();
        assert!(!tree.exists(), "gone from where it was at once");
        trash.discard(&root.path().join("never-there")).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_dir(root.path().join("trash"))
            .unwrap()
            .count()
            > 0
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the trash was not emptied"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn what_a_crash_left_in_the_trash_is_deleted_at_open() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("trash/left-over/x")).unwrap();
        let _trash = Trash::open(root.path()).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while root.path().join("trash/left-over").exists() {
            assert!(std::time::Instant::now() < deadline, "the leftover stayed");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
