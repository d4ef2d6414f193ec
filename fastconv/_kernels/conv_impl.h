/* Direct convolution kernels over `real`; conv.c includes this file once per precision.
 * They are the naive twins of the GEMM kernels (conv_gemm_impl.h): obvious loops that the
 * tests hold the fast paths to, and the reason the fast paths may be clever.
 * Within a group, input channel c of x meets filter channel c - first_c of weight,
 * where first_c = (oc / out_per_group) * in_per_group. */

/* out: (N, OC, OH, OW) OUT;  x: (N, C, H, W) IN;  w: (OC, C/groups, KH, KW) IN;
 * bias: (OC,) IN (zeros when the layer has none, so there is one code path).
 * One thread owns each (n, oc) output plane and adds its terms in the order c, kh, kw, oh, ow:
 * every element is the same sum for any thread count. The innermost loop runs along ow,
 * the contiguous axis of out. */
void FC_FN(conv2d_forward_direct)(real *restrict out, const real *restrict x, const real *restrict w,
                           const real *restrict bias,
                           int64_t N, int64_t C, int64_t H, int64_t W,
                           int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                           int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                           int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
{
    const int64_t in_per_group = C / groups;
    const int64_t out_per_group = OC / groups;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t plane = 0; plane < N * OC; plane++) {
        const int64_t n = plane / OC;
        const int64_t oc = plane % OC;
        const int64_t first_c = (oc / out_per_group) * in_per_group;
        real *restrict out_plane = out + plane * OH * OW;
        for (int64_t i = 0; i < OH * OW; i++)
            out_plane[i] = bias[oc];
        for (int64_t c = 0; c < in_per_group; c++) {
            const real *x_plane = x + (n * C + first_c + c) * H * W;
            const real *filter = w + (oc * in_per_group + c) * KH * KW;
            for (int64_t kh = 0; kh < KH; kh++) {
                const int64_t offset_h = kh * dilation_h - pad_top;
                int64_t oh_first, oh_end;
                valid_outputs(offset_h, stride_h, H, OH, &oh_first, &oh_end);
                for (int64_t kw = 0; kw < KW; kw++) {
                    const int64_t offset_w = kw * dilation_w - pad_left;
                    int64_t ow_first, ow_end;
                    valid_outputs(offset_w, stride_w, W, OW, &ow_first, &ow_end);
                    const real tap = filter[kh * KW + kw];
                    for (int64_t oh = oh_first; oh < oh_end; oh++) {
                        real *restrict out_row = out_plane + oh * OW;
                        const real *restrict x_row = x_plane + (oh * stride_h + offset_h) * W;
                        for (int64_t ow = ow_first; ow < ow_end; ow++)
                            out_row[ow] += tap * x_row[ow * stride_w + offset_w];
                    }
                }
            }
        }
    }
}

/* grad_x: (N, C, H, W) OUT;  grad_out: (N, OC, OH, OW) IN;  w: (OC, C/groups, KH, KW) IN.
 * The adjoint of the forward: each output gradient flows back to the inputs its taps read.
 * One thread owns each (n, c) input plane, zeroes it, and scatters into it in the order
 * oc, kh, kw, oh, ow, so no other thread writes there and the sums are fixed. */
void FC_FN(conv2d_backward_data_direct)(real *restrict grad_x, const real *restrict grad_out,
                                 const real *restrict w,
                                 int64_t N, int64_t C, int64_t H, int64_t W,
                                 int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                 int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                 int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
{
    const int64_t in_per_group = C / groups;
    const int64_t out_per_group = OC / groups;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t plane = 0; plane < N * C; plane++) {
        const int64_t n = plane / C;
        const int64_t c = plane % C;
        const int64_t first_oc = (c / in_per_group) * out_per_group;
        const int64_t c_in_group = c % in_per_group;
        real *restrict grad_plane = grad_x + plane * H * W;
        for (int64_t i = 0; i < H * W; i++)
            grad_plane[i] = 0;
        for (int64_t j = 0; j < out_per_group; j++) {
            const int64_t oc = first_oc + j;
            const real *grad_out_plane = grad_out + (n * OC + oc) * OH * OW;
            const real *filter = w + (oc * in_per_group + c_in_group) * KH * KW;
            for (int64_t kh = 0; kh < KH; kh++) {
                const int64_t offset_h = kh * dilation_h - pad_top;
                int64_t oh_first, oh_end;
                valid_outputs(offset_h, stride_h, H, OH, &oh_first, &oh_end);
                for (int64_t kw = 0; kw < KW; kw++) {
                    const int64_t offset_w = kw * dilation_w - pad_left;
                    int64_t ow_first, ow_end;
                    valid_outputs(offset_w, stride_w, W, OW, &ow_first, &ow_end);
                    const real tap = filter[kh * KW + kw];
                    for (int64_t oh = oh_first; oh < oh_end; oh++) {
                        real *restrict grad_row = grad_plane + (oh * stride_h + offset_h) * W;
                        const real *restrict grad_out_row = grad_out_plane + oh * OW;
                        for (int64_t ow = ow_first; ow < ow_end; ow++)
                            grad_row[ow * stride_w + offset_w] += tap * grad_out_row[ow];
                    }
                }
            }
        }
    }
}

