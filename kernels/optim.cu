// optim.cu: optimizer updates, in place, one grid-stride launch per variable, 64-bit indices.
// Each computes TF's CPU functor (tensorflow/core/kernels/training_ops.cc) in the same order of
// IEEE round-to-nearest operations as graphvar/backends/training_kernels.py, so the device equals
// the host bit for bit. Built with --fmad=false; the float32 helpers below are also explicit
// .rn PTX without .ftz (CuPy's NVRTC default flushes subnormals), so no operation is fused or flushed.
// Scalars come from the host, already in T (Adam's lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t) and
// the 1 - beta / 1 - rho factors are computed there, once, in T, as TF does).
//
//   apply_gradient_descent_{f32,f64}(T* var, const T* grad, T lr, long long n)
//   apply_momentum_{f32,f64}(T* var, T* accum, const T* grad, T lr, T momentum, int nesterov, long long n)
//   apply_adam_{f32,f64}(T* var, T* m, T* v, const T* grad, T lr_t, T beta1, T one_minus_beta1,
//                        T one_minus_beta2, T epsilon, int nesterov, long long n)
//   apply_rms_prop_{f32,f64}(T* var, T* ms, T* mom, const T* grad, T lr, T one_minus_rho, T momentum,
//                            T epsilon, long long n)
//   apply_centered_rms_prop_{f32,f64}(T* var, T* mg, T* ms, T* mom, const T* grad, T lr,
//                                     T one_minus_rho, T momentum, T epsilon, long long n)
//   apply_adagrad_{f32,f64}(T* var, T* accum, const T* grad, T lr, int update_slots, long long n)
//
// Sparse updates (TF's SparseApply* CPU kernels, row order of graphvar/backends/sparse_training_kernels.py):
// element k of the [rows, inner] gradient updates element (indices[k / inner], k % inner) of the variable and
// its slots. The indices are distinct within one launch (the host splits repeats into waves) and in range.
//   sparse_apply_momentum_{f32,f64}(T* var, T* accum, const T* grad, const long long* indices, T lr,
//                                   T momentum, T lr_momentum, int nesterov, long long rows, long long inner)
//   sparse_apply_adagrad_{f32,f64}(T* var, T* accum, const T* grad, const long long* indices, T lr,
//                                  int update_slots, long long rows, long long inner)
//   sparse_apply_rms_prop_{f32,f64}(T* var, T* ms, T* mom, const T* grad, const long long* indices, T lr, T rho,
//                                   T one_minus_rho, T momentum, T epsilon, long long rows, long long inner)
//   sparse_apply_centered_rms_prop_{f32,f64}(T* var, T* mg, T* ms, T* mom, const T* grad,
//                                            const long long* indices, T lr, T rho, T one_minus_rho,
//                                            T momentum, T epsilon, long long rows, long long inner)
#include "host_shim.h"

