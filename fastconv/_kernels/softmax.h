/* Softmax and log-softmax along one axis, forward and backward.
 *
 * An array of any shape is seen as (outer, D, inner) with the softmax taken along D:
 * outer is the product of the dimensions before the axis, inner of those after it.
 * Each "row" is the D values x[o, :, j], `inner` elements apart.
 */
#ifndef FASTCONV_SOFTMAX_H
#define FASTCONV_SOFTMAX_H

#include <stdint.h>

/* How many neighbouring rows (consecutive j) one work item handles together, so that the
 * innermost loops run along the contiguous j axis when inner > 1. */
enum { SOFTMAX_PANEL = 64 };

/* The statistics of a stable softmax for `width` neighbouring rows of a panel; exported
 * for the loss kernels, which need the same numbers for cross-entropy. */
void softmax_panel_stats_f32(float *max, float *sum_exp, float *exps, const float *x,
                             int64_t dim_size, int64_t stride, int64_t width);
void softmax_panel_stats_f64(double *max, double *sum_exp, double *exps, const double *x,
                             int64_t dim_size, int64_t stride, int64_t width);

void softmax_forward_f32(float *out, const float *x,
                         int64_t outer, int64_t dim_size, int64_t inner, int num_threads);
void softmax_forward_f64(double *out, const double *x,
                         int64_t outer, int64_t dim_size, int64_t inner, int num_threads);
void softmax_backward_f32(float *grad_x, const float *grad_out, const float *out,
                          int64_t outer, int64_t dim_size, int64_t inner, int num_threads);
void softmax_backward_f64(double *grad_x, const double *grad_out, const double *out,
                          int64_t outer, int64_t dim_size, int64_t inner, int num_threads);

void log_softmax_forward_f32(float *out, const float *x,
                             int64_t outer, int64_t dim_size, int64_t inner, int num_threads);
void log_softmax_forward_f64(double *out, const double *x,
                             int64_t outer, int64_t dim_size, int64_t inner, int num_threads);
void log_softmax_backward_f32(float *grad_x, const float *grad_out, const float *out,
                              int64_t outer, int64_t dim_size, int64_t inner, int num_threads);
void log_softmax_backward_f64(double *grad_x, const double *grad_out, const double *out,
                              int64_t outer, int64_t dim_size, int64_t inner, int num_threads);

#endif
