"""A synthetic lab-quake dataset in the exact Kaggle layout of "LANL Earthquake Prediction".

``generate(out_dir)`` writes ``train.csv`` (``acoustic_data,time_to_failure``), ``test/seg_<hex>.csv``
(``acoustic_data``, ``segment_length`` rows each), ``sample_submission.csv`` (``seg_id,time_to_failure``) and
``synth_info.json`` (seed, sizes and the true ``cycle_starts``). Same seed, same bytes.

Time and labels
---------------
The lab records samples in blocks of ``BLOCK = 4096`` with a recording gap between blocks. Inside a block
``time_to_failure`` falls by ``SAMPLE_DT = 1.1e-9`` s per sample; across a block boundary it falls by
``SAMPLE_DT + gap_c``. Train holds ``cycles`` stick-slip cycles; cycle ``c`` lasts ``T_c ~ U(7, 16)`` s from one
failure to the next, like the real ones. The real file spends ~40M rows on a cycle; here ``rows`` is shared out
between the cycles in proportion to their recorded spans ``S_c`` (each gets at least ``MIN_SEGMENTS_PER_CYCLE``
segments), so a cycle of ``n_c`` rows in ``B_c`` blocks gets the *scaled* gap::

    gap_c = (S_c - n_c * SAMPLE_DT) / B_c        (real data: ~1.06e-3 s; default demo: ~1.6e-2 s)

which keeps ``time_to_failure`` in real seconds while segments stay ``segment_length`` rows. Failures fall in a
recording gap (as in the real file, where row 5,656,573 reads 0.000795 and the next 11.54), so cycles start on a
block boundary. The first cycle starts mid-cycle (``S_0 = f_0 T_0``, ``f_0 ~ U(0.15, 0.5)``; the real file starts
at 1.469 s) and the last one ends before its failure (``S_K = f_K T_K``, ``f_K ~ U(0.5, 0.9)``).

Full size
---------
With a model that asks for it (v2 and later) and the real sizes (``rows=629_145_480``, ``cycles=17``, 150,000-row
segments), the cycles are the real train.csv's: they start at the 16 real quake rows, last the real cycle lengths
(:mod:`lanl.data.real`), the first row reads time_to_failure ~1.469 s and the last ~9.76 s, and the gaps come out
at the lab's ~1.06e-3 s.

Signal (models v2 to v6; v6, the default, v5, v4 and v3 have other constants)
-----------------------------------------------------------------------------
With phase ``u = 1 - ttf / T_c`` (0 just after a failure, 1 at the next) the sample is::

    x = clip(rint(level_c + d(t) + o_k + floor_sd f(t)
                  + a_c (s(t) + Q(t)) q(t) + a_c (E(t) + S(t) + F(t)) v(t)))

* ``level_c``, ``d(t)``, ``a_c``: as in v1 below; ``o_k ~ N(0, block_sd)``: a level offset per recording block
  of 4,096 rows (the real block means scatter by ~0.2);
* ``f``, ``q``, ``v``: unit-variance noises with the three spectra measured on the real signal
  (:mod:`lanl.data.real`; white noise through ``FIR_TAPS``-tap filters, :func:`measured_filters`): the
  instrument floor (the same in every real window, quiet or active), the resonances of a quiet window, and
  what activity adds (the lower resonances, periods 20-50 samples, more than the quiet ones);
* ``Q(t)``: the quiet background is impulsive, not a steady noise (the real windows just after a quake have a
  kurtosis of ~40): Poisson events at ``quiet_rate`` per row times ``(1 + noise_rise (u - 1/2)) exp(m_s(t))``,
  Pareto amplitudes ``(quiet_min, quiet_alpha, capped at quiet_max)`` decaying over ``quiet_decay`` rows;
  ``s(t)`` an optional steady part (``noise_sd``, v1's background);
* ``E(t)``: the acoustic-emission events of v1 (activity ``g = lambda(u) / event_rate`` growing towards failure),
  now exciting the active spectrum, with activity bringing larger events as well as more of them (rate
  ``lambda g^-k``, sizes ``g^(k/2)``, ``k = event_size_power``: the variance still follows ``g``, and the real
  windows' kurtosis rises with their std; v5's and v6's ``k = 1`` keeps the events' rate constant, only their size
  grows), and the rare large ones (``foreshock_rate`` per row,
  ``U(foreshock_amp)``): the real file has ~18 windows with ``|x| > 1000`` besides the quakes'; in v4 the
  events' swings ``a_c (Q q + E v)`` pass through an asymmetric response (``asymmetry``, see
  :func:`_asymmetric`): the real windows' positive swings are a few percent larger than their negative ones;
* ``S(t) = steady_sd g^steady_power``: in v5 and v6 a steady part of the activity under the events (not the quiet
  background's ``s(t)``): a real window is busier than intermittent events make it, its frames carry the
  active spectrum more often (the mean log-mel spectrum, and so the 1st place's MFCC-18, sits lower);
* ``v = sqrt(w) k(t) v_low + sqrt(1 - w) v_high``: the active spectrum split at ``LOW_CUT`` = 0.03 cycles/sample,
  the low resonances' gain ``k(t)`` a slow log-normal (sd ``low_mod_sd``) so their share varies from window to
  window as in the real test segments (sd of log(low / main band power) 0.46 real, 0.13 without it);
* ``F(t)``: the failure burst at time_to_failure ``U(burst_ttf)`` ~0.3 s (where the real spikes are, 3,000-5,500
  counts, not at the quake itself); after it the event rate fades with e-folding ``burst_quiet_s`` seconds of
  time_to_failure: the real signal in the last hundredths of a second before a quake is as quiet as just after
  it (std ~3.5).

So a window's spectral shape follows its activity, and its activity the label: the spectral statistics (lag-1
autocorrelation, low-frequency share, centroid, the 1st place's MFCC means) vary across windows and with
time_to_failure as the real ones do. Test segments: with ``test_burst_windows`` (the real windows per cycle,
262), a test cycle's failure-burst window is drawn with probability ``windows in the cycle / 262``, so the share
of burst-dominated test segments stays the real one (<1%) at every size.

Calibration: ``python3 benchmarks/calibrate_synth.py`` compares, statistic by statistic (percentiles, KS
distance, Spearman r with time_to_failure) and with an adversarial classifier, synthetic windows with the 4,194
real train windows (tables with labels), the 33 raw real windows around the quakes and the real test
segments; ``python3 benchmarks/fit_synth.py`` searches the background, event and activity constants against
them. ``V2`` matched the real statistics one by one, but a classifier still told its windows from real ones: its
activity brought more events rather than larger ones (a window's kurtosis hardly rose with its std: r(log
kurtosis, log std) 0.29, real 0.59) and its quiet background was a dense swarm of events (kurtosis ~35 in the
quietest windows, real ~15), and its label was harder to read than the real one. ``V3`` keeps the signal and
refits the constants to the windows' joint statistics and the label's readability. ``V4`` makes the events as
long as the real ones (the power envelope's autocorrelation over 256 rows, 0.23 on the real test segments: v3's
events, 150 rows, gave 0.03; v4's last 450), adds small events beside a heavier tail (a louder real window's
body widens with its std, v3's hardly did) and the asymmetric response. ``V5`` adds the steady part of the
activity (the real test segments' median MFCC-18 -1.86, v4's -1.28, v5's -1.77; the real windows' body is
wider: median IQR / std 0.835, v4 0.775, v5 0.820); MFCC-18 still falls with the std less steeply than the
real one (over the std quartiles real -1.1 to -2.5, v4 -1.0 to -1.6, v5 -1.5 to -2.1). ``V6`` puts the
instrument floor at the real level (the power above 0.2 cycles/sample of every real test segment, quiet or
loud, 4.48 with sd 0.03; v5's 4.8-4.95: at a given std its lag-1 autocorrelation sat ~0.012 below the real
one; v6's is 4.55 in the quietest third of the segments at the default size, 4.63 in the loudest: the floor
alone reads 4.52, the events' abrupt onsets lift it as a segment gets louder) and makes the quiet events
rarer, larger and heavier-tailed (the real quiet windows are impulsive: median kurtosis 14.8 / 30.9 / 40.6 in
the three quietest deciles of the real train windows' std, v5's windows in the same std ranges 10.1 / 16.3 /
27.1). The figures are in the README.

Signal (model v1)
-----------------
``signal_model("v1")`` (``lanl synth --model v1``) writes the first generator's bytes. The sample is::

    x = clip(rint(level_c + d(t) + a_c (s(t) + E(t) + F(t)) b(t)), -32768, 32767)

* ``level_c ~ N(4.5, level_sd)``; held-out test cycles are shifted by ``test_level_shift = -0.35`` (the real
  test set averages 4.15, train ~4.5); ``d(t)`` a slow drift, piecewise linear through ``N(0, drift_sd)`` knots
  every ``knot_rows`` rows;
* ``a_c ~ logN(0, amp_sd)``: the cycle's gain (sensor coupling varies from cycle to cycle);
* ``b(t)``: unit-variance coloured noise: a sharp resonance at period 15.9 samples, a broad one at period 28
  with a zero at DC (see :func:`resonance`) and white noise, in shares ``sharp_share``, ``broad_share`` and the
  rest: every segment has nearly the same spectral shape;
* ``s(t) = noise_sd (1 + noise_rise (u - 1/2)) exp(m_s(t))``: the background level, slowly rising towards
  failure, ``m_s`` a slow knot noise of sd ``noise_mod_sd``;
* ``E(t)``: the envelope of acoustic-emission events, Poisson in time with rate per row
  ``lambda(u) = event_rate A_c exp(m_e(t) - sd^2/2) (floor + (1 - floor) u^p) / (floor + (1 - floor) / (p + 1))``
  (mean ``event_rate A_c`` over a cycle; ``A_c ~ logN(0, activity_sd)`` and the knot noise ``m_e`` of sd
  ``rate_mod_sd`` make the precursor noisy, so no single feature reads the label off), each event a jump of
  Pareto amplitude (``P(A > a) = (event_min / a)^event_alpha``, capped at ``event_max``) decaying as
  ``exp(-t / event_decay)``;
* ``F(t)``: the failure burst, an envelope jump of ``U(failure_amp)`` decaying over ``failure_decay`` rows,
  ``failure_before_rows`` rows before each failure.

v1 was calibrated on 7 amplitude statistics of the 48 real test segments; issue 18 measured where it falls short
(no spectral variation, ~5% burst-dominated test segments, a label easier to read than the real one).

Cycles are simulated in chunks of ``CHUNK_ROWS`` with the filter states carried over, so memory is bounded and
the output does not depend on anything but the arguments. Test segments are cut from extra held-out cycles
(never in train.csv) drawn the same way: non-overlapping windows, ``M`` of them picked at random.

Speed (defaults ``rows=24_000_000``, ``cycles=8``, ``test_segments=64``; a 365 MB train.csv): ``python3 -m lanl
synth DIR`` ~12 s wall with v2-v6 (the asymmetric response of v4-v6 ~6% more) and ~6.5 s with v1 on the
shared 2-core dev machine, plus ~1.5 s on the very first run to compile the numba formatting kernels (cached
afterwards). The extra time of v2-v6 is their four measured-spectrum filters (FFT overlap-add); the rest is
the Gaussian draws and the CSV formatting. Full size (629,145,480 rows, the
2,624 ids of the real sample_submission.csv): ~6 minutes, 720 MB peak memory.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.signal import firwin2, lfilter, oaconvolve

from lanl.data import real
from lanl.data.csvformat import format_signal_rows, format_train_rows
from lanl.data.layout import Source, read_sample_submission
from lanl.data.segments import SEGMENT_LENGTH
from lanl.errors import DataError, LanlError
from lanl.fsutil import atomic_dir
from lanl.progress import progress

DEFAULT_ROWS = 24_000_000
DEFAULT_CYCLES = 8
DEFAULT_TEST_SEGMENTS = 64
MIN_SEGMENTS_PER_CYCLE = 4
BLOCK = 4096
SAMPLE_DT = 1.1e-9
CYCLE_SECONDS = (7.0, 16.0)
FIRST_FRACTION = (0.15, 0.5)
LAST_FRACTION = (0.5, 0.9)
CHUNK_ROWS = 1 << 20
BIN_ROWS = 1024
TEST_POOL = 1.25
FIR_TAPS = 1023  # the measured spectra's filters: resolution ~1/1000 cycles per sample, the resonances' width
LOW_CUT = 0.03  # cycles/sample: below it, the low resonances whose share of the activity varies (low_mod_sd)
INFO_VERSION = 1

_STREAM_PLAN, _STREAM_TRAIN, _STREAM_TEST, _STREAM_IDS, _STREAM_WINDOWS = 0, 1, 2, 3, 4
_PARAMS = 10  # offset of the per-cycle parameter streams


@dataclass(frozen=True)
class SignalModel:
    """The generator's physical constants (see the module docstring for the model they parametrise)."""

    level: float = 4.5
    level_sd: float = 0.15
    test_level_shift: float = -0.35
    drift_sd: float = 0.15
    knot_rows: int = 300_000
    amp_sd: float = 0.03
    noise_sd: float = 3.2
    noise_rise: float = 0.06
    noise_mod_sd: float = 0.04
    sharp_period: float = 15.9
    sharp_r: float = 0.975
    sharp_share: float = 0.48
    broad_period: float = 28.0
    broad_r: float = 0.95
    broad_share: float = 0.42
    event_rate: float = 5e-4
    activity_sd: float = 0.2
    rate_mod_sd: float = 0.45
    rate_floor: float = 0.15
    rate_power: float = 1.0
    event_min: float = 8.0
    event_alpha: float = 2.2
    event_max: float = 120.0
    event_decay: float = 150.0
    failure_amp: tuple[float, float] = (500.0, 2000.0)
    failure_decay: float = 3000.0
    failure_before_rows: tuple[int, int] = (7_500, 90_000)
    # v2 (calibrated on the real labelled train data); the v1 preset leaves them off
    spectrum: str = "resonances"
    floor_sd: float = 0.0
    quiet_rate: float = 0.0
    quiet_min: float = 4.5
    quiet_alpha: float = 2.0
    quiet_max: float = 400.0
    quiet_decay: float = 100.0
    block_sd: float = 0.0
    burst_ttf: tuple[float, float] | None = None
    burst_quiet_s: float = 0.0
    low_mod_sd: float = 0.0
    event_size_power: float = 0.0
    foreshock_rate: float = 0.0
    foreshock_amp: tuple[float, float] = (200.0, 800.0)
    foreshock_decay: float = 3000.0
    real_layout: bool = False
    test_burst_windows: float = 0.0
    # v4: the sensor's response is asymmetric (the real windows' max beats |min| and their skew is positive)
    asymmetry: float = 0.0
    # v5: a steady part of the activity under its events: a_c steady_sd g^steady_power on the active spectrum
    steady_sd: float = 0.0
    steady_power: float = 1.0


