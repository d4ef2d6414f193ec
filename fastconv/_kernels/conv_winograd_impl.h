/* 3x3 convolutions at stride 1 by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2016), over `real`.
 *
 * Each 2x2 block of outputs (a "tile") comes from the 4x4 input patch d under it:
 *
 *     Y = A^T [ U (.) V ] A,   U = G g G^T,   V = B^T d B      ((.): elementwise)
 *
 *           | 1  0  0 |          | 1  0 -1  0 |
 *     G  =  | ½  ½  ½ |   B^T =  | 0  1  1  0 |   A^T = | 1  1  1  0 |
 *           | ½ -½  ½ |          | 0 -1  1  0 |         | 0  1 -1 -1 |
 *           | 0  0  1 |          | 0  1  0 -1 |
 *
 * 16 multiplies per tile and channel pair instead of 36. Summed over input channels, the 16
 * products of a tile are 16 independent matrix products with tiles as rows,
 *
 *     M[p] (tiles x OC) = V[p] (tiles x C) * U[p]^T (C x OC),   p = 0 .. 15,
 *
 * on the GEMM engine's micro-kernel (gemm.h's fc_gemm_rows_by_packed: V's rows read in
 * place, U^T packed once per call). The price: three transforms (adds and subtracts only;
 * the filters' halves are exact) and different rounding: measured on random float32 layers
 * of 32-512 channels, 0.3-2x the direct sum's error relative to the terms' magnitudes.
 * Integer-valued inputs of moderate size stay exact (every intermediate is a multiple of 1/4).
 *
 * Channels are the vector axis: a row of tiles on a small image is a handful of 2-column
 * steps, too short for vectors along it. Each block's input rows are staged channels-last
 * and zero-padded (one SIMD transpose), so a tile's 4x4 patch is 16 runs of C adjacent values
 * and its transform runs in vectors over channels with no bounds to test; the output
 * transform runs in vectors over output channels, and each tile's 2x2 outputs (or their
 * max-pool) are then stored plane by plane.
 *
 * Work goes in blocks of tiles: all tiles of all images in one sequence (image by image,
 * row by row), cut into blocks of whole micro-kernel slivers of rows; a block's staging,
 * input transform, 16 GEMMs and output transform run in one thread, in its caches. Each
 * output's value depends only on its own tile, so the bits are the same for any thread count.
 *
 * Extra memory, kept across calls: the transformed filters, 16 * C * rows values (rows: OC
 * rounded up to the engine's NR; the calling thread's fc_workspace slot WORKSPACE_PARTIALS),
 * on their way 9 * C * NR values per thread (WORKSPACE_PADDED_INPUT);
 * per thread running a block, its staged rows (at most (block / tiles_w + 3) * 2 rows of
 * (2 * tiles_w + 2) * C values, plus two rows per image it touches, and as many rows of
 * W * C values again to transpose them through: WORKSPACE_PADDED_INPUT) and 16 * block *
 * (lane + rows) + 7 * OC values, lane at most C + 32 (WORKSPACE_CHANNELS_LAST); block <= 32 *
 * MR tiles.
 */
#include "vector_clones.h"
#include "denormals.h"

/* Shared by both precisions: compiled once. */
#ifndef FC_CONV_WINOGRAD_SHARED
#define FC_CONV_WINOGRAD_SHARED
/* How many threads the calling thread's team has (1 outside a parallel region). */
static inline int64_t omp_threads_in_team(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}
enum { WINOGRAD_POINTS = 16 };

/* The geometry every part of one call shares. */
typedef struct {
    int64_t N, C, H, W, OC, OH, OW, pad_top, pad_left;
    int64_t tiles_h, tiles_w, tiles;        /* per image: tiles_h x tiles_w; all: tiles */
    int64_t MR, NR, rows;                   /* rows: OC rounded up to a multiple of NR */
    int64_t lane;                           /* V's row length: C, or C + 32 (winograd_shape_of) */
    int64_t block;                          /* tiles per block, a multiple of MR */
} winograd_shape;
#endif

/* The taps of one sliver's filters with its output channels adjacent: taps[(c * 9 + k) * NR
 * + b] is tap k of the filter from input channel c to output channel oc0 + b, b < width, as
 * w lies (w: (OC, C, 3, 3) IN: the sliver's rows of w, an NR x 9C matrix, transposed), or
 * with flip before its taps are reversed (w: (C, OC, 3, 3) IN: per input channel a
 * width x 9 block of w, transposed by plain copies; a 512 -> 512 backward-data on one 4x4
 * image, nearly all of it the filters, took 3.8 ms so, 5.8 ms with the 16 x 16 SIMD
 * transpose of each block 9 wide, 14.5 ms with the transform reading w in stride-9 vectors).
 * taps: (C, 9, NR) OUT, columns b >= width not written. */
