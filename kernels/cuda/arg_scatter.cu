// CUDA arg_scatter: the x-gradient of a max/min csr_reduce, the same schema as kernels/cpu/arg_scatter.cpp.
//
//   grad_x[src(arg[r, c]), c] += coeff * grad[r, c]    src(k) = col[k] (or k), coeff = weight[eid[k] or k, c / F]
//
// One thread per output element; skipped where arg is -1 (an empty row), so zero edges simply give zeros.
// Two output rows may pick the same source, hence atomicAdd, in float32 for float16/bfloat16 (accumulated in
// float32, rounded once at the end). Float atomics make the summation order, and so the last bits,
// nondeterministic: torch.use_deterministic_algorithms(True) raises here. The CPU kernel is deterministic.
// arg, col and eid are range-checked in the kernel (error flag, errors.cu).
#include <ATen/Context.h>
#include <torch/library.h>

#include "../include/validate.h"
#include "common.cuh"

namespace graphkit {
namespace cuda {
namespace {

template <typename scalar_t, typename acc, typename index_t>
__global__ void __launch_bounds__(kBlock) arg_scatter_kernel(const index_t* __restrict__ col,
                                                            const index_t* __restrict__ eid,
                                                            const scalar_t* __restrict__ w,
                                                            const int64_t* __restrict__ arg,
                                                            const scalar_t* __restrict__ grad, acc* __restrict__ gx,
                                                            int64_t total, int64_t H, int64_t F, int64_t entries,
                                                            int64_t num_src, int64_t nw, DeviceError* err) {
  const int64_t HF = H * F;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t k = arg[i];
    if (k < 0) continue;  // an empty row: nothing was picked
    if (!check_index(err, kArg, k, entries)) continue;
    const int64_t c = i % HF;
    const int64_t s = col ? int64_t(col[k]) : k;
    if (!check_index(err, kCol, s, num_src)) continue;
    acc coeff = acc(1);
    if (w) {
      const int64_t e = eid ? int64_t(eid[k]) : k;
      if (!check_index(err, kEid, e, nw)) continue;
      coeff = acc(w[e * H + c / F]);
    }
    atomicAdd(gx + s * HF + c, coeff * acc(grad[i]));
  }
}

at::Tensor arg_scatter_cuda(const c10::optional<at::Tensor>& col_, const c10::optional<at::Tensor>& eid_,
                            const c10::optional<at::Tensor>& weight_, const at::Tensor& arg_, const at::Tensor& grad_,
                            int64_t num_src) {
  TORCH_CHECK_TYPE(at::isFloatingType(grad_.scalar_type()), "arg_scatter: grad must be a floating-point tensor, got ",
                   grad_.scalar_type());
  TORCH_CHECK_TYPE(arg_.scalar_type() == at::kLong, "arg_scatter: arg must be int64, got ", arg_.scalar_type());
  TORCH_CHECK_VALUE(grad_.dim() == 3 && arg_.sizes() == grad_.sizes(),
                    "arg_scatter: arg and grad must have the same shape [R, H, F], got ", arg_.sizes(), " and ",
                    grad_.sizes());
  TORCH_CHECK_VALUE(arg_.device() == grad_.device(), "arg is on ", arg_.device(), " but grad is on ", grad_.device());
  TORCH_CHECK_VALUE(num_src >= 0, "arg_scatter: num_src must be >= 0, got ", num_src);
  const int64_t R = grad_.size(0), H = grad_.size(1), F = grad_.size(2);
  if (col_) {
    check_index_tensor("col", *col_, *col_);
    TORCH_CHECK_VALUE(col_->device() == grad_.device(), "col is on ", col_->device(), " but grad is on ",
                      grad_.device());
  }
  if (weight_) {
    check_float_tensor("weight", *weight_, 2, grad_);
    TORCH_CHECK_VALUE(weight_->size(1) == H, "arg_scatter: weight has ", weight_->size(1), " heads but grad has ", H);
  }
  if (eid_) {
    TORCH_CHECK_VALUE(weight_ && col_, "arg_scatter: eid needs weight and col");
    check_index_tensor("eid", *eid_, *col_);
    TORCH_CHECK_VALUE(eid_->numel() == col_->numel(), "arg_scatter: eid has ", eid_->numel(), " entries but col has ",
                      col_->numel());
  }
  const int64_t entries = col_ ? col_->numel() : num_src;
  TORCH_CHECK_VALUE(!weight_ || eid_ || weight_->size(0) >= entries, "arg_scatter: weight has ",
                    weight_ ? weight_->size(0) : 0, " rows but positions go up to ", entries);
  const c10::cuda::CUDAGuard guard(grad_.device());
  auto arg = arg_.contiguous(), grad = grad_.contiguous();
  at::Tensor col, eid, w;
  if (col_) col = col_->contiguous();
  if (eid_) eid = eid_->contiguous();
  if (weight_) w = weight_->contiguous();
  const auto acc_type = at::toOpMathType(grad.scalar_type());
  auto gx = at::zeros({num_src, H, F}, grad.options().dtype(acc_type));
  const int64_t total = R * H * F;
  auto stream = c10::cuda::getCurrentCUDAStream();
  DeviceError* err = error_slot(grad.device());
  CheckNames names;
  names.bounds[kArg] = "the number of entries";
  names.bounds[kCol] = "num_src";
  names.bounds[kEid] = "weight.size(0)";
  if (total > 0 && num_src > 0) {
    at::globalContext().alertNotDeterministic("graphkit::arg_scatter (CUDA, max/min backward)");
    const unsigned blocks = unsigned(std::min<int64_t>(ceil_div(total, kBlock), 65535 * 8));
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(), "arg_scatter_cuda", [&] {
      using scalar = scalar_t;
      using acc = acc_t<scalar>;
      auto run = [&](auto* c, auto* e) {
        arg_scatter_kernel<scalar, acc><<<blocks, kBlock, 0, stream>>>(
            c, e, weight_ ? w.data_ptr<scalar>() : nullptr, arg.data_ptr<int64_t>(), grad.data_ptr<scalar>(),
            gx.data_ptr<acc>(), total, H, F, entries, num_src, weight_ ? w.size(0) : 0, err);
      };
      if (!col_) {
        run(static_cast<int64_t*>(nullptr), static_cast<int64_t*>(nullptr));
      } else {
        AT_DISPATCH_INDEX_TYPES(col.scalar_type(), "arg_scatter_cuda_index", [&] {
          run(col.data_ptr<index_t>(), eid_ ? eid.data_ptr<index_t>() : static_cast<index_t*>(nullptr));
        });
      }
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  finish_checks(grad.device(), names);
  return acc_type == grad.scalar_type() ? gx : gx.to(grad.scalar_type());
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) { m.impl("arg_scatter", &graphkit::cuda::arg_scatter_cuda); }
