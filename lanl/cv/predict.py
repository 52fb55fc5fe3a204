"""Predict with trained runs: a run folder's per-fold models applied to any data's test segments.

    predict_run(run_dir, ws)      -> DataFrame seg_id, fold_0 .., mean (the workspace's test ids)
    predict_to_run(run_dir, ws)   -> ws.runs/<name>/: a copy of the run folder holding those predictions
                                     (what `lanl predict` writes; `lanl submit` reads it)

The test inputs are built the way training built them, from the run's ``config.json``: the same feature set
(checked against the ``feature_set_hash`` the run recorded), the raw windows, or the per-chunk sequences of the
same chunk size. Each fold's prediction goes back through that fold's target (for ``fraction``, refitted on the
fold's training rows of ``oof.parquet``: the numbers training used), and ``mean`` averages the folds exactly as
training does, so predicting the training data's own test segments reproduces the run's ``test_pred.parquet``.
A stack run predicts its inputs first (``inputs`` of its config: found in ``inputs_dir``, beside it, or where it
recorded them), then applies its level-2 models to their averaged predictions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from lanl.cv.runs import Run, check_run_name
from lanl.data.segments import SEGMENT_LENGTH, SegmentSpec
from lanl.errors import LanlError
from lanl.features import load_feature_set
from lanl.fsutil import atomic_dir, write_json_atomic, write_parquet
from lanl.models import model_class
from lanl.models.inputs import inputs_of_test
from lanl.models.target import Target
from lanl.workspace import Workspace


def predict_run(
    run_dir: str | Path, ws: Workspace, *, inputs_dir: str | Path | None = None, feature_sets=None
) -> pd.DataFrame:
    """The run's predictions for the workspace's test segments (sample_submission order): one column per fold
    and their ``mean``. ``inputs_dir``: where a stack's input runs are looked for first. ``feature_sets``:
    FeatureSets to use, matched by hash, when the run's own ``features`` file is not on this machine (the
    Kaggle kernel passes the ones its config embeds)."""
    run, cache = Run.open(run_dir), ws.signal
    if not cache.test_ids:
        raise LanlError(f"{cache.root}: the data has no test segments; nothing to predict")
    if run.model == "stack":
        ids, X = _stack_inputs(run, ws, inputs_dir, feature_sets)
    else:
        ids, X = build_test_inputs(run, ws, feature_sets=feature_sets)
    targets = fold_targets(run)
    preds = {}
    for k, target in enumerate(targets):
        model = run.load_model(k)
        preds[f"fold_{k}"] = target.inverse(model.predict(_columns(X, model)))
    out = pd.DataFrame({"seg_id": list(ids), **preds})
    out["mean"] = np.mean(np.stack(list(preds.values())), axis=0)  # as lanl.cv.train averages
    return out


def build_test_inputs(run: Run, ws: Workspace, *, feature_sets=None):
    """(test ids, X_test) of a level-1 run on the workspace's cache, built as
    :func:`lanl.models.inputs.build_inputs` does."""

    config = run.config
    kind = model_class(config["model"]).input
    segments = config.get("segments") or {}
    spec = SegmentSpec(
        length=int(segments.get("length", SEGMENT_LENGTH)), stride=segments.get("stride") or None
    )
    if kind != "features":
        chunk = int(config.get("chunk") or config.get("params", {}).get("chunk", 1000))
        return inputs_of_test(kind, ws.signal, spec=spec, chunk=chunk, runner=ws.runner)
    fs = run_feature_set(run, feature_sets)
    ids, X = inputs_of_test(kind, ws.signal, spec=spec, fs=fs, store=ws.store, runner=ws.runner)
    expected = config.get("n_features")
    if expected is not None and expected != X.shape[1]:
        raise LanlError(
            f"{run.root}: trained on {expected} features of {fs.name}, but they now give {X.shape[1]}: "
            "the feature code changed since the run was trained; retrain it"
        )
    return ids, X


def run_feature_set(run: Run, feature_sets=None):
    """The run's feature set, checked against the hash the run recorded."""

    recorded = run.config.get("feature_set_hash")
    by_hash = {fs.hash: fs for fs in feature_sets or []}
    named = run.config.get("features") or run.config.get("feature_set")
    if recorded in by_hash:
        fs = by_hash[recorded]
    else:
        try:
            fs = load_feature_set(named)
        except (LanlError, OSError) as exc:
            raise LanlError(
                f"{run.root}: cannot load the run's feature set {named!r} here ({exc}); "
                "put the feature-set file at that path, or predict where it exists"
            ) from None
    if recorded and fs.hash != recorded:
        raise LanlError(
            f"{run.root}: trained on feature set {fs.name} with hash {recorded[:12]}, which now hashes to "
            f"{fs.hash[:12]}: the feature set or the feature code changed since the run was trained; "
            "retrain the run (or predict with the code it was trained with)"
        )
    return fs


