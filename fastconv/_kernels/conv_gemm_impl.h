/* Convolution as GEMM on fastconv's engine (gemm.h), over `real`. Per image n and group g,
 * with K_g = C/groups*KH*KW taps and P = OH*OW pixels:
 *   forward          out_ng (OC_g x P)   = w_g (OC_g x K_g) * im2col(x_ng) (K_g x P)
 *   backward-data    dcol  (K_g x P)     = w_g^T * grad_out_ng, scattered into grad_x (col2im),
 *                    or at stride 1 the forward convolution of grad_out with flipped filters
 *   backward-weight  dw_g  (OC_g x K_g)  = grad_out_g (OC_g x N*P) * im2col(x_g)^T
 * Every result is a function of the shapes alone: the engine gives the same bits for any
 * thread count, and the work is cut into tasks by rules that never look at num_threads
 * (they only decide who runs a task), so any thread count gives the same bits.
 * Layers with tiny filters per group take the direct kernels instead (use_direct below).
 * Small images are batched: one GEMM covers several images' pixels (images_per_gemm).
 */

/* A layer whose GEMMs would be too thin to pay for packing: depthwise-like groups (few
 * output channels per group: the engine's MR-row tiles would be mostly padding) or very
 * short reductions (few taps per group: each tile is written back after a handful of FMAs). */
static inline int FC_FN(use_direct)(const conv_shape *s)
{
    return s->out_per_group < 4 || s->in_per_group * s->KH * s->KW < 4;
}

/* Images per GEMM for forward and backward-data: one when an image has pixels enough for
 * wide GEMMs, else enough images for about 1024 columns, so that the filters packed for
 * a GEMM serve many pixels (small late-layer images would repack them for every few dozen). */
static inline int64_t FC_FN(images_per_gemm)(int64_t N, int64_t P)
{
    const int64_t images = (1024 + P - 1) / P;
    return images < N ? images : N;
}

/* One forward GEMM's inputs: task = run * groups + g, over images_per_run images. */
typedef struct {
    real *out;
    const real *x, *w, *bias;
    int relu, plain;
    int64_t N, groups, images_per_run;
    /* what conv_pack_im2col reads (see inbounds_source): x itself when phase_h == 0, else
     * each task's images in phases of phase_h x phase_w (conv_phase_input), read at stride
     * 1 as the geometry `phased` says */
    int64_t phase_h, phase_w;
    const int64_t *tap_offsets;
    const conv_shape *s, *phased;
} FC_FN(forward_job);

/* A forward run's phase planes (conv_phase_input over the group's channels), shared out by
 * channels when the run has threads of its own (a batch too small to spread whole tasks):
 * run by the calling thread alone, the staging kept the others waiting (ResNet-18's 64 ->
 * 128 stride-2 layer at batch 1 and 2 threads: ~40% of the calling thread's samples).
 * Shared, at 2 threads (alternating, same bits): ResNet-18's batch-1 strided layers 0.80-
 * 0.95x the time, its padded 3x3 ones 0.93-0.95x, the whole batch-1 inference 0.97x. */
static void FC_FN(stage_phases)(real *restrict phased, const real *restrict x, int64_t images,
                                const conv_shape *s, int64_t phase_h, int64_t phase_w,
                                int threads)
{
    const int64_t channels = s->in_per_group, image_stride = s->C * s->H * s->W;
    if (threads <= 1 || channels <= 1) {  /* also inside a team: no nested region */
        FC_FN(conv_phase_input)(phased, x, images, channels, 0, channels, image_stride, s,
                                phase_h, phase_w);
        return;
    }
    #pragma omp parallel num_threads(threads)
    {
        int64_t first, end;
        fc_thread_share(channels, &first, &end);
        FC_FN(conv_phase_input)(phased, x, images, channels, first, end, image_stride, s,
                                phase_h, phase_w);
    }
}

static void FC_FN(forward_task)(const FC_FN(forward_job) *job, int64_t task, int engine_threads)
{
    const conv_shape *s = job->s;
    const int64_t run = task / job->groups, g = task % job->groups;
    const int64_t taps = s->in_per_group * s->KH * s->KW, P = s->OH * s->OW;
    const int64_t n0 = run * job->images_per_run;
    const int64_t images = job->N - n0 < job->images_per_run ? job->N - n0 : job->images_per_run;
    const int64_t rows = s->out_per_group;
    const real *x_ng = job->x + (n0 * s->C + g * s->in_per_group) * s->H * s->W;
    real *out_ng = job->out + (n0 * s->OC + g * rows) * P;
    const real *bias = job->bias ? job->bias + g * rows : NULL;
    const FC_FN(fc_matrix) weights = { job->w + g * rows * taps, taps, 1 };
    FC_FN(inbounds_source) columns = { x_ng, s->C * s->H * s->W, s->W, job->tap_offsets, s };
    if (job->phase_h) {
        const int64_t image = s->in_per_group * s->stride_h * s->stride_w * job->phase_h
                              * job->phase_w;
        real *phased = fc_workspace(WORKSPACE_PADDED_INPUT, (size_t)(images * image) * sizeof(real));
        if (!phased)
            abort();  /* one run of images could not be had: nothing sensible is left to do in C */
        FC_FN(stage_phases)(phased, x_ng, images, s, job->phase_h, job->phase_w,
                            engine_threads);
        columns = (FC_FN(inbounds_source)){ phased, image, job->phase_w, job->tap_offsets,
                                            job->phased };
    }
    /* out_ng's images as column blocks of one product, bias and ReLU in the write-back;
     * a plain layer's one image is a plain matrix */
    const int plain = job->plain && images == 1;
    const FC_FN(fc_matrix) pixels = { x_ng, s->H * s->W, 1 };
    const FC_FN(fc_epilogue) epilogue = {
        .c = out_ng, .ldc = P, .row_bias = bias, .relu = job->relu,
        .col_block = P, .col_block_stride = s->OC * P };
    FC_FN(fc_gemm_viewed)(rows, images * P, taps, FC_FN(fc_pack_rows), &weights,
                          plain ? FC_FN(fc_pack_cols) : FC_FN(conv_pack_im2col),
                          plain ? NULL : FC_FN(conv_view_im2col),
                          plain ? (const void *)&pixels : (const void *)&columns,
                          &epilogue, engine_threads);
}

