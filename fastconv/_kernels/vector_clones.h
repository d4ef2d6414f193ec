/* FC_VECTOR_CLONES: compile a function once per x86 vector ISA (AVX-512F, AVX2, baseline)
 * and pick the version at load time (GCC/Clang target_clones, an ifunc resolver).
 * The build stays portable (no -march), yet the loops gcc vectorises run with the
 * machine's widest vectors. Put it on per-plane or per-channel workers, never on a
 * function holding an OpenMP region, and never on tiny functions called per element.
 * Elsewhere (other compilers or CPUs) it expands to nothing: the portable path. */
#ifndef FASTCONV_VECTOR_CLONES_H
#define FASTCONV_VECTOR_CLONES_H

#if defined(__x86_64__) && defined(__has_attribute) && defined(__linux__)
#if __has_attribute(target_clones)
#define FC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif

#ifndef FC_VECTOR_CLONES
#define FC_VECTOR_CLONES
#endif

/* Inlined into every clone of its caller, so it is vectorised for each ISA. */
#if defined(__GNUC__)
#define FC_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define FC_ALWAYS_INLINE static inline
#endif

#endif
