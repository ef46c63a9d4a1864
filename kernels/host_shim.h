// host_shim.h: stands in for the CUDA built-ins so kernels/*.cu also compile as plain C++
// (g++ -x c++ -std=c++17 -ffp-contract=off). Under nvcc / NVRTC (__CUDACC__) it is empty.
//
// gv_launch(grid, block, kernel, args...) runs every (block, thread) of a 1-D grid in turn on
// the calling thread, so grid-stride loops and `base` offsets are exercised exactly as on a GPU
// (no __syncthreads / shared memory: the kernels here do not use them).
#pragma once
#ifndef __CUDACC__
#include <cmath>
#include <cstring>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict

struct gv_dim3 {
    unsigned int x, y, z;
};
inline thread_local gv_dim3 threadIdx = {0, 0, 0};
inline thread_local gv_dim3 blockIdx = {0, 0, 0};
inline thread_local gv_dim3 blockDim = {1, 1, 1};
inline thread_local gv_dim3 gridDim = {1, 1, 1};

inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
#ifdef __SIZEOF_INT128__
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
#else  // portable: four 32x32 products
    unsigned long long a0 = a & 0xffffffffULL, a1 = a >> 32, b0 = b & 0xffffffffULL, b1 = b >> 32;
    unsigned long long p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    unsigned long long mid = (p00 >> 32) + (p01 & 0xffffffffULL) + (p10 & 0xffffffffULL);
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

// Round-to-nearest IEEE arithmetic; -ffp-contract=off keeps g++ from fusing them into FMAs.
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline unsigned int __float_as_uint(float f) {
    unsigned int u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

inline float __uint_as_float(unsigned int u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// 16-byte vector copies (kernels/store.cuh): one ld/st.global.v4 on the GPU, memcpy here. The
// global side must be 16-byte aligned, as the GPU requires (a misaligned vector access faults there):
// trap here too, so the host tests catch it.
inline void gv_check16(const void* global) {
    if (reinterpret_cast<unsigned long long>(global) & 15ULL) __builtin_trap();
}
inline void gv_store16(void* __restrict dst, const void* __restrict src) {
    gv_check16(dst);
    std::memcpy(dst, src, 16);
}
inline void gv_load16(void* __restrict dst, const void* __restrict src) {
    gv_check16(src);
    std::memcpy(dst, src, 16);
}

template <class Kernel, class... Args>
void gv_launch(unsigned int grid, unsigned int block, Kernel kernel, Args... args) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    for (unsigned int b = 0; b < grid; ++b) {
        for (unsigned int t = 0; t < block; ++t) {
            blockIdx = {b, 0, 0};
            threadIdx = {t, 0, 0};
            kernel(args...);
        }
    }
}
#endif  // __CUDACC__
