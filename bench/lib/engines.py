"""Engines under test, behind one interface: start/stop a private daemon, run its CLI against
it, and name the processes whose memory counts as the engine's.

Each engine gets its own data root, exec root, socket, pidfile and (empty) configuration file
inside the workspace, so it never meets the host's engines or their configuration.
"""

import os
import resource
import signal
import subprocess
import time

KIB = 1024


class CommandError(RuntimeError):
    def __init__(self, engine, args, proc):
        tail = (proc.stderr or proc.stdout or b"").decode(errors="replace").strip()[-2000:]
        super().__init__(f"{engine}: `{' '.join(args)}` exited {proc.returncode}: {tail}")


class Engine:
    """A daemon plus the CLI that drives it. Subclasses say how to start the daemon."""

    name = "engine"
    cli_env_drop = ("DOCKER_HOST", "DOCKER_CONTEXT", "BERTH_HOST", "DOCKER_TLS_VERIFY")

    def __init__(self, workspace, cli):
        self.root = os.path.join(workspace, self.name.lower())
        self.data_root = os.path.join(self.root, "data")
        self.exec_root = os.path.join(self.root, "exec")
        self.socket = os.path.join(self.root, "engine.sock")
        self.pidfile = os.path.join(self.root, "engine.pid")
        self.config_file = os.path.join(self.root, "config.json")
        self.log_path = os.path.join(self.root, "daemon.log")
        self.cli_path = cli
        self.proc = None
        self._log = None
        self.last_cpu = None  # (daemon, CLI) CPU seconds of the last timed() command
        self.env = {k: v for k, v in os.environ.items() if k not in self.cli_env_drop}

    # -- what subclasses provide -------------------------------------------------------
    def daemon_command(self):
        raise NotImplementedError

    def processes(self):
        """{label: pid} of the processes that make up the idle engine."""
        return {"daemon": self.pid()}

    def versions(self):
        return {}

    def host_side(self, argv):
        """`argv`, made to run where this engine's published ports answer (the host's
        network namespace unless the engine lives in another)."""
        return list(argv)

    def shim_pids(self):
        """The pids of the processes the engine keeps per running container: the parent of
        each container's first process (Berth's shim; Docker's containerd-shim)."""
        ids = [i.decode() for i in self.cli("ps", "-q", "--no-trunc").stdout.split()]
        if not ids:
            return []
        pids = self.cli("inspect", "-f", "{{.State.Pid}}", *ids).stdout.split()
        return sorted({parent_pid(int(p)) for p in pids})

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout=60):
        for d in (self.data_root, self.exec_root):
            os.makedirs(d, mode=0o711)
        with open(self.config_file, "w") as f:
            f.write("{}\n")
        self._log = open(self.log_path, "wb")
        # A session of its own: a Ctrl-C at the terminal reaches the harness, which then
        # stops the daemon in order, instead of killing it half-way.
        self.proc = subprocess.Popen(self.daemon_command(), stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} daemon exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            if os.path.exists(self.socket) and self.cli("version", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} daemon not ready after {timeout}s:\n" + self.log_tail())

    def remove_containers(self):
        """Removes every container (`rm -f`), as a benchmark that failed half-way may leave
        some behind."""
        ids = self.cli("ps", "-aq", "--no-trunc").stdout.split()
        for i in range(0, len(ids), 100):
            self.cli("rm", "-f", *[c.decode() for c in ids[i:i + 100]], check=False)

    def stop(self, timeout=60):
        """Removes the containers (Berth's outlive their engine by design), then SIGTERM,
        wait; SIGKILL only if the daemon ignores it. Safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.remove_containers()
            except (OSError, CommandError) as e:
                print(f"warning: removing {self.name}'s containers: {e}")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"warning: {self.name} daemon ignored SIGTERM for {timeout}s; killing it")
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None

    def pid(self):
        """The daemon's pid, as its pidfile says (it may differ from the process we started
        if the daemon re-executes itself)."""
        try:
            with open(self.pidfile) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return self.proc.pid

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # -- driving it --------------------------------------------------------------------
    def cli(self, *args, check=True):
        proc = subprocess.run([self.cli_path, "-H", "unix://" + self.socket, *args],
                              env=self.env, stdin=subprocess.DEVNULL, capture_output=True)
        if check and proc.returncode != 0:
            raise CommandError(self.name, args, proc)
        return proc

    def timed(self, *args):
        """Seconds of wall-clock time one CLI command takes, end to end. The CPU time the
        daemon and the CLI spent on it is left in last_cpu, to tell where the time went."""
        daemon0, cli0 = self.cpu_seconds(), _children_cpu()
        start = time.perf_counter()
        self.cli(*args)
        wall = time.perf_counter() - start
        self.last_cpu = (self.cpu_seconds() - daemon0, _children_cpu() - cli0)
        return wall

    def cpu_seconds(self):
        return sum(cpu_seconds(pid) for pid in self.processes().values())

    def rss(self, field="VmRSS"):
        """{label: bytes} of resident memory (or another /proc status field), per process."""
        return {label: rss_bytes(pid, field) for label, pid in self.processes().items()}


class Berth(Engine):
    """Berth's daemon, on the host. Its default bridge gets a name of this run's own
    (`bb-<pid>`, and so the nftables table `berth-bb-<pid>`), so it meets neither a Berth
    running on the host nor another benchmark run; a clean stop with no container running
    removes both."""

    name = "Berth"

    def __init__(self, workspace, binary):
        super().__init__(workspace, binary)
        self.binary = binary
        self.bridge = f"bb-{os.getpid()}"[:15]

    def daemon_command(self):
        return [self.binary, "daemon", "--data-root", self.data_root, "--exec-root",
                self.exec_root, "-H", "unix://" + self.socket, "--pidfile", self.pidfile,
                "--config-file", self.config_file, "--bridge", self.bridge]

    def versions(self):
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return {"berth": out.stdout.strip() or out.stderr.strip()}




class Docker(Engine):
    """dockerd beside Berth. It launches its own containerd, whose memory counts too.

    dockerd runs in a network namespace of its own (`unshare --net`, loopback brought up
    first), with its default bridge and iptables on as a stock dockerd has them: its docker0,
    its veths, its iptables rules and its docker-proxies live in that namespace and go with
    it when dockerd and what it launched exit. The host's links and firewall are untouched.
    The CLI reaches dockerd over its unix socket as before; a client that must reach
    Docker's published ports runs in the namespace (`host_side`).

    A few host paths are outside any flag's reach (dockerd's trust key, containerd's shim
    socket directory); whichever of them did not exist before the start is removed after
    the stop, if dockerd left it empty (or, for the key, if dockerd created it)."""

    name = "Docker"
    HOST_PATHS = ("/etc/docker/key.json", "/etc/docker", "/run/docker/plugins", "/run/docker",
                  "/run/containerd/s", "/run/containerd", "/var/lib/docker",
                  "/var/lib/containerd")  # children before parents

    def __init__(self, workspace, dockerd, cli):
        super().__init__(workspace, cli)
        self.dockerd = dockerd
        tag = f"berthbench{os.getpid()}"
        self.namespaces = (tag, tag + "p")
        self.env["DOCKER_CONFIG"] = os.path.join(self.root, "client-config")
        self._containerd = None
        self._netns = None  # inode of dockerd's network namespace
        self._absent = []
        self.removed = []
        self.left_in_netns = []  # pids still in that namespace after the stop

    def daemon_command(self):
        # No --fork: sh and then dockerd replace unshare, so the pid we started is dockerd's.
        return ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                self.dockerd, "--data-root", self.data_root, "--exec-root", self.exec_root,
                "-H", "unix://" + self.socket, "--pidfile", self.pidfile,
                "--config-file", self.config_file,
                "--containerd-namespace", self.namespaces[0],
                "--containerd-plugins-namespace", self.namespaces[1]]

    def host_side(self, argv):
        return ["nsenter", f"--net=/proc/{self.pid()}/ns/net", "--", *argv]

    def start(self, timeout=60):
        self._absent = [p for p in self.HOST_PATHS if not os.path.lexists(p)]
        super().start(timeout)
        self._containerd = child_named(self.pid(), "containerd")
        self._netns = os.stat(f"/proc/{self.pid()}/ns/net").st_ino

    def processes(self):
        procs = {"dockerd": self.pid()}
        if self._containerd:
            procs["containerd"] = self._containerd
        return procs

    def stop(self, timeout=60):
        super().stop(timeout)
        # dockerd stops the containerd it launched; make sure, without touching anyone
        # else's containerd (the pid must still be ours: its command line names our root).
        pid, self._containerd = self._containerd, None
        if pid and self.root in cmdline(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.root in cmdline(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.root in cmdline(pid):
                os.kill(pid, signal.SIGKILL)
        # The namespace goes when its last process does; anything still in it (a shim,
        # a docker-proxy) keeps docker0 and its rules alive, so say so.
        if self._netns:
            self.left_in_netns = pids_in_netns(self._netns)
            self._netns = None
        for path in self._absent:
            try:
                if os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path):
                    os.rmdir(path)
                elif path.endswith("key.json") and os.path.isfile(path):
                    os.unlink(path)
                else:
                    continue
                self.removed.append(path)
            except OSError:
                pass
        self._absent = []


    def versions(self):
        def first_line(cmd):
            out = subprocess.run(cmd, capture_output=True, text=True)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        return {"dockerd": first_line([self.dockerd, "--version"]),
                "docker CLI": first_line([self.cli_path, "--version"])}


# -- /proc helpers -----------------------------------------------------------------------

def parent_pid(pid):
    with open(f"/proc/{pid}/stat") as f:
        # pid (comm) state ppid …; comm may hold spaces, so split after its last ')'.
        return int(f.read().rsplit(")", 1)[1].split()[1])


def rss_bytes(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * KIB
    raise RuntimeError(f"no {field} for pid {pid}")


def cpu_seconds(pid):
    """User + system CPU time of a process so far (its reaped children included)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def child_named(parent, comm):
    """The pid of a child of `parent` whose command name is `comm`, or None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == parent and name == comm:
            return int(entry)
    return None


def process_table():
    """{pid: (ppid, command name)} of every process on the host now."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        table[int(entry)] = (int(stat[stat.rindex(")") + 2:].split()[1]), name)
    return table


