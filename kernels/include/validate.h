// The one home of argument validation for every graphkit op, shared by the CPU and CUDA implementations: dtypes,
// devices, shapes, index bounds, CSR structure and sizes, run before any launch (or, where a separate pass would
// cost too much, as the kernel reads each index: see BadIndex).
//
// They raise typed c10 errors (TORCH_CHECK_TYPE -> Python TypeError, TORCH_CHECK_VALUE -> ValueError) whose
// message names the argument and the offending value, so a bad call from Python fails cleanly, never reads or
// writes out of bounds. Bounds scans are parallel and touch only the index arrays, a few percent of an op's traffic.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
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


// The first out-of-range index a kernel met while reading (any one of them when several threads meet one). Used
// where a separate pass over an index array would cost more than the op (csr_reduce's col, the sampler's CSR):
// the kernel checks each index as it reads it, skips the bad one, records it here, and the op raises after the
// parallel region (never from inside it).
struct BadIndex {
  std::atomic<bool> seen{false};
  std::atomic<int64_t> value{0};
  void record(int64_t v) {
    value.store(v, std::memory_order_relaxed);
    seen.store(true, std::memory_order_release);
  }
  bool any() const { return seen.load(std::memory_order_acquire); }
  int64_t get() const { return value.load(std::memory_order_relaxed); }
};

// eid (already checked to hold n entries in [0, n)) is a permutation of [0, n): no entry repeats. Ops that write
// out[eid[k]] into an uninitialised output rely on it (a repeat leaves some row unwritten, and two threads could
// write one row). CPU: one serial pass with a bitmap of n bits (n / 8 bytes, cache-resident up to millions of
// edges); elsewhere a scatter of ones and a count, one sync.
inline void check_permutation(const char* name, const at::Tensor& eid, int64_t n) {
  if (n == 0) return;
  if (!eid.is_cpu()) {
    auto seen = at::zeros({n}, eid.options().dtype(at::kInt));
    seen.index_fill_(0, eid.to(at::kLong), 1);
    const int64_t distinct = seen.sum().item<int64_t>();
    TORCH_CHECK_VALUE(distinct == n, name, " must be a permutation of the ", n, " edge ids, but ", n - distinct,
                      " of its entries repeat an earlier one");
    return;
  }
  auto c = eid.contiguous();
  std::vector<uint64_t> bits((n + 63) / 64, 0);
  int64_t dup = -1;
  AT_DISPATCH_INDEX_TYPES(c.scalar_type(), "check_permutation", [&] {
    const index_t* p = c.data_ptr<index_t>();
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t v = uint64_t(p[i]), m = uint64_t(1) << (v & 63);
      if (bits[v >> 6] & m) { dup = i; break; }
      bits[v >> 6] |= m;
    }
  });
  if (dup >= 0) {
    const int64_t v = c.scalar_type() == at::kLong ? c.data_ptr<int64_t>()[dup] : c.data_ptr<int32_t>()[dup];
    TORCH_CHECK_VALUE(false, name, " must be a permutation of the ", n, " edge ids, but ", name, "[", dup, "] = ", v,
                      " repeats an earlier entry");
  }
}

// `a` and `b` (contiguous, or their storages' spans otherwise) share no byte: an op writing `a` while reading `b`
// in parallel needs it.
inline void check_no_overlap(const char* op, const char* a_name, const at::Tensor& a, const char* b_name,
                             const at::Tensor& b) {
  if (a.numel() == 0 || b.numel() == 0) return;
  auto span = [](const at::Tensor& t) -> std::pair<uintptr_t, uintptr_t> {
    if (t.is_contiguous()) {
      const uintptr_t p = reinterpret_cast<uintptr_t>(t.const_data_ptr());
      return {p, p + uintptr_t(t.numel()) * t.element_size()};
    }
    const uintptr_t p = reinterpret_cast<uintptr_t>(t.storage().data());
    return {p, p + t.storage().nbytes()};
  };
  const auto sa = span(a), sb = span(b);
  TORCH_CHECK_VALUE(sa.second <= sb.first || sb.second <= sa.first, op, ": ", a_name, " overlaps ", b_name,
                    " in memory; pass a separate output buffer");
}

// A size argument (rows of an output) checked before anything is allocated: >= 0, and the output of `rows` x
// `row_bytes` bytes representable (the Python face also checks it against the machine's memory).
inline void check_size(const char* name, int64_t rows, int64_t row_bytes) {
  TORCH_CHECK_VALUE(rows >= 0, name, " must be >= 0, got ", rows);
  TORCH_CHECK_VALUE(row_bytes <= 0 || rows <= std::numeric_limits<int64_t>::max() / row_bytes, name, " is ", rows,
                    ": the output would need more than 2^63 bytes");
}

