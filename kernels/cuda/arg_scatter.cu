// CUDA arg_scatter and arg_scatter_weight: the gradients of a max/min csr_reduce from its arg (CUDA review C1,
// P13). arg_scatter has the schema of kernels/cpu/arg_scatter.cpp; arg_scatter_weight is CUDA-only (the CPU
// computes the weight gradient with torch ops, graphkit/ops/_kernels.py).
//
//   arg_scatter:        grad_x[src(k), c]      += coeff(k, c) * grad[r, c]   coeff = weight[eid(k), c / F] (or 1)
//   arg_scatter_weight: grad_w[eid(k), c / F]  += x[src(k), c] * grad[r, c]
//   k = arg[r, c] (-1: an empty row, skipped), src(k) = col[k] (or k), eid(k) = eid[k] (or k)
//
// One thread per output element of the forward, in one pass: no output-sized int64 temporaries. Several output
// elements may hit one target, hence atomicAdd, in float32 for float16/bfloat16 (rounded once at the end).
// Float atomics make the summation order, and so the last bits, nondeterministic:
// torch.use_deterministic_algorithms(True) raises here. The CPU kernel is deterministic.
// arg, col and eid are range-checked in the kernel (error flag, errors.cu).
#include <ATen/Context.h>
#include <torch/library.h>

#include "../include/validate.h"
#include "common.cuh"