#ifdef __CUDA_ARCH__
#define GVO_F32_OP(NAME, PTX)                                                     \
    __device__ __forceinline__ float NAME(float a, float b) {                    \
        float r;                                                                  \
        asm(PTX " %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));                       \
        return r;                                                                 \
    }
GVO_F32_OP(gvo_add, "add.rn.f32")
GVO_F32_OP(gvo_sub, "sub.rn.f32")
GVO_F32_OP(gvo_mul, "mul.rn.f32")
GVO_F32_OP(gvo_div, "div.rn.f32")
__device__ __forceinline__ float gvo_sqrt(float a) {
    float r;
    asm("sqrt.rn.f32 %0, %1;" : "=f"(r) : "f"(a));
    return r;
}
__device__ __forceinline__ double gvo_add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double gvo_sub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ double gvo_mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double gvo_div(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ double gvo_sqrt(double a) { return __dsqrt_rn(a); }
#else  // host build (tests/kernels): IEEE operators, -ffp-contract=off
template <class T> inline T gvo_add(T a, T b) { return a + b; }
template <class T> inline T gvo_sub(T a, T b) { return a - b; }
template <class T> inline T gvo_mul(T a, T b) { return a * b; }
template <class T> inline T gvo_div(T a, T b) { return a / b; }
inline float gvo_sqrt(float a) { return std::sqrt(a); }
inline double gvo_sqrt(double a) { return std::sqrt(a); }
#endif

#define GVO_LOOP for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; \
                      i += (long long)blockDim.x * gridDim.x)

// var -= grad * lr
template <class T>
__device__ void gvo_gradient_descent(T* var, const T* grad, T lr, long long n) {
    GVO_LOOP { var[i] = gvo_sub(var[i], gvo_mul(grad[i], lr)); }
}

// accum = accum * momentum + grad; var -= accum * lr  (Nesterov: var -= grad * lr + accum * momentum * lr)
template <class T>
__device__ void gvo_momentum(T* var, T* accum, const T* grad, T lr, T momentum, int nesterov, long long n) {
    GVO_LOOP {
        T a = gvo_add(gvo_mul(accum[i], momentum), grad[i]);
        accum[i] = a;
        T step = nesterov ? gvo_add(gvo_mul(grad[i], lr), gvo_mul(gvo_mul(a, momentum), lr)) : gvo_mul(a, lr);
        var[i] = gvo_sub(var[i], step);
    }
}

// m += (g - m) * (1 - beta1); v += (g * g - v) * (1 - beta2);
// var -= (m * lr_t) / (sqrt(v) + eps)  (Nesterov: ((g * (1 - beta1) + m * beta1) * lr_t) / (sqrt(v) + eps))
template <class T>
__device__ void gvo_adam(T* var, T* m, T* v, const T* grad, T lr_t, T beta1, T one_minus_beta1, T one_minus_beta2,
                         T epsilon, int nesterov, long long n) {
    GVO_LOOP {
        T g = grad[i];
        T mi = gvo_add(m[i], gvo_mul(gvo_sub(g, m[i]), one_minus_beta1));
        T vi = gvo_add(v[i], gvo_mul(gvo_sub(gvo_mul(g, g), v[i]), one_minus_beta2));
        m[i] = mi;
        v[i] = vi;
        T num = nesterov ? gvo_add(gvo_mul(g, one_minus_beta1), gvo_mul(mi, beta1)) : mi;
        var[i] = gvo_sub(var[i], gvo_div(gvo_mul(num, lr_t), gvo_add(gvo_sqrt(vi), epsilon)));
    }
}

// ms += (g * g - ms) * (1 - rho); mom = mom * momentum + (g * lr) / sqrt(ms + eps); var -= mom
template <class T>
__device__ void gvo_rms_prop(T* var, T* ms, T* mom, const T* grad, T lr, T one_minus_rho, T momentum, T epsilon,
                             long long n) {
    GVO_LOOP {
        T g = grad[i];
        T s = gvo_add(ms[i], gvo_mul(gvo_sub(gvo_mul(g, g), ms[i]), one_minus_rho));
        ms[i] = s;
        T mo = gvo_add(gvo_mul(mom[i], momentum), gvo_div(gvo_mul(g, lr), gvo_sqrt(gvo_add(s, epsilon))));
        mom[i] = mo;
        var[i] = gvo_sub(var[i], mo);
    }
}

// as rms_prop, with mg += (g - mg) * (1 - rho) and the denominator sqrt((ms - mg * mg) + eps)
template <class T>
__device__ void gvo_centered_rms_prop(T* var, T* mg, T* ms, T* mom, const T* grad, T lr, T one_minus_rho, T momentum,
                                      T epsilon, long long n) {
    GVO_LOOP {
        T g = grad[i];
        T s = gvo_add(ms[i], gvo_mul(gvo_sub(gvo_mul(g, g), ms[i]), one_minus_rho));
        T a = gvo_add(mg[i], gvo_mul(gvo_sub(g, mg[i]), one_minus_rho));
        ms[i] = s;
        mg[i] = a;
        T denom = gvo_sqrt(gvo_add(gvo_sub(s, gvo_mul(a, a)), epsilon));
        T mo = gvo_add(gvo_mul(mom[i], momentum), gvo_div(gvo_mul(g, lr), denom));
        mom[i] = mo;
        var[i] = gvo_sub(var[i], mo);
    }
}

// accum += g * g (update_slots); var -= (g * lr) * (1 / sqrt(accum))
template <class T>
__device__ void gvo_adagrad(T* var, T* accum, const T* grad, T lr, int update_slots, long long n) {
    GVO_LOOP {
        T g = grad[i];
        T a = update_slots ? gvo_add(accum[i], gvo_mul(g, g)) : accum[i];
        accum[i] = a;
        var[i] = gvo_sub(var[i], gvo_mul(gvo_mul(g, lr), gvo_div(T(1), gvo_sqrt(a))));
    }
}

// grid-stride over the rows * inner gradient elements k; gvo_element(k) is k's element of the variable
#define GVO_SPARSE_LOOP                                                                                   \
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x, n = rows * inner; k < n;        \
         k += (long long)blockDim.x * gridDim.x)
#define gvo_element(k) (indices[(k) / inner] * inner + (k) % inner)

// a = a * momentum + g; var -= a * lr  (Nesterov: var -= g * lr + a * (lr * momentum))
template <class T>
__device__ void gvo_sparse_momentum(T* var, T* accum, const T* grad, const long long* indices, T lr, T momentum,
                                    T lr_momentum, int nesterov, long long rows, long long inner) {
    GVO_SPARSE_LOOP {
        const long long i = gvo_element(k);
        T g = grad[k];
        T a = gvo_add(gvo_mul(accum[i], momentum), g);
        accum[i] = a;
        T step = nesterov ? gvo_add(gvo_mul(g, lr), gvo_mul(a, lr_momentum)) : gvo_mul(a, lr);
        var[i] = gvo_sub(var[i], step);
    }
}

// a += g * g (update_slots); var -= (g * lr) * (1 / sqrt(a))  (inner == 1: (g * lr) / sqrt(a))
template <class T>
__device__ void gvo_sparse_adagrad(T* var, T* accum, const T* grad, const long long* indices, T lr, int update_slots,
                                   long long rows, long long inner) {
    GVO_SPARSE_LOOP {
        const long long i = gvo_element(k);
        T g = grad[k];
        T a = update_slots ? gvo_add(accum[i], gvo_mul(g, g)) : accum[i];
        accum[i] = a;
        T d = gvo_sqrt(a);
        T t = gvo_mul(g, lr);
        var[i] = gvo_sub(var[i], inner == 1 ? gvo_div(t, d) : gvo_mul(t, gvo_div(T(1), d)));
    }
}

// mom = mom * momentum + ((1 / sqrt(denom)) * lr) * g; var -= mom
template <class T>
__device__ __forceinline__ T gvo_sparse_mom(T mom, T denom, T g, T lr, T momentum) {
    return gvo_add(gvo_mul(mom, momentum), gvo_mul(gvo_mul(gvo_div(T(1), gvo_sqrt(denom)), lr), g));
}

// ms = ms * rho + (g * g) * (1 - rho); denom = ms + epsilon
template <class T>
__device__ void gvo_sparse_rms_prop(T* var, T* ms, T* mom, const T* grad, const long long* indices, T lr, T rho,
                                    T one_minus_rho, T momentum, T epsilon, long long rows, long long inner) {
    GVO_SPARSE_LOOP {
        const long long i = gvo_element(k);
        T g = grad[k];
        T s = gvo_add(gvo_mul(ms[i], rho), gvo_mul(gvo_mul(g, g), one_minus_rho));
        ms[i] = s;
        T mo = gvo_sparse_mom(mom[i], gvo_add(s, epsilon), g, lr, momentum);
        mom[i] = mo;
        var[i] = gvo_sub(var[i], mo);
    }
}

// as sparse_rms_prop, with mg = mg * rho + g * (1 - rho) and denom = (ms + epsilon) - mg * mg
template <class T>
__device__ void gvo_sparse_centered_rms_prop(T* var, T* mg, T* ms, T* mom, const T* grad, const long long* indices,
                                             T lr, T rho, T one_minus_rho, T momentum, T epsilon, long long rows,
                                             long long inner) {
    GVO_SPARSE_LOOP {
        const long long i = gvo_element(k);
        T g = grad[k];
        T s = gvo_add(gvo_mul(ms[i], rho), gvo_mul(gvo_mul(g, g), one_minus_rho));
        T a = gvo_add(gvo_mul(mg[i], rho), gvo_mul(g, one_minus_rho));
        ms[i] = s;
        mg[i] = a;
        T mo = gvo_sparse_mom(mom[i], gvo_sub(gvo_add(s, epsilon), gvo_mul(a, a)), g, lr, momentum);
        mom[i] = mo;
        var[i] = gvo_sub(var[i], mo);
    }
}

#define GVO_SPARSE_KERNELS(SUFFIX, T)                                                                              \
    extern "C" __global__ void sparse_apply_momentum_##SUFFIX(T* var, T* accum, const T* grad,                     \
                                                              const long long* indices, T lr, T momentum,          \
                                                              T lr_momentum, int nesterov, long long rows,         \
                                                              long long inner) {                                   \
        gvo_sparse_momentum<T>(var, accum, grad, indices, lr, momentum, lr_momentum, nesterov, rows, inner);       \
    }                                                                                                              \
    extern "C" __global__ void sparse_apply_adagrad_##SUFFIX(T* var, T* accum, const T* grad,                      \
                                                             const long long* indices, T lr, int update_slots,     \
                                                             long long rows, long long inner) {                    \
        gvo_sparse_adagrad<T>(var, accum, grad, indices, lr, update_slots, rows, inner);                           \
    }                                                                                                              \
    extern "C" __global__ void sparse_apply_rms_prop_##SUFFIX(T* var, T* ms, T* mom, const T* grad,                \
                                                              const long long* indices, T lr, T rho,               \
                                                              T one_minus_rho, T momentum, T epsilon,              \
                                                              long long rows, long long inner) {                   \
        gvo_sparse_rms_prop<T>(var, ms, mom, grad, indices, lr, rho, one_minus_rho, momentum, epsilon, rows,       \
                               inner);                                                                             \
    }                                                                                                              \
    extern "C" __global__ void sparse_apply_centered_rms_prop_##SUFFIX(                                            \
        T* var, T* mg, T* ms, T* mom, const T* grad, const long long* indices, T lr, T rho, T one_minus_rho,       \
        T momentum, T epsilon, long long rows, long long inner) {                                                  \
        gvo_sparse_centered_rms_prop<T>(var, mg, ms, mom, grad, indices, lr, rho, one_minus_rho, momentum,         \
                                        epsilon, rows, inner);                                                     \
    }

