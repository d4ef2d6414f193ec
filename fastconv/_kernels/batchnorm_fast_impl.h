/* The fast batch-norm kernels, over `real` (included at the end of batchnorm_impl.h).
 *
 * Statistics take ONE pass: sums of d = x - shift and of d^2, shift = x[0, c, 0], in
 * double; mean = shift + E[d], var = E[d^2] - E[d]^2 (clamped at 0). The shift keeps a
 * large mean from swamping the deviations, and a constant channel has d = 0 exactly, so
 * its mean is exactly its value and its variance exactly 0.
 * Every reduction spreads a plane over BN_LANES independent double accumulators (element
 * s of a plane goes to lane s % BN_LANES), then adds the lanes pairwise: a fixed order,
 * one thread per channel, so the bits do not depend on the thread count, and independent
 * lanes vectorise without -ffast-math.
 * Each thread owns a contiguous range of channels (a static split of C) and sweeps them
 * in memory order: for n, for each of its channels, the plane (n, c) -- so one thread's
 * reads form long sequential runs, which the prefetchers follow, where a channel-at-a-time
 * walk would jump C*S values after every plane (and planes that far apart, often a power
 * of two, collide in the same cache sets). The per-channel accumulators of a sweep (at
 * most BN_BLOCK channels) live on the stack. A channel's sums still run n, then s, in
 * lanes, whatever the thread count.
 * The training kernels then do the elementwise pass over the same channel range, in the
 * same order: each thread re-reads what it read itself. (Reverse order, to meet the
 * newest data first while it may still be cached, measured no faster.)
 * Workers are compiled per vector ISA (FC_VECTOR_CLONES); the float32 reductions take the
 * AVX-512 loops of batchnorm_avx512.h where the CPU has AVX-512F. The elementwise passes
 * of float tensors run in float (bn_plane_normalise), twice the values per vector. */
#include <math.h>
#include <string.h>
#include "vector_clones.h"
#include "thread_share.h"
#include "batchnorm_avx512.h"

#ifndef FC_BN_LANES
#define FC_BN_LANES
#define BN_LANES 16

/* BN_LANES double accumulators. With GCC/Clang they form one vector value (vector
 * extensions: gcc maps it onto whatever registers the clone's ISA has, and the sums stay
 * in registers); elsewhere a plain array, the same arithmetic lane by lane. */
#if defined(__GNUC__)
#define BN_VECTOR_EXTENSIONS 1
typedef double bn_lanes __attribute__((vector_size(BN_LANES * sizeof(double))));
typedef float bn_lanes_f32 __attribute__((vector_size(BN_LANES * sizeof(float))));
#else
typedef struct { double v[BN_LANES]; } bn_lanes;
#endif

static inline bn_lanes bn_zero_lanes(void)
{
    bn_lanes zero;
    memset(&zero, 0, sizeof zero);
    return zero;
}

/* The sum of the lanes, pairwise (a fixed order). */
static inline double bn_fold_lanes(const bn_lanes *lanes)
{
    double v[BN_LANES];
    memcpy(v, lanes, sizeof v);
    for (int width = BN_LANES / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++) v[k] += v[k + width];
    return v[0];
}

/* Below this many values, starting a thread team costs more than the work it would
 * share (tens of microseconds when the other cores are busy). */
#define BN_PARALLEL_MIN 32768

/* Channels whose accumulators one sweep keeps on the stack (2 * 64 * 128 bytes). */
#define BN_BLOCK 64

static inline int64_t fc_bn_min(int64_t a, int64_t b) { return a < b ? a : b; }

/* v as the sum of two floats, *hi + *lo, for the float passes: x - hi - lo keeps the
 * precision of x - v where x lies near a large v (a lone float would round v by up to half
 * an ulp of v, which can be the size of the deviations themselves). */
static inline void bn_float_pair(double v, float *hi, float *lo)
{
    *hi = (float)v;
    *lo = (float)(v - (double)*hi);
}
#endif

