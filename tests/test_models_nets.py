"""The PyTorch nets (CNN on raw windows, LSTM/GRU on chunk sequences) and their training loop: tiny nets,
short windows, a few epochs."""

import numpy as np
import pytest
import torch

from lanl.errors import LanlError
from lanl.models import load_model, make_model
from lanl.models.chunks import CHUNK_SET, chunk_block, chunk_columns
from lanl.models.cnn import CNNRegressor
from lanl.models.rnn import RNNRegressor
from lanl.models.torch_loop import Checkpoint, CosineSchedule, EarlyStopping, LoopState

TINY_CNN = {"epochs": 3, "batch_size": 8, "channels": 4, "frame": 16, "depth": 2, "head": 4, "threads": 1}
TINY_RNN = {"epochs": 3, "batch_size": 8, "hidden": 8, "head": 4, "threads": 1}


def windows(n=40, length=2_000, seed=0):
    """int16 windows whose loudness grows as the label falls (like the lab signal before a failure)."""
    rng = np.random.default_rng(seed)
    labels = rng.uniform(0, 10, n)
    scale = 3 + 20 / (1 + labels)
    block = (rng.standard_normal((n, length)) * scale[:, None] + 4).round().astype(np.int16)
    return block, labels


def sequences(n=40, steps=12, seed=0):
    block, labels = windows(n, steps * 100, seed)
    return chunk_block(block, chunk=100), labels


@pytest.mark.parametrize(
    "kind, params, data",
    [
        ("cnn", TINY_CNN, windows),
        ("lstm", TINY_RNN, sequences),
        ("lstm", {**TINY_RNN, "cell": "gru"}, sequences),
    ],
)
def test_nets_fit_deterministically_and_round_trip(tmp_path, kind, params, data):
    X, y = data()
    a = make_model(kind, params).fit(X, y, eval_set=(X[:10], y[:10]))
    b = make_model(kind, params).fit(X, y, eval_set=(X[:10], y[:10]))
    pred = a.predict(X)
    assert pred.shape == (len(y),) and np.isfinite(pred).all()
    assert np.array_equal(pred, b.predict(X))  # seeded: same data, same params, same net
    assert len(a.history_["train_loss"]) == len(a.history_["valid_loss"]) >= 1
    assert 1 <= a.best_epoch_ <= params["epochs"]
    back = load_model(a.save(tmp_path / "net.pt"))
    assert type(back) is type(a) and back.get_params() == a.get_params()
    assert np.allclose(back.predict(X), pred, rtol=0, atol=1e-9)


def test_nets_leave_global_torch_state_alone():
    X, y = windows(16)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    CNNRegressor(**{**TINY_CNN, "threads": 1, "epochs": 1}).fit(X, y)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_cnn_input_scale_is_fitted_on_training_rows_only():
    X, y = windows(30)
    model = CNNRegressor(**{**TINY_CNN, "epochs": 1}).fit(X[:20], y[:20])
    train = X[:20].astype(np.float32)
    expected = (train - np.median(train, axis=1, keepdims=True)).std()
    assert model.scale_ == pytest.approx(float(expected), rel=1e-5)
    loud = X.copy()
    loud[20:] *= 50  # rows the model never fitted on
    assert CNNRegressor(**{**TINY_CNN, "epochs": 1}).fit(loud[:20], y[:20]).scale_ == model.scale_


def test_rnn_scaler_is_fitted_on_training_rows_only():
    X, y = sequences(30)
    model = RNNRegressor(**{**TINY_RNN, "epochs": 1}).fit(X[:20], y[:20])
    z = np.sign(X[:20]) * np.log1p(np.abs(X[:20]))
    assert np.allclose(model.mean_, z.mean(axis=(0, 1)))
    assert model.n_features_in_ == len(chunk_columns()) == 12


