// init.cu: variable initializers writing straight into a variable's buffer.
//
// Every launch covers elements [base, base + n): out[j] is element base + j, so a variable can
// be filled in chunks (out + base, n, base) and element i always gets the same value. 1-D grids
// of any size; grid-stride loops with 64-bit indices; each thread computes one Philox block per
// step and writes the 2..8 elements it feeds (16-byte stores where aligned). Launch e.g.
// grid = min(ceil(n / 8 / 256), resident blocks * SMs), block = 256 (cupy_backend.launch_shape). Names are extern "C" (no mangling): cupy.RawModule(code=..., options=("-I" +
// kernel_dir, "--std=c++17")).get_function("uniform_f32"); on the host, gv_launch(...) from
// host_shim.h. float16 buffers are passed as unsigned short* (IEEE half bits).
//
//   fill_{f16,f32,f64,i32,i64}(T* out, long long n, T value)              T f16 = unsigned short bits
//   uniform_{f16,f32}(T* out, long long n, long long base, unsigned long long key_lo,
//                     unsigned long long key_hi, unsigned long long run, float minval, float maxval)
//   uniform_f64(double* out, long long n, long long base, key_lo, key_hi, run, double minval, double maxval)
//   uniform_{i32,i64}(T* out, long long n, long long base, key_lo, key_hi, run,
//                     long long minval, unsigned long long range)       range = maxval - minval > 0
//   normal_{f16,f32}(T* out, long long n, long long base, key_lo, key_hi, run, float mean, float stddev)
//   normal_f64(double* out, ..., double mean, double stddev)
//   truncated_normal_{f16,f32,f64}(same as normal_*)
//
// key_lo / key_hi: low / high 64 bits of graphvar.random.philox_key(seed1, seed2); run: the op's
// run index. Float16 minval/maxval/mean/stddev are the float32 values of the float16 parameters.
#include "philox.cuh"
#include "store.cuh"

template <int PER, class T, class Gen>
__device__ __forceinline__ void gv_for_groups(T* __restrict__ out, long long n, long long base, const Gen& gen) {
    if (n <= 0) return;
    long long last = (base + n - 1) / PER;
    long long stride = (long long)blockDim.x * gridDim.x;
    for (long long g = base / PER + (long long)blockIdx.x * blockDim.x + threadIdx.x; g <= last; g += stride) {
        T v[PER];
        gen(g, v);
        long long e0 = g * PER - base;
        if (e0 >= 0 && e0 + PER <= n) {
            gv_store_group<PER>(out + e0, v);  // a whole group: 16-byte stores where aligned
        } else {
            for (int k = 0; k < PER; ++k)
                if (e0 + k >= 0 && e0 + k < n) out[e0 + k] = v[k];
        }
    }
}

// Stores a float32 result into a float (as is) or a half (rounded to nearest even).
__device__ __forceinline__ void gv_set(float& d, float x) { d = x; }
__device__ __forceinline__ void gv_set(unsigned short& d, float x) { d = gv_f32_to_f16(x); }
__device__ __forceinline__ void gv_set(double& d, double x) { d = x; }

// ---- uniform: floats from 24 (f32), 11 (f16) or 53 (f64) bits; ints from a 64-bit word modulo range
struct gv_uniform_f32 {
    gv_stream s;
    float lo, span;
    __device__ void operator()(long long g, float* v) const {
        gv_block b = s.block(g, 0);
        for (int m = 0; m < 4; ++m) {
            v[2 * m] = gv_affine(gv_unit_f32(gv_lo32(b.w[m])), span, lo);
            v[2 * m + 1] = gv_affine(gv_unit_f32(gv_hi32(b.w[m])), span, lo);
        }
    }
};
struct gv_uniform_f16 {
    gv_stream s;
    float lo, span;
    __device__ void operator()(long long g, unsigned short* v) const {
        gv_block b = s.block(g, 0);
        for (int m = 0; m < 4; ++m) {
            v[2 * m] = gv_f32_to_f16(gv_affine(gv_unit_f16(gv_lo32(b.w[m])), span, lo));
            v[2 * m + 1] = gv_f32_to_f16(gv_affine(gv_unit_f16(gv_hi32(b.w[m])), span, lo));
        }
    }
};
struct gv_uniform_f64 {
    gv_stream s;
    double lo, span;
    __device__ void operator()(long long g, double* v) const {
        gv_block b = s.block(g, 0);
        for (int m = 0; m < 4; ++m) v[m] = gv_affine(gv_unit_f64(b.w[m]), span, lo);
    }
};
template <class T>
struct gv_uniform_int {
    gv_stream s;
    unsigned long long lo, range;
    __device__ void operator()(long long g, T* v) const {
        gv_block b = s.block(g, 0);
        for (int m = 0; m < 4; ++m) v[m] = (T)(long long)(lo + b.w[m] % range);
    }
};

