/* Small images with many channels, over `real`: the convolution as a sum over filter taps
 * of GEMMs on a batch-minor copy, each GEMM covering only the outputs whose tap reads the
 * input, never the padding.
 *
 * Why: on a 4x4 image a 3x3 filter with padding 1 reads padding in 44 of its 144
 * (tap, pixel) pairs, on 8x8 in 92 of 576. The im2col GEMM multiplies those zeros
 * (31% and 16% of its work); a sum over taps skips them, as oneDNN's direct kernels do.
 *
 * Layout: x_t (H, W, C, N), the batch innermost and the channels next, so the N images'
 * values of one (pixel, channel) are adjacent and a pixel's channels follow each other N
 * values apart: the B sliver of a tap (32 images of one pixel, over the channels) is read
 * in place by the engine, a few KiB in one run that the prefetchers follow (in a
 * (C, H, W, N) layout the channels lay H*W*N values apart, for 8x8 images of 64 on one L1
 * cache set, and had to be packed). For tap t = (kh, kw):
 *     y_t[:, valid pixels of t, :] += w_t[:, t, :] (OC x C) * x_t[:, pixels read by t, :]
 * one engine GEMM (OC rows, C deep, valid pixels x N columns) whose columns are the valid
 * output rows of t as column blocks (gemm.h's col_block). The first tap is one that every
 * output pixel reads when there is such a tap (the centre of a 'same' layer) and writes
 * y_t; the others add. Each element's value is then a fixed sum over taps of the engine's
 * fixed sums over channels: the same bits for any thread count.
 *
 * Backward-weight sums tap by tap as well, over each tap's (image, valid pixel) steps, with
 * x and grad_out channels last instead (its reduction runs along the batch and pixels).
 *
 * Extra memory, in the calling thread's workspaces (kept across calls): forward and
 * backward-data, the input pixel-major and batch-minor, the filters tap-major and the
 * output batch-minor
 * (for a forward C*H*W*N, OC*KH*KW*C and OC*OH*OW*N values); backward-weight, see there.
 */

/* Whether the tap-wise form pays: groups of one, no dilation, a batch whose images fill
 * the engine's slivers, small images (at most 256 output pixels) and channels enough for
 * the GEMMs to be deep and tall, with at least an eighth of the im2col GEMM's work reading
 * padding (measured on 256->256 8x8 and 512->512 4x4 3x3 layers, 64 images, and on the
 * backward-data of the simple CNN's 32->64 3x3 layer on 13x13 images, whose transposed
 * form pads its 11x11 input by 2: 1.3x faster than im2col with the col2im scatter). */
static int FC_FN(use_tapwise)(const conv_shape *s, int64_t N)
{
    if (s->in_per_group != s->C || s->dilation_h != 1 || s->dilation_w != 1 || N < 16 ||
        s->OH * s->OW > 256 || s->C < 64 || s->OC < 32)
        return 0;
    int64_t read = 0;
    for (int64_t kh = 0; kh < s->KH; kh++) {
        int64_t oh_first, oh_end;
        valid_outputs(kh - s->pad_top, s->stride_h, s->H, s->OH, &oh_first, &oh_end);
        for (int64_t kw = 0; kw < s->KW; kw++) {
            int64_t ow_first, ow_end;
            valid_outputs(kw - s->pad_left, s->stride_w, s->W, s->OW, &ow_first, &ow_end);
            read += (oh_end - oh_first) * (ow_end - ow_first);
        }
    }
    return 8 * read <= 7 * s->KH * s->KW * s->OH * s->OW;
}

/* The calling thread's workspaces for a tap-wise kernel's re-laid-out input, filters and
 * output, of the given numbers of values; kept across calls (gemm.h's fc_workspace). */
static void FC_FN(tapwise_buffers)(real **input, int64_t input_size, real **filters,
                                   int64_t filters_size, real **output, int64_t output_size)
{
    *input = fc_workspace(WORKSPACE_PADDED_INPUT, (size_t)input_size * sizeof(real));
    *filters = fc_workspace(WORKSPACE_FLIPPED_FILTERS, (size_t)filters_size * sizeof(real));
    *output = fc_workspace(WORKSPACE_CHANNELS_LAST, (size_t)output_size * sizeof(real));
    if (!*input || !*filters || !*output)
        abort();  /* workspaces could not be had: nothing sensible is left to do in C */
}

