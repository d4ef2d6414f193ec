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
 * The training kernels are fused per channel: a channel's planes (N*S values) are summed,
 * then normalised (or differentiated) straight away, while they are still in cache, so x
 * (and dy) come from memory once. Workers are compiled per vector ISA (FC_VECTOR_CLONES). */
#include <math.h>
#include "vector_clones.h"

#define BN_LANES 16

/* The sum of BN_LANES lanes, pairwise (a fixed order). */
static inline double FC_FN(bn_fold_lanes)(double *lanes)
{
    for (int width = BN_LANES / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++) lanes[k] += lanes[k + width];
    return lanes[0];
}

/* *mean, *var (biased) of channel c of x (N, C, S): the one-pass shifted sums. */
FC_VECTOR_CLONES
static void FC_FN(bn_channel_stats)(double *mean, double *var, const real *restrict x,
                                    int64_t c, int64_t N, int64_t C, int64_t S)
{
    const double shift = (double)x[c * S];
    double sum[BN_LANES] = {0}, square[BN_LANES] = {0};
    for (int64_t n = 0; n < N; n++) {
        const real *restrict plane = x + (n * C + c) * S;
        int64_t s = 0;
        for (; s + BN_LANES <= S; s += BN_LANES) {
            for (int k = 0; k < BN_LANES; k++) {
                const double d = (double)plane[s + k] - shift;
                sum[k] += d;
                square[k] += d * d;
            }
        }
        for (int k = 0; s < S; s++, k++) {
            const double d = (double)plane[s] - shift;
            sum[k] += d;
            square[k] += d * d;
        }
    }
    const double count = (double)(N * S);
    const double mean_d = FC_FN(bn_fold_lanes)(sum) / count;
    const double var_d = FC_FN(bn_fold_lanes)(square) / count - mean_d * mean_d;
    *mean = shift + mean_d;
    *var = var_d > 0.0 ? var_d : 0.0;
}

/* y_plane = (x_plane - m) * is * w + b over one plane of S values, in double. */
FC_VECTOR_CLONES
static void FC_FN(bn_plane_normalise)(real *restrict y_plane, const real *restrict x_plane,
                                      double m, double is, double w, double b, int64_t S)
{
    for (int64_t s = 0; s < S; s++)
        y_plane[s] = (real)(((double)x_plane[s] - m) * is * w + b);
}

/* *sum_dy, *sum_dy_xhat of channel c: sums of dy and of dy * (x - m) * is. */
FC_VECTOR_CLONES
static void FC_FN(bn_channel_backward_sums)(double *sum_dy, double *sum_dy_xhat,
                                            const real *restrict grad_out,
                                            const real *restrict x, double m, double is,
                                            int64_t c, int64_t N, int64_t C, int64_t S)
{
    double dy_lanes[BN_LANES] = {0}, dy_xhat_lanes[BN_LANES] = {0};
    for (int64_t n = 0; n < N; n++) {
        const real *restrict dy_plane = grad_out + (n * C + c) * S;
        const real *restrict x_plane = x + (n * C + c) * S;
        int64_t s = 0;
        for (; s + BN_LANES <= S; s += BN_LANES) {
            for (int k = 0; k < BN_LANES; k++) {
                const double dy = (double)dy_plane[s + k];
                dy_lanes[k] += dy;
                dy_xhat_lanes[k] += dy * (((double)x_plane[s + k] - m) * is);
            }
        }
        for (int k = 0; s < S; s++, k++) {
            const double dy = (double)dy_plane[s];
            dy_lanes[k] += dy;
            dy_xhat_lanes[k] += dy * (((double)x_plane[s] - m) * is);
        }
    }
    *sum_dy = FC_FN(bn_fold_lanes)(dy_lanes);
    *sum_dy_xhat = FC_FN(bn_fold_lanes)(dy_xhat_lanes);
}

/* One plane of the training-mode grad_x: scale * (dy - mean_dy - xhat * mean_dy_xhat). */
FC_VECTOR_CLONES
static void FC_FN(bn_plane_backward_train)(real *restrict gx_plane,
                                           const real *restrict dy_plane,
                                           const real *restrict x_plane,
                                           double m, double is, double scale,
                                           double mean_dy, double mean_dy_xhat, int64_t S)
{
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
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t c = 0; c < C; c++)
        FC_FN(bn_channel_stats)(&mean[c], &var[c], x, c, N, C, S);
}

