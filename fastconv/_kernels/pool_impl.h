/* Pooling kernel bodies over `real`; pool.c includes this file once per precision.
 *
 * Every kernel runs one OpenMP thread per (n, c) plane: a plane's outputs (and, in the
 * backward kernels, its gradient) are written by one thread in a fixed order, so the
 * backward scatters need no atomics and the bits do not depend on the thread count.
 *
 * The `_naive` kernels are the direct loops, one output element at a time: the twins
 * the tests hold the fast kernels (pool_fast_impl.h) to. */
#include <math.h>
#include "vector_clones.h"

#ifndef FC_POOL_HELPERS
#define FC_POOL_HELPERS
/* Window geometry does not depend on `real`, so it is defined once for both precisions. */

/* Whether a pooling call over `planes` planes moves enough values to share out: 2^16
 * values in and out, about where batch-norm and the activations start sharing (32768).
 * Measured at 2 threads against a 2^20 threshold (alternating, Zen 4 guest, otherwise
 * idle): 2x2 max pools of LeNet-5 and simple-CNN sizes (64x6x28x28 to 64x64x11x11)
 * 0.53-0.64x the time forward and backward; training steps of LeNet-5 0.95-0.96x, of the
 * simple CNN 0.98-0.99x. A worker whose core is busy with another process can take
 * milliseconds to wake (a 0.06 ms global average pool once took 4-6 ms at 2 threads on
 * this 2-core machine under load); that holds for every threaded kernel, so pooling no
 * longer stays serial on its own. Each plane's results are the same whichever thread
 * computes them. */
static inline int pool_worth_threads(int64_t planes, int64_t H, int64_t W, int64_t OH,
                                     int64_t OW)
{
    return planes * (H * W + OH * OW) >= ((int64_t)1 << 16);
}

static inline int64_t fc_min(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t fc_max(int64_t a, int64_t b) { return a > b ? a : b; }

/* The first tap start, start + dilation, ... that is not in the left padding. */
static inline int64_t first_tap_inside(int64_t start, int64_t dilation)
{
    if (start >= 0) return start;
    return start + (-start + dilation - 1) / dilation * dilation;
}

/* An average-pool window along one axis: the input positions [begin, end) it sums, and
 * its length counting padding (PyTorch's pool_size factor: the window cut at the end of
 * the right padding, which only ceil_mode windows reach past). */
typedef struct { int64_t begin, end, padded_length; } avg_range;

static inline avg_range avg_window(int64_t o, int64_t size, int64_t kernel, int64_t stride,
                                   int64_t padding)
{
    int64_t begin = o * stride - padding;
    int64_t end = fc_min(begin + kernel, size + padding);
    avg_range r = { fc_max(begin, 0), fc_min(end, size), end - begin };
    return r;
}

static inline int64_t avg_divisor(avg_range h, avg_range w, int64_t count_include_pad,
                                  int64_t divisor_override)
{
    if (divisor_override != 0) return divisor_override;
    if (count_include_pad) return h.padded_length * w.padded_length;
    return (h.end - h.begin) * (w.end - w.begin);
}

/* Adaptive bins: [floor(i*size/out), ceil((i+1)*size/out)). */
static inline int64_t bin_begin(int64_t i, int64_t size, int64_t out) { return i * size / out; }
static inline int64_t bin_end(int64_t i, int64_t size, int64_t out)
{
    return ((i + 1) * size + out - 1) / out;
}
#endif

/* One max-pool output: the maximum of the taps h_first, h_first + dh, ... < h_end by
 * w_first, w_first + dw, ... < w_end of plane xp, scanned in row-major order: a later tap
 * wins only if it is strictly greater (ties keep the first) or NaN (so NaN propagates, as
 * in PyTorch). */
static inline void FC_FN(max_window)(real *restrict out, int64_t *restrict index,
                                     const real *restrict xp, int64_t W,
                                     int64_t h_first, int64_t h_end, int64_t dh,
                                     int64_t w_first, int64_t w_end, int64_t dw)
{
    real best = -INFINITY;
    int64_t best_index = h_first * W + w_first;
    for (int64_t ih = h_first; ih < h_end; ih += dh) {
        for (int64_t iw = w_first; iw < w_end; iw += dw) {
            real v = xp[ih * W + iw];
            if (v > best || isnan(v)) {
                best = v;
                best_index = ih * W + iw;
            }
        }
    }
    *out = best;
    *index = best_index;
}

/* out: (planes, OH, OW) OUT;  indices: (planes, OH, OW) OUT, flat h*W + w in the plane;
 * x: (planes, H, W) IN.  Each window's maximum as max_window picks it.
 * The caller guarantees every window holds at least one input position. */
void FC_FN(max_pool2d_forward_naive)(real *restrict out, int64_t *restrict indices,
                                     const real *restrict x,
                                     int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                     int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                     int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                                     int num_threads)
{
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        const real *xp = x + p * H * W;
        real *op = out + p * OH * OW;
        int64_t *ip = indices + p * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t h_start = oh * sh - ph;
            int64_t h_first = first_tap_inside(h_start, dh);
            int64_t h_end = fc_min(h_start + (kh - 1) * dh + 1, H);
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t w_start = ow * sw - pw;
                int64_t w_first = first_tap_inside(w_start, dw);
                int64_t w_end = fc_min(w_start + (kw - 1) * dw + 1, W);
                FC_FN(max_window)(&op[oh * OW + ow], &ip[oh * OW + ow], xp, W,
                                  h_first, h_end, dh, w_first, w_end, dw);
            }
        }
    }
}

