"""Shift tools and tsfresh interop: KS filter, adversarial validation, train-cycle matching, tsfresh sets
through the store, and the tsfresh relevance selector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from lanl.errors import LanlError
from lanl.features.shift import adversarial_validation, ks_filter, ks_table, match_cycles


def shifted_tables(seed: int = 0):
    """Train cycles 0 and 2 look like test in both features; cycle 1 is shifted in feature 'a' only."""
    rng = np.random.default_rng(seed)
    parts = []
    for cycle, shift in ((0, 0.0), (1, 3.0), (2, 0.0)):
        parts.append(
            pd.DataFrame(
                {
                    "seg_id": [f"train_{cycle}_{i}" for i in range(200)],
                    "start": np.arange(200),
                    "cycle": cycle,
                    "label": rng.random(200),
                    "signal__a": rng.normal(shift, 1.0, 200),
                    "signal__b": rng.normal(0.0, 1.0, 200),
                }
            )
        )
    train = pd.concat(parts, ignore_index=True)
    test = pd.DataFrame({"signal__a": rng.normal(0, 1, 300), "signal__b": rng.normal(0, 1, 300)})
    return train, test


def test_ks_table_matches_scipy_and_filter_drops_the_shifted_feature():
    train, test = shifted_tables()
    table = ks_table(train, test)
    assert list(table["feature"]) == ["signal__a", "signal__b"]
    want = scipy.stats.ks_2samp(train["signal__a"], test["signal__a"])
    assert table.loc[0, "statistic"] == pytest.approx(want.statistic)
    assert table.loc[0, "pvalue"] == pytest.approx(want.pvalue)
    assert ks_filter(train, test, max_statistic=0.15) == ["signal__b"]
    assert ks_filter(train, test, max_statistic=1.0) == ["signal__a", "signal__b"]
    with pytest.raises(LanlError, match="missing"):
        ks_table(train, test, ["signal__zzz"])


def test_adversarial_validation_sees_a_shift_and_only_then():
    train, test = shifted_tables()
    shifted = adversarial_validation(train, test, n_estimators=60)
    assert shifted.auc > 0.6 and shifted.importance.index[0] == "signal__a"  # a third of train is shifted
    likeness = shifted.test_likeness.groupby(train["cycle"]).mean()
    assert likeness[1] < likeness[0] and likeness[1] < likeness[2]
    same = adversarial_validation(train, test, ["signal__b"], n_estimators=60)
    assert 0.35 < same.auc < 0.58 and shifted.auc > same.auc + 0.08
    assert len(same.fold_aucs) == 5 and same.test_likeness.index.equals(train.index)


def test_match_cycles_leaves_out_the_shifted_cycle():
    train, test = shifted_tables()
    match = match_cycles(train, test)
    assert match.cycles == [0, 2]
    assert [c for c, _ in match.path][-1] == 1 and match.score == min(s for _, s in match.path)
    assert len(match_cycles(train, test, min_cycles=3).cycles) == 3
    with pytest.raises(LanlError, match="fewer than min_cycles"):
        match_cycles(train, test, min_cycles=4)


# ------------------------------------------------------------------------------------------------ tsfresh
def test_tsfresh_block_and_set_identity():
    from tsfresh.feature_extraction import feature_calculators as fc

    from lanl.features.tsfresh_interop import TsfreshSet, tsfresh_block

    rng = np.random.default_rng(0)
    x = (rng.standard_t(3, (3, 2000)) * 5).astype(np.int16)
    table = tsfresh_block(x, ["a", "b", "c"], TsfreshSet("minimal"))
    assert list(table.index) == ["a", "b", "c"]
    np.testing.assert_allclose(table["signal__median"], [fc.median(r.astype(float)) for r in x])
    np.testing.assert_allclose(table["signal__standard_deviation"], x.astype(float).std(axis=1))
    assert TsfreshSet("minimal").hash != TsfreshSet("efficient").hash
    with pytest.raises(LanlError, match="must be one of"):
        TsfreshSet("huge")
    with pytest.raises(LanlError, match="sample 1 is nan"):
        tsfresh_block(np.array([[1.0, np.nan]]), ["a"], TsfreshSet("minimal"))


def test_tsfresh_set_goes_through_the_store(small_data, tmp_path):
    from lanl.data.ingest import ingest
    from lanl.features import FeatureStore
    from lanl.features.tsfresh_interop import tsfresh_segment_features

    cache = ingest(small_data[0], tmp_path / "cache", segment_length=1000).cache
    store = FeatureStore(tmp_path / "features")
    table, folder, hit, bad = tsfresh_segment_features(cache, "minimal", part="test", store=store)
    assert not hit and bad == 0 and folder.name.startswith("tsfresh-minimal-test-")
    assert list(table["seg_id"]) == cache.test_ids and "signal__maximum" in table.columns
    again = tsfresh_segment_features(cache, "minimal", part="test", store=store)
    assert again[2] and again[0].equals(table)


def test_relevance_selector_keeps_the_informative_columns():
    from sklearn.base import clone

    from lanl.features.tsfresh_interop import RelevanceSelector

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"useful": rng.normal(size=400), "noise1": rng.normal(size=400), "noise2": rng.normal(size=400)}
    )
    y = 2 * X["useful"] + rng.normal(scale=0.5, size=400)
    selector = clone(RelevanceSelector(fdr_level=0.01)).fit(X, y)
    assert list(selector.get_feature_names_out()) == ["useful"]
    assert list(selector.transform(X).columns) == ["useful"]
    np.testing.assert_array_equal(selector.transform(X.to_numpy()), X[["useful"]].to_numpy())
