//! Persistent network namespaces kept as files, the way `ip netns add` keeps them in
//! `/run/netns`: a new namespace bind-mounted onto an empty file, so it lives on with no
//! process inside it and any thread can enter it (`setns`) or open netlink sockets in it.
//!
//! The daemon makes one per container before the container's process exists, wires its
//! interfaces from outside, and the runtime then joins it.
//!
//! # The directory is a shared mount of its own
//!
//! Every mount namespace created after a namespace file was mounted (a container's, a
//! systemd unit's with `PrivateTmp=`, anyone's `unshare -m`) starts with a copy of that
//! mount, and a copy pins the network namespace: with private propagation, unmounting
//! the original in the host leaves the copy, so the namespace — and the veth pair in it,
//! still plugged into its bridge — outlives [`remove`]. Like iproute2 does for
//! `/run/netns`, [`create`] therefore makes the directory holding the files a mount of
//! its own (a recursive bind onto itself when it is not one yet) with shared
//! propagation. Copies made from it are then peers or slaves of it, and the unmount in
//! [`remove`] propagates into them. A copy whose owner made it private afterwards (a
//! runtime's `rprivate` before `pivot_root`, a container with the directory bind-mounted
//! in and `rprivate`) still pins the namespace until that mount namespace lets go of it;
//! a runtime that detaches the old root after `pivot_root` does so at once.
//!
//! The directory mount is left in place on purpose (iproute2 leaves `/run/netns` too):
//! it is shared by all namespace files in it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::thread;

use rustix::io::Errno;
use rustix::mount::{self, MountPropagationFlags, UnmountFlags};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

/// `lo` is the first device registered in every network namespace.
const LOOPBACK_IFINDEX: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("network namespace {}: {step}: {source}", .path.display())]
    Io {
        path: PathBuf,
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("network namespace {}: bringing lo up: {source}", .path.display())]
    Loopback {
        path: PathBuf,
        #[source]
        source: nlink::Error,
    },
    #[error("network namespace {}: {why}", .path.display())]
    Invalid { path: PathBuf, why: &'static str },
    #[error("network namespace {}: the thread setting it up panicked", .path.display())]
    Panicked { path: PathBuf },
}

impl NetnsError {
    fn io(path: &Path, step: &'static str, source: impl Into<io::Error>) -> NetnsError {
        NetnsError::Io {
            path: path.to_path_buf(),
            step,
            source: source.into(),
        }
    }
}

pub type Result<T, E = NetnsError> = std::result::Result<T, E>;

/// Creates a new, empty network namespace (only `lo`, up) and bind-mounts it at `path`,
/// which must not exist yet; its directory is created if missing and made a shared
/// mount of its own (see the module docs).
///
/// The calling thread's namespace never changes: the `unshare` happens on a short-lived
/// thread of its own. The call blocks for as long as the kernel takes to make a network
/// namespace (well under a millisecond to a few milliseconds). On failure nothing is
/// left behind: no file, no mount.
pub fn create(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && path.file_name().is_some() => dir,
        _ => {
            return Err(NetnsError::Invalid {
                path: path.to_path_buf(),
                why: "not a file path inside a directory",
            })
        }
    };
    fs::create_dir_all(dir).map_err(|e| NetnsError::io(dir, "creating the directory", e))?;
    share_dir(dir)?;

    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(path)
        .map_err(|e| NetnsError::io(path, "creating the file", e))?;

    let outcome = thread::scope(|scope| {
        let worker = thread::Builder::new()
            .name("berth-netns-new".into())
            .spawn_scoped(scope, || populate(path));
        match worker {
            Ok(worker) => worker.join().unwrap_or_else(|_| {
                // The worker may have died between mounting and cleaning up.
                let _ = mount::unmount(path, UnmountFlags::DETACH);
                Err(NetnsError::Panicked {
                    path: path.to_path_buf(),
                })
            }),
            Err(e) => Err(NetnsError::io(path, "spawning a thread", e)),
        }
    });
    if outcome.is_err() {
        let _ = fs::remove_file(path);
    }
    outcome
}

