// CUDA edge softmax, fused: one warp per (target row, head). Lanes stride the row's edges; the max and the
// sum of exponentials are warp-shuffle reductions, so a row costs three coalesced-as-possible passes and no
// intermediate tensor. Backward: grad_s = y * (g - sum_row(y * g)) the same way.
#include <torch/library.h>

#include "../include/validate.h"
#include "common.cuh"

namespace graphkit {
namespace cuda {
namespace {

template <typename scalar_t, typename index_t>
__global__ void softmax_fwd_kernel(const index_t* __restrict__ rowptr, const index_t* __restrict__ eid,
                                   const scalar_t* __restrict__ s, scalar_t* __restrict__ y, int64_t rows,
                                   int64_t H) {
  using acc = acc_t<scalar_t>;
  const int64_t wid = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (wid >= rows * H) return;
  const int64_t row = wid / H, h = wid % H;
  const int lane = threadIdx.x;
  const int64_t b = rowptr[row], e = rowptr[row + 1];
  acc m = -std::numeric_limits<acc>::infinity();
  for (int64_t k = b + lane; k < e; k += kWarp) {
    const acc v = acc(s[(eid ? int64_t(eid[k]) : k) * H + h]);
    m = v > m ? v : m;
  }
  m = warp_max(m);
  acc sum = 0;
  for (int64_t k = b + lane; k < e; k += kWarp) sum += exp(acc(s[(eid ? int64_t(eid[k]) : k) * H + h]) - m);
  sum = warp_sum(sum);
  const acc inv = acc(1) / sum;
  for (int64_t k = b + lane; k < e; k += kWarp) {
    const int64_t o = (eid ? int64_t(eid[k]) : k) * H + h;
    y[o] = scalar_t(exp(acc(s[o]) - m) * inv);
  }
}

template <typename scalar_t, typename index_t>
__global__ void softmax_bwd_kernel(const index_t* __restrict__ rowptr, const index_t* __restrict__ eid,
                                   const scalar_t* __restrict__ y, const scalar_t* __restrict__ g,
                                   scalar_t* __restrict__ out, int64_t rows, int64_t H) {
  using acc = acc_t<scalar_t>;
  const int64_t wid = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (wid >= rows * H) return;
  const int64_t row = wid / H, h = wid % H;
  const int lane = threadIdx.x;
  const int64_t b = rowptr[row], e = rowptr[row + 1];
  acc dot = 0;
  for (int64_t k = b + lane; k < e; k += kWarp) {
    const int64_t o = (eid ? int64_t(eid[k]) : k) * H + h;
    dot += acc(y[o]) * acc(g[o]);
  }
  dot = warp_sum(dot);
  for (int64_t k = b + lane; k < e; k += kWarp) {
    const int64_t o = (eid ? int64_t(eid[k]) : k) * H + h;
    out[o] = scalar_t(acc(y[o]) * (acc(g[o]) - dot));
  }
}

at::Tensor softmax_fwd_cuda(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& eid_, const at::Tensor& s_) {
  validate_softmax(rowptr_, eid_, s_, "scores");
  const c10::cuda::CUDAGuard guard(s_.device());
  auto rowptr = rowptr_.contiguous(), s = s_.contiguous();
  at::Tensor eid;
  if (eid_) eid = eid_->contiguous();
  auto y = at::empty_like(s);
  const int64_t rows = rowptr.numel() - 1, H = s.size(1);
  if (rows == 0 || s.numel() == 0) return y;
  const dim3 block(kWarp, kWarpsPerBlock), grid(unsigned(ceil_div(rows * H, kWarpsPerBlock)));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, s.scalar_type(), "edge_softmax_fwd_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "edge_softmax_fwd_cuda_index", [&] {
      softmax_fwd_kernel<scalar, index_t><<<grid, block, 0, c10::cuda::getCurrentCUDAStream()>>>(
          rowptr.data_ptr<index_t>(), eid_ ? eid.data_ptr<index_t>() : nullptr, s.data_ptr<scalar>(),
          y.data_ptr<scalar>(), rows, H);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return y;
}

at::Tensor softmax_bwd_cuda(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& eid_, const at::Tensor& y_,
                            const at::Tensor& g_) {
  validate_softmax(rowptr_, eid_, y_, "y");
  check_float_tensor("grad", g_, 2, y_);
  TORCH_CHECK_VALUE(g_.sizes() == y_.sizes(), "grad has shape ", g_.sizes(), " but y has shape ", y_.sizes());
  const c10::cuda::CUDAGuard guard(y_.device());
  auto rowptr = rowptr_.contiguous(), y = y_.contiguous(), g = g_.contiguous();
  at::Tensor eid;
  if (eid_) eid = eid_->contiguous();
  auto out = at::empty_like(y);
  const int64_t rows = rowptr.numel() - 1, H = y.size(1);
  if (rows == 0 || y.numel() == 0) return out;
  const dim3 block(kWarp, kWarpsPerBlock), grid(unsigned(ceil_div(rows * H, kWarpsPerBlock)));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, y.scalar_type(), "edge_softmax_bwd_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "edge_softmax_bwd_cuda_index", [&] {
      softmax_bwd_kernel<scalar, index_t><<<grid, block, 0, c10::cuda::getCurrentCUDAStream()>>>(
          rowptr.data_ptr<index_t>(), eid_ ? eid.data_ptr<index_t>() : nullptr, y.data_ptr<scalar>(),
          g.data_ptr<scalar>(), out.data_ptr<scalar>(), rows, H);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return out;
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) {
  m.impl("edge_softmax_fwd", &graphkit::cuda::softmax_fwd_cuda);
  m.impl("edge_softmax_bwd", &graphkit::cuda::softmax_bwd_cuda);
}
