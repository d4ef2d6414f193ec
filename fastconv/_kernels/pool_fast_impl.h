/* The fast pooling kernels, over `real` (included at the end of pool_impl.h).
 *
 * Same contracts and results as the `_naive` twins: a plane is still one thread's work,
 * but inside a plane the loops run along an output row, so they vectorise. In each output
 * row the "inside" columns, whose windows lie wholly inside the plane along w, are done a
 * whole tap at a time over the row (first tap, then each later tap in row-major order: the
 * order of the naive element loop, so the bits are the same); the few edge columns go
 * through the naive per-element code (float32 max pooling on AVX-512 takes them in its
 * vectors, lanes masked: pool_avx512.h). The row loops are compiled per vector ISA
 * (FC_VECTOR_CLONES) and specialised for strides 1 and 2, whose loads gcc turns into
 * contiguous loads and shuffles rather than gathers. */

#ifndef FC_POOL_FAST_HELPERS
#define FC_POOL_FAST_HELPERS
#include "pool_avx512.h"

/* Whether the float32 AVX-512 row loops can run here (checked once per call). */
static inline int use_avx512_f32(void)
{
#ifdef FC_POOL_AVX512
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}
/* The columns [*lo, *hi) of an output row whose windows (of `extent` input positions)
 * start at or after 0 and end at or before `size`. */
static inline void inside_columns(int64_t *lo, int64_t *hi, int64_t out_size, int64_t size,
                                  int64_t extent, int64_t stride, int64_t padding)
{
    int64_t last_start = size - extent + padding;  /* ow * stride may not exceed this */
    int64_t end = last_start < 0 ? 0 : fc_min(last_start / stride + 1, out_size);
    *lo = fc_min((padding + stride - 1) / stride, end);
    *hi = end;
}

/* Whether max_pool_plane_f32_avx512 takes these windows: at most POOL_MAX_KW_AVX512 wide,
 * and every index and input column it forms (for lanes past the row's end too, and in the
 * left padding) within int32, as it keeps them 16 to a vector. */
static inline int avx512_max_pool_takes(int64_t H, int64_t W, int64_t OW, int64_t kw,
                                        int64_t sw, int64_t pw, int64_t dw)
{
#ifdef FC_POOL_AVX512
    return kw <= POOL_MAX_KW_AVX512 && H * W + (OW + 16) * sw + (kw - 1) * dw + pw < INT32_MAX;
#else
    (void)H, (void)W, (void)OW, (void)kw, (void)sw, (void)pw, (void)dw;
    return 0;
#endif
}

/* The edge column after `ow`: the next one outside [lo, hi). */
static inline int64_t edge_after(int64_t ow, int64_t lo, int64_t hi)
{
    return (ow + 1 >= lo && ow + 1 < hi) ? hi : ow + 1;
}
#endif

/* One plane of max_pool2d_forward_naive's work. */
FC_ALWAYS_INLINE void FC_FN(max_pool_plane_body)(real *restrict op, int64_t *restrict ip,
                                                 const real *restrict xp,
                                                 int64_t H, int64_t W, int64_t OH, int64_t OW,
                                                 int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                                 int64_t ph, int64_t pw, int64_t dh, int64_t dw)
{
    int64_t lo, hi;
    inside_columns(&lo, &hi, OW, W, (kw - 1) * dw + 1, sw, pw);
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t h_start = oh * sh - ph;
        const int64_t h_first = first_tap_inside(h_start, dh);
        const int64_t h_end = fc_min(h_start + (kh - 1) * dh + 1, H);
        real *restrict best = op + oh * OW;
        int64_t *restrict best_index = ip + oh * OW;
        for (int64_t ow = edge_after(-1, lo, hi); ow < OW; ow = edge_after(ow, lo, hi)) {
            const int64_t w_start = ow * sw - pw;
            FC_FN(max_window)(&best[ow], &best_index[ow], xp, W, h_first, h_end, dh,
                              first_tap_inside(w_start, dw),
                              fc_min(w_start + (kw - 1) * dw + 1, W), dw);
        }
        /* Starting from the first tap equals starting from -inf: the first tap wins
         * against -inf unless it is -inf itself, and then its index is kept anyway. */
        const int64_t first = h_first * W - pw;
        for (int64_t ow = lo; ow < hi; ow++) {
            best[ow] = xp[first + ow * sw];
            best_index[ow] = first + ow * sw;
        }
        for (int64_t ih = h_first; ih < h_end; ih += dh) {
            for (int64_t j = (ih == h_first); j < kw; j++) {
                const int64_t tap = ih * W - pw + j * dw;
                for (int64_t ow = lo; ow < hi; ow++) {
                    const real v = xp[tap + ow * sw];
                    const int take = (v > best[ow]) | (v != v);  /* v != v: NaN */
                    best[ow] = take ? v : best[ow];
                    best_index[ow] = take ? tap + ow * sw : best_index[ow];
                }
            }
        }
    }
}

