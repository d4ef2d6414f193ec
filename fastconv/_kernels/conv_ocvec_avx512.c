/* The direct forward over output-channel vectors and its backward-weight (contracts:
 * conv_ocvec_avx512.h). Compiled for AVX-512 through function attributes only, so the
 * library stays portable.
 *
 * Why: on images whose output rows are shorter than 16 (LeNet-5's 10x10 C3, the simple
 * CNN's 11x11 conv2) the engine cannot read im2col in place and packs it, one copy per
 * value for as few as 16 output channels' multiply-adds (a third of C3's time), and a
 * 16-channel layer fills 16 of the engine's 28 rows (14 + a partial sliver).
 * Here one vector holds 16 output channels of one pixel: per filter tap, the tap's weights
 * for the block's channels are one or two vector loads, and each of the block's pixels is
 * one broadcast of its input value, multiplied into them. Nothing is packed per pixel.
 *
 * The image is first copied with its zero border (rows OH + KH - 1, columns OW + KW - 1),
 * so that every tap reads at one offset from a pixel's "virtual" index oh * (OW + KW - 1) +
 * ow. Rows of 7 to 12 outputs take blocks of whole rows (as many as fit 24 accumulators:
 * 2 rows of 10 for C3, 1 row of 11 x 2 channel vectors for conv2), each row read at
 * consecutive addresses per tap; other widths take runs of consecutive virtual pixels
 * across rows, computing and dropping the KW - 1 virtual columns past each row (measured:
 * whole rows took 0.87x the time of virtual runs on C3, 0.84x on conv2). Where a 2x2 max
 * pool follows, an image's outputs for a block of channels stay in a small pixel-major
 * buffer, pooled from there (pool_block), and only the pooled values leave. */
#include "conv_ocvec_avx512.h"

#ifdef FC_CONV_OCVEC_AVX512
#include <immintrin.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "conv_direct_layout.h"
#include "conv_transpose.h"
#include "denormals.h"

#define FC_AVX512 __attribute__((target("avx512f")))

/* 24 accumulators a block: 2 channel vectors x 12 pixels, or 1 x 24; with the tap's weight
 * vectors and a broadcast they fit the 32 registers. */
enum { LANES = 16, BLOCK_VECTORS = 24, MAX_CHANNEL_VECTORS = 2 };

/* tile[i * VECTORS * 16 + j] = the sum for pixel i of the block and channel j of the block's
 * VECTORS * 16, over the taps in order. The block is ROWS runs of RUN pixels, run r at
 * image + r * row_stride (pixel i = r * RUN + q at image + r * row_stride + q, offset by
 * each tap). image: the bordered image at the block's first pixel IN;  weights: (taps,
 * VECTORS * 16) IN;  tap_offsets: (taps,) IN. VECTORS, RUN and ROWS are constants once
 * inlined, VECTORS * RUN * ROWS <= 24. */
FC_AVX512 static inline __attribute__((always_inline)) void
ocvec_block(float *restrict tile, const float *restrict image, int64_t row_stride,
            const float *restrict weights, const int64_t *restrict tap_offsets, int64_t taps,
            const int VECTORS, const int RUN, const int ROWS)
{
    enum { PIXELS_MAX = BLOCK_VECTORS };
    const int pixels = RUN * ROWS;
    __m512 acc[MAX_CHANNEL_VECTORS][PIXELS_MAX];
#pragma GCC unroll 24
    for (int i = 0; i < pixels; i++)
#pragma GCC unroll 2
        for (int v = 0; v < VECTORS; v++)
            acc[v][i] = _mm512_setzero_ps();
    for (int64_t k = 0; k < taps; k++) {
        const float *restrict tap = image + tap_offsets[k];
        __m512 wv[MAX_CHANNEL_VECTORS];
#pragma GCC unroll 2
        for (int v = 0; v < VECTORS; v++)
            wv[v] = _mm512_loadu_ps(weights + (k * VECTORS + v) * LANES);
#pragma GCC unroll 24
        for (int i = 0; i < pixels; i++) {
            const __m512 xi = _mm512_set1_ps(tap[i / RUN * row_stride + i % RUN]);
#pragma GCC unroll 2
            for (int v = 0; v < VECTORS; v++)
                acc[v][i] = _mm512_fmadd_ps(wv[v], xi, acc[v][i]);
        }
    }
#pragma GCC unroll 24
    for (int i = 0; i < pixels; i++)
#pragma GCC unroll 2
        for (int v = 0; v < VECTORS; v++)
            _mm512_storeu_ps(tile + (i * VECTORS + v) * LANES, acc[v][i]);
}

