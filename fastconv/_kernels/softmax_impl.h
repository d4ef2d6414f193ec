/* Softmax kernels over the type `real`; softmax.c includes this once per precision.
 *
 * Work is split into items: one o of the (outer, D, inner) view and a panel of up to
 * SOFTMAX_PANEL consecutive j. Each item owns its output panel, so threads never share an
 * output element, and every sum runs along D in a fixed order: the same bits for any
 * thread count. When inner == 1 a panel is a single contiguous row; float32 rows then take
 * the AVX-512 loops of softmax_avx512.h (vector exp, row sums in 16 partials added
 * pairwise, rather than in order) where the CPU has them. */
#include <tgmath.h>
#include "softmax_avx512.h"

/* max: (width) OUT;  sum_exp: (width) OUT;  exps: (dim_size, stride) OUT, columns [0, width),
 * or NULL;  x: (dim_size, stride) IN, columns [0, width).
 * For each column j: max[j] = max_d x[d, j], sum_exp[j] = sum_d exp(x[d, j] - max[j]) in
 * order of d; exps (when given) receives those exponentials. Needs dim_size >= 1.
 * Subtracting the max keeps every exponential in (0, 1], so nothing overflows and the
 * largest term is exactly 1. */
void FC_FN(softmax_panel_stats)(real *restrict max, real *restrict sum_exp,
                                real *restrict exps, const real *restrict x,
                                int64_t dim_size, int64_t stride, int64_t width)
{
#ifdef FC_SOFTMAX_AVX512
    if (sizeof(real) == sizeof(float) && width == 1 && stride == 1 && softmax_use_avx512()) {
        /* one contiguous float row (the casts are no-ops then) */
        softmax_row_stats_avx512_f32((float *)max, (float *)sum_exp, (float *)exps,
                                     (const float *)x, dim_size);
        return;
    }
#endif
    for (int64_t j = 0; j < width; j++) {
        max[j] = x[j];
        sum_exp[j] = 0;
    }
    for (int64_t d = 1; d < dim_size; d++) {
        const real *x_d = x + d * stride;
        for (int64_t j = 0; j < width; j++)
            max[j] = x_d[j] > max[j] ? x_d[j] : max[j];
    }
    for (int64_t d = 0; d < dim_size; d++) {
        const real *x_d = x + d * stride;
        for (int64_t j = 0; j < width; j++) {
            const real e = exp(x_d[j] - max[j]);
            if (exps)
                exps[d * stride + j] = e;
            sum_exp[j] += e;
        }
    }
}

/* out: (outer, D, inner) OUT;  x: (outer, D, inner) IN.
 * out = exp(x - max) / sum_D exp(x - max). */
void FC_FN(softmax_forward)(real *restrict out, const real *restrict x,
                            int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
{
    /* contiguous float rows: the AVX-512 loops (softmax_avx512.h) */
    const int row_avx512 = sizeof(real) == sizeof(float) && inner == 1 && softmax_use_avx512();
    (void)row_avx512;  /* unused without them */
    const int64_t panels = (inner + SOFTMAX_PANEL - 1) / SOFTMAX_PANEL;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t item = 0; item < outer * panels; item++) {
        const int64_t o = item / panels, j0 = (item % panels) * SOFTMAX_PANEL;
        const int64_t width = inner - j0 < SOFTMAX_PANEL ? inner - j0 : SOFTMAX_PANEL;
        const int64_t offset = o * dim_size * inner + j0;
        real max[SOFTMAX_PANEL], sum_exp[SOFTMAX_PANEL];
        FC_FN(softmax_panel_stats)(max, sum_exp, out + offset, x + offset, dim_size, inner, width);
#ifdef FC_SOFTMAX_AVX512
        if (row_avx512) {
            softmax_row_divide_avx512_f32((float *)(out + offset), dim_size, (float)sum_exp[0]);
            continue;
        }
#endif
        for (int64_t d = 0; d < dim_size; d++) {
            real *out_d = out + offset + d * inner;
            for (int64_t j = 0; j < width; j++)
                out_d[j] /= sum_exp[j];
        }
    }
}

/* grad_x: (outer, D, inner) OUT;  grad_out, out: (outer, D, inner) IN, `out` = softmax(x).
 * grad_x = out * (grad_out - sum_D grad_out * out). */
