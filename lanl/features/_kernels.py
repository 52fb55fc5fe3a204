"""Numba kernels shared by the feature families: each loops over the rows of a 2-D float64 block.

Performance notes (numba 0.68, measured): loops index arrays (`for i in range(n)`), never iterate them
(`for v in a` is not vectorised); clamps and running min/max are written as selects (`v if v > lo else
lo`), since the builtin min/max block vectorisation; reductions that may be reordered say so with
`fastmath={"reassoc"}`.

Every kernel is a plain loop with an obvious per-row meaning; the families wrap them and document the maths.
``cache=True`` keeps the compiled code on disk (``__pycache__``) so only the first run pays for the JIT.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_SMALL = 64  # below this many values a plain sort is cheapest
_BUCKETS_PER_VALUE = 32  # histogram resolution: about this many values per bucket on the first pass


@njit(cache=True, error_model="numpy")
def _bucket(v, base, scale, nb):
    """Bucket of v: 0 below ``base``, else 1 + floor((v - base) scale), capped at nb - 1 (monotone in v)."""
    t = (v - base) * scale + 1.0
    t = t if t > 0.0 else 0.0
    return int(t) if t < nb - 1.0 else nb - 1


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "nnan"})
def _minmax(a):
    lo = a[0]
    hi = a[0]
    for i in range(a.size):
        v = a[i]
        lo = v if v < lo else lo
        hi = v if v > hi else hi
    return lo, hi


@njit(cache=True, error_model="numpy")
def _kth_inplace(buf, n, k):
    """The k-th smallest (0-based) of ``buf[:n]``, by repeated histogram narrowing; reorders ``buf``."""
    nb = 256
    while n > _SMALL:
        lo, hi = _minmax(buf[:n])
        if lo == hi:
            return lo
        scale = (nb - 2) / (hi - lo)
        if not np.isfinite(scale) or scale <= 0.0:
            break
        counts = np.zeros(nb, np.int64)
        for i in range(n):
            counts[_bucket(buf[i], lo, scale, nb)] += 1
        b = 0
        while k >= counts[b]:
            k -= counts[b]
            b += 1
        if counts[b] == n:  # no progress (extreme range): fall back to a sort
            break
        m = 0
        for i in range(n):
            v = buf[i]
            if _bucket(v, lo, scale, nb) == b:
                buf[m] = v
                m += 1
        n = m
    return np.sort(buf[:n])[k]


@njit(cache=True)
def _positive(v):
    """max(v, 0) written as a select (the builtin max blocks vectorisation in numba)."""
    return v if v > 0.0 else 0.0


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _sum(a):
    total = 0.0
    for i in range(a.size):
        total += a[i]
    return total


@njit(cache=True)
def n_buckets(n):
    """Histogram size for selecting in ``n`` values (about _BUCKETS_PER_VALUE values a bucket)."""
    return max(16, min(1 << 16, n // _BUCKETS_PER_VALUE))


@njit(cache=True, error_model="numpy")
def _bucket_range(a):
    """The bulk of ``a`` for bucketing: its 0.5% and 99.5% quantiles estimated on a strided sample of about
    1,024 values (its min and max when those coincide). Only the speed of selection depends on it."""
    step = max(1, a.size // 1024)
    sample = np.sort(a[::step])
    cut = sample.size // 200
    base, top = sample[cut], sample[sample.size - 1 - cut]
    if top <= base:
        base, top = _minmax(a)
    return base, top


@njit(cache=True, error_model="numpy")
def _histogram_row(a, starts):
    """Bucket start offsets (``starts``, len nb + 1) of ``a``; returns (base, scale) of the buckets.

    Buckets 1..nb-2 split the bulk of the values evenly, 0 and nb-1 take the tails. scale = -1 marks a
    constant row (base is its value); scale = 0 a row too short or too spread to bucket (selection sorts)."""
    n = a.size
    nb = starts.size - 1
    base, top = _bucket_range(a)
    if top == base:
        return base, -1.0
    scale = (nb - 2) / (top - base)
    if n <= _SMALL or not np.isfinite(scale):
        return base, 0.0
    starts[:] = 0
    for i in range(n):
        starts[_bucket(a[i], base, scale, nb) + 1] += 1
    for b in range(nb):
        starts[b + 1] += starts[b]
    return base, scale


@njit(cache=True, error_model="numpy")
def _select_row(a, base, scale, starts, ks, out):
    """``out[j]`` = the ``ks[j]``-th smallest of ``a`` given its histogram: one pass gathers only the
    buckets holding a wanted rank, then each is narrowed or sorted."""
    if scale < 0.0:
        out[:] = base
        return
    if scale == 0.0:
        s = np.sort(a)
        for j in range(ks.size):
            out[j] = s[ks[j]]
        return
    nb = starts.size - 1
    kb = np.searchsorted(starts[1:], ks, side="right")
    offset = np.full(nb, -1, np.int64)
    total = 0
    for j in range(ks.size):
        b = kb[j]
        if offset[b] < 0:
            offset[b] = total
            total += starts[b + 1] - starts[b]
    buf = np.empty(total, np.float64)
    fill = offset.copy()
    for i in range(a.size):
        v = a[i]
        b = _bucket(v, base, scale, nb)
        if offset[b] >= 0:
            buf[fill[b]] = v
            fill[b] += 1
    for j in range(ks.size):
        b = kb[j]
        part = buf[offset[b] : offset[b] + starts[b + 1] - starts[b]].copy()
        out[j] = _kth_inplace(part, part.size, ks[j] - starts[b])


@njit(cache=True, error_model="numpy")
def histograms(x, nb):
    """Per row: bucket base, scale and start offsets, for later ``select_rows`` calls."""
    n_rows = x.shape[0]
    base = np.empty(n_rows, np.float64)
    scale = np.empty(n_rows, np.float64)
    starts = np.zeros((n_rows, nb + 1), np.int64)
    for r in range(n_rows):
        base[r], scale[r] = _histogram_row(x[r], starts[r])
    return base, scale, starts


@njit(cache=True, error_model="numpy")
def select_rows(x, base, scale, starts, ks):
    """Order statistics per row: ``out[r, j]`` = the ``ks[j]``-th smallest of ``x[r]`` (ks ascending)."""
    out = np.empty((x.shape[0], ks.size), np.float64)
    for r in range(x.shape[0]):
        _select_row(x[r], base[r], scale[r], starts[r], ks, out[r])
    return out


@njit(cache=True, error_model="numpy")
def _window_sums(row, w, c, s1_out, s2_out):
    """Sums S1, S2 of (x - c) and (x - c)^2 over every full window of ``w`` samples of ``row``.

    They slide by adding the new sample and removing the old one and are recomputed from scratch every
    ``w`` windows. For integer rows and integer c every sum is an exact integer (below 2^53); for float rows
    the recomputation bounds the drift of the sliding sums."""
    m = row.size - w + 1
    for j0 in range(0, m, w):
        s1 = 0.0
        s2 = 0.0
        for i in range(j0, j0 + w):
            d = row[i] - c
            s1 += d
            s2 += d * d
        s1_out[j0] = s1
        s2_out[j0] = s2
        for j in range(j0 + 1, min(j0 + w, m)):
            a = row[j - 1] - c
            b = row[j + w - 1] - c
            s1 += b - a
            s2 += (b - a) * (b + a)
            s1_out[j] = s1
            s2_out[j] = s2


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract", "nnan"})
def _to_mean_std(s1, s2, w, c, out):
    """In place: s1 -> rolling mean c + S1 / w, s2 -> rolling std sqrt((w S2 - S1^2) / (w (w - 1))).
    Also returns, in ``out`` rows 0/1 (mean / std series), columns 0, 2, 3: their sums, mins and maxes."""
    inv_denom = 1.0 / (w * (w - 1.0))
    inv_w = 1.0 / w
    sum1 = 0.0
    sum2 = 0.0
    lo1 = hi1 = c + s1[0] * inv_w
    lo2 = hi2 = np.sqrt(_positive(w * s2[0] - s1[0] * s1[0]) * inv_denom)
    for j in range(s1.size):
        a = s1[j]
        sd = np.sqrt(_positive(w * s2[j] - a * a) * inv_denom)
        mu = c + a * inv_w
        s2[j] = sd
        s1[j] = mu
        sum1 += mu
        sum2 += sd
        lo1 = mu if mu < lo1 else lo1
        hi1 = mu if mu > hi1 else hi1
        lo2 = sd if sd < lo2 else lo2
        hi2 = sd if sd > hi2 else hi2
    out[0, 0], out[0, 2], out[0, 3] = sum1, lo1, hi1
    out[1, 0], out[1, 2], out[1, 3] = sum2, lo2, hi2


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _finish_summary(a, out):
    """out[0] holds the sum of the series ``a``: turn it into the mean, and add std (ddof=0) and change."""
    m = a.size
    mean = out[0] / m
    ss = 0.0
    for i in range(m):
        ss += (a[i] - mean) * (a[i] - mean)
    out[0] = mean
    out[1] = np.sqrt(ss / m)
    out[4] = (a[m - 1] - a[0]) / (m - 1) if m > 1 else 0.0


@njit(cache=True, error_model="numpy")
def _series_stats(a, ks, starts, out):
    """Summary of a rolling series plus its order statistics ``ks`` (into out[5:])."""
    _finish_summary(a, out)
    if ks.size:
        base, scale = _histogram_row(a, starts)
        _select_row(a, base, scale, starts, ks, out[5:])


@njit(cache=True, error_model="numpy")
def rolling_summary(x, w, ks_mean, ks_std):
    """Summaries of the rolling mean and the rolling sample std (ddof=1) series of each row over every full
    window of ``w`` samples (mean_j = c + S1/w, std_j = sqrt((w S2 - S1^2) / (w (w-1))), c = the row mean
    rounded to an integer, see _window_sums). Returns two arrays, for the mean and the std series, with
    columns mean, std (ddof=0), min, max, mean change (last - first) / (m - 1), then the order statistics
    of ranks ``ks_mean`` / ``ks_std``. The series live in two reused buffers, never a whole block."""
    n_rows, n = x.shape
    m = n - w + 1
    out_mean = np.empty((n_rows, 5 + ks_mean.size), np.float64)
    out_std = np.empty((n_rows, 5 + ks_std.size), np.float64)
    s1 = np.empty(m, np.float64)
    s2 = np.empty(m, np.float64)
    starts = np.zeros(n_buckets(m) + 1, np.int64)
    head = np.empty((2, 5), np.float64)
    for r in range(n_rows):
        c = np.round(_sum(x[r]) / n)
        _window_sums(x[r], w, c, s1, s2)
        _to_mean_std(s1, s2, w, c, head)
        out_mean[r, :5] = head[0]
        out_std[r, :5] = head[1]
        _series_stats(s1, ks_mean, starts, out_mean[r])
        _series_stats(s2, ks_std, starts, out_std[r])
    return out_mean, out_std


@njit(cache=True, error_model="numpy")
def ewm_mean_average(x, alphas):
    """Per row and smoothing factor a: the mean over t of the adjusted exponentially weighted mean
    y_t = sum_i (1-a)^(t-i) x_i / sum_i (1-a)^(t-i).

    The recursions num_t = x_t + (1-a) num_{t-1} of every row and factor run side by side in the inner
    loops (the denominator is the same for every row), which keeps the CPU's pipelines full."""
    n_rows, n = x.shape
    k = alphas.size
    keep = 1.0 - alphas
    num = np.zeros((k, n_rows), np.float64)
    total = np.zeros((k, n_rows), np.float64)
    den = np.zeros(k, np.float64)
    for t in range(n):
        for j in range(k):
            den[j] = 1.0 + keep[j] * den[j]
            inv = 1.0 / den[j]
            for r in range(n_rows):
                num[j, r] = x[r, t] + keep[j] * num[j, r]
                total[j, r] += num[j, r] * inv
    return (total / n).T.copy()


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _sta_lta_mean(c, n_sta, n_lta):
    """Mean of the classic STA/LTA ratio of one row given c = cumsum(x^2) (see temporal.sta_lta_mean).

    STA/LTA = (A / n_sta) / max(B / n_lta, tiny) is computed as A (n_lta / n_sta) / max(B, n_lta tiny)."""
    n = c.size
    k = n_lta / n_sta
    floor = np.finfo(np.float64).tiny * n_lta
    first = n_lta - 1
    a = c[first] - c[first - n_sta] if first >= n_sta else c[first]
    b = c[first]
    total = a * k / (b if b > floor else floor)
    for i in range(n_lta, n):
        b = c[i] - c[i - n_lta]
        total += (c[i] - c[i - n_sta]) * k / (b if b > floor else floor)
    return total / n


