# distutils: sources = [fastconv/_kernels/conv.c, fastconv/_kernels/gemm.c, fastconv/_kernels/gemm_dispatch.c, fastconv/_kernels/gemm_kernel_avx512.c, fastconv/_kernels/gemm_kernel_avx2.c, fastconv/_kernels/gemm_kernel_generic.c, fastconv/_kernels/conv_transpose_avx512.c, fastconv/_kernels/conv_stem_avx512.c, fastconv/_kernels/conv_ocvec_avx512.c]
"""Bindings for conv.h: buffers in, one nogil call out. Checks live in fastconv/ops/conv.py.

Every function takes the geometry as (stride_h, stride_w, pad_top, pad_left, dilation_h,
dilation_w, groups); the output size is read from the shape of out / grad_out.
The *_direct functions bind the naive twins, the *_depthwise ones the small-group kernels
and the *_tapwise ones the small-image kernels (fewer arguments: they take no groups or
dilation), for tests; fastconv.ops calls the others.
"""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "conv.h" nogil:
    void conv2d_forward_f32(float *out, const float *x, const float *w, const float *bias, int relu,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_forward_f64(double *out, const double *x, const double *w, const double *bias, int relu,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_data_f32(float *grad_x, const float *grad_out, const float *w,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_data_f64(double *grad_x, const double *grad_out, const double *w,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_weight_f32(float *grad_w, float *grad_bias, const float *grad_out, const float *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_weight_f64(double *grad_w, double *grad_bias, const double *grad_out, const double *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_forward_tapwise_f32(float *out, const float *x, const float *w, const float *bias, int relu,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left, int num_threads)
    void conv2d_forward_tapwise_f64(double *out, const double *x, const double *w, const double *bias, int relu,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left, int num_threads)
    void conv2d_backward_data_tapwise_f32(float *grad_x, const float *grad_out, const float *w,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t pad_top, int64_t pad_left, int num_threads)
    void conv2d_backward_data_tapwise_f64(double *grad_x, const double *grad_out, const double *w,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t pad_top, int64_t pad_left, int num_threads)
    void conv2d_backward_weight_tapwise_f32(float *grad_w, const float *grad_out, const float *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left, int num_threads)
    void conv2d_backward_weight_tapwise_f64(double *grad_w, const double *grad_out, const double *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left, int num_threads)
    int conv2d_forward_relu_max_pool_f32(float *pooled, int64_t *indices, const float *x,
        const float *w, const float *bias, int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    int conv2d_forward_relu_max_pool_f64(double *pooled, int64_t *indices, const double *x,
        const double *w, const double *bias, int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    int conv2d_forward_direct_simd_f32(int kernel, float *out, const float *x, const float *w,
                                       const float *bias, int relu, int64_t N, int64_t C, int64_t H,
                                       int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                       int64_t OW, int64_t pad_top, int64_t pad_left, int num_threads)
    int conv2d_forward_direct_simd_f64(int kernel, double *out, const double *x, const double *w,
                                       const double *bias, int relu, int64_t N, int64_t C, int64_t H,
                                       int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                       int64_t OW, int64_t pad_top, int64_t pad_left, int num_threads)
    int conv2d_winograd_f32(float *out, int64_t *pool_indices, const float *x, const float *w,
                            int flip, const float *bias, int relu, int64_t N, int64_t C, int64_t H,
                            int64_t W, int64_t OC, int64_t OH, int64_t OW, int64_t pad_top,
                            int64_t pad_left, int num_threads)
    int conv2d_winograd_f64(double *out, int64_t *pool_indices, const double *x, const double *w,
                            int flip, const double *bias, int relu, int64_t N, int64_t C, int64_t H,
                            int64_t W, int64_t OC, int64_t OH, int64_t OW, int64_t pad_top,
                            int64_t pad_left, int num_threads)
    void conv2d_backward_weight_winograd_f32(float *grad_w, const float *grad_out, const float *x,
                                             int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                                             int64_t OH, int64_t OW, int64_t pad_top,
                                             int64_t pad_left, int num_threads)
    void conv2d_backward_weight_winograd_f64(double *grad_w, const double *grad_out, const double *x,
                                             int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                                             int64_t OH, int64_t OW, int64_t pad_top,
                                             int64_t pad_left, int num_threads)
    int conv2d_backward_weight_ocvec_f32(float *grad_w, const float *grad_out, const float *x,
                                         int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                                         int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                         int64_t pad_top, int64_t pad_left, int num_threads)
    int conv2d_backward_weight_ocvec_f64(double *grad_w, const double *grad_out, const double *x,
                                         int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                                         int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                         int64_t pad_top, int64_t pad_left, int num_threads)
    int conv2d_backward_data_stem_f32(float *grad_x, const float *grad_out, const float *w,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t pad_top, int64_t pad_left, int num_threads)
    int conv2d_backward_data_stem_f64(double *grad_x, const double *grad_out, const double *w,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t pad_top, int64_t pad_left, int num_threads)
    int conv2d_backward_weight_fewtaps_f32(float *grad_w, const float *grad_out, const float *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int num_threads)
    int conv2d_backward_weight_fewtaps_f64(double *grad_w, const double *grad_out, const double *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int num_threads)
    void conv2d_backward_bias_f32(float *grad_bias, const float *grad_out,
        int64_t N, int64_t OC, int64_t OH, int64_t OW, int num_threads)
    void conv2d_backward_bias_f64(double *grad_bias, const double *grad_out,
        int64_t N, int64_t OC, int64_t OH, int64_t OW, int num_threads)
    void conv2d_forward_depthwise_f32(float *out, const float *x, const float *w, const float *bias, int relu,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_forward_depthwise_f64(double *out, const double *x, const double *w, const double *bias, int relu,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_weight_depthwise_f32(float *grad_w, float *grad_bias, const float *grad_out, const float *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_weight_depthwise_f64(double *grad_w, double *grad_bias, const double *grad_out, const double *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_forward_direct_f32(float *out, const float *x, const float *w, const float *bias,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_forward_direct_f64(double *out, const double *x, const double *w, const double *bias,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_data_direct_f32(float *grad_x, const float *grad_out, const float *w,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_data_direct_f64(double *grad_x, const double *grad_out, const double *w,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_weight_direct_f32(float *grad_w, float *grad_bias, float *row_sums, const float *grad_out, const float *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
    void conv2d_backward_weight_direct_f64(double *grad_w, double *grad_bias, double *row_sums, const double *grad_out, const double *x,
        int64_t N, int64_t C, int64_t H, int64_t W,
        int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
        int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
        int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)


def conv2d_forward(floating[:, :, :, ::1] out,            # OUT (N, OC, OH, OW)
                   const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                   const floating[:, :, :, ::1] w,         # IN  (OC, C/groups, KH, KW)
                   const floating[::1] bias,               # IN  (OC,), or zeros for none
                   bint has_bias, bint relu,             # bias is used only if has_bias
                   int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                   int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads):
    with nogil:
        if floating is float:
            conv2d_forward_f32(&out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL, relu,
                               x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                               stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
        else:
            conv2d_forward_f64(&out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL, relu,
                               x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                               stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)


def conv2d_forward_relu_max_pool(floating[:, :, :, ::1] pooled,      # OUT (N, OC, OH/2, OW/2)
                                  int64_t[:, :, :, ::1] indices,         # OUT (N, OC, OH/2, OW/2)
                                  const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                                  const floating[:, :, :, ::1] w,         # IN  (OC, C/groups, KH, KW)
                                  const floating[::1] bias,               # IN  (OC,), or zeros for none
                                  bint has_bias, int64_t OH, int64_t OW,  # the convolution's output size
                                  int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                  int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads):
    """max_pool2d(relu(conv2d(...)), 2, 2) with its indices in one pass; returns False, having
    written nothing, where that kernel does not run (then call conv2d_forward and pool)."""
    cdef int done
    with nogil:
        if floating is float:
            done = conv2d_forward_relu_max_pool_f32(&pooled[0, 0, 0, 0], &indices[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL,
                                                    x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], OH, OW,
                                                    stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
        else:
            done = conv2d_forward_relu_max_pool_f64(&pooled[0, 0, 0, 0], &indices[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL,
                                                    x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], OH, OW,
                                                    stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
    return done != 0


def conv2d_forward_depthwise(floating[:, :, :, ::1] out,            # OUT (N, OC, OH, OW)
                             const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                             const floating[:, :, :, ::1] w,         # IN  (OC, C/groups, KH, KW)
                             const floating[::1] bias,               # IN  (OC,), or zeros for none
                             bint has_bias, bint relu,             # bias is used only if has_bias
                             int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                             int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads):
    with nogil:
        if floating is float:
            conv2d_forward_depthwise_f32(&out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL, relu,
                                         x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                                         stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
        else:
            conv2d_forward_depthwise_f64(&out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL, relu,
                                         x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                                         stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)


def conv2d_forward_tapwise(floating[:, :, :, ::1] out,            # OUT (N, OC, OH, OW)
                           const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                           const floating[:, :, :, ::1] w,         # IN  (OC, C, KH, KW)
                           const floating[::1] bias,               # IN  (OC,), or zeros for none
                           bint has_bias, bint relu,             # bias is used only if has_bias
                           int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                           int num_threads):
    """The tap-wise forward (groups and dilation 1), for tests."""
    with nogil:
        if floating is float:
            conv2d_forward_tapwise_f32(&out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL, relu,
                                       x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                                       stride_h, stride_w, pad_top, pad_left, num_threads)
        else:
            conv2d_forward_tapwise_f64(&out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL, relu,
                                       x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                                       stride_h, stride_w, pad_top, pad_left, num_threads)


def conv2d_backward_data_tapwise(floating[:, :, :, ::1] grad_x,           # OUT (N, C, H, W)
                                 const floating[:, :, :, ::1] grad_out,    # IN  (N, OC, OH, OW)
                                 const floating[:, :, :, ::1] w,           # IN  (OC, C, KH, KW)
                                 int64_t pad_top, int64_t pad_left, int num_threads):
    """The tap-wise backward-data (stride, groups and dilation 1), for tests."""
    with nogil:
        if floating is float:
            conv2d_backward_data_tapwise_f32(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &w[0, 0, 0, 0],
                                             grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3], w.shape[0], w.shape[2], w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                             pad_top, pad_left, num_threads)
        else:
            conv2d_backward_data_tapwise_f64(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &w[0, 0, 0, 0],
                                             grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3], w.shape[0], w.shape[2], w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                             pad_top, pad_left, num_threads)


def conv2d_backward_weight_tapwise(floating[:, :, :, ::1] grad_w,          # OUT (OC, C, KH, KW)
                                   const floating[:, :, :, ::1] grad_out,  # IN  (N, OC, OH, OW)
                                   const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                                   int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                   int num_threads):
    """The tap-wise backward-weight (groups and dilation 1, no bias gradient), for tests."""
    with nogil:
        if floating is float:
            conv2d_backward_weight_tapwise_f32(&grad_w[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                               x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                               stride_h, stride_w, pad_top, pad_left, num_threads)
        else:
            conv2d_backward_weight_tapwise_f64(&grad_w[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                               x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                               stride_h, stride_w, pad_top, pad_left, num_threads)


_DIRECT_FORWARDS = {"stem": 0, "ocvec": 1}  # conv.h's FC_DIRECT_FORWARD_STEM, _OCVEC


def conv2d_forward_direct_simd(str kernel,                             # "stem" or "ocvec"
                               floating[:, :, :, ::1] out,            # OUT (N, OC, OH, OW)
                               const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                               const floating[:, :, :, ::1] w,         # IN  (OC, C, KH, KW)
                               const floating[::1] bias,               # IN  (OC,), or zeros for none
                               bint has_bias, bint relu, int64_t pad_top, int64_t pad_left,
                               int num_threads):
    """A direct AVX-512 forward (stride, dilation and groups 1), for tests: the stems'
    ("stem") or the one over output-channel vectors ("ocvec"). Returns False, having written
    nothing, where the kernel does not run (float32 on AVX-512; pads at most K - 1; OC a
    multiple of 16 for "ocvec")."""
    cdef int which = _DIRECT_FORWARDS[kernel]
    cdef int done
    with nogil:
        if floating is float:
            done = conv2d_forward_direct_simd_f32(which, &out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL, relu,
                                                  x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                                                  pad_top, pad_left, num_threads)
        else:
            done = conv2d_forward_direct_simd_f64(which, &out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0] if has_bias else NULL, relu,
                                                  x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                                                  pad_top, pad_left, num_threads)
    return done != 0


def conv2d_winograd(floating[:, :, :, ::1] out,            # OUT (N, OC, OH, OW), or pooled (N, OC, OH/2, OW/2)
                    const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                    const floating[:, :, :, ::1] w,         # IN  (OC, C, 3, 3), or with flip (C, OC, 3, 3)
                    bint flip,
                    const floating[::1] bias,               # IN  (OC,), or zeros for none
                    bint has_bias, bint relu, int64_t OH, int64_t OW, int64_t pad_top,
                    int64_t pad_left, int num_threads,
                    int64_t[:, :, :, ::1] pool_indices=None):  # OUT (N, OC, OH/2, OW/2), or None
    """The Winograd F(2x2, 3x3) convolution (stride, dilation and groups 1) whatever the
    policy says, for tests; with pool_indices, out gets the 2x2 stride-2 max-pool of its
    output. Returns False, having written nothing, for C = 0."""
    cdef int done
    cdef int64_t *indices = &pool_indices[0, 0, 0, 0] if pool_indices is not None else NULL
    with nogil:
        if floating is float:
            done = conv2d_winograd_f32(&out[0, 0, 0, 0], indices, &x[0, 0, 0, 0], &w[0, 0, 0, 0], flip, &bias[0] if has_bias else NULL, relu,
                                       x.shape[0], x.shape[1], x.shape[2], x.shape[3], out.shape[1], OH, OW, pad_top, pad_left, num_threads)
        else:
            done = conv2d_winograd_f64(&out[0, 0, 0, 0], indices, &x[0, 0, 0, 0], &w[0, 0, 0, 0], flip, &bias[0] if has_bias else NULL, relu,
                                       x.shape[0], x.shape[1], x.shape[2], x.shape[3], out.shape[1], OH, OW, pad_top, pad_left, num_threads)
    return done != 0


def conv2d_backward_weight_winograd(floating[:, :, :, ::1] grad_w,          # OUT (OC, C, 3, 3)
                                    const floating[:, :, :, ::1] grad_out,  # IN  (N, OC, OH, OW)
                                    const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                                    int64_t pad_top, int64_t pad_left, int num_threads):
    """Winograd's backward-weight (stride, dilation and groups 1; no bias gradient) whatever
    the policy says, for tests."""
    with nogil:
        if floating is float:
            conv2d_backward_weight_winograd_f32(&grad_w[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                                x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0],
                                                grad_out.shape[2], grad_out.shape[3], pad_top, pad_left, num_threads)
        else:
            conv2d_backward_weight_winograd_f64(&grad_w[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                                x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0],
                                                grad_out.shape[2], grad_out.shape[3], pad_top, pad_left, num_threads)


def conv2d_backward_weight_ocvec(floating[:, :, :, ::1] grad_w,          # OUT (OC, C, KH, KW)
                                 const floating[:, :, :, ::1] grad_out,  # IN  (N, OC, OH, OW)
                                 const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                                 int64_t pad_top, int64_t pad_left, int num_threads):
    """The backward-weight over output-channel vectors (stride, dilation and groups 1), for
    tests. Returns False, having written nothing, where its kernel does not run (float32 on
    AVX-512, OC a multiple of 16, KW 3 or 5, pads at most K - 1)."""
    cdef int done
    with nogil:
        if floating is float:
            done = conv2d_backward_weight_ocvec_f32(&grad_w[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                                    x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3],
                                                    grad_out.shape[2], grad_out.shape[3], pad_top, pad_left, num_threads)
        else:
            done = conv2d_backward_weight_ocvec_f64(&grad_w[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                                    x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3],
                                                    grad_out.shape[2], grad_out.shape[3], pad_top, pad_left, num_threads)
    return done != 0


def conv2d_backward_data_stem(floating[:, :, :, ::1] grad_x,          # OUT (N, C, H, W)
                              const floating[:, :, :, ::1] grad_out,  # IN  (N, OC, OH, OW)
                              const floating[:, :, :, ::1] w,         # IN  (OC, C, KH, KW)
                              int64_t pad_top, int64_t pad_left, int num_threads):
    """The stems' backward-data (stride, dilation and groups 1), for tests. Returns False,
    having written nothing, where its kernel does not run (float32 on AVX-512)."""
    cdef int done
    with nogil:
        if floating is float:
            done = conv2d_backward_data_stem_f32(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &w[0, 0, 0, 0],
                                                 grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3], w.shape[0], w.shape[2], w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                                 pad_top, pad_left, num_threads)
        else:
            done = conv2d_backward_data_stem_f64(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &w[0, 0, 0, 0],
                                                 grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3], w.shape[0], w.shape[2], w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                                 pad_top, pad_left, num_threads)
    return done != 0


def conv2d_backward_weight_fewtaps(floating[:, :, :, ::1] grad_w,          # OUT (OC, C, KH, KW)
                                   const floating[:, :, :, ::1] grad_out,  # IN  (N, OC, OH, OW)
                                   const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                                   int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                   int64_t dilation_h, int64_t dilation_w, int num_threads):
    """The few-tap backward-weight of stems (groups 1, no bias gradient), for tests. Returns
    False, having written nothing, where its kernel does not run (float32 on AVX-512 only)."""
    cdef int done
    with nogil:
        if floating is float:
            done = conv2d_backward_weight_fewtaps_f32(&grad_w[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                                      x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                                      stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, num_threads)
        else:
            done = conv2d_backward_weight_fewtaps_f64(&grad_w[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                                      x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                                      stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, num_threads)
    return done != 0


def conv2d_forward_direct(floating[:, :, :, ::1] out,            # OUT (N, OC, OH, OW)
                          const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                          const floating[:, :, :, ::1] w,         # IN  (OC, C/groups, KH, KW)
                          const floating[::1] bias,               # IN  (OC,), or zeros for none
                          int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                          int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads):
    with nogil:
        if floating is float:
            conv2d_forward_direct_f32(&out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0],
                                      x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                                      stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
        else:
            conv2d_forward_direct_f64(&out[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], &bias[0],
                                      x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], out.shape[2], out.shape[3],
                                      stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)


def conv2d_backward_data(floating[:, :, :, ::1] grad_x,           # OUT (N, C, H, W)
                         const floating[:, :, :, ::1] grad_out,    # IN  (N, OC, OH, OW)
                         const floating[:, :, :, ::1] w,           # IN  (OC, C/groups, KH, KW)
                         int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                         int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads):
    with nogil:
        if floating is float:
            conv2d_backward_data_f32(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &w[0, 0, 0, 0],
                                     grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3], w.shape[0], w.shape[2], w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                     stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
        else:
            conv2d_backward_data_f64(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &w[0, 0, 0, 0],
                                     grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3], w.shape[0], w.shape[2], w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                     stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)


def conv2d_backward_data_direct(floating[:, :, :, ::1] grad_x,           # OUT (N, C, H, W)
                                const floating[:, :, :, ::1] grad_out,    # IN  (N, OC, OH, OW)
                                const floating[:, :, :, ::1] w,           # IN  (OC, C/groups, KH, KW)
                                int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads):
    with nogil:
        if floating is float:
            conv2d_backward_data_direct_f32(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &w[0, 0, 0, 0],
                                            grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3], w.shape[0], w.shape[2], w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                            stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
        else:
            conv2d_backward_data_direct_f64(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0], &w[0, 0, 0, 0],
                                            grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3], w.shape[0], w.shape[2], w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                            stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)


def conv2d_backward_weight(floating[:, :, :, ::1] grad_w,          # OUT (OC, C/groups, KH, KW)
                           floating[::1] grad_bias,                 # OUT (OC,), or empty: not computed
                           const floating[:, :, :, ::1] grad_out,   # IN  (N, OC, OH, OW)
                           const floating[:, :, :, ::1] x,          # IN  (N, C, H, W)
                           int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                           int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads):
    with nogil:
        if floating is float:
            conv2d_backward_weight_f32(&grad_w[0, 0, 0, 0], &grad_bias[0] if grad_bias.shape[0] else NULL, &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                       stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
        else:
            conv2d_backward_weight_f64(&grad_w[0, 0, 0, 0], &grad_bias[0] if grad_bias.shape[0] else NULL, &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                       stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)


def conv2d_backward_bias(floating[::1] grad_bias,                 # OUT (OC,)
                         const floating[:, :, :, ::1] grad_out,   # IN  (N, OC, OH, OW)
                         int num_threads):
    with nogil:
        if floating is float:
            conv2d_backward_bias_f32(&grad_bias[0], &grad_out[0, 0, 0, 0], grad_out.shape[0],
                                     grad_out.shape[1], grad_out.shape[2], grad_out.shape[3], num_threads)
        else:
            conv2d_backward_bias_f64(&grad_bias[0], &grad_out[0, 0, 0, 0], grad_out.shape[0],
                                     grad_out.shape[1], grad_out.shape[2], grad_out.shape[3], num_threads)


def conv2d_backward_weight_depthwise(floating[:, :, :, ::1] grad_w,          # OUT (OC, C/groups, KH, KW)
                                     floating[::1] grad_bias,                 # OUT (OC,), or empty: not computed
                                     const floating[:, :, :, ::1] grad_out,   # IN  (N, OC, OH, OW)
                                     const floating[:, :, :, ::1] x,          # IN  (N, C, H, W)
                                     int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                     int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads):
    with nogil:
        if floating is float:
            conv2d_backward_weight_depthwise_f32(&grad_w[0, 0, 0, 0], &grad_bias[0] if grad_bias.shape[0] else NULL, &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                                 x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                                 stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
        else:
            conv2d_backward_weight_depthwise_f64(&grad_w[0, 0, 0, 0], &grad_bias[0] if grad_bias.shape[0] else NULL, &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                                 x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                                 stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)


def conv2d_backward_weight_direct(floating[:, :, :, ::1] grad_w,          # OUT (OC, C/groups, KH, KW)
                                  floating[::1] grad_bias,                 # OUT (OC,)
                                  floating[:, ::1] row_sums,               # SCRATCH (num_threads, OW)
                                  const floating[:, :, :, ::1] grad_out,   # IN  (N, OC, OH, OW)
                                  const floating[:, :, :, ::1] x,          # IN  (N, C, H, W)
                                  int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                  int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads):
    with nogil:
        if floating is float:
            conv2d_backward_weight_direct_f32(&grad_w[0, 0, 0, 0], &grad_bias[0], &row_sums[0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                              x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                              stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
        else:
            conv2d_backward_weight_direct_f64(&grad_w[0, 0, 0, 0], &grad_bias[0], &row_sums[0, 0], &grad_out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                              x.shape[0], x.shape[1], x.shape[2], x.shape[3], grad_w.shape[0], grad_w.shape[2], grad_w.shape[3], grad_out.shape[2], grad_out.shape[3],
                                              stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups, num_threads)
