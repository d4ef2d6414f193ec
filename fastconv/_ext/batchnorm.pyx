# distutils: sources = fastconv/_kernels/batchnorm.c
"""Bindings for batchnorm.h: buffers in, one nogil call out. Checks live in fastconv/ops/batchnorm.py.
Data arrays are viewed as (N, C, S); per-channel statistics are always float64.
naive=True runs the direct-loop twin of a fast reduction (for the tests)."""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "batchnorm.h" nogil:
    void batch_norm_invstd_c "batch_norm_invstd"(double *invstd, const double *var, double eps,
                                                 int64_t C)
    void batch_norm_stats_f32(double *mean, double *var, const float *x,
                              int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_stats_f64(double *mean, double *var, const double *x,
                              int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_train_forward_f32(float *y, double *mean, double *var, double *invstd,
                                      const float *x, const float *weight, const float *bias,
                                      double eps, int relu, int64_t N, int64_t C, int64_t S,
                                      int num_threads)
    void batch_norm_train_forward_f64(double *y, double *mean, double *var, double *invstd,
                                      const double *x, const double *weight, const double *bias,
                                      double eps, int relu, int64_t N, int64_t C, int64_t S,
                                      int num_threads)
    void batch_norm_forward_f32(float *y, const float *x, const double *mean, const double *invstd,
                                const float *weight, const float *bias, int relu,
                                int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_forward_f64(double *y, const double *x, const double *mean, const double *invstd,
                                const double *weight, const double *bias, int relu,
                                int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_backward_reduce_f32(double *sum_dy, double *sum_dy_xhat,
                                        const float *grad_out, const float *x,
                                        const double *mean, const double *invstd,
                                        int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_backward_reduce_f64(double *sum_dy, double *sum_dy_xhat,
                                        const double *grad_out, const double *x,
                                        const double *mean, const double *invstd,
                                        int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_backward_train_f32(float *grad_x, double *sum_dy, double *sum_dy_xhat,
                                       const float *grad_out, const float *x,
                                       const double *mean, const double *invstd, const float *weight,
                                       int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_backward_train_f64(double *grad_x, double *sum_dy, double *sum_dy_xhat,
                                       const double *grad_out, const double *x,
                                       const double *mean, const double *invstd, const double *weight,
                                       int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_backward_eval_f32(float *grad_x, const float *grad_out,
                                      const double *invstd, const float *weight,
                                      int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_backward_eval_f64(double *grad_x, const double *grad_out,
                                      const double *invstd, const double *weight,
                                      int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_stats_naive_f32(double *mean, double *var, const float *x,
                                    int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_stats_naive_f64(double *mean, double *var, const double *x,
                                    int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_backward_reduce_naive_f32(double *sum_dy, double *sum_dy_xhat,
                                              const float *grad_out, const float *x,
                                              const double *mean, const double *invstd,
                                              int64_t N, int64_t C, int64_t S, int num_threads)
    void batch_norm_backward_reduce_naive_f64(double *sum_dy, double *sum_dy_xhat,
                                              const double *grad_out, const double *x,
                                              const double *mean, const double *invstd,
                                              int64_t N, int64_t C, int64_t S, int num_threads)


def batch_norm_invstd(double[::1] invstd,              # OUT (C,) 1 / sqrt(var + eps)
                      const double[::1] var,           # IN  (C,)
                      double eps):
    with nogil:
        batch_norm_invstd_c(&invstd[0], &var[0], eps, var.shape[0])


def batch_norm_stats(double[::1] mean,                  # OUT (C,)
                     double[::1] var,                   # OUT (C,) biased
                     const floating[:, :, ::1] x,       # IN  (N, C, S)
                     int num_threads, bint naive=False):
    with nogil:
        if floating is float:
            if naive:
                batch_norm_stats_naive_f32(&mean[0], &var[0], &x[0, 0, 0],
                                           x.shape[0], x.shape[1], x.shape[2], num_threads)
            else:
                batch_norm_stats_f32(&mean[0], &var[0], &x[0, 0, 0],
                                     x.shape[0], x.shape[1], x.shape[2], num_threads)
        else:
            if naive:
                batch_norm_stats_naive_f64(&mean[0], &var[0], &x[0, 0, 0],
                                           x.shape[0], x.shape[1], x.shape[2], num_threads)
            else:
                batch_norm_stats_f64(&mean[0], &var[0], &x[0, 0, 0],
                                     x.shape[0], x.shape[1], x.shape[2], num_threads)


def batch_norm_train_forward(floating[:, :, ::1] y,      # OUT (N, C, S)
                             double[::1] mean,           # OUT (C,)
                             double[::1] var,            # OUT (C,) biased
                             double[::1] invstd,         # OUT (C,) 1 / sqrt(var + eps)
                             const floating[:, :, ::1] x,  # IN (N, C, S)
                             const floating[::1] weight,   # IN (C,)
                             const floating[::1] bias,     # IN (C,)
                             double eps, bint relu, int num_threads):
    with nogil:
        if floating is float:
            batch_norm_train_forward_f32(&y[0, 0, 0], &mean[0], &var[0], &invstd[0], &x[0, 0, 0],
                                         &weight[0], &bias[0], eps, relu,
                                         x.shape[0], x.shape[1], x.shape[2], num_threads)
        else:
            batch_norm_train_forward_f64(&y[0, 0, 0], &mean[0], &var[0], &invstd[0], &x[0, 0, 0],
                                         &weight[0], &bias[0], eps, relu,
                                         x.shape[0], x.shape[1], x.shape[2], num_threads)


def batch_norm_forward(floating[:, :, ::1] y,           # OUT (N, C, S)
                       const floating[:, :, ::1] x,     # IN  (N, C, S)
                       const double[::1] mean,          # IN  (C,)
                       const double[::1] invstd,        # IN  (C,)
                       const floating[::1] weight,      # IN  (C,)
                       const floating[::1] bias,        # IN  (C,)
                       bint relu, int num_threads):
    with nogil:
        if floating is float:
            batch_norm_forward_f32(&y[0, 0, 0], &x[0, 0, 0], &mean[0], &invstd[0],
                                   &weight[0], &bias[0], relu,
                                   x.shape[0], x.shape[1], x.shape[2], num_threads)
        else:
            batch_norm_forward_f64(&y[0, 0, 0], &x[0, 0, 0], &mean[0], &invstd[0],
                                   &weight[0], &bias[0], relu,
                                   x.shape[0], x.shape[1], x.shape[2], num_threads)


def batch_norm_backward_reduce(double[::1] sum_dy,              # OUT (C,)
                               double[::1] sum_dy_xhat,         # OUT (C,)
                               const floating[:, :, ::1] grad_out,  # IN (N, C, S)
                               const floating[:, :, ::1] x,     # IN  (N, C, S)
                               const double[::1] mean,          # IN  (C,)
                               const double[::1] invstd,        # IN  (C,)
                               int num_threads, bint naive=False):
    with nogil:
        if floating is float:
            if naive:
                batch_norm_backward_reduce_naive_f32(&sum_dy[0], &sum_dy_xhat[0], &grad_out[0, 0, 0],
                                                     &x[0, 0, 0], &mean[0], &invstd[0],
                                                     x.shape[0], x.shape[1], x.shape[2], num_threads)
            else:
                batch_norm_backward_reduce_f32(&sum_dy[0], &sum_dy_xhat[0], &grad_out[0, 0, 0],
                                               &x[0, 0, 0], &mean[0], &invstd[0],
                                               x.shape[0], x.shape[1], x.shape[2], num_threads)
        else:
            if naive:
                batch_norm_backward_reduce_naive_f64(&sum_dy[0], &sum_dy_xhat[0], &grad_out[0, 0, 0],
                                                     &x[0, 0, 0], &mean[0], &invstd[0],
                                                     x.shape[0], x.shape[1], x.shape[2], num_threads)
            else:
                batch_norm_backward_reduce_f64(&sum_dy[0], &sum_dy_xhat[0], &grad_out[0, 0, 0],
                                               &x[0, 0, 0], &mean[0], &invstd[0],
                                               x.shape[0], x.shape[1], x.shape[2], num_threads)


def batch_norm_backward_train(floating[:, :, ::1] grad_x,          # OUT (N, C, S)
                              double[::1] sum_dy,                  # OUT (C,)
                              double[::1] sum_dy_xhat,             # OUT (C,)
                              const floating[:, :, ::1] grad_out,  # IN  (N, C, S)
                              const floating[:, :, ::1] x,         # IN  (N, C, S)
                              const double[::1] mean,              # IN  (C,)
                              const double[::1] invstd,            # IN  (C,)
                              const floating[::1] weight,          # IN  (C,)
                              int num_threads):
    with nogil:
        if floating is float:
            batch_norm_backward_train_f32(&grad_x[0, 0, 0], &sum_dy[0], &sum_dy_xhat[0],
                                          &grad_out[0, 0, 0], &x[0, 0, 0],
                                          &mean[0], &invstd[0], &weight[0],
                                          x.shape[0], x.shape[1], x.shape[2], num_threads)
        else:
            batch_norm_backward_train_f64(&grad_x[0, 0, 0], &sum_dy[0], &sum_dy_xhat[0],
                                          &grad_out[0, 0, 0], &x[0, 0, 0],
                                          &mean[0], &invstd[0], &weight[0],
                                          x.shape[0], x.shape[1], x.shape[2], num_threads)


def batch_norm_backward_eval(floating[:, :, ::1] grad_x,           # OUT (N, C, S)
                             const floating[:, :, ::1] grad_out,   # IN  (N, C, S)
                             const double[::1] invstd,             # IN  (C,)
                             const floating[::1] weight,           # IN  (C,)
                             int num_threads):
    with nogil:
        if floating is float:
            batch_norm_backward_eval_f32(&grad_x[0, 0, 0], &grad_out[0, 0, 0],
                                         &invstd[0], &weight[0],
                                         grad_out.shape[0], grad_out.shape[1], grad_out.shape[2],
                                         num_threads)
        else:
            batch_norm_backward_eval_f64(&grad_x[0, 0, 0], &grad_out[0, 0, 0],
                                         &invstd[0], &weight[0],
                                         grad_out.shape[0], grad_out.shape[1], grad_out.shape[2],
                                         num_threads)
