// assign.cu: in-place variable updates, elementwise, same dtype, 1-D grid-stride, 64-bit indices,
// 16 bytes per thread and step where aligned (launch for ceil(n / (16 / sizeof(T))) threads).
// Names are extern "C" (cupy.RawModule(...).get_function("assign_add_f32")); float16 buffers are
// unsigned short* (IEEE half bits), added in float32 and rounded to nearest even, as NumPy does.
// Integer add/sub wrap around (two's complement), as NumPy does.
//
//   assign_{f16,f32,f64,i32,i64}(T* dst, const T* src, long long n)          dst[i] = src[i]
//   assign_add_{f16,f32,f64,i32,i64}(T* dst, const T* src, long long n)      dst[i] += src[i]
//   assign_sub_{f16,f32,f64,i32,i64}(T* dst, const T* src, long long n)      dst[i] -= src[i]
#include "philox.cuh"
#include "store.cuh"

// Exact IEEE half bits -> float.
__device__ __forceinline__ float gv_f16_to_f32(unsigned short h) {
    unsigned int sign = (unsigned int)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {  // zero or subnormal: m * 2^-24, exact
        float mag = __fmul_rn((float)(int)m, 0x1p-24f);
        return sign ? -mag : mag;
    }
    unsigned int exp32 = e == 0x1fu ? 0xffu : e + 112u;
    return __uint_as_float(sign | (exp32 << 23) | (m << 13));
}

__device__ __forceinline__ unsigned short gv_add(unsigned short a, unsigned short b) {
    return gv_f32_to_f16(__fadd_rn(gv_f16_to_f32(a), gv_f16_to_f32(b)));
}
__device__ __forceinline__ unsigned short gv_sub(unsigned short a, unsigned short b) {
    return gv_f32_to_f16(__fsub_rn(gv_f16_to_f32(a), gv_f16_to_f32(b)));
}
// CuPy's RawModule compiles with -ftz=true, which turns __fadd_rn into add.rn.ftz.f32 and flushes
// subnormal sums to zero; NumPy keeps them. Plain add.rn.f32 / sub.rn.f32 (no .ftz) keep them.
__device__ __forceinline__ float gv_add(float a, float b) {
#ifdef __CUDA_ARCH__
    float r;
    asm("add.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
    return r;
#else
    return __fadd_rn(a, b);
#endif
}
__device__ __forceinline__ float gv_sub(float a, float b) {
#ifdef __CUDA_ARCH__
    float r;
    asm("sub.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
    return r;
#else
    return __fsub_rn(a, b);
#endif
}
__device__ __forceinline__ double gv_add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double gv_sub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ int gv_add(int a, int b) { return (int)((unsigned int)a + (unsigned int)b); }
__device__ __forceinline__ int gv_sub(int a, int b) { return (int)((unsigned int)a - (unsigned int)b); }
__device__ __forceinline__ long long gv_add(long long a, long long b) {
    return (long long)((unsigned long long)a + (unsigned long long)b);
}
__device__ __forceinline__ long long gv_sub(long long a, long long b) {
    return (long long)((unsigned long long)a - (unsigned long long)b);
}

struct gv_copy_op {
    static constexpr bool reads_dst = false;
    template <class T>
    __device__ __forceinline__ T operator()(T, T s) const { return s; }
};
struct gv_add_op {
    static constexpr bool reads_dst = true;
    template <class T>
    __device__ __forceinline__ T operator()(T d, T s) const { return gv_add(d, s); }
};
struct gv_sub_op {
    static constexpr bool reads_dst = true;
    template <class T>
    __device__ __forceinline__ T operator()(T d, T s) const { return gv_sub(d, s); }
};

// dst[i] = op(dst[i], src[i]): 16 bytes (16 / sizeof(T) elements) per thread and step where dst and
// src are 16-byte aligned, then the tail (and unaligned arrays) element by element.
template <class T, class Op>
__device__ __forceinline__ void gv_update(T* __restrict__ dst, const T* __restrict__ src, long long n, Op op) {
    constexpr int V = 16 / (int)sizeof(T);
    long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x, stride = (long long)blockDim.x * gridDim.x;
    long long groups = gv_aligned16(dst) && gv_aligned16(src) ? n / V : 0;
    for (long long i = tid; i < groups; i += stride) {
        T d[V] = {}, s[V];
        gv_load16(s, src + i * V);
        if constexpr (Op::reads_dst) gv_load16(d, dst + i * V);
        for (int k = 0; k < V; ++k) d[k] = op(d[k], s[k]);
        gv_store16(dst + i * V, d);
    }
    for (long long i = groups * V + tid; i < n; i += stride) dst[i] = op(dst[i], src[i]);
}

#define GV_ASSIGN_OP(NAME, T, OP)                                                                \
    extern "C" __global__ void NAME(T* __restrict__ dst, const T* __restrict__ src, long long n) { \
        gv_update<T>(dst, src, n, OP{});                                                         \
    }
#define GV_ASSIGN_ALL(SUFFIX, T)                          \
    GV_ASSIGN_OP(assign_##SUFFIX, T, gv_copy_op)          \
    GV_ASSIGN_OP(assign_add_##SUFFIX, T, gv_add_op)       \
    GV_ASSIGN_OP(assign_sub_##SUFFIX, T, gv_sub_op)

GV_ASSIGN_ALL(f16, unsigned short)
GV_ASSIGN_ALL(f32, float)
GV_ASSIGN_ALL(f64, double)
GV_ASSIGN_ALL(i32, int)
GV_ASSIGN_ALL(i64, long long)
