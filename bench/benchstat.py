"""bench/benchstat.py - the one way the benchmarks summarise their samples.

Owns: percentiles (linear between the two nearest ranks) and the rule every benchmark prints
by: median and p99 only with at least 300 samples, otherwise "max of N".
Must not: run anything or read a clock.
"""
import statistics

MIN_FOR_PERCENTILES = 300


def percentile(xs, p):
    s = sorted(xs)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(xs, unit="ms", what="samples"):
    """'median M ms   p99 P ms   max X ms   (N samples)', or 'max of N: X ms' below 300."""
    if len(xs) >= MIN_FOR_PERCENTILES:
        return (f"median {statistics.median(xs):.2f} {unit}   p99 {percentile(xs, 99):.2f} "
                f"{unit}   max {max(xs):.2f} {unit}   ({len(xs)} {what})")
    return f"max of {len(xs)}: {max(xs):.2f} {unit}"
