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


@njit(cache=True, error_model="numpy")
def _minmax(a):
    """(min, max) of a non-empty 1-D array. Float select reductions do not vectorise in numba (measured), so
    eight independent running minima and maxima break the dependency chain: 1.8x faster than one pair."""
    n = a.size
    l0 = l1 = l2 = l3 = l4 = l5 = l6 = l7 = a[0]
    h0 = h1 = h2 = h3 = h4 = h5 = h6 = h7 = a[0]
    m = n - n % 8
    for i in range(0, m, 8):
        v0, v1, v2, v3 = a[i], a[i + 1], a[i + 2], a[i + 3]
        v4, v5, v6, v7 = a[i + 4], a[i + 5], a[i + 6], a[i + 7]
        l0 = v0 if v0 < l0 else l0
        l1 = v1 if v1 < l1 else l1
        l2 = v2 if v2 < l2 else l2
        l3 = v3 if v3 < l3 else l3
        l4 = v4 if v4 < l4 else l4
        l5 = v5 if v5 < l5 else l5
        l6 = v6 if v6 < l6 else l6
        l7 = v7 if v7 < l7 else l7
        h0 = v0 if v0 > h0 else h0
        h1 = v1 if v1 > h1 else h1
        h2 = v2 if v2 > h2 else h2
        h3 = v3 if v3 > h3 else h3
        h4 = v4 if v4 > h4 else h4
        h5 = v5 if v5 > h5 else h5
        h6 = v6 if v6 > h6 else h6
        h7 = v7 if v7 > h7 else h7
    for i in range(m, n):
        v = a[i]
        l0 = v if v < l0 else l0
        h0 = v if v > h0 else h0
    lo = min(min(min(l0, l4), min(l1, l5)), min(min(l2, l6), min(l3, l7)))
    hi = max(max(max(h0, h4), max(h1, h5)), max(max(h2, h6), max(h3, h7)))
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
def _bucket_range(a, size):
    """The bulk of ``a`` for bucketing: its 0.5% and 99.5% quantiles estimated on a strided sample of about
    ``size`` values (its min and max when those coincide). Only the speed of selection depends on it."""
    step = max(1, a.size // size)
    sample = a[::step]
    cut = sample.size // 200
    if cut == 0:
        base, top = _minmax(sample)
    else:  # two selections: a sort of the sample costs several times more (measured)
        base, top = _sample_rank(sample, cut), _sample_rank(sample, sample.size - 1 - cut)
    if top <= base:
        base, top = _minmax(a)
    return base, top


@njit(cache=True, error_model="numpy")
def _histogram_row(a, starts, size):
    """Bucket start offsets (``starts``, len nb + 1) of ``a``; returns (base, scale) of the buckets.

    Buckets 1..nb-2 split the bulk of the values evenly, 0 and nb-1 take the tails. scale = -1 marks a
    constant row (base is its value); scale = 0 a row too short or too spread to bucket (selection sorts).
    ``size``: about how many values estimate the bulk (_bucket_range)."""
    n = a.size
    nb = starts.size - 1
    base, top = _bucket_range(a, size)
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
        base[r], scale[r] = _histogram_row(x[r], starts[r], 1024)
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
def _exact_bound(row, c, w_max, integer):
    """Whether the centred window sums of ``row`` (integer values, integer c) may come from int64 cumulative
    sums and give exact float64 moments for every window up to ``w_max``: with M = max |x - c|, every S1 is
    below 2^26 in size (so S1^2 is exact) and w S2 below 2^52, and the cumulative S2 stays below 2^62."""
    if not integer:
        return False
    lo, hi = _minmax(row)
    big = hi - c if hi - c > c - lo else c - lo
    return big * w_max <= 2.0**26 and big * big * row.size <= 2.0**62


@njit(cache=True, error_model="numpy")
def _centred_cumsums(row, c, c1, c2):
    """c1[i] = sum_{t<i} (x_t - c), c2[i] = sum_{t<i} (x_t - c)^2, in int64 (exact for integer rows)."""
    s1 = 0
    s2 = 0
    c1[0] = 0
    c2[0] = 0
    for i in range(row.size):
        d = np.int64(row[i] - c)
        s1 += d
        s2 += d * d
        c1[i + 1] = s1
        c2[i + 1] = s2


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _exact_mean_std(c1, c2, w, c, j0, j1, mu, sd, shift, acc, bounds):
    """mu[j - j0], sd[j - j0] for windows j0 <= j < j1 from the int64 cumulative sums (see _exact_bound):
    window j has S1 = c1[j+w] - c1[j] and V = w S2 - S1^2 = w (w - 1) var, exact integers; mean =
    c + S1 / w and std = sqrt(V / (w (w - 1))). Adds to ``acc`` the sums of (mean - shift[0]),
    (std - shift[1]) and of their squares (shifts near the middle keep these one-pass moments accurate),
    and folds the least and greatest S1 and V into ``bounds`` (the series are monotone in them, and
    integer selects vectorise where float ones do not)."""
    inv_denom = 1.0 / (w * (w - 1.0))
    inv_w = 1.0 / w
    # slices indexed from 0 (not c1[j + w], nor range(j0, j1)): the loop vectorises only so (measured)
    a1, b1, a2, b2 = c1[j0:j1], c1[j0 + w : j1 + w], c2[j0:j1], c2[j0 + w : j1 + w]
    shift1, shift2 = shift[0], shift[1]
    sum1 = 0.0
    sum2 = 0.0
    sq1 = 0.0
    sq2 = 0.0
    lo1, hi1, lo2, hi2 = bounds[0], bounds[1], bounds[2], bounds[3]
    for j in range(j1 - j0):
        s1 = b1[j] - a1[j]
        v = w * (b2[j] - a2[j]) - s1 * s1
        lo1 = s1 if s1 < lo1 else lo1
        hi1 = s1 if s1 > hi1 else hi1
        lo2 = v if v < lo2 else lo2
        hi2 = v if v > hi2 else hi2
        m = c + s1 * inv_w
        s = np.sqrt(v * inv_denom)
        mu[j] = m
        sd[j] = s
        d1 = m - shift1
        d2 = s - shift2
        sum1 += d1
        sum2 += d2
        sq1 += d1 * d1
        sq2 += d2 * d2
    acc[0] += sum1
    acc[1] += sum2
    acc[2] += sq1
    acc[3] += sq2
    bounds[0], bounds[1], bounds[2], bounds[3] = lo1, hi1, lo2, hi2


_TAIL_FRACTION = 0.2  # tail selection pays when every wanted rank lies in the outer fifth on its side
_TAIL_SAMPLE = 1024  # about this many values of a series estimate where its tails begin
_CHUNK = 4096  # the exact path copies the tails of each chunk of a series out while it is in cache


@njit(cache=True, error_model="numpy")
def _tail_needs(ks, m):
    """(n_lo, need_lo, need_hi) for ascending ranks ``ks`` of m values: how many ranks are in the lower
    half, and how many of the smallest / largest values hold all the lower / upper ones; need_lo = -1 when
    some rank is outside the outer fifths or m is too small for tail selection to pay."""
    n_lo = 0
    while n_lo < ks.size and ks[n_lo] < m // 2:
        n_lo += 1
    need_lo = ks[n_lo - 1] + 1 if n_lo > 0 else 0
    need_hi = m - ks[n_lo] if n_lo < ks.size else 0
    limit = _TAIL_FRACTION * m
    if ks.size == 0 or m < 8 * _TAIL_SAMPLE or need_lo > limit or need_hi > limit:
        return n_lo, -1, -1
    return n_lo, need_lo, need_hi


@njit(cache=True, error_model="numpy")
def _sample_rank(sample, k):
    """The k-th smallest of ``sample`` (left as it is): selection, not a sort (a sort of the samples of
    rough rolling series cost more than the rest of their summaries, measured)."""
    buf = sample.copy()
    return _kth_inplace(buf, buf.size, k)


@njit(cache=True, error_model="numpy")
def _tail_cuts(sample, m, ks):
    """(t_lo, t_hi) with, very likely, the ``ks`` lower ranks of m values among the values <= t_lo and the
    upper ones among those >= t_hi, read off ``sample`` (every (m // size)-th value, in series order) at
    each need's expected sample rank plus a 3-sigma margin; (-inf, inf), which copies nothing out, when
    selection must run over all values. The caller checks the counts, so a poor sample costs time only."""
    n_lo, need_lo, need_hi = _tail_needs(ks, m)
    s = sample.size
    if need_lo < 0 or s < 2:
        return -np.inf, np.inf
    t_lo = -np.inf
    t_hi = np.inf
    if need_lo:
        p = need_lo / m
        t_lo = _sample_rank(sample, min(s - 1, int(p * s + 3.0 * np.sqrt(p * s) + 8.0)))
    if need_hi:
        p = need_hi / m
        t_hi = _sample_rank(sample, s - 1 - min(s - 1, int(p * s + 3.0 * np.sqrt(p * s) + 8.0)))
    if t_lo >= t_hi:
        return -np.inf, np.inf
    return t_lo, t_hi


_COMPACT_BLOCK = 32  # _compact first counts a block's tail values in a vectorised pass, and skips it at none


@njit(cache=True, error_model="numpy")
def _compact(a, j0, j1, t_lo, t_hi, tails, counts, k, rough):
    """Append a[j] <= t_lo to ``below`` and a[j] >= t_hi to ``above`` (j0 <= j < j1); their sizes are
    counts[k], counts[k + 1]. Rolling series over w >= _COMPACT_BLOCK samples are smooth: their tail values
    come in runs, branches beat branch-free stores, and most blocks of _COMPACT_BLOCK values hold none, so
    a vectorised count (over 0-based slices) lets the copy loop skip those (about 2x faster for w >= 100).
    ``rough`` series (shorter windows) scatter their tail values: branch-free stores are faster there."""
    if t_lo == -np.inf and t_hi == np.inf:
        return
    pair = tails[k : k + 2]
    below, above = tails[k], tails[k + 1]
    n_below = counts[k]
    n_above = counts[k + 1]
    for b0 in range(j0, j1, _COMPACT_BLOCK):
        part = a[b0 : min(b0 + _COMPACT_BLOCK, j1)]
        hits = 0
        for j in range(part.size):
            hits += (part[j] <= t_lo) | (part[j] >= t_hi)
        if hits == 0:
            continue
        if rough:  # tail values scattered: one branch-free store per value, to the next free slot of the
            # tail it belongs to, else to the next free slot of ``above`` (overwritten by its next value)
            for j in range(part.size):
                v = part[j]
                low = v <= t_lo
                pair[0 if low else 1, n_below if low else n_above] = v
                n_below += low
                n_above += v >= t_hi
            continue
        for j in range(part.size):
            v = part[j]
            if v <= t_lo:
                below[n_below] = v
                n_below += 1
            elif v >= t_hi:
                above[n_above] = v
                n_above += 1
    counts[k] = n_below
    counts[k + 1] = n_above


_TAIL_RANGE_SAMPLE = 256  # _select_all's bucket range sample: sorting 1,024 values was a third of its cost


@njit(cache=True, error_model="numpy")
def _select_all(a, ks, out, starts):
    """``out[j]`` = the ``ks[j]``-th smallest of ``a`` by histogram selection over all of ``a``."""
    st = starts[: n_buckets(a.size) + 1]
    base, scale = _histogram_row(a, st, _TAIL_RANGE_SAMPLE)
    _select_row(a, base, scale, st, ks, out)


@njit(cache=True, error_model="numpy")
def _select_from_tails(a, ks, out, starts, below, n_below, above, n_above):
    """``out[j]`` = the ``ks[j]``-th smallest of ``a`` (ks ascending) given its tails: ``below[:n_below]``
    every value <= some t_lo and ``above[:n_above]`` every value >= some t_hi > t_lo (see _tail_cuts).
    The values <= t_lo are exactly the n_below smallest, ties included, so when the tails hold every
    wanted rank, selection runs on them alone; otherwise over all of ``a``."""
    if ks.size == 0:
        return
    m = a.size
    if _needs_all(ks, m, n_below, n_above):
        _select_all(a, ks, out, starts)
        return
    n_lo = _tail_needs(ks, m)[0]
    if n_lo:
        _select_all(below[:n_below], ks[:n_lo], out[:n_lo], starts)
    if n_lo < ks.size:
        _select_all(above[:n_above], ks[n_lo:] - (m - n_above), out[n_lo:], starts)


@njit(cache=True, error_model="numpy")
def _needs_all(ks, m, n_below, n_above):
    """Whether selecting ranks ``ks`` of m values needs all of them, given tails of these sizes."""
    n_lo, need_lo, need_hi = _tail_needs(ks, m)
    return ks.size > 0 and (need_lo < 0 or n_below < need_lo or n_above < need_hi)


_COUNT_SPAN = 1 << 16  # the rolling mean's order statistics are counted when its window sums span this few


@njit(cache=True, error_model="numpy")
def _window_sum_range(c1, w):
    """(least, greatest) window sum S1 = c1[j+w] - c1[j] over all windows (integer selects vectorise)."""
    a = c1[: c1.size - w]
    b = c1[w:]
    lo = hi = b[0] - a[0]
    for j in range(a.size):
        v = b[j] - a[j]
        lo = v if v < lo else lo
        hi = v if v > hi else hi
    return lo, hi


@njit(cache=True, error_model="numpy")
def _count_window_sums(c1, w, j0, j1, base, hist):
    """hist[k, S1 - base] += 1 for the window sums of windows j0 <= j < j1, spread over four partial
    histograms (neighbouring windows have close sums: one counter would chain its increments)."""
    a = c1[j0:j1]
    b = c1[j0 + w : j1 + w]
    n = j1 - j0
    m = n - n % 4
    for j in range(0, m, 4):
        hist[0, b[j] - a[j] - base] += 1
        hist[1, b[j + 1] - a[j + 1] - base] += 1
        hist[2, b[j + 2] - a[j + 2] - base] += 1
        hist[3, b[j + 3] - a[j + 3] - base] += 1
    for j in range(m, n):
        hist[0, b[j] - a[j] - base] += 1


@njit(cache=True, error_model="numpy")
def _means_of_ranks(hist, span, ks, c, inv_w, base, out):
    """out[j] = the rolling mean c + S1 / w of rank ks[j] (ascending) from the window-sum counts."""
    total = 0
    j = 0
    for v in range(span):
        total += hist[0, v] + hist[1, v] + hist[2, v] + hist[3, v]
        while j < ks.size and ks[j] < total:
            out[j] = c + (base + v) * inv_w
            j += 1
        if j == ks.size:
            return


@njit(cache=True, error_model="numpy")
def _exact_series(c1, c2, w, c, ks_mean, ks_std, head, tails, counts, chunk, mean_q, hist):
    """Summaries of the rolling mean and std series of one window from the cumulative sums (see
    _exact_mean_std), computed chunk by chunk and never stored whole: ``head`` rows (mean, std series)
    get columns mean, std (ddof=0), min, max, change; the tails of each chunk beyond the cuts for the
    ranks ``ks_mean`` / ``ks_std`` (_tail_cuts, from the series at every step-th window) are copied into
    ``tails`` rows 0..3 (below / above, mean then std) while in cache, with their sizes in ``counts``.

    The rolling mean is c + S1 / w with S1 an integer: when the window sums span fewer than _COUNT_SPAN
    integers (always, on the lab's signal), its order statistics are counted exactly in ``hist`` instead,
    go to ``mean_q``, and the function returns True (no mean tails are copied)."""
    m = c1.size - w
    step = max(1, m // _TAIL_SAMPLE)
    size = (m - 1) // step + 1
    sample = np.empty((2, size), np.float64)
    inv_w = 1.0 / w
    inv_denom = 1.0 / (w * (w - 1.0))
    for k in range(size):
        j = k * step
        s1 = c1[j + w] - c1[j]
        sample[0, k] = c + s1 * inv_w
        sample[1, k] = np.sqrt((w * (c2[j + w] - c2[j]) - s1 * s1) * inv_denom)
    counting = False
    if ks_mean.size:
        base, top = _window_sum_range(c1, w)
        span = top - base + 1
        counting = span <= _COUNT_SPAN
    if counting:
        hist[:, :span] = 0
        cut_mean = (-np.inf, np.inf)
    else:
        cut_mean = _tail_cuts(sample[0], m, ks_mean)
    cut_std = _tail_cuts(sample[1], m, ks_std)
    shift = np.array([_sum(sample[0]) / size, _sum(sample[1]) / size])  # near the middle of each series
    acc = np.zeros(4, np.float64)
    s1 = c1[w] - c1[0]
    v = w * (c2[w] - c2[0]) - s1 * s1
    bounds = np.array([s1, s1, v, v])
    counts[:] = 0
    rough = w < _COMPACT_BLOCK
    for j0 in range(0, m, _CHUNK):
        j1 = min(j0 + _CHUNK, m)
        mu = chunk[0, : j1 - j0]
        sd = chunk[1, : j1 - j0]
        _exact_mean_std(c1, c2, w, c, j0, j1, mu, sd, shift, acc, bounds)
        if j0 == 0:
            first_mu, first_sd = mu[0], sd[0]
        if counting:
            _count_window_sums(c1, w, j0, j1, base, hist)
        else:
            _compact(mu, 0, j1 - j0, cut_mean[0], cut_mean[1], tails, counts, 0, rough)
        _compact(sd, 0, j1 - j0, cut_std[0], cut_std[1], tails, counts, 2, rough)
    last_mu, last_sd = chunk[0, (m - 1) % _CHUNK], chunk[1, (m - 1) % _CHUNK]
    for i, lo, hi, first, last in (
        (0, c + bounds[0] * inv_w, c + bounds[1] * inv_w, first_mu, last_mu),
        (1, np.sqrt(bounds[2] * inv_denom), np.sqrt(bounds[3] * inv_denom), first_sd, last_sd),
    ):
        mean = acc[i] / m
        head[i, 0] = shift[i] + mean
        head[i, 1] = np.sqrt(max(acc[2 + i] / m - mean * mean, 0.0))
        head[i, 2] = lo
        head[i, 3] = hi
        head[i, 4] = (last - first) / (m - 1) if m > 1 else 0.0
    if counting:
        _means_of_ranks(hist, span, ks_mean, c, inv_w, base, mean_q)
    return counting


@njit(cache=True, error_model="numpy")
def _exact_full(c1, c2, w, c, mu, sd):
    """The whole rolling mean and std series of one window (for selection over all values)."""
    _exact_mean_std(c1, c2, w, c, 0, mu.size, mu, sd, np.zeros(2), np.zeros(4), np.zeros(4, np.int64))


@njit(cache=True, error_model="numpy")
def rolling_summaries(x, windows, ks_mean, ks_std, integer):
    """Summaries of the rolling mean and the rolling sample std (ddof=1) series of each row over every full
    window of w = ``windows[i]`` samples (mean_j = c + S1/w, std_j = sqrt((w S2 - S1^2) / (w (w-1))),
    c = the row mean rounded to an integer). Returns two arrays (n_rows, n_windows, 5 + k), for the mean
    and the std series, with columns mean, std (ddof=0), min, max, mean change (last - first) / (m - 1),
    then the order statistics of ranks ``ks_mean[i]`` / ``ks_std[i]`` (ascending per window).

    For integer rows whose sums fit (_exact_bound), S1 and S2 are differences of one pair of int64
    cumulative sums per row, shared by every window; a window's series then come out chunk by chunk in
    one vectorised pass that also copies their tails out (_exact_series), and are only stored whole if
    selection must run over all their values. Otherwise they slide (_window_sums) in reused buffers."""
    n_rows, n = x.shape
    nw = windows.size
    out_mean = np.empty((n_rows, nw, 5 + ks_mean.shape[1]), np.float64)
    out_std = np.empty((n_rows, nw, 5 + ks_std.shape[1]), np.float64)
    m_max = n - windows.min() + 1
    mu = np.empty(m_max, np.float64)
    sd = np.empty(m_max, np.float64)
    tails = np.empty((4, m_max), np.float64)
    chunk = np.empty((2, _CHUNK), np.float64)
    counts = np.zeros(4, np.int64)
    c1 = np.empty(n + 1, np.int64)
    c2 = np.empty(n + 1, np.int64)
    starts = np.zeros(n_buckets(m_max) + 1, np.int64)
    head = np.empty((2, 5), np.float64)
    hist = np.empty((4, _COUNT_SPAN), np.int32)
    for r in range(n_rows):
        row = x[r]
        c = np.round(_sum(row) / n)
        exact = _exact_bound(row, c, windows.max(), integer)
        if exact:
            _centred_cumsums(row, c, c1, c2)
        for i in range(nw):
            w = windows[i]
            m = n - w + 1
            a = mu[:m]
            b = sd[:m]
            counted = False
            if exact:
                counted = _exact_series(
                    c1, c2, w, c, ks_mean[i], ks_std[i], head, tails, counts, chunk, out_mean[r, i, 5:], hist
                )
                out_mean[r, i, :5] = head[0]
                out_std[r, i, :5] = head[1]
                mean_all = not counted and _needs_all(ks_mean[i], m, counts[0], counts[1])
                if mean_all or _needs_all(ks_std[i], m, counts[2], counts[3]):
                    _exact_full(c1, c2, w, c, a, b)
            else:
                _window_sums(row, w, c, a, b)
                _to_mean_std(a, b, w, c, head)
                out_mean[r, i, :5] = head[0]
                out_std[r, i, :5] = head[1]
                _finish_summary(a, out_mean[r, i])
                _finish_summary(b, out_std[r, i])
                counts[:] = 0
                step = max(1, m // _TAIL_SAMPLE)
                for k, series in ((0, a), (2, b)):
                    t_lo, t_hi = _tail_cuts(series[::step], m, ks_mean[i] if k == 0 else ks_std[i])
                    _compact(series, 0, m, t_lo, t_hi, tails, counts, k, w < _COMPACT_BLOCK)
            if not counted:
                _select_from_tails(
                    a, ks_mean[i], out_mean[r, i, 5:], starts, tails[0], counts[0], tails[1], counts[1]
                )
            _select_from_tails(
                b, ks_std[i], out_std[r, i, 5:], starts, tails[2], counts[2], tails[3], counts[3]
            )
    return out_mean, out_std


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def ewm_weights(n, alpha):
    """The weights g of ``ewm_mean_average`` for n samples and smoothing factor a = ``alpha``."""
    keep = 1.0 - alpha
    g = np.empty(n, np.float64)
    den = 0.0
    for t in range(n):
        den = 1.0 + keep * den
        g[t] = den
    for t in range(n):
        g[t] = 1.0 / g[t]
    acc = 0.0
    for t in range(n - 1, -1, -1):
        acc = g[t] + keep * acc
        g[t] = acc
    return g


_EWM_CHUNK = 2048


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def ewm_mean_average(x, weights):
    """Per row and smoothing factor a: the mean over t of the adjusted exponentially weighted mean
    y_t = num_t / den_t, num_t = sum_{i<=t} k^(t-i) x_i, den_t = sum_{i<=t} k^(t-i), k = 1 - a.

    Swapping the sums, sum_t y_t = sum_i g_i x_i with g_i = sum_{t>=i} k^(t-i) / den_t, that is
    g_{n-1} = 1 / den_{n-1} and g_i = 1 / den_i + k g_{i+1}: the weights depend on n and a only
    (``weights[j]`` = ewm_weights(n, a_j), built by the caller, which may keep them across blocks), and
    each row is a vectorised dot product."""
    n_rows, n = x.shape
    k = weights.shape[0]
    out = np.zeros((n_rows, k), np.float64)
    for t0 in range(0, n, _EWM_CHUNK):  # a chunk of every factor's weights serves every row while in cache
        t1 = min(t0 + _EWM_CHUNK, n)
        for j in range(k):
            g = weights[j, t0:t1]
            for r in range(n_rows):
                part = x[r, t0:t1]
                total = 0.0
                for t in range(t1 - t0):
                    total += part[t] * g[t]
                out[r, j] += total
    return out / n


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _sta_lta_first(c, n_sta, n_lta):
    """The ratio at t = n_lta - 1, the first one defined (an STA window reaching before the start sums from
    the start), as A / max(B, n_lta tiny) (see _sta_lta_mean)."""
    first = n_lta - 1
    a = c[first] - c[first - n_sta] if first >= n_sta else c[first]
    b = c[first]
    floor = np.finfo(np.float64).tiny * n_lta
    return a / (b if b > floor else floor)


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _sta_lta_sum(c, n_sta, n_lta, t0, t1):
    """sum over t0 <= t < t1 (t0 >= n_lta) of A_t / max(B_t, n_lta tiny), A_t = c_t - c_{t-n_sta},
    B_t = c_t - c_{t-n_lta}. The loop reads 0-based slices of c (c[i - n_lta] indexing does not
    vectorise)."""
    floor = np.finfo(np.float64).tiny * n_lta
    now = c[t0:t1]
    back_sta = c[t0 - n_sta : t1 - n_sta]
    back_lta = c[t0 - n_lta : t1 - n_lta]
    part = 0.0
    for j in range(t1 - t0):
        b = now[j] - back_lta[j]
        part += (now[j] - back_sta[j]) / (b if b > floor else floor)
    return part


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _sta_lta_mean(c, n_sta, n_lta):
    """Mean of the classic STA/LTA ratio of one row given c = cumsum(x^2) (see temporal.sta_lta_mean).

    STA/LTA = (A / n_sta) / max(B / n_lta, tiny) is computed as (n_lta / n_sta) A / max(B, n_lta tiny)."""
    n = c.size
    part = _sta_lta_first(c, n_sta, n_lta) + _sta_lta_sum(c, n_sta, n_lta, n_lta, n)
    return part * (n_lta / n_sta) / n


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _sta_lta_two_exact(c, s1, l1, s2, l2):
    """The means of two STA/LTA pairs (l1 <= l2) at one division per sample where both are defined, for
    c = cumsum(x^2) of an integer row held exactly: every window sum is then 0 or at least 1, and a zero
    B has a zero A (the STA window lies inside the LTA window), so A1 / B1 = A1 B2' / (B1' B2') and
    A2 / B2 = A2 B1' / (B1' B2') with B' = max(B, 1) (products below 2^106: no overflow, no underflow)."""
    n = c.size
    p1 = _sta_lta_first(c, s1, l1) + _sta_lta_sum(c, s1, l1, l1, l2)
    p2 = _sta_lta_first(c, s2, l2)
    now = c[l2:]
    back_s1 = c[l2 - s1 : n - s1]
    back_l1 = c[l2 - l1 : n - l1]
    back_s2 = c[l2 - s2 : n - s2]
    back_l2 = c[: n - l2]
    q1 = 0.0
    q2 = 0.0
    for j in range(n - l2):
        b1 = now[j] - back_l1[j]
        b2 = now[j] - back_l2[j]
        b1 = b1 if b1 > 1.0 else 1.0
        b2 = b2 if b2 > 1.0 else 1.0
        r = 1.0 / (b1 * b2)
        q1 += (now[j] - back_s1[j]) * b2 * r
        q2 += (now[j] - back_s2[j]) * b1 * r
    return (p1 + q1) * (l1 / s1) / n, (p2 + q2) * (l2 / s2) / n


@njit(cache=True, error_model="numpy")
def sta_lta_means(x, n_sta, n_lta, integer):
    """Per row and pair j: the mean STA/LTA ratio for windows (n_sta[j], n_lta[j]). The row's cumsum(x^2)
    is built once in a reused buffer and serves every pair while it is hot in cache (as int64 sums for
    integer rows whose squares sum below 2^53: exact, and an integer add chain is four times shorter).
    Exact rows take the pairs two at a time in order of LTA, one division serving both
    (_sta_lta_two_exact): division is what the loop waits on."""
    out = np.empty((x.shape[0], n_sta.size), np.float64)
    n = x.shape[1]
    c = np.empty(n, np.float64)
    order = np.argsort(n_lta, kind="mergesort")
    for r in range(x.shape[0]):
        row = x[r]
        lo, hi = _minmax(row)
        big = hi if hi > -lo else -lo
        exact = integer and big * big * n < 2.0**53
        if exact:
            total = 0
            for i in range(n):
                v = np.int64(row[i])
                total += v * v
                c[i] = total
        else:
            s = 0.0
            for i in range(n):
                s += row[i] * row[i]
                c[i] = s
        if not exact:
            for j in range(n_sta.size):
                out[r, j] = _sta_lta_mean(c, n_sta[j], n_lta[j])
            continue
        for k in range(0, order.size - 1, 2):  # pairs of pairs with neighbouring LTAs share a division
            i, j = order[k], order[k + 1]
            out[r, i], out[r, j] = _sta_lta_two_exact(c, n_sta[i], n_lta[i], n_sta[j], n_lta[j])
        if order.size % 2:
            i = order[order.size - 1]
            out[r, i] = _sta_lta_mean(c, n_sta[i], n_lta[i])
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


_PEAK_CHUNK = 4096  # samples per chunk of number_peaks (its range-maximum table stays in L1/L2)


@njit(cache=True, error_model="numpy")
def _max_pairs(a, b, out):
    """out[j] = max(a[j], b[j]) (a select: vectorises for any dtype)."""
    for j in range(out.size):
        u = a[j]
        v = b[j]
        out[j] = u if u > v else v


@njit(cache=True, error_model="numpy")
def number_peaks(x, supports):
    """Per row and support s (ascending): the count of i in [s, n-s) with x[i] strictly above its s
    neighbours on each side, i.e. above the maxima of x[i-s:i] and x[i+1:i+s+1].

    Chunk by chunk (with s_max samples of context each side) a table of range maxima is built by doubling,
    tab[l, j] = max(x[j : j + 2^l]) = max(tab[l-1, j], tab[l-1, j + 2^(l-1)]), and a range of length s is
    the maximum of two overlapping power-of-two ranges of length w = 2^floor(log2 s): every support costs
    four vectorised comparisons per sample, in the block's own dtype (int16 for raw LANL segments)."""
    n_rows, n = x.shape
    out = np.zeros((n_rows, supports.size), np.float64)
    s_min, s_max = supports[0], supports[-1]
    levels = 1
    while (1 << levels) <= s_max:
        levels += 1
    tab = np.empty((levels, _PEAK_CHUNK + 2 * s_max), x.dtype)
    for r in range(n_rows):
        row = x[r]
        for i0 in range(s_min, n - s_min, _PEAK_CHUNK):
            i1 = min(i0 + _PEAK_CHUNK, n - s_min)
            base = max(0, i0 - s_max)
            size = min(n, i1 + s_max) - base
            tab[0, :size] = row[base : base + size]
            for lev in range(1, levels):
                h = 1 << (lev - 1)
                _max_pairs(tab[lev - 1, : size - h], tab[lev - 1, h:size], tab[lev, : size - h])
            for k in range(supports.size):
                s = supports[k]
                a = max(i0, s)
                b = min(i1, n - s)
                if a >= b:
                    continue
                lev = 0
                while (2 << lev) <= s:
                    lev += 1
                w = 1 << lev
                t = tab[lev]
                mid = row[a:b]  # 0-based slices: indexing with offsets does not vectorise
                left_far = t[a - s - base : b - s - base]  # max(x[i-s : i-s+w])
                left_near = t[a - w - base : b - w - base]  # max(x[i-w : i])
                right_near = t[a + 1 - base : b + 1 - base]  # max(x[i+1 : i+1+w])
                right_far = t[a + s - w + 1 - base : b + s - w + 1 - base]  # max(x[i+s-w+1 : i+s+1])
                count = 0
                for j in range(b - a):
                    v = mid[j]
                    count += (v > left_far[j]) & (v > left_near[j]) & (v > right_near[j]) & (v > right_far[j])
                out[r, k] += count
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
    values lie in [lo, lo + size) (any dtype: the block's int16 copy reads four times fewer bytes). Four
    interleaved partial histograms break the chain of increments of one counter (lab signals repeat a few
    values), then add up."""
    cum = np.zeros((x.shape[0], size + 1), np.int64)
    part = np.zeros((4, size), np.int32)
    base = np.int64(lo)
    n = x.shape[1]
    m = n - n % 4
    for r in range(x.shape[0]):
        part[:] = 0
        row = x[r]
        for i in range(0, m, 4):
            part[0, np.int64(row[i]) - base] += 1
            part[1, np.int64(row[i + 1]) - base] += 1
            part[2, np.int64(row[i + 2]) - base] += 1
            part[3, np.int64(row[i + 3]) - base] += 1
        for i in range(m, n):
            part[0, np.int64(row[i]) - base] += 1
        c = cum[r]
        for v in range(size):
            c[v + 1] = c[v] + part[0, v] + part[1, v] + part[2, v] + part[3, v]
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
            head = x[r, : n - lag]  # 0-based slices: x[r, i + lag] indexing does not vectorise
            tail = x[r, lag:]
            total = 0.0
            for i in range(n - lag):
                total += (head[i] - c) * (tail[i] - c)
            out[r, j] = total
    return out


@njit(cache=True, error_model="numpy")
def roots(a):
    """Element-wise square root of a 2-D block (non-negative values)."""
    out = np.empty(a.shape, np.float64)
    for r in range(a.shape[0]):
        for k in range(a.shape[1]):
            out[r, k] = np.sqrt(a[r, k])
    return out


@njit(cache=True, error_model="numpy")
def powers(spectrum):
    """|X_k|^2 = re^2 + im^2 of a complex block, row by row (no fastmath: the same bits as numpy's
    ``z.real**2 + z.imag**2``, without its temporaries)."""
    out = np.empty(spectrum.shape, np.float64)
    for r in range(spectrum.shape[0]):
        for k in range(spectrum.shape[1]):
            z = spectrum[r, k]
            out[r, k] = z.real * z.real + z.imag * z.imag
    return out


_SCAN_BLOCK = 64  # rolloff_index adds a block at once while the threshold is beyond it


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _block_sum(a, i0, i1):
    part = a[i0:i1]
    total = 0.0
    for i in range(part.size):
        total += part[i]
    return total


@njit(cache=True, error_model="numpy")
def rolloff_index(mag, fraction):
    """Per row: the first k with sum_{j <= k} mag_j >= fraction * sum_j mag_j. The running sum advances a
    block of _SCAN_BLOCK values at a time (a vectorised sum) while the threshold lies beyond the block, and
    value by value within the block that reaches it: the same index as a plain cumulative sum unless a
    partial sum lies within rounding (1e-16 relative) of the threshold."""
    out = np.zeros(mag.shape[0], np.int64)
    size = mag.shape[1]
    for r in range(mag.shape[0]):
        row = mag[r]
        threshold = fraction * _block_sum(row, 0, size)
        running = 0.0
        for b0 in range(0, size, _SCAN_BLOCK):
            b1 = min(b0 + _SCAN_BLOCK, size)
            block = _block_sum(row, b0, b1)
            if running + block < threshold and b1 < size:
                running += block
                continue
            found = False
            for k in range(b0, b1):
                running += row[k]
                if running >= threshold:
                    out[r] = k
                    found = True
                    break
            if found:
                break
            if b1 == size:  # rounding kept the last partial sum below the threshold: the top bin
                out[r] = size - 1
    return out


@njit(cache=True, error_model="numpy")
def slice_sums(values, starts, stops):
    """Per row and j: sum(values[r, starts[j]:stops[j]]) (vectorised, reassociated sums)."""
    out = np.empty((values.shape[0], starts.size), np.float64)
    for r in range(values.shape[0]):
        for j in range(starts.size):
            out[r, j] = _block_sum(values[r], starts[j], stops[j])
    return out


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def weighted_sums(values, weights):
    """Per row: (sum_k values_k, sum_k weights_k values_k) in one pass."""
    total = np.empty(values.shape[0], np.float64)
    weighted = np.empty(values.shape[0], np.float64)
    for r in range(values.shape[0]):
        row = values[r]
        s = 0.0
        sw = 0.0
        for k in range(row.size):
            s += row[k]
            sw += weights[k] * row[k]
        total[r] = s
        weighted[r] = sw
    return total, weighted


@njit(cache=True, error_model="numpy")
def abs_int32(x):
    """|x| of a small-integer block as int32 (exact, |-32768| included)."""
    out = np.empty(x.shape, np.int32)
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            v = np.int32(x[r, i])
            out[r, i] = v if v >= 0 else -v
    return out


@njit(cache=True, error_model="numpy")
def quarter_turn(spectrum, out, zero_last):
    """out = -i * spectrum ((a + ib) -> (b - ia)), with bin 0 and, if ``zero_last``, the last bin zeroed:
    the spectrum of the Hilbert transform."""
    for r in range(out.shape[0]):
        for k in range(out.shape[1]):
            z = spectrum[r, k]
            out[r, k] = complex(z.imag, -z.real)
        out[r, 0] = 0
        if zero_last:
            out[r, out.shape[1] - 1] = 0
