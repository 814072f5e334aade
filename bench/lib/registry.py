"""The registry benchmarks: push and pull of a 100 MiB, 4-layer image over loopback, each
engine with its own registry — Berth's client with `berth registry serve`, Docker's with
distribution 2.8 (`docker-registry`, Debian's package) — and blob GET throughput of the two
registries serving the same file.
"""

import atexit
import os
import shutil
import socket
import subprocess
import time

from . import images

MIB = 1024 * 1024
IMAGE_REF = "berth-bench-dist:latest"
DISTRIBUTION = "/usr/bin/docker-registry"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """A registry process on a fresh root and port; Berth's for Berth, distribution's for
    Docker."""

    def __init__(self, ctx, engine):
        self.ctx, self.engine = ctx, engine
        # Stopped however the run ends, a failed sample included.
        atexit.register(self.stop)
        self.base = os.path.join(ctx.workspace, f"registry-{engine.name.lower()}")
        self.proc = None
        self.addr = None

    def start(self):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
        os.makedirs(self.base)
        root = os.path.join(self.base, "root")
        self.addr = f"127.0.0.1:{free_port()}"
        log = open(os.path.join(self.base, "registry.log"), "wb")
        if self.engine.name == "Berth":
            argv = [self.engine.cli_path, "registry", "serve", "--addr", self.addr, "--root", root]
        else:
            if not os.path.exists(DISTRIBUTION):
                raise RuntimeError(f"{DISTRIBUTION} not found: apt-get install docker-registry")
            config = os.path.join(self.base, "config.yml")
            with open(config, "w") as f:
                f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                        f"    rootdirectory: {root}\nhttp:\n  addr: {self.addr}\n")
            argv = [DISTRIBUTION, "serve", config]
        # In the engine's network namespace: Docker's lives in one of its own.
        self.proc = subprocess.Popen(self.engine.host_side(argv), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        port = int(self.addr.rsplit(":", 1)[1])
        wait = ("import socket,time\nfor _ in range(1000):\n try:\n"
                f"  socket.create_connection(('127.0.0.1',{port}),0.2).close(); break\n"
                " except OSError: time.sleep(0.02)\nelse: raise SystemExit(1)\n")
        ready = subprocess.run(self.engine.host_side(["python3", "-c", wait]))
        if ready.returncode != 0 or self.proc.poll() is not None:
            raise RuntimeError(f"the {self.engine.name} registry did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def blob_files(self):
        """(digest, path) of every blob file under the registry's root."""
        out = []
        for dirpath, _, files in os.walk(os.path.join(self.base, "root")):
            for f in files:
                p = os.path.join(dirpath, f)
                hexpart = os.path.basename(dirpath) if f == "data" else f
                if len(hexpart) == 64:
                    out.append(("sha256:" + hexpart, p))
        return out


def dist_image(ctx):
    return ctx._make("dist.tar", lambda path: images.make_save_tarball(
        path, ref=IMAGE_REF, layers=4, total=100 * MIB))


def registry_of(ctx, engine):
    key = ("registry", engine.name)
    if key not in ctx.state:
        ctx.state[key] = Registry(ctx, engine)
    return ctx.state[key]


def name_in(reg):
    return f"{reg.addr}/bench/dist:1"


def push_prepare(ctx, engine):
    image = dist_image(ctx)
    if engine.cli("image", "inspect", image.ref, check=False).returncode != 0:
        engine.cli("load", "-i", image.path)
    reg = registry_of(ctx, engine)
    reg.start()


def push_sample(ctx, engine):
    """A push to an empty registry (restarted on a fresh root, untimed)."""
    reg = registry_of(ctx, engine)
    reg.start()
    engine.cli("tag", IMAGE_REF, name_in(reg))
    seconds = engine.timed("push", name_in(reg))
    engine.cli("rmi", name_in(reg), check=False)
    return seconds


def pull_prepare(ctx, engine):
    push_prepare(ctx, engine)
    reg = registry_of(ctx, engine)
    engine.cli("tag", IMAGE_REF, name_in(reg))
    engine.cli("push", name_in(reg))


def pull_sample(ctx, engine):
    """A cold pull: the engine holds none of the image's layers."""
    reg = registry_of(ctx, engine)
    remove_image(engine, name_in(reg))
    seconds = engine.timed("pull", name_in(reg))
    return seconds


def remove_image(engine, name):
    """Removes the image `name` names with every name it has (its repository digests too),
    so nothing of it stays."""
    inspect = engine.cli("image", "inspect", "-f", "{{.Id}}", name, check=False)
    if inspect.returncode == 0:
        engine.cli("rmi", "-f", inspect.stdout.decode().strip())
    if engine.cli("image", "inspect", name, check=False).returncode == 0:
        raise RuntimeError(f"{name} still present after rmi -f")


def registry_finish(ctx, engine):
    reg = registry_of(ctx, engine)
    reg.stop()
    for name in (IMAGE_REF, name_in(reg)):
        remove_image(engine, name)


def blob_prepare(ctx, engine):
    pull_prepare(ctx, engine)
    reg = registry_of(ctx, engine)
    sizes = sorted((os.path.getsize(p), d) for d, p in reg.blob_files())
    ctx.state[("blob", engine.name)] = sizes[-1][1]


def blob_sample(ctx, engine):
    """GET of the image's biggest blob (about 25 MiB) from the engine's registry, read to
    the end, 8 times over (the page cache holds it)."""
    reg = registry_of(ctx, engine)
    digest = ctx.state[("blob", engine.name)]
    url = f"http://{reg.addr}/v2/bench/dist/blobs/{digest}"
    # Timed inside the client process, so starting it (in Docker's namespace) is not.
    script = ("import time,urllib.request\nt=time.perf_counter()\nfor _ in range(8):\n"
              f" r=urllib.request.urlopen({url!r})\n while r.read({4 * MIB}): pass\n"
              "print(time.perf_counter()-t)\n")
    out = subprocess.run(engine.host_side(["python3", "-c", script]), capture_output=True,
                         check=True)
    return float(out.stdout.decode().strip())
