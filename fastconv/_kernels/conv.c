#include "fastconv.h"
#include "conv.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Which row of a per-thread scratch buffer the calling thread owns. */
static inline int64_t thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* The outputs o in [*first, *end) whose input index o*stride + offset lies in [0, in_size).
 * Every other output reads zero padding for this tap, so restricting the loops to this
 * range replaces a bounds test in the innermost loop. Shared by both precisions. */
static inline void valid_outputs(int64_t offset, int64_t stride, int64_t in_size, int64_t out_size,
                                 int64_t *first, int64_t *end)
{
    int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int64_t hi = offset >= in_size ? 0 : (in_size - 1 - offset) / stride + 1;
    if (hi > out_size) hi = out_size;
    if (lo > hi) lo = hi;
    *first = lo;
    *end = hi;
}

#define FC_IMPL "conv_impl.h"
#include "instantiate.h"
