"""TensorFlow's histograms (``tensorflow/core/lib/histogram/histogram.cc``), bit for bit.

The bucket limits grow by 10% from 1e-12 to 1e20 on each side of 0, with +-DBL_MAX at the
ends; a value goes to the first bucket whose limit is above it (``upper_bound``). Runs of
empty buckets are merged into one entry when encoded, as TF's ``EncodeToProto`` does.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

DBL_MAX = sys.float_info.max


@functools.cache
def default_bucket_limits() -> np.ndarray:
    """TF's default bucket limits: 1551 float64 values, -DBL_MAX ... 0 ... DBL_MAX."""
    positive, v = [], 1.0e-12
    while v < 1.0e20:  # the same double arithmetic as TF's loop, so the same limits
        positive.append(v)
        v *= 1.1
    positive.append(DBL_MAX)
    limits = np.array([-x for x in reversed(positive)] + [0.0] + positive, dtype=np.float64)
    limits.setflags(write=False)
    return limits


def histogram_fields(values: np.ndarray) -> dict:
    """The HistogramProto fields for `values` (finite reals), as TF's HistogramSummary encodes them.

    Returns:
      dict with min, max, num, sum, sum_squares, bucket_limit (list), bucket (list).
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    limits = default_bucket_limits()
    counts = np.bincount(np.searchsorted(limits, x, side="right"), minlength=limits.size).astype(np.float64)
    if x.size:
        # TF adds one value at a time: a sequential sum (cumsum), not NumPy's pairwise one
        total, squares = float(np.cumsum(x)[-1]), float(np.cumsum(x * x)[-1])
        lo, hi = float(x.min()), float(x.max())
    else:
        total = squares = 0.0
        lo, hi = DBL_MAX, -DBL_MAX
    bucket_limit, bucket = _collapse_empty(limits, counts)
    return {"min": lo, "max": hi, "num": float(x.size), "sum": total, "sum_squares": squares,
            "bucket_limit": bucket_limit, "bucket": bucket}  # fmt: skip


def _collapse_empty(limits: np.ndarray, counts: np.ndarray) -> tuple[list, list]:
    """A run of empty buckets becomes one entry with the run's last limit (TF's EncodeToProto)."""
    nonzero = counts > 0
    # keep a bucket if it is nonzero, or it is empty and ends a run of empties
    ends_run = ~nonzero & np.append(nonzero[1:], True)
    keep = nonzero | ends_run
    bucket_limit, bucket = limits[keep].tolist(), counts[keep].tolist()
    if not bucket_limit:
        return [DBL_MAX], [0.0]
    return bucket_limit, bucket