/* BN_LANES consecutive values of p, converted to double. (`sizeof(real)` is a constant:
 * each instantiation keeps only its own branch.) */
FC_ALWAYS_INLINE bn_lanes FC_FN(bn_load)(const real *p)
{
    bn_lanes out;
#ifdef BN_VECTOR_EXTENSIONS
    if (sizeof(real) == sizeof(float)) {
        bn_lanes_f32 in;
        memcpy(&in, p, sizeof in);
        out = __builtin_convertvector(in, bn_lanes);
    } else {
        memcpy(&out, p, sizeof out);
    }
#else
    for (int k = 0; k < BN_LANES; k++) out.v[k] = (double)p[k];
#endif
    return out;
}

/* sum += d, square += d * d for d = block - shift, lane by lane. */
FC_ALWAYS_INLINE void FC_FN(bn_stats_step)(bn_lanes *sum, bn_lanes *square, const real *block,
                                        double shift)
{
    bn_lanes value = FC_FN(bn_load)(block);
#ifdef BN_VECTOR_EXTENSIONS
    const bn_lanes d = value - shift;
    *sum += d;
    *square += d * d;
#else
    for (int k = 0; k < BN_LANES; k++) {
        const double d = value.v[k] - shift;
        sum->v[k] += d;
        square->v[k] += d * d;
    }
#endif
}

/* dy_sum += dy, dy_centred_sum += dy * (x - m), lane by lane (the caller multiplies the
 * folded sum by invstd once, instead of every term). */
FC_ALWAYS_INLINE void FC_FN(bn_backward_step)(bn_lanes *dy_sum, bn_lanes *dy_centred_sum,
                                           const real *dy_block, const real *x_block,
                                           double m)
{
    bn_lanes dy = FC_FN(bn_load)(dy_block), xv = FC_FN(bn_load)(x_block);
#ifdef BN_VECTOR_EXTENSIONS
    *dy_sum += dy;
    *dy_centred_sum += dy * (xv - m);
#else
    for (int k = 0; k < BN_LANES; k++) {
        dy_sum->v[k] += dy.v[k];
        dy_centred_sum->v[k] += dy.v[k] * (xv.v[k] - m);
    }
#endif
}

/* mean[c], var[c] (biased) for the channels c in [c0, c1) (at most BN_BLOCK) of x
 * (N, C, S): the one-pass shifted sums, swept in memory order. Element s of each plane
 * goes to lane s % BN_LANES; a plane's last partial block is padded with the shift, whose
 * deviation is exactly 0. */
FC_VECTOR_CLONES
static void FC_FN(bn_block_stats)(double *restrict mean, double *restrict var,
                                  const real *restrict x,
                                  int64_t c0, int64_t c1, int64_t N, int64_t C, int64_t S,
                                  int avx512)
{
    (void)avx512;  /* unused without the AVX-512 loops */
    bn_lanes sums[BN_BLOCK], squares[BN_BLOCK];
    for (int64_t k = 0; k < c1 - c0; k++) sums[k] = squares[k] = bn_zero_lanes();
    for (int64_t n = 0; n < N; n++) {
        for (int64_t c = c0; c < c1; c++) {
            const real *restrict plane = x + (n * C + c) * S;
            const real first = x[c * S];
#ifdef FC_BN_AVX512
            if (avx512) {  /* only ever true for float: the casts are no-ops then */
                bn_plane_stats_avx512((double *)&sums[c - c0], (double *)&squares[c - c0],
                                      (const float *)plane, S, (float)first);
                continue;
            }
#endif
            const double shift = (double)first;
            bn_lanes sum = sums[c - c0], square = squares[c - c0];
            int64_t s = 0;
            for (; s + BN_LANES <= S; s += BN_LANES)
                FC_FN(bn_stats_step)(&sum, &square, plane + s, shift);
            if (s < S) {
                real tail[BN_LANES];
                for (int k = 0; k < BN_LANES; k++) tail[k] = s + k < S ? plane[s + k] : first;
                FC_FN(bn_stats_step)(&sum, &square, tail, shift);
            }
            sums[c - c0] = sum;
            squares[c - c0] = square;
        }
    }
    const double count = (double)(N * S);
    for (int64_t c = c0; c < c1; c++) {
        const double mean_d = bn_fold_lanes(&sums[c - c0]) / count;
        const double var_d = bn_fold_lanes(&squares[c - c0]) / count - mean_d * mean_d;
        mean[c] = (double)x[c * S] + mean_d;
        var[c] = var_d > 0.0 ? var_d : 0.0;
    }
}

