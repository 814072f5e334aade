"""The benchmarks. Each is a small function taking the shared context and one engine and
returning one sample; the runner alternates engines run by run (A B A B ...) so drift on the
machine (page cache, CPU frequency, a neighbour's load) falls on both alike.

To add one: write `prepare` (optional, untimed, once per engine) and `sample`, and append a
Benchmark to BENCHMARKS with its target.
"""

import dataclasses
import os
import shutil
import statistics
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

from . import images, registry
from .network import TCP_BYTES, TCP_PORT, TCP_SERVER, TCP_SHARE, free_ports, mib_s, \
    tcp_baseline, tcp_client
from .engines import added_processes, cpu_seconds, parent_pid, process_table

MIB = 1024 * 1024


@dataclasses.dataclass
class Target:
    """How a benchmark is judged: Berth's median at most `at_most`, and/or Docker/Berth at
    least `speedup` (which needs Docker; without it the verdict is n/a), and/or `judge`:
    what only the run itself can tell (a bound from a baseline or from another benchmark's
    median, a process count), `judge(ctx, berth median)` giving True, False or None (n/a)."""
    text: str
    at_most: Optional[float] = None
    speedup: Optional[float] = None
    judge: Optional[Callable] = None

    def met(self, berth, docker, ctx=None):
        if berth is None:
            return None
        if self.at_most is not None and berth > self.at_most:
            return False
        verdicts = []
        if self.judge is not None:
            verdicts.append(self.judge(ctx, berth))
        if self.speedup is not None:
            verdicts.append(None if docker is None else docker / berth >= self.speedup)
        if False in verdicts:
            return False
        return None if None in verdicts else True


@dataclasses.dataclass
class Benchmark:
    name: str
    what: str
    unit: str  # "s" or "bytes"
    sample: Callable
    target: Target
    prepare: Optional[Callable] = None
    repeat: bool = True  # False: one sample per engine, taken after the timed benchmarks
    finish: Optional[Callable] = None  # untimed, once per engine after the samples


@dataclasses.dataclass
class Context:
    workspace: str
    log: Callable
    notes: dict = dataclasses.field(default_factory=dict)  # (bench, engine) -> [str]
    cpu: dict = dataclasses.field(default_factory=dict)  # (bench, engine) -> [(daemon, cli)]
    made: dict = dataclasses.field(default_factory=dict)  # images generated so far
    samples: dict = dataclasses.field(default_factory=dict)  # bench -> engine -> [samples]
    baselines: dict = dataclasses.field(default_factory=dict)  # bench -> {what: value}
    measured: dict = dataclasses.field(default_factory=dict)  # (bench, engine) -> [values]
    state: dict = dataclasses.field(default_factory=dict)  # (bench, engine) -> anything

    def note(self, bench, engine, text):
        self.notes.setdefault((bench, engine.name), []).append(text)

    def median_of(self, bench, engine_name):
        """The median of another benchmark's samples so far in this run, or None."""
        got = self.samples.get(bench, {}).get(engine_name)
        return statistics.median(got) if got else None

    @property
    def image(self):
        """The 200 MiB, 5-layer image of load and save, generated on first use."""
        return self._make("image.tar", images.make_save_tarball)

    @property
    def busybox(self):
        """The busybox image the containers come from, generated on first use."""
        return self._make("busybox.tar", images.make_busybox_tarball)

    def _make(self, name, make):
        if name not in self.made:
            started = time.monotonic()
            info = make(os.path.join(self.workspace, name))
            self.log(f"generated {info.ref}: {len(info.diff_ids)} layers, {info.files} files, "
                     f"{info.content_bytes / MIB:.1f} MiB of content, archive "
                     f"{info.tar_bytes / MIB:.1f} MiB ({time.monotonic() - started:.1f} s)")
            self.made[name] = info
        return self.made[name]


def ensure_loaded(ctx, engine, image=None):
    image = image or ctx.image
    if engine.cli("image", "inspect", image.ref, check=False).returncode != 0:
        engine.cli("load", "-i", image.path)


# -- load ----------------------------------------------------------------------------------

def load_sample(ctx, engine):
    engine.cli("rmi", "-f", ctx.image.ref, check=False)  # cold: the engine holds no layer
    if engine.cli("image", "inspect", ctx.image.ref, check=False).returncode == 0:
        raise RuntimeError(f"{ctx.image.ref} still present after rmi -f")
    return engine.timed("load", "-i", ctx.image.path)


