"""Compare the synthetic generator with the real LANL data, window by window: spread, label trend, adversarial AUC.

Usage (from the repository root)::

    python3 benchmarks/calibrate_synth.py                       # 150M synthetic rows, 17 cycles, 600 test segments
    python3 benchmarks/calibrate_synth.py --rows 629145480 --test-segments 2624    # full size (real cycle layout)
    python3 benchmarks/calibrate_synth.py --model v1            # the first generator, for comparison
    python3 benchmarks/calibrate_synth.py --set rate_mod_sd=0.35  # a preset with constants changed

The real side comes from ``../shared`` (skipped where absent):

* **train, all windows**: the 4,194 non-overlapping real train windows, with labels (``lanl_real_labelled/
  features``: mean, std, median, kurtosis, skew from the timestocome table; q25, q75, min, max from the
  lisatostrams table, float32);
* **train, around the quakes**: the 33 raw real windows (``lanl_real_labelled/raw_signal``: the window that holds
  each of the 16 quakes, the one after it, and the first window of train.csv), on which the spectral statistics
  (lag-1 autocorrelation, share of power in the lowest 5% of frequencies, spectral centroid, MFCC 4 and 18 means
  as the 1st place computed them) can be measured;
* **test**: the 2,624 real test segments' table statistics (timestocome) and 48 raw real test segments
  (``lanl_real/test``) for the rest.

The synthetic side is generated in memory (nothing written): train windows laid from row 0 like the real ones
(so some straddle a failure), the same "around the quakes" windows, and the test segments.

Prints, per side, a Markdown table per statistic: 5/50/95th percentiles real and synthetic, the two-sample KS
distance, and (train) Spearman r with time_to_failure real and synthetic; on the train side how the statistics
move together (``joint_structure``: the kurtosis against the std, the core against the tails); then the
adversarial AUC of a gradient-boosted classifier telling real windows from synthetic ones on those statistics
(5-fold stratified CV; beside it, the real cycles told from each other as a reference), and how readable the
label is on each side (a LightGBM's CV MAE on the table statistics against the median's).
Targets (issue 18): AUC <= 0.7 on each side; Spearman r within ~0.1 of the real value.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.fft
from scipy.ndimage import uniform_filter1d
from scipy.stats import ks_2samp, kurtosis, skew, spearmanr

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LABELLED = SHARED / "lanl_real_labelled"
REAL_TEST = SHARED / "lanl_real" / "test"
WINDOW = 150_000
QUAKES = np.array(
    [5656574, 50085878, 104677356, 138772453, 187641820, 218652630, 245829585, 307838917, 338276287,
     375377848, 419368880, 461811623, 495800225, 528777115, 585568144, 621985673]
)  # fmt: skip
TABLE_STATS = ("mean", "std", "median", "kurtosis", "skew", "q25", "q75", "min", "max")
TEST_TABLE_STATS = ("mean", "std", "median", "kurtosis", "skew")
SPECTRAL_STATS = (
    "lag1 autocorr", "low 5% power share", "spectral centroid", "mfcc4 mean", "mfcc18 mean", "envelope acf 256",
)  # fmt: skip
ENVELOPE_SMOOTH, ENVELOPE_LAG = 32, 256
RAW_STATS = ("mean", "std", "kurtosis", "q05", "q95", "max abs") + SPECTRAL_STATS
PERCENTILES = (5, 50, 95)

sys.path.insert(0, str(REPO))

from lanl.features.mfcc import mean_log_mel, mel_filterbank  # noqa: E402

_MEL = mel_filterbank(22050.0, 2048, 128)


# ---------------------------------------------------------------------------------------------- statistics


def spectral_stats(x: np.ndarray, *, seed: int = 0) -> dict[str, float]:
    """Spectral shape of one window: lag-1 autocorrelation, the share of (non-DC) power in the lowest 5% of
    frequencies, the power-weighted mean frequency (cycles per sample), the 1st place's MFCC 4 / 18 means
    (librosa defaults on the signal plus N(0, 0.5) noise minus its median) and how long the events last: the
    autocorrelation at ``ENVELOPE_LAG`` rows of the power envelope (the squared deviation from the median,
    averaged over ``ENVELOPE_SMOOTH`` rows)."""
    xf = x.astype(np.float64)
    c = xf - xf.mean()
    power = np.abs(scipy.fft.rfft(c))[1:] ** 2
    freqs = np.arange(1, len(power) + 1) / len(xf)
    noisy = xf + np.random.default_rng(seed).normal(0.0, 0.5, len(xf))
    log_mel = mean_log_mel(noisy - np.median(noisy), _MEL, 2048, 512, 80.0)
    mfcc = scipy.fft.dct(log_mel, type=2, norm="ortho")
    envelope = uniform_filter1d((xf - np.median(xf)) ** 2, ENVELOPE_SMOOTH)
    envelope -= envelope.mean()
    return {
        "lag1 autocorr": float(c[1:] @ c[:-1] / (c @ c)),
        "low 5% power share": float(power[: len(power) // 20].sum() / power.sum()),
        "spectral centroid": float(freqs @ power / power.sum()),
        "mfcc4 mean": float(mfcc[4]),
        "mfcc18 mean": float(mfcc[18]),
        "envelope acf 256": float(envelope[ENVELOPE_LAG:] @ envelope[:-ENVELOPE_LAG] / (envelope @ envelope)),
    }


def window_stats(x: np.ndarray, *, spectral: bool = True) -> dict[str, float]:
    """Every calibration statistic of one window (the table statistics as the real tables define them:
    population std, Fisher kurtosis and skew without bias correction)."""
    xf = x.astype(np.float64)
    q05, q25, q75, q95 = np.quantile(xf, [0.05, 0.25, 0.75, 0.95])
    out = {
        "mean": xf.mean(),
        "std": xf.std(),
        "median": float(np.median(xf)),
        "kurtosis": float(kurtosis(xf)),
        "skew": float(skew(xf)),
        "q05": q05,
        "q25": q25,
        "q75": q75,
        "q95": q95,
        "min": xf.min(),
        "max": xf.max(),
        "max abs": np.abs(xf).max(),
    }
    return out | (spectral_stats(x) if spectral else {})


# ------------------------------------------------------------------------------------------------ real data


def real_train_table() -> pd.DataFrame | None:
    """The 4,194 real train windows: table statistics, ``ttf`` and whether the window straddles a quake."""
    ts = LABELLED / "features" / "timestocome__Kaggle__train_stats.csv"
    ls = LABELLED / "features" / "lisatostrams__Earthquake-Prediction__summarized_data_150000.csv"
    if not (ts.is_file() and ls.is_file()):
        return None
    t = pd.read_csv(ts, index_col=0)
    lz = pd.read_csv(ls).iloc[: len(t)]
    df = pd.DataFrame(
        {
            "mean": t["avg"], "std": t["std"], "median": t["median"], "kurtosis": t["kurt"], "skew": t["skew"],
            "q25": lz["q25Audio"].to_numpy(), "q75": lz["q75Audio"].to_numpy(),
            "min": lz["minAudio"].to_numpy(), "max": lz["maxAudio"].to_numpy(), "ttf": t["time_to_failure"],
        }
    )  # fmt: skip
    first, last = np.arange(len(df)) * WINDOW, np.arange(len(df)) * WINDOW + WINDOW - 1
    df["straddles"] = np.searchsorted(QUAKES, first, side="right") != np.searchsorted(
        QUAKES, last, side="right"
    )
    return df


def real_test_table() -> pd.DataFrame | None:
    """The 2,624 real test segments' table statistics."""
    ts = LABELLED / "features" / "timestocome__Kaggle__test_stats.csv"
    if not ts.is_file():
        return None
    t = pd.read_csv(ts)
    return pd.DataFrame(
        {"mean": t["avg"], "std": t["std"], "median": t["median"], "kurtosis": t["kurt"], "skew": t["skew"]}
    )


