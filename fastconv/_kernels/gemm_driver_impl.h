/* The GEMM engine's driver over `real` (contract: gemm.h), in the Goto/BLIS loop order:
 *
 *   for each NC-wide panel of C's columns              (jc)
 *     for each KC-deep block of k, in increasing k      (pc)  pack B panel (KC x NC)
 *       for each MC-tall block of C's rows              (ic)  pack A block (MC x KC)
 *         for each NR-wide B sliver                     (jr)  stays in L1 ...
 *           for each MR-tall A sliver                   (ir)  ... while these stream by
 *             micro-kernel: the MR x NR tile's product over this KC block
 *
 * When one MC block holds all the rows, each B sliver is packed at jr instead (or, when a
 * viewer says it already lies in memory as the kernel can read it, not packed at all).
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
 * which is at most (MC + NC) * KC + MR * NR values (see gemm.c for the figures).
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

/* Where the epilogue's C[i][j] is (gemm.h: plain, or in column blocks). */
static inline real *FC_FN(gemm_c_at)(const FC_FN(fc_epilogue) *ep, int64_t i, int64_t j)
{
    if (ep->col_block)
        return ep->c + j / ep->col_block * ep->col_block_stride + i * ep->ldc + j % ep->col_block;
    return ep->c + i * ep->ldc + j;
}

/* The columns from j on that lie in j's block of C, at most n. */
static inline int64_t FC_FN(gemm_c_span)(const FC_FN(fc_epilogue) *ep, int64_t j, int64_t n)
{
    const int64_t room = ep->col_block ? ep->col_block - j % ep->col_block : n;
    return room < n ? room : n;
}

