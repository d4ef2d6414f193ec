/* 2-D convolution (cross-correlation, as in PyTorch), forward and backward.
 * 1-D convolution runs through these kernels with H = 1.
 *
 * Shapes: x (N, C, H, W), w (OC, C/groups, KH, KW), out and grad_out (N, OC, OH, OW).
 * The caller passes the top/left padding and the output size (OH, OW), so asymmetric
 * padding (padding='same' with an even kernel) needs nothing special: taps that fall
 * outside the input read zero.
 */
#ifndef FASTCONV_CONV_H
#define FASTCONV_CONV_H

#include <stdint.h>

/* The fast paths: implicit GEMM on the engine (conv_gemm_impl.h), or the direct small-group
 * kernels for depthwise-like layers. bias may be NULL; relu = 1 fuses max(0, .) (NaN kept). */
void conv2d_forward_f32(float *out, const float *x, const float *w, const float *bias, int relu,
                        int64_t N, int64_t C, int64_t H, int64_t W,
                        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);
void conv2d_forward_f64(double *out, const double *x, const double *w, const double *bias, int relu,
                        int64_t N, int64_t C, int64_t H, int64_t W,
                        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);

void conv2d_backward_data_f32(float *grad_x, const float *grad_out, const float *w,
                              int64_t N, int64_t C, int64_t H, int64_t W,
                              int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                              int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                              int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);
void conv2d_backward_data_f64(double *grad_x, const double *grad_out, const double *w,
                              int64_t N, int64_t C, int64_t H, int64_t W,
                              int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                              int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                              int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);

void conv2d_backward_weight_f32(float *grad_w, float *grad_bias, const float *grad_out, const float *x,
                                int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);
void conv2d_backward_weight_f64(double *grad_w, double *grad_bias, const double *grad_out, const double *x,
                                int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);

/* grad_bias may be NULL in conv2d_backward_weight (and its depthwise kernel): not computed.
 * conv2d_backward_bias computes it alone, with the same bits. */
void conv2d_backward_bias_f32(float *grad_bias, const float *grad_out,
                              int64_t N, int64_t OC, int64_t OH, int64_t OW, int num_threads);
void conv2d_backward_bias_f64(double *grad_bias, const double *grad_out,
                              int64_t N, int64_t OC, int64_t OH, int64_t OW, int num_threads);

/* Depthwise / small-group direct kernels (what conv2d_forward and conv2d_backward_weight
 * run for such layers; exposed for tests). */
void conv2d_forward_depthwise_f32(float *out, const float *x, const float *w, const float *bias, int relu,
                                  int64_t N, int64_t C, int64_t H, int64_t W,
                                  int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                  int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                  int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);
void conv2d_forward_depthwise_f64(double *out, const double *x, const double *w, const double *bias, int relu,
                                  int64_t N, int64_t C, int64_t H, int64_t W,
                                  int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                  int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                  int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);

void conv2d_backward_weight_depthwise_f32(float *grad_w, float *grad_bias, const float *grad_out, const float *x,
                                          int64_t N, int64_t C, int64_t H, int64_t W,
                                          int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                          int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                          int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);
void conv2d_backward_weight_depthwise_f64(double *grad_w, double *grad_bias, const double *grad_out, const double *x,
                                          int64_t N, int64_t C, int64_t H, int64_t W,
                                          int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                          int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                          int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);

/* The tap-wise kernels for small images (conv_tapwise_impl.h), which conv2d_forward and
 * conv2d_backward_data and conv2d_backward_weight run where they pay; exposed for tests.
 * groups and dilation 1; backward-data at stride 1 only; backward-weight without grad_bias. */
void conv2d_forward_tapwise_f32(float *out, const float *x, const float *w, const float *bias, int relu,
                                int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                int num_threads);
void conv2d_forward_tapwise_f64(double *out, const double *x, const double *w, const double *bias, int relu,
                                int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                int num_threads);
void conv2d_backward_data_tapwise_f32(float *grad_x, const float *grad_out, const float *w,
                                      int64_t N, int64_t C, int64_t H, int64_t W,
                                      int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                      int64_t pad_top, int64_t pad_left, int num_threads);
void conv2d_backward_data_tapwise_f64(double *grad_x, const double *grad_out, const double *w,
                                      int64_t N, int64_t C, int64_t H, int64_t W,
                                      int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                      int64_t pad_top, int64_t pad_left, int num_threads);

