#include "fastconv.h"
#include "activation.h"

#define real float
#define FC_SUFFIX f32
#include "activation_impl.h"
#undef real
#undef FC_SUFFIX

#define real double
#define FC_SUFFIX f64
#include "activation_impl.h"
#undef real
#undef FC_SUFFIX
