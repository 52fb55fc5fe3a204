"""What ``lanl info`` prints: rows, quake cycles (rows and seconds), signal statistics, test segments.

Statistics come from one chunked pass over the int16 memmap: a 65,536-bin histogram gives exact mean, std,
min, max and quantiles in bounded memory.
"""

from __future__ import annotations

import numpy as np

from lanl.data.cache import SignalCache
from lanl.progress import progress

_CHUNK = 1 << 24


def int16_histogram(x: np.ndarray, desc: str = "") -> np.ndarray:
    """Counts of each int16 value (index = value + 32768), chunked over a possibly memory-mapped array."""
    counts = np.zeros(65536, np.int64)
    steps = range(0, len(x), _CHUNK)
    for lo in progress(steps, desc=desc, unit="chunk", disable=not desc or len(steps) < 8):
        counts += np.bincount(np.asarray(x[lo : lo + _CHUNK], np.int32) + 32768, minlength=65536)
    return counts


def histogram_stats(counts: np.ndarray, quantiles=(0.01, 0.05, 0.5, 0.95, 0.99)) -> dict:
    values = np.arange(-32768, 32768, dtype=np.float64)
    n = counts.sum()
    mean = float((counts * values).sum() / n)
    var = float((counts * (values - mean) ** 2).sum() / n)
    nz = np.flatnonzero(counts)
    cum = np.cumsum(counts)
    qs = {f"q{q * 100:g}": float(values[np.searchsorted(cum, q * (n - 1), side="right")]) for q in quantiles}
    return {
        "n": int(n),
        "mean": mean,
        "std": var**0.5,
        "min": int(values[nz[0]]),
        "max": int(values[nz[-1]]),
        **qs,
    }


def summarize(cache: SignalCache) -> dict:
    bounds = cache.cycle_bounds()
    cycles = []
    for k, (a, b) in enumerate(bounds):
        ttf_first, ttf_last = float(cache.ttf[a]), float(cache.ttf[b - 1])
        cycles.append(
            {
                "cycle": k,
                "start": int(a),
                "rows": int(b - a),
                "seconds": ttf_first - ttf_last,
                "ttf_first": ttf_first,
                "ttf_last": ttf_last,
                "ends_in_failure": bool(b < cache.rows),
            }
        )
    out = {
        "rows": cache.rows,
        "cycles": cycles,
        "failures": len(bounds) - 1,
        "signal": histogram_stats(int16_histogram(cache.signal, desc="signal statistics")),
        "ttf_range": [float(np.min(cache.ttf[bounds[:, 1] - 1])), max(c["ttf_first"] for c in cycles)],
        "test_segments": len(cache.test_ids),
    }
    if cache.test_signal is not None:
        flat = cache.test_signal.reshape(-1)
        out["test_signal"] = histogram_stats(int16_histogram(flat))
    return out


def format_summary(s: dict, source: str = "") -> str:
    lines = [f"data: {source}"] if source else []
    lines.append(f"train rows: {s['rows']:,}   failures: {s['failures']}   cycles: {len(s['cycles'])}")
    lines.append("  cycle        start         rows   seconds   ttf first -> last")
    for c in s["cycles"]:
        tail = "" if c["ends_in_failure"] else "   (no failure at the end)"
        lines.append(
            f"  {c['cycle']:5d} {c['start']:12,d} {c['rows']:12,d} {c['seconds']:9.3f}"
            f"   {c['ttf_first']:.4f} -> {c['ttf_last']:.6f}{tail}"
        )
    lines.append(_fmt_stats("train signal", s["signal"]))
    lines.append(f"test segments: {s['test_segments']:,}")
    if "test_signal" in s:
        lines.append(_fmt_stats("test signal", s["test_signal"]))
    return "\n".join(lines)


def _fmt_stats(name: str, st: dict) -> str:
    qs = "  ".join(f"{k}={v:g}" for k, v in st.items() if k.startswith("q"))
    return f"{name}: mean={st['mean']:.4f}  std={st['std']:.4f}  min={st['min']}  max={st['max']}  {qs}"