static void FC_FN(winograd_sliver_taps)(real *restrict taps, const real *restrict w, int flip,
                                        int64_t oc0, int64_t width, int64_t C, int64_t OC,
                                        int64_t NR)
{
    if (!flip) {
        const real *restrict rows = w + oc0 * 9 * C;
        if (FC_FN(fast_transpose)(taps, NR, rows, 9 * C, 1, width, 9 * C))
            return;
        for (int64_t b = 0; b < width; b++)
            for (int64_t j = 0; j < 9 * C; j++)
                taps[j * NR + b] = rows[b * 9 * C + j];
        return;
    }
    for (int64_t c = 0; c < C; c++) {
        real *restrict line = taps + c * 9 * NR;
        const real *restrict block = w + (c * OC + oc0) * 9;
        for (int64_t b = 0; b < width; b++)
            for (int k = 0; k < 9; k++)
                line[k * NR + b] = block[b * 9 + k];
    }
}

/* U = G g G^T of one output channel's filter from one input channel, as point p to
 * out[p * point_stride]: the filter's tap k at tap[k][at]. */
FC_ALWAYS_INLINE void FC_FN(winograd_filter_point)(real *restrict out, int64_t point_stride,
                                                   const real *const tap[9], int64_t at)
{
    const real g0 = tap[0][at], g1 = tap[1][at], g2 = tap[2][at];
    const real g3 = tap[3][at], g4 = tap[4][at], g5 = tap[5][at];
    const real g6 = tap[6][at], g7 = tap[7][at], g8 = tap[8][at];
    /* t = G g, row by row (4 x 3) */
    const real t10 = (g0 + g3 + g6) * (real)0.5, t11 = (g1 + g4 + g7) * (real)0.5;
    const real t12 = (g2 + g5 + g8) * (real)0.5;
    const real t20 = (g0 - g3 + g6) * (real)0.5, t21 = (g1 - g4 + g7) * (real)0.5;
    const real t22 = (g2 - g5 + g8) * (real)0.5;
    /* u = t G^T */
    const real row[4][3] = { { g0, g1, g2 }, { t10, t11, t12 }, { t20, t21, t22 },
                             { g6, g7, g8 } };
    for (int i = 0; i < 4; i++) {
        out[(i * 4 + 0) * point_stride] = row[i][0];
        out[(i * 4 + 1) * point_stride] = (row[i][0] + row[i][1] + row[i][2]) * (real)0.5;
        out[(i * 4 + 2) * point_stride] = (row[i][0] - row[i][1] + row[i][2]) * (real)0.5;
        out[(i * 4 + 3) * point_stride] = row[i][2];
    }
}

/* U = G g G^T of one sliver's filters (output channels oc0 .. oc0 + width - 1), every input
 * channel, as the engine's packed B operand of each point: element (c, b) of point p at
 * packed[p * point_stride + c * NR + b], zero for b >= width. The taps as
 * winograd_sliver_taps lays them, in order or (reverse) reversed. One loop over the sliver's
 * output channels, so that the transform runs in vectors with adjacent loads and stores.
 * packed: (16, C, NR) at point_stride OUT;  taps: (C, 9, NR) IN. */
FC_VECTOR_CLONES
static void FC_FN(winograd_filter_sliver)(real *restrict packed, int64_t point_stride,
                                          const real *restrict taps, int reverse, int64_t width,
                                          int64_t C, int64_t NR)
{
    for (int64_t c = 0; c < C; c++) {
        const real *tap[9];
        for (int k = 0; k < 9; k++)
            tap[k] = taps + (c * 9 + (reverse ? 8 - k : k)) * NR;
        real *restrict out = packed + c * NR;
        /* the 9 loads and 16 stores never overlap: vectorise (gcc would not on its own) */
        #pragma omp simd
        for (int64_t b = 0; b < width; b++)
            FC_FN(winograd_filter_point)(out + b, point_stride, tap, b);
        for (int64_t b = width; b < NR; b++)
            for (int p = 0; p < WINOGRAD_POINTS; p++)
                out[p * point_stride + b] = 0;
    }
}

/* Stages padded rows [row_first, row_end) of image n (row r of the padded image is input row
 * r - pad_top) channels-last: staged[(r - row_first) * Wp + col][c] is input (r - pad_top,
 * col - pad_left) of channel c, zero outside the image. The image rows go through
 * `pixels` channels-last in one transpose (one per row took 13% of a 64 -> 32 11x11 layer's
 * backward-data: rows of 11 pixels), then row by row into place.
 * staged: (row_end - row_first, Wp, C) OUT;  pixels: ((row_end - row_first) * W, C) scratch;
 * x: (N, C, H, W) IN. */
