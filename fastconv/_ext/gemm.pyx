# distutils: sources = [fastconv/_kernels/gemm.c, fastconv/_kernels/gemm_dispatch.c, fastconv/_kernels/gemm_kernel_avx512.c, fastconv/_kernels/gemm_kernel_avx2.c, fastconv/_kernels/gemm_kernel_generic.c]
"""Bindings for gemm.h on strided matrices: buffers in, one nogil call out.
Checks live in fastconv/ops/matmul.py (and the tests, which call the engine directly)."""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "gemm.h" nogil:
    ctypedef void (*fc_pack_f32)(float *dst, const void *source, int64_t first, int64_t count,
                                 int64_t k0, int64_t depth, int64_t R) noexcept nogil
    ctypedef void (*fc_pack_f64)(double *dst, const void *source, int64_t first, int64_t count,
                                 int64_t k0, int64_t depth, int64_t R) noexcept nogil
    ctypedef void (*fc_store_f32)(const void *context, const float *tile, int64_t ld_tile,
                                  int64_t i0, int64_t j0, int64_t m, int64_t n) noexcept nogil
    ctypedef void (*fc_store_f64)(const void *context, const double *tile, int64_t ld_tile,
                                  int64_t i0, int64_t j0, int64_t m, int64_t n) noexcept nogil
    ctypedef struct fc_epilogue_f32:
        float *c
        int64_t ldc
        int accumulate
        const float *row_bias
        int relu
        fc_store_f32 store
        const void *store_context
        const float *col_bias
        int64_t col_block, col_block_stride
    ctypedef struct fc_epilogue_f64:
        double *c
        int64_t ldc
        int accumulate
        const double *row_bias
        int relu
        fc_store_f64 store
        const void *store_context
        const double *col_bias
        int64_t col_block, col_block_stride
    ctypedef struct fc_matrix_f32:
        const float *data
        int64_t row_stride, col_stride
    ctypedef struct fc_matrix_f64:
        const double *data
        int64_t row_stride, col_stride
    void fc_gemm_f32(int64_t M, int64_t N, int64_t K, fc_pack_f32 pack_a, const void *a_source,
                     fc_pack_f32 pack_b, const void *b_source, const fc_epilogue_f32 *epilogue,
                     int num_threads)
    void fc_gemm_f64(int64_t M, int64_t N, int64_t K, fc_pack_f64 pack_a, const void *a_source,
                     fc_pack_f64 pack_b, const void *b_source, const fc_epilogue_f64 *epilogue,
                     int num_threads)
    void fc_gemm_naive_f32(int64_t M, int64_t N, int64_t K, fc_pack_f32 pack_a, const void *a_source,
                           fc_pack_f32 pack_b, const void *b_source, const fc_epilogue_f32 *epilogue)
    void fc_gemm_naive_f64(int64_t M, int64_t N, int64_t K, fc_pack_f64 pack_a, const void *a_source,
                           fc_pack_f64 pack_b, const void *b_source, const fc_epilogue_f64 *epilogue)
    void fc_pack_rows_f32(float *dst, const void *matrix, int64_t first, int64_t count,
                          int64_t k0, int64_t depth, int64_t R)
    void fc_pack_cols_f32(float *dst, const void *matrix, int64_t first, int64_t count,
                          int64_t k0, int64_t depth, int64_t R)
    void fc_pack_rows_f64(double *dst, const void *matrix, int64_t first, int64_t count,
                          int64_t k0, int64_t depth, int64_t R)
    void fc_pack_cols_f64(double *dst, const void *matrix, int64_t first, int64_t count,
                          int64_t k0, int64_t depth, int64_t R)
    const char *fc_gemm_isa()
    int fc_gemm_isa_forced_refused()


cdef extern from "gemm_kernels.h" nogil:
    ctypedef struct fc_gemm_config_f32:
        int64_t MR, NR, MC, KC, NC
    ctypedef struct fc_gemm_config_f64:
        int64_t MR, NR, MC, KC, NC
    const fc_gemm_config_f32 *fc_gemm_config_get_f32()
    const fc_gemm_config_f64 *fc_gemm_config_get_f64()


def blocking(str dtype):
    """(MR, NR, MC, KC, NC) of the micro-kernel in use for "float32" or "float64", so tests
    can pick sizes that cross every block edge."""
    if dtype == "float32":
        c32 = fc_gemm_config_get_f32()[0]
        return c32.MR, c32.NR, c32.MC, c32.KC, c32.NC
    c64 = fc_gemm_config_get_f64()[0]
    return c64.MR, c64.NR, c64.MC, c64.KC, c64.NC


def isa():
    """The micro-kernel family in use: "avx512", "avx2" or "generic"."""
    return fc_gemm_isa().decode()


def isa_forced_refused():
    """True when FASTCONV_ISA asked for a variant this CPU cannot run (or an unknown one)."""
    return bool(fc_gemm_isa_forced_refused())


