/* Denormal numbers (|x| < 1.2e-38 in float) send x86 arithmetic down a microcoded path
 * ~100x slower than normal; a GEMM over weights or gradients that decay towards zero can
 * hit them by the million. Kernels flush them for their own duration, in each thread
 * that does the work, and give the calling thread its floating-point mode back, so
 * NumPy and the user's code around a kernel see IEEE behaviour unchanged.
 * FTZ (bit 15) writes denormal results as zero, DAZ (bit 6) reads denormal inputs as zero. */
#ifndef FASTCONV_DENORMALS_H
#define FASTCONV_DENORMALS_H

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <xmmintrin.h>
typedef unsigned int fc_fp_mode;
static inline fc_fp_mode fc_flush_denormals_begin(void)
{
    const unsigned int mode = _mm_getcsr();
    _mm_setcsr(mode | 0x8040u);
    return mode;
}
static inline void fc_flush_denormals_end(fc_fp_mode mode) { _mm_setcsr(mode); }
#else
typedef int fc_fp_mode;  /* elsewhere denormals cost little or the mode differs: leave it */
static inline fc_fp_mode fc_flush_denormals_begin(void) { return 0; }
static inline void fc_flush_denormals_end(fc_fp_mode mode) { (void)mode; }
#endif

#endif
