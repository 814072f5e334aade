"""Results: the Markdown table, the individual samples, the machine, and a JSON record that a
later run can be compared with."""

import json
import os
import platform
import statistics
import subprocess
import time

from .engines import filesystem_of

MIB = 1024 * 1024


def fmt(value, unit):
    if value is None:
        return "—"
    if unit == "bytes":
        return f"{value / MIB:.1f} MiB"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def median(samples):
    return statistics.median(samples) if samples else None


def summarise(bench, samples, errors, docker_present, ctx=None):
    """One row of results: samples and medians per engine, ratio, verdict (`ctx` holds what
    a target measured in the run needs: baselines, other medians, process counts)."""
    b, d = median(samples.get("Berth", [])), median(samples.get("Docker", []))
    return {
        "name": bench.name, "what": bench.what, "unit": bench.unit,
        "target": bench.target.text,
        "berth": {"samples": samples.get("Berth", []), "median": b,
                  "error": errors.get("Berth")},
        "docker": {"samples": samples.get("Docker", []), "median": d,
                   "error": errors.get("Docker"), "run": docker_present},
        "ratio": d / b if b and d else None,
        "met": bench.target.met(b, d, ctx),
    }


def table(rows):
    out = ["| benchmark | Berth median | Docker median | Docker/Berth ratio | target | met? |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        def cell(side):
            if r[side]["error"]:
                return "error"
            if side == "docker" and not r["docker"]["run"]:
                return "skipped"
            return fmt(r[side]["median"], r["unit"])
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] else "—"
        met = {True: "yes", False: "no", None: "n/a"}[r["met"]]
        out.append(f"| {r['name']}: {r['what']} | {cell('berth')} | {cell('docker')} | "
                   f"{ratio} | {r['target']} | {met} |")
    return "\n".join(out)


def samples_text(rows, notes, cpu):
    out = []
    for r in rows:
        for side, engine in (("berth", "Berth"), ("docker", "Docker")):
            s = r[side]
            if s["samples"]:
                out.append(f"- {r['name']} / {engine}: "
                           + ", ".join(fmt(v, r["unit"]) for v in s["samples"]))
            if cpu.get((r["name"], engine)):
                d = median([c[0] for c in cpu[(r["name"], engine)]])
                c = median([c[1] for c in cpu[(r["name"], engine)]])
                out.append(f"  - CPU time, median: daemon {fmt(d, 's')}, CLI {fmt(c, 's')}")
            for note in notes.get((r["name"], engine), []):
                out.append(f"  - {note}")
            if s["error"]:
                out.append(f"- {r['name']} / {engine}: ERROR {s['error']}")
    return "\n".join(out)


def machine(workspace, load_at_start=None):
    fstype, dev, point = filesystem_of(workspace)
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) // 1024} MiB"
    except (OSError, ValueError, IndexError):
        pass
    cgroup = "v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "v1/hybrid"
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "cgroup": cgroup,
            "load average at start / end": f"{load_at_start or '?'} / {os.getloadavg()[0]:.2f}",
            "workspace": f"{workspace} on {fstype} ({dev} mounted at {point})",
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}


def git_commit(repo):
    out = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None


def write_json(path, record):
    with open(path, "w") as f:
        json.dump(record, f, indent=2, default=str)
        f.write("\n")
