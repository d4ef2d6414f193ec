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
 * 16 multiplies per tile and channel pair instead of 36. Summed over input channels the 16
 * products of a tile are 16 independent matrix products,
 *
 *     M[p] (OC x tiles) = U[p] (OC x C) * V[p] (C x tiles),   p = 0 .. 15,
 *
 * which run on the GEMM engine's micro-kernel (gemm.h's fc_gemm_packed), the transforms
 * writing U and V straight into its packed layout. The price: three transforms (adds and
 * subtracts only; the filter's halves are exact) and rounding errors a few times the
 * direct sum's, as every Winograd or FFT convolution has. Integer-valued inputs of
 * moderate size stay exact (every intermediate is a multiple of 1/4).
 *
 * Work goes in blocks of tiles: all tiles of all images in one sequence (image by image,
 * row by row), cut into blocks of a fixed number of micro-kernel slivers; a block's input
 * transform, 16 GEMMs and output transform run in one thread, in its caches. Each output's
 * value depends only on its own tile, so the bits are the same for any thread count.
 *
 * Extra memory: the transformed filters, 16 * ceil(OC / MR) * MR * C values in the calling
 * thread's fc_workspace (slot WORKSPACE_PARTIALS), and per thread running a block
 * 16 * block * (C + ceil(OC / MR) * MR) values (slots WORKSPACE_PADDED_INPUT and
 * WORKSPACE_CHANNELS_LAST), block <= 8 * NR tiles; kept across calls.
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
/* a sliver of NR tiles holds at most NR runs; every engine's NR is at most 32 */
enum { WINOGRAD_POINTS = 16, WINOGRAD_MAX_SLIVERS = 8, WINOGRAD_MAX_NR = 64 };

/* A run of a block's tiles along one row of tiles of one image: tiles (th, tw .. tw + len - 1)
 * of image n, at lanes lane .. lane + len - 1 of the block. */
typedef struct { int64_t n, th, tw, len, lane; } winograd_run;

/* The geometry every part of one call shares. */
typedef struct {
    int64_t N, C, H, W, OC, OH, OW, pad_top, pad_left;
    int64_t tiles_h, tiles_w, tiles;        /* per image: tiles_h x tiles_w; all: tiles */
    int64_t MR, NR, rows;                   /* rows: OC rounded up to a multiple of MR */
    int64_t slivers_per_block, block;       /* block = slivers_per_block * NR tiles */
} winograd_shape;

/* Cuts tiles [first, first + count) into runs along rows of tiles (count <= block).
 * runs: OUT, at most count entries; returns how many. */
static int64_t winograd_runs(const winograd_shape *s, int64_t first, int64_t count,
                             winograd_run *runs)
{
    const int64_t per_image = s->tiles_h * s->tiles_w;
    int64_t n = first / per_image, th = first % per_image / s->tiles_w, tw = first % s->tiles_w;
    int64_t used = 0;
    for (int64_t lane = 0; lane < count;) {
        const int64_t len = s->tiles_w - tw < count - lane ? s->tiles_w - tw : count - lane;
        runs[used++] = (winograd_run){ n, th, tw, len, lane };
        lane += len;
        tw += len;
        if (tw == s->tiles_w) {
            tw = 0;
            if (++th == s->tiles_h) {
                th = 0;
                n++;
            }
        }
    }
    return used;
}
#endif

/* U = G g G^T for lines of 3x3 filters: filter (a, b) at w + (a * lanes + b) * 9, its taps
 * in order or reversed; point p of filter (a, b) to u[(p * lines + a) * lanes + b]. One loop
 * over b per line, so that the transform runs in vectors. u: (16, lines, lanes) OUT;
 * w: (lines, lanes, 3, 3) IN; lines [first_line, end_line) only. */
FC_VECTOR_CLONES
static void FC_FN(winograd_filter_lines)(real *restrict u, const real *restrict w, int reverse,
                                         int64_t first_line, int64_t end_line, int64_t lines,
                                         int64_t lanes)
{
    const int64_t point_stride = lines * lanes;
    for (int64_t a = first_line; a < end_line; a++) {
        /* tap k of filter b at tap[k][9 * b] */
        const real *tap[9];
        for (int k = 0; k < 9; k++)
            tap[k] = w + a * lanes * 9 + (reverse ? 8 - k : k);
        real *restrict out = u + a * lanes;
        /* the 9 loads and 16 stores never overlap: vectorise (gcc would not on its own) */
        #pragma omp simd
        for (int64_t b = 0; b < lanes; b++) {
            const real g0 = tap[0][9 * b], g1 = tap[1][9 * b], g2 = tap[2][9 * b];
            const real g3 = tap[3][9 * b], g4 = tap[4][9 * b], g5 = tap[5][9 * b];
            const real g6 = tap[6][9 * b], g7 = tap[7][9 * b], g8 = tap[8][9 * b];
            /* t = G g, row by row (4 x 3) */
            const real t10 = (g0 + g3 + g6) * (real)0.5, t11 = (g1 + g4 + g7) * (real)0.5;
            const real t12 = (g2 + g5 + g8) * (real)0.5;
            const real t20 = (g0 - g3 + g6) * (real)0.5, t21 = (g1 - g4 + g7) * (real)0.5;
            const real t22 = (g2 - g5 + g8) * (real)0.5;
            /* u = t G^T */
            const real row[4][3] = { { g0, g1, g2 }, { t10, t11, t12 }, { t20, t21, t22 },
                                     { g6, g7, g8 } };
            for (int i = 0; i < 4; i++) {
                out[(i * 4 + 0) * point_stride + b] = row[i][0];
                out[(i * 4 + 1) * point_stride + b] = (row[i][0] + row[i][1] + row[i][2]) * (real)0.5;
                out[(i * 4 + 2) * point_stride + b] = (row[i][0] - row[i][1] + row[i][2]) * (real)0.5;
                out[(i * 4 + 3) * point_stride + b] = row[i][2];
            }
        }
    }
}

/* All filters transformed and packed as the 16 GEMMs' A operands: point p's matrix (rows
 * output channels, depth input channels) at packed + p * rows * C, in gemm.h's packed layout
 * (slivers of MR rows, padding rows zero), by way of lines of transformed filters (16 x OC x
 * C values in the calling thread's WORKSPACE_CHANNELS_LAST, free until the blocks start).
 * packed: (16, rows, C) OUT;  w: (OC, C, 3, 3) IN, or with flip, (C, OC, 3, 3) IN read as
 * the filters of backward-data's stride-1 form (channels swapped, taps reversed). */
static void FC_FN(winograd_filters)(real *restrict packed, const real *restrict w, int flip,
                                    const winograd_shape *s, int num_threads)
{
    const int64_t C = s->C, OC = s->OC;
    real *lines = fc_workspace(WORKSPACE_CHANNELS_LAST,
                               (size_t)(WINOGRAD_POINTS * OC * C) * sizeof(real));
    if (!lines)
        abort();  /* see winograd_block */
    /* w's lines as they lie: (OC, C) forward, (C, OC) flipped */
    const int64_t line_count = flip ? C : OC, lanes = flip ? OC : C;
    #pragma omp parallel num_threads(num_threads) if (num_threads > 1)
    {
        const int64_t part = thread_index(), parts = omp_threads_in_team();
        FC_FN(winograd_filter_lines)(lines, w, flip, line_count * part / parts,
                                     line_count * (part + 1) / parts, line_count, lanes);
        #pragma omp barrier
        #pragma omp for schedule(static)
        for (int64_t p = 0; p < WINOGRAD_POINTS; p++) {
            const FC_FN(fc_matrix) matrix = { lines + p * OC * C, flip ? 1 : C, flip ? OC : 1 };
            FC_FN(fc_pack_rows)(packed + p * s->rows * C, &matrix, 0, OC, 0, C, s->MR);
        }
    }
}

/* The 4x4 patches of one channel under a sliver's tiles, patch value (i, j) of lane r at
 * patch[(i * 4 + j) * NR + r]; zero outside the image and in lanes past the runs. */
FC_ALWAYS_INLINE void FC_FN(winograd_patches)(real *restrict patch, const real *restrict plane,
                                              const winograd_shape *s, const winograd_run *runs,
                                              int64_t run_count, int64_t NR)
{
    const int64_t H = s->H, W = s->W;
    /* tiles tw whose four columns all lie inside the image */
    const int64_t inner_first = (s->pad_left + 1) / 2;
    const int64_t inner_end = W - 4 + s->pad_left >= 0 ? (W - 4 + s->pad_left) / 2 + 1 : 0;
    const int64_t lanes = runs[run_count - 1].lane + runs[run_count - 1].len;
    for (int64_t k = 0; k < WINOGRAD_POINTS; k++)
        for (int64_t r = lanes; r < NR; r++)
            patch[k * NR + r] = 0;
    for (int64_t q = 0; q < run_count; q++) {
        const winograd_run *run = &runs[q];
        /* the run's lanes [first, end) read whole patches; the others check each column */
        int64_t first = inner_first - run->tw, end = inner_end - run->tw;
        first = first < 0 ? 0 : first > run->len ? run->len : first;
        end = end < first ? first : end > run->len ? run->len : end;
        const real *image = plane + run->n * s->C * H * W;
        const int64_t col0 = 2 * run->tw - s->pad_left;
        for (int64_t i = 0; i < 4; i++) {
            const int64_t row = 2 * run->th + i - s->pad_top;
            real *restrict dst = patch + i * 4 * NR + run->lane;
            if (row < 0 || row >= H) {
                for (int64_t j = 0; j < 4; j++)
                    for (int64_t r = 0; r < run->len; r++)
                        dst[j * NR + r] = 0;
                continue;
            }
            const real *src = image + row * W;
            for (int64_t j = 0; j < 4; j++)
                for (int64_t r = first; r < end; r++)
                    dst[j * NR + r] = src[col0 + 2 * r + j];
            const int64_t edges[2][2] = { { 0, first }, { end, run->len } };
            for (int e = 0; e < 2; e++)
                for (int64_t r = edges[e][0]; r < edges[e][1]; r++)
                    for (int64_t j = 0; j < 4; j++) {
                        const int64_t col = col0 + 2 * r + j;
                        dst[j * NR + r] = col >= 0 && col < W ? src[col] : 0;
                    }
        }
    }
}

/* V = B^T d B for every lane of a sliver: patch as winograd_patches gives it; point p of
 * lane r to v[p * point_stride + r]. e: 16 * NR scratch. One loop over the lanes per
 * line of the transform, so that each is a few vector instructions. */
FC_ALWAYS_INLINE void FC_FN(winograd_input_points)(real *restrict v, int64_t point_stride,
                                                   real *restrict e, const real *restrict patch,
                                                   int64_t NR)
{
    for (int64_t j = 0; j < 4; j++) {
        const real *restrict d0 = patch + j * NR, *restrict d1 = d0 + 4 * NR;
        const real *restrict d2 = d0 + 8 * NR, *restrict d3 = d0 + 12 * NR;
        real *restrict e0 = e + j * NR, *restrict e1 = e0 + 4 * NR;
        real *restrict e2 = e0 + 8 * NR, *restrict e3 = e0 + 12 * NR;
        for (int64_t r = 0; r < NR; r++) {
            e0[r] = d0[r] - d2[r];
            e1[r] = d1[r] + d2[r];
            e2[r] = d2[r] - d1[r];
            e3[r] = d1[r] - d3[r];
        }
    }
    for (int64_t i = 0; i < 4; i++) {
        const real *restrict e0 = e + i * 4 * NR, *restrict e1 = e0 + NR;
        const real *restrict e2 = e0 + 2 * NR, *restrict e3 = e0 + 3 * NR;
        real *restrict v0 = v + i * 4 * point_stride, *restrict v1 = v0 + point_stride;
        real *restrict v2 = v0 + 2 * point_stride, *restrict v3 = v0 + 3 * point_stride;
        for (int64_t r = 0; r < NR; r++) {
            v0[r] = e0[r] - e2[r];
            v1[r] = e1[r] + e2[r];
            v2[r] = e2[r] - e1[r];
            v3[r] = e1[r] - e3[r];
        }
    }
}

/* The input transform of one sliver of a block, every channel, into the 16 GEMMs' packed
 * B operands: point p, channel c, lane r at v[((p * slivers_per_block + sliver) * C + c) * NR
 * + r]. patch: 32 * NR scratch. */
FC_VECTOR_CLONES
static void FC_FN(winograd_input_sliver)(real *restrict v, real *restrict patch,
                                         const real *restrict x, const winograd_shape *s,
                                         const winograd_run *runs, int64_t run_count,
                                         int64_t sliver)
{
    const int64_t C = s->C, NR = s->NR;
    const int64_t point_stride = s->slivers_per_block * C * NR;
    for (int64_t c = 0; c < C; c++) {
        FC_FN(winograd_patches)(patch, x + c * s->H * s->W, s, runs, run_count, NR);
        FC_FN(winograd_input_points)(v + (sliver * C + c) * NR, point_stride,
                                     patch + WINOGRAD_POINTS * NR, patch, NR);
    }
}

/* Y = A^T M A for the lanes of one output channel's sliver, then + bias and ReLU:
 * y[(a * 2 + b) * NR + r] is output (2 th + a, 2 tw + b) of lane r's tile. m: point p of
 * lane r at m[p * point_stride + r]. sums: 8 * NR scratch. Loops over the lanes, as the
 * input's. */
FC_ALWAYS_INLINE void FC_FN(winograd_output_points)(real *restrict y, real *restrict sums,
                                                    const real *restrict m,
                                                    int64_t point_stride, real bias, int relu,
                                                    int64_t NR)
{
    for (int64_t i = 0; i < 4; i++) {
        const real *restrict m0 = m + i * 4 * point_stride, *restrict m1 = m0 + point_stride;
        const real *restrict m2 = m0 + 2 * point_stride, *restrict m3 = m0 + 3 * point_stride;
        real *restrict s0 = sums + i * NR, *restrict s1 = s0 + 4 * NR;
        for (int64_t r = 0; r < NR; r++) {
            s0[r] = m0[r] + m1[r] + m2[r];
            s1[r] = m1[r] - m2[r] - m3[r];
        }
    }
    for (int64_t b = 0; b < 2; b++) {
        const real *restrict t0 = sums + b * 4 * NR, *restrict t1 = t0 + NR;
        const real *restrict t2 = t0 + 2 * NR, *restrict t3 = t0 + 3 * NR;
        real *restrict y0 = y + b * NR, *restrict y1 = y0 + 2 * NR;
        for (int64_t r = 0; r < NR; r++) {
            const real top = t0[r] + t1[r] + t2[r] + bias;
            const real bottom = t1[r] - t2[r] - t3[r] + bias;
            y0[r] = !relu || top > 0 || top != top ? top : 0;
            y1[r] = !relu || bottom > 0 || bottom != bottom ? bottom : 0;
        }
    }
}

/* One tile's 2x2 max-pool window (the tile itself) as max_pool2d takes it: row-major, a
 * later value wins if strictly greater or NaN. y as winograd_output_points gives it. */
FC_ALWAYS_INLINE void FC_FN(winograd_pool_tile)(real *restrict pooled, int64_t *restrict index,
                                                const real *restrict y, int64_t NR,
                                                int64_t th, int64_t tw, int64_t OW)
{
    real best = y[0];
    int64_t k_best = 0;
    for (int64_t k = 1; k < 4; k++) {
        const real value = y[k * NR];
        if (value > best || value != value) {
            best = value;
            k_best = k;
        }
    }
    *pooled = best;
    *index = (2 * th + k_best / 2) * OW + 2 * tw + k_best % 2;
}

/* The output transform of one sliver of a block, every output channel: the tiles' outputs
 * that lie inside OH x OW to out (N, OC, OH, OW); or, with pool_indices, each whole tile's
 * maximum and its index to out and pool_indices (N, OC, OH / 2, OW / 2). y: 12 * NR scratch. */
FC_VECTOR_CLONES
static void FC_FN(winograd_output_sliver)(real *restrict out, int64_t *restrict pool_indices,
                                          real *restrict y, const real *restrict m,
                                          const real *restrict bias, int relu,
                                          const winograd_shape *s, const winograd_run *runs,
                                          int64_t run_count, int64_t sliver)
{
    const int64_t NR = s->NR, OH = s->OH, OW = s->OW, point_stride = s->rows * s->block;
    const int64_t PH = OH / 2, PW = OW / 2;
    for (int64_t oc = 0; oc < s->OC; oc++) {
        FC_FN(winograd_output_points)(y, y + 4 * NR, m + oc * s->block + sliver * NR,
                                      point_stride, bias ? bias[oc] : 0, relu, NR);
        for (int64_t q = 0; q < run_count; q++) {
            const winograd_run *run = &runs[q];
            if (pool_indices) {
                if (run->th >= PH)
                    continue;
                const int64_t at = ((run->n * s->OC + oc) * PH + run->th) * PW + run->tw;
                const int64_t len = run->tw + run->len <= PW ? run->len : PW - run->tw;
                for (int64_t r = 0; r < len; r++)
                    FC_FN(winograd_pool_tile)(out + at + r, pool_indices + at + r,
                                              y + run->lane + r, NR, run->th, run->tw + r, OW);
                continue;
            }
            for (int64_t a = 0; a < 2; a++) {
                const int64_t row = 2 * run->th + a;
                if (row >= OH)
                    break;
                real *restrict dst = out + ((run->n * s->OC + oc) * OH + row) * OW + 2 * run->tw;
                const real *restrict left = y + a * 2 * NR + run->lane;
                const real *restrict right = left + NR;
                /* the whole tiles of the run, then a last one cut by an odd OW */
                const int64_t whole = 2 * (run->tw + run->len) <= OW ? run->len : run->len - 1;
                for (int64_t r = 0; r < whole; r++) {
                    dst[2 * r] = left[r];
                    dst[2 * r + 1] = right[r];
                }
                if (whole < run->len)
                    dst[2 * whole] = left[whole];
            }
        }
    }
}

/* One block of tiles, start to end: input transform, 16 GEMMs, output transform. */
static void FC_FN(winograd_block)(real *restrict out, int64_t *restrict pool_indices,
                                  const real *restrict x,
                                  const real *restrict filters, const real *restrict bias,
                                  int relu, const winograd_shape *s, int64_t block_index)
{
    const int64_t NR = s->NR, C = s->C, S = s->slivers_per_block;
    const int64_t first = block_index * s->block;
    const int64_t count = s->tiles - first < s->block ? s->tiles - first : s->block;
    const int64_t slivers = (count + NR - 1) / NR;
    real *v = fc_workspace(WORKSPACE_PADDED_INPUT,
                           (size_t)(WINOGRAD_POINTS * s->block * C + 2 * WINOGRAD_POINTS * NR) *
                           sizeof(real));
    real *m = fc_workspace(WORKSPACE_CHANNELS_LAST,
                           (size_t)(WINOGRAD_POINTS * s->block * s->rows) * sizeof(real));
    if (!v || !m)
        abort();  /* a few hundred KiB could not be had: nothing sensible is left to do in C */
    real *patch = v + WINOGRAD_POINTS * s->block * C;
    winograd_run runs[WINOGRAD_MAX_SLIVERS * WINOGRAD_MAX_NR];
    int64_t run_first[WINOGRAD_MAX_SLIVERS + 1];
    run_first[0] = 0;
    for (int64_t k = 0; k < slivers; k++) {
        const int64_t lanes = count - k * NR < NR ? count - k * NR : NR;
        const int64_t used = winograd_runs(s, first + k * NR, lanes, runs + run_first[k]);
        run_first[k + 1] = run_first[k] + used;
    }
    for (int64_t k = 0; k < slivers; k++)
        FC_FN(winograd_input_sliver)(v, patch, x, s, runs + run_first[k],
                                     run_first[k + 1] - run_first[k], k);
    for (int64_t p = 0; p < WINOGRAD_POINTS; p++)
        for (int64_t k = 0; k < slivers; k++)
            FC_FN(fc_gemm_packed)(s->OC, C, filters + p * s->rows * C,
                                  v + (p * S + k) * C * NR, m + p * s->rows * s->block + k * NR,
                                  s->block);
    for (int64_t k = 0; k < slivers; k++)
        FC_FN(winograd_output_sliver)(out, pool_indices, patch, m, bias, relu, s,
                                      runs + run_first[k],
                                      run_first[k + 1] - run_first[k], k);
}

/* The Winograd convolution: 3x3 filters, stride and dilation 1, one group, any padding.
 * out: (N, OC, OH, OW) OUT, or with pool_indices the 2x2 stride-2 max-pool of that (floor
 * mode) and its indices (flat in the OH x OW plane, as max_pool2d gives them), both
 * (N, OC, OH / 2, OW / 2) OUT;  x: (N, C, H, W) IN;  w: (OC, C, 3, 3) IN, or with flip
 * (C, OC, 3, 3) IN, whose channels swapped and taps reversed are the filters (backward-data
 * at stride 1 is this convolution of grad_out);  bias: (OC,) IN or NULL;  relu: 1 for
 * max(0, .) (NaN kept). Returns 0, having written nothing, for C = 0 (an empty sum the
 * micro-kernel does not take) or where the engine's slivers are wider than this kernel
 * handles (none of fastconv's). */
int FC_FN(conv2d_winograd)(real *restrict out, int64_t *restrict pool_indices,
                           const real *restrict x, const real *restrict w, int flip,
                           const real *restrict bias, int relu, int64_t N, int64_t C, int64_t H,
                           int64_t W, int64_t OC, int64_t OH, int64_t OW, int64_t pad_top,
                           int64_t pad_left, int num_threads)
{
    int64_t MR, NR;
    FC_FN(fc_gemm_sliver_widths)(&MR, &NR);
    if (NR > WINOGRAD_MAX_NR || C < 1)
        return 0;
    winograd_shape s = { .N = N, .C = C, .H = H, .W = W, .OC = OC, .OH = OH, .OW = OW,
                         .pad_top = pad_top, .pad_left = pad_left,
                         .tiles_h = (OH + 1) / 2, .tiles_w = (OW + 1) / 2,
                         .MR = MR, .NR = NR, .rows = (OC + MR - 1) / MR * MR };
    s.tiles = N * s.tiles_h * s.tiles_w;
    if (s.tiles == 0 || OC == 0)
        return 1;
    /* a block's V and M together within ~3/4 of a 1 MiB L2 */
    const int64_t sliver_bytes = WINOGRAD_POINTS * (C + s.rows) * NR * (int64_t)sizeof(real);
    s.slivers_per_block = 768 * 1024 / sliver_bytes;
    if (s.slivers_per_block < 1)
        s.slivers_per_block = 1;
    if (s.slivers_per_block > WINOGRAD_MAX_SLIVERS)
        s.slivers_per_block = WINOGRAD_MAX_SLIVERS;
    /* smaller blocks where there are too few for the threads (a tile's bits do not depend on
     * its block) */
    const int64_t all_slivers = (s.tiles + NR - 1) / NR;
    const int64_t fair_share = (all_slivers + num_threads - 1) / num_threads;
    if (num_threads > 1 && s.slivers_per_block > fair_share)
        s.slivers_per_block = fair_share;
    s.block = s.slivers_per_block * NR;
    real *filters = fc_workspace(WORKSPACE_PARTIALS,
                                 (size_t)(WINOGRAD_POINTS * s.rows * C) * sizeof(real));
    if (!filters)
        abort();  /* see winograd_block */
    FC_FN(winograd_filters)(filters, w, flip, &s, num_threads);
    const int64_t blocks = (s.tiles + s.block - 1) / s.block;
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1 && blocks > 1)
    for (int64_t b = 0; b < blocks; b++) {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        FC_FN(winograd_block)(out, pool_indices, x, filters, bias, relu, &s, b);
        fc_flush_denormals_end(caller_mode);
    }
    return 1;
}
