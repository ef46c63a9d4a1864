#!/usr/bin/env bash
# Compiles every kernels/*.cu with nvcc for sm_80 and sm_90, warnings as errors (no GPU needed), prints
# each kernel's registers, stack and spills from ptxas, and fails on a compile error or any spill.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvcc >/dev/null 2>&1; then
    echo "check_kernels: nvcc not found, skipping the CUDA kernel compile check"
    exit 0
fi
python3 ci/kernel_resources.py --arch 80 --arch 90
echo "check_kernels: kernels/*.cu ok (sm_80, sm_90; warnings as errors; no spills)"
