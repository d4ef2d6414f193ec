/* AVX-512F transpose for the convolution packers (contract: conv_transpose.h). Compiled for
 * AVX-512 through a function attribute only, so the library stays portable; conv.c calls it
 * only when the CPU reports avx512f. 16 x 16 blocks: 16 (masked) row loads, an in-register
 * transpose (32-bit, 64-bit, then 128-bit lane interleaves), 16 (masked) column stores. At
 * step 2 a row's 16 values come from two loads and one two-source permute that keeps the
 * even lanes (the scalar gather it replaces was a third of a 1x1 stride-2 backward-weight). */
#include "conv_transpose.h"

#ifdef FC_CONV_TRANSPOSE_AVX512
#include <immintrin.h>

#include "transpose16_avx512.h"

/* Rows are read 16 at a time, each a separate stream: a prefetch 64 values ahead in each
 * row (measured: a 1x1 stride-2 backward-weight, whose grad_out this packs, 7% faster). */
enum { PREFETCH_AHEAD = 64 };

__attribute__((target("avx512f")))
void fc_conv_transpose_avx512_f32(float *restrict dst, int64_t dst_stride,
                                  const float *restrict src, int64_t src_stride,
                                  int64_t src_step, int64_t rows, int64_t cols)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (int64_t i0 = 0; i0 < rows; i0 += 16) {
        const int64_t height = rows - i0 < 16 ? rows - i0 : 16;
        const __mmask16 row_mask = (__mmask16)((1u << height) - 1);
        for (int64_t j0 = 0; j0 < cols; j0 += 16) {
            const int64_t width = cols - j0 < 16 ? cols - j0 : 16;
            const __mmask16 col_mask = (__mmask16)((1u << width) - 1);
            __m512 r[16];
            if (src_step == 1) {
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) {
                    r[i] = i < height ? _mm512_maskz_loadu_ps(col_mask, src + (i0 + i) * src_stride + j0)
                                      : _mm512_setzero_ps();
                    if (i < height && j0 + PREFETCH_AHEAD < cols)
                        _mm_prefetch((const char *)(src + (i0 + i) * src_stride + j0 + PREFETCH_AHEAD),
                                     _MM_HINT_T0);
                }
            } else {
                /* values 2 * j0 .. 2 * (j0 + width - 1) of each row: 2 * width - 1 of them */
                const int64_t span = 2 * width - 1;
                const __mmask16 low_mask = (__mmask16)((1u << (span < 16 ? span : 16)) - 1);
                const __mmask16 high_mask = (__mmask16)((1u << (span > 16 ? span - 16 : 0)) - 1);
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) {
                    const float *row = src + (i0 + i) * src_stride + 2 * j0;
                    r[i] = i < height ? _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(low_mask, row), even,
                                                               _mm512_maskz_loadu_ps(high_mask, row + 16))
                                      : _mm512_setzero_ps();
                }
            }
            fc_transpose16x16_ps(r);
            for (int64_t j = 0; j < width; j++)
                _mm512_mask_storeu_ps(dst + (j0 + j) * dst_stride + i0, row_mask, r[j]);
        }
    }
}
#endif
