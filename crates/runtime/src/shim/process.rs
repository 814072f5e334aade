//! A process the shim owns — the container's own, or one started in it by `exec` — with its
//! standard streams, the input waiting to be written to it, and how it ended.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use super::protocol::ExitRecord;
use super::stdio::Streams;
use crate::linux::StartError;

pub struct Proc {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub streams: Streams,
    pub tty: bool,
    /// The output streams still open: 1 stdout, 2 stderr (a terminal has only 1).
    pub open: Vec<u8>,
    pub pending_stdin: Vec<u8>,
    pub exit: Option<ExitRecord>,
    /// Once it has exited: how long its output may still take to drain.
    pub drain_deadline: Option<Instant>,
    /// Its exit has been recorded and announced.
    pub finished: bool,
}

/// What one read of an output stream gave.
pub enum Read {
    Data(usize),
    Nothing,
    End,
}

impl Proc {
    pub fn new(pid: i32, pidfd: OwnedFd, streams: Streams, tty: bool) -> Proc {
        Proc {
            pid,
            pidfd,
            streams,
            tty,
            open: if tty { vec![1] } else { vec![1, 2] },
            pending_stdin: Vec::new(),
            exit: None,
            drain_deadline: None,
            finished: false,
        }
    }

    pub fn output_fd(&self, stream: u8) -> BorrowedFd<'_> {
        match (&self.streams, stream) {
            (Streams::Tty { master }, _) => master.as_fd(),
            (Streams::Pipes { stdout, .. }, 1) => stdout.as_fd(),
            (Streams::Pipes { stderr, .. }, _) => stderr.as_fd(),
        }
    }

    pub fn stdin_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.streams {
            Streams::Tty { master } => Some(master.as_fd()),
            Streams::Pipes { stdin, .. } => stdin.as_ref().map(|s| s.as_fd()),
        }
    }

    /// Reads one chunk of `stream` into `buf`; at its end the stream is no longer open.
    pub fn read_output(&mut self, stream: u8, buf: &mut [u8]) -> Read {
        let r = rustix::io::read(self.output_fd(stream), buf);
        match r {
            Ok(n) if n > 0 => Read::Data(n),
            Err(rustix::io::Errno::AGAIN) => Read::Nothing,
            // 0, or EIO: the terminal's other side is closed.
            _ => {
                self.open.retain(|s| *s != stream);
                Read::End
            }
        }
    }

    pub fn flush_stdin(&mut self) {
        let Some(fd) = self.stdin_fd() else {
            self.pending_stdin.clear();
            return;
        };
        match rustix::io::write(fd, &self.pending_stdin) {
            Ok(n) => {
                self.pending_stdin.drain(..n);
            }
            Err(rustix::io::Errno::AGAIN) => {}
            Err(_) => self.pending_stdin.clear(),
        }
    }

    /// Ends the process's input (a terminal has no end of input but its closing).
    pub fn close_stdin(&mut self) {
        if let Streams::Pipes { stdin, .. } = &mut self.streams {
            *stdin = None;
        }
        self.pending_stdin.clear();
    }

    /// Collects the exit status, if the process has exited: its code, or 128 + the signal
    /// that killed it.
    pub fn reap(&self) -> Option<i32> {
        let status = rustix::process::waitpid(
            rustix::process::Pid::from_raw(self.pid),
            rustix::process::WaitOptions::NOHANG,
        );
        match status {
            Ok(Some((_, s))) => Some(if let Some(code) = s.exit_status() {
                code
            } else if let Some(sig) = s.terminating_signal() {
                128 + sig
            } else {
                255
            }),
            _ => None,
        }
    }

    pub fn resize(&self, height: u16, width: u16) -> Result<(), StartError> {
        match &self.streams {
            Streams::Tty { master } => {
                let size = rustix::termios::Winsize {
                    ws_row: height,
                    ws_col: width,
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                };
                rustix::termios::tcsetwinsize(master, size)
                    .map_err(|e| StartError::os("resizing the terminal", e))
            }
            Streams::Pipes { .. } => Err(StartError::engine("the process has no terminal")),
        }
    }
}
