"""Recipes (lanl.recipes): the shipped solutions load, list, run and bundle; their features are the published
ones, checked on the real train windows against plain references written from the published definitions."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pywt
import scipy.stats
from click.testing import CliRunner

from lanl import recipes
from lanl.cli import main
from lanl.cv.runs import Run
from lanl.cv.shift import ShiftConfig, length_matched_cycles
from lanl.cv.shift import plan as plan_shift
from lanl.cv.stack import Stacker
from lanl.data.synth_tables import shifted_tables
from lanl.data.tables import load_tables
from lanl.errors import LanlError
from lanl.features import extract, feature_set_from_dict, load_feature_set
from lanl.kaggle.bundle import check_config
from lanl.pipeline import run_tables
from lanl.workspace import Workspace

LABELLED = Path(__file__).resolve().parents[1].parent / "shared" / "lanl_real_labelled"
N = 150_000
SETS = recipes.FOLDER / "feature_sets"
# the published kernel says mode="per", pywt's old name of "periodization"
pytestmark = pytest.mark.filterwarnings("ignore:per has been renamed:DeprecationWarning")


# --- the 1st place's features on the 32 real train windows, against the published kernel's definitions ---


@pytest.fixture(scope="module")
def real_windows() -> np.ndarray:
    files = sorted((LABELLED / "raw_signal").glob("lisatostrams__*event_*__rows*.csv"))
    files = sorted(files, key=lambda p: int(re.search(r"rows(\d+)-", p.name)[1]))
    return np.stack([pd.read_csv(f)["acoustic_data"].to_numpy(np.int16) for f in files])


def published_signal(x: np.ndarray) -> np.ndarray:
    """The 1st place's kernel: np.random.seed(1337); noise = np.random.normal(0, 0.5, 150_000);
    z = x + noise; z - median(z)."""
    np.random.seed(1337)
    noise = np.random.normal(0, 0.5, N)
    z = x.astype(np.float64) + noise
    return z - np.median(z)


def denoise_signal_simple(x: np.ndarray, wavelet: str = "db4") -> np.ndarray:
    """The kernel's function, as published."""
    coeff = pywt.wavedec(x, wavelet, mode="per")
    coeff[1:] = (pywt.threshold(c, value=10, mode="hard") for c in coeff[1:])
    return pywt.waverec(coeff, wavelet, mode="per")


def number_peaks(x: np.ndarray, n: int) -> int:
    """tsfresh's number_peaks written out: x[i] larger than its n neighbours on either side."""
    reduced = x[n:-n]
    ok = np.ones(len(reduced), bool)
    for i in range(1, n + 1):
        ok &= reduced > np.roll(x, i)[n:-n]
        ok &= reduced > np.roll(x, -i)[n:-n]
    return int(ok.sum())


@pytest.fixture(scope="module")
def first_place(real_windows) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ours, the published definition's) for the 4 features on the 32 real windows."""
    librosa = pytest.importorskip("librosa")
    ours = extract(real_windows, SETS / "first-place.toml")
    ref = []
    for x in real_windows:
        z = published_signal(x)
        mfcc = librosa.feature.mfcc(y=z, pad_mode="reflect").mean(axis=1)
        ref.append(
            [
                number_peaks(denoise_signal_simple(z), 2),
                np.percentile(pd.Series(z).rolling(50).std().dropna().values, 20),
                mfcc[4],
                mfcc[18],
            ]
        )
    return ours, pd.DataFrame(ref, columns=ours.columns)


@pytest.mark.parametrize("column", range(4))
@pytest.mark.real
@pytest.mark.skipif(not LABELLED.is_dir(), reason="../shared/lanl_real_labelled is absent")
def test_first_place_features_are_the_published_ones(first_place, column):
    ours, ref = first_place
    name = ours.columns[column]
    if "number_peaks" in name:
        np.testing.assert_array_equal(ours[name].to_numpy(), ref[name].to_numpy())
    else:  # float32 MFCC in librosa; the rolling std in float64 both ways
        rtol = 1e-9 if "rolling" in name else 1e-4
        np.testing.assert_allclose(ours[name].to_numpy(), ref[name].to_numpy(), rtol=rtol, atol=1e-6)
    assert ours[name].std() > 0  # the windows differ: a constant column would pass any equality