/* C[i_begin:i_end, j_begin:j_end] per the epilogue, by one thread. */
static void FC_FN(gemm_rectangle)(const FC_FN(fc_gemm_config) *cfg,
                                  int64_t i_begin, int64_t i_end, int64_t j_begin, int64_t j_end,
                                  int64_t K,
                                  FC_FN(fc_pack) pack_a, const void *a_source,
                                  FC_FN(fc_pack) pack_b, FC_FN(fc_view) view_b,
                                  const void *b_source, const FC_FN(fc_epilogue) *ep)
{
    const int64_t MR = cfg->MR, NR = cfg->NR;
    const int64_t rows = i_end - i_begin, cols = j_end - j_begin;
    const int finish = ep->row_bias || ep->col_bias || ep->relu;
    /* K in equal blocks of at most cfg->KC (576 = 2 x 288, not 512 + 64): the split
     * depends on K and the ISA only, never on threads, so the sums stay the same. */
    const int64_t k_blocks = (K + cfg->KC - 1) / cfg->KC;
    const int64_t KC = (K + k_blocks - 1) / k_blocks;
    /* The A block keeps the footprint of cfg->MC x cfg->KC values in L2: shallower k
     * blocks take more rows, so that more layers fit one block and pack B sliver by
     * sliver (below). Only speed depends on MC, never the bits. */
    const int64_t mc_fit = cfg->MC * cfg->KC / KC / MR * MR;
    const int64_t MC = mc_fit < rows ? mc_fit : (rows + MR - 1) / MR * MR;
    const int64_t NC = cfg->NC < cols ? cfg->NC : (cols + NR - 1) / NR * NR;
    /* When one A block holds all the rows, each B sliver serves that block alone: it is
     * packed just before its kernels run, into a buffer that stays in cache, instead of a
     * whole KC x NC panel (up to 4 MiB) written ahead and read back from L3. Same kernel
     * calls, same bits. Measured on 64-channel 3x3 conv forwards (1 thread): 56x56 images
     * 0.91x (batch 1) and 0.95x (batch 8) the time; 32x32 and 16x16 unchanged. */
    const int sliverwise = rows <= MC;
    /* A plain row-major A (fc_pack_rows over unit column stride) whose block would serve one
     * or two B slivers is read in place by kernel_a_rows instead: packing it would copy
     * every value to use it once or twice (a batch-1 convolution of a 4x4 image: 512 x 4608
     * filters times 16 pixels). Edge slivers of fewer than MR rows are still packed. */
    const FC_FN(fc_matrix) *a_plain = pack_a == FC_FN(fc_pack_rows)
                                      ? (const FC_FN(fc_matrix) *)a_source : NULL;
    const int a_in_place = cfg->kernel_a_rows && a_plain && a_plain->col_stride == 1 &&
                           cols <= 2 * NR;
    /* A viewer is asked for each sliver: one it can show is read in place, never packed.
     * With several A blocks, the B panel is then packed sliver by sliver, only the slivers
     * the viewer cannot show, in the first A block's pass, for the other blocks to reuse. */
    if (!cfg->kernel_view || a_in_place)
        view_b = NULL;
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
            if (!sliverwise && !view_b)
                pack_b(b_pack, b_source, jc, nc, pc, kc, NR);
            for (int64_t ic = i_begin; ic < i_end; ic += MC) {
                const int64_t mc = MC < i_end - ic ? MC : i_end - ic;
                if (!a_in_place)
                    pack_a(a_pack, a_source, ic, mc, pc, kc, MR);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int64_t n = NR < nc - jr ? NR : nc - jr;
                    const real *view_left = NULL, *view_right = NULL;
                    const int64_t *view_offsets = NULL;
                    const int viewed = view_b && n == NR &&
                        view_b(b_source, jc + jr, n, pc, NR,
                               &view_left, &view_right, &view_offsets);
                    if (sliverwise && !viewed)
                        pack_b(b_pack, b_source, jc + jr, n, pc, kc, NR);
                    else if (view_b && !viewed && ic == i_begin)
                        pack_b(b_pack + jr * kc, b_source, jc + jr, n, pc, kc, NR);
                    const real *b_sliver = sliverwise ? b_pack : b_pack + jr * kc;
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int64_t m = MR < mc - ir ? MR : mc - ir;
                        const int64_t i0 = ic + ir, j0 = jc + jr;
                        const real *a_sliver = a_pack + ir * kc;
                        const real *a_rows = a_in_place
                            ? a_plain->data + i0 * a_plain->row_stride + pc : NULL;
                        const int a_direct = a_in_place && m == MR;
                        if (a_in_place && !a_direct) {
                            pack_a(a_pack, a_source, i0, m, pc, kc, MR);
                            a_sliver = a_pack;
                        }
                        /* An edge sliver of fewer than MR rows writes C directly too, where
                         * its kernel touches only the real rows (kernel_partial, kernel_view). */
                        const int rows_fit = m == MR || viewed || cfg->kernel_partial;
                        if (!ep->store && rows_fit && n == NR && FC_FN(gemm_c_span)(ep, j0, n) == n) {
                            real *c = FC_FN(gemm_c_at)(ep, i0, j0);
                            if (a_direct)
                                cfg->kernel_a_rows(kc, a_rows, a_plain->row_stride, b_sliver, c,
                                                   ep->ldc, add);
                            else if (viewed)
                                cfg->kernel_view(kc, a_sliver, view_left, view_right, view_offsets,
                                                 c, ep->ldc, add, m);
                            else if (m < MR)
                                cfg->kernel_partial(kc, a_sliver, b_sliver, c, ep->ldc, add, m);
                            else
                                cfg->kernel(kc, a_sliver, b_sliver, c, ep->ldc, add);
                            if (last && finish && cfg->finish_full)
                                cfg->finish_full(c, ep->ldc, m,
                                                 ep->row_bias ? ep->row_bias + i0 : NULL,
                                                 ep->col_bias ? ep->col_bias + j0 : NULL, ep->relu);
                            else if (last && finish)
                                FC_FN(gemm_finish)(c, ep->ldc, m, n,
                                                   ep->row_bias ? ep->row_bias + i0 : NULL,
                                                   ep->col_bias ? ep->col_bias + j0 : NULL, ep->relu);
                            continue;
                        }
                        /* The product into the tile buffer: for a custom store, or for an
                         * edge tile or one across column blocks, which C takes its parts of,
                         * added exactly as the kernel adds (c + P). */
                        if (m == MR && n <= NR / 2 && !viewed && cfg->kernel_half)
                            cfg->kernel_half(kc, a_direct ? a_rows : a_sliver,
                                             a_direct ? a_plain->row_stride : 0, b_sliver, tile,
                                             NR, 0);
                        else if (a_direct)
                            cfg->kernel_a_rows(kc, a_rows, a_plain->row_stride, b_sliver, tile,
                                               NR, 0);
                        else if (viewed)
                            cfg->kernel_view(kc, a_sliver, view_left, view_right, view_offsets,
                                             tile, NR, 0, m);
                        else if (m < MR && cfg->kernel_partial)
                            cfg->kernel_partial(kc, a_sliver, b_sliver, tile, NR, 0, m);
                        else
                            cfg->kernel(kc, a_sliver, b_sliver, tile, NR, 0);
                        if (ep->store) {
                            ep->store(ep->store_context, tile, NR, i0, j0, m, n);
                            continue;
                        }
                        for (int64_t t = 0; t < n;) {
                            const int64_t span = FC_FN(gemm_c_span)(ep, j0 + t, n - t);
                            real *c = FC_FN(gemm_c_at)(ep, i0, j0 + t);
                            for (int64_t i = 0; i < m; i++)
                                for (int64_t j = 0; j < span; j++)
                                    c[i * ep->ldc + j] = add ? c[i * ep->ldc + j] + tile[i * NR + t + j]
                                                             : tile[i * NR + t + j];
                            if (last && finish && span == NR && cfg->finish_full)
                                cfg->finish_full(c, ep->ldc, m,
                                                 ep->row_bias ? ep->row_bias + i0 : NULL,
                                                 ep->col_bias ? ep->col_bias + j0 + t : NULL,
                                                 ep->relu);
                            else if (last && finish)
                                FC_FN(gemm_finish)(c, ep->ldc, m, span,
                                                   ep->row_bias ? ep->row_bias + i0 : NULL,
                                                   ep->col_bias ? ep->col_bias + j0 + t : NULL,
                                                   ep->relu);
                            t += span;
                        }
                    }
                }
            }
        }
    }
}

