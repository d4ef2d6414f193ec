/* AVX-512 inner loops of the fast batch-norm reductions, float32 only
 * (batchnorm_fast_impl.h uses them when the CPU has AVX-512F; float64 and other CPUs take
 * the portable loops). One plane at a time, its BN_LANES (16) double accumulators held in
 * four zmm registers: gcc keeps the portable 16-double vector values in memory, so every
 * step there waits on a store and a reload. The arithmetic per lane is the portable
 * step's, contracted to FMA as gcc contracts it in the AVX-512 clone.
 * Compiled with a target attribute, so the build needs no -march flag. */
#ifndef FASTCONV_BATCHNORM_AVX512_H
#define FASTCONV_BATCHNORM_AVX512_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_BN_AVX512 1
#include <immintrin.h>
#include "avx512_lanes.h"

/* Whether the float32 AVX-512 loops can run here. */
static inline int bn_use_avx512(void) { return __builtin_cpu_supports("avx512f"); }

/* 16 floats as two vectors of 8 doubles: lanes 0-7 and 8-15. */
__attribute__((target("avx512f")))
static inline void bn_widen_avx512(__m512d *low, __m512d *high, __m512 v)
{
    *low = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    *high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* sum[k] += d and square[k] += d * d for d = plane[s] - first, s % 16 == k, along one
 * plane of S floats; the partial last block is padded with `first` (d = 0 exactly).
 * sum, square: 16 doubles each, IN and OUT. */
__attribute__((target("avx512f")))
static void bn_plane_stats_avx512(double *sum, double *square, const float *plane, int64_t S,
                                  float first)
{
    const __m512d shift = _mm512_set1_pd((double)first);
    const __m512 pad = _mm512_set1_ps(first);
    __m512d s0 = _mm512_loadu_pd(sum), s1 = _mm512_loadu_pd(sum + 8);
    __m512d q0 = _mm512_loadu_pd(square), q1 = _mm512_loadu_pd(square + 8);
    for (int64_t s = 0; s < S; s += 16) {
        const __m512 v = S - s >= 16 ? _mm512_loadu_ps(plane + s)
                                     : _mm512_mask_loadu_ps(pad, fc_first_lanes(S - s), plane + s);
        __m512d d0, d1;
        bn_widen_avx512(&d0, &d1, v);
        d0 = _mm512_sub_pd(d0, shift);
        d1 = _mm512_sub_pd(d1, shift);
        s0 = _mm512_add_pd(s0, d0);
        s1 = _mm512_add_pd(s1, d1);
        q0 = _mm512_fmadd_pd(d0, d0, q0);
        q1 = _mm512_fmadd_pd(d1, d1, q1);
    }
    _mm512_storeu_pd(sum, s0);
    _mm512_storeu_pd(sum + 8, s1);
    _mm512_storeu_pd(square, q0);
    _mm512_storeu_pd(square + 8, q1);
}

/* dy_sum[k] += dy and dy_centred_sum[k] += dy * (x - m) along one plane of S floats
 * (lane k takes s % 16 == k); the partial last block is padded with dy = x = 0, which
 * adds exactly 0.  dy_sum, dy_centred_sum: 16 doubles each, IN and OUT. */
__attribute__((target("avx512f")))
static void bn_plane_backward_sums_avx512(double *dy_sum, double *dy_centred_sum,
                                          const float *dy_plane, const float *x_plane,
                                          int64_t S, double m)
{
    const __m512d mean = _mm512_set1_pd(m);
    __m512d a0 = _mm512_loadu_pd(dy_sum), a1 = _mm512_loadu_pd(dy_sum + 8);
    __m512d b0 = _mm512_loadu_pd(dy_centred_sum), b1 = _mm512_loadu_pd(dy_centred_sum + 8);
    for (int64_t s = 0; s < S; s += 16) {
        const __mmask16 lanes = fc_first_lanes(S - s);
        const __m512 dy = _mm512_maskz_loadu_ps(lanes, dy_plane + s);
        const __m512 xv = _mm512_maskz_loadu_ps(lanes, x_plane + s);
        __m512d dy0, dy1, x0, x1;
        bn_widen_avx512(&dy0, &dy1, dy);
        bn_widen_avx512(&x0, &x1, xv);
        a0 = _mm512_add_pd(a0, dy0);
        a1 = _mm512_add_pd(a1, dy1);
        b0 = _mm512_fmadd_pd(dy0, _mm512_sub_pd(x0, mean), b0);
        b1 = _mm512_fmadd_pd(dy1, _mm512_sub_pd(x1, mean), b1);
    }
    _mm512_storeu_pd(dy_sum, a0);
    _mm512_storeu_pd(dy_sum + 8, a1);
    _mm512_storeu_pd(dy_centred_sum, b0);
    _mm512_storeu_pd(dy_centred_sum + 8, b1);
}
#else
static inline int bn_use_avx512(void) { return 0; }
#endif

#endif
