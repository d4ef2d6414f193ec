#include "fastconv.h"
#include "batchnorm.h"

#define FC_IMPL "batchnorm_impl.h"
#include "instantiate.h"
