/* Lane masks shared by the AVX-512 loops (pooling, batch-norm, softmax). */
#ifndef FASTCONV_AVX512_LANES_H
#define FASTCONV_AVX512_LANES_H

#include <immintrin.h>
#include <stdint.h>

/* The first n lanes of 16 set: none for n <= 0 (a shift by a negative count would be
 * undefined, and on x86 once masked a load onto 16 lanes past the end of a row), all for
 * n >= 16. */
static inline __mmask16 fc_first_lanes(int64_t n)
{
    if (n <= 0) return 0;
    return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
}

#endif