static void FC_FN(winograd_stage_rows)(real *restrict staged, real *restrict pixels,
                                       const real *restrict x, const winograd_shape *s,
                                       int64_t Wp, int64_t n, int64_t row_first,
                                       int64_t row_end)
{
    const int64_t C = s->C, H = s->H, W = s->W, pad_left = s->pad_left;
    /* input columns that land inside the Wp staged ones, input rows inside the range */
    const int64_t cols = W < Wp - pad_left ? W : Wp - pad_left;
    const int64_t h_first = row_first - s->pad_top > 0 ? row_first - s->pad_top : 0;
    const int64_t h_end = row_end - s->pad_top < H ? row_end - s->pad_top : H;
    if (h_end > h_first) {
        const real *src = x + (n * C * H + h_first) * W;
        const int64_t count = (h_end - h_first) * W;
        if (!FC_FN(fast_transpose)(pixels, C, src, H * W, 1, C, count))
            for (int64_t q = 0; q < count; q++)
                for (int64_t c = 0; c < C; c++)
                    pixels[q * C + c] = src[c * H * W + q];
    }
    for (int64_t r = row_first; r < row_end; r++) {
        real *restrict row = staged + (r - row_first) * Wp * C;
        const int64_t h = r - s->pad_top;
        if (h < 0 || h >= H || cols <= 0) {
            for (int64_t k = 0; k < Wp * C; k++)
                row[k] = 0;
            continue;
        }
        for (int64_t k = 0; k < pad_left * C; k++)
            row[k] = 0;
        memcpy(row + pad_left * C, pixels + (h - h_first) * W * C, (size_t)(cols * C) * sizeof(real));
        for (int64_t k = (pad_left + cols) * C; k < Wp * C; k++)
            row[k] = 0;
    }
}

/* V = B^T d B of one tile for every channel: d's value (i, j) for channel c at
 * patch[(i * Wp + j) * C + c]; point p to v[p * point_stride + c]. */
FC_VECTOR_CLONES
static void FC_FN(winograd_input_tile)(real *restrict v, int64_t point_stride,
                                       const real *restrict patch, int64_t Wp, int64_t C)
{
    const real *restrict r0 = patch, *restrict r1 = patch + Wp * C;
    const real *restrict r2 = patch + 2 * Wp * C, *restrict r3 = patch + 3 * Wp * C;
    #pragma omp simd
    for (int64_t c = 0; c < C; c++) {
        real e[4][4];
        for (int j = 0; j < 4; j++) {
            const real d0 = r0[j * C + c], d1 = r1[j * C + c];
            const real d2 = r2[j * C + c], d3 = r3[j * C + c];
            e[0][j] = d0 - d2;
            e[1][j] = d1 + d2;
            e[2][j] = d2 - d1;
            e[3][j] = d1 - d3;
        }
        for (int i = 0; i < 4; i++) {
            v[(i * 4 + 0) * point_stride + c] = e[i][0] - e[i][2];
            v[(i * 4 + 1) * point_stride + c] = e[i][1] + e[i][2];
            v[(i * 4 + 2) * point_stride + c] = e[i][2] - e[i][1];
            v[(i * 4 + 3) * point_stride + c] = e[i][1] - e[i][3];
        }
    }
}

/* Y = A^T M A of one tile for every output channel, + bias, then ReLU: output (a, b) of
 * channel oc to y[(a * 2 + b) * OC + oc]. m: point p of channel oc at m[p * point_stride + oc];
 * bias: (OC,) IN, never NULL (a masked vector load of a NULL bias, though it reads nothing,
 * costs a fault's assist per vector). */
FC_VECTOR_CLONES
static void FC_FN(winograd_output_tile)(real *restrict y, const real *restrict m,
                                        int64_t point_stride, const real *restrict bias,
                                        int relu, int64_t OC)
{
    #pragma omp simd
    for (int64_t oc = 0; oc < OC; oc++) {
        real s0[4], s1[4];
        for (int i = 0; i < 4; i++) {
            const real m0 = m[(i * 4 + 0) * point_stride + oc];
            const real m1 = m[(i * 4 + 1) * point_stride + oc];
            const real m2 = m[(i * 4 + 2) * point_stride + oc];
            const real m3 = m[(i * 4 + 3) * point_stride + oc];
            s0[i] = m0 + m1 + m2;
            s1[i] = m1 - m2 - m3;
        }
        const real b = bias[oc];
        const real out[4] = { s0[0] + s0[1] + s0[2] + b, s1[0] + s1[1] + s1[2] + b,
                              s0[1] - s0[2] - s0[3] + b, s1[1] - s1[2] - s1[3] + b };
        for (int k = 0; k < 4; k++)
            y[k * OC + oc] = !relu || out[k] > 0 || out[k] != out[k] ? out[k] : 0;
    }
}