/// On a thread of its own: enter a new namespace, pin it onto `path`, bring `lo` up.
/// Undoes its own mount on failure; the caller removes the file.
fn populate(path: &Path) -> Result<()> {
    // SAFETY: CLONE_NEWNET moves only this thread into a new network namespace; it
    // shares nothing else differently afterwards (no CLONE_FILES, so fds stay valid
    // across threads), and the thread ends right after.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }
        .map_err(|e| NetnsError::io(path, "unshare(CLONE_NEWNET)", e))?;
    mount::mount_bind("/proc/thread-self/ns/net", path)
        .map_err(|e| NetnsError::io(path, "bind-mounting the namespace onto the file", e))?;
    if let Err(source) = loopback_up() {
        let _ = mount::unmount(path, UnmountFlags::DETACH);
        return Err(NetnsError::Loopback {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

/// Brings `lo` up in the calling thread's namespace. The socket is made here, so it
/// lives in the namespace just unshared.
fn loopback_up() -> std::result::Result<(), nlink::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let conn = nlink::Connection::<nlink::Route>::new()?;
        conn.set_link_up_by_index(LOOPBACK_IFINDEX).await
    })
}

/// Serialises making directories shared mounts, so two namespaces created at once in a
/// new directory don't stack two bind mounts onto it.
static SHARE_LOCK: Mutex<()> = Mutex::new(());

/// Makes `dir` a mount point with shared propagation, binding it onto itself first when
/// it is not a mount point yet (what iproute2 does for `/run/netns`).
fn share_dir(dir: &Path) -> Result<()> {
    let _serial = SHARE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let shared = MountPropagationFlags::SHARED | MountPropagationFlags::REC;
    match mount::mount_change(dir, shared) {
        Ok(()) => return Ok(()),
        // Not a mount point.
        Err(Errno::INVAL) => {}
        Err(e) => {
            return Err(NetnsError::io(
                dir,
                "making the directory a shared mount",
                e,
            ))
        }
    }
    mount::mount_bind_recursive(dir, dir)
        .map_err(|e| NetnsError::io(dir, "bind-mounting the directory onto itself", e))?;
    mount::mount_change(dir, shared)
        .map_err(|e| NetnsError::io(dir, "making the directory a shared mount", e))
}

/// Removes a namespace file made by [`create`]: a lazy unmount (`MNT_DETACH`, so a
/// thread still inside doesn't make it fail; the namespace goes away with its last
/// user) and an unlink. `Ok` when it is already gone or was never mounted.
pub fn remove(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            // A lazy unmount of a directory would detach whatever is mounted there.
            return Err(NetnsError::Invalid {
                path: path.to_path_buf(),
                why: "is a directory, not a namespace file",
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(NetnsError::io(path, "looking at the file", e)),
    }
    match mount::unmount(path, UnmountFlags::DETACH) {
        // EINVAL: not a mount point (left over from a failed create or a reboot).
        Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => {}
        Err(e) => return Err(NetnsError::io(path, "unmounting", e)),
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetnsError::io(path, "removing the file", e)),
    }
}

/// Undoes what [`create`] did to `dir` (its bind mount onto itself) once it holds no
/// namespace file: for an engine stopping with no container running. Files still there are
/// left alone, and so is the mount.
pub fn release_dir(dir: &Path) -> Result<()> {
    let _serial = SHARE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    if !list(dir)?.is_empty() {
        return Ok(());
    }
    match mount::unmount(dir, UnmountFlags::DETACH) {
        Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(NetnsError::io(dir, "unmounting the directory", e)),
    }
}

/// Names of the namespace files in `dir`, sorted (for reconciling what a crashed daemon
/// left behind). A missing directory has none.
pub fn list(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NetnsError::io(dir, "reading the directory", e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| NetnsError::io(dir, "reading the directory", e))?;
        let is_file = entry
            .file_type()
            .map_err(|e| NetnsError::io(&entry.path(), "looking at the file", e))?
            .is_file();
        if let (true, Some(name)) = (is_file, entry.file_name().to_str()) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Runs `f` on a new thread that has entered the namespace at `path` (`setns`), and
/// returns what it returns; the calling thread stays where it is. Sockets `f` makes stay
/// in that namespace wherever they are used afterwards. A panic in `f` is resumed on the
/// calling thread.
pub fn run_in<T: Send>(path: &Path, f: impl FnOnce() -> T + Send) -> Result<T> {
    let ns = File::open(path).map_err(|e| NetnsError::io(path, "opening", e))?;
    thread::scope(|scope| {
        let worker = thread::Builder::new()
            .name("berth-netns-run".into())
            .spawn_scoped(scope, || {
                rustix::thread::move_into_link_name_space(
                    ns.as_fd(),
                    Some(LinkNameSpaceType::Network),
                )
                .map_err(|e| NetnsError::io(path, "entering (setns)", e))?;
                Ok(f())
            })
            .map_err(|e| NetnsError::io(path, "spawning a thread", e))?;
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
