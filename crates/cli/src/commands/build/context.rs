//! The build context as the CLI sends it: the directory as a tar, minus what `.dockerignore`
//! (or `<Dockerfile>.dockerignore`) excludes — the Dockerfile and the ignore file are always
//! sent — with symlinks sent as symlinks, never followed. A Dockerfile from outside the
//! context (or from STDIN) is added under a name of its own.

use std::io::Write;
use std::path::{Path, PathBuf};

use berth_build::ignore::{keep_build_files, load_ignore_file, IgnoreMatcher};

use crate::error::{CliError, CliResult};

/// What to pack.
pub struct ContextSpec {
    pub dir: PathBuf,
    /// The Dockerfile's name inside the context, as the engine is told it.
    pub dockerfile: String,
    /// A Dockerfile to add to the tar under `dockerfile` (from STDIN or outside the context).
    pub extra_dockerfile: Option<Vec<u8>>,
    matcher: Option<IgnoreMatcher>,
}

impl ContextSpec {
    /// The context `dir` with the Dockerfile at `file` (`None` for `dir/Dockerfile`, `-`
    /// for STDIN).
    pub fn new(dir: &Path, file: Option<&str>) -> CliResult<ContextSpec> {
        let meta = std::fs::metadata(dir).map_err(|e| {
            CliError::general(format!(
                "unable to prepare context: path {:?} not found: {e}",
                dir.display()
            ))
        })?;
        if !meta.is_dir() {
            return Err(CliError::general(format!(
                "unable to prepare context: context must be a directory: {}",
                dir.display()
            )));
        }
        let (dockerfile, extra, df_path) = match file {
            Some("-") => {
                let mut text = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut text).map_err(|e| {
                    CliError::general(format!("reading the Dockerfile from STDIN: {e}"))
                })?;
                (random_name(), Some(text), dir.join("Dockerfile"))
            }
            Some(f) => {
                let path = if Path::new(f).is_absolute() {
                    PathBuf::from(f)
                } else {
                    std::env::current_dir().unwrap_or_default().join(f)
                };
                let canon_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
                let canon = path.canonicalize().map_err(|e| {
                    CliError::general(format!(
                        "unable to prepare context: the Dockerfile ({f}) cannot be read: {e}"
                    ))
                })?;
                match canon.strip_prefix(&canon_dir) {
                    Ok(rel) => (rel.to_string_lossy().into_owned(), None, canon.clone()),
                    Err(_) => {
                        let text = std::fs::read(&canon)
                            .map_err(|e| CliError::general(format!("reading {f}: {e}")))?;
                        (random_name(), Some(text), canon.clone())
                    }
                }
            }
            None => {
                let path = dir.join("Dockerfile");
                if !path.exists() {
                    return Err(CliError::general(format!(
                        "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                        path.display()
                    )));
                }
                ("Dockerfile".to_string(), None, path)
            }
        };
        let matcher = match load_ignore_file(dir, &df_path)
            .map_err(|e| CliError::general(format!("reading .dockerignore: {e}")))?
        {
            Some((_, patterns)) => {
                let patterns = keep_build_files(&patterns, &dockerfile)
                    .map_err(|e| CliError::general(e.to_string()))?;
                Some(IgnoreMatcher::new(&patterns).map_err(|e| CliError::general(e.to_string()))?)
            }
            None => None,
        };
        Ok(ContextSpec {
            dir: dir.to_path_buf(),
            dockerfile,
            extra_dockerfile: extra,
            matcher,
        })
    }

    /// Writes the context tar to `out`.
    pub fn write(&self, out: impl Write) -> std::io::Result<()> {
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        tar.mode(tar::HeaderMode::Complete);
        self.walk(&mut tar, &self.dir, "")?;
        if let Some(text) = &self.extra_dockerfile {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, &self.dockerfile, text.as_slice())?;
        }
        tar.finish()
    }

    fn walk<W: Write>(
        &self,
        tar: &mut tar::Builder<W>,
        dir: &Path,
        rel: &str,
    ) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let excluded = self.matcher.as_ref().is_some_and(|m| m.excludes(&path));
            if excluded && !(is_dir && self.matcher.as_ref().is_some_and(|m| m.must_walk(&path))) {
                continue;
            }
            // A directory walked for an exception inside it is sent too, so what is sent has
            // its parents.
            if !excluded || is_dir {
                tar.append_path_with_name(e.path(), &path)?;
            }
            if is_dir {
                self.walk(tar, &e.path(), &path)?;
            }
        }
        Ok(())
    }
}

/// The context directory as an engine on this host may read it in place: its absolute path
/// and `dev:ino`, which the engine checks it sees the same.
pub fn identity(dir: &Path) -> Option<(String, String)> {
    use std::os::unix::fs::MetadataExt;
    let abs = dir.canonicalize().ok()?;
    let meta = std::fs::metadata(&abs).ok()?;
    Some((
        abs.to_str()?.to_string(),
        format!("{}:{}", meta.dev(), meta.ino()),
    ))
}

fn random_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(".dockerfile.{:x}{:x}", nanos, std::process::id())
}