/* Whether the forward takes the direct kernel over output-channel vectors
 * (conv_ocvec_avx512.h, float on AVX-512): one group, stride and dilation 1, padding within
 * the filter's reach, output rows shorter than 16 (where the engine packs im2col value by
 * value), and either exactly 16 output channels (16 of the engine's 28 rows of tiles: 14
 * and a partial sliver), or at most 32 input and 64 output channels, a batch, and rows that
 * waste at most a fifth of the kernel's work on the KW - 1 virtual columns it drops.
 * Measured against the GEMM (Zen 4, alternating runs; the same bits either way), with the
 * kernel's first blocks (runs of virtual pixels): LeNet-5's C3 (6 -> 16, 5x5 on 14x14)
 * 0.67x the time at 1 and 2 threads, the simple CNN's conv2 (32 -> 64, 3x3 on 13x13) 0.98x
 * at 1 thread, 0.90x at 2 (images split over threads); blocks of whole rows then took 0.87x
 * and 0.84x of that. Not taken, slower with virtual runs: 16 -> 32 and 32 -> 64 on 8x8
 * padded (1.08x, 1.17x), 32 -> 128 on 4x4 (1.21x), 48 -> 64 on 12x12 (1.02-1.3x); whole
 * rows bring the two 8x8 layers to parity with the GEMM only. */
static inline int FC_FN(use_ocvec)(const conv_shape *s, int64_t N)
{
    const int row_fit = 5 * (s->OW + s->KW - 1) <= 6 * s->OW;
    return FC_FN(has_stem_kernels)() && s->in_per_group == s->C && s->OC % 16 == 0 &&
           s->stride_h == 1 && s->stride_w == 1 && s->dilation_h == 1 && s->dilation_w == 1 &&
           s->pad_top <= s->KH - 1 && s->pad_left <= s->KW - 1 && s->OW < 16 &&
           (s->OC == 16 || (s->C <= 32 && s->OC <= 64 && N >= 8 && row_fit));
}

/* A direct forward (FC_DIRECT_FORWARD_STEM or _OCVEC) whatever the policy says, for tests
 * (groups, strides and dilation 1; pads at most K - 1; for the output-channel vectors, OC a
 * multiple of 16): returns 0, having written nothing, where its kernel does not run.
 * out: (N, OC, OH, OW) OUT;  x: (N, C, H, W) IN;  w: (OC, C, KH, KW) IN;
 * bias: (OC,) IN or NULL. */
int FC_FN(conv2d_forward_direct_simd)(int kernel, real *restrict out, const real *restrict x,
                                      const real *restrict w, const real *restrict bias,
                                      int relu, int64_t N, int64_t C, int64_t H, int64_t W,
                                      int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                      int64_t OW, int64_t pad_top, int64_t pad_left,
                                      int num_threads)
{
    const int fits = kernel == FC_DIRECT_FORWARD_STEM ? pad_top <= KH - 1 && pad_left <= KW - 1
                   : kernel == FC_DIRECT_FORWARD_OCVEC && OC % 16 == 0;
    return fits && FC_FN(direct_forward)(kernel, out, NULL, x, w, bias, relu, N, C, H, W, OC,
                                         KH, KW, OH, OW, pad_top, pad_left, num_threads);
}

/* Whether the forward takes the stems' direct kernel (conv_stem_avx512.h): stride-1
 * layers of at most 4 input channels and 32 taps, where im2col would repeat each input
 * value for every tap. Measured against the GEMM (alternating, batch 64; 1 / 2 threads):
 * the CIFAR stem (3 -> 64, 3x3) 0.83-0.88x / 0.87-0.91x the time, LeNet-5's C1 (1 -> 6,
 * 5x5 padded) 0.73x / 0.60-0.69x, the simple CNN's conv1 (1 -> 32, 3x3) 0.77-0.97x /
 * 0.89-0.92x, batch 1 at parity. Not taken: 3 -> 64 7x7 on 56x56 (147 taps), 1.05x. */
static inline int FC_FN(use_stem_forward)(const conv_shape *s)
{
    return FC_FN(has_stem_kernels)() && s->in_per_group == s->C && s->C <= 4 &&
           s->C * s->KH * s->KW <= 32 &&
           s->stride_h == 1 && s->stride_w == 1 && s->dilation_h == 1 && s->dilation_w == 1 &&
           s->pad_top <= s->KH - 1 && s->pad_left <= s->KW - 1;
}

/* Whether a layer takes the Winograd F(2x2, 3x3) convolution (conv_winograd_impl.h): 3x3
 * filters at stride and dilation 1, one group, padding at most 2 (backward-data's form of an
 * unpadded layer), 32+ channels in and out, outputs of 4x4 or more, 128+ tiles of 2x2
 * outputs over the batch. Measured against the forward as it was (bb925bf; alternating,
 * batch 64 unless said; 1 / 2 threads): 64 -> 64 on 32x32 0.73x / 0.66x the time, 128 -> 128
 * on 16x16 0.54x / 0.56x, 256 -> 256 on 8x8 0.53x / 0.56x, 512 -> 512 on 7x7 0.92x / 0.83x,
 * 64 -> 64 on 56x56 (batch 8) 0.62x / 0.64x, batch 1 0.65x / 0.63x, 128 -> 128 on 28x28
 * batch 1 0.58x / 0.54x, 32 -> 32 on 16x16 0.68x / 0.80x, the simple CNN's conv2 (32 -> 64 on
 * 13x13) 0.88x / 0.85x and its backward-data's form (64 -> 32 on 11x11 padded by 2) 0.96x /
 * 0.93x. Small images, since the filters are transformed sliver by sliver and V's rows
 * padded (against the direct forward; batch 64 unless said): 512 -> 512 on 4x4 0.72x / 0.77x
 * (batch 32: 0.77x / 0.80x), 256 -> 256 on 4x4 (batch 32) 0.69x / 0.71x, on 5x5 0.83x /
 * 0.85x, 128 -> 128 on 4x4 0.65x / 0.68x, 64 -> 64 on 4x4 0.62x / 0.79x; backward-data's
 * form alike (0.64-0.87x). Not taken: 16 channels (16 -> 16 on 32x32 1.5x, 16 -> 32 on 16x16
 * 1.05x: short sums for the transforms to pay for), fewer tiles (256 -> 256 on 14x14 at
 * batch 1, 49 tiles: 1.10x / 0.90x; 512 -> 512 on 4x4 at batch 16, 64 tiles: 0.82x / 0.86x
 * forward but 0.85x / 1.11x backward-data: the filters' transform not amortised). */
static inline int FC_FN(use_winograd)(const conv_shape *s, int64_t N)
{
    return s->KH == 3 && s->KW == 3 && s->stride_h == 1 && s->stride_w == 1 &&
           s->dilation_h == 1 && s->dilation_w == 1 && s->in_per_group == s->C &&
           s->pad_top <= 2 && s->pad_left <= 2 && s->C >= 32 && s->OC >= 32 &&
           s->OH >= 4 && s->OW >= 4 && N * ((s->OH + 1) / 2) * ((s->OW + 1) / 2) >= 128;
}

