# distutils: sources = [fastconv/_kernels/loss.c, fastconv/_kernels/softmax.c]
"""Bindings for loss.h: buffers in, one nogil call out. Checks live in fastconv/ops/loss.py.
A `scale` argument holds one value per row/element, or a single value for all (stride 0)."""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "loss.h" nogil:
    void cross_entropy_forward_f32(float *loss, const float *logits, const int64_t *target,
                                   float label_smoothing, int64_t batch, int64_t classes,
                                   int num_threads)
    void cross_entropy_forward_f64(double *loss, const double *logits, const int64_t *target,
                                   double label_smoothing, int64_t batch, int64_t classes,
                                   int num_threads)
    void cross_entropy_backward_f32(float *grad_logits, const float *logits, const int64_t *target,
                                    const float *scale, int64_t scale_stride, float label_smoothing,
                                    int64_t batch, int64_t classes, int num_threads)
    void cross_entropy_backward_f64(double *grad_logits, const double *logits, const int64_t *target,
                                    const double *scale, int64_t scale_stride, double label_smoothing,
                                    int64_t batch, int64_t classes, int num_threads)
    void mse_loss_elementwise_f32(float *loss, const float *input, const float *target,
                                  int64_t n, int num_threads)
    void mse_loss_elementwise_f64(double *loss, const double *input, const double *target,
                                  int64_t n, int num_threads)
    void mse_loss_chunk_sums_f32(float *chunk_sums, const float *input, const float *target,
                                 int64_t n, int64_t chunk, int num_threads)
    void mse_loss_chunk_sums_f64(double *chunk_sums, const double *input, const double *target,
                                 int64_t n, int64_t chunk, int num_threads)
    void mse_loss_backward_f32(float *grad_input, const float *input, const float *target,
                               const float *scale, int64_t scale_stride, int64_t n, int num_threads)
    void mse_loss_backward_f64(double *grad_input, const double *input, const double *target,
                               const double *scale, int64_t scale_stride, int64_t n, int num_threads)


def cross_entropy_forward(floating[::1] loss,                # OUT (N,)
                          const floating[:, ::1] logits,     # IN  (N, C)
                          const int64_t[::1] target,         # IN  (N,) in [0, C)
                          double label_smoothing, int num_threads):
    with nogil:
        if floating is float:
            cross_entropy_forward_f32(&loss[0], &logits[0, 0], &target[0], <float>label_smoothing,
                                      logits.shape[0], logits.shape[1], num_threads)
        else:
            cross_entropy_forward_f64(&loss[0], &logits[0, 0], &target[0], label_smoothing,
                                      logits.shape[0], logits.shape[1], num_threads)


def cross_entropy_backward(floating[:, ::1] grad_logits,     # OUT (N, C)
                           const floating[:, ::1] logits,    # IN  (N, C)
                           const int64_t[::1] target,        # IN  (N,) in [0, C)
                           const floating[::1] scale,        # IN  (N,) or (1,) for every row
                           double label_smoothing, int num_threads):
    cdef int64_t scale_stride = 1 if scale.shape[0] == logits.shape[0] else 0
    with nogil:
        if floating is float:
            cross_entropy_backward_f32(&grad_logits[0, 0], &logits[0, 0], &target[0], &scale[0],
                                       scale_stride, <float>label_smoothing,
                                       logits.shape[0], logits.shape[1], num_threads)
        else:
            cross_entropy_backward_f64(&grad_logits[0, 0], &logits[0, 0], &target[0], &scale[0],
                                       scale_stride, label_smoothing,
                                       logits.shape[0], logits.shape[1], num_threads)


def mse_loss_elementwise(floating[::1] loss,              # OUT (n,)
                         const floating[::1] input,       # IN  (n,)
                         const floating[::1] target,      # IN  (n,)
                         int num_threads):
    with nogil:
        if floating is float:
            mse_loss_elementwise_f32(&loss[0], &input[0], &target[0], input.shape[0], num_threads)
        else:
            mse_loss_elementwise_f64(&loss[0], &input[0], &target[0], input.shape[0], num_threads)


def mse_loss_chunk_sums(floating[::1] chunk_sums,        # OUT (ceil(n / chunk),)
                        const floating[::1] input,       # IN  (n,)
                        const floating[::1] target,      # IN  (n,)
                        int64_t chunk, int num_threads):
    with nogil:
        if floating is float:
            mse_loss_chunk_sums_f32(&chunk_sums[0], &input[0], &target[0], input.shape[0],
                                    chunk, num_threads)
        else:
            mse_loss_chunk_sums_f64(&chunk_sums[0], &input[0], &target[0], input.shape[0],
                                    chunk, num_threads)


def mse_loss_backward(floating[::1] grad_input,          # OUT (n,)
                      const floating[::1] input,         # IN  (n,)
                      const floating[::1] target,        # IN  (n,)
                      const floating[::1] scale,         # IN  (n,) or (1,) for every element
                      int num_threads):
    cdef int64_t scale_stride = 1 if scale.shape[0] == input.shape[0] else 0
    with nogil:
        if floating is float:
            mse_loss_backward_f32(&grad_input[0], &input[0], &target[0], &scale[0], scale_stride,
                                  input.shape[0], num_threads)
        else:
            mse_loss_backward_f64(&grad_input[0], &input[0], &target[0], &scale[0], scale_stride,
                                  input.shape[0], num_threads)
