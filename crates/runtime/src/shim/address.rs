//! A shim socket's address. The socket lives in the container's bundle directory, whose path
//! (exec root, `containers/`, a 64-digit ID) can be longer than a unix socket address may be
//! (108 bytes). A long path is reached through an open descriptor of its directory instead:
//! `/proc/self/fd/N/shim.sock` names the same file in a few dozen bytes.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

/// The longest path a `sockaddr_un` holds, less its terminating NUL.
const SUN_PATH_MAX: usize = 107;

/// A path short enough to bind or connect to, valid while this value lives.
#[derive(Debug)]
pub struct SocketAddress {
    path: PathBuf,
    _dir: Option<OwnedFd>,
}

impl SocketAddress {
    /// The address of the socket at `path`.
    pub fn new(path: &Path) -> std::io::Result<SocketAddress> {
        if path.as_os_str().as_bytes().len() <= SUN_PATH_MAX {
            return Ok(SocketAddress {
                path: path.to_path_buf(),
                _dir: None,
            });
        }
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a socket path", path.display()),
            ));
        };
        let dir = rustix::fs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let short = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name);
        Ok(SocketAddress {
            path: short,
            _dir: Some(dir),
        })
    }

    /// The path to hand to `bind` or `connect`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::{UnixListener, UnixStream};

    #[test]
    fn a_path_longer_than_sun_path_binds_and_connects() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let socket = deep.join("shim.sock");
        assert!(socket.as_os_str().len() > SUN_PATH_MAX);

        let bind_at = SocketAddress::new(&socket).unwrap();
        let _listener = UnixListener::bind(bind_at.path()).unwrap();
        assert!(socket.exists(), "the socket is made where it was asked for");
        let connect_to = SocketAddress::new(&socket).unwrap();
        UnixStream::connect(connect_to.path()).unwrap();
    }

    #[test]
    fn a_short_path_is_used_as_it_is() {
        let a = SocketAddress::new(Path::new("/run/berth/x.sock")).unwrap();
        assert_eq!(a.path(), Path::new("/run/berth/x.sock"));
    }
}
