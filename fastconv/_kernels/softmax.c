#include "fastconv.h"
#include "softmax.h"

#define FC_IMPL "softmax_impl.h"
#include "instantiate.h"
