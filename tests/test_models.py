"""LightGBM model, targets, the model registry and the CV loop (no leakage), on hand-built feature tables."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from lanl.cv.folds import FoldSpec, make_folds
from lanl.cv.train import cross_validate
from lanl.errors import LanlError
from lanl.models import load_model, make_model
from lanl.models.lgbm import LGBMRegressor
from lanl.models.target import Target, cycle_durations

FAST = {
    "n_estimators": 60,
    "learning_rate": 0.1,
    "early_stopping_rounds": 10,
    "min_child_samples": 3,
    "threads": 1,
}


def feature_table(n_cycles=6, per_cycle=20, seed=0):
    """Windows whose label falls linearly through each cycle; ``signal`` tracks the label, ``noise`` does not."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_cycles):
        duration = rng.uniform(8, 14)
        labels = np.linspace(duration, 0.2, per_cycle)
        for i, label in enumerate(labels):
            rows.append((f"train_{c}_{i}", c * 1000 + i, c, label))
    table = pd.DataFrame(rows, columns=["seg_id", "start", "cycle", "label"])
    table["signal"] = table["label"] + rng.normal(0, 0.5, len(table))
    table["noise"] = rng.normal(0, 1, len(table))
    return table


def test_lgbm_learns_and_is_deterministic():
    t = feature_table()
    X, y = t[["signal", "noise"]], t["label"]
    a = LGBMRegressor(**FAST).fit(X, y)
    b = LGBMRegressor(**FAST).fit(X, y)
    assert np.abs(a.predict(X) - y).mean() < 0.8
    assert np.array_equal(a.predict(X), b.predict(X))
    gain = a.importance("gain")
    assert list(gain.index) == ["signal", "noise"] and gain["signal"] > gain["noise"]
    assert a.importance("split").sum() > 0


def test_lgbm_early_stopping_uses_the_eval_set():
    t = feature_table()
    X, y = t[["signal", "noise"]], t["label"].to_numpy()
    rng = np.random.default_rng(1)
    model = LGBMRegressor(**{**FAST, "n_estimators": 300}).fit(X, y, eval_set=(X, rng.permutation(y)))
    assert model.best_iteration_ < 300
    assert len(model.history_["stop_mae"]) >= model.best_iteration_
    assert model.refit_params() == {"n_estimators": model.best_iteration_, "early_stopping_rounds": 0}


@pytest.mark.parametrize("objective", ["mae", "huber", "fair"])
def test_lgbm_objectives(objective):
    t = feature_table()
    model = LGBMRegressor(**FAST, objective=objective).fit(t[["signal"]], t["label"])
    assert np.abs(model.predict(t[["signal"]]) - t["label"]).mean() < 1.5


def test_lgbm_is_a_sklearn_estimator_and_round_trips(tmp_path):
    t = feature_table()
    model = LGBMRegressor(**FAST, objective="huber", huber_delta=2.0)
    assert clone(model).get_params() == model.get_params()
    model.fit(t[["signal", "noise"]], t["label"])
    path = model.save(tmp_path / "m.json")
    back = load_model(path)
    assert isinstance(back, LGBMRegressor) and back.get_params() == model.get_params()
    assert np.array_equal(back.predict(t[["signal", "noise"]]), model.predict(t[["signal", "noise"]]))
    assert back.best_iteration_ == model.best_iteration_


def test_lgbm_errors():
    with pytest.raises(LanlError, match="not fitted"):
        LGBMRegressor().predict(np.zeros((2, 2)))
    with pytest.raises(LanlError, match="unknown LightGBM objective"):
        LGBMRegressor(objective="poisson").fit(np.zeros((4, 1)), np.arange(4.0))
    with pytest.raises(LanlError, match="NaN"):
        LGBMRegressor().fit(np.zeros((4, 1)), [0, 1, np.nan, 3])


def test_registry():
    assert make_model("lgbm", {"num_leaves": 7}).num_leaves == 7
    with pytest.raises(LanlError, match="unknown model 'xgb'"):
        make_model("xgb")
    with pytest.raises(LanlError, match="unknown key.*num_leafs.*valid keys"):
        make_model("lgbm", {"num_leafs": 7})
    with pytest.raises(LanlError, match="no such model file"):
        load_model("/nonexistent/model.json")


