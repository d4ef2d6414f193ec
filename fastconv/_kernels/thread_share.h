/* A thread's share of a static split inside an OpenMP parallel region. */
#ifndef FASTCONV_THREAD_SHARE_H
#define FASTCONV_THREAD_SHARE_H

#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* [*begin, *end): the calling thread's contiguous share of `count` items, the team of the
 * enclosing parallel region splitting them evenly in rank order (all of them outside a
 * region or without OpenMP). Returns the team size. */
static inline int64_t fc_thread_share(int64_t count, int64_t *begin, int64_t *end)
{
    int64_t team = 1, rank = 0;
#ifdef _OPENMP
    team = omp_get_num_threads();
    rank = omp_get_thread_num();
#endif
    *begin = count * rank / team;
    *end = count * (rank + 1) / team;
    return team;
}

#endif
