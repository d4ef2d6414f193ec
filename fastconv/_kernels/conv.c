/* 2-D convolution kernels, both precisions. Four files of kernel bodies, one job each:
 *   conv_impl.h            direct loops: the naive twins the tests hold every fast path to
 *   conv_depthwise_impl.h  direct, vectorised along ow, for depthwise / small-group layers
 *   conv_im2col_impl.h     packers and the col2im store that feed the GEMM engine (gemm.h)
 *   conv_tapwise_impl.h    small images as a sum over taps of GEMMs that skip the padding
 *   conv_winograd_impl.h   3x3 stride-1 layers by Winograd's F(2x2, 3x3), on the engine
 *   conv_gemm_impl.h       forward, backward-data, backward-weight as implicit GEMMs
 *
 * Extra memory per call, beyond the outputs and the engine's own per-thread arena: a table of
 * C/groups*KH*KW conv_tap entries (malloc, freed on return); and in the calling thread's
 * fc_workspace buffers, which persist between calls: one copy of w (stride-1
 * backward-data's flipped filters), at most BATCH_RUNS_MAX = 16 copies of grad_w
 * (backward-weight's partial sums, conv_gemm_impl.h) and, per thread, one run of images of a
 * group's x channels last (backward-weight's staging; a run is at most
 * max(4096 / (OH*OW) rounded up, N / 16 rounded up) images) and, per thread, one
 * run of images of x in phases (the padded or strided forward's input, bounded above
 * conv2d_forward in conv_gemm_impl.h); the tap-wise kernels for small images keep their
 * inputs, filters and outputs re-laid out in those same buffers (conv_tapwise_impl.h), and
 * Winograd's its transformed filters (or, for backward-weight, at most 16 chunks' sums),
 * staged input rows and transformed tiles (bounds in conv_winograd_impl.h). Nothing is
 * allocated in a loop.
 */
#include <stdlib.h>
#include <string.h>

#include "fastconv.h"
#include "conv.h"
#include "conv_transpose.h"
#include "conv_stem_avx512.h"
#include "conv_ocvec_avx512.h"
#include "gemm.h"
#include "thread_share.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Whether fast_transpose_<precision> below has a SIMD transpose to run: float while the
 * engine runs its avx512 kernels (which tells that the CPU has avx512f; FASTCONV_ISA forcing
 * another ISA turns it off as well). */
static inline int has_fast_transpose_f32(void)
{
#ifdef FC_CONV_TRANSPOSE_AVX512
    return strcmp(fc_gemm_isa(), "avx512") == 0;
#else
    return 0;
#endif
}

static inline int has_fast_transpose_f64(void)
{
    return 0;
}

/* dst[j * dst_stride + i] = src[i * src_stride + j * src_step] for i < rows, j < cols,
 * src_step 1 or 2, with the SIMD transpose of conv_transpose.h where this ISA and precision
 * have one. Returns 0, having written nothing, where there is none. */
static inline int fast_transpose_f32(float *restrict dst, int64_t dst_stride,
                                     const float *restrict src, int64_t src_stride,
                                     int64_t src_step, int64_t rows, int64_t cols)
{
#ifdef FC_CONV_TRANSPOSE_AVX512
    if (has_fast_transpose_f32() && (src_step == 1 || src_step == 2)) {
        fc_conv_transpose_avx512_f32(dst, dst_stride, src, src_stride, src_step, rows, cols);
        return 1;
    }
#endif
    (void)dst, (void)dst_stride, (void)src, (void)src_stride, (void)src_step, (void)rows,
        (void)cols;
    return 0;
}

static inline int fast_transpose_f64(double *restrict dst, int64_t dst_stride,
                                     const double *restrict src, int64_t src_stride,
                                     int64_t src_step, int64_t rows, int64_t cols)
{
    (void)dst, (void)dst_stride, (void)src, (void)src_stride, (void)src_step, (void)rows,
        (void)cols;
    return 0;
}

