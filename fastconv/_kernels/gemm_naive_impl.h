/* The naive twin of the GEMM engine, over `real`: the same contract as FC_FN(fc_gemm)
 * (gemm.h), written as the textbook triple loop. Tests hold the engine to it.
 * It packs all of A and all of B once with R = 1, which lays A out row-major (M x K) and
 * B column-major (N x K), and calls a custom store once with the whole product. */
#include <stdlib.h>

void FC_FN(fc_gemm_naive)(int64_t M, int64_t N, int64_t K,
                          FC_FN(fc_pack) pack_a, const void *a_source,
                          FC_FN(fc_pack) pack_b, const void *b_source,
                          const FC_FN(fc_epilogue) *epilogue)
{
    if (M <= 0 || N <= 0)
        return;
    const int64_t depth = K > 0 ? K : 1;
    real *a = calloc((size_t)(M * depth), sizeof(real));
    real *b = calloc((size_t)(N * depth), sizeof(real));
    real *product = malloc((size_t)(M * N) * sizeof(real));
    if (!a || !b || !product) {
        free(a); free(b); free(product);
        abort();  /* out of memory in a test-only kernel: fail loudly, never silently */
    }
    if (K > 0) {
        pack_a(a, a_source, 0, M, 0, K, 1);
        pack_b(b, b_source, 0, N, 0, K, 1);
    }
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            real sum = 0;
            for (int64_t k = 0; k < K; k++)
                sum += a[i * K + k] * b[j * K + k];
            product[i * N + j] = sum;
        }
    if (epilogue->store) {
        epilogue->store(epilogue->store_context, product, N, 0, 0, M, N);
    } else {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                const int64_t block = epilogue->col_block;
                real *c = epilogue->c + i * epilogue->ldc +
                          (block ? j / block * epilogue->col_block_stride + j % block : j);
                real value = (epilogue->accumulate ? *c : 0) + product[i * N + j];
                if (epilogue->row_bias)
                    value += epilogue->row_bias[i];
                if (epilogue->col_bias)
                    value += epilogue->col_bias[j];
                if (epilogue->relu && !(value > 0))
                    value = value != value ? value : 0;  /* ReLU keeps NaN, as relu() does */
                *c = value;
            }
    }
    free(a); free(b); free(product);
}
