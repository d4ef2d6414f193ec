/* AVX-512 inner loops of the fast pooling kernels, float32 only (pool_fast_impl.h uses
 * them when the CPU has AVX-512F; float64 and other CPUs take the portable loops).
 * Compiled with a target attribute, so the build needs no -march flag. */
#ifndef FASTCONV_POOL_AVX512_H
#define FASTCONV_POOL_AVX512_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_POOL_AVX512 1
#include <immintrin.h>
#include "avx512_lanes.h"

/* plane + offset, where offset may lie before the plane (a left-padding tap): the masked
 * loads below never touch the lanes that do, but forming such a pointer with C pointer
 * arithmetic would be undefined, so the address is computed as an integer. */
static inline const float *tap_address(const float *plane, int64_t offset)
{
    return (const float *)((uintptr_t)plane + (uintptr_t)(offset * (int64_t)sizeof(float)));
}

/* The positions of a stride-2 load's first 16 floats that lanes 0-7 of `lanes` read:
 * lane l reads position 2l. */
static inline __mmask16 stride2_load_mask(unsigned lanes)
{
    unsigned spread = lanes & 0xFF;  /* bit l to bit 2l */
    spread = (spread | (spread << 4)) & 0x0F0F;
    spread = (spread | (spread << 2)) & 0x3333;
    spread = (spread | (spread << 1)) & 0x5555;
    return (__mmask16)spread;
}

/* Lanes to load, and for a stride-2 load the masks of its two contiguous halves. */
typedef struct { __mmask16 lanes, low, high; } pool_lanes;

static inline pool_lanes pool_lanes_of(__mmask16 lanes)
{
    pool_lanes m = { lanes, stride2_load_mask(lanes), stride2_load_mask(lanes >> 8u) };
    return m;
}

/* x[0], x[stride], ..., x[15 * stride] for the lanes in m.lanes (0 elsewhere), reading
 * nothing outside those lanes' positions. */
__attribute__((target("avx512f")))
static inline __m512 load_strided_f32(const float *x, int64_t stride, pool_lanes m)
{
    if (stride == 1)
        return _mm512_maskz_loadu_ps(m.lanes, x);
    if (stride == 2) {  /* two contiguous loads of the even positions, then packed */
        const __m512 low = _mm512_maskz_loadu_ps(m.low, x);
        const __m512 high = _mm512_maskz_loadu_ps(m.high, tap_address(x, 16));
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                               16, 18, 20, 22, 24, 26, 28, 30);
        return _mm512_permutex2var_ps(low, even, high);
    }
    const __m512i offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)stride));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m.lanes, offsets, x, 4);
}

/* Window widths the AVX-512 max pooling takes (its per-tap lane masks live on the stack);
 * wider ones take the portable loops. */
#define POOL_MAX_KW_AVX512 16

/* One output row's block of up to 16 output columns (`lanes`): each window's maximum and
 * its index, as max_window finds them (taps in row-major order; a later tap taken only if
 * strictly greater, or NaN). valid[j] holds the lanes whose tap column j lies inside the
 * plane (edge blocks); inside blocks pass one entry, all of `lanes`, for every j.
 * The running maximum is a short chain per tap: vmaxps(v, value), which keeps `value` on
 * ties, on zeros of either sign and on NaN in either, then a NaN v replaces it. So it is
 * what the naive loop holds: a NaN best is never beaten and a later NaN replaces it. Which
 * tap to take (for the index) is worked out beside the chain, not in it: a tap greater
 * than the running value, or NaN (measured: compare, mask logic and blend in the chain,
 * with a scalar loop for the edge columns, took 1.5-1.8x the time on 3x3 stride-2 padded
 * windows). At edge blocks a tap in the padding is masked off for its lanes (never loaded,
 * never taken) and each lane starts at its own first tap inside; elsewhere every lane
 * starts at the window's first tap against -inf, as max_window does. Indices are tracked
 * in int32 (the caller checks the plane's range) and widened on the way out. */
__attribute__((target("avx512f"), always_inline))
static inline void max_pool_row_block_f32_avx512(
    float *out, int64_t *out_index, const float *xp, int64_t W, int64_t h_first, int64_t h_end,
    int64_t kw, int64_t sw, int64_t dh, int64_t dw, int64_t column0, __mmask16 lanes,
    const pool_lanes *valid, const int edge)
{
    const __m512i steps = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)sw));
    __m512 value = _mm512_set1_ps(-INFINITY);
    __m512i index = _mm512_set1_epi32((int)(h_first * W + column0));
    __mmask16 started = 0;
    for (int64_t ih = h_first; ih < h_end; ih += dh) {
        for (int64_t j = 0; j < kw; j++) {
            const pool_lanes masks = valid[edge ? j : 0];
            const __mmask16 taps = masks.lanes;
            const int64_t tap = ih * W + column0 + j * dw;
            const __m512 v = load_strided_f32(tap_address(xp, tap), sw, masks);
            const __mmask16 greater = _mm512_mask_cmp_ps_mask(taps, v, value, _CMP_GT_OQ);
            const __mmask16 nan = _mm512_mask_cmp_ps_mask(taps, v, v, _CMP_UNORD_Q);
            value = _mm512_mask_mov_ps(_mm512_mask_max_ps(value, taps, v, value), nan, v);
            __mmask16 take = _kor_mask16(greater, nan);
            if (edge) {
                take = _kor_mask16(take, _kandn_mask16(started, taps));
                started = _kor_mask16(started, taps);
            }
            index = _mm512_mask_set1_epi32(index, take, (int)tap);
        }
    }
    index = _mm512_add_epi32(index, steps);
    _mm512_mask_storeu_ps(out, lanes, value);
    _mm512_mask_storeu_epi64(out_index, (__mmask8)lanes,
                             _mm512_cvtepi32_epi64(_mm512_castsi512_si256(index)));
    _mm512_mask_storeu_epi64(out_index + 8, (__mmask8)(lanes >> 8),
                             _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(index, 1)));
}