// ---- normal: float32 pair m of block g from word m (elements 8g+2m, 8g+2m+1);
//      float64 pair m from words 2m, 2m+1 (elements 4g+2m, 4g+2m+1)
template <class T>
struct gv_normal_f32 {  // T = float or unsigned short (half bits; computed in float32)
    gv_stream s;
    float mean, stddev;
    __device__ void operator()(long long g, T* v) const {
        gv_block b = s.block(g, 0);
        for (int m = 0; m < 4; ++m) {
            float z0, z1;
            gv_pair_f32(b.w[m], &z0, &z1);
            gv_set(v[2 * m], gv_affine(z0, stddev, mean));
            gv_set(v[2 * m + 1], gv_affine(z1, stddev, mean));
        }
    }
};
struct gv_normal_f64 {
    gv_stream s;
    double mean, stddev;
    __device__ void operator()(long long g, double* v) const {
        gv_block b = s.block(g, 0);
        for (int m = 0; m < 2; ++m) {
            double z0, z1;
            gv_pair_f64(b.w[2 * m], b.w[2 * m + 1], &z0, &z1);
            v[2 * m] = gv_affine(z0, stddev, mean);
            v[2 * m + 1] = gv_affine(z1, stddev, mean);
        }
    }
};

// ---- truncated normal: element i takes the first of (z0, z1) with |z| <= 2 from its pair
//      (float32: word i; float64: words 2i, 2i+1) of attempt 0, 1, 2, ... (counter word 2).
template <class T>
struct gv_truncated_f32 {
    gv_stream s;
    float mean, stddev;
    __device__ void operator()(long long g, T* v) const {
        gv_block b = s.block(g, 0);
        for (int k = 0; k < 4; ++k) {
            unsigned long long w = b.w[k];
            float z0, z1;
            for (unsigned long long attempt = 1;; ++attempt) {
                gv_pair_f32(w, &z0, &z1);
                if (!(fabsf(z0) > 2.0f)) break;
                z0 = z1;
                if (!(fabsf(z0) > 2.0f)) break;
                w = s.block(g, attempt).w[k];
            }
            gv_set(v[k], gv_affine(z0, stddev, mean));
        }
    }
};
struct gv_truncated_f64 {
    gv_stream s;
    double mean, stddev;
    __device__ void operator()(long long g, double* v) const {
        gv_block b = s.block(g, 0);
        for (int k = 0; k < 2; ++k) {
            unsigned long long w0 = b.w[2 * k], w1 = b.w[2 * k + 1];
            double z0, z1;
            for (unsigned long long attempt = 1;; ++attempt) {
                gv_pair_f64(w0, w1, &z0, &z1);
                if (!(fabs(z0) > 2.0)) break;
                z0 = z1;
                if (!(fabs(z0) > 2.0)) break;
                gv_block r = s.block(g, attempt);
                w0 = r.w[2 * k];
                w1 = r.w[2 * k + 1];
            }
            v[k] = gv_affine(z0, stddev, mean);
        }
    }
};

// ---- entry points
#define GV_STREAM_ARGS unsigned long long key_lo, unsigned long long key_hi, unsigned long long run
#define GV_STREAM gv_stream{key_lo, key_hi, run}

