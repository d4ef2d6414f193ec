/* The convolution's operands as the GEMM engine sees them, over `real` (gemm.h explains the
 * packed sliver layout). None of these matrices exists in memory: each packer reads the
 * NCHW tensor itself, so im2col costs one pass over a cache-sized block, never a buffer
 * of C*KH*KW x OH*OW values.
 *
 * Index conventions: a "tap" index t = (c * KH + kh) * KW + kw, the layout of one filter
 * in w; a "pixel" index j = (n * OH + oh) * OW + ow runs over the output pixels of a run of
 * consecutive images (pixel_cursor in conv.c), so one GEMM can cover several small images. */

/* Where a packer or store finds its tensor: x, grad_out or out, at the run's first image
 * and the group's first channel. */
typedef struct {
    const real *data;
    int64_t image_stride;     /* elements between images: C*H*W (x) or OC*OH*OW (grad_out) */
    const conv_shape *shape;
} FC_FN(batch_source);

/* dst[i * dst_stride] for the `len` output pixels (oh, ow .. ow+len-1) of one output row:
 * the value of input `plane` that `tap` reads there, or 0 in the padding. */
FC_INLINE_COPIES static inline void FC_FN(gather_row)(real *restrict dst, int64_t dst_stride,
                                     const real *restrict plane, const conv_shape *s,
                                     const conv_tap *tap, int64_t oh, int64_t ow, int64_t len)
{
    const int64_t ih = oh * s->stride_h + tap->offset_h;
    int64_t a = tap->ow_first < ow ? ow : tap->ow_first;
    int64_t b = tap->ow_end < ow + len ? tap->ow_end : ow + len;
    if (ih < 0 || ih >= s->H || a > b)
        a = b = ow;   /* the whole run is padding */
    for (int64_t o = ow; o < a; o++)
        dst[(o - ow) * dst_stride] = 0;
    if (a < b) {
        const real *restrict row = plane + tap->channel_offset + ih * s->W + tap->offset_w;
        if (dst_stride == 1 && s->stride_w == 1) {
            /* the common case: a contiguous copy */
            real *restrict d = dst - ow;
            for (int64_t o = a; o < b; o++)
                d[o] = row[o];
        } else {
            for (int64_t o = a; o < b; o++)
                dst[(o - ow) * dst_stride] = row[o * s->stride_w];
        }
    }
    for (int64_t o = b; o < ow + len; o++)
        dst[(o - ow) * dst_stride] = 0;
}

/* Zero the padding entries t in [count, padded) of packed column k (forward-style layout). */
FC_INLINE_COPIES static inline void FC_FN(zero_tail)(real *restrict dst, int64_t count, int64_t depth,
                                    int64_t k, int64_t R)
{
    for (int64_t t = count; t < (count + R - 1) / R * R; t++)
        dst[((t / R) * depth + k) * R + t % R] = 0;
}

/* The forward's input as its B packer reads it: a tensor in which every tap of every output
 * pixel of the run lands, so packing is plain copies with no bounds to check. That is x
 * itself for a layer that reads no padding, else a zero-bordered copy of the run's images
 * (conv2d_forward makes it). Element (image n, channel c, row r, column q) of the group sits
 * at data[n * image_stride + c * plane_stride + r * row_stride + q], where row 0 / column 0
 * is the first input row / column output pixel (0, 0) reads (-pad_top / -pad_left). */
typedef struct {
    const real *data;
    int64_t image_stride, row_stride;
    const int64_t *tap_offsets;   /* per tap t = (c * KH + kh) * KW + kw:
                                     c * plane_stride + kh * dilation_h * row_stride + kw * dilation_w */
    const conv_shape *shape;
} FC_FN(inbounds_source);

/* The forward's B operand: im2col(x), taps x pixels.
 * dst: packed B block OUT (columns = pixels first.., depth = taps k0..);  source:
 * inbounds_source over x IN. Per sliver, its pixels are cut once into runs along output rows
 * (where each starts reading, where it goes in the sliver); then every tap is a copy of each
 * run from the tap's offset, so the per-value cost is a load and a store. */