/* The 2x2 max-pool of one tile for every output channel, as max_pool2d takes it (row-major,
 * a later value wins if strictly greater or NaN), without a branch per value (on random
 * data one was mispredicted often enough to take a third of the simple CNN's conv2):
 * the maximum to best[oc], its place in the tile (a * 2 + b) to place[oc]. y as
 * winograd_output_tile gives it. */
FC_VECTOR_CLONES
static void FC_FN(winograd_pool_channels)(real *restrict best, int32_t *restrict place,
                                          const real *restrict y, int64_t OC)
{
    #pragma omp simd
    for (int64_t oc = 0; oc < OC; oc++) {
        real top = y[oc];
        int32_t at = 0;
        for (int32_t k = 1; k < 4; k++) {
            const real value = y[k * OC + oc];
            const int wins = value > top || value != value;
            top = wins ? value : top;
            at = wins ? k : at;
        }
        best[oc] = top;
        place[oc] = at;
    }
}

/* Gy = A dY A^T of one tile of grad_out for every output channel (the adjoint of the output
 * transform): dY's 2x2 values (a, b) of channel oc at patch[(a * Wp + b) * OC + oc]; point p
 * to g[p * point_stride + oc]. */
FC_VECTOR_CLONES
static void FC_FN(winograd_gradient_tile)(real *restrict g, int64_t point_stride,
                                          const real *restrict patch, int64_t Wp, int64_t OC)
{
    #pragma omp simd
    for (int64_t oc = 0; oc < OC; oc++) {
        const real y00 = patch[oc], y01 = patch[OC + oc];
        const real y10 = patch[Wp * OC + oc], y11 = patch[(Wp + 1) * OC + oc];
        /* A dY, column by column, then times A^T */
        const real left[4] = { y00, y00 + y10, y00 - y10, -y10 };
        const real right[4] = { y01, y01 + y11, y01 - y11, -y11 };
        for (int i = 0; i < 4; i++) {
            g[(i * 4 + 0) * point_stride + oc] = left[i];
            g[(i * 4 + 1) * point_stride + oc] = left[i] + right[i];
            g[(i * 4 + 2) * point_stride + oc] = left[i] - right[i];
            g[(i * 4 + 3) * point_stride + oc] = -right[i];
        }
    }
}

/* The tiles [first, first + count) of a block transformed, channel vectors, tile k's point p
 * to v[(p * count + k) * lane_stride + c] (lane_stride >= channels): with gradient 0, V =
 * B^T d B of x's 4x4 patches (channels C; `s` as the convolution's), with gradient 1, Gy =
 * A dY A^T of grad_out's 2x2 tiles (channels OC; `s` with C, H, W = OC, OH, OW and no
 * padding). The rows under the tiles of each image are staged channels-last first
 * (WORKSPACE_PADDED_INPUT). */
static void FC_FN(winograd_transform_tiles)(real *restrict v, int64_t lane_stride,
                                            const real *restrict x,
                                            const winograd_shape *s, int gradient,
                                            int64_t first, int64_t count)
{
    const int64_t C = s->C, reach = gradient ? 2 : 4;
    const int64_t Wp = 2 * s->tiles_w + (gradient ? 0 : 2), per_image = s->tiles_h * s->tiles_w;
    const int64_t last = first + count - 1;
    const int64_t n_first = first / per_image, n_last = last / per_image;
    /* the rows of tiles each image of the block has in it, staged one image after another */
    int64_t staged_values = 0, most_rows = 0;
    for (int64_t n = n_first; n <= n_last; n++) {
        const int64_t th_lo = n == n_first ? first % per_image / s->tiles_w : 0;
        const int64_t th_hi = n == n_last ? last % per_image / s->tiles_w : s->tiles_h - 1;
        const int64_t rows = 2 * (th_hi - th_lo) + reach;
        staged_values += rows * Wp * C;
        most_rows = rows > most_rows ? rows : most_rows;
    }
    real *staged = fc_workspace(WORKSPACE_PADDED_INPUT,
                                (size_t)(staged_values + most_rows * s->W * C) * sizeof(real));
    if (!staged)
        abort();  /* a few MiB could not be had: nothing sensible is left to do in C */
    int64_t lane = 0;
    real *image_rows = staged;
    for (int64_t n = n_first; n <= n_last; n++) {
        const int64_t th_lo = n == n_first ? first % per_image / s->tiles_w : 0;
        const int64_t th_hi = n == n_last ? last % per_image / s->tiles_w : s->tiles_h - 1;
        FC_FN(winograd_stage_rows)(image_rows, staged + staged_values, x, s, Wp, n, 2 * th_lo,
                                   2 * th_hi + reach);
        const int64_t t_lo = n == n_first ? first % per_image : 0;
        const int64_t t_end = n == n_last ? last % per_image + 1 : per_image;
        for (int64_t t = t_lo; t < t_end; t++, lane++) {
            const int64_t th = t / s->tiles_w, tw = t % s->tiles_w;
            const real *patch = image_rows + (2 * (th - th_lo) * Wp + 2 * tw) * C;
            if (gradient)
                FC_FN(winograd_gradient_tile)(v + lane * lane_stride, count * lane_stride, patch,
                                              Wp, C);
            else
                FC_FN(winograd_input_tile)(v + lane * lane_stride, count * lane_stride, patch,
                                           Wp, C);
        }
        image_rows += (2 * (th_hi - th_lo) + reach) * Wp * C;
    }
}