/* Whether backward-weight takes Winograd's (conv_winograd_impl.h): the layers use_winograd
 * takes that have 64+ channels in and out, at most 256 x 256 of them, and 8x8+ outputs.
 * Measured against backward-weight as it was (bb925bf; alternating, batch 64 unless said;
 * 1 / 2 threads): 64 -> 64 on 32x32 0.69x / 0.78x the time, 128 -> 128 on 16x16 0.65x /
 * 0.68x, 256 -> 256 on 8x8 0.80x / 0.81x, 64 -> 64 on 56x56 (batch 8) 0.76x / 0.79x, batch 1
 * 0.85x / 0.85x, 128 -> 128 on 28x28 batch 1 0.89x / 0.91x. Not taken: 512 -> 512 on 7x7
 * (1.24x: the sums of 16 x 512 x 512 per chunk outweigh the multiplies saved), the simple
 * CNN's conv2 (32 -> 64 on 13x13: 1.13x / 1.05x against its direct kernel), 32 -> 32 on
 * 16x16 (1.01x). */
static inline int FC_FN(use_winograd_weight)(const conv_shape *s, int64_t N)
{
    return FC_FN(use_winograd)(s, N) && s->C >= 64 && s->OC >= 64 && s->C * s->OC <= 256 * 256 &&
           s->OH >= 8 && s->OW >= 8;
}

/* max_pool2d(relu(conv2d(x, w, bias)), 2x2 windows, stride 2, floor mode) in one pass
 * where a direct forward (use_stem_forward, use_ocvec) or Winograd's runs, without writing the
 * convolution's output to memory;
 * returns 0, having written nothing, elsewhere (the caller then runs the two steps).
 * pooled, indices: (N, OC, OH / 2, OW / 2) OUT, indices flat in the OH x OW plane, as
 * max_pool2d gives them;  x: (N, C, H, W) IN;  w: (OC, C/groups, KH, KW) IN;  bias: (OC,)
 * IN or NULL. Measured against the two steps (alternating, batch 64, 1 / 2 threads): the
 * simple CNN's conv1 (1 -> 32, 3x3 on 28x28) 1.13 -> 0.60 / 0.92 -> 0.40 ms and conv2
 * (32 -> 64, 3x3 on 13x13) 4.35 -> 3.59 / 2.73 -> 2.04 ms, LeNet-5's C1 (1 -> 6, 5x5
 * padded) 0.35 -> 0.23 / 0.43 -> 0.19 ms and C3 (6 -> 16, 5x5 on 14x14) 0.71 -> 0.52 /
 * 0.52 -> 0.31 ms, the CIFAR stem 4.5 -> 3.4 / 3.6 -> 2.4 ms: the pool no longer reads the
 * convolution's output back, nor does the forward write it out; the simple CNN's training
 * step 0.89x / 0.88x the time with both layers pooled in one pass. */
int FC_FN(conv2d_forward_relu_max_pool)(real *restrict pooled, int64_t *restrict indices,
                                        const real *restrict x, const real *restrict w,
                                        const real *restrict bias,
                                        int64_t N, int64_t C, int64_t H, int64_t W,
                                        int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                        int64_t OW, int64_t stride_h, int64_t stride_w,
                                        int64_t pad_top, int64_t pad_left, int64_t dilation_h,
                                        int64_t dilation_w, int64_t groups, int num_threads)
{
    conv_shape s;
    conv_tap *table = conv_shape_init(&s, C, H, W, OC, KH, KW, OH, OW, stride_h, stride_w,
                                     pad_top, pad_left, dilation_h, dilation_w, groups);
    const int winograd = table && FC_FN(use_winograd)(&s, N);
    const int direct = table && !winograd && !FC_FN(use_direct)(&s) && OH * OW <= INT32_MAX;
    const int kernel = !direct ? -1
                     : FC_FN(use_stem_forward)(&s) ? FC_DIRECT_FORWARD_STEM
                     : FC_FN(use_ocvec)(&s, N) ? FC_DIRECT_FORWARD_OCVEC : -1;
    free(table);
    if (winograd)
        return FC_FN(conv2d_winograd)(pooled, indices, x, w, 0, bias, 1, N, C, H, W, OC, OH, OW,
                                      pad_top, pad_left, num_threads);
    return kernel >= 0 &&
           FC_FN(direct_forward)(kernel, pooled, indices, x, w, bias, 1, N, C, H, W, OC, KH,
                                 KW, OH, OW, pad_top, pad_left, num_threads);
}

/* Whether backward-weight takes the direct kernel over output-channel vectors
 * (conv_ocvec_avx512.h): stride-1 layers of at most 64 output channels on images of 64+
 * output pixels, where the GEMM packs im2col(x) and uses each packed value for at most 64
 * output channels' multiply-adds. Measured against the GEMM (alternating, batch 64 unless
 * said): LeNet-5's C3 (6 -> 16, 5x5 on 14x14) 0.47x the time at 1 and 2 threads, 16 -> 16
 * 5x5 padded on 8x8 0.42x, the simple CNN's conv2 (32 -> 64, 3x3 on 13x13) 0.89x (1
 * thread) / 0.84x (2), 16 -> 32 on 8x8 0.75x / 0.60x, 32 -> 64 on 8x8 0.94x, 48 -> 64 on
 * 12x12 0.91x / 0.85x, 64 -> 32 on 16x16 0.85x, 256 -> 64 on 8x8 0.93x, 64 -> 64 on 32x32
 * 0.97x / 0.94x, on 56x56 (batch 8) 0.97x / 0.86x, batch 1 on 32x32 0.92x. Not taken,
 * slower: 128 -> 128 on 8x8 (1.06x), 32 -> 128 on 4x4 (1.30x), 512 -> 512 on 4x4 (1.9x):
 * with many channels the GEMM runs near the FMA limit, and a 4x4 image gives each block of
 * taps 16 pixels to amortise its sums over. */
static inline int FC_FN(use_ocvec_weight)(const conv_shape *s)
{
    return FC_FN(has_stem_kernels)() && s->in_per_group == s->C && s->OC % 16 == 0 &&
           s->OC <= 64 && s->OH * s->OW >= 64 && (s->KW == 3 || s->KW == 5) &&
           s->stride_h == 1 && s->stride_w == 1 && s->dilation_h == 1 && s->dilation_w == 1 &&
           s->pad_top <= s->KH - 1 && s->pad_left <= s->KW - 1;
}

/* The backward-weight over output-channel vectors whatever the policy says, for tests:
 * returns 0, having written nothing, where its kernel does not run. grad_w: (OC, C, KH, KW)
 * OUT;  grad_out: (N, OC, OH, OW) IN;  x: (N, C, H, W) IN. */
int FC_FN(conv2d_backward_weight_ocvec)(real *restrict grad_w, const real *restrict grad_out,
                                        const real *restrict x, int64_t N, int64_t C,
                                        int64_t H, int64_t W, int64_t OC, int64_t KH,
                                        int64_t KW, int64_t OH, int64_t OW, int64_t pad_top,
                                        int64_t pad_left, int num_threads)
{
    return OC % 16 == 0 && (KW == 3 || KW == 5) && pad_top <= KH - 1 && pad_left <= KW - 1 &&
           FC_FN(ocvec_weight)(grad_w, grad_out, x, N, C, H, W, OC, KH, KW, OH, OW, pad_top,
                               pad_left, num_threads);
}

