// Segment matmul's argument checks, shared by the CPU and CUDA implementations (kernels/cpu/segment_matmul.cpp,
// kernels/cuda/segment_matmul.cu): rows of x are grouped into S segments by ptr, segment s uses weight[s].
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace graphkit {

// Checks shapes and dtypes and returns ptr on the host as int64 (it is S+1 numbers: one small copy), after
// checking that it starts at 0, never decreases and ends at x's row count; every message names the field and value.
// `other` is weight [S, F_in, F_out] for the product, or grad [N, F_out] for the weight gradient.
inline std::vector<int64_t> check_segment_matmul(const at::Tensor& x, const at::Tensor& ptr, const at::Tensor& other,
                                                 bool other_is_grad) {
  const char* oname = other_is_grad ? "grad" : "weight";
  TORCH_CHECK_TYPE(at::isFloatingType(x.scalar_type()), "x must be a floating-point tensor, got ", x.scalar_type());
  TORCH_CHECK_TYPE(other.scalar_type() == x.scalar_type(), oname, " has dtype ", other.scalar_type(),
                   " but x has dtype ", x.scalar_type());
  TORCH_CHECK_TYPE(ptr.scalar_type() == at::kLong || ptr.scalar_type() == at::kInt,
                   "ptr must be an int64 or int32 tensor, got ", ptr.scalar_type());
  TORCH_CHECK_VALUE(x.dim() == 2, "x must have shape [N, F_in], got ", x.sizes());
  TORCH_CHECK_VALUE(ptr.dim() == 1 && ptr.numel() >= 1, "ptr must have shape [S + 1], got ", ptr.sizes());
  TORCH_CHECK_VALUE(other.device() == x.device(), oname, " is on ", other.device(), " but x is on ", x.device());
  const int64_t S = ptr.numel() - 1;
  if (other_is_grad) {
    TORCH_CHECK_VALUE(other.dim() == 2 && other.size(0) == x.size(0), "grad must have shape [", x.size(0),
                      ", F_out], got ", other.sizes());
  } else {
    TORCH_CHECK_VALUE(other.dim() == 3, "weight must have shape [S, F_in, F_out], got ", other.sizes());
    TORCH_CHECK_VALUE(other.size(0) == S, "weight has ", other.size(0), " segments but ptr has ", S);
    TORCH_CHECK_VALUE(other.size(1) == x.size(1), "weight has shape ", other.sizes(), " but x has ", x.size(1),
                      " columns");
  }
  auto host = ptr.to(at::kCPU, at::kLong).contiguous();
  const int64_t* p = host.data_ptr<int64_t>();
  TORCH_CHECK_VALUE(p[0] == 0, "ptr[0] is ", p[0], " but must be 0");
  for (int64_t s = 0; s < S; ++s)
    TORCH_CHECK_VALUE(p[s + 1] >= p[s], "ptr[", s + 1, "] is ", p[s + 1], " but ptr[", s, "] is ", p[s],
                      " (ptr must not decrease)");
  TORCH_CHECK_VALUE(p[S] == x.size(0), "ptr[", S, "] is ", p[S], " but x has ", x.size(0), " rows");
  return std::vector<int64_t>(p, p + S + 1);
}

}  // namespace graphkit

namespace graphkit {

// The products themselves, for any device: `for_segments(p, body)` runs body(s) for every segment s (the CPU
// passes an OpenMP loop, CUDA a sequential one on the current stream). Each segment is one GEMM on row views.
template <typename Loop>
at::Tensor segment_matmul_run(const at::Tensor& x_, const at::Tensor& ptr, const at::Tensor& weight,
                              Loop&& for_segments) {
  // Below autograd (graphkit.ops.segment_matmul owns the backward): the ATen ops called here must not dispatch
  // to autograd again, or mm_out refuses inputs that require grad. Worker threads set their own guard.
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  const auto p = check_segment_matmul(x_, ptr, weight, false);
  auto x = x_.contiguous();
  auto out = at::empty({x.size(0), weight.size(2)}, x.options());
  for_segments(p, [&](int64_t s) {
    const int64_t b = p[s], n = p[s + 1] - p[s];
    if (n == 0) return;
    auto o = out.narrow(0, b, n);  // a row range of a contiguous matrix: itself contiguous, written in place
    at::mm_out(o, x.narrow(0, b, n), weight.select(0, s));
  });
  return out;
}

template <typename Loop>
at::Tensor segment_matmul_wgrad_run(const at::Tensor& x_, const at::Tensor& ptr, const at::Tensor& grad_,
                                    Loop&& for_segments) {
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  const auto p = check_segment_matmul(x_, ptr, grad_, true);
  const int64_t S = int64_t(p.size()) - 1;
  auto x = x_.contiguous(), grad = grad_.contiguous();
  auto out = at::zeros({S, x.size(1), grad.size(1)}, x.options());  // empty segments get a zero gradient
  for_segments(p, [&](int64_t s) {
    const int64_t b = p[s], n = p[s + 1] - p[s];
    if (n == 0) return;
    auto o = out.select(0, s);
    at::mm_out(o, x.narrow(0, b, n).t(), grad.narrow(0, b, n));
  });
  return out;
}

}  // namespace graphkit
