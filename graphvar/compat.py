"""``tf.compat.v1``: graphvar is TF1's API, so ``tf.compat.v1.X`` is ``tf.X``."""

import sys

v1 = sys.modules["graphvar"]