GVO_SPARSE_KERNELS(f32, float)
GVO_SPARSE_KERNELS(f64, double)

#define GVO_KERNELS(SUFFIX, T)                                                                                      \
    extern "C" __global__ void apply_gradient_descent_##SUFFIX(T* var, const T* grad, T lr, long long n) {          \
        gvo_gradient_descent<T>(var, grad, lr, n);                                                                  \
    }                                                                                                               \
    extern "C" __global__ void apply_momentum_##SUFFIX(T* var, T* accum, const T* grad, T lr, T momentum,           \
                                                       int nesterov, long long n) {                                 \
        gvo_momentum<T>(var, accum, grad, lr, momentum, nesterov, n);                                               \
    }                                                                                                               \
    extern "C" __global__ void apply_adam_##SUFFIX(T* var, T* m, T* v, const T* grad, T lr_t, T beta1,              \
                                                   T one_minus_beta1, T one_minus_beta2, T epsilon, int nesterov,   \
                                                   long long n) {                                                   \
        gvo_adam<T>(var, m, v, grad, lr_t, beta1, one_minus_beta1, one_minus_beta2, epsilon, nesterov, n);          \
    }                                                                                                               \
    extern "C" __global__ void apply_rms_prop_##SUFFIX(T* var, T* ms, T* mom, const T* grad, T lr, T one_minus_rho, \
                                                       T momentum, T epsilon, long long n) {                        \
        gvo_rms_prop<T>(var, ms, mom, grad, lr, one_minus_rho, momentum, epsilon, n);                               \
    }                                                                                                               \
    extern "C" __global__ void apply_centered_rms_prop_##SUFFIX(T* var, T* mg, T* ms, T* mom, const T* grad, T lr,  \
                                                                T one_minus_rho, T momentum, T epsilon,             \
                                                                long long n) {                                      \
        gvo_centered_rms_prop<T>(var, mg, ms, mom, grad, lr, one_minus_rho, momentum, epsilon, n);                  \
    }                                                                                                               \
    extern "C" __global__ void apply_adagrad_##SUFFIX(T* var, T* accum, const T* grad, T lr, int update_slots,      \
                                                      long long n) {                                                \
        gvo_adagrad<T>(var, accum, grad, lr, update_slots, n);                                                      \
    }

GVO_KERNELS(f32, float)
GVO_KERNELS(f64, double)