def test_nets_learn_something():
    X, y = windows(80, 3_000, seed=2)
    params = {**TINY_CNN, "epochs": 15, "channels": 8, "lr": 0.01, "schedule": "constant"}
    model = CNNRegressor(**params).fit(X[:60], y[:60])
    base = np.abs(np.median(y[:60]) - y[60:]).mean()
    assert np.abs(model.predict(X[60:]) - y[60:]).mean() < 0.8 * base


def test_cnn_accepts_any_long_enough_window():
    X, y = windows(12, 5_000)
    model = CNNRegressor(**{**TINY_CNN, "epochs": 1, "crop": 0.6}).fit(X, y)
    assert model.predict(windows(3, 9_000)[0]).shape == (3,)  # longer windows at predict time
    with pytest.raises(LanlError, match="too short"):
        CNNRegressor(**TINY_CNN).fit(*windows(8, 200))


def test_net_parameter_errors():
    X, y = windows(8)
    with pytest.raises(LanlError, match="unknown loss"):
        CNNRegressor(**{**TINY_CNN, "loss": "mse"}).fit(X, y)
    with pytest.raises(LanlError, match="unknown recurrent cell"):
        RNNRegressor(**{**TINY_RNN, "cell": "rnn"}).fit(*sequences(8))
    with pytest.raises(LanlError, match="not fitted"):
        RNNRegressor().predict(np.zeros((2, 3, 12)))
    with pytest.raises(LanlError, match="unknown key"):
        make_model("cnn", {"kernel_size": 3})


def test_chunk_features_match_numpy():
    block, _ = windows(3, 2_500)
    seq = chunk_block(block, chunk=1000)  # 2 chunks; the first 500 samples are dropped
    assert seq.shape == (3, 2, 12)
    chunks = block[:, 500:].reshape(3, 2, 1000).astype(float)
    cols = chunk_columns()
    for view, part in (("signal", chunks), ("tail_100", chunks[..., -100:]), ("tail_10", chunks[..., -10:])):
        for name, ref in (
            ("mean", part.mean(-1)),
            ("std__ddof_0", part.std(-1)),
            ("min", part.min(-1)),
            ("max", part.max(-1)),
        ):
            assert np.allclose(seq[..., cols.index(f"{view}__{name}")], ref), (view, name)
    assert CHUNK_SET["name"] == "rnn_chunk"
    with pytest.raises(LanlError, match="no chunk"):
        chunk_block(block[:, :500], chunk=1000)


def test_loop_callbacks(tmp_path):
    net = torch.nn.Linear(1, 1)
    state = LoopState(net)
    stopper, checkpoint = EarlyStopping(patience=2), Checkpoint(path=tmp_path / "best.pt")
    for epoch, loss in enumerate([3.0, 2.0, 2.5, 2.6, 1.0], start=1):
        state.epoch, state.valid_loss = epoch, loss
        with torch.no_grad():
            net.weight.fill_(epoch)
        for cb in (stopper, checkpoint):
            cb.on_epoch_end(state)
        if state.stop:
            break
    assert state.stop and state.epoch == 4 and stopper.best_epoch == 2
    checkpoint.on_train_end(state)
    assert net.weight.item() == 2.0  # the best epoch's weights are back
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == 2
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    schedule = CosineSchedule(opt, epochs=4, floor=0.0)
    for epoch in (2, 4):
        schedule.on_epoch_end(LoopState(net, epoch=epoch))
        assert opt.param_groups[0]["lr"] == pytest.approx({2: 0.5, 4: 0.0}[epoch])


