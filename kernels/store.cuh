// store.cuh: 16-byte vector stores (and loads) for the grid-stride kernels: st.global.v4 / ld.global.v4
// on the GPU, where a pointer is 16-byte aligned (CuPy's allocations are 256-byte aligned; a view
// or a chunk offset may not be); element by element otherwise. Same values, same places: only the
// width of the memory transactions changes.
//
//   gv_store16(dst, src) / gv_load16(dst, src)   copy 16 bytes, global <-> a thread's local array
//   gv_store_group<PER>(out, v)                  out[0..PER) = v[0..PER), vectorized when it can be
#pragma once
#include "host_shim.h"

__device__ __forceinline__ bool gv_aligned16(const void* p) { return ((unsigned long long)p & 15ULL) == 0ULL; }

#ifdef __CUDACC__  // on the host, host_shim.h defines both with memcpy
__device__ __forceinline__ void gv_store16(void* __restrict__ dst, const void* __restrict__ src) {
    uint4 q;
    memcpy(&q, src, 16);  // a bit copy (registers), then one 16-byte store
    *reinterpret_cast<uint4*>(dst) = q;
}
__device__ __forceinline__ void gv_load16(void* __restrict__ dst, const void* __restrict__ src) {
    uint4 q = *reinterpret_cast<const uint4*>(src);
    memcpy(dst, &q, 16);
}
#endif

template <int PER, class T>
__device__ __forceinline__ void gv_store_group(T* __restrict__ out, const T* v) {
    constexpr int BYTES = PER * (int)sizeof(T);
    if constexpr (BYTES % 16 == 0) {
        if (gv_aligned16(out)) {
            for (int k = 0; k < BYTES / 16; ++k) gv_store16(out + k * (16 / (int)sizeof(T)), v + k * (16 / (int)sizeof(T)));
            return;
        }
    }
    for (int k = 0; k < PER; ++k) out[k] = v[k];
}
