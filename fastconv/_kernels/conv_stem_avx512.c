/* The stems' direct kernels (contract: conv_stem_avx512.h). Compiled for AVX-512 through
 * function attributes only, so the library stays portable.
 *
 * Backward-weight.
 * Why not the GEMM: a stem's grad_w is tiny (64 x 27 for a 3-channel 3x3 layer) and its
 * reduction long (every pixel of the batch). As a GEMM its taps fill 27 of a 32-wide B
 * sliver (or 9 of 32 for one channel) and both operands must be re-laid out. Here 16
 * adjacent outputs of one row are one vector: per step, 3 output channels' grad_out
 * vectors and 9 taps' input vectors (unaligned loads at the taps' offsets) make 27
 * multiply-adds into 27 accumulators, 12 loads for 27 FMAs, and nothing is re-laid out.
 *
 * Blocks of 3 output channels x 9 taps; a last, partial block repeats its last channel or
 * tap (the extra sums are dropped). Images outermost: one image's grad_out (OC x OH x OW)
 * stays in L2 while a thread runs all its blocks over it; between images a block's 27
 * accumulators wait in memory (432 floats). */
#include "conv_stem_avx512.h"

#ifdef FC_CONV_STEM_AVX512
#include <immintrin.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "avx512_lanes.h"
#include "conv_direct_layout.h"
#include "denormals.h"
#include "thread_share.h"

#define FC_AVX512 __attribute__((target("avx512f")))

enum { CHANNELS = FC_FEWTAPS_CHANNELS, TAPS = FC_FEWTAPS_TAPS, LANES = FC_STEM_LANES,
       BLOCK_SUMS = CHANNELS * TAPS * LANES };

/* ---- forward ------------------------------------------------------------------------
 * Why not the GEMM: a stem's im2col repeats each input value KH * KW times, and packing it
 * took longer than the multiply-adds it feeds (a 3-channel 3x3 layer: 27 taps per output,
 * each packed value used by the output channels alone). Here 16 adjacent outputs of one
 * row are one vector: per tap, two rows' input vectors (unaligned loads from a bordered
 * copy of the image, so no tap needs a mask) meet the tap's weights for a block of output
 * channels, each broadcast: 4 loads and 6 broadcasts for 24 multiply-adds on rows of up to
 * 32 outputs, 2 and 12 for 24 on rows of up to 16. Two rows a block rather than one
 * (measured, alternating): LeNet-5's C1 (6 channels: one block, not half of one) 0.59x the
 * time, the CIFAR stem 0.93x, the simple CNN's conv1 0.97-1.06x. A block's two rows are
 * also one row of 2x2 stride-2 pooling windows, so the kernel can pool its own output
 * (store_pooled) for conv + ReLU + max-pool layers, instead of writing it. */

enum { FORWARD_ACCUMULATORS = 24, FORWARD_MAX_VECTORS = 4 };

/* Where forward_rows puts a block's results: the rows themselves, or (pool_indices set)
 * their 2x2 stride-2 max pool. The block's first output is (oh, ow0) of its planes. */
typedef struct {
    float *out;               /* the block's first output (or pooled output), channel 0 */
    int64_t *pool_indices;    /* NULL, or the pooled outputs' indices, beside `out` */
    int64_t plane, OW;        /* the planes' sizes and row length, of what `out` holds */
    int64_t first_index;      /* pooling: oh * (conv output width) + ow0 */
    int64_t conv_width;       /* pooling: the conv output's row length */
} forward_target;

/* The 2x2 stride-2 max pool of one output channel's two rows y[0], y[1] (VECTORS vectors
 * each, bias and ReLU applied): pooled column p of the chunk takes its columns 2p and 2p + 1
 * of both rows in max_pool2d's order (the first row's two, then the second's; a later
 * value wins if greater or NaN) and keeps the winner's flat index in the conv output's plane.
 * Writes the first `pooled_valid` of the chunk's 8 * VECTORS pooled columns. */
