/* Direct kernels for layers whose GEMMs would be too thin (depthwise and other small
 * groups; the rule is use_direct in conv_gemm_impl.h), over `real`. Parallel over output
 * planes or filters, innermost loops along the contiguous ow axis with a unit-stride
 * version gcc vectorises. Their backward-data twin is conv2d_backward_data_direct.
 * Like the GEMM, they flush denormals (denormals.h) while they work, per output plane or
 * filter, so the thread's own mode is back in place between items: a filter or gradient
 * decaying towards zero would otherwise send its multiply-adds down the ~100x slower
 * microcoded path. */
#include "denormals.h"
#include "vector_clones.h"

/* out: (N, OC, OH, OW) OUT;  x: (N, C, H, W) IN;  w: (OC, C/groups, KH, KW) IN;
 * bias: (OC,) IN or NULL;  relu: 1 for max(0, .) of the result (NaN kept).
 * One thread owns each (n, oc) plane and builds it one output row at a time (the row stays
 * in L1 while every tap of the group is added), in the order c, kh, kw. */
void FC_FN(conv2d_forward_depthwise)(real *restrict out, const real *restrict x,
                                     const real *restrict w, const real *restrict bias, int relu,
                                     int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                     int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                     int64_t pad_left, int64_t dilation_h, int64_t dilation_w,
                                     int64_t groups, int num_threads)
{
    const int64_t in_per_group = C / groups;
    const int64_t out_per_group = OC / groups;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t plane = 0; plane < N * OC; plane++) {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        const int64_t n = plane / OC;
        const int64_t oc = plane % OC;
        const int64_t first_c = (oc / out_per_group) * in_per_group;
        int64_t ow_first[KW], ow_end[KW];
        for (int64_t kw = 0; kw < KW; kw++)
            valid_outputs(kw * dilation_w - pad_left, stride_w, W, OW, &ow_first[kw], &ow_end[kw]);
        for (int64_t oh = 0; oh < OH; oh++) {
            real *restrict out_row = out + plane * OH * OW + oh * OW;
            const real start = bias ? bias[oc] : 0;
            for (int64_t ow = 0; ow < OW; ow++)
                out_row[ow] = start;
            for (int64_t c = 0; c < in_per_group; c++) {
                const real *filter = w + (oc * in_per_group + c) * KH * KW;
                for (int64_t kh = 0; kh < KH; kh++) {
                    const int64_t ih = oh * stride_h + kh * dilation_h - pad_top;
                    if (ih < 0 || ih >= H)
                        continue;
                    const real *x_row = x + ((n * C + first_c + c) * H + ih) * W;
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const real tap = filter[kh * KW + kw];
                        const real *restrict x_tap = x_row + kw * dilation_w - pad_left;
                        if (stride_w == 1) {
                            for (int64_t ow = ow_first[kw]; ow < ow_end[kw]; ow++)
                                out_row[ow] += tap * x_tap[ow];
                        } else {
                            for (int64_t ow = ow_first[kw]; ow < ow_end[kw]; ow++)
                                out_row[ow] += tap * x_tap[ow * stride_w];
                        }
                    }
                }
            }
            if (relu)
                for (int64_t ow = 0; ow < OW; ow++)
                    out_row[ow] = out_row[ow] > 0 || out_row[ow] != out_row[ow] ? out_row[ow] : 0;
        }
        fc_flush_denormals_end(caller_mode);
    }
}

/* The sum of one channel's N planes of P values, `stride` apart: 32 fixed lanes run through
 * the planes in order (a plane's last P % 32 values in the first lanes), then are added in
 * lane order. One fold per channel, not per plane, and two vectors of lanes: the per-plane
 * fold was most of a 121-value plane's time (11x11 outputs: 82 us for 64 x 64 planes). */
