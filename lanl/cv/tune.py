"""Hyperparameter tuning: an Optuna study per model, scored by the CV MAE of the saved folds.

    tune(data, config, trials=20)          DATA -> a study -> its best config (what `lanl tune` runs)
    tune_table(features, config, ...)      the same on a ready feature table
    objective(trial, data, base, space)    suggest, fit fold by fold (pruned early when bad), score, return
    SPACES                                 model -> search space (data: parameter -> Float | Int | Choice)

Every trial is scored exactly as ``lanl train`` scores a run (:func:`lanl.cv.train.fit_fold` on the fold artifact
of :func:`lanl.cv.folds.ensure_folds`), so the study's best value is the CV MAE ``lanl train --config best.toml``
reports. The inputs (feature table, signal windows or chunk sequences) are built once, outside the objective,
and bound to it with :func:`functools.partial`. After each fold a trial reports its running CV MAE; a median
pruner stops trials that are worse than the median of the earlier ones at the same fold. A fresh study first
evaluates the base config (the defaults), so the history starts from the untuned score.

Storage (``storage=``): ``None`` is SQLite in ``RUNS/_studies/study.db``; a URL (``sqlite:///``,
``postgresql://``, ``mysql://``) is an Optuna RDB storage (SQLite with a 60 s lock timeout); a path ending in
``.db`` or ``.sqlite`` is SQLite; any other path is an Optuna journal file (file lock; fine on NFS). A study
resumes where it stopped: rerunning adds ``trials`` more. ``workers=N`` runs N processes on the same storage
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
import hashlib
import json
import math
import os
import re
import warnings
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
from lanl.cv.train import (
    RECORD_KEYS,
    RunConfig,
    check_table,
    config_from_dict,
    config_hash,
    fit_fold,
    prepare,
    resolve,
    table_label,
    usable_shift,
)
from lanl.data.segments import KEY_COLUMNS
from lanl.errors import LanlError
from lanl.fsutil import write_json_atomic, write_text_atomic
from lanl.models import model_class
from lanl.models.inputs import Inputs
from lanl.models.target import Target
from lanl.workspace import Workspace

STUDIES_SUBDIR = "_studies"  # inside the runs folder: study.db and one folder per study
DEFAULT_DB = "study.db"
SQLITE_TIMEOUT_S = 60


# ------------------------------------------------------------------------------------------ search spaces
@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False
    # (parameter, value): suggested only when that parameter has that value (huber_delta with huber)
    when: tuple[str, Any] | None = None

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def contains(self, value) -> bool:
        return (
            isinstance(value, int | float) and self.low <= value <= self.high and (value > 0 or not self.log)
        )


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False
    when: tuple[str, Any] | None = None

    def suggest(self, trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def contains(self, value) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high


@dataclass(frozen=True)
class Choice:
    values: tuple
    when: tuple[str, Any] | None = None

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.values))

    def contains(self, value) -> bool:
        return value in self.values


_NET = {
    "lr": Float(3e-4, 1e-2, log=True),
    "weight_decay": Float(1e-6, 1e-2, log=True),
    "batch_size": Choice((8, 16, 32)),
    "head": Choice((8, 16, 32)),
    "loss": Choice(("l1", "huber")),
}
SPACES: dict[str, dict[str, Float | Int | Choice]] = {
    "lgbm": {
        "objective": Choice(("mae", "huber", "fair")),
        "learning_rate": Float(0.005, 0.1, log=True),
        "num_leaves": Int(4, 64, log=True),
        "min_child_samples": Int(3, 100, log=True),
        "subsample": Float(0.5, 1.0),
        "colsample_bytree": Float(0.1, 1.0),
        "reg_alpha": Float(0.0, 5.0),
        "reg_lambda": Float(0.01, 30.0, log=True),
        "huber_delta": Float(0.3, 5.0, log=True, when=("objective", "huber")),
        "fair_c": Float(0.3, 5.0, log=True, when=("objective", "fair")),
    },
    "cnn": {
        **_NET,
        "channels": Choice((8, 16, 32)),
        "frame": Choice((16, 32, 64)),
        "depth": Int(2, 4),
        "crop": Float(0.5, 1.0),
    },
    "lstm": {**_NET, "cell": Choice(("lstm", "gru")), "hidden": Choice((16, 32, 64)), "layers": Int(1, 2)},
    "svr": {
        "C": Float(0.1, 30.0, log=True),
        "epsilon": Float(0.01, 1.0, log=True),
        "gamma": Float(0.003, 0.3, log=True),
    },
    "nusvr": {"C": Float(0.1, 30.0, log=True), "nu": Float(0.1, 0.95), "gamma": Float(0.003, 0.3, log=True)},
    "knn": {"n_neighbors": Int(5, 300, log=True), "weights": Choice(("uniform", "distance")), "p": Int(1, 2)},
    "ridge": {"alpha": Float(1e-3, 1e4, log=True)},
    "mlp": {
        "lr": Float(1e-4, 1e-2, log=True),
        "weight_decay": Float(1e-6, 1e-2, log=True),
        "batch_size": Choice((32, 64, 128)),
        "hidden": Choice((16, 32, 64, 128)),
        "layers": Int(1, 3),
        "dropout": Float(0.0, 0.5),
        "loss": Choice(("l1", "huber")),
        "multitask": Choice((False, True)),
        "aux_weight": Float(0.1, 1.0, log=True, when=("multitask", True)),
    },
    "catboost": {
        "learning_rate": Float(0.01, 0.2, log=True),
        "depth": Int(3, 8),
        "l2_leaf_reg": Float(0.3, 30.0, log=True),
        "subsample": Float(0.5, 1.0),
        "rsm": Float(0.2, 1.0),
    },
    "xgboost": {
        "learning_rate": Float(0.005, 0.1, log=True),
        "max_depth": Int(2, 8),
        "min_child_weight": Float(1.0, 100.0, log=True),
        "subsample": Float(0.5, 1.0),
        "colsample_bytree": Float(0.1, 1.0),
        "reg_alpha": Float(0.0, 5.0),
        "reg_lambda": Float(0.01, 30.0, log=True),
    },
}


def suggest(trial, space: dict) -> dict[str, Any]:
    """One point of ``space``, in its order (a conditional parameter after the one it depends on)."""
    params: dict[str, Any] = {}
    for name, dist in space.items():
        if dist.when is None or params.get(dist.when[0]) == dist.when[1]:
            params[name] = dist.suggest(trial, name)
    return params


def default_point(space: dict, params: dict) -> dict[str, Any]:
    """The base config's values of the space's parameters (those inside the space, conditions met)."""
    point: dict[str, Any] = {}
    for name, dist in space.items():
        applies = dist.when is None or point.get(dist.when[0]) == dist.when[1]
        if applies and name in params and dist.contains(params[name]):
            point[name] = params[name]
    return point


# ----------------------------------------------------------------------------------------- the inputs
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


# ------------------------------------------------------------------------------------------ the objective
def objective(trial, data: TuneData, base: RunConfig, space: dict) -> float:
    """Suggest a point, fit it fold by fold (reporting the running CV MAE so a bad trial is pruned after its
    first folds), return its CV MAE over every out-of-fold row."""
    import optuna

    config, model = resolve(dataclasses.replace(base, params={**base.params, **suggest(trial, space)}))
    trial.set_user_attr("pid", os.getpid())  # which worker process ran it
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


# ----------------------------------------------------------------------------------------------- studies
@dataclass(frozen=True)
class StudySpec:
    """Everything a worker process needs to join the study (picklable)."""

    storage: str
    name: str
    seed: int
    pruner_startup: int = 5
    pruner_warmup: int = 0


def storage_url(storage: str | Path | None, runs_dir: str | Path) -> str:
    """The storage of ``storage`` (see the module docstring); ``None``: SQLite in RUNS/_studies/study.db."""
    if storage is None:
        storage = Path(runs_dir) / STUDIES_SUBDIR / DEFAULT_DB
    text = str(storage)
    if "://" in text:
        return text
    path = Path(text).resolve()
    return f"sqlite:///{path}" if path.suffix in (".db", ".sqlite") else f"journal:{path}"


def open_storage(url: str):
    """An Optuna storage for ``url``: RDB (SQLite waits up to a minute for a lock) or a journal file."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    if url.startswith("journal:"):
        path = Path(url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path), JournalFileOpenLock(str(path))))
    kwargs = {}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    try:
        with _optuna_quiet():
            return optuna.storages.RDBStorage(
                url, engine_kwargs=kwargs, heartbeat_interval=30, grace_period=120
            )
    except Exception as exc:  # bad URL, missing driver, unreachable server: say which
        raise LanlError(f"cannot open the study storage {public_url(url)} ({exc})") from None


