/* Batch normalisation kernels over x viewed as (N, C, S), S = product of the spatial dims.
 * Per-channel statistics and coefficients are double whatever the data type, so a float32
 * batch loses no precision to a large mean. See batchnorm_impl.h for the contracts. */
#ifndef FASTCONV_BATCHNORM_H
#define FASTCONV_BATCHNORM_H

#include <stdint.h>

void batch_norm_invstd(double *invstd, const double *var, double eps, int64_t C);

void batch_norm_stats_f32(double *mean, double *var, const float *x,
                          int64_t N, int64_t C, int64_t S, int num_threads);
void batch_norm_stats_f64(double *mean, double *var, const double *x,
                          int64_t N, int64_t C, int64_t S, int num_threads);

void batch_norm_train_forward_f32(float *y, double *mean, double *var, double *invstd,
                                  const float *x, const float *weight, const float *bias,
                                  double eps, int relu, int64_t N, int64_t C, int64_t S,
                                  int num_threads);
void batch_norm_train_forward_f64(double *y, double *mean, double *var, double *invstd,
                                  const double *x, const double *weight, const double *bias,
                                  double eps, int relu, int64_t N, int64_t C, int64_t S,
                                  int num_threads);

void batch_norm_forward_f32(float *y, const float *x, const double *mean, const double *invstd,
                            const float *weight, const float *bias, int relu,
                            int64_t N, int64_t C, int64_t S, int num_threads);
void batch_norm_forward_f64(double *y, const double *x, const double *mean, const double *invstd,
                            const double *weight, const double *bias, int relu,
                            int64_t N, int64_t C, int64_t S, int num_threads);

void batch_norm_backward_reduce_f32(double *sum_dy, double *sum_dy_xhat,
                                    const float *grad_out, const float *x,
                                    const double *mean, const double *invstd,
                                    int64_t N, int64_t C, int64_t S, int num_threads);
void batch_norm_backward_reduce_f64(double *sum_dy, double *sum_dy_xhat,
                                    const double *grad_out, const double *x,
                                    const double *mean, const double *invstd,
                                    int64_t N, int64_t C, int64_t S, int num_threads);

void batch_norm_backward_train_f32(float *grad_x, double *sum_dy, double *sum_dy_xhat,
                                   const float *grad_out, const float *x,
                                   const double *mean, const double *invstd, const float *weight,
                                   int64_t N, int64_t C, int64_t S, int num_threads);
void batch_norm_backward_train_f64(double *grad_x, double *sum_dy, double *sum_dy_xhat,
                                   const double *grad_out, const double *x,
                                   const double *mean, const double *invstd, const double *weight,
                                   int64_t N, int64_t C, int64_t S, int num_threads);

void batch_norm_backward_eval_f32(float *grad_x, const float *grad_out,
                                  const double *invstd, const float *weight,
                                  int64_t N, int64_t C, int64_t S, int num_threads);
void batch_norm_backward_eval_f64(double *grad_x, const double *grad_out,
                                  const double *invstd, const double *weight,
                                  int64_t N, int64_t C, int64_t S, int num_threads);

/* The direct-loop twins of batch_norm_stats and batch_norm_backward_reduce (two-pass
 * statistics, one accumulator): what the tests hold the fast kernels to. */
void batch_norm_stats_naive_f32(double *mean, double *var, const float *x,
                                int64_t N, int64_t C, int64_t S, int num_threads);
void batch_norm_stats_naive_f64(double *mean, double *var, const double *x,
                                int64_t N, int64_t C, int64_t S, int num_threads);
void batch_norm_backward_reduce_naive_f32(double *sum_dy, double *sum_dy_xhat,
                                          const float *grad_out, const float *x,
                                          const double *mean, const double *invstd,
                                          int64_t N, int64_t C, int64_t S, int num_threads);
void batch_norm_backward_reduce_naive_f64(double *sum_dy, double *sum_dy_xhat,
                                          const double *grad_out, const double *x,
                                          const double *mean, const double *invstd,
                                          int64_t N, int64_t C, int64_t S, int num_threads);

#endif
