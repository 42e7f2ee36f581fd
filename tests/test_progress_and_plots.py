"""fit's progress bar and callback, EpochProgress on its own, and plot_loss."""
import io
import sys

import numpy as np
import pytest

import fastprop
from fastprop import progress
from fastprop.examples import xor_data
from fastprop.progress import EpochProgress


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def without_tqdm(monkeypatch):
    monkeypatch.setattr(progress, "_tqdm_class", lambda: None)


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progress.time, "monotonic", fake)
    return fake


# -------------------------------------------------------------- EpochProgress
def test_text_bar_in_a_log_writes_one_line_at_the_end(without_tqdm):
    stream = io.StringIO()
    with EpochProgress(10, file=stream) as bar:
        for epoch in range(1, 11):
            bar.update(epoch, 1.0 / epoch)
        assert stream.getvalue() == ""  # not a terminal: quiet until the end
    assert stream.getvalue() == "training 100% [########################] 10/10 epochs, loss 0.1\n"


def test_text_bar_on_a_terminal_redraws_in_place_at_most_every_interval(without_tqdm, clock):
    stream = Terminal()
    bar = EpochProgress(1000, file=stream)
    for epoch in range(1, 501):
        bar.update(epoch, 0.25)
    assert stream.getvalue().count("\r") == 1  # the first update drew; the rest were throttled
    assert "1/1000 epochs" in stream.getvalue()
    clock.now += progress.REDRAW_INTERVAL_SECONDS
    bar.update(501, 0.125)
    assert stream.getvalue().count("\r") == 2
    assert stream.getvalue().endswith("\rtraining  50% [############------------] 501/1000 epochs, loss 0.125")
    bar.close()
    bar.close()  # closing twice is harmless
    assert stream.getvalue().endswith("501/1000 epochs, loss 0.125\n")
    assert stream.getvalue().count("\r") == 3


def test_tqdm_bar_shows_epochs_and_loss(clock):
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    with EpochProgress(40, file=stream) as bar:
        assert bar._bar is not None
        for epoch in range(1, 41):
            bar.update(epoch, 0.5 / epoch)
    final = stream.getvalue().split("\r")[-1]
    assert "40/40" in final and "loss=0.0125" in final and "100%" in final


def test_tqdm_redraws_are_throttled(clock):
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    bar = EpochProgress(10_000, file=stream)
    drawn = stream.getvalue().count("\r")
    for epoch in range(1, 5001):
        bar.update(epoch, 0.5)
    assert stream.getvalue().count("\r") == drawn + 1
    bar.close()


@pytest.mark.parametrize("total, error, message", [
    (-1, ValueError, "total_epochs must be >= 0, got -1"),
    (2.5, TypeError, "total_epochs must be an int, got float"),
    (True, TypeError, "total_epochs must be an int, got bool"),
])
def test_total_epochs_is_checked(total, error, message):
    with pytest.raises(error, match=message):
        EpochProgress(total, file=io.StringIO())


# --------------------------------------------------- fit: progress and callback
def plain_and_other_fit(epochs=60, **options):
    X, Y = xor_data()
    plain = fastprop.Network([2, 3, 1], seed=4)
    other = fastprop.Network([2, 3, 1], seed=4)
    history = plain.fit(X, Y, epochs=epochs, lr=0.8, batch_size=2, seed=1)
    other_history = other.fit(X, Y, epochs=epochs, lr=0.8, batch_size=2, seed=1, **options)
    return plain, history, other, other_history


def assert_same_weights(a, b):
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(x, y)


def test_fit_with_progress_shows_the_bar_and_trains_the_same(capsys, without_tqdm):
    plain, history, shown, shown_history = plain_and_other_fit(progress=True)
    assert_same_weights(plain, shown)
    np.testing.assert_array_equal(history, shown_history)
    err = capsys.readouterr().err
    assert err == f"training 100% [########################] 60/60 epochs, loss {history[-1]:.4g}\n"


def test_fit_with_tqdm_progress(capsys):
    pytest.importorskip("tqdm")
    plain, history, shown, _ = plain_and_other_fit(progress=True)
    assert_same_weights(plain, shown)
    final = capsys.readouterr().err.split("\r")[-1]
    assert "60/60" in final and f"loss={history[-1]:.4g}" in final


def test_fit_calls_the_callback_after_every_epoch():
    calls = []
    plain, history, watched, watched_history = plain_and_other_fit(
        callback=lambda epoch, loss: calls.append((epoch, loss)))
    assert calls == [(epoch, float(loss)) for epoch, loss in enumerate(history)]
    assert all(type(loss) is float for _, loss in calls)
    assert_same_weights(plain, watched)
    np.testing.assert_array_equal(history, watched_history)


def test_callback_and_progress_together_train_the_same(capsys):
    plain, history, both, both_history = plain_and_other_fit(
        progress=True, callback=lambda epoch, loss: None)
    assert_same_weights(plain, both)
    np.testing.assert_array_equal(history, both_history)


def test_callback_returning_false_stops_cleanly():
    X, Y = xor_data()
    stopped = fastprop.Network([2, 3, 1], seed=4)
    seen = []

    def stop_after_five(epoch, loss):
        seen.append(epoch)
        return epoch < 4  # False after the fifth epoch (index 4)

    history = stopped.fit(X, Y, epochs=1000, lr=0.8, batch_size=2, seed=1, callback=stop_after_five)
    assert seen == [0, 1, 2, 3, 4]
    assert history.shape == (5,)
    reference = fastprop.Network([2, 3, 1], seed=4)
    reference_history = reference.fit(X, Y, epochs=5, lr=0.8, batch_size=2, seed=1)
    np.testing.assert_array_equal(history, reference_history)
    assert_same_weights(stopped, reference)


