//! Rotation of a log file, as docker names the files: `<log>` is written, `<log>.1` is the
//! newest rotated file, `<log>.<max-file - 1>` the oldest, each `.gz` when compressed.
//!
//! The order of operations is what makes a crash harmless: older files are dropped and
//! shifted first, then the current file is renamed to `<log>.1` in one step (it is never
//! copied or truncated), and only then is a new current file created. Compression writes
//! `<log>.1.gz.tmp`, renames it into place and only then removes `<log>.1`. A crash at any
//! point leaves every byte written in some file a reader looks at (at worst a rotated file
//! exists both plain and compressed, and the reader takes the plain one).
//!
//! A compressed file carries, in its gzip header's extra field, the inode and size of the
//! file it was made from and the time of its last record: a follower uses the first two
//! to recognise the file it was reading after it was compressed, a reader with `--since`
//! uses the last to skip the file without inflating it.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use flate2::{Compression, GzBuilder};
use serde::{Deserialize, Serialize};

use super::LogError;

/// Docker's mode for log files: the engine's group may read them, nobody else.
const FILE_MODE: u32 = 0o640;

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// `<base>.<index>`, with `.gz` when `gz`.
pub(crate) fn rotated_path(base: &Path, index: u32, gz: bool) -> PathBuf {
    let gz = if gz { ".gz" } else { "" };
    with_suffix(base, &format!(".{index}{gz}"))
}

/// Opens (creating if needed) the current log file for appending.
pub(crate) fn open_append(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(LogError::at("opening log file", path))
}

/// The indices of the rotated files of `base` present on disk, ascending, each once.
pub(crate) fn existing_indices(base: &Path) -> Result<Vec<u32>, LogError> {
    let dir = match base.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(stem) = base.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LogError::io("listing log directory", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(LogError::at("listing log directory", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(stem).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let digits = rest.strip_suffix(".gz").unwrap_or(rest);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(i) = digits.parse::<u32>() {
                if i > 0 {
                    out.push(i);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn remove_if_exists(path: &Path) -> Result<(), LogError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(LogError::io("removing old log file", path, e))
        }
        _ => Ok(()),
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> Result<(), LogError> {
    match fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(LogError::io("renaming rotated log file", from, e))
        }
        _ => Ok(()),
    }
}

/// What the writer knows about the file it is rotating away.
pub(crate) struct Rotated {
    pub ino: u64,
    pub size: u64,
    pub last_time: Option<DateTime<Utc>>,
}

/// Rotates `base` and returns the new, empty current file. The caller's handle on the old
/// current file stays valid (it now names `<base>.1`) and should simply be dropped.
pub(crate) fn rotate(
    base: &Path,
    max_file: u32,
    compress: bool,
    old: &Rotated,
) -> Result<File, LogError> {
    if max_file <= 1 {
        // No rotated files: replace the current file by an empty one in a single rename,
        // so that the name always exists, and a follower sees a new inode.
        let tmp = with_suffix(base, ".new");
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_CLOEXEC | libc::O_APPEND)
            .open(&tmp)
            .map_err(LogError::at("creating log file", &tmp))?;
        fs::rename(&tmp, base).map_err(LogError::at("replacing log file", base))?;
        return Ok(file);
    }
    // Newest last, so shifting in descending order never overwrites a file not yet moved.
    for i in existing_indices(base)?.into_iter().rev() {
        for gz in [false, true] {
            let from = rotated_path(base, i, gz);
            if i >= max_file - 1 {
                remove_if_exists(&from)?;
            } else {
                rename_if_exists(&from, &rotated_path(base, i + 1, gz))?;
            }
        }
    }
    let first = rotated_path(base, 1, false);
    fs::rename(base, &first).map_err(LogError::at("rotating log file", base))?;
    let file = open_append(base)?;
    if compress {
        // The new current file already takes writes; a failed compression only costs disk.
        if let Err(e) = compress_file(&first, old) {
            tracing::warn!(error = %e, "log file left uncompressed after rotation");
        }
    }
    Ok(file)
}

/// What a compressed rotated file's gzip header records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GzMeta {
    #[serde(rename = "lastTime", default, skip_serializing_if = "Option::is_none")]
    pub last_time: Option<DateTime<Utc>>,
    /// Inode of the file the archive was made from.
    pub ino: u64,
    /// Size in bytes of the file the archive was made from.
    pub size: u64,
}

fn compress_file(src: &Path, old: &Rotated) -> Result<(), LogError> {
    let gz = with_suffix(src, ".gz");
    let tmp = with_suffix(src, ".gz.tmp");
    let meta = GzMeta {
        last_time: old.last_time,
        ino: old.ino,
        size: old.size,
    };
    let extra = serde_json::to_vec(&meta).unwrap_or_default();
    let mut input = File::open(src).map_err(LogError::at("opening log file to compress", src))?;
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(LogError::at("creating compressed log file", &tmp))?;
    // Level 1: the writer blocks while compressing, and log text compresses well even fast.
    let mut enc = GzBuilder::new()
        .extra(extra)
        .write(out, Compression::fast());
    let result = io::copy(&mut input, &mut enc)
        .and_then(|_| enc.try_finish())
        .and_then(|_| enc.get_mut().flush());
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(LogError::io("compressing log file", src, e));
    }
    drop(enc);
    fs::rename(&tmp, &gz).map_err(LogError::at("renaming compressed log file", &tmp))?;
    fs::remove_file(src).map_err(LogError::at("removing compressed log file", src))
}

