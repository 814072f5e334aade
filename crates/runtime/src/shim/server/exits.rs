//! How the shim's processes end: their exit status collected, their output drained, their
//! exit announced to the connections waiting for it (or attached to them), and, for the
//! container's own process, the log flushed, the cgroup released and the exit recorded.

use std::time::Instant;

use chrono::Utc;

use super::{Role, Server, DRAIN, EXITED_EXECS};
use crate::shim::process::Proc;
use crate::shim::protocol::{ExitRecord, Reply};

impl Server {
    /// Collects a process's exit status.
    pub(super) fn reap(&mut self, index: usize) {
        let Some(exit_code) = self.proc(index).reap() else {
            return;
        };
        let oom_killed = index == 0 && self.hooks.oom_killed();
        let p = self.proc_mut(index);
        p.exit = Some(ExitRecord {
            pid: p.pid,
            exit_code,
            oom_killed,
            finished_at: Utc::now(),
        });
        p.close_stdin();
        // Whatever is still in the streams is read on the next rounds.
        p.drain_deadline = Some(Instant::now() + DRAIN);
    }

    /// Finishes the processes that have exited and whose output has drained.
    pub(super) fn settle(&mut self) {
        let now = Instant::now();
        let ended = |p: &Proc| {
            p.exit.is_some() && (p.open.is_empty() || p.drain_deadline.is_some_and(|d| now >= d))
        };
        // The container's own process waits for its output to end; the main loop gives up
        // on it at its deadline.
        if self.init.exit.is_some() && self.init.open.is_empty() {
            self.finish_init();
        }
        let mut i = 0;
        while i < self.execs.len() {
            if ended(&self.execs[i].1) {
                let (id, p) = self.execs.remove(i);
                self.finish_exec(id, p);
            } else {
                i += 1;
            }
        }
    }

    /// Sends `exit` to the connections waiting for (or attached to) process `exec`.
    fn announce(&mut self, exec: &Option<String>, exit: &ExitRecord) {
        let reply = Reply {
            exit: Some(exit.clone()),
            ..Default::default()
        };
        let line = serde_json::to_vec(&reply).unwrap_or_default();
        for c in &mut self.clients {
            match &c.role {
                Role::Waiting { exec: e } if e == exec => {
                    c.out.extend_from_slice(&line);
                    c.out.push(b'\n');
                    c.role = Role::Closing;
                }
                Role::Attach { exec: e, .. } if e == exec => c.role = Role::Closing,
                _ => {}
            }
        }
    }

    fn finish_exec(&mut self, id: String, p: Proc) {
        let Some(exit) = p.exit.clone() else { return };
        // Dropping the process closes the shim's ends of its streams.
        drop(p);
        let exec = Some(id.clone());
        self.announce(&exec, &exit);
        if self.exited_execs.len() >= EXITED_EXECS {
            self.exited_execs.pop_front();
        }
        self.exited_execs.push_back((id, exit));
    }

    /// After the container's exit (once): flush the log, release its resources, record the
    /// exit, and answer every waiter and attached connection.
    pub(super) fn finish_init(&mut self) {
        let Some(exit) = self.init.exit.clone() else {
            return;
        };
        if self.init.finished {
            return;
        }
        self.init.finished = true;
        self.hooks.finish(&exit);
        self.announce(&None, &exit);
    }
}