FC_VECTOR_CLONES
static void FC_FN(max_pool_plane)(real *restrict op, int64_t *restrict ip, const real *restrict xp,
                                  int64_t H, int64_t W, int64_t OH, int64_t OW,
                                  int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                  int64_t ph, int64_t pw, int64_t dh, int64_t dw)
{
    if (sw == 1)
        FC_FN(max_pool_plane_body)(op, ip, xp, H, W, OH, OW, kh, kw, sh, 1, ph, pw, dh, dw);
    else if (sw == 2)
        FC_FN(max_pool_plane_body)(op, ip, xp, H, W, OH, OW, kh, kw, sh, 2, ph, pw, dh, dw);
    else
        FC_FN(max_pool_plane_body)(op, ip, xp, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw);
}

/* max_pool_plane by max_pool_plane_f32_avx512; only ever called when `real` is float
 * (the casts are no-ops then, and dead code for double). */
static void FC_FN(max_pool_plane_avx512)(real *restrict op, int64_t *restrict ip,
                                         const real *restrict xp,
                                         int64_t H, int64_t W, int64_t OH, int64_t OW,
                                         int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                         int64_t ph, int64_t pw, int64_t dh, int64_t dw)
{
#ifdef FC_POOL_AVX512
    int64_t lo, hi;
    inside_columns(&lo, &hi, OW, W, (kw - 1) * dw + 1, sw, pw);
    max_pool_plane_f32_avx512((float *)op, ip, (const float *)xp, H, W, OH, OW, kh, kw, sh,
                              sw, ph, pw, dh, dw, lo, hi);
#else
    FC_FN(max_pool_plane)(op, ip, xp, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw);
#endif
}

/* out, indices: (planes, OH, OW) OUT;  x: (planes, H, W) IN.  As max_pool2d_forward_naive. */
void FC_FN(max_pool2d_forward)(real *restrict out, int64_t *restrict indices,
                               const real *restrict x,
                               int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                               int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                               int64_t ph, int64_t pw, int64_t dh, int64_t dw, int num_threads)
{
    const int avx512 = sizeof(real) == sizeof(float) && use_avx512_f32()
                       && avx512_max_pool_takes(H, W, OW, kw, sw, pw, dw);
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        if (avx512)
            FC_FN(max_pool_plane_avx512)(out + p * OH * OW, indices + p * OH * OW, x + p * H * W,
                                         H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw);
        else
            FC_FN(max_pool_plane)(out + p * OH * OW, indices + p * OH * OW, x + p * H * W,
                                  H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw);
    }
}

/* One plane of avg_pool2d_forward_naive's work; the inside columns are summed in the
 * output row itself, tap by tap in row-major order (the naive order). */
