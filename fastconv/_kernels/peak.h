/* Machine limits measured in the same run as a benchmark: the FMA throughput of the
 * cores and the memory copy bandwidth. Used by bench/ to express kernel speed as a
 * fraction of what the machine can do. */
#ifndef FASTCONV_PEAK_H
#define FASTCONV_PEAK_H

#include <stdint.h>

/* Runs `iterations` rounds of independent FMA chains on registers in each of
 * `num_threads` threads; returns the FLOPs done (2 per lane per FMA), or 0 if
 * `double_precision` asks for a width the CPU lacks (never: the portable path works).
 * `isa` receives "avx512f", "avx2" or "portable". */
double fma_peak_run(int double_precision, int64_t iterations, int num_threads, const char **isa);

/* dst: (bytes,) OUT;  src: (bytes,) IN.  memcpy split into one contiguous block per thread. */
void parallel_copy(char *dst, const char *src, int64_t bytes, int num_threads);

#endif