/* The shortest and longest output rows that get blocks of whole rows (one instantiation
 * each); other widths take runs of 24 / VECTORS virtual pixels. */
enum { ROW_MIN = 7, ROW_MAX = 12 };

/* ocvec_block for `vectors` channel vectors over whole rows of `run` pixels (ROW_MIN <= run
 * <= ROW_MAX: as many rows as fit 24 accumulators), or, for run 0, one run of 24 / vectors
 * virtual pixels. */
FC_AVX512 static void ocvec_block_any(float *restrict tile, const float *restrict image,
                                      int64_t row_stride, const float *restrict weights,
                                      const int64_t *restrict tap_offsets, int64_t taps,
                                      int vectors, int run)
{
#define FC_OCVEC_ROWS(V, RUN)                                                                   \
    case RUN:                                                                                   \
        ocvec_block(tile, image, row_stride, weights, tap_offsets, taps, V, RUN,                \
                    BLOCK_VECTORS / V / RUN);                                                   \
        return;
    if (vectors == 2) {
        switch (run) {
        FC_OCVEC_ROWS(2, 7) FC_OCVEC_ROWS(2, 8) FC_OCVEC_ROWS(2, 9)
        FC_OCVEC_ROWS(2, 10) FC_OCVEC_ROWS(2, 11) FC_OCVEC_ROWS(2, 12)
        default:
            ocvec_block(tile, image, row_stride, weights, tap_offsets, taps, 2,
                        BLOCK_VECTORS / 2, 1);
        }
    } else {
        switch (run) {
        FC_OCVEC_ROWS(1, 7) FC_OCVEC_ROWS(1, 8) FC_OCVEC_ROWS(1, 9)
        FC_OCVEC_ROWS(1, 10) FC_OCVEC_ROWS(1, 11) FC_OCVEC_ROWS(1, 12)
        default:
            ocvec_block(tile, image, row_stride, weights, tap_offsets, taps, 1, BLOCK_VECTORS,
                        1);
        }
    }
#undef FC_OCVEC_ROWS
}

/* The 2x2 stride-2 max pool (floor mode) of one image's output for a block of `channels`
 * output channels (a multiple of 16), held pixel-major: conv[p * channels + j] for pixel p
 * of OH x OW. Each window's four values are taken in max_pool2d's order (its first row's
 * two, then the second's; a later value wins if greater or NaN), 16 channels a vector; the
 * results go pixel-major into rows / row_indices (PH * PW * channels), then to pooled and
 * indices, channel j's plane (PH x PW) at j * PH * PW. */
FC_AVX512 static void pool_block(float *restrict pooled, int64_t *restrict indices,
                                 float *restrict rows, int32_t *restrict row_indices,
                                 const float *restrict conv, int64_t channels, int64_t OW,
                                 int64_t PH, int64_t PW)
{
    const int64_t window[4] = { 0, 1, OW, OW + 1 };
    for (int64_t ph = 0; ph < PH; ph++)
        for (int64_t pw = 0; pw < PW; pw++) {
            const int64_t first = 2 * ph * OW + 2 * pw, at = (ph * PW + pw) * channels;
            for (int64_t j = 0; j < channels; j += LANES) {
                __m512 best = _mm512_loadu_ps(conv + first * channels + j);
                __m512i best_index = _mm512_set1_epi32((int32_t)first);
                for (int t = 1; t < 4; t++) {
                    const __m512 v = _mm512_loadu_ps(conv + (first + window[t]) * channels + j);
                    const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ)
                                         | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                    best = _mm512_mask_mov_ps(best, take, v);
                    best_index = _mm512_mask_mov_epi32(
                        best_index, take, _mm512_set1_epi32((int32_t)(first + window[t])));
                }
                _mm512_storeu_ps(rows + at + j, best);
                _mm512_storeu_si512(row_indices + at + j, best_index);
            }
        }
    const int64_t plane = PH * PW;
    for (int64_t j = 0; j < channels; j++)
        for (int64_t q = 0; q < plane; q++) {
            pooled[j * plane + q] = rows[q * channels + j];
            indices[j * plane + q] = row_indices[q * channels + j];
        }
}

