# distutils: sources = fastconv/_kernels/pool.c
"""Bindings for pool.h: buffers in, one nogil call out. Checks live in fastconv/ops/pool.py.
Each (N, C) pair is one plane for the kernels, so `planes` = N * C.
naive=True runs the direct-loop twin of a fast kernel (for the tests)."""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "pool.h" nogil:
    void max_pool2d_forward_f32(float *out, int64_t *indices, const float *x,
                                int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads)
    void max_pool2d_forward_f64(double *out, int64_t *indices, const double *x,
                                int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads)
    int64_t max_pool2d_backward_f32(float *grad_x,
                                 const float *grad_out, const int64_t *indices,
                                 int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 int num_threads)
    int64_t max_pool2d_backward_f64(double *grad_x,
                                 const double *grad_out, const int64_t *indices,
                                 int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 int num_threads)
    void avg_pool2d_forward_f32(float *out, const float *x,
                                int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                int64_t ph, int64_t pw,
                                int64_t count_include_pad, int64_t divisor_override,
                                int num_threads)
    void avg_pool2d_forward_f64(double *out, const double *x,
                                int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                int64_t ph, int64_t pw,
                                int64_t count_include_pad, int64_t divisor_override,
                                int num_threads)
    void avg_pool2d_backward_f32(float *grad_x, const float *grad_out,
                                 int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                 int64_t ph, int64_t pw,
                                 int64_t count_include_pad, int64_t divisor_override,
                                 int num_threads)
    void avg_pool2d_backward_f64(double *grad_x, const double *grad_out,
                                 int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                 int64_t ph, int64_t pw,
                                 int64_t count_include_pad, int64_t divisor_override,
                                 int num_threads)
    void adaptive_avg_pool2d_forward_f32(float *out, const float *x,
                                         int64_t planes, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW, int num_threads)
    void adaptive_avg_pool2d_forward_f64(double *out, const double *x,
                                         int64_t planes, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW, int num_threads)
    void adaptive_avg_pool2d_backward_f32(float *grad_x, const float *grad_out,
                                          int64_t planes, int64_t H, int64_t W,
                                          int64_t OH, int64_t OW, int num_threads)
    void adaptive_avg_pool2d_backward_f64(double *grad_x, const double *grad_out,
                                          int64_t planes, int64_t H, int64_t W,
                                          int64_t OH, int64_t OW, int num_threads)
    void max_pool2d_forward_naive_f32(float *out, int64_t *indices, const float *x,
                                int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads)
    void max_pool2d_forward_naive_f64(double *out, int64_t *indices, const double *x,
                                int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads)
    void avg_pool2d_forward_naive_f32(float *out, const float *x,
                                int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                int64_t ph, int64_t pw,
                                int64_t count_include_pad, int64_t divisor_override,
                                int num_threads)
    void avg_pool2d_forward_naive_f64(double *out, const double *x,
                                int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                int64_t ph, int64_t pw,
                                int64_t count_include_pad, int64_t divisor_override,
                                int num_threads)
    void avg_pool2d_backward_naive_f32(float *grad_x, const float *grad_out,
                                 int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                 int64_t ph, int64_t pw,
                                 int64_t count_include_pad, int64_t divisor_override,
                                 int num_threads)
    void avg_pool2d_backward_naive_f64(double *grad_x, const double *grad_out,
                                 int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                 int64_t ph, int64_t pw,
                                 int64_t count_include_pad, int64_t divisor_override,
                                 int num_threads)
    void adaptive_avg_pool2d_forward_naive_f32(float *out, const float *x,
                                         int64_t planes, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW, int num_threads)
    void adaptive_avg_pool2d_forward_naive_f64(double *out, const double *x,
                                         int64_t planes, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW, int num_threads)
    void adaptive_avg_pool2d_backward_naive_f32(float *grad_x, const float *grad_out,
                                          int64_t planes, int64_t H, int64_t W,
                                          int64_t OH, int64_t OW, int num_threads)
    void adaptive_avg_pool2d_backward_naive_f64(double *grad_x, const double *grad_out,
                                          int64_t planes, int64_t H, int64_t W,
                                          int64_t OH, int64_t OW, int num_threads)