# -- save ----------------------------------------------------------------------------------

def save_sample(ctx, engine):
    out = os.path.join(ctx.workspace, f"save-{engine.name.lower()}.tar")
    if os.path.exists(out):
        os.unlink(out)
    seconds = engine.timed("save", "-o", out, ctx.image.ref)
    if ("save", engine.name) not in ctx.notes:  # look inside the first archive only
        ctx.note("save", engine, describe_archive(out))
    os.unlink(out)
    return seconds


def describe_archive(path):
    size = os.path.getsize(path)
    try:
        with tarfile.open(path) as tar:
            names = tar.getnames()
    except tarfile.TarError as e:
        return f"output is {size / MIB:.1f} MiB and not a readable tar: {e}"
    layers = sum(1 for n in names if n.endswith("layer.tar") or n.startswith("blobs/sha256/"))
    kind = "OCI layout + manifest.json" if "index.json" in names else "docker save layout"
    ok = "manifest.json" in names
    return (f"output {size / MIB:.1f} MiB, {len(names)} entries, {kind}"
            f"{'' if ok else ', NO manifest.json'}, {layers} blob/layer entries")


# -- idle resident memory ------------------------------------------------------------------

def rss_sample(ctx, engine):
    time.sleep(2)  # let the engine settle after the last request
    parts = engine.rss()
    if len(parts) > 1:
        ctx.note("rss", engine, ", ".join(f"{k} {v / MIB:.1f} MiB" for k, v in parts.items()))
    ctx.note("rss", engine, "peak during the whole run (VmHWM): " + ", ".join(
        f"{k} {v / MIB:.1f} MiB" for k, v in engine.rss("VmHWM").items()))
    return sum(parts.values())


# -- containers ------------------------------------------------------------------------------

NO_NETWORK = ("--network", "none")


def busybox_loaded(ctx, engine):
    ensure_loaded(ctx, engine, ctx.busybox)


def run_sample(ctx, engine):
    return engine.timed("run", "--rm", *NO_NETWORK, ctx.busybox.ref, "true")


CONCURRENT = 50


def concurrent_sample(ctx, engine):
    """50 `run -d` at once, each its own CLI process: the time until the last returns."""
    engine.remove_containers()
    args = ("run", "-d", *NO_NETWORK, ctx.busybox.ref, "sleep", "3600")
    daemon0 = engine.cpu_seconds()
    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        for proc in pool.map(lambda _: engine.cli(*args), range(CONCURRENT)):
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr.decode(errors="replace"))
    wall = time.perf_counter() - start
    engine.last_cpu = (engine.cpu_seconds() - daemon0, 0.0)
    running = len(engine.cli("ps", "-q").stdout.split())
    if running != CONCURRENT:
        raise RuntimeError(f"{running} of {CONCURRENT} containers running")
    engine.remove_containers()
    return wall


MANY = 1000


def many_created(ctx, engine):
    """1,000 created (never started) containers, made 8 at a time, untimed."""
    busybox_loaded(ctx, engine)
    engine.remove_containers()
    args = ("create", *NO_NETWORK, ctx.busybox.ref, "true")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: engine.cli(*args), range(MANY)))


def ps_sample(ctx, engine):
    seconds = engine.timed("ps", "-a")
    rows = len(engine.cli("ps", "-aq").stdout.split())
    if rows != MANY:
        raise RuntimeError(f"ps -a listed {rows} containers, not {MANY}")
    return seconds


SHIMS = 10


def shim_sample(ctx, engine):
    """Engine-side memory per running container: the processes the engine keeps per
    container (Berth's shim; Docker's containerd-shim-runc-v2), with 10 running. Reports
    the proportional set size (shared pages split among the processes sharing them); RSS
    and private memory are noted beside it."""
    engine.remove_containers()
    busybox_loaded(ctx, engine)
    for _ in range(SHIMS):
        engine.cli("run", "-d", *NO_NETWORK, ctx.busybox.ref, "sleep", "3600")
    time.sleep(1)
    shims = engine.shim_pids()
    if len(shims) != SHIMS:
        raise RuntimeError(f"{len(shims)} shim processes for {SHIMS} containers")
    pss = sum(smaps_field(p, "Pss") for p in shims) / SHIMS
    rss = sum(smaps_field(p, "Rss") for p in shims) / SHIMS
    private = sum(smaps_field(p, "Private_Clean") + smaps_field(p, "Private_Dirty")
                  for p in shims) / SHIMS
    ctx.note("shim", engine, f"per container: RSS {rss / MIB:.2f} MiB, private "
             f"{private / MIB:.2f} MiB, PSS {pss / MIB:.2f} MiB ({len(shims)} shims)")
    engine.remove_containers()
    return pss