/* out: (N, OC, OH, OW) OUT;  x: (N, C, H, W) IN;  w: (OC, C/groups, KH, KW) IN;
 * bias: (OC,) IN or NULL;  relu: 1 to return max(0, conv + bias) (NaN kept), fused into
 * the write-back.
 * Extra memory, per thread running a task (a workspace kept across calls): for a layer that
 * reads padding or has strides, one run of images in phases, images_per_gemm * C/groups *
 * stride_h * ceil(reach_h / stride_h) * stride_w * ceil(reach_w / stride_w) values, reach_h =
 * (OH-1)*stride_h + (KH-1)*dilation_h + 1 and reach_w alike; the tap table (C/groups * KH *
 * KW offsets) per call. */
void FC_FN(conv2d_forward)(real *restrict out, const real *restrict x, const real *restrict w,
                           const real *restrict bias, int relu,
                           int64_t N, int64_t C, int64_t H, int64_t W,
                           int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                           int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                           int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
{
    conv_shape s;
    conv_tap *table = conv_shape_init(&s, C, H, W, OC, KH, KW, OH, OW, stride_h, stride_w,
                                     pad_top, pad_left, dilation_h, dilation_w, groups);
    const int64_t taps = s.in_per_group * KH * KW;
    int64_t *tap_offsets = table ? malloc((size_t)taps * sizeof(int64_t)) : NULL;
    if (!tap_offsets || FC_FN(use_direct)(&s)) {
        FC_FN(conv2d_forward_depthwise)(out, x, w, bias, relu, N, C, H, W, OC, KH, KW, OH, OW,
                                        stride_h, stride_w, pad_top, pad_left,
                                        dilation_h, dilation_w, groups, num_threads);
        free(tap_offsets);
        free(table);
        return;
    }
    if (FC_FN(use_stem_forward)(&s) &&
        FC_FN(direct_forward)(FC_DIRECT_FORWARD_STEM, out, NULL, x, w, bias, relu, N, C, H, W,
                              OC, KH, KW, OH, OW, pad_top, pad_left, num_threads)) {
        free(tap_offsets);
        free(table);
        return;
    }
    if (FC_FN(use_winograd)(&s, N) &&
        FC_FN(conv2d_winograd)(out, NULL, x, w, 0, bias, relu, N, C, H, W, OC, OH, OW, pad_top,
                               pad_left, num_threads)) {
        free(tap_offsets);
        free(table);
        return;
    }
    if (FC_FN(use_ocvec)(&s, N) &&
        FC_FN(direct_forward)(FC_DIRECT_FORWARD_OCVEC, out, NULL, x, w, bias, relu, N, C, H, W,
                              OC, KH, KW, OH, OW, pad_top, pad_left, num_threads)) {
        free(tap_offsets);
        free(table);
        return;
    }
    if (FC_FN(use_tapwise)(&s, N)) {
        free(tap_offsets);
        free(table);
        FC_FN(conv2d_forward_tapwise)(out, x, w, bias, relu, N, C, H, W, OC, KH, KW, OH, OW,
                                      stride_h, stride_w, pad_top, pad_left, num_threads);
        return;
    }
    /* 1x1, stride 1, no padding: im2col(x) is x itself, a (C/groups x H*W) matrix. */
    const int plain = KH == 1 && KW == 1 && stride_h == 1 && stride_w == 1 &&
                      pad_top == 0 && pad_left == 0;
    /* x is read in place when no tap reads padding and the strides are 1, else from
     * phase planes (conv_phase_input), where the taps read at stride 1 */
    int64_t phase_h, phase_w;
    const int phased = conv_tap_offsets(&s, tap_offsets, &phase_h, &phase_w);
    conv_shape phased_shape = s;
    phased_shape.stride_h = phased_shape.stride_w = 1;
    const int64_t images_per_run = FC_FN(images_per_gemm)(N, OH * OW);
    const FC_FN(forward_job) job = { out, x, w, bias, relu, plain, N, groups, images_per_run,
                                     phased ? phase_h : 0, phase_w, tap_offsets, &s,
                                     &phased_shape };
    const int64_t tasks = (N + images_per_run - 1) / images_per_run * groups;
    if (spread_tasks(tasks, num_threads)) {
        #pragma omp parallel for num_threads(num_threads) schedule(static)
        for (int64_t task = 0; task < tasks; task++)
            FC_FN(forward_task)(&job, task, 1);
    } else {
        for (int64_t task = 0; task < tasks; task++)
            FC_FN(forward_task)(&job, task, num_threads);
    }
    free(tap_offsets);
    free(table);
}

/* How many input channels of a group one backward-data GEMM covers when there are few runs
 * of images: a fixed share, so an image splits into several independent tasks (col2im of
 * different channels never meets) for batch-1 threading, with about 192+ rows per GEMM to
 * amortise packing grad_out. */
static inline int64_t FC_FN(channels_per_task)(const conv_shape *s)
{
    const int64_t taps = s->KH * s->KW, rows = s->in_per_group * taps;
    int64_t chunks = 1;
    while (chunks * 192 < rows && chunks < s->in_per_group)
        chunks *= 2;
    return (s->in_per_group + chunks - 1) / chunks;
}

/* The filters of backward-data's stride-1 form: input and output channels swapped within
 * each group, taps reversed. flipped: (groups * in_per_group, out_per_group, taps) OUT;
 * w: (groups * out_per_group, in_per_group, taps) IN. Done in 16 x 16 channel blocks: one
 * side of the swap walks channels `taps * channels` apart, which for 512 channels of 3x3
 * filters (18 KiB, a multiple of 2 KiB) maps every line to the same few cache sets
 * (measured: 512->512 4x4 backward-data 0.94x the time of the channel-by-channel loop). */
static void FC_FN(flip_filters)(real *restrict flipped, const real *restrict w, int64_t groups,
                                int64_t out_per_group, int64_t in_per_group, int64_t taps)
{
    enum { BLOCK = 16 };
    for (int64_t g = 0; g < groups; g++)
        for (int64_t oc0 = 0; oc0 < out_per_group; oc0 += BLOCK)
            for (int64_t c0 = 0; c0 < in_per_group; c0 += BLOCK) {
                const int64_t oc_end = oc0 + BLOCK < out_per_group ? oc0 + BLOCK : out_per_group;
                const int64_t c_end = c0 + BLOCK < in_per_group ? c0 + BLOCK : in_per_group;
                for (int64_t c = c0; c < c_end; c++)
                    for (int64_t oc = oc0; oc < oc_end; oc++)
                        for (int64_t k = 0; k < taps; k++)
                            flipped[((g * in_per_group + c) * out_per_group + oc) * taps + k] =
                                w[((g * out_per_group + oc) * in_per_group + c) * taps
                                  + taps - 1 - k];
            }
}

/* Whether backward-data takes the stems' direct kernel (conv_stem_avx512.h, float on
 * AVX-512): one group, stride and dilation 1, rows of 8+ values, and either at most 3 input
 * channels (stems), or 6 to 24 over at most 16 output channels with at least 35% of the
 * kernel's multiply-adds useful (fc_stem_data_useful_share): there the GEMMs reduce over
 * 16 output channels or fewer per tile, and col2im scatters every tile.
 * Measured against the GEMM forms (Zen 4, 1 thread, alternating runs): CIFAR stem 8.1 ->
 * 4.0 ms, simple CNN conv1 2.0-2.5 -> 1.0-1.1 ms; LeNet-5's C3 (6 -> 16, 5x5 on 14x14)
 * 1.21 -> 0.91 ms, 6 -> 16 5x5 padded 2 on 28x28 6.2 -> 3.3 ms, 16 and 24 -> 16 3x3 on 14x14
 * 0.79x and 0.83x the time. Not taken, slower than the GEMMs: 4 -> 8 and 4 -> 64 channels
 * (1.28x, 1.36x), 32 -> 64 (1.7x), 64 -> 16 on 8x8 (2.0x), 16 -> 16 5x5 unpadded on 10x10
 * (14% useful: 1.59x), 6 -> 32 5x5 unpadded on 14x14 (1.09x). */
static inline int FC_FN(use_stem_data)(const conv_shape *s)
{
    const int stem = s->C <= 3;
    const int few_outputs = s->C >= 6 && s->C <= 24 && s->OC <= 16 &&
                            fc_stem_data_useful_share(s->H, s->W, s->OH, s->OW) >= 0.35;
    return FC_FN(has_stem_kernels)() && s->in_per_group == s->C && (stem || few_outputs) &&
           s->stride_h == 1 && s->stride_w == 1 && s->dilation_h == 1 && s->dilation_w == 1 &&
           s->W >= 8;
}

/* The stems' backward-data whatever the policy says, for tests (groups, strides and
 * dilation 1): returns 0, having written nothing, where its kernel does not run.
 * grad_x: (N, C, H, W) OUT;  grad_out: (N, OC, OH, OW) IN;  w: (OC, C, KH, KW) IN. */
int FC_FN(conv2d_backward_data_stem)(real *restrict grad_x, const real *restrict grad_out,
                                     const real *restrict w, int64_t N, int64_t C, int64_t H,
                                     int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                     int64_t OW, int64_t pad_top, int64_t pad_left,
                                     int num_threads)
{
    return FC_FN(stem_data)(grad_x, grad_out, w, N, C, H, W, OC, KH, KW, OH, OW, pad_top,
                            pad_left, num_threads);
}

/* grad_x: (N, C, H, W) OUT;  grad_out: (N, OC, OH, OW) IN;  w: (OC, C/groups, KH, KW) IN.
 * Tasks are (run of images, group, channel chunk); each zeroes its own grad_x planes and
 * runs one GEMM on one thread whose store scatter-adds into them (several tiles reach the
 * same element), so no two threads ever write the same element and each element's
 * additions follow the engine's fixed order. */
void FC_FN(conv2d_backward_data)(real *restrict grad_x, const real *restrict grad_out,
                                 const real *restrict w,
                                 int64_t N, int64_t C, int64_t H, int64_t W,
                                 int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                 int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                 int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
{
    conv_shape s;
    conv_tap *table = conv_shape_init(&s, C, H, W, OC, KH, KW, OH, OW, stride_h, stride_w,
                                     pad_top, pad_left, dilation_h, dilation_w, groups);
    if (!table || FC_FN(use_direct)(&s)) {
        FC_FN(conv2d_backward_data_direct)(grad_x, grad_out, w, N, C, H, W, OC, KH, KW, OH, OW,
                                           stride_h, stride_w, pad_top, pad_left,
                                           dilation_h, dilation_w, groups, num_threads);
        free(table);
        return;
    }
    if (FC_FN(use_stem_data)(&s) &&
        FC_FN(stem_data)(grad_x, grad_out, w, N, C, H, W, OC, KH, KW, OH, OW, pad_top, pad_left,
                         num_threads)) {
        free(table);
        return;
    }
    /* The stride-1 forms below convolve grad_out padded by (K-1)*dilation - pad: only where
     * that is not negative (a layer padded beyond its filter's reach, such as a 1x1 layer
     * with padding 1, takes col2im) */
    const int transposable = pad_top <= (KH - 1) * dilation_h && pad_left <= (KW - 1) * dilation_w;
    if (transposable && stride_h == 1 && stride_w == 1 && dilation_h == 1 && dilation_w == 1 &&
        groups == 1) {
        /* the stride-1 form below, by Winograd (conv_winograd_impl.h, its filters read
         * flipped in place) or tap-wise (conv_tapwise_impl.h) where those pay; the
         * stride-1 form's own call to conv2d_forward asks use_tapwise of this same
         * geometry, so it never goes tap-wise over the flipped filters' workspace */
        conv_shape transposed;
        conv_tap *transposed_table = conv_shape_init(&transposed, OC, OH, OW, C, KH, KW, H, W,
                                                     1, 1, KH - 1 - pad_top, KW - 1 - pad_left,
                                                     1, 1, 1);
        const int tapwise = transposed_table && FC_FN(use_tapwise)(&transposed, N);
        const int winograd = transposed_table && FC_FN(use_winograd)(&transposed, N);
        free(transposed_table);
        if (winograd && FC_FN(conv2d_winograd)(grad_x, NULL, grad_out, w, 1, NULL, 0, N, OC, OH, OW,
                                               C, H, W, KH - 1 - pad_top, KW - 1 - pad_left,
                                               num_threads)) {
            free(table);
            return;
        }
        if (tapwise) {
            free(table);
            FC_FN(conv2d_backward_data_tapwise)(grad_x, grad_out, w, N, C, H, W, OC, KH, KW,
                                                OH, OW, pad_top, pad_left, num_threads);
            return;
        }
    }
    if (transposable && stride_h == 1 && stride_w == 1 && s.in_per_group >= 4 &&
        2 * pad_top >= (KH - 1) * dilation_h && 2 * pad_left >= (KW - 1) * dilation_w) {
        /* Stride 1: grad_x is the forward convolution of grad_out with the filters
         * transposed (C/groups <-> OC/groups) and flipped, padded so that the output is
         * H x W: an implicit GEMM whose reduction is OC/groups*KH*KW long and whose every
         * element is written once, instead of a short GEMM plus a col2im scatter.
         * Measured, col2im stays faster for stems (fewer than 4 input channels per group:
         * too few GEMM rows, see use_direct) and for 'valid'-style layers (the transposed
         * convolution's padding, dilation*(K-1) - pad, would exceed the forward's: on small
         * images mostly padding to pack). */
        real *flipped = fc_workspace(WORKSPACE_FLIPPED_FILTERS,
                                     (size_t)(C * s.out_per_group * KH * KW) * sizeof(real));
        if (flipped) {
            FC_FN(flip_filters)(flipped, w, groups, s.out_per_group, s.in_per_group, KH * KW);
            FC_FN(conv2d_forward)(grad_x, grad_out, flipped, NULL, 0, N, OC, OH, OW, C, KH, KW,
                                  H, W, 1, 1, (KH - 1) * dilation_h - pad_top,
                                  (KW - 1) * dilation_w - pad_left, dilation_h, dilation_w,
                                  groups, num_threads);
            free(table);
            return;
        }
    }
    const int64_t taps = s.in_per_group * KH * KW, P = OH * OW;
    const int64_t images_per_run = FC_FN(images_per_gemm)(N, P);
    const int64_t runs = (N + images_per_run - 1) / images_per_run;
    /* Runs of images enough for the threads: whole groups per GEMM, grad_out packed once
     * (measured: 10% off the simple CNN's conv2); else channel chunks as well. */
    const int64_t chunk = runs * groups >= 8 ? s.in_per_group : FC_FN(channels_per_task)(&s);
    const int64_t chunks = (s.in_per_group + chunk - 1) / chunk;
    const int64_t tasks = runs * groups * chunks;
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1 && tasks > 1)
    for (int64_t task = 0; task < tasks; task++) {
        const int64_t run = task / (groups * chunks), g = task / chunks % groups;
        const int64_t c0 = task % chunks * chunk;
        const int64_t channels = s.in_per_group - c0 < chunk ? s.in_per_group - c0 : chunk;
        const int64_t n0 = run * images_per_run;
        const int64_t images = N - n0 < images_per_run ? N - n0 : images_per_run;
        real *grad_x_ng = grad_x + (n0 * C + g * s.in_per_group) * H * W;
        for (int64_t image = 0; image < images; image++)
            for (int64_t i = c0 * H * W; i < (c0 + channels) * H * W; i++)
                grad_x_ng[image * C * H * W + i] = 0;
        /* w_g^T: element (tap, oc) of the group's filters, from the chunk's first tap */
        const FC_FN(fc_matrix) weights_t = { w + g * s.out_per_group * taps + c0 * KH * KW, 1, taps };
        const FC_FN(batch_source) gradients = {
            grad_out + (n0 * OC + g * s.out_per_group) * P, OC * P, &s };
        const FC_FN(batch_target) target = { grad_x_ng, C * H * W, c0 * KH * KW, &s };
        const FC_FN(fc_epilogue) epilogue = {
            .store = FC_FN(conv_store_col2im), .store_context = &target };
        FC_FN(fc_gemm)(channels * KH * KW, images * P, s.out_per_group, FC_FN(fc_pack_rows),
                       &weights_t, FC_FN(conv_pack_grad_out_cols), &gradients, &epilogue, 1);
    }
    free(table);
}

/* Backward-weight cuts the batch into runs of images: each run's GEMM reduces over its
 * images alone, and the runs' partial grad_w are then added in run order. The run length
 * depends on the shapes only (about 4096+ pixels of reduction per GEMM, at most
 * BATCH_RUNS_MAX runs), so the sums are the same for any thread count, and runs give
 * the threads independent work when grad_w itself is too small to split. */
#define BATCH_RUNS_MAX 16
static inline int64_t FC_FN(images_per_run)(int64_t N, int64_t P)
{
    int64_t images = (4096 + P - 1) / P;
    if (images < (N + BATCH_RUNS_MAX - 1) / BATCH_RUNS_MAX)
        images = (N + BATCH_RUNS_MAX - 1) / BATCH_RUNS_MAX;
    return images < N ? images : N;
}

/* One backward-weight GEMM: task = run * groups + g, writing the partial grad_w of group g
 * for run, its taps in (kh, kw, c) order (conv_pack_im2col_cl's lines). A layer with few
 * taps per group (stems) computes the transpose, taps x output channels, instead: its taps
 * would fill a fraction of the engine's NR-wide slivers, its output channels fill them, and
 * each product is the same multiply-adds in the same order, so the bits do not change. */
typedef struct {
    real *partials;            /* runs copies of grad_w: per group, OC/groups x taps in
                                * (kh, kw, c) order, or taps x OC/groups when transposed */
    const real *grad_out, *x;
    int64_t N, groups, images_per_run;
    int transposed;
    const conv_shape *s;
    const conv_shape *staged;  /* the geometry over the staged x: s, or 1x1's sampled_shape */
} FC_FN(weight_job);

/* Whether backward-weight computes grad_w transposed (see weight_job): when the taps would
 * fill at most half of the engine's B slivers (NR: 64 or 128 bytes of `real`), or at most one
 * where grad_out, the B operand then, is packed by a SIMD transpose (measured: the CIFAR
 * stem's 27 taps gain 10% that way, and lose 25% with the scalar gather). Either way gives
 * the same bits. */
static inline int FC_FN(weight_transposed)(const conv_shape *s)
{
    const int64_t bytes = s->in_per_group * s->KH * s->KW * (int64_t)sizeof(real);
    return bytes <= (FC_FN(has_fast_transpose)() ? 128 : 64);
}

/* grad_w: (OC, C/groups, KH, KW) OUT;  partials: (runs, size) IN/OUT, size = OC * taps,
 * each run's GEMM result: per group, an (out_per_group x taps) matrix, element (oc, tap
 * k*Cg + c), or its transpose when `transposed`. grad_w is the runs' sum, added in run
 * order, laid out per filter: each filter's line of the first run takes the other runs'
 * lines (the same additions in the same order as element by element, but along contiguous
 * lines that stay in L1), then its (KH*KW x Cg) block is transposed out. Element by
 * element, with the taps `Cg` apart, this took 4.6 ms of a 512 -> 512 4x4 batch-1
 * backward-weight (2.36 million scattered reads). */
static void FC_FN(gather_weight_gradient)(real *restrict grad_w, real *restrict partials,
                                          int64_t runs, int64_t size, const conv_shape *s,
                                          int transposed, int num_threads)
{
    const int64_t Cg = s->in_per_group, KHW = s->KH * s->KW, taps = Cg * KHW;
    const int64_t OCg = s->out_per_group, OC = s->OC;
    #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
    for (int64_t oc = 0; oc < OC; oc++) {
        real *filter = grad_w + oc * taps;
        if (!transposed) {   /* the filter's line, taps k*Cg + c, into c*KHW + k */
            real *restrict line = partials + oc * taps;
            for (int64_t run = 1; run < runs; run++) {
                const real *restrict more = line + run * size;
                for (int64_t t = 0; t < taps; t++)
                    line[t] += more[t];
            }
            if (KHW == 1)    /* 1x1 filters: the line is the filter already */
                memcpy(filter, line, (size_t)taps * sizeof(real));
            else
                FC_FN(tapwise_transpose)(filter, KHW, line, Cg, KHW, Cg);
            continue;
        }
        /* a few taps (see weight_transposed), laid (taps x out_per_group) per group */
        const real *group = partials + oc / OCg * OCg * taps;
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t k = 0; k < KHW; k++) {
                const real *restrict from = group + (k * Cg + c) * OCg + oc % OCg;
                real sum = from[0];
                for (int64_t run = 1; run < runs; run++)
                    sum += from[run * size];
                filter[c * KHW + k] = sum;
            }
    }
}