FC_AVX512 static inline __attribute__((always_inline)) void
store_pooled(float *restrict pooled, int64_t *restrict indices, const __m512 *y0,
             const __m512 *y1, int64_t first_index, int64_t conv_width, int64_t pooled_valid,
             const int VECTORS)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                           16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 second = y0[VECTORS - 1], second_below = y1[VECTORS - 1];
    const __m512 taps[4] = {  /* window order: (0, 0), (0, 1), (1, 0), (1, 1) */
        _mm512_permutex2var_ps(y0[0], even, second), _mm512_permutex2var_ps(y0[0], odd, second),
        _mm512_permutex2var_ps(y1[0], even, second_below),
        _mm512_permutex2var_ps(y1[0], odd, second_below) };
    const __m512i column = _mm512_add_epi32(_mm512_set1_epi32((int32_t)first_index),
                                            _mm512_slli_epi32(_mm512_setr_epi32(
                                                0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                                14, 15), 1));
    const int32_t tap_offsets[4] = { 0, 1, (int32_t)conv_width, (int32_t)conv_width + 1 };
    __m512 best = taps[0];
    __m512i best_index = column;
    for (int t = 1; t < 4; t++) {
        const __mmask16 take = _mm512_cmp_ps_mask(taps[t], best, _CMP_GT_OQ)
                             | _mm512_cmp_ps_mask(taps[t], taps[t], _CMP_UNORD_Q);
        best = _mm512_mask_mov_ps(best, take, taps[t]);
        best_index = _mm512_mask_add_epi32(best_index, take, column,
                                           _mm512_set1_epi32(tap_offsets[t]));
    }
    const __mmask16 lanes = fc_first_lanes(pooled_valid);
    _mm512_mask_storeu_ps(pooled, lanes, best);
    _mm512_mask_storeu_epi64(indices, (__mmask8)lanes,
                             _mm512_cvtepi32_epi64(_mm512_castsi512_si256(best_index)));
    _mm512_mask_storeu_epi64(indices + 8, (__mmask8)(lanes >> 8),
                             _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(best_index, 1)));
}

/* out rows: acc[j][r][v] = sum over the taps t, in order, of weights[t * CHANNELS_ + j] times
 * the 16 inputs at row + r * cols + offsets[t] + 16 v, for the block's CHANNELS_ output
 * channels, ROWS output rows and VECTORS vectors of each; then bias, ReLU and either the
 * stores into to->out + j * plane + r * OW + 16 v of the first `valid` columns of the first
 * `rows` rows, or (to->pool_indices set, ROWS 2) their pool (store_pooled) into
 * to->out + j * plane, of the first `valid` / 2 pooled columns, none if rows < 2.
 * CHANNELS_, ROWS and VECTORS are constants once inlined; channels <= CHANNELS_ of them are
 * real. */
FC_AVX512 static inline __attribute__((always_inline)) void
forward_rows(const forward_target *to, const float *restrict row,
             int64_t cols, const int64_t *restrict offsets, int64_t taps,
             const float *restrict weights, const float *restrict bias, int relu,
             int64_t channels, int64_t rows, int64_t valid, const int CHANNELS_,
             const int ROWS, const int VECTORS)
{
    __m512 acc[FORWARD_ACCUMULATORS][FORWARD_MAX_VECTORS];
#pragma GCC unroll 24
    for (int j = 0; j < CHANNELS_; j++)
#pragma GCC unroll 4
        for (int q = 0; q < ROWS * VECTORS; q++)
            acc[j][q] = _mm512_setzero_ps();
    for (int64_t t = 0; t < taps; t++) {
        __m512 in[FORWARD_MAX_VECTORS];
#pragma GCC unroll 4
        for (int q = 0; q < ROWS * VECTORS; q++)
            in[q] = _mm512_loadu_ps(row + q / VECTORS * cols + offsets[t] + q % VECTORS * LANES);
        const float *restrict tap_weights = weights + t * CHANNELS_;
#pragma GCC unroll 24
        for (int j = 0; j < CHANNELS_; j++) {
            const __m512 wj = _mm512_set1_ps(tap_weights[j]);
#pragma GCC unroll 4
            for (int q = 0; q < ROWS * VECTORS; q++)
                acc[j][q] = _mm512_fmadd_ps(wj, in[q], acc[j][q]);
        }
    }
    const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 24
    for (int j = 0; j < CHANNELS_; j++) {
        if (j >= channels)
            break;
#pragma GCC unroll 4
        for (int q = 0; q < ROWS * VECTORS; q++) {
            __m512 y = acc[j][q];
            if (bias)
                y = _mm512_add_ps(y, _mm512_set1_ps(bias[j]));
            if (relu)  /* y where y > 0 or y is NaN, else +0, as the GEMM's epilogue */
                y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, zero, _CMP_NLE_UQ), y);
            acc[j][q] = y;
        }
        if (to->pool_indices) {
            if (ROWS == 2 && rows == 2)
                store_pooled(to->out + j * to->plane, to->pool_indices + j * to->plane,
                             &acc[j][0], &acc[j][VECTORS], to->first_index, to->conv_width,
                             valid / 2, VECTORS);
            continue;
        }
