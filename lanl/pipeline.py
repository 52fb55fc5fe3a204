"""The whole pipeline in one call: data -> ingest -> features -> folds -> models -> stack -> report -> submission.

``run_pipeline`` is what ``lanl run`` and the Kaggle kernel bundle execute. Each step is a library call of its
stage; reruns reuse the signal cache, the feature store and the fold artifact. A pipeline config is TOML::

    models = ["lgbm", "cnn", "lstm"]   # the level-1 runs, in this order
    stack = "blend"                    # level-2 over their OOF (see lanl.stack), or "" for none
    submission = "pipeline"            # submissions/<name>.csv
    [folds]                            # shared by every run and the stacker
    scheme = "cycle"
    k = 5
    [run.lgbm]                         # per-model run config (the lanl train TOML shape), e.g. a tuned one
    features = "kernel"
    [run.lgbm.params]
    learning_rate = 0.02
"""

from __future__ import annotations

import dataclasses
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lanl.errors import LanlError
from lanl.folds import FoldSpec
from lanl.models import MODEL_KINDS

MODELS = ("lgbm", "cnn", "lstm")


@dataclass
class PipelineConfig:
    models: list[str] = field(default_factory=lambda: list(MODELS))
    stack: str = "blend"
    submission: str = "pipeline"
    seed: int = 0
    folds: FoldSpec = field(default_factory=FoldSpec)
    run: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class PipelineResult:
    data: Path
    cache: Path
    runs: list[Path]
    best: Path
    report: Path
    submission: Path
    seconds: dict[str, float]
    cache_reused: bool


def load_pipeline_config(path: str | Path | None) -> PipelineConfig:
    """Read a pipeline TOML (or the defaults); unknown keys and models are errors that name the valid ones."""
    if path is None:
        return PipelineConfig()
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise LanlError(f"{path}: no such pipeline config") from None
    except tomllib.TOMLDecodeError as exc:
        raise LanlError(f"{path}: not valid TOML ({exc})") from None
    known = {f.name for f in dataclasses.fields(PipelineConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise LanlError(f"{path}: unknown keys {unknown}; valid: {sorted(known)}")
    if "folds" in data:
        data["folds"] = FoldSpec(**data["folds"])
    config = PipelineConfig(**data)
    bad = [m for m in [*config.models, *config.run] if m not in MODEL_KINDS]
    if bad or not config.models:
        raise LanlError(
            f"{path}: models must be a non-empty list of {list(MODEL_KINDS)}, got {bad or config.models}"
        )
    return config


def run_config(config: PipelineConfig, model: str):
    """The lanl.train RunConfig of one level-1 model: its [run.<model>] table on the pipeline's folds and seed."""
    from lanl.train import config_from_dict

    table = {"model": model, "seed": config.seed, **config.run.get(model, {})}
    table["folds"] = dataclasses.asdict(config.folds)
    table.setdefault("name", f"{config.submission}-{model}")
    return config_from_dict(table, f"[run.{model}]")


def run_pipeline(
    data: str | Path,
    config: PipelineConfig | None = None,
    *,
    work: str | Path = ".",
    cache_dir: str | Path | None = None,
    jobs: int = 1,
    log=print,
) -> PipelineResult:
    """Run every stage on DATA; outputs go under ``work`` (runs/, features/, submissions/)."""
    from lanl.ingest import ingest
    from lanl.report import build_report
    from lanl.runs import Run
    from lanl.submit import submit
    from lanl.train import train

    config = config or PipelineConfig()
    work, seconds = Path(work), {}
    t = time.perf_counter()
    ingested = ingest(data, cache_dir)
    cache = ingested.cache
    seconds["ingest"] = _lap(t)
    runs = []
    for model in config.models:
        t = time.perf_counter()
        run = train(
            data,
            run_config(config, model),
            runs_dir=work / "runs",
            cache_dir=cache.root,
            features_dir=work / "features",
            jobs=jobs,
        )
        seconds[model] = _lap(t)
        log(_describe(Run.open(run), seconds[model]))
        runs.append(run)
    candidates = list(runs)
    if config.stack and len(runs) > 1:
        t = time.perf_counter()
        stacked = _stack(runs, config, work)
        seconds["stack"] = _lap(t)
        log(_describe(Run.open(stacked), seconds["stack"]))
        candidates.append(stacked)
    best = min(candidates, key=lambda p: Run.open(p).metrics["cv_mae"])
    t = time.perf_counter()
    report = build_report(candidates, work / "runs" / "_reports" / config.submission).html
    sub = submit(best, cache, name=config.submission, out_dir=work / "submissions")
    seconds["report+submit"] = _lap(t)
    return PipelineResult(
        Path(data), cache.root, candidates, best, report, sub.path, seconds, ingested.skipped
    )


def _stack(runs: list[Path], config: PipelineConfig, work: Path) -> Path:
    from lanl.stack import stack_runs

    return stack_runs(runs, method=config.stack, name=f"{config.submission}-stack", runs_dir=work / "runs")


def _lap(t: float) -> float:
    return round(time.perf_counter() - t, 2)


def _describe(run, seconds: float) -> str:
    m = run.metrics
    return (
        f"{run.name}: CV MAE {m['cv_mae']:.3f} (median baseline {m['baseline_mae']:.3f}) in {seconds:.1f} s"
    )