/* bn_block_stats over the channels [begin, end), BN_BLOCK at a time. */
static void FC_FN(bn_range_stats)(double *restrict mean, double *restrict var,
                                  const real *restrict x,
                                  int64_t begin, int64_t end, int64_t N, int64_t C, int64_t S)
{
    const int avx512 = sizeof(real) == sizeof(float) && bn_use_avx512();
    for (int64_t c = begin; c < end; c += BN_BLOCK)
        FC_FN(bn_block_stats)(mean, var, x, c, fc_bn_min(c + BN_BLOCK, end), N, C, S, avx512);
}

/* y_plane = (x_plane - m) * is * w + b over one plane of S values, in double; with relu,
 * then y < 0 ? 0 : y (relu_forward's comparison: NaN kept, -0.0 kept). */
FC_VECTOR_CLONES
static void FC_FN(bn_plane_normalise)(real *restrict y_plane, const real *restrict x_plane,
                                      double m, double is, double w, double b, int relu,
                                      int64_t S)
{
    if (sizeof(real) == sizeof(float)) {
        /* float tensors in float arithmetic (twice the values per vector; the pass was
         * compute-bound in double), the mean as two floats so that x - mean stays exact
         * where x lies near a large mean */
        float m_hi, m_lo;
        bn_float_pair(m, &m_hi, &m_lo);
        const float slope = (float)(is * w), offset = (float)b;
        if (relu) {
            for (int64_t s = 0; s < S; s++) {
                const float v = (((float)x_plane[s] - m_hi) - m_lo) * slope + offset;
                y_plane[s] = (real)(v < 0 ? 0 : v);
            }
        } else {
            for (int64_t s = 0; s < S; s++)
                y_plane[s] = (real)((((float)x_plane[s] - m_hi) - m_lo) * slope + offset);
        }
        return;
    }
    if (relu) {
        for (int64_t s = 0; s < S; s++) {
            const real v = (real)(((double)x_plane[s] - m) * is * w + b);
            y_plane[s] = v < 0 ? 0 : v;
        }
    } else {
        for (int64_t s = 0; s < S; s++)
            y_plane[s] = (real)(((double)x_plane[s] - m) * is * w + b);
    }
}

/* sum_dy[c], sum_dy_xhat[c] for the channels c in [c0, c1) (at most BN_BLOCK): sums of
 * dy and of dy * (x - mean[c]), swept and laid in lanes as in bn_block_stats, the second
 * times invstd[c] once folded (sum(dy * xhat) with one rounding fewer per term: the
 * multiplication per term took 5-9% of the reduction's time); a partial block is padded
 * with dy = 0, which adds exactly 0. */