/* dst[j * dst_stride + i] = src[i * src_stride + j] for i < rows, j < cols. */
static void FC_FN(tapwise_transpose)(real *restrict dst, int64_t dst_stride,
                                     const real *restrict src, int64_t src_stride,
                                     int64_t rows, int64_t cols)
{
    if (FC_FN(fast_transpose)(dst, dst_stride, src, src_stride, 1, rows, cols))
        return;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            dst[j * dst_stride + i] = src[i * src_stride + j];
}

/* One tap's B operand: x_t's pixels that the tap's valid outputs read. Column j is valid
 * output row j / run, valid column j % run / N, image j % N; it reads x_t at
 * first + (j / run) * row_step + (j % run / N) * column_step + j % N in channel 0, and
 * channel k's value `channel_offsets[k]` (k * N) further. */
typedef struct {
    const real *x_t;
    const int64_t *channel_offsets;
    int64_t N, run, first, row_step, column_step;
} FC_FN(tapwise_source);

/* Where column j's values lie in x_t's first channel. */
static inline int64_t FC_FN(tapwise_column)(const FC_FN(tapwise_source) *src, int64_t j)
{
    return src->first + j / src->run * src->row_step + j % src->run / src->N * src->column_step
           + j % src->N;
}

/* dst: packed B block OUT (columns first.., depth = channels k0..);  source: tapwise_source
 * IN. Each sliver's columns are cut once into runs of adjacent images; then every channel
 * is a copy of each run. */
FC_INLINE_COPIES static void FC_FN(tapwise_pack)(real *restrict dst, const void *source,
                                                 int64_t first, int64_t count, int64_t k0,
                                                 int64_t depth, int64_t R)
{
    enum { MAX_RUNS = 32 };   /* a longer sliver is done in several passes */
    const FC_FN(tapwise_source) *src = (const FC_FN(tapwise_source) *)source;
    for (int64_t t = 0; t < count;) {
        const int64_t sliver = t / R, sliver_end = (sliver + 1) * R < count ? (sliver + 1) * R : count;
        int64_t run_to[MAX_RUNS], run_from[MAX_RUNS], run_len[MAX_RUNS];
        int runs = 0;
        for (; t < sliver_end && runs < MAX_RUNS; runs++) {
            const int64_t j = first + t, image = j % src->N;
            const int64_t len = src->N - image < sliver_end - t ? src->N - image : sliver_end - t;
            run_to[runs] = t - sliver * R;
            run_from[runs] = FC_FN(tapwise_column)(src, j);
            run_len[runs] = len;
            t += len;
        }
        real *restrict block = dst + sliver * depth * R;
        for (int64_t k = 0; k < depth; k++) {
            const real *restrict channel = src->x_t + src->channel_offsets[k0 + k];
            real *restrict d = block + k * R;
            for (int r = 0; r < runs; r++)
                for (int64_t i = 0; i < run_len[r]; i++)
                    d[run_to[r] + i] = channel[run_from[r] + i];
        }
    }
    if (count % R) {
        real *restrict block = dst + (count / R) * depth * R;
        for (int64_t k = 0; k < depth; k++)
            for (int64_t r = count % R; r < R; r++)
                block[k * R + r] = 0;
    }
}

/* The engine's viewer (gemm.h) of a tapwise_source: a sliver whose two halves each lie in
 * one run of adjacent images (a batch of 32, 64, .. images: every sliver) is read in place. */
static int FC_FN(tapwise_view)(const void *source, int64_t first, int64_t count, int64_t k0,
                               int64_t R, const real **left, const real **right,
                               const int64_t **offsets)
{
    const FC_FN(tapwise_source) *src = (const FC_FN(tapwise_source) *)source;
    const int64_t half = R / 2;
    if (count != R || R % 2 || first % src->N + half > src->N ||
        (first + half) % src->N + half > src->N)
        return 0;
    *left = src->x_t + FC_FN(tapwise_column)(src, first);
    *right = src->x_t + FC_FN(tapwise_column)(src, first + half);
    *offsets = src->channel_offsets + k0;
    return 1;
}

