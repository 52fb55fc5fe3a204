"""The Kaggle kernel's runtime: what the bundled script runs once it has unpacked the package
(:func:`kernel_main`): one workspace on ``$LANL_INPUT`` (ingested once), then the pipeline of the embedded
config, or predictions of attached runs, and ``$LANL_WORKING/submission.csv``.

Precomputed features (``--features-dataset OWNER/SLUG``, mounted at ``/kaggle/input/SLUG``, or any folder in
``$LANL_FEATURES``): feature-store folders found anywhere under it are adopted into the working store when their
feature set hash, feature code version, part and windows match the config's requests and their key columns
(seg_id, start, cycle, label) equal this data's. The store's source fingerprint is not compared: it includes
file paths and mtimes, which differ between the machine that computed the tables and the kernel.

Trained runs (``--runs-dataset OWNER/SLUG``, mounted at ``/kaggle/input/SLUG``, or any folder in ``$LANL_RUNS``):
the kernel trains nothing. It finds the config's run folders (``<submission>-<model>``, ``<submission>-stack``;
anywhere under the folder, e.g. a ``runs/`` folder written by ``lanl run --config``), takes the one of least CV
MAE as the pipeline would, predicts the competition's test segments with its per-fold models
(:func:`lanl.cv.predict.predict_to_run`, into ``$LANL_WORKING/runs/``) and submits that, as ``lanl predict`` then
``lanl submit`` do. Feature-set files the config names are matched to the runs by hash.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import lanl
from lanl.cv.predict import predict_to_run
from lanl.cv.runs import Run
from lanl.data.kaggle_api import COMPETITION
from lanl.errors import LanlError
from lanl.features.store import (
    FeatureStore,
    feature_code_version,
    find_table,
    offered_tables,
    segment_request,
)
from lanl.fsutil import atomic_path
from lanl.kaggle.precompile import feature_requests
from lanl.kaggle.submit import submit
from lanl.pipeline import config_from_json, run_config, run_pipeline
from lanl.workspace import Workspace

KAGGLE_INPUT = "/kaggle/input"

DEFAULT_INPUT = f"{KAGGLE_INPUT}/{COMPETITION}"

DEFAULT_WORKING = "/kaggle/working"


@dataclass(frozen=True)
class KernelPaths:
    input: Path
    working: Path
    cache: Path
    features: Path | None
    jobs: int
    runs: Path | None = None

    @classmethod
    def from_env(
        cls, env, features_dataset: str | None = None, runs_dataset: str | None = None
    ) -> KernelPaths:
        working = Path(env.get("LANL_WORKING") or DEFAULT_WORKING)
        default = f"{KAGGLE_INPUT}/{features_dataset.split('/')[1]}" if features_dataset else ""
        features = env.get("LANL_FEATURES", default)
        runs = env.get("LANL_RUNS", f"{KAGGLE_INPUT}/{runs_dataset.split('/')[1]}" if runs_dataset else "")
        try:
            jobs = int(env.get("LANL_JOBS") or 0)
        except ValueError:
            raise LanlError(f"LANL_JOBS must be a whole number, got {env['LANL_JOBS']!r}") from None
        return cls(
            Path(env.get("LANL_INPUT") or DEFAULT_INPUT),
            working,
            Path(env.get("LANL_CACHE") or working / ".lanl-cache"),
            Path(features) if features else None,
            jobs,
            Path(runs) if runs else None,
        )


def kernel_main(doc: dict, assets: str | Path) -> None:
    """The script's entry point: run the kernel; a LanlError ends it with its message and status 2."""
    try:
        run_kernel(doc, assets)
    except LanlError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)


