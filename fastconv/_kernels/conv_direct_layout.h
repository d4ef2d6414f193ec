/* Layouts shared by the direct AVX-512 convolution kernels (conv_stem_avx512.c,
 * conv_ocvec_avx512.c): an image copied with its zero border, so that every filter tap reads
 * at one offset from an output's position, and filters regrouped by blocks of output
 * channels. Plain C, no vector code. */
#ifndef FASTCONV_CONV_DIRECT_LAYOUT_H
#define FASTCONV_CONV_DIRECT_LAYOUT_H

#include <stdint.h>
#include <string.h>

/* offsets: (C * KH * KW,) OUT, tap (c, kh, kw)'s offset in a bordered image of C planes of
 * rows x cols: (c * rows + kh) * cols + kw. */
static inline void fc_bordered_tap_offsets(int64_t *restrict offsets, int64_t C, int64_t KH,
                                           int64_t KW, int64_t rows, int64_t cols)
{
    for (int64_t c = 0; c < C; c++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++)
                offsets[(c * KH + kh) * KW + kw] = (c * rows + kh) * cols + kw;
}

/* blocked: (ceil(OC / block), taps, block) OUT, blocked[(oc / block * taps + t) * block +
 * oc % block] = w[oc * taps + t];  w: (OC, taps) IN. Entries of a short last block's missing
 * channels are not written. */
static inline void fc_filters_by_block(float *restrict blocked, const float *restrict w,
                                       int64_t OC, int64_t taps, int64_t block)
{
    for (int64_t oc = 0; oc < OC; oc++)
        for (int64_t t = 0; t < taps; t++)
            blocked[(oc / block * taps + t) * block + oc % block] = w[oc * taps + t];
}

/* x_n's C planes with a zero border: bordered (C, rows, cols) OUT, then `slack` zeros;
 * plane row r, column q holds x_n[c][r - pad_top][q - pad_left] or 0 (pads >= 0).
 * x_n: (C, H, W) IN. */
static inline void fc_border_image(float *restrict bordered, const float *restrict x_n,
                                   int64_t C, int64_t H, int64_t W, int64_t rows, int64_t cols,
                                   int64_t pad_top, int64_t pad_left, int64_t slack)
{
    memset(bordered, 0, (size_t)(C * rows * cols + slack) * sizeof(float));
    for (int64_t c = 0; c < C; c++)
        for (int64_t r = 0; r < rows; r++) {
            const int64_t ih = r - pad_top;
            if (ih < 0 || ih >= H)
                continue;
            const int64_t len = W < cols - pad_left ? W : cols - pad_left;
            if (len > 0)
                memcpy(bordered + (c * rows + r) * cols + pad_left, x_n + (c * H + ih) * W,
                       (size_t)len * sizeof(float));
        }
}

#endif
