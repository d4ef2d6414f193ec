/* The portable micro-kernel, over `real`: plain C the compiler vectorises for whatever the
 * baseline ISA is (SSE2 on x86-64). Contract: gemm_kernels.h. MR x NR = 4 x (32 bytes of
 * `real`), small enough that the accumulators fit in 16 SSE registers. */
enum { FC_FN(GENERIC_MR) = 4, FC_FN(GENERIC_NR) = 32 / sizeof(real) };

static void FC_FN(kernel_generic)(int64_t depth, const real *restrict a, const real *restrict b,
                                  real *restrict c, int64_t ldc, int add)
{
    enum { MR = FC_FN(GENERIC_MR), NR = FC_FN(GENERIC_NR) };
    real acc[MR][NR] = {{0}};
    for (int64_t k = 0; k < depth; k++)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++)
                acc[i][j] += a[k * MR + i] * b[k * NR + j];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            c[i * ldc + j] = add ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

const FC_FN(fc_gemm_config) FC_FN(fc_gemm_generic) = {
    .MR = FC_FN(GENERIC_MR), .NR = FC_FN(GENERIC_NR),
    .MC = 16 * FC_FN(GENERIC_MR), .KC = 256, .NC = 128 * FC_FN(GENERIC_NR),
    .kernel = FC_FN(kernel_generic),
};