/* With pool_indices, each image's outputs for a block of channels are written pixel-major
 * into a per-thread buffer and pooled from there. */
int fc_conv_forward_ocvec_avx512_f32(float *restrict out, int64_t *restrict pool_indices,
                                     const float *restrict x, const float *restrict w,
                                     const float *restrict bias, int relu, int64_t N, int64_t C,
                                     int64_t H, int64_t W, int64_t OC, int64_t KH, int64_t KW,
                                     int64_t OH, int64_t OW, int64_t pad_top, int64_t pad_left,
                                     int num_threads)
{
    const int vectors = OC % (2 * LANES) == 0 ? 2 : 1;
    const int64_t block_channels = vectors * LANES;
    /* whole output rows a block (run = OW), or runs of virtual pixels across rows (run 0) */
    const int run = OW >= ROW_MIN && OW <= ROW_MAX ? (int)OW : 0;
    const int64_t pixels = run ? BLOCK_VECTORS / vectors / run * run : BLOCK_VECTORS / vectors;
    const int64_t block_rows = run ? pixels / run : 1;
    const int64_t rows = OH + KH - 1, cols = OW + KW - 1, taps = C * KH * KW;
    const int64_t virtual_pixels = OH * cols, P = OH * OW;
    /* a last block reads up to a block of pixels (or rows) past the image's outputs, each up
     * to the last tap's offset further: zeros there */
    const int64_t slack = block_rows * cols + pixels + KW + LANES;
    const int64_t image_size = C * rows * cols + slack;
    const int team = num_threads > 1 && N > 1 ? num_threads : 1;
    int64_t *tap_offsets = malloc((size_t)taps * sizeof *tap_offsets);
    float *weights = malloc((size_t)(OC * taps) * sizeof(float));
    float *bordered = malloc((size_t)(team * image_size) * sizeof(float));  /* one per thread */
    /* pooling, per thread: the block's outputs pixel-major, then its pooled values and
     * indices pixel-major */
    const int64_t PH = OH / 2, PW = OW / 2;
    const int64_t pool_scratch = pool_indices ? (P + 2 * PH * PW) * block_channels : 0;
    float *pool_buffers = pool_indices
        ? malloc((size_t)(team * pool_scratch) * sizeof(float)) : NULL;
    const int ready = tap_offsets && weights && bordered && (!pool_indices || pool_buffers);
    if (ready) {
        fc_bordered_tap_offsets(tap_offsets, C, KH, KW, rows, cols);
        fc_filters_by_block(weights, w, OC, taps, block_channels);
    }
    #pragma omp parallel num_threads(team) if (team > 1 && ready)
    {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        int64_t rank = 0;
#ifdef _OPENMP
        rank = omp_get_thread_num();
#endif
        float *image = bordered + rank * image_size;
        float *conv_rows = pool_buffers ? pool_buffers + rank * pool_scratch : NULL;
        float tile[BLOCK_VECTORS * LANES];
        #pragma omp for schedule(static)
        for (int64_t n = 0; n < (ready ? N : 0); n++) {
            fc_border_image(image, x + n * C * H * W, C, H, W, rows, cols, pad_top, pad_left, slack);
            for (int64_t oc0 = 0; oc0 < OC; oc0 += block_channels) {
                const int64_t step = run ? block_rows * cols : pixels;
                for (int64_t q0 = 0; q0 < virtual_pixels; q0 += step) {
                    ocvec_block_any(tile, image + q0, cols, weights + oc0 * taps, tap_offsets,
                                    taps, vectors, run);
                    for (int64_t i = 0; i < pixels; i++) {
                        /* the block's pixel i: row r, column q of its runs */
                        const int64_t r = run ? i / run : 0, q = run ? i % run : i;
                        const int64_t at = q0 + r * cols + q, oh = at / cols, ow = at % cols;
                        if (oh >= OH || ow >= OW)
                            continue;  /* past the last row, or a virtual column: dropped */
                        /* the output at channel stride P, or pixel-major for the pool */
                        float *dst = conv_rows ? conv_rows + (oh * OW + ow) * block_channels
                                               : out + (n * OC + oc0) * P + oh * OW + ow;
                        const int64_t channel_stride = conv_rows ? 1 : P;
                        for (int64_t j = 0; j < block_channels; j++) {
                            float v = tile[i * block_channels + j];
                            if (bias)
                                v += bias[oc0 + j];
                            if (relu)
                                v = v > 0 || v != v ? v : 0.0f;  /* NaN kept */
                            dst[j * channel_stride] = v;
                        }
                    }
                }
                if (conv_rows) {
                    const int64_t at = (n * OC + oc0) * PH * PW;
                    float *pooled_rows = conv_rows + P * block_channels;
                    pool_block(out + at, pool_indices + at, pooled_rows,
                               (int32_t *)(pooled_rows + PH * PW * block_channels), conv_rows,
                               block_channels, OW, PH, PW);
                }
            }
        }
        fc_flush_denormals_end(caller_mode);
    }
    free(pool_buffers);
    free(bordered);
    free(weights);
    free(tap_offsets);
    return ready;
}