# Test-only custom store: adds tile (i, j) into out_t[j0 + j, i0 + i], i.e. writes C
# transposed, so the tests see i0, j0, m, n and ld_tile used correctly.
ctypedef struct transposed_f32:
    float *data
    int64_t ld
ctypedef struct transposed_f64:
    double *data
    int64_t ld

cdef void store_transposed_f32(const void *context, const float *tile, int64_t ld_tile,
                               int64_t i0, int64_t j0, int64_t m, int64_t n) noexcept nogil:
    cdef const transposed_f32 *out = <const transposed_f32 *>context
    cdef int64_t i, j
    for i in range(m):
        for j in range(n):
            out.data[(j0 + j) * out.ld + i0 + i] += tile[i * ld_tile + j]

cdef void store_transposed_f64(const void *context, const double *tile, int64_t ld_tile,
                               int64_t i0, int64_t j0, int64_t m, int64_t n) noexcept nogil:
    cdef const transposed_f64 *out = <const transposed_f64 *>context
    cdef int64_t i, j
    for i in range(m):
        for j in range(n):
            out.data[(j0 + j) * out.ld + i0 + i] += tile[i * ld_tile + j]


def gemm(floating[:, :] c,                # OUT (M, N), columns adjacent, rows at any stride;
                                          #     (N, M) with store_transposed; with col_block,
                                          #     (blocks * M, col_block): block b of C's
                                          #     columns in rows b * M .. b * M + M - 1
         const floating[:, :] a,           # IN  (M, K), any strides (in whole elements)
         const floating[:, :] b,           # IN  (K, N), any strides (in whole elements)
         const floating[::1] row_bias,     # IN  (M,), or None
         const floating[::1] col_bias,     # IN  (N,), or None
         bint accumulate=False, bint relu=False, bint store_transposed=False,
         bint naive=False, int num_threads=1, int64_t col_block=0):
    """c = a @ b per gemm.h's epilogue, by the engine (or its naive twin when `naive`)."""
    cdef int64_t M = a.shape[0], K = a.shape[1], N = b.shape[1]
    cdef int64_t item = sizeof(floating)
    cdef const floating *a_data = NULL
    cdef const floating *b_data = NULL
    cdef const floating *bias = NULL
    cdef const floating *cbias = NULL
    cdef fc_matrix_f32 a32, b32
    cdef fc_matrix_f64 a64, b64
    cdef fc_epilogue_f32 ep32
    cdef fc_epilogue_f64 ep64
    cdef transposed_f32 t32
    cdef transposed_f64 t64
    if M == 0 or N == 0:
        return
    if c.shape[1] > 1 and c.strides[1] != item:
        raise ValueError("c's columns must be adjacent in memory")
    if K:
        a_data = &a[0, 0]
        b_data = &b[0, 0]
    if row_bias is not None:
        bias = &row_bias[0]
    if col_bias is not None:
        cbias = &col_bias[0]
    if floating is float:
        a32 = fc_matrix_f32(a_data, a.strides[0] // item, a.strides[1] // item)
        b32 = fc_matrix_f32(b_data, b.strides[0] // item, b.strides[1] // item)
        ep32 = fc_epilogue_f32(&c[0, 0], c.strides[0] // item, accumulate, bias, relu,
                               NULL, NULL, cbias, col_block, M * (c.strides[0] // item))
        if store_transposed:
            t32 = transposed_f32(&c[0, 0], c.strides[0] // item)
            ep32 = fc_epilogue_f32(NULL, 0, 0, NULL, 0, store_transposed_f32, &t32, NULL, 0, 0)
        with nogil:
            if naive:
                fc_gemm_naive_f32(M, N, K, fc_pack_rows_f32, &a32, fc_pack_cols_f32, &b32, &ep32)
            else:
                fc_gemm_f32(M, N, K, fc_pack_rows_f32, &a32, fc_pack_cols_f32, &b32, &ep32,
                            num_threads)
    else:
        a64 = fc_matrix_f64(a_data, a.strides[0] // item, a.strides[1] // item)
        b64 = fc_matrix_f64(b_data, b.strides[0] // item, b.strides[1] // item)
        ep64 = fc_epilogue_f64(&c[0, 0], c.strides[0] // item, accumulate, bias, relu,
                               NULL, NULL, cbias, col_block, M * (c.strides[0] // item))
        if store_transposed:
            t64 = transposed_f64(&c[0, 0], c.strides[0] // item)
            ep64 = fc_epilogue_f64(NULL, 0, 0, NULL, 0, store_transposed_f64, &t64, NULL, 0, 0)
        with nogil:
            if naive:
                fc_gemm_naive_f64(M, N, K, fc_pack_rows_f64, &a64, fc_pack_cols_f64, &b64, &ep64)
            else:
                fc_gemm_f64(M, N, K, fc_pack_rows_f64, &a64, fc_pack_cols_f64, &b64, &ep64,
                            num_threads)
