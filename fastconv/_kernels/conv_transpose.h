/* A fast matrix transpose for the convolution packers (conv.c), one per ISA that has
 * one. conv.c calls fc_conv_transpose_avx512_f32 only while the GEMM engine runs its
 * avx512 kernels (fc_gemm_isa()), that is on a CPU that reports avx512f. */
#ifndef FASTCONV_CONV_TRANSPOSE_H
#define FASTCONV_CONV_TRANSPOSE_H

#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_CONV_TRANSPOSE_AVX512 1
/* dst[j * dst_stride + i] = src[i * src_stride + j * src_step] for i < rows, j < cols;
 * src_step is 1 or 2 (a stride-2 layer's subsample of a row).
 * dst: (cols, dst_stride) OUT, only the rows x cols entries written;
 * src: (rows, src_stride) IN, of each row only the (cols - 1) * src_step + 1 values read. */
void fc_conv_transpose_avx512_f32(float *restrict dst, int64_t dst_stride,
                                  const float *restrict src, int64_t src_stride,
                                  int64_t src_step, int64_t rows, int64_t cols);
#endif
#endif