/* Whether the stems' kernels of conv_stem_avx512.h run: float while the engine runs its
 * avx512 kernels (a CPU that reports avx512f, no other ISA forced). */
static inline int has_stem_kernels_f32(void)
{
#ifdef FC_CONV_STEM_AVX512
    return has_fast_transpose_f32();
#else
    return 0;
#endif
}

static inline int has_stem_kernels_f64(void)
{
    return 0;
}

/* One run of images through the few-tap backward-weight kernel of conv_stem_avx512.h (see
 * there for sums, first and last) where has_stem_kernels says so; returns 0, having written
 * nothing, elsewhere. */
static inline int fewtaps_weight_f32(float *restrict grad_w, float *restrict sums,
                                     const float *restrict grad_out,
                                     const float *restrict images, int64_t image_stride,
                                     const int64_t *restrict tap_offsets, int64_t row_stride,
                                     int64_t N, int64_t OC, int64_t taps, int64_t OH,
                                     int64_t OW, int first, int last, int num_threads)
{
#ifdef FC_CONV_STEM_AVX512
    if (has_stem_kernels_f32()) {
        fc_conv_weight_fewtaps_avx512_f32(grad_w, sums, grad_out, images, image_stride,
                                          tap_offsets, row_stride, N, OC, taps, OH, OW, first,
                                          last, num_threads);
        return 1;
    }
#endif
    (void)grad_w, (void)sums, (void)grad_out, (void)images, (void)image_stride;
    (void)tap_offsets, (void)row_stride, (void)N, (void)OC, (void)taps, (void)OH, (void)OW;
    (void)first, (void)last, (void)num_threads;
    return 0;
}

static inline int fewtaps_weight_f64(double *restrict grad_w, double *restrict sums,
                                     const double *restrict grad_out,
                                     const double *restrict images, int64_t image_stride,
                                     const int64_t *restrict tap_offsets, int64_t row_stride,
                                     int64_t N, int64_t OC, int64_t taps, int64_t OH,
                                     int64_t OW, int first, int last, int num_threads)
{
    (void)grad_w, (void)sums, (void)grad_out, (void)images, (void)image_stride;
    (void)tap_offsets, (void)row_stride, (void)N, (void)OC, (void)taps, (void)OH, (void)OW;
    (void)first, (void)last, (void)num_threads;
    return 0;
}

/* The stems' backward-data kernel of conv_stem_avx512.h where has_stem_kernels says so;
 * returns 0, having written nothing, elsewhere. */
static inline int stem_data_f32(float *restrict grad_x, const float *restrict grad_out,
                                const float *restrict w, int64_t N, int64_t C, int64_t H,
                                int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                int64_t OW, int64_t pad_top, int64_t pad_left, int num_threads)
{
#ifdef FC_CONV_STEM_AVX512
    if (has_stem_kernels_f32())
        return fc_conv_data_stem_avx512_f32(grad_x, grad_out, w, N, C, H, W, OC, KH, KW, OH, OW,
                                            pad_top, pad_left, num_threads);
#endif
    (void)grad_x, (void)grad_out, (void)w, (void)N, (void)C, (void)H, (void)W, (void)OC;
    (void)KH, (void)KW, (void)OH, (void)OW, (void)pad_top, (void)pad_left, (void)num_threads;
    return 0;
}

static inline int stem_data_f64(double *restrict grad_x, const double *restrict grad_out,
                                const double *restrict w, int64_t N, int64_t C, int64_t H,
                                int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                int64_t OW, int64_t pad_top, int64_t pad_left, int num_threads)
{
    (void)grad_x, (void)grad_out, (void)w, (void)N, (void)C, (void)H, (void)W, (void)OC;
    (void)KH, (void)KW, (void)OH, (void)OW, (void)pad_top, (void)pad_left, (void)num_threads;
    return 0;
}