FC_INLINE_COPIES void FC_FN(conv_pack_im2col)(real *restrict dst, const void *source,
                             int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    enum { MAX_RUNS = 32 };   /* a longer sliver is done in several passes */
    const FC_FN(inbounds_source) *src = (const FC_FN(inbounds_source) *)source;
    const conv_shape *s = src->shape;
    const int64_t step_w = s->stride_w, step_h = s->stride_h * src->row_stride;
    const int64_t *restrict tap_offsets = src->tap_offsets + k0;
    pixel_cursor at = pixel_at(s, first);
    for (int64_t t = 0; t < count;) {
        const int64_t sliver = t / R, sliver_end = (sliver + 1) * R < count ? (sliver + 1) * R : count;
        int64_t run_to[MAX_RUNS], run_from[MAX_RUNS], run_len[MAX_RUNS];
        int runs = 0;
        for (; t < sliver_end && runs < MAX_RUNS; runs++) {
            const int64_t len = row_run(s, &at, sliver_end - t);
            run_to[runs] = t - sliver * R;
            run_from[runs] = at.n * src->image_stride + at.oh * step_h + at.ow * step_w;
            run_len[runs] = len;
            t += len;
            pixel_advance(s, &at, len);
        }
        real *restrict block = dst + sliver * depth * R;
        for (int64_t k = 0; k < depth; k++) {
            const real *restrict tap = src->data + tap_offsets[k];
            real *restrict d = block + k * R;
            for (int r = 0; r < runs; r++) {
                const real *restrict from = tap + run_from[r];
                real *restrict to = d + run_to[r];
                const int64_t len = run_len[r];
                if (step_w == 1) {
                    for (int64_t i = 0; i < len; i++)
                        to[i] = from[i];
                } else if (step_w == 2) {
                    /* a constant stride, which the compiler vectorises with shuffles
                     * (measured: stride-2 layers 5-15% faster than with the general loop) */
                    for (int64_t i = 0; i < len; i++)
                        to[i] = from[2 * i];
                } else {
                    for (int64_t i = 0; i < len; i++)
                        to[i] = from[i * step_w];
                }
            }
        }
    }
    if (count % R) {
        real *restrict block = dst + (count / R) * depth * R;
        for (int64_t k = 0; k < depth; k++)
            for (int64_t r = count % R; r < R; r++)
                block[k * R + r] = 0;
    }
}

/* The run's images as conv_pack_im2col reads them when the layer reads padding: images x
 * channels of padded_h x padded_w, the input at rows pad_top.., columns pad_left.., zeros
 * around it.
 * padded: (images, channels, padded_h, padded_w) OUT;  x: the run's first image and the
 * group's first channel IN, images image_stride apart, channels H * W apart. */
FC_INLINE_COPIES void FC_FN(conv_pad_input)(real *restrict padded, const real *restrict x,
                           int64_t images, int64_t channels, int64_t image_stride,
                           const conv_shape *s, int64_t padded_h, int64_t padded_w)
{
    const int64_t top = s->pad_top, left = s->pad_left < padded_w ? s->pad_left : padded_w;
    const int64_t room = padded_w - left, cols = s->W < room ? s->W : room;
    for (int64_t n = 0; n < images; n++)
        for (int64_t c = 0; c < channels; c++) {
            const real *restrict plane = x + n * image_stride + c * s->H * s->W;
            real *restrict to = padded + (n * channels + c) * padded_h * padded_w;
            for (int64_t r = 0; r < padded_h; r++) {
                real *restrict row = to + r * padded_w;
                const int64_t ih = r - top;
                if (ih < 0 || ih >= s->H) {
                    for (int64_t q = 0; q < padded_w; q++)
                        row[q] = 0;
                    continue;
                }
                for (int64_t q = 0; q < left; q++)
                    row[q] = 0;
                for (int64_t q = 0; q < cols; q++)
                    row[left + q] = plane[ih * s->W + q];
                for (int64_t q = left + cols; q < padded_w; q++)
                    row[q] = 0;
            }
        }
}

/* Backward-data's B operand: grad_out, output channels x pixels.
 * dst: packed B block OUT (columns = pixels first.., depth = output channels k0.. of the
 * group);  source: batch_source over grad_out IN. */
FC_INLINE_COPIES void FC_FN(conv_pack_grad_out_cols)(real *restrict dst, const void *source,
                                    int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(batch_source) *src = (const FC_FN(batch_source) *)source;
    const int64_t P = src->shape->OH * src->shape->OW;
    for (int64_t k = 0; k < depth; k++) {
        for (int64_t t = 0; t < count;) {
            const int64_t j = first + t, n = j / P, p = j % P;
            int64_t len = R - t % R < count - t ? R - t % R : count - t;
            if (len > P - p) len = P - p;
            const real *restrict from = src->data + n * src->image_stride + (k0 + k) * P + p;
            real *restrict to = dst + ((t / R) * depth + k) * R + t % R;
            for (int64_t i = 0; i < len; i++)
                to[i] = from[i];
            t += len;
        }
        FC_FN(zero_tail)(dst, count, depth, k, R);
    }
}

/* Backward-weight's A operand: grad_out, output channels x pixels.
 * dst: packed A block OUT (rows = output channels first.. of the group, depth = pixels k0..);
 * source: batch_source over grad_out IN. Each row is read along its contiguous planes. */
