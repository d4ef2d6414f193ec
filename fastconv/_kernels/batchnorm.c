#include "fastconv.h"
#include "batchnorm.h"

#define real float
#define FC_SUFFIX f32
#include "batchnorm_impl.h"
#undef real
#undef FC_SUFFIX

#define real double
#define FC_SUFFIX f64
#include "batchnorm_impl.h"
#undef real
#undef FC_SUFFIX
