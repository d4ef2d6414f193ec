/* AVX-512 inner loops of the fast pooling kernels, float32 only (pool_fast_impl.h uses
 * them when the CPU has AVX-512F; float64 and other CPUs take the portable loops).
 * Compiled with a target attribute, so the build needs no -march flag. */
#ifndef FASTCONV_POOL_AVX512_H
#define FASTCONV_POOL_AVX512_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_POOL_AVX512 1
#include <immintrin.h>
#include "avx512_lanes.h"

/* x[0], x[stride], ..., x[15 * stride] for the lanes in `m` (0 elsewhere), without
 * reading past the last lane asked for. */
__attribute__((target("avx512f")))
static inline __m512 load_strided_f32(const float *x, int64_t stride, int64_t n)
{
    const __mmask16 m = fc_first_lanes(n);
    if (stride == 1)
        return _mm512_maskz_loadu_ps(m, x);
    if (stride == 2) {  /* two contiguous loads, then keep the even positions */
        const int64_t span = 2 * n - 1;
        const __m512 low = _mm512_maskz_loadu_ps(fc_first_lanes(span), x);
        const __m512 high = _mm512_maskz_loadu_ps(fc_first_lanes(span - 16), x + 16);
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                               16, 18, 20, 22, 24, 26, 28, 30);
        return _mm512_permutex2var_ps(low, even, high);
    }
    const __m512i offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)stride));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, offsets, x, 4);
}

/* Max pooling of the inside columns [lo, hi) of a plane's output rows (see
 * max_pool_plane_body): 16 columns at a time, the running maximum and its index kept in
 * registers over the taps, which are visited in the naive row-major order with the same take
 * rule. One call per plane, so the set-up is paid once, not per row (measured against a
 * call per row, alternating, 1 thread: 2x2 pools 0.82-0.99x the time but once 1.16x for a
 * 1 MiB input, 3x3 stride-2 padded ones 0.68-0.96x). Pairing two rows' chains in one loop
 * measured slower. */
__attribute__((target("avx512f")))
static void max_pool_rows_avx512_f32(float *best, int64_t *best_index, const float *xp,
                                     int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t kh,
                                     int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                                     int64_t pw, int64_t dh, int64_t dw, int64_t lo, int64_t hi)
{
    const __m512i step_low = _mm512_setr_epi64(0, sw, 2 * sw, 3 * sw, 4 * sw, 5 * sw, 6 * sw,
                                               7 * sw);
    const __m512i step_high = _mm512_add_epi64(step_low, _mm512_set1_epi64(8 * sw));
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t h_start = oh * sh - ph;
        const int64_t h_first = first_tap_inside(h_start, dh);
        const int64_t h_end = fc_min(h_start + (kh - 1) * dh + 1, H);
        float *row = best + oh * OW;
        int64_t *row_index = best_index + oh * OW;
        for (int64_t ow = lo; ow < hi; ow += 16) {
            const int64_t n = hi - ow < 16 ? hi - ow : 16;
            __m512 value = _mm512_setzero_ps();
            __m512i index_low = _mm512_setzero_si512(), index_high = _mm512_setzero_si512();
            for (int64_t ih = h_first; ih < h_end; ih += dh) {
                for (int64_t j = 0; j < kw; j++) {
                    const int64_t tap = ih * W - pw + j * dw + ow * sw;
                    const __m512 v = load_strided_f32(xp + tap, sw, n);
                    __mmask16 take = 0xFFFF;  /* the first tap always starts the maximum */
                    if (ih != h_first || j != 0)
                        take = _mm512_cmp_ps_mask(v, value, _CMP_GT_OQ)
                             | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                    value = _mm512_mask_mov_ps(value, take, v);
                    const __m512i base = _mm512_set1_epi64(tap);
                    index_low = _mm512_mask_mov_epi64(index_low, (__mmask8)take,
                                                      _mm512_add_epi64(base, step_low));
                    index_high = _mm512_mask_mov_epi64(index_high, (__mmask8)(take >> 8),
                                                       _mm512_add_epi64(base, step_high));
                }
            }
            const __mmask16 m = fc_first_lanes(n);
            _mm512_mask_storeu_ps(row + ow, m, value);
            _mm512_mask_storeu_epi64(row_index + ow, (__mmask8)m, index_low);
            _mm512_mask_storeu_epi64(row_index + ow + 8, (__mmask8)(m >> 8), index_high);
        }
    }
}

/* Average pooling of the inside columns [lo, hi) of one output row (see
 * avg_pool_plane_body): 16 columns at a time, each window summed in a register from 0,
 * tap by tap in row-major order (input rows [h_begin, h_end), kw taps per row), then
 * divided by `divisor`. A power-of-two divisor multiplies by its reciprocal instead:
 * the same correctly rounded value, without the slow vector division. */
