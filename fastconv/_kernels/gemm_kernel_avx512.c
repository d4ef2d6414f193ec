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

#include "transpose16_avx512.h"

#define FC_AVX512 __attribute__((target("avx512f")))

enum { F32_MR = 14, F32_NR = 32, F64_MR = 14, F64_NR = 16 };

/* The first `rows` rows (a constant once inlined) of P = A sliver (depth x 14) times
 * B sliver (depth x 32); c = [c +] P for its first stored_rows rows, the only rows of c
 * read or written (an edge sliver's tile goes straight into C). The A sliver is packed at a, or, when `a_rows` (a
 * constant once inlined), read in place: row i's values at a + i * lda (kernel_a_rows). The B sliver
 * is packed at b, or, when `viewed` (a constant once inlined), read in place: step k's 32
 * values at b_left_row + offsets[k] and b_right_row + offsets[k] (kernel_view). With `half`
 * (a constant once inlined), only the first 16 columns: 14 FMAs a step (kernel_half). */
FC_AVX512 static inline __attribute__((always_inline)) void
tile_avx512_f32(int64_t depth, const float *restrict a, int64_t lda, const float *restrict b,
                const float *b_left_row, const float *b_right_row,
                const int64_t *restrict offsets,
                float *restrict c, int64_t ldc, int add, const int rows, const int viewed,
                const int a_rows, int64_t stored_rows, const int half)
{
    __m512 left[F32_MR], right[F32_MR];
#pragma GCC unroll 14
    for (int i = 0; i < rows; i++) {
        /* C's rows are far apart and likely out of cache: ask early, use at the end */
        if (i < stored_rows) {
            _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
            if (!half)
                _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
        }
        left[i] = right[i] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < depth; k++) {
        const __m512 b_left = !viewed ? _mm512_load_ps(b + k * F32_NR)
                                : _mm512_loadu_ps(b_left_row + offsets[k]);
        const __m512 b_right = half ? _mm512_setzero_ps()
                               : !viewed ? _mm512_load_ps(b + k * F32_NR + 16)
                                         : _mm512_loadu_ps(b_right_row + offsets[k]);
#pragma GCC unroll 14
        for (int i = 0; i < rows; i++) {
            const __m512 a_i = _mm512_set1_ps(a_rows ? a[i * lda + k] : a[k * F32_MR + i]);
            left[i] = _mm512_fmadd_ps(a_i, b_left, left[i]);
            if (!half)
                right[i] = _mm512_fmadd_ps(a_i, b_right, right[i]);
        }
    }
#pragma GCC unroll 14
    for (int i = 0; i < rows; i++) {
        if (i >= stored_rows)
            break;
        float *row = c + i * ldc;
        if (add) {
            left[i] = _mm512_add_ps(_mm512_loadu_ps(row), left[i]);
            if (!half)
                right[i] = _mm512_add_ps(_mm512_loadu_ps(row + 16), right[i]);
        }
        _mm512_storeu_ps(row, left[i]);
        if (!half)
            _mm512_storeu_ps(row + 16, right[i]);
    }
}

/* The first `rows` rows (a constant once inlined) of P = A sliver (depth x 14) times
 * B sliver (depth x 16); c = [c +] P for its first stored_rows rows only. */
FC_AVX512 static inline __attribute__((always_inline)) void
tile_avx512_f64(int64_t depth, const double *restrict a, const double *restrict b,
                double *restrict c, int64_t ldc, int add, const int rows, int64_t stored_rows)
{
    __m512d left[F64_MR], right[F64_MR];
#pragma GCC unroll 14
    for (int i = 0; i < rows; i++) {
        if (i < stored_rows) {
            _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + i * ldc + 8), _MM_HINT_T0);
        }
        left[i] = right[i] = _mm512_setzero_pd();
    }
    for (int64_t k = 0; k < depth; k++) {
        const __m512d b_left = _mm512_load_pd(b + k * F64_NR);
        const __m512d b_right = _mm512_load_pd(b + k * F64_NR + 8);
#pragma GCC unroll 14
        for (int i = 0; i < rows; i++) {
            const __m512d a_i = _mm512_set1_pd(a[k * F64_MR + i]);
            left[i] = _mm512_fmadd_pd(a_i, b_left, left[i]);
            right[i] = _mm512_fmadd_pd(a_i, b_right, right[i]);
        }
    }
