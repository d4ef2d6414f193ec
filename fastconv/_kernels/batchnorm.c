#include "fastconv.h"
#include "batchnorm.h"

#include <math.h>

/* invstd: (C,) OUT;  var: (C,) IN.  invstd = 1 / sqrt(var + eps) in double, the formula the
 * training forward uses for its batch variance; a negative var gives NaN, as in PyTorch. */
void batch_norm_invstd(double *restrict invstd, const double *restrict var, double eps,
                       int64_t C)
{
    for (int64_t c = 0; c < C; c++) invstd[c] = 1.0 / sqrt(var[c] + eps);
}

#define FC_IMPL "batchnorm_impl.h"
#include "instantiate.h"