/* ---- backward-weight ------------------------------------------------------------------
 * The transpose of the forward's scheme: one vector holds 16 output channels' gradients at
 * one pixel (grad_out laid channels-last, one image and 16 channels at a time), and each
 * tap's sum over the pixels is one accumulator vector, into which every pixel's gradient
 * vector is multiplied by the broadcast input value the tap reads there. A block holds the
 * taps of ROWS filter rows (c, kh) in registers (ROWS * KW <= 27) while the pixels pass;
 * nothing is packed per pixel, where the GEMM would copy im2col(x) to use each value for as
 * few as 16 output channels. */

/* sums[t * 16 + j] += the sum over the image's pixels, in order, of g[pixel][j] times the
 * input value of tap t at that pixel, for the taps t < rows * KW of the block: filter row r
 * (< rows <= ROWS) read at image + row_offsets[r] + oh * cols + ow + kw. g: (OH * OW, 16)
 * IN;  sums: (ROWS * KW, 16) IN and OUT. KW and ROWS are constants once inlined. */
FC_AVX512 static inline __attribute__((always_inline)) void
weight_block(float *restrict sums, const float *restrict g, const float *restrict image,
             const int64_t *restrict row_offsets, int64_t rows, int64_t OH, int64_t OW,
             int64_t cols, const int KW, const int ROWS)
{
    __m512 acc[27];
#pragma GCC unroll 27
    for (int t = 0; t < ROWS * KW; t++)
        acc[t] = _mm512_setzero_ps();
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
            const __m512 gv = _mm512_loadu_ps(g + (oh * OW + ow) * LANES);
            const float *restrict at = image + oh * cols + ow;
            /* fixed trip counts (a test inside), so the accumulators stay in registers */
#pragma GCC unroll 9
            for (int r = 0; r < ROWS; r++)
                if (r < rows) {
                    const float *restrict row = at + row_offsets[r];
#pragma GCC unroll 5
                    for (int kw = 0; kw < KW; kw++)
                        acc[r * KW + kw] = _mm512_fmadd_ps(gv, _mm512_set1_ps(row[kw]),
                                                           acc[r * KW + kw]);
                }
        }
#pragma GCC unroll 27
    for (int t = 0; t < ROWS * KW; t++)
        if (t < rows * KW)
            _mm512_storeu_ps(sums + t * LANES,
                             _mm512_add_ps(_mm512_loadu_ps(sums + t * LANES), acc[t]));
}

/* Filter rows a block for each KW the kernel takes. */
static inline int64_t weight_block_rows(int64_t KW) { return KW == 3 ? 9 : 5; }

FC_AVX512 static void weight_block_any(float *restrict sums, const float *restrict g,
                                       const float *restrict image,
                                       const int64_t *restrict row_offsets, int64_t rows,
                                       int64_t OH, int64_t OW, int64_t cols, int64_t KW)
{
    if (KW == 3)
        weight_block(sums, g, image, row_offsets, rows, OH, OW, cols, 3, 9);
    else
        weight_block(sums, g, image, row_offsets, rows, OH, OW, cols, 5, 5);
}

