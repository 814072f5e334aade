//! Content digests for the cache keys of COPY and ADD: names, types, modes, sizes, contents
//! and link targets of exactly the files a step reads — not timestamps or owners, so a
//! touched but unchanged file still hits. A context read in place has its files' digests
//! remembered between builds by identity and change time.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::BuildError;

/// A digest of a file or tree: names, types, modes, sizes, contents and link targets — not
/// timestamps or owners.
pub fn content_hash(path: &Path) -> Result<Hashed, BuildError> {
    hash_tree(path, None)
}

/// A tree's digest, and each of its entries' own (by path under the tree), which tell what
/// changed between two builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hashed {
    pub digest: String,
    pub entries: Vec<(String, String)>,
}

/// The same digest, with each file's content digest remembered between builds by the
/// file's identity (device, inode) and its size and change times: a context read in place
/// is hashed again only where it changed. A touched file has a new change time, so it is
/// read again, and an unchanged content gives the same digest.
///
/// `path` is under `shown` (the overlay the builder reads), which shows `origin`: files are
/// identified by their origin, whose identity does not change from one build's overlay to
/// the next.
pub fn content_hash_remembered(
    path: &Path,
    shown: &Path,
    origin: &Path,
) -> Result<Hashed, BuildError> {
    hash_tree(path, Some((shown, origin)))
}

/// Where a file shown under the first directory really is: under the second.
type Origin<'a> = Option<(&'a Path, &'a Path)>;

fn hash_tree(path: &Path, remember: Origin<'_>) -> Result<Hashed, BuildError> {
    let mut h = Sha256::new();
    let mut entries = Vec::new();
    hash_into(&mut h, path, Path::new(""), remember, &mut entries)?;
    Ok(Hashed {
        digest: format!("{:x}", h.finalize()),
        entries,
    })
}

fn hash_into(
    tree: &mut Sha256,
    path: &Path,
    rel: &Path,
    remember: Origin<'_>,
    entries: &mut Vec<(String, String)>,
) -> Result<(), BuildError> {
    let failed = |e: std::io::Error| BuildError(format!("reading {}: {e}", path.display()));
    let meta = fs::symlink_metadata(path).map_err(failed)?;
    // The entry's own digest goes into the tree's and into the list.
    let mut own = Sha256::new();
    let h = &mut own;
    h.update(rel.as_os_str().as_encoded_bytes());
    h.update([0]);
    h.update(meta.permissions().mode().to_le_bytes());
    let ft = meta.file_type();
    if ft.is_symlink() {
        h.update(b"L");
        h.update(
            fs::read_link(path)
                .map_err(failed)?
                .as_os_str()
                .as_encoded_bytes(),
        );
    } else if ft.is_dir() {
        h.update(b"D");
        let mut names: Vec<_> = fs::read_dir(path)
            .map_err(failed)?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        let head = own.finalize();
        tree.update(head);
        entries.push((rel.to_string_lossy().into_owned(), format!("{head:x}")));
        for n in names {
            hash_into(tree, &path.join(&n), &rel.join(&n), remember, entries)?;
        }
        return Ok(());
    } else if ft.is_file() {
        h.update(b"F");
        h.update(meta.size().to_le_bytes());
        let digest = match remember
            .and_then(|(shown, origin)| path.strip_prefix(shown).ok().map(|r| origin.join(r)))
        {
            Some(real) => remembered_digest(&real),
            None => file_digest(path, &meta, false),
        };
        h.update(digest.map_err(failed)?);
    } else {
        h.update(b"O");
    }
    let digest = own.finalize();
    tree.update(digest);
    entries.push((rel.to_string_lossy().into_owned(), format!("{digest:x}")));
    Ok(())
}

/// What a file's digest is remembered under, and what must not have changed.
type FileId = (u64, u64);
type FileStamp = (u64, i64, i64, i64, i64);

/// File digests by identity, with the stamp they were taken under.
type Remembered = std::collections::HashMap<FileId, (FileStamp, [u8; 32])>;

static REMEMBERED: std::sync::Mutex<Option<Remembered>> = std::sync::Mutex::new(None);

/// Files remembered at most; past it the memory starts over.
const REMEMBER_MAX: usize = 200_000;

/// The digest of a file of a context read in place, remembered by its identity.
fn remembered_digest(path: &Path) -> std::io::Result<[u8; 32]> {
    let meta = fs::symlink_metadata(path)?;
    file_digest(path, &meta, true)
}

fn file_digest(path: &Path, meta: &fs::Metadata, remember: bool) -> std::io::Result<[u8; 32]> {
    let id = (meta.dev(), meta.ino());
    let stamp = (
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
    );
    if remember {
        let memory = REMEMBERED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, d)) = memory.as_ref().and_then(|m| m.get(&id)) {
            if *s == stamp {
                return Ok(*d);
            }
        }
    }
    let mut f = fs::File::open(path)?;
    let mut fh = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        fh.update(&buf[..n]);
    }
    let digest: [u8; 32] = fh.finalize().into();
    // A file changed while it was read would be remembered with a stale digest: it is
    // remembered only if its stamp held.
    if remember
        && fs::symlink_metadata(path).map(|m| {
            (
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
            )
        })? == stamp
    {
        let mut memory = REMEMBERED.lock().unwrap_or_else(|e| e.into_inner());
        let map = memory.get_or_insert_with(Default::default);
        if map.len() >= REMEMBER_MAX {
            map.clear();
        }
        map.insert(id, (stamp, digest));
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_ignore_timestamps_but_not_content() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        fs::write(&f, "one").unwrap();
        let first = content_hash(dir.path()).unwrap().digest;
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(content_hash(dir.path()).unwrap().digest, first);
        fs::write(&f, "two").unwrap();
        let second = content_hash(dir.path()).unwrap();
        assert_ne!(second.digest, first);
        assert_eq!(
            second
                .entries
                .iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>(),
            ["", "a.txt"]
        );
    }

    #[test]
    fn remembered_digests_follow_changes() {
        let origin = tempfile::tempdir().unwrap();
        let f = origin.path().join("a.txt");
        fs::write(&f, "one").unwrap();
        let shown = origin.path();
        let first = content_hash_remembered(shown, shown, origin.path()).unwrap();
        assert_eq!(first, content_hash(shown).unwrap());
        fs::write(&f, "two").unwrap();
        let second = content_hash_remembered(shown, shown, origin.path()).unwrap();
        assert_ne!(first, second);
        assert_eq!(second, content_hash(shown).unwrap());
    }
}
