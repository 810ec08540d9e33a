// CPU dense products whose large outputs come from alloc.h (huge pages, freed blocks reused): the matrix products
// and the ReLU backward of a layer's linear map (graphkit.ops.linear).
//
// Why: on a full-batch step (N=200k, 64 features) each fresh [N, F] float32 result of torch's mm or
// threshold_backward is a 51 MB block from mmap that first-touch faults in 4 KiB pages, every step: 12,500
// faults, measured at 50-60 ms against 9 ms for the same op into a resident buffer on a loaded machine. The
// arithmetic is ATen's (at::mm_out, at::threshold_backward_out); only where the result lives changes.
#include <torch/library.h>

#include "../include/alloc.h"

namespace graphkit {
namespace {

void check_pair(const char* what, const char* a_name, const at::Tensor& a, const char* b_name, const at::Tensor& b) {
  TORCH_CHECK_TYPE(a.scalar_type() == at::kFloat || a.scalar_type() == at::kDouble, what, " takes float32 or float64, got ",
                   a_name, " of dtype ", a.scalar_type());
  TORCH_CHECK_TYPE(a.scalar_type() == b.scalar_type(), what, ": ", a_name, " has dtype ", a.scalar_type(), " but ",
                   b_name, " has dtype ", b.scalar_type());
  TORCH_CHECK_VALUE(a.device() == b.device(), what, ": ", a_name, " is on ", a.device(), " but ", b_name, " is on ",
                    b.device());
}

// a [M, K] @ b [K, N] -> [M, N] (either may be strided, e.g. a transposed weight).
at::Tensor dense_mm_cpu(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK_VALUE(a.dim() == 2 && b.dim() == 2, "dense_mm takes two matrices, got a of shape ", a.sizes(),
                    " and b of shape ", b.sizes());
  TORCH_CHECK_VALUE(a.size(1) == b.size(0), "dense_mm: a has ", a.size(1), " columns but b has ", b.size(0), " rows");
  check_pair("dense_mm", "a", a, "b", b);
  auto out = empty_output({a.size(0), b.size(1)}, a.options());
  at::mm_out(out, a, b);
  return out;
}

// The gradient of out = relu(z) given out: grad where out > 0, else 0 (NaN passes, as torch's threshold_backward).
at::Tensor relu_backward_cpu(const at::Tensor& grad, const at::Tensor& out) {
  TORCH_CHECK_VALUE(grad.sizes() == out.sizes(), "relu_backward: grad has shape ", grad.sizes(), " but out has shape ",
                    out.sizes());
  check_pair("relu_backward", "grad", grad, "out", out);
  auto gi = empty_output(grad.sizes(), grad.options());
  at::threshold_backward_out(gi, grad, out, 0);
  return gi;
}

}  // namespace
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) {
  m.impl("dense_mm", &graphkit::dense_mm_cpu);
  m.impl("relu_backward", &graphkit::relu_backward_cpu);
}
