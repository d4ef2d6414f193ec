/* Backward-weight of layers with few taps (stems), AVX-512F float32: a direct kernel for
 * conv.c, which calls it only while the GEMM engine runs its avx512 kernels (a CPU that
 * reports avx512f). */
#ifndef FASTCONV_CONV_WEIGHT_AVX512_H
#define FASTCONV_CONV_WEIGHT_AVX512_H

#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_CONV_WEIGHT_AVX512 1
/* grad_w[oc][t] = sum over images n and outputs (oh, ow) of
 *     grad_out[n][oc][oh][ow] * images[n * image_stride + tap_offsets[t] + oh * row_stride + ow]
 * grad_w: (OC, taps) OUT;  grad_out: (N, OC, OH, OW) IN;  images: N images IN, each read
 * only where some tap of some output reads;  tap_offsets: (taps,) IN.
 * Every tap reads at stride 1 (the caller hands it phase planes for strided or padded
 * layers). The sums are per-lane chains over (n, oh, ow) in that order, then a fixed
 * pairwise fold of the 16 lanes; threads split the (output channel, tap) blocks only, so
 * the bits do not depend on num_threads. Extra memory: 432 floats per block of 3 output
 * channels x 9 taps, allocated per call. Returns 0 (nothing written) if that allocation
 * fails, else 1. */
int fc_conv_weight_fewtaps_avx512_f32(float *restrict grad_w, const float *restrict grad_out,
                                      const float *restrict images, int64_t image_stride,
                                      const int64_t *restrict tap_offsets, int64_t row_stride,
                                      int64_t N, int64_t OC, int64_t taps, int64_t OH,
                                      int64_t OW, int num_threads);
#endif

#endif