void FC_FN(softmax_backward)(real *restrict grad_x, const real *restrict grad_out,
                             const real *restrict out,
                             int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
{
    /* contiguous float rows: the AVX-512 loops (softmax_avx512.h) */
    const int row_avx512 = sizeof(real) == sizeof(float) && inner == 1 && softmax_use_avx512();
    (void)row_avx512;  /* unused without them */
    const int64_t panels = (inner + SOFTMAX_PANEL - 1) / SOFTMAX_PANEL;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t item = 0; item < outer * panels; item++) {
        const int64_t o = item / panels, j0 = (item % panels) * SOFTMAX_PANEL;
        const int64_t width = inner - j0 < SOFTMAX_PANEL ? inner - j0 : SOFTMAX_PANEL;
        const int64_t offset = o * dim_size * inner + j0;
#ifdef FC_SOFTMAX_AVX512
        if (row_avx512) {
            softmax_backward_row_avx512_f32((float *)(grad_x + offset),
                                            (const float *)(grad_out + offset),
                                            (const float *)(out + offset), dim_size);
            continue;
        }
#endif
        real dot[SOFTMAX_PANEL];
        for (int64_t j = 0; j < width; j++)
            dot[j] = 0;
        for (int64_t d = 0; d < dim_size; d++) {
            const int64_t at = offset + d * inner;
            for (int64_t j = 0; j < width; j++)
                dot[j] += grad_out[at + j] * out[at + j];
        }
        for (int64_t d = 0; d < dim_size; d++) {
            const int64_t at = offset + d * inner;
            for (int64_t j = 0; j < width; j++)
                grad_x[at + j] = out[at + j] * (grad_out[at + j] - dot[j]);
        }
    }
}

/* out: (outer, D, inner) OUT;  x: (outer, D, inner) IN.
 * out = (x - max) - log(sum_D exp(x - max)); never forms the softmax, so tiny
 * probabilities keep their logarithm instead of becoming log(0). */
void FC_FN(log_softmax_forward)(real *restrict out, const real *restrict x,
                                int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
{
    /* contiguous float rows: the AVX-512 loops (softmax_avx512.h) */
    const int row_avx512 = sizeof(real) == sizeof(float) && inner == 1 && softmax_use_avx512();
    (void)row_avx512;  /* unused without them */
    const int64_t panels = (inner + SOFTMAX_PANEL - 1) / SOFTMAX_PANEL;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t item = 0; item < outer * panels; item++) {
        const int64_t o = item / panels, j0 = (item % panels) * SOFTMAX_PANEL;
        const int64_t width = inner - j0 < SOFTMAX_PANEL ? inner - j0 : SOFTMAX_PANEL;
        const int64_t offset = o * dim_size * inner + j0;
        real max[SOFTMAX_PANEL], log_sum[SOFTMAX_PANEL];
        FC_FN(softmax_panel_stats)(max, log_sum, NULL, x + offset, dim_size, inner, width);
        for (int64_t j = 0; j < width; j++)
            log_sum[j] = log(log_sum[j]);
#ifdef FC_SOFTMAX_AVX512
        if (row_avx512) {
            log_softmax_row_avx512_f32((float *)(out + offset), (const float *)(x + offset),
                                       dim_size, (float)max[0], (float)log_sum[0]);
            continue;
        }
#endif
        for (int64_t d = 0; d < dim_size; d++) {
            const int64_t at = offset + d * inner;
            for (int64_t j = 0; j < width; j++)
                out[at + j] = (x[at + j] - max[j]) - log_sum[j];
        }
    }
}

/* grad_x: (outer, D, inner) OUT;  grad_out, out: (outer, D, inner) IN, `out` = log_softmax(x).
 * grad_x = grad_out - exp(out) * sum_D grad_out. */
void FC_FN(log_softmax_backward)(real *restrict grad_x, const real *restrict grad_out,
                                 const real *restrict out,
                                 int64_t outer, int64_t dim_size, int64_t inner, int num_threads)
{
    /* contiguous float rows: the AVX-512 loops (softmax_avx512.h) */
    const int row_avx512 = sizeof(real) == sizeof(float) && inner == 1 && softmax_use_avx512();
    (void)row_avx512;  /* unused without them */
    const int64_t panels = (inner + SOFTMAX_PANEL - 1) / SOFTMAX_PANEL;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t item = 0; item < outer * panels; item++) {
        const int64_t o = item / panels, j0 = (item % panels) * SOFTMAX_PANEL;
        const int64_t width = inner - j0 < SOFTMAX_PANEL ? inner - j0 : SOFTMAX_PANEL;
        const int64_t offset = o * dim_size * inner + j0;
#ifdef FC_SOFTMAX_AVX512
        if (row_avx512) {
            log_softmax_backward_row_avx512_f32((float *)(grad_x + offset),
                                                (const float *)(grad_out + offset),
                                                (const float *)(out + offset), dim_size);
            continue;
        }
#endif
        real total[SOFTMAX_PANEL];
        for (int64_t j = 0; j < width; j++)
            total[j] = 0;
        for (int64_t d = 0; d < dim_size; d++) {
            const int64_t at = offset + d * inner;
            for (int64_t j = 0; j < width; j++)
                total[j] += grad_out[at + j];
        }
        for (int64_t d = 0; d < dim_size; d++) {
            const int64_t at = offset + d * inner;
            for (int64_t j = 0; j < width; j++)
                grad_x[at + j] = grad_out[at + j] - exp(out[at + j]) * total[j];
        }
    }
}