@pytest.mark.real
@pytest.mark.skipif(not LABELLED.is_dir(), reason="../shared/lanl_real_labelled is absent")
def test_universal_threshold_denoising_is_not_the_first_places(real_windows, first_place):
    """The package's other denoiser (sigma sqrt(2 log n)) gives other peak counts: the reason both exist."""
    fs = feature_set_from_dict(
        {
            "seed": 1337,
            "views": {
                "d": [
                    {"manipulation": "noise_median", "sigma": 0.5, "shared": True},
                    {"manipulation": "wavelet_denoise", "wavelet": "db4"},
                ]
            },
            "features": [{"feature": "number_peaks", "view": "d", "params": [{"n": 2}]}],
        }
    )
    universal = extract(real_windows, fs).iloc[:, 0].to_numpy()
    published = first_place[1].iloc[:, 0].to_numpy()
    assert np.median(np.abs(universal - published) / published) > 0.1


def test_shared_noise_is_the_kernels_vector():
    x = np.zeros((3, 5000), np.int16)
    x[1] += 7
    fs = {
        "seed": 1337,
        "views": {"s": [{"manipulation": "noise_median", "sigma": 0.5, "shared": True}]},
        "features": [{"feature": "quantile", "view": "s", "params": [{"q": q} for q in (0.1, 0.5, 0.9)]}],
    }
    ours = extract(x, feature_set_from_dict(fs)).to_numpy()
    e = np.random.RandomState(1337).normal(0, 0.5, 5000)
    ref = np.quantile(e - np.median(e), [0.1, 0.5, 0.9])
    np.testing.assert_allclose(ours, np.tile(ref, (3, 1)), rtol=0, atol=1e-12)
    fs["views"]["s"][0]["shared"] = False  # per segment: the three rows differ
    per_segment = extract(x, feature_set_from_dict(fs)).to_numpy()
    assert not np.allclose(per_segment[0], per_segment[2])


def test_simple_denoiser_clip_and_quantile_spread_against_plain_references():
    rng = np.random.default_rng(3)
    x = (rng.standard_t(3, (4, 4096)) * 20).astype(np.int16)
    fs = feature_set_from_dict(
        {
            "views": {
                "d": [{"manipulation": "wavelet_denoise_simple", "threshold": 10.0}],
                "c": [{"manipulation": "clip_quantile", "lo": 0.05, "hi": 0.95}],
            },
            "features": [
                {"feature": "quantile", "view": "d", "params": [{"q": q} for q in (0.01, 0.5, 0.99)]},
                {"feature": "kurtosis", "view": "c"},
                {"feature": "max", "view": "c"},
                {"feature": "quantile_range", "params": [{"lo": 0.05, "hi": 0.95}, {"lo": 0.25, "hi": 0.75}]},
                {"feature": "iqr"},
            ],
        }
    )
    ours = extract(x, fs).to_numpy()
    for row, seg in zip(ours, x.astype(np.float64), strict=True):
        d = denoise_signal_simple(seg)
        lo, hi = np.quantile(seg, [0.05, 0.95])
        c = np.clip(seg, lo, hi)
        ref = [
            *np.quantile(d, [0.01, 0.5, 0.99]),
            scipy.stats.kurtosis(c, fisher=True, bias=False),
            hi,
            np.subtract(*np.quantile(seg, [0.95, 0.05])),
            np.subtract(*np.quantile(seg, [0.75, 0.25])),
            np.subtract(*np.quantile(seg, [0.75, 0.25])),
        ]
        np.testing.assert_allclose(row, ref, rtol=1e-9, atol=1e-9)
    assert np.ptp(ours[:, 0]) > 0


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"manipulation": "clip_quantile", "lo": 0.9, "hi": 0.1}, "lo must be below hi"),
        ({"manipulation": "wavelet_denoise_simple", "wavelet": "nope"}, "wavelet"),
        ({"manipulation": "wavelet_denoise_simple", "threshold": -1.0}, "threshold"),
    ],
)
def test_new_manipulations_reject_bad_parameters(bad, message):
    with pytest.raises(LanlError, match=message):
        feature_set_from_dict({"views": {"v": [bad]}, "features": [{"feature": "mean", "view": "v"}]})


def test_mfcc_pad_mode_is_checked_and_reflect_is_librosas_old_default():
    librosa = pytest.importorskip("librosa")
    with pytest.raises(LanlError, match="pad_mode"):
        feature_set_from_dict(
            {"features": [{"feature": "mfcc_mean", "params": [{"k": 1, "pad_mode": "edge"}]}]}
        )
    y = np.random.default_rng(0).normal(0, 30, 20_000)
    fs = {"features": [{"feature": "mfcc_mean", "grid": {"k": [0, 4], "pad_mode": ["reflect", "constant"]}}]}
    ours = extract(y, feature_set_from_dict(fs)).to_numpy()[0]
    reflect = librosa.feature.mfcc(y=y, pad_mode="reflect").mean(axis=1)
    constant = librosa.feature.mfcc(y=y, pad_mode="constant").mean(axis=1)
    np.testing.assert_allclose(ours, [reflect[0], constant[0], reflect[4], constant[4]], rtol=1e-4)
    assert abs(reflect[0] - constant[0]) > 1e-3  # the two paddings do differ


