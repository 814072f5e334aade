//! Finding and opening a log's files for reading while the shim may be rotating them.
//!
//! The writer is another process, so no lock is shared with it. Instead a reader opens the
//! current file, then the rotated ones newest first, and checks the current name still
//! refers to the file it opened: if not, a rotation finished meanwhile and it starts over.
//! Open descriptors survive renames, so once the check passes the set is consistent; a file
//! seen twice (renamed between two opens) is kept once.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::rotate::{existing_indices, read_gz_meta, rotated_path};
use super::LogError;

/// How many times to start over when rotations keep racing the opening of the files.
const OPEN_ATTEMPTS: usize = 8;

/// One open log file.
#[derive(Debug)]
pub(crate) struct LogFile {
    pub path: PathBuf,
    pub file: File,
    pub gz: bool,
    /// The file's inode. While the file is open its inode cannot be reused, so two open
    /// files are the same file exactly when their inodes are.
    pub ino: u64,
    /// The size when opened.
    pub size: u64,
    /// For a compressed file, the inode and size of the file it was made from.
    pub source: Option<(u64, u64)>,
    /// For a compressed file, the time of its last record.
    pub last_time: Option<DateTime<Utc>>,
}

impl LogFile {
    /// Whether this file holds the records of `plain`, an open uncompressed file that may
    /// since have been compressed. Inode numbers of deleted files are reused, so a
    /// compressed file made from an older file can carry the same source inode (and even
    /// size): callers look newest first, where the right one comes before any such.
    pub fn holds(&self, plain: &LogFile) -> bool {
        if self.gz {
            self.source == Some((plain.ino, plain.size))
        } else {
            self.ino == plain.ino
        }
    }
}

fn open_if_exists(path: &Path) -> Result<Option<File>, LogError> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io("opening log file", path, e)),
    }
}

/// Opens an uncompressed log file, `None` if it does not exist.
pub(crate) fn open_plain(path: &Path) -> Result<Option<LogFile>, LogError> {
    let Some(file) = open_if_exists(path)? else {
        return Ok(None);
    };
    let m = file
        .metadata()
        .map_err(LogError::at("reading log file metadata", path))?;
    Ok(Some(LogFile {
        path: path.to_path_buf(),
        file,
        gz: false,
        ino: m.ino(),
        size: m.len(),
        source: None,
        last_time: None,
    }))
}

/// Opens rotated file `index`, preferring the plain one: while a file is being compressed
/// both exist, and the plain one is complete whenever it exists.
pub(crate) fn open_rotated(base: &Path, index: u32) -> Result<Option<LogFile>, LogError> {
    if let Some(f) = open_plain(&rotated_path(base, index, false))? {
        return Ok(Some(f));
    }
    let path = rotated_path(base, index, true);
    let Some(file) = open_if_exists(&path)? else {
        return Ok(None);
    };
    let meta = read_gz_meta(&file);
    let own = file
        .metadata()
        .map_err(LogError::at("reading log file metadata", &path))?;
    Ok(Some(LogFile {
        gz: true,
        ino: own.ino(),
        size: own.len(),
        source: meta.as_ref().map(|m| (m.ino, m.size)),
        last_time: meta.and_then(|m| m.last_time),
        path,
        file,
    }))
}

/// The inode and size of the file the current name refers to, `None` if it does not
/// exist (before the first write, or in the instant of a rotation).
pub(crate) fn current_meta(base: &Path) -> Result<Option<(u64, u64)>, LogError> {
    match std::fs::metadata(base) {
        Ok(m) => Ok(Some((m.ino(), m.len()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io("reading log file metadata", base, e)),
    }
}

/// Rotated files of `base` that `max_file` keeps, newest first, each once.
fn open_rotated_files(
    base: &Path,
    max_file: u32,
    mut stop_at: impl FnMut(&LogFile) -> bool,
) -> Result<(Vec<LogFile>, bool), LogError> {
    let mut files: Vec<LogFile> = Vec::new();
    for index in existing_indices(base)? {
        if index >= max_file {
            break;
        }
        let Some(f) = open_rotated(base, index)? else {
            continue;
        };
        if stop_at(&f) {
            return Ok((files, true));
        }
        // A file renamed (shifted) between two opens is seen twice.
        if !files.iter().any(|seen| seen.ino == f.ino) {
            files.push(f);
        }
    }
    Ok((files, false))
}

/// A consistent view of a log: its rotated files, oldest first, and the current file
/// (absent before the container first wrote, or in the instant of a rotation).
pub(crate) struct FileSet {
    pub rotated: Vec<LogFile>,
    pub current: Option<LogFile>,
}

pub(crate) fn open_set(base: &Path, max_file: u32) -> Result<FileSet, LogError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = open_plain(base)?;
        let (mut rotated, _) = open_rotated_files(base, max_file, |_| false)?;
        if let Some(cur) = &current {
            rotated.retain(|f| f.ino != cur.ino);
        }
        let settled = current_meta(base)?.map(|m| m.0) == current.as_ref().map(|c| c.ino);
        if settled || attempt >= OPEN_ATTEMPTS {
            if !settled {
                tracing::warn!(path = %base.display(), "log keeps rotating while being opened");
            }
            rotated.reverse();
            return Ok(FileSet { rotated, current });
        }
    }
}

