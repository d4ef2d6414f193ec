/* Elementwise activations and their backwards, over flat contiguous buffers of n elements. */
#ifndef FASTCONV_ACTIVATION_H
#define FASTCONV_ACTIVATION_H

#include <stdint.h>

void relu_forward_f32(float *y, const float *x, int64_t n, int num_threads);
void relu_forward_f64(double *y, const double *x, int64_t n, int num_threads);
void relu_backward_f32(float *grad_x, const float *grad_y, const float *x, int64_t n, int num_threads);
void relu_backward_f64(double *grad_x, const double *grad_y, const double *x, int64_t n, int num_threads);

void leaky_relu_forward_f32(float *y, const float *x, float negative_slope, int64_t n, int num_threads);
void leaky_relu_forward_f64(double *y, const double *x, double negative_slope, int64_t n, int num_threads);
void leaky_relu_backward_f32(float *grad_x, const float *grad_y, const float *x, float negative_slope,
                             int64_t n, int num_threads);
void leaky_relu_backward_f64(double *grad_x, const double *grad_y, const double *x, double negative_slope,
                             int64_t n, int num_threads);

void sigmoid_forward_f32(float *y, const float *x, int64_t n, int num_threads);
void sigmoid_forward_f64(double *y, const double *x, int64_t n, int num_threads);
void sigmoid_backward_f32(float *grad_x, const float *grad_y, const float *y, int64_t n, int num_threads);
void sigmoid_backward_f64(double *grad_x, const double *grad_y, const double *y, int64_t n, int num_threads);

void tanh_forward_f32(float *y, const float *x, int64_t n, int num_threads);
void tanh_forward_f64(double *y, const double *x, int64_t n, int num_threads);
void tanh_backward_f32(float *grad_x, const float *grad_y, const float *y, int64_t n, int num_threads);
void tanh_backward_f64(double *grad_x, const double *grad_y, const double *y, int64_t n, int num_threads);

#endif
