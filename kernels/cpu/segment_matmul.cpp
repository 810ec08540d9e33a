// CPU segment matmul: out[ptr[s]:ptr[s+1]] = x[ptr[s]:ptr[s+1]] @ weight[s] for all S segments in one call, and
// its weight gradient grad_w[s] = x_s^T @ grad_s. Each segment is one BLAS GEMM on row views (no copy, no
// [rows, F_in, F_out] gathered weights). Many small segments (typed graphs with few nodes per relation, block
// decompositions) run as an OpenMP loop over segments, each GEMM single-threaded; few large ones let the GEMM
// use every thread instead.
#include <ATen/Parallel.h>
#include <torch/library.h>

#include "../include/segment_matmul.h"

namespace graphkit {
namespace {

// Parallel over segments only when there are enough of them and each is small, so one thread per GEMM wins.
bool over_segments(const std::vector<int64_t>& p) {
  const int64_t S = int64_t(p.size()) - 1, rows = p.back();
  return S >= 2 * at::get_num_threads() && rows / std::max<int64_t>(S, 1) < 4096;
}

template <typename F>
void for_segments(const std::vector<int64_t>& p, F&& body) {
  const int64_t S = int64_t(p.size()) - 1;
  if (over_segments(p)) {
    at::parallel_for(0, S, 1, [&](int64_t b, int64_t e) {
      at::AutoDispatchBelowADInplaceOrView below_autograd;  // thread-local: every worker needs its own
      for (int64_t s = b; s < e; ++s) body(s);
    });
  } else {
    for (int64_t s = 0; s < S; ++s) body(s);
  }
}

at::Tensor segment_matmul_cpu(const at::Tensor& x_, const at::Tensor& ptr, const at::Tensor& weight) {
  // This kernel sits below autograd (graphkit.ops.segment_matmul owns the backward): the ATen ops it calls
  // must not dispatch to autograd again, or mm_out refuses inputs that require grad.
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

at::Tensor segment_matmul_wgrad_cpu(const at::Tensor& x_, const at::Tensor& ptr, const at::Tensor& grad_) {
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

}  // namespace
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) {
  m.impl("segment_matmul", &graphkit::segment_matmul_cpu);
  m.impl("segment_matmul_wgrad", &graphkit::segment_matmul_wgrad_cpu);
}
