/* The GEMM engine's driver over `real` (contract: gemm.h), in the Goto/BLIS loop order:
 *
 *   for each NC-wide panel of C's columns              (jc)
 *     for each KC-deep block of k, in increasing k      (pc)  pack B panel (KC x NC)
 *       for each MC-tall block of C's rows              (ic)  pack A block (MC x KC)
 *         for each NR-wide B sliver                     (jr)  stays in L1 ...
 *           for each MR-tall A sliver                   (ir)  ... while these stream by
 *             micro-kernel: the MR x NR tile's product over this KC block
 *
 * Threads own rectangles of C (a grid of whole micro-tiles, chosen from the shape) and run
 * the loops above over their own rectangle with their own packing buffers, so no thread
 * waits for another and no element is written by two threads. Every element's value is a
 * function of its k blocks alone (KC is fixed per ISA), so the bits never depend on the
 * thread count or on where the rectangle boundaries fall.
 *
 * Extra memory (per thread, from its arena, kept across calls and never freed per call):
 *   A block  MR * ceil(min(MC, rows) / MR) * min(KC, K)     values
 *   B panel  NR * ceil(min(NC, cols) / NR) * min(KC, K)     values
 *   one MR x NR tile
 * which is at most (MC + NC) * KC + MR * NR values: 2.4 MiB a thread for float on AVX-512.
 */
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* After the last k block: c (m x n, row stride ldc) += row_bias (per row), += col_bias
 * (per column), then ReLU, which keeps NaN as ops.relu does. */
static void FC_FN(gemm_finish)(real *restrict c, int64_t ldc, int64_t m, int64_t n,
                               const real *restrict row_bias, const real *restrict col_bias,
                               int relu)
{
    for (int64_t i = 0; i < m; i++) {
        real *restrict row = c + i * ldc;
        if (row_bias)
            for (int64_t j = 0; j < n; j++)
                row[j] += row_bias[i];
        if (col_bias)
            for (int64_t j = 0; j < n; j++)
                row[j] += col_bias[j];
        if (relu)
            for (int64_t j = 0; j < n; j++)
                row[j] = row[j] > 0 || row[j] != row[j] ? row[j] : 0;
    }
}

/* C[i_begin:i_end, j_begin:j_end] per the epilogue, by one thread. */
static void FC_FN(gemm_rectangle)(const FC_FN(fc_gemm_config) *cfg,
                                  int64_t i_begin, int64_t i_end, int64_t j_begin, int64_t j_end,
                                  int64_t K,
                                  FC_FN(fc_pack) pack_a, const void *a_source,
                                  FC_FN(fc_pack) pack_b, const void *b_source,
                                  const FC_FN(fc_epilogue) *ep)
{
    const int64_t MR = cfg->MR, NR = cfg->NR;
    const int64_t rows = i_end - i_begin, cols = j_end - j_begin;
    const int64_t KC = cfg->KC < K ? cfg->KC : K;
    const int64_t MC = cfg->MC < rows ? cfg->MC : (rows + MR - 1) / MR * MR;
    const int64_t NC = cfg->NC < cols ? cfg->NC : (cols + NR - 1) / NR * NR;
    real *a_pack = fc_arena(FC_ARENA_A, (size_t)(MC * KC) * sizeof(real));
    real *b_pack = fc_arena(FC_ARENA_B, (size_t)(NC * KC) * sizeof(real));
    real *tile = fc_arena(FC_ARENA_TILE, (size_t)(MR * NR) * sizeof(real));
    if (!a_pack || !b_pack || !tile)
        abort();  /* a few MiB could not be had: nothing sensible is left to do in C */

    for (int64_t jc = j_begin; jc < j_end; jc += NC) {
        const int64_t nc = NC < j_end - jc ? NC : j_end - jc;
        for (int64_t pc = 0; pc < K; pc += KC) {
            const int64_t kc = KC < K - pc ? KC : K - pc;
            const int add = pc > 0 || ep->accumulate;
            const int last = pc + kc == K;
            pack_b(b_pack, b_source, jc, nc, pc, kc, NR);
            for (int64_t ic = i_begin; ic < i_end; ic += MC) {
                const int64_t mc = MC < i_end - ic ? MC : i_end - ic;
                pack_a(a_pack, a_source, ic, mc, pc, kc, MR);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int64_t n = NR < nc - jr ? NR : nc - jr;
                    const real *b_sliver = b_pack + jr * kc;
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int64_t m = MR < mc - ir ? MR : mc - ir;
                        const real *a_sliver = a_pack + ir * kc;
                        const int64_t i0 = ic + ir, j0 = jc + jr;
                        if (ep->store) {
                            cfg->kernel(kc, a_sliver, b_sliver, tile, NR, 0);
                            ep->store(ep->store_context, tile, NR, i0, j0, m, n);
                            continue;
                        }
                        real *c = ep->c + i0 * ep->ldc + j0;
                        if (m == MR && n == NR) {
                            cfg->kernel(kc, a_sliver, b_sliver, c, ep->ldc, add);
                        } else {
                            /* An edge tile: the kernel fills a whole tile, C takes its part,
                             * added exactly as the kernel adds (c + P). */
                            cfg->kernel(kc, a_sliver, b_sliver, tile, NR, 0);
                            for (int64_t i = 0; i < m; i++)
                                for (int64_t j = 0; j < n; j++)
                                    c[i * ep->ldc + j] = add ? c[i * ep->ldc + j] + tile[i * NR + j]
                                                             : tile[i * NR + j];
                        }
                        if (last && (ep->row_bias || ep->col_bias || ep->relu))
                            FC_FN(gemm_finish)(c, ep->ldc, m, n,
                                               ep->row_bias ? ep->row_bias + i0 : NULL,
                                               ep->col_bias ? ep->col_bias + j0 : NULL, ep->relu);
                    }
                }
            }
        }
    }
}