def public_url(url: str) -> str:
    """``url`` without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def load_study(spec: StudySpec, worker: int = 0, n_before: int = 0, storage=None):
    """The study ``spec.name`` with a TPE sampler seeded from (seed, worker, trials done before this run):
    a fresh study with the same seed samples the same points; workers and resumed runs sample new ones."""
    import optuna

    seed = int(np.random.SeedSequence([spec.seed, worker, n_before]).generate_state(1)[0])
    with _optuna_quiet():
        return optuna.create_study(
            storage=storage or open_storage(spec.storage),
            study_name=spec.name,
            direction="minimize",
            load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(
                n_startup_trials=spec.pruner_startup, n_warmup_steps=spec.pruner_warmup
            ),
        )


def check_identity(study, identity: dict[str, Any]) -> None:
    """Tie a new study to its folds, data and base config; refuse to mix other ones into an existing study."""
    known = study.user_attrs.get("lanl")
    if known is None:
        study.set_user_attr("lanl", identity)
        return
    diff = [k for k in identity if known.get(k) != identity[k]]
    if diff:
        raise LanlError(
            f"study {study.study_name!r} was made for another {', '.join(diff)} "
            f"({', '.join(f'{k}: {known.get(k)} here {identity[k]}' for k in diff)}); "
            "give another --study name, or the same config, folds and data"
        )


def default_study_name(base: RunConfig, identity: dict[str, Any]) -> str:
    digest = hashlib.blake2b(json.dumps(identity, sort_keys=True).encode(), digest_size=4).hexdigest()
    return f"{base.model}-{Path(base.features).stem}-{digest}"


def optimize(
    study, data: TuneData, base: RunConfig, space: dict, trials: int, *, timeout=None, log=None
) -> None:
    """Run ``trials`` trials of ``objective`` (data bound with functools.partial) in this process."""
    func = functools.partial(objective, data=data, base=base, space=space)
    callbacks = [functools.partial(_log_trial, log=log)] if log else []
    with _optuna_quiet():
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


@contextlib.contextmanager
def _optuna_quiet():
    """Optuna's per-trial INFO lines off for the duration (we log our own line), restored after."""
    import optuna

    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
            yield
    finally:
        optuna.logging.set_verbosity(old)