/* Images [first, end) of the run's group channels of x, channels last, into staged. */
static void FC_FN(stage_images)(const FC_FN(weight_job) *job, real *restrict staged,
                                const real *restrict x_g, int64_t first, int64_t end)
{
    const conv_shape *s = job->s;
    const int64_t HW = s->H * s->W, Cg = s->in_per_group;
    const int64_t staged_pixels = job->staged->H * job->staged->W;
    for (int64_t image = first; image < end; image++) {
        real *dst = staged + image * staged_pixels * Cg;
        if (job->staged == s)
            FC_FN(to_channels_last)(dst, x_g + image * s->C * HW, Cg, HW, HW);
        else
            FC_FN(to_channels_last_sampled)(dst, x_g + image * s->C * HW, Cg, HW, s);
    }
}

static void FC_FN(weight_task)(const FC_FN(weight_job) *job, int64_t task, int engine_threads)
{
    const conv_shape *s = job->s;
    const int64_t run = task / job->groups, g = task % job->groups;
    const int64_t Cg = s->in_per_group, taps = Cg * s->KH * s->KW, P = s->OH * s->OW;
    const int64_t staged_pixels = job->staged->H * job->staged->W;
    const int64_t n0 = run * job->images_per_run;
    const int64_t images = job->N - n0 < job->images_per_run ? job->N - n0 : job->images_per_run;
    real *staged = fc_workspace(WORKSPACE_CHANNELS_LAST,
                                (size_t)(images * staged_pixels * Cg) * sizeof(real));
    if (!staged)
        abort();   /* as the engine does when its own buffers cannot be had */
    const real *x_g = job->x + (n0 * s->C + g * Cg) * s->H * s->W;
    if (engine_threads > 1) {
        #pragma omp parallel for num_threads(engine_threads) schedule(static)
        for (int64_t image = 0; image < images; image++)
            FC_FN(stage_images)(job, staged, x_g, image, image + 1);
    } else {
        FC_FN(stage_images)(job, staged, x_g, 0, images);
    }
    const FC_FN(batch_source) gradients = {
        job->grad_out + (n0 * s->OC + g * s->out_per_group) * P, s->OC * P, s };
    const FC_FN(batch_source) columns = { staged, staged_pixels * Cg, job->staged };
    real *partial = job->partials + run * s->OC * taps + g * s->out_per_group * taps;
    if (job->transposed) {
        const FC_FN(fc_epilogue) epilogue = { .c = partial, .ldc = s->out_per_group };
        FC_FN(fc_gemm)(taps, s->out_per_group, images * P, FC_FN(conv_pack_im2col_cl), &columns,
                       FC_FN(conv_pack_grad_out), &gradients, &epilogue, engine_threads);
    } else {
        const FC_FN(fc_epilogue) epilogue = { .c = partial, .ldc = taps };
        FC_FN(fc_gemm)(s->out_per_group, taps, images * P, FC_FN(conv_pack_grad_out), &gradients,
                       FC_FN(conv_pack_im2col_cl), &columns, &epilogue, engine_threads);
    }
}

