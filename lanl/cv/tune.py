"""Hyperparameter tuning: an Optuna study per model, scored by the CV MAE of the saved folds.

    tune(ws, config, trials=20)            a workspace's data -> a study -> its best config (what `lanl tune` runs)
    tune_table(features, config, ...)      the same on a ready feature table
    objective(trial, data, base, space)    suggest, fit fold by fold (pruned early when bad), score, return

The search spaces are :mod:`lanl.cv.spaces`; where studies live and what they leave behind,
:mod:`lanl.cv.studies`.

Every trial is scored exactly as ``lanl train`` scores a run (:func:`lanl.cv.train.fit_fold` on the fold artifact
of :func:`lanl.cv.folds.ensure_folds`), so the study's best value is the CV MAE ``lanl train --config best.toml``
reports. The inputs (feature table, signal windows or chunk sequences) are built once, outside the objective,
and bound to it with :func:`functools.partial`. After each fold a trial reports its running CV MAE; a median
pruner stops trials that are worse than the median of the earlier ones at the same fold. A fresh study first
evaluates the base config (the defaults), so the history starts from the untuned score.

A study (its storage: see :mod:`lanl.cv.studies`) resumes where it stopped: rerunning adds ``trials`` more. ``workers=N`` runs N processes on the same storage
(this process and N - 1 spawned ones); the same command on another machine with a shared database URL joins
the study. A study remembers the folds, data and base config it was made for and refuses any other. Workers
are spawned, so a script calling ``tune(..., workers=2)`` needs the usual ``if __name__ == "__main__":`` guard.

Outputs in ``RUNS/_studies/<study>/``: ``best.toml`` (a ``lanl train`` config), ``study.json`` (summary),
``trials.csv`` (every trial, its parameters and per-fold running MAE) and ``importances.json``; the report reads
these to draw the optimisation history and the parameter importances.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lanl.cv.folds import Folds, ensure_folds
from lanl.cv.runs import DEFAULT_RUNS, FOLDS_SUBDIR
from lanl.cv.spaces import SPACES, Choice, Float, Int, default_point, suggest
from lanl.cv.studies import (
    STUDIES_SUBDIR,
    StudySpec,
    TuneResult,
    check_identity,
    default_study_name,
    export_study,
    load_study,
    optuna_quiet,
    public_url,
    storage_url,
)
from lanl.cv.train import (
    RunConfig,
    check_table,
    config_hash,
    fit_fold,
    prepare,
    resolve,
    table_label,
    usable_shift,
)
from lanl.data.segments import KEY_COLUMNS
from lanl.errors import LanlError
from lanl.features.runners import usable_cores
from lanl.models import model_class
from lanl.models.inputs import Inputs
from lanl.models.target import Target
from lanl.workspace import Workspace


@dataclass
class TuneData:
    """What every trial reads, built once: the model's inputs, the fold artifact and where they come from."""

    inputs: Inputs
    folds: Folds

    @property
    def labels(self) -> np.ndarray:
        return self.inputs.table["label"].to_numpy(float)

    def fold_sets(self) -> Iterator[tuple[int, tuple]]:
        """(fold, (X, labels, cycles, train rows, validation rows)) for each fold, as fit_fold takes them."""
        table = self.inputs.table
        for k, train_idx, valid_idx in self.folds.split(table):
            yield k, (self.inputs.X, self.labels, table["cycle"].to_numpy(), train_idx, valid_idx)

    def identity(self, base: RunConfig) -> dict[str, Any]:
        """What a study is tied to: scores of other folds, data or base configs are not comparable."""
        info = self.inputs.info
        return {
            "model": base.model,
            "base_config_hash": config_hash(base),
            "folds_id": self.folds.id,
            "data_fingerprint": info.get("data_fingerprint"),
            "feature_set_hash": info.get("feature_set_hash"),
        }


def load_data(ws: Workspace, config: RunConfig) -> TuneData:
    """The inputs of ``config``'s model on the workspace's data (features from its feature store: extracted
    once, then read)."""

    config, _, inputs = prepare(ws, config)
    folds, _ = ensure_folds(inputs.table, config.folds, ws.runs / FOLDS_SUBDIR)
    return TuneData(inputs, folds)


