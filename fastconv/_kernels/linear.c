#include "fastconv.h"
#include "linear.h"

#define real float
#define FC_SUFFIX f32
#include "linear_impl.h"
#undef real
#undef FC_SUFFIX

#define real double
#define FC_SUFFIX f64
#include "linear_impl.h"
#undef real
#undef FC_SUFFIX