/// Reads the metadata Berth put in a compressed log file's gzip header, if any.
pub(crate) fn read_gz_meta(file: &File) -> Option<GzMeta> {
    let mut head = [0u8; 12];
    file.read_exact_at(&mut head, 0).ok()?;
    // Magic, deflate, and the FEXTRA flag.
    if head[0] != 0x1f || head[1] != 0x8b || head[2] != 8 || head[3] & 4 == 0 {
        return None;
    }
    let xlen = usize::from(u16::from_le_bytes([head[10], head[11]]));
    let mut extra = vec![0u8; xlen];
    file.read_exact_at(&mut extra, 12).ok()?;
    serde_json::from_slice(&extra).ok()
}

/// The inode of an open file, for recognising it after a rename.
pub(crate) fn inode(file: &File) -> Option<u64> {
    file.metadata().ok().map(|m| m.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let base = Path::new("/d/abc-json.log");
        assert_eq!(rotated_path(base, 1, false), Path::new("/d/abc-json.log.1"));
        assert_eq!(
            rotated_path(base, 2, true),
            Path::new("/d/abc-json.log.2.gz")
        );
    }

    #[test]
    fn lists_rotated_indices_only() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("c.log");
        for name in [
            "c.log",
            "c.log.1",
            "c.log.2.gz",
            "c.log.2",
            "c.log.x",
            "c.log.1.gz.tmp",
            "c.log.0",
            "other.log.3",
            "c.log.10",
        ] {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        assert_eq!(existing_indices(&base).unwrap(), vec![1, 2, 10]);
    }

    #[test]
    fn rotation_shifts_drops_and_compresses() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("c.log");
        let mut generation = 0u32;
        for _ in 0..5 {
            generation += 1;
            fs::write(&base, format!("gen{generation}\n")).unwrap();
            let f = File::open(&base).unwrap();
            let old = Rotated {
                ino: inode(&f).unwrap(),
                size: 5,
                last_time: None,
            };
            rotate(&base, 3, true, &old).unwrap();
        }
        assert_eq!(existing_indices(&base).unwrap(), vec![1, 2]);
        assert_eq!(fs::metadata(&base).unwrap().len(), 0);
        let f = File::open(rotated_path(&base, 1, true)).unwrap();
        let meta = read_gz_meta(&f).unwrap();
        assert_eq!(meta.size, 5);
        let mut text = String::new();
        io::Read::read_to_string(&mut flate2::read::GzDecoder::new(f), &mut text).unwrap();
        assert_eq!(text, "gen5\n");
        assert!(!rotated_path(&base, 1, false).exists());
        assert!(!rotated_path(&base, 3, true).exists());
    }
}