def table_data(
    features: pd.DataFrame,
    config: RunConfig,
    *,
    runs_dir: str | Path = DEFAULT_RUNS,
    info: dict | None = None,
    test: pd.DataFrame | None = None,
) -> TuneData:
    """The inputs of a ready feature table (seg_id, start, cycle, label, feature columns) and, for a shift
    stage, its test table; ``info``: its provenance (lanl.data.tables: the fingerprint ties a study to the table)."""
    check_table(features)
    columns = [c for c in features.columns if c not in KEY_COLUMNS]
    table = features[[c for c in KEY_COLUMNS if c in features.columns]]
    test_ids, X_test = (None, None) if test is None else (list(test["seg_id"]), test[columns])
    inputs = Inputs(table, features[columns], test_ids, X_test, {"n_features": len(columns), **(info or {})})
    usable_shift(config.shift, inputs.X, inputs.X_test)  # a shift that cannot apply fails before the study
    folds, _ = ensure_folds(table, config.folds, Path(runs_dir) / FOLDS_SUBDIR)
    return TuneData(inputs, folds)


def objective(trial, data: TuneData, base: RunConfig, space: dict) -> float:
    """Suggest a point, fit it fold by fold (reporting the running CV MAE so a bad trial is pruned after its
    first folds), return its CV MAE over every out-of-fold row."""
    import optuna

    config, model = resolve(dataclasses.replace(base, params={**base.params, **suggest(trial, space)}))
    trial.set_user_attr("pid", os.getpid())  # which worker process ran it
    trial.set_user_attr("cores", usable_cores())  # and on how many cores (on Linux its share: _on_core_share)
    by_cycle = data.folds.spec.scheme != "kfold"
    shift = usable_shift(config.shift, data.inputs.X, data.inputs.X_test)  # trials train as the run will
    X_test = data.inputs.X_test if shift is not None else None
    errors = []
    for k, fold_set in data.fold_sets():
        fold = fit_fold(
            model,
            k,
            fold_set,
            Target(config.target),
            X_test,
            config.refit,
            config.stop_fraction,
            by_cycle,
            shift,
            config.seed,
        )
        errors.append(np.abs(fold.pred - data.labels[fold.valid_idx]))
        trial.report(float(np.concatenate(errors).mean()), step=k)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned after fold {k}")
    return float(np.concatenate(errors).mean())


def optimize(
    study, data: TuneData, base: RunConfig, space: dict, trials: int, *, timeout=None, log=None
) -> None:
    """Run ``trials`` trials of ``objective`` (data bound with functools.partial) in this process."""
    func = functools.partial(objective, data=data, base=base, space=space)
    callbacks = [functools.partial(_log_trial, log=log)] if log else []
    with optuna_quiet():
        study.optimize(func, n_trials=trials, timeout=timeout, callbacks=callbacks)


def _log_trial(study, trial, log) -> None:
    if trial.state.name == "PRUNED":
        step, value = max(trial.intermediate_values.items(), default=(-1, math.nan))
        what = f"pruned after fold {step} (running CV MAE {value:.4f})"
    else:
        what = (
            f"{trial.state.name.lower()}: CV MAE {trial.value if trial.value is not None else math.nan:.4f}"
        )
    try:
        best = f"best {study.best_value:.4f} (trial {study.best_trial.number})"
    except ValueError:
        best = "no complete trial yet"
    log(f"trial {trial.number} {what}; {best}")


def core_share(cores: list[int], worker: int, workers: int) -> list[int]:
    """The cores worker ``worker`` of ``workers`` runs on: every ``workers``-th of ``cores`` from its own, or one
    core in turn where there are more workers than cores."""
    return cores[worker::workers] or [cores[worker % len(cores)]]


def _cores() -> list[int] | None:
    """The cores this process may run on, where the OS lets it choose (None elsewhere)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_setaffinity") else None


@contextlib.contextmanager
def _on_core_share(cores: list[int] | None, worker: int, workers: int) -> Iterator[None]:
    """Run this thread (and the threads it starts) on its :func:`core_share` of ``cores`` (the parent's, so
    that no worker splits another's share), so that what sizes itself to the cores (the shift stage's trees:
    ``usable_cores``) takes its share, not every core in every worker; the cores are given back on exit.
    Results do not change, only the threads' count."""
    if workers == 1 or not cores:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, core_share(cores, worker, workers))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _worker(
    load: Callable[[], TuneData],
    base: RunConfig,
    space: dict,
    spec: StudySpec,
    trials: int,
    worker: int,
    workers: int,
    cores: list[int] | None,
    n_before: int,
    timeout,
    verbose: bool,
) -> int:
    """One spawned worker process: its own inputs (cache hits), its own connection, its share of the trials
    and of the cores."""
    data = load()
    study = load_study(spec, worker, n_before)
    log = functools.partial(_prefixed, prefix=f"[worker {worker}] ") if verbose else None
    with _on_core_share(cores, worker, workers):
        optimize(study, data, base, space, trials, timeout=timeout, log=log)
    return trials


def _prefixed(message: str, prefix: str) -> None:
    print(prefix + message, flush=True)