#ifdef _OPENMP
/* How many parts to cut M and N into for `threads` threads: the grid whose busiest thread
 * has the least work, counting its multiply-adds (32 a cycle with AVX-512) and its packing
 * (about 2 values a cycle): each thread packs A for all of its rows once per NC-wide panel
 * of its columns, and B for its columns once. Among equals, fewer threads, then more parts
 * along N. Only the time depends on this choice, never the result. */
static void FC_FN(gemm_grid)(const FC_FN(fc_gemm_config) *cfg, int64_t slivers_m,
                             int64_t slivers_n, int64_t K, int threads,
                             int *parts_m, int *parts_n)
{
    double best_cost = -1;
    *parts_m = *parts_n = 1;
    for (int pm = 1; pm <= threads; pm++)
        for (int pn = 1; pm * pn <= threads; pn++) {
            if (pm > slivers_m || pn > slivers_n)
                continue;
            const int64_t rows = (slivers_m + pm - 1) / pm * cfg->MR;
            const int64_t cols = (slivers_n + pn - 1) / pn * cfg->NR;
            const int64_t panels = (cols + cfg->NC - 1) / cfg->NC;
            const double cost = ((double)rows * (double)cols / 32 + (double)(rows * panels + cols) / 2)
                                * (double)K;
            const int used = pm * pn, best_used = *parts_m * *parts_n;
            if (best_cost < 0 || cost < best_cost * 0.999 ||
                (cost <= best_cost * 1.001 &&
                 (used < best_used || (used == best_used && pn > *parts_n)))) {
                best_cost = cost;
                *parts_m = pm;
                *parts_n = pn;
            }
        }
}
#endif

void FC_FN(fc_gemm_viewed)(int64_t M, int64_t N, int64_t K,
                           FC_FN(fc_pack) pack_a, const void *a_source,
                           FC_FN(fc_pack) pack_b, FC_FN(fc_view) view_b, const void *b_source,
                           const FC_FN(fc_epilogue) *epilogue, int num_threads)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        /* An empty sum: a custom store adds nothing; C keeps or drops its values. */
        if (epilogue->store)
            return;
        for (int64_t j = 0; j < N;) {
            const int64_t span = FC_FN(gemm_c_span)(epilogue, j, N - j);
            real *c = FC_FN(gemm_c_at)(epilogue, 0, j);
            for (int64_t i = 0; i < M; i++)
                if (!epilogue->accumulate)
                    for (int64_t q = 0; q < span; q++)
                        c[i * epilogue->ldc + q] = 0;
            FC_FN(gemm_finish)(c, epilogue->ldc, M, span, epilogue->row_bias,
                               epilogue->col_bias ? epilogue->col_bias + j : NULL, epilogue->relu);
            j += span;
        }
        return;
    }
    const FC_FN(fc_gemm_config) *cfg = FC_FN(fc_gemm_config_get)();