def added_processes(engine, before, after, own):
    """The processes in `after` but not in `before` that the engine started: descendants of
    its daemon (and containerd), or anything naming its workspace on the command line,
    except the `own` pids (a container's process and its shim) and their descendants."""
    roots = set(engine.processes().values())
    own = set(own)
    found = {}
    for pid, (_, name) in after.items():
        if pid in before or pid in own:
            continue
        p, seen, ours = pid, set(), engine.root in cmdline(pid)
        while p in after and p not in seen and p > 1:
            seen.add(p)
            if p in own:
                ours = False
                break
            if p in roots:
                ours = True
            p = after[p][0]
        if ours:
            found[pid] = name
    return found


def pids_in_netns(inode):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def mounts_under(root):
    """Mount points at or below `root`, deepest first."""
    root = os.path.realpath(root)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4]
            point = point.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            point = point.replace("\\134", "\\")
            if point == root or point.startswith(root + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def unmount_all(root):
    """Unmounts everything left below `root` (recursively, lazily if busy)."""
    for point in mounts_under(root):
        if subprocess.run(["umount", "-R", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-R", "-l", point], capture_output=True)
    return mounts_under(root)


def filesystem_of(path):
    """(fstype, device, mount point) of the filesystem holding `path`."""
    path = os.path.realpath(path)
    best = ("?", "?", "")
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, point, fstype = line.split()[:3]
            if (path == point or path.startswith(point.rstrip("/") + "/")) \
                    and len(point) >= len(best[2]):
                best = (fstype, dev, point)
    return best