/* valid[j]: the lanes of a block of output columns (lane 0's input column column0 at tap
 * column 0, `lanes` in use) whose input column at tap column j lies inside the plane. */
__attribute__((target("avx512f"), always_inline))
static inline void edge_block_lanes(pool_lanes *valid, int64_t W, int64_t kw, int64_t sw,
                                    int64_t dw, int64_t column0, __mmask16 lanes)
{
    const __m512i lane_columns = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)sw));
    for (int64_t j = 0; j < kw; j++) {
        const __m512i columns = _mm512_add_epi32(lane_columns,
                                                 _mm512_set1_epi32((int)(column0 + j * dw)));
        valid[j] = pool_lanes_of(
            _mm512_mask_cmp_epi32_mask(lanes, columns, _mm512_setzero_si512(), _MM_CMPINT_NLT)
            & _mm512_cmp_epi32_mask(columns, _mm512_set1_epi32((int)W), _MM_CMPINT_LT));
    }
}

/* max_pool_plane_f32_avx512 for one stride (a constant where inlined). The lanes of the
 * first and last blocks, where the edge columns usually are, are worked out once per plane;
 * any other block holding an edge column (rare) works them out per row. */
__attribute__((target("avx512f"), always_inline))
static inline void max_pool_plane_body_f32_avx512(
    float *best, int64_t *best_index, const float *xp, int64_t H, int64_t W, int64_t OH,
    int64_t OW, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
    int64_t dh, int64_t dw, int64_t lo, int64_t hi)
{
    const int64_t last = (OW - 1) / 16 * 16;  /* the last block's first column */
    pool_lanes first_lanes[POOL_MAX_KW_AVX512], last_lanes[POOL_MAX_KW_AVX512];
    if (lo > 0 || fc_min(OW, 16) > hi)
        edge_block_lanes(first_lanes, W, kw, sw, dw, -pw, fc_first_lanes(OW));
    if (last > 0 && OW > hi)
        edge_block_lanes(last_lanes, W, kw, sw, dw, last * sw - pw, fc_first_lanes(OW - last));
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t h_start = oh * sh - ph;
        const int64_t h_first = first_tap_inside(h_start, dh);
        const int64_t h_end = fc_min(h_start + (kh - 1) * dh + 1, H);
        float *out = best + oh * OW;
        int64_t *out_index = best_index + oh * OW;
        for (int64_t ow = 0; ow < OW; ow += 16) {
            const int64_t n = fc_min(OW - ow, 16);
            const __mmask16 lanes = fc_first_lanes(n);
            const int64_t column0 = ow * sw - pw;  /* lane 0's column at tap column 0 */
            if (ow >= lo && ow + n <= hi) {
                const pool_lanes all = pool_lanes_of(lanes);
                max_pool_row_block_f32_avx512(out + ow, out_index + ow, xp, W, h_first, h_end,
                                              kw, sw, dh, dw, column0, lanes, &all, 0);
                continue;
            }
            pool_lanes other_lanes[POOL_MAX_KW_AVX512];
            const pool_lanes *valid = ow == 0 ? first_lanes : ow == last ? last_lanes
                                                                        : other_lanes;
            if (valid == other_lanes)
                edge_block_lanes(other_lanes, W, kw, sw, dw, column0, lanes);
            max_pool_row_block_f32_avx512(out + ow, out_index + ow, xp, W, h_first, h_end, kw,
                                          sw, dh, dw, column0, lanes, valid, 1);
        }
    }
}

/* Max pooling of every output of one plane (max_pool_plane_body's results): each output
 * row in blocks of 16 columns, the edge columns ([0, lo) and [hi, OW), whose windows reach
 * into the padding) in the same vectors as the inside ones. Row by row, so the reads stream
 * along the plane (each block of columns walked down the rows measured up to 3.6x slower
 * on 112x112 planes: the loads missed). Pairing two rows' chains in one loop measured
 * slower. */
__attribute__((target("avx512f")))
static void max_pool_plane_f32_avx512(float *best, int64_t *best_index, const float *xp,
                                      int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t kh,
                                      int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                                      int64_t pw, int64_t dh, int64_t dw, int64_t lo,
                                      int64_t hi)
{
    if (sw == 1)
        max_pool_plane_body_f32_avx512(best, best_index, xp, H, W, OH, OW, kh, kw, sh, 1, ph,
                                       pw, dh, dw, lo, hi);
    else if (sw == 2)
        max_pool_plane_body_f32_avx512(best, best_index, xp, H, W, OH, OW, kh, kw, sh, 2, ph,
                                       pw, dh, dw, lo, hi);
    else
        max_pool_plane_body_f32_avx512(best, best_index, xp, H, W, OH, OW, kh, kw, sh, sw, ph,
                                       pw, dh, dw, lo, hi);
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
        const pool_lanes lanes = pool_lanes_of(fc_first_lanes(hi - ow));
        __m512 sum = _mm512_setzero_ps();
        for (int64_t ih = h_begin; ih < h_end; ih++)
            for (int64_t j = 0; j < kw; j++)
                sum = _mm512_add_ps(sum, load_strided_f32(xp + ih * W - pw + j + ow * sw, sw,
                                                          lanes));
        const __m512 mean = power_of_two ? _mm512_mul_ps(sum, reciprocal) : _mm512_div_ps(sum, d);
        _mm512_mask_storeu_ps(row + ow, lanes.lanes, mean);
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