#ifdef _OPENMP
    /* below ~100k multiply-adds (a microsecond), waking a second thread costs more */
    if (num_threads > 1 && (double)M * (double)N * (double)K >= 131072) {
        const int64_t slivers_m = (M + cfg->MR - 1) / cfg->MR;
        const int64_t slivers_n = (N + cfg->NR - 1) / cfg->NR;
        int parts_m, parts_n;
        FC_FN(gemm_grid)(cfg, slivers_m, slivers_n, K, num_threads, &parts_m, &parts_n);
        if (parts_m * parts_n > 1) {
            #pragma omp parallel num_threads(parts_m * parts_n)
            {
                const fc_fp_mode caller_mode = fc_flush_denormals_begin();
                /* Rectangles dealt round-robin: all get done even if the runtime gives
                 * fewer threads than asked (as inside another parallel region). */
                for (int r = omp_get_thread_num(); r < parts_m * parts_n; r += omp_get_num_threads()) {
                    const int pm = r / parts_n, pn = r % parts_n;
                    const int64_t i_begin = slivers_m * pm / parts_m * cfg->MR;
                    const int64_t i_end = pm + 1 == parts_m ? M : slivers_m * (pm + 1) / parts_m * cfg->MR;
                    const int64_t j_begin = slivers_n * pn / parts_n * cfg->NR;
                    const int64_t j_end = pn + 1 == parts_n ? N : slivers_n * (pn + 1) / parts_n * cfg->NR;
                    FC_FN(gemm_rectangle)(cfg, i_begin, i_end, j_begin, j_end, K,
                                          pack_a, a_source, pack_b, view_b, b_source, epilogue);
                }
                fc_flush_denormals_end(caller_mode);
            }
            return;
        }
    }
#else
    (void)num_threads;
#endif
    const fc_fp_mode caller_mode = fc_flush_denormals_begin();
    FC_FN(gemm_rectangle)(cfg, 0, M, 0, N, K, pack_a, a_source, pack_b, view_b, b_source,
                          epilogue);
    fc_flush_denormals_end(caller_mode);
}

void FC_FN(fc_gemm)(int64_t M, int64_t N, int64_t K,
                    FC_FN(fc_pack) pack_a, const void *a_source,
                    FC_FN(fc_pack) pack_b, const void *b_source,
                    const FC_FN(fc_epilogue) *epilogue, int num_threads)
{
    FC_FN(fc_gemm_viewed)(M, N, K, pack_a, a_source, pack_b, NULL, b_source, epilogue,
                          num_threads);
}

void FC_FN(fc_gemm_sliver_widths)(int64_t *MR, int64_t *NR)
{
    const FC_FN(fc_gemm_config) *cfg = FC_FN(fc_gemm_config_get)();
    *MR = cfg->MR;
    *NR = cfg->NR;
}

void FC_FN(fc_gemm_rows_by_packed)(int64_t M, int64_t N, int64_t depth, const real *a,
                                   int64_t lda, const real *b_packed, real *c, int64_t ldc)
{
    const FC_FN(fc_gemm_config) *cfg = FC_FN(fc_gemm_config_get)();
    const int64_t MR = cfg->MR, NR = cfg->NR;
    /* A slivers the kernel cannot read in place (no kernel_a_rows, or the last, short one)
     * are packed here first */
    real *packed_a = NULL, *full = NULL;
    if (!cfg->kernel_a_rows || M % MR) {
        packed_a = fc_arena(FC_ARENA_A, (size_t)(depth * MR) * sizeof(real));
        full = fc_arena(FC_ARENA_TILE, (size_t)(MR * NR) * sizeof(real));
        if (!packed_a || !full)
            abort();  /* one sliver could not be had: nothing sensible is left to do in C */
    }
    for (int64_t j = 0; j < N; j += NR) {
        const real *b = b_packed + j * depth;
        for (int64_t i = 0; i < M; i += MR) {
            const int64_t rows = M - i < MR ? M - i : MR;
            real *tile = c + i * ldc + j;
            if (rows == MR && cfg->kernel_a_rows) {
                cfg->kernel_a_rows(depth, a + i * lda, lda, b, tile, ldc, 0);
                continue;
            }
            const FC_FN(fc_matrix) rows_of_a = { a + i * lda, lda, 1 };
            FC_FN(fc_pack_rows)(packed_a, &rows_of_a, 0, rows, 0, depth, MR);
            if (rows == MR)
                cfg->kernel(depth, packed_a, b, tile, ldc, 0);
            else if (cfg->kernel_partial)
                cfg->kernel_partial(depth, packed_a, b, tile, ldc, 0, rows);
            else {
                /* a short sliver without kernel_partial: its product through a whole tile */
                cfg->kernel(depth, packed_a, b, full, NR, 0);
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t q = 0; q < NR; q++)
                        tile[r * ldc + q] = full[r * NR + q];
            }
        }
    }
}
