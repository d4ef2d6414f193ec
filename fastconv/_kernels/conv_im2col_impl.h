/* The convolution's operands as the GEMM engine sees them, over `real` (gemm.h explains the
 * packed sliver layout). None of these matrices exists in memory: each packer reads the
 * NCHW tensor itself, so im2col costs one pass over a cache-sized block, never a buffer
 * of C*KH*KW x OH*OW values.
 *
 * Index conventions: a "tap" row index t = (c * KH + kh) * KW + kw, the layout of one
 * filter in w; a "pixel" index p = oh * OW + ow, the layout of one output plane. */

/* dst[i * dst_stride] for the `len` output pixels (oh, ow .. ow+len-1) of one output row:
 * the input value tap (offset_h, offset_w, [ow_first, ow_end)) reads, or 0 in the padding. */
static inline void FC_FN(gather_row)(real *restrict dst, int64_t dst_stride,
                                     const real *restrict plane, const conv_shape *s,
                                     int64_t oh, int64_t ow, int64_t len, int64_t offset_h,
                                     int64_t offset_w, int64_t ow_first, int64_t ow_end)
{
    const int64_t ih = oh * s->stride_h + offset_h;
    int64_t a = ow_first < ow ? ow : ow_first;
    int64_t b = ow_end < ow + len ? ow_end : ow + len;
    if (ih < 0 || ih >= s->H || a > b)
        a = b = ow;   /* the whole run is padding */
    const real *restrict row = plane + ih * s->W + offset_w;
    for (int64_t o = ow; o < a; o++)
        dst[(o - ow) * dst_stride] = 0;
    if (dst_stride == 1 && s->stride_w == 1) {
        /* the common case: a contiguous copy gcc turns into vector moves */
        real *restrict d = dst - ow;
        for (int64_t o = a; o < b; o++)
            d[o] = row[o];
    } else {
        for (int64_t o = a; o < b; o++)
            dst[(o - ow) * dst_stride] = row[o * s->stride_w];
    }
    for (int64_t o = b; o < ow + len; o++)
        dst[(o - ow) * dst_stride] = 0;
}

/* The forward's B operand: im2col of one image and group, C/groups*KH*KW x OH*OW,
 * read from x. */
typedef struct {
    const real *x;            /* (C/groups, H, W) planes of this image and group */
    const conv_shape *shape;
} FC_FN(im2col_source);

/* dst: packed B block OUT (columns = pixels first.., depth = taps k0..);  source: im2col_source IN.
 * Taps outermost: each tap's row bounds are worked out once, then its pixels are copied in
 * runs that stop at sliver and output-row boundaries. */
void FC_FN(conv_pack_im2col)(real *restrict dst, const void *source,
                             int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(im2col_source) *src = (const FC_FN(im2col_source) *)source;
    const conv_shape *s = src->shape;
    const int64_t padded = (count + R - 1) / R * R;
    for (int64_t k = 0; k < depth; k++) {
        const int64_t tap = k0 + k;
        const int64_t kw = tap % s->KW, kh = tap / s->KW % s->KH, c = tap / (s->KW * s->KH);
        const int64_t offset_h = kh * s->dilation_h - s->pad_top;
        const int64_t offset_w = kw * s->dilation_w - s->pad_left;
        const real *plane = src->x + c * s->H * s->W;
        int64_t oh = first / s->OW, ow = first % s->OW;
        for (int64_t t = 0; t < count;) {
            int64_t len = s->OW - ow;
            if (len > R - t % R) len = R - t % R;
            if (len > count - t) len = count - t;
            FC_FN(gather_row)(dst + ((t / R) * depth + k) * R + t % R, 1, plane, s, oh, ow, len,
                              offset_h, offset_w, s->ow_first[kw], s->ow_end[kw]);
            t += len;
            ow += len;
            if (ow == s->OW) { ow = 0; oh++; }
        }
        for (int64_t t = count; t < padded; t++)
            dst[((t / R) * depth + k) * R + t % R] = 0;
    }
}

/* Backward-weight's operands, over a run of images: depth q = n * OH*OW + p runs over the
 * images and pixels of the run. */
typedef struct {
    const real *data;         /* grad_out (A) or x (B) at the run's first image and the group */
    int64_t image_stride;     /* elements between images: OC*OH*OW (A) or C*H*W (B) */
    const conv_shape *shape;
} FC_FN(batch_source);

/* dst: packed A block OUT (rows = output channels first.. of the group, depth = (n, p) from k0);
 * source: batch_source over grad_out IN. Each row is read along its contiguous planes. */
