"""The feature-table model zoo (svr, nusvr, knn, ridge, mlp, catboost, xgboost): each learns a seeded signal,
is deterministic, round-trips through its saved file, takes sample weights, and learns its scaling from the
fold's training rows only."""

import sys

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.neighbors import KNeighborsRegressor

from lanl.cv.folds import FoldSpec, make_folds
from lanl.cv.runs import Run
from lanl.cv.spaces import SPACES, suggest
from lanl.cv.stack import Stacker
from lanl.cv.train import config_from_dict, cross_validate, train_table
from lanl.cv.tune import tune_table
from lanl.errors import LanlError
from lanl.models import SUFFIX, load_model, make_model
from lanl.models.lgbm import LGBMRegressor
from lanl.models.mlp import MLPRegressor
from lanl.models.sklearn_models import WeightedNeighbors

SKLEARN = ("svr", "nusvr", "knn", "ridge")
KINDS = (*SKLEARN, "mlp", "catboost", "xgboost")
# small, fast settings (the defaults are sized for the 4,000-window competition table)
FAST = {
    "knn": {"n_neighbors": 10},
    "mlp": {"epochs": 60, "batch_size": 32, "lr": 3e-3, "patience": 15, "hidden": 32},
    "catboost": {"n_estimators": 200, "learning_rate": 0.1, "depth": 4, "early_stopping_rounds": 30},
    "xgboost": {
        "n_estimators": 200,
        "learning_rate": 0.1,
        "min_child_weight": 2.0,
        "early_stopping_rounds": 30,
    },
}
FEATURES = ["signal", "curve", "noise"]


def zoo_table(n_cycles=6, per_cycle=40, seed=0) -> pd.DataFrame:
    """Windows whose label falls through each cycle; ``signal`` tracks it linearly, ``curve`` through a
    logarithm, ``noise`` not at all (and lives on another scale, as raw features do)."""
    rng = np.random.default_rng(seed)
    rows = [
        (f"w{c}_{i}", c * 1000 + i, c, label)
        for c in range(n_cycles)
        for i, label in enumerate(np.linspace(rng.uniform(8, 14), 0.2, per_cycle))
    ]
    table = pd.DataFrame(rows, columns=["seg_id", "start", "cycle", "label"])
    table["signal"] = table["label"] + rng.normal(0, 0.7, len(table))
    table["curve"] = np.log1p(table["label"]) * 100 + rng.normal(0, 5, len(table))
    table["noise"] = rng.normal(0, 1000, len(table))
    return table


def model(kind, **params):
    return make_model(kind, {**FAST.get(kind, {}), **params})


def split(table):
    """(train rows, stopping rows, held-out rows): cycles 0-3, 4 and 5."""
    return table[table.cycle < 4], table[table.cycle == 4], table[table.cycle == 5]


def fitted(kind, table, **params):
    train, stop, _ = split(table)
    eval_set = (stop[FEATURES], stop["label"])
    return model(kind, **params).fit(train[FEATURES], train["label"], eval_set=eval_set)


@pytest.fixture(scope="module")
def table():
    return zoo_table()


# ------------------------------------------------------------------------------------- learn, repeat, save
@pytest.mark.parametrize("kind", KINDS)
def test_learns_the_signal_beats_the_median_and_repeats(kind, table):
    _, _, held = split(table)
    a, b = fitted(kind, table), fitted(kind, table)
    pred = a.predict(held[FEATURES])
    mae = np.abs(pred - held["label"]).mean()
    baseline = np.abs(np.median(table.label[table.cycle < 4]) - held["label"]).mean()
    assert mae < 0.4 * baseline, (mae, baseline)
    assert np.array_equal(pred, b.predict(held[FEATURES]))  # same seed, same predictions
    assert a.feature_names_in_ == FEATURES and a.n_features_in_ == 3


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(kind, table, tmp_path):
    m = fitted(kind, table)
    path = m.save(tmp_path / f"fold_0{SUFFIX[kind]}")
    back = load_model(path)
    assert type(back) is type(m) and back.get_params() == m.get_params()
    assert np.array_equal(back.predict(table[FEATURES]), m.predict(table[FEATURES]))
    assert list(back.feature_names_in_) == FEATURES
    assert getattr(back, "best_iteration_", getattr(back, "best_epoch_", None)) == getattr(
        m, "best_iteration_", getattr(m, "best_epoch_", None)
    )


