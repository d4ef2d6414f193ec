/* Shared conventions of fastconv's C kernels.
 *
 * Every kernel:
 *   - takes outputs first, then inputs, then sizes, then `num_threads`;
 *   - overwrites its outputs completely and never reads them first;
 *   - uses 64-bit (int64_t) sizes and index arithmetic;
 *   - parallelises so that no two threads write the same output element, and
 *     reduces in an order that does not depend on the thread count, so results
 *     are bitwise identical for any `num_threads`;
 *   - knows nothing of Python: the Cython bindings call it with the GIL released.
 *
 * Each kernel body is written once over the type `real` in a `<family>_impl.h`
 * file; `<family>.c` defines FC_IMPL as that file's name and includes instantiate.h,
 * which compiles it as float (`_f32`) and as double (`_f64`). FC_FN(name) spells the
 * suffixed name.
 */
#ifndef FASTCONV_H
#define FASTCONV_H

#include <stdint.h>
#include <stddef.h>

#define FC_CAT_(a, b) a##_##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_FN(name) FC_CAT(name, FC_SUFFIX)

/* FC_INLINE_COPIES: for packers that copy and zero runs as short as a few values (one
 * output row of a small image, the padding at its edges, one step of a GEMM sliver): gcc
 * would turn each loop into a memmove or memset call, which costs more than the copy at
 * these lengths (measured: half the packing time of a 13x13 layer), so their loops stay
 * inline. */
#if defined(__GNUC__) && !defined(__clang__)
#define FC_INLINE_COPIES __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define FC_INLINE_COPIES
#endif

#endif