def real_train_raw() -> pd.DataFrame | None:
    """All statistics of the 33 raw real train windows around the quakes, with ``ttf`` and ``kind``
    (``quake``: holds a quake; ``after``: the next window; ``first``: train.csv's first window)."""
    folder = LABELLED / "raw_signal"
    if not folder.is_dir():
        return None
    rows = []
    for f in sorted(folder.glob("*event_*__rows*.csv")):
        start = int(re.search(r"rows(\d+)-", f.name).group(1))
        d = pd.read_csv(f, usecols=["acoustic_data", "time_to_failure"])
        kind = "quake" if np.any(np.diff(d["time_to_failure"].to_numpy()) > 0) else "after"
        rows.append(window_stats(d["acoustic_data"].to_numpy()) | {"ttf": d["time_to_failure"].iloc[-1],
                                                                  "kind": kind, "start": start})  # fmt: skip
    first = next(folder.glob("*first_150000_train.csv"), None)
    if first is not None:
        d = pd.read_csv(first, skip_blank_lines=True, usecols=["acoustic_data", "time_to_failure"])
        rows.append(window_stats(d["acoustic_data"].to_numpy()) | {"ttf": d["time_to_failure"].iloc[-1],
                                                                  "kind": "first", "start": 0})  # fmt: skip
    return pd.DataFrame(rows).sort_values("start", ignore_index=True)