/* The direct AVX-512 forwards, one contract for two kernels (conv.h's
 * FC_DIRECT_FORWARD_*): the stems' (conv_stem_avx512.h) and the one over output-channel
 * vectors (conv_ocvec_avx512.h), where has_stem_kernels says so (float on an engine running
 * avx512); returns 0, having written nothing, elsewhere. pool_indices: NULL, or the 2x2
 * max-pool of the output instead (see the kernels). */
static inline int direct_forward_f32(int kernel, float *restrict out,
                                     int64_t *restrict pool_indices, const float *restrict x,
                                     const float *restrict w, const float *restrict bias,
                                     int relu, int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                     int64_t OW, int64_t pad_top, int64_t pad_left,
                                     int num_threads)
{
#if defined(FC_CONV_STEM_AVX512) && defined(FC_CONV_OCVEC_AVX512)
    if (has_stem_kernels_f32())
        return (kernel == FC_DIRECT_FORWARD_STEM ? fc_conv_forward_stem_avx512_f32
                                                 : fc_conv_forward_ocvec_avx512_f32)(
            out, pool_indices, x, w, bias, relu, N, C, H, W, OC, KH, KW, OH, OW, pad_top,
            pad_left, num_threads);
#endif
    (void)kernel, (void)out, (void)pool_indices, (void)x, (void)w, (void)bias, (void)relu;
    (void)N, (void)C, (void)H, (void)W, (void)OC, (void)KH, (void)KW, (void)OH, (void)OW;
    (void)pad_top, (void)pad_left, (void)num_threads;
    return 0;
}

static inline int direct_forward_f64(int kernel, double *restrict out,
                                     int64_t *restrict pool_indices, const double *restrict x,
                                     const double *restrict w, const double *restrict bias,
                                     int relu, int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                     int64_t OW, int64_t pad_top, int64_t pad_left,
                                     int num_threads)
{
    (void)kernel, (void)out, (void)pool_indices, (void)x, (void)w, (void)bias, (void)relu;
    (void)N, (void)C, (void)H, (void)W, (void)OC, (void)KH, (void)KW, (void)OH, (void)OW;
    (void)pad_top, (void)pad_left, (void)num_threads;
    return 0;
}

/* Its backward-weight (conv_ocvec_avx512.h), under the same condition; returns 0, having
 * written nothing, elsewhere. */
static inline int ocvec_weight_f32(float *restrict grad_w, const float *restrict grad_out,
                                   const float *restrict x, int64_t N, int64_t C, int64_t H,
                                   int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                   int64_t OW, int64_t pad_top, int64_t pad_left, int num_threads)
{
#ifdef FC_CONV_OCVEC_AVX512
    if (has_stem_kernels_f32())
        return fc_conv_weight_ocvec_avx512_f32(grad_w, grad_out, x, N, C, H, W, OC, KH, KW, OH,
                                               OW, pad_top, pad_left, num_threads);
#endif
    (void)grad_w, (void)grad_out, (void)x, (void)N, (void)C, (void)H, (void)W, (void)OC;
    (void)KH, (void)KW, (void)OH, (void)OW, (void)pad_top, (void)pad_left, (void)num_threads;
    return 0;
}

static inline int ocvec_weight_f64(double *restrict grad_w, const double *restrict grad_out,
                                   const double *restrict x, int64_t N, int64_t C, int64_t H,
                                   int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                                   int64_t OW, int64_t pad_top, int64_t pad_left, int num_threads)
{
    (void)grad_w, (void)grad_out, (void)x, (void)N, (void)C, (void)H, (void)W, (void)OC;
    (void)KH, (void)KW, (void)OH, (void)OW, (void)pad_top, (void)pad_left, (void)num_threads;
    return 0;
}