#pragma GCC unroll 4
        for (int q = 0; q < ROWS * VECTORS; q++) {
            const int r = q / VECTORS, v = q % VECTORS;
            if (r >= rows)
                break;
            float *at = to->out + j * to->plane + r * to->OW + v * LANES;
            const int64_t lanes = valid - v * LANES;
            if (lanes >= LANES)
                _mm512_storeu_ps(at, acc[j][q]);
            else if (lanes > 0)
                _mm512_mask_storeu_ps(at, (__mmask16)((1u << lanes) - 1), acc[j][q]);
        }
    }
}

FC_AVX512 static void forward_rows_any(const forward_target *to, const float *restrict row,
                                       int64_t cols, const int64_t *restrict offsets,
                                       int64_t taps, const float *restrict weights,
                                       const float *restrict bias, int relu, int64_t channels,
                                       int64_t rows, int64_t valid, int block_rows, int vectors)
{
#define FC_FORWARD_ROWS(R, V)                                                                  \
    forward_rows(to, row, cols, offsets, taps, weights, bias, relu, channels, rows, valid,     \
                 FORWARD_ACCUMULATORS / (R) / (V), R, V)
    if (block_rows == 2) {
        if (vectors == 2)
            FC_FORWARD_ROWS(2, 2);
        else
            FC_FORWARD_ROWS(2, 1);
    } else {
        if (vectors == 2)
            FC_FORWARD_ROWS(1, 2);
        else
            FC_FORWARD_ROWS(1, 1);
    }
#undef FC_FORWARD_ROWS
}