/* grad_x: (planes, H, W) OUT;  grad_out: (planes, OH, OW) IN;  indices: (planes, OH, OW)
 * IN, flat h*W + w in the plane. Returns how many indices fall outside [0, H*W) (those are
 * skipped, so a bad index never writes out of bounds). Windows may overlap, so several
 * outputs can route their gradient to one input. The range check rides along with the
 * scatter: the caller need not read the indices again to validate them, nor reduce a
 * per-plane array (a NumPy reduction, 11-22 us a call inside a training step), and raises
 * when the count is nonzero. */
int64_t FC_FN(max_pool2d_backward)(real *restrict grad_x, const real *restrict grad_out,
                                   const int64_t *restrict indices,
                                   int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                   int num_threads)
{
    const uint64_t plane_size = (uint64_t)(H * W);
    int64_t bad = 0;   /* a count: its sum is the same in any order */
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static) reduction(+:bad)
    for (int64_t p = 0; p < planes; p++) {
        real *restrict gx = grad_x + p * H * W;
        const real *restrict go = grad_out + p * OH * OW;
        const int64_t *restrict ip = indices + p * OH * OW;
        for (int64_t i = 0; i < H * W; i++) gx[i] = 0;
        for (int64_t j = 0; j < OH * OW; j++) {
            /* one unsigned comparison: a negative index wraps to a huge value */
            if ((uint64_t)ip[j] < plane_size)
                gx[ip[j]] += go[j];
            else
                bad++;
        }
    }
    return bad;
}

/* One average-pool output: the sum of window rh x rw of plane xp in row-major order,
 * over its divisor. */
static inline real FC_FN(avg_window_mean)(const real *restrict xp, int64_t W,
                                          avg_range rh, avg_range rw,
                                          int64_t count_include_pad, int64_t divisor_override)
{
    real sum = 0;
    for (int64_t ih = rh.begin; ih < rh.end; ih++)
        for (int64_t iw = rw.begin; iw < rw.end; iw++)
            sum += xp[ih * W + iw];
    return sum / (real)avg_divisor(rh, rw, count_include_pad, divisor_override);
}

/* out: (planes, OH, OW) OUT;  x: (planes, H, W) IN.
 * divisor_override == 0 means none (the caller refuses an override of 0). */
