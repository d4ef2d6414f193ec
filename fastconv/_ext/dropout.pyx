# distutils: sources = fastconv/_kernels/dropout.c
"""Bindings for dropout.h: buffers in, one nogil call out. Checks live in fastconv/ops/dropout.py."""
from cython cimport floating
from libc.stdint cimport int64_t, uint8_t

cdef extern from "dropout.h" nogil:
    void dropout_forward_f32(float *out, const float *x, const uint8_t *keep, float scale,
                             int64_t n, int num_threads)
    void dropout_forward_f64(double *out, const double *x, const uint8_t *keep, double scale,
                             int64_t n, int num_threads)


def dropout_forward(floating[::1] out,            # OUT (n,)
                    const floating[::1] x,        # IN  (n,)
                    const uint8_t[::1] keep,      # IN  (n,) the boolean mask viewed as bytes
                    double scale, int num_threads):
    with nogil:
        if floating is float:
            dropout_forward_f32(&out[0], &x[0], &keep[0], <float>scale, x.shape[0], num_threads)
        else:
            dropout_forward_f64(&out[0], &x[0], &keep[0], scale, x.shape[0], num_threads)