def real_test_raw() -> pd.DataFrame | None:
    """All statistics of the raw real test segments in ``../shared/lanl_real/test``."""
    files = sorted(REAL_TEST.glob("seg_*.csv")) if REAL_TEST.is_dir() else []
    if not files:
        return None
    return pd.DataFrame([window_stats(pd.read_csv(f)["acoustic_data"].to_numpy()) for f in files])


# ------------------------------------------------------------------------------------------- synthetic data


def synth_signal(seed: int, rows: int, cycles: int, model) -> tuple[np.ndarray, np.ndarray]:
    """(int16 signal, float64 time_to_failure) of the synthetic train.csv, generated in memory."""
    from lanl.data import synth

    parts = list(synth.simulate_train(seed=seed, rows=rows, cycles=cycles, model=model))
    return np.concatenate([x for _, x, _ in parts]), np.concatenate([t for _, _, t in parts])


def synth_train(seed: int, rows: int, cycles: int, model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(all windows laid from row 0 with table statistics, the windows around each failure with all statistics)
    of the synthetic train.csv, generated in memory."""
    x, ttf = synth_signal(seed, rows, cycles, model)
    n = len(x) // WINDOW
    resets = np.flatnonzero(np.diff(ttf) > 0) + 1
    table = []
    for i in range(n):
        w = x[i * WINDOW : (i + 1) * WINDOW]
        stats = window_stats(w, spectral=False)
        straddles = bool(np.any((resets > i * WINDOW) & (resets < (i + 1) * WINDOW)))
        table.append(stats | {"ttf": ttf[(i + 1) * WINDOW - 1], "straddles": straddles})
    raw = []
    for i, kind in [(0, "first")] + [(r // WINDOW + k, kind) for r in resets for k, kind in ((0, "quake"), (1, "after"))]:  # fmt: skip
        if i < n:
            w = x[i * WINDOW : (i + 1) * WINDOW]
            raw.append(window_stats(w) | {"ttf": ttf[(i + 1) * WINDOW - 1], "kind": kind})
    return pd.DataFrame(table), pd.DataFrame(raw)


def synth_test(seed: int, rows: int, cycles: int, segments: int, model) -> pd.DataFrame:
    from lanl.data import synth

    segs = synth.simulate_test(seed=seed, rows=rows, cycles=cycles, test_segments=segments, model=model)
    return pd.DataFrame([window_stats(w) for _, w in segs])


# ------------------------------------------------------------------------------------------ the real spectra

# Bins of the measured spectra: 64 of width 1/512 up to 0.125 cycles/sample (the resonances), 24 above.
SPECTRUM_EDGES = np.r_[np.linspace(0.0, 0.125, 65), np.linspace(0.125, 0.5, 25)[1:]]


def binned_spectrum(x: np.ndarray) -> np.ndarray:
    """Mean periodogram ``|rfft(x - mean)|^2 / n`` in each ``SPECTRUM_EDGES`` bin (its mean over all bins of
    the full range is the variance, so the bins' values are variance per unit of 2 x frequency)."""
    c = x.astype(np.float64) - x.mean()
    power = np.abs(scipy.fft.rfft(c)) ** 2 / len(c)
    f = np.arange(len(power)) / len(c)
    idx = np.clip(np.searchsorted(SPECTRUM_EDGES, f, side="right") - 1, 0, len(SPECTRUM_EDGES) - 2)
    return np.bincount(idx, power, len(SPECTRUM_EDGES) - 1) / np.bincount(idx, None, len(SPECTRUM_EDGES) - 1)


def measure_spectra() -> str:
    """The three spectral shapes of ``lanl.data.real``, from the real data (Python source).

    * ``after``: the median binned spectrum of the 16 real windows just after a quake (the quietest, highest
      time_to_failure); ``test``: that of the real test segments free of failure spikes;
    * FLOOR: ``after`` from 0.117 cycles/sample up (nothing but the instrument floor there: the same in every
      real window, quiet or active); below, a line from the flat 0.004-0.01 level to the value at 0.117;
    * QUIET: ``after - FLOOR``: the resonances excited by the background alone;
    * ACTIVE: ``max(test - after, 0)``: what acoustic-emission activity adds (mostly the lower resonances)."""
    folder = LABELLED / "raw_signal"
    after = []
    for f in sorted(folder.glob("*event_*__rows*.csv")):
        d = pd.read_csv(f, usecols=["acoustic_data", "time_to_failure"])
        if not np.any(np.diff(d["time_to_failure"].to_numpy()) > 0):
            after.append(binned_spectrum(d["acoustic_data"].to_numpy()))
    test = [pd.read_csv(f)["acoustic_data"].to_numpy() for f in sorted(REAL_TEST.glob("seg_*.csv"))]
    test_med = np.median([binned_spectrum(x) for x in test if np.abs(x).max() <= 1000], axis=0)
    after_med = np.median(after, axis=0)
    centres = (SPECTRUM_EDGES[1:] + SPECTRUM_EDGES[:-1]) / 2
    floor = after_med.copy()
    low = (centres > 0.004) & (centres < 0.01)
    knee = np.searchsorted(centres, 0.117)
    floor[:knee] = np.interp(
        centres[:knee], [centres[low][0], centres[knee]], [after_med[low].mean(), after_med[knee]]
    )
    quiet = np.maximum(after_med - floor, 0.0)
    quiet[0] = 0.0  # the slow level changes between recording blocks: the generator's block offsets
    active = np.maximum(test_med - after_med, 0.0)

    def tup(name, v):
        body = ", ".join(f"{x:.4g}" for x in v)
        return f"{name} = ({body})"

    return "\n".join(
        [tup("EDGES", SPECTRUM_EDGES), tup("FLOOR", floor), tup("QUIET", quiet), tup("ACTIVE", active)]
    )


# ----------------------------------------------------------------------------------------------- comparison


def adversarial_auc(real: pd.DataFrame, synthetic: pd.DataFrame, columns, seed: int = 0) -> float:
    """Cross-validated ROC AUC of a gradient-boosted classifier telling real rows from synthetic ones."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X = pd.concat([real[list(columns)], synthetic[list(columns)]], ignore_index=True).to_numpy(np.float64)
    y = np.r_[np.ones(len(real)), np.zeros(len(synthetic))]
    clf = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=seed
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    p = cross_val_predict(clf, X, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def label_gain(windows: pd.DataFrame, columns, seed: int = 0) -> tuple[float, float]:
    """How readable the label is: (CV MAE of a LightGBM on ``columns``, CV MAE of the training folds' median)
    over the windows that hold no quake, 5 folds grouped by quake cycle (cycles from the label's resets)."""
    import lightgbm as lgb
    from sklearn.model_selection import GroupKFold

    df = windows[~windows["straddles"]].reset_index(drop=True)
    y = df["ttf"].to_numpy()
    cycles = np.cumsum(np.r_[0, np.diff(y) > 0])
    params = {"objective": "l1", "learning_rate": 0.02, "num_leaves": 15, "min_data_in_leaf": 20,
              "feature_fraction": 0.8, "verbose": -1, "seed": seed, "num_threads": 1}  # fmt: skip
    pred, median = np.zeros(len(y)), np.zeros(len(y))
    for fit, held in GroupKFold(5).split(df, y, cycles):
        model = lgb.train(params, lgb.Dataset(df.loc[fit, list(columns)], y[fit]), num_boost_round=800)
        pred[held], median[held] = model.predict(df.loc[held, list(columns)]), np.median(y[fit])
    return float(np.abs(pred - y).mean()), float(np.abs(median - y).mean())


def joint_structure(windows: pd.DataFrame) -> dict[str, float]:
    """How the train windows' table statistics move together: what a classifier reads when no single statistic
    gives the windows away (issue 18: v2 matched each statistic, yet its kurtosis barely rose with its std)."""
    std, kurt = windows["std"].to_numpy(np.float64), windows["kurtosis"].to_numpy(np.float64)
    quiet = std <= np.quantile(std, 0.1)
    return {
        "r(log (kurtosis + 3), log std)": float(np.corrcoef(np.log(kurt + 3), np.log(std))[0, 1]),
        "Spearman r(kurtosis, ttf)": float(spearmanr(kurt, windows["ttf"]).statistic),
        "median IQR / std": float(np.median((windows["q75"] - windows["q25"]) / std)),
        "median (max - median) / std": float(np.median((windows["max"] - windows["median"]) / std)),
        "median skew": float(windows["skew"].median()),
        "median (max - median) / (median - min)": float(
            np.median((windows["max"] - windows["median"]) / (windows["median"] - windows["min"]))
        ),
        "quietest 10%: median std": float(np.median(std[quiet])),
        "quietest 10%: median kurtosis": float(np.median(kurt[quiet])),
    }


def with_constants(model, settings: list[str]):
    """``model`` with ``NAME=VALUE`` constants replaced (``--set``; numbers only); ValueError names a bad one."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(model)}
    changes = {}
    for item in settings:
        name, _, value = item.partition("=")
        if name not in fields or not value:
            raise ValueError(f"--set {item}: give NAME=VALUE with NAME one of the SignalModel constants")
        kind = type(getattr(model, name))
        if kind not in (int, float):  # strings, flags and ranges are not numbers to set
            raise ValueError(f"--set {item}: {name} is a {kind.__name__}, not a number")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--set {item}: {name} takes a number") from None
        if not np.isfinite(number):
            raise ValueError(f"--set {item}: {name} takes a finite number")
        if kind is int and not number.is_integer():
            raise ValueError(f"--set {item}: {name} takes a whole number")
        changes[name] = kind(number)
    return dataclasses.replace(model, **changes)


def compare(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns, *, label: str | None = None
) -> pd.DataFrame:
    """Per statistic: percentiles of each side, KS distance and (with ``label``) Spearman r with it."""
    rows = {}
    for c in columns:
        r, s = real[c].to_numpy(np.float64), synthetic[c].to_numpy(np.float64)
        row = {f"real p{p}": np.percentile(r, p) for p in PERCENTILES}
        row |= {f"synth p{p}": np.percentile(s, p) for p in PERCENTILES}
        row["KS"] = ks_2samp(r, s).statistic
        if label is not None:
            row["real r(ttf)"] = spearmanr(r, real[label]).statistic
            row["synth r(ttf)"] = spearmanr(s, synthetic[label]).statistic
        rows[c] = row
    return pd.DataFrame(rows).T


def per_statistic(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns, title: str, against: str | None = None
):
    """Markdown: each statistic's own adversarial AUC and (with ``against``) its Spearman r with that statistic
    on each side, over segments free of a spike (the joint structure a classifier may read)."""
    rows = {}
    for c in columns:
        row = {"AUC alone": adversarial_auc(real, synthetic, (c,))}
        if against is not None:
            r, s = (d[d["max abs"] <= 1000] for d in (real, synthetic))
            row[f"real r({against})"] = spearmanr(r[c], r[against]).statistic
            row[f"synth r({against})"] = spearmanr(s[c], s[against]).statistic
        rows[c] = row
    return markdown(pd.DataFrame(rows).T, f"{title}: each statistic")


def markdown(df: pd.DataFrame, title: str) -> str:
    def cell(v):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"

    head = f"| {title} | " + " | ".join(df.columns) + " |"
    lines = [head, "|" + "---|" * (len(df.columns) + 1)]
    lines += [
        f"| {i} | " + " | ".join(cell(v) for v in row) + " |"
        for i, row in zip(df.index, df.to_numpy(), strict=True)
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rows", type=int, default=150_000_000)
    p.add_argument("--cycles", type=int, default=17)
    p.add_argument("--test-segments", type=int, default=600)
    p.add_argument("--model", default="default", help="a SignalModel preset (default, v1)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="replace a constant of the preset, e.g. --set rate_mod_sd=0.35 (repeatable)",
    )
    p.add_argument("--measure-spectra", action="store_true", help="print lanl.data.real's spectra tables")
    p.add_argument(
        "--per-statistic",
        action="store_true",
        help="also each statistic's own adversarial AUC, and the test segments' Spearman r of each with std",
    )
    args = p.parse_args(argv)
    if args.measure_spectra:
        print(measure_spectra())
        return
    from lanl.data import synth

    try:
        model = with_constants(synth.signal_model(args.model), args.set)
    except ValueError as exc:
        p.error(str(exc))
    t0 = time.perf_counter()
    st_table, st_raw = synth_train(args.seed, args.rows, args.cycles, model)
    ss_test = synth_test(args.seed, args.rows, args.cycles, args.test_segments, model)
    rt_table, rt_raw, rs_table, rs_raw = (
        real_train_table(),
        real_train_raw(),
        real_test_table(),
        real_test_raw(),
    )
    print(f"synthetic: {args.rows:,} rows, {args.cycles} cycles ({len(st_table)} windows, "
          f"{len(st_raw)} around failures), {len(ss_test)} test segments, model {args.model!r}, seed {args.seed}; "
          f"{time.perf_counter() - t0:.0f} s\n")  # fmt: skip
    out = []
    if rt_table is not None:
        keep_r, keep_s = rt_table[~rt_table["straddles"]], st_table[~st_table["straddles"]]
        out.append(
            markdown(compare(keep_r, keep_s, TABLE_STATS, label="ttf"), "train windows (no quake inside)")
        )
        cycle = np.cumsum(np.r_[0, np.diff(keep_r["ttf"].to_numpy()) > 0])
        floor = adversarial_auc(keep_r[cycle % 2 == 0], keep_r[cycle % 2 == 1], TABLE_STATS)
        out.append(
            f"reference: the same classifier telling the real even-numbered cycles' windows from the odd ones' "
            f"{floor:.3f} (a rough scale for a generator of the real process, not 0.5: the shuffled folds let the "
            f"classifier learn each cycle's own level)"
        )
        joint = pd.DataFrame({"real": joint_structure(keep_r), "synthetic": joint_structure(keep_s)})
        out.append(markdown(joint, "train windows: joint structure"))
        auc = adversarial_auc(keep_r, keep_s, TABLE_STATS)
        if args.per_statistic:
            out.append(per_statistic(keep_r, keep_s, TABLE_STATS, "train windows"))
        with_label = adversarial_auc(keep_r, keep_s, TABLE_STATS + ("ttf",))
        out.append(
            f"adversarial AUC, train windows on the table statistics: {auc:.3f} (with the label as one more "
            f"column: {with_label:.3f}; the synthetic cycle lengths differ from the real ones below full size)"
        )
        (real_mae, real_median), (synth_mae, synth_median) = (
            label_gain(rt_table, TABLE_STATS),
            label_gain(st_table, TABLE_STATS),
        )
        out.append(
            f"how readable the label is (LightGBM on the table statistics, 5 folds by cycle, against the median): "
            f"real {real_mae:.3f} / {real_median:.3f} ({100 * (1 - real_mae / real_median):.1f}% better), "
            f"synthetic {synth_mae:.3f} / {synth_median:.3f} ({100 * (1 - synth_mae / synth_median):.1f}% better)"
        )
    if rt_raw is not None:
        out.append(
            markdown(compare(rt_raw, st_raw, RAW_STATS, label="ttf"), "train windows around the quakes")
        )
        for kind in ("quake", "after"):
            r, s = rt_raw[rt_raw["kind"] == kind], st_raw[st_raw["kind"] == kind]
            med = pd.DataFrame(
                {"real median": r[list(RAW_STATS)].median(), "synth median": s[list(RAW_STATS)].median()}
            )
            out.append(markdown(med, f"{kind} windows (real {len(r)}, synthetic {len(s)})"))
    if rs_table is not None:
        out.append(markdown(compare(rs_table, ss_test, TEST_TABLE_STATS), "test segments (table statistics)"))
        auc = adversarial_auc(rs_table, ss_test, TEST_TABLE_STATS)
        out.append(f"adversarial AUC, test segments on the table statistics: {auc:.3f}")
    if rs_raw is not None:
        out.append(
            markdown(compare(rs_raw, ss_test, RAW_STATS), f"test segments (raw, real n={len(rs_raw)})")
        )
        auc = adversarial_auc(rs_raw, ss_test, RAW_STATS)
        if args.per_statistic:
            out.append(per_statistic(rs_raw, ss_test, RAW_STATS, "raw test segments", against="std"))
        out.append(f"adversarial AUC, raw test segments on all statistics: {auc:.3f}")
    print("\n\n".join(out))


if __name__ == "__main__":
    main()
