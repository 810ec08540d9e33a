// Row gather into a caller-owned buffer: out[i, :] = src[index[i], :].
//
// gather_rows(src, index, out) -> out
//
// Why not index_select(out=...)? This one copies whole rows with memcpy for any dtype, checks the indices once
// and names the bad one, runs on torch's intra-op threads with the GIL released (so the loader's prefetch
// thread gathers the next batch while Python trains on the current one), and reads straight from a
// memory-mapped .npy (src may be a tensor over a read-only mapping; only touched rows are paged in).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <atomic>
#include <cstring>

#include "../include/validate.h"

namespace graphkit {
namespace gather {

at::Tensor& gather_rows(const at::Tensor& src, const at::Tensor& index, at::Tensor& out) {
  TORCH_CHECK_VALUE(src.device().is_cpu() && index.device().is_cpu() && out.device().is_cpu(),
                    "gather_rows: src, index and out must be CPU tensors");
  TORCH_CHECK_VALUE(src.dim() == 2, "gather_rows: src must be 2-D [num_rows, width], got shape ", src.sizes());
  TORCH_CHECK_TYPE(index.scalar_type() == at::kLong, "gather_rows: index must be int64, got ", index.scalar_type());
  TORCH_CHECK_VALUE(index.dim() == 1, "gather_rows: index must be 1-D, got shape ", index.sizes());
  TORCH_CHECK_TYPE(out.scalar_type() == src.scalar_type(), "gather_rows: out has dtype ", out.scalar_type(),
                   " but src has ", src.scalar_type());
  TORCH_CHECK_VALUE(out.dim() == 2 && out.size(0) == index.numel() && out.size(1) == src.size(1),
                    "gather_rows: out must have shape [", index.numel(), ", ", src.size(1), "], got ", out.sizes());
  TORCH_CHECK_VALUE(src.is_contiguous() && out.is_contiguous(), "gather_rows: src and out must be contiguous");
  const at::Tensor idx = index.contiguous();
  // The copy is a parallel memcpy: out sharing bytes with src (or index) would read rows already overwritten.
  check_no_overlap("gather_rows", "out", out, "src", src);
  check_no_overlap("gather_rows", "out", out, "index", idx);
  const int64_t n = idx.numel(), rows = src.size(0);
  const int64_t* ip = idx.data_ptr<int64_t>();
  const size_t row_bytes = (size_t)src.size(1) * src.element_size();
  const char* sp = static_cast<const char*>(src.const_data_ptr());
  char* op = static_cast<char*>(out.data_ptr());
  // First bad position (or n): found in parallel, reported before any copy.
  std::atomic<int64_t> bad{n};
  at::parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      if (ip[i] < 0 || ip[i] >= rows) {
        int64_t cur = bad.load();
        while (i < cur && !bad.compare_exchange_weak(cur, i)) {}
        return;
      }
    }
  });
  const int64_t b = bad.load();
  TORCH_CHECK_VALUE(b == n, "gather_rows: index[", b, "] is ", (b < n ? ip[b] : 0), " but src has ", rows, " rows");
  // Grain: ~64 KiB of copying per task keeps thread start-up small next to the work.
  const int64_t grain = std::max<int64_t>(1, (int64_t)((64 << 10) / std::max<size_t>(row_bytes, 1)));
  at::parallel_for(0, n, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) std::memcpy(op + i * row_bytes, sp + ip[i] * row_bytes, row_bytes);
  });
  return out;
}

}  // namespace gather
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) { m.impl("gather_rows", &graphkit::gather::gather_rows); }
