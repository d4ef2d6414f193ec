#include "fastconv.h"
#include "gemm_kernels.h"

#define FC_IMPL "gemm_kernel_generic_impl.h"
#include "instantiate.h"