/* Whether backward-weight takes the few-tap direct kernel (conv_stem_avx512.h, float on
 * AVX-512): one group, a stem's few input channels and taps (at most 4 channels, 160 taps:
 * three channels of 7x7 filters) and output rows of 8+ values (its vectors run along them).
 * Measured against the transposed GEMM form (Zen 4, 1 thread, alternating runs): simple
 * CNN conv1 1.12 -> 0.56 ms, CIFAR stem 4.4 -> 3.5-3.9 ms, ImageNet 7x7 stem 24 -> 23 ms;
 * a 64-channel 1x1 stride-2 layer gained nothing (its short planes leave the accumulators
 * little work per image) and stays a GEMM. */
static inline int FC_FN(use_fewtaps)(const conv_shape *s)
{
    return FC_FN(has_stem_kernels)() && s->in_per_group == s->C && s->C <= 4 &&
           s->C * s->KH * s->KW <= 160 && s->OW >= 8;
}

/* The phase planes the few-tap backward-weight stages at a time: runs of whole images of
 * at most this many bytes (or one image), so a large batch does not double x in memory;
 * how the batch is cut does not change the bits (conv_stem_avx512.h). */
#define FEWTAPS_STAGED_BYTES ((int64_t)4 << 20)

/* grad_w by the few-tap kernel, x read in place or, for padded or strided layers, from the
 * phase planes of a run of images at a time (a workspace of at most FEWTAPS_STAGED_BYTES,
 * or one image's C * stride_h * stride_w * phase_h * phase_w values), plus the kernel's
 * running sums (fc_fewtaps_sums). Returns 0, having written nothing, when the kernel does
 * not run or memory runs out. */
