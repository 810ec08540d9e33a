// CUDA csr_reduce, GE-SpMM style: one warp per CSR row; the warp loads 32 (col, edge id) pairs at once
// (coalesced) and broadcasts them with shuffles, while each lane owns CF features of the row, so the gather
// x[col[k], f] reads 32*CF consecutive values: coalesced. blockIdx.y tiles the feature dimension.
// Atomic-free: every output element is written by exactly one lane. Half types accumulate in float32.
#include <torch/library.h>

#include "../include/validate.h"
#include "common.cuh"

namespace graphkit {
namespace cuda {
namespace {

constexpr int kCF = 2;  // features per lane: a warp covers a tile of 64 features

template <typename scalar_t, typename index_t, int R>
__global__ void csr_reduce_kernel(const index_t* __restrict__ rowptr, const index_t* __restrict__ col,
                                  const index_t* __restrict__ eid, const scalar_t* __restrict__ w,
                                  const scalar_t* __restrict__ x, scalar_t* __restrict__ out,
                                  int64_t* __restrict__ arg, int64_t rows, int64_t H, int64_t F) {
  using acc = acc_t<scalar_t>;
  const int64_t row = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (row >= rows) return;  // uniform across the warp: the shuffles below stay full-mask
  const int lane = threadIdx.x;
  const int64_t HF = H * F;
  const int64_t f0 = int64_t(blockIdx.y) * kWarp * kCF + lane;
  const acc init = R == 2 ? -std::numeric_limits<acc>::infinity() : R == 3 ? std::numeric_limits<acc>::infinity() : acc(0);
  acc a[kCF];
  int64_t m[kCF];
#pragma unroll
  for (int c = 0; c < kCF; ++c) a[c] = init, m[c] = -1;
  const int64_t b = rowptr[row], e = rowptr[row + 1];
  for (int64_t kk = b; kk < e; kk += kWarp) {
    const int64_t k = kk + lane;
    const int64_t s_l = k < e ? (col ? int64_t(col[k]) : k) : 0;
    const int64_t e_l = k < e ? (eid ? int64_t(eid[k]) : k) : 0;
    const int n = e - kk < kWarp ? int(e - kk) : kWarp;
    for (int j = 0; j < n; ++j) {
      const int64_t s = __shfl_sync(kFull, s_l, j);
      const int64_t ee = __shfl_sync(kFull, e_l, j);
#pragma unroll
      for (int c = 0; c < kCF; ++c) {
        const int64_t f = f0 + c * kWarp;
        if (f < HF) {
          const acc ww = w ? acc(w[ee * H + f / F]) : acc(1);
          const acc v = ww * acc(x[s * HF + f]);
          if (R <= 1) {
            a[c] += v;
          } else if (R == 2 ? v > a[c] : v < a[c]) {
            a[c] = v;
            m[c] = kk + j;
          }
        }
      }
    }
  }
  const acc scale = (R == 1 && e > b) ? acc(1) / acc(e - b) : acc(1);
#pragma unroll
  for (int c = 0; c < kCF; ++c) {
    const int64_t f = f0 + c * kWarp;
    if (f < HF) {
      out[row * HF + f] = scalar_t(e == b ? acc(0) : a[c] * scale);
      if (R >= 2) arg[row * HF + f] = m[c];
    }
  }
}

std::tuple<at::Tensor, at::Tensor> csr_reduce_cuda(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& col_,
                                                   const c10::optional<at::Tensor>& eid_,
                                                   const c10::optional<at::Tensor>& weight_, const at::Tensor& x_,
                                                   c10::string_view reduce_) {
  const Reduce R = parse_reduce(std::string(reduce_));
  validate_csr_reduce(rowptr_, col_, eid_, weight_, x_);
  const c10::cuda::CUDAGuard guard(x_.device());
  auto rowptr = rowptr_.contiguous(), x = x_.contiguous();
  at::Tensor col, eid, w;
  if (col_) col = col_->contiguous();
  if (eid_) eid = eid_->contiguous();
  if (weight_) w = weight_->contiguous();
  const int64_t rows = rowptr.numel() - 1, H = x.size(1), F = x.size(2), HF = H * F;
  auto out = at::empty({rows, H, F}, x.options());
  const bool with_arg = R == Reduce::Max || R == Reduce::Min;
  auto arg = with_arg ? at::empty({rows, H, F}, x.options().dtype(at::kLong))
                      : at::empty({0}, x.options().dtype(at::kLong));
  if (rows == 0 || HF == 0) return {out, arg};
  const dim3 block(kWarp, kWarpsPerBlock);
  const dim3 grid(unsigned(ceil_div(rows, kWarpsPerBlock)), unsigned(ceil_div(HF, kWarp * kCF)));
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "csr_reduce_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "csr_reduce_cuda_index", [&] {
      const index_t* cp = col_ ? col.data_ptr<index_t>() : nullptr;
      const index_t* ep = eid_ ? eid.data_ptr<index_t>() : nullptr;
      const scalar* wp = weight_ ? w.data_ptr<scalar>() : nullptr;
      int64_t* ap = with_arg ? arg.data_ptr<int64_t>() : nullptr;
      auto launch = [&](auto rv) {
        csr_reduce_kernel<scalar, index_t, decltype(rv)::value><<<grid, block, 0, stream>>>(
            rowptr.data_ptr<index_t>(), cp, ep, wp, x.data_ptr<scalar>(), out.data_ptr<scalar>(), ap, rows, H, F);
      };
      switch (R) {
        case Reduce::Sum: launch(std::integral_constant<int, 0>()); break;
        case Reduce::Mean: launch(std::integral_constant<int, 1>()); break;
        case Reduce::Max: launch(std::integral_constant<int, 2>()); break;
        case Reduce::Min: launch(std::integral_constant<int, 3>()); break;
      }
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return {out, arg};
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) { m.impl("csr_reduce", &graphkit::cuda::csr_reduce_cuda); }