/* One block of tiles: stage, input transform, 16 GEMMs, output transform. */
static void FC_FN(winograd_block)(real *restrict out, int64_t *restrict pool_indices,
                                  const real *restrict x, const real *restrict filters,
                                  const real *restrict bias, int relu, const winograd_shape *s,
                                  int64_t block_index)
{
    const int64_t C = s->C, OC = s->OC, OH = s->OH, OW = s->OW;
    const int64_t per_image = s->tiles_h * s->tiles_w;
    const int64_t first = block_index * s->block;
    const int64_t count = s->tiles - first < s->block ? s->tiles - first : s->block;
    const int64_t lane = s->lane;
    real *v = fc_workspace(WORKSPACE_CHANNELS_LAST,
                           (size_t)(WINOGRAD_POINTS * s->block * (lane + s->rows) + 7 * OC) *
                           sizeof(real));
    if (!v)
        abort();  /* a few MiB could not be had: nothing sensible is left to do in C */
    real *m = v + WINOGRAD_POINTS * s->block * lane;
    real *y = m + WINOGRAD_POINTS * s->block * s->rows;
    real *zeros = y + 6 * OC;
    if (!bias) {
        for (int64_t oc = 0; oc < OC; oc++)
            zeros[oc] = 0;
        bias = zeros;
    }
    FC_FN(winograd_transform_tiles)(v, lane, x, s, 0, first, count);
    /* a tile's 16 points side by side in M, for the output transform to read in one stretch */
    for (int64_t p = 0; p < WINOGRAD_POINTS; p++)
        FC_FN(fc_gemm_rows_by_packed)(count, OC, C, v + p * count * lane, lane,
                                      filters + p * C * s->rows, m + p * s->rows,
                                      WINOGRAD_POINTS * s->rows);
    const int64_t PH = OH / 2, PW = OW / 2;
    for (int64_t k = 0; k < count; k++) {
        const int64_t t = first + k, n = t / per_image;
        const int64_t th = t % per_image / s->tiles_w, tw = t % s->tiles_w;
        if (pool_indices && (th >= PH || tw >= PW))
            continue;
        FC_FN(winograd_output_tile)(y, m + k * WINOGRAD_POINTS * s->rows, s->rows, bias, relu,
                                    OC);
        if (pool_indices) {
            real *best = y + 4 * OC;
            int32_t *place = (int32_t *)(best + OC);
            FC_FN(winograd_pool_channels)(best, place, y, OC);
            for (int64_t oc = 0; oc < OC; oc++) {
                const int64_t at = ((n * OC + oc) * PH + th) * PW + tw;
                out[at] = best[oc];
                pool_indices[at] = (2 * th + place[oc] / 2) * OW + 2 * tw + place[oc] % 2;
            }
            continue;
        }
        const int64_t rows = 2 * th + 1 < OH ? 2 : 1, cols = 2 * tw + 1 < OW ? 2 : 1;
        for (int64_t oc = 0; oc < OC; oc++) {
            real *restrict dst = out + ((n * OC + oc) * OH + 2 * th) * OW + 2 * tw;
            for (int64_t a = 0; a < rows; a++)
                for (int64_t b = 0; b < cols; b++)
                    dst[a * OW + b] = y[(a * 2 + b) * OC + oc];
        }
    }
}