int fc_conv_forward_stem_avx512_f32(float *restrict out, int64_t *restrict pool_indices,
                                    const float *restrict x, const float *restrict w,
                                    const float *restrict bias, int relu, int64_t N, int64_t C,
                                    int64_t H, int64_t W, int64_t OC, int64_t KH, int64_t KW,
                                    int64_t OH, int64_t OW, int64_t pad_top, int64_t pad_left,
                                    int num_threads)
{
    /* output rows in chunks of up to 2 vectors, two rows a block; the block's output
     * channels fill 24 accumulators */
    const int vectors = OW > LANES ? 2 : 1;
    const int block_rows = 2;
    const int64_t chunk = vectors * LANES, chunks = (OW + chunk - 1) / chunk;
    const int64_t block = FORWARD_ACCUMULATORS / vectors / block_rows;
    const int64_t blocks = (OC + block - 1) / block;
    const int64_t rows = OH + KH - 1, cols = chunks * chunk + KW - 1, taps = C * KH * KW;
    /* a block's second row past an odd last output row reads one bordered row more: zeros */
    const int64_t slack = (block_rows - 1) * cols;
    const int64_t image_size = C * rows * cols + slack, P = OH * OW, PH = OH / 2, PW = OW / 2;
    const int64_t tasks = N * blocks;
    const int team = num_threads > 1 && tasks > 1 ? num_threads : 1;
    int64_t *offsets = malloc((size_t)taps * sizeof *offsets);
    /* (blocks, taps, block): a block's weights for one tap adjacent; a short last block is
     * padded with zero filters, whose sums are dropped */
    float *weights = calloc((size_t)(blocks * taps * block), sizeof(float));
    float *bordered = malloc((size_t)(team * image_size) * sizeof(float));  /* one per thread */
    const int ready = offsets && weights && bordered;
    if (ready) {
        fc_bordered_tap_offsets(offsets, C, KH, KW, rows, cols);
        fc_filters_by_block(weights, w, OC, taps, block);
    }
    #pragma omp parallel num_threads(team) if (team > 1 && ready)
    {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        int64_t rank = 0;
#ifdef _OPENMP
        rank = omp_get_thread_num();
#endif
        float *image = bordered + rank * image_size;
        int64_t bordered_n = -1;  /* the image this thread's copy holds */
        /* tasks (image, block of output channels): a thread's share runs through few
         * images, each copied once */
        #pragma omp for schedule(static)
        for (int64_t task = 0; task < (ready ? tasks : 0); task++) {
            const int64_t n = task / blocks, b = task % blocks;
            if (n != bordered_n) {  /* x_n with its zero border, rows padded to whole chunks */
                fc_border_image(image, x + n * C * H * W, C, H, W, rows, cols, pad_top, pad_left,
                                slack);
                bordered_n = n;
            }
            {
                const int64_t oc0 = b * block;
                const int64_t channels = OC - oc0 < block ? OC - oc0 : block;
                for (int64_t oh = 0; oh < OH; oh += block_rows)
                    for (int64_t q = 0; q < chunks; q++) {
                        const int64_t ow0 = q * chunk;
                        forward_target to = { NULL, NULL, P, OW, oh * OW + ow0, OW };
                        if (pool_indices) {  /* pooled row oh / 2, pooled column ow0 / 2 */
                            const int64_t at = ((n * OC + oc0) * PH + oh / 2) * PW + ow0 / 2;
                            to.out = out + at;
                            to.pool_indices = pool_indices + at;
                            to.plane = PH * PW;
                            to.OW = PW;
                        } else {
                            to.out = out + ((n * OC + oc0) * OH + oh) * OW + ow0;
                        }
                        forward_rows_any(&to, image + oh * cols + ow0, cols, offsets, taps,
                                         weights + oc0 * taps, bias ? bias + oc0 : NULL, relu,
                                         channels, OH - oh < block_rows ? OH - oh : block_rows,
                                         OW - ow0, block_rows, vectors);
                    }
            }
        }
        fc_flush_denormals_end(caller_mode);
    }
    free(bordered);
    free(weights);
    free(offsets);
    return ready;
}

/* ---- backward-weight ------------------------------------------------------------------ */

/* sums: one block's accumulators (CHANNELS x TAPS vectors) IN/OUT;  gradients[j]: output
 * channel j's plane of one image IN;  inputs[t]: tap t's first value for output (0, 0) IN;
 * ahead: `ahead_lines` cache lines that the next blocks will read, or NULL. */
