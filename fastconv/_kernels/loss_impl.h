/* Loss kernels over the type `real`; loss.c includes this once per precision.
 * Cross-entropy rows get their max and sum of exponentials from softmax_panel_stats
 * (softmax.c), the same numbers log_softmax uses. */
#include <tgmath.h>

/* loss: (batch) OUT;  logits: (batch, classes) IN;  target: (batch) IN, each in [0, classes).
 * With log_p = log_softmax(logits row) and s = label_smoothing,
 * loss[i] = -(1 - s) * log_p[target[i]] - s / classes * sum_c log_p[c]   (PyTorch's smoothing).
 * One pass for the max, one for the exponentials and the sum of the row; log_p is never stored. */
void FC_FN(cross_entropy_forward)(real *restrict loss, const real *restrict logits,
                                  const int64_t *restrict target, real label_smoothing,
                                  int64_t batch, int64_t classes, int num_threads)
{
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < batch; i++) {
        const real *row = logits + i * classes;
        real max, sum_exp;
        FC_FN(softmax_panel_stats)(&max, &sum_exp, NULL, row, classes, 1, 1);
        const real log_sum = log(sum_exp);
        real sum_shifted = 0;
        for (int64_t c = 0; c < classes; c++)
            sum_shifted += row[c] - max;
        /* log_p[c] = (row[c] - max) - log_sum, summed over c */
        const real sum_log_p = sum_shifted - (real)classes * log_sum;
        const real log_p_target = (row[target[i]] - max) - log_sum;
        loss[i] = -(1 - label_smoothing) * log_p_target
                  - label_smoothing / (real)classes * sum_log_p;
    }
}

/* grad_logits: (batch, classes) OUT;  logits: (batch, classes) IN;  target: (batch) IN;
 * scale: row i uses scale[i * scale_stride] IN (stride 0: one scale for every row).
 * grad_logits[i, c] = (softmax[c] - (1 - s) * [c == target[i]] - s / classes) * scale_i:
 * the gradient of loss[i] above, times the incoming gradient (and 1/batch for a mean). */
void FC_FN(cross_entropy_backward)(real *restrict grad_logits, const real *restrict logits,
                                   const int64_t *restrict target, const real *restrict scale,
                                   int64_t scale_stride, real label_smoothing,
                                   int64_t batch, int64_t classes, int num_threads)
{
    const real smooth = label_smoothing / (real)classes;
    const real on_target = 1 - label_smoothing;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t i = 0; i < batch; i++) {
        real *grad = grad_logits + i * classes;
        real max, sum_exp;
        /* the exponentials land in grad, to be normalised in place */
        FC_FN(softmax_panel_stats)(&max, &sum_exp, grad, logits + i * classes, classes, 1, 1);
        const real row_scale = scale[i * scale_stride];
        const int64_t t = target[i];
        /* the target class is redone after the loop, which keeps the loop free of a
         * per-element test so it vectorises */
        const real exp_target = grad[t];
        for (int64_t c = 0; c < classes; c++)
            grad[c] = (grad[c] / sum_exp - smooth) * row_scale;
        grad[t] = (exp_target / sum_exp - smooth - on_target) * row_scale;
    }
}

/* loss: (n) OUT;  input, target: (n) IN.  loss = (input - target)^2. */
void FC_FN(mse_loss_elementwise)(real *restrict loss, const real *restrict input,
                                 const real *restrict target, int64_t n, int num_threads)
{
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t k = 0; k < n; k++) {
        const real diff = input[k] - target[k];
        loss[k] = diff * diff;
    }
}

/* chunk_sums: (ceil(n / chunk)) OUT;  input, target: (n) IN.
 * chunk_sums[b] = sum of (input - target)^2 over elements [b * chunk, (b + 1) * chunk), in
 * order. The chunk size comes from the caller, not the thread count, so the partial sums
 * (and the caller's sum of them) are the same bits for any number of threads. */
void FC_FN(mse_loss_chunk_sums)(real *restrict chunk_sums, const real *restrict input,
                                const real *restrict target, int64_t n, int64_t chunk,
                                int num_threads)
{
    const int64_t chunks = (n + chunk - 1) / chunk;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t b = 0; b < chunks; b++) {
        const int64_t end = (b + 1) * chunk < n ? (b + 1) * chunk : n;
        real sum = 0;
        for (int64_t k = b * chunk; k < end; k++) {
            const real diff = input[k] - target[k];
            sum += diff * diff;
        }
        chunk_sums[b] = sum;
    }
}

/* grad_input: (n) OUT;  input, target: (n) IN;  scale: element k uses scale[k * scale_stride]
 * IN (stride 0: one scale for all).  grad_input = 2 * (input - target) * scale. */
void FC_FN(mse_loss_backward)(real *restrict grad_input, const real *restrict input,
                              const real *restrict target, const real *restrict scale,
                              int64_t scale_stride, int64_t n, int num_threads)
{
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t k = 0; k < n; k++)
        grad_input[k] = 2 * (input[k] - target[k]) * scale[k * scale_stride];
}
