// CUDA segment matmul: out[ptr[s]:ptr[s+1]] = x[ptr[s]:ptr[s+1]] @ weight[s], and grad_w[s] = x_s^T @ grad_s
// (the shared body: kernels/include/segment_matmul.h). Each segment is one cuBLAS GEMM on row views, queued on
// the current stream; ptr (S+1 numbers) is read on the host once by the shared check, which validates it before
// any launch. Relations number in the tens, so S launches cost microseconds against GEMMs over many rows.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../include/segment_matmul.h"

namespace graphkit {
namespace {

struct StreamSegments {
  template <typename F>
  void operator()(const std::vector<int64_t>& p, F&& body) const {
    for (int64_t s = 0; s + 1 < int64_t(p.size()); ++s) body(s);
  }
};

at::Tensor segment_matmul_cuda(const at::Tensor& x, const at::Tensor& ptr, const at::Tensor& weight) {
  return segment_matmul_run(x, ptr, weight, StreamSegments());
}

at::Tensor segment_matmul_wgrad_cuda(const at::Tensor& x, const at::Tensor& ptr, const at::Tensor& grad) {
  return segment_matmul_wgrad_run(x, ptr, grad, StreamSegments());
}

}  // namespace
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) {
  m.impl("segment_matmul", &graphkit::segment_matmul_cuda);
  m.impl("segment_matmul_wgrad", &graphkit::segment_matmul_wgrad_cuda);
}