@njit(cache=True, error_model="numpy")
def sta_lta_means(x, n_sta, n_lta):
    """Per row and pair j: the mean STA/LTA ratio for windows (n_sta[j], n_lta[j]). The row's cumsum(x^2)
    is built once in a reused buffer and serves every pair while it is hot in cache."""
    out = np.empty((x.shape[0], n_sta.size), np.float64)
    c = np.empty(x.shape[1], np.float64)
    for r in range(x.shape[0]):
        total = 0.0
        for i in range(x.shape[1]):
            total += x[r, i] * x[r, i]
            c[i] = total
        for j in range(n_sta.size):
            out[r, j] = _sta_lta_mean(c, n_sta[j], n_lta[j])
    return out


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def trimmed_sums(x, vlo, vhi, lo, hi):
    """Sum of the order statistics of ranks lo..hi-1 of each row, given the values at ranks lo and hi-1."""
    out = np.empty(x.shape[0], np.float64)
    for r in range(x.shape[0]):
        a = vlo[r]
        b = vhi[r]
        if a == b:
            out[r] = a * (hi - lo)
            continue
        inner = 0.0
        n_inner = 0
        n_upto_a = 0
        for i in range(x.shape[1]):
            v = x[r, i]
            inside = (v > a) & (v < b)
            n_upto_a += v <= a
            inner += v if inside else 0.0
            n_inner += inside
        copies_a = n_upto_a - lo
        copies_b = (hi - lo) - n_inner - copies_a
        out[r] = inner + copies_a * a + copies_b * b
    return out


