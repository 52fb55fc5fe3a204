import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanl.cv.folds import Folds, FoldSpec, ensure_folds, inner_split, load_folds, make_folds, save_folds
from lanl.errors import LanlError


def segment_table(cycle_sizes, seed=0):
    cycles = np.repeat(np.arange(len(cycle_sizes)), cycle_sizes)
    starts = np.arange(len(cycles)) * 1000
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "seg_id": [f"train_{s}" for s in starts],
            "start": starts,
            "cycle": cycles,
            "label": rng.uniform(0, 10, len(cycles)),
        }
    )


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=2, max_size=12),
    k=st.integers(2, 6),
    seed=st.integers(0, 1000),
)
def test_cycle_folds_never_split_a_cycle(sizes, k, seed):
    table = segment_table(sizes)
    if len(sizes) < k:
        with pytest.raises(LanlError, match="as many quake cycles as folds"):
            make_folds(table, FoldSpec("cycle", k, seed))
        return
    folds = make_folds(table, FoldSpec("cycle", k, seed))
    assert folds.n_folds == k
    seen = np.zeros(len(table), int)
    for _, train, valid in folds.split(table):
        assert not set(table["cycle"].iloc[train]) & set(table["cycle"].iloc[valid])
        assert len(valid) > 0
        seen[valid] += 1
    assert (seen == 1).all()  # every window is validated exactly once


def test_cycle_folds_are_balanced_and_seeded():
    table = segment_table([10, 10, 10, 10, 10, 10, 10, 10, 10, 10])
    a = make_folds(table, FoldSpec("cycle", 5, seed=3))
    b = make_folds(table, FoldSpec("cycle", 5, seed=3))
    c = make_folds(table, FoldSpec("cycle", 5, seed=4))
    assert np.bincount(a.fold).tolist() == [20] * 5
    assert (a.fold == b.fold).all() and a.id == b.id
    assert a.id != c.id


def test_loco_has_one_fold_per_cycle():
    table = segment_table([3, 5, 4, 6])
    folds = make_folds(table, FoldSpec("loco"))
    assert folds.n_folds == 4
    for _, _, valid in folds.split(table):
        assert table["cycle"].iloc[valid].nunique() == 1


def test_kfold_is_shuffled_and_even():
    table = segment_table([50, 53])
    folds = make_folds(table, FoldSpec("kfold", 5, 0))
    counts = np.bincount(folds.fold)
    assert counts.max() - counts.min() <= 1
    assert not (np.diff(folds.fold) >= 0).all()  # not contiguous blocks


@pytest.mark.parametrize(
    "table, match",
    [
        (pd.DataFrame({"seg_id": ["a", "b"]}), "seg_id and cycle"),
        (pd.DataFrame({"seg_id": ["a", "a"], "cycle": [0, 1]}), "duplicate seg_id"),
        (pd.DataFrame({"seg_id": ["a", "b"], "cycle": [-1, -1]}), "test segments"),
    ],
)
def test_bad_tables(table, match):
    with pytest.raises(LanlError, match=match):
        make_folds(table, FoldSpec("kfold", 2))


def test_bad_specs():
    with pytest.raises(LanlError, match="unknown fold scheme"):
        FoldSpec("random")
    with pytest.raises(LanlError, match="at least 2 folds"):
        FoldSpec("cycle", 1)


def test_save_load_round_trip_and_reuse(tmp_path):
    table = segment_table([4, 5, 6, 7, 8, 9])
    folds, path = ensure_folds(table, FoldSpec("cycle", 3, 1), tmp_path)
    assert path == tmp_path / f"{folds.id}.json"
    back = load_folds(path)
    assert back.id == folds.id and (back.fold == folds.fold).all() and back.seg_ids == folds.seg_ids
    mtime = path.stat().st_mtime_ns
    again, again_path = ensure_folds(table, FoldSpec("cycle", 3, 1), tmp_path)
    assert again_path == path and path.stat().st_mtime_ns == mtime and again.id == folds.id


def test_align_follows_seg_ids_not_row_order():
    table = segment_table([4, 5, 6])
    folds = make_folds(table, FoldSpec("cycle", 3))
    shuffled = table.sample(frac=1, random_state=0)
    assert (folds.align(shuffled) == folds.fold[shuffled.index]).all()
    with pytest.raises(LanlError, match="another segment table"):
        folds.align(table.iloc[:-1])
    with pytest.raises(LanlError, match="another segment table"):
        folds.align(table.assign(seg_id=table["seg_id"] + "x"))


def test_edited_or_missing_folds_file(tmp_path):
    table = segment_table([4, 5, 6])
    path = save_folds(make_folds(table, FoldSpec("cycle", 3)), tmp_path)
    doc = json.loads(path.read_text())
    doc["fold"][0] = (doc["fold"][0] + 1) % 3
    path.write_text(json.dumps(doc))
    with pytest.raises(LanlError, match="does not match its id"):
        load_folds(path)
    with pytest.raises(LanlError, match="no such folds file"):
        load_folds(tmp_path / "nope.json")


def test_folds_json_round_trip_in_memory():
    folds = make_folds(segment_table([2, 3]), FoldSpec("kfold", 2, 7))
    assert Folds.from_json(json.loads(json.dumps(folds.to_json()))).id == folds.id


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 20), min_size=2, max_size=8), seed=st.integers(0, 99))
def test_inner_split_holds_out_whole_cycles(sizes, seed):
    cycles = np.repeat(np.arange(len(sizes)), sizes)
    fit, stop = inner_split(cycles, fraction=0.2, seed=seed)
    assert len(fit) and len(stop)
    assert sorted(np.r_[fit, stop].tolist()) == list(range(len(cycles)))
    assert not set(cycles[fit]) & set(cycles[stop])


def test_inner_split_falls_back_to_rows():
    fit, stop = inner_split(np.zeros(50, int), fraction=0.2, seed=0)
    assert len(stop) == 10 and len(fit) == 40 and not set(fit) & set(stop)
    fit, stop = inner_split(np.repeat([0, 1], 25), by_cycle=False, fraction=0.2, seed=0)
    assert len(stop) == 10