def test_every_feature_set_of_the_recipes_loads_with_the_published_sizes():
    assert len(load_feature_set(SETS / "first-place.toml").features) == 4
    assert len(load_feature_set(SETS / "first-place-wide.toml").features) == 40
    assert len(load_feature_set(SETS / "second-place.toml").features) == 31
    assert len(load_feature_set("winners").features) == 4


# --- cycle_length (2nd place) and the mean stack (public kernels) ---


def test_length_matched_cycles():
    durations = {0: 6.0, 1: 8.0, 2: 10.0, 3: 12.0, 4: 14.0, 5: 16.0}
    assert length_matched_cycles(durations, 12.0, 2.5) == [2, 3, 4]
    assert length_matched_cycles(durations, 12.0, 0.1) == [2, 3, 4]  # at least the 3 nearest
    assert length_matched_cycles(durations, 16.0, 6.0) == [2, 3, 4, 5]
    assert length_matched_cycles({0: 9.0, 1: 11.0}, 30.0, 1.0) == [0, 1]


def test_cycle_length_plan_trains_on_the_cycles_of_the_test_length():
    train, test = shifted_tables(seed=1, test_duration=16.0)
    features = ["phase", "spread", "level"]
    config = ShiftConfig(remedies=["cycle_length"], test_cycle_seconds=15.0, cycle_tolerance=1.5)
    out = plan_shift(
        train[features], train["cycle"].to_numpy(), train["label"].to_numpy(), test[features], config
    )
    durations = train.groupby("cycle")["label"].max()
    chosen = sorted(durations.index[(durations - 15.0).abs() <= 1.5 + 0.2])
    assert out.cycles == chosen and len(chosen) >= 3
    assert set(train["cycle"].iloc[out.rows]) == set(chosen)
    assert any("cycle_length" in n and "given" in n for n in out.notes)


def test_cycle_length_config_errors():
    with pytest.raises(LanlError, match="use one"):
        ShiftConfig(remedies=["cycle_subset", "cycle_length"])
    with pytest.raises(LanlError, match="cycle_tolerance"):
        ShiftConfig(remedies=["cycle_length"], cycle_tolerance=0.0)


def test_mean_stack_is_the_plain_average():
    X = np.array([[1.0, 3.0, 8.0], [2.0, 2.0, 2.0]])
    s = Stacker(method="mean").fit(X, np.array([0.0, 1.0]))
    np.testing.assert_allclose(s.predict(X), [4.0, 2.0])


# --- the recipes themselves ---