/// After the followed file `old` was rotated away: the new current file, and the rotated
/// files written between the two, oldest first — normally none, more when the log rotated
/// again before the follower looked. `None` while no current file exists.
///
/// As in [`open_set`], the scan only counts if the current file stayed current throughout:
/// otherwise a file found rotated could be newer than the one opened as current.
pub(crate) fn reopen_after(
    base: &Path,
    max_file: u32,
    old: Option<&LogFile>,
) -> Result<Option<(Vec<LogFile>, LogFile)>, LogError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Some(current) = open_plain(base)? else {
            return Ok(None);
        };
        let Some(old) = old else {
            return Ok(Some((Vec::new(), current)));
        };
        let (mut newer, found) = open_rotated_files(base, max_file, |f| f.holds(old))?;
        newer.retain(|f| f.ino != current.ino);
        if current_meta(base)?.map(|m| m.0) != Some(current.ino) {
            if attempt < OPEN_ATTEMPTS {
                continue;
            }
            // Outrun for good: go on with the current file, skipping what is in between.
            newer.clear();
        }
        if !found {
            // The followed file is gone entirely; whatever was rotated out with it since is
            // lost to this follower.
            tracing::warn!(path = %base.display(), "log rotated faster than it was followed; some entries were skipped");
        }
        newer.reverse();
        return Ok(Some((newer, current)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::rotate::{inode, rotate, Rotated};

    fn rotate_now(base: &Path, content: &str, compress: bool) {
        std::fs::write(base, content).unwrap();
        let f = File::open(base).unwrap();
        let old = Rotated {
            ino: inode(&f).unwrap(),
            size: content.len() as u64,
            last_time: None,
        };
        rotate(base, 9, compress, &old).unwrap();
    }

    fn read(f: &LogFile) -> String {
        let mut s = String::new();
        if f.gz {
            io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&f.file), &mut s).unwrap();
        } else {
            io::Read::read_to_string(&mut &f.file, &mut s).unwrap();
        }
        s
    }

    #[test]
    fn the_set_is_oldest_first_and_limited_to_max_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("c.log");
        for (i, gz) in [(1, false), (2, true), (3, false)] {
            rotate_now(&base, &format!("gen{i}"), gz);
        }
        std::fs::write(&base, "current").unwrap();
        let set = open_set(&base, 3).unwrap();
        let names: Vec<String> = set.rotated.iter().map(read).collect();
        assert_eq!(names, ["gen2", "gen3"]);
        assert!(set.rotated[0].gz);
        assert_eq!(set.current.as_ref().map(read).as_deref(), Some("current"));
    }

    #[test]
    fn reopen_after_finds_the_files_rotated_since_the_followed_one() {
        for compress in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let base = dir.path().join("c.log");
            std::fs::write(&base, "followed").unwrap();
            let followed = open_plain(&base).unwrap().unwrap();
            rotate_now(&base, "followed", compress);
            rotate_now(&base, "missed-1", compress);
            rotate_now(&base, "missed-2", compress);
            std::fs::write(&base, "new").unwrap();
            let (missed, current) = reopen_after(&base, 9, Some(&followed)).unwrap().unwrap();
            let missed: Vec<String> = missed.iter().map(read).collect();
            assert_eq!(missed, ["missed-1", "missed-2"], "compress {compress}");
            assert_eq!(read(&current), "new");
        }
    }
}