__attribute__((target("avx512f")))
static void avg_pool_row_avx512_f32(float *row, const float *xp, int64_t W,
                                    int64_t h_begin, int64_t h_end, int64_t kw, int64_t sw,
                                    int64_t pw, int64_t lo, int64_t hi, int64_t divisor)
{
    const uint64_t magnitude = divisor < 0 ? 0 - (uint64_t)divisor : (uint64_t)divisor;
    const int power_of_two = (magnitude & (magnitude - 1)) == 0;
    const __m512 d = _mm512_set1_ps((float)divisor);
    const __m512 reciprocal = _mm512_set1_ps(1.0f / (float)divisor);
    for (int64_t ow = lo; ow < hi; ow += 16) {
        const int64_t n = hi - ow < 16 ? hi - ow : 16;
        __m512 sum = _mm512_setzero_ps();
        for (int64_t ih = h_begin; ih < h_end; ih++)
            for (int64_t j = 0; j < kw; j++)
                sum = _mm512_add_ps(sum, load_strided_f32(xp + ih * W - pw + j + ow * sw, sw, n));
        const __m512 mean = power_of_two ? _mm512_mul_ps(sum, reciprocal) : _mm512_div_ps(sum, d);
        _mm512_mask_storeu_ps(row + ow, fc_first_lanes(n), mean);
    }
}

/* The 16 partial sums of one plane of S floats: value i to partial (lane) i % 16, a
 * partial last block filled with +0, which leaves a partial unchanged (partials start at
 * +0, and a sum starting at +0 is never -0). */
__attribute__((target("avx512f")))
static inline __m512 plane_partials_avx512_f32(const float *plane, int64_t S)
{
    __m512 partial = _mm512_setzero_ps();
    for (int64_t s = 0; s < S; s += 16)
        partial = _mm512_add_ps(partial, _mm512_maskz_loadu_ps(fc_first_lanes(S - s), plane + s));
    return partial;
}

/* Adds lanes k and k + 8 of a and of b: lanes 0-7 of the result are a's, 8-15 b's. */
__attribute__((target("avx512f")))
static inline __m512 fold_halves(__m512 a, __m512 b)
{
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
}

/* a and b each hold two planes' 8 values (lanes 0-7, 8-15): adds values k and k + 4 of
 * each; quarter q of the result holds a's planes (q = 0, 1) then b's (q = 2, 3). */
__attribute__((target("avx512f")))
static inline __m512 fold_quarters(__m512 a, __m512 b)
{
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* out[p] = (the sum of plane p's S values) / S for `planes` planes of x, summed in
 * sum_interleaved's order (pool_fast_impl.h): 16 partials (plane_partials), then added
 * pairwise, partial k += partial k + width for width 8, 4, 2, 1. Sixteen planes at a time,
 * their partials folded together by shuffles (a transposition), so each step is one
 * vector add for all of them. */
__attribute__((target("avx512f")))
static void global_avg_pool_planes_avx512_f32(float *out, const float *x, int64_t planes,
                                              int64_t S)
{
    const __m512 size = _mm512_set1_ps((float)S);
    /* after the last step, lane 4j + m holds plane j + 4m */
    const __m512i plane_order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13,
                                                  2, 6, 10, 14, 3, 7, 11, 15);
    int64_t p = 0;
    for (; p + 16 <= planes; p += 16) {
        __m512 width8[8], width4[4];
        for (int k = 0; k < 8; k++)
            width8[k] = fold_halves(plane_partials_avx512_f32(x + (p + 2 * k) * S, S),
                                    plane_partials_avx512_f32(x + (p + 2 * k + 1) * S, S));
        for (int k = 0; k < 4; k++)  /* quarter q: plane 4k + q, values k, k + 4 added */
            width4[k] = fold_quarters(width8[2 * k], width8[2 * k + 1]);
        /* within each quarter: values 0 + 2 and 1 + 3, of plane j (a) and plane j + 4 (b) */
        const __m512 width2_low = _mm512_add_ps(
            _mm512_shuffle_ps(width4[0], width4[1], _MM_SHUFFLE(1, 0, 1, 0)),
            _mm512_shuffle_ps(width4[0], width4[1], _MM_SHUFFLE(3, 2, 3, 2)));
        const __m512 width2_high = _mm512_add_ps(
            _mm512_shuffle_ps(width4[2], width4[3], _MM_SHUFFLE(1, 0, 1, 0)),
            _mm512_shuffle_ps(width4[2], width4[3], _MM_SHUFFLE(3, 2, 3, 2)));
        /* quarter j: planes j, j + 4, j + 8, j + 12, each its two values added */
        const __m512 sums = _mm512_add_ps(
            _mm512_shuffle_ps(width2_low, width2_high, _MM_SHUFFLE(2, 0, 2, 0)),
            _mm512_shuffle_ps(width2_low, width2_high, _MM_SHUFFLE(3, 1, 3, 1)));
        _mm512_storeu_ps(out + p,
                         _mm512_div_ps(_mm512_permutexvar_ps(plane_order, sums), size));
    }
    for (; p < planes; p++) {  /* the last planes one by one, halving one register */
        const __m512 partial = plane_partials_avx512_f32(x + p * S, S);
        const __m256 eight = _mm256_add_ps(
            _mm512_castps512_ps256(partial),
            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(partial), 1)));
        const __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight),
                                       _mm256_extractf128_ps(eight, 1));
        const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
        const __m128 one = _mm_add_ss(two, _mm_shuffle_ps(two, two, 1));
        out[p] = _mm_cvtss_f32(one) / (float)S;
    }
}
#endif

#endif
