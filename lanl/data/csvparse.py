"""Numba kernels that parse and validate the LANL CSV formats straight from bytes.

``train.csv`` lines are ``<int16>,<float>\\n``; test segment lines are ``<int16>\\n``. The kernels parse a buffer
that ends on a line boundary, split into pieces parsed in parallel (``prange``), and return per piece the rows
parsed and the first error (code and byte offset) so the caller can name the line.

Floats are parsed exactly with Clinger's fast path: a mantissa of at most 2**53 and a power of ten of at most
22 in magnitude are both exact doubles, so one IEEE multiplication or division rounds correctly, giving the
same double as ``float(text)``. A value outside that path (more than ~15 significant digits, or a power of ten
beyond 22) is still validated here like any other, but its conversion is left to the caller: its row's
time_to_failure holds ``-1 - (byte offset of its text)`` (valid values are never negative), and the caller
converts those texts exactly (:func:`slow_texts`) and checks the doubles (infinite, negative) itself, so every
line is checked the same way and named by the same line number whichever path converts it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

OK = 0
BAD_INT = 1
INT_RANGE = 2
MISSING_FIELD = 3
BAD_FLOAT = 4
NEGATIVE = 5
NAN = 6
EXTRA_FIELD = 7
EMPTY_LINE = 8
SLOW = 9  # internal: the value's conversion is left to the caller (see the module docstring)
INFINITE = 10

MESSAGES = {
    BAD_INT: "acoustic_data is empty or not an integer",
    INT_RANGE: "acoustic_data is outside the int16 range [-32768, 32767]",
    MISSING_FIELD: "expected 2 fields (acoustic_data,time_to_failure), found 1",
    BAD_FLOAT: "time_to_failure is empty or not a number",
    NEGATIVE: "time_to_failure is negative",
    NAN: "time_to_failure is NaN",
    EXTRA_FIELD: "unexpected extra field or characters after the last value",
    EMPTY_LINE: "empty line",
    INFINITE: "time_to_failure is infinite (beyond the float64 range)",
}

_POW10 = np.array([10.0**k for k in range(23)])
_MAX_EXACT = 1 << 53
_NL = 10
_CR = 13


@njit(cache=True, nogil=True, inline="always")
def _parse_int16(buf, i):
    """Parse an optionally signed integer at ``buf[i]``; return (value, next index, error code).

    Pieces always end with a newline, which stops every digit loop, so no bounds checks are needed.
    """
    c = buf[i]
    neg = c == 45
    if c == 45 or c == 43:  # '-' or '+'
        i += 1
    v = 0
    start = i
    d = buf[i] - 48
    while d >= 0 and d <= 9:
        v = v * 10 + d
        i += 1
        d = buf[i] - 48
    nd = i - start
    if nd == 0:
        return 0, i, BAD_INT
    if nd > 6:
        return 0, i, INT_RANGE
    if neg:
        v = -v
    if v < -32768 or v > 32767:
        return 0, i, INT_RANGE
    return v, i, OK


@njit(cache=True, nogil=True, inline="always")
def _parse_float(buf, i, pow10):
    """Parse a non-negative decimal float at ``buf[i]``; return (value, next index, error code)."""
    c = buf[i]
    neg = c == 45
    if c == 45 or c == 43:
        i += 1
        c = buf[i]
    if c == 110 or c == 78:  # 'n' / 'N' of nan
        return 0.0, i, NAN
    mant = 0
    start = i
    d = np.int64(c) - 48
    while d >= 0 and d <= 9:
        mant = mant * 10 + d
        i += 1
        d = np.int64(buf[i]) - 48
    nd = i - start
    frac = 0
    if buf[i] == 46:  # '.'
        i += 1
        fstart = i
        d = np.int64(buf[i]) - 48
        while d >= 0 and d <= 9:
            mant = mant * 10 + d
            i += 1
            d = np.int64(buf[i]) - 48
        frac = i - fstart
        nd += frac
    if nd == 0:
        return 0.0, i, BAD_FLOAT
    e = 0
    c = buf[i]
    if c == 101 or c == 69:  # 'e' / 'E'
        i += 1
        eneg = buf[i] == 45
        if buf[i] == 45 or buf[i] == 43:
            i += 1
        estart = i
        d = np.int64(buf[i]) - 48
        while d >= 0 and d <= 9:
            if e < 100000:
                e = e * 10 + d
            i += 1
            d = np.int64(buf[i]) - 48
        if i == estart:
            return 0.0, i, BAD_FLOAT
        if eneg:
            e = -e
    if nd > 18:  # the int64 mantissa may have overflowed: exact slow path
        return 0.0, i, SLOW
    if mant == 0:
        return 0.0, i, OK
    if neg:
        return 0.0, i, NEGATIVE
    e10 = e - frac
    if mant > _MAX_EXACT or e10 > 22 or e10 < -22:
        return 0.0, i, SLOW
    if e10 >= 0:
        return mant * pow10[e10], i, OK
    return mant / pow10[-e10], i, OK


@njit(cache=True, nogil=True, inline="always")
def _end_of_line(buf, i):
    """Accept ``\\n`` or ``\\r\\n`` at ``buf[i]``; return (index after it, ok)."""
    if buf[i] == _CR:
        i += 1
    if buf[i] == _NL:
        return i + 1, True
    return i, False


@njit(cache=True, nogil=True)
def _parse_train_piece(buf, start, end, sig, ttf, out0, pow10, jumps):
    """Parse one piece; rows where time_to_failure rises above the previous row's go into ``jumps``.

    A value left to the caller (``SLOW``) is stored as ``-1 - offset of its text`` and counted; jumps are
    not looked for around such rows (the caller recomputes them once the values are known)."""
    i = start
    r = out0
    nj = 0
    ns = 0
    prev = np.inf
    while i < end:
        if buf[i] == _NL or buf[i] == _CR:
            return r - out0, EMPTY_LINE, i, nj, ns
        v, i, err = _parse_int16(buf, i)
        if err != OK:
            return r - out0, err, i, nj, ns
        if buf[i] != 44:  # ','
            c = buf[i]
            return r - out0, (MISSING_FIELD if c == _NL or c == _CR else BAD_INT), i, nj, ns
        i += 1
        text = i
        t, i, err = _parse_float(buf, i, pow10)
        if err == SLOW:
            t = -1.0 - text
            ns += 1
        elif err != OK:
            return r - out0, err, i, nj, ns
        i, ok = _end_of_line(buf, i)
        if not ok:
            return r - out0, (EXTRA_FIELD if buf[i] == 44 else BAD_FLOAT), i, nj, ns
        sig[r] = v
        ttf[r] = t
        if t > prev:
            if nj < len(jumps):
                jumps[nj] = r
            nj += 1
        prev = t
        r += 1
    return r - out0, OK, end, nj, ns


@njit(cache=True, nogil=True)
def _parse_signal_piece(buf, start, end, sig, out0):
    i = start
    r = out0
    while i < end:
        if buf[i] == _NL or buf[i] == _CR:
            return r - out0, EMPTY_LINE, i
        v, i, err = _parse_int16(buf, i)
        if err != OK:
            return r - out0, err, i
        i, ok = _end_of_line(buf, i)
        if not ok:
            return r - out0, (EXTRA_FIELD if buf[i] == 44 else BAD_INT), i
        sig[r] = v
        r += 1
    return r - out0, OK, end


@njit(cache=True, nogil=True)
def _count_newlines(buf, start, end):
    n = 0
    for i in range(start, end):
        n += buf[i] == _NL
    return n


@njit(cache=True)
def split_lines(buf, end, n_pieces):
    """Boundaries (n_pieces + 1) that cut ``buf[:end]`` (ending with a newline) into pieces of whole lines."""
    bounds = np.empty(n_pieces + 1, np.int64)
    bounds[0] = 0
    for k in range(1, n_pieces):
        j = max(bounds[k - 1], (end * k) // n_pieces)
        while 0 < j < end and buf[j - 1] != _NL:
            j += 1
        bounds[k] = j
    bounds[n_pieces] = end
    return bounds


@njit(cache=True, parallel=True, nogil=True)
def count_lines(buf, bounds):
    n = len(bounds) - 1
    counts = np.zeros(n, np.int64)
    for k in prange(n):
        counts[k] = _count_newlines(buf, bounds[k], bounds[k + 1])
    return counts


@njit(cache=True, parallel=True, nogil=True)
def parse_train(buf, bounds, sig, ttf, pow10, jumps):
    """Parse piece k, bytes ``[bounds[k], bounds[k+1])``, into rows ``sig[k]`` / ``ttf[k]`` (2-D outputs with
    room for the piece's most possible rows: a line takes at least 4 bytes).

    Returns per piece (rows, error code, error byte offset, number of upward ttf jumps inside the piece,
    number of values left to the caller); the first ``jumps.shape[1]`` jump rows of piece k (row indices
    within the piece) are in ``jumps[k]``.
    """
    n = len(bounds) - 1
    res = np.zeros((n, 5), np.int64)
    for k in prange(n):
        rows, code, pos, nj, ns = _parse_train_piece(
            buf, bounds[k], bounds[k + 1], sig[k], ttf[k], 0, pow10, jumps[k]
        )
        res[k, 0] = rows
        res[k, 1] = code
        res[k, 2] = pos
        res[k, 3] = nj
        res[k, 4] = ns
    return res


@njit(cache=True, parallel=True, nogil=True)
def parse_signal(buf, bounds, offsets, sig):
    n = len(bounds) - 1
    res = np.zeros((n, 3), np.int64)
    for k in prange(n):
        rows, code, pos = _parse_signal_piece(buf, bounds[k], bounds[k + 1], sig, offsets[k])
        res[k, 0] = rows
        res[k, 1] = code
        res[k, 2] = pos
    return res


@njit(cache=True, nogil=True)
def _text_end(buf, i):
    """End of the number text at ``buf[i]`` (validated: it ends at ``\\r`` or ``\\n``)."""
    while buf[i] != _NL and buf[i] != _CR:
        i += 1
    return i


@njit(cache=True, nogil=True)
def _text_ends(buf, starts):
    ends = np.empty(len(starts), np.int64)
    for k in range(len(starts)):
        ends[k] = _text_end(buf, starts[k])
    return ends


@njit(cache=True, nogil=True)
def _gather(buf, starts, ends, width):
    """The texts ``buf[starts[k]:ends[k]]`` as rows of a zero-padded (n, width) byte matrix."""
    out = np.zeros((len(starts), width), np.uint8)
    for k in range(len(starts)):
        out[k, : ends[k] - starts[k]] = buf[starts[k] : ends[k]]
    return out


_GATHER_BYTES = 64 << 20


def slow_texts(buf: np.ndarray, marked: np.ndarray) -> np.ndarray:
    """The exact doubles of the values :func:`parse_train` left to the caller (``marked``: their stored
    ``-1 - offset``), converted as ``float(text)`` converts them (correctly rounded; a power of ten beyond
    the float64 range gives inf or 0): by numpy in one go, or text by text when the texts are huge."""
    starts = (-1 - np.asarray(marked)).astype(np.int64)
    ends = _text_ends(buf, starts)
    width = int((ends - starts).max(initial=1))
    if len(starts) * width > _GATHER_BYTES:
        return np.array([float(buf[a:b].tobytes()) for a, b in zip(starts, ends, strict=True)])
    texts = _gather(buf, starts, ends, width)
    return texts.view(f"S{width}").ravel().astype(np.float64)


@njit(cache=True)
def last_newline(buf, end):
    for i in range(end - 1, -1, -1):
        if buf[i] == _NL:
            return i
    return -1


def pow10() -> np.ndarray:
    return _POW10


# ------------------------------------------------------------------------------------------ content digest
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, inline="always")
def _mix(x):
    """splitmix64's finaliser: every input bit moves every output bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, nogil=True, parallel=True)
def rows_digest(sig, ttf_bits, row0):
    """A 64-bit digest of rows ``row0 ..`` (int16 ``sig``, float64 bits ``ttf_bits``, or an empty array for
    signal-only rows): the sum mod 2**64 of one mixed hash per row of (row number, signal, time_to_failure).
    Being a sum, the digests of consecutive parts add up to the digest of the whole, in any order of parts;
    the row number in each hash makes it depend on the rows' order."""
    total = np.uint64(0)
    with_ttf = len(ttf_bits) == len(sig)
    for i in prange(len(sig)):
        key = np.uint64(row0 + i) * _GOLDEN + np.uint64(np.uint16(sig[i]))
        bits = ttf_bits[i] if with_ttf else np.uint64(0)
        total += _mix(_mix(key) ^ bits)
    return total