FC_ALWAYS_INLINE void FC_FN(avg_pool_plane_body)(real *restrict op, const real *restrict xp,
                                                 int64_t H, int64_t W, int64_t OH, int64_t OW,
                                                 int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                                 int64_t ph, int64_t pw,
                                                 int64_t count_include_pad,
                                                 int64_t divisor_override)
{
    int64_t lo, hi;
    inside_columns(&lo, &hi, OW, W, kw, sw, pw);
    for (int64_t oh = 0; oh < OH; oh++) {
        const avg_range rh = avg_window(oh, H, kh, sh, ph);
        real *restrict row = op + oh * OW;
        for (int64_t ow = edge_after(-1, lo, hi); ow < OW; ow = edge_after(ow, lo, hi)) {
            row[ow] = FC_FN(avg_window_mean)(xp, W, rh, avg_window(ow, W, kw, sw, pw),
                                             count_include_pad, divisor_override);
        }
        if (lo == hi) continue;
        const real divisor = (real)avg_divisor(rh, avg_window(lo, W, kw, sw, pw),
                                               count_include_pad, divisor_override);
        for (int64_t ow = lo; ow < hi; ow++) row[ow] = 0;
        for (int64_t ih = rh.begin; ih < rh.end; ih++) {
            for (int64_t j = 0; j < kw; j++) {
                const int64_t tap = ih * W - pw + j;
                for (int64_t ow = lo; ow < hi; ow++) row[ow] += xp[tap + ow * sw];
            }
        }
        for (int64_t ow = lo; ow < hi; ow++) row[ow] = row[ow] / divisor;
    }
}

FC_VECTOR_CLONES
static void FC_FN(avg_pool_plane)(real *restrict op, const real *restrict xp,
                                  int64_t H, int64_t W, int64_t OH, int64_t OW,
                                  int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                  int64_t ph, int64_t pw,
                                  int64_t count_include_pad, int64_t divisor_override)
{
    if (sw == 1)
        FC_FN(avg_pool_plane_body)(op, xp, H, W, OH, OW, kh, kw, sh, 1, ph, pw,
                                   count_include_pad, divisor_override);
    else if (sw == 2)
        FC_FN(avg_pool_plane_body)(op, xp, H, W, OH, OW, kh, kw, sh, 2, ph, pw,
                                   count_include_pad, divisor_override);
    else
        FC_FN(avg_pool_plane_body)(op, xp, H, W, OH, OW, kh, kw, sh, sw, ph, pw,
                                   count_include_pad, divisor_override);
}

/* avg_pool_plane with the inside columns done by avg_pool_row_avx512_f32; only ever
 * called when `real` is float (the casts are no-ops then, and dead code for double). */
static void FC_FN(avg_pool_plane_avx512)(real *restrict op, const real *restrict xp,
                                         int64_t H, int64_t W, int64_t OH, int64_t OW,
                                         int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                         int64_t ph, int64_t pw,
                                         int64_t count_include_pad, int64_t divisor_override)
{
#ifdef FC_POOL_AVX512
    int64_t lo, hi;
    inside_columns(&lo, &hi, OW, W, kw, sw, pw);
    for (int64_t oh = 0; oh < OH; oh++) {
        const avg_range rh = avg_window(oh, H, kh, sh, ph);
        real *restrict row = op + oh * OW;
        for (int64_t ow = edge_after(-1, lo, hi); ow < OW; ow = edge_after(ow, lo, hi)) {
            row[ow] = FC_FN(avg_window_mean)(xp, W, rh, avg_window(ow, W, kw, sw, pw),
                                             count_include_pad, divisor_override);
        }
        if (lo == hi) continue;
        avg_pool_row_avx512_f32((float *)row, (const float *)xp, W, rh.begin, rh.end, kw, sw,
                                pw, lo, hi,
                                avg_divisor(rh, avg_window(lo, W, kw, sw, pw),
                                            count_include_pad, divisor_override));
    }
#else
    FC_FN(avg_pool_plane)(op, xp, H, W, OH, OW, kh, kw, sh, sw, ph, pw, count_include_pad,
                          divisor_override);
#endif
}