@njit(cache=True, error_model="numpy")
def _sliding_max(row, w, g, h, out):
    """out[j] = max(row[j:j+w]) for j = 0..n-w (van Herk / Gil-Werman: three passes whatever w is), with
    g / h the running maxima from the start / to the end of each w-block."""
    n = row.size
    for b0 in range(0, n, w):
        b1 = min(b0 + w, n)
        g[b0] = row[b0]
        for i in range(b0 + 1, b1):
            g[i] = row[i] if row[i] > g[i - 1] else g[i - 1]
        h[b1 - 1] = row[b1 - 1]
        for i in range(b1 - 2, b0 - 1, -1):
            h[i] = row[i] if row[i] > h[i + 1] else h[i + 1]
    for j in range(n - w + 1):
        out[j] = h[j] if h[j] > g[j + w - 1] else g[j + w - 1]


@njit(cache=True, error_model="numpy")
def _is_peak_beyond(row, i, done, support):
    """Whether row[i] is above its neighbours at distances done+1..support on both sides."""
    v = row[i]
    for j in range(done + 1, support + 1):
        if not (v > row[i - j] and v > row[i + j]):
            return False
    return True


@njit(cache=True, error_model="numpy")
def number_peaks(x, supports):
    """Per row and support s (ascending): the count of i in [s, n-s) with x[i] strictly above its s
    neighbours on each side. The smallest support is counted with sliding maxima (x[i] above
    max(x[i-s:i]) and max(x[i+1:i+s+1])); a peak of a larger support is a peak of every smaller one, so the
    larger supports only re-examine the previous support's peaks."""
    n_rows, n = x.shape
    out = np.zeros((n_rows, supports.size), np.float64)
    s0 = supports[0]
    wmax = np.empty(n - s0 + 1, np.float64)
    g = np.empty(n, np.float64)
    h = np.empty(n, np.float64)
    peaks = np.empty(n, np.int64)
    for r in range(n_rows):
        row = x[r]
        _sliding_max(row, s0, g, h, wmax)
        count = 0
        for i in range(s0, n - s0):
            if row[i] > wmax[i - s0] and row[i] > wmax[i + 1]:
                peaks[count] = i
                count += 1
        out[r, 0] = count
        for j in range(1, supports.size):
            s, kept = supports[j], 0
            for p in range(count):
                i = peaks[p]
                if s <= i < n - s and _is_peak_beyond(row, i, supports[j - 1], s):
                    peaks[kept] = i
                    kept += 1
            count = kept
            out[r, j] = count
    return out


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def change_rate_mean(x):
    """Mean of diff(x)/x[:-1] over the steps where it is defined, finite and non-zero (0 when none are)."""
    out = np.zeros(x.shape[0], np.float64)
    for r in range(x.shape[0]):
        row = x[r]
        total = 0.0
        count = 0
        for i in range(x.shape[1] - 1):
            q = (row[i + 1] - row[i]) / row[i]
            ok = np.isfinite(q) & (q != 0.0)
            total += q if ok else 0.0
            count += ok
        out[r] = total / count if count else 0.0
    return out


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def central_sums(x, mean):
    """Per row, columns 0..5: sums of (x - mean)^p for p = 1..4, of |x - mean|, and of (t - tbar) x_t
    with t the sample index and tbar = (n - 1) / 2 (the least-squares trend's numerator)."""
    n = x.shape[1]
    out = np.zeros((x.shape[0], 6), np.float64)
    tbar = (n - 1) / 2.0
    for r in range(x.shape[0]):
        c = mean[r]
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        s4 = 0.0
        sa = 0.0
        st = 0.0
        for i in range(n):
            d = x[r, i] - c
            d2 = d * d
            s1 += d
            s2 += d2
            s3 += d2 * d
            s4 += d2 * d2
            sa += abs(d)
            st += (i - tbar) * x[r, i]
        out[r, 0] = s1
        out[r, 1] = s2
        out[r, 2] = s3
        out[r, 3] = s4
        out[r, 4] = sa
        out[r, 5] = st
    return out


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def mean_abs_diff(x):
    """Per row: (1/(n-1)) sum |x[t+1] - x[t]|."""
    out = np.empty(x.shape[0], np.float64)
    for r in range(x.shape[0]):
        total = 0.0
        for i in range(x.shape[1] - 1):
            total += abs(x[r, i + 1] - x[r, i])
        out[r] = total / (x.shape[1] - 1)
    return out


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def crossings(x, m):
    """Per row: the number of t with (x[t] > m) != (x[t+1] > m)."""
    out = np.empty(x.shape[0], np.float64)
    for r in range(x.shape[0]):
        count = 0
        above = x[r, 0] > m
        for i in range(1, x.shape[1]):
            now = x[r, i] > m
            count += now != above
            above = now
        out[r] = count
    return out


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def envelope_mean(x, h):
    """Per row: (1/n) sum_t sqrt(x_t^2 + h_t^2)."""
    out = np.empty(x.shape[0], np.float64)
    for r in range(x.shape[0]):
        total = 0.0
        for i in range(x.shape[1]):
            total += np.sqrt(x[r, i] * x[r, i] + h[r, i] * h[r, i])
        out[r] = total / x.shape[1]
    return out


