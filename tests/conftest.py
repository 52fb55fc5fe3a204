import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("LANL_PROGRESS", "0")

REAL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "lanl_real"


# A feature set of a few cheap features (TOML): fast to compile in a fresh interpreter, used by several tests.
TINY_SET = """\
description = "a few cheap features: a short numba compile in the fresh interpreter"
seed = 0

[[features]]
feature = "mean"

[[features]]
feature = "std"
params = [{ddof = 1}]

[[features]]
feature = "quantile"
grid = {q = [0.05, 0.5, 0.95]}
"""


def write_train_csv(path: Path, sig, ttf) -> Path:
    """A train.csv written the plain way (Python's %.11g), independent of the package's writers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        f.write("acoustic_data,time_to_failure\n")
        f.writelines(f"{a},{t:.11g}\n" for a, t in zip(np.asarray(sig).tolist(), np.asarray(ttf).tolist(), strict=True))
    return path


def write_segment(path: Path, values) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        f.write("acoustic_data\n")
        f.writelines(f"{v}\n" for v in np.asarray(values).tolist())
    return path


def known_cycles(lengths=(40_000, 55_000, 30_000), seed=0):
    """Signal and a lab-like ttf with known cycle starts: linear fall inside 4,096-row blocks, gaps between."""
    rng = np.random.default_rng(seed)
    sig, ttf, starts, row = [], [], [], 0
    for k, n in enumerate(lengths):
        starts.append(row)
        idx = np.arange(n)
        blocks = idx // 4096
        t = (n - 1 - idx) * 1.1e-9 + (blocks.max() - blocks) * 1.0e-3 + 0.0005 + 0.3 * k
        ttf.append(t)
        sig.append(rng.standard_t(3, n).clip(-30000, 30000).astype(np.int16) * 5 + 4)
        row += n
    return np.concatenate(sig).astype(np.int16), np.concatenate(ttf), np.array(starts)


@pytest.fixture
def small_data(tmp_path):
    """A tiny Kaggle-layout folder: train.csv with 3 known cycles, 3 test segments of 1,000 rows."""
    sig, ttf, starts = known_cycles()
    data = tmp_path / "data"
    write_train_csv(data / "train.csv", sig, ttf)
    rng = np.random.default_rng(1)
    ids = ["seg_00aa11", "seg_0b0b0b", "seg_ffee01"]
    for seg_id in ids:
        write_segment(data / "test" / f"{seg_id}.csv", rng.integers(-50, 60, 1000))
    (data / "sample_submission.csv").write_text(
        "seg_id,time_to_failure\n" + "".join(f"{s},0\n" for s in ids)
    )
    return data, sig, ttf, starts, ids


@pytest.fixture
def real_dir():
    if not (REAL_DIR / "test").is_dir():
        pytest.skip("../shared/lanl_real is absent")
    return REAL_DIR