def run_kernel(doc: dict, assets: str | Path, env=None, log=None) -> Path:
    """Ingest, (adopt precomputed features,) run the pipeline -- or predict with the attached runs -- and write
    ``$LANL_WORKING/submission.csv``."""

    env = os.environ if env is None else env
    log = log or _print
    paths = KernelPaths.from_env(env, doc.get("features_dataset"), doc.get("runs_dataset"))
    log(f"lanl {lanl.__version__} from {Path(lanl.__file__).parent} (payload {doc['payload_sha256'][:12]})")
    log(f"input {paths.input}; working {paths.working}; cache {paths.cache}; features {paths.features}")
    if paths.runs is not None:
        log(f"runs {paths.runs}: predicting with them, training nothing")
    if not paths.input.is_dir():
        raise LanlError(f"{paths.input}: no competition data (attach it, or set LANL_INPUT)")
    config = config_from_json(doc["config"], Path(assets))
    ws = Workspace.open(paths.input, paths.cache, root=paths.working, jobs=paths.jobs)  # ingests once
    if paths.features is not None:
        adopt_features(paths.features, ws.features, ws.signal, config, log=log)
    target = paths.working / "submission.csv"
    if paths.runs is not None:
        best, submission = predict_with_runs(paths, config, ws, log=log)
        with atomic_path(target) as tmp:
            shutil.copyfile(submission, tmp)
        log(f"best run {best.name}; wrote {target} (= {submission})")
        _drop_cache_on_kaggle(paths, env, log)
        return target
    res = run_pipeline(ws, config, log=log)
    with atomic_path(target) as tmp:
        shutil.copyfile(res.submission, tmp)
    log(f"best run {res.best.name}; wrote {target} (= {res.submission})")
    log("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in res.seconds.items()))
    _drop_cache_on_kaggle(paths, env, log)
    return target


def run_names(config) -> list[str]:
    """The run folders ``run_pipeline`` writes for ``config``, in its order (level-1 runs, then the stack)."""

    names = [run_config(config, model).name for model in config.models]
    return names + ([f"{config.submission}-stack"] if config.stack and len(names) > 1 else [])


def attached_runs(source: str | Path, config) -> list[Path]:
    """The run folders of ``config`` found anywhere under ``source`` (in run_names order; missing ones left out)."""
    source = Path(source)
    if not source.is_dir():
        raise LanlError(f"{source}: no such runs folder (attach the runs dataset, or set LANL_RUNS)")
    found: dict[str, Path] = {}
    for path in sorted(source.rglob("config.json")):
        folder = path.parent
        if (folder / "metrics.json").is_file() and not folder.name.startswith((".", "_")):
            found.setdefault(folder.name, folder)
    names = run_names(config)
    runs = [found[name] for name in names if name in found]
    if not runs:
        shown = ", ".join(sorted(found)[:10]) or "none"
        raise LanlError(
            f"{source}: none of this config's runs ({', '.join(names)}) is there (run folders found: {shown}); "
            "attach the runs/ folder that `lanl run --config` wrote with this config"
        )
    return runs


def predict_with_runs(paths: KernelPaths, config, ws: Workspace, *, log=None) -> tuple[Path, Path]:
    """Predict the workspace's test segments with the attached run of least CV MAE and submit it:
    (the run, the submission file), both in the workspace (under ``paths.working``)."""
    log = log or _print

    runs = attached_runs(paths.runs, config)
    missing = sorted(set(run_names(config)) - {r.name for r in runs})
    if missing:
        log(f"runs: {', '.join(missing)} not attached; choosing among {', '.join(r.name for r in runs)}")
    best = min(runs, key=lambda p: Run.open(p).metrics["cv_mae"])
    log(f"runs: predicting with {best} (CV MAE {Run.open(best).metrics['cv_mae']:.3f})")
    out = predict_to_run(
        best,
        ws,
        name=best.name,
        inputs_dir=best.parent,
        feature_sets=[fs for fs, _ in feature_requests(config)],
    )
    return best, submit(out, ws.signal, name=config.submission, out_dir=ws.submissions).path


def _print(message: str) -> None:
    print(message, flush=True)


def _drop_cache_on_kaggle(paths: KernelPaths, env, log) -> None:
    """On Kaggle the signal cache (6 GB for the real data) would be saved with the kernel's outputs: drop it."""
    if env.get("KAGGLE_KERNEL_RUN_TYPE") and paths.cache.is_relative_to(paths.working):
        shutil.rmtree(paths.cache, ignore_errors=True)
        log(f"removed the signal cache {paths.cache} (not worth saving as kernel output)")


def adopt_features(source, features_dir, cache, config, *, log=_print) -> list[Path]:
    """Copy into the store at ``features_dir`` the tables under ``source`` that answer the feature requests
    of ``config`` on ``cache``'s data; requests without one are computed by the pipeline as usual."""

    source = Path(source)
    if not source.is_dir():
        raise LanlError(
            f"{source}: no such features folder (attach the dataset, or set LANL_FEATURES= to compute them)"
        )
    offered, store, version, adopted = (
        offered_tables(source),
        FeatureStore(features_dir),
        feature_code_version(),
        [],
    )
    parts = ("train", "test") if cache.test_ids else ("train",)
    for feature_set, spec in feature_requests(config):
        for part in parts:
            request, keys, _ = segment_request(cache, feature_set, part, spec)
            if store.load(request) is not None:
                continue
            table, why = find_table(offered, request, keys, version)
            if table is None:
                log(
                    f"features: no precomputed {feature_set.name} {part} table in {source} ({why}); computing it"
                )
                continue
            adopted.append(store.save(request, table))
            log(f"features: adopted the {feature_set.name} {part} table ({len(table)} rows) from {source}")
    return adopted
