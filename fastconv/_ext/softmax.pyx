# distutils: sources = fastconv/_kernels/softmax.c
"""Bindings for softmax.h: buffers in, one nogil call out. Checks live in fastconv/ops/softmax.py.
Every array is the (outer, D, inner) view of the caller's array, softmax along D."""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "softmax.h" nogil:
    void softmax_forward_f32(float *out, const float *x,
                             int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
    void softmax_forward_f64(double *out, const double *x,
                             int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
    void softmax_backward_f32(float *grad_x, const float *grad_out, const float *out,
                              int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
    void softmax_backward_f64(double *grad_x, const double *grad_out, const double *out,
                              int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
    void log_softmax_forward_f32(float *out, const float *x,
                                 int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
    void log_softmax_forward_f64(double *out, const double *x,
                                 int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
    void log_softmax_backward_f32(float *grad_x, const float *grad_out, const float *out,
                                  int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
    void log_softmax_backward_f64(double *grad_x, const double *grad_out, const double *out,
                                  int64_t outer, int64_t dim_size, int64_t inner, int num_threads)


def softmax_forward(floating[:, :, ::1] out,          # OUT (outer, D, inner)
                    const floating[:, :, ::1] x,      # IN  (outer, D, inner)
                    int num_threads):
    with nogil:
        if floating is float:
            softmax_forward_f32(&out[0, 0, 0], &x[0, 0, 0],
                                x.shape[0], x.shape[1], x.shape[2], num_threads)
        else:
            softmax_forward_f64(&out[0, 0, 0], &x[0, 0, 0],
                                x.shape[0], x.shape[1], x.shape[2], num_threads)


def softmax_backward(floating[:, :, ::1] grad_x,             # OUT (outer, D, inner)
                     const floating[:, :, ::1] grad_out,     # IN  (outer, D, inner)
                     const floating[:, :, ::1] out,          # IN  (outer, D, inner) softmax(x)
                     int num_threads):
    with nogil:
        if floating is float:
            softmax_backward_f32(&grad_x[0, 0, 0], &grad_out[0, 0, 0], &out[0, 0, 0],
                                 out.shape[0], out.shape[1], out.shape[2], num_threads)
        else:
            softmax_backward_f64(&grad_x[0, 0, 0], &grad_out[0, 0, 0], &out[0, 0, 0],
                                 out.shape[0], out.shape[1], out.shape[2], num_threads)


def log_softmax_forward(floating[:, :, ::1] out,          # OUT (outer, D, inner)
                        const floating[:, :, ::1] x,      # IN  (outer, D, inner)
                        int num_threads):
    with nogil:
        if floating is float:
            log_softmax_forward_f32(&out[0, 0, 0], &x[0, 0, 0],
                                    x.shape[0], x.shape[1], x.shape[2], num_threads)
        else:
            log_softmax_forward_f64(&out[0, 0, 0], &x[0, 0, 0],
                                    x.shape[0], x.shape[1], x.shape[2], num_threads)


def log_softmax_backward(floating[:, :, ::1] grad_x,             # OUT (outer, D, inner)
                         const floating[:, :, ::1] grad_out,     # IN  (outer, D, inner)
                         const floating[:, :, ::1] out,          # IN  (outer, D, inner) log_softmax(x)
                         int num_threads):
    with nogil:
        if floating is float:
            log_softmax_backward_f32(&grad_x[0, 0, 0], &grad_out[0, 0, 0], &out[0, 0, 0],
                                     out.shape[0], out.shape[1], out.shape[2], num_threads)
        else:
            log_softmax_backward_f64(&grad_x[0, 0, 0], &grad_out[0, 0, 0], &out[0, 0, 0],
                                     out.shape[0], out.shape[1], out.shape[2], num_threads)
