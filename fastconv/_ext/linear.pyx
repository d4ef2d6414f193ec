# distutils: sources = [fastconv/_kernels/linear.c, fastconv/_kernels/gemm.c, fastconv/_kernels/gemm_dispatch.c, fastconv/_kernels/gemm_kernel_avx512.c, fastconv/_kernels/gemm_kernel_avx2.c, fastconv/_kernels/gemm_kernel_generic.c]
"""Bindings for linear.h: buffers in, one nogil call out. Checks live in fastconv/ops/linear.py."""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "linear.h" nogil:
    void linear_forward_f32(float *y, const float *x, const float *weight, const float *bias,
                            int64_t rows, int64_t in_features, int64_t out_features,
                            int num_threads)
    void linear_forward_f64(double *y, const double *x, const double *weight, const double *bias,
                            int64_t rows, int64_t in_features, int64_t out_features,
                            int num_threads)
    void linear_backward_f32(float *grad_x, float *grad_weight, float *grad_bias,
                             const float *grad_y, const float *x, const float *weight,
                             int64_t rows, int64_t in_features, int64_t out_features,
                             int num_threads)
    void linear_backward_f64(double *grad_x, double *grad_weight, double *grad_bias,
                             const double *grad_y, const double *x, const double *weight,
                             int64_t rows, int64_t in_features, int64_t out_features,
                             int num_threads)


def linear_forward(floating[:, ::1] y,                # OUT (rows, out_features)
                   const floating[:, ::1] x,          # IN  (rows, in_features)
                   const floating[:, ::1] weight,     # IN  (out_features, in_features)
                   const floating[::1] bias,          # IN  (out_features,), or None for no bias
                   int num_threads):
    cdef const floating *bias_ptr = NULL
    if bias is not None:
        bias_ptr = &bias[0]
    with nogil:
        if floating is float:
            linear_forward_f32(&y[0, 0], &x[0, 0], &weight[0, 0], bias_ptr,
                               x.shape[0], x.shape[1], weight.shape[0], num_threads)
        else:
            linear_forward_f64(&y[0, 0], &x[0, 0], &weight[0, 0], bias_ptr,
                               x.shape[0], x.shape[1], weight.shape[0], num_threads)


def linear_backward(floating[:, ::1] grad_x,          # OUT (rows, in_features), or empty: skipped
                    floating[:, ::1] grad_weight,     # OUT (out_features, in_features), or empty: skipped
                    floating[::1] grad_bias,          # OUT (out_features,), or empty: skipped
                    const floating[:, ::1] grad_y,    # IN  (rows, out_features)
                    const floating[:, ::1] x,         # IN  (rows, in_features)
                    const floating[:, ::1] weight,    # IN  (out_features, in_features)
                    int num_threads):
    cdef floating *grad_x_ptr = NULL
    cdef floating *grad_weight_ptr = NULL
    cdef floating *grad_bias_ptr = NULL
    if grad_x.shape[0] * grad_x.shape[1]:
        grad_x_ptr = &grad_x[0, 0]
    if grad_weight.shape[0] * grad_weight.shape[1]:
        grad_weight_ptr = &grad_weight[0, 0]
    if grad_bias.shape[0]:
        grad_bias_ptr = &grad_bias[0]
    with nogil:
        if floating is float:
            linear_backward_f32(grad_x_ptr, grad_weight_ptr, grad_bias_ptr,
                                &grad_y[0, 0], &x[0, 0], &weight[0, 0],
                                x.shape[0], x.shape[1], weight.shape[0], num_threads)
        else:
            linear_backward_f64(grad_x_ptr, grad_weight_ptr, grad_bias_ptr,
                                &grad_y[0, 0], &x[0, 0], &weight[0, 0],
                                x.shape[0], x.shape[1], weight.shape[0], num_threads)