void conv2d_backward_weight_tapwise_f32(float *grad_w, const float *grad_out, const float *x,
                                        int64_t N, int64_t C, int64_t H, int64_t W,
                                        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                        int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                        int64_t pad_left, int num_threads);
void conv2d_backward_weight_tapwise_f64(double *grad_w, const double *grad_out, const double *x,
                                        int64_t N, int64_t C, int64_t H, int64_t W,
                                        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                        int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                        int64_t pad_left, int num_threads);

/* The few-tap backward-weight (conv_stem_avx512.h) that conv2d_backward_weight runs for
 * stems, whatever its policy says, for tests: returns 0, having written nothing, where its
 * kernel does not run (float on a CPU whose engine runs avx512). groups 1, no bias gradient. */
int conv2d_backward_weight_fewtaps_f32(float *grad_w, const float *grad_out, const float *x,
                                       int64_t N, int64_t C, int64_t H, int64_t W,
                                       int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                       int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                       int64_t pad_left, int64_t dilation_h, int64_t dilation_w,
                                       int num_threads);
int conv2d_backward_weight_fewtaps_f64(double *grad_w, const double *grad_out, const double *x,
                                       int64_t N, int64_t C, int64_t H, int64_t W,
                                       int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                       int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                       int64_t pad_left, int64_t dilation_h, int64_t dilation_w,
                                       int num_threads);

/* max_pool2d(relu(conv2d(...)), 2x2, stride 2, floor mode) in one pass, the pooled values
 * and their indices (flat in the OH x OW plane), for the layers whose forward runs a direct
 * kernel (the stems', conv_stem_avx512.h, or the one over output-channel vectors,
 * conv_ocvec_avx512.h); returns 0, having written nothing, for the others.
 * pooled, indices: (N, OC, OH/2, OW/2) OUT; the rest as conv2d_forward (bias may be NULL). */
int conv2d_forward_relu_max_pool_f32(float *pooled, int64_t *indices, const float *x,
                                     const float *w, const float *bias,
                                     int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                     int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                     int64_t pad_left, int64_t dilation_h, int64_t dilation_w,
                                     int64_t groups, int num_threads);
int conv2d_forward_relu_max_pool_f64(double *pooled, int64_t *indices, const double *x,
                                     const double *w, const double *bias,
                                     int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                     int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                     int64_t pad_left, int64_t dilation_h, int64_t dilation_w,
                                     int64_t groups, int num_threads);

/* The direct AVX-512 forwards that conv2d_forward runs for some small layers, whatever its
 * policy says, for tests: the stems' (conv_stem_avx512.h: stride 1, few input channels and
 * taps) and the one over output-channel vectors (conv_ocvec_avx512.h: small stride-1
 * images). Returns 0, having written nothing, where the kernel does not run (float on a CPU
 * whose engine runs avx512; pads at most K - 1; OC a multiple of 16 for the latter).
 * groups, strides and dilation 1; bias may be NULL. */
enum { FC_DIRECT_FORWARD_STEM = 0, FC_DIRECT_FORWARD_OCVEC = 1 };
int conv2d_forward_direct_simd_f32(int kernel, float *out, const float *x, const float *w,
                                   const float *bias, int relu, int64_t N, int64_t C, int64_t H,
                                   int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                   int64_t OW, int64_t pad_top, int64_t pad_left,
                                   int num_threads);
int conv2d_forward_direct_simd_f64(int kernel, double *out, const double *x, const double *w,
                                   const double *bias, int relu, int64_t N, int64_t C, int64_t H,
                                   int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                   int64_t OW, int64_t pad_top, int64_t pad_left,
                                   int num_threads);

/* The backward-weight over output-channel vectors (conv_ocvec_avx512.h), whatever
 * conv2d_backward_weight's policy says,
 * for tests: returns 0, having written nothing, where its kernel does not run (float on a
 * CPU whose engine runs avx512, OC a multiple of 16, KW 3 or 5, pads at most K - 1). groups,
 * strides and dilation 1. */
int conv2d_backward_weight_ocvec_f32(float *grad_w, const float *grad_out, const float *x,
                                     int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                                     int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                     int64_t pad_top, int64_t pad_left, int num_threads);
int conv2d_backward_weight_ocvec_f64(double *grad_w, const double *grad_out, const double *x,
                                     int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                                     int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                     int64_t pad_top, int64_t pad_left, int num_threads);

