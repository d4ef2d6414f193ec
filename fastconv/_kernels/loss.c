#include "fastconv.h"
#include "loss.h"
#include "softmax.h"

#define real float
#define FC_SUFFIX f32
#include "loss_impl.h"
#undef real
#undef FC_SUFFIX

#define real double
#define FC_SUFFIX f64
#include "loss_impl.h"
#undef real
#undef FC_SUFFIX