def test_list_recipes_prints_one_line_each():
    res = CliRunner().invoke(main, ["run", "--list-recipes"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == recipes.names()
    want = {
        "first-place",
        "public-kernel",
        "public-kernel-kfold",
        "second-place",
        "fraction-target",
        "rnn-starter",
    }
    assert set(recipes.names()) == want


@pytest.mark.parametrize("name", recipes.names())
def test_every_recipe_resolves_and_says_where_it_comes_from(name):
    recipe = recipes.load(name)
    assert recipe.description and recipe.source and recipe.choices
    config = recipe.config()
    check_config(config)  # every run config resolves and every feature set loads, as the bundle needs
    for table in config.run.values():
        features = table.get("features", "")
        assert not features.startswith("feature_sets/")  # resolved to the package's files
        if features.endswith(".toml"):
            assert Path(features).is_file()


def test_recipe_contents_are_the_published_choices():
    first = recipes.load("first-place").config()
    assert first.models == ["lgbm", "svr", "mlp"] and first.stack == "blend"
    assert first.shift["remedies"] == ["ks_filter", "cycle_subset"]
    assert (
        first.run["lgbm"]["params"]["objective"] == "fair" and first.run["lgbm"]["params"]["num_leaves"] == 4
    )
    assert first.run["mlp"]["params"]["multitask"] is True
    kernel, kfold = recipes.load("public-kernel").config(), recipes.load("public-kernel-kfold").config()
    assert kernel.stack == "mean" and kernel.models == ["lgbm", "xgboost", "catboost", "nusvr"]
    assert (kernel.folds.scheme, kfold.folds.scheme) == ("cycle", "kfold")
    assert (
        kfold.models == kernel.models
        and kfold.run == kernel.run
        and kfold.submission == "public-kernel-kfold"
    )
    assert recipes.load("second-place").config().shift["remedies"] == ["cycle_length"]
    fraction = recipes.load("fraction-target").config().shift
    assert fraction["remedies"] == ["fraction"] and fraction["test_cycle_seconds"] == 12.0
    assert recipes.load("rnn-starter").config().run["lstm"]["params"]["cell"] == "gru"


def test_unknown_recipe_and_bad_combinations_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["run", "--recipe", "third-place"])
    assert res.exit_code == 2 and "unknown recipe 'third-place'" in res.output and "first-place" in res.output
    (tmp_path / "p.toml").write_text('models = ["lgbm"]\n')
    res = CliRunner().invoke(main, ["run", "--recipe", "first-place", "--config", "p.toml"])
    assert res.exit_code == 2 and "not both" in res.output
    res = CliRunner().invoke(main, ["bundle", "--recipe", "../first-place"])
    assert res.exit_code == 2 and "unknown recipe" in res.output
    assert not list(tmp_path.glob("runs")) and not (tmp_path / "bundle").exists()


def test_a_broken_recipe_is_an_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(recipes, "FOLDER", tmp_path)
    (tmp_path / "a.toml").write_text('models = ["lgbm"]\n')
    with pytest.raises(LanlError, match="needs a \\[recipe\\] table"):
        recipes.load("a")
    (tmp_path / "b.toml").write_text('models = ["lgbm"]\n[recipe]\ndescription = "x"\n')
    with pytest.raises(LanlError, match="source is missing"):
        recipes.load("b")
    (tmp_path / "c.toml").write_text('[recipe]\nextends = "c"\ndescription = "x"\nsource = "y"\n')
    with pytest.raises(LanlError, match="extends itself"):
        recipes.load("c")
    (tmp_path / "d.toml").write_text(
        'models = ["lgbm"]\n[recipe]\ndescription = "x"\nsource = "y"\nurl = 1\n'
    )
    with pytest.raises(LanlError, match="unknown \\[recipe\\] keys"):
        recipes.load("d")


def test_rnn_starter_cannot_run_on_a_feature_table():
    with pytest.raises(LanlError, match="lstm reads the raw signal"):
        recipes.load("rnn-starter").config(tables=True)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    train, test = shifted_tables(seed=2, test_duration=14.0, n_test=120)
    folder = tmp_path_factory.mktemp("tables")
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    return load_tables(folder / "train.csv", folder / "test.csv")


@pytest.mark.parametrize("name", ["first-place", "second-place", "fraction-target", "public-kernel-kfold"])
def test_recipes_run_on_a_feature_table(tables, tmp_path, name):
    pytest.importorskip("catboost") if name != "fraction-target" else None
    pytest.importorskip("xgboost") if name == "public-kernel-kfold" else None
    config = recipes.load(name).config(tables=True)
    res = run_tables(tables, config, ws=Workspace.open(root=tmp_path), log=lambda _: None)
    assert [p.name for p in res.runs[: len(config.models)]] == [
        f"{config.submission}-{m}" for m in config.models
    ]
    runs = [Run.open(p) for p in res.runs]
    sub = pd.read_csv(res.submission)
    assert len(sub) == len(tables.test) and sub["time_to_failure"].notna().all()
    best = Run.open(res.best).metrics
    assert best["cv_mae"] < best["baseline_mae"]
    notes = " ".join(runs[0].metrics.get("shift", {}).get("notes", []))
    for remedy in config.shift["remedies"]:
        assert remedy in notes


def test_recipe_runs_end_to_end_on_raw_data_and_bundles(tmp_path, monkeypatch):
    """fraction-target through `lanl run --recipe` on a small synthetic dataset, then its kernel bundle."""
    from lanl.data.synth import generate

    data = generate(tmp_path / "data", seed=3, rows=6_000_000, cycles=5, test_segments=6).out_dir
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["run", "--data", str(data), "--recipe", "fraction-target"])
    assert res.exit_code == 0, res.output
    assert (
        "recipe fraction-target:" in res.output
        and "shift fraction: test cycle length 12.00 s (given)" in res.output
    )
    run = Run.open(tmp_path / "runs" / "fraction-target-lgbm")
    assert run.config["shift"]["test_cycle_seconds"] == 12.0
    assert len(pd.read_csv(tmp_path / "submissions" / "fraction-target.csv")) == 6
    res = CliRunner().invoke(main, ["bundle", "--recipe", "first-place", "--out", "b"])
    assert res.exit_code == 0, res.output
    script = (tmp_path / "b" / "lanl_kernel.py").read_text()
    assert "feature_sets/first-place.toml" in script and "feature_sets/first-place-wide.toml" in script
