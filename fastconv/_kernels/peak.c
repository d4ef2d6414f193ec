/* The FMA peak: independent a = a * b + c chains held in registers, enough of them to
 * cover the FMA latency on both FMA ports (SPR: 4 cycles x 2 ports = 8 chains minimum).
 * b < 1 makes every chain converge to c / (1 - b): no overflow, no denormals.
 * Intrinsic variants are compiled with target attributes and picked at run time. */
#include <string.h>
#include "peak.h"
#include "thread_share.h"


#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PEAK_X86 1
#include <immintrin.h>
#endif

#define CHAINS 16

#ifdef PEAK_X86
__attribute__((target("avx512f,fma")))
static double fma_avx512_f32(int64_t iterations)
{
    __m512 a[CHAINS];
    const __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
    for (int k = 0; k < CHAINS; k++) a[k] = _mm512_set1_ps((float)k);
    for (int64_t i = 0; i < iterations; i++)
        for (int k = 0; k < CHAINS; k++) a[k] = _mm512_fmadd_ps(a[k], b, c);
    __m512 sum = a[0];
    for (int k = 1; k < CHAINS; k++) sum = _mm512_add_ps(sum, a[k]);
    return (double)_mm512_reduce_add_ps(sum);
}

__attribute__((target("avx512f,fma")))
static double fma_avx512_f64(int64_t iterations)
{
    __m512d a[CHAINS];
    const __m512d b = _mm512_set1_pd(0.999), c = _mm512_set1_pd(1e-3);
    for (int k = 0; k < CHAINS; k++) a[k] = _mm512_set1_pd((double)k);
    for (int64_t i = 0; i < iterations; i++)
        for (int k = 0; k < CHAINS; k++) a[k] = _mm512_fmadd_pd(a[k], b, c);
    __m512d sum = a[0];
    for (int k = 1; k < CHAINS; k++) sum = _mm512_add_pd(sum, a[k]);
    return _mm512_reduce_add_pd(sum);
}

/* AVX2 has 16 vector registers: 12 chains leave room for b, c and the loop. */
#define AVX2_CHAINS 12

__attribute__((target("avx2,fma")))
static double fma_avx2_f32(int64_t iterations)
{
    __m256 a[AVX2_CHAINS];
    const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
    for (int k = 0; k < AVX2_CHAINS; k++) a[k] = _mm256_set1_ps((float)k);
    for (int64_t i = 0; i < iterations; i++)
        for (int k = 0; k < AVX2_CHAINS; k++) a[k] = _mm256_fmadd_ps(a[k], b, c);
    float lanes[8];
    __m256 sum = a[0];
    for (int k = 1; k < AVX2_CHAINS; k++) sum = _mm256_add_ps(sum, a[k]);
    _mm256_storeu_ps(lanes, sum);
    double total = 0;
    for (int l = 0; l < 8; l++) total += lanes[l];
    return total;
}

__attribute__((target("avx2,fma")))
static double fma_avx2_f64(int64_t iterations)
{
    __m256d a[AVX2_CHAINS];
    const __m256d b = _mm256_set1_pd(0.999), c = _mm256_set1_pd(1e-3);
    for (int k = 0; k < AVX2_CHAINS; k++) a[k] = _mm256_set1_pd((double)k);
    for (int64_t i = 0; i < iterations; i++)
        for (int k = 0; k < AVX2_CHAINS; k++) a[k] = _mm256_fmadd_pd(a[k], b, c);
    double lanes[4];
    __m256d sum = a[0];
    for (int k = 1; k < AVX2_CHAINS; k++) sum = _mm256_add_pd(sum, a[k]);
    _mm256_storeu_pd(lanes, sum);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

/* Portable: the same chains in scalars (gcc may or may not vectorise them). */
static double fma_portable(int64_t iterations)
{
    double a[CHAINS];
    for (int k = 0; k < CHAINS; k++) a[k] = (double)k;
    for (int64_t i = 0; i < iterations; i++)
        for (int k = 0; k < CHAINS; k++) a[k] = a[k] * 0.999 + 1e-3;
    double total = 0;
    for (int k = 0; k < CHAINS; k++) total += a[k];
    return total;
}

/* Which kernel runs, and the FLOPs one iteration of it does. */
static double (*pick(int double_precision, const char **isa, double *flops_per_iteration))(int64_t)
{
#ifdef PEAK_X86
    if (__builtin_cpu_supports("avx512f")) {
        *isa = "avx512f";
        *flops_per_iteration = 2.0 * CHAINS * (double_precision ? 8 : 16);
        return double_precision ? fma_avx512_f64 : fma_avx512_f32;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *isa = "avx2";
        *flops_per_iteration = 2.0 * AVX2_CHAINS * (double_precision ? 4 : 8);
        return double_precision ? fma_avx2_f64 : fma_avx2_f32;
    }
#else
    (void)double_precision;
#endif
    *isa = "portable";
    *flops_per_iteration = 2.0 * CHAINS;
    return fma_portable;
}

double fma_peak_run(int double_precision, int64_t iterations, int num_threads, const char **isa)
{
    double flops_per_iteration;
    double (*kernel)(int64_t) = pick(double_precision, isa, &flops_per_iteration);
    volatile double sink = 0;
    int threads_run = 0;
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel num_threads(num_threads) reduction(+:threads_run)
    {
        sink = kernel(iterations);  /* a store the compiler must keep, so the loop stays */
        threads_run += 1;
    }
    (void)sink;
    return flops_per_iteration * (double)iterations * (double)threads_run;
}

void parallel_copy(char *restrict dst, const char *restrict src, int64_t bytes, int num_threads)
{
    (void)num_threads; /* unused when built without OpenMP */
    #pragma omp parallel num_threads(num_threads)
    {
        int64_t begin, end;
        fc_thread_share(bytes, &begin, &end);
        memcpy(dst + begin, src + begin, (size_t)(end - begin));
    }
}