int fc_conv_weight_ocvec_avx512_f32(float *restrict grad_w, const float *restrict grad_out,
                                    const float *restrict x, int64_t N, int64_t C, int64_t H,
                                    int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                    int64_t OW, int64_t pad_top, int64_t pad_left,
                                    int num_threads)
{
    const int64_t rows_b = OH + KH - 1, cols_b = OW + KW - 1, P = OH * OW;
    const int64_t filter_rows = C * KH, taps = filter_rows * KW;
    const int64_t block_rows = weight_block_rows(KW);
    const int64_t blocks = (filter_rows + block_rows - 1) / block_rows;
    const int64_t vectors = OC / LANES;
    /* tasks: each channel vector's blocks in `groups` runs, enough runs for the threads */
    const int team = num_threads > 1 ? num_threads : 1;
    int64_t groups = (team + vectors - 1) / vectors;
    if (groups > blocks)
        groups = blocks;
    const int64_t tasks = vectors * groups;
    const int64_t blocks_per_group = (blocks + groups - 1) / groups;
    /* x is its own bordered image when the layer reads no padding */
    const int in_place = pad_top == 0 && pad_left == 0 && H == rows_b && W == cols_b;
    const int64_t group_channels = (blocks_per_group * block_rows + KH - 1) / KH + 1;
    const int64_t image_size = in_place ? 0 : (group_channels < C ? group_channels : C) *
                                              rows_b * cols_b;
    const int64_t scratch = P * LANES + image_size;
    float *sums = calloc((size_t)(OC * taps), sizeof(float));
    float *buffers = malloc((size_t)(team * scratch) * sizeof(float));  /* one per thread */
    int64_t *row_offsets = malloc((size_t)(tasks * block_rows) * sizeof *row_offsets);
    const int ready = sums && buffers && row_offsets;
    #pragma omp parallel num_threads(team) if (team > 1 && tasks > 1 && ready)
    {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        int64_t rank = 0;
#ifdef _OPENMP
        rank = omp_get_thread_num();
#endif
        float *g = buffers + rank * scratch, *image = g + P * LANES;
        #pragma omp for schedule(static)
        for (int64_t task = 0; task < (ready ? tasks : 0); task++) {
            const int64_t v = task / groups, group = task % groups;
            const int64_t first_block = group * blocks_per_group;
            const int64_t end_block = first_block + blocks_per_group < blocks
                                          ? first_block + blocks_per_group : blocks;
            if (first_block >= end_block)
                continue;
            const int64_t first_row = first_block * block_rows;
            const int64_t end_row = end_block * block_rows < filter_rows
                                        ? end_block * block_rows : filter_rows;
            const int64_t c_first = first_row / KH, c_end = (end_row - 1) / KH + 1;
            int64_t *offsets = row_offsets + task * block_rows;
            for (int64_t n = 0; n < N; n++) {
                const float *x_n = x + n * C * H * W;
                const float *planes = x_n;
                int64_t c_base = 0;
                if (!in_place) {
                    fc_border_image(image, x_n + c_first * H * W, c_end - c_first, H, W,
                                    rows_b, cols_b, pad_top, pad_left, 0);
                    planes = image;
                    c_base = c_first;
                }
                fc_conv_transpose_avx512_f32(g, LANES, grad_out + (n * OC + v * LANES) * P, P, 1,
                                             LANES, P);
                for (int64_t b = first_block; b < end_block; b++) {
                    const int64_t row0 = b * block_rows;
                    const int64_t rows = filter_rows - row0 < block_rows ? filter_rows - row0
                                                                        : block_rows;
                    for (int64_t r = 0; r < rows; r++) {
                        const int64_t c = (row0 + r) / KH, kh = (row0 + r) % KH;
                        offsets[r] = ((c - c_base) * rows_b + kh) * cols_b;
                    }
                    weight_block_any(sums + (v * taps + row0 * KW) * LANES, g, planes, offsets,
                                     rows, OH, OW, cols_b, KW);
                }
            }
        }
        fc_flush_denormals_end(caller_mode);
    }
    if (ready)
        for (int64_t oc = 0; oc < OC; oc++)
            for (int64_t t = 0; t < taps; t++)
                grad_w[oc * taps + t] = sums[(oc / LANES * taps + t) * LANES + oc % LANES];
    free(row_offsets);
    free(buffers);
    free(sums);
    return ready;
}
#endif
