"""Writing the Kaggle CSVs fast and exactly: numba kernels that print int16 values and ``'%.11g'`` floats (the
way the real train.csv prints time_to_failure) into a byte buffer, for the synthetic generator
(:mod:`lanl.data.synth`). ``format_g11(values) == ['%.11g' % v for v in values]`` for 0 and
1e-11 <= v < 1e10 (tests/test_synth.py checks it against printf on random and edge values).
"""

from __future__ import annotations

import numpy as np
from numba import njit

TTF_RANGE = (1e-11, 1e10)  # the floats the '%.11g' kernel prints (and 0)

_POW10 = np.array([10.0**k for k in range(23)])  # all exact doubles
TRAIN_ROW_BYTES = 32  # '-32768' ',' '%.11g' (at most 17 chars) '\n'


@njit(cache=True, inline="always")
def _two_prod(a, b):
    """``a * b == p + err`` exactly (Dekker's product with Veltkamp's split; no FMA needed)."""
    p = a * b
    t = 134217729.0 * a
    ah = t - (t - a)
    al = a - ah
    t = 134217729.0 * b
    bh = t - (t - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(cache=True, inline="always")
def _round_scaled(v, k, pow10):
    """``v * 10**k`` rounded to an integer, half to even, exactly (``0 <= k <= 22``, result < 2**52).

    With ``v 10^k = hi + lo`` exactly, ``n = floor(hi)`` and ``d = (hi - n) - 1/2`` (both exact): ``d`` is a
    multiple of ulp(hi) and ``|lo| <= ulp(hi) / 2``, so the sign of ``d + lo`` is that of ``d`` when ``d != 0``,
    else that of ``lo``; ``d = lo = 0`` is a true tie."""
    hi, lo = _two_prod(v, pow10[k])
    n = np.floor(hi)
    d = (hi - n) - 0.5
    m = np.int64(n)
    if d > 0 or (d == 0 and (lo > 0 or (lo == 0 and m % 2 == 1))):
        m += 1
    return m


@njit(cache=True, inline="always")
def _g11_digits(v, pow10):
    """(m, e) with ``10**10 <= m < 10**11`` and ``v ~ m 10^(e - 10)`` correctly rounded, for 1e-11 <= v < 1e10."""
    e = np.int64(np.floor(np.log10(v)))
    for _ in range(4):
        m = _round_scaled(v, 10 - e, pow10)
        if m >= 100_000_000_000:
            e += 1
        elif m < 10_000_000_000:
            e -= 1
        else:
            break
    return m, e


@njit(cache=True, inline="always")
def _put_digits(buf, pos, digits, a, b):
    for i in range(a, b):
        buf[pos] = digits[i]
        pos += 1
    return pos


@njit(cache=True, inline="always")
def _put_g11(v, buf, pos, digits, pow10):
    """Write ``'%.11g' % v`` (``v == 0`` or ``1e-11 <= v < 1e10``) at ``buf[pos]``; return the new end.

    %g with precision P=11 and decimal exponent X: fixed notation with P-1-X decimals when -4 <= X < P, else
    ``d.ddde+XX``; trailing zeros (and a bare point) are removed."""
    if v == 0.0:
        buf[pos] = 48
        return pos + 1
    m, e = _g11_digits(v, pow10)
    for i in range(10, -1, -1):
        digits[i] = 48 + m % 10
        m //= 10
    nd = 11
    while nd > 1 and digits[nd - 1] == 48:
        nd -= 1
    if 0 <= e:
        pos = _put_digits(buf, pos, digits, 0, e + 1)
        if nd > e + 1:
            buf[pos] = 46
            pos = _put_digits(buf, pos + 1, digits, e + 1, nd)
        return pos
    if e >= -4:
        buf[pos], buf[pos + 1] = 48, 46
        pos += 2
        for _ in range(-e - 1):
            buf[pos] = 48
            pos += 1
        return _put_digits(buf, pos, digits, 0, nd)
    buf[pos] = digits[0]
    pos += 1
    if nd > 1:
        buf[pos] = 46
        pos = _put_digits(buf, pos + 1, digits, 1, nd)
    buf[pos], buf[pos + 1] = 101, 45  # 'e-'
    buf[pos + 2], buf[pos + 3] = 48 + (-e) // 10, 48 + (-e) % 10
    return pos + 4


@njit(cache=True, inline="always")
def _put_int(x, buf, pos, digits):
    """Write the decimal integer ``x`` at ``buf[pos]``; return the new end."""
    if x < 0:
        buf[pos] = 45
        pos += 1
        x = -x
    k = 0
    while True:
        digits[k] = 48 + x % 10
        x //= 10
        k += 1
        if x == 0:
            break
    for i in range(k - 1, -1, -1):
        buf[pos] = digits[i]
        pos += 1
    return pos


@njit(cache=True)
def _format_train(sig, ttf, buf, pow10):
    """``'%d,%.11g\\n'`` rows into ``buf``; returns the bytes written."""
    digits = np.empty(24, np.uint8)
    pos = 0
    for i in range(sig.shape[0]):
        pos = _put_int(np.int64(sig[i]), buf, pos, digits)
        buf[pos] = 44
        pos = _put_g11(ttf[i], buf, pos + 1, digits, pow10)
        buf[pos] = 10
        pos += 1
    return pos


@njit(cache=True)
def _format_ints(sig, buf):
    """``'%d\\n'`` rows into ``buf``; returns the bytes written."""
    digits = np.empty(24, np.uint8)
    pos = 0
    for i in range(sig.shape[0]):
        pos = _put_int(np.int64(sig[i]), buf, pos, digits)
        buf[pos] = 10
        pos += 1
    return pos


@njit(cache=True)
def _format_floats(values, buf, pow10):
    """``'%.11g\\n'`` rows into ``buf``; returns the bytes written."""
    digits = np.empty(24, np.uint8)
    pos = 0
    for i in range(values.shape[0]):
        pos = _put_g11(values[i], buf, pos, digits, pow10)
        buf[pos] = 10
        pos += 1
    return pos


def _check_ttf_domain(ttf: np.ndarray) -> None:
    ok = (ttf == 0) | ((ttf >= TTF_RANGE[0]) & (ttf < TTF_RANGE[1]))
    if not ok.all():
        raise ValueError(
            f"'%.11g' kernel handles 0 and {TTF_RANGE[0]:g} <= v < {TTF_RANGE[1]:g}, got {ttf[~ok][0]!r}"
        )


def format_g11(values: np.ndarray) -> list[str]:
    """``['%.11g' % v for v in values]`` through the writer's kernel (0 or 1e-11 <= v < 1e10)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    _check_ttf_domain(values)
    buf = np.empty(len(values) * TRAIN_ROW_BYTES, np.uint8)
    n = _format_floats(values, buf, _POW10)
    return buf[:n].tobytes().decode().split("\n")[:-1]


def format_train_rows(signal: np.ndarray, ttf: np.ndarray) -> bytes:
    """train.csv data rows (``'%d,%.11g\\n'``) for int16 ``signal`` and float64 ``ttf``."""
    ttf = np.ascontiguousarray(ttf, dtype=np.float64)
    _check_ttf_domain(ttf)
    buf = np.empty(len(signal) * TRAIN_ROW_BYTES, np.uint8)
    return buf[: _format_train(np.ascontiguousarray(signal, dtype=np.int16), ttf, buf, _POW10)].tobytes()


def format_signal_rows(signal: np.ndarray) -> bytes:
    """Test segment data rows (``'%d\\n'``) for int16 ``signal``."""
    buf = np.empty(len(signal) * 8, np.uint8)
    return buf[: _format_ints(np.ascontiguousarray(signal, dtype=np.int16), buf)].tobytes()
