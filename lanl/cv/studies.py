"""Optuna studies of lanl tune: where they live (storage), what they are tied to (identity), and what they leave
behind (best.toml, study.json, trials.csv, importances.json), read back by the report.

Storage: ``None`` is SQLite in ``RUNS/_studies/study.db``; a URL (``sqlite:///``, ``postgresql://``,
``mysql://``) is an Optuna RDB storage (SQLite with a 60 s lock timeout); a path ending in ``.db`` or ``.sqlite``
is SQLite; any other path is an Optuna journal file (file lock; fine on NFS).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lanl.cv.train import (
    RECORD_KEYS,
    RunConfig,
    config_from_dict,
    config_hash,
    resolve,
)
from lanl.errors import LanlError
from lanl.fsutil import write_json_atomic, write_text_atomic

STUDIES_SUBDIR = "_studies"  # inside the runs folder: study.db and one folder per study


DEFAULT_DB = "study.db"


SQLITE_TIMEOUT_S = 60


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
        with optuna_quiet():
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
    with optuna_quiet():
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


@contextlib.contextmanager
def optuna_quiet():
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
        with optuna_quiet(), warnings.catch_warnings():
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