/* How many parts to cut M and N into for `threads` threads: the grid whose busiest thread
 * has the fewest micro-tiles; among equals, fewer threads, then more parts along N (each
 * thread then packs B, the larger panel, only for its own columns). */
static void FC_FN(gemm_grid)(int64_t slivers_m, int64_t slivers_n, int threads,
                             int *parts_m, int *parts_n)
{
    int64_t best_load = -1;
    *parts_m = *parts_n = 1;
    for (int pm = 1; pm <= threads; pm++)
        for (int pn = 1; pm * pn <= threads; pn++) {
            if (pm > slivers_m || pn > slivers_n)
                continue;
            const int64_t load = ((slivers_m + pm - 1) / pm) * ((slivers_n + pn - 1) / pn);
            const int used = pm * pn, best_used = *parts_m * *parts_n;
            if (best_load < 0 || load < best_load ||
                (load == best_load && (used < best_used || (used == best_used && pn > *parts_n)))) {
                best_load = load;
                *parts_m = pm;
                *parts_n = pn;
            }
        }
}

void FC_FN(fc_gemm)(int64_t M, int64_t N, int64_t K,
                    FC_FN(fc_pack) pack_a, const void *a_source,
                    FC_FN(fc_pack) pack_b, const void *b_source,
                    const FC_FN(fc_epilogue) *epilogue, int num_threads)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        /* An empty sum: a custom store adds nothing; C keeps or drops its values. */
        if (epilogue->store)
            return;
        for (int64_t i = 0; i < M; i++)
            if (!epilogue->accumulate)
                for (int64_t j = 0; j < N; j++)
                    epilogue->c[i * epilogue->ldc + j] = 0;
        FC_FN(gemm_finish)(epilogue->c, epilogue->ldc, M, N, epilogue->row_bias,
                           epilogue->col_bias, epilogue->relu);
        return;
    }
    const FC_FN(fc_gemm_config) *cfg = FC_FN(fc_gemm_config_get)();
    const int64_t slivers_m = (M + cfg->MR - 1) / cfg->MR;
    const int64_t slivers_n = (N + cfg->NR - 1) / cfg->NR;
    int parts_m = 1, parts_n = 1;
#ifdef _OPENMP
    if (num_threads > 1)
        FC_FN(gemm_grid)(slivers_m, slivers_n, num_threads, &parts_m, &parts_n);
#else
    (void)num_threads;
#endif
    if (parts_m * parts_n == 1) {
        FC_FN(gemm_rectangle)(cfg, 0, M, 0, N, K, pack_a, a_source, pack_b, b_source, epilogue);
        return;
    }
#ifdef _OPENMP
    #pragma omp parallel num_threads(parts_m * parts_n)
    {
        /* Rectangles dealt round-robin: all get done even if the runtime gives fewer
         * threads than asked (as inside another parallel region). */
        for (int r = omp_get_thread_num(); r < parts_m * parts_n; r += omp_get_num_threads()) {
            const int pm = r / parts_n, pn = r % parts_n;
            const int64_t i_begin = slivers_m * pm / parts_m * cfg->MR;
            const int64_t i_end = pm + 1 == parts_m ? M : slivers_m * (pm + 1) / parts_m * cfg->MR;
            const int64_t j_begin = slivers_n * pn / parts_n * cfg->NR;
            const int64_t j_end = pn + 1 == parts_n ? N : slivers_n * (pn + 1) / parts_n * cfg->NR;
            FC_FN(gemm_rectangle)(cfg, i_begin, i_end, j_begin, j_end, K,
                                  pack_a, a_source, pack_b, b_source, epilogue);
        }
    }
#endif
}
