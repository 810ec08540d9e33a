// CUDA edge softmax, fused: one warp per (target row, head). Lanes stride the row's edges. The forward is an
// online softmax (Milakov & Gimelshein 2018): each lane keeps a running max and a sum rescaled to it, the warp
// combines the (max, sum) pairs with shuffles, and a second pass writes exp(s - max) / sum: two passes over the
// scores, one exp per score per pass. Backward: grad_s = y * (g - sum_row(y * g)) the same way.
// eid and rowptr are range-checked in the kernel (error flag, errors.cu): no host sync before the launch.
#include <torch/library.h>

#include "../include/validate.h"
#include "common.cuh"

namespace graphkit {
namespace cuda {
namespace {

// The edge id of CSR position k, checked (a bad one reads position 0 of a non-empty score array instead).
template <typename index_t>
__device__ __forceinline__ int64_t edge_of(const index_t* eid, int64_t k, int64_t E, DeviceError* err) {
  if (!eid) return k;
  const int64_t e = eid[k];
  return check_index(err, kEid, e, E) ? e : 0;
}

// A running sum taken relative to max m, re-expressed relative to mm >= m. A zero sum stays zero (also when
// m = mm = -inf, where exp(m - mm) would be NaN); a NaN sum stays NaN (NaN scores make the row NaN, as in torch).
template <typename acc>
__device__ __forceinline__ acc rescale(acc sum, acc m, acc mm) {
  return sum == acc(0) ? acc(0) : sum * exp(m - mm);
}

template <typename scalar_t, typename index_t>
__global__ void __launch_bounds__(kBlock) softmax_fwd_kernel(const index_t* __restrict__ rowptr,
                                                            const index_t* __restrict__ eid,
                                                            const scalar_t* __restrict__ s, scalar_t* __restrict__ y,
                                                            int64_t rows, int64_t H, int64_t E, DeviceError* err) {
  using acc = acc_t<scalar_t>;
  constexpr acc kNegInf = -std::numeric_limits<acc>::infinity();
  const int64_t wid = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (wid >= rows * H) return;
  const int64_t row = wid / H, h = wid % H;
  const int lane = threadIdx.x;
  int64_t b = rowptr[row], e = rowptr[row + 1];
  if (b < 0 || e > E || e < b) b = e = 0;  // reported by the rowptr check
  acc m = kNegInf, sum = 0;
  for (int64_t k = b + lane; k < e; k += kWarp) {
    const acc v = acc(s[edge_of(eid, k, E, err) * H + h]);
    if (v > m) {
      sum = rescale(sum, m, v);
      m = v;
    }
    // -inf scores add nothing (an all -inf row then gives 0/0 = NaN, as torch's softmax does); NaN propagates
    sum += v == kNegInf ? acc(0) : exp(v - m);
  }
#pragma unroll
  for (int o = kWarp / 2; o > 0; o /= 2) {
    const acc m2 = __shfl_xor_sync(kFull, m, o), s2 = __shfl_xor_sync(kFull, sum, o);
    const acc mm = m2 > m ? m2 : m;
    sum = rescale(sum, m, mm) + rescale(s2, m2, mm);
    m = mm;
  }
  const acc inv = acc(1) / sum;
  for (int64_t k = b + lane; k < e; k += kWarp) {
    const int64_t o = edge_of(eid, k, E, err) * H + h;
    y[o] = scalar_t(exp(acc(s[o]) - m) * inv);
  }
}

template <typename scalar_t, typename index_t>
__global__ void __launch_bounds__(kBlock) softmax_bwd_kernel(const index_t* __restrict__ rowptr,
                                                            const index_t* __restrict__ eid,
                                                            const scalar_t* __restrict__ y,
                                                            const scalar_t* __restrict__ g,
                                                            scalar_t* __restrict__ out, int64_t rows, int64_t H,
                                                            int64_t E, DeviceError* err) {
  using acc = acc_t<scalar_t>;
  const int64_t wid = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (wid >= rows * H) return;
  const int64_t row = wid / H, h = wid % H;
  const int lane = threadIdx.x;
  int64_t b = rowptr[row], e = rowptr[row + 1];
  if (b < 0 || e > E || e < b) b = e = 0;  // reported by the rowptr check
  acc dot = 0;
  for (int64_t k = b + lane; k < e; k += kWarp) {
    const int64_t o = edge_of(eid, k, E, err) * H + h;
    dot += acc(y[o]) * acc(g[o]);
  }
  dot = warp_sum(dot);
  for (int64_t k = b + lane; k < e; k += kWarp) {
    const int64_t o = edge_of(eid, k, E, err) * H + h;
    out[o] = scalar_t(acc(y[o]) * (acc(g[o]) - dot));
  }
}

at::Tensor softmax_fwd_cuda(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& eid_, const at::Tensor& s_) {
  validate_softmax(rowptr_, eid_, s_, "scores", /*ranges=*/false);
  const c10::cuda::CUDAGuard guard(s_.device());
  auto rowptr = rowptr_.contiguous(), s = s_.contiguous();
  at::Tensor eid;
  if (eid_) eid = eid_->contiguous();
  auto y = at::empty_like(s);
  const int64_t rows = rowptr.numel() - 1, H = s.size(1), E = s.size(0);
  DeviceError* err = error_slot(s.device());
  CheckNames names;
  names.bounds[kEid] = "the number of edges";
  names.entries_name = "scores";
  launch_check_rowptr(rowptr, E, err, c10::cuda::getCurrentCUDAStream());
  if (eid_) launch_check_permutation(eid, E, err, c10::cuda::getCurrentCUDAStream());
  if (rows == 0 || s.numel() == 0) {
    finish_checks(s.device(), names);
    return y;
  }
  const dim3 block(kWarp, kWarpsPerBlock), grid(unsigned(ceil_div(rows * H, kWarpsPerBlock)));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, s.scalar_type(), "edge_softmax_fwd_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "edge_softmax_fwd_cuda_index", [&] {
      softmax_fwd_kernel<scalar, index_t><<<grid, block, 0, c10::cuda::getCurrentCUDAStream()>>>(
          rowptr.data_ptr<index_t>(), eid_ ? eid.data_ptr<index_t>() : nullptr, s.data_ptr<scalar>(),
          y.data_ptr<scalar>(), rows, H, E, err);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  finish_checks(s.device(), names);
  return y;
}

at::Tensor softmax_bwd_cuda(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& eid_, const at::Tensor& y_,
                            const at::Tensor& g_) {
  validate_softmax(rowptr_, eid_, y_, "y", /*ranges=*/false);
  check_float_tensor("grad", g_, 2, y_);
  TORCH_CHECK_VALUE(g_.sizes() == y_.sizes(), "grad has shape ", g_.sizes(), " but y has shape ", y_.sizes());
  const c10::cuda::CUDAGuard guard(y_.device());
  auto rowptr = rowptr_.contiguous(), y = y_.contiguous(), g = g_.contiguous();
  at::Tensor eid;
  if (eid_) eid = eid_->contiguous();
  auto out = at::empty_like(y);
  const int64_t rows = rowptr.numel() - 1, H = y.size(1), E = y.size(0);
  DeviceError* err = error_slot(y.device());
  CheckNames names;
  names.bounds[kEid] = "the number of edges";
  names.entries_name = "y";
  launch_check_rowptr(rowptr, E, err, c10::cuda::getCurrentCUDAStream());
  if (eid_) launch_check_permutation(eid, E, err, c10::cuda::getCurrentCUDAStream());
  if (rows == 0 || y.numel() == 0) {
    finish_checks(y.device(), names);
    return out;
  }
  const dim3 block(kWarp, kWarpsPerBlock), grid(unsigned(ceil_div(rows * H, kWarpsPerBlock)));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, y.scalar_type(), "edge_softmax_bwd_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "edge_softmax_bwd_cuda_index", [&] {
      softmax_bwd_kernel<scalar, index_t><<<grid, block, 0, c10::cuda::getCurrentCUDAStream()>>>(
          rowptr.data_ptr<index_t>(), eid_ ? eid.data_ptr<index_t>() : nullptr, y.data_ptr<scalar>(),
          g.data_ptr<scalar>(), out.data_ptr<scalar>(), rows, H, E, err);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  finish_checks(y.device(), names);
  return out;
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) {
  m.impl("edge_softmax_fwd", &graphkit::cuda::softmax_fwd_cuda);
  m.impl("edge_softmax_bwd", &graphkit::cuda::softmax_bwd_cuda);
}
