"""Feature sets as data: built-in sets, TOML/YAML files, hashes, column names that parse back, and the
errors a malformed set gets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanl.errors import LanlError
from lanl.features import (
    FEATURES,
    MANIPULATIONS,
    column_name,
    extract,
    feature_set_from_dict,
    load_feature_set,
    parse_column,
)
from lanl.features import _kernels as K

TOML_SET = """
name = "mine"
seed = 3

[views]
abs = [{ manipulation = "abs" }]
noisy = [{ manipulation = "noise_median", sigma = 0.5 }]

[[features]]
feature = "quantile"
views = ["signal", "abs"]
grid = { q = [0.1, 0.9] }

[[features]]
feature = "rolling"
params = [{ window = 50, series = "std", stat = "quantile", q = 0.2 }]

[[features]]
feature = "mean"
view = "noisy"
"""


def test_builtin_sets_and_their_sizes():
    sizes = {name: len(load_feature_set(name).columns) for name in ("winners", "kernel", "full")}
    assert sizes["winners"] == 4
    assert 100 <= sizes["kernel"] <= 150
    assert sizes["full"] > sizes["kernel"]
    winners = load_feature_set("winners").columns
    assert winners == [
        "denoised__number_peaks__n_2",
        "signal__rolling__window_50__series_std__stat_quantile__q_0.2",
        "signal__mfcc_mean__k_4",
        "signal__mfcc_mean__k_18",
    ]


def test_full_set_covers_every_registered_feature():
    used = {spec.feature for spec in load_feature_set("full").features}
    assert used == {item.name for item in FEATURES}


@pytest.mark.parametrize("name", ["winners", "kernel", "full"])
def test_every_column_parses_back(name):
    fs = load_feature_set(name)
    for spec in fs.features:
        col = parse_column(spec.column)
        assert (col.view, col.feature, col.params) == (spec.view, spec.feature, dict(spec.params))
        assert column_name(col.view, col.feature, col.params) == spec.column
        assert FEATURES.get(col.feature).normalize(col.params) == col.params


@settings(max_examples=60, deadline=None)
@given(
    q=st.floats(0, 1, allow_nan=False),
    window=st.integers(2, 10**6),
    series=st.sampled_from(["mean", "std"]),
)
def test_column_round_trip_of_arbitrary_parameters(q, window, series):
    params = FEATURES.get("rolling").normalize(
        {"window": window, "series": series, "stat": "quantile", "q": q}
    )
    name = column_name("some_view", "rolling", params)
    back = parse_column(name)
    assert back.params == params and back.view == "some_view" and back.feature == "rolling"
    for value in back.params.values():
        assert type(value) in (int, float, str)


def test_toml_file_equals_the_same_dict(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(TOML_SET)
    fs = load_feature_set(path)
    assert fs.name == "mine" and fs.seed == 3
    assert fs.columns == [
        "signal__quantile__q_0.1",
        "signal__quantile__q_0.9",
        "abs__quantile__q_0.1",
        "abs__quantile__q_0.9",
        "signal__rolling__window_50__series_std__stat_quantile__q_0.2",
        "noisy__mean",
    ]
    again = feature_set_from_dict(fs.to_dict())
    assert again == fs and again.hash == fs.hash


def test_yaml_file(tmp_path):
    pytest.importorskip("yaml")
    path = tmp_path / "small.yaml"
    path.write_text("features:\n  - feature: quantile\n    grid: {q: [0.5]}\n  - feature: max\n")
    assert load_feature_set(path).columns == ["signal__quantile__q_0.5", "signal__max"]


def test_hash_follows_values_not_names():
    base = {"features": [{"feature": "quantile", "params": [{"q": 0.5}]}]}
    fs = feature_set_from_dict({**base, "name": "a"})
    assert feature_set_from_dict({**base, "name": "b"}).hash == fs.hash
    assert feature_set_from_dict({**base, "seed": 1}).hash != fs.hash
    assert (
        feature_set_from_dict({"features": [{"feature": "quantile", "params": [{"q": 0.6}]}]}).hash != fs.hash
    )
    assert feature_set_from_dict({"features": [{"feature": "quantile", "params": [{"q": 1}]}]}).columns == [
        "signal__quantile__q_1.0"
    ]
    assert len(fs.hash) == 64 and fs.hash == feature_set_from_dict(base).hash


def test_select_builds_the_subset_that_computes_those_columns():
    kernel = load_feature_set("kernel")
    wanted = ["abs__quantile__q_0.95", "signal__rolling__window_100__series_mean__stat_max", "signal__skew"]
    subset = kernel.select(wanted)
    assert subset.columns == wanted
    assert {v for v, _ in subset.views} == {"signal", "abs"}
    x = (np.random.default_rng(0).standard_normal((2, 3000)) * 10).astype(np.int16)
    big = feature_set_from_dict(
        {**kernel.to_dict(), "features": [f.__dict__ and _entry(f) for f in subset.features]}
    )
    np.testing.assert_array_equal(extract(x, subset).to_numpy(), extract(x, big).to_numpy())


def _entry(spec):
    return {"feature": spec.feature, "view": spec.view, "params": [dict(spec.params)]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"features": [{"feature": "quantil", "params": [{"q": 0.5}]}]}, "did you mean quantile"),
        ({"features": [{"feature": "quantile", "params": [{"p": 0.5}]}]}, "unknown parameter(s) p"),
        ({"features": [{"feature": "quantile", "params": [{"q": 2.0}]}]}, "must be <= 1.0"),
        ({"features": [{"feature": "quantile", "params": [{"q": "x"}]}]}, "expected a number"),
        ({"features": [{"feature": "quantile"}]}, "parameter q is required"),
        ({"features": [{"feature": "mean", "view": "nope"}]}, "unknown view 'nope'"),
        ({"features": [{"feature": "mean"}, {"feature": "mean"}]}, "requested twice"),
        ({"features": []}, "non-empty list"),
        ({"features": [{"feature": "mean", "colour": 1}]}, "unknown key(s) colour"),
        ({"features": [{"feature": "mean", "params": [{}], "grid": {}}]}, "not both"),
        (
            {
                "features": [
                    {
                        "feature": "rolling",
                        "params": [{"window": 5, "series": "std", "stat": "max", "q": 0.5}],
                    }
                ]
            },
            "q is required with stat=quantile",
        ),
        (
            {"features": [{"feature": "rolling", "params": [{"window": 5, "series": "var", "stat": "max"}]}]},
            "must be one of mean, std",
        ),
        ({"views": {"Bad-Name": []}, "features": [{"feature": "mean"}]}, "bad view name"),
        (
            {"views": {"v": [{"manipulation": "blur"}]}, "features": [{"feature": "mean"}]},
            "unknown manipulation 'blur'",
        ),
        (
            {
                "views": {"v": [{"manipulation": "wavelet_denoise", "wavelet": "nope"}]},
                "features": [{"feature": "mean"}],
            },
            "unknown discrete wavelet",
        ),
        ({"seed": -1, "features": [{"feature": "mean"}]}, "seed must be"),
        (
            {"features": [{"feature": "sta_lta_mean", "params": [{"sta": 10, "lta": 5}]}]},
            "sta must be shorter",
        ),
    ],
)
def test_malformed_sets_name_the_problem(data, message):
    with pytest.raises(LanlError) as err:
        feature_set_from_dict(data)
    assert str(err.value).startswith("feature set: ")
    assert message in str(err.value)


def test_malformed_files_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("features = [ {feature = 'mean' ")
    with pytest.raises(LanlError, match=r"bad\.toml: not valid TOML"):
        load_feature_set(bad)
    with pytest.raises(LanlError, match="cannot read"):
        load_feature_set(tmp_path / "missing.toml")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[[features]]\nfeature = 'mean'\nparams = [{ ddof = 1 }]\n")
    with pytest.raises(LanlError, match=r"wrong\.toml: features\[0\]: mean: unknown parameter"):
        load_feature_set(wrong)
    with pytest.raises(LanlError, match="unknown feature set 'nope'"):
        load_feature_set("nope")


def test_string_values_that_would_not_parse_back_are_refused():
    with pytest.raises(LanlError, match="string values"):
        feature_set_from_dict(
            {
                "views": {"v": [{"manipulation": "wavelet_denoise", "wavelet": "db_4"}]},
                "features": [{"feature": "mean"}],
            }
        )
    with pytest.raises(LanlError, match="not a feature column"):
        parse_column("mean")


def test_registry_documents_every_feature_and_manipulation():
    for item in list(FEATURES) + list(MANIPULATIONS):
        assert len(item.doc) > 20, item.name
    assert len(FEATURES) >= 30


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False), min_size=1, max_size=400),
    st.data(),
)
def test_order_statistics_equal_a_sort(values, data):
    """The histogram selection behind every quantile picks exactly what a full sort picks."""
    x = np.array([values, values[::-1]], dtype=np.float64)
    ranks = np.unique(data.draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=8)))
    base, scale, starts = K.histograms(x, K.n_buckets(x.shape[1]))
    np.testing.assert_array_equal(K.select_rows(x, base, scale, starts, ranks), np.sort(x, axis=1)[:, ranks])