/* y_t (OC, OH, OW, N) OUT = the convolution of x_t (H, W, C, N) IN with w_t (OC, KH*KW, C)
 * IN (tap-major filters; with flip_taps, tap t's filters are w_t's tap KH*KW-1-t), geometry
 * from s (C, H, W, OC, KH, KW, OH, OW, strides, padding; dilation 1). Every element of y_t
 * is written. */
static void FC_FN(tapwise_sum)(real *restrict y_t, const real *restrict x_t,
                               const real *restrict w_t, int flip_taps, const conv_shape *s,
                               int64_t N, int num_threads)
{
    const int64_t T = s->KH * s->KW, C = s->C, OC = s->OC, pixel = C * N;
    int64_t *channel_offsets = malloc((size_t)C * sizeof *channel_offsets);
    if (!channel_offsets)
        abort();  /* a small table could not be had: nothing sensible is left to do in C */
    for (int64_t c = 0; c < C; c++)
        channel_offsets[c] = c * N;
    const int64_t out_plane = s->OH * s->OW * N;
    /* the tap that covers every output, if any, goes first and writes */
    int64_t first_tap = -1;
    for (int64_t t = 0; t < T && first_tap < 0; t++) {
        int64_t oh_first, oh_end, ow_first, ow_end;
        valid_outputs(t / s->KW - s->pad_top, s->stride_h, s->H, s->OH, &oh_first, &oh_end);
        valid_outputs(t % s->KW - s->pad_left, s->stride_w, s->W, s->OW, &ow_first, &ow_end);
        if (oh_end - oh_first == s->OH && ow_end - ow_first == s->OW)
            first_tap = t;
    }
    if (first_tap < 0)
        for (int64_t i = 0; i < OC * out_plane; i++)
            y_t[i] = 0;

    for (int64_t step = 0; step < T; step++) {
        /* taps in the order first_tap, then the others in increasing t */
        const int64_t t = first_tap < 0 ? step
                          : step == 0 ? first_tap : step - (step <= first_tap);
        const int64_t offset_h = t / s->KW - s->pad_top, offset_w = t % s->KW - s->pad_left;
        int64_t oh_first, oh_end, ow_first, ow_end;
        valid_outputs(offset_h, s->stride_h, s->H, s->OH, &oh_first, &oh_end);
        valid_outputs(offset_w, s->stride_w, s->W, s->OW, &ow_first, &ow_end);
        const int64_t rows = oh_end - oh_first, columns = ow_end - ow_first;
        if (rows == 0 || columns == 0)
            continue;
        const FC_FN(tapwise_source) pixels = {
            x_t, channel_offsets, N, columns * N,
            ((oh_first * s->stride_h + offset_h) * s->W + ow_first * s->stride_w + offset_w) * pixel,
            s->stride_h * s->W * pixel, s->stride_w * pixel };
        const FC_FN(fc_matrix) filters = { w_t + (flip_taps ? T - 1 - t : t) * C, T * C, 1 };
        const FC_FN(fc_epilogue) epilogue = {
            .c = y_t + (oh_first * s->OW + ow_first) * N, .ldc = out_plane,
            .accumulate = !(step == 0 && first_tap >= 0),
            .col_block = columns * N, .col_block_stride = s->OW * N };
        FC_FN(fc_gemm_viewed)(OC, rows * columns * N, C, FC_FN(fc_pack_rows), &filters,
                              FC_FN(tapwise_pack), FC_FN(tapwise_view), &pixels, &epilogue,
                              num_threads);
    }
    free(channel_offsets);
}

/* The tap-wise forward (what conv2d_forward runs where use_tapwise says so; exposed for
 * tests). out: (N, OC, OH, OW) OUT;  x: (N, C, H, W) IN;  w: (OC, C, KH, KW) IN;  bias: (OC,)
 * IN or NULL;  relu as conv2d_forward. groups and dilation must be 1. */