// ---- per-op validation ----

enum class Reduce { Sum = 0, Mean = 1, Max = 2, Min = 3 };
enum class SddmmOp { Dot = 0, Add = 1, Mul = 2 };

inline Reduce parse_reduce(const std::string& r) {
  if (r == "sum") return Reduce::Sum;
  if (r == "mean") return Reduce::Mean;
  if (r == "max") return Reduce::Max;
  TORCH_CHECK_VALUE(r == "min", "reduce must be one of sum, mean, max, min, got '", r, "'");
  return Reduce::Min;
}

inline SddmmOp parse_sddmm_op(const std::string& op) {
  if (op == "dot") return SddmmOp::Dot;
  if (op == "add") return SddmmOp::Add;
  TORCH_CHECK_VALUE(op == "mul", "op must be one of dot, add, mul, got '", op, "'");
  return SddmmOp::Mul;
}

// csr_reduce: rowptr [R+1]; col [E] (< x.size(0)) or none (then rowptr[-1] == x.size(0));
// eid [E] (< weight.size(0)) or none (then weight has E rows); weight [E', H]; x [M, H, F].
// col_bounds = false leaves col's bounds to the caller: the CPU kernel checks each index as it reads it.
// ranges = false leaves every value check (rowptr, col, eid) to the caller: the CUDA kernels check them in the
// kernel (kernels/cuda/common.cuh), so validation needs no device-to-host sync.
inline void validate_csr_reduce(const at::Tensor& rowptr, const c10::optional<at::Tensor>& col,
                                const c10::optional<at::Tensor>& eid, const c10::optional<at::Tensor>& weight,
                                const at::Tensor& x, bool col_bounds = true, bool ranges = true) {
  TORCH_CHECK_TYPE(at::isFloatingType(x.scalar_type()), "x must be a floating-point tensor, got ", x.scalar_type());
  TORCH_CHECK_VALUE(x.dim() == 3, "x must have shape [M, H, F], got ", x.sizes());
  TORCH_CHECK_VALUE(rowptr.device() == x.device(), "rowptr is on ", rowptr.device(), " but x is on ", x.device());
  const int64_t entries = col ? col->numel() : x.size(0);
  check_rowptr(rowptr, entries, col ? "col" : "x", ranges);
  if (col) {
    check_index_tensor("col", *col, rowptr);
    if (col_bounds && ranges) check_bounds("col", *col, x.size(0), "x.size(0)");
  }
  if (eid) {
    check_index_tensor("eid", *eid, rowptr);
    TORCH_CHECK_VALUE(eid->numel() == entries, "eid has ", eid->numel(), " entries but col has ", entries);
    TORCH_CHECK_VALUE(weight.has_value(), "eid was given without weight");
  }
  if (weight) {
    check_float_tensor("weight", *weight, 2, x);
    TORCH_CHECK_VALUE(weight->size(1) == x.size(1), "weight has ", weight->size(1), " heads but x has ", x.size(1));
    if (eid) {
      if (ranges) check_bounds("eid", *eid, weight->size(0), "weight.size(0)");
    } else {
      TORCH_CHECK_VALUE(weight->size(0) == entries, "weight has ", weight->size(0), " rows but there are ", entries,
                        " edges");
    }
  }
}

// sddmm: rowptr [R+1] over a's rows, col [E] < b.size(0), eid [E] (a permutation of the output rows) or none.
inline void validate_sddmm(const at::Tensor& rowptr, const at::Tensor& col, const c10::optional<at::Tensor>& eid,
                           const at::Tensor& a, const at::Tensor& b, bool ranges = true) {
  TORCH_CHECK_TYPE(at::isFloatingType(a.scalar_type()), "a must be a floating-point tensor, got ", a.scalar_type());
  TORCH_CHECK_VALUE(a.dim() == 3, "a must have shape [N, H, F], got ", a.sizes());
  check_float_tensor("b", b, 3, a);
  TORCH_CHECK_VALUE(a.size(1) == b.size(1) && a.size(2) == b.size(2), "a has shape ", a.sizes(), " but b has shape ",
                    b.sizes(), " (trailing sizes must match)");
  TORCH_CHECK_VALUE(rowptr.device() == a.device(), "rowptr is on ", rowptr.device(), " but a is on ", a.device());
  const int64_t rows = check_rowptr(rowptr, col.numel(), "col", ranges);
  TORCH_CHECK_VALUE(rows == a.size(0), "rowptr has ", rows, " rows but a has ", a.size(0));
  check_index_tensor("col", col, rowptr);
  if (ranges) check_bounds("col", col, b.size(0), "b.size(0)");
  if (eid) {
    check_index_tensor("eid", *eid, rowptr);
    TORCH_CHECK_VALUE(eid->numel() == col.numel(), "eid has ", eid->numel(), " entries but col has ", col.numel());
    if (ranges) {  // the CUDA kernels check values in the kernel, without a host sync
      check_bounds("eid", *eid, col.numel(), "the number of edges");
      check_permutation("eid", *eid, col.numel());
    }
  }
}