static int FC_FN(backward_weight_fewtaps)(real *restrict grad_w, const real *restrict grad_out,
                                          const real *restrict x, const conv_shape *s,
                                          int64_t N, int num_threads)
{
    const int64_t taps = s->C * s->KH * s->KW, image = s->C * s->H * s->W;
    const int64_t P = s->OH * s->OW;
    int64_t *tap_offsets = malloc((size_t)taps * sizeof *tap_offsets);
    real *sums = malloc((size_t)fc_fewtaps_sums(s->OC, taps) * sizeof(real));
    int64_t phase_h, phase_w;
    const int phased = tap_offsets && conv_tap_offsets(s, tap_offsets, &phase_h, &phase_w);
    const int64_t planes_size = phased ? s->C * s->stride_h * s->stride_w * phase_h * phase_w : 0;
    int64_t run = phased ? FEWTAPS_STAGED_BYTES / (planes_size * (int64_t)sizeof(real)) : N;
    if (run > N)
        run = N;
    if (run < 1)
        run = 1;
    const int64_t runs = N > 0 ? (N + run - 1) / run : 1;   /* an empty batch: grad_w = 0 */
    real *planes = phased ? fc_workspace(WORKSPACE_PADDED_INPUT,
                                         (size_t)(run * planes_size) * sizeof(real)) : NULL;
    int done = tap_offsets && sums && (planes || !phased);
    for (int64_t r = 0; done && r < runs; r++) {
        const int64_t n0 = r * run, images = N - n0 < run ? N - n0 : run;
        if (phased) {
            #pragma omp parallel for num_threads(num_threads) schedule(static) if (num_threads > 1)
            for (int64_t n = 0; n < images; n++)
                FC_FN(conv_phase_input)(planes + n * planes_size, x + (n0 + n) * image, 1, s->C,
                                        0, s->C, image, s, phase_h, phase_w);
        }
        done = FC_FN(fewtaps_weight)(grad_w, sums, grad_out + n0 * s->OC * P,
                                     phased ? planes : x + n0 * image,
                                     phased ? planes_size : image, tap_offsets,
                                     phased ? phase_w : s->W, images, s->OC, taps, s->OH, s->OW,
                                     r == 0, r == runs - 1, num_threads);
    }
    free(sums);
    free(tap_offsets);
    return done;
}

