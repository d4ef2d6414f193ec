/* Dropout kernel over the type `real`; dropout.c includes this once per precision.
 * The backward is the same map applied to grad_out with the forward's mask (the op is
 * linear in x), so one kernel serves both directions. */

/* out: (n) OUT;  x: (n) IN;  keep: (n) IN, nonzero where the element is kept.
 * out = x * (keep ? scale : 0): a multiply, as in PyTorch (a dropped inf becomes nan), and
 * a select of the factor rather than a branch on a random mask, so the loop vectorises. */
void FC_FN(dropout_forward)(real *restrict out, const real *restrict x,
                            const uint8_t *restrict keep, real scale,
                            int64_t n, int num_threads)
{
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t k = 0; k < n; k++)
        out[k] = x[k] * (keep[k] ? scale : 0);
}