V1 = SignalModel()
V2 = replace(
    V1,
    spectrum="measured",
    level=4.52,
    noise_sd=0.0,
    floor_sd=2.51,
    quiet_rate=1e-3,
    quiet_max=60.0,
    event_rate=9e-4,
    event_min=7.5,
    event_alpha=2.3,
    event_max=120.0,
    event_size_power=0.5,
    low_mod_sd=0.45,
    activity_sd=0.3,
    rate_mod_sd=0.75,
    rate_floor=0.15,
    rate_power=1.2,
    block_sd=0.25,
    burst_ttf=(0.27, 0.32),
    burst_quiet_s=0.08,
    failure_amp=(800.0, 1400.0),
    failure_decay=4000.0,
    foreshock_rate=2.9e-8,
    real_layout=True,
    test_burst_windows=262.0,
)
# v3: v2's signal with its constants refitted to the real windows' joint statistics (issue 18; the search:
# benchmarks/fit_synth.py, the check: benchmarks/calibrate_synth.py): sparse, light-tailed quiet events on a
# slightly louder floor (the quiet windows nearly Gaussian, as the real ones), more events that grow with the
# activity (a window's kurtosis rises with its std), a precursor that rises later in the cycle under less noise
# (the label about as readable as the real one), a wider level drift
V3 = replace(
    V2,
    floor_sd=2.56,
    quiet_rate=2.3e-4,
    quiet_min=6.5,
    quiet_alpha=3.4,
    quiet_max=40.0,
    event_rate=1.15e-3,
    event_alpha=2.2,
    event_size_power=0.75,
    rate_power=1.6,
    rate_mod_sd=0.6,
    activity_sd=0.2,
    drift_sd=0.21,
)
# v4: v3 with events as long as the real ones (their power envelope's autocorrelation over 256 rows: 0.23 on the
# real test segments, v3 0.03), three times longer and as many fewer, more small ones beside a heavier tail (a
# louder window's body widens as the real one's does), fewer quiet events, and the events' asymmetric response
# (the real windows lean positive: skew +0.09, max beats |min|); shorter failure bursts and foreshocks (the 16 real
# burst windows: median kurtosis ~225 and std ~130, v3's ~100 and ~145); hand-fitted, benchmarks/calibrate_synth.py
V4 = replace(
    V3,
    quiet_rate=2.5e-5,
    quiet_min=9.6,
    quiet_decay=300.0,
    event_rate=4.5e-4,
    event_min=6.0,
    event_alpha=1.9,
    event_max=100.0,
    event_decay=450.0,
    rate_mod_sd=0.5,
    asymmetry=0.016,
    failure_amp=(1050.0, 1800.0),
    failure_decay=1800.0,
    foreshock_decay=1100.0,
)
# v5: v4 with a steady part of the activity under its events (the real windows are busier than v4's events:
# the test segments' median MFCC-18 -1.86, v4's -1.28; their body is wider, median IQR / std 0.835, v4 0.775),
# growing as the square root of the activity (in proportion, the loudest test segments' MFCC-4 fell far
# below the real ones'), fewer events that grow in size, not number, with the activity, and the test run's
# level 0.04 lower (the 2,624 real test segments' median mean 4.15, v4's 4.19); hand-fitted over ~16 points
# at 150M rows, benchmarks/calibrate_synth.py
V5 = replace(
    V4,
    steady_sd=0.8,
    steady_power=0.5,
    event_rate=3.9e-4,
    event_size_power=1.0,
    test_level_shift=-0.39,
)
# v6: v5 on the real instrument floor and with rarer, larger, heavier-tailed quiet events. The floor: the real
# test segments' power above 0.2 cycles/sample is 4.48 (sd 0.03 over the 48, quiet or loud; the measured floor
# spectrum's mean there, 4.484, already holds the real samples' rounding), v5's 4.8-4.95 (v3's floor_sd 2.56 was
# fitted to the windows' table statistics), so at a given std v5's lag-1 autocorrelation sat ~0.012 low and its
# spectral centroid high (the raw test segments' classifier read them off). floor_sd^2 is the floor spectrum's
# variance, 6.29, scaled by (4.484 - 1/12) / 4.484, so that with the rounding's 1/12 the level above 0.2 is
# 4.484; measured, the floor alone reads 4.52 there (the spectrum's first bins above 0.2 sit higher), and the
# events' abrupt onsets add a little more as a segment gets louder. The quiet events: the real quiet windows
# are impulsive (median kurtosis 14.8 / 30.9 / 40.6 in the three quietest deciles of the real train windows'
# std, v5's windows in the same std ranges 10.1 / 16.3 / 27.1), as are the real windows just after a quake.
# Hand-fitted, benchmarks/calibrate_synth.py
V6 = replace(
    V5,
    floor_sd=2.485,
    quiet_rate=7e-6,
    quiet_min=18.0,
    quiet_alpha=2.2,
    quiet_max=200.0,
)
MODELS = {"v1": V1, "v2": V2, "v3": V3, "v4": V4, "v5": V5, "v6": V6}
DEFAULT_MODEL = "v6"