def fold_targets(run: Run) -> list:
    """The fitted target of each fold: refitted on the fold's training rows (oof.parquet), as training did."""

    folds = run.folds
    kind = run.config.get("target", "ttf")
    if kind == "ttf":
        return [Target(kind) for _ in range(folds.n_folds)]
    oof = run.oof
    labels, cycles = oof["label"].to_numpy(float), oof["cycle"].to_numpy()
    return [Target(kind).fit(labels[train], cycles[train]) for _, train, _ in folds.split(oof)]


def _columns(X, model):
    names = getattr(model, "feature_names_in_", None)
    if isinstance(X, pd.DataFrame) and names is not None:
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise LanlError(
                f"the test features lack {len(missing)} the model was trained on, e.g. {missing[:3]}"
            )
        return X[list(names)]
    return X


def _stack_inputs(run: Run, ws: Workspace, inputs_dir, feature_sets) -> tuple[list[str], np.ndarray]:
    """(test ids, X): the stack's inputs' mean predictions side by side, in the order of its config."""
    names = run.config.get("inputs") or []
    recorded = run.config.get("input_dirs") or [None] * len(names)
    preds = [
        predict_run(
            find_input(run, name, where, inputs_dir), ws, inputs_dir=inputs_dir, feature_sets=feature_sets
        )
        for name, where in zip(names, recorded, strict=True)
    ]
    if not preds:
        raise LanlError(f"{run.root}: a stack without inputs in its config.json")
    ids = list(preds[0]["seg_id"])
    return ids, np.column_stack([p["mean"].to_numpy(np.float64) for p in preds])


def find_input(run: Run, name: str, recorded: str | None, inputs_dir) -> Path:
    """An input run of a stack: in ``inputs_dir``, beside the stack, or where the stack recorded it."""
    places = [Path(inputs_dir) / name] if inputs_dir is not None else []
    places += [run.root.parent / name] + ([Path(recorded)] if recorded else [])
    for place in places:
        if (place / "config.json").is_file():
            return place
    raise LanlError(
        f"{run.root}: its input run {name!r} is not found (looked in {', '.join(map(str, places))}); "
        "keep a stack's inputs beside it"
    )


def predict_to_run(
    run_dir: str | Path,
    ws: Workspace,
    *,
    name: str | None = None,
    inputs_dir: str | Path | None = None,
    feature_sets=None,
) -> Path:
    """Write ``ws.runs/<name>/``: a copy of the run folder whose ``test_pred.parquet`` holds its predictions
    for the workspace's test segments and whose config records that data (``data_fingerprint``, ``cache_dir``),
    so ``lanl submit`` reads it unchanged. ``name`` defaults to ``<run>-pred-<fingerprint[:8]>``; ``inputs_dir``
    and ``feature_sets`` as :func:`predict_run`."""

    run, cache = Run.open(run_dir), ws.signal
    pred = predict_run(run.root, ws, inputs_dir=inputs_dir, feature_sets=feature_sets)
    name = check_run_name(name or f"{run.name}-pred-{cache.fingerprint[:8]}")
    target = ws.runs / name
    if target.resolve() == run.root.resolve():
        raise LanlError(f"{target} is the run itself: give another --name or --runs")
    record = {
        **run.config,
        "name": name,
        "data_fingerprint": cache.fingerprint,
        "data": str(ws.data) if ws.data is not None else None,
        "cache_dir": str(cache.root),
        "predicted_from": {
            "run": str(run.root.resolve()),
            "data_fingerprint": run.config.get("data_fingerprint"),
            "cache_dir": run.config.get("cache_dir"),
        },
    }
    with atomic_dir(target) as tmp:
        shutil.copytree(run.root, tmp, dirs_exist_ok=True)
        write_parquet(pred, tmp / "test_pred.parquet")
        write_json_atomic(tmp / "config.json", record)
    return target