@pytest.mark.parametrize("kind", ["mlp", "catboost", "xgboost"])
def test_early_stopping_on_the_eval_set(kind, table):
    train, stop, _ = split(table)
    rng = np.random.default_rng(1)
    eval_set = (stop[FEATURES], rng.permutation(stop["label"].to_numpy()) * 0 + 100.0)  # unreachable labels
    m = model(kind).fit(train[FEATURES], train["label"], eval_set=eval_set)
    best = getattr(m, "best_iteration_", getattr(m, "best_epoch_", 0))
    limit = m.epochs if kind == "mlp" else m.n_estimators
    assert 1 <= best < limit  # stopped early
    curve = m.history_["valid_loss" if kind == "mlp" else "stop_mae"]
    assert len(curve) >= best
    refit = m.refit_params()
    assert refit in ({"epochs": best, "patience": 0}, {"n_estimators": best, "early_stopping_rounds": 0})
    again = clone(m).set_params(**refit).fit(train[FEATURES], train["label"])
    assert getattr(again, "best_iteration_", getattr(again, "best_epoch_", 0)) == best


@pytest.mark.parametrize("kind", SKLEARN)
def test_sklearn_kinds_do_not_iterate(kind, table):
    m = fitted(kind, table)
    assert m.best_iteration_ == 0 and m.history_ == {} and m.refit_params() == {}