def _worker(
    load: Callable[[], TuneData],
    base: RunConfig,
    space: dict,
    spec: StudySpec,
    trials: int,
    worker: int,
    n_before: int,
    timeout,
    verbose: bool,
) -> int:
    """One spawned worker process: its own inputs (cache hits), its own connection, its share of the trials."""
    data = load()
    study = load_study(spec, worker, n_before)
    log = functools.partial(_prefixed, prefix=f"[worker {worker}] ") if verbose else None
    optimize(study, data, base, space, trials, timeout=timeout, log=log)
    return trials


def _prefixed(message: str, prefix: str) -> None:
    print(prefix + message, flush=True)


# ------------------------------------------------------------------------------------------------ a study
@dataclass
class TuneResult:
    study: str
    storage: str
    folder: Path  # RUNS/_studies/<study>/
    best_config: Path | None  # best.toml (None while no trial completed)
    best_value: float | None
    best_params: dict[str, Any]
    default_value: float | None  # CV MAE of the base config (the study's first trial)
    n_trials: int
    n_complete: int
    n_pruned: int


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
    with ProcessPoolExecutor(len(children), mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_worker, load, base, space, spec, n, w, n_before, timeout, log is not None)
            for w, n in children
        ]
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


# ---------------------------------------------------------------------------------------------- exports
def export_study(study, base: RunConfig, folder: Path, url: str) -> TuneResult:
    """Write best.toml, study.json, trials.csv and importances.json of ``study`` into ``folder``."""
    import optuna

    done = study.get_trials(deepcopy=False)
    complete = [t for t in done if t.state == optuna.trial.TrialState.COMPLETE]
    default = next((t.value for t in complete if t.user_attrs.get("default")), None)
    best = min(complete, key=lambda t: t.value) if complete else None
    best_path, best_hash = None, None
    if best is not None:
        config, _ = resolve(dataclasses.replace(base, name="", params={**base.params, **best.params}))
        best_hash = config_hash(config)
        best_path = write_text_atomic(folder / "best.toml", best_toml(config, study.study_name, best))
    result = TuneResult(
        study.study_name,
        public_url(url),
        folder,
        best_path,
        best.value if best else None,
        dict(best.params) if best else {},
        default,
        len(done),
        len(complete),
        sum(t.state == optuna.trial.TrialState.PRUNED for t in done),
    )
    write_text_atomic(folder / "trials.csv", trials_table(done).to_csv(index=False))
    write_json_atomic(folder / "importances.json", importances(study) if len(complete) > 1 else {})
    write_json_atomic(
        folder / "study.json",
        {
            **{k: v for k, v in dataclasses.asdict(result).items() if k not in ("folder", "best_config")},
            "best_trial": best.number if best else None,
            "best_config_hash": best_hash,
            **study.user_attrs.get("lanl", {}),
        },
    )
    return result


