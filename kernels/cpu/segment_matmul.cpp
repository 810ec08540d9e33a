// CPU segment matmul: out[ptr[s]:ptr[s+1]] = x[ptr[s]:ptr[s+1]] @ weight[s] for all S segments in one call, and
// its weight gradient grad_w[s] = x_s^T @ grad_s (the shared body: kernels/include/segment_matmul.h). Each
// segment is one BLAS GEMM on row views (no copy, no [rows, F_in, F_out] gathered weights). Many small segments
// (typed graphs with few nodes per relation, block decompositions, heads x edge types) run as an OpenMP loop over
// segments, each GEMM single-threaded; few large ones let the GEMM use every thread instead.
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>

#include "../include/segment_matmul.h"

namespace graphkit {
namespace {

struct CpuSegments {
  template <typename F>
  void operator()(const std::vector<int64_t>& p, F&& body) const {
    const int64_t S = int64_t(p.size()) - 1, rows = p.back();
    // Parallel over segments only when there are enough of them and each is small, so one thread per GEMM wins.
    if (S >= 2 * at::get_num_threads() && rows / std::max<int64_t>(S, 1) < 4096) {
      at::parallel_for(0, S, 1, [&](int64_t b, int64_t e) {
        at::AutoDispatchBelowADInplaceOrView below_autograd;  // thread-local: every worker needs its own
        for (int64_t s = b; s < e; ++s) body(s);
      });
    } else {
      for (int64_t s = 0; s < S; ++s) body(s);
    }
  }
};

at::Tensor segment_matmul_cpu(const at::Tensor& x, const at::Tensor& ptr, const at::Tensor& weight) {
  return segment_matmul_run(x, ptr, weight, CpuSegments());
}

at::Tensor segment_matmul_wgrad_cpu(const at::Tensor& x, const at::Tensor& ptr, const at::Tensor& grad) {
  return segment_matmul_wgrad_run(x, ptr, grad, CpuSegments());
}

}  // namespace
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) {
  m.impl("segment_matmul", &graphkit::segment_matmul_cpu);
  m.impl("segment_matmul_wgrad", &graphkit::segment_matmul_wgrad_cpu);
}