def test_only_false_stops_training():
    X, Y = xor_data()
    history = fastprop.Network([2, 2, 1], seed=0).fit(
        X, Y, epochs=12, lr=0.5, callback=lambda epoch, loss: 0)  # falsy, but not False
    assert history.shape == (12,)


def test_early_stop_with_progress_closes_the_bar(capsys, without_tqdm):
    X, Y = xor_data()
    fastprop.Network([2, 2, 1], seed=0).fit(
        X, Y, epochs=100, lr=0.5, progress=True, callback=lambda epoch, loss: epoch < 9)
    assert "10/100 epochs" in capsys.readouterr().err


class CountingProgress(EpochProgress):
    """EpochProgress that records every update it is given."""

    updates = []

    def update(self, epochs_done, loss):
        CountingProgress.updates.append(epochs_done)
        super().update(epochs_done, loss)


def test_progress_is_updated_between_compiled_chunks_not_every_epoch(monkeypatch, capsys,
                                                                        without_tqdm):
    # 100 000 epochs of XOR are a few chunks of compiled work: the bar must not
    # split them into 100 000 returns to Python (its cost is measured in
    # benchmarks/test_progress_overhead.py, not timed here).
    import fastprop.progress
    monkeypatch.setattr(fastprop.progress, "EpochProgress", CountingProgress)
    CountingProgress.updates = []
    X, Y = xor_data()
    fastprop.Network([2, 4, 1], seed=0).fit(X, Y, epochs=100_000, lr=1.0, progress=True)
    assert 1 <= len(CountingProgress.updates) <= 10
    assert CountingProgress.updates[-1] == 100_000
    assert CountingProgress.updates == sorted(CountingProgress.updates)


def test_progress_and_callback_leave_the_chunking_of_a_long_epoch_alone(monkeypatch, capsys,
                                                                           without_tqdm):
    # Epochs that are each several chunks long: one progress update per epoch,
    # one callback per epoch, and the same weights as a plain fit.
    import fastprop.network
    import fastprop.progress
    monkeypatch.setattr(fastprop.network, "_CHUNK_MULTIPLY_ADDS", 200_000)
    monkeypatch.setattr(fastprop.progress, "EpochProgress", CountingProgress)
    CountingProgress.updates = []
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(0, 1, (2000, 32)), rng.uniform(0, 1, (2000, 4))
    options = dict(epochs=3, lr=0.05, batch_size=32, seed=0)
    plain = fastprop.Network([32, 64, 4], seed=0)
    plain.fit(X, Y, **options)
    calls = []
    watched = fastprop.Network([32, 64, 4], seed=0)
    watched.fit(X, Y, progress=True, callback=lambda epoch, loss: calls.append(epoch), **options)
    assert CountingProgress.updates == [1, 2, 3]
    assert calls == [0, 1, 2]
    for a, b in zip(plain.weights + plain.biases, watched.weights + watched.biases):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ plot_loss
@pytest.fixture
def matplotlib():
    return pytest.importorskip("matplotlib")


def test_plot_loss_saves_a_png_with_a_log_scale(tmp_path, matplotlib):
    history = 0.5 * np.exp(-np.arange(300) / 30.0)  # 4.3 decades
    path = tmp_path / "loss.png"
    figure = fastprop.plot_loss(history, path)
    assert isinstance(figure, matplotlib.figure.Figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (axes,) = figure.axes
    assert axes.get_yscale() == "log"
    assert axes.get_xlabel() == "epoch" and axes.get_ylabel() == "loss"
    x, y = axes.lines[0].get_data()
    np.testing.assert_array_equal(x, np.arange(1, 301))
    np.testing.assert_array_equal(y, history)


@pytest.mark.parametrize("history, scale", [
    ([0.5, 0.4, 0.3, 0.2], "linear"),
    ([1.0, 0.05], "linear"),          # 1.3 decades
    ([1.0, 0.5, 0.02], "log"),        # 1.7 decades
    ([0.3, 0.1, 0.0], "linear"),      # a zero loss cannot go on a log axis
    ([1.0, 1e-3], "log"),
])
def test_plot_loss_scale(history, scale, matplotlib):
    assert fastprop.plot_loss(history).axes[0].get_yscale() == scale


def test_plot_loss_without_path_writes_nothing(tmp_path, monkeypatch, matplotlib):
    monkeypatch.chdir(tmp_path)
    fastprop.plot_loss([0.3, 0.2])
    assert list(tmp_path.iterdir()) == []


def test_plot_loss_single_epoch_and_other_formats(tmp_path, matplotlib):
    fastprop.plot_loss([0.25], tmp_path / "loss.svg")
    assert "<svg" in (tmp_path / "loss.svg").read_text()


@pytest.mark.parametrize("history, message", [
    ([], "history is empty"),
    ([[0.1, 0.2], [0.3, 0.4]], r"history must be 1-D \(one loss per epoch\), got shape \(2, 2\)"),
    (0.5, r"history must be 1-D .* got shape \(\)"),
    ([0.1, float("nan")], r"history holds non-finite losses"),
    ([0.1, float("inf")], r"history holds non-finite losses"),
    (["a", "b"], "history must be a 1-D sequence of numbers"),
])
def test_plot_loss_checks_history(history, message):
    with pytest.raises(ValueError, match=message):
        fastprop.plot_loss(history)


def test_plot_loss_checks_path(matplotlib):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        fastprop.plot_loss([0.1], path=3)


def test_plot_loss_without_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    # Never PyPI's "fastprop", an unrelated project: matplotlib itself, or the extra by path.
    with pytest.raises(ImportError, match=r"pip install matplotlib \(or, in fastprop's source "
                                          r"checkout, pip install \"\.\[plot\]\"\)"):
        fastprop.plot_loss([0.3, 0.2])
