"""Real labelled train data (../shared/lanl_real_labelled, skipped when absent): the raw slices around the
quakes ingest with the known cycle boundary, and the extractor's statistics on those real windows agree with
the values other people published for the same rows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lanl.data.ingest import ingest
from lanl.data.tables import REAL_QUAKE_ROWS
from lanl.features import extract

LABELLED = Path(__file__).resolve().parents[1].parent / "shared" / "lanl_real_labelled"
pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(not LABELLED.is_dir(), reason="../shared/lanl_real_labelled is absent"),
]
N = 150_000


def raw_chunks() -> dict[int, Path]:
    """First train.csv row -> file, for the 32 real 150k chunks around the 16 quakes."""
    out = {}
    for path in sorted((LABELLED / "raw_signal").glob("lisatostrams__*event_*__rows*.csv")):
        out[int(re.search(r"rows(\d+)-", path.name)[1])] = path
    return out


@pytest.fixture(scope="module")
def windows() -> tuple[list[int], np.ndarray]:
    chunks = raw_chunks()
    starts = sorted(chunks)
    block = np.stack([pd.read_csv(chunks[s])["acoustic_data"].to_numpy(np.int16) for s in starts])
    return starts, block


def test_the_raw_slices_are_what_the_readme_says():
    chunks = raw_chunks()
    assert len(chunks) == 32 and all(s % N == 0 for s in chunks)
    firsts = sorted(chunks)[::2]
    # each quake's chunk holds its first row after the reset
    assert all(a <= q < a + N for a, q in zip(firsts, REAL_QUAKE_ROWS, strict=True))


@pytest.mark.parametrize("event", [0, 7, 15])
def test_a_real_quake_pair_ingests_with_one_cycle_boundary_at_the_known_row(tmp_path, event):
    chunks = raw_chunks()
    first = sorted(chunks)[2 * event]
    pair = pd.concat([pd.read_csv(chunks[first]), pd.read_csv(chunks[first + N])], ignore_index=True)
    data = tmp_path / "data"
    data.mkdir()
    pair[["acoustic_data", "time_to_failure"]].to_csv(data / "train.csv", index=False)
    cache = ingest(data).cache
    assert cache.rows == 2 * N
    np.testing.assert_array_equal(cache.cycle_starts, [0, REAL_QUAKE_ROWS[event] - first])
    np.testing.assert_array_equal(np.asarray(cache.signal), pair["acoustic_data"].to_numpy(np.int16))


def _population_skew(G1: np.ndarray, n: int) -> np.ndarray:
    """scipy.stats.skew's population skewness g1 from the bias-corrected G1 (pandas') the extractor gives."""
    return G1 * (n - 2) / np.sqrt(n * (n - 1))


def _population_kurt(G2: np.ndarray, n: int) -> np.ndarray:
    """scipy.stats.kurtosis's population excess kurtosis g2 from the bias-corrected G2 (pandas')."""
    return (G2 * (n - 2) * (n - 3) / (n - 1) - 6) / (n + 1)


def test_kernel_statistics_agree_with_the_published_tables(windows):
    starts, block = windows
    ours = extract(block, "kernel")
    ids = [s // N for s in starts]
    ts = pd.read_csv(LABELLED / "features" / "timestocome__Kaggle__train_stats.csv", index_col=0).loc[ids]
    # timestocome ran numpy (std with ddof 0) and scipy.stats (population skew, kurtosis) in float64: exact
    np.testing.assert_allclose(ours["signal__mean"], ts["avg"], rtol=1e-12)
    np.testing.assert_allclose(ours["signal__median"], ts["median"], rtol=0)
    std0 = ours["signal__std__ddof_1"].to_numpy() * np.sqrt((N - 1) / N)
    np.testing.assert_allclose(std0, ts["std"], rtol=1e-10)
    np.testing.assert_allclose(_population_skew(ours["signal__skew"].to_numpy(), N), ts["skew"], rtol=1e-8)
    np.testing.assert_allclose(_population_kurt(ours["signal__kurtosis"].to_numpy(), N), ts["kurt"], rtol=1e-8)
    # lisatostrams ran pandas in float32: mean to ~1e-7, std to ~4e-4 (float32 sums of squares), median exact
    ls = pd.read_csv(
        LABELLED / "features" / "lisatostrams__Earthquake-Prediction__summarized_data_150000.csv"
    )
    ls = ls.loc[ids]
    np.testing.assert_allclose(ours["signal__mean"], ls["meanAudio"], rtol=1e-6)
    np.testing.assert_allclose(ours["signal__std__ddof_1"], ls["stdAudio"], rtol=1e-3)
    np.testing.assert_allclose(ours["signal__median"], ls["medianAudio"], rtol=0)
    np.testing.assert_allclose(ours["signal__max"], ls["maxAudio"], rtol=0)
    np.testing.assert_allclose(ours["signal__min"], ls["minAudio"], rtol=0)