/* out: (planes, OH, OW) OUT;  x: (planes, H, W) IN.  As avg_pool2d_forward_naive. */
void FC_FN(avg_pool2d_forward)(real *restrict out, const real *restrict x,
                               int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                               int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                               int64_t ph, int64_t pw,
                               int64_t count_include_pad, int64_t divisor_override,
                               int num_threads)
{
    const int avx512 = sizeof(real) == sizeof(float) && use_avx512_f32();
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        if (avx512)
            FC_FN(avg_pool_plane_avx512)(out + p * OH * OW, x + p * H * W, H, W, OH, OW, kh, kw,
                                         sh, sw, ph, pw, count_include_pad, divisor_override);
        else
            FC_FN(avg_pool_plane)(out + p * OH * OW, x + p * H * W, H, W, OH, OW, kh, kw, sh, sw,
                                  ph, pw, count_include_pad, divisor_override);
    }
}

/* One plane of avg_pool2d_backward_naive's work when windows do not overlap
 * (stride >= kernel on both axes): every input then receives at most one share, so
 * the order of the scatter cannot change a bit, and it can run along output rows. */
FC_ALWAYS_INLINE void FC_FN(avg_pool_backward_plane_body)(
        real *restrict gx, const real *restrict go,
        int64_t H, int64_t W, int64_t OH, int64_t OW,
        int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
        int64_t count_include_pad, int64_t divisor_override)
{
    int64_t lo, hi;
    inside_columns(&lo, &hi, OW, W, kw, sw, pw);
    for (int64_t i = 0; i < H * W; i++) gx[i] = 0;
    for (int64_t oh = 0; oh < OH; oh++) {
        const avg_range rh = avg_window(oh, H, kh, sh, ph);
        const real *restrict grad_row = go + oh * OW;
        for (int64_t ow = edge_after(-1, lo, hi); ow < OW; ow = edge_after(ow, lo, hi)) {
            FC_FN(avg_window_scatter)(gx, W, grad_row[ow], rh, avg_window(ow, W, kw, sw, pw),
                                      count_include_pad, divisor_override);
        }
        if (lo == hi) continue;
        const real divisor = (real)avg_divisor(rh, avg_window(lo, W, kw, sw, pw),
                                               count_include_pad, divisor_override);
        for (int64_t ih = rh.begin; ih < rh.end; ih++) {
            real *restrict gx_row = gx + ih * W - pw;
            for (int64_t ow = lo; ow < hi; ow++) {
                const real share = grad_row[ow] / divisor;
                for (int64_t j = 0; j < kw; j++) gx_row[ow * sw + j] += share;
            }
        }
    }
}

FC_VECTOR_CLONES
static void FC_FN(avg_pool_backward_plane)(real *restrict gx, const real *restrict go,
                                           int64_t H, int64_t W, int64_t OH, int64_t OW,
                                           int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                           int64_t ph, int64_t pw,
                                           int64_t count_include_pad, int64_t divisor_override)
{
    if (kw == 2 && sw == 2)
        FC_FN(avg_pool_backward_plane_body)(gx, go, H, W, OH, OW, kh, 2, sh, 2, ph, pw,
                                            count_include_pad, divisor_override);
    else
        FC_FN(avg_pool_backward_plane_body)(gx, go, H, W, OH, OW, kh, kw, sh, sw, ph, pw,
                                            count_include_pad, divisor_override);
}

/* grad_x: (planes, H, W) OUT;  grad_out: (planes, OH, OW) IN.  As
 * avg_pool2d_backward_naive (which overlapping windows still use: their shares must
 * add up in the naive order). */
void FC_FN(avg_pool2d_backward)(real *restrict grad_x, const real *restrict grad_out,
                                int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                int64_t ph, int64_t pw,
                                int64_t count_include_pad, int64_t divisor_override,
                                int num_threads)
{
    if (sh < kh || sw < kw) {
        FC_FN(avg_pool2d_backward_naive)(grad_x, grad_out, planes, H, W, OH, OW, kh, kw, sh, sw,
                                         ph, pw, count_include_pad, divisor_override,
                                         num_threads);
        return;
    }
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p++)
        FC_FN(avg_pool_backward_plane)(grad_x + p * H * W, grad_out + p * OH * OW, H, W, OH, OW,
                                       kh, kw, sh, sw, ph, pw, count_include_pad,
                                       divisor_override);
}

