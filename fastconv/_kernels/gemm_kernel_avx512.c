/* AVX-512F micro-kernels (contract: gemm_kernels.h). Compiled for AVX-512 through function
 * attributes only, so this file builds in a portable library; the dispatcher calls these
 * only on a CPU that reports avx512f.
 *
 * Register blocking: 14 rows x 2 vectors = 28 accumulators of the 32 zmm registers, two
 * for the B vectors of step k, one for the broadcast A value (the compiler folds it into
 * the FMA as an embedded-broadcast memory operand). Per k: 2 vector loads, 14 broadcasts,
 * 28 FMAs: the two FMA ports stay busy, and 28 independent chains hide the FMA latency. */
#include "fastconv.h"
#include "gemm_kernels.h"

#ifdef FC_GEMM_X86
#include <immintrin.h>

#define FC_AVX512 __attribute__((target("avx512f")))

enum { F32_MR = 14, F32_NR = 32, F64_MR = 14, F64_NR = 16 };

/* P (14 x 32 floats) = A sliver (depth x 14) times B sliver (depth x 32); c = [c +] P. */
FC_AVX512 static void kernel_avx512_f32_14x32(int64_t depth, const float *restrict a,
                                              const float *restrict b, float *restrict c,
                                              int64_t ldc, int add)
{
    __m512 left[F32_MR], right[F32_MR];
#pragma GCC unroll 14
    for (int i = 0; i < F32_MR; i++) {
        /* C's rows are far apart and likely out of cache: ask early, use at the end */
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
        left[i] = right[i] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < depth; k++) {
        const __m512 b_left = _mm512_load_ps(b + k * F32_NR);
        const __m512 b_right = _mm512_load_ps(b + k * F32_NR + 16);
#pragma GCC unroll 14
        for (int i = 0; i < F32_MR; i++) {
            const __m512 a_i = _mm512_set1_ps(a[k * F32_MR + i]);
            left[i] = _mm512_fmadd_ps(a_i, b_left, left[i]);
            right[i] = _mm512_fmadd_ps(a_i, b_right, right[i]);
        }
    }
#pragma GCC unroll 14
    for (int i = 0; i < F32_MR; i++) {
        float *row = c + i * ldc;
        if (add) {
            left[i] = _mm512_add_ps(_mm512_loadu_ps(row), left[i]);
            right[i] = _mm512_add_ps(_mm512_loadu_ps(row + 16), right[i]);
        }
        _mm512_storeu_ps(row, left[i]);
        _mm512_storeu_ps(row + 16, right[i]);
    }
}

/* P (14 x 16 doubles) = A sliver (depth x 14) times B sliver (depth x 16); c = [c +] P. */
FC_AVX512 static void kernel_avx512_f64_14x16(int64_t depth, const double *restrict a,
                                              const double *restrict b, double *restrict c,
                                              int64_t ldc, int add)
{
    __m512d left[F64_MR], right[F64_MR];
#pragma GCC unroll 14
    for (int i = 0; i < F64_MR; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 8), _MM_HINT_T0);
        left[i] = right[i] = _mm512_setzero_pd();
    }
    for (int64_t k = 0; k < depth; k++) {
        const __m512d b_left = _mm512_load_pd(b + k * F64_NR);
        const __m512d b_right = _mm512_load_pd(b + k * F64_NR + 8);
#pragma GCC unroll 14
        for (int i = 0; i < F64_MR; i++) {
            const __m512d a_i = _mm512_set1_pd(a[k * F64_MR + i]);
            left[i] = _mm512_fmadd_pd(a_i, b_left, left[i]);
            right[i] = _mm512_fmadd_pd(a_i, b_right, right[i]);
        }
    }
#pragma GCC unroll 14
    for (int i = 0; i < F64_MR; i++) {
        double *row = c + i * ldc;
        if (add) {
            left[i] = _mm512_add_pd(_mm512_loadu_pd(row), left[i]);
            right[i] = _mm512_add_pd(_mm512_loadu_pd(row + 8), right[i]);
        }
        _mm512_storeu_pd(row, left[i]);
        _mm512_storeu_pd(row + 8, right[i]);
    }
}

/* Sapphire Rapids: L1d 48 KiB, L2 2 MiB per core. A B sliver (KC x NR, 32 KiB) stays in L1
 * while the A slivers of the block stream from L2; the A block (MC x KC, 336 KiB) leaves
 * room in L2 for the B panel's slivers passing through on their way to L1. */
const fc_gemm_config_f32 fc_gemm_avx512_f32 = {
    .MR = F32_MR, .NR = F32_NR, .MC = 24 * F32_MR, .KC = 256, .NC = 64 * F32_NR,
    .kernel = kernel_avx512_f32_14x32,
};
const fc_gemm_config_f64 fc_gemm_avx512_f64 = {
    .MR = F64_MR, .NR = F64_NR, .MC = 12 * F64_MR, .KC = 256, .NC = 128 * F64_NR,
    .kernel = kernel_avx512_f64_14x16,
};
#endif
