"""``tf.initializers``: TF1's namespace of initializer classes and the variable-initializer ops."""

from graphvar.ops.init_ops import (  # noqa: F401
    Constant as constant,
)
from graphvar.ops.init_ops import (
    GlorotNormal as glorot_normal,
)
from graphvar.ops.init_ops import (
    GlorotUniform as glorot_uniform,
)
from graphvar.ops.init_ops import (
    Identity as identity,
)
from graphvar.ops.init_ops import (
    Ones as ones,
)
from graphvar.ops.init_ops import (
    Orthogonal as orthogonal,
)
from graphvar.ops.init_ops import (
    RandomNormal as random_normal,
)
from graphvar.ops.init_ops import (
    RandomUniform as random_uniform,
)
from graphvar.ops.init_ops import (
    TruncatedNormal as truncated_normal,
)
from graphvar.ops.init_ops import (
    UniformUnitScaling as uniform_unit_scaling,
)
from graphvar.ops.init_ops import (
    VarianceScaling as variance_scaling,
)
from graphvar.ops.init_ops import (
    Zeros as zeros,
)
from graphvar.ops.init_ops import (
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
)
from graphvar.variables import (  # noqa: F401
    global_variables_initializer as global_variables,
)
from graphvar.variables import (
    local_variables_initializer as local_variables,
)
from graphvar.variables import (
    variables_initializer as variables,
)


def tables_initializer(name: str = "init_all_tables"):
    """An op that initializes all tables; graphvar has no lookup tables, so a no-op (as TF with none)."""
    from graphvar.ops.control_flow_ops import no_op

    return no_op(name=name)


__all__ = [
    "constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal",
    "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform", "truncated_normal",
    "uniform_unit_scaling", "variance_scaling", "zeros", "global_variables", "local_variables", "variables",
    "tables_initializer",
]  # fmt: skip