# ------------------------------------------------------------------------------------------- sample weights
def conflicting_table(seed=0):
    """Two halves with opposite signals on the same feature distribution: a fit that ignores the weights
    learns neither."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (400, 2))
    half = np.arange(400) < 200
    y = np.where(half, 5 + 2 * x[:, 0], 5 - 2 * x[:, 0]) + rng.normal(0, 0.1, 400)
    return pd.DataFrame(x, columns=["a", "b"]), y, half


@pytest.mark.parametrize("kind", [*KINDS, "lgbm"])
def test_weights_pick_the_half_they_weight(kind):
    X, y, half = conflicting_table()
    params = {"min_child_samples": 5, "n_estimators": 200, "learning_rate": 0.1} if kind == "lgbm" else {}
    weighted = model(kind, **params).fit(X, y, sample_weight=half.astype(float))
    plain = model(kind, **params).fit(X, y)
    grid = pd.DataFrame({"a": np.linspace(-1.5, 1.5, 31), "b": 0.0})
    truth = 5 + 2 * grid["a"].to_numpy()
    assert np.abs(weighted.predict(grid) - truth).mean() < 0.5
    assert np.abs(plain.predict(grid) - truth).mean() > 1.0


@pytest.mark.parametrize("kind", SKLEARN)
def test_zero_weight_is_the_same_as_leaving_the_rows_out(kind, table):
    keep = (table.cycle % 2 == 0).to_numpy()
    w = np.where(keep, 1.0 + (table.index % 3).to_numpy(), 0.0)  # unequal weights on the kept rows
    X, y = table[FEATURES], table["label"]
    zero = model(kind).fit(X, y, sample_weight=w)
    other = model(kind).fit(X[keep], y[keep], sample_weight=w[keep])
    np.testing.assert_allclose(zero.predict(X), other.predict(X), rtol=1e-9, atol=1e-9)
    # the scaler is weighted too: its mean is the weighted mean of the kept rows
    scaler = zero.pipeline_.named_steps["scale"]
    np.testing.assert_allclose(scaler.mean_, np.average(X[keep], axis=0, weights=w[keep]))


def test_weighted_neighbours_match_sklearn_with_equal_weights(table):
    X, y = table[["signal", "curve"]].to_numpy(), table["label"].to_numpy()
    probe = X[::7] + 0.3
    for weights in ("uniform", "distance"):
        ours = WeightedNeighbors(7, weights).fit(X[:150], y[:150]).predict(np.r_[probe, X[:3]])
        ref = KNeighborsRegressor(7, weights=weights).fit(X[:150], y[:150]).predict(np.r_[probe, X[:3]])
        np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_weights_are_checked():
    X, y, _ = conflicting_table()
    for bad, message in (
        ([1.0, 2.0], "one weight per row"),
        (-np.ones(400), "negative"),
        (np.zeros(400), "zero"),
    ):
        with pytest.raises(LanlError, match=message):
            model("ridge").fit(X, y, sample_weight=bad)


def test_stacker_takes_weights():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 10, 300)
    good, bad = truth + rng.normal(0, 0.3, 300), truth + rng.normal(0, 3, 300)
    X = np.c_[good, bad]
    X[:150] = X[:150, ::-1]  # on the first half the second column is the good one
    w = (np.arange(300) >= 150).astype(float)
    for method in ("blend", "linear"):
        coef = Stacker(method).fit(X, truth, sample_weight=w).coef_
        assert coef[0] > 0.9 and coef[1] < 0.1, (method, coef)


# ----------------------------------------------------------------------------------- fold scaling, no leakage
def _cv(kind, table, refit):
    folds = make_folds(table, FoldSpec("cycle", 3, 0))
    return cross_validate(model(kind), table[FEATURES], table, folds, refit=refit)


@pytest.mark.parametrize("kind", [*SKLEARN, "mlp"])
@pytest.mark.parametrize("refit", [False, True])
def test_fold_scaling_never_sees_the_held_out_rows(kind, refit, table):
    """Blowing up one fold's held-out features (and labels) must leave that fold's model, scaler included,
    exactly as it was; a scaler fitted on all rows would move by orders of magnitude."""
    before = _cv(kind, table, refit)
    valid = before.folds[0].valid_idx
    scrambled = table.copy()
    scrambled.loc[valid, FEATURES] = 1e6
    scrambled.loc[valid, "label"] = 99.0
    after = _cv(kind, scrambled, refit)
    probe = table[FEATURES]
    assert np.array_equal(before.folds[0].model.predict(probe), after.folds[0].model.predict(probe))
    assert not np.array_equal(before.folds[1].model.predict(probe), after.folds[1].model.predict(probe))
    oof = before.oof
    assert (oof["pred"] - oof["label"]).abs().mean() < 0.6 * (oof["baseline"] - oof["label"]).abs().mean()


def test_scaler_is_fitted_on_the_rows_fit_is_given(table):
    train = table[table.cycle < 4]
    m = model("svr").fit(train[FEATURES], train["label"])
    np.testing.assert_allclose(m.pipeline_.named_steps["scale"].mean_, train[FEATURES].mean().to_numpy())
    mlp = model("mlp").fit(train[FEATURES], train["label"])
    np.testing.assert_allclose(mlp.mean_, train[FEATURES].mean().to_numpy())


# -------------------------------------------------------------------------------------------- the MLP heads
def test_multitask_targets_come_from_training_labels_and_cycles():
    y = np.array([3.0, 2.0, 0.4, 10.0, 5.0, 0.1, 12.0, 6.0])
    cycles = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    net = MLPRegressor(multitask=True)
    aux = net._aux_targets(y, cycles)
    assert net.aux_heads_ == ["close", "since"]
    assert aux[:, 0].tolist() == [0, 0, 1, 0, 0, 1, 0, 0]
    # durations: cycle 0 (the partial first) at least the median of the others (11); 10; 12
    since = np.array([8.0, 9.0, 10.6, 0.0, 5.0, 9.9, 0.0, 6.0])
    np.testing.assert_allclose(aux[:, 1] * net.since_scale_, since)
    assert net._aux_targets(y, None).shape == (8, 1) and net.aux_heads_ == ["close"]


def test_multitask_mlp_learns_with_and_without_cycles(table, tmp_path):
    train, stop, held = split(table)
    args = (train[FEATURES], train["label"])
    with_cycles = model("mlp", multitask=True).fit(
        *args, eval_set=(stop[FEATURES], stop["label"]), cycles=train["cycle"]
    )
    without = model("mlp", multitask=True).fit(*args, eval_set=(stop[FEATURES], stop["label"]))
    single = model("mlp").fit(*args, eval_set=(stop[FEATURES], stop["label"]))
    assert with_cycles.aux_heads_ == ["close", "since"] and without.aux_heads_ == ["close"]
    baseline = np.abs(np.median(train["label"]) - held["label"]).mean()
    for m in (with_cycles, without):
        assert np.abs(m.predict(held[FEATURES]) - held["label"]).mean() < 0.4 * baseline
        assert not np.array_equal(m.predict(held[FEATURES]), single.predict(held[FEATURES]))
    back = load_model(with_cycles.save(tmp_path / "mt.pt"))
    assert list(back.aux_heads_) == ["close", "since"]
    assert np.array_equal(back.predict(held[FEATURES]), with_cycles.predict(held[FEATURES]))


# ---------------------------------------------------------------------------------- parameters and packages
@pytest.mark.parametrize(
    "kind, params, message",
    [
        ("svr", {"C": -1.0}, "'svr': C must be in"),
        ("nusvr", {"nu": 1.5}, "'nusvr': nu must be in"),
        ("knn", {"n_neighbors": 0}, "'knn': n_neighbors must be in"),
        ("knn", {"weights": "gaussian"}, "unknown knn weights"),
        ("ridge", {"alpha": -2.0}, "'ridge': alpha must be in"),
        ("mlp", {"dropout": 1.0}, "'mlp': dropout must be in"),
        ("catboost", {"depth": 0}, "'catboost': depth must be in"),
        ("xgboost", {"subsample": 0.0}, "'xgboost': subsample must be in"),
        ("ridge", {"alpha": "big"}, "alpha must be a number"),
    ],
)
def test_bad_parameters_are_named(kind, params, message):
    with pytest.raises(LanlError, match=message):
        make_model(kind, params)


@pytest.mark.parametrize("kind", ["svr", "knn", "mlp"])
def test_nan_features_are_named(kind, table):
    X = table[FEATURES].copy()
    X.loc[3, "curve"] = np.nan
    with pytest.raises(LanlError, match=f"{kind} cannot take NaN or infinite features.*curve"):
        model(kind).fit(X, table["label"])


@pytest.mark.parametrize("package", ["catboost", "xgboost"])
def test_a_missing_boost_package_names_the_extra(package, monkeypatch, table, tmp_path):
    saved = fitted(package, table).save(tmp_path / "m.json")
    cls = type(make_model(package))
    monkeypatch.setitem(sys.modules, package, None)  # import now raises ImportError
    hint = rf"{package} is not installed.*pip install 'lanl\[boost\]'"
    with pytest.raises(LanlError, match=hint):
        make_model(package)
    with pytest.raises(LanlError, match=hint):
        cls().fit(table[FEATURES], table["label"])
    with pytest.raises(LanlError, match=hint):
        load_model(saved)
    assert type(make_model("lgbm")) is LGBMRegressor  # the other kinds do not need it


def test_load_model_dispatch(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"x")
    with pytest.raises(LanlError, match="not a model file"):
        load_model(tmp_path / "m.pkl")
    (tmp_path / "m.npz").write_bytes(b"not a zip")
    with pytest.raises(LanlError, match="not a readable model file"):
        load_model(tmp_path / "m.npz")


# ------------------------------------------------------------------------------------------ runs and tuning
@pytest.mark.parametrize("kind", KINDS)
def test_tune_space_suggests_valid_params(kind):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        params = suggest(study.ask(), SPACES[kind])
        make_model(kind, {**FAST.get(kind, {}), **params})  # validate() raises on a bad point


@pytest.mark.parametrize("kind", KINDS)
def test_two_trial_study_and_run_folder(kind, table, tmp_path):
    base = config_from_dict({"model": kind, "folds": {"k": 3}, "refit": True, "params": FAST.get(kind, {})})
    result = tune_table(table, base, trials=2, runs_dir=tmp_path)
    assert result.n_complete + result.n_pruned == 2 and result.best_value is not None
    test = table[table.cycle == 5].assign(seg_id=lambda t: "test_" + t["seg_id"])
    run = Run.open(train_table(table, base, test=test, runs_dir=tmp_path))
    assert run.model == kind and run.metrics["cv_mae"] < run.metrics["baseline_mae"]
    assert sorted(p.suffix for p in (run.root / "models").iterdir()) == [SUFFIX[kind]] * 3
    fold = run.load_model(1)
    assert fold.predict(test[FEATURES]).shape == (len(test),)


def test_cross_validation_fits_without_a_stopping_set_and_feeds_the_multitask_cycles(table):
    """The scikit-learn kinds fit on all of a fold's training rows (nothing to stop early); the multitask MLP
    gets its fit rows' cycles under the ttf target (both auxiliary heads), not under the fraction target."""
    folds = make_folds(table, FoldSpec("cycle", 3, 0))
    ridge = cross_validate(model("ridge"), table[FEATURES], table, folds)
    for r in ridge.folds:
        train_rows = len(table) - len(r.valid_idx)
        assert r.model.pipeline_.named_steps["scale"].n_samples_seen_ == train_rows
    mlp = cross_validate(model("mlp", multitask=True), table[FEATURES], table, folds)
    assert all(r.model.aux_heads_ == ["close", "since"] for r in mlp.folds)
    frac = cross_validate(model("mlp", multitask=True), table[FEATURES], table, folds, target="fraction")
    assert all(r.model.aux_heads_ == ["close"] for r in frac.folds)