/* One call's geometry: rows is OC rounded up for the product's columns (to NR in the
 * forward, OC itself in backward-weight); block as many whole slivers of MR tiles (1 to 32)
 * as keep a block's two transformed operands, 16 * (lane + rows) values a tile, within
 * block_bytes. */
static winograd_shape FC_FN(winograd_shape_of)(int64_t N, int64_t C, int64_t H, int64_t W,
                                               int64_t OC, int64_t OH, int64_t OW,
                                               int64_t pad_top, int64_t pad_left, int round_rows,
                                               int64_t block_bytes)
{
    int64_t MR, NR;
    FC_FN(fc_gemm_sliver_widths)(&MR, &NR);
    winograd_shape s = { .N = N, .C = C, .H = H, .W = W, .OC = OC, .OH = OH, .OW = OW,
                         .pad_top = pad_top, .pad_left = pad_left,
                         .tiles_h = (OH + 1) / 2, .tiles_w = (OW + 1) / 2,
                         .MR = MR, .NR = NR, .rows = round_rows ? (OC + NR - 1) / NR * NR : OC };
    s.tiles = N * s.tiles_h * s.tiles_w;
    /* V's rows (a tile's channels at one point), read in place by the micro-kernel 14 at a
     * time, 32 values longer where C is a multiple of 64: measured on 512 -> 512 4x4, 0.90x
     * the forward's time at 1 thread, 0.92x at 2 (+16: 0.95x); 256 and 64 channels 0.97-0.98x */
    s.lane = C % 64 == 0 ? C + 32 : C;
    const int64_t tile_bytes = WINOGRAD_POINTS * (s.lane + s.rows) * (int64_t)sizeof(real);
    const int64_t slivers = block_bytes / (tile_bytes * MR);
    s.block = (slivers < 1 ? 1 : slivers > 32 ? 32 : slivers) * MR;
    return s;
}

/* The Winograd convolution: 3x3 filters, stride and dilation 1, one group, any padding.
 * out: (N, OC, OH, OW) OUT, or with pool_indices the 2x2 stride-2 max-pool of that (floor
 * mode) and its indices (flat in the OH x OW plane, as max_pool2d gives them), both
 * (N, OC, OH / 2, OW / 2) OUT;  x: (N, C, H, W) IN;  w: (OC, C, 3, 3) IN, or with flip
 * (C, OC, 3, 3) IN, whose channels swapped and taps reversed are the filters (backward-data
 * at stride 1 is this convolution of grad_out);  bias: (OC,) IN or NULL;  relu: 1 for
 * max(0, .) (NaN kept). Returns 0, having written nothing, for C = 0 (an empty sum the
 * micro-kernel does not take). */
int FC_FN(conv2d_winograd)(real *restrict out, int64_t *restrict pool_indices,
                           const real *restrict x, const real *restrict w, int flip,
                           const real *restrict bias, int relu, int64_t N, int64_t C, int64_t H,
                           int64_t W, int64_t OC, int64_t OH, int64_t OW, int64_t pad_top,
                           int64_t pad_left, int num_threads)
{
    if (C < 1)
        return 0;
    /* a block's operands within about half of a 1 MiB L2 */
    winograd_shape s = FC_FN(winograd_shape_of)(N, C, H, W, OC, OH, OW, pad_top, pad_left, 1,
                                                (int64_t)512 << 10);
    if (s.tiles == 0 || OC == 0)
        return 1;
    const int64_t MR = s.MR, NR = s.NR;
    /* smaller blocks where there are too few for the threads (a tile's outputs do not
     * depend on its block) */
    const int64_t fair_share = ((s.tiles + MR - 1) / MR + num_threads - 1) / num_threads;
    if (num_threads > 1 && s.block > fair_share * MR)
        s.block = fair_share * MR;
    /* The filters transformed, U[p]^T (C x OC) for each point, packed as the engine's B
     * operands (shared by all blocks), sliver by sliver: a sliver's taps gathered with its
     * output channels adjacent (in its thread's WORKSPACE_PADDED_INPUT, 9 * C * NR values,
     * free until the blocks start), then transformed into place: one pass over w and one
     * over the packed filters. A 512 -> 512 forward on one 4x4 image (1 thread, nearly all
     * of it the filters) took 6.8 ms with w transformed as it lay, then each point's U
     * transposed and packed; 3.8 ms with w transposed whole first; 2.8 ms so. */
    real *filters = fc_workspace(WORKSPACE_PARTIALS,
                                 (size_t)(WINOGRAD_POINTS * C * s.rows) * sizeof(real));
    if (!filters)
        abort();  /* a few MiB could not be had: nothing sensible is left to do in C */
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t oc0 = 0; oc0 < OC; oc0 += NR) {
        real *taps = fc_workspace(WORKSPACE_PADDED_INPUT, (size_t)(9 * C * NR) * sizeof(real));
        if (!taps)
            abort();  /* see above */
        const int64_t width = OC - oc0 < NR ? OC - oc0 : NR;
        FC_FN(winograd_sliver_taps)(taps, w, flip, oc0, width, C, OC, NR);
        FC_FN(winograd_filter_sliver)(filters + oc0 * C, C * s.rows, taps, flip, width, C, NR);
    }
    const int64_t blocks = (s.tiles + s.block - 1) / s.block;
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1 && blocks > 1)
    for (int64_t b = 0; b < blocks; b++) {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        FC_FN(winograd_block)(out, pool_indices, x, filters, bias, relu, &s, b);
        fc_flush_denormals_end(caller_mode);
    }
    return 1;
}