/* Which row of a per-thread scratch buffer the calling thread owns. */
static inline int64_t thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* The outputs o in [*first, *end) whose input index o*stride + offset lies in [0, in_size).
 * Every other output reads zero padding for this tap, so restricting the loops to this
 * range replaces a bounds test in the innermost loop. Shared by both precisions. */
static inline void valid_outputs(int64_t offset, int64_t stride, int64_t in_size, int64_t out_size,
                                 int64_t *first, int64_t *end)
{
    int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int64_t hi = offset >= in_size ? 0 : (in_size - 1 - offset) / stride + 1;
    if (hi > out_size) hi = out_size;
    if (lo > hi) lo = hi;
    *first = lo;
    *end = hi;
}

/* Where one tap t = (c * KH + kh) * KW + kw of a filter reads: input channel c of the group,
 * row offset oh * stride_h + offset_h, column offset ow * stride_w + offset_w, and the
 * outputs [ow_first, ow_end) whose column falls inside the input. */
typedef struct { int64_t channel_offset, offset_h, offset_w, ow_first, ow_end; } conv_tap;

/* One convolution's geometry, as the GEMM packers and stores see it, with its taps worked
 * out once per call so that packers never divide in their loops. */
typedef struct {
    int64_t C, H, W, OC, KH, KW, OH, OW;
    int64_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
    int64_t in_per_group, out_per_group;
    const conv_tap *taps;     /* (C/groups * KH * KW) */
} conv_shape;

/* Fill *shape; returns the tap table to free(), or NULL when out of memory. */
static conv_tap *conv_shape_init(conv_shape *shape, int64_t C, int64_t H, int64_t W,
                                 int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                 int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                 int64_t dilation_h, int64_t dilation_w, int64_t groups)
{
    const int64_t filter_taps = KH * KW, in_per_group = C / groups;
    conv_tap *table = malloc((size_t)(in_per_group * filter_taps) * sizeof(conv_tap));
    if (!table)
        return NULL;
    /* The first channel's taps, then every other channel's as copies of them on its own
     * plane: per tap, the divisions took ~15 ns, 70 us of a 512 -> 512 4x4 batch-1 layer. */
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++) {
            conv_tap *tap = &table[kh * KW + kw];
            tap->channel_offset = 0;
            tap->offset_h = kh * dilation_h - pad_top;
            tap->offset_w = kw * dilation_w - pad_left;
            valid_outputs(tap->offset_w, stride_w, W, OW, &tap->ow_first, &tap->ow_end);
        }
    for (int64_t c = 1; c < in_per_group; c++)
        for (int64_t t = 0; t < filter_taps; t++) {
            table[c * filter_taps + t] = table[t];
            table[c * filter_taps + t].channel_offset = c * H * W;
        }
    *shape = (conv_shape){
        .C = C, .H = H, .W = W, .OC = OC, .KH = KH, .KW = KW, .OH = OH, .OW = OW,
        .stride_h = stride_h, .stride_w = stride_w, .pad_top = pad_top, .pad_left = pad_left,
        .dilation_h = dilation_h, .dilation_w = dilation_w,
        .in_per_group = C / groups, .out_per_group = OC / groups, .taps = table,
    };
    return table;
}

/* A position in the pixels of a run of images: column j of an im2col matrix stacked over
 * images is pixel (oh, ow) of image n, j = (n * OH + oh) * OW + ow. Packers and stores
 * walk their columns in runs along one output row, advancing the cursor by each run. */
typedef struct { int64_t n, oh, ow; } pixel_cursor;

static inline pixel_cursor pixel_at(const conv_shape *s, int64_t j)
{
    return (pixel_cursor){ j / (s->OH * s->OW), j / s->OW % s->OH, j % s->OW };
}

/* The length of the run from the cursor to the end of its output row, at most `limit`. */
static inline int64_t row_run(const conv_shape *s, const pixel_cursor *at, int64_t limit)
{
    return s->OW - at->ow < limit ? s->OW - at->ow : limit;
}

