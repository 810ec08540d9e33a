// CUDA segment matmul: out[ptr[s]:ptr[s+1]] = x[ptr[s]:ptr[s+1]] @ weight[s], and grad_w[s] = x_s^T @ grad_s.
// Each segment is one cuBLAS GEMM on row views, queued on the current stream; ptr (S+1 numbers) is read on the
// host once by the shared check (kernels/include/segment_matmul.h), which also validates it before any launch.
// Relations number in the tens, so S launches cost microseconds against GEMMs over up to millions of rows.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../include/segment_matmul.h"

namespace graphkit {
namespace {

at::Tensor segment_matmul_cuda(const at::Tensor& x_, const at::Tensor& ptr, const at::Tensor& weight) {
  // This kernel sits below autograd (graphkit.ops.segment_matmul owns the backward): the ATen ops it calls
  // must not dispatch to autograd again, or mm_out refuses inputs that require grad.
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  const auto p = check_segment_matmul(x_, ptr, weight, false);
  auto x = x_.contiguous();
  auto out = at::empty({x.size(0), weight.size(2)}, x.options());
  for (int64_t s = 0; s + 1 < int64_t(p.size()); ++s) {
    const int64_t b = p[s], n = p[s + 1] - p[s];
    if (n == 0) continue;
    auto o = out.narrow(0, b, n);
    at::mm_out(o, x.narrow(0, b, n), weight.select(0, s));
  }
  return out;
}

at::Tensor segment_matmul_wgrad_cuda(const at::Tensor& x_, const at::Tensor& ptr, const at::Tensor& grad_) {
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  const auto p = check_segment_matmul(x_, ptr, grad_, true);
  const int64_t S = int64_t(p.size()) - 1;
  auto x = x_.contiguous(), grad = grad_.contiguous();
  auto out = at::zeros({S, x.size(1), grad.size(1)}, x.options());
  for (int64_t s = 0; s < S; ++s) {
    const int64_t b = p[s], n = p[s + 1] - p[s];
    if (n == 0) continue;
    auto o = out.select(0, s);
    at::mm_out(o, x.narrow(0, b, n).t(), grad.narrow(0, b, n));
  }
  return out;
}

}  // namespace
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) {
  m.impl("segment_matmul", &graphkit::segment_matmul_cuda);
  m.impl("segment_matmul_wgrad", &graphkit::segment_matmul_wgrad_cuda);
}
