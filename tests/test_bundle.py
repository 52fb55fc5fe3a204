"""Kaggle kernel bundles: the generated script, run alone in a fresh isolated interpreter on a Kaggle-style
folder tree, writes the same submission as ``lanl run`` + ``lanl submit``; building is reproducible."""

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TINY_SET

from lanl.cli import main
from lanl.commands.bundle import bundle as bundle_command
from lanl.data.cache import SignalCache
from lanl.data.synth import generate
from lanl.errors import LanlError, OfflineError
from lanl.kaggle import bundle, kernel
from lanl.pipeline import PipelineConfig, config_from_json, load_pipeline_config, run_pipeline
from lanl.workspace import Workspace

# LightGBM-only configs, no torch: CI also runs these on Python 3.12 with Kaggle's versions (-m bundle)
pytestmark = pytest.mark.bundle

COMPETITION = "LANL-Earthquake-Prediction"
PIPELINE = """\
models = ["lgbm"]
stack = ""
submission = "kern"
[folds]
k = 3
[run.lgbm]
features = "FEATURES"
[run.lgbm.segments]
stride = 30000
[run.lgbm.params]
learning_rate = 0.1
n_estimators = 300
early_stopping_rounds = 30
min_child_samples = 5
"""
# Runs the kernel script as __main__ in `python -I` (no project, no PYTHONPATH, no user site), with any
# attempt to reach the network (name lookup, inet connect) turned into an error.
PRELUDE = """\
import runpy, socket, sys
assert "lanl" not in sys.modules

def no_network(event, args):
    inet = event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6)
    if inet or event == "socket.getaddrinfo":
        raise RuntimeError(f"the kernel tried to reach the network: {event}")

sys.addaudithook(no_network)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def write_config(folder: Path, **replace) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.toml").write_text(TINY_SET)
    text = PIPELINE.replace("FEATURES", str(folder / "tiny.toml"))
    for old, new in replace.items():
        text = text.replace(old, new)
    (folder / "pipeline.toml").write_text(text)
    return folder / "pipeline.toml"


@pytest.fixture(scope="module")
def kaggle(tmp_path_factory):
    """A Kaggle-style tree: root/kaggle/input/LANL-Earthquake-Prediction (synthetic), and the config."""
    root = tmp_path_factory.mktemp("bundle")
    data = root / "kaggle" / "input" / COMPETITION
    generate(data, seed=3, rows=3_700_000, cycles=6, test_segments=8)
    return root, data, write_config(root / "conf")


@pytest.fixture(scope="module")
def built(kaggle):
    """The bundle, and one that attaches a feature dataset: built together (other people edit the code)."""
    root, _, config = kaggle
    plain = bundle.build_bundle(config, root / "bundle")
    features = bundle.build_bundle(config, root / "bundle-f", features_dataset="someone/lanl-features")
    return plain, features


@pytest.fixture(scope="module")
def reference(kaggle, built):
    """What `lanl run --config` and then `lanl submit` write for the same config and data."""
    root, data, config = kaggle
    res = run_pipeline(
        Workspace.open(data, root / "ref-cache", root=root / "ref"), load_pipeline_config(config)
    )
    out = root / "ref" / "cli"
    cli = CliRunner().invoke(
        main, ["submit", str(res.best), "--cache", str(root / "ref-cache"), "--out", str(out), "--name", "s"]
    )
    assert cli.exit_code == 0, cli.output
    assert (out / "s.csv").read_bytes() == res.submission.read_bytes()
    return res, out / "s.csv"


def run_script(script: Path, cwd: Path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LANL_", "KAGGLE_", "PYTHON"))}
    clean.update(LANL_PROGRESS="0", LANL_JOBS="1", **{k: str(v) for k, v in env.items()})
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-I", "-c", PRELUDE, str(script.resolve())],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_kernel_script_writes_the_lanl_submit_submission(kaggle, built, reference):
    root, data, _ = kaggle
    res, cli_submission = reference
    built = built[0]
    before = tree(data)
    working, unpack = root / "kaggle" / "working", root / "unpack"
    proc = run_script(built.script, root / "cwd", LANL_INPUT=data, LANL_WORKING=working, LANL_UNPACK=unpack)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the package imported is the copy unpacked from the script, not the repository's (editable install)
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"lanl 0.1.0 from {unpack}/lanl-bundle-"), proc.stdout
    submission = working / "submission.csv"
    assert submission.read_bytes() == cli_submission.read_bytes() == res.submission.read_bytes()
    frame = pd.read_csv(submission)
    assert list(frame.columns) == ["seg_id", "time_to_failure"]
    assert list(frame["seg_id"]) == list(pd.read_csv(data / "sample_submission.csv")["seg_id"])
    assert np.isfinite(frame["time_to_failure"]).all() and frame["time_to_failure"].nunique() > 1
    assert tree(data) == before  # the input folder is read-only on Kaggle: nothing written there
    assert sorted(p.name for p in working.iterdir()) == [
        ".lanl-cache",
        "features",
        "runs",
        "submission.csv",
        "submissions",
    ]


def test_kernel_adopts_an_attached_feature_dataset(kaggle, built, reference):
    """Precomputed tables from another machine (other paths, so another source fingerprint) are adopted."""
    root, data, _ = kaggle
    _, cli_submission = reference
    built = built[1]
    other = root / "kaggle2" / "input"
    shutil.copytree(data, other / COMPETITION, copy_function=os.link)
    shutil.copytree(root / "ref" / "features", other / "lanl-features" / "features")
    assert built.kernel["dataset_sources"] == ["someone/lanl-features"]
    working = root / "kaggle2" / "working"
    proc = run_script(
        built.script,
        root / "cwd",
        LANL_INPUT=other / COMPETITION,
        LANL_WORKING=working,
        LANL_FEATURES=other / "lanl-features",
        LANL_UNPACK=root / "unpack",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "adopted the tiny train table" in proc.stdout and "adopted the tiny test table" in proc.stdout
    assert "computing it" not in proc.stdout
    assert (working / "submission.csv").read_bytes() == cli_submission.read_bytes()
    # adopted under this data's keys, which are the attached ones: the fingerprint is the data's content, the
    # same wherever it lies (issue 15; it used to hash the paths, so the names differed)
    names = {p.name for p in (working / "features").iterdir()}
    assert len(names) == 2 and names == {p.name for p in (root / "ref" / "features").iterdir()}


def test_adopt_features_checks_code_version_and_keys(kaggle, reference, tmp_path):
    root, _, config = kaggle
    cache = SignalCache.open(root / "ref-cache")
    cfg = load_pipeline_config(config)
    source = tmp_path / "attached"
    shutil.copytree(root / "ref" / "features", source)
    logs = []
    assert len(kernel.adopt_features(source, tmp_path / "a", cache, cfg, log=logs.append)) == 2
    train = next(p for p in source.iterdir() if "-train-" in p.name)
    table = pd.read_parquet(train / "features.parquet")
    table.assign(label=table["label"] + 1.0).to_parquet(train / "features.parquet", index=False)
    assert len(kernel.adopt_features(source, tmp_path / "b", cache, cfg, log=logs.append)) == 1  # test only
    assert "label differ from this data" in logs[-2] and "adopted the tiny test" in logs[-1]
    manifest = json.loads((train / "manifest.json").read_text())
    (train / "manifest.json").write_text(json.dumps({**manifest, "code_version": "0.0.1+old"}))
    kernel.adopt_features(source, tmp_path / "c", cache, cfg, log=logs.append)
    assert "built by feature code 0.0.1+old" in logs[-2]
    with pytest.raises(LanlError, match="no such features folder"):
        kernel.adopt_features(tmp_path / "missing", tmp_path / "d", cache, cfg)


def test_bundle_is_reproducible_and_follows_the_config(kaggle, tmp_path):
    _, _, config = kaggle
    one = bundle.build_bundle(config, tmp_path / "one")
    # the same config written elsewhere (the feature-set file too) gives the same bytes
    two = bundle.build_bundle(write_config(tmp_path / "elsewhere"), tmp_path / "two")
    for a, b in ((one.script, two.script), (one.metadata, two.metadata)):
        assert a.read_bytes() == b.read_bytes()
    other = bundle.build_bundle(write_config(tmp_path / "k4", **{"k = 3": "k = 4"}), tmp_path / "k4")
    assert other.script.read_bytes() != one.script.read_bytes()
    assert other.payload_sha256 == one.payload_sha256  # same code: only the embedded config differs
    # the payload: every .py file of the package, sorted, fixed times and modes, plus the feature-set file
    payload = bundle.pack_package({"feature_sets/tiny.toml": TINY_SET.encode()})
    with zipfile.ZipFile(io.BytesIO(payload)) as z:
        infos = z.infolist()
        assert z.read("_assets/feature_sets/tiny.toml").decode() == TINY_SET
    names = [i.filename for i in infos]
    assert names[:-1] == [n for n, _ in bundle.package_files()] and "lanl/kaggle/bundle.py" in names
    assert {(i.date_time, i.external_attr >> 16) for i in infos} == {(bundle.ZIP_TIME, 0o644)}
    assert one.kernel["enable_internet"] is False and one.kernel["competition_sources"] == [COMPETITION]
    assert one.kernel["code_file"] == one.script.name and one.kernel["kernel_type"] == "script"
    assert one.kernel["enable_gpu"] is False and one.kernel["dataset_sources"] == []
    # the kernel carries the pipeline's shift stage (default auto) in its config, and reads it back
    doc = bundle.bundle_document(load_pipeline_config(config), None, payload)
    assert doc["config"]["shift"] == {"remedies": ["auto"]}
    assert config_from_json(doc["config"], tmp_path).shift == {"remedies": ["auto"]}


def test_gpu_flag_and_required_packages():
    cpu = PipelineConfig(models=["lgbm", "cnn"], run={"cnn": {"params": {"device": "auto"}}})
    gpu = PipelineConfig(models=["lgbm", "cnn"], run={"cnn": {"params": {"device": "cuda"}}})
    assert not bundle.wants_gpu(cpu) and bundle.wants_gpu(gpu)
    assert not bundle.wants_gpu(PipelineConfig(models=["lgbm"], run={"cnn": {"params": {"device": "cuda"}}}))
    need = bundle.required_packages(gpu)
    assert need["torch"] == "torch" and need["sklearn"] == "scikit-learn" and need["lightgbm"] == "lightgbm"
    assert "torch" not in bundle.required_packages(PipelineConfig(models=["lgbm"]))
    assert bundle.kernel_metadata(gpu, None, "me/lanl-gpu")["enable_gpu"] is True
    zoo = bundle.required_packages(PipelineConfig(models=["ridge", "mlp", "catboost", "xgboost"]))
    assert zoo["torch"] == "torch" and zoo["catboost"] == "catboost" and zoo["xgboost"] == "xgboost"
    assert not {"torch", "catboost", "xgboost"} & set(
        bundle.required_packages(PipelineConfig(models=["svr"]))
    )


def test_script_names_missing_packages_and_old_versions(kaggle, tmp_path):
    _, _, config = kaggle
    built = bundle.build_bundle(config, tmp_path / "b")
    text = built.script.read_text()
    text = text.replace('"required": {', '"required": {\n  "no_such_mod": "no-such-pkg",', 1)
    if '"minimum": {}' in text:  # lanl run from a checkout, not installed: no minimum versions recorded
        text = text.replace('"minimum": {}', '"minimum": {"click": "999"}', 1)
    else:
        text = text.replace('"minimum": {', '"minimum": {\n  "click": "999",', 1)
    broken = tmp_path / "broken.py"
    broken.write_text(text)
    proc = run_script(broken, tmp_path, LANL_UNPACK=tmp_path / "unpack")
    assert proc.returncode == 1 and "missing Python packages: no-such-pkg" in proc.stderr
    assert "warning: click" in proc.stderr and "older than the 999" in proc.stderr
    assert not (tmp_path / "unpack").exists()  # checked before anything is unpacked


def test_kernel_paths_from_environment():
    p = kernel.KernelPaths.from_env({})
    assert p.input == Path(f"/kaggle/input/{COMPETITION}") and p.working == Path("/kaggle/working")
    assert p.cache == Path("/kaggle/working/.lanl-cache") and p.features is None and p.jobs == 0
    assert kernel.KernelPaths.from_env({}, "me/feats").features == Path("/kaggle/input/feats")
    assert kernel.KernelPaths.from_env({"LANL_FEATURES": ""}, "me/feats").features is None
    env = {"LANL_INPUT": "d", "LANL_WORKING": "w", "LANL_FEATURES": "f", "LANL_JOBS": "2"}
    assert kernel.KernelPaths.from_env(env) == kernel.KernelPaths(
        Path("d"), Path("w"), Path("w/.lanl-cache"), Path("f"), 2
    )
    with pytest.raises(LanlError, match="LANL_JOBS"):
        kernel.KernelPaths.from_env({"LANL_JOBS": "many"})


def test_cli_bundle_and_push_offline(kaggle, tmp_path, monkeypatch):
    _, _, config = kaggle
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    out = tmp_path / "out"
    res = CliRunner().invoke(bundle_command, ["--config", str(config), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"wrote {out / bundle.SCRIPT}" in res.output and "GPU off, internet off" in res.output
    assert json.loads((out / bundle.METADATA).read_text())["id"] == "INSERT_USERNAME/lanl-kern"
    res = CliRunner().invoke(bundle_command, ["--config", str(config), "--out", str(out), "--push"])
    assert isinstance(res.exception, OfflineError), res.output
    assert "push the kernel" in str(res.exception) and f"kaggle kernels push -p {out}" in str(res.exception)
    res = CliRunner().invoke(bundle_command, ["--features-dataset", "no-owner", "--out", str(out)])
    assert isinstance(res.exception, LanlError) and "OWNER/SLUG" in str(res.exception)


def test_kernel_predicts_with_attached_runs(kaggle, reference, tmp_path):
    """--runs-dataset: the kernel trains nothing; it predicts with the attached runs (whose feature-set file is
    not at its recorded path there: the config's own is matched by hash) and writes what `lanl submit` writes
    for the predicted run folder -- here also what training on this data submitted."""
    root, data, config = kaggle
    res, cli_submission = reference
    built = bundle.build_bundle(config, tmp_path / "bundle", runs_dataset="someone/lanl-runs")
    again = bundle.build_bundle(config, tmp_path / "again", runs_dataset="someone/lanl-runs")
    assert again.script.read_bytes() == built.script.read_bytes()
    assert built.kernel["dataset_sources"] == ["someone/lanl-runs"]
    assert "/kaggle/input/lanl-runs: predict with them" in built.script.read_text()
    assert kernel.KernelPaths.from_env({}, None, "me/lanl-runs").runs == Path("/kaggle/input/lanl-runs")
    attached = tmp_path / "input" / "lanl-runs"
    shutil.copytree(root / "ref" / "runs", attached / "runs")
    for path in (attached / "runs").glob("*/config.json"):
        path.write_text(json.dumps({**json.loads(path.read_text()), "features": "/elsewhere/tiny.toml"}))
    working = tmp_path / "working"
    proc = run_script(
        built.script,
        tmp_path / "cwd",
        LANL_INPUT=data,
        LANL_WORKING=working,
        LANL_RUNS=attached,
        LANL_UNPACK=root / "unpack",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"runs: predicting with {attached / 'runs' / res.best.name}" in proc.stdout
    assert not (working / "runs" / "_folds").exists()  # no folds made: nothing trained
    predicted = working / "runs" / res.best.name
    out = tmp_path / "subs"
    cli = CliRunner().invoke(
        main,
        ["submit", str(predicted), "--cache", str(working / ".lanl-cache"), "--out", str(out), "--name", "p"],
    )
    assert cli.exit_code == 0, cli.output
    assert (working / "submission.csv").read_bytes() == (out / "p.csv").read_bytes()
    assert (out / "p.csv").read_bytes() == cli_submission.read_bytes()
    # runs of another config are not taken for this one's
    (attached / "runs" / res.best.name).rename(attached / "runs" / "someone-else")
    proc = run_script(
        built.script,
        tmp_path / "cwd",
        LANL_INPUT=data,
        LANL_WORKING=tmp_path / "w2",
        LANL_RUNS=attached,
        LANL_UNPACK=root / "unpack",
    )
    assert proc.returncode == 2 and "none of this config's runs (kern-lgbm)" in proc.stderr
    assert "someone-else" in proc.stderr


def _cache_files(script: Path) -> list[str]:
    text = script.read_text()
    b64 = text.split('PAYLOAD = """')[1].split('"""')[0]
    with zipfile.ZipFile(io.BytesIO(base64.b64decode("".join(b64.split())))) as z:
        return [n for n in z.namelist() if "/__pycache__/" in n]


@pytest.mark.slow
def test_kernel_with_shipped_numba_kernels_compiles_nothing(kaggle, reference, tmp_path):
    """--numba-cache: the kernels compiled by an interpreter of the kernel's versions (here this one) travel
    in the script; on a fresh unpack the kernel loads every kernel it runs and compiles none, and writes what
    compiling them for the same CPU target writes."""
    import numba

    from lanl.kaggle.precompile import PORTABLE_CPU, PORTABLE_FEATURES

    _, data, config = kaggle
    built = bundle.build_bundle(config, tmp_path / "b", numba_python=sys.executable)
    info = built.numba_cache
    assert info["numba"] == numba.__version__ and info["cpu"] == PORTABLE_CPU
    assert info["python"] == "{}.{}".format(*sys.version_info[:2]) and info["files"] > 10
    names = _cache_files(built.script)
    assert len(names) == info["files"] and any(
        n.startswith("lanl/features/__pycache__/_kernels.") for n in names
    )
    assert any(n.startswith("lanl/data/__pycache__/csvparse.") for n in names)
    # the warm-up's data writer (the generator and its CSV formatter) never runs in a kernel
    assert not any("synth." in n or "csvformat." in n for n in names)
    assert built.payload_sha256 != bundle.build_bundle(config, tmp_path / "plain").payload_sha256
    import llvmlite.binding

    host = llvmlite.binding.get_host_cpu_features()
    if not all(host.get(f) for f in PORTABLE_FEATURES):
        pytest.skip(f"this CPU is not {PORTABLE_CPU}: the kernel would (rightly) compile")
    env = {"LANL_INPUT": data, "LANL_UNPACK": tmp_path / "u", "NUMBA_DEBUG_CACHE": "1"}
    proc = run_script(built.script, tmp_path / "cwd", LANL_WORKING=tmp_path / "w", **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"using the {info['files']} shipped cache files (compiled for {PORTABLE_CPU}" in proc.stdout
    assert "data loaded from" in proc.stdout and "data saved to" not in proc.stdout, proc.stdout
    # the same CPU target compiled afresh (an empty NUMBA_CACHE_DIR) gives the same submission
    forced = {"NUMBA_CPU_NAME": PORTABLE_CPU, "NUMBA_CPU_FEATURES": "", "NUMBA_CACHE_DIR": tmp_path / "nc"}
    env.update(LANL_UNPACK=tmp_path / "u2", NUMBA_DEBUG_CACHE="1", **forced)
    again = run_script(built.script, tmp_path / "cwd", LANL_WORKING=tmp_path / "w2", **env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "not using the shipped kernels (NUMBA_CACHE_DIR is set)" in again.stdout
    assert "data saved to" in again.stdout
    assert (tmp_path / "w" / "submission.csv").read_bytes() == (
        tmp_path / "w2" / "submission.csv"
    ).read_bytes()


def test_shipped_kernels_are_refused_where_they_do_not_fit(kaggle, tmp_path):
    """Another Python, numba or CPU: the script says why and compiles as a script without them does."""
    _, _, config = kaggle
    built = bundle.build_bundle(config, tmp_path / "b")
    text = built.script.read_text()
    fake = {
        "python": "{}.{}".format(*sys.version_info[:2]),
        "numba": "0.0.1",
        "platform": f"{sys.platform}-{__import__('platform').machine()}",
        "cpu": "x86-64-v3",
        "cpu_features": ["avx2"],
        "files": 3,
        "bytes": 10,
    }
    import numba

    for changes, why in (
        ({"numba": "0.0.1"}, f"compiled for numba 0.0.1, this is {numba.__version__}"),
        ({"python": "3.99"}, "compiled for Python 3.99, this is "),
        ({"numba": numba.__version__, "cpu_features": ["no-such-feature"]}, "this CPU lacks no-such-feature"),
    ):
        script = tmp_path / "fake.py"
        doc = json.dumps({**fake, **changes})
        script.write_text(text.replace('"numba_cache": null', '"numba_cache": ' + doc, 1))
        check = "import runpy, sys; g = runpy.run_path(sys.argv[1]); print(g['kernels_mismatch'](g['BUNDLE']['numba_cache']))"
        out = subprocess.run([sys.executable, "-I", "-c", check, str(script)], capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.startswith(why), out.stdout + out.stderr