#pragma GCC unroll 14
    for (int i = 0; i < rows; i++) {
        if (i >= stored_rows)
            break;
        double *row = c + i * ldc;
        if (add) {
            left[i] = _mm512_add_pd(_mm512_loadu_pd(row), left[i]);
            right[i] = _mm512_add_pd(_mm512_loadu_pd(row + 8), right[i]);
        }
        _mm512_storeu_pd(row, left[i]);
        _mm512_storeu_pd(row + 8, right[i]);
    }
}

/* The micro-kernels (14 rows), and their partial versions for an edge sliver of `rows`
 * < 14 real rows: 4 or 8 rows cost 4 or 8 rows of FMAs, not 14, and only the real rows
 * of c are touched; each element's sum is the same chain as in the full kernel, so edge
 * tiles keep the same bits. */
FC_AVX512 static void kernel_avx512_f32_14x32(int64_t depth, const float *restrict a,
                                              const float *restrict b, float *restrict c,
                                              int64_t ldc, int add)
{
    tile_avx512_f32(depth, a, 0, b, NULL, NULL, NULL, c, ldc, add, F32_MR, 0, 0, F32_MR, 0);
}

FC_AVX512 static void kernel_avx512_f32_partial(int64_t depth, const float *restrict a,
                                                const float *restrict b, float *restrict c,
                                                int64_t ldc, int add, int64_t rows)
{
    if (rows <= 4)
        tile_avx512_f32(depth, a, 0, b, NULL, NULL, NULL, c, ldc, add, 4, 0, 0, rows, 0);
    else if (rows <= 8)
        tile_avx512_f32(depth, a, 0, b, NULL, NULL, NULL, c, ldc, add, 8, 0, 0, rows, 0);
    else
        tile_avx512_f32(depth, a, 0, b, NULL, NULL, NULL, c, ldc, add, F32_MR, 0, 0, rows, 0);
}

/* kernel_view (gemm_kernels.h): B read in place, `rows` real rows as for the partial
 * kernel. */
FC_AVX512 static void kernel_view_avx512_f32(int64_t depth, const float *restrict a,
                                             const float *left, const float *right,
                                             const int64_t *restrict offsets, float *restrict c,
                                             int64_t ldc, int add, int64_t rows)
{
    if (rows <= 4)
        tile_avx512_f32(depth, a, 0, NULL, left, right, offsets, c, ldc, add, 4, 1, 0, rows, 0);
    else if (rows <= 8)
        tile_avx512_f32(depth, a, 0, NULL, left, right, offsets, c, ldc, add, 8, 1, 0, rows, 0);
    else
        tile_avx512_f32(depth, a, 0, NULL, left, right, offsets, c, ldc, add, F32_MR, 1, 0, rows, 0);
}

/* kernel_a_rows (gemm_kernels.h): A's 14 rows read in place, lda > 0 apart. */
FC_AVX512 static void kernel_a_rows_avx512_f32(int64_t depth, const float *restrict a, int64_t lda,
                                               const float *restrict b, float *restrict c,
                                               int64_t ldc, int add)
{
    tile_avx512_f32(depth, a, lda, b, NULL, NULL, NULL, c, ldc, add, F32_MR, 0, 1, F32_MR, 0);
}

/* kernel_half (gemm_kernels.h): the tile's first 16 columns only, A packed (lda == 0) or
 * read in place (lda > 0). */
FC_AVX512 static void kernel_half_avx512_f32(int64_t depth, const float *restrict a, int64_t lda,
                                             const float *restrict b, float *restrict c,
                                             int64_t ldc, int add)
{
    if (lda > 0) {
        /* two passes of 7 rows: 14 row pointers do not fit the general registers (gcc kept
         * some in vector registers and on the stack, moved back each step); each row's sum
         * is the same chain either way. Measured, batch-1 512 -> 512 3x3 on 4x4: 0.87x the
         * time (1 thread), 0.93x (2); the full-width kernel_a_rows gained nothing so. */
        tile_avx512_f32(depth, a, lda, b, NULL, NULL, NULL, c, ldc, add, 7, 0, 1, 7, 1);
        tile_avx512_f32(depth, a + 7 * lda, lda, b, NULL, NULL, NULL, c + 7 * ldc, ldc, add, 7,
                        0, 1, 7, 1);
    } else
        tile_avx512_f32(depth, a, 0, b, NULL, NULL, NULL, c, ldc, add, F32_MR, 0, 0, F32_MR, 1);
}

