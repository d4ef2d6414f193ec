/* Kernel bodies of linear.c, written once over `real`; linear.c includes this file once
 * per precision. Matrices are row-major: `rows` is the batch (every leading axis of x
 * flattened), `in_features` and `out_features` the feature axes.
 *
 * Straightforward loop nests, tiled so that a tile of rows is reused from cache, with
 * the innermost loop along a contiguous axis. Each output element is computed by one
 * thread, in a fixed order, so results do not depend on the thread count. */

/* The dot product of two contiguous vectors of length n. Element k goes to running sum
 * k % 8: eight independent sums fill SIMD registers without reassociating any sum (no
 * -ffast-math), and the rounding is fixed by this source, not by the CPU's vector width. */
static real FC_FN(dot)(const real *restrict a, const real *restrict b, int64_t n)
{
    real lane[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; l++)
            lane[l] += a[k + l] * b[k + l];
    real sum = 0;
    for (int l = 0; l < 8; l++)
        sum += lane[l];
    for (; k < n; k++)
        sum += a[k] * b[k];
    return sum;
}

/* y: (rows, out_features) OUT;  x: (rows, in_features) IN;
 * weight: (out_features, in_features) IN;  bias: (out_features,) IN, or NULL for no bias */
void FC_FN(linear_forward)(real *restrict y, const real *restrict x,
                           const real *restrict weight, const real *restrict bias,
                           int64_t rows, int64_t in_features, int64_t out_features,
                           int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    /* A weight row is read from memory once per tile of ROW_TILE rows of x, which stay
     * in cache while OUT_TILE weight rows pass over them. */
    enum { ROW_TILE = 8, OUT_TILE = 32 };
    const int64_t row_tiles = (rows + ROW_TILE - 1) / ROW_TILE;
    const int64_t out_tiles = (out_features + OUT_TILE - 1) / OUT_TILE;

    #pragma omp parallel for collapse(2) num_threads(num_threads) schedule(static)
    for (int64_t rt = 0; rt < row_tiles; rt++) {
        for (int64_t ot = 0; ot < out_tiles; ot++) {
            const int64_t i0 = rt * ROW_TILE, o0 = ot * OUT_TILE;
            const int64_t i1 = i0 + ROW_TILE < rows ? i0 + ROW_TILE : rows;
            const int64_t o1 = o0 + OUT_TILE < out_features ? o0 + OUT_TILE : out_features;
            for (int64_t o = o0; o < o1; o++) {
                const real *w = weight + o * in_features;
                for (int64_t i = i0; i < i1; i++) {
                    real sum = FC_FN(dot)(x + i * in_features, w, in_features);
                    y[i * out_features + o] = bias ? sum + bias[o] : sum;
                }
            }
        }
    }
}

/* grad_x: (rows, in_features) OUT;  grad_weight: (out_features, in_features) OUT;
 * grad_bias: (out_features,) OUT;  grad_y: (rows, out_features) IN;
 * x: (rows, in_features) IN;  weight: (out_features, in_features) IN */
void FC_FN(linear_backward)(real *restrict grad_x, real *restrict grad_weight,
                            real *restrict grad_bias, const real *restrict grad_y,
                            const real *restrict x, const real *restrict weight,
                            int64_t rows, int64_t in_features, int64_t out_features,
                            int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    /* Column chunks split the work along in_features too, so a batch of one row still
     * keeps every thread busy; a tile of TILE x CHUNK accumulators stays in L1. */
    enum { TILE = 8, CHUNK = 256 };
    const int64_t chunks = (in_features + CHUNK - 1) / CHUNK;
    const int64_t row_tiles = (rows + TILE - 1) / TILE;
    const int64_t out_tiles = (out_features + TILE - 1) / TILE;

    /* grad_x[i, :] = sum over o, in order, of grad_y[i, o] * weight[o, :] */
    #pragma omp parallel for collapse(2) num_threads(num_threads) schedule(static)
    for (int64_t rt = 0; rt < row_tiles; rt++) {
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t i0 = rt * TILE, k0 = c * CHUNK;
            const int64_t i1 = i0 + TILE < rows ? i0 + TILE : rows;
            const int64_t k1 = k0 + CHUNK < in_features ? k0 + CHUNK : in_features;
            for (int64_t i = i0; i < i1; i++)
                for (int64_t k = k0; k < k1; k++)
                    grad_x[i * in_features + k] = 0;
            for (int64_t o = 0; o < out_features; o++) {
                const real *restrict w = weight + o * in_features;
                for (int64_t i = i0; i < i1; i++) {
                    const real g = grad_y[i * out_features + o];
                    real *restrict gx = grad_x + i * in_features;
                    for (int64_t k = k0; k < k1; k++)
                        gx[k] += g * w[k];
                }
            }
        }
    }

    /* grad_weight[o, :] = sum over i, in order, of grad_y[i, o] * x[i, :] */
    #pragma omp parallel for collapse(2) num_threads(num_threads) schedule(static)
    for (int64_t ot = 0; ot < out_tiles; ot++) {
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t o0 = ot * TILE, k0 = c * CHUNK;
            const int64_t o1 = o0 + TILE < out_features ? o0 + TILE : out_features;
            const int64_t k1 = k0 + CHUNK < in_features ? k0 + CHUNK : in_features;
            for (int64_t o = o0; o < o1; o++)
                for (int64_t k = k0; k < k1; k++)
                    grad_weight[o * in_features + k] = 0;
            for (int64_t i = 0; i < rows; i++) {
                const real *restrict xi = x + i * in_features;
                for (int64_t o = o0; o < o1; o++) {
                    const real g = grad_y[i * out_features + o];
                    real *restrict gw = grad_weight + o * in_features;
                    for (int64_t k = k0; k < k1; k++)
                        gw[k] += g * xi[k];
                }
            }
        }
    }

    /* grad_bias[o] = sum over i, in order, of grad_y[i, o] */
    #pragma omp parallel for num_threads(num_threads) schedule(static)
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