def run_study(
    load: Callable[[], TuneData],
    base: RunConfig,
    *,
    trials: int = 20,
    storage: str | Path | None = None,
    study: str | None = None,
    workers: int = 1,
    seed: int = 0,
    runs_dir: str | Path = DEFAULT_RUNS,
    space: dict | None = None,
    pruner_startup: int = 5,
    timeout: float | None = None,
    log: Callable[[str], None] | None = None,
) -> TuneResult:
    """Add ``trials`` trials of ``base``'s model to a study, over ``workers`` processes; export its best config.
    ``load`` builds the inputs (called once here, and once in each spawned worker: cache hits)."""
    base, _ = resolve(base)
    space = _check_space(space if space is not None else SPACES[base.model], base)
    if trials < 0 or workers < 1:
        raise LanlError(f"trials must be >= 0 and workers >= 1, got trials={trials}, workers={workers}")
    data = load()
    identity = data.identity(base)
    url = storage_url(storage, runs_dir)
    spec = StudySpec(url, study or default_study_name(base, identity), seed, pruner_startup)
    first = load_study(spec)
    check_identity(first, identity)
    n_before = len(first.trials)
    if n_before == 0:
        first.enqueue_trial(default_point(space, base.params), user_attrs={"default": True})
    shares = [trials // workers + (w < trials % workers) for w in range(workers)]
    if log:
        log(
            f"study {spec.name} ({public_url(url)}): {n_before} trials so far, {trials} more in {workers} process(es)"
        )
    _run_workers(load, base, space, spec, shares, n_before, timeout, log, first, data)
    return export_study(load_study(spec), base, Path(runs_dir) / STUDIES_SUBDIR / spec.name, url)


def _run_workers(load, base, space, spec, shares, n_before, timeout, log, study, data) -> None:
    """Share 0 in this process, the others in spawned worker processes on the same storage (processes, not
    threads: a trial is CPU-bound; spawned, not forked: LightGBM's and torch's thread pools do not survive a
    fork)."""
    children = [(w, n) for w, n in enumerate(shares) if w > 0 and n > 0]
    if not children:
        optimize(study, data, base, space, shares[0], timeout=timeout, log=log)
        return
    workers, cores = sum(n > 0 for n in shares), _cores()  # the cores go to the workers with trials
    with ProcessPoolExecutor(len(children), mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(
                _worker, load, base, space, spec, n, w, workers, cores, n_before, timeout, log is not None
            )
            for w, n in children
        ]
        with _on_core_share(cores, 0, workers):
            optimize(study, data, base, space, shares[0], timeout=timeout, log=log)
        for future in futures:
            future.result()


def _check_space(space: dict, base: RunConfig) -> dict:
    names = [f.name for f in dataclasses.fields(model_class(base.model)) if f.name != "seed"]
    unknown = sorted(set(space) - set(names))
    if not space or unknown:
        problem = f"unknown parameter(s) {', '.join(unknown)}" if unknown else "empty"
        raise LanlError(f"search space of model {base.model!r}: {problem}; valid: {', '.join(names)}")
    bad = [name for name, dist in space.items() if not isinstance(dist, Float | Int | Choice)]
    if bad:
        raise LanlError(f"search space entries must be Float, Int or Choice: {', '.join(bad)}")
    return space


def tune(
    ws: Workspace,
    config: RunConfig | None = None,
    *,
    trials: int = 20,
    storage: str | Path | None = None,
    study: str | None = None,
    workers: int = 1,
    seed: int = 0,
    space: dict | None = None,
    timeout: float | None = None,
    log: Callable[[str], None] | None = None,
) -> TuneResult:
    """Tune ``config``'s model (default: LightGBM on the kernel set) on the workspace's data, studies and runs
    in ``ws.runs``; ``workers`` study processes (each spawned one opens the workspace again); what ``lanl tune`` runs."""
    config = config or RunConfig()
    return run_study(
        functools.partial(load_data, ws, config),
        config,
        trials=trials,
        storage=storage,
        study=study,
        workers=workers,
        seed=seed,
        runs_dir=ws.runs,
        space=space,
        timeout=timeout,
        log=log,
    )


def tune_table(
    features: pd.DataFrame,
    config: RunConfig | None = None,
    *,
    info: dict | None = None,
    test: pd.DataFrame | None = None,
    **kwargs,
) -> TuneResult:
    """Tune a feature-table model on a ready feature table (and its test table, which a [shift] stage
    needs); keyword arguments as :func:`run_study`."""
    config = config or RunConfig()
    config = dataclasses.replace(config, features=config.features or table_label(info))
    runs_dir = kwargs.get("runs_dir", DEFAULT_RUNS)
    load = functools.partial(table_data, features, config, runs_dir=runs_dir, info=info, test=test)
    return run_study(load, config, **kwargs)
