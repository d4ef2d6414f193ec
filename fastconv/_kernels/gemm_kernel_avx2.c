/* AVX2+FMA micro-kernels (contract: gemm_kernels.h), compiled through function attributes;
 * the dispatcher calls them only on a CPU that reports avx2 and fma.
 *
 * Register blocking: 6 rows x 2 vectors = 12 accumulators of the 16 ymm registers, two
 * for the B vectors of step k, one for the broadcast A value. Per k: 2 loads, 6
 * broadcasts, 12 FMAs: enough independent chains to cover 2 ports x 4-5 cycles latency. */
#include "fastconv.h"
#include "gemm_kernels.h"

#ifdef FC_GEMM_X86
#include <immintrin.h>

#define FC_AVX2 __attribute__((target("avx2,fma")))

enum { F32_MR = 6, F32_NR = 16, F64_MR = 6, F64_NR = 8 };

/* P (6 x 16 floats) = A sliver (depth x 6) times B sliver (depth x 16); c = [c +] P. */
FC_AVX2 static void kernel_avx2_f32_6x16(int64_t depth, const float *restrict a,
                                         const float *restrict b, float *restrict c,
                                         int64_t ldc, int add)
{
    __m256 left[F32_MR], right[F32_MR];
#pragma GCC unroll 6
    for (int i = 0; i < F32_MR; i++)
        left[i] = right[i] = _mm256_setzero_ps();
    for (int64_t k = 0; k < depth; k++) {
        const __m256 b_left = _mm256_load_ps(b + k * F32_NR);
        const __m256 b_right = _mm256_load_ps(b + k * F32_NR + 8);
#pragma GCC unroll 6
        for (int i = 0; i < F32_MR; i++) {
            const __m256 a_i = _mm256_broadcast_ss(a + k * F32_MR + i);
            left[i] = _mm256_fmadd_ps(a_i, b_left, left[i]);
            right[i] = _mm256_fmadd_ps(a_i, b_right, right[i]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < F32_MR; i++) {
        float *row = c + i * ldc;
        if (add) {
            left[i] = _mm256_add_ps(_mm256_loadu_ps(row), left[i]);
            right[i] = _mm256_add_ps(_mm256_loadu_ps(row + 8), right[i]);
        }
        _mm256_storeu_ps(row, left[i]);
        _mm256_storeu_ps(row + 8, right[i]);
    }
}

/* P (6 x 8 doubles) = A sliver (depth x 6) times B sliver (depth x 8); c = [c +] P. */
FC_AVX2 static void kernel_avx2_f64_6x8(int64_t depth, const double *restrict a,
                                        const double *restrict b, double *restrict c,
                                        int64_t ldc, int add)
{
    __m256d left[F64_MR], right[F64_MR];
#pragma GCC unroll 6
    for (int i = 0; i < F64_MR; i++)
        left[i] = right[i] = _mm256_setzero_pd();
    for (int64_t k = 0; k < depth; k++) {
        const __m256d b_left = _mm256_load_pd(b + k * F64_NR);
        const __m256d b_right = _mm256_load_pd(b + k * F64_NR + 4);
#pragma GCC unroll 6
        for (int i = 0; i < F64_MR; i++) {
            const __m256d a_i = _mm256_broadcast_sd(a + k * F64_MR + i);
            left[i] = _mm256_fmadd_pd(a_i, b_left, left[i]);
            right[i] = _mm256_fmadd_pd(a_i, b_right, right[i]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < F64_MR; i++) {
        double *row = c + i * ldc;
        if (add) {
            left[i] = _mm256_add_pd(_mm256_loadu_pd(row), left[i]);
            right[i] = _mm256_add_pd(_mm256_loadu_pd(row + 4), right[i]);
        }
        _mm256_storeu_pd(row, left[i]);
        _mm256_storeu_pd(row + 4, right[i]);
    }
}

/* A B sliver (KC x NR, 16 KiB) in a 32 KiB L1; the A block (MC x KC) in a 256 KiB+ L2. */
const fc_gemm_config_f32 fc_gemm_avx2_f32 = {
    .MR = F32_MR, .NR = F32_NR, .MC = 24 * F32_MR, .KC = 256, .NC = 128 * F32_NR,
    .kernel = kernel_avx2_f32_6x16,
};
const fc_gemm_config_f64 fc_gemm_avx2_f64 = {
    .MR = F64_MR, .NR = F64_NR, .MC = 12 * F64_MR, .KC = 256, .NC = 256 * F64_NR,
    .kernel = kernel_avx2_f64_6x8,
};
#endif