# ----------------------------------------------------------------------------------------------- targets
def test_fraction_target_round_trip():
    labels = np.array([3.0, 2.0, 1.0, 10.0, 5.0, 0.0, 12.0, 6.0])
    cycles = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    target = Target("fraction").fit(labels, cycles)
    # cycle 0 is the data's first (partial) cycle: its duration is at least the median of the others (11)
    assert target.durations_ == {0: 11.0, 1: 10.0, 2: 12.0}
    assert target.duration_ == 11.0
    frac = target.transform(labels, cycles)
    assert np.allclose(frac[3:6], [0.0, 0.5, 1.0])
    assert np.allclose(target.inverse([0.0, 0.5, 1.0, 1.7, -0.3]), [11.0, 5.5, 0.0, 0.0, 11.0])


def test_ttf_target_is_identity_clipped_at_zero():
    target = Target("ttf").fit(np.array([1.0, 2.0]), np.array([0, 0]))
    assert np.array_equal(target.transform([1.0, 2.0], [0, 0]), [1.0, 2.0])
    assert np.array_equal(target.inverse([-1.0, 3.0]), [0.0, 3.0])
    with pytest.raises(LanlError, match="unknown target"):
        Target("log")


def test_cycle_durations_without_the_first_cycle():
    assert cycle_durations(np.array([4.0, 9.0]), np.array([3, 5])) == {3: 4.0, 5: 9.0}


# ------------------------------------------------------------------------------------- CV and leakage
def _cv(table, target="ttf", refit=True):
    folds = make_folds(table, FoldSpec("cycle", 3, 0))
    X = table[["signal", "noise"]]
    return cross_validate(
        make_model("lgbm", FAST),
        X,
        table,
        folds,
        target=target,
        X_test=X.iloc[:5],
        test_ids=list(table["seg_id"][:5]),
        refit=refit,
    )


@pytest.mark.parametrize("target", ["ttf", "fraction"])
def test_cv_beats_the_median_baseline(target):
    result = _cv(feature_table(), target)
    oof = result.oof
    assert (oof["fold"] >= 0).all() and oof["pred"].notna().all()
    assert (oof["pred"] - oof["label"]).abs().mean() < 0.6 * (oof["baseline"] - oof["label"]).abs().mean()
    assert list(result.test_pred.columns) == ["seg_id", "fold_0", "fold_1", "fold_2", "mean"]
    assert np.allclose(
        result.test_pred["mean"], result.test_pred[["fold_0", "fold_1", "fold_2"]].mean(axis=1)
    )


@pytest.mark.parametrize("target", ["ttf", "fraction"])
def test_validation_rows_never_reach_the_fitted_model(target):
    """Scrambling one fold's validation rows (features and labels) must not change the model of that fold:
    target transform, early stopping and refit all see its training folds only."""
    table = feature_table()
    before = _cv(table, target)
    valid = before.folds[0].valid_idx
    scrambled = table.copy()
    scrambled.loc[valid, "label"] = 99.0
    scrambled.loc[valid, ["signal", "noise"]] = -1e6
    after = _cv(scrambled, target)
    probe = table[["signal", "noise"]]
    assert np.array_equal(before.folds[0].model.predict(probe), after.folds[0].model.predict(probe))
    assert before.folds[0].baseline == after.folds[0].baseline
    assert not np.array_equal(before.folds[1].model.predict(probe), after.folds[1].model.predict(probe))


def test_cv_needs_labels_and_cycles():
    table = feature_table()
    folds = make_folds(table, FoldSpec("cycle", 3))
    with pytest.raises(LanlError, match="label"):
        cross_validate(make_model("lgbm", FAST), table[["signal"]], table.drop(columns="label"), folds)
    with pytest.raises(LanlError, match="without a label"):
        cross_validate(make_model("lgbm", FAST), table[["signal"]], table.assign(label=np.nan), folds)