void FC_FN(conv2d_forward_tapwise)(real *restrict out, const real *restrict x,
                                   const real *restrict w, const real *restrict bias, int relu,
                                   int64_t N, int64_t C, int64_t H, int64_t W,
                                   int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                   int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                   int64_t pad_left, int num_threads)
{
    conv_shape s;
    conv_tap *table = conv_shape_init(&s, C, H, W, OC, KH, KW, OH, OW, stride_h, stride_w,
                                     pad_top, pad_left, 1, 1, 1);
    const int64_t T = KH * KW, HW = H * W, P = OH * OW;
    real *x_t, *w_t, *y_t;
    FC_FN(tapwise_buffers)(&x_t, C * HW * N, &w_t, OC * T * C, &y_t, OC * P * N);
    if (!table)
        abort();  /* a small table could not be had: nothing sensible is left to do in C */
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t c = 0; c < C; c++)
        FC_FN(tapwise_transpose)(x_t + c * N, C * N, x + c * HW, C * HW, N, HW);
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t oc = 0; oc < OC; oc++)
        FC_FN(tapwise_transpose)(w_t + oc * T * C, C, w + oc * C * T, T, C, T);
    FC_FN(tapwise_sum)(y_t, x_t, w_t, 0, &s, N, num_threads);
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t oc = 0; oc < OC; oc++) {
        real *restrict plane = y_t + oc * P * N;
        if (bias)
            for (int64_t i = 0; i < P * N; i++)
                plane[i] += bias[oc];
        if (relu)
            for (int64_t i = 0; i < P * N; i++)
                plane[i] = plane[i] > 0 || plane[i] != plane[i] ? plane[i] : 0;
        FC_FN(tapwise_transpose)(out + oc * P, OC * P, plane, N, P, N);
    }
    free(table);
}

/* The tap-wise backward-data at stride 1: the forward convolution of grad_out with the
 * filters transposed and flipped, padded so that the output is H x W (as
 * conv2d_backward_data's stride-1 form), the transposed filters in the tap-major layout.
 * grad_x: (N, C, H, W) OUT;  grad_out: (N, OC, OH, OW) IN;  w: (OC, C, KH, KW) IN.
 * groups, dilation and strides must be 1. */
void FC_FN(conv2d_backward_data_tapwise)(real *restrict grad_x, const real *restrict grad_out,
                                         const real *restrict w,
                                         int64_t N, int64_t C, int64_t H, int64_t W,
                                         int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                         int64_t pad_top, int64_t pad_left, int num_threads)
{
    /* the transposed convolution: input grad_out (OC channels, OH x OW), output H x W */
    conv_shape s;
    conv_tap *table = conv_shape_init(&s, OC, OH, OW, C, KH, KW, H, W, 1, 1,
                                     KH - 1 - pad_top, KW - 1 - pad_left, 1, 1, 1);
    const int64_t T = KH * KW, HW = H * W, P = OH * OW;
    real *g_t, *w_t, *x_t;
    FC_FN(tapwise_buffers)(&g_t, OC * P * N, &w_t, C * T * OC, &x_t, C * HW * N);
    if (!table)
        abort();  /* a small table could not be had: nothing sensible is left to do in C */
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t oc = 0; oc < OC; oc++)
        FC_FN(tapwise_transpose)(g_t + oc * N, OC * N, grad_out + oc * P, OC * P, N, P);
    /* w_t[c][t][oc] = w[oc][c][t]: w as an OC x C*T matrix, transposed in row blocks; the
     * taps are flipped by tapwise_sum reading tap T-1-t for t */
    enum { OC_BLOCKS = 8 };
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t block = 0; block < OC_BLOCKS; block++) {
        const int64_t oc0 = OC * block / OC_BLOCKS, oc_end = OC * (block + 1) / OC_BLOCKS;
        FC_FN(tapwise_transpose)(w_t + oc0, OC, w + oc0 * C * T, C * T, oc_end - oc0, C * T);
    }
    FC_FN(tapwise_sum)(x_t, g_t, w_t, 1, &s, N, num_threads);
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t c = 0; c < C; c++)
        FC_FN(tapwise_transpose)(grad_x + c * HW, C * HW, x_t + c * HW * N, N, HW, N);
    free(table);
}

/* Backward-weight's operands, tap by tap: a tensor channels last, (images, pixels, ld), read
 * at the pixels of one tap's valid outputs (or at the input pixels they read). Step k of the
 * reduction is image k / (rows * columns), valid row k / columns % rows, valid column
 * k % columns: pixel first + image * image_step + row * row_step + column * column_step.
 * The packed lines of step k are `ld`-adjacent values of that pixel, so the one packer
 * serves grad_out (lines: output channels) as A and x (lines: input channels) as B. */
typedef struct {
    const real *data;
    int64_t ld, rows, columns, first, image_step, row_step, column_step;
} FC_FN(tapwise_pixels);

