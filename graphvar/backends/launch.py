"""Launch geometry of our 1-D grid-stride kernels (kernels/*.cu): elements per thread, and a grid of
as many blocks as the device keeps resident, from the compiled kernel's own register count.

Pure Python (no CuPy), so the numbers are testable anywhere: ``ci/kernel_resources.py`` prints
what ptxas allocates for sm_80 / sm_90 (12-44 registers, no spills); at run time the GPU backend
reads the loaded function's ``num_regs`` and the device's limits.
"""

from __future__ import annotations

BLOCK = 256  # threads per block of every launch
_VECTOR = {"f16": 8, "f32": 4, "f64": 2, "i32": 4, "i64": 2}  # elements per 16-byte store
# Elements one thread handles per grid-stride step: the PER of gv_for_groups (kernels/init.cu) for
# random kernels, one 16-byte vector for fill and assignments.
PER_THREAD = {
    "uniform": {"f16": 8, "f32": 8, "f64": 4, "i32": 4, "i64": 4},
    "normal": {"f16": 8, "f32": 8, "f64": 4},
    "truncated_normal": {"f16": 4, "f32": 4, "f64": 2},
    **{kind: _VECTOR for kind in ("fill", "assign", "assign_add", "assign_sub")},
}
_WARP, _REG_UNIT = 32, 256  # registers are allocated per warp, in units of 256


def resident_blocks(
    num_regs: int, block: int = BLOCK, regs_per_sm: int = 65536, threads_per_sm: int = 2048, blocks_per_sm: int = 32
) -> int:
    """Blocks of ``block`` threads one SM keeps resident for a kernel using ``num_regs`` registers
    per thread and no shared memory (the occupancy calculator's register and thread limits).

    Example:
      >>> resident_blocks(44), resident_blocks(32), resident_blocks(128)
      (5, 8, 2)
    """
    warps = -(-block // _WARP)
    regs_per_warp = -(-max(1, num_regs) * _WARP // _REG_UNIT) * _REG_UNIT
    by_regs = (regs_per_sm // regs_per_warp) // warps
    return max(1, min(by_regs, threads_per_sm // block, blocks_per_sm))


def launch_shape(
    kind: str, suffix: str, n: int, sm_count: int, blocks_per_sm: int | None = None
) -> tuple[tuple[int], tuple[int]]:
    """(grid, block) of a 1-D grid-stride launch over ``n`` elements: enough threads for every
    element (group of elements), at most ``blocks_per_sm`` resident blocks on each of ``sm_count``
    SMs (default: the thread limit, 2048 / BLOCK; pass ``resident_blocks(fn.num_regs)``)."""
    per = PER_THREAD[kind][suffix] if kind in PER_THREAD else 1
    limit = (blocks_per_sm or 2048 // BLOCK) * max(1, sm_count)
    threads = -(-n // per)  # our launches start at element 0 (base = 0)
    return (max(1, min(-(-threads // BLOCK), limit)),), (BLOCK,)