// edge softmax: rowptr [R+1], eid [E] (< E) or none, scores [E, H].
inline void validate_softmax(const at::Tensor& rowptr, const c10::optional<at::Tensor>& eid, const at::Tensor& s,
                             const char* name, bool ranges = true) {
  TORCH_CHECK_TYPE(at::isFloatingType(s.scalar_type()), name, " must be a floating-point tensor, got ",
                   s.scalar_type());
  TORCH_CHECK_VALUE(s.dim() == 2, name, " must have shape [E, H], got ", s.sizes());
  TORCH_CHECK_VALUE(rowptr.device() == s.device(), "rowptr is on ", rowptr.device(), " but ", name, " is on ",
                    s.device());
  check_rowptr(rowptr, s.size(0), name, ranges);
  if (eid) {
    check_index_tensor("eid", *eid, rowptr);
    TORCH_CHECK_VALUE(eid->numel() == s.size(0), "eid has ", eid->numel(), " entries but ", name, " has ", s.size(0));
    if (ranges) {
      check_bounds("eid", *eid, s.size(0), "the number of edges");
      check_permutation("eid", *eid, s.size(0));
    }
  }
}


// sample_neighbors: a CSR of incoming edges (rowptr [N+1], col [E] sources, perm [E] edge ids), seeds [B], one
// fan-out per hop. Checked here: dtypes, ranks, device, sizes, rowptr's two ends, the fan-outs. Not here: the
// interior of rowptr and the entries of col/perm, which a full pass would read every batch (O(N + E) per call,
// more than sampling a batch costs); the sampler checks exactly the rows and entries it reads (check_csr_row,
// and BadIndex for col/perm), so a corrupt CSR raises instead of reading or writing out of bounds.
constexpr int64_t kMaxFanoutWithReplacement = int64_t(1) << 20;  // draws per node; beyond it a hop is gigabytes
constexpr int64_t kMaxSampledEdges = int64_t(1) << 31;           // per call: the sub-graph's edge arrays

inline void validate_sample_neighbors(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& perm,
                                      const at::Tensor& seeds, at::IntArrayRef fanouts, bool replace) {
  for (const auto& pair : {std::make_pair("rowptr", &rowptr), std::make_pair("col", &col),
                           std::make_pair("perm", &perm), std::make_pair("seeds", &seeds)}) {
    TORCH_CHECK_TYPE(pair.second->scalar_type() == at::kLong, "sample_neighbors: ", pair.first,
                     " must be int64, got ", pair.second->scalar_type());
    TORCH_CHECK_VALUE(pair.second->dim() == 1, "sample_neighbors: ", pair.first, " must be 1-D, got shape ",
                      pair.second->sizes());
    TORCH_CHECK_VALUE(pair.second->device().is_cpu(), "sample_neighbors: ", pair.first, " must be on the CPU");
  }
  TORCH_CHECK_VALUE(rowptr.numel() >= 1, "sample_neighbors: rowptr must have num_nodes + 1 >= 1 entries");
  TORCH_CHECK_VALUE(rowptr.numel() - 1 < int64_t(std::numeric_limits<int32_t>::max()),
                    "sample_neighbors: more than 2^31 - 1 nodes");
  const int64_t E = col.numel();
  TORCH_CHECK_VALUE(perm.numel() == E, "sample_neighbors: perm has ", perm.numel(), " entries but col has ", E);
  const int64_t first = rowptr[0].item<int64_t>(), last = rowptr[-1].item<int64_t>();
  TORCH_CHECK_VALUE(first == 0, "sample_neighbors: rowptr[0] must be 0, got ", first);
  TORCH_CHECK_VALUE(last == E, "sample_neighbors: rowptr[-1] is ", last, " but col has ", E, " entries");
  for (size_t h = 0; h < fanouts.size(); ++h) {
    TORCH_CHECK_VALUE(fanouts[h] >= 0 || fanouts[h] == -1, "sample_neighbors: fanouts[", h, "] is ", fanouts[h],
                      " but must be >= 0 or -1 (all neighbours)");
    TORCH_CHECK_VALUE(!replace || fanouts[h] <= kMaxFanoutWithReplacement, "sample_neighbors: fanouts[", h,
                      "] is ", fanouts[h], " with replace=True (that many draws per node); at most ",
                      kMaxFanoutWithReplacement);
  }
}