@njit(cache=True, error_model="numpy")
def int_counts(x, lo, size):
    """Per row: cumulative counts cum[r, v + 1] = #{t : x[r, t] <= lo + v} for integer-valued rows whose
    values lie in [lo, lo + size)."""
    cum = np.zeros((x.shape[0], size + 1), np.int64)
    for r in range(x.shape[0]):
        c = cum[r]
        for i in range(x.shape[1]):
            c[np.int64(x[r, i] - lo) + 1] += 1
        for i in range(size):
            c[i + 1] += c[i]
    return cum


@njit(cache=True, error_model="numpy")
def int_order_stats(cum, lo, ks):
    """Order statistics from ``int_counts``: the k-th smallest is lo + the first v with cum[v + 1] > k."""
    out = np.empty((cum.shape[0], ks.size), np.float64)
    for r in range(cum.shape[0]):
        idx = np.searchsorted(cum[r], ks, side="right")
        for j in range(ks.size):
            out[r, j] = lo + idx[j] - 1
    return out


@njit(cache=True, error_model="numpy")
def minmax_rows(x):
    """Per row: min and max."""
    lo = np.empty(x.shape[0], np.float64)
    hi = np.empty(x.shape[0], np.float64)
    for r in range(x.shape[0]):
        lo[r], hi[r] = _minmax(x[r])
    return lo, hi


