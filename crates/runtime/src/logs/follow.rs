//! `--follow`: after the existing entries, keep reading the current file as the shim
//! appends to it, across rotations, until told the container stopped.
//!
//! At the end of the followed file the reader looks at what the current name refers to:
//! the same file, grown → read on; the same file, shrunk → it was truncated, start over;
//! another file, or none → it was rotated away. The writer never appends to a file after
//! renaming it, so the old file is read to its end once more, then any files rotated after
//! it (if the log rotated again before the reader looked), then the new current file.
//!
//! Waiting uses inotify on the log directory, so new lines arrive without delay, with a
//! 50 ms timeout that bounds how late a stop or cancel is noticed (and that is the whole
//! mechanism when inotify is unavailable).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::inotify;

use super::files::{self, LogFile};
use super::reader::{LogReader, Queued};
use super::tail::Start;
use super::LogError;

/// The longest a follower sleeps before looking again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

const RUNNING: u8 = 0;
const STOPPED: u8 = 1;
const CANCELLED: u8 = 2;

/// Ends a followed read from another thread. Cloning shares the signal.
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<AtomicU8>);

impl StopHandle {
    pub(crate) fn new() -> Self {
        StopHandle(Arc::new(AtomicU8::new(RUNNING)))
    }

    /// The container has stopped and its shim has written its last record: the reader
    /// yields what is left in the log, then ends.
    pub fn stop(&self) {
        self.0.fetch_max(STOPPED, Ordering::SeqCst);
    }

    /// Nobody wants more entries: the reader ends within [`POLL_INTERVAL`], unread
    /// entries are dropped.
    pub fn cancel(&self) {
        self.0.store(CANCELLED, Ordering::SeqCst);
    }

    fn state(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sleeps until the log directory changes or [`POLL_INTERVAL`] passes.
struct Waker {
    dir: PathBuf,
    inotify: Option<OwnedFd>,
    /// The directory did not exist yet (the container has not started): try again later.
    retry: bool,
}

impl Waker {
    fn new(dir: PathBuf) -> Self {
        let mut w = Waker {
            dir,
            inotify: None,
            retry: true,
        };
        w.watch();
        w
    }

    fn watch(&mut self) {
        use inotify::{CreateFlags, WatchFlags};
        self.retry = false;
        let fd = match inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK) {
            Ok(fd) => fd,
            // Out of inotify instances: polling still works.
            Err(_) => return,
        };
        let flags = WatchFlags::MODIFY
            | WatchFlags::CREATE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::DELETE
            | WatchFlags::CLOSE_WRITE;
        match inotify::add_watch(&fd, &self.dir, flags) {
            Ok(_) => self.inotify = Some(fd),
            Err(e) => self.retry = e == rustix::io::Errno::NOENT,
        }
    }

    fn wait(&mut self) {
        if self.inotify.is_none() && self.retry {
            self.watch();
        }
        let Some(fd) = &self.inotify else {
            std::thread::sleep(POLL_INTERVAL);
            return;
        };
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(POLL_INTERVAL.subsec_nanos()),
        };
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        if let Ok(n) = poll(&mut fds, Some(&timeout)) {
            if n > 0 {
                // Only the wake-up matters; drop the events.
                let mut buf = [0u8; 1024];
                while matches!(rustix::io::read(fd.as_fd(), &mut buf), Ok(n) if n > 0) {}
            }
        }
    }
}

/// Follow-mode state of a [`LogReader`].
pub(crate) struct Follow {
    waker: Waker,
    /// A stop was seen; the next time the log is found with nothing new, the read ends.
    stop_seen: bool,
    /// The followed file was rotated away and is being read to its end one last time.
    draining: bool,
    /// The followed file, rotated away while no new current file existed yet.
    lost: Option<LogFile>,
}

impl Follow {
    pub(crate) fn new(base: &Path) -> Self {
        let dir = match base.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Follow {
            waker: Waker::new(dir),
            stop_seen: false,
            draining: false,
            lost: None,
        }
    }
}