/* The stems' backward-data (conv_stem_avx512.h) that conv2d_backward_data runs for layers
 * over few channels, whatever its policy says, for tests: returns 0, having written
 * nothing, where its kernel does not run (float on a CPU whose engine runs avx512).
 * groups, strides and dilation 1. */
int conv2d_backward_data_stem_f32(float *grad_x, const float *grad_out, const float *w,
                                  int64_t N, int64_t C, int64_t H, int64_t W,
                                  int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                  int64_t pad_top, int64_t pad_left, int num_threads);
int conv2d_backward_data_stem_f64(double *grad_x, const double *grad_out, const double *w,
                                  int64_t N, int64_t C, int64_t H, int64_t W,
                                  int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                  int64_t pad_top, int64_t pad_left, int num_threads);

/* The Winograd F(2x2, 3x3) convolution (conv_winograd_impl.h) that conv2d_forward,
 * conv2d_backward_data and conv2d_forward_relu_max_pool run for some 3x3 stride-1 layers,
 * whatever their policy says, for tests. out: (N, OC, OH, OW) OUT, or with pool_indices
 * non-NULL the 2x2 stride-2 max-pool of it and its indices, (N, OC, OH / 2, OW / 2) OUT;
 * x: (N, C, H, W) IN;  w: (OC, C, 3, 3) IN, or with flip (C, OC, 3, 3) IN read with its
 * channels swapped and taps reversed (backward-data's stride-1 form);  bias: (OC,) IN or
 * NULL. Returns 0, having written nothing, for C = 0. */
int conv2d_winograd_f32(float *out, int64_t *pool_indices, const float *x, const float *w,
                        int flip, const float *bias, int relu, int64_t N, int64_t C, int64_t H,
                        int64_t W, int64_t OC, int64_t OH, int64_t OW, int64_t pad_top,
                        int64_t pad_left, int num_threads);
int conv2d_winograd_f64(double *out, int64_t *pool_indices, const double *x, const double *w,
                        int flip, const double *bias, int relu, int64_t N, int64_t C, int64_t H,
                        int64_t W, int64_t OC, int64_t OH, int64_t OW, int64_t pad_top,
                        int64_t pad_left, int num_threads);

/* Winograd's backward-weight (conv_winograd_impl.h) that conv2d_backward_weight runs for
 * some 3x3 stride-1 layers, whatever its policy says, for tests. grad_w: (OC, C, 3, 3) OUT;
 * grad_out: (N, OC, OH, OW) IN;  x: (N, C, H, W) IN. No bias gradient. */
void conv2d_backward_weight_winograd_f32(float *grad_w, const float *grad_out, const float *x,
                                         int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                                         int64_t OH, int64_t OW, int64_t pad_top,
                                         int64_t pad_left, int num_threads);
void conv2d_backward_weight_winograd_f64(double *grad_w, const double *grad_out, const double *x,
                                         int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                                         int64_t OH, int64_t OW, int64_t pad_top,
                                         int64_t pad_left, int num_threads);

/* The naive twins: direct loops (conv_impl.h). bias must not be NULL (zeros for none);
 * row_sums: (num_threads, OW) scratch. */
void conv2d_forward_direct_f32(float *out, const float *x, const float *w, const float *bias,
                               int64_t N, int64_t C, int64_t H, int64_t W,
                               int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                               int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                               int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);
void conv2d_forward_direct_f64(double *out, const double *x, const double *w, const double *bias,
                               int64_t N, int64_t C, int64_t H, int64_t W,
                               int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                               int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                               int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);

void conv2d_backward_data_direct_f32(float *grad_x, const float *grad_out, const float *w,
                                     int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                     int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                     int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);
void conv2d_backward_data_direct_f64(double *grad_x, const double *grad_out, const double *w,
                                     int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                     int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                     int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);

void conv2d_backward_weight_direct_f32(float *grad_w, float *grad_bias, float *row_sums, const float *grad_out, const float *x,
                                       int64_t N, int64_t C, int64_t H, int64_t W,
                                       int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                       int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                       int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);
void conv2d_backward_weight_direct_f64(double *grad_w, double *grad_bias, double *row_sums, const double *grad_out, const double *x,
                                       int64_t N, int64_t C, int64_t H, int64_t W,
                                       int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                       int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                       int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads);

#endif
