#include "fastconv.h"
#include "gemm.h"
#include "linear.h"

#define FC_IMPL "linear_impl.h"
#include "instantiate.h"
