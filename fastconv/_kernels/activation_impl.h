/* Kernel bodies of activation.c, written once over `real`; activation.c includes this
 * file once per precision. Every kernel maps n contiguous elements one to one; a thread
 * gets one contiguous block of them. NaN and the signed zeros behave as in PyTorch.
 *
 * Below ACTIVATION_PARALLEL_MIN elements, starting a thread team costs more than the work
 * it would share. Each element's result is the same whichever thread computes it.
 * Loads are unconditional, ahead of the selects, so the compiler may vectorise them. */

/* exp and tanh pick the float or the double function from the type of `real`. */
#include <tgmath.h>

#ifndef ACTIVATION_PARALLEL_MIN
#define ACTIVATION_PARALLEL_MIN 32768
#endif

/* y: (n,) OUT;  x: (n,) IN.  A comparison, not max(x, 0), so NaN passes through and
 * -0.0 stays -0.0, as in torch.relu. */
void FC_FN(relu_forward)(real *restrict y, const real *restrict x, int64_t n, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel for if(n >= ACTIVATION_PARALLEL_MIN) num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] < 0 ? 0 : x[i];
}

/* grad_x: (n,) OUT;  grad_y: (n,) IN;  x: (n,) IN.  The gradient is 0 where x <= 0 (also
 * at the kink x == 0) and passes where x is NaN, as PyTorch's threshold_backward does. */
void FC_FN(relu_backward)(real *restrict grad_x, const real *restrict grad_y,
                          const real *restrict x, int64_t n, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel for if(n >= ACTIVATION_PARALLEL_MIN) num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const real g = grad_y[i];
        grad_x[i] = x[i] <= 0 ? 0 : g;
    }
}

/* y: (n,) OUT;  x: (n,) IN */
void FC_FN(leaky_relu_forward)(real *restrict y, const real *restrict x, real negative_slope,
                               int64_t n, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel for if(n >= ACTIVATION_PARALLEL_MIN) num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const real v = x[i];
        y[i] = v > 0 ? v : v * negative_slope;
    }
}

/* grad_x: (n,) OUT;  grad_y: (n,) IN;  x: (n,) IN */
void FC_FN(leaky_relu_backward)(real *restrict grad_x, const real *restrict grad_y,
                                const real *restrict x, real negative_slope,
                                int64_t n, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel for if(n >= ACTIVATION_PARALLEL_MIN) num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const real g = grad_y[i];
        grad_x[i] = x[i] > 0 ? g : g * negative_slope;
    }
}

/* y: (n,) OUT;  x: (n,) IN.  exp only ever sees -|x|, so it cannot overflow: large
 * negative x underflow to exactly 0 and large positive x round to exactly 1. */
void FC_FN(sigmoid_forward)(real *restrict y, const real *restrict x, int64_t n, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel for if(n >= ACTIVATION_PARALLEL_MIN) num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        if (x[i] >= 0) {
            y[i] = 1 / (1 + exp(-x[i]));
        } else {
            const real e = exp(x[i]);
            y[i] = e / (1 + e);
        }
    }
}

/* grad_x: (n,) OUT;  grad_y: (n,) IN;  y: (n,) IN, the forward's OUTPUT sigmoid(x) */
void FC_FN(sigmoid_backward)(real *restrict grad_x, const real *restrict grad_y,
                             const real *restrict y, int64_t n, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel for if(n >= ACTIVATION_PARALLEL_MIN) num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < n; i++)
        grad_x[i] = grad_y[i] * (y[i] * (1 - y[i]));
}

/* y: (n,) OUT;  x: (n,) IN */
void FC_FN(tanh_forward)(real *restrict y, const real *restrict x, int64_t n, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel for if(n >= ACTIVATION_PARALLEL_MIN) num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] = tanh(x[i]);
}

/* grad_x: (n,) OUT;  grad_y: (n,) IN;  y: (n,) IN, the forward's OUTPUT tanh(x) */
void FC_FN(tanh_backward)(real *restrict grad_x, const real *restrict grad_y,
                          const real *restrict y, int64_t n, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel for if(n >= ACTIVATION_PARALLEL_MIN) num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < n; i++)
        grad_x[i] = grad_y[i] * (1 - y[i] * y[i]);
}
