/* Stems (layers over few input channels), AVX-512F float32: direct kernels for their
 * forward, backward-weight and backward-data, for conv.c, which calls them only while the GEMM engine
 * runs its avx512 kernels (a CPU that reports avx512f). */
#ifndef FASTCONV_CONV_STEM_AVX512_H
#define FASTCONV_CONV_STEM_AVX512_H

#include <stdint.h>

/* The backward-data kernel's output blocks: 8 vectors of 16 values, as 4 rows x 2 vectors,
 * or 8 rows x 1 vector for rows of at most 16 values. */
enum { FC_STEM_DATA_VECTORS = 8, FC_STEM_LANES = 16 };

static inline int64_t fc_stem_data_rows(int64_t W)
{
    return W <= FC_STEM_LANES ? FC_STEM_DATA_VECTORS : FC_STEM_DATA_VECTORS / 2;
}

/* The share of the backward-data kernel's multiply-adds that meet grad_out values rather
 * than its zero padding or the columns and rows past grad_x's edge its whole blocks cover:
 * each element of grad_out meets KH * KW filter values, each element of a block as many
 * (padding included). */
static inline double fc_stem_data_useful_share(int64_t H, int64_t W, int64_t OH, int64_t OW)
{
    const int64_t rows = fc_stem_data_rows(W), columns = FC_STEM_DATA_VECTORS / rows * FC_STEM_LANES;
    const int64_t covered = (H + rows - 1) / rows * rows * ((W + columns - 1) / columns * columns);
    return (double)(OH * OW) / (double)covered;
}

/* The few-tap backward-weight kernel's blocks of 3 output channels x 9 taps, each with 16
 * lanes of running sums. */
enum { FC_FEWTAPS_CHANNELS = 3, FC_FEWTAPS_TAPS = 9 };

/* The floats of that kernel's running sums for OC output channels and `taps` taps. */
static inline int64_t fc_fewtaps_sums(int64_t OC, int64_t taps)
{
    return (OC + FC_FEWTAPS_CHANNELS - 1) / FC_FEWTAPS_CHANNELS
           * ((taps + FC_FEWTAPS_TAPS - 1) / FC_FEWTAPS_TAPS)
           * FC_FEWTAPS_CHANNELS * FC_FEWTAPS_TAPS * FC_STEM_LANES;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_CONV_STEM_AVX512 1
/* grad_w[oc][t] = sum over images n and outputs (oh, ow) of
 *     grad_out[n][oc][oh][ow] * images[n * image_stride + tap_offsets[t] + oh * row_stride + ow]
 * over a batch given in runs of images, one call per run, in order.
 * grad_w: (OC, taps) OUT, written by the call with `last` set;  sums: (fc_fewtaps_sums(OC,
 * taps),) IN/OUT, the running per-lane sums, started from 0 by the call with `first` set
 * (not read then);  grad_out: (N, OC, OH, OW) of the run IN;  images: the run's N images
 * IN, each read only where some tap of some output reads;  tap_offsets: (taps,) IN.
 * Every tap reads at stride 1 (the caller hands it phase planes for strided or padded
 * layers). The sums are per-lane chains over (n, oh, ow) in that order, whatever the runs,
 * then a fixed pairwise fold of the 16 lanes; threads split the (output channel, tap)
 * blocks only, so the bits depend neither on num_threads nor on how the batch is cut. */
void fc_conv_weight_fewtaps_avx512_f32(float *restrict grad_w, float *restrict sums,
                                       const float *restrict grad_out,
                                       const float *restrict images, int64_t image_stride,
                                       const int64_t *restrict tap_offsets, int64_t row_stride,
                                       int64_t N, int64_t OC, int64_t taps, int64_t OH,
                                       int64_t OW, int first, int last, int num_threads);

/* The forward of a stride-1, dilation-1, one-group layer:
 *     out[n][oc][oh][ow] = act(bias[oc] + sum over c, kh, kw, in that order, of
 *                              w[oc][c][kh][kw] * x[n][c][oh + kh - pad_top][ow + kw - pad_left])
 * with x read as 0 outside its H x W, pad_top <= KH - 1 and pad_left <= KW - 1;
 * act(v) = v where v > 0 or v is NaN, else +0, when relu is set, else v; bias NULL: none.
 * out: (N, OC, OH, OW) OUT, every element written;  x: (N, C, H, W) IN;
 * w: (OC, C, KH, KW) IN;  bias: (OC,) IN or NULL. The sums are the GEMM engine's, bit for
 * bit, for C * KH * KW up to its k block (512 taps: every stem). Each element is one
 * thread's chain, so the bits do not depend on num_threads.
 * With pool_indices (not NULL): max_pool2d of that output (2x2 windows, stride 2, floor
 * mode) instead, without writing the output itself: out, pool_indices: (N, OC, OH / 2,
 * OW / 2) OUT, the pooled values and the flat index of each window's maximum in its OH x OW
 * plane, as max_pool2d with return_indices gives them (a later window value wins if greater
 * or NaN). Extra memory, per call: the filters re-laid out (OC * C * KH * KW values) and,
 * per thread, one bordered image (C * (OH + KH - 1) * (OW rounded up to 16, + KW - 1)
 * values). Returns 0, having written nothing, if that memory cannot be had, else 1. */
int fc_conv_forward_stem_avx512_f32(float *restrict out, int64_t *restrict pool_indices,
                                    const float *restrict x, const float *restrict w,
                                    const float *restrict bias, int relu, int64_t N, int64_t C,
                                    int64_t H, int64_t W, int64_t OC, int64_t KH, int64_t KW,
                                    int64_t OH, int64_t OW, int64_t pad_top, int64_t pad_left,
                                    int num_threads);

/* grad_x of a stride-1, dilation-1, one-group layer:
 *     grad_x[n][c][ih][iw] = sum over kh, kw, oc (oc innermost) of
 *                            w[oc][c][kh][kw] * grad_out[n][oc][ih + pad_top - kh][iw + pad_left - kw]
 * (grad_out read as 0 outside its OH x OW). grad_x: (N, C, H, W) OUT, every element
 * written;  grad_out: (N, OC, OH, OW) IN;  w: (OC, C, KH, KW) IN. Each element is one
 * thread's fixed chain of multiply-adds, so the bits do not depend on num_threads.
 * Returns 0 (nothing written) if its small filter table cannot be allocated, else 1. */
int fc_conv_data_stem_avx512_f32(float *restrict grad_x, const float *restrict grad_out,
                                 const float *restrict w, int64_t N, int64_t C, int64_t H,
                                 int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                 int64_t OW, int64_t pad_top, int64_t pad_left, int num_threads);
#endif

#endif
