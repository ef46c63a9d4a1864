#!/usr/bin/env bash
# Compiles every kernels/*.cu with nvcc for sm_80 and sm_90, warnings as errors (no GPU needed).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvcc >/dev/null 2>&1; then
    echo "check_kernels: nvcc not found, skipping the CUDA kernel compile check"
    exit 0
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for src in kernels/*.cu; do
    name="$(basename "$src" .cu)"
    nvcc --std=c++17 -Werror all-warnings -Ikernels \
        -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
        -c "$src" -o "$out/$name.o"
    echo "check_kernels: $src ok (sm_80, sm_90)"
done