@njit(cache=True, error_model="numpy")
def all_integral(x):
    """True when every value is an integer (stops at the first that is not)."""
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            if x[r, i] != np.floor(x[r, i]):
                return False
    return True


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def autocovariances(x, mean, lags):
    """Per row and lag l: sum_{t < n-l} (x_t - mean)(x_{t+l} - mean)."""
    n = x.shape[1]
    out = np.zeros((x.shape[0], lags.size), np.float64)
    for r in range(x.shape[0]):
        c = mean[r]
        for j in range(lags.size):
            lag = lags[j]
            total = 0.0
            for i in range(n - lag):
                total += (x[r, i] - c) * (x[r, i + lag] - c)
            out[r, j] = total
    return out


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def magnitudes(spectrum):
    """|X_k| of a complex block, row by row."""
    out = np.empty(spectrum.shape, np.float64)
    for r in range(spectrum.shape[0]):
        for k in range(spectrum.shape[1]):
            z = spectrum[r, k]
            out[r, k] = np.sqrt(z.real * z.real + z.imag * z.imag)
    return out


@njit(cache=True, error_model="numpy")
def rolloff_index(mag, fraction):
    """Per row: the first k with sum_{j <= k} mag_j >= fraction * sum_j mag_j (cumulative sums in order)."""
    out = np.zeros(mag.shape[0], np.int64)
    for r in range(mag.shape[0]):
        total = 0.0
        for k in range(mag.shape[1]):
            total += mag[r, k]
        threshold = fraction * total
        running = 0.0
        for k in range(mag.shape[1]):
            running += mag[r, k]
            if running >= threshold:
                out[r] = k
                break
    return out
