/* fastconv's GEMM engine: the one place where convolutions and linear layers multiply.
 *
 *     C (M x N)  =  A (M x K) * B (K x N)        [+ C]  [+ row_bias]  [then max(0, .)]
 *
 * The engine never reads A or B directly. It asks a *packer* to copy a block of an
 * operand into the micro-kernel's packed layout, so an operand may be a plain matrix in
 * any strides (transposes are free), or an implicit matrix such as the im2col view of an
 * NCHW tensor, packed straight from the tensor without ever materialising it.
 *
 * Packed layout (A and B alike). A block of `count` rows of A (or columns of B) by
 * `depth` steps of k, starting at row (column) `first` and step `k0`, is stored as
 * ceil(count / R) slivers of R x depth, one after the other. Sliver s holds, for each k in
 * [0, depth), the R values of rows (columns) first + s*R .. first + s*R + R-1 at step k0 + k,
 * contiguously:   dst[(s * depth + k) * R + r]
 * Entries for rows (columns) at or past first + count are ZERO, so the micro-kernel can
 * always work on full R-wide slivers. R is the micro-kernel's MR for A and NR for B.
 *
 * Determinism: each element of C is summed over k in increasing KC-sized blocks, each
 * block in increasing k, with block sizes fixed per ISA and never by the thread count;
 * threads split M and N, never K. Results are the same bits for any num_threads.
 *
 * Everything exists for float (_f32) and double (_f64).
 */
#ifndef FASTCONV_GEMM_H
#define FASTCONV_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* A packer. `source` is the packer's own description of the operand. It must write
 * exactly ceil(count/R) * depth * R values to dst in the layout above. It may be called
 * from several threads at once with different dst buffers (it must not write to `source`). */
typedef void (*fc_pack_f32)(float *restrict dst, const void *source,
                            int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R);
typedef void (*fc_pack_f64)(double *restrict dst, const void *source,
                            int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R);

/* A B viewer, optional: for one full sliver (count == R) of columns first.. and the steps
 * k0.. of a k block, it may say that the sliver need not be packed because its values are
 * already in memory as rows of R/2 adjacent values: B[k0 + k][first + j] is
 * left[offsets[k] + j] for j < R/2 and right[offsets[k] + j - R/2] for the others (as the
 * stride-1 im2col view of an image whose rows hold whole half slivers). It returns 1 and
 * sets the three pointers when so, else 0 (the sliver is packed). Only micro-kernels that
 * can read B in place ask (AVX-512 float); the bits are the packed path's. */
typedef int (*fc_view_f32)(const void *source, int64_t first, int64_t count, int64_t k0,
                           int64_t R, const float **left, const float **right,
                           const int64_t **offsets);
typedef int (*fc_view_f64)(const void *source, int64_t first, int64_t count, int64_t k0,
                           int64_t R, const double **left, const double **right,
                           const int64_t **offsets);

/* A custom write-back, for fused scatters such as col2im. The engine calls it once per
 * (tile, KC block) with the product of that block only, tile[i * ld_tile + j] for the
 * m x n elements C[i0 + i][j0 + j], and the store must ADD them into its destination
 * (the caller zeroes that destination beforehand). Tiles of different (i0, j0) may be
 * stored concurrently by different threads when num_threads > 1: a store whose tiles can
 * touch the same destination element must be used with num_threads == 1. */
typedef void (*fc_store_f32)(const void *context, const float *tile, int64_t ld_tile,
                             int64_t i0, int64_t j0, int64_t m, int64_t n);
typedef void (*fc_store_f64)(const void *context, const double *tile, int64_t ld_tile,
                             int64_t i0, int64_t j0, int64_t m, int64_t n);

/* What happens to the product. With store == NULL: C[i][j] = (accumulate ? C : 0)
 * + sum_k A[i][k] B[k][j] + (row_bias ? row_bias[i] : 0) + (col_bias ? col_bias[j] : 0),
 * then max(0, .) if relu (NaN stays NaN), where C[i][j] is c[i * ldc + j], or, when
 * col_block > 0, c[(j / col_block) * col_block_stride + i * ldc + j % col_block]: C's
 * columns in blocks of col_block, each block a matrix of its own (as the outputs of several
 * images side by side in one product). Tiles inside one block are written in place.
 * With store != NULL: c, ldc, row_bias, col_bias, relu and col_block must be 0/NULL (see
 * fc_store_*).
 * col_bias and the column blocks came last, so initialisers written before them (positional
 * or designated) still compile and leave them 0; code that fills the struct field by field
 * (Cython does) must set them. */
typedef struct {
    float *c;
    int64_t ldc;
    int accumulate;
    const float *row_bias;
    int relu;
    fc_store_f32 store;
    const void *store_context;
    const float *col_bias;
    int64_t col_block, col_block_stride;
} fc_epilogue_f32;

typedef struct {
    double *c;
    int64_t ldc;
    int accumulate;
    const double *row_bias;
    int relu;
    fc_store_f64 store;
    const void *store_context;
    const double *col_bias;
    int64_t col_block, col_block_stride;
} fc_epilogue_f64;

/* The engine: C = A * B per the epilogue, with packed panels, ISA-specific micro-kernel,
 * OpenMP over M x N blocks (no OpenMP region is opened when num_threads == 1, so it may be
 * called from inside another parallel region that way). Packing buffers come from a
 * per-thread arena reused across calls (see gemm.c for its size bound). */