/* y: (N, C, S) OUT;  x: (N, C, S) IN;  mean, invstd: (C,) IN;  weight, bias: (C,) IN.
 * y = (x - mean) * invstd * weight + bias. */
void FC_FN(batch_norm_forward)(real *restrict y, const real *restrict x,
                               const double *restrict mean, const double *restrict invstd,
                               const real *restrict weight, const real *restrict bias,
                               int64_t N, int64_t C, int64_t S, int num_threads)
{
    #pragma omp parallel for collapse(2) num_threads(num_threads) schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            FC_FN(bn_plane_normalise)(y + (n * C + c) * S, x + (n * C + c) * S, mean[c],
                                      invstd[c], (double)weight[c], (double)bias[c], S);
}

/* y: (N, C, S) OUT;  mean, var, invstd: (C,) OUT;  x: (N, C, S) IN;  weight, bias: (C,) IN.
 * Requires N*S >= 1.  Normalisation with the batch's own statistics, fused per channel:
 * batch_norm_stats, invstd = 1 / sqrt(var + eps), then batch_norm_forward. */
void FC_FN(batch_norm_train_forward)(real *restrict y, double *restrict mean,
                                     double *restrict var, double *restrict invstd,
                                     const real *restrict x,
                                     const real *restrict weight, const real *restrict bias,
                                     double eps, int64_t N, int64_t C, int64_t S,
                                     int num_threads)
{
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        FC_FN(bn_channel_stats)(&mean[c], &var[c], x, c, N, C, S);
        invstd[c] = 1.0 / sqrt(var[c] + eps);
        for (int64_t n = 0; n < N; n++)
            FC_FN(bn_plane_normalise)(y + (n * C + c) * S, x + (n * C + c) * S, mean[c],
                                      invstd[c], (double)weight[c], (double)bias[c], S);
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
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t c = 0; c < C; c++)
        FC_FN(bn_channel_backward_sums)(&sum_dy[c], &sum_dy_xhat[c], grad_out, x, mean[c],
                                        invstd[c], c, N, C, S);
}

/* grad_x: (N, C, S) OUT;  sum_dy, sum_dy_xhat: (C,) OUT (as batch_norm_backward_reduce);
 * grad_out, x: (N, C, S) IN;  mean, invstd, weight: (C,) IN.
 * The forward normalised with the batch's own statistics, which depend on x, hence
 * grad_x = weight * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)); fused per channel:
 * the sums, then grad_x while the channel is in cache. */
void FC_FN(batch_norm_backward_train)(real *restrict grad_x, double *restrict sum_dy,
                                      double *restrict sum_dy_xhat,
                                      const real *restrict grad_out, const real *restrict x,
                                      const double *restrict mean, const double *restrict invstd,
                                      const real *restrict weight,
                                      int64_t N, int64_t C, int64_t S, int num_threads)
{
    const double count = (double)(N * S);
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        FC_FN(bn_channel_backward_sums)(&sum_dy[c], &sum_dy_xhat[c], grad_out, x, mean[c],
                                        invstd[c], c, N, C, S);
        const double scale = (double)weight[c] * invstd[c];
        for (int64_t n = 0; n < N; n++)
            FC_FN(bn_plane_backward_train)(grad_x + (n * C + c) * S, grad_out + (n * C + c) * S,
                                           x + (n * C + c) * S, mean[c], invstd[c], scale,
                                           sum_dy[c] / count, sum_dy_xhat[c] / count, S);
    }
}

/* grad_x: (N, C, S) OUT;  grad_out: (N, C, S) IN;  invstd, weight: (C,) IN.
 * The forward normalised with fixed running statistics: y is affine in x,
 * grad_x = dy * weight * invstd. */
void FC_FN(batch_norm_backward_eval)(real *restrict grad_x, const real *restrict grad_out,
                                     const double *restrict invstd, const real *restrict weight,
                                     int64_t N, int64_t C, int64_t S, int num_threads)
{
    #pragma omp parallel for collapse(2) num_threads(num_threads) schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            FC_FN(bn_plane_backward_eval)(grad_x + (n * C + c) * S, grad_out + (n * C + c) * S,
                                          (double)weight[c], invstd[c], S);
}

#undef BN_LANES
