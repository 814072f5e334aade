//! Shared harness of the cgroup tests: a private parent cgroup per test that is removed
//! (processes killed, directories deleted) when the test ends, pass or fail; child processes
//! that wait on stdin until they are inside the cgroup and are killed on drop; small readers.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use berth_runtime::cgroups::{Cgroup, Layout};

/// True when running as root; otherwise the caller skips (cgroups need root).
pub fn is_root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: cgroup tests need root");
    false
}

/// A parent cgroup unique to this test (`berth-test-<pid>-<n>`), removed with everything
/// under it on drop.
pub struct TestParent {
    pub layout: Layout,
    pub name: String,
}

impl TestParent {
    pub fn new(layout: Layout) -> TestParent {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "berth-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        TestParent { layout, name }
    }

    pub fn detected() -> TestParent {
        TestParent::new(Layout::detect().expect("detect cgroup layout"))
    }

    pub fn create(&self, id: &str) -> Cgroup {
        Cgroup::create(&self.layout, &self.name, id).expect("create cgroup")
    }
}

impl Drop for TestParent {
    fn drop(&mut self) {
        if let Err(e) = Cgroup::cleanup_stale(&self.layout, &self.name, &|_| false) {
            eprintln!("cleanup of {}: {e}", self.name);
        }
        if let Err(e) = Cgroup::remove_parent(&self.layout, &self.name) {
            eprintln!("removing parent {}: {e}", self.name);
        }
    }
}

/// A child process with piped stdio; by convention it blocks reading a line from stdin
/// until [`Proc::release`], so it can be put into a cgroup before it does its work.
pub struct Proc {
    child: Option<Child>,
}

impl Proc {
    pub fn spawn(program: &str, args: &[&str]) -> Proc {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
        Proc { child: Some(child) }
    }

    /// `sh -c script`, released by a line on stdin when the script reads one.
    pub fn sh(script: &str) -> Proc {
        Proc::spawn("/bin/sh", &["-c", script])
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn release(&mut self) {
        if let Some(stdin) = self.child.as_mut().and_then(|c| c.stdin.as_mut()) {
            stdin.write_all(b"go\n").expect("release child");
        }
    }

    /// Waits for the exit; returns status, stdout and stderr.
    pub fn wait(mut self) -> (ExitStatus, String, String) {
        let mut child = self.child.take().expect("child");
        drop(child.stdin.take());
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_string(&mut out);
        }
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let status = child.wait().expect("wait child");
        (status, out, err)
    }

    pub fn kill(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

pub fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

pub fn procs(dir: &Path) -> Vec<u32> {
    read(dir, "cgroup.procs")
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// Makes character device nodes in a fresh temp dir: (major, minor, name) each.
pub fn device_nodes(nodes: &[(u32, u32, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (major, minor, name) in nodes {
        let p = dir.path().join(name);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(*major, *minor),
        )
        .unwrap_or_else(|e| panic!("mknod {}: {e}", p.display()));
        paths.push(p);
    }
    (dir, paths)
}

/// A python child that, once released, opens each path read-only and prints
/// `<path> ok` or `<path> <errno>`.
pub fn opener(paths: &[PathBuf]) -> Proc {
    let script = concat!(
        "import os, sys\n",
        "sys.stdin.readline()\n",
        "for p in sys.argv[1:]:\n",
        "    try:\n",
        "        os.close(os.open(p, os.O_RDONLY))\n",
        "        print(p, 'ok')\n",
        "    except OSError as e:\n",
        "        print(p, e.errno)\n",
    );
    let mut args = vec!["-c", script];
    let strs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    args.extend(strs.iter().map(String::as_str));
    Proc::spawn(python(), &args)
}

/// Runs `opener` inside `cg` and returns what it printed for each path, in order.
pub fn open_results(cg: &Cgroup, paths: &[PathBuf]) -> Vec<String> {
    let mut p = opener(paths);
    cg.add_process(p.pid()).expect("add opener");
    p.release();
    let (status, out, err) = p.wait();
    assert!(status.success(), "opener failed: {err}");
    out.lines()
        .map(|l| l.rsplit(' ').next().unwrap_or("").to_string())
        .collect()
}