def trials_table(trials) -> pd.DataFrame:
    """One row per trial: number, state, value, seconds, the default flag, params, running MAE after each fold."""
    rows = []
    for t in trials:
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete else None
        row = {
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "seconds": seconds,
            "default": bool(t.user_attrs.get("default", False)),
        }
        row.update({f"params_{k}": v for k, v in t.params.items()})
        row.update({f"fold_{k}": v for k, v in sorted(t.intermediate_values.items())})
        rows.append(row)
    return pd.DataFrame(rows)


def importances(study) -> dict[str, float]:
    """Optuna's parameter importances (PED-ANOVA) over the complete trials; {} when they cannot be computed."""
    import optuna

    try:
        with _optuna_quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "some regimes have less than 2 trials"
            return {k: float(v) for k, v in optuna.importance.get_param_importances(study).items()}
    except (ValueError, RuntimeError, ZeroDivisionError):  # too few or identical trials
        return {}


def best_toml(config: RunConfig, study: str, trial) -> str:
    """``config`` (every default filled in; no name, so a run is named by its hash) as a lanl train TOML."""
    body = {k: v for k, v in dataclasses.asdict(config).items() if k != "name"}
    import tomli_w  # only tuning writes TOML, and Kaggle's image (where reports of studies are read) lacks it

    head = f"# best of study {study}: trial {trial.number}, CV MAE {trial.value:.5f}\n"
    return head + "# lanl train DATA --config best.toml\n" + tomli_w.dumps(body)


# ------------------------------------------------------------------------------------ reading a study back
@dataclass
class StudyFiles:
    """A study's exported files (what the report reads; no Optuna storage needed)."""

    folder: Path
    summary: dict
    trials: pd.DataFrame
    importances: dict[str, float]

    @property
    def name(self) -> str:
        return self.summary.get("study", self.folder.name)


def read_study(folder: str | Path) -> StudyFiles:
    folder = Path(folder)
    missing = [f for f in ("study.json", "trials.csv") if not (folder / f).is_file()]
    if missing:
        raise LanlError(f"{folder}: not a study folder of lanl tune (missing {', '.join(missing)})")
    imp = folder / "importances.json"
    return StudyFiles(
        folder,
        json.loads((folder / "study.json").read_text()),
        pd.read_csv(folder / "trials.csv"),
        json.loads(imp.read_text()) if imp.is_file() else {},
    )


def run_config_hash(record: dict) -> str | None:
    """The config hash of a run's config.json (as :func:`lanl.cv.train.config_hash` of the config that made it);
    None for a record that is not a lanl train config (a stack)."""

    try:
        return config_hash(config_from_dict({k: v for k, v in record.items() if k not in RECORD_KEYS}))
    except (LanlError, TypeError):
        return None


def studies_of(run_root: Path, record: dict) -> list[Path]:
    """Study folders beside the run (``<runs>/_studies/*``) whose best config is the run's config."""
    wanted = run_config_hash(record)
    found = []
    for path in sorted((run_root.parent / STUDIES_SUBDIR).glob("*/study.json")):
        try:
            if wanted and json.loads(path.read_text()).get("best_config_hash") == wanted:
                found.append(path.parent)
        except (OSError, ValueError):
            continue
    return found
