/* Packers for plain strided matrices, over `real` (see the packed layout in gemm.h).
 * Both read one matrix of either orientation; the unit-stride cases get loops the
 * compiler can vectorise (packing is a few percent of a large GEMM, and much more of a
 * small one); other strides gather. */

/* One sliver of `width` (<= R) lines (matrix rows for A, columns for B) by `depth` steps:
 * dst[k * R + r] = src[r * line_stride + k * step_stride], zero for r >= width. */
FC_INLINE_COPIES static void FC_FN(pack_sliver)(real *restrict dst, const real *restrict src,
                                                int64_t line_stride, int64_t step_stride,
                                                int64_t width, int64_t depth, int64_t R)
{
    if (line_stride == 1 && width == R) {
        /* the R values of a step are adjacent: copy them as a block (row-major B). The
         * engines' sliver widths get loops of a constant length, whole vectors (a loop of R
         * values copied each in turn: 18% of a Winograd backward-weight's time) */
#define FC_COPY_STEPS(width)                                          \
        for (int64_t k = 0; k < depth; k++)                           \
            for (int64_t r = 0; r < (width); r++)                     \
                dst[k * (width) + r] = src[k * step_stride + r];
        if (R == 32) {
            FC_COPY_STEPS(32)
        } else if (R == 16) {
            FC_COPY_STEPS(16)
        } else if (R == 14) {
            FC_COPY_STEPS(14)
        } else {
            FC_COPY_STEPS(R)
        }
#undef FC_COPY_STEPS
        return;
    }
    if (line_stride == 1) {
        /* a short sliver of adjacent values: the same copies, then the padding */
        for (int64_t k = 0; k < depth; k++) {
            for (int64_t r = 0; r < width; r++)
                dst[k * R + r] = src[k * step_stride + r];
            for (int64_t r = width; r < R; r++)
                dst[k * R + r] = 0;
        }
        return;
    }
    if (step_stride == 1 && width == R) {
        const FC_FN(fc_gemm_config) *cfg = FC_FN(fc_gemm_config_get)();
        if (cfg->pack_transposed && R == cfg->MR) {
            cfg->pack_transposed(dst, src, line_stride, depth);
            return;
        }
    }
    /* a gather; k outer keeps the `width` source lines open in L1 together */
    for (int64_t k = 0; k < depth; k++)
        for (int64_t r = 0; r < width; r++)
            dst[k * R + r] = src[r * line_stride + k * step_stride];
    for (int64_t k = 0; k < depth; k++)
        for (int64_t r = width; r < R; r++)
            dst[k * R + r] = 0;
}

/* dst: ceil(count/R) slivers of depth x R OUT;  matrix: FC_FN(fc_matrix) IN, read as an
 * A operand: sliver rows are matrix rows first.., depth runs along matrix columns k0.. */
void FC_FN(fc_pack_rows)(real *restrict dst, const void *matrix,
                         int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(fc_matrix) *m = (const FC_FN(fc_matrix) *)matrix;
    for (int64_t s = 0; s * R < count; s++) {
        const int64_t rows = count - s * R < R ? count - s * R : R;
        const real *src = m->data + (first + s * R) * m->row_stride + k0 * m->col_stride;
        FC_FN(pack_sliver)(dst + s * depth * R, src, m->row_stride, m->col_stride,
                           rows, depth, R);
    }
}

/* dst: ceil(count/R) slivers of depth x R OUT;  matrix: FC_FN(fc_matrix) IN, read as a
 * B operand: sliver columns are matrix columns first.., depth runs along matrix rows k0.. */
void FC_FN(fc_pack_cols)(real *restrict dst, const void *matrix,
                         int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(fc_matrix) *m = (const FC_FN(fc_matrix) *)matrix;
    for (int64_t s = 0; s * R < count; s++) {
        const int64_t cols = count - s * R < R ? count - s * R : R;
        const real *src = m->data + (first + s * R) * m->col_stride + k0 * m->row_stride;
        FC_FN(pack_sliver)(dst + s * depth * R, src, m->col_stride, m->row_stride,
                           cols, depth, R);
    }
}