FC_AVX512 static void block_image(float *restrict sums, const float *gradients[CHANNELS],
                                  const float *inputs[TAPS], int64_t OH, int64_t OW,
                                  int64_t row_stride, const char *ahead, int64_t ahead_lines)
{
    const int64_t steps = OH * ((OW + LANES - 1) / LANES);
    const int64_t ahead_per_step = ahead ? (ahead_lines + steps - 1) / steps : 0;
    int64_t step = 0;
    __m512 acc[CHANNELS][TAPS];
    for (int j = 0; j < CHANNELS; j++)
        for (int t = 0; t < TAPS; t++)
            acc[j][t] = _mm512_loadu_ps(sums + (j * TAPS + t) * LANES);
    const __mmask16 tail = OW % LANES ? (__mmask16)((1u << OW % LANES) - 1) : (__mmask16)0xFFFF;
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow += LANES) {
            /* past the row's end both operands load as 0 (never read beyond a buffer) */
            const __mmask16 mask = ow + LANES <= OW ? (__mmask16)0xFFFF : tail;
            for (int64_t l = step * ahead_per_step;
                 l < (step + 1) * ahead_per_step && l < ahead_lines; l++)
                _mm_prefetch(ahead + l * 64, _MM_HINT_T1);
            step++;
            __m512 g[CHANNELS];
            for (int j = 0; j < CHANNELS; j++)
                g[j] = _mm512_maskz_loadu_ps(mask, gradients[j] + oh * OW + ow);
            for (int t = 0; t < TAPS; t++) {
                const __m512 v = _mm512_maskz_loadu_ps(mask, inputs[t] + oh * row_stride + ow);
                for (int j = 0; j < CHANNELS; j++)
                    acc[j][t] = _mm512_fmadd_ps(g[j], v, acc[j][t]);
            }
        }
    for (int j = 0; j < CHANNELS; j++)
        for (int t = 0; t < TAPS; t++)
            _mm512_storeu_ps(sums + (j * TAPS + t) * LANES, acc[j][t]);
}

/* The 16 lanes' sum, pairwise (a fixed order). */
static float fold_lanes(const float *lanes)
{
    float v[LANES];
    for (int k = 0; k < LANES; k++)
        v[k] = lanes[k];
    for (int width = LANES / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++)
            v[k] += v[k + width];
    return v[0];
}

void fc_conv_weight_fewtaps_avx512_f32(float *restrict grad_w, float *restrict sums,
                                       const float *restrict grad_out,
                                       const float *restrict images, int64_t image_stride,
                                       const int64_t *restrict tap_offsets, int64_t row_stride,
                                       int64_t N, int64_t OC, int64_t taps, int64_t OH,
                                       int64_t OW, int first, int last, int num_threads)
{
    const int64_t channel_blocks = (OC + CHANNELS - 1) / CHANNELS;
    const int64_t tap_blocks = (taps + TAPS - 1) / TAPS, blocks = channel_blocks * tap_blocks;
    const int64_t P = OH * OW;
    #pragma omp parallel num_threads(num_threads) if (num_threads > 1 && blocks > 1)
    {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        int64_t first_block, end;
        fc_thread_share(blocks, &first_block, &end);
        if (first)
            for (int64_t i = first_block * BLOCK_SUMS; i < end * BLOCK_SUMS; i++)
                sums[i] = 0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t b = first_block; b < end; b++) {
                const int64_t oc0 = b / tap_blocks * CHANNELS, t0 = b % tap_blocks * TAPS;
                const float *gradients[CHANNELS], *inputs[TAPS];
                for (int j = 0; j < CHANNELS; j++) {
                    const int64_t oc = oc0 + j < OC ? oc0 + j : OC - 1;
                    gradients[j] = grad_out + (n * OC + oc) * P;
                }
                for (int t = 0; t < TAPS; t++)
                    inputs[t] = images + n * image_stride
                                + tap_offsets[t0 + t < taps ? t0 + t : taps - 1];
                /* the first pass over a block's grad_out planes reads them from memory:
                 * meanwhile ask for the next channel block's (the other passes over these
                 * planes find them in cache) */
                const int64_t next = oc0 + CHANNELS < OC ? oc0 + CHANNELS : -1;
                const char *ahead = b % tap_blocks == 0 && next >= 0
                                    ? (const char *)(grad_out + (n * OC + next) * P) : NULL;
                const int64_t ahead_lines = (OC - next < CHANNELS ? OC - next : CHANNELS) * P
                                            * (int64_t)sizeof(float) / 64;
                block_image(sums + b * BLOCK_SUMS, gradients, inputs, OH, OW, row_stride,
                            ahead, ahead_lines);
            }
        if (last)
            for (int64_t b = first_block; b < end; b++) {
                const int64_t oc0 = b / tap_blocks * CHANNELS, t0 = b % tap_blocks * TAPS;
                for (int64_t j = 0; j < CHANNELS && oc0 + j < OC; j++)
                    for (int64_t t = 0; t < TAPS && t0 + t < taps; t++)
                        grad_w[(oc0 + j) * taps + t0 + t] =
                            fold_lanes(sums + b * BLOCK_SUMS + (j * TAPS + t) * LANES);
            }
        fc_flush_denormals_end(caller_mode);
    }
}

