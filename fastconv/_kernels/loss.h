/* Loss functions: cross-entropy over class logits (fused with its log-softmax) and mean
 * squared error, forward and backward. The reduction over the batch is left to the caller,
 * which sums the per-row (or per-chunk) values in a fixed order. */
#ifndef FASTCONV_LOSS_H
#define FASTCONV_LOSS_H

#include <stdint.h>

void cross_entropy_forward_f32(float *loss, const float *logits, const int64_t *target,
                               float label_smoothing, int64_t batch, int64_t classes,
                               int num_threads);
void cross_entropy_forward_f64(double *loss, const double *logits, const int64_t *target,
                               double label_smoothing, int64_t batch, int64_t classes,
                               int num_threads);
void cross_entropy_backward_f32(float *grad_logits, const float *logits, const int64_t *target,
                                const float *scale, int64_t scale_stride, float label_smoothing,
                                int64_t batch, int64_t classes, int num_threads);
void cross_entropy_backward_f64(double *grad_logits, const double *logits, const int64_t *target,
                                const double *scale, int64_t scale_stride, double label_smoothing,
                                int64_t batch, int64_t classes, int num_threads);

void mse_loss_elementwise_f32(float *loss, const float *input, const float *target,
                              int64_t n, int num_threads);
void mse_loss_elementwise_f64(double *loss, const double *input, const double *target,
                              int64_t n, int num_threads);
void mse_loss_chunk_sums_f32(float *chunk_sums, const float *input, const float *target,
                             int64_t n, int64_t chunk, int num_threads);
void mse_loss_chunk_sums_f64(double *chunk_sums, const double *input, const double *target,
                             int64_t n, int64_t chunk, int num_threads);
void mse_loss_backward_f32(float *grad_input, const float *input, const float *target,
                           const float *scale, int64_t scale_stride, int64_t n, int num_threads);
void mse_loss_backward_f64(double *grad_input, const double *input, const double *target,
                           const double *scale, int64_t scale_stride, int64_t n, int num_threads);

#endif
