# distutils: sources = fastconv/_kernels/activation.c
"""Bindings for activation.h: buffers in, one nogil call out. Checks live in
fastconv/ops/activation.py, which flattens every array to 1-D first."""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "activation.h" nogil:
    void relu_forward_f32(float *y, const float *x, int64_t n, int num_threads)
    void relu_forward_f64(double *y, const double *x, int64_t n, int num_threads)
    void relu_backward_f32(float *grad_x, const float *grad_y, const float *x, int64_t n, int num_threads)
    void relu_backward_f64(double *grad_x, const double *grad_y, const double *x, int64_t n, int num_threads)
    void leaky_relu_forward_f32(float *y, const float *x, float negative_slope, int64_t n, int num_threads)
    void leaky_relu_forward_f64(double *y, const double *x, double negative_slope, int64_t n, int num_threads)
    void leaky_relu_backward_f32(float *grad_x, const float *grad_y, const float *x, float negative_slope,
                                 int64_t n, int num_threads)
    void leaky_relu_backward_f64(double *grad_x, const double *grad_y, const double *x, double negative_slope,
                                 int64_t n, int num_threads)
    void sigmoid_forward_f32(float *y, const float *x, int64_t n, int num_threads)
    void sigmoid_forward_f64(double *y, const double *x, int64_t n, int num_threads)
    void sigmoid_backward_f32(float *grad_x, const float *grad_y, const float *y, int64_t n, int num_threads)
    void sigmoid_backward_f64(double *grad_x, const double *grad_y, const double *y, int64_t n, int num_threads)
    void tanh_forward_f32(float *y, const float *x, int64_t n, int num_threads)
    void tanh_forward_f64(double *y, const double *x, int64_t n, int num_threads)
    void tanh_backward_f32(float *grad_x, const float *grad_y, const float *y, int64_t n, int num_threads)
    void tanh_backward_f64(double *grad_x, const double *grad_y, const double *y, int64_t n, int num_threads)


def relu_forward(floating[::1] y,            # OUT (n,)
                 const floating[::1] x,      # IN  (n,)
                 int num_threads):
    with nogil:
        if floating is float:
            relu_forward_f32(&y[0], &x[0], x.shape[0], num_threads)
        else:
            relu_forward_f64(&y[0], &x[0], x.shape[0], num_threads)


def relu_backward(floating[::1] grad_x,          # OUT (n,)
                  const floating[::1] grad_y,    # IN  (n,)
                  const floating[::1] x,         # IN  (n,)
                  int num_threads):
    with nogil:
        if floating is float:
            relu_backward_f32(&grad_x[0], &grad_y[0], &x[0], x.shape[0], num_threads)
        else:
            relu_backward_f64(&grad_x[0], &grad_y[0], &x[0], x.shape[0], num_threads)


def leaky_relu_forward(floating[::1] y,            # OUT (n,)
                       const floating[::1] x,      # IN  (n,)
                       double negative_slope, int num_threads):
    with nogil:
        if floating is float:
            leaky_relu_forward_f32(&y[0], &x[0], <float>negative_slope, x.shape[0], num_threads)
        else:
            leaky_relu_forward_f64(&y[0], &x[0], negative_slope, x.shape[0], num_threads)


def leaky_relu_backward(floating[::1] grad_x,          # OUT (n,)
                        const floating[::1] grad_y,    # IN  (n,)
                        const floating[::1] x,         # IN  (n,)
                        double negative_slope, int num_threads):
    with nogil:
        if floating is float:
            leaky_relu_backward_f32(&grad_x[0], &grad_y[0], &x[0], <float>negative_slope,
                                    x.shape[0], num_threads)
        else:
            leaky_relu_backward_f64(&grad_x[0], &grad_y[0], &x[0], negative_slope,
                                    x.shape[0], num_threads)


def sigmoid_forward(floating[::1] y,            # OUT (n,)
                    const floating[::1] x,      # IN  (n,)
                    int num_threads):
    with nogil:
        if floating is float:
            sigmoid_forward_f32(&y[0], &x[0], x.shape[0], num_threads)
        else:
            sigmoid_forward_f64(&y[0], &x[0], x.shape[0], num_threads)


def sigmoid_backward(floating[::1] grad_x,          # OUT (n,)
                     const floating[::1] grad_y,    # IN  (n,)
                     const floating[::1] y,         # IN  (n,) the forward's output
                     int num_threads):
    with nogil:
        if floating is float:
            sigmoid_backward_f32(&grad_x[0], &grad_y[0], &y[0], y.shape[0], num_threads)
        else:
            sigmoid_backward_f64(&grad_x[0], &grad_y[0], &y[0], y.shape[0], num_threads)


def tanh_forward(floating[::1] y,            # OUT (n,)
                 const floating[::1] x,      # IN  (n,)
                 int num_threads):
    with nogil:
        if floating is float:
            tanh_forward_f32(&y[0], &x[0], x.shape[0], num_threads)
        else:
            tanh_forward_f64(&y[0], &x[0], x.shape[0], num_threads)


def tanh_backward(floating[::1] grad_x,          # OUT (n,)
                  const floating[::1] grad_y,    # IN  (n,)
                  const floating[::1] y,         # IN  (n,) the forward's output
                  int num_threads):
    with nogil:
        if floating is float:
            tanh_backward_f32(&grad_x[0], &grad_y[0], &y[0], y.shape[0], num_threads)
        else:
            tanh_backward_f64(&grad_x[0], &grad_y[0], &y[0], y.shape[0], num_threads)
