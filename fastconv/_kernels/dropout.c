#include "fastconv.h"
#include "dropout.h"

#define FC_IMPL "dropout_impl.h"
#include "instantiate.h"
