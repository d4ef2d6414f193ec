#include "fastconv.h"
#include "activation.h"

#define FC_IMPL "activation_impl.h"
#include "instantiate.h"