void fc_gemm_f32(int64_t M, int64_t N, int64_t K,
                 fc_pack_f32 pack_a, const void *a_source,
                 fc_pack_f32 pack_b, const void *b_source,
                 const fc_epilogue_f32 *epilogue, int num_threads);
void fc_gemm_f64(int64_t M, int64_t N, int64_t K,
                 fc_pack_f64 pack_a, const void *a_source,
                 fc_pack_f64 pack_b, const void *b_source,
                 const fc_epilogue_f64 *epilogue, int num_threads);

/* fc_gemm with a B viewer (see fc_view_*) asked before each B sliver is packed; view_b may
 * be NULL (then it is fc_gemm). */
void fc_gemm_viewed_f32(int64_t M, int64_t N, int64_t K,
                        fc_pack_f32 pack_a, const void *a_source,
                        fc_pack_f32 pack_b, fc_view_f32 view_b, const void *b_source,
                        const fc_epilogue_f32 *epilogue, int num_threads);
void fc_gemm_viewed_f64(int64_t M, int64_t N, int64_t K,
                        fc_pack_f64 pack_a, const void *a_source,
                        fc_pack_f64 pack_b, fc_view_f64 view_b, const void *b_source,
                        const fc_epilogue_f64 *epilogue, int num_threads);

/* A product whose B a kernel has packed itself, once for many products (Winograd's filters),
 * and whose A rows lie in place in memory:
 *     C (M x N) = A (M x depth) * B (depth x N)
 * A's row i at a + i * lda (depth values); B packed whole as fc_pack_cols packs it with R = NR
 * (ceil(N / NR) slivers of depth x NR, padding columns zero); C[i][j] to c[i * ldc + j] for
 * every column of every sliver: c must have room for ceil(N / NR) * NR columns (the padding
 * ones get zeros' products). fc_gemm_sliver_widths gives the MR and NR of the micro-kernel
 * in use. Each element is one chain of multiply-adds over k from 0, in increasing k (the
 * micro-kernel's contract), so the bits depend on nothing but the operands. Serial;
 * depth >= 1. */
void fc_gemm_sliver_widths_f32(int64_t *MR, int64_t *NR);
void fc_gemm_sliver_widths_f64(int64_t *MR, int64_t *NR);
void fc_gemm_rows_by_packed_f32(int64_t M, int64_t N, int64_t depth, const float *a,
                                int64_t lda, const float *b_packed, float *c, int64_t ldc);
void fc_gemm_rows_by_packed_f64(int64_t M, int64_t N, int64_t depth, const double *a,
                                int64_t lda, const double *b_packed, double *c, int64_t ldc);

/* The naive twin, for tests: the same contract (packers called with R = 1 over the whole
 * of K, so a custom store is called once per element block), triple loop, serial. */
void fc_gemm_naive_f32(int64_t M, int64_t N, int64_t K,
                       fc_pack_f32 pack_a, const void *a_source,
                       fc_pack_f32 pack_b, const void *b_source,
                       const fc_epilogue_f32 *epilogue);
void fc_gemm_naive_f64(int64_t M, int64_t N, int64_t K,
                       fc_pack_f64 pack_a, const void *a_source,
                       fc_pack_f64 pack_b, const void *b_source,
                       const fc_epilogue_f64 *epilogue);

/* Plain strided matrices: element (row, col) at data[row * row_stride + col * col_stride].
 * fc_pack_rows packs an A operand (rows of the matrix, depth along its columns);
 * fc_pack_cols packs a B operand (columns of the matrix, depth along its rows).
 * A transposed operand is the same matrix with the strides swapped. */
typedef struct { const float *data; int64_t row_stride, col_stride; } fc_matrix_f32;
typedef struct { const double *data; int64_t row_stride, col_stride; } fc_matrix_f64;
void fc_pack_rows_f32(float *restrict dst, const void *matrix,
                      int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R);
void fc_pack_cols_f32(float *restrict dst, const void *matrix,
                      int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R);
void fc_pack_rows_f64(double *restrict dst, const void *matrix,
                      int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R);
void fc_pack_cols_f64(double *restrict dst, const void *matrix,
                      int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R);

/* A per-thread scratch buffer for kernels built on the engine (e.g. a convolution's
 * per-thread im2col rows): at least `bytes` bytes, 64-byte aligned, owned by the calling
 * thread and reused by its later calls with the same slot (grown when a call needs more,
 * never shrunk or freed, so a hot loop pays no allocation). Slots 0 .. FC_WORKSPACE_SLOTS-1
 * are independent buffers for the caller; the engine's own packing buffers are separate,
 * so a buffer stays valid across fc_gemm calls made by the same thread. Contents are not
 * preserved when the buffer grows. Returns NULL only when memory runs out. */
enum { FC_WORKSPACE_SLOTS = 4 };
void *fc_workspace(int slot, size_t bytes);

/* The micro-kernel family in use: "avx512", "avx2" or "generic". Chosen on first use from
 * what the CPU reports, or forced by FASTCONV_ISA=avx512|avx2|generic (a variant the CPU
 * cannot run is refused: the engine falls back to the best it can run and
 * fc_gemm_isa_forced_refused() returns 1, which show_config reports). */
const char *fc_gemm_isa(void);
int fc_gemm_isa_forced_refused(void);

#endif
