"""Cross-validated training runs: config in, run folder out.

    train(ws, config)                      a workspace's data (lanl.workspace) -> runs/<name>/  (what `lanl train` runs)
    train_table(features, config)          a ready feature table (and test table) -> runs/<name>/
    cross_validate(model, X, table, folds) the CV loop alone -> CVResult (OOF, test predictions, models)

A config is a TOML file (``load_config``) read into :class:`RunConfig`; unknown keys are an error::

    model = "lgbm"            # lgbm | cnn | lstm
    features = "kernel"       # feature set of lgbm (name or .toml); the nets read the signal ("raw") or
                              # per-chunk features ("rnn_chunk")
    target = "ttf"            # ttf | fraction (fraction of the quake cycle elapsed, converted back)
    seed = 0                  # the model's seed
    refit = false             # true: after early stopping on the inner split, refit on all training folds
                              # for the chosen iterations/epochs (the default keeps the early-stopped model)
    stop_fraction = 0.2       # share of the training folds (whole cycles) held out for early stopping
    [folds]                   # the shared fold artifact: scheme cycle | loco | kfold, k, seed
    scheme = "cycle"
    k = 5
    [segments]                # the train windows: length and stride (0: non-overlapping)
    length = 150000
    stride = 0
    [params]                  # the model's parameters (lanl.models: LGBMRegressor, CNNRegressor, RNNRegressor)
    objective = "huber"
    [shift]                   # train -> test shift remedies, fitted per fold (lanl.cv.shift; off by default here,
    remedies = ["auto"]       # "auto" in lanl run): ks_filter, cycle_subset, cycle_length, weights, fraction, mean

Every fold fits its own target transform, input scaling and early stopping on its training folds only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from lanl.cv.folds import OPTIMISTIC_WARNING, Folds, FoldSpec, ensure_folds, inner_split
from lanl.cv.runs import DEFAULT_RUNS, FOLDS_SUBDIR, check_run_name, code_version, write_run
from lanl.cv.shift import ShiftConfig, ShiftPlan, diagnose
from lanl.cv.shift import plan as plan_shift
from lanl.data.segments import KEY_COLUMNS, SEGMENT_LENGTH, train_segments
from lanl.errors import LanlError
from lanl.models import SUFFIX, make_model, model_class
from lanl.models.base import from_table, get_params_json, take
from lanl.models.inputs import Inputs, build_inputs, segment_spec
from lanl.models.target import Target
from lanl.progress import progress
from lanl.workspace import Workspace

NET_FEATURES = {"signal": "raw", "chunks": "rnn_chunk"}
# what a run's config.json records beside its config (provenance, not settings)
RECORD_KEYS = {
    "code_version",
    "folds_id",
    "feature_set",
    "feature_set_hash",
    "n_features",
    "features_table",
    "data_fingerprint",
    "data",
    "cache_dir",
    "chunk",
    "tables",
    "cycles_from",
    "straddling_dropped",
    "n_cycles",
}
MIN_TEST_ROWS = 3  # the shift diagnostics' adversarial classifier holds out a third of the rows


# ---------------------------------------------------------------------------------------------- config
@dataclass
class SegmentsConfig:
    length: int = SEGMENT_LENGTH
    stride: int = 0  # 0: non-overlapping windows


@dataclass
class RunConfig:
    model: str = "lgbm"
    features: str = ""  # "": the model's default (kernel for lgbm)
    target: str = "ttf"
    seed: int = 0
    name: str = ""
    refit: bool = False
    stop_fraction: float = 0.2
    folds: FoldSpec = field(default_factory=FoldSpec)
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    params: dict = field(default_factory=dict)
    shift: ShiftConfig = field(default_factory=ShiftConfig)


def config_from_dict(data: dict[str, Any], where: str = "config") -> RunConfig:
    """A RunConfig from the TOML shape; an unknown key anywhere names the valid ones."""
    return from_table(RunConfig, data, where)


def load_config(path: str | Path | None = None, **overrides) -> RunConfig:
    """The config of TOML file ``path`` (or the defaults), with ``overrides`` (None values ignored) on top;
    ``folds_scheme``, ``folds_k`` override [folds]; ``shift`` (a list of remedies) overrides [shift] remedies."""
    data = read_config_file(path) if path is not None else {}
    if overrides.get("shift") is not None:
        data["shift"] = {**data.get("shift", {}), "remedies": overrides.pop("shift")}
    for key in ("scheme", "k"):
        if overrides.get(f"folds_{key}") is not None and isinstance(data.get("folds", {}), dict):
            data["folds"] = {**data.get("folds", {}), key: overrides[f"folds_{key}"]}
    data.update({k: v for k, v in overrides.items() if v is not None and not k.startswith("folds_")})
    return config_from_dict(data, str(path) if path else "config")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A TOML config, or the ``config.json`` of a run folder (its provenance keys dropped): rerunning a
    run's own config reproduces it."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise LanlError(f"{path}: no such config file") from None
    if path.suffix == ".json":
        try:
            return {k: v for k, v in json.loads(text).items() if k not in RECORD_KEYS}
        except ValueError as exc:
            raise LanlError(f"{path}: not valid JSON ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LanlError(f"{path}: not valid TOML ({exc})") from None


def resolve(config: RunConfig) -> tuple[RunConfig, Any]:
    """The config with every default filled in (the model's full parameters, its feature set, a run name),
    and the unfitted model it describes."""
    cls = model_class(config.model)
    if "seed" in config.params:
        raise LanlError("set the seed at the top level of the config (seed = N), not in [params]")
    Target(config.target)  # validates the name
    if not 0 < config.stop_fraction < 1:
        raise LanlError(f"stop_fraction must be in (0, 1), got {config.stop_fraction}")
    model = make_model(config.model, {**config.params, "seed": config.seed})
    features = _features_of(cls, config.features)
    params = {k: v for k, v in get_params_json(model).items() if k != "seed"}
    resolved = dataclasses.replace(config, features=features, params=params)
    name = config.name or f"{config.model}-{Path(features).stem}-{config_hash(resolved)}"
    return dataclasses.replace(resolved, name=check_run_name(name)), model


def _features_of(cls, features: str) -> str:
    if cls.input == "features":
        return features or "kernel"
    fixed = NET_FEATURES[cls.input]
    if features not in ("", fixed):
        raise LanlError(
            f"model {cls.kind!r} reads {'the raw signal' if fixed == 'raw' else 'per-chunk features'}; "
            f"--features {features!r} does not apply (leave it out)"
        )
    return fixed


def config_hash(config: RunConfig) -> str:
    doc = {**dataclasses.asdict(config), "name": ""}
    if not config.shift.active:  # runs without a shift stage keep the names they had before it existed
        doc.pop("shift")
    blob = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.blake2b(blob.encode(), digest_size=4).hexdigest()


# ------------------------------------------------------------------------------------------ CV loop
@dataclass
class FoldResult:
    fold: int
    model: Any
    valid_idx: np.ndarray
    pred: np.ndarray
    baseline: float
    test_pred: np.ndarray | None
    history: dict[str, list[float]]
    best: int
    seconds: float
    shift: dict | None = None


@dataclass
class CVResult:
    oof: pd.DataFrame
    test_pred: pd.DataFrame | None
    folds: list[FoldResult]
    seconds: float
    shift: dict | None = None


def cross_validate(
    model,
    X,
    table: pd.DataFrame,
    folds: Folds,
    *,
    target: str = "ttf",
    X_test=None,
    test_ids=None,
    refit: bool = False,
    stop_fraction: float = 0.2,
    shift: ShiftConfig | None = None,
    seed: int = 0,
) -> CVResult:
    """Fit a clone of ``model`` per fold on the training folds, predict the held-out fold (OOF) and the test
    set. ``table`` holds the keys (seg_id, cycle, label) of the rows of ``X``. With an active ``shift``
    config, each fold plans its shift remedies on its own training rows and the test rows (lanl.cv.shift),
    seeded by ``seed`` and the fold."""
    t0 = time.perf_counter()
    check_table(table)
    labels, cycles = table["label"].to_numpy(float), table["cycle"].to_numpy()
    by_cycle = folds.spec.scheme != "kfold"
    shift = usable_shift(shift, X, X_test)
    results = []
    for k, train_idx, valid_idx in progress(
        folds.split(table), total=folds.n_folds, desc="folds", unit="fold"
    ):
        fold_set = (X, labels, cycles, train_idx, valid_idx)
        results.append(
            fit_fold(model, k, fold_set, Target(target), X_test, refit, stop_fraction, by_cycle, shift, seed)
        )
    oof = _oof_table(table, results)
    test_pred = _test_table(test_ids, results) if X_test is not None else None
    overall = None if shift is None else diagnose(X, cycles, labels, X_test, shift, seed=seed)
    return CVResult(oof, test_pred, results, time.perf_counter() - t0, overall)


def fit_fold(
    model,
    k,
    fold_set,
    target: Target,
    X_test,
    refit: bool,
    stop_fraction: float,
    by_cycle: bool,
    shift: ShiftConfig | None = None,
    seed: int = 0,
):
    """One fold: plan the shift remedies (if any) on the training rows, fit the target on the training rows,
    early-stop on an inner split of them (the same stopping cycles for every model: they depend on the fold
    only), optionally refit on all of them, predict. A model that does not stop early (``early_stopping =
    False``: the scikit-learn kinds) fits on all the training rows at once."""
    t0 = time.perf_counter()
    X, labels, cycles, train_idx, valid_idx = fold_set
    weights, plan = None, None
    if shift is not None:
        fold_seed = 1000 * seed + k + 1
        plan = plan_shift(
            take(X, train_idx), cycles[train_idx], labels[train_idx], X_test, shift, seed=fold_seed
        )
        train_idx, weights = train_idx[plan.rows], plan.weights
        X, X_test = X[plan.features], X_test[plan.features]
        target = Target("fraction") if "fraction" in plan.remedies else target
    target.fit(labels[train_idx], cycles[train_idx])
    y = target.transform(labels[train_idx], cycles[train_idx])
    # the multitask heads read the rows' cycles (time since the last quake), in seconds: ttf targets only
    with_cycles = getattr(model, "uses_cycles", False) and target.kind == "ttf"
    if not getattr(model, "early_stopping", True):  # nothing to stop early: every training row fits it
        fitted = clone(model).fit(take(X, train_idx), y, **_w(weights), **_c(with_cycles, cycles[train_idx]))
        refit = False
    else:
        fit_pos, stop_pos = inner_split(cycles[train_idx], by_cycle=by_cycle, fraction=stop_fraction, seed=k)
        stop_set = (take(X, train_idx[stop_pos]), y[stop_pos])
        extra = {**_w(weights, fit_pos), **_c(with_cycles, cycles[train_idx[fit_pos]])}
        fitted = clone(model).fit(take(X, train_idx[fit_pos]), y[fit_pos], eval_set=stop_set, **extra)
    history, best = fitted.history_, _best(fitted)
    if refit:
        extra = {**_w(weights), **_c(with_cycles, cycles[train_idx])}
        fitted = clone(model).set_params(**fitted.refit_params()).fit(take(X, train_idx), y, **extra)
    pred = target.inverse(fitted.predict(take(X, valid_idx)))
    test_pred = _predict_test(fitted, X_test, target, plan) if X_test is not None else None
    baseline = float(np.median(labels[train_idx]))
    return FoldResult(
        k,
        fitted,
        valid_idx,
        pred,
        baseline,
        test_pred,
        history,
        best,
        time.perf_counter() - t0,
        plan.to_json() if plan is not None else None,
    )


def _w(weights: np.ndarray | None, pos: np.ndarray | None = None) -> dict:
    """``sample_weight=`` for fit, only when there are weights (models without shift weights need none)."""
    if weights is None:
        return {}
    return {"sample_weight": weights if pos is None else weights[pos]}


def _c(with_cycles: bool, cycles: np.ndarray) -> dict:
    return {"cycles": cycles} if with_cycles else {}


def _predict_test(fitted, X_test, target: Target, plan: ShiftPlan | None) -> np.ndarray:
    raw = fitted.predict(X_test)
    if plan is None:
        return target.inverse(raw)
    pred = target.inverse(raw, duration=plan.test_seconds)
    return pred if plan.test_mean is None else recentre(pred, plan.test_mean)


def recentre(pred: np.ndarray, mean: float) -> np.ndarray:
    """``max(pred + c, 0)`` with the offset ``c`` that makes its mean ``mean`` (the clip at 0 included)."""
    from scipy.optimize import brentq  # only the mean remedy needs it

    def gap(c: float) -> float:
        return float(np.maximum(pred + c, 0.0).mean() - mean)

    lo, hi = mean - pred.max() - 1.0, mean - pred.min() + 1.0  # gap(lo) < 0 < gap(hi)
    return np.maximum(pred + brentq(gap, lo, hi, xtol=1e-12), 0.0)


def usable_shift(shift: ShiftConfig | None, X, X_test) -> ShiftConfig | None:
    """The shift config when it can apply: a feature table with test rows holding its columns. Explicit
    remedies without those are an error (raised before anything is written); ``auto`` then does nothing."""
    if shift is None or not shift.active:
        return None
    why = None
    if not isinstance(X, pd.DataFrame):
        why = "a model that does not read a feature table"
    elif not isinstance(X_test, pd.DataFrame):
        why = "no test segments"
    elif len(X_test) < MIN_TEST_ROWS:
        why = f"{len(X_test)} test rows (the diagnostics need at least {MIN_TEST_ROWS})"
    elif missing := [c for c in X.columns if c not in X_test.columns]:
        why = f"test rows without the feature(s) {', '.join(missing[:5])}"
    if why is None:
        return shift
    if shift.auto:
        return None
    raise LanlError(
        f"the shift remedies {shift.remedies} need feature tables with test rows; this run has {why}"
    )


def _best(model) -> int:
    return int(getattr(model, "best_iteration_", getattr(model, "best_epoch_", 0)))


def check_table(table: pd.DataFrame) -> None:
    missing = [c for c in ("seg_id", "cycle", "label") if c not in table.columns]
    if missing:
        raise LanlError(
            f"a training table needs the columns seg_id, cycle and label (missing: {', '.join(missing)})"
        )
    if not np.isfinite(table["label"].to_numpy(float)).all():
        raise LanlError("the training table has rows without a label (NaN): is it a test table?")


def _oof_table(table: pd.DataFrame, results: list[FoldResult]) -> pd.DataFrame:
    oof = table[[c for c in KEY_COLUMNS if c in table.columns]].reset_index(drop=True).copy()
    oof["pred"], oof["fold"], oof["baseline"] = np.nan, -1, np.nan
    for r in results:
        oof.loc[r.valid_idx, ["pred", "fold", "baseline"]] = np.c_[
            r.pred, np.full(len(r.pred), r.fold), np.full(len(r.pred), r.baseline)
        ]
    oof["fold"] = oof["fold"].astype(np.int64)
    return oof


def _test_table(test_ids, results: list[FoldResult]) -> pd.DataFrame:
    preds = {f"fold_{r.fold}": r.test_pred for r in results}
    out = pd.DataFrame({"seg_id": list(test_ids), **preds})
    out["mean"] = np.mean(np.stack(list(preds.values())), axis=0)
    return out


# ---------------------------------------------------------------------------------------------- metrics
def cv_metrics(result: CVResult, folds: Folds) -> dict[str, Any]:
    """CV MAE overall, per fold and per cycle, each next to the constant-median baseline."""
    oof = result.oof
    err, base = (oof["pred"] - oof["label"]).abs(), (oof["baseline"] - oof["label"]).abs()
    frame = oof.assign(err=err, base=base)
    per_fold = [
        {
            "fold": r.fold,
            "mae": float(err.iloc[r.valid_idx].mean()),
            "baseline_mae": float(base.iloc[r.valid_idx].mean()),
            "n": len(r.valid_idx),
            "cycles": sorted(int(c) for c in oof["cycle"].iloc[r.valid_idx].unique()),
            "best": r.best,
            "seconds": round(r.seconds, 3),
        }
        for r in result.folds
    ]
    per_cycle = [
        {"cycle": int(c), "mae": float(g["err"].mean()), "baseline_mae": float(g["base"].mean()), "n": len(g)}
        for c, g in frame.groupby("cycle")
    ]
    metrics = {
        "cv_mae": float(err.mean()),
        "baseline_mae": float(base.mean()),
        "folds": per_fold,
        "cycles": per_cycle,
        "n_segments": len(oof),
        "scheme": folds.spec.scheme,
        "seconds": round(result.seconds, 3),
    }
    if folds.spec.scheme == "kfold":
        metrics["warning"] = OPTIMISTIC_WARNING
    metrics["distribution"] = _distributions(oof, result.test_pred)
    if result.shift is not None:
        metrics["shift"] = {**result.shift, "folds": [r.shift for r in result.folds]}
        chosen = result.shift.get("cycles")
        if chosen is not None:  # the score on the cycles closest to test, next to the score on all cycles
            metrics.update(matched_metrics(oof, chosen))
    return metrics


def matched_metrics(oof: pd.DataFrame, cycles: list[int]) -> dict[str, float]:
    """CV MAE (and the baseline's) on the OOF rows of ``cycles``: the training cycles closest to test."""
    on = oof[oof["cycle"].isin(cycles)]
    return {
        "cv_mae_matched": float((on["pred"] - on["label"]).abs().mean()),
        "baseline_mae_matched": float((on["baseline"] - on["label"]).abs().mean()),
        "matched_cycles": [int(c) for c in cycles],
    }


def _distributions(oof: pd.DataFrame, test_pred: pd.DataFrame | None) -> dict[str, dict[str, float]]:
    """Mean and quantiles of the labels, the OOF predictions and the test predictions (the shift shows as a
    test distribution unlike the OOF one)."""
    parts = {"label": oof["label"], "oof": oof["pred"]}
    if test_pred is not None:
        parts["test"] = test_pred["mean"]
    return {name: _describe(values.to_numpy(float)) for name, values in parts.items()}


def _describe(x: np.ndarray) -> dict[str, float]:
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "mean": float(x.mean()),
        **{f"q{int(p * 100):02d}": float(v) for p, v in zip((0.05, 0.25, 0.5, 0.75, 0.95), q, strict=True)},
    }


# ------------------------------------------------------------------------------------------------- runs
def train(ws: Workspace, config: RunConfig) -> Path:
    """Cross-validate ``config`` on the workspace's data and write ``ws.runs/<name>/``; returns the run folder."""
    config, model, inputs = prepare(ws, config)
    return run_cv(config, model, inputs, ws.runs)


def prepare(ws: Workspace, config: RunConfig):
    """The resolved config, its model and the model's inputs on the workspace's data (with their provenance).

    The folds are made (or found) before any feature extraction, so too few cycles fail early.
    """

    config, model = resolve(config)
    cache = ws.signal
    ensure_folds(train_segments(cache, segment_spec(config)), config.folds, ws.runs / FOLDS_SUBDIR)
    inputs = build_inputs(type(model), ws, config)
    inputs.info.update(
        data_fingerprint=cache.fingerprint,
        data=str(ws.data) if ws.data else None,
        cache_dir=str(cache.root),
    )
    return config, model, inputs


def train_table(
    features: pd.DataFrame,
    config: RunConfig,
    *,
    test: pd.DataFrame | None = None,
    runs_dir: str | Path = DEFAULT_RUNS,
    info: dict | None = None,
) -> Path:
    """Cross-validate a feature-table model on a ready feature table (seg_id, start, cycle, label, features)
    and, optionally, its test table (seg_id and the same features); writes ``runs_dir/<name>/``. ``info``
    (provenance: where the tables came from, their fingerprint) is recorded in the run's config."""
    if config.features and not config.features.startswith("table"):
        raise LanlError(
            f"features = {config.features!r} names a feature set to extract from DATA; a feature table's own "
            "columns are its features (leave --features out)"
        )
    config, model = resolve(dataclasses.replace(config, features=table_label(info)))
    if model.input != "features":
        raise LanlError(
            f"feature tables feed feature-table models; model {config.model!r} reads {model.input}"
        )
    check_table(features)
    columns = [c for c in features.columns if c not in KEY_COLUMNS]
    X_test = test[columns] if test is not None else None
    test_ids = list(test["seg_id"]) if test is not None else None
    info = {"feature_set": config.features, "n_features": len(columns), **(info or {})}
    inputs = Inputs(
        features[[c for c in KEY_COLUMNS if c in features.columns]], features[columns], test_ids, X_test, info
    )
    return run_cv(config, model, inputs, runs_dir)


def table_label(info: dict | None) -> str:
    """What a run on a feature table calls its features: ``table-<first digits of the tables' fingerprint>``."""
    fingerprint = (info or {}).get("data_fingerprint", "")
    return f"table-{fingerprint.removeprefix('table:')[:8]}" if fingerprint else "table"


def train_tables(tables, config: RunConfig, *, runs_dir: str | Path = DEFAULT_RUNS) -> Path:
    """:func:`train_table` on :class:`lanl.data.tables.FeatureTables` (tables a user brought, checked)."""
    return train_table(tables.train, config, test=tables.test, runs_dir=runs_dir, info=tables.info)


def run_cv(config: RunConfig, model, inputs: Inputs, runs_dir: str | Path) -> Path:
    """Folds (made once, shared), the CV loop, metrics, and the run folder written atomically."""
    runs_dir = Path(runs_dir)
    usable_shift(config.shift, inputs.X, inputs.X_test)  # a shift that cannot apply fails before any file
    folds, _ = ensure_folds(inputs.table, config.folds, runs_dir / FOLDS_SUBDIR)
    result = cross_validate(
        model,
        inputs.X,
        inputs.table,
        folds,
        target=config.target,
        X_test=inputs.X_test,
        test_ids=inputs.test_ids,
        refit=config.refit,
        stop_fraction=config.stop_fraction,
        shift=config.shift,
        seed=config.seed,
    )
    metrics = cv_metrics(result, folds)
    record = {
        **dataclasses.asdict(config),
        "code_version": code_version(),
        "folds_id": folds.id,
        **inputs.info,
    }
    return write_run(runs_dir / config.name, record, metrics, result, folds, suffix=SUFFIX[config.model])
