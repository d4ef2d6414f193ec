/* Batch normalisation, forward and backward, written once over `real` (see fastconv.h).
 *
 * x is viewed as (N, C, S): channel c of sample n is the contiguous plane x + (n*C + c)*S.
 * Reductions run over channels in parallel; one thread owns a channel and sums it in
 * the order n, then s, in double -- the order of fastconv.reference's loops -- so results
 * do not depend on the thread count and match the reference closely.
 * Elementwise passes run in parallel over (n, c) planes and compute in double, rounding
 * to `real` once per element.
 *
 * The two reductions below are the direct loops, kept as the `_naive` twins of the fast
 * kernels in batchnorm_fast_impl.h, which the tests hold to them.
 */

/* mean, var: (C,) OUT, the channel mean and the BIASED variance;
 * x: (N, C, S) IN.  Requires N*S >= 1.
 * Shifted two-pass: summing x - x[0, c, 0] keeps a large mean from swamping the
 * deviations, and makes a constant channel's mean exactly its value, so its variance is
 * exactly 0 and it normalises to exactly 0. */
void FC_FN(batch_norm_stats_naive)(double *restrict mean, double *restrict var,
                             const real *restrict x,
                             int64_t N, int64_t C, int64_t S, int num_threads)
{
    const double count = (double)(N * S);
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        const double shift = (double)x[c * S];
        double deviation_sum = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const real *plane = x + (n * C + c) * S;
            for (int64_t s = 0; s < S; s++)
                deviation_sum += (double)plane[s] - shift;
        }
        const double channel_mean = shift + deviation_sum / count;
        double square_sum = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const real *plane = x + (n * C + c) * S;
            for (int64_t s = 0; s < S; s++) {
                const double d = (double)plane[s] - channel_mean;
                square_sum += d * d;
            }
        }
        mean[c] = channel_mean;
        var[c] = square_sum / count;
    }
}

/* sum_dy, sum_dy_xhat: (C,) OUT, per channel sum(dy) and sum(dy * xhat),
 * xhat = (x - mean) * invstd;  grad_out, x: (N, C, S) IN;  mean, invstd: (C,) IN.
 * They are grad_bias and grad_weight, and the two means the training-mode grad_x needs. */
void FC_FN(batch_norm_backward_reduce_naive)(double *restrict sum_dy, double *restrict sum_dy_xhat,
                                       const real *restrict grad_out, const real *restrict x,
                                       const double *restrict mean,
                                       const double *restrict invstd,
                                       int64_t N, int64_t C, int64_t S, int num_threads)
{
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        const double m = mean[c], is = invstd[c];
        double dy_total = 0.0, dy_xhat_total = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const real *dy_plane = grad_out + (n * C + c) * S;
            const real *x_plane = x + (n * C + c) * S;
            for (int64_t s = 0; s < S; s++) {
                const double dy = (double)dy_plane[s];
                dy_total += dy;
                dy_xhat_total += dy * (((double)x_plane[s] - m) * is);
            }
        }
        sum_dy[c] = dy_total;
        sum_dy_xhat[c] = dy_xhat_total;
    }
}

#include "batchnorm_fast_impl.h"