/* dst: packed block OUT (lines first.. of the channels, depth = steps k0..);  source:
 * tapwise_pixels IN. */
FC_INLINE_COPIES static void FC_FN(tapwise_pack_pixels)(real *restrict dst, const void *source,
                                                        int64_t first, int64_t count,
                                                        int64_t k0, int64_t depth, int64_t R)
{
    const FC_FN(tapwise_pixels) *src = (const FC_FN(tapwise_pixels) *)source;
    const int64_t per_image = src->rows * src->columns;
    for (int64_t k = 0; k < depth; k++) {
        const int64_t step = k0 + k, in_image = step % per_image;
        const real *restrict line = src->data + first + src->ld *
            (src->first + step / per_image * src->image_step
             + in_image / src->columns * src->row_step + in_image % src->columns * src->column_step);
        for (int64_t sl = 0; sl * R < count; sl++) {
            const int64_t lines = count - sl * R < R ? count - sl * R : R;
            real *restrict d = dst + (sl * depth + k) * R;
            for (int64_t r = 0; r < lines; r++)
                d[r] = line[sl * R + r];
            for (int64_t r = lines; r < R; r++)
                d[r] = 0;
        }
    }
}

/* The tap-wise backward-weight (what conv2d_backward_weight runs where use_tapwise says so;
 * exposed for tests): per tap, grad_w[:, :, tap] = grad_out (OC x steps) * x (steps x C)
 * over the steps (image, valid output pixel) of that tap alone, both staged channels last.
 * grad_w: (OC, C, KH, KW) OUT;  grad_out: (N, OC, OH, OW) IN;  x: (N, C, H, W) IN.
 * groups and dilation must be 1. No bias gradient (conv2d_backward_bias gives it).
 * Extra memory, in the calling thread's workspaces: x and grad_out channels last
 * (N*H*W*C and N*OH*OW*OC values) and grad_w tap-major (OC*KH*KW*C). */
void FC_FN(conv2d_backward_weight_tapwise)(real *restrict grad_w, const real *restrict grad_out,
                                           const real *restrict x,
                                           int64_t N, int64_t C, int64_t H, int64_t W,
                                           int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                           int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                           int64_t pad_left, int num_threads)
{
    const int64_t T = KH * KW, HW = H * W, P = OH * OW;
    real *g_cl, *gw_t, *x_cl;
    FC_FN(tapwise_buffers)(&g_cl, N * P * OC, &gw_t, OC * T * C, &x_cl, N * HW * C);
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t n = 0; n < N; n++) {
        FC_FN(to_channels_last)(x_cl + n * HW * C, x + n * C * HW, C, HW, HW);
        FC_FN(to_channels_last)(g_cl + n * P * OC, grad_out + n * OC * P, OC, P, P);
    }
    for (int64_t t = 0; t < T; t++) {
        const int64_t offset_h = t / KW - pad_top, offset_w = t % KW - pad_left;
        int64_t oh_first, oh_end, ow_first, ow_end;
        valid_outputs(offset_h, stride_h, H, OH, &oh_first, &oh_end);
        valid_outputs(offset_w, stride_w, W, OW, &ow_first, &ow_end);
        const int64_t rows = oh_end - oh_first, columns = ow_end - ow_first;
        const FC_FN(fc_epilogue) epilogue = { .c = gw_t + t * C, .ldc = T * C };
        const FC_FN(tapwise_pixels) gradients = {
            g_cl, OC, rows, columns, oh_first * OW + ow_first, P, OW, 1 };
        const FC_FN(tapwise_pixels) inputs = {
            x_cl, C, rows, columns,
            (oh_first * stride_h + offset_h) * W + ow_first * stride_w + offset_w,
            HW, stride_h * W, stride_w };
        /* a tap that reads nothing but padding has an empty sum: the engine writes zeros */
        FC_FN(fc_gemm)(OC, C, N * rows * columns, FC_FN(tapwise_pack_pixels), &gradients,
                       FC_FN(tapwise_pack_pixels), &inputs, &epilogue, num_threads);
    }
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t oc = 0; oc < OC; oc++)
        FC_FN(tapwise_transpose)(grad_w + oc * C * T, T, gw_t + oc * T * C, C, T, C);
}
