/* OpenMP and CPU facts the Python layer reports and uses to size thread teams. */
#ifndef FASTCONV_THREADS_H
#define FASTCONV_THREADS_H

int fc_openmp_enabled(void);
/* The team size a parallel region started by the calling thread gets by default
 * (OMP_NUM_THREADS, omp_set_num_threads, threadpoolctl all act on it); 1 without OpenMP. */
int fc_omp_max_threads(void);
/* Set that default for the calling thread; a no-op without OpenMP. */
void fc_omp_set_num_threads(int n);
/* 1 if the CPU reports the feature ("sse2", "avx", "avx2", "fma", "avx512f"), else 0. */
int fc_cpu_supports(const char *feature);

#endif