/* finish_full (gemm_kernels.h) over a 32-column tile: two vectors a row. */
FC_AVX512 static void finish_full_avx512_f32(float *restrict c, int64_t ldc, int64_t rows,
                                             const float *restrict row_bias,
                                             const float *restrict col_bias, int relu)
{
    const __m512 zero = _mm512_setzero_ps();
    const __m512 col_left = col_bias ? _mm512_loadu_ps(col_bias) : zero;
    const __m512 col_right = col_bias ? _mm512_loadu_ps(col_bias + 16) : zero;
    for (int64_t i = 0; i < rows; i++) {
        float *row = c + i * ldc;
        __m512 left = _mm512_loadu_ps(row), right = _mm512_loadu_ps(row + 16);
        if (row_bias) {
            const __m512 shift = _mm512_set1_ps(row_bias[i]);
            left = _mm512_add_ps(left, shift);
            right = _mm512_add_ps(right, shift);
        }
        if (col_bias) {
            left = _mm512_add_ps(left, col_left);
            right = _mm512_add_ps(right, col_right);
        }
        if (relu) {  /* v where v > 0 or v is NaN, else +0 */
            left = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(left, zero, _CMP_NLE_UQ), left);
            right = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(right, zero, _CMP_NLE_UQ), right);
        }
        _mm512_storeu_ps(row, left);
        _mm512_storeu_ps(row + 16, right);
    }
}

FC_AVX512 static void kernel_avx512_f64_14x16(int64_t depth, const double *restrict a,
                                              const double *restrict b, double *restrict c,
                                              int64_t ldc, int add)
{
    tile_avx512_f64(depth, a, b, c, ldc, add, F64_MR, F64_MR);
}

FC_AVX512 static void kernel_avx512_f64_partial(int64_t depth, const double *restrict a,
                                                const double *restrict b, double *restrict c,
                                                int64_t ldc, int add, int64_t rows)
{
    if (rows <= 4)
        tile_avx512_f64(depth, a, b, c, ldc, add, 4, rows);
    else if (rows <= 8)
        tile_avx512_f64(depth, a, b, c, ldc, add, 8, rows);
    else
        tile_avx512_f64(depth, a, b, c, ldc, add, F64_MR, rows);
}

/* pack_transposed for float (gemm_kernels.h): 16 steps at a time, the 14 lines (and two
 * zero lines) are loaded as a 16 x 16 block, transposed in registers, and each step's 14
 * values stored with a masked store. Steps past `depth` are never loaded or stored. */
FC_AVX512 static void pack_transposed_avx512_f32(float *restrict dst, const float *restrict src,
                                                 int64_t line_stride, int64_t depth)
{
    const __mmask16 line_mask = (__mmask16)((1u << F32_MR) - 1);
    for (int64_t k = 0; k < depth; k += 16) {
        const int64_t steps = depth - k < 16 ? depth - k : 16;
        const __mmask16 step_mask = (__mmask16)((1u << steps) - 1);
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            r[i] = i < F32_MR ? _mm512_maskz_loadu_ps(step_mask, src + i * line_stride + k)
                              : _mm512_setzero_ps();
        fc_transpose16x16_ps(r);
        for (int64_t s = 0; s < steps; s++)
            _mm512_mask_storeu_ps(dst + (k + s) * F32_MR, line_mask, r[s]);
    }
}

/* Sapphire Rapids: L1d 48 KiB, L2 2 MiB per core. The A block (MC x KC, 336 KiB) stays in
 * L2 while the B slivers (KC x NR, 64 KiB) stream through it from the L3-resident panel;
 * a deep KC (measured: 512 beats 256 by a few percent) halves the passes over C. */
const fc_gemm_config_f32 fc_gemm_avx512_f32 = {
    .MR = F32_MR, .NR = F32_NR, .MC = 12 * F32_MR, .KC = 512, .NC = 64 * F32_NR,
    .kernel = kernel_avx512_f32_14x32, .kernel_partial = kernel_avx512_f32_partial,
    .pack_transposed = pack_transposed_avx512_f32, .kernel_view = kernel_view_avx512_f32,
    .kernel_a_rows = kernel_a_rows_avx512_f32, .kernel_half = kernel_half_avx512_f32,
    .finish_full = finish_full_avx512_f32,
};
const fc_gemm_config_f64 fc_gemm_avx512_f64 = {
    .MR = F64_MR, .NR = F64_NR, .MC = 6 * F64_MR, .KC = 512, .NC = 64 * F64_NR,
    .kernel = kernel_avx512_f64_14x16, .kernel_partial = kernel_avx512_f64_partial,
};
#endif
