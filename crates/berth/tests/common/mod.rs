//! The integration-test harness: a real `berth daemon` on a private data root and socket,
//! driven through the CLI binary and raw HTTP, plus test images made from Debian's
//! busybox-static. Everything a test creates lives under its temporary directory and is
//! removed (daemon stopped, mounts detached) when the harness drops.
#![allow(dead_code, clippy::unwrap_used)]

pub mod docker;
pub mod http;
pub mod images;
pub mod net;
pub mod pty;
pub mod registry;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BERTH: &str = env!("CARGO_BIN_EXE_berth");

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
    env: Vec<(String, String)>,
}

/// The result of a CLI run.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Daemon {
    pub fn start() -> Daemon {
        Daemon::start_with(&[])
    }

    /// A daemon with the busybox test image loaded as `busybox:latest`.
    pub fn with_busybox() -> Daemon {
        let d = Daemon::start();
        d.load(&images::docker_archive(&[
            images::Image::busybox().tagged("busybox:latest")
        ]));
        d
    }

    /// Starts a daemon with extra flags, waiting until its socket answers.
    pub fn start_with(extra: &[&str]) -> Daemon {
        Daemon::start_with_env(extra, &[])
    }

    /// Starts a daemon with extra flags and environment variables.
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("berth-test-")
            .tempdir()
            .unwrap();
        let socket = dir.path().join("exec/berth.sock");
        let mut d = Daemon {
            dir,
            socket,
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        d.launch();
        d
    }

    /// A cgroup parent of this engine's own, so parallel test engines never touch each
    /// other's containers.
    pub fn cgroup_parent(&self) -> String {
        let name = self
            .dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("berth-test-{name}")
    }

    /// The default bridge of this engine: one of its own, so parallel test engines never
    /// share a bridge, a subnet or a firewall table.
    pub fn bridge(&self) -> String {
        if let Some(i) = self.extra.iter().position(|a| a == "--bridge") {
            return self.extra[i + 1].clone();
        }
        let name = self.cgroup_parent();
        format!("bt-{}", name.trim_start_matches("berth-test-berth-test-"))
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn exec_root(&self) -> PathBuf {
        self.dir.path().join("exec")
    }

    /// The network namespace files under the exec root. While the engine runs it keeps one
    /// more than its running containers own: a spare, made ahead for the next start on a
    /// bridge network (at engine start, and after each such start).
    pub fn netns_files(&self) -> Vec<String> {
        list_dir(&self.exec_root().join("netns"))
    }

    /// Whether no container's namespace is left: only the engine's spare.
    pub fn only_the_spare_netns(&self) -> bool {
        self.netns_files().len() == 1
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    pub fn daemon_command(&self) -> Command {
        let mut cmd = Command::new(BERTH);
        cmd.arg("daemon")
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.exec_root())
            .arg("--config-file")
            .arg(self.dir.path().join("daemon.json"))
            .arg("-H")
            .arg(self.host())
            .arg("--cgroup-parent")
            .arg(self.cgroup_parent());
        if !self.extra.iter().any(|a| a == "--bridge") {
            cmd.arg("--bridge").arg(self.bridge());
        }
        cmd.args(&self.extra);
        cmd
    }

    fn launch(&mut self) {
        let config = self.dir.path().join("daemon.json");
        if !config.exists() {
            std::fs::write(&config, "{}").unwrap();
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("daemon.log"))
            .unwrap();
        let child = self
            .daemon_command()
            .env("BERTH_LOG", "debug")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("daemon exited with {status}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("daemon did not come up:\n{}", self.log());
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on a pid we spawned and have not reaped.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// SIGTERM and wait; returns the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        // SAFETY: as in `signal`.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(s) = child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Starts again after a crash (the socket file may still be there).
    pub fn relaunch(&mut self) {
        self.launch();
    }

    pub fn cli(&self) -> Command {
        let mut cmd = Command::new(BERTH);
        cmd.env_remove("BERTH_HOST")
            .env_remove("DOCKER_HOST")
            .arg("-H")
            .arg(self.host());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cli().args(args).stdin(Stdio::null()).output().unwrap())
    }

    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .cli()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run::from(out)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.status, 0,
            "berth {args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// Runs and asserts failure; returns the run.
    pub fn fails(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_ne!(
            r.status, 0,
            "berth {args:?} succeeded unexpectedly:\n{}",
            r.stdout
        );
        r
    }

    /// Raw HTTP against the API socket.
    pub fn api(&self, method: &str, path: &str, body: &[u8]) -> http::Response {
        http::request(&self.socket, method, path, &[], body)
    }

    /// Loads `archive` and returns the CLI output.
    pub fn load(&self, archive: &[u8]) -> String {
        let r = self.run_stdin(&["load"], archive);
        assert_eq!(r.status, 0, "load failed: {}", r.stderr);
        r.stdout
    }

    pub fn image_id(&self, name: &str) -> String {
        self.ok(&["image", "inspect", "-f", "{{.Id}}", name])
            .trim()
            .to_string()
    }

    /// Files (recursively) under the data root, for "nothing was left behind" checks.
    pub fn blobs(&self) -> Vec<String> {
        list_dir(&self.data_root().join("content/blobs/sha256"))
    }

    pub fn layers(&self) -> Vec<String> {
        list_dir(&self.data_root().join("layers/layers"))
    }
}

/// Waits until `f` holds, for up to 20 seconds; panics naming `what` if it never does.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Detaches every mount under `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let prefix = dir.to_string_lossy().to_string();
    let mut points: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let c = std::ffi::CString::new(p).unwrap();
        // SAFETY: umount2 with a valid NUL-terminated path.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Containers outlive their engine by design: remove them while it still runs.
        if self.child.is_some() {
            let ids = self.run(&["ps", "-aq", "--no-trunc"]).stdout;
            for id in ids.split_whitespace() {
                let _ = self.run(&["rm", "-f", id]);
            }
        }
        self.stop();
        kill_processes_mentioning(self.dir.path());
        // An engine that crashed with containers running left its bridges and firewall
        // table; one more start and clean stop, with nothing running now, removes them.
        if Path::new("/sys/class/net").join(self.bridge()).exists() && self.data_root().exists() {
            self.launch();
            self.stop();
        }
        unmount_under(self.dir.path());
        remove_cgroup_parent(&self.cgroup_parent());
    }
}

/// Kills every process whose command line names `dir` (shims left by a crashed engine).
pub fn kill_processes_mentioning(dir: &Path) {
    let needle = dir.to_string_lossy().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for p in procs.flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) && pid != std::process::id() as i32 {
            // SAFETY: kill(2) on a process of this test's own making.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Removes an (empty) cgroup parent from every hierarchy.
pub fn remove_cgroup_parent(parent: &str) {
    let Ok(dirs) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let mut roots: Vec<PathBuf> = dirs.flatten().map(|d| d.path()).collect();
    roots.push(PathBuf::from("/sys/fs/cgroup"));
    for root in roots {
        let dir = root.join(parent);
        if dir.is_dir() {
            // Leftover container cgroups inside first (their processes are gone).
            if let Ok(children) = std::fs::read_dir(&dir) {
                for c in children.flatten().filter(|c| c.path().is_dir()) {
                    let _ = std::fs::remove_dir(c.path());
                }
            }
            let _ = std::fs::remove_dir(&dir);
        }
    }
}

/// Asserts `haystack` contains `needle`, showing both when it does not.
#[track_caller]
pub fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected {needle:?} in:\n{haystack}"
    );
}