FC_INLINE_COPIES void FC_FN(conv_pack_grad_out)(real *restrict dst, const void *source,
                               int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(batch_source) *src = (const FC_FN(batch_source) *)source;
    const int64_t P = src->shape->OH * src->shape->OW;
    for (int64_t s = 0; s * R < count; s++) {
        const int64_t rows = count - s * R < R ? count - s * R : R;
        real *restrict sliver = dst + s * depth * R;
        /* image segments outermost; within one, each depth step writes its R values
         * contiguously, reading R planes side by side */
        int64_t n = k0 / P, p = k0 % P;
        for (int64_t k = 0; k < depth;) {
            const int64_t len = P - p < depth - k ? P - p : depth - k;
            const real *planes = src->data + n * src->image_stride + (first + s * R) * P + p;
            real *restrict d = sliver + k * R;
            for (int64_t i = 0; i < len; i++) {
                for (int64_t r = 0; r < rows; r++)
                    d[i * R + r] = planes[r * P + i];
                for (int64_t r = rows; r < R; r++)
                    d[i * R + r] = 0;
            }
            k += len;
            n++;
            p = 0;
        }
    }
}

/* Backward-weight's B operand: im2col(x) transposed, pixels x taps.
 * dst: packed B block OUT (columns = taps first.., depth = pixels k0..);  source:
 * batch_source over x IN. Row runs outermost, so the sliver rows being written stay in L1. */
FC_INLINE_COPIES void FC_FN(conv_pack_im2col_t)(real *restrict dst, const void *source,
                               int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(batch_source) *src = (const FC_FN(batch_source) *)source;
    const conv_shape *s = src->shape;
    const pixel_cursor start = pixel_at(s, k0);
    for (int64_t sl = 0; sl * R < count; sl++) {
        const int64_t cols = count - sl * R < R ? count - sl * R : R;
        const conv_tap *taps = &s->taps[first + sl * R];
        real *restrict sliver = dst + sl * depth * R;
        pixel_cursor at = start;
        for (int64_t k = 0; k < depth;) {
            const int64_t len = row_run(s, &at, depth - k);
            const real *image = src->data + at.n * src->image_stride;
            real *restrict d = sliver + k * R;
            for (int64_t r = 0; r < cols; r++)
                FC_FN(gather_row)(d + r, R, image, s, &taps[r], at.oh, at.ow, len);
            for (int64_t r = cols; r < R; r++)
                for (int64_t i = 0; i < len; i++)
                    d[i * R + r] = 0;
            k += len;
            pixel_advance(s, &at, len);
        }
    }
}

/* A custom store's destination: out or grad_x at the run's first image and the group's
 * first channel, and (col2im) the tap index of the product's row 0. */
typedef struct {
    real *data;
    int64_t image_stride;     /* OC*OH*OW (out) or C*H*W (grad_x) */
    int64_t row0;
    const conv_shape *shape;
} FC_FN(batch_target);

/* col2im as backward-data's store: tile element (i, j) is the gradient of the im2col entry
 * (tap row0 + i0 + i, pixel j0 + j), added to the one grad_x element that entry was read
 * from (nothing, for padding).
 * context: batch_target (its data is IN/OUT: added to);  tile: m x n IN, leading dim ld. */
FC_INLINE_COPIES void FC_FN(conv_store_col2im)(const void *context, const real *tile, int64_t ld,
                              int64_t i0, int64_t j0, int64_t m, int64_t n)
{
    const FC_FN(batch_target) *target = (const FC_FN(batch_target) *)context;
    const conv_shape *s = target->shape;
    const pixel_cursor start = pixel_at(s, j0);
    for (int64_t i = 0; i < m; i++) {
        const conv_tap *tap = &s->taps[target->row0 + i0 + i];
        const real *values = tile + i * ld;
        pixel_cursor at = start;
        for (int64_t t = 0; t < n;) {
            const int64_t len = row_run(s, &at, n - t);
            const int64_t ih = at.oh * s->stride_h + tap->offset_h;
            const int64_t a = tap->ow_first < at.ow ? at.ow : tap->ow_first;
            const int64_t b = tap->ow_end < at.ow + len ? tap->ow_end : at.ow + len;
            if (ih >= 0 && ih < s->H && a < b) {
                real *restrict row = target->data + at.n * target->image_stride
                                     + tap->channel_offset + ih * s->W + tap->offset_w;
                const real *restrict v = values + t - at.ow;
                if (s->stride_w == 1) {
                    for (int64_t o = a; o < b; o++)
                        row[o] += v[o];
                } else {
                    for (int64_t o = a; o < b; o++)
                        row[o * s->stride_w] += v[o];
                }
            }
            t += len;
            pixel_advance(s, &at, len);
        }
    }
}