// The edge range [rowptr[v], rowptr[v + 1]) of a row the sampler is about to read, inside [0, E]: a
// non-monotone or out-of-range rowptr raises here instead of walking col/perm out of bounds.
inline void check_csr_row(const int64_t* rowptr, int64_t v, int64_t E) {
  const int64_t b = rowptr[v], e = rowptr[v + 1];
  TORCH_CHECK_VALUE(0 <= b && b <= e && e <= E, "sample_neighbors: rowptr must be non-decreasing in [0, ", E,
                    "], but rowptr[", v, "] = ", b, " and rowptr[", v + 1, "] = ", e);
}

// ---- the seed papers' samplers (cpu/random_walk.cpp, cpu/subgraph.cpp) ----
// A CSR given to them: int64 1-D CPU tensors, rowptr's two ends, perm (when given) as long as col. As for
// sample_neighbors, the interior of rowptr and the entries of col/perm are checked as each row is read
// (check_row, BadIndex), never by a full pass per batch.
inline void validate_csr_args(const char* op, const at::Tensor& rowptr, const at::Tensor& col,
                              const at::Tensor* perm, const at::Tensor& nodes, const char* nodes_name) {
  for (const auto& pair : {std::make_pair("rowptr", &rowptr), std::make_pair("col", &col),
                           std::make_pair(nodes_name, &nodes), std::make_pair("perm", perm)}) {
    if (pair.second == nullptr) continue;
    TORCH_CHECK_TYPE(pair.second->scalar_type() == at::kLong, op, ": ", pair.first, " must be int64, got ",
                     pair.second->scalar_type());
    TORCH_CHECK_VALUE(pair.second->dim() == 1, op, ": ", pair.first, " must be 1-D, got shape ",
                      pair.second->sizes());
    TORCH_CHECK_VALUE(pair.second->device().is_cpu(), op, ": ", pair.first, " must be on the CPU");
  }
  TORCH_CHECK_VALUE(rowptr.numel() >= 1, op, ": rowptr must have num_nodes + 1 >= 1 entries");
  TORCH_CHECK_VALUE(rowptr.numel() - 1 < int64_t(std::numeric_limits<int32_t>::max()), op,
                    ": more than 2^31 - 1 nodes");
  const int64_t E = col.numel();
  if (perm != nullptr)
    TORCH_CHECK_VALUE(perm->numel() == E, op, ": perm has ", perm->numel(), " entries but col has ", E);
  const int64_t first = rowptr[0].item<int64_t>(), last = rowptr[-1].item<int64_t>();
  TORCH_CHECK_VALUE(first == 0, op, ": rowptr[0] must be 0, got ", first);
  TORCH_CHECK_VALUE(last == E, op, ": rowptr[-1] is ", last, " but col has ", E, " entries");
}

// Every entry of a node-id tensor in [0, N) (one parallel min/max pass over the ids a call starts from).
inline void check_node_ids(const char* op, const char* name, const at::Tensor& t, int64_t N) {
  if (t.numel() == 0) return;
  const auto mm = index_range(t);
  const int64_t bad = mm.first < 0 ? mm.first : mm.second;
  TORCH_CHECK_VALUE(mm.first >= 0 && mm.second < N, op, ": ", name, " has node ", bad, " but num_nodes is ", N);
}

// Row v's edge range inside [0, E], for the op named in the message.
inline void check_row(const char* op, const int64_t* rowptr, int64_t v, int64_t E) {
  const int64_t b = rowptr[v], e = rowptr[v + 1];
  TORCH_CHECK_VALUE(0 <= b && b <= e && e <= E, op, ": rowptr must be non-decreasing in [0, ", E, "], but rowptr[",
                    v, "] = ", b, " and rowptr[", v + 1, "] = ", e);
}

}  // namespace graphkit