/* Backward-data. As a GEMM (taps x pixels, output channels deep) a stem's few input
 * channels make only 9 or 27 rows and each tile is scattered back by col2im; here a block
 * of 4 rows x 32 columns (or 8 rows x 16 columns, for rows of at most 16) of up to 3 input
 * channels is held in 24 accumulators, and per (tap, output channel) each of its 8
 * grad_out vectors (unaligned loads, masked where they would read outside grad_out: those
 * lanes are the transposed convolution's zero padding) meets the filter values of that tap.
 * Layers of more channels take them 3 at a time, each pass reading the image's grad_out
 * again (from L2). Sums run kh, kw, then oc, whatever the block.
 *
 * 8 vectors a block: more would not fit the pointers and masks of their loads in registers
 * (measured: 8 rows x 2 vectors for one channel took 1.6x the time of 4 rows on the simple
 * CNN's conv1). Rows of at most 16 take 8 rows x 1 vector, so that no vector is all
 * padding (LeNet's 14-wide second layer: half the multiply-adds of 4 x 2). */
enum { DATA_VECTORS = FC_STEM_DATA_VECTORS, DATA_PASS_CHANNELS = 3 };

/* grad_x_n: (C, H, W) of one image OUT, channels c0..c0+CB-1, rows ih0..ih0+ROWS-1 (those
 * below H) and columns iw0..iw0+16*CHUNKS-1 (those below W);  grad_out_n: (OC, OH, OW) IN;
 * taps_w: (KH, KW, OC, C) IN. CB <= 3 and ROWS * CHUNKS = 8 are constants once inlined. */
FC_AVX512 static inline __attribute__((always_inline)) void
data_block(float *restrict grad_x_n, const float *restrict grad_out_n,
           const float *restrict taps_w, int64_t ih0, int64_t iw0, int64_t c0, int64_t C,
           int64_t H, int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
           int64_t pad_top, int64_t pad_left, const int CB, const int ROWS, const int CHUNKS)
{
    const int64_t P = OH * OW;
    __m512 acc[DATA_PASS_CHANNELS][DATA_VECTORS][2];
#pragma GCC unroll 3
    for (int c = 0; c < CB; c++)
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 2
            for (int q = 0; q < CHUNKS; q++)
                acc[c][r][q] = _mm512_setzero_ps();
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++) {
            const float *from[DATA_VECTORS][2];
            __mmask16 lanes[DATA_VECTORS][2];
            for (int r = 0; r < ROWS; r++)
                for (int q = 0; q < CHUNKS; q++) {
                    const int64_t row = ih0 + r + pad_top - kh;
                    const int64_t col = iw0 + q * LANES + pad_left - kw;
                    const int64_t lo = col < 0 ? -col : 0;
                    const int64_t hi = OW - col < LANES ? OW - col : LANES;
                    const int inside = row >= 0 && row < OH && hi > lo;
                    lanes[r][q] = inside ? (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;
                    from[r][q] = inside ? grad_out_n + row * OW + col : grad_out_n;
                }
            const float *restrict tap = taps_w + (kh * KW + kw) * OC * C + c0;
            for (int64_t oc = 0; oc < OC; oc++) {
                __m512 weight[DATA_PASS_CHANNELS];
#pragma GCC unroll 3
                for (int c = 0; c < CB; c++)
                    weight[c] = _mm512_set1_ps(tap[oc * C + c]);
#pragma GCC unroll 8
                for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 2
                    for (int q = 0; q < CHUNKS; q++) {
                        const __m512 g = _mm512_maskz_loadu_ps(lanes[r][q], from[r][q] + oc * P);
#pragma GCC unroll 3
                        for (int c = 0; c < CB; c++)
                            acc[c][r][q] = _mm512_fmadd_ps(weight[c], g, acc[c][r][q]);
                    }
            }
        }
    /* fixed trip counts (a test inside, no early exit), so that the loops unroll and the
     * accumulators stay in registers */
#pragma GCC unroll 3
    for (int c = 0; c < CB; c++)
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 2
            for (int q = 0; q < CHUNKS; q++) {
                const int64_t col = iw0 + q * LANES;
                if (ih0 + r < H && col < W) {
                    const __mmask16 store = W - col >= LANES ? (__mmask16)0xFFFF
                                                             : (__mmask16)((1u << (W - col)) - 1);
                    _mm512_mask_storeu_ps(grad_x_n + ((c0 + c) * H + ih0 + r) * W + col, store,
                                          acc[c][r][q]);
                }
            }
}