static inline void pixel_advance(const conv_shape *s, pixel_cursor *at, int64_t len)
{
    at->ow += len;
    if (at->ow == s->OW) {
        at->ow = 0;
        if (++at->oh == s->OH) {
            at->oh = 0;
            at->n++;
        }
    }
}

/* Where each tap reads, for kernels that read a layer's input at stride 1: x itself when
 * no tap reads padding and the strides are 1 (returns 0; *phase_h = H, *phase_w = W), else
 * the phase planes of conv_phase_input (returns 1), (channels, stride_h * stride_w,
 * *phase_h, *phase_w) per image. tap_offsets[t] (C/groups*KH*KW) OUT: where tap t of output
 * (0, 0) reads in one image's group channels; output (oh, ow) reads oh rows and ow columns
 * further. */
static int conv_tap_offsets(const conv_shape *s, int64_t *tap_offsets, int64_t *phase_h,
                            int64_t *phase_w)
{
    const int64_t KH = s->KH, KW = s->KW, sh = s->stride_h, sw = s->stride_w;
    /* the input rows and columns the output reads, from row -pad_top and column -pad_left */
    const int64_t reach_h = (s->OH - 1) * sh + (KH - 1) * s->dilation_h + 1;
    const int64_t reach_w = (s->OW - 1) * sw + (KW - 1) * s->dilation_w + 1;
    const int phased = s->pad_top > 0 || s->pad_left > 0 || reach_h > s->H || reach_w > s->W ||
                       sh > 1 || sw > 1;
    *phase_h = phased ? (reach_h + sh - 1) / sh : s->H;
    *phase_w = phased ? (reach_w + sw - 1) / sw : s->W;
    const int64_t phases = phased ? sh * sw : 1, filter_taps = KH * KW;
    /* the first channel's offsets, then the others' a channel's planes further on (as in
     * conv_shape_init, without a division per tap) */
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++) {
            const int64_t row = kh * s->dilation_h, col = kw * s->dilation_w;
            tap_offsets[kh * KW + kw] = phased
                ? ((row % sh * sw + col % sw) * *phase_h + row / sh) * *phase_w + col / sw
                : row * s->W + col;
        }
    const int64_t channel_stride = phased ? phases * *phase_h * *phase_w : s->H * s->W;
    for (int64_t c = 1; c < s->in_per_group; c++)
        for (int64_t t = 0; t < filter_taps; t++)
            tap_offsets[c * filter_taps + t] = tap_offsets[t] + c * channel_stride;
    return phased;
}

/* The calling thread's engine workspaces (gemm.h) the GEMM kernels use; they are kept
 * between calls, so big layers do not pay for fresh pages on every call. */
enum { WORKSPACE_FLIPPED_FILTERS = 0, WORKSPACE_PARTIALS = 1, WORKSPACE_PADDED_INPUT = 2,
       WORKSPACE_CHANNELS_LAST = 3 };

/* Whether to run independent GEMM tasks side by side, one engine thread each (when there
 * are enough to keep every thread busy and roughly balanced), rather than one after the
 * other with the engine threading each. The engine's bits do not depend on its thread
 * count, so both ways give the same results. */
static inline int spread_tasks(int64_t tasks, int num_threads)
{
    return num_threads > 1 && tasks >= num_threads &&
           (tasks % num_threads == 0 || tasks >= 4 * (int64_t)num_threads);
}

#define FC_IMPL "conv_impl.h"
#include "instantiate.h"

#define FC_IMPL "conv_depthwise_impl.h"
#include "instantiate.h"

#define FC_IMPL "conv_im2col_impl.h"
#include "instantiate.h"

#define FC_IMPL "conv_tapwise_impl.h"
#include "instantiate.h"

#define FC_IMPL "conv_winograd_impl.h"
#include "instantiate.h"

#define FC_IMPL "conv_gemm_impl.h"
#include "instantiate.h"
