/* Pooling over NCHW planes: max, average and adaptive average, forward and backward.
 * `planes` = N * C; every kernel treats each (H, W) plane on its own. */
#ifndef FASTCONV_POOL_H
#define FASTCONV_POOL_H

#include <stdint.h>

void max_pool2d_forward_f32(float *out, int64_t *indices, const float *x,
                            int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                            int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                            int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads);
void max_pool2d_forward_f64(double *out, int64_t *indices, const double *x,
                            int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                            int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                            int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads);
int64_t max_pool2d_backward_f32(float *grad_x,
                                const float *grad_out, const int64_t *indices,
                             int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int num_threads);
int64_t max_pool2d_backward_f64(double *grad_x,
                                const double *grad_out, const int64_t *indices,
                             int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int num_threads);

void avg_pool2d_forward_f32(float *out, const float *x,
                            int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                            int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                            int64_t count_include_pad, int64_t divisor_override, int num_threads);
void avg_pool2d_forward_f64(double *out, const double *x,
                            int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                            int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                            int64_t count_include_pad, int64_t divisor_override, int num_threads);
void avg_pool2d_backward_f32(float *grad_x, const float *grad_out,
                             int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                             int64_t count_include_pad, int64_t divisor_override, int num_threads);
void avg_pool2d_backward_f64(double *grad_x, const double *grad_out,
                             int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                             int64_t count_include_pad, int64_t divisor_override, int num_threads);

void adaptive_avg_pool2d_forward_f32(float *out, const float *x,
                                     int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                     int num_threads);
void adaptive_avg_pool2d_forward_f64(double *out, const double *x,
                                     int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                     int num_threads);
void adaptive_avg_pool2d_backward_f32(float *grad_x, const float *grad_out,
                                      int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                      int num_threads);
void adaptive_avg_pool2d_backward_f64(double *grad_x, const double *grad_out,
                                      int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                      int num_threads);

/* The direct-loop twins of the kernels above (same arguments, same results up to the
 * summation order noted in pool_fast_impl.h): what the tests hold the fast kernels to. */
void max_pool2d_forward_naive_f32(float *out, int64_t *indices, const float *x,
                            int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                            int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                            int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads);
void max_pool2d_forward_naive_f64(double *out, int64_t *indices, const double *x,
                            int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                            int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                            int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads);
void avg_pool2d_forward_naive_f32(float *out, const float *x,
                            int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                            int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                            int64_t count_include_pad, int64_t divisor_override, int num_threads);
void avg_pool2d_forward_naive_f64(double *out, const double *x,
                            int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                            int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                            int64_t count_include_pad, int64_t divisor_override, int num_threads);
void avg_pool2d_backward_naive_f32(float *grad_x, const float *grad_out,
                             int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                             int64_t count_include_pad, int64_t divisor_override, int num_threads);
void avg_pool2d_backward_naive_f64(double *grad_x, const double *grad_out,
                             int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                             int64_t count_include_pad, int64_t divisor_override, int num_threads);
void adaptive_avg_pool2d_forward_naive_f32(float *out, const float *x,
                                     int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                     int num_threads);
void adaptive_avg_pool2d_forward_naive_f64(double *out, const double *x,
                                     int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                     int num_threads);
void adaptive_avg_pool2d_backward_naive_f32(float *grad_x, const float *grad_out,
                                      int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                      int num_threads);
void adaptive_avg_pool2d_backward_naive_f64(double *grad_x, const double *grad_out,
                                      int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                      int num_threads);

#endif