/* Backward-weight by the same transforms: with Gy = A dY A^T of each tile of grad_out (the
 * output transform's adjoint) and V as the forward's,
 *
 *     dU[p] (OC x C) = sum over tiles of Gy[p]^T (OC x tiles) * V[p] (tiles x C),
 *     grad_w[oc][c] = G^T dU[oc][c] G                     (the filter transform's adjoint)
 *
 * 16 long GEMMs (the reduction runs over every tile of the batch) and 36 -> 16 multiplies
 * per tile and channel pair again. The tiles go in blocks (sized by the shape, never by the
 * thread count), the blocks in at most 16 chunks of consecutive blocks, each chunk's sums in
 * its own buffer block after block, the chunks then added in chunk order: the same bits for
 * any thread count. */

/* One block's products added to (or, first, written as) a chunk's sums.
 * sums: (16, OC, C) IN/OUT;  x: (N, C, H, W) IN;  grad_out: (N, OC, OH, OW) IN;  grads: the
 * shape of grad_out as winograd_transform_tiles takes it. */
static void FC_FN(winograd_weight_block)(real *restrict sums, const real *restrict x,
                                         const real *restrict grad_out,
                                         const winograd_shape *s, const winograd_shape *grads,
                                         int64_t block_index, int accumulate)
{
    const int64_t C = s->C, OC = s->OC, lane = s->lane;
    const int64_t first = block_index * s->block;
    const int64_t count = s->tiles - first < s->block ? s->tiles - first : s->block;
    real *v = fc_workspace(WORKSPACE_CHANNELS_LAST,
                           (size_t)(WINOGRAD_POINTS * s->block * (lane + OC)) * sizeof(real));
    if (!v)
        abort();  /* a few MiB could not be had: nothing sensible is left to do in C */
    real *g = v + WINOGRAD_POINTS * s->block * lane;
    FC_FN(winograd_transform_tiles)(v, lane, x, s, 0, first, count);
    FC_FN(winograd_transform_tiles)(g, OC, grad_out, grads, 1, first, count);
    for (int64_t p = 0; p < WINOGRAD_POINTS; p++) {
        /* Gy[p]^T: element (oc, tile) at tile * OC + oc */
        const FC_FN(fc_matrix) gradients = { g + p * count * OC, 1, OC };
        const FC_FN(fc_matrix) tiles = { v + p * count * lane, lane, 1 };
        const FC_FN(fc_epilogue) product = { .c = sums + p * OC * C, .ldc = C,
                                             .accumulate = accumulate };
        FC_FN(fc_gemm)(OC, C, count, FC_FN(fc_pack_rows), &gradients, FC_FN(fc_pack_cols),
                       &tiles, &product, 1);
    }
}

/* grad_w = G^T dU G for output channels [oc_first, oc_end), every input channel.
 * grad_w: (OC, C, 3, 3) OUT;  sums: (16, OC, C) IN. */
FC_VECTOR_CLONES
static void FC_FN(winograd_weight_filters)(real *restrict grad_w, const real *restrict sums,
                                           int64_t oc_first, int64_t oc_end, int64_t OC,
                                           int64_t C)
{
    const int64_t point_stride = OC * C;
    for (int64_t oc = oc_first; oc < oc_end; oc++) {
        const real *restrict m = sums + oc * C;
        real *restrict out = grad_w + oc * C * 9;
        #pragma omp simd
        for (int64_t c = 0; c < C; c++) {
            real t[3][4];
            for (int j = 0; j < 4; j++) {
                const real m0 = m[(0 + j) * point_stride + c], m1 = m[(4 + j) * point_stride + c];
                const real m2 = m[(8 + j) * point_stride + c], m3 = m[(12 + j) * point_stride + c];
                t[0][j] = m0 + (m1 + m2) * (real)0.5;
                t[1][j] = (m1 - m2) * (real)0.5;
                t[2][j] = (m1 + m2) * (real)0.5 + m3;
            }
            for (int i = 0; i < 3; i++) {
                out[c * 9 + i * 3 + 0] = t[i][0] + (t[i][1] + t[i][2]) * (real)0.5;
                out[c * 9 + i * 3 + 1] = (t[i][1] - t[i][2]) * (real)0.5;
                out[c * 9 + i * 3 + 2] = (t[i][1] + t[i][2]) * (real)0.5 + t[i][3];
            }
        }
    }
}

