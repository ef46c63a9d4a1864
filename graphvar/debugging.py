"""``tf.debugging``: the assertions and numeric checks of graphvar/ops/debug_ops.py under TF's second names."""

from __future__ import annotations

from graphvar.ops.debug_ops import (
    Assert,
    assert_equal,
    assert_greater,
    assert_greater_equal,
    assert_less,
    assert_less_equal,
    assert_negative,
    assert_non_negative,
    assert_none_equal,
    assert_positive,
    assert_rank,
    check_numerics,
    is_inf,
    is_nan,
)
from graphvar.ops.math_ops_extra import is_finite

__all__ = [
    "Assert", "assert_equal", "assert_greater", "assert_greater_equal", "assert_less", "assert_less_equal",
    "assert_negative", "assert_non_negative", "assert_none_equal", "assert_positive", "assert_rank",
    "check_numerics", "is_finite", "is_inf", "is_nan",
]  # fmt: skip
