#include "fastconv.h"
#include "pool.h"

#define FC_IMPL "pool_impl.h"
#include "instantiate.h"
