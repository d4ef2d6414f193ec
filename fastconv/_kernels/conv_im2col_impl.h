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

/* Zero the padding entries t in [count, padded) of packed column k (forward-style layout). */
FC_INLINE_COPIES static inline void FC_FN(zero_tail)(real *restrict dst, int64_t count, int64_t depth,
                                    int64_t k, int64_t R)
{
    for (int64_t t = count; t < (count + R - 1) / R * R; t++)
        dst[((t / R) * depth + k) * R + t % R] = 0;
}

/* The forward's input as its B packer reads it: a tensor in which every tap of every output
 * pixel of the run lands, so packing is plain copies with no bounds to check. That is x
 * itself for a stride-1 layer that reads no padding, else the run's images in phase planes
 * bordered with zeros (conv_phase_input; conv2d_forward makes them). Output pixel (oh, ow)
 * of image n reads tap t at data[n * image_stride + tap_offsets[t] + oh * stride_h *
 * row_stride + ow * stride_w], with the strides of `shape` (1 over phase planes). */
typedef struct {
    const real *data;
    int64_t image_stride, row_stride;
    const int64_t *tap_offsets;   /* per tap t = (c * KH + kh) * KW + kw: where output pixel
                                     (0, 0) reads it */
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

/* conv_pack_im2col's slivers read in place (gemm.h's fc_view_*): at stride 1 along rows, a
 * half sliver of R/2 pixels inside one output row is, for every tap, R/2 adjacent values of
 * the input at that tap's offset. A sliver whose halves both lie so is not packed: all of
 * them on images 16, 32, 48.. wide, most of them on wider ones (56: 3 in 4). */
static int FC_FN(conv_view_im2col)(const void *source, int64_t first, int64_t count, int64_t k0,
                                   int64_t R, const real **left, const real **right,
                                   const int64_t **offsets)
{
    const FC_FN(inbounds_source) *src = (const FC_FN(inbounds_source) *)source;
    const conv_shape *s = src->shape;
    const int64_t half = R / 2;
    if (s->stride_w != 1 || count != R || R % 2 || s->OW < half)
        return 0;
    pixel_cursor at = pixel_at(s, first);
    if (at.ow + half > s->OW)
        return 0;
    *left = src->data + at.n * src->image_stride + at.oh * s->stride_h * src->row_stride + at.ow;
    pixel_advance(s, &at, half);
    if (at.ow + half > s->OW)
        return 0;
    *right = src->data + at.n * src->image_stride + at.oh * s->stride_h * src->row_stride + at.ow;
    *offsets = src->tap_offsets + k0;
    return 1;
}

/* The run's images as conv_pack_im2col reads them when the layer reads padding or has
 * strides: per image and channel, stride_h x stride_w phase planes of phase_h x phase_w;
 * phase (a, b) holds rows a, a + stride_h, .. and columns b, b + stride_w, .. of the input
 * bordered with zeros (the input at rows pad_top.., columns pad_left..). Output (oh, ow)
 * reads bordered row oh * stride_h + kh * dilation_h, that is row oh + kh * dilation_h /
 * stride_h of phase kh * dilation_h % stride_h (columns alike): in its phase, every tap
 * reads at stride 1, so packing copies runs (or the engine reads them in place) instead of
 * gathering every stride-th value. Only the phases some tap reads are written (a strided
 * 1x1 layer reads one).
 * phased: (images, channels, stride_h * stride_w, phase_h, phase_w) OUT, of which only the
 * channels [channel_first, channel_end) are written (so that threads can share the staging);
 * x: the run's first image and the group's first channel IN, images image_stride apart,
 * channels H * W apart. */
#ifndef FC_PHASE_PREFETCH
#define FC_PHASE_PREFETCH
/* Planes conv_phase_input prefetches ahead of the one it copies. A small image's planes are
 * a page or so each and the hardware prefetchers stop at page boundaries, so each plane's
 * first rows waited on memory: a 1x1 stride-2 forward (64 -> 128 on 32x32, batch 64) took
 * 0.74-0.90x the time with 2 planes ahead (1 and 4: 0.93x and 0.94x), 0.84-0.93x at 2
 * threads (alternating, same bits); stride-1 padded layers and the 3x3 stride-2 one
 * unchanged. */
enum { PHASE_PREFETCH_PLANES = 2 };
#if defined(__GNUC__)
#define FC_PREFETCH(address) __builtin_prefetch(address)
#else
#define FC_PREFETCH(address) ((void)(address))
#endif
#endif

/* Asks for the input rows that phase (a, b) of conv_phase_input reads from `plane`: phase
 * columns [q_first, q_end) of each phase row inside the image, every cache line of each. */
static inline void FC_FN(prefetch_phase_rows)(const real *plane, const conv_shape *s,
                                              int64_t a, int64_t b, int64_t phase_h,
                                              int64_t q_first, int64_t q_end)
{
    if (q_end <= q_first)
        return;
    const int64_t line = 64 / (int64_t)sizeof(real);
    const int64_t first = q_first * s->stride_w, last = (q_end - 1) * s->stride_w;
    for (int64_t r = 0; r < phase_h; r++) {
        const int64_t ih = r * s->stride_h + a - s->pad_top;
        if (ih < 0 || ih >= s->H)
            continue;
        const real *row = plane + ih * s->W + b - s->pad_left;
        for (int64_t i = first; i < last + line; i += line)
            FC_PREFETCH(row + (i < last ? i : last));
    }
}

FC_INLINE_COPIES void FC_FN(conv_phase_input)(real *restrict phased, const real *restrict x,
                                              int64_t images, int64_t channels,
                                              int64_t channel_first, int64_t channel_end,
                                              int64_t image_stride, const conv_shape *s,
                                              int64_t phase_h, int64_t phase_w)
{
    const int64_t sh = s->stride_h, sw = s->stride_w, phase = phase_h * phase_w;
    for (int64_t a = 0; a < sh; a++)
        for (int64_t b = 0; b < sw; b++) {
            int read = 0;
            for (int64_t kh = 0; kh < s->KH; kh++)
                for (int64_t kw = 0; kw < s->KW; kw++)
                    read |= kh * s->dilation_h % sh == a && kw * s->dilation_w % sw == b;
            if (!read)
                continue;
            int64_t q_first, q_end;   /* the phase columns that hold input columns */
            valid_outputs(b - s->pad_left, sw, s->W, phase_w, &q_first, &q_end);
            const int64_t share = channel_end - channel_first;
            for (int64_t n = 0; n < images; n++)
                for (int64_t c = channel_first; c < channel_end; c++) {
                    const real *restrict plane = x + n * image_stride + c * s->H * s->W;
                    real *restrict to = phased + ((n * channels + c) * sh * sw + a * sw + b) * phase;
                    /* the plane this call copies PHASE_PREFETCH_PLANES after this one */
                    const int64_t ahead = n * share + (c - channel_first) + PHASE_PREFETCH_PLANES;
                    if (ahead < images * share)
                        FC_FN(prefetch_phase_rows)(x + ahead / share * image_stride
                                                   + (channel_first + ahead % share) * s->H * s->W,
                                                   s, a, b, phase_h, q_first, q_end);
                    for (int64_t r = 0; r < phase_h; r++) {
                        real *restrict row = to + r * phase_w;
                        const int64_t ih = r * sh + a - s->pad_top;
                        if (ih < 0 || ih >= s->H) {
                            for (int64_t q = 0; q < phase_w; q++)
                                row[q] = 0;
                            continue;
                        }
                        const real *restrict from = plane + ih * s->W + b - s->pad_left;
                        for (int64_t q = 0; q < q_first; q++)
                            row[q] = 0;
                        if (sw == 1) {
                            for (int64_t q = q_first; q < q_end; q++)
                                row[q] = from[q];
                        } else if (sw == 2) {
                            for (int64_t q = q_first; q < q_end; q++)
                                row[q] = from[2 * q];
                        } else {
                            for (int64_t q = q_first; q < q_end; q++)
                                row[q] = from[q * sw];
                        }
                        for (int64_t q = q_end; q < phase_w; q++)
                            row[q] = 0;
                    }
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
 * source: batch_source over grad_out IN. Per image segment, a sliver's R planes are a
 * row-major matrix whose rows run along the depth, transposed into place by the SIMD
 * transpose (or the engine's transposing packer) where the ISA has one. */
void FC_FN(conv_pack_grad_out)(real *restrict dst, const void *source,
                               int64_t first, int64_t count, int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(batch_source) *src = (const FC_FN(batch_source) *)source;
    const int64_t P = src->shape->OH * src->shape->OW;
    for (int64_t s = 0; s * R < count; s++) {
        const int64_t rows = count - s * R < R ? count - s * R : R;
        real *restrict sliver = dst + s * depth * R;
        int64_t n = k0 / P, p = k0 % P;
        for (int64_t k = 0; k < depth;) {
            const int64_t len = P - p < depth - k ? P - p : depth - k;
            const real *planes = src->data + n * src->image_stride + (first + s * R) * P + p;
            real *restrict d = sliver + k * R;
            if (FC_FN(fast_transpose)(d, R, planes, P, 1, rows, len)) {
                for (int64_t i = 0; i < len; i++)
                    for (int64_t r = rows; r < R; r++)
                        d[i * R + r] = 0;
            } else {
                const FC_FN(fc_matrix) matrix = { planes, P, 1 };
                FC_FN(fc_pack_rows)(d, &matrix, 0, rows, 0, len, R);
            }
            k += len;
            n++;
            p = 0;
        }
    }
}

/* x of one image, channels last: dst[p * channels + c] = src[c * channel_stride + p] for the
 * `pixels` pixels of each channel. The SIMD transpose where there is one, else in 16 x 16
 * blocks, so both sides stay in L1. */
FC_INLINE_COPIES static void FC_FN(to_channels_last)(real *restrict dst, const real *restrict src,
                                                     int64_t channels, int64_t pixels,
                                                     int64_t channel_stride)
{
    if (FC_FN(fast_transpose)(dst, channels, src, channel_stride, 1, channels, pixels))
        return;
    for (int64_t p0 = 0; p0 < pixels; p0 += 16) {
        const int64_t p1 = p0 + 16 < pixels ? p0 + 16 : pixels;
        for (int64_t c0 = 0; c0 < channels; c0 += 16) {
            const int64_t c1 = c0 + 16 < channels ? c0 + 16 : channels;
            for (int64_t p = p0; p < p1; p++)
                for (int64_t c = c0; c < c1; c++)
                    dst[p * channels + c] = src[c * channel_stride + p];
        }
    }
}

/* x of one image as a 1x1 convolution reads it, channels last: dst[(oh * OW + ow) * channels
 * + c] = the value of channel c at (oh * stride_h - pad_top, ow * stride_w - pad_left), or 0
 * in the padding. A strided 1x1 layer reads a fraction of x: only that is staged, and the
 * layer becomes a 1x1 stride-1 one over the staged pixels (sampled_shape). Each output row's
 * inside columns are one transpose per 16 channels (the SIMD one where it takes the layer's
 * stride), a block of channels at a time down the image, so that 16 planes are read, each
 * in order, rather than all of them at once. */
FC_INLINE_COPIES static void FC_FN(to_channels_last_sampled)(real *restrict dst,
                                                             const real *restrict src,
                                                             int64_t channels, int64_t channel_stride,
                                                             const conv_shape *s)
{
    const int64_t sw = s->stride_w, OW = s->OW;
    /* the outputs [ow_first, ow_end) read columns inside x */
    int64_t ow_first = (s->pad_left + sw - 1) / sw;
    int64_t ow_end = (s->W - 1 + s->pad_left) / sw + 1;
    ow_end = ow_end < OW ? ow_end : OW;
    ow_first = ow_first < ow_end ? ow_first : ow_end;
    for (int64_t c_block = 0; c_block < channels; c_block += 16) {
        const int64_t block = channels - c_block < 16 ? channels - c_block : 16;
        for (int64_t oh = 0; oh < s->OH; oh++) {
            const int64_t ih = oh * s->stride_h - s->pad_top;
            const int row_inside = ih >= 0 && ih < s->H;
            const int64_t first = row_inside ? ow_first : OW, end = row_inside ? ow_end : OW;
            real *restrict d = dst + oh * OW * channels + c_block;
            for (int64_t ow = 0; ow < OW; ow++)
                if (ow < first || ow >= end)
                    for (int64_t c = 0; c < block; c++)
                        d[ow * channels + c] = 0;
            if (first == end)
                continue;
            const real *row = src + c_block * channel_stride + ih * s->W + first * sw - s->pad_left;
            d += first * channels;
            if (FC_FN(fast_transpose)(d, channels, row, channel_stride, sw, block, end - first))
                continue;
            for (int64_t ow = 0; ow < end - first; ow++)
                for (int64_t c = 0; c < block; c++)
                    d[ow * channels + c] = row[c * channel_stride + ow * sw];
        }
    }
}

/* The geometry of a 1x1 layer over its staged pixels (to_channels_last_sampled). */
static inline conv_shape FC_FN(sampled_shape)(const conv_shape *s)
{
    conv_shape sampled = *s;
    sampled.H = s->OH;
    sampled.W = s->OW;
    sampled.stride_h = sampled.stride_w = 1;
    sampled.pad_top = sampled.pad_left = 0;
    sampled.dilation_h = sampled.dilation_w = 1;
    return sampled;
}

/* A run of a B sliver's columns (taps in (kh, kw, c) order, see conv_pack_im2col_cl) that
 * share kh and whose values lie side by side in a channels-last image when every one of
 * their kw columns is inside it: columns r0 .. r0+len-1 of the sliver, the first at channel
 * c0 and kw0, the last at kw1 (each kw reading column ow*stride_w + kw*dilation_w - pad_left). */
typedef struct { int64_t r0, len, c0, kw0, kw1, offset_h; } FC_FN(tap_segment);

/* Backward-weight's B operand: im2col(x) transposed, pixels x taps, with the taps in
 * (kh, kw, c) order and x channels last (to_channels_last), so that a pixel's taps are a
 * few contiguous runs (KW * C/groups values per kh) instead of values from far-apart planes.
 * dst: packed B block OUT (columns = taps first.., depth = pixels k0..);  source:
 * batch_source over channels-last x IN (image_stride H*W*C/groups). */
FC_INLINE_COPIES void FC_FN(conv_pack_im2col_cl)(real *restrict dst, const void *source,
                                                 int64_t first, int64_t count, int64_t k0,
                                                 int64_t depth, int64_t R)
{
    const FC_FN(batch_source) *src = (const FC_FN(batch_source) *)source;
    const conv_shape *s = src->shape;
    const int64_t Cg = s->in_per_group, H = s->H, W = s->W;
    const int64_t sh = s->stride_h, sw = s->stride_w, dw = s->dilation_w;
    const pixel_cursor start = pixel_at(s, k0);
    FC_FN(tap_segment) segments[64];   /* R <= 64 columns per sliver: at most R segments */
    for (int64_t sl = 0; sl * R < count; sl++) {
        const int64_t cols = count - sl * R < R ? count - sl * R : R;
        int64_t n_segments = 0;
        for (int64_t r = 0; r < cols; r++) {
            const int64_t j = first + sl * R + r, c = j % Cg, kw = j / Cg % s->KW, kh = j / Cg / s->KW;
            FC_FN(tap_segment) *last = n_segments ? &segments[n_segments - 1] : NULL;
            if (last && last->offset_h == kh * s->dilation_h - s->pad_top &&
                (kw == last->kw1 || (dw == 1 && kw == last->kw1 + 1 && c == 0))) {
                last->len++;
                last->kw1 = kw;
            } else {
                segments[n_segments++] = (FC_FN(tap_segment)){
                    r, 1, c, kw, kw, kh * s->dilation_h - s->pad_top };
            }
        }
        real *restrict sliver = dst + sl * depth * R;
        pixel_cursor at = start;
        for (int64_t k = 0; k < depth;) {
            /* a run of pixels along one output row: per segment, the row read and the
             * pixels whose every column is inside it are worked out once */
            const int64_t len = row_run(s, &at, depth - k);
            const real *restrict image = src->data + at.n * src->image_stride;
            real *restrict d = sliver + k * R;
            for (int64_t g = 0; g < n_segments; g++) {
                const FC_FN(tap_segment) *seg = &segments[g];
                const int64_t ih = at.oh * sh + seg->offset_h;
                real *restrict to = d + seg->r0;
                if (ih < 0 || ih >= H) {
                    for (int64_t p = 0; p < len; p++)
                        for (int64_t i = 0; i < seg->len; i++)
                            to[p * R + i] = 0;
                    continue;
                }
                const real *restrict row = image + ih * W * Cg;
                int64_t lo, hi, lo1, hi1;   /* inside: ow in [max(lo, lo1), min(hi, hi1)) */
                valid_outputs(seg->kw0 * dw - s->pad_left, sw, W, s->OW, &lo, &hi);
                valid_outputs(seg->kw1 * dw - s->pad_left, sw, W, s->OW, &lo1, &hi1);
                lo = lo > lo1 ? lo : lo1;
                hi = hi < hi1 ? hi : hi1;
                for (int64_t p = 0; p < len; p++) {
                    const int64_t ow = at.ow + p, iw_base = ow * sw - s->pad_left;
                    real *restrict out = to + p * R;
                    if (ow >= lo && ow < hi) {
                        const real *restrict from = row + (iw_base + seg->kw0 * dw) * Cg + seg->c0;
                        if (seg->len == 32) {
                            /* a whole 32-wide sliver (C/groups a multiple of 32): a fixed
                             * length the compiler turns into straight vector moves */
                            for (int i = 0; i < 32; i++)
                                out[i] = from[i];
                        } else {
                            for (int64_t i = 0; i < seg->len; i++)
                                out[i] = from[i];
                        }
                        continue;
                    }
                    /* near the left or right edge: column by column */
                    int64_t c = seg->c0, kw = seg->kw0;
                    for (int64_t i = 0; i < seg->len; i++) {
                        const int64_t iw = iw_base + kw * dw;
                        out[i] = iw >= 0 && iw < W ? row[iw * Cg + c] : 0;
                        if (++c == Cg) {
                            c = 0;
                            kw++;
                        }
                    }
                }
            }
            for (int64_t p = 0; p < len; p++)
                for (int64_t r = cols; r < R; r++)
                    d[p * R + r] = 0;
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
 * from (nothing, for padding). Runs of pixels along one output row outermost, so the
 * cursor is worked out once per run, not once per run and tap.
 * context: batch_target (its data is IN/OUT: added to);  tile: m x n IN, leading dim ld. */
FC_INLINE_COPIES void FC_FN(conv_store_col2im)(const void *context, const real *tile, int64_t ld,
                              int64_t i0, int64_t j0, int64_t m, int64_t n)
{
    const FC_FN(batch_target) *target = (const FC_FN(batch_target) *)context;
    const conv_shape *s = target->shape;
    const conv_tap *taps = &s->taps[target->row0 + i0];
    pixel_cursor at = pixel_at(s, j0);
    for (int64_t t = 0; t < n;) {
        const int64_t len = row_run(s, &at, n - t);
        real *image = target->data + at.n * target->image_stride;
        const int64_t ih_base = at.oh * s->stride_h, ow_end = at.ow + len;
        for (int64_t i = 0; i < m; i++) {
            const conv_tap *tap = &taps[i];
            const int64_t ih = ih_base + tap->offset_h;
            const int64_t a = tap->ow_first < at.ow ? at.ow : tap->ow_first;
            const int64_t b = tap->ow_end < ow_end ? tap->ow_end : ow_end;
            if (ih < 0 || ih >= s->H || a >= b)
                continue;
            real *restrict row = image + tap->channel_offset + ih * s->W + tap->offset_w;
            const real *restrict v = tile + i * ld + t - at.ow;
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