// fill: 16 bytes (16 / sizeof(T) elements) per thread and step where out is 16-byte aligned, then
// the tail (and an unaligned out) element by element; launch for ceil(n / (16 / sizeof(T))) threads.
template <class T>
__device__ __forceinline__ void gv_fill(T* __restrict__ out, long long n, T value) {
    constexpr int V = 16 / (int)sizeof(T);
    long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x, stride = (long long)blockDim.x * gridDim.x;
    long long groups = gv_aligned16(out) ? n / V : 0;
    T pack[V];
    for (int k = 0; k < V; ++k) pack[k] = value;
    for (long long i = tid; i < groups; i += stride) gv_store16(out + i * V, pack);
    for (long long i = groups * V + tid; i < n; i += stride) out[i] = value;
}
#define GV_FILL(NAME, T) \
    extern "C" __global__ void NAME(T* __restrict__ out, long long n, T value) { gv_fill<T>(out, n, value); }
GV_FILL(fill_f16, unsigned short)
GV_FILL(fill_f32, float)
GV_FILL(fill_f64, double)
GV_FILL(fill_i32, int)
GV_FILL(fill_i64, long long)

extern "C" __global__ void uniform_f16(unsigned short* out, long long n, long long base, GV_STREAM_ARGS, float minval,
                                       float maxval) {
    gv_for_groups<8>(out, n, base, gv_uniform_f16{GV_STREAM, minval, __fsub_rn(maxval, minval)});
}
extern "C" __global__ void uniform_f32(float* out, long long n, long long base, GV_STREAM_ARGS, float minval,
                                       float maxval) {
    gv_for_groups<8>(out, n, base, gv_uniform_f32{GV_STREAM, minval, __fsub_rn(maxval, minval)});
}
extern "C" __global__ void uniform_f64(double* out, long long n, long long base, GV_STREAM_ARGS, double minval,
                                       double maxval) {
    gv_for_groups<4>(out, n, base, gv_uniform_f64{GV_STREAM, minval, __dsub_rn(maxval, minval)});
}
extern "C" __global__ void uniform_i32(int* out, long long n, long long base, GV_STREAM_ARGS, long long minval,
                                       unsigned long long range) {
    gv_for_groups<4>(out, n, base, gv_uniform_int<int>{GV_STREAM, (unsigned long long)minval, range});
}
extern "C" __global__ void uniform_i64(long long* out, long long n, long long base, GV_STREAM_ARGS, long long minval,
                                       unsigned long long range) {
    gv_for_groups<4>(out, n, base, gv_uniform_int<long long>{GV_STREAM, (unsigned long long)minval, range});
}
extern "C" __global__ void normal_f16(unsigned short* out, long long n, long long base, GV_STREAM_ARGS, float mean,
                                      float stddev) {
    gv_for_groups<8>(out, n, base, gv_normal_f32<unsigned short>{GV_STREAM, mean, stddev});
}
extern "C" __global__ void normal_f32(float* out, long long n, long long base, GV_STREAM_ARGS, float mean,
                                      float stddev) {
    gv_for_groups<8>(out, n, base, gv_normal_f32<float>{GV_STREAM, mean, stddev});
}
extern "C" __global__ void normal_f64(double* out, long long n, long long base, GV_STREAM_ARGS, double mean,
                                      double stddev) {
    gv_for_groups<4>(out, n, base, gv_normal_f64{GV_STREAM, mean, stddev});
}
extern "C" __global__ void truncated_normal_f16(unsigned short* out, long long n, long long base, GV_STREAM_ARGS,
                                                float mean, float stddev) {
    gv_for_groups<4>(out, n, base, gv_truncated_f32<unsigned short>{GV_STREAM, mean, stddev});
}
extern "C" __global__ void truncated_normal_f32(float* out, long long n, long long base, GV_STREAM_ARGS, float mean,
                                                float stddev) {
    gv_for_groups<4>(out, n, base, gv_truncated_f32<float>{GV_STREAM, mean, stddev});
}
extern "C" __global__ void truncated_normal_f64(double* out, long long n, long long base, GV_STREAM_ARGS, double mean,
                                                double stddev) {
    gv_for_groups<2>(out, n, base, gv_truncated_f64{GV_STREAM, mean, stddev});
}
