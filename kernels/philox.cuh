// philox.cuh: the graphvar random stream (docs/random.md) for CUDA kernels and the host shim.
//
// Stream (key, run, attempt): word k = word k % 4 of
//   philox4x64_10(counter = (k / 4 + 1, run, attempt, 0), key = (key_lo, key_hi)),
// which is NumPy's np.random.Philox(key=key_lo | key_hi << 64, counter=[0, run, attempt, 0]).
// Transforms use explicit round-to-nearest intrinsics (__fmul_rn ...) so nvcc cannot contract
// them into FMAs: uniform values are bit-identical to graphvar.random on the host.
#pragma once
#include "host_shim.h"

struct gv_block {
    unsigned long long w[4];
};

__device__ __forceinline__ gv_block gv_philox4x64_10(unsigned long long c0, unsigned long long c1,
                                                     unsigned long long c2, unsigned long long c3,
                                                     unsigned long long k0, unsigned long long k1) {
    for (int round = 0; round < 10; ++round) {
        if (round) {
            k0 += 0x9E3779B97F4A7C15ULL;
            k1 += 0xBB67AE8584CAA73BULL;
        }
        unsigned long long hi0 = __umul64hi(0xD2E7470EE14C6C93ULL, c0), lo0 = 0xD2E7470EE14C6C93ULL * c0;
        unsigned long long hi1 = __umul64hi(0xCA5A826395121157ULL, c2), lo1 = 0xCA5A826395121157ULL * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    gv_block b = {{c0, c1, c2, c3}};
    return b;
}

struct gv_stream {
    unsigned long long key_lo, key_hi, run;
    // Block j of attempt `attempt`: stream words 4j .. 4j+3.
    __device__ __forceinline__ gv_block block(long long j, unsigned long long attempt) const {
        return gv_philox4x64_10((unsigned long long)j + 1ULL, run, attempt, 0ULL, key_lo, key_hi);
    }
};

// ---- uniforms: exact, so host and device agree bit for bit
__device__ __forceinline__ float gv_unit_f32(unsigned int h) { return __fmul_rn((float)(int)(h >> 8), 0x1p-24f); }
__device__ __forceinline__ float gv_unit_f16(unsigned int h) { return __fmul_rn((float)(int)(h >> 21), 0x1p-11f); }
__device__ __forceinline__ double gv_unit_f64(unsigned long long w) {
    return __dmul_rn((double)(long long)(w >> 11), 0x1p-53);
}
__device__ __forceinline__ unsigned int gv_lo32(unsigned long long w) { return (unsigned int)(w & 0xffffffffULL); }
__device__ __forceinline__ unsigned int gv_hi32(unsigned long long w) { return (unsigned int)(w >> 32); }

// ---- Box-Muller pairs: R = sqrt(-2 log(1 - u)), theta = 2 pi v; z0 = R cos theta, z1 = R sin theta.
// sincosf / sincos: one argument reduction for both (CUDA's and glibc's give sinf's and cosf's values).
__device__ __forceinline__ void gv_box_muller_f32(float u, float v, float* z0, float* z1) {
    float r = sqrtf(__fmul_rn(logf(__fsub_rn(1.0f, u)), -2.0f));
    float theta = __fmul_rn(v, 6.2831855f);  // float32(2 pi)
    float s, c;
    sincosf(theta, &s, &c);
    *z0 = __fmul_rn(r, c);
    *z1 = __fmul_rn(r, s);
}
__device__ __forceinline__ void gv_box_muller_f64(double u, double v, double* z0, double* z1) {
    double r = sqrt(__dmul_rn(log(__dsub_rn(1.0, u)), -2.0));
    double theta = __dmul_rn(v, 6.283185307179586);
    double s, c;
    sincos(theta, &s, &c);
    *z0 = __dmul_rn(r, c);
    *z1 = __dmul_rn(r, s);
}
// float32 pair from one word's (low, high) halves; float64 pair from two words.
__device__ __forceinline__ void gv_pair_f32(unsigned long long w, float* z0, float* z1) {
    gv_box_muller_f32(gv_unit_f32(gv_lo32(w)), gv_unit_f32(gv_hi32(w)), z0, z1);
}
__device__ __forceinline__ void gv_pair_f64(unsigned long long w0, unsigned long long w1, double* z0, double* z1) {
    gv_box_muller_f64(gv_unit_f64(w0), gv_unit_f64(w1), z0, z1);
}

__device__ __forceinline__ float gv_affine(float z, float scale, float shift) {
    return __fadd_rn(__fmul_rn(z, scale), shift);
}
__device__ __forceinline__ double gv_affine(double z, double scale, double shift) {
    return __dadd_rn(__dmul_rn(z, scale), shift);
}

// ---- float -> IEEE half bits, round to nearest even (same as NumPy's astype(float16)).
__device__ __forceinline__ unsigned short gv_f32_to_f16(float f) {
    unsigned int x = __float_as_uint(f);
    unsigned int sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (unsigned short)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
    if (ax >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u);  // rounds past 65504
    if (ax < 0x38800000u) {                                           // half subnormal (or zero)
        if (ax < 0x33000000u) return (unsigned short)sign;
        unsigned int e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u, s = 126u - e;
        unsigned int q = m >> s, rem = m & ((1u << s) - 1u), half = 1u << (s - 1u);
        if (rem > half || (rem == half && (q & 1u))) ++q;
        return (unsigned short)(sign | q);
    }
    unsigned int r = ax - 0x38000000u;
    return (unsigned short)(sign | ((r + 0xfffu + ((r >> 13) & 1u)) >> 13));
}
