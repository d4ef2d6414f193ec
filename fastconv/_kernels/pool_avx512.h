/* AVX-512 inner loops of the fast pooling kernels, float32 only (pool_fast_impl.h uses
 * them when the CPU has AVX-512F; float64 and other CPUs take the portable loops).
 * Compiled with a target attribute, so the build needs no -march flag. */
#ifndef FASTCONV_POOL_AVX512_H
#define FASTCONV_POOL_AVX512_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_POOL_AVX512 1
#include <immintrin.h>

/* The first n (<= 16) lanes set. */
static inline __mmask16 first_lanes(int64_t n)
{
    return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
}

/* x[0], x[stride], ..., x[15 * stride] for the lanes in `m` (0 elsewhere), without
 * reading past the last lane asked for. */
__attribute__((target("avx512f")))
static inline __m512 load_strided_f32(const float *x, int64_t stride, int64_t n)
{
    const __mmask16 m = first_lanes(n);
    if (stride == 1)
        return _mm512_maskz_loadu_ps(m, x);
    if (stride == 2) {  /* two contiguous loads, then keep the even positions */
        const int64_t span = 2 * n - 1;
        const __m512 low = _mm512_maskz_loadu_ps(first_lanes(span), x);
        const __m512 high = _mm512_maskz_loadu_ps(first_lanes(span - 16), x + 16);
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                               16, 18, 20, 22, 24, 26, 28, 30);
        return _mm512_permutex2var_ps(low, even, high);
    }
    const __m512i offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)stride));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, offsets, x, 4);
}

/* Max pooling of the inside columns [lo, hi) of one output row (see max_pool_plane_body):
 * 16 columns at a time, the running maximum and its index kept in registers over the
 * taps, which are visited in the naive row-major order with the same take rule. */
__attribute__((target("avx512f")))
static void max_pool_row_avx512_f32(float *best, int64_t *best_index, const float *xp,
                                    int64_t W, int64_t h_first, int64_t h_end, int64_t dh,
                                    int64_t kw, int64_t dw, int64_t sw, int64_t pw,
                                    int64_t lo, int64_t hi)
{
    const __m512i step_low = _mm512_setr_epi64(0, sw, 2 * sw, 3 * sw, 4 * sw, 5 * sw, 6 * sw,
                                               7 * sw);
    const __m512i step_high = _mm512_add_epi64(step_low, _mm512_set1_epi64(8 * sw));
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
        const __mmask16 m = first_lanes(n);
        _mm512_mask_storeu_ps(best + ow, m, value);
        _mm512_mask_storeu_epi64(best_index + ow, (__mmask8)m, index_low);
        _mm512_mask_storeu_epi64(best_index + ow + 8, (__mmask8)(m >> 8), index_high);
    }
}
#endif

#endif
