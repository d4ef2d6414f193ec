#include <string.h>
#include "threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif

int fc_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fc_omp_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void fc_omp_set_num_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

int fc_cpu_supports(const char *feature) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    /* __builtin_cpu_supports needs a literal, hence the table. */
    if (strcmp(feature, "sse2") == 0) return __builtin_cpu_supports("sse2") != 0;
    if (strcmp(feature, "avx") == 0) return __builtin_cpu_supports("avx") != 0;
    if (strcmp(feature, "avx2") == 0) return __builtin_cpu_supports("avx2") != 0;
    if (strcmp(feature, "fma") == 0) return __builtin_cpu_supports("fma") != 0;
    if (strcmp(feature, "avx512f") == 0) return __builtin_cpu_supports("avx512f") != 0;
#else
    (void)feature;
#endif
    return 0;
}