def signal_model(name: str = "default") -> SignalModel:
    """A named preset of the generator's constants: ``v1`` (the first calibration, on 48 real test segments),
    ``v2`` (calibrated on the real labelled train windows and the real test segments, statistic by statistic),
    ``v3`` (v2's signal refitted to the real windows' joint statistics), ``v4`` (v3 with events as long as the
    real ones, more small ones and an asymmetric response), ``v5`` (v4 with a steady part of the activity
    under its events), ``v6`` (v5 on the real instrument floor, with rarer and larger quiet events),
    ``default`` (v6)."""
    return resolve_model(name)[1]


def _plain(value):
    """A constant as JSON sees it: numbers (numpy's too) as floats (so 450 and 450.0, -0.0 and 0.0 agree),
    tuples as lists."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    return float(value) + 0.0


def model_digest(model: SignalModel) -> str:
    """A short digest (written to synth_info.json) of every constant of ``model`` and of the module's
    measured inputs (the real spectra, the filters' length, the bins): two datasets of one preset name written
    while its constants differed (in development) have different digests. Adding a constant changes every
    preset's digest (a dataset written before is regenerated once); changes to the generator's code are not
    seen."""
    constants = {f.name: _plain(getattr(model, f.name)) for f in dataclasses.fields(model)}
    inputs = {
        "spectra": [_plain(v) for v in (real.SPECTRUM_EDGES, real.SPECTRUM_FLOOR, real.SPECTRUM_QUIET)],
        "active": _plain(real.SPECTRUM_ACTIVE),
        "sizes": [FIR_TAPS, LOW_CUT, BIN_ROWS, BLOCK, CHUNK_ROWS, SAMPLE_DT],
    }
    text = json.dumps({"constants": constants, "inputs": inputs}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_model(model: SignalModel | str | None) -> tuple[str, SignalModel]:
    """(name, constants) of a preset name, ``None`` (the default preset) or a ``SignalModel`` (named after the
    preset it equals, else ``custom``)."""
    if isinstance(model, SignalModel):
        return next((k for k, v in MODELS.items() if v == model), "custom"), model
    key = DEFAULT_MODEL if model in (None, "default") else model
    if key not in MODELS:
        raise LanlError(f"unknown synthetic signal model {model!r}: choose from default, {', '.join(MODELS)}")
    return key, MODELS[key]


@dataclass(frozen=True)
class CyclePlan:
    """One simulated cycle: where its rows go, its clock, and its random parameters.

    ``ttf`` of cycle row ``j`` is ``ttf_first - j * SAMPLE_DT - ((j + block_offset) // BLOCK) * gap``.
    """

    index: int
    stream: int
    start: int
    rows: int
    span: float
    duration: float
    ttf_first: float
    gap: float
    block_offset: int
    level: float
    amp: float
    activity: float
    burst_row: int
    burst_amp: float


@dataclass(frozen=True)
class SynthInfo:
    """What ``generate`` wrote: sizes, the true cycle starts (0-based data rows) and the paths."""

    out_dir: Path
    seed: int
    rows: int
    cycles: int
    test_segments: int
    segment_length: int
    cycle_starts: np.ndarray
    test_ids: tuple[str, ...]
    cycle_durations: np.ndarray = field(default_factory=lambda: np.zeros(0))
    model: str = DEFAULT_MODEL
    model_digest: str = ""  # model_digest() of the constants it was written with ("" before it was recorded)

    @property
    def train_csv(self) -> Path:
        return self.out_dir / "train.csv"

    @property
    def test_dir(self) -> Path:
        return self.out_dir / "test"

    @property
    def sample_submission_csv(self) -> Path:
        return self.out_dir / "sample_submission.csv"

    @property
    def info_json(self) -> Path:
        return self.out_dir / "synth_info.json"

    def to_json(self) -> dict:
        return {
            "version": INFO_VERSION,
            "seed": self.seed,
            "rows": self.rows,
            "cycles": self.cycles,
            "test_segments": self.test_segments,
            "segment_length": self.segment_length,
            "cycle_starts": [int(s) for s in self.cycle_starts],
            "cycle_durations_s": [float(d) for d in self.cycle_durations],
            "model": self.model,
            "model_digest": self.model_digest,
            "test_ids": list(self.test_ids),
            "block": BLOCK,
            "sample_dt": SAMPLE_DT,
        }

    @classmethod
    def load(cls, out_dir: str | Path) -> SynthInfo:
        """Read ``out_dir/synth_info.json`` back."""
        out_dir = Path(out_dir)
        try:
            d = json.loads((out_dir / "synth_info.json").read_text())
        except (OSError, ValueError) as exc:
            raise DataError(
                out_dir / "synth_info.json", f"cannot read synthetic dataset info: {exc}"
            ) from None
        return cls(
            out_dir=out_dir,
            seed=d["seed"],
            rows=d["rows"],
            cycles=d["cycles"],
            test_segments=d["test_segments"],
            segment_length=d["segment_length"],
            cycle_starts=np.asarray(d["cycle_starts"], dtype=np.int64),
            test_ids=tuple(d["test_ids"]),
            cycle_durations=np.asarray(d["cycle_durations_s"], dtype=np.float64),
            model=d.get("model", "v1"),  # written before v2: the first generator
            model_digest=d.get("model_digest", ""),
        )


# ----------------------------------------------------------------------------------------------------------
# Planning: cycle lengths, clocks and per-cycle parameters
# ----------------------------------------------------------------------------------------------------------


def _rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    """An independent random stream per (seed, purpose, index): changing one part never shifts another."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index)))


def min_rows(cycles: int, segment_length: int = SEGMENT_LENGTH) -> int:
    """The fewest train rows ``generate`` accepts for ``cycles`` cycles."""
    return cycles * (MIN_SEGMENTS_PER_CYCLE * segment_length + BLOCK)


@dataclass(frozen=True)
class _Layout:
    """Where a cycle sits and what it records, before its random parameters are drawn."""

    index: int
    start: int
    rows: int
    span: float
    duration: float
    block_offset: int
    failure: bool


def _split_rows(rows: int, spans: np.ndarray, head: int, segment_length: int) -> np.ndarray:
    """Cycle start rows: a floor per cycle plus the rest in proportion to ``spans``, snapped to block starts.

    Blocks start at rows ``head + k * BLOCK`` (the first block holds ``head`` rows); the floor leaves each
    cycle at least ``MIN_SEGMENTS_PER_CYCLE`` segments after snapping."""
    floor = MIN_SEGMENTS_PER_CYCLE * segment_length + BLOCK
    target = floor + (rows - len(spans) * floor) * spans / spans.sum()
    bounds = np.cumsum(target)[:-1]
    snapped = head + BLOCK * np.rint((bounds - head) / BLOCK).astype(np.int64)
    return np.concatenate([[0], snapped]).astype(np.int64)


def _clock(lay: _Layout, rng: np.random.Generator) -> tuple[float, float]:
    """(ttf of the first row, gap) of a cycle of ``lay.rows`` rows recording ``lay.span`` seconds.

    The gap spreads the span over the cycle's blocks: ``gap = (span - rows * SAMPLE_DT) / blocks``. Ending in a
    failure, the last row reads ``tau * gap`` with ``tau ~ U(0.05, 0.95)`` (the failure falls in the gap after
    it); otherwise the cycle is ``duration`` s long and recording stops ``span`` s into it."""
    last_beta = (lay.rows - 1 + lay.block_offset) // BLOCK
    gap = (lay.span - lay.rows * SAMPLE_DT) / (last_beta + 1)
    if gap < SAMPLE_DT:
        raise LanlError(
            f"{lay.rows:,} rows in one {lay.span:.2f}-second cycle leave no recording gap between blocks: "
            "use fewer rows or more cycles"
        )
    if not lay.failure:
        return lay.duration, gap
    elapsed = (lay.rows - 1) * SAMPLE_DT + last_beta * gap
    return rng.uniform(0.05, 0.95) * gap + elapsed, gap


def _cycle_plan(seed: int, stream: int, lay: _Layout, level: float, model: SignalModel) -> CyclePlan:
    """Draw one cycle's clock and random parameters from its own stream."""
    rng = _rng(seed, _PARAMS + stream, lay.index)
    ttf_first, gap = _clock(lay, rng)
    burst_row, burst_amp = -1, 0.0
    if lay.failure and model.burst_ttf is not None:
        # the row where time_to_failure reads ~burst_ttf (the average fall per row includes the gaps)
        at = (ttf_first - rng.uniform(*model.burst_ttf)) / (SAMPLE_DT + gap / BLOCK)
        burst_row, burst_amp = int(np.clip(at, 0, lay.rows - 1)), float(rng.uniform(*model.failure_amp))
    elif lay.failure:
        before = int(rng.integers(*model.failure_before_rows))
        burst_row, burst_amp = max(0, lay.rows - 1 - before), float(rng.uniform(*model.failure_amp))
    return CyclePlan(
        index=lay.index,
        stream=stream,
        start=lay.start,
        rows=lay.rows,
        span=lay.span,
        duration=lay.duration,
        ttf_first=float(ttf_first),
        gap=float(gap),
        block_offset=lay.block_offset,
        level=float(level + rng.normal(0.0, model.level_sd)),
        amp=float(np.exp(rng.normal(0.0, model.amp_sd))),
        activity=float(np.exp(rng.normal(0.0, model.activity_sd))),
        burst_row=burst_row,
        burst_amp=burst_amp,
    )


def is_real_layout(rows: int, cycles: int, segment_length: int, model: SignalModel) -> bool:
    """Whether ``plan_train`` lays out the real train.csv's 17 cycles (full size, a model with ``real_layout``)."""
    full = (rows, cycles, segment_length) == (real.REAL_ROWS, len(real.REAL_QUAKE_ROWS) + 1, SEGMENT_LENGTH)
    return model.real_layout and full


def _real_layout(durations: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(starts, durations, spans, head) of the real train.csv: the cycles start at the real quake rows and last
    the real cycle lengths; the first is recorded from time_to_failure 1.4691 s (its full length, unknown, is
    the drawn one), the last for as long as its rows take at the other cycles' rows per second."""
    starts = np.array((0, *real.REAL_QUAKE_ROWS), dtype=np.int64)
    rows = np.diff(np.append(starts, real.REAL_ROWS))
    durations = np.array((max(durations[0], real.REAL_FIRST_TTF), *real.REAL_CYCLE_SECONDS))
    spans = durations.copy()
    spans[0] = real.REAL_FIRST_TTF
    spans[-1] = rows[-1] * sum(real.REAL_CYCLE_SECONDS[:-1]) / rows[1:-1].sum()
    return starts, durations, spans, int(starts[1] % BLOCK)


def plan_train(seed: int, rows: int, cycles: int, segment_length: int, model: SignalModel) -> list[CyclePlan]:
    """The train cycles: durations, a partial first and last cycle, rows per cycle on block boundaries (at full
    size, with a model that asks for it, the real train.csv's cycles: see :func:`_real_layout`)."""
    rng = _rng(seed, _STREAM_PLAN)
    durations = rng.uniform(*CYCLE_SECONDS, cycles)
    fraction = np.ones(cycles)
    fraction[0] = rng.uniform(*FIRST_FRACTION)
    fraction[-1] = rng.uniform(*LAST_FRACTION)
    head = int(rng.integers(1, BLOCK + 1))
    spans = durations * fraction
    if is_real_layout(rows, cycles, segment_length, model):
        starts, durations, spans, head = _real_layout(durations)
    else:
        starts = _split_rows(rows, spans, head, segment_length)
    ends = np.append(starts[1:], rows)
    layouts = [
        _Layout(
            index=c,
            start=int(starts[c]),
            rows=int(ends[c] - starts[c]),
            span=float(spans[c]),
            duration=float(durations[c]),
            block_offset=(BLOCK - head) % BLOCK if c == 0 else 0,
            failure=c < cycles - 1,
        )
        for c in range(cycles)
    ]
    return [_cycle_plan(seed, _STREAM_TRAIN, lay, model.level, model) for lay in layouts]


def plan_test(
    seed: int, rows_per_second: float, n_windows: int, segment_length: int, model: SignalModel
) -> list[CyclePlan]:
    """Held-out full cycles, at train's rows per second, until they hold ``TEST_POOL * n_windows`` windows
    (not counting the failure-burst window that :func:`_pick_windows` may leave out)."""
    rng = _rng(seed, _STREAM_PLAN, 1)
    plans: list[CyclePlan] = []
    windows = 0
    while windows < math.ceil(TEST_POOL * n_windows):
        duration = float(rng.uniform(*CYCLE_SECONDS))
        rows = max(int(rows_per_second * duration) // BLOCK * BLOCK, segment_length + BLOCK)
        lay = _Layout(len(plans), 0, rows, duration, duration, 0, True)
        plans.append(_cycle_plan(seed, _STREAM_TEST, lay, model.level + model.test_level_shift, model))
        windows += rows // segment_length - (1 if model.test_burst_windows > 0 else 0)
    return plans


def rows_per_second(plans: list[CyclePlan]) -> float:
    """Recorded rows per second of (scaled) lab time over ``plans``."""
    return sum(p.rows for p in plans) / sum(p.span for p in plans)


def ttf_at(plan: CyclePlan, j: np.ndarray) -> np.ndarray:
    """time_to_failure of cycle rows ``j`` (see :class:`CyclePlan`)."""
    beta = (j + plan.block_offset) // BLOCK
    return plan.ttf_first - j * SAMPLE_DT - beta * plan.gap


# ----------------------------------------------------------------------------------------------------------
# Signal: background resonances, acoustic-emission events and the failure burst
# ----------------------------------------------------------------------------------------------------------


def resonance(period: float, r: float, *, zero_dc: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``lfilter`` coefficients ``(b, a)`` of a unit-variance resonance at ``period`` samples.

    ``y_t = 2 r cos(w) y_{t-1} - r^2 y_{t-2} + g (eps_t - z eps_{t-1})`` with ``w = 2 pi / period``, ``z = 1``
    to put a zero at DC (an acoustic sensor passes no DC) or 0, and ``g = 1 / sqrt(sum_k h_k^2)`` (``h``: the
    impulse response), so ``y`` has unit variance for unit-variance white ``eps``."""
    a = np.array([1.0, -2 * r * math.cos(2 * math.pi / period), r * r])
    b = np.array([1.0, -1.0]) if zero_dc else np.array([1.0])
    impulse = np.zeros(int(40 / (1 - r)) + 64)
    impulse[0] = 1.0
    h = lfilter(b, a, impulse)
    return b / math.sqrt(float(h @ h)), a


@dataclass
class _State:
    """Filter states carried from one chunk of a cycle to the next."""

    sharp: np.ndarray = field(default_factory=lambda: np.zeros(2))
    broad: np.ndarray = field(default_factory=lambda: np.zeros(2))
    event: np.ndarray = field(default_factory=lambda: np.zeros(1))
    burst: np.ndarray = field(default_factory=lambda: np.zeros(1))
    foreshock: np.ndarray = field(default_factory=lambda: np.zeros(1))
    quiet: np.ndarray = field(default_factory=lambda: np.zeros(1))
    tails: np.ndarray = field(default_factory=lambda: np.zeros((4, FIR_TAPS - 1)))  # measured filters' inputs
    low: np.ndarray = field(default_factory=lambda: np.zeros(0))  # knots of the low resonances' log gain
    blocks: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the cycle's level offset per block


def _knots(rng: np.random.Generator, rows: int, model: SignalModel) -> np.ndarray:
    """Slow random processes of a cycle, as knot values every ``knot_rows`` rows: row 0 holds the positions,
    then the level drift ``d``, the log noise modulation ``m_s`` and the log event-rate modulation ``m_e``."""
    n = rows // model.knot_rows + 2
    sds = np.array([model.drift_sd, model.noise_mod_sd, model.rate_mod_sd])
    return np.vstack([np.arange(n) * float(model.knot_rows), rng.normal(0.0, 1.0, (3, n)) * sds[:, None]])


def _envelope(plan: CyclePlan, model: SignalModel, knots: np.ndarray, rows: np.ndarray):
    """Level, background scale ``a_c s(t)`` and event rate per row at cycle rows ``rows``."""
    u = np.clip(1.0 - ttf_at(plan, rows) / plan.duration, 0.0, 1.0)
    drift, noise_mod, rate_mod = (np.interp(rows, knots[0], k) for k in knots[1:])
    scale = plan.amp * model.noise_sd * (1 + model.noise_rise * (u - 0.5)) * np.exp(noise_mod)
    p, fl = model.rate_power, model.rate_floor
    shape = (fl + (1 - fl) * u**p) / (fl + (1 - fl) / (p + 1))
    rate = model.event_rate * plan.activity * np.exp(rate_mod - model.rate_mod_sd**2 / 2) * shape
    return plan.level + drift, scale, rate


def _background(rng: np.random.Generator, model: SignalModel, n: int, st: _State) -> np.ndarray:
    """Unit-variance background: sharp and broad resonances plus white noise in the shares of the model."""
    b_s, a_s = resonance(model.sharp_period, model.sharp_r)
    b_b, a_b = resonance(model.broad_period, model.broad_r, zero_dc=True)
    eps = rng.standard_normal((3, n))
    sharp, st.sharp = lfilter(b_s * math.sqrt(model.sharp_share), a_s, eps[0], zi=st.sharp)
    broad, st.broad = lfilter(b_b * math.sqrt(model.broad_share), a_b, eps[1], zi=st.broad)
    white = math.sqrt(max(0.0, 1 - model.sharp_share - model.broad_share)) * eps[2]
    return sharp + broad + white


def measured_shapes() -> dict[str, np.ndarray]:
    """The binned spectra the measured filters follow: :mod:`lanl.data.real`'s floor and quiet shapes, and its
    active shape split at ``LOW_CUT`` cycles/sample into the low resonances and the rest."""
    edges = np.asarray(real.SPECTRUM_EDGES)
    low = (edges[1:] + edges[:-1]) / 2 < LOW_CUT
    active = np.asarray(real.SPECTRUM_ACTIVE, dtype=np.float64)
    return {
        "floor": np.asarray(real.SPECTRUM_FLOOR, dtype=np.float64),
        "quiet": np.asarray(real.SPECTRUM_QUIET, dtype=np.float64),
        "active low": np.where(low, active, 0.0),
        "active high": np.where(low, 0.0, active),
    }


@functools.cache
def active_low_share() -> float:
    """The share of the active spectrum's variance below ``LOW_CUT``."""
    shapes, width = measured_shapes(), np.diff(np.asarray(real.SPECTRUM_EDGES))
    return float((shapes["active low"] * width).sum() / (np.asarray(real.SPECTRUM_ACTIVE) * width).sum())


@functools.cache
def measured_filters() -> np.ndarray:
    """(4, FIR_TAPS) unit-variance FIR filters (``sum h^2 = 1``) whose power responses follow
    :func:`measured_shapes` (frequency sampling, ``scipy.signal.firwin2``)."""
    edges = np.asarray(real.SPECTRUM_EDGES)
    freq = np.r_[0.0, (edges[1:] + edges[:-1]) / 2, 0.5]
    rows = []
    for v in measured_shapes().values():
        h = firwin2(FIR_TAPS, freq, np.sqrt(np.r_[v[0], v, v[-1]]), fs=1.0)
        rows.append(h / math.sqrt(float(h @ h)))
    return np.array(rows)


def _measured_noise(rng: np.random.Generator, n: int, st: _State) -> np.ndarray:
    """(4, n) unit-variance noises with the :func:`measured_shapes` spectra: white noise through
    :func:`measured_filters`, each filter's last ``FIR_TAPS - 1`` inputs carried to the next chunk."""
    z = np.concatenate([st.tails, rng.standard_normal((4, n))], axis=1)
    st.tails = z[:, n:]
    return oaconvolve(z, measured_filters(), mode="valid", axes=1)


def _decay(tau: float) -> np.ndarray:
    """``lfilter`` denominator of an exponential envelope ``E_t = exp(-1 / tau) E_{t-1} + kick_t``."""
    return np.array([1.0, -math.exp(-1 / tau)])


def _events(rng: np.random.Generator, model: SignalModel, rate: np.ndarray, n: int, st: _State) -> np.ndarray:
    """Envelope of the acoustic-emission events: Poisson counts per ``BIN_ROWS`` bin, uniform positions in the
    bin, amplitudes ``min(a_min U^(-1/alpha), event_max)``, each decaying with e-folding ``event_decay`` rows."""
    out, st.event = _pareto_envelope(
        rng, rate, n, model.event_min, model.event_alpha, model.event_max, model.event_decay, st.event
    )
    return out


def _positions(rng: np.random.Generator, rate: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, bin) of each event of a Poisson process with ``rate`` per row in each ``BIN_ROWS`` bin of ``n``
    rows: Poisson counts per bin, uniform positions in the bin."""
    width = np.minimum(BIN_ROWS, n - np.arange(len(rate)) * BIN_ROWS)
    counts = rng.poisson(rate * width)
    bins = np.repeat(np.arange(len(rate)), counts)
    return bins * BIN_ROWS + (rng.random(len(bins)) * width[bins]).astype(np.int64), bins


def _decaying(pos: np.ndarray, amp: np.ndarray, n: int, tau: float, zi) -> tuple[np.ndarray, np.ndarray]:
    """(envelope, filter state): a jump of ``amp`` at each of the rows ``pos``, decaying with e-folding ``tau``."""
    kicks = np.zeros(n)
    np.add.at(kicks, pos, amp)
    return lfilter([1.0], _decay(tau), kicks, zi=zi)


def _pareto_envelope(rng, rate: np.ndarray, n: int, lo, alpha: float, hi, tau: float, zi):
    """(envelope, filter state) of Poisson events with ``rate`` per row in each ``BIN_ROWS`` bin, amplitudes
    ``min(lo U^(-1/alpha), hi)`` (``lo``, ``hi``: scalars or one per bin), each decaying with e-folding ``tau``."""
    pos, bins = _positions(rng, rate, n)
    lo, hi = (np.broadcast_to(v, rate.shape)[bins] for v in (lo, hi))
    return _decaying(pos, np.minimum(lo * rng.random(len(pos)) ** (-1 / alpha), hi), n, tau, zi)


def _foreshocks(rng, model: SignalModel, shape: np.ndarray, n: int, st: _State) -> np.ndarray:
    """Envelope of the rare large events (the real file has ~18 windows with |x| > 1000 besides the 16 quakes,
    most of them in the last seconds of a cycle): Poisson with rate ``foreshock_rate`` times the event rate's
    shape per row, amplitudes ``U(foreshock_amp)``, e-folding ``foreshock_decay`` rows."""
    pos, _ = _positions(rng, model.foreshock_rate * shape, n)
    amp = rng.uniform(*model.foreshock_amp, len(pos))
    out, st.foreshock = _decaying(pos, amp, n, model.foreshock_decay, st.foreshock)
    return out


def _burst(plan: CyclePlan, model: SignalModel, j0: int, n: int, st: _State) -> np.ndarray | None:
    """Envelope of the failure burst over cycle rows ``j0 .. j0 + n`` (None before it starts)."""
    if plan.burst_row < 0 or plan.burst_row >= j0 + n:
        return None
    kicks = np.zeros(n)
    if plan.burst_row >= j0:
        kicks[plan.burst_row - j0] = plan.burst_amp
    out, st.burst = lfilter([1.0], _decay(model.failure_decay), kicks, zi=st.burst)
    return out


def _chunk(
    rng: np.random.Generator,
    plan: CyclePlan,
    model: SignalModel,
    knots: np.ndarray,
    st: _State,
    j0: int,
    n: int,
):
    """int16 samples of cycle rows ``j0 .. j0 + n``: ``rint(level + d + a_c (s + E + F) b)`` clipped to int16
    (the slow envelopes ``level + d``, ``s`` and the event rate are evaluated per ``BIN_ROWS`` bin); with the
    measured spectra, ``rint(level + d + o + f_sd f + a_c (s + Q) q + a_c (E + S + F) v)`` (see the module
    docstring)."""
    centres = np.minimum(j0 + np.arange(0, n, BIN_ROWS) + BIN_ROWS // 2, plan.rows - 1)
    level, scale, rate = _envelope(plan, model, knots, centres)
    if model.spectrum == "measured":
        return _measured_chunk(rng, plan, model, knots, st, j0, n, centres)
    envelope = np.repeat(scale, BIN_ROWS)[:n] + plan.amp * _events(rng, model, rate, n, st)
    burst = _burst(plan, model, j0, n, st)
    if burst is not None:
        envelope += plan.amp * burst
    y = envelope * _background(rng, model, n, st) + np.repeat(level, BIN_ROWS)[:n]
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)


def _measured_envelope(plan: CyclePlan, model: SignalModel, knots: np.ndarray, rows: np.ndarray):
    """Level, background scale, event rate (faded after the failure burst) and the quiet events' modulation
    at cycle rows ``rows``: the hidden state of the measured-spectra signal (see :func:`_measured_chunk`)."""
    level, scale, rate = _envelope(plan, model, knots, rows)
    ttf = ttf_at(plan, rows)
    u = np.clip(1.0 - ttf / plan.duration, 0.0, 1.0)
    if plan.burst_row >= 0 and model.burst_quiet_s > 0:  # activity dies down after the failure burst
        after = ttf_at(plan, np.array([plan.burst_row]))[0] - ttf
        rate = np.where(after > 0, rate * np.exp(-np.maximum(after, 0.0) / model.burst_quiet_s), rate)
    mod = (1 + model.noise_rise * (u - 0.5)) * np.exp(
        np.interp(rows, knots[0], knots[2]) - model.noise_mod_sd**2 / 2
    )
    return level, scale, rate, mod


def _measured_chunk(rng, plan: CyclePlan, model: SignalModel, knots, st: _State, j0: int, n: int, centres):
    """The measured-spectra signal of cycle rows ``j0 .. j0 + n`` (see :func:`_chunk`)."""
    level, scale, rate, mod = _measured_envelope(plan, model, knots, centres)
    quiet_env, st.quiet = _pareto_envelope(
        rng, model.quiet_rate * mod, n, model.quiet_min, model.quiet_alpha, model.quiet_max, model.quiet_decay,
        st.quiet,
    )  # fmt: skip
    # activity g (mean ~1 over a cycle) brings more events and larger ones: rate g^(1 - k), size g^(k / 2)
    g = rate / model.event_rate
    size = g ** (model.event_size_power / 2)
    active_env, st.event = _pareto_envelope(
        rng, rate * g ** -model.event_size_power, n, model.event_min * size, model.event_alpha,
        model.event_max * size, model.event_decay, st.event,
    )  # fmt: skip
    if model.steady_sd > 0:
        active_env += np.repeat(model.steady_sd * g**model.steady_power, BIN_ROWS)[:n]
    if model.foreshock_rate > 0:
        active_env += _foreshocks(rng, model, rate / model.event_rate, n, st)
    burst = _burst(plan, model, j0, n, st)
    if burst is not None:
        active_env += burst
    floor, quiet, low, high = _measured_noise(rng, n, st)
    # the low resonances' share of the activity wanders from window to window (log gain ~ N(0, low_mod_sd))
    gain = np.exp(np.interp(centres, knots[0], st.low) - model.low_mod_sd**2)
    w = active_low_share()
    gains = np.repeat(gain, BIN_ROWS)[:n]
    active = math.sqrt(w) * gains * low + math.sqrt(1 - w) * high
    quiet_env += np.repeat(scale / plan.amp, BIN_ROWS)[:n]
    events = plan.amp * (quiet_env * quiet + active_env * active)
    if model.asymmetry:
        events = _asymmetric(events, model, plan.amp, quiet_env, active_env, gains, w)
    y = model.floor_sd * floor + events
    y += np.repeat(level, BIN_ROWS)[:n]
    if len(st.blocks):
        y += st.blocks[(np.arange(j0, j0 + n) + plan.block_offset) // BLOCK]
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)


def _asymmetric(y, model: SignalModel, amp: float, quiet_env, active_env, gain, w: float) -> np.ndarray:
    """The events' swings ``y`` (quiet and active, not the instrument floor) through an asymmetric response,
    ``y + asymmetry (|y| - E|y|)``: measured from the median, positive half-waves ``1 + asymmetry`` times and
    negative ones ``1 - asymmetry`` times as large, whatever their size (the real train windows' max beats |min|,
    both from the median, by ~3% at every std, the 48 real test segments' by 7-11%, while their quantiles up to
    the 99th, the floor's, are symmetric about the median); less the mean that adds. ``y`` is Gaussian given the
    envelopes (the measured noises are independent, of unit variance), so ``E|y| = sqrt(2 / pi) sd`` with
    ``sd^2 = amp^2 (Q^2 + E^2 (w k^2 + 1 - w))``."""
    sd = amp * np.sqrt(quiet_env**2 + active_env**2 * (w * gain**2 + 1 - w))
    return y + model.asymmetry * (np.abs(y) - math.sqrt(2 / math.pi) * sd)


def simulate_cycle(plan: CyclePlan, model: SignalModel, seed: int) -> Iterator[np.ndarray]:
    """The cycle's int16 signal in chunks of ``CHUNK_ROWS`` rows (the filters start from a warm-up, so the first
    rows look like the rest)."""
    rng = _rng(seed, plan.stream, plan.index)
    knots = _knots(rng, plan.rows, model)
    st = _State()
    if model.spectrum == "measured":
        st.tails = rng.standard_normal((4, FIR_TAPS - 1))
        st.low = rng.normal(0.0, model.low_mod_sd, knots.shape[1])
        if model.block_sd > 0:
            st.blocks = rng.normal(0.0, model.block_sd, (plan.rows - 1 + plan.block_offset) // BLOCK + 1)
    else:
        _background(rng, model, 4000, st)
    for j0 in range(0, plan.rows, CHUNK_ROWS):
        yield _chunk(rng, plan, model, knots, st, j0, min(CHUNK_ROWS, plan.rows - j0))


def simulate_train(
    seed: int = 0,
    rows: int = DEFAULT_ROWS,
    cycles: int = DEFAULT_CYCLES,
    segment_length: int = SEGMENT_LENGTH,
    model: SignalModel | str | None = None,
) -> Iterator[tuple[CyclePlan, np.ndarray, np.ndarray]]:
    """train.csv's content in memory, chunk by chunk: ``(cycle plan, int16 signal, float64 ttf)``.

    Exactly what ``generate`` writes (same arguments, same numbers), without the arguments' validation."""
    model = resolve_model(model)[1]
    for plan in plan_train(seed, rows, cycles, segment_length, model):
        j0 = 0
        for x in simulate_cycle(plan, model, seed):
            yield plan, x, ttf_at(plan, np.arange(j0, j0 + len(x), dtype=np.int64))
            j0 += len(x)


def window_state(
    info: SynthInfo, starts, length: int | None = None, model: SignalModel | str | None = None
) -> dict[str, np.ndarray]:
    """The generator's hidden state over train.csv windows ``starts .. starts + length`` (0-based data rows)
    of the dataset ``info`` describes (``model``: the one it was written with, default ``info.model``): what
    no model can see directly, only through the signal. One entry per window: ``cycle``, ``ttf`` (the label:
    time_to_failure at the last row), ``activity`` (the mean activity ``g`` over the window, the event rate
    ``lambda`` relative to ``event_rate``: what drives the events' rate and size and the steady part, after
    the fade that follows a failure burst), ``background`` (the quiet background's mean modulation),
    ``cycle_gain`` (``a_c``), ``cycle_activity`` (``A_c``) and ``level``. Models given these
    (``benchmarks/oracle_synth.py``) estimate the lowest CV MAE the signal allows (an estimate, not a bound). A
    window that spans a quake, reaches outside train.csv or is shorter than ``BIN_ROWS`` (the state is
    evaluated every ``BIN_ROWS`` rows) raises :class:`LanlError`, and so does a dataset whose recorded
    ``model_digest`` is not that of the preset's present constants (written while they were others: its
    hidden state is not theirs)."""
    name, resolved = resolve_model(info.model if model is None else model)
    if model is None and info.model_digest and info.model_digest != model_digest(resolved):
        raise LanlError(
            f"window_state: {info.out_dir} was written by other constants of model {name} (digest "
            f"{info.model_digest}, now {model_digest(resolved)}): regenerate it, or pass the model it was "
            "written with"
        )
    model = resolved
    length = length or info.segment_length
    plans = plan_train(info.seed, info.rows, info.cycles, info.segment_length, model)
    cycle_starts = np.array([p.start for p in plans])
    starts = np.asarray(starts, dtype=np.int64)
    if length < BIN_ROWS:
        raise LanlError(f"window_state: windows of {length} rows are shorter than {BIN_ROWS} (one state bin)")
    if len(starts) and (starts.min() < 0 or starts.max() + length > info.rows):
        bad = int(starts[(starts < 0) | (starts + length > info.rows)][0])
        raise LanlError(
            f"window_state: the window at row {bad} reaches outside train.csv's {info.rows:,} rows"
        )
    cycle = np.searchsorted(cycle_starts, starts, side="right") - 1
    names = ("ttf", "activity", "background", "cycle_gain", "cycle_activity", "level")
    out = {"cycle": cycle, **{k: np.zeros(len(starts)) for k in names}}
    offsets = np.arange(BIN_ROWS // 2, length, BIN_ROWS)
    for c in np.unique(cycle):
        plan, rows = plans[c], np.flatnonzero(cycle == c)
        local = starts[rows] - plan.start
        if local.min() < 0 or local.max() + length > plan.rows:
            raise LanlError(
                f"window_state: a window of cycle {c} spans a quake (give windows inside a cycle)"
            )
        knots = _knots(_rng(info.seed, plan.stream, plan.index), plan.rows, model)
        at = (local[:, None] + offsets[None, :]).ravel()
        if model.spectrum == "measured":
            level, _, rate, mod = _measured_envelope(plan, model, knots, at)
        else:
            level, scale, rate = _envelope(plan, model, knots, at)
            mod = scale / (plan.amp * model.noise_sd)
        shape = (len(rows), len(offsets))
        out["ttf"][rows] = ttf_at(plan, local + length - 1)
        out["activity"][rows] = rate.reshape(shape).mean(axis=1) / model.event_rate
        out["background"][rows] = mod.reshape(shape).mean(axis=1)
        out["level"][rows] = level.reshape(shape).mean(axis=1)
        out["cycle_gain"][rows], out["cycle_activity"][rows] = plan.amp, plan.activity
    return out


# ----------------------------------------------------------------------------------------------------------
# Test ids, arguments and the writers
# ----------------------------------------------------------------------------------------------------------


def random_test_ids(seed: int, n: int) -> list[str]:
    """``n`` unique ``seg_<6 hex>`` ids drawn from the seed (in draw order; the writer sorts them)."""
    if n > 16**6:
        raise LanlError(f"test_segments={n:,} exceeds the {16**6:,} distinct 6-hex-digit segment ids")
    rng = _rng(seed, _STREAM_IDS)
    seen: dict[int, None] = {}
    while len(seen) < n:
        for v in rng.integers(0, 16**6, n - len(seen)):
            seen.setdefault(int(v))
    return [f"seg_{v:06x}" for v in seen]


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise LanlError(f"{name} must be an integer >= {low:,}, got {value!r}")
    return int(value)


def _check_sizes(seed, rows, cycles, test_segments, segment_length) -> None:
    """Clear errors for arguments the generator cannot honour."""
    _check_int("seed", seed, 0)
    _check_int("cycles", cycles, 2)
    _check_int("segment_length", segment_length, 1)
    _check_int("rows", rows, 1)
    if test_segments is not None:
        _check_int("test_segments", test_segments, 0)
    need = min_rows(cycles, segment_length)
    if rows < need:
        raise LanlError(
            f"rows={rows:,} is too small for {cycles} cycles: each cycle needs at least {MIN_SEGMENTS_PER_CYCLE} "
            f"segments of {segment_length:,} rows plus one {BLOCK:,}-row block, so rows must be >= {need:,}"
        )


def _test_ids(seed: int, test_segments: int | None, sample_submission) -> tuple[list[str], bool]:
    """(ids in segment order, whether they came from a sample submission)."""
    if sample_submission is None:
        return random_test_ids(seed, DEFAULT_TEST_SEGMENTS if test_segments is None else test_segments), False
    ids = read_sample_submission(Source(Path(sample_submission)))
    if test_segments is not None and test_segments != len(ids):
        raise LanlError(
            f"test_segments={test_segments:,} contradicts {sample_submission} ({len(ids):,} seg_ids); "
            "leave test_segments out to use the file's count"
        )
    return ids, True


def _check_out_dir(out_dir: str | Path) -> Path:
    """Refuse to replace anything but an empty folder or an earlier synthetic dataset."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise LanlError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "synth_info.json").is_file():
        raise LanlError(
            f"{out_dir} is not empty and holds no synth_info.json: refusing to replace it with a synthetic dataset"
        )
    return out_dir


def _write_train(path: Path, plans: list[CyclePlan], model: SignalModel, seed: int) -> None:
    bar = progress(total=sum(p.rows for p in plans), desc="train.csv", unit="row", unit_scale=True)
    with open(path, "wb") as f, bar:
        f.write(b"acoustic_data,time_to_failure\n")
        for plan in plans:
            j0 = 0
            for x in simulate_cycle(plan, model, seed):
                f.write(format_train_rows(x, ttf_at(plan, np.arange(j0, j0 + len(x), dtype=np.int64))))
                j0 += len(x)
                bar.update(len(x))


def _pick_windows(
    seed: int, plans: list[CyclePlan], n: int, segment_length: int, burst_windows: float = 0.0
) -> list[tuple[int, int]]:
    """``n`` distinct non-overlapping windows ``(cycle, start row)`` of the held-out cycles, in random order.

    With ``burst_windows`` (the real data's windows per cycle), a window holding its cycle's failure burst stays
    in the pool with probability ``windows in the cycle / burst_windows``: a scaled-down cycle is shorter than a
    real one, and would otherwise put its one failure burst in a larger share of the test segments."""
    rng = _rng(seed, _STREAM_WINDOWS)
    pool = []
    for p in plans:
        offset = int(rng.integers(0, p.rows % segment_length + 1))
        count = (p.rows - offset) // segment_length
        starts = [offset + k * segment_length for k in range(count)]
        if burst_windows > 0 and rng.random() >= count / burst_windows:
            starts = [a for a in starts if not a <= p.burst_row < a + segment_length]
        pool += [(p.index, a) for a in starts]
    return [pool[i] for i in rng.permutation(len(pool))[:n]]


def iter_test_segments(
    seed: int, plans: list[CyclePlan], n: int, segment_length: int, model: SignalModel
) -> Iterator[tuple[int, np.ndarray]]:
    """``(k, int16 window)`` for the ``n`` test segments (``k``: position in the id list), cycle by cycle."""
    windows = _pick_windows(seed, plans, n, segment_length, model.test_burst_windows)
    for plan in plans:
        mine = [(k, start) for k, (c, start) in enumerate(windows) if c == plan.index]
        if mine:
            signal = np.concatenate(list(simulate_cycle(plan, model, seed)))
            for k, start in mine:
                yield k, signal[start : start + segment_length]


def simulate_test(
    seed: int = 0,
    rows: int = DEFAULT_ROWS,
    cycles: int = DEFAULT_CYCLES,
    test_segments: int = DEFAULT_TEST_SEGMENTS,
    segment_length: int = SEGMENT_LENGTH,
    model: SignalModel | str | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """The test segments ``generate`` writes for these arguments, in memory: ``(k, int16 window)``, where
    ``k`` indexes the ids in segment order (sample_submission order, or the random ids before sorting)."""
    model = resolve_model(model)[1]
    train = plan_train(seed, rows, cycles, segment_length, model)
    test = plan_test(seed, rows_per_second(train), test_segments, segment_length, model)
    yield from iter_test_segments(seed, test, test_segments, segment_length, model)


def _write_test(test_dir: Path, ids: list[str], plans, model: SignalModel, seed: int, segment_length: int):
    test_dir.mkdir()
    segments = iter_test_segments(seed, plans, len(ids), segment_length, model)
    for k, window in progress(segments, total=len(ids), desc="test segments", unit="seg"):
        (test_dir / f"{ids[k]}.csv").write_bytes(b"acoustic_data\n" + format_signal_rows(window))


def _write_sample_submission(path: Path, ids: list[str]) -> None:
    path.write_text("seg_id,time_to_failure\n" + "".join(f"{sid},0\n" for sid in ids))


def generate(
    out_dir: str | Path,
    *,
    seed: int = 0,
    rows: int = DEFAULT_ROWS,
    cycles: int = DEFAULT_CYCLES,
    test_segments: int | None = None,
    sample_submission: str | Path | None = None,
    segment_length: int = SEGMENT_LENGTH,
    model: SignalModel | str | None = None,
) -> SynthInfo:
    """Write a synthetic dataset in the Kaggle layout to ``out_dir`` (replaced whole, atomically).

    ``test_segments`` defaults to ``DEFAULT_TEST_SEGMENTS``, or to the row count of ``sample_submission``,
    whose ids are then used in its order (otherwise ids are random ``seg_<6 hex>``, written sorted).
    ``out_dir`` must be absent, empty, or an earlier synthetic dataset. Raises ``LanlError`` on bad arguments."""
    model_name, model = resolve_model(model)
    _check_sizes(seed, rows, cycles, test_segments, segment_length)
    ids, given = _test_ids(seed, test_segments, sample_submission)
    out_dir = _check_out_dir(out_dir)
    train = plan_train(seed, rows, cycles, segment_length, model)
    test = plan_test(seed, rows_per_second(train), len(ids), segment_length, model)
    info = SynthInfo(
        out_dir=out_dir,
        seed=seed,
        rows=rows,
        cycles=cycles,
        test_segments=len(ids),
        segment_length=segment_length,
        cycle_starts=np.array([p.start for p in train], dtype=np.int64),
        test_ids=tuple(ids if given else sorted(ids)),
        cycle_durations=np.array([p.duration for p in train]),
        model=model_name,
        model_digest=model_digest(model),
    )
    with atomic_dir(out_dir) as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; a dataset folder is for reading
        _write_train(tmp / "train.csv", train, model, seed)
        _write_test(tmp / "test", ids, test, model, seed, segment_length)
        _write_sample_submission(tmp / "sample_submission.csv", list(info.test_ids))
        (tmp / "synth_info.json").write_text(json.dumps(info.to_json(), indent=2) + "\n")
    return info