void FC_FN(avg_pool2d_forward_naive)(real *restrict out, const real *restrict x,
                                     int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                     int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                     int64_t ph, int64_t pw,
                                     int64_t count_include_pad, int64_t divisor_override,
                                     int num_threads)
{
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        const real *xp = x + p * H * W;
        real *op = out + p * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++) {
            avg_range rh = avg_window(oh, H, kh, sh, ph);
            for (int64_t ow = 0; ow < OW; ow++)
                op[oh * OW + ow] = FC_FN(avg_window_mean)(xp, W, rh, avg_window(ow, W, kw, sw, pw),
                                                          count_include_pad, divisor_override);
        }
    }
}

/* Adds one output's gradient share to every input of its window rh x rw in plane gx. */
static inline void FC_FN(avg_window_scatter)(real *restrict gx, int64_t W, real grad,
                                             avg_range rh, avg_range rw,
                                             int64_t count_include_pad, int64_t divisor_override)
{
    real share = grad / (real)avg_divisor(rh, rw, count_include_pad, divisor_override);
    for (int64_t ih = rh.begin; ih < rh.end; ih++)
        for (int64_t iw = rw.begin; iw < rw.end; iw++)
            gx[ih * W + iw] += share;
}

/* grad_x: (planes, H, W) OUT;  grad_out: (planes, OH, OW) IN.
 * Scatters each output's share back over its window, outputs in row-major order. */
void FC_FN(avg_pool2d_backward_naive)(real *restrict grad_x, const real *restrict grad_out,
                                      int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                      int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                      int64_t ph, int64_t pw,
                                      int64_t count_include_pad, int64_t divisor_override,
                                      int num_threads)
{
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        real *gx = grad_x + p * H * W;
        const real *go = grad_out + p * OH * OW;
        for (int64_t i = 0; i < H * W; i++) gx[i] = 0;
        for (int64_t oh = 0; oh < OH; oh++) {
            avg_range rh = avg_window(oh, H, kh, sh, ph);
            for (int64_t ow = 0; ow < OW; ow++)
                FC_FN(avg_window_scatter)(gx, W, go[oh * OW + ow], rh,
                                          avg_window(ow, W, kw, sw, pw),
                                          count_include_pad, divisor_override);
        }
    }
}

/* out: (planes, OH, OW) OUT;  x: (planes, H, W) IN. */
void FC_FN(adaptive_avg_pool2d_forward_naive)(real *restrict out, const real *restrict x,
                                        int64_t planes, int64_t H, int64_t W,
                                        int64_t OH, int64_t OW, int num_threads)
{
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        const real *xp = x + p * H * W;
        real *op = out + p * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t h0 = bin_begin(oh, H, OH), h1 = bin_end(oh, H, OH);
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t w0 = bin_begin(ow, W, OW), w1 = bin_end(ow, W, OW);
                real sum = 0;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++)
                        sum += xp[ih * W + iw];
                op[oh * OW + ow] = sum / (real)((h1 - h0) * (w1 - w0));
            }
        }
    }
}

/* grad_x: (planes, H, W) OUT;  grad_out: (planes, OH, OW) IN.
 * Bins overlap when a size does not divide evenly, hence the scatter-add. */
void FC_FN(adaptive_avg_pool2d_backward_naive)(real *restrict grad_x, const real *restrict grad_out,
                                         int64_t planes, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW, int num_threads)
{
    #pragma omp parallel for if(pool_worth_threads(planes, H, W, OH, OW)) \
        num_threads(num_threads) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        real *gx = grad_x + p * H * W;
        const real *go = grad_out + p * OH * OW;
        for (int64_t i = 0; i < H * W; i++) gx[i] = 0;
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t h0 = bin_begin(oh, H, OH), h1 = bin_end(oh, H, OH);
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t w0 = bin_begin(ow, W, OW), w1 = bin_end(ow, W, OW);
                real share = go[oh * OW + ow] / (real)((h1 - h0) * (w1 - w0));
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++)
                        gx[ih * W + iw] += share;
            }
        }
    }
}

#include "pool_fast_impl.h"
