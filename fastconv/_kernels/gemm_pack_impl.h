/* Packers for plain strided matrices, over `real` (see the packed layout in gemm.h). */

/* dst: ceil(count/R) slivers of depth x R OUT;  matrix: FC_FN(fc_matrix) IN, read as an
 * A operand: sliver rows are matrix rows first.., depth runs along matrix columns k0.. */
void FC_FN(fc_pack_rows)(real *restrict dst, const void *matrix,
                         int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(fc_matrix) *m = (const FC_FN(fc_matrix) *)matrix;
    for (int64_t s = 0; s * R < count; s++) {
        const int64_t rows = count - s * R < R ? count - s * R : R;
        real *restrict sliver = dst + s * depth * R;
        for (int64_t k = 0; k < depth; k++) {
            const real *column = m->data + (k0 + k) * m->col_stride + (first + s * R) * m->row_stride;
            int64_t r = 0;
            for (; r < rows; r++)
                sliver[k * R + r] = column[r * m->row_stride];
            for (; r < R; r++)
                sliver[k * R + r] = 0;
        }
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
        real *restrict sliver = dst + s * depth * R;
        for (int64_t k = 0; k < depth; k++) {
            const real *row = m->data + (k0 + k) * m->row_stride + (first + s * R) * m->col_stride;
            int64_t c = 0;
            for (; c < cols; c++)
                sliver[k * R + c] = row[c * m->col_stride];
            for (; c < R; c++)
                sliver[k * R + c] = 0;
        }
    }
}
