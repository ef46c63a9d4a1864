"""Units in the last place: the measure docs/random.md bounds normal / truncated-normal values by."""

import numpy as np

# docs/random.md: max ULP distance between the CUDA kernels and the host for normal values
ULP_BOUNDS = {np.dtype(np.float16): 1, np.dtype(np.float32): 8, np.dtype(np.float64): 2}


def ulp_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Max distance in units in the last place (+0 and -0 count as equal)."""
    if a.size == 0:
        return 0
    ity = {2: np.int16, 4: np.int32, 8: np.int64}[a.dtype.itemsize]
    ai, bi = a.view(ity).astype(np.int64), b.view(ity).astype(np.int64)
    mag = np.int64((1 << (8 * a.dtype.itemsize - 1)) - 1)
    ai = np.where(ai < 0, -(ai & mag), ai)
    bi = np.where(bi < 0, -(bi & mag), bi)
    return int(np.max(np.abs(ai - bi)))