/* data_block for channels c0..c0+channels-1 (channels <= 3) in the block shape of `rows`
 * (4: 4 x 2 vectors, 8: 8 x 1). */
FC_AVX512 static void data_block_any(float *restrict grad_x_n, const float *restrict grad_out_n,
                                     const float *restrict taps_w, int64_t ih0, int64_t iw0,
                                     int64_t c0, int64_t channels, int64_t rows, int64_t C,
                                     int64_t H, int64_t W, int64_t OC, int64_t KH, int64_t KW,
                                     int64_t OH, int64_t OW, int64_t pad_top, int64_t pad_left)
{
#define FC_DATA_BLOCK(CB, ROWS)                                                                \
    data_block(grad_x_n, grad_out_n, taps_w, ih0, iw0, c0, C, H, W, OC, KH, KW, OH, OW,         \
               pad_top, pad_left, CB, ROWS, DATA_VECTORS / ROWS)
    if (rows == 4) {
        if (channels == 1)
            FC_DATA_BLOCK(1, 4);
        else if (channels == 2)
            FC_DATA_BLOCK(2, 4);
        else
            FC_DATA_BLOCK(3, 4);
    } else {
        if (channels == 1)
            FC_DATA_BLOCK(1, 8);
        else if (channels == 2)
            FC_DATA_BLOCK(2, 8);
        else
            FC_DATA_BLOCK(3, 8);
    }
#undef FC_DATA_BLOCK
}

int fc_conv_data_stem_avx512_f32(float *restrict grad_x, const float *restrict grad_out,
                                 const float *restrict w, int64_t N, int64_t C, int64_t H,
                                 int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                 int64_t OW, int64_t pad_top, int64_t pad_left, int num_threads)
{
    const int64_t taps = KH * KW;
    const int64_t rows = fc_stem_data_rows(W);
    const int64_t columns = DATA_VECTORS / rows * LANES;
    const int64_t row_blocks = (H + rows - 1) / rows, tasks = N * row_blocks;
    float *taps_w = malloc((size_t)(taps * OC * C) * sizeof(float));
    if (!taps_w)
        return 0;
    for (int64_t oc = 0; oc < OC; oc++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t t = 0; t < taps; t++)
                taps_w[(t * OC + oc) * C + c] = w[(oc * C + c) * taps + t];
    #pragma omp parallel num_threads(num_threads) if (num_threads > 1 && tasks > 1)
    {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        #pragma omp for schedule(static)
        for (int64_t task = 0; task < tasks; task++) {
            const int64_t n = task / row_blocks, ih0 = task % row_blocks * rows;
            for (int64_t c0 = 0; c0 < C; c0 += DATA_PASS_CHANNELS)
                for (int64_t iw0 = 0; iw0 < W; iw0 += columns)
                    data_block_any(grad_x + n * C * H * W, grad_out + n * OC * OH * OW, taps_w,
                                   ih0, iw0, c0, C - c0 < DATA_PASS_CHANNELS ? C - c0
                                                                         : DATA_PASS_CHANNELS,
                                   rows, C, H, W, OC, KH, KW, OH, OW, pad_top, pad_left);
        }
        fc_flush_denormals_end(caller_mode);
    }
    free(taps_w);
    return 1;
}
#endif
