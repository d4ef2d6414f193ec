/* Inverted dropout: kept elements scaled by 1 / (1 - p), dropped ones zero. The random mask
 * is drawn by the caller (NumPy's Generator), so the kernels are deterministic. */
#ifndef FASTCONV_DROPOUT_H
#define FASTCONV_DROPOUT_H

#include <stdint.h>

void dropout_forward_f32(float *out, const float *x, const uint8_t *keep, float scale,
                         int64_t n, int num_threads);
void dropout_forward_f64(double *out, const double *x, const uint8_t *keep, double scale,
                         int64_t n, int num_threads);

#endif
