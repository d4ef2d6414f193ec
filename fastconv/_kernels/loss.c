#include "fastconv.h"
#include "loss.h"
#include "softmax.h"

#define FC_IMPL "loss_impl.h"
#include "instantiate.h"