FC_VECTOR_CLONES
static void FC_FN(bn_block_backward_sums)(double *restrict sum_dy, double *restrict sum_dy_xhat,
                                          const real *restrict grad_out,
                                          const real *restrict x,
                                          const double *restrict mean,
                                          const double *restrict invstd,
                                          int64_t c0, int64_t c1,
                                          int64_t N, int64_t C, int64_t S, int avx512)
{
    (void)avx512;  /* unused without the AVX-512 loops */
    bn_lanes dy_sums[BN_BLOCK], dy_centred_sums[BN_BLOCK];
    for (int64_t k = 0; k < c1 - c0; k++) dy_sums[k] = dy_centred_sums[k] = bn_zero_lanes();
    for (int64_t n = 0; n < N; n++) {
        for (int64_t c = c0; c < c1; c++) {
            const real *restrict dy_plane = grad_out + (n * C + c) * S;
            const real *restrict x_plane = x + (n * C + c) * S;
            const double m = mean[c];
#ifdef FC_BN_AVX512
            if (avx512) {  /* only ever true for float: the casts are no-ops then */
                bn_plane_backward_sums_avx512((double *)&dy_sums[c - c0],
                                              (double *)&dy_centred_sums[c - c0],
                                              (const float *)dy_plane, (const float *)x_plane,
                                              S, m);
                continue;
            }
#endif
            bn_lanes dy_sum = dy_sums[c - c0], dy_centred_sum = dy_centred_sums[c - c0];
            int64_t s = 0;
            for (; s + BN_LANES <= S; s += BN_LANES)
                FC_FN(bn_backward_step)(&dy_sum, &dy_centred_sum, dy_plane + s, x_plane + s, m);
            if (s < S) {
                real dy_tail[BN_LANES], x_tail[BN_LANES];
                for (int k = 0; k < BN_LANES; k++) {
                    dy_tail[k] = s + k < S ? dy_plane[s + k] : 0;
                    x_tail[k] = s + k < S ? x_plane[s + k] : 0;
                }
                FC_FN(bn_backward_step)(&dy_sum, &dy_centred_sum, dy_tail, x_tail, m);
            }
            dy_sums[c - c0] = dy_sum;
            dy_centred_sums[c - c0] = dy_centred_sum;
        }
    }
    for (int64_t c = c0; c < c1; c++) {
        sum_dy[c] = bn_fold_lanes(&dy_sums[c - c0]);
        sum_dy_xhat[c] = bn_fold_lanes(&dy_centred_sums[c - c0]) * invstd[c];
    }
}

/* bn_block_backward_sums over the channels [begin, end), BN_BLOCK at a time. */
static void FC_FN(bn_range_backward_sums)(double *restrict sum_dy, double *restrict sum_dy_xhat,
                                          const real *restrict grad_out,
                                          const real *restrict x,
                                          const double *restrict mean,
                                          const double *restrict invstd,
                                          int64_t begin, int64_t end,
                                          int64_t N, int64_t C, int64_t S)
{
    const int avx512 = sizeof(real) == sizeof(float) && bn_use_avx512();
    for (int64_t c = begin; c < end; c += BN_BLOCK)
        FC_FN(bn_block_backward_sums)(sum_dy, sum_dy_xhat, grad_out, x, mean, invstd,
                                      c, fc_bn_min(c + BN_BLOCK, end), N, C, S, avx512);
}

/* One plane of the training-mode grad_x: scale * (dy - mean_dy - xhat * mean_dy_xhat). */
FC_VECTOR_CLONES
static void FC_FN(bn_plane_backward_train)(real *restrict gx_plane,
                                           const real *restrict dy_plane,
                                           const real *restrict x_plane,
                                           double m, double is, double scale,
                                           double mean_dy, double mean_dy_xhat, int64_t S)
{
    if (sizeof(real) == sizeof(float)) {
        /* in float, as bn_plane_normalise, in the same order as below: dy - mean_dy first
         * (both means as two floats), so that a constant dy or x gives exactly 0 */
        float m_hi, m_lo, dy_hi, dy_lo;
        bn_float_pair(m, &m_hi, &m_lo);
        bn_float_pair(mean_dy, &dy_hi, &dy_lo);
        const float slope = (float)(is * mean_dy_xhat), scale_f = (float)scale;
        for (int64_t s = 0; s < S; s++) {
            const float centred = ((float)x_plane[s] - m_hi) - m_lo;
            const float dy_centred = ((float)dy_plane[s] - dy_hi) - dy_lo;
            gx_plane[s] = (real)(scale_f * (dy_centred - centred * slope));
        }
        return;
    }
    for (int64_t s = 0; s < S; s++) {
        const double xhat = ((double)x_plane[s] - m) * is;
        gx_plane[s] = (real)(scale * ((double)dy_plane[s] - mean_dy - xhat * mean_dy_xhat));
    }
}

