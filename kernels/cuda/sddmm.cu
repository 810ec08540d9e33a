// CUDA sddmm: one warp per CSR row (target); lanes stride the features of each head, coalesced, and a dot
// product is finished with a warp shuffle reduction. add/mul write their [H, F] output rows coalesced.
#include <torch/library.h>

#include "../include/validate.h"
#include "common.cuh"

namespace graphkit {
namespace cuda {
namespace {

template <typename scalar_t, typename index_t, int OP>
__global__ void sddmm_kernel(const index_t* __restrict__ rowptr, const index_t* __restrict__ col,
                             const index_t* __restrict__ eid, const scalar_t* __restrict__ a,
                             const scalar_t* __restrict__ b, scalar_t* __restrict__ out, int64_t rows, int64_t H,
                             int64_t F) {
  using acc = acc_t<scalar_t>;
  const int64_t row = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (row >= rows) return;
  const int lane = threadIdx.x;
  const int64_t HF = H * F;
  const scalar_t* ar = a + row * HF;
  for (int64_t k = rowptr[row]; k < rowptr[row + 1]; ++k) {
    const scalar_t* bs = b + int64_t(col[k]) * HF;
    const int64_t e = eid ? int64_t(eid[k]) : k;
    if (OP == 0) {
      for (int64_t h = 0; h < H; ++h) {
        acc s = 0;
        for (int64_t f = lane; f < F; f += kWarp) s += acc(ar[h * F + f]) * acc(bs[h * F + f]);
        s = warp_sum(s);
        if (lane == 0) out[e * H + h] = scalar_t(s);
      }
    } else {
      for (int64_t f = lane; f < HF; f += kWarp) {
        const acc v = OP == 1 ? acc(ar[f]) + acc(bs[f]) : acc(ar[f]) * acc(bs[f]);
        out[e * HF + f] = scalar_t(v);
      }
    }
  }
}

at::Tensor sddmm_cuda(const at::Tensor& rowptr_, const at::Tensor& col_, const c10::optional<at::Tensor>& eid_,
                      const at::Tensor& a_, const at::Tensor& b_, c10::string_view op_) {
  const SddmmOp op = parse_sddmm_op(std::string(op_));
  validate_sddmm(rowptr_, col_, eid_, a_, b_);
  const c10::cuda::CUDAGuard guard(a_.device());
  auto rowptr = rowptr_.contiguous(), col = col_.contiguous(), a = a_.contiguous(), b = b_.contiguous();
  at::Tensor eid;
  if (eid_) eid = eid_->contiguous();
  const int64_t E = col.numel(), H = a.size(1), F = a.size(2), rows = a.size(0);
  auto out = op == SddmmOp::Dot ? at::empty({E, H}, a.options()) : at::empty({E, H, F}, a.options());
  if (rows == 0 || E == 0) return out;
  const dim3 block(kWarp, kWarpsPerBlock);
  const dim3 grid(unsigned(ceil_div(rows, kWarpsPerBlock)));
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, a.scalar_type(), "sddmm_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "sddmm_cuda_index", [&] {
      const index_t* ep = eid_ ? eid.data_ptr<index_t>() : nullptr;
      auto launch = [&](auto opv) {
        sddmm_kernel<scalar, index_t, decltype(opv)::value><<<grid, block, 0, stream>>>(
            rowptr.data_ptr<index_t>(), col.data_ptr<index_t>(), ep, a.data_ptr<scalar>(), b.data_ptr<scalar>(),
            out.data_ptr<scalar>(), rows, H, F);
      };
      if (op == SddmmOp::Dot) launch(std::integral_constant<int, 0>());
      else if (op == SddmmOp::Add) launch(std::integral_constant<int, 1>());
      else launch(std::integral_constant<int, 2>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return out;
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) { m.impl("sddmm", &graphkit::cuda::sddmm_cuda); }
