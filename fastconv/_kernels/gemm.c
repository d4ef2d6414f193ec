/* The GEMM engine (contract: gemm.h): strided-matrix packers, the naive twin, and the
 * Goto/BLIS driver, each compiled for float and double. The micro-kernels live in
 * gemm_kernel_{avx512,avx2,generic}.c, the choice between them and the per-thread arena in
 * gemm_dispatch.c.
 *
 * Extra memory: each thread that runs part of a call packs into its own arena buffers,
 * kept for its later calls (never freed per call, freed when the thread ends):
 *   A block (MC x KC) + B panel (KC x NC) + one MR x NR tile, each capped by the problem,
 * at most 4.4 MiB per thread for any ISA and precision (block sizes in the kernel files;
 * the largest: AVX-512 float, 168 x 512 + 512 x 2048 floats), 6 MiB once buffers of
 * 256 KiB and more are rounded up to whole 2 MiB pages. */
#include "fastconv.h"
#include "gemm.h"
#include "gemm_kernels.h"
#include "denormals.h"

#define FC_IMPL "gemm_pack_impl.h"
#include "instantiate.h"

#define FC_IMPL "gemm_naive_impl.h"
#include "instantiate.h"

#define FC_IMPL "gemm_driver_impl.h"
#include "instantiate.h"
