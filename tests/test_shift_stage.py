"""The train -> test shift stage (lanl.cv.shift through lanl.cv.train): each remedy on a small table whose test part
is built shifted, in-fold fitting, determinism, config errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lanl.cv.train as train_mod
from lanl.cv.runs import Run
from lanl.cv.shift import ShiftConfig, importance_weights, ks_distance, parse_remedies, plan, shift_config
from lanl.cv.train import config_from_dict, train_table
from lanl.data import synth_tables
from lanl.errors import LanlError
from lanl.models.lgbm import LGBMRegressor

DURATIONS = list(synth_tables.DURATIONS)
LGBM = {"n_estimators": 150, "learning_rate": 0.05, "num_leaves": 7, "early_stopping_rounds": 30}
shifted_tables = synth_tables.shifted_tables


def run(tables, tmp_path, remedies, name, **shift):
    train, test = tables
    config = config_from_dict(
        {"model": "lgbm", "name": name, "params": LGBM, "shift": {"remedies": remedies, **shift}}
    )
    return Run.open(train_table(train, config, test=test, runs_dir=tmp_path / "runs"))


def mean_of(r: Run) -> float:
    return float(r.test_pred["mean"].mean())


@pytest.fixture(scope="module")
def tables():
    return shifted_tables()


def test_cycle_subset_trains_on_the_cycles_like_test_and_raises_the_test_mean(tables, tmp_path):
    none = run(tables, tmp_path, [], "none")
    sub = run(tables, tmp_path, ["cycle_subset"], "sub")
    chosen = sub.metrics["shift"]["cycles"]
    durations = np.array(DURATIONS)
    assert durations[chosen].mean() > durations.mean() + 1  # the long cycles look like test
    assert mean_of(sub) > mean_of(none) + 0.25  # test (16 s cycles, mean ttf 8 s) predicted higher
    assert abs(mean_of(sub) - 8.0) < abs(mean_of(none) - 8.0)
    assert "cv_mae_matched" in sub.metrics and sub.metrics["matched_cycles"] == chosen
    assert "shift" not in none.metrics and "cv_mae_matched" not in none.metrics
    # every fold chose among its own training cycles only
    folds = sub.folds
    for k, fold_plan in enumerate(sub.metrics["shift"]["folds"]):
        held = set(folds.cycles[folds.fold == k].tolist())
        assert not held & set(fold_plan["cycles"])


def test_ks_filter_drops_the_shifted_feature_and_undoes_its_bias(tmp_path):
    tables = shifted_tables(test_duration=11.0, offset=1.0)
    none = run(tables, tmp_path, [], "none")
    ks = run(tables, tmp_path, ["ks_filter"], "ks")
    for fold_plan in ks.metrics["shift"]["folds"]:
        assert fold_plan["features"] == ["phase", "spread"]
    assert mean_of(ks) > mean_of(none) + 1.0  # "level" +1 in test reads as a later phase: too early
    assert abs(mean_of(ks) - 5.5) < 0.8


def test_weights_lean_towards_the_rows_like_test_and_reach_the_model(tables, tmp_path, monkeypatch):
    train, test = tables
    features = ["phase", "spread", "level"]
    cycles, labels = train["cycle"].to_numpy(), train["label"].to_numpy()
    p = plan(train[features], cycles, labels, test[features], ShiftConfig(remedies=["weights"]))
    durations = np.array(DURATIONS)[cycles]
    assert p.weights.mean() == pytest.approx(1.0)
    assert p.weights[durations == 16].mean() > 1.2 * p.weights[durations == 6].mean()  # 16 s cycles like test
    assert np.corrcoef(p.weights, durations)[0, 1] > 0.3
    assert p.diagnostics["adversarial_auc"] > 0.6
    seen = []
    fit = LGBMRegressor.fit

    def spy(self, X, y, eval_set=None, callbacks=(), sample_weight=None):
        seen.append(None if sample_weight is None else len(sample_weight) == len(X))
        return fit(self, X, y, eval_set=eval_set, callbacks=callbacks, sample_weight=sample_weight)

    monkeypatch.setattr(LGBMRegressor, "fit", spy)
    run(tables, tmp_path, ["weights"], "w")
    assert seen and all(s is True for s in seen)
    seen.clear()
    run(tables, tmp_path, [], "none")
    assert seen == [None] * len(seen) and seen


def test_fraction_converts_back_with_the_test_cycle_length(tables, tmp_path):
    given = run(tables, tmp_path, ["fraction"], "f16", test_cycle_seconds=16.0)
    short = run(tables, tmp_path, ["fraction"], "f8", test_cycle_seconds=8.0)
    assert mean_of(given) == pytest.approx(2 * mean_of(short), rel=0.02)
    assert abs(mean_of(given) - 8.0) < 1.0
    estimated = run(tables, tmp_path, ["fraction"], "fe")
    note = next(n for n in estimated.metrics["shift"]["notes"] if n.startswith("fraction"))
    assert "closest cycles" in note and estimated.metrics["shift"]["test_seconds"] > 11  # median of all: 11


def test_mean_recentres_only_the_test_predictions(tables, tmp_path):
    none = run(tables, tmp_path, [], "none")
    mean = run(tables, tmp_path, ["mean"], "m", test_mean=6.32)
    assert mean_of(mean) == pytest.approx(6.32, abs=0.05)
    pd.testing.assert_frame_equal(mean.oof, none.oof)
    with pytest.raises(LanlError, match="test_mean"):
        run(tables, tmp_path, ["mean"], "m0")


def test_auto_takes_the_cycle_subset_even_when_the_auc_is_low(tables, tmp_path):
    auto = run(tables, tmp_path, ["auto"], "auto")
    shift = auto.metrics["shift"]
    assert "cycle_subset" in shift["remedies"] and "weights" not in shift["remedies"]
    assert any(n.startswith("cycle_subset: trains on") for n in shift["notes"])
    assert {"auc_before", "auc_after_features", "auc_after_cycles"} <= set(shift)
    # beside a cycle subset the weights are never taken, so no fold fits an adversarial model for them
    assert "weights: not taken (the cycle subset is taken)" in shift["notes"]
    assert any(fold_plan["cycles"] is not None for fold_plan in shift["folds"])
    for fold_plan in shift["folds"]:
        if fold_plan["cycles"] is not None:
            assert "adversarial_auc" not in fold_plan and fold_plan["weights"] is None
    again = run(tables, tmp_path, ["auto"], "auto2")  # same seed, same choice, same predictions
    assert again.metrics["shift"]["cycles"] == shift["cycles"]
    pd.testing.assert_frame_equal(again.test_pred, auto.test_pred)


def test_the_adversarial_model_gives_the_same_numbers_on_any_number_of_cores(tables, monkeypatch):
    """Its trees grow on every core the process may use; the likeness and the AUC do not depend on how many."""
    import lanl.cv.shift as shift_mod

    train, test = tables
    features = ["phase", "spread", "level"]
    seen = {}
    for cores in (1, 2, 3):
        monkeypatch.setattr(shift_mod, "usable_cores", lambda cores=cores: cores)
        seen[cores] = shift_mod.test_likeness(train[features], test[features], seed=3)
    for cores in (2, 3):
        np.testing.assert_array_equal(seen[cores][0], seen[1][0])
        assert seen[cores][1] == seen[1][1]
    assert 0.5 < seen[1][1] < 1.0 and seen[1][0].std() > 0


def test_auto_takes_nothing_when_test_is_like_train(tmp_path):
    rng = np.random.default_rng(3)
    train, _ = shifted_tables(seed=1)
    test = train.drop(columns=["start", "cycle", "label"]).sample(300, random_state=1).reset_index(drop=True)
    test["seg_id"] = [f"seg_{i:06x}" for i in range(len(test))]
    test[["phase", "spread", "level"]] += rng.normal(0, 1e-3, (len(test), 3))
    p = plan(
        train[["phase", "spread", "level"]],
        train["cycle"].to_numpy(),
        train["label"].to_numpy(),
        test[["phase", "spread", "level"]],
        ShiftConfig(remedies=["auto"]),
    )
    assert p.remedies == [] and p.cycles is None and p.weights is None


def test_in_fold_plans_see_no_held_out_row(tables, tmp_path, monkeypatch):
    seen = []

    def spy(train, cycles, labels, test, config, *, seed=0):
        seen.append((seed, set(cycles.tolist()), len(labels)))
        return real(train, cycles, labels, test, config, seed=seed)

    real = train_mod.plan_shift
    monkeypatch.setattr(train_mod, "plan_shift", spy)
    r = run(tables, tmp_path, ["ks_filter", "weights"], "spy")
    folds = r.folds
    assert len(seen) == folds.n_folds  # one plan per fold, in fold order (the all-rows one is diagnose's)
    for k in range(folds.n_folds):
        _, cycles_seen, n_rows = seen[k]
        held = set(folds.cycles[folds.fold == k].tolist())
        assert not held & cycles_seen and n_rows == int((folds.fold != k).sum())


def test_shift_needs_a_feature_table_with_test_rows(tables, tmp_path):
    train, _ = tables
    config = config_from_dict({"model": "lgbm", "params": LGBM, "shift": {"remedies": ["ks_filter"]}})
    with pytest.raises(LanlError, match="need feature tables with test rows"):
        train_table(train, config, runs_dir=tmp_path)
    auto = config_from_dict({"model": "lgbm", "params": LGBM, "name": "a", "shift": {"remedies": ["auto"]}})
    assert "shift" not in Run.open(train_table(train, auto, runs_dir=tmp_path)).metrics  # auto: nothing to do


@pytest.mark.parametrize(
    "table, message",
    [
        ({"remedies": ["magic"]}, "unknown 'magic'"),
        ({"remedies": ["auto", "weights"]}, "'auto' goes alone"),
        ({"ks_statistic": 0}, "ks_statistic must be in"),
        ({"subset_fraction": 1.5}, "subset_fraction must be in"),
        ({"weight_clip": 0.5}, "weight_clip must be at least 1"),
        ({"colour": 1}, "unknown key"),
        ({"subset_draws": "many"}, "must be an integer"),
    ],
)
def test_bad_shift_config_is_named(table, message):
    with pytest.raises(LanlError, match=message):
        shift_config(table)


def test_parse_remedies_and_helpers():
    assert parse_remedies("ks_filter, cycle_subset") == ["ks_filter", "cycle_subset"]
    assert parse_remedies("auto") == ["auto"]
    assert not ShiftConfig(remedies=["none"]).active and ShiftConfig(remedies="auto").auto
    a, b = (
        np.sort(np.random.default_rng(0).normal(size=300)),
        np.sort(np.random.default_rng(1).normal(size=200)),
    )
    from scipy.stats import ks_2samp

    assert ks_distance(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    w = importance_weights(np.array([0.01, 0.5, 0.99, 0.5]), 4, 4, 10.0)
    assert w.mean() == pytest.approx(1.0) and w.max() / w.min() == pytest.approx(100.0)


def test_a_run_without_shift_keeps_its_name(tables, tmp_path):
    """Runs with no shift stage hash as before it existed (their names, and so their folders, are stable)."""
    train, test = tables
    config = config_from_dict({"model": "lgbm", "params": LGBM})
    off = train_mod.resolve(config)[0].name
    on = train_mod.resolve(
        config_from_dict({"model": "lgbm", "params": LGBM, "shift": {"remedies": ["auto"]}})
    )
    assert (
        off != on[0].name
        and off
        == train_mod.resolve(config_from_dict({"model": "lgbm", "params": LGBM, "shift": {"remedies": []}}))[
            0
        ].name
    )


def test_lanl_shift_on_tables_and_on_data(tables, tmp_path):
    from click.testing import CliRunner

    from lanl.cli import main
    from lanl.data import synth

    train, test = tables
    train.drop(columns=["seg_id", "start"]).to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    runner = CliRunner()
    args = ["shift", "--table", str(tmp_path / "train.csv"), "--test-table", str(tmp_path / "test.csv")]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "adversarial AUC:" in res.output and "closest cycles: [" in res.output
    assert "remedies chosen: cycle_subset" in res.output
    res = runner.invoke(main, [*args, "--json", "--remedies", "ks_filter"])
    doc = __import__("json").loads(res.output)
    assert doc["remedies"] == ["ks_filter"] and doc["auc_before"] > 0.5 and len(doc["ks"]) == 3
    res = runner.invoke(main, ["shift", "--table", str(tmp_path / "train.csv")])
    assert res.exit_code == 2 and "give --test-table too" in res.output
    data = tmp_path / "data"
    synth.generate(data, seed=1, rows=3_600_000, cycles=5, test_segments=8)
    with runner.isolated_filesystem(temp_dir=tmp_path):
        res = runner.invoke(main, ["shift", str(data), "--features", "winners"])
        assert res.exit_code == 0, res.output
        assert "test 8 segments" in res.output and "remedies chosen:" in res.output


def test_report_explains_the_shift_choice(tables, tmp_path):
    from lanl.report import build_report

    auto = run(tables, tmp_path, ["auto"], "auto")
    none = run(tables, tmp_path, [], "none")
    files = build_report([auto.root, none.root], tmp_path / "rep")
    page, md = files.html.read_text(), files.markdown.read_text()
    assert "Train &rarr; test shift" in page and "cycle_subset: trains on cycles" in page
    assert "Most shifted features" in page and "| auto | cycle_subset |" in md
    assert "CV MAE, cycles like test" in md and "| none | test |" in md


# ------------------------------------------------------------------------------ found by a hostile review
def test_remedies_have_one_spelling_and_sane_values():
    a = shift_config({"remedies": ["weights", "ks_filter", "weights"]})
    assert a.remedies == ["ks_filter", "weights"]
    assert (
        shift_config({"remedies": ["none"]}).remedies == [] and not shift_config({"remedies": "none"}).active
    )
    for table, message in [
        ({"remedies": 5}, r"\[shift\]: \[shift\] remedies must be a list|remedies must be a list"),
        (
            {"remedies": ["fraction"], "test_cycle_seconds": float("inf")},
            "test_cycle_seconds must be a finite",
        ),
        ({"remedies": ["mean"], "test_mean": float("nan")}, "test_mean must be a finite"),
        ({"remedies": ["none", "weights"]}, "'none' goes alone"),
        ({"remedies": ["mean"]}, "needs test_mean"),
    ]:
        with pytest.raises(LanlError, match=message):
            shift_config(table, "run.toml [shift]")
    with pytest.raises(LanlError, match=r"^run.toml \[shift\]"):
        shift_config({"ks_statistic": 0}, "run.toml [shift]")
    same = [train_mod.resolve(config_from_dict({"model": "lgbm", "shift": {"remedies": r}}))[0].name
            for r in (["weights", "ks_filter"], ["ks_filter", "weights", "weights"])]  # fmt: skip
    assert same[0] == same[1]


def test_mean_lands_on_its_target_despite_the_clip_at_zero():
    pred = np.array([0.0, 0.1, 0.2, 5.0, 9.0])
    out = train_mod.recentre(pred, 0.5)
    assert out.mean() == pytest.approx(0.5, abs=1e-9) and out.min() >= 0.0
    assert train_mod.recentre(pred, 6.32).mean() == pytest.approx(6.32, abs=1e-9)


def test_tuning_scores_trials_with_the_shift_stage(tables, tmp_path):
    from lanl.cv.tune import tune_table

    train, test = tables
    config = config_from_dict(
        {"model": "lgbm", "params": LGBM, "shift": {"remedies": ["ks_filter", "cycle_subset"]}, "name": "t"}
    )
    res = tune_table(train, config, test=test, trials=1, runs_dir=tmp_path / "runs")
    run = Run.open(train_table(train, config, test=test, runs_dir=tmp_path / "runs"))
    assert res.default_value == pytest.approx(run.metrics["cv_mae"], abs=1e-12)
    with pytest.raises(LanlError, match="need feature tables with test rows"):
        tune_table(train, config, trials=1, runs_dir=tmp_path / "runs2")
    assert not (tmp_path / "runs2").exists()


def test_matched_scores_decide_only_when_every_candidate_shares_them(tables, tmp_path):
    from lanl.cv.stack import stack_runs

    auto = run(tables, tmp_path, ["cycle_subset"], "sub")
    none = run(tables, tmp_path, [], "none")
    ab = Run.open(stack_runs([auto.root, none.root], name="ab", runs_dir=tmp_path / "runs"))
    ba = Run.open(stack_runs([none.root, auto.root], name="ba", runs_dir=tmp_path / "runs"))
    assert "cv_mae_matched" not in ab.metrics and "cv_mae_matched" not in ba.metrics
    both = run(tables, tmp_path, ["cycle_subset", "ks_filter"], "both")
    st = Run.open(stack_runs([auto.root, both.root], name="st", runs_dir=tmp_path / "runs"))
    assert st.metrics["matched_cycles"] == auto.metrics["matched_cycles"] == both.metrics["matched_cycles"]


def test_run_shift_option_overrides_every_model(tmp_path):
    from lanl.pipeline import PipelineConfig, run_config, with_remedies

    config = PipelineConfig(
        models=["lgbm"], run={"lgbm": {"shift": {"remedies": ["weights"], "weight_clip": 3.0}}}
    )
    assert run_config(config, "lgbm").shift.remedies == ["weights"]  # the model's own table wins
    assert run_config(config, "lgbm").shift.weight_clip == 3.0
    forced = with_remedies(config, [])
    assert (
        run_config(forced, "lgbm").shift.remedies == []
        and run_config(forced, "lgbm").shift.weight_clip == 3.0
    )
    merged = PipelineConfig(shift={"remedies": ["auto"], "ks_statistic": 0.3}, run={"lgbm": {"shift": {}}})
    assert run_config(merged, "lgbm").shift.ks_statistic == 0.3  # per-model tables merge with [shift]


def test_explicit_cycle_subset_never_trains_further_from_test_than_all_cycles(tables):
    train, test = tables
    features = ["phase", "spread", "level"]
    few = train[train["cycle"] < 3]
    p = plan(few[features], few["cycle"].to_numpy(), few["label"].to_numpy(), test[features],
             ShiftConfig(remedies=["cycle_subset"]))  # fmt: skip
    match = p.diagnostics["cycle_match"]
    assert match["score"] <= match["all_score"]


def test_lanl_shift_plans_the_mean_remedy(tables, tmp_path):
    from click.testing import CliRunner

    from lanl.cli import main

    train, test = tables
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    args = ["shift", "--table", str(tmp_path / "train.csv"), "--test-table", str(tmp_path / "test.csv")]
    res = CliRunner().invoke(main, [*args, "--remedies", "mean", "--test-mean", "6.32"])
    assert res.exit_code == 0, res.output
    assert "mean: test predictions re-centred to 6.32 s" in res.output


def test_auto_drops_no_feature_by_chance_on_a_small_test_set():
    """With 20 test rows, many of 40 unshifted features exceed KS D 0.2 by chance: auto drops none of them (their
    p-values are not beyond noise); an explicit ks_filter still applies its thresholds as given."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame(rng.normal(size=(600, 40)), columns=[f"f{i}" for i in range(40)])
    test = pd.DataFrame(rng.normal(size=(20, 40)), columns=train.columns)
    cycles, labels = np.repeat(np.arange(6), 100), np.tile(np.linspace(10, 0.1, 100), 6)
    auto = plan(train, cycles, labels, test, ShiftConfig(remedies=["auto"]))
    assert "ks_filter" not in auto.remedies and auto.features == list(train.columns)
    explicit = plan(train, cycles, labels, test, ShiftConfig(remedies=["ks_filter"]))
    assert len(explicit.features) < 40
