"""Numba kernels compiled before a Kaggle kernel runs, shipped inside its script (``lanl bundle --numba-cache``).

Every Kaggle run is a fresh machine: numba's on-disk cache (``cache=True``, kept in ``__pycache__`` beside the
unpacked package) starts empty, and compiling the CSV parser and the feature kernels takes most of a short
kernel's time (``benchmarks/bench_kernel_start.py``). The cache files can travel in the payload when four
things match between the machine that compiles them and the kernel's:

* Python's minor version and numba's exact version: numba ignores cache files written by another version;
* the machine code's target: numba keys its cache by CPU name and features, so the kernels are compiled for
  the portable :data:`PORTABLE_CPU` (x86-64-v3: AVX2, FMA, BMI2; every x86-64 server CPU since about 2015)
  and the kernel uses them only on a CPU that has :data:`PORTABLE_FEATURES`;
* the source files: numba checks each file's size and modification time, so both sides unpack the payload
  with the fixed time :data:`UNPACK_TIME`;
* the argument types: the warm-up runs the config's own code paths (ingest of a small synthetic dataset in
  the Kaggle layout, the config's feature sets on its windows and test segments, the LSTM's chunk features).

Anything else (another numba, an older CPU, ``NUMBA_CACHE_DIR`` set) and the kernels compile on first use,
as without a shipped cache; the script says which. Code compiled for x86-64-v3 can differ from code compiled
for the host CPU in the last bit of a few features (vector widths change the order of sums), so a kernel with
the shipped cache writes what ``NUMBA_CPU_NAME=x86-64-v3 NUMBA_CPU_FEATURES= lanl run`` writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import lanl
from lanl.cv.train import resolve
from lanl.data.ingest import ingest
from lanl.data.segments import load_block, test_segments, train_segments
from lanl.data.synth import generate
from lanl.errors import LanlError
from lanl.features import extract_segments, load_feature_set
from lanl.models.chunks import chunk_block
from lanl.models.inputs import segment_spec
from lanl.pipeline import config_from_json, run_config

PORTABLE_CPU = "x86-64-v3"
# LLVM's names of what x86-64-v3 adds to x86-64 (checked with llvmlite on the kernel's machine)
PORTABLE_FEATURES = (
    "avx",
    "avx2",
    "bmi",
    "bmi2",
    "cx16",
    "f16c",
    "fma",
    "lzcnt",
    "movbe",
    "popcnt",
    "sahf",
    "sse3",
    "sse4.1",
    "sse4.2",
    "ssse3",
    "xsave",
)
NETS = ("cnn", "lstm", "mlp")  # the torch models
ASSETS = "_assets"  # inside the bundle's payload: files the config names (feature-set files)
UNPACK_TIME = 315532800  # 1980-01-01 00:00 UTC, the zip entries' time: every unpacked file gets it
CACHE_SUFFIXES = (".nbi", ".nbc")
SKIP = ("synth.", "csvformat.")  # cache files of modules the kernel never runs (the warm-up's data writer)
WARM_ROWS = 1_300_000  # the least synth allows for 2 cycles: 4 windows of 150,000 samples each
_WARM = """\
import json, sys
sys.path.insert(0, sys.argv[1])
from lanl.kaggle.precompile import warm
print(json.dumps(warm(json.loads(sys.argv[2]), sys.argv[1], sys.argv[3])))
"""


def unpack_payload(payload: bytes, dest: str | Path) -> Path:
    """Extract the payload zip into ``dest`` as the kernel script does (every file's time UNPACK_TIME)."""
    dest = Path(dest)
    with zipfile.ZipFile(io.BytesIO(payload)) as z:
        z.extractall(dest)
        for name in z.namelist():
            os.utime(dest / name, (UNPACK_TIME, UNPACK_TIME))
    return dest


def compile_cache(python: str | Path, payload: bytes, config: dict) -> tuple[dict, dict]:
    """(cache files by payload name, what they were built for) of the numba kernels that the pipeline
    ``config`` (a bundle document's config) runs, compiled by the interpreter ``python`` for PORTABLE_CPU.

    ``python`` must have the kernel's Python minor version and numba version (e.g. a virtualenv installed
    with ``pip install -c ../shared/kaggle/kaggle-image-2026.txt -e .``); it needs lanl's core dependencies,
    not torch. The package it runs is the payload's, unpacked into a temporary folder."""
    # a fixed folder per payload: numba writes the source path into its cache files, so a random one would
    # make two builds of the same bundle differ
    tmp = Path(tempfile.gettempdir()) / f"lanl-numba-{hashlib.sha256(payload).hexdigest()[:16]}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        root = unpack_payload(payload, tmp / "root")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NUMBA_", "LANL_"))}
        # a fixed hash seed too: numba names symbols after its flags, sets of strings printed in hash order
        env.update(NUMBA_CPU_NAME=PORTABLE_CPU, NUMBA_CPU_FEATURES="", LANL_PROGRESS="0", PYTHONHASHSEED="0")
        cmd = [str(python), "-I", "-c", _WARM, str(root), json.dumps(config), str(tmp / "work")]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        except OSError as exc:
            raise LanlError(f"--numba-cache {python}: cannot run it ({exc})") from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
            raise LanlError(f"--numba-cache {python}: the warm-up failed (exit {proc.returncode}):\n{tail}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        files = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("__pycache__/*"))
            if path.suffix in CACHE_SUFFIXES and not path.name.startswith(SKIP)
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not files:
        raise LanlError(f"--numba-cache {python}: the warm-up wrote no numba cache files")
    info.update(files=len(files), bytes=sum(len(b) for b in files.values()))
    return files, info


def warm(config_doc: dict, root: str | Path, work: str | Path) -> dict:
    """In the target interpreter: compile (into numba's cache beside the package in ``root``) what the kernel
    of ``config_doc`` runs, on a small synthetic dataset under ``work``; returns what it was built for."""
    import numba

    if not Path(lanl.__file__).resolve().is_relative_to(Path(root).resolve()):
        raise LanlError(f"the warm-up imported lanl from {lanl.__file__}, not from the payload in {root}")
    config = config_from_json(config_doc, Path(root) / ASSETS)
    work = Path(work)
    generate(work / "data", seed=0, rows=WARM_ROWS, cycles=2, test_segments=2)
    cache = ingest(work / "data", work / "cache").cache
    requests, chunks = warm_requests(config)
    for feature_set, spec in requests:
        extract_segments(cache, train_segments(cache, spec).iloc[:2], feature_set, length=spec.length)
        extract_segments(cache, test_segments(cache), feature_set)
    if chunks:
        chunk_block(load_block(cache, test_segments(cache)))
    return {
        "python": "{}.{}".format(*sys.version_info[:2]),
        "numba": numba.__version__,
        "platform": platform_tag(),
        "cpu": numba.config.CPU_NAME,
        "cpu_features": list(PORTABLE_FEATURES),
    }


def warm_requests(config) -> tuple[list, bool]:
    """(feature set, segment spec) of the config's feature-table models, and whether an LSTM needs chunk
    features; the nets are not resolved (that would import torch, which the warm-up does not need)."""
    tabular = dataclasses.replace(config, models=[m for m in config.models if m not in NETS])
    return feature_requests(tabular), "lstm" in config.models


def platform_tag() -> str:
    """The OS and machine (numba's cache holds object code for one of each)."""
    return f"{sys.platform}-{platform.machine()}"


def feature_requests(config) -> list:
    """(feature set, segment spec) of every model of ``config`` that reads feature tables, without repeats."""

    seen, out = set(), []
    for model in config.models:
        run, estimator = resolve(run_config(config, model))
        if estimator.input != "features":
            continue
        feature_set, spec = load_feature_set(run.features), segment_spec(run)
        if (feature_set.hash, spec.key()) not in seen:
            seen.add((feature_set.hash, spec.key()))
            out.append((feature_set, spec))
    return out