/* Winograd's backward-weight: 3x3 filters, stride and dilation 1, one group, any padding.
 * grad_w: (OC, C, 3, 3) OUT;  grad_out: (N, OC, OH, OW) IN;  x: (N, C, H, W) IN. No bias
 * gradient. Extra memory: the chunks' sums, at most 16 * 16 * OC * C values (fewer chunks
 * for wide layers: about 8M values in all; the calling thread's WORKSPACE_PARTIALS), and per
 * thread the staging of conv2d_winograd plus 16 * block * (C + 32 + OC) values. */
void FC_FN(conv2d_backward_weight_winograd)(real *restrict grad_w, const real *restrict grad_out,
                                            const real *restrict x, int64_t N, int64_t C,
                                            int64_t H, int64_t W, int64_t OC, int64_t OH,
                                            int64_t OW, int64_t pad_top, int64_t pad_left,
                                            int num_threads)
{
    /* Blocks sized by the shape alone (the chunks' sums must not depend on the threads):
     * each block adds its 16 products into its chunk's sums, 16 * OC * C values read and
     * written again, so a block's operands get the larger of 1 MiB and half the sums' bytes.
     * Against 512 KiB (alternating, batch 64; 1 / 2 threads): 256 -> 256 on 8x8 0.84x /
     * 0.92x the time (blocks of 56 tiles; 14 before), 128 -> 128 on 16x16 0.90x / 0.97x (56;
     * 28), 64 -> 64 on 32x32 0.98x / 0.95x (98; 42); blocks twice as large again were no
     * faster (64 channels: slower). */
    const int64_t sums_bytes = WINOGRAD_POINTS * OC * C * (int64_t)sizeof(real);
    winograd_shape s = FC_FN(winograd_shape_of)(N, C, H, W, OC, OH, OW, pad_top, pad_left, 0,
                                                sums_bytes / 2 > ((int64_t)1 << 20)
                                                    ? sums_bytes / 2 : (int64_t)1 << 20);
    if (s.tiles == 0) {
        for (int64_t k = 0; k < OC * C * 9; k++)
            grad_w[k] = 0;
        return;
    }
    winograd_shape grads = s;
    grads.C = OC;
    grads.H = OH;
    grads.W = OW;
    grads.pad_top = grads.pad_left = 0;
    const int64_t blocks = (s.tiles + s.block - 1) / s.block, sums_size = WINOGRAD_POINTS * OC * C;
    int64_t chunks = ((int64_t)8 << 20) / sums_size;
    chunks = chunks < 1 ? 1 : chunks > 16 ? 16 : chunks;
    chunks = chunks > blocks ? blocks : chunks;
    real *sums = fc_workspace(WORKSPACE_PARTIALS, (size_t)(chunks * sums_size) * sizeof(real));
    if (!sums)
        abort();  /* see winograd_block */
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1 && chunks > 1)
    for (int64_t chunk = 0; chunk < chunks; chunk++) {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        const int64_t b_first = blocks * chunk / chunks, b_end = blocks * (chunk + 1) / chunks;
        for (int64_t b = b_first; b < b_end; b++)
            FC_FN(winograd_weight_block)(sums + chunk * sums_size, x, grad_out, &s, &grads, b,
                                         b > b_first);
        fc_flush_denormals_end(caller_mode);
    }
    #pragma omp parallel num_threads(num_threads) if (num_threads > 1)
    {
        const int64_t part = thread_index(), parts = omp_threads_in_team();
        /* the chunks' sums into the first, in chunk order, element by element */
        const int64_t e_first = sums_size * part / parts, e_end = sums_size * (part + 1) / parts;
        for (int64_t chunk = 1; chunk < chunks; chunk++)
            for (int64_t e = e_first; e < e_end; e++)
                sums[e] += sums[chunk * sums_size + e];
        #pragma omp barrier
        FC_FN(winograd_weight_filters)(grad_w, sums, OC * part / parts, OC * (part + 1) / parts,
                                       OC, C);
    }
}
