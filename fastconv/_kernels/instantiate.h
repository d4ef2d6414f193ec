/* Compile the kernel bodies of FC_IMPL (a "<family>_impl.h" written over `real`) twice:
 * as float with names ending in _f32 and as double with names ending in _f64.
 * A family's .c file defines FC_IMPL and includes this file; see fastconv.h. */
#ifndef FC_IMPL
#error "define FC_IMPL as the quoted name of the kernel file before including instantiate.h"
#endif

#define real float
#define FC_SUFFIX f32
#include FC_IMPL
#undef real
#undef FC_SUFFIX

#define real double
#define FC_SUFFIX f64
#include FC_IMPL
#undef real
#undef FC_SUFFIX

#undef FC_IMPL