/* One plane of the eval-mode grad_x: dy * w * is. */
FC_VECTOR_CLONES
static void FC_FN(bn_plane_backward_eval)(real *restrict gx_plane, const real *restrict dy_plane,
                                          double w, double is, int64_t S)
{
    for (int64_t s = 0; s < S; s++)
        gx_plane[s] = (real)((double)dy_plane[s] * w * is);
}

/* mean, var: (C,) OUT, the channel mean and the BIASED variance;  x: (N, C, S) IN.
 * Requires N*S >= 1.  The one-pass shifted statistics. */
void FC_FN(batch_norm_stats)(double *restrict mean, double *restrict var,
                             const real *restrict x,
                             int64_t N, int64_t C, int64_t S, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel if(N * C * S >= BN_PARALLEL_MIN) num_threads(num_threads)
    {
        int64_t begin, end;
        fc_thread_share(C, &begin, &end);
        FC_FN(bn_range_stats)(mean, var, x, begin, end, N, C, S);
    }
}

/* y: (N, C, S) OUT;  x: (N, C, S) IN;  mean, invstd: (C,) IN;  weight, bias: (C,) IN.
 * y = (x - mean) * invstd * weight + bias, then with relu, relu(y) in the same pass. */
void FC_FN(batch_norm_forward)(real *restrict y, const real *restrict x,
                               const double *restrict mean, const double *restrict invstd,
                               const real *restrict weight, const real *restrict bias, int relu,
                               int64_t N, int64_t C, int64_t S, int num_threads)
{
    #pragma omp parallel for collapse(2) if(N * C * S >= BN_PARALLEL_MIN) \
        num_threads(num_threads) schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            FC_FN(bn_plane_normalise)(y + (n * C + c) * S, x + (n * C + c) * S, mean[c],
                                      invstd[c], (double)weight[c], (double)bias[c], relu, S);
}

/* y: (N, C, S) OUT;  mean, var, invstd: (C,) OUT;  x: (N, C, S) IN;  weight, bias: (C,) IN.
 * Requires N*S >= 1.  Normalisation with the batch's own statistics: batch_norm_stats,
 * invstd = 1 / sqrt(var + eps), then batch_norm_forward (relu as there). Each thread
 * normalises the channels it summed; with fewer channels than threads, the planes are
 * shared out instead. */
void FC_FN(batch_norm_train_forward)(real *restrict y, double *restrict mean,
                                     double *restrict var, double *restrict invstd,
                                     const real *restrict x,
                                     const real *restrict weight, const real *restrict bias,
                                     double eps, int relu, int64_t N, int64_t C, int64_t S,
                                     int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel if(N * C * S >= BN_PARALLEL_MIN) num_threads(num_threads)
    {
        int64_t begin, end;
        const int64_t team = fc_thread_share(C, &begin, &end);
        FC_FN(bn_range_stats)(mean, var, x, begin, end, N, C, S);
        batch_norm_invstd(invstd + begin, var + begin, eps, end - begin);
        if (C >= team) {
            for (int64_t n = 0; n < N; n++)
                for (int64_t c = begin; c < end; c++)
                    FC_FN(bn_plane_normalise)(y + (n * C + c) * S, x + (n * C + c) * S,
                                              mean[c], invstd[c], (double)weight[c],
                                              (double)bias[c], relu, S);
        } else {  /* the same branch in every thread (team and C are shared) */
            #pragma omp barrier
            #pragma omp for collapse(2) schedule(static)
            for (int64_t n = 0; n < N; n++)
                for (int64_t c = 0; c < C; c++)
                    FC_FN(bn_plane_normalise)(y + (n * C + c) * S, x + (n * C + c) * S,
                                              mean[c], invstd[c], (double)weight[c],
                                              (double)bias[c], relu, S);
        }
    }
}