def smaps_field(pid, field):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


# -- networking ------------------------------------------------------------------------------

def run_bridge_sample(ctx, engine):
    """`run --rm … true` on the default bridge: the same as `run`, plus the engine's
    network set-up and tear-down (namespace, veth, address, firewall)."""
    return engine.timed("run", "--rm", ctx.busybox.ref, "true")


def tcp_prepare(ctx, engine):
    """The server container, published on 127.0.0.1 only, and (once) the baseline."""
    busybox_loaded(ctx, engine)
    engine.remove_containers()
    if "tcp" not in ctx.baselines:  # once per run
        base = ctx.baselines["tcp"] = tcp_baseline()
        ctx.note("tcp", engine, "baseline, host loopback (busybox nc on 127.0.0.1, same "
                 f"client): {', '.join(f'{s:.2f} s' for s in base['samples'])}; median "
                 f"{base['median']:.2f} s = {mib_s(base['median'])}; the target is "
                 f"≤ {base['median'] / TCP_SHARE:.2f} s "
                 f"(≥ {TCP_BYTES / MIB * TCP_SHARE / base['median']:.0f} MiB/s)")
    port = free_ports(1)[0]
    before = process_table()
    cid = engine.cli("run", "-d", "-p", f"127.0.0.1:{port}:{TCP_PORT}", ctx.busybox.ref,
                     *TCP_SERVER).stdout.decode().strip()
    tcp_client(engine.host_side([]), port, 0, wait=10)
    pid = int(engine.cli("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    helpers = added_processes(engine, before, process_table(), (pid, parent_pid(pid)))
    ctx.state[("tcp", engine.name)] = {"port": port, "cid": cid, "helpers": helpers,
                                       "cpu": []}
    ctx.measured[("tcp", engine.name)] = [len(helpers)]


def tcp_sample(ctx, engine):
    """1 GiB into the published port; the client's own elapsed time."""
    st = ctx.state[("tcp", engine.name)]
    cpu0 = sum(cpu_seconds(p) for p in st["helpers"])
    seconds = tcp_client(engine.host_side([]), st["port"], TCP_BYTES)
    st["cpu"].append(sum(cpu_seconds(p) for p in st["helpers"]) - cpu0)
    return seconds


def tcp_finish(ctx, engine):
    """Notes; and for reference one transfer straight to the container's address (bridge
    and veth, no port mapping), which tells the path's cost from the mapping's."""
    st = ctx.state.pop(("tcp", engine.name), None)
    if not st:
        engine.remove_containers()
        return
    ip = engine.cli("inspect", "-f", "{{.NetworkSettings.IPAddress}}",
                    st["cid"]).stdout.decode().strip()
    direct = tcp_client(engine.host_side([]), TCP_PORT, TCP_BYTES, host=ip)
    engine.remove_containers()
    ctx.note("tcp", engine, f"for reference, once, straight to the container's address "
             f"{ip}:{TCP_PORT} (no port mapping): {direct:.2f} s = {mib_s(direct)}")
    median = ctx.median_of("tcp", engine.name)
    base = ctx.baselines.get("tcp", {}).get("median")
    if median:
        ctx.note("tcp", engine, f"throughput (median): {mib_s(median)}"
                 + (f", {base / median * 100:.0f} % of host loopback" if base else ""))
    helpers = ", ".join(f"{n} (pid {p})" for p, n in sorted(st["helpers"].items()))
    ctx.note("tcp", engine, "processes the engine added on the host for the server "
             f"container, beyond its own and its shim: {len(st['helpers'])}"
             + (f", {helpers}" if helpers else "")
             + (f"; their CPU time per sample (median) "
                f"{statistics.median(st['cpu']):.2f} s" if st["helpers"] and st["cpu"]
                else ""))


def tcp_judge(ctx, berth):
    base = ctx.baselines.get("tcp", {}).get("median")
    return None if base is None else berth <= base / TCP_SHARE


PORTS = 200


def ports_sample(ctx, engine):
    """`run -d` publishing 200 ports; counts the processes the engine added on the host
    for it beyond the container's own and its shim. The same `run -d` with no port is timed
    beside it (untimed for the sample, kept for the verdict), so the cost of the ports is
    the difference."""
    engine.remove_containers()
    plain = engine.timed("run", "-d", ctx.busybox.ref, "sleep", "3600")
    ctx.measured.setdefault(("ports200-none", engine.name), []).append(plain)
    engine.remove_containers()
    ports = free_ports(PORTS)
    args = [a for i, h in enumerate(ports) for a in ("-p", f"{h}:{10000 + i}")]
    before = process_table()
    seconds = engine.timed("run", "-d", *args, ctx.busybox.ref, "sleep", "3600")
    last_cpu = engine.last_cpu
    time.sleep(0.5)  # anything started just after the CLI returned counts too
    after = process_table()
    cid = engine.cli("ps", "-q", "--no-trunc").stdout.split()
    if len(cid) != 1:
        raise RuntimeError(f"{len(cid)} containers running, not 1")
    pid = int(engine.cli("inspect", "-f", "{{.State.Pid}}", cid[0].decode()).stdout)
    added = added_processes(engine, before, after, (pid, parent_pid(pid)))
    published = {int(line.rsplit(":", 1)[1]) for line in
                 engine.cli("port", cid[0].decode()).stdout.decode().splitlines()
                 if ":" in line}
    if published != set(ports):
        raise RuntimeError(f"`port` lists {len(published)} host ports, "
                           f"{len(published & set(ports))} of the {PORTS} asked for")
    ctx.measured.setdefault(("ports200", engine.name), []).append(len(added))
    kinds = {}
    for name in added.values():
        kinds[name] = kinds.get(name, 0) + 1
    ctx.state.setdefault(("ports200", engine.name), []).append(kinds)
    engine.remove_containers()
    engine.last_cpu = last_cpu
    return seconds


def ports_finish(ctx, engine):
    counts = ctx.measured.get(("ports200", engine.name), [])
    kinds = ctx.state.pop(("ports200", engine.name), [])
    if counts:
        names = {}
        for k in kinds:
            for n in k:
                names[n] = max(names.get(n, 0), k[n])
        what = " (" + ", ".join(f"{n} × {c}" for n, c in sorted(names.items())) + ")" \
            if names else ""
        ctx.note("ports200", engine, "processes added on the host beyond the container's and "
                 f"its shim, per sample: {', '.join(map(str, counts))}{what}")
    median = ctx.median_of("ports200", engine.name)
    plain = ctx.measured.get(("ports200-none", engine.name), [])
    if median and plain:
        base = sorted(plain)[len(plain) // 2]
        ctx.note("ports200", engine, f"{(median - base) * 1000:+.1f} ms against the same "
                 f"`run -d` with no port (median {base * 1000:.0f} ms), {median / base:.2f}×")


def ports_judge(ctx, berth):
    counts = ctx.measured.get(("ports200", "Berth"))
    if not counts or max(counts) > 0:
        return False if counts else None
    plain = ctx.measured.get(("ports200-none", "Berth"), [])
    if not plain:
        return None
    return berth <= sorted(plain)[len(plain) // 2] + 0.005


# -- volumes ---------------------------------------------------------------------------------

MOUNTS = 10  # named volumes, and as many bind mounts
MOUNTS_OVER = 0.002  # the target: at most this much over the same run with no mounts
MOUNTS_PREFIX = "bench-mounts20-v"


def mounts_dirs(ctx, engine):
    return [os.path.join(ctx.workspace, f"mounts20-{engine.name.lower()}", f"b{i}")
            for i in range(MOUNTS)]


def mounts_prepare(ctx, engine):
    """The 10 named volumes (`volume create`) and the 10 host directories, untimed."""
    busybox_loaded(ctx, engine)
    engine.remove_containers()
    for i in range(MOUNTS):
        engine.cli("volume", "create", f"{MOUNTS_PREFIX}{i}")
    for d in mounts_dirs(ctx, engine):
        os.makedirs(d)


def mounts_sample(ctx, engine):
    """`run --rm` with 10 named volumes and 10 binds, and beside it the same run with none,
    the order of the two swapped every sample so neither always goes first. The sample is
    the run with the mounts; the plain run's time is kept for the comparison."""
    mounts = [a for i in range(MOUNTS) for a in ("-v", f"{MOUNTS_PREFIX}{i}:/v{i}")]
    mounts += [a for i, d in enumerate(mounts_dirs(ctx, engine)) for a in ("-v", f"{d}:/b{i}")]
    plain_args = ("run", "--rm", *NO_NETWORK, ctx.busybox.ref, "true")
    mounted_args = ("run", "--rm", *NO_NETWORK, *mounts, ctx.busybox.ref, "true")
    pairs = ctx.state.setdefault(("mounts20", engine.name), [])
    if len(pairs) % 2 == 0:
        plain = engine.timed(*plain_args)
        os.sync()
        mounted = engine.timed(*mounted_args)
    else:
        mounted = engine.timed(*mounted_args)
        last_cpu = engine.last_cpu
        os.sync()
        plain = engine.timed(*plain_args)
        engine.last_cpu = last_cpu
    pairs.append((plain, mounted))
    ctx.measured.setdefault(("mounts20", engine.name), []).append(plain)
    return mounted


def mounts_finish(ctx, engine):
    """Checks that the named volumes and the host directories outlived the runs (`--rm`
    removes anonymous volumes only) and that no other volume appeared; notes the
    differences; removes the volumes and the directories."""
    names = set(engine.cli("volume", "ls", "-q").stdout.decode().split())
    ours = {f"{MOUNTS_PREFIX}{i}" for i in range(MOUNTS)}
    dirs = mounts_dirs(ctx, engine)
    missing = sorted(ours - names) + [d for d in dirs if not os.path.isdir(d)]
    if names - ours:
        ctx.note("mounts20", engine, f"{len(names - ours)} other volume(s) after the runs: "
                 f"{', '.join(sorted(names - ours)[:5])}")
    engine.cli("volume", "rm", *sorted(ours & names), check=False)
    left = ours & set(engine.cli("volume", "ls", "-q").stdout.decode().split())
    shutil.rmtree(os.path.dirname(dirs[0]), ignore_errors=True)
    pairs = ctx.state.pop(("mounts20", engine.name), [])
    if pairs:
        plain = statistics.median(p for p, _ in pairs)
        mounted = statistics.median(m for _, m in pairs)
        diffs = [m - p for p, m in pairs]
        ctx.note("mounts20", engine, "the same run with no mounts, taken beside each sample: "
                 + ", ".join(f"{p * 1000:.0f} ms" for p, _ in pairs)
                 + f"; median {plain * 1000:.0f} ms")
        ctx.note("mounts20", engine, "mounts minus none, per sample: "
                 + ", ".join(f"{d * 1000:+.1f} ms" for d in diffs)
                 + f"; difference of the medians {(mounted - plain) * 1000:+.1f} ms (the "
                 f"target: ≤ +{MOUNTS_OVER * 1000:.0f} ms); median of the per-sample "
                 f"differences {statistics.median(diffs) * 1000:+.1f} ms")
    if missing or left:
        raise RuntimeError(f"after the runs, missing: {missing or 'nothing'}; "
                           f"not removed: {sorted(left) or 'nothing'}")


def mounts_judge(ctx, berth):
    """Berth's median against that of its runs with no mounts, taken in the same benchmark."""
    plain = ctx.measured.get(("mounts20", "Berth"))
    return None if not plain else berth <= statistics.median(plain) + MOUNTS_OVER


VOLUMES = 1000
VOLUMES_PREFIX = "bench-df1000-"


def volume_names():
    return [f"{VOLUMES_PREFIX}{i:04d}" for i in range(VOLUMES)]


def volumes_created(ctx, engine):
    """1,000 volumes, made 8 at a time with `volume create`, untimed."""
    with ThreadPoolExecutor(8) as pool:
        for proc in pool.map(lambda n: engine.cli("volume", "create", n, check=False),
                             volume_names()):
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr.decode(errors="replace"))
    names = set(engine.cli("volume", "ls", "-q").stdout.decode().split())
    if not set(volume_names()) <= names:
        raise RuntimeError(f"volume ls lists {len(set(volume_names()) & names)} of the "
                           f"{VOLUMES} volumes created")


def df_sample(ctx, engine):
    return engine.timed("system", "df")


def volumes_finish(ctx, engine):
    """Notes what `system df` says of the volumes (its `Local Volumes` row), then removes
    them, 100 per `volume rm`, and checks none is left."""
    out = engine.cli("system", "df").stdout.decode(errors="replace")
    row = next((line.split() for line in out.splitlines() if line.startswith("Local Volumes")),
               None)
    if row is None:
        ctx.note("df1000", engine, "the output has no `Local Volumes` row")
    else:
        total = row[2] if len(row) > 2 else "?"
        ctx.note("df1000", engine, f"`Local Volumes` row: TOTAL {total} "
                 f"(of {VOLUMES} present){'' if total == str(VOLUMES) else ', volumes not counted'}"
                 f" — {' '.join(row)}")
    names = volume_names()
    for i in range(0, len(names), 100):
        engine.cli("volume", "rm", *names[i:i + 100], check=False)
    left = set(names) & set(engine.cli("volume", "ls", "-q").stdout.decode().split())
    if left:
        raise RuntimeError(f"{len(left)} of the {VOLUMES} volumes not removed")


# -- build ---------------------------------------------------------------------------------

BUILD_BIG = 50 * MIB
BUILD_DOCKERFILE = ("FROM {image}\n"
                    "RUN echo one > /one\n"
                    "COPY big.bin /data/big.bin\n"
                    "RUN md5sum /data/big.bin > /sum\n")
STAGES_DOCKERFILE = ("FROM {image} AS a\nRUN sleep 1 && echo a > /a\n"
                     "FROM {image} AS b\nRUN sleep 1 && echo b > /b\n"
                     "FROM {image} AS c\nRUN sleep 1 && echo c > /c\n"
                     "FROM {image}\nCOPY --from=a /a /a\nCOPY --from=b /b /b\nCOPY --from=c /c /c\n")


def build_context(ctx, name, dockerfile, big=False):
    """A context directory of the benchmark's own: the Dockerfile and, with `big`, a 50 MiB
    file of random bytes (made once per run)."""
    d = os.path.join(ctx.workspace, name)
    if not os.path.isdir(d):
        os.makedirs(d)
        if big:
            with open(os.path.join(d, "big.bin"), "wb") as f:
                f.write(os.urandom(BUILD_BIG))
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write(dockerfile.format(image=ctx.busybox.ref))
    return d


def build_env(engine):
    """The docker CLI's classic builder, the one Docker 20.10 builds with by default."""
    engine.env["DOCKER_BUILDKIT"] = "0"


def build_prepare(ctx, engine):
    busybox_loaded(ctx, engine)
    build_env(engine)
    build_context(ctx, "build-ctx", BUILD_DOCKERFILE, big=True)


def build_cold_sample(ctx, engine):
    """A build with nothing cached (`--no-cache`): two RUNs around a 50 MiB COPY."""
    d = build_context(ctx, "build-ctx", BUILD_DOCKERFILE, big=True)
    return engine.timed("build", "--no-cache", "-q", "-t", "bench-build:cold", d)


def build_noop_prepare(ctx, engine):
    build_prepare(ctx, engine)
    d = build_context(ctx, "build-ctx", BUILD_DOCKERFILE, big=True)
    engine.cli("build", "-q", "-t", "bench-build:noop", d)


def build_noop_sample(ctx, engine):
    """The same build again, every step cached."""
    d = build_context(ctx, "build-ctx", BUILD_DOCKERFILE, big=True)
    return engine.timed("build", "-q", "-t", "bench-build:noop", d)


def stages_prepare(ctx, engine):
    busybox_loaded(ctx, engine)
    build_env(engine)
    build_context(ctx, "stages-ctx", STAGES_DOCKERFILE)


def stages_sample(ctx, engine):
    """Three independent stages of a 1 s RUN each, then one that copies from all three."""
    d = build_context(ctx, "stages-ctx", STAGES_DOCKERFILE)
    return engine.timed("build", "--no-cache", "-q", d)


def build_finish(ctx, engine):
    engine.cli("rmi", "-f", "bench-build:cold", "bench-build:noop", check=False)
    engine.cli("image", "prune", "-f", check=False)


BENCHMARKS = [
    Benchmark("load", "`load -i` of a 5-layer, 200 MiB docker-save archive, cold", "s",
              load_sample, Target("≥ 3× faster than Docker", speedup=3)),
    Benchmark("save", "`save -o` of that image to a new file", "s",
              save_sample, Target("≥ 3× faster than Docker", speedup=3),
              prepare=ensure_loaded),
    Benchmark("run", "`run --rm --network none busybox true`, end to end", "s",
              run_sample, Target("≤ 20 ms and ≥ 20× faster than Docker", at_most=0.020,
                                 speedup=20), prepare=busybox_loaded),
    Benchmark("mounts20", f"`run --rm --network none busybox true` with {MOUNTS} named "
              f"volumes and {MOUNTS} binds", "s",
              mounts_sample, Target("≤ the same run with no mounts + 2 ms (medians)",
                                   judge=mounts_judge),
              prepare=mounts_prepare, finish=mounts_finish),
    Benchmark("run50", f"{CONCURRENT} × `run -d … sleep` started concurrently", "s",
              concurrent_sample, Target("faster than Docker", speedup=1),
              prepare=busybox_loaded),
    Benchmark("run-bridge", "`run --rm busybox true` on the default bridge, end to end", "s",
              run_bridge_sample, Target("≤ 20 ms", at_most=0.020), prepare=busybox_loaded),
    Benchmark("tcp", "1 GiB from the host into a published port (127.0.0.1)", "s",
              tcp_sample, Target(f"within {100 - TCP_SHARE * 100:.0f} % of host loopback "
                                 "throughput", judge=tcp_judge),
              prepare=tcp_prepare, finish=tcp_finish),
    Benchmark("ports200", f"`run -d` publishing {PORTS} ports (`-p H:C` each)", "s",
              ports_sample, Target("no process added, ≤ the same run -d with no port + 5 ms",
                                   judge=ports_judge), prepare=busybox_loaded,
              finish=ports_finish),
    Benchmark("ps", f"`ps -a` with {MANY} containers", "s",
              ps_sample, Target("≤ 50 ms", at_most=0.050), prepare=many_created,
              finish=lambda ctx, engine: engine.remove_containers()),
    Benchmark("df1000", f"`system df` with {VOLUMES} volumes", "s",
              df_sample, Target("≤ 100 ms", at_most=0.100), prepare=volumes_created,
              finish=volumes_finish),
    Benchmark("build-cold", "`build --no-cache`: two RUNs around a COPY of a 50 MiB file",
              "s", build_cold_sample, Target("≥ 4× faster than Docker", speedup=4),
              prepare=build_prepare, finish=build_finish),
    Benchmark("build-noop", "the same build again, every step cached", "s",
              build_noop_sample, Target("≤ 30 ms", at_most=0.030),
              prepare=build_noop_prepare, finish=build_finish),
    Benchmark("build-stages", "3 independent stages of a 1 s RUN each, then one copying "
              "from all three", "s", stages_sample,
              Target("about its longest stage: ≤ 2 s", at_most=2.0),
              prepare=stages_prepare, finish=build_finish),
    Benchmark("push", "`push` of a 4-layer, 100 MiB image to an empty registry on loopback "
              "(Berth's registry for Berth, distribution 2.8 for Docker)", "s",
              registry.push_sample, Target("≥ 3× faster than Docker", speedup=3),
              prepare=registry.push_prepare, finish=registry.registry_finish),
    Benchmark("pull", "`pull` of that image from its registry, cold", "s",
              registry.pull_sample, Target("≥ 3× faster than Docker", speedup=3),
              prepare=registry.pull_prepare, finish=registry.registry_finish),
    Benchmark("blob-get", "8 × GET of a 25 MiB blob from the engine's registry", "s",
              registry.blob_sample, Target("at least distribution's throughput", speedup=1),
              prepare=registry.blob_prepare, finish=registry.registry_finish),
    Benchmark("shim", "engine memory per running container (PSS of its shim)", "bytes",
              shim_sample, Target("≤ 2 MiB", at_most=2 * MIB), repeat=False),
    Benchmark("rss", "idle daemon resident memory (VmRSS), image present", "bytes",
              rss_sample, Target("≤ 20 MiB RSS", at_most=20 * MIB),
              prepare=ensure_loaded, repeat=False),
]
