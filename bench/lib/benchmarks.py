"""The benchmarks. Each is a small function taking the shared context and one engine and
returning one sample; the runner alternates engines run by run (A B A B ...) so drift on the
machine (page cache, CPU frequency, a neighbour's load) falls on both alike.

To add one: write `prepare` (optional, untimed, once per engine) and `sample`, and append a
Benchmark to BENCHMARKS with its target.
"""

import dataclasses
import os
import tarfile
import time
from typing import Callable, Optional

MIB = 1024 * 1024


@dataclasses.dataclass
class Target:
    """How a benchmark is judged. kind 'speedup': Docker/Berth ≥ value (needs Docker);
    kind 'at-most': Berth's median ≤ value (Berth alone)."""
    kind: str
    value: float
    text: str

    def met(self, berth, docker):
        if berth is None:
            return None
        if self.kind == "speedup":
            return None if docker is None else docker / berth >= self.value
        return berth <= self.value


@dataclasses.dataclass
class Benchmark:
    name: str
    what: str
    unit: str  # "s" or "bytes"
    sample: Callable
    target: Target
    prepare: Optional[Callable] = None
    repeat: bool = True  # False: one sample per engine, taken after the timed benchmarks


@dataclasses.dataclass
class Context:
    workspace: str
    image: object  # images.ImageInfo
    notes: dict = dataclasses.field(default_factory=dict)  # (bench, engine) -> [str]
    cpu: dict = dataclasses.field(default_factory=dict)  # (bench, engine) -> [(daemon, cli)]

    def note(self, bench, engine, text):
        self.notes.setdefault((bench, engine.name), []).append(text)


def ensure_loaded(ctx, engine):
    if engine.cli("image", "inspect", ctx.image.ref, check=False).returncode != 0:
        engine.cli("load", "-i", ctx.image.path)


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


BENCHMARKS = [
    Benchmark("load", "`load -i` of a 5-layer, 200 MiB docker-save archive, cold", "s",
              load_sample, Target("speedup", 3, "≥ 3× faster than Docker")),
    Benchmark("save", "`save -o` of that image to a new file", "s",
              save_sample, Target("speedup", 3, "≥ 3× faster than Docker"),
              prepare=ensure_loaded),
    Benchmark("rss", "idle daemon resident memory (VmRSS), image present", "bytes",
              rss_sample, Target("at-most", 20 * MIB, "≤ 20 MiB RSS"),
              prepare=ensure_loaded, repeat=False),
]