/* grad_w: (OC, C/groups, KH, KW) OUT;  grad_bias: (OC,) OUT;
 * row_sums: (num_threads, OW) SCRATCH, one row per thread, contents ignored;
 * grad_out: (N, OC, OH, OW) IN;  x: (N, C, H, W) IN.
 * One thread owns each (oc, c) filter. A tap's gradient is a sum over n, oh, ow: adding over
 * n and oh first into one partial sum per ow (a loop along ow that vectorises, unlike a
 * single running sum) and then over ow fixes the order by the shapes alone, never by the
 * thread count. Each bias gradient is likewise one thread's sum over n, oh, ow. */
void FC_FN(conv2d_backward_weight_direct)(real *restrict grad_w, real *restrict grad_bias,
                                   real *restrict row_sums,
                                   const real *restrict grad_out, const real *restrict x,
                                   int64_t N, int64_t C, int64_t H, int64_t W,
                                   int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                   int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                   int64_t dilation_h, int64_t dilation_w, int64_t groups, int num_threads)
{
    const int64_t in_per_group = C / groups;
    const int64_t out_per_group = OC / groups;
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t filter_index = 0; filter_index < OC * in_per_group; filter_index++) {
        const int64_t oc = filter_index / in_per_group;
        const int64_t c = (oc / out_per_group) * in_per_group + filter_index % in_per_group;
        real *restrict grad_filter = grad_w + filter_index * KH * KW;
        real *restrict partial = row_sums + thread_index() * OW;
        for (int64_t kh = 0; kh < KH; kh++) {
            const int64_t offset_h = kh * dilation_h - pad_top;
            int64_t oh_first, oh_end;
            valid_outputs(offset_h, stride_h, H, OH, &oh_first, &oh_end);
            for (int64_t kw = 0; kw < KW; kw++) {
                const int64_t offset_w = kw * dilation_w - pad_left;
                int64_t ow_first, ow_end;
                valid_outputs(offset_w, stride_w, W, OW, &ow_first, &ow_end);
                for (int64_t ow = ow_first; ow < ow_end; ow++)
                    partial[ow] = 0;
                for (int64_t n = 0; n < N; n++) {
                    const real *grad_out_plane = grad_out + (n * OC + oc) * OH * OW;
                    const real *x_plane = x + (n * C + c) * H * W;
                    for (int64_t oh = oh_first; oh < oh_end; oh++) {
                        const real *grad_out_row = grad_out_plane + oh * OW;
                        const real *x_row = x_plane + (oh * stride_h + offset_h) * W;
                        /* gcc vectorises this loop only where it can see the unit stride
                         * (about twice as fast at stride 1, measured). */
                        if (stride_w == 1) {
                            for (int64_t ow = ow_first; ow < ow_end; ow++)
                                partial[ow] += grad_out_row[ow] * x_row[ow + offset_w];
                        } else {
                            for (int64_t ow = ow_first; ow < ow_end; ow++)
                                partial[ow] += grad_out_row[ow] * x_row[ow * stride_w + offset_w];
                        }
                    }
                }
                real sum = 0;
                for (int64_t ow = ow_first; ow < ow_end; ow++)
                    sum += partial[ow];
                grad_filter[kh * KW + kw] = sum;
            }
        }
    }
    #pragma omp parallel for num_threads(num_threads) schedule(static)
    for (int64_t oc = 0; oc < OC; oc++) {
        real sum = 0;
        for (int64_t n = 0; n < N; n++) {
            const real *grad_out_plane = grad_out + (n * OC + oc) * OH * OW;
            for (int64_t i = 0; i < OH * OW; i++)
                sum += grad_out_plane[i];
        }
        grad_bias[oc] = sum;
    }
}
