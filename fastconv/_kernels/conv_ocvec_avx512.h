/* A direct forward convolution over vectors of output channels, and its backward-weight,
 * AVX-512F float32, for conv.c, which calls them only while the GEMM engine runs its avx512
 * kernels (a CPU that reports avx512f): the forward for small stride-1 images whose rows are
 * too short for the engine to read im2col in place, the backward-weight for stride-1 layers
 * of few output channels. */
#ifndef FASTCONV_CONV_OCVEC_AVX512_H
#define FASTCONV_CONV_OCVEC_AVX512_H

#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_CONV_OCVEC_AVX512 1
/* out[n][oc][oh][ow] = act(bias[oc] + sum over c, kh, kw, in that order, of
 *     w[oc][c][kh][kw] * x[n][c][oh + kh - pad_top][ow + kw - pad_left])
 * with x read as 0 outside its H x W; a stride-1, dilation-1, one-group layer whose OC is a
 * multiple of 16. act(v) = max(0, v) (NaN kept) when relu is set, else v; bias NULL: none.
 * out: (N, OC, OH, OW) OUT, every element written;  x: (N, C, H, W) IN;
 * w: (OC, C, KH, KW) IN;  bias: (OC,) IN or NULL.
 * With pool_indices (not NULL): max_pool2d of that output (2x2 windows, stride 2, floor
 * mode) instead, as fc_conv_forward_stem_avx512_f32 does it: out, pool_indices: (N, OC,
 * OH / 2, OW / 2) OUT.
 * Each element is one thread's fixed chain of multiply-adds (threads split the images), so
 * the bits do not depend on num_threads. Extra memory, per call: the filters re-laid out
 * (OC * C * KH * KW values) and, per thread, one bordered image (C * (OH + KH - 1) *
 * (OW + KW - 1) values and a few rows more) and, to pool, one image's outputs for a block of
 * 16 or 32 channels and their pooled values and indices (OH * OW + 2 * (OH / 2) * (OW / 2)
 * values per channel). Returns 0, having written nothing, if that memory cannot be had,
 * else 1. */
int fc_conv_forward_ocvec_avx512_f32(float *restrict out, int64_t *restrict pool_indices,
                                     const float *restrict x, const float *restrict w,
                                     const float *restrict bias, int relu, int64_t N, int64_t C,
                                     int64_t H, int64_t W, int64_t OC, int64_t KH, int64_t KW,
                                     int64_t OH, int64_t OW, int64_t pad_top, int64_t pad_left,
                                     int num_threads);

/* Its backward-weight, over the same output-channel vectors:
 * grad_w[oc][c][kh][kw] = sum over n of (sum over oh, ow, in that order, of
 *     grad_out[n][oc][oh][ow] * x[n][c][oh + kh - pad_top][ow + kw - pad_left]),
 * the images' sums added in image order, x read as 0 outside its H x W; a stride-1,
 * dilation-1, one-group layer whose OC is a multiple of 16 and KW is 3 or 5, with
 * pad_top <= KH - 1 and pad_left <= KW - 1.
 * grad_w: (OC, C, KH, KW) OUT, every element written;  grad_out: (N, OC, OH, OW) IN;
 * x: (N, C, H, W) IN.
 * Each element is one thread's fixed chain (threads split the channel vectors and the
 * filter taps, never the images), so the bits do not depend on num_threads. Extra memory,
 * per call: the sums (OC * C * KH * KW values) and, per thread, one image's grad_out for 16
 * channels (OH * OW * 16 values) and one bordered image of the channels its taps read (at
 * most C * (OH + KH - 1) * (OW + KW - 1) values). Returns 0, having written nothing, if
 * that memory cannot be had, else 1. */
int fc_conv_weight_ocvec_avx512_f32(float *restrict grad_w, const float *restrict grad_out,
                                    const float *restrict x, int64_t N, int64_t C, int64_t H,
                                    int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                    int64_t OW, int64_t pad_top, int64_t pad_left,
                                    int num_threads);
#endif

#endif