def max_pool2d_forward(floating[:, :, :, ::1] out,            # OUT (N, C, OH, OW)
                       int64_t[:, :, :, ::1] indices,          # OUT (N, C, OH, OW)
                       const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                       int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                       int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads, bint naive=False):
    cdef int64_t planes = x.shape[0] * x.shape[1]
    with nogil:
        if floating is float:
            if naive:
                max_pool2d_forward_naive_f32(&out[0, 0, 0, 0], &indices[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       planes, x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                       kh, kw, sh, sw, ph, pw, dh, dw, num_threads)
            else:
                max_pool2d_forward_f32(&out[0, 0, 0, 0], &indices[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       planes, x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                       kh, kw, sh, sw, ph, pw, dh, dw, num_threads)
        else:
            if naive:
                max_pool2d_forward_naive_f64(&out[0, 0, 0, 0], &indices[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       planes, x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                       kh, kw, sh, sw, ph, pw, dh, dw, num_threads)
            else:
                max_pool2d_forward_f64(&out[0, 0, 0, 0], &indices[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       planes, x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                       kh, kw, sh, sw, ph, pw, dh, dw, num_threads)


def max_pool2d_backward(floating[:, :, :, ::1] grad_x,             # OUT (N, C, H, W)
                        const floating[:, :, :, ::1] grad_out,     # IN  (N, C, OH, OW)
                        const int64_t[:, :, :, ::1] indices,       # IN  (N, C, OH, OW)
                        int num_threads):
    """Returns how many indices fell outside their plane (and were skipped)."""
    cdef int64_t planes = grad_x.shape[0] * grad_x.shape[1], bad
    with nogil:
        if floating is float:
            bad = max_pool2d_backward_f32(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                          &indices[0, 0, 0, 0], planes, grad_x.shape[2],
                                          grad_x.shape[3], grad_out.shape[2], grad_out.shape[3],
                                          num_threads)
        else:
            bad = max_pool2d_backward_f64(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                          &indices[0, 0, 0, 0], planes, grad_x.shape[2],
                                          grad_x.shape[3], grad_out.shape[2], grad_out.shape[3],
                                          num_threads)
    return bad


def avg_pool2d_forward(floating[:, :, :, ::1] out,            # OUT (N, C, OH, OW)
                       const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                       int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                       int64_t count_include_pad, int64_t divisor_override, int num_threads, bint naive=False):
    cdef int64_t planes = x.shape[0] * x.shape[1]
    with nogil:
        if floating is float:
            if naive:
                avg_pool2d_forward_naive_f32(&out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       planes, x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                       kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                                       num_threads)
            else:
                avg_pool2d_forward_f32(&out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       planes, x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                       kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                                       num_threads)
        else:
            if naive:
                avg_pool2d_forward_naive_f64(&out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       planes, x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                       kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                                       num_threads)
            else:
                avg_pool2d_forward_f64(&out[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       planes, x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                       kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                                       num_threads)


def avg_pool2d_backward(floating[:, :, :, ::1] grad_x,            # OUT (N, C, H, W)
                        const floating[:, :, :, ::1] grad_out,    # IN  (N, C, OH, OW)
                        int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                        int64_t count_include_pad, int64_t divisor_override, int num_threads, bint naive=False):
    cdef int64_t planes = grad_x.shape[0] * grad_x.shape[1]
    with nogil:
        if floating is float:
            if naive:
                avg_pool2d_backward_naive_f32(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                        planes, grad_x.shape[2], grad_x.shape[3],
                                        grad_out.shape[2], grad_out.shape[3],
                                        kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                                        num_threads)
            else:
                avg_pool2d_backward_f32(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                        planes, grad_x.shape[2], grad_x.shape[3],
                                        grad_out.shape[2], grad_out.shape[3],
                                        kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                                        num_threads)
        else:
            if naive:
                avg_pool2d_backward_naive_f64(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                        planes, grad_x.shape[2], grad_x.shape[3],
                                        grad_out.shape[2], grad_out.shape[3],
                                        kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                                        num_threads)
            else:
                avg_pool2d_backward_f64(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                        planes, grad_x.shape[2], grad_x.shape[3],
                                        grad_out.shape[2], grad_out.shape[3],
                                        kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                                        num_threads)


def adaptive_avg_pool2d_forward(floating[:, :, :, ::1] out,           # OUT (N, C, OH, OW)
                                const floating[:, :, :, ::1] x,        # IN  (N, C, H, W)
                                int num_threads, bint naive=False):
    cdef int64_t planes = x.shape[0] * x.shape[1]
    with nogil:
        if floating is float:
            if naive:
                adaptive_avg_pool2d_forward_naive_f32(&out[0, 0, 0, 0], &x[0, 0, 0, 0], planes,
                                                x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                                num_threads)
            else:
                adaptive_avg_pool2d_forward_f32(&out[0, 0, 0, 0], &x[0, 0, 0, 0], planes,
                                                x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                                num_threads)
        else:
            if naive:
                adaptive_avg_pool2d_forward_naive_f64(&out[0, 0, 0, 0], &x[0, 0, 0, 0], planes,
                                                x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                                num_threads)
            else:
                adaptive_avg_pool2d_forward_f64(&out[0, 0, 0, 0], &x[0, 0, 0, 0], planes,
                                                x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                                                num_threads)


def adaptive_avg_pool2d_backward(floating[:, :, :, ::1] grad_x,           # OUT (N, C, H, W)
                                 const floating[:, :, :, ::1] grad_out,   # IN  (N, C, OH, OW)
                                 int num_threads, bint naive=False):
    cdef int64_t planes = grad_x.shape[0] * grad_x.shape[1]
    with nogil:
        if floating is float:
            if naive:
                adaptive_avg_pool2d_backward_naive_f32(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                                 planes, grad_x.shape[2], grad_x.shape[3],
                                                 grad_out.shape[2], grad_out.shape[3], num_threads)
            else:
                adaptive_avg_pool2d_backward_f32(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                                 planes, grad_x.shape[2], grad_x.shape[3],
                                                 grad_out.shape[2], grad_out.shape[3], num_threads)
        else:
            if naive:
                adaptive_avg_pool2d_backward_naive_f64(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                                 planes, grad_x.shape[2], grad_x.shape[3],
                                                 grad_out.shape[2], grad_out.shape[3], num_threads)
            else:
                adaptive_avg_pool2d_backward_f64(&grad_x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                                 planes, grad_x.shape[2], grad_x.shape[3],
                                                 grad_out.shape[2], grad_out.shape[3], num_threads)