void FC_FN(conv_pack_grad_out)(real *restrict dst, const void *source,
                               int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(batch_source) *src = (const FC_FN(batch_source) *)source;
    const int64_t P = src->shape->OH * src->shape->OW;
    const int64_t padded = (count + R - 1) / R * R;
    for (int64_t t = 0; t < padded; t++) {
        real *restrict d = dst + (t / R) * depth * R + t % R;
        if (t >= count) {
            for (int64_t k = 0; k < depth; k++)
                d[k * R] = 0;
            continue;
        }
        int64_t n = k0 / P, p = k0 % P;
        for (int64_t k = 0; k < depth;) {
            const real *restrict plane = src->data + n * src->image_stride + (first + t) * P;
            int64_t len = P - p < depth - k ? P - p : depth - k;
            for (int64_t i = 0; i < len; i++)
                d[(k + i) * R] = plane[p + i];
            k += len;
            n++;
            p = 0;
        }
    }
}

/* dst: packed B block OUT (columns = taps first.., depth = (n, p) from k0);
 * source: batch_source over x IN: the transpose of im2col, stacked over the run's images. */
void FC_FN(conv_pack_im2col_t)(real *restrict dst, const void *source,
                               int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(batch_source) *src = (const FC_FN(batch_source) *)source;
    const conv_shape *s = src->shape;
    const int64_t P = s->OH * s->OW;
    const int64_t padded = (count + R - 1) / R * R;
    for (int64_t t = 0; t < padded; t++) {
        real *restrict d = dst + (t / R) * depth * R + t % R;
        if (t >= count) {
            for (int64_t k = 0; k < depth; k++)
                d[k * R] = 0;
            continue;
        }
        const int64_t tap = first + t;
        const int64_t kw = tap % s->KW, kh = tap / s->KW % s->KH, c = tap / (s->KW * s->KH);
        const int64_t offset_h = kh * s->dilation_h - s->pad_top;
        const int64_t offset_w = kw * s->dilation_w - s->pad_left;
        int64_t n = k0 / P, oh = k0 % P / s->OW, ow = k0 % s->OW;
        for (int64_t k = 0; k < depth;) {
            const int64_t len = s->OW - ow < depth - k ? s->OW - ow : depth - k;
            FC_FN(gather_row)(d + k * R, R, src->data + n * src->image_stride + c * s->H * s->W,
                              s, oh, ow, len, offset_h, offset_w, s->ow_first[kw], s->ow_end[kw]);
            k += len;
            ow += len;
            if (ow == s->OW) {
                ow = 0;
                if (++oh == s->OH) { oh = 0; n++; }
            }
        }
    }
}

/* col2im as the engine's custom store for backward-data: tile element (i, j) is the
 * gradient of the im2col entry (tap row0 + i0 + i, pixel j0 + j), and is added to the one
 * grad_x element that entry was read from (nothing, for padding). */
typedef struct {
    real *grad_x;             /* (C/groups, H, W) planes of this image and group */
    int64_t row0;             /* tap index of the product's row 0 */
    const conv_shape *shape;
} FC_FN(col2im_target);

/* context: col2im_target (its grad_x is IN/OUT: added to);  tile: m x n IN, leading dim ld. */
void FC_FN(conv_store_col2im)(const void *context, const real *tile, int64_t ld,
                              int64_t i0, int64_t j0, int64_t m, int64_t n)
{
    const FC_FN(col2im_target) *target = (const FC_FN(col2im_target) *)context;
    const conv_shape *s = target->shape;
    for (int64_t i = 0; i < m; i++) {
        const int64_t tap = target->row0 + i0 + i;
        const int64_t kw = tap % s->KW, kh = tap / s->KW % s->KH, c = tap / (s->KW * s->KH);
        const int64_t offset_h = kh * s->dilation_h - s->pad_top;
        const int64_t offset_w = kw * s->dilation_w - s->pad_left;
        const int64_t ow_first = s->ow_first[kw], ow_end = s->ow_end[kw];
        real *plane = target->grad_x + c * s->H * s->W;
        const real *values = tile + i * ld;
        int64_t oh = j0 / s->OW, ow = j0 % s->OW;
        for (int64_t t = 0; t < n;) {
            const int64_t len = s->OW - ow < n - t ? s->OW - ow : n - t;
            const int64_t ih = oh * s->stride_h + offset_h;
            if (ih >= 0 && ih < s->H) {
                const int64_t a = ow_first < ow ? ow : ow_first;
                const int64_t b = ow_end < ow + len ? ow_end : ow + len;
                real *restrict row = plane + ih * s->W + offset_w;
                const real *restrict v = values + t - ow;
                if (s->stride_w == 1) {
                    for (int64_t o = a; o < b; o++)
                        row[o] += v[o];
                } else {
                    for (int64_t o = a; o < b; o++)
                        row[o * s->stride_w] += v[o];
                }
            }
            t += len;
            ow += len;
            if (ow == s->OW) { ow = 0; oh++; }
        }
    }
}
