// Checks every graphkit kernel runs before launching: dtypes, devices, shapes and index bounds.
//
// They raise typed c10 errors (TORCH_CHECK_TYPE -> Python TypeError, TORCH_CHECK_VALUE -> ValueError) whose
// message names the argument and the offending value, so a bad call from Python fails cleanly, never reads out
// of bounds. Bounds scans are parallel and touch only the index arrays, a few percent of an op's traffic.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace graphkit {

inline void check_index_tensor(const char* name, const at::Tensor& t, const at::Tensor& like) {
  TORCH_CHECK_TYPE(t.scalar_type() == at::kLong || t.scalar_type() == at::kInt, name,
                   " must be an int64 or int32 tensor, got ", t.scalar_type());
  TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), name, " has dtype ", t.scalar_type(),
                   " but rowptr has dtype ", like.scalar_type(), " (index tensors must share one dtype)");
  TORCH_CHECK_VALUE(t.dim() == 1, name, " must be 1-D, got shape ", t.sizes());
  TORCH_CHECK_VALUE(t.device() == like.device(), name, " is on ", t.device(), " but rowptr is on ", like.device());
}

inline void check_float_tensor(const char* name, const at::Tensor& t, int64_t dim, const at::Tensor& ref) {
  TORCH_CHECK_TYPE(at::isFloatingType(t.scalar_type()), name, " must be a floating-point tensor, got ",
                   t.scalar_type());
  TORCH_CHECK_TYPE(t.scalar_type() == ref.scalar_type(), name, " has dtype ", t.scalar_type(),
                   " but the features have dtype ", ref.scalar_type());
  TORCH_CHECK_VALUE(t.dim() == dim, name, " must have ", dim, " dimensions, got shape ", t.sizes());
  TORCH_CHECK_VALUE(t.device() == ref.device(), name, " is on ", t.device(), " but the features are on ",
                    ref.device());
}

// min and max of a 1-D index tensor on the CPU, in parallel over equal chunks.
template <typename index_t>
std::pair<int64_t, int64_t> index_range_cpu(const index_t* p, int64_t n) {
  const int64_t nt = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n / 65536 + 1));
  std::vector<int64_t> lo(nt, std::numeric_limits<int64_t>::max()), hi(nt, std::numeric_limits<int64_t>::min());
  at::parallel_for(0, nt, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t s = n * c / nt, t = n * (c + 1) / nt;
      index_t l = std::numeric_limits<index_t>::max(), h = std::numeric_limits<index_t>::min();
#pragma omp simd reduction(min : l) reduction(max : h)
      for (int64_t i = s; i < t; ++i) {
        l = p[i] < l ? p[i] : l;
        h = p[i] > h ? p[i] : h;
      }
      lo[c] = l;
      hi[c] = h;
    }
  });
  return {*std::min_element(lo.begin(), lo.end()), *std::max_element(hi.begin(), hi.end())};
}

inline std::pair<int64_t, int64_t> index_range(const at::Tensor& t) {
  if (t.numel() == 0) return {0, -1};
  if (!t.is_cpu()) {  // one fused reduction on the device; the two scalars come back together
    auto mm = at::aminmax(t);
    auto both = at::stack({std::get<0>(mm).to(at::kLong), std::get<1>(mm).to(at::kLong)}).cpu();
    return {both[0].item<int64_t>(), both[1].item<int64_t>()};
  }
  auto c = t.contiguous();
  if (c.scalar_type() == at::kLong) return index_range_cpu<int64_t>(c.data_ptr<int64_t>(), c.numel());
  return index_range_cpu<int32_t>(c.data_ptr<int32_t>(), c.numel());
}

// Every entry of ``t`` in [0, bound); ``what`` names the bound in the message.
inline void check_bounds(const char* name, const at::Tensor& t, int64_t bound, const char* what) {
  auto r = index_range(t);
  if (r.second < r.first) return;  // empty
  TORCH_CHECK_VALUE(r.first >= 0, name, " has negative index ", r.first);
  TORCH_CHECK_VALUE(r.second < bound, name, " has index ", r.second, " but ", what, " is ", bound);
}

// rowptr: rowptr[0] == 0, non-decreasing, rowptr[-1] == num_entries. Returns the number of rows.
// values = false checks only dtype and shape (the CUDA kernels check the values without a host sync).
inline int64_t check_rowptr(const at::Tensor& rowptr, int64_t num_entries, const char* entries_name,
                            bool values = true) {
  TORCH_CHECK_TYPE(rowptr.scalar_type() == at::kLong || rowptr.scalar_type() == at::kInt,
                   "rowptr must be an int64 or int32 tensor, got ", rowptr.scalar_type());
  TORCH_CHECK_VALUE(rowptr.dim() == 1 && rowptr.numel() >= 1, "rowptr must be 1-D with at least one entry, got shape ",
                    rowptr.sizes());
  if (!values) return rowptr.numel() - 1;
  int64_t first = 0, last = 0, step = 0;
  if (rowptr.is_cpu()) {  // one serial pass over N+1 entries: cheaper than launching tensor ops
    auto c = rowptr.contiguous();
    AT_DISPATCH_INDEX_TYPES(c.scalar_type(), "check_rowptr", [&] {
      const index_t* p = c.data_ptr<index_t>();
      const int64_t n = c.numel();
      first = p[0];
      last = p[n - 1];
      for (int64_t i = 1; i < n; ++i) step = std::min<int64_t>(step, int64_t(p[i]) - int64_t(p[i - 1]));
    });
  } else {
    auto diff = rowptr.numel() > 1 ? (rowptr.narrow(0, 1, rowptr.numel() - 1) - rowptr.narrow(0, 0, rowptr.numel() - 1))
                                   : at::zeros({1}, rowptr.options());
    auto ends = at::stack({rowptr[0].to(at::kLong), rowptr[-1].to(at::kLong), diff.min().to(at::kLong)}).cpu();
    first = ends[0].item<int64_t>();
    last = ends[1].item<int64_t>();
    step = std::min<int64_t>(0, ends[2].item<int64_t>());
  }
  TORCH_CHECK_VALUE(first == 0, "rowptr[0] must be 0, got ", first);
  TORCH_CHECK_VALUE(step >= 0, "rowptr must be non-decreasing, found a step of ", step);
  TORCH_CHECK_VALUE(last == num_entries, "rowptr[-1] is ", last, " but ", entries_name, " has ", num_entries,
                    " entries");
  return rowptr.numel() - 1;
}

}  // namespace graphkit
