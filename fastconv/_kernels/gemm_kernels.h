/* Inside the GEMM engine: the micro-kernel contract, the block sizes of each ISA, and the
 * dispatcher that picks them. Not for other kernels (they use gemm.h).
 *
 * Micro-kernel contract (one per ISA and precision; BLIS calls it the "gemm ukernel"):
 *
 *     void kernel(int64_t depth, const real *a, const real *b, real *c, int64_t ldc, int add)
 *
 * computes the MR x NR tile  P[i][j] = sum over k = 0 .. depth-1, in increasing k, of
 * a[k * MR + i] * b[k * NR + j]  (one multiply-add per k, accumulated from 0; fused on
 * the SIMD kernels), then writes c[i * ldc + j] = P[i][j], or c[i * ldc + j] + P[i][j]
 * when `add` is nonzero.
 *   a: one packed A sliver, depth x MR (gemm.h's layout), 64-byte aligned  IN
 *   b: one packed B sliver, depth x NR, 64-byte aligned                    IN
 *   c: MR rows of NR values, row i at c + i * ldc, any alignment           IN/OUT
 * It may assume depth >= 1 and that every entry of both slivers is a number to multiply
 * (padding rows and columns are zero); it must not read c when add is 0, nor touch
 * anything outside the tile. The rounding is the same for every (i, j) of the tile and for
 * every tile: one chain of multiply-adds from 0 in increasing k, then one add into c. That
 * is what makes edge tiles and thread splits agree bit for bit. (ISAs may differ: the
 * portable kernel rounds the product and the sum separately.)
 */
#ifndef FASTCONV_GEMM_KERNELS_H
#define FASTCONV_GEMM_KERNELS_H

#include <stdint.h>
#include "gemm.h"

typedef void (*fc_kernel_f32)(int64_t depth, const float *a, const float *b,
                              float *c, int64_t ldc, int add);
typedef void (*fc_kernel_f64)(int64_t depth, const double *a, const double *b,
                              double *c, int64_t ldc, int add);

/* One micro-kernel and the cache blocking around it. MC is a multiple of MR, NC of NR;
 * KC is the deepest k block (K is cut into equal blocks no deeper). The packed A block
 * (MC x KC) is meant to stay in L2 while the B slivers (KC x NR) pass over it, the packed
 * B panel (KC x NC) in L3.
 * kernel_partial, optional (NULL: `kernel`): the kernel for an edge sliver whose rows
 * at and past `rows` (< MR) are padding; it computes the first `rows` rows of the tile
 * (exactly as `kernel` would) and reads and writes only those rows of c, so the engine
 * gives it C itself.
 * pack_transposed, optional (NULL: the portable packer does it): packs one full A sliver
 * of MR lines, line i at src + i * line_stride with its depth values adjacent (a row-major
 * A), as dst[k * MR + i]. That is a transpose, the one packing case plain C does slowly.
 * kernel_view, optional (NULL: B is always packed): the kernel with its B sliver read in
 * place through a viewer's pointers (gemm.h's fc_view_*): step k's values at
 * left + offsets[k] (NR/2 of them) and right + offsets[k] (the other NR/2); `rows` as for
 * kernel_partial (MR for a full sliver): only those rows of c are read or written. The same sums as `kernel`, bit for bit.
 * kernel_a_rows, optional (NULL: A is always packed): the kernel with its A sliver read in
 * place from MR rows of a row-major matrix, row i's depth values at a + i * lda; the same
 * sums as `kernel`, bit for bit.
 * kernel_half, optional (NULL: the full-width kernels): a full sliver of MR rows over the
 * first NR/2 columns of the B sliver only, for a sliver whose real columns all lie there
 * (batch-1 layers of 4x4 outputs: 16 columns, half the FMAs of the full kernel wasted on
 * padding); A packed (lda == 0) or read in place as kernel_a_rows (lda > 0). It reads and
 * writes only those columns of c; the same sums as `kernel`, bit for bit.
 * finish_full, optional (NULL: the portable loops): the epilogue after the last k block on
 * the first `rows` rows of a full-width tile in C (NR columns, row stride ldc): += row_bias[i]
 * (per row, NULL: none), += col_bias[j] (NULL: none), then ReLU keeping NaN if relu; the
 * same operations in the same order as the portable loops. */
typedef struct {
    int64_t MR, NR, MC, KC, NC;
    fc_kernel_f32 kernel;
    void (*kernel_partial)(int64_t depth, const float *a, const float *b, float *c, int64_t ldc,
                           int add, int64_t rows);
    void (*pack_transposed)(float *restrict dst, const float *restrict src,
                            int64_t line_stride, int64_t depth);
    void (*kernel_view)(int64_t depth, const float *a, const float *left, const float *right,
                        const int64_t *offsets, float *c, int64_t ldc, int add, int64_t rows);
    void (*kernel_a_rows)(int64_t depth, const float *a, int64_t lda, const float *b, float *c,
                          int64_t ldc, int add);
    void (*kernel_half)(int64_t depth, const float *a, int64_t lda, const float *b, float *c,
                        int64_t ldc, int add);
    void (*finish_full)(float *c, int64_t ldc, int64_t rows, const float *row_bias,
                        const float *col_bias, int relu);
} fc_gemm_config_f32;

typedef struct {
    int64_t MR, NR, MC, KC, NC;
    fc_kernel_f64 kernel;
    void (*kernel_partial)(int64_t depth, const double *a, const double *b, double *c, int64_t ldc,
                           int add, int64_t rows);
    void (*pack_transposed)(double *restrict dst, const double *restrict src,
                            int64_t line_stride, int64_t depth);
    void (*kernel_view)(int64_t depth, const double *a, const double *left, const double *right,
                        const int64_t *offsets, double *c, int64_t ldc, int add, int64_t rows);
    void (*kernel_a_rows)(int64_t depth, const double *a, int64_t lda, const double *b, double *c,
                          int64_t ldc, int add);
    void (*kernel_half)(int64_t depth, const double *a, int64_t lda, const double *b, double *c,
                        int64_t ldc, int add);
    void (*finish_full)(double *c, int64_t ldc, int64_t rows, const double *row_bias,
                        const double *col_bias, int relu);
} fc_gemm_config_f64;

extern const fc_gemm_config_f32 fc_gemm_generic_f32;
extern const fc_gemm_config_f64 fc_gemm_generic_f64;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_GEMM_X86 1
extern const fc_gemm_config_f32 fc_gemm_avx2_f32;
extern const fc_gemm_config_f64 fc_gemm_avx2_f64;
extern const fc_gemm_config_f32 fc_gemm_avx512_f32;
extern const fc_gemm_config_f64 fc_gemm_avx512_f64;
#endif

/* The configuration of the ISA in use (chosen once, see fc_gemm_isa in gemm.h). */
const fc_gemm_config_f32 *fc_gemm_config_get_f32(void);
const fc_gemm_config_f64 *fc_gemm_config_get_f64(void);

/* The engine's own per-thread packing buffers (slots beside fc_workspace's). */
enum { FC_ARENA_A = FC_WORKSPACE_SLOTS, FC_ARENA_B, FC_ARENA_TILE, FC_ARENA_SLOTS };
void *fc_arena(int slot, size_t bytes);

#endif