def test_chunk_sequences_are_the_same_with_any_runner(small_data):
    """The LSTM's chunk features are computed in the runner's workers (--jobs applies to them too): the same
    numbers as the extractor on the windows read here, serial or in a process pool."""
    from lanl.data.ingest import ingest
    from lanl.data.segments import SegmentSpec, load_block, test_segments, train_segments
    from lanl.features.runners import ProcessRunner
    from lanl.models.chunks import chunk_sequences

    data, *_ = small_data
    cache = ingest(data, segment_length=1000).cache
    table = train_segments(cache, SegmentSpec(length=5_000, stride=2_500))
    serial = chunk_sequences(cache, table, chunk=500, length=5_000)
    with ProcessRunner(2) as runner:
        pooled = chunk_sequences(cache, table, chunk=500, length=5_000, runner=runner)
        test = chunk_sequences(cache, test_segments(cache), chunk=100, runner=runner)
    expected = chunk_block(load_block(cache, table, 5_000), chunk=500).astype(np.float32)
    assert serial.shape == (len(table), 10, len(chunk_columns())) and len(table) > 32  # two tasks at least
    np.testing.assert_array_equal(serial, expected)
    np.testing.assert_array_equal(pooled, expected)
    np.testing.assert_array_equal(
        test, chunk_block(load_block(cache, test_segments(cache)), 100).astype(np.float32)
    )


def test_a_net_is_repeatable_at_a_fixed_thread_count():
    """Same seed and thread count, same predictions (README: the thread count itself may move the last
    digits, so the default stays one thread)."""
    X, y = windows(24, 2_000)
    params = {**TINY_CNN, "threads": 2, "epochs": 2}
    first = make_model("cnn", params).fit(X, y).predict(X)
    again = make_model("cnn", params).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, again)


def test_cnn_inputs_too_big_to_prepare_once_give_the_same_fit(monkeypatch):
    """Above PREPARE_BYTES the CNN prepares each batch when fetched, with each window's median computed once
    per fit (not once per epoch): the same net and predictions as preparing everything up front."""
    from lanl.models import cnn

    X, y = windows(40, 2_000)
    params = {**TINY_CNN, "epochs": 3}
    whole = make_model("cnn", params).fit(X, y).predict(X)
    counted = []
    medians = cnn._medians
    monkeypatch.setattr(cnn, "_medians", lambda block: counted.append(len(block)) or medians(block))
    monkeypatch.setattr(cnn, "PREPARE_BYTES", 0)
    batched = make_model("cnn", params).fit(X, y)
    fit_rows = sum(counted)
    np.testing.assert_array_equal(batched.predict(X), whole)
    # the scale's sample (all 40 rows here) and each window once; per batch it would be 40 + 3 epochs x 40
    assert fit_rows <= 2 * len(X)


@pytest.mark.parametrize("length", [2_000, 2_001])  # even lengths give half-integer medians
@pytest.mark.parametrize("scale", [1.0, 7.3, 1234.5, 0.37])
def test_cnn_prepares_int16_windows_by_table_as_the_formula_does(length, scale):
    """int16 windows are prepared by looking up each sample's half step from the median: the same float32
    numbers as the formula (centre on the median, divide by the scale, sign(x) log1p(|x|)), the int16
    extremes included, with the medians given or not."""
    from lanl.models import cnn

    rng = np.random.default_rng(length)
    block = (rng.standard_t(2, (12, length)) * 300).clip(-32768, 32767).astype(np.int16)
    block[0, :3] = [32767, -32768, 0]
    block[1, : length // 2 + 1] = -32768  # a median at an extreme: the farthest a sample can sit from it
    block[2, : length // 2 + 1] = 32767
    model = make_model("cnn", TINY_CNN)
    model.scale_ = scale
    x = block.astype(np.float32)
    centred = x - np.median(x, axis=1, keepdims=True)
    want = np.sign(centred / np.float32(scale)) * np.log1p(np.abs(centred / np.float32(scale)))
    got = model._prepare(block)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(model._prepare(block, cnn._medians(x)), want)
    np.testing.assert_array_equal(model._prepare(block.astype(np.float64)), want)  # the formula's own path
    # medians that are not an int16 window's (not half-integers) take the formula too
    odd = cnn._medians(x) + np.float32(0.25)
    shifted = (x - odd[:, None]) / np.float32(scale)
    np.testing.assert_array_equal(model._prepare(block, odd), np.sign(shifted) * np.log1p(np.abs(shifted)))