impl LogReader {
    /// Decides whether a followed read is over, after nothing new was found. A stop is
    /// only honoured after one more look at the log, so that what was written before the
    /// stop is read.
    fn idle(&mut self) -> bool {
        let state = self.stop.state();
        let until_passed = self.filter.until.is_some_and(|u| Utc::now() > u);
        let Some(follow) = &mut self.follow else {
            return true;
        };
        if state == CANCELLED || follow.stop_seen || until_passed {
            return true;
        }
        if state == STOPPED {
            follow.stop_seen = true;
        } else {
            follow.waker.wait();
        }
        false
    }

    /// The followed file has no complete record left.
    pub(crate) fn follow_at_end(&mut self) -> Result<(), LogError> {
        if self.stop.state() == CANCELLED {
            self.done = true;
            return Ok(());
        }
        let (Some(active), Some(follow)) = (&mut self.active, &mut self.follow) else {
            return Ok(());
        };
        let now = files::current_meta(&self.base)?;
        if let Some((_, len)) = now.filter(|(ino, _)| *ino == active.ino) {
            follow.draining = false;
            let read = active.records.read_end();
            if len < read {
                tracing::info!(path = %self.base.display(), "log file was truncated; reading it from the start");
                active.records.rewind();
            } else if len == read && self.idle() {
                self.done = true;
            }
            return Ok(());
        }
        if !follow.draining {
            // Rotated away: anything appended before the rename is still to be read.
            follow.draining = true;
            return Ok(());
        }
        follow.draining = false;
        active.records.finish();
        let size = active
            .records
            .plain_file()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        let Some(active) = self.active.take() else {
            return Ok(());
        };
        let old = match active.records.plain_file().map(|f| f.try_clone()) {
            Some(Ok(file)) => Some(LogFile {
                path: active.path,
                file,
                gz: false,
                ino: active.ino,
                size,
                source: None,
                last_time: None,
            }),
            _ => None,
        };
        if let Some(f) = &mut self.follow {
            f.lost = old;
        }
        self.follow_without_file()
    }

    /// Following, with no file open: open the current file when it exists (first the
    /// files rotated since the one last followed, if any), else wait for it.
    pub(crate) fn follow_without_file(&mut self) -> Result<(), LogError> {
        if self.stop.state() == CANCELLED {
            self.done = true;
            return Ok(());
        }
        let lost = self.follow.as_mut().and_then(|f| f.lost.take());
        let Some((missed, current)) =
            files::reopen_after(&self.base, self.max_file, lost.as_ref())?
        else {
            // Keep looking for files rotated after the lost one once a current file appears.
            if let Some(f) = &mut self.follow {
                f.lost = lost;
            }
            if self.idle() {
                self.done = true;
            }
            return Ok(());
        };
        for file in missed {
            self.queue.push_back(Queued {
                file,
                start: Start::Offset(0),
                live: false,
            });
        }
        self.queue.push_back(Queued {
            file: current,
            start: Start::Offset(0),
            live: true,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn cancel_overrides_stop_and_stop_does_not_undo_cancel() {
        let h = StopHandle::new();
        let h2 = h.clone();
        assert_eq!(h.state(), RUNNING);
        h2.stop();
        assert_eq!(h.state(), STOPPED);
        h.cancel();
        h2.stop();
        assert_eq!(h.state(), CANCELLED);
    }

    #[test]
    fn a_waker_returns_within_the_poll_interval_or_on_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Waker::new(dir.path().to_path_buf());
        assert!(w.inotify.is_some());
        let t = Instant::now();
        w.wait();
        // Nothing happened: the whole interval passed (an upper bound would only measure
        // how busy the machine is).
        assert!(t.elapsed() >= POLL_INTERVAL / 2, "{:?}", t.elapsed());
        std::fs::write(dir.path().join("x"), b"1").unwrap();
        let pending = |w: &Waker| {
            let mut fds = [PollFd::new(w.inotify.as_ref().unwrap(), PollFlags::IN)];
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            poll(&mut fds, Some(&zero)).unwrap()
        };
        assert_eq!(pending(&w), 1, "a change wakes the waker");
        w.wait();
        assert_eq!(pending(&w), 0, "wait consumed the events");
        // A directory that does not exist yet falls back to sleeping, and is watched
        // once it appears.
        let later = dir.path().join("later");
        let mut w = Waker::new(later.clone());
        assert!(w.inotify.is_none());
        std::fs::create_dir(&later).unwrap();
        w.wait();
        assert!(w.inotify.is_some());
    }
}
