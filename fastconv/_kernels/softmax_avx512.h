/* AVX-512 loops for float32 softmax rows (inner == 1: a row is contiguous), used by
 * softmax_impl.h when the CPU has AVX-512F; float64, strided rows and other CPUs keep the
 * portable loops with the C library's exp. Compiled with target attributes, so the build
 * needs no -march flag.
 *
 * fc_exp_avx512 is a vector exp: n = round(x / ln 2), r = x - n ln 2 (Cody-Waite, two
 * parts), e^r by Cephes' degree-7 polynomial on [-ln2/2, ln2/2], then scaled by 2^n
 * (vscalefps, which rounds an underflowing result into the subnormals or to 0 and an
 * overflowing one to inf). Accuracy, measured against double-precision exp on 162 million
 * floats in [-104, 0] (the range softmax uses: x - max <= 0; every 7th float there, and 2
 * million random ones): below 1.3 ulp for normal results (1.26 at worst, over 1 ulp for
 * 0.03% of them, over 0.5 ulp for 4%; the C library's expf stays within 0.5 ulp or so)
 * and an absolute error below 2^-149 for subnormal ones; tests/test_softmax.py holds
 * softmax to the bound this gives it. exp(-inf) = 0, exp(NaN) = NaN; above 88.73 the
 * result is inf. */
#ifndef FASTCONV_SOFTMAX_AVX512_H
#define FASTCONV_SOFTMAX_AVX512_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_SOFTMAX_AVX512 1
#include <immintrin.h>
#include "avx512_lanes.h"

static inline int softmax_use_avx512(void) { return __builtin_cpu_supports("avx512f"); }

__attribute__((target("avx512f")))
static inline __m512 fc_exp_avx512(__m512 x)
{
    /* max/min return their second operand when either is NaN: x, so NaN passes through */
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* The max of 16 lanes, by halving the register. */
__attribute__((target("avx512f")))
static inline float softmax_lanes_max(__m512 v)
{
    __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
}

/* The sum of 16 lanes, pairwise: lane k += lane k + width for width 8, 4, 2, 1. */
__attribute__((target("avx512f")))
static inline float softmax_lanes_sum(__m512 v)
{
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
}

/* *max = max_d row[d];  *sum_exp = sum_d exp(row[d] - *max), summed in 16 partials
 * (term d to partial d % 16) added pairwise;  exps[d] = those exponentials when exps is
 * not NULL.  row: (D,) IN, D >= 1.  A NaN anywhere makes the sum NaN, as in the portable
 * loop (which may take a different max then, but every output is NaN either way). */
__attribute__((target("avx512f")))
static void softmax_row_stats_avx512_f32(float *max, float *sum_exp, float *exps,
                                         const float *row, int64_t D)
{
    __m512 best = _mm512_set1_ps(row[0]);
    for (int64_t d = 0; d < D; d += 16)
        best = _mm512_mask_max_ps(best, fc_first_lanes(D - d),
                                  _mm512_maskz_loadu_ps(fc_first_lanes(D - d), row + d),
                                  best);
    const float m = softmax_lanes_max(best);
    const __m512 shift = _mm512_set1_ps(m);
    __m512 partial = _mm512_setzero_ps();
    for (int64_t d = 0; d < D; d += 16) {
        const __mmask16 lanes = fc_first_lanes(D - d);
        const __m512 e = fc_exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, row + d), shift));
        partial = _mm512_mask_add_ps(partial, lanes, partial, e);
        if (exps)
            _mm512_mask_storeu_ps(exps + d, lanes, e);
    }
    *max = m;
    *sum_exp = softmax_lanes_sum(partial);
}

/* out[d] = out[d] / divisor for d < D. */
__attribute__((target("avx512f")))
static void softmax_row_divide_avx512_f32(float *out, int64_t D, float divisor)
{
    const __m512 v = _mm512_set1_ps(divisor);
    for (int64_t d = 0; d < D; d += 16) {
        const __mmask16 lanes = fc_first_lanes(D - d);
        _mm512_mask_storeu_ps(out + d, lanes,
                              _mm512_div_ps(_mm512_maskz_loadu_ps(lanes, out + d), v));
    }
}

/* out[d] = (x[d] - max) - log_sum for d < D. */
__attribute__((target("avx512f")))
static void log_softmax_row_avx512_f32(float *out, const float *x, int64_t D, float max,
                                       float log_sum)
{
    const __m512 m = _mm512_set1_ps(max), l = _mm512_set1_ps(log_sum);
    for (int64_t d = 0; d < D; d += 16) {
        const __mmask16 lanes = fc_first_lanes(D - d);
        _mm512_mask_storeu_ps(out + d, lanes,
                              _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, x + d), m), l));
    }
}
/* grad_x[d] = out[d] * (grad_out[d] - dot), dot = sum_d grad_out[d] * out[d] summed in 16
 * partials (term d to partial d % 16, fused multiply-adds) added pairwise.  Rows of D. */
__attribute__((target("avx512f")))
static void softmax_backward_row_avx512_f32(float *grad_x, const float *grad_out,
                                            const float *out, int64_t D)
{
    __m512 partial = _mm512_setzero_ps();
    for (int64_t d = 0; d < D; d += 16) {
        const __mmask16 lanes = fc_first_lanes(D - d);
        partial = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, grad_out + d),
                                  _mm512_maskz_loadu_ps(lanes, out + d), partial);
    }
    const __m512 dot = _mm512_set1_ps(softmax_lanes_sum(partial));
    for (int64_t d = 0; d < D; d += 16) {
        const __mmask16 lanes = fc_first_lanes(D - d);
        const __m512 g = _mm512_maskz_loadu_ps(lanes, grad_out + d);
        _mm512_mask_storeu_ps(grad_x + d, lanes,
                              _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, out + d),
                                            _mm512_sub_ps(g, dot)));
    }
}

/* grad_x[d] = grad_out[d] - exp(out[d]) * total, total = sum_d grad_out[d] in 16 partials
 * added pairwise, exp by fc_exp_avx512 (out is a log-probability, <= 0).  Rows of D. */
__attribute__((target("avx512f")))
static void log_softmax_backward_row_avx512_f32(float *grad_x, const float *grad_out,
                                                const float *out, int64_t D)
{
    __m512 partial = _mm512_setzero_ps();
    for (int64_t d = 0; d < D; d += 16)
        partial = _mm512_add_ps(partial, _mm512_maskz_loadu_ps(fc_first_lanes(D - d),
                                                               grad_out + d));
    const __m512 total = _mm512_set1_ps(softmax_lanes_sum(partial));
    for (int64_t d = 0; d < D; d += 16) {
        const __mmask16 lanes = fc_first_lanes(D - d);
        const __m512 e = fc_exp_avx512(_mm512_maskz_loadu_ps(lanes, out + d));
        _mm512_mask_storeu_ps(grad_x + d, lanes,
                              _mm512_fnmadd_ps(e, total, _mm512_maskz_loadu_ps(lanes, grad_out + d)));
    }
}
#else
static inline int softmax_use_avx512(void) { return 0; }
#endif

#endif
