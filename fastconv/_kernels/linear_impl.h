/* Kernel bodies of linear.c, written once over `real`; linear.c includes this file once
 * per precision. Matrices are row-major: `rows` is the batch (every leading axis of x
 * flattened), `in_features` and `out_features` the feature axes.
 *
 * The three products are GEMMs on the engine (gemm.h); transposed operands are the same
 * buffers read through swapped strides, so nothing is copied besides the engine's packing.
 * The engine sums each element in a fixed order, so results do not depend on the thread
 * count; so does grad_bias below. */

/* y: (rows, out_features) OUT;  x: (rows, in_features) IN;
 * weight: (out_features, in_features) IN;  bias: (out_features,) IN, or NULL for no bias */
void FC_FN(linear_forward)(real *y, const real *x, const real *weight, const real *bias,
                           int64_t rows, int64_t in_features, int64_t out_features,
                           int num_threads)
{
    /* y = x W^T + b: the bias is per column of y, added after the last k block. */
    const FC_FN(fc_matrix) x_rows = {x, in_features, 1};
    const FC_FN(fc_matrix) weight_t = {weight, 1, in_features};
    const FC_FN(fc_epilogue) epilogue = {.c = y, .ldc = out_features, .col_bias = bias};
    FC_FN(fc_gemm)(rows, out_features, in_features, FC_FN(fc_pack_rows), &x_rows,
                   FC_FN(fc_pack_cols), &weight_t, &epilogue, num_threads);
}

/* grad_x: (rows, in_features) OUT;  grad_weight: (out_features, in_features) OUT;
 * grad_bias: (out_features,) OUT;  grad_y: (rows, out_features) IN;
 * x: (rows, in_features) IN;  weight: (out_features, in_features) IN.
 * A NULL grad_x, grad_weight or grad_bias is not computed (a caller that needs only some,
 * as a convolution's output_mask, pays for those alone). */
void FC_FN(linear_backward)(real *grad_x, real *grad_weight, real *restrict grad_bias,
                            const real *restrict grad_y, const real *x, const real *weight,
                            int64_t rows, int64_t in_features, int64_t out_features,
                            int num_threads)
{
    /* grad_x = grad_y W */
    if (grad_x) {
        const FC_FN(fc_matrix) grad_y_rows = {grad_y, out_features, 1};
        const FC_FN(fc_matrix) weight_rows = {weight, in_features, 1};
        const FC_FN(fc_epilogue) to_grad_x = {.c = grad_x, .ldc = in_features};
        FC_FN(fc_gemm)(rows, in_features, out_features, FC_FN(fc_pack_rows), &grad_y_rows,
                       FC_FN(fc_pack_cols), &weight_rows, &to_grad_x, num_threads);
    }

    /* grad_weight = grad_y^T x: the sum over the batch is the GEMM's k, in order */
    if (grad_weight) {
        const FC_FN(fc_matrix) grad_y_t = {grad_y, 1, out_features};
        const FC_FN(fc_matrix) x_rows = {x, in_features, 1};
        const FC_FN(fc_epilogue) to_grad_weight = {.c = grad_weight, .ldc = in_features};
        FC_FN(fc_gemm)(out_features, in_features, rows, FC_FN(fc_pack_rows), &grad_y_t,
                       FC_FN(fc_pack_cols), &x_rows, &to_grad_weight, num_threads);
    }
    if (!grad_bias)
        return;

    /* grad_bias[o] = sum over i, in order, of grad_y[i, o]; threads own column tiles and
     * walk the rows, so the inner loop runs along grad_y's contiguous axis. */
    enum { TILE = 64 };
    const int64_t out_tiles = (out_features + TILE - 1) / TILE;
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel for num_threads(num_threads) schedule(static) if(out_tiles > 1)
    for (int64_t ot = 0; ot < out_tiles; ot++) {
        const int64_t o0 = ot * TILE;
        const int64_t o1 = o0 + TILE < out_features ? o0 + TILE : out_features;
        for (int64_t o = o0; o < o1; o++)
            grad_bias[o] = 0;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t o = o0; o < o1; o++)
                grad_bias[o] += grad_y[i * out_features + o];
    }
}
