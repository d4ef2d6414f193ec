#include "fastconv.h"
#include "pool.h"

#define real float
#define FC_SUFFIX f32
#include "pool_impl.h"
#undef real
#undef FC_SUFFIX

#define real double
#define FC_SUFFIX f64
#include "pool_impl.h"
#undef real
#undef FC_SUFFIX
