"""Kaggle kernel bundles: the package packed into one generated script, plus its ``kernel-metadata.json``.

A Kaggle kernel runs one script with the competition data under ``/kaggle/input/LANL-Earthquake-Prediction/``,
outputs in ``/kaggle/working/``, the image's packages and often no internet. ``lanl bundle`` writes::

    <out>/lanl_kernel.py         the lanl package's .py files in a zip (sorted, fixed times and modes, fixed
                                 compression) as base64, the pipeline config as JSON, and a short stub
    <out>/kernel-metadata.json   for ``kaggle kernels push -p <out>`` (or ``lanl bundle --push``)

The stub checks the Python packages the config needs (naming the missing ones), unpacks the package into a
temporary folder, puts it first on ``sys.path`` and calls :func:`lanl.kaggle.kernel.kernel_main`, which runs
:func:`lanl.pipeline.run_pipeline` on ``$LANL_INPUT`` with every output under ``$LANL_WORKING`` and copies the
submission to ``$LANL_WORKING/submission.csv``. Built twice from the same code and config, the files are
byte-for-byte the same.

What the script does in the kernel is :mod:`lanl.kaggle.kernel`.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import lanl
from lanl.cv.train import resolve
from lanl.data.kaggle_api import COMPETITION, authenticated_api
from lanl.errors import LanlError, OfflineError
from lanl.features import load_feature_set
from lanl.features.builtin_sets import NAMES
from lanl.features.store import feature_code_version
from lanl.fsutil import write_text_atomic
from lanl.kaggle.kernel import DEFAULT_INPUT, DEFAULT_WORKING, KAGGLE_INPUT
from lanl.kaggle.precompile import ASSETS, NETS, UNPACK_TIME, compile_cache
from lanl.pipeline import PipelineConfig, load_pipeline_config, run_config

SCRIPT = "lanl_kernel.py"

TEMPLATE = "kernel_script.py"  # in this package: the template of SCRIPT

METADATA = "kernel-metadata.json"

DEFAULT_OUT = Path("bundle")

OWNER_PLACEHOLDER = "INSERT_USERNAME"

ZIP_TIME = (1980, 1, 1, 0, 0, 0)

FORMAT = 1


# import name -> pip name; what every pipeline imports (report: matplotlib; manipulations: pywt)
BASE_PACKAGES = {
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "numba": "numba",
    "pyarrow": "pyarrow",
    "tqdm": "tqdm",
    "matplotlib": "matplotlib",
    "pywt": "PyWavelets",
}


@dataclass
class Bundle:
    script: Path
    metadata: Path
    payload_sha256: str
    files: int
    kernel: dict
    numba_cache: dict | None = None


def build_bundle(
    config_file: str | Path | None = None,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    features_dataset: str | None = None,
    kernel_id: str | None = None,
    seed: int | None = None,
    runs_dataset: str | None = None,
    numba_python: str | Path | None = None,
) -> Bundle:
    """Write the kernel script and its metadata for the pipeline config ``config_file`` (a TOML file, or a
    PipelineConfig such as a recipe's) into ``out_dir``.

    ``numba_python``: an interpreter with the kernel's Python and numba versions; it compiles the config's
    numba kernels for a portable CPU and the script carries them (:mod:`lanl.kaggle.precompile`)."""

    if isinstance(config_file, PipelineConfig):
        config = dataclasses.replace(config_file, run={m: dict(t) for m, t in config_file.run.items()})
    else:
        config = load_pipeline_config(config_file)
    if seed is not None:
        config.seed = seed
    _check_slug(features_dataset, "--features-dataset")
    _check_slug(runs_dataset, "--runs-dataset")
    check_config(config)
    config, assets = embed_feature_files(config)
    payload = pack_package(assets)
    numba_cache = None
    if numba_python is not None:
        files, numba_cache = compile_cache(numba_python, payload, dataclasses.asdict(config))
        payload = pack_package(assets, files)
    doc = bundle_document(config, features_dataset, payload, runs_dataset, numba_cache)
    meta = kernel_metadata(config, features_dataset, kernel_id, runs_dataset)
    out_dir = Path(out_dir)
    script = write_text_atomic(out_dir / SCRIPT, render_script(doc, payload))
    metadata = write_text_atomic(out_dir / METADATA, json.dumps(meta, indent=2) + "\n")
    for path in (script, metadata):
        path.chmod(0o644)
    return Bundle(script, metadata, doc["payload_sha256"], doc["payload_files"], meta, numba_cache)


def check_config(config) -> None:
    """Resolve every run config and load its feature set now: a bad value fails here, not on Kaggle."""

    for model in config.models:
        run, estimator = resolve(run_config(config, model))
        if estimator.input == "features":
            load_feature_set(run.features)


def embed_feature_files(config):
    """(config, assets): feature-set files named in ``[run.<model>] features`` travel in the payload as
    ``feature_sets/<file name>``, and the config names them so (the unpacked path replaces it at run time)."""
    config = dataclasses.replace(config, run={m: dict(t) for m, t in config.run.items()})
    assets: dict[str, bytes] = {}
    for model in sorted(config.run):
        table = config.run[model]
        features = str(table.get("features", ""))
        if not _is_file_name(features):
            continue
        name, data = f"feature_sets/{Path(features).name}", Path(features).read_bytes()
        if assets.get(name, data) != data:
            raise LanlError(f"two different feature-set files are named {Path(features).name}: rename one")
        assets[name] = data
        table["features"] = name
    return config, assets


def _is_file_name(features: str) -> bool:
    return bool(features) and features not in NAMES and Path(features).is_file()


def package_files() -> list[tuple[str, Path]]:
    """(name in the zip, path) of every .py file of the lanl package, sorted by name."""
    root = Path(lanl.__file__).resolve().parent
    files = [
        (path.relative_to(root.parent).as_posix(), path)
        for path in root.rglob("*.py")
        if "__pycache__" not in path.parts and not path.name.startswith(".")
    ]
    return sorted(files)


def pack_package(
    assets: dict[str, bytes] | None = None, numba_cache: dict[str, bytes] | None = None
) -> bytes:
    """The package (and ``assets``, and numba cache files at their names beside the package's files) as a
    zip whose bytes depend only on the files' names and contents."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, path in package_files():
            _add(z, name, path.read_bytes())
        for name, data in sorted((assets or {}).items()):
            _add(z, f"{ASSETS}/{name}", data)
        for name, data in sorted((numba_cache or {}).items()):
            _add(z, name, data)
    return buf.getvalue()


def _add(z: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.create_system = 3  # unix, whatever the building platform
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data, compresslevel=9)


def required_packages(config, assets: dict | None = None) -> dict[str, str]:
    """import name -> pip name of what the script needs for ``config``."""
    need = dict(BASE_PACKAGES)
    if "lgbm" in config.models:
        need["lightgbm"] = "lightgbm"
    if any(m in NETS for m in config.models):
        need["torch"] = "torch"
    need.update({m: m for m in ("catboost", "xgboost") if m in config.models})  # import name = pip name
    if any(Path(name).suffix in (".yaml", ".yml") for name in assets or {}):
        need["yaml"] = "PyYAML"
    return dict(sorted(need.items()))


def minimum_versions(pip_names) -> dict[str, str]:
    """pip name -> the least version lanl's own metadata asks for (an unconditional ``name>=X`` requirement),
    for the ones in ``pip_names``; empty when lanl is not installed (run from a checkout)."""
    try:
        requirements = metadata.requires("lanl") or []
    except metadata.PackageNotFoundError:
        return {}
    wanted = {canonicalize_name(name): name for name in pip_names}
    out = {}
    for req in map(Requirement, requirements):
        floor = [spec.version for spec in req.specifier if spec.operator == ">="]
        if req.marker is None and len(req.specifier) == 1 and floor and canonicalize_name(req.name) in wanted:
            out[wanted[canonicalize_name(req.name)]] = floor[0]
    return dict(sorted(out.items()))


def bundle_document(
    config,
    features_dataset: str | None,
    payload: bytes,
    runs_dataset: str | None = None,
    numba_cache: dict | None = None,
) -> dict:
    """What the script carries besides the payload: the config, the packages it needs, the payload's hash,
    what its numba cache files (if any) were compiled for."""

    with zipfile.ZipFile(io.BytesIO(payload)) as z:
        names = z.namelist()
    assets = [n.removeprefix(f"{ASSETS}/") for n in names if n.startswith(f"{ASSETS}/")]
    code = [n for n in names if not n.startswith(f"{ASSETS}/") and "/__pycache__/" not in n]
    required = required_packages(config, dict.fromkeys(assets))
    return {
        "format": FORMAT,
        "lanl_version": lanl.__version__,
        "feature_code": feature_code_version(),
        "config": dataclasses.asdict(config),
        "features_dataset": features_dataset,
        "runs_dataset": runs_dataset,
        "required": required,
        "minimum": minimum_versions(required.values()),
        "assets": assets,
        "numba_cache": numba_cache,
        "payload_files": len(code),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }


def kernel_metadata(
    config, features_dataset: str | None, kernel_id: str | None, runs_dataset: str | None = None
) -> dict:
    """``kernel-metadata.json``: a private script kernel on the competition data, internet off, GPU only when a
    net of the config asks for ``device = "cuda"``."""
    owner = os.environ.get("KAGGLE_USERNAME") or OWNER_PLACEHOLDER
    kernel_id = kernel_id or f"{owner}/" + re.sub(
        r"[^a-z0-9]+", "-", f"lanl-{config.submission}".lower()
    ).strip("-")
    _check_slug(kernel_id, "--id")
    slug = kernel_id.split("/")[1]
    return {
        "id": kernel_id,
        "title": slug.replace("-", " "),
        "code_file": SCRIPT,
        "language": "python",
        "kernel_type": "script",
        "is_private": True,
        "enable_gpu": wants_gpu(config),
        "enable_tpu": False,
        "enable_internet": False,
        "dataset_sources": [d for d in (features_dataset, runs_dataset) if d],
        "competition_sources": [COMPETITION],
        "kernel_sources": [],
        "model_sources": [],
    }


def wants_gpu(config) -> bool:
    return any(
        str(config.run.get(m, {}).get("params", {}).get("device", "")).startswith("cuda")
        for m in config.models
        if m in NETS
    )


def _check_slug(slug: str | None, option: str) -> None:
    if slug is None:
        return
    parts = slug.split("/")
    if len(parts) != 2 or not all(parts) or any(c.isspace() for c in slug):
        raise LanlError(f"{option} must be OWNER/SLUG (as in kaggle.com/OWNER/SLUG), got {slug!r}")


def render_script(doc: dict, payload: bytes) -> str:
    """The kernel script: the template with the document (JSON) and the payload (base64) filled in."""
    text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=True).replace("'", "\\u0027")
    b64 = base64.b64encode(payload).decode("ascii")
    lines = "\n".join(b64[i : i + 100] for i in range(0, len(b64), 100))
    dataset = doc["features_dataset"]
    features = f"{KAGGLE_INPUT}/{dataset.split('/')[1]}" if dataset else "unset: the features are computed"
    runs = doc.get("runs_dataset")
    runs = (
        f"{KAGGLE_INPUT}/{runs.split('/')[1]}: predict with them" if runs else "unset: the models are trained"
    )
    fills = {
        "VERSION": doc["lanl_version"],
        "NFILES": str(doc["payload_files"]),
        "SHA12": doc["payload_sha256"][:12],
        "FEATURES": features,
        "RUNS": runs,
        "INPUT": DEFAULT_INPUT,
        "WORKING": DEFAULT_WORKING,
        "SCRIPT": SCRIPT,
        "NUMBA": _numba_line(doc.get("numba_cache")),
        "BUNDLE": text,
        "PAYLOAD": lines,
        "ASSETS": ASSETS,
        "UNPACK_TIME": str(UNPACK_TIME),
    }
    script = template()
    for key, value in fills.items():
        script = script.replace(f"@@{key}@@", value)
    return script


def template() -> str:
    """The kernel script's template (:mod:`lanl.kaggle.kernel_script`, a module of its own so that linters read
    it), from its shebang on."""
    text = resources.files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")
    return text[text.index("#!/usr/bin/env python3") :]


def _numba_line(info: dict | None) -> str:
    if not info:
        return "compiled on first use (numba's cache beside the unpacked package)"
    return (
        f"{info['files']} numba cache files for Python {info['python']}, numba {info['numba']}, "
        f"{info['cpu']} ({info['platform']}); elsewhere compiled on first use"
    )


def push_bundle(out_dir: str | Path = DEFAULT_OUT) -> str:
    """Push the kernel folder through the Kaggle API; returns the kernel's URL. Offline: an OfflineError."""

    out_dir = Path(out_dir)
    hint = (
        f"The kernel files are in {out_dir}: push them later with `lanl bundle --push` or "
        f"`kaggle kernels push -p {out_dir}`, or paste {SCRIPT} into a new Kaggle notebook."
    )
    api = authenticated_api("push the kernel", hint)
    _fill_owner(out_dir / METADATA, api.get_config_value("username"))
    try:
        response = api.kernels_push(str(out_dir))
    except Exception as exc:
        raise OfflineError(f"Could not push the kernel through the Kaggle API ({exc}). {hint}") from None
    error = getattr(response, "error", None)
    if error:
        raise OfflineError(f"Kaggle refused the kernel: {error}. {hint}")
    return str(getattr(response, "url", "") or "")


def _fill_owner(path: Path, username: str | None) -> None:
    meta = json.loads(path.read_text())
    if meta["id"].startswith(f"{OWNER_PLACEHOLDER}/") and username:
        meta["id"] = f"{username}/{meta['id'].split('/', 1)[1]}"
        write_text_atomic(path, json.dumps(meta, indent=2) + "\n")