FC_VECTOR_CLONES
static real FC_FN(channel_sum)(const real *restrict planes, int64_t stride, int64_t N,
                               int64_t P)
{
    enum { BIAS_LANES = 32 };
    real lanes[BIAS_LANES] = { 0 };
    const int64_t whole = P - P % BIAS_LANES;
    for (int64_t n = 0; n < N; n++) {
        const real *restrict plane = planes + n * stride;
        for (int64_t i = 0; i < whole; i += BIAS_LANES)
            for (int l = 0; l < BIAS_LANES; l++)
                lanes[l] += plane[i + l];
        for (int l = 0; l < BIAS_LANES; l++)
            lanes[l] += whole + l < P ? plane[whole + l] : 0;
    }
    real sum = 0;
    for (int l = 0; l < BIAS_LANES; l++)
        sum += lanes[l];
    return sum;
}

/* grad_bias: (OC,) OUT;  grad_out: (N, OC, P) IN. One thread owns each channel's sum. */
static void FC_FN(bias_gradient)(real *restrict grad_bias, const real *restrict grad_out,
                                 int64_t N, int64_t OC, int64_t P, int num_threads)
{
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t oc = 0; oc < OC; oc++) {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        grad_bias[oc] = FC_FN(channel_sum)(grad_out + oc * P, OC * P, N, P);
        fc_flush_denormals_end(caller_mode);
    }
}

/* grad_w: (OC, C/groups, KH, KW) OUT;  grad_bias: (OC,) OUT, or NULL to skip it;
 * grad_out: (N, OC, OH, OW) IN;  x: (N, C, H, W) IN.
 * One thread owns each (oc, c) filter. A tap's gradient, a sum over n, oh, ow, goes into 16
 * lanes by ow position (a loop that vectorises) added in lane order at the end: the order
 * depends on the shapes alone. */
void FC_FN(conv2d_backward_weight_depthwise)(real *restrict grad_w, real *restrict grad_bias,
                                             const real *restrict grad_out, const real *restrict x,
                                             int64_t N, int64_t C, int64_t H, int64_t W,
                                             int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                             int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                             int64_t pad_left, int64_t dilation_h, int64_t dilation_w,
                                             int64_t groups, int num_threads)
{
    const int64_t in_per_group = C / groups;
    const int64_t out_per_group = OC / groups;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t filter_index = 0; filter_index < OC * in_per_group; filter_index++) {
        const fc_fp_mode caller_mode = fc_flush_denormals_begin();
        const int64_t oc = filter_index / in_per_group;
        const int64_t c = (oc / out_per_group) * in_per_group + filter_index % in_per_group;
        for (int64_t kh = 0; kh < KH; kh++) {
            const int64_t offset_h = kh * dilation_h - pad_top;
            int64_t oh_first, oh_end;
            valid_outputs(offset_h, stride_h, H, OH, &oh_first, &oh_end);
            for (int64_t kw = 0; kw < KW; kw++) {
                const int64_t offset_w = kw * dilation_w - pad_left;
                int64_t a, b;
                valid_outputs(offset_w, stride_w, W, OW, &a, &b);
                real lanes[16] = { 0 };
                for (int64_t n = 0; n < N; n++)
                    for (int64_t oh = oh_first; oh < oh_end; oh++) {
                        const real *restrict g = grad_out + ((n * OC + oc) * OH + oh) * OW;
                        const real *restrict x_tap = x + ((n * C + c) * H + oh * stride_h + offset_h) * W
                                                     + offset_w;
                        int64_t ow = a;
                        if (stride_w == 1) {
                            for (; ow + 16 <= b; ow += 16)
                                for (int l = 0; l < 16; l++)
                                    lanes[l] += g[ow + l] * x_tap[ow + l];
                        } else {
                            for (; ow + 16 <= b; ow += 16)
                                for (int l = 0; l < 16; l++)
                                    lanes[l] += g[ow + l] * x_tap[(ow + l) * stride_w];
                        }
                        for (int l = 0; ow < b; ow++, l++)
                            lanes[l] += g[ow] * x_tap[ow * stride_w];
                    }
                real sum = 0;
                for (int l = 0; l < 16; l++)
                    sum += lanes[l];
                grad_w[filter_index * KH * KW + kh * KW + kw] = sum;
            }
        }
        fc_flush_denormals_end(caller_mode);
    }
    if (grad_bias)
        FC_FN(bias_gradient)(grad_bias, grad_out, N, OC, OH * OW, num_threads);
}
