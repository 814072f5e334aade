"""Test images made here, never downloaded: `docker save`-format tarballs of random layers
(for load and save) and of Debian's static busybox (for the containers the run benchmarks start).

The layout (file names, sizes, modes, times) is fixed so every run measures the same shape of
work; the bytes come from os.urandom so neither engine gains from compression or deduplication.
"""

import dataclasses
import hashlib
import io
import json
import os
import platform
import random
import shutil
import subprocess
import tarfile

MIB = 1024 * 1024
MTIME = 1_700_000_000  # fixed, so headers are identical across runs
CREATED = "2023-11-14T22:13:20Z"


@dataclasses.dataclass
class LayerSpec:
    big_files: int = 3
    small_files: int = 300
    small_min: int = 256
    small_max: int = 32 * 1024


@dataclasses.dataclass
class ImageInfo:
    path: str
    ref: str
    config_digest: str
    diff_ids: list
    layer_bytes: list  # size of each layer.tar
    content_bytes: int  # bytes of file content, all layers
    tar_bytes: int  # size of the whole archive
    files: int


class _Random(io.RawIOBase):
    """A readable stream of `size` random bytes, for tarfile.addfile."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)


def _info(name, kind, size=0, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.mtime = kind, size, mode, MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def _layer_files(index, layer_size, spec):
    """The (path, size) list of one layer: a few hundred small files in ten directories,
    and a few large files sharing what is left of `layer_size`."""
    rng = random.Random(f"berth-bench-layer-{index}")  # layout only; content is urandom
    small = [
        (f"bench/layer{index}/small/d{i % 10:02d}/f{i:04d}.dat",
         rng.randint(spec.small_min, spec.small_max))
        for i in range(spec.small_files)
    ]
    rest = layer_size - sum(size for _, size in small)
    if rest < spec.big_files:
        raise ValueError(f"layer {index}: {layer_size} bytes leaves no room for large files")
    share = rest // spec.big_files
    big = [(f"bench/layer{index}/big/blob{i}.bin", share) for i in range(spec.big_files)]
    big[-1] = (big[-1][0], rest - share * (spec.big_files - 1))
    return big + small


def _write_layer(path, files):
    dirs = sorted({os.path.dirname(p) for p, _ in files} | {"bench"})
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        made = set()
        for d in dirs:
            parts = d.split("/")
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub not in made:
                    made.add(sub)
                    tar.addfile(_info(sub + "/", tarfile.DIRTYPE, mode=0o755))
        for name, size in files:
            tar.addfile(_info(name, tarfile.REGTYPE, size), _Random(size))


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            h.update(chunk)
    return h.hexdigest()


def _arch():
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
            "s390x": "s390x", "riscv64": "riscv64"}.get(m, m)


def _write_save_archive(path, stage, layer_tars, config, ref):
    """Turns layer tarballs in `stage` into a `docker save` archive at `path`: per-layer
    directories holding layer.tar, VERSION and json as docker writes them, the config (given
    without rootfs, which is filled in), manifest.json and repositories. Returns the config
    digest, the diff IDs and the size of each layer.tar."""
    diff_ids, layer_bytes, dirs, parent = [], [], [], ""
    for tmp in layer_tars:
        digest = _sha256_file(tmp)
        diff_ids.append("sha256:" + digest)
        layer_bytes.append(os.path.getsize(tmp))
        os.makedirs(os.path.join(stage, digest))
        os.rename(tmp, os.path.join(stage, digest, "layer.tar"))
        with open(os.path.join(stage, digest, "VERSION"), "w") as f:
            f.write("1.0")
        with open(os.path.join(stage, digest, "json"), "w") as f:
            v1 = {"id": digest, "created": CREATED, "os": "linux"}
            if parent:
                v1["parent"] = parent
            json.dump(v1, f)
        dirs.append(digest)
        parent = digest
    config = dict(config, rootfs={"type": "layers", "diff_ids": diff_ids})
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    with open(os.path.join(stage, config_hex + ".json"), "wb") as f:
        f.write(config_bytes)
    name, _, tag = ref.rpartition(":")
    manifest = [{"Config": config_hex + ".json", "RepoTags": [ref],
                 "Layers": [d + "/layer.tar" for d in dirs]}]
    with open(os.path.join(stage, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    with open(os.path.join(stage, "repositories"), "w") as f:
        json.dump({name: {tag: dirs[-1]}}, f)
    # Sorted, as docker save writes its archive (a walk of its staging directory).
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(os.listdir(stage)):
            tar.add(os.path.join(stage, entry), arcname=entry, filter=_normalise)
    return "sha256:" + config_hex, diff_ids, layer_bytes


def make_save_tarball(path, ref="berth-bench:latest", layers=5, total=200 * MIB,
                      spec=LayerSpec()):
    """Writes a `docker save`-format archive of random content to `path`: `total` bytes of
    file content split evenly across `layers` layers."""
    stage = path + ".d"
    os.makedirs(stage)
    try:
        tars, files = [], 0
        for i in range(layers):
            size = total // layers + (total % layers if i == layers - 1 else 0)
            tmp = os.path.join(stage, f"layer{i}.tar")
            listing = _layer_files(i, size, spec)
            files += len(listing)
            _write_layer(tmp, listing)
            tars.append(tmp)
        config = {
            "architecture": _arch(),
            "os": "linux",
            "created": CREATED,
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["/bin/sh"],
                "Labels": {"org.berth.bench": f"{layers} layers, {total // MIB} MiB"},
            },
            "history": [
                {"created": CREATED,
                 "created_by": f"/bin/sh -c #(nop) bench layer {i + 1} of {layers}"}
                for i in range(layers)
            ],
        }
        digest, diff_ids, layer_bytes = _write_save_archive(path, stage, tars, config, ref)
        return ImageInfo(path=path, ref=ref, config_digest=digest, diff_ids=diff_ids,
                         layer_bytes=layer_bytes, content_bytes=total,
                         tar_bytes=os.path.getsize(path), files=files)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


BUSYBOX = "/bin/busybox"  # Debian's busybox-static


def make_busybox_tarball(path, ref="berth-bench-busybox:latest"):
    """A one-layer image of Debian's static busybox: /bin/busybox, a link per applet, and
    /etc/passwd and /etc/group. The containers the run benchmarks start come from it."""
    if not os.path.exists(BUSYBOX):
        raise RuntimeError(f"{BUSYBOX} not found: install Debian's busybox-static")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    stage = path + ".d"
    os.makedirs(stage)
    try:
        tmp = os.path.join(stage, "layer.tar")
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for d in ("bin", "etc", "tmp", "root"):
                tar.addfile(_info(d + "/", tarfile.DIRTYPE, mode=0o755))
            size = os.path.getsize(BUSYBOX)
            with open(BUSYBOX, "rb") as f:
                tar.addfile(_info("bin/busybox", tarfile.REGTYPE, size, 0o755), f)
            for a in sorted(set(applets) - {"busybox"}):
                link = _info(f"bin/{a}", tarfile.SYMTYPE, mode=0o777)
                link.linkname = "busybox"
                tar.addfile(link)
            for name, text in (("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
                               ("etc/group", b"root:x:0:\n")):
                tar.addfile(_info(name, tarfile.REGTYPE, len(text)), io.BytesIO(text))
        config = {"architecture": _arch(), "os": "linux", "created": CREATED,
                  "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
                  "history": [{"created": CREATED, "created_by": "busybox-static"}]}
        digest, diff_ids, layer_bytes = _write_save_archive(path, stage, [tmp], config, ref)
        return ImageInfo(path=path, ref=ref, config_digest=digest, diff_ids=diff_ids,
                         layer_bytes=layer_bytes, content_bytes=size,
                         tar_bytes=os.path.getsize(path), files=len(applets) + 3)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _normalise(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mtime = MTIME
    ti.mode = 0o755 if ti.isdir() else 0o644
    return ti