namespace graphkit {
namespace cuda {
namespace {

// ToWeight: scatter into grad_w (`vals` is x); else into grad_x (`vals` is the weight, or null).
template <bool ToWeight, typename scalar_t, typename acc, typename index_t>
__global__ void __launch_bounds__(kBlock) arg_scatter_kernel(const index_t* __restrict__ col,
                                                            const index_t* __restrict__ eid,
                                                            const scalar_t* __restrict__ vals,
                                                            const int64_t* __restrict__ arg,
                                                            const scalar_t* __restrict__ grad, acc* __restrict__ dst,
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
    int64_t e = 0;
    if (ToWeight || vals) {
      e = eid ? int64_t(eid[k]) : k;
      if (!check_index(err, kEid, e, nw)) continue;
    }
    if (ToWeight) {
      atomicAdd(dst + e * H + c / F, acc(vals[s * HF + c]) * acc(grad[i]));
    } else {
      const acc coeff = vals ? acc(vals[e * H + c / F]) : acc(1);
      atomicAdd(dst + s * HF + c, coeff * acc(grad[i]));
    }
  }
}

// Checks shared by both ops: grad [R, H, F] floating, arg int64 of the same shape, col/eid index tensors.
void check_arg_grad(const c10::optional<at::Tensor>& col, const c10::optional<at::Tensor>& eid, const at::Tensor& arg,
                    const at::Tensor& grad, const char* op) {
  TORCH_CHECK_TYPE(at::isFloatingType(grad.scalar_type()), op, ": grad must be a floating-point tensor, got ",
                   grad.scalar_type());
  TORCH_CHECK_TYPE(arg.scalar_type() == at::kLong, op, ": arg must be int64, got ", arg.scalar_type());
  TORCH_CHECK_VALUE(grad.dim() == 3 && arg.sizes() == grad.sizes(), op,
                    ": arg and grad must have the same shape [R, H, F], got ", arg.sizes(), " and ", grad.sizes());
  TORCH_CHECK_VALUE(arg.device() == grad.device(), "arg is on ", arg.device(), " but grad is on ", grad.device());
  if (col) {
    check_index_tensor("col", *col, *col);
    TORCH_CHECK_VALUE(col->device() == grad.device(), "col is on ", col->device(), " but grad is on ", grad.device());
  }
  if (eid) {
    TORCH_CHECK_VALUE(col.has_value(), op, ": eid needs col");
    check_index_tensor("eid", *eid, *col);
    TORCH_CHECK_VALUE(eid->numel() == col->numel(), op, ": eid has ", eid->numel(), " entries but col has ",
                      col->numel());
  }
}

// The launch shared by both ops: dst [rows_out, width] zero-filled in the accumulation type, cast at the end.
template <bool ToWeight>
at::Tensor scatter_from_arg(const c10::optional<at::Tensor>& col_, const c10::optional<at::Tensor>& eid_,
                            const c10::optional<at::Tensor>& vals_, const at::Tensor& arg_, const at::Tensor& grad_,
                            int64_t num_src, int64_t nw, at::IntArrayRef dst_shape, const char* op) {
  const c10::cuda::CUDAGuard guard(grad_.device());
  auto arg = arg_.contiguous(), grad = grad_.contiguous();
  at::Tensor col, eid, vals;
  if (col_) col = col_->contiguous();
  if (eid_) eid = eid_->contiguous();
  if (vals_) vals = vals_->contiguous();
  const int64_t H = grad.size(1), F = grad.size(2), total = grad.numel();
  const int64_t entries = col_ ? col.numel() : num_src;
  const auto acc_type = at::toOpMathType(grad.scalar_type());
  auto dst = at::zeros(dst_shape, grad.options().dtype(acc_type));
  auto stream = c10::cuda::getCurrentCUDAStream();
  DeviceError* err = error_slot(grad.device());
  CheckNames names;
  names.bounds[kArg] = "the number of entries";
  names.bounds[kCol] = ToWeight ? "x.size(0)" : "num_src";
  names.bounds[kEid] = ToWeight ? "num_weights" : "weight.size(0)";
  if (total > 0 && num_src > 0 && dst.numel() > 0) {
    at::globalContext().alertNotDeterministic(op);
    const unsigned blocks = unsigned(std::min<int64_t>(ceil_div(total, kBlock), 65535 * 8));
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(), "arg_scatter_cuda", [&] {
      using scalar = scalar_t;
      using acc = acc_t<scalar>;
      auto run = [&](auto* c, auto* e) {
        arg_scatter_kernel<ToWeight, scalar, acc><<<blocks, kBlock, 0, stream>>>(
            c, e, vals_ ? vals.data_ptr<scalar>() : nullptr, arg.data_ptr<int64_t>(), grad.data_ptr<scalar>(),
            dst.data_ptr<acc>(), total, H, F, entries, num_src, nw, err);
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
  return acc_type == grad.scalar_type() ? dst : dst.to(grad.scalar_type());
}

at::Tensor arg_scatter_cuda(const c10::optional<at::Tensor>& col, const c10::optional<at::Tensor>& eid,
                            const c10::optional<at::Tensor>& weight, const at::Tensor& arg, const at::Tensor& grad,
                            int64_t num_src) {
  TORCH_CHECK_VALUE(!eid || (weight && col), "arg_scatter: eid needs weight and col");  // as on the CPU
  check_arg_grad(col, eid, arg, grad, "arg_scatter");
  TORCH_CHECK_VALUE(num_src >= 0, "arg_scatter: num_src must be >= 0, got ", num_src);
  const int64_t H = grad.size(1), F = grad.size(2);
  if (weight) {
    check_float_tensor("weight", *weight, 2, grad);
    TORCH_CHECK_VALUE(weight->size(1) == H, "arg_scatter: weight has ", weight->size(1), " heads but grad has ", H);
  }
  const int64_t entries = col ? col->numel() : num_src;
  TORCH_CHECK_VALUE(!weight || eid || weight->size(0) >= entries, "arg_scatter: weight has ",
                    weight ? weight->size(0) : 0, " rows but positions go up to ", entries);
  return scatter_from_arg<false>(col, eid, weight, arg, grad, num_src, weight ? weight->size(0) : 0,
                                 {num_src, H, F}, "graphkit::arg_scatter (CUDA, max/min backward)");
}

at::Tensor arg_scatter_weight_cuda(const c10::optional<at::Tensor>& col, const c10::optional<at::Tensor>& eid,
                                   const at::Tensor& x, const at::Tensor& arg, const at::Tensor& grad,
                                   int64_t num_weights) {
  check_arg_grad(col, eid, arg, grad, "arg_scatter_weight");
  check_float_tensor("x", x, 3, grad);
  TORCH_CHECK_VALUE(x.size(1) == grad.size(1) && x.size(2) == grad.size(2), "arg_scatter_weight: x has shape ",
                    x.sizes(), " but grad has shape ", grad.sizes(), " (trailing sizes must match)");
  TORCH_CHECK_VALUE(num_weights >= 0, "arg_scatter_weight: num_weights must be >= 0, got ", num_weights);
  const int64_t entries = col ? col->numel() : x.size(0);
  TORCH_CHECK_VALUE(eid || num_weights >= entries, "arg_scatter_weight: num_weights is ", num_weights,
                    " but positions go up to ", entries);
  return scatter_from_arg<true>(col, eid, x, arg, grad, x.size(0), num_weights, {num_weights, grad.size(1)},
                                "graphkit::arg_scatter_weight (CUDA, max/min weight backward)");
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) {
  m.impl("arg_scatter", &graphkit::cuda::arg_scatter_cuda);
  m.impl("arg_scatter_weight", &graphkit::cuda::arg_scatter_weight_cuda);
}
