/* AVX-512F transpose for the convolution packers (contract: conv_transpose.h). Compiled for
 * AVX-512 through a function attribute only, so the library stays portable; conv.c calls it
 * only when the CPU reports avx512f. 16 x 16 blocks: 16 (masked) row loads, an in-register
 * transpose (32-bit, 64-bit, then 128-bit lane interleaves), 16 (masked) column stores. */
#include "conv_transpose.h"

#ifdef FC_CONV_TRANSPOSE_AVX512
#include <immintrin.h>

#include "transpose16_avx512.h"

__attribute__((target("avx512f")))
void fc_conv_transpose_avx512_f32(float *restrict dst, int64_t dst_stride,
                                  const float *restrict src, int64_t src_stride,
                                  int64_t rows, int64_t cols)
{
    for (int64_t i0 = 0; i0 < rows; i0 += 16) {
        const int64_t height = rows - i0 < 16 ? rows - i0 : 16;
        const __mmask16 row_mask = (__mmask16)((1u << height) - 1);
        for (int64_t j0 = 0; j0 < cols; j0 += 16) {
            const int64_t width = cols - j0 < 16 ? cols - j0 : 16;
            const __mmask16 col_mask = (__mmask16)((1u << width) - 1);
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                r[i] = i < height ? _mm512_maskz_loadu_ps(col_mask, src + (i0 + i) * src_stride + j0)
                                  : _mm512_setzero_ps();
            fc_transpose16x16_ps(r);
            for (int64_t j = 0; j < width; j++)
                _mm512_mask_storeu_ps(dst + (j0 + j) * dst_stride + i0, row_mask, r[j]);
        }
    }
}
#endif