/* The sum of n values in a fixed order: ACCUMULATORS interleaved partial sums (value i
 * goes to partial i % ACCUMULATORS), added pairwise at the end. Independent partials
 * let the loop vectorise without -ffast-math; the order depends on n only. */
#define POOL_ACCUMULATORS 16
FC_ALWAYS_INLINE real FC_FN(sum_interleaved)(const real *restrict v, int64_t n)
{
    real partial[POOL_ACCUMULATORS] = {0};
    int64_t i = 0;
    for (; i + POOL_ACCUMULATORS <= n; i += POOL_ACCUMULATORS)
        for (int k = 0; k < POOL_ACCUMULATORS; k++) partial[k] += v[i + k];
    for (int k = 0; i < n; i++, k++) partial[k] += v[i];
    for (int width = POOL_ACCUMULATORS / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++) partial[k] += partial[k + width];
    return partial[0];
}

/* Global average pooling (OH = OW = 1) of a block of planes: whole-plane sums. */
FC_VECTOR_CLONES
static void FC_FN(global_avg_pool_planes)(real *restrict out, const real *restrict x,
                                          int64_t planes, int64_t S)
{
    for (int64_t p = 0; p < planes; p++)
        out[p] = FC_FN(sum_interleaved)(x + p * S, S) / (real)S;
}

/* out: (planes, OH, OW) OUT;  x: (planes, H, W) IN.  As adaptive_avg_pool2d_forward_naive,
 * except that a global pool (OH = OW = 1) sums in sum_interleaved's order, not row-major:
 * the same value up to rounding, still independent of the thread count. Planes go to
 * threads in blocks, so the per-call cost of a worker is paid per block, not per plane. */
void FC_FN(adaptive_avg_pool2d_forward)(real *restrict out, const real *restrict x,
                                        int64_t planes, int64_t H, int64_t W,
                                        int64_t OH, int64_t OW, int num_threads)
{
    if (OH != 1 || OW != 1) {
        FC_FN(adaptive_avg_pool2d_forward_naive)(out, x, planes, H, W, OH, OW, num_threads);
        return;
    }
    const int64_t block = 256;
    const int avx512 = sizeof(real) == sizeof(float) && use_avx512_f32();
    (void)avx512;  /* unused without the AVX-512 loops */
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p += block) {
#ifdef FC_POOL_AVX512
        if (avx512) {  /* only ever true for float: the casts are no-ops then */
            global_avg_pool_planes_avx512_f32((float *)(out + p), (const float *)(x + p * H * W),
                                              fc_min(block, planes - p), H * W);
            continue;
        }
#endif
        FC_FN(global_avg_pool_planes)(out + p, x + p * H * W, fc_min(block, planes - p), H * W);
    }
}

/* Global average pooling backward of a block of planes: each gradient spread evenly. */
FC_VECTOR_CLONES
static void FC_FN(global_avg_pool_backward_planes)(real *restrict gx, const real *restrict go,
                                                   int64_t planes, int64_t S)
{
    for (int64_t p = 0; p < planes; p++) {
        const real share = go[p] / (real)S;
        for (int64_t i = 0; i < S; i++) gx[p * S + i] = share;
    }
}

/* grad_x: (planes, H, W) OUT;  grad_out: (planes, OH, OW) IN.  As
 * adaptive_avg_pool2d_backward_naive (a global pool's one bin covers each input once, so
 * writing the share equals adding it to zero). */
void FC_FN(adaptive_avg_pool2d_backward)(real *restrict grad_x, const real *restrict grad_out,
                                         int64_t planes, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW, int num_threads)
{
    if (OH != 1 || OW != 1) {
        FC_FN(adaptive_avg_pool2d_backward_naive)(grad_x, grad_out, planes, H, W, OH, OW,
                                                  num_threads);
        return;
    }
    const int64_t block = 256;
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p += block)
        FC_FN(global_avg_pool_backward_planes)(grad_x + p * H * W, grad_out + p,
                                               fc_min(block, planes - p), H * W);
}
#undef POOL_ACCUMULATORS
