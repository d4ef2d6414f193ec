#include "fastconv.h"
#include "gemm.h"
#include "gemm_kernels.h"

#define FC_IMPL "gemm_pack_impl.h"
#include "instantiate.h"

#define FC_IMPL "gemm_naive_impl.h"
#include "instantiate.h"

#define FC_IMPL "gemm_driver_impl.h"
#include "instantiate.h"
