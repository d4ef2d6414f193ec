/* Fully connected layer: y = x W^T + b over a batch of rows, and its backward. */
#ifndef FASTCONV_LINEAR_H
#define FASTCONV_LINEAR_H

#include <stdint.h>

void linear_forward_f32(float *y, const float *x, const float *weight, const float *bias,
                        int64_t rows, int64_t in_features, int64_t out_features, int num_threads);
void linear_forward_f64(double *y, const double *x, const double *weight, const double *bias,
                        int64_t rows, int64_t in_features, int64_t out_features, int num_threads);

void linear_backward_f32(float *grad_x, float *grad_weight, float *grad_bias,
                         const float *grad_y, const float *x, const float *weight,
                         int64_t rows, int64_t in_features, int64_t out_features, int num_threads);
void linear_backward_f64(double *grad_x, double *grad_weight, double *grad_bias,
                         const double *grad_y, const double *x, const double *weight,
                         int64_t rows, int64_t in_features, int64_t out_features, int num_threads);

#endif
