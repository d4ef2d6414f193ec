#include "fastconv.h"
#include "dropout.h"

#define real float
#define FC_SUFFIX f32
#include "dropout_impl.h"
#undef real
#undef FC_SUFFIX

#define real double
#define FC_SUFFIX f64
#include "dropout_impl.h"
#undef real
#undef FC_SUFFIX