/* The few-tap backward-weight whatever the policy says, for tests (groups 1, no bias
 * gradient): returns 0, having written nothing, where its kernel does not run.
 * grad_w: (OC, C, KH, KW) OUT;  grad_out: (N, OC, OH, OW) IN;  x: (N, C, H, W) IN. */
int FC_FN(conv2d_backward_weight_fewtaps)(real *restrict grad_w, const real *restrict grad_out,
                                          const real *restrict x,
                                          int64_t N, int64_t C, int64_t H, int64_t W,
                                          int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                          int64_t OW, int64_t stride_h, int64_t stride_w,
                                          int64_t pad_top, int64_t pad_left, int64_t dilation_h,
                                          int64_t dilation_w, int num_threads)
{
    conv_shape s;
    conv_tap *table = conv_shape_init(&s, C, H, W, OC, KH, KW, OH, OW, stride_h, stride_w,
                                     pad_top, pad_left, dilation_h, dilation_w, 1);
    const int done = table && FC_FN(has_stem_kernels)() &&
                     FC_FN(backward_weight_fewtaps)(grad_w, grad_out, x, &s, N, num_threads);
    free(table);
    return done;
}

/* grad_w: (OC, C/groups, KH, KW) OUT;  grad_bias: (OC,) OUT, or NULL to skip it;
 * grad_out: (N, OC, OH, OW) IN;  x: (N, C, H, W) IN.
 * Each task stages its run's x channels last in a per-thread workspace and runs one GEMM
 * into its own partial; the partials are then added in run order, taps put back in
 * (c, kh, kw) order on the way. */
void FC_FN(conv2d_backward_weight)(real *restrict grad_w, real *restrict grad_bias,
                                   const real *restrict grad_out, const real *restrict x,
                                   int64_t N, int64_t C, int64_t H, int64_t W,
                                   int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                   int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                   int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
{
    conv_shape s;
    conv_tap *table = conv_shape_init(&s, C, H, W, OC, KH, KW, OH, OW, stride_h, stride_w,
                                     pad_top, pad_left, dilation_h, dilation_w, groups);
    const int64_t P = OH * OW, Cg = s.in_per_group, taps = Cg * KH * KW, size = OC * taps;
    const int64_t images_per_run = FC_FN(images_per_run)(N, P);
    const int64_t runs = (N + images_per_run - 1) / images_per_run;
    real *partials = table ? fc_workspace(WORKSPACE_PARTIALS, (size_t)(runs * size) * sizeof(real))
                           : NULL;
    if (!partials || FC_FN(use_direct)(&s)) {
        free(table);
        FC_FN(conv2d_backward_weight_depthwise)(grad_w, grad_bias, grad_out, x, N, C, H, W,
                                                OC, KH, KW, OH, OW, stride_h, stride_w,
                                                pad_top, pad_left, dilation_h, dilation_w,
                                                groups, num_threads);
        return;
    }
    if (FC_FN(use_winograd_weight)(&s, N)) {
        free(table);
        FC_FN(conv2d_backward_weight_winograd)(grad_w, grad_out, x, N, C, H, W, OC, OH, OW,
                                               pad_top, pad_left, num_threads);
        if (grad_bias)
            FC_FN(bias_gradient)(grad_bias, grad_out, N, OC, P, num_threads);
        return;
    }
    if (FC_FN(use_fewtaps)(&s) &&
        FC_FN(backward_weight_fewtaps)(grad_w, grad_out, x, &s, N, num_threads)) {
        free(table);
        if (grad_bias)
            FC_FN(bias_gradient)(grad_bias, grad_out, N, OC, P, num_threads);
        return;
    }
    if (FC_FN(use_ocvec_weight)(&s) &&
        FC_FN(ocvec_weight)(grad_w, grad_out, x, N, C, H, W, OC, KH, KW, OH, OW, pad_top,
                            pad_left, num_threads)) {
        free(table);
        if (grad_bias)
            FC_FN(bias_gradient)(grad_bias, grad_out, N, OC, P, num_threads);
        return;
    }
    if (FC_FN(use_tapwise)(&s, N)) {
        free(table);
        FC_FN(conv2d_backward_weight_tapwise)(grad_w, grad_out, x, N, C, H, W, OC, KH, KW,
                                              OH, OW, stride_h, stride_w, pad_top, pad_left,
                                              num_threads);
        if (grad_bias)
            FC_FN(bias_gradient)(grad_bias, grad_out, N, OC, P, num_threads);
        return;
    }
    /* a strided or padded 1x1 layer reads a subsample of x: stage only that */
    const conv_shape sampled = FC_FN(sampled_shape)(&s);
    const int subsample = KH == 1 && KW == 1 &&
                          (stride_h != 1 || stride_w != 1 || pad_top != 0 || pad_left != 0);
    const int transposed = FC_FN(weight_transposed)(&s);
    const FC_FN(weight_job) job = { partials, grad_out, x, N, groups, images_per_run, transposed,
                                    &s, subsample ? &sampled : &s };
    const int64_t tasks = runs * groups;
    if (spread_tasks(tasks, num_threads)) {
        #pragma omp parallel for num_threads(num_threads) schedule(static)
        for (int64_t task = 0; task < tasks; task++)
            FC_FN(weight_task)(&job, task, 1);
    } else {
        for (int64_t task = 0; task < tasks; task++)
            FC_FN(weight_task)(&job, task, num_threads);
    }
    FC_FN(gather_weight_gradient)(grad_w, partials, runs, size, &s, transposed, num_threads);
    if (grad_bias)
        FC_FN(bias_gradient)(grad_bias, grad_out, N, OC, P, num_threads);
    free(table);
}

/* grad_bias: (OC,) OUT;  grad_out: (N, OC, OH, OW) IN. The sums conv2d_backward_weight
 * makes on the way, for a caller that wants the bias gradient alone. */
void FC_FN(conv2d_backward_bias)(real *restrict grad_bias, const real *restrict grad_out,
                                 int64_t N, int64_t OC, int64_t OH, int64_t OW, int num_threads)
{
    FC_FN(bias_gradient)(grad_bias, grad_out, N, OC, OH * OW, num_threads);
}
