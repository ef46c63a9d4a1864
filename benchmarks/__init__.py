"""graphvar's benchmark suite: graphvar against TF's compat.v1, NumPy, safetensors and the machine's limits.

Run ``python -m benchmarks --quick`` (see ``benchmarks/run.py``); results in ``benchmarks/RESULTS.md``.
"""