/* sum_dy, sum_dy_xhat: (C,) OUT, per channel sum(dy) and sum(dy * xhat),
 * xhat = (x - mean) * invstd;  grad_out, x: (N, C, S) IN;  mean, invstd: (C,) IN.
 * They are grad_bias and grad_weight, and the two means the training-mode grad_x needs. */
void FC_FN(batch_norm_backward_reduce)(double *restrict sum_dy, double *restrict sum_dy_xhat,
                                       const real *restrict grad_out, const real *restrict x,
                                       const double *restrict mean,
                                       const double *restrict invstd,
                                       int64_t N, int64_t C, int64_t S, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel if(N * C * S >= BN_PARALLEL_MIN) num_threads(num_threads)
    {
        int64_t begin, end;
        fc_thread_share(C, &begin, &end);
        FC_FN(bn_range_backward_sums)(sum_dy, sum_dy_xhat, grad_out, x, mean, invstd,
                                      begin, end, N, C, S);
    }
}

/* grad_x: (N, C, S) OUT;  sum_dy, sum_dy_xhat: (C,) OUT (as batch_norm_backward_reduce);
 * grad_out, x: (N, C, S) IN;  mean, invstd, weight: (C,) IN.
 * The forward normalised with the batch's own statistics, which depend on x, hence
 * grad_x = weight * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)): the sums, then
 * grad_x, each thread over the channels it summed (or, with fewer channels than threads,
 * over a share of the planes). */
void FC_FN(batch_norm_backward_train)(real *restrict grad_x, double *restrict sum_dy,
                                      double *restrict sum_dy_xhat,
                                      const real *restrict grad_out, const real *restrict x,
                                      const double *restrict mean, const double *restrict invstd,
                                      const real *restrict weight,
                                      int64_t N, int64_t C, int64_t S, int num_threads)
{
    const double count = (double)(N * S);
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel if(N * C * S >= BN_PARALLEL_MIN) num_threads(num_threads)
    {
        int64_t begin, end;
        const int64_t team = fc_thread_share(C, &begin, &end);
        FC_FN(bn_range_backward_sums)(sum_dy, sum_dy_xhat, grad_out, x, mean, invstd,
                                      begin, end, N, C, S);
        if (C >= team) {
            for (int64_t n = 0; n < N; n++)
                for (int64_t c = begin; c < end; c++)
                    FC_FN(bn_plane_backward_train)(
                        grad_x + (n * C + c) * S, grad_out + (n * C + c) * S,
                        x + (n * C + c) * S, mean[c], invstd[c],
                        (double)weight[c] * invstd[c], sum_dy[c] / count,
                        sum_dy_xhat[c] / count, S);
        } else {  /* the same branch in every thread (team and C are shared) */
            #pragma omp barrier
            #pragma omp for collapse(2) schedule(static)
            for (int64_t n = 0; n < N; n++)
                for (int64_t c = 0; c < C; c++)
                    FC_FN(bn_plane_backward_train)(
                        grad_x + (n * C + c) * S, grad_out + (n * C + c) * S,
                        x + (n * C + c) * S, mean[c], invstd[c],
                        (double)weight[c] * invstd[c], sum_dy[c] / count,
                        sum_dy_xhat[c] / count, S);
        }
    }
}

/* grad_x: (N, C, S) OUT;  grad_out: (N, C, S) IN;  invstd, weight: (C,) IN.
 * The forward normalised with fixed running statistics: y is affine in x,
 * grad_x = dy * weight * invstd. */
void FC_FN(batch_norm_backward_eval)(real *restrict grad_x, const real *restrict grad_out,
                                     const double *restrict invstd, const real *restrict weight,
                                     int64_t N, int64_t C, int64_t S, int num_threads)
{
    #pragma omp parallel for collapse(2) if(N * C * S >= BN_PARALLEL_MIN) \
        num_threads(num_threads) schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            FC_FN(bn_plane_backward_eval)(grad_x + (n * C + c) * S, grad_out + (n * C + c) * S,
                                          (double)weight[c], invstd[c], S);
}

