// CPU csr_reduce: out[r] = reduce_{k in row r} w[eid[k]] * x[col[k]], fused (no per-edge message tensor).
//
// Rows are split across threads by edge count (partition.h). Within a row the accumulator for a tile of features
// lives in vector registers while the row's edges stream past (csr_reduce_tiles.h), and the next sources' tiles are
// prefetched a few edges ahead, since the gather x[col[k]] is the random access that dominates. Large outputs
// come from alloc.h (huge pages, reused blocks).
#include <torch/library.h>

#include <algorithm>
#include <limits>
#include <type_traits>

#include "../include/alloc.h"
#include "../include/isa.h"
#include "../include/partition.h"
#include "../include/validate.h"
#include "csr_reduce_tiles.h"

namespace graphkit {
namespace {

// The arguments of one csr_reduce call, as the row loops read them.
template <typename scalar_t, typename index_t>
struct ReduceArgs {
  const index_t *rowptr, *col, *eid;
  const scalar_t *w, *x;
  int64_t num_src;
  BadIndex* bad;
  scalar_t* out;
  int64_t* arg;
  int64_t H, F;
  bool nan_aware;  // max/min: some w_k x may be NaN, so the NaN-propagating compare runs (csr_reduce_tiles.h)
  int64_t nnz;     // rowptr[rows]: how far ahead a prefetch may read col
  // the epilogue of csr_reduce_epilogue (sum/mean): out[r] = act(. + diag[r] * x[r] (r < D) + bias)
  const scalar_t *diag, *bias;
  int64_t D;
  bool relu;
};

// Row r's edges [b, e) reduced into out[r] (and arg[r] for max/min) by register tiles (csr_reduce_tiles.h); per head
// when weighted, since each head has its own weight, else the whole row is one vector. Sum/mean scale the result
// (the mean's 1/degree) and, when Epi, apply the epilogue as each tile is stored.
template <Reduce R, bool Weighted, bool Epi, typename scalar_t, typename index_t>
__attribute__((always_inline)) inline void tile_row(const ReduceArgs<scalar_t, index_t>& a, int64_t r, int64_t b,
                                                    int64_t e, scalar_t scale) {
  const int64_t HF = a.H * a.F, heads = Weighted ? a.H : 1, width = Weighted ? a.F : HF;
  for (int64_t h = 0; h < heads; ++h) {
    const tiles::Gather<scalar_t, index_t, Weighted> g{a.col, a.eid, a.w, a.x, HF, a.H, h, a.num_src, a.bad};
    const int64_t base = r * HF + h * width;
    tiles::for_tiles<scalar_t>(width, [&](auto v, int64_t f) __attribute__((always_inline)) {
      constexpr int V = decltype(v)::value;
      const int64_t n = V ? V * tiles::lanes<scalar_t>() : width - f;
      if constexpr (R == Reduce::Sum || R == Reduce::Mean) {
        // A tile that is the whole row prefetches on into the next rows (their tile is at the same offset).
        const int64_t ahead_end = (heads == 1 && n == width) ? a.nnz : e;
        tiles::Epilogue<scalar_t> ep{nullptr, scalar_t(0), nullptr, false};
        if constexpr (Epi) {
          const bool self = a.diag != nullptr && r < a.D;
          ep = {self ? a.x + base + f : nullptr, self ? a.diag[r] : scalar_t(0),
                a.bias ? a.bias + h * width + f : nullptr, a.relu};
        }
        tiles::sum_tile<V, Epi>(g, a.out + base + f, b, e, ahead_end, h * width + f, n, scale, ep);
      } else if (a.nan_aware) {
        tiles::select_tile<V, R == Reduce::Max, true>(g, a.out + base + f, a.arg + base + f, b, e, h * width + f, n);
      } else {
        tiles::select_tile<V, R == Reduce::Max, false>(g, a.out + base + f, a.arg + base + f, b, e, h * width + f, n);
      }
    });
  }
}

// Rows [rb, re). Inlined into a default-ISA and an AVX2+FMA entry point, picked at run time: the build has no
// -march (a portable binary), and once the gathers are cache or prefetch hits the accumulate loop is what is
// left, which 256-bit vectors halve.
template <typename scalar_t, typename index_t, Reduce R, bool Epi>
__attribute__((always_inline)) inline void reduce_rows(const ReduceArgs<scalar_t, index_t>& a, int64_t rb,
                                                       int64_t re) {
  constexpr bool select = R == Reduce::Max || R == Reduce::Min;
  const int64_t HF = a.H * a.F;
  for (int64_t r = rb; r < re; ++r) {
    const int64_t b = a.rowptr[r], e = a.rowptr[r + 1];
    if (select && e == b) {  // a target without incoming edges gets 0, and no arg
      for (int64_t i = 0; i < HF; ++i) a.out[r * HF + i] = scalar_t(0), a.arg[r * HF + i] = -1;
    } else {
      const scalar_t scale = (R == Reduce::Mean && e > b) ? scalar_t(1) / scalar_t(e - b) : scalar_t(1);
      if (a.w) tile_row<R, true, Epi>(a, r, b, e, scale);
      else tile_row<R, false, Epi>(a, r, b, e, scale);
    }
  }
}

template <typename scalar_t, typename index_t, Reduce R, bool Epi>
void reduce_rows_default(const ReduceArgs<scalar_t, index_t>& a, int64_t rb, int64_t re) {
  reduce_rows<scalar_t, index_t, R, Epi>(a, rb, re);
}

template <typename scalar_t, typename index_t, Reduce R, bool Epi>
__attribute__((target("avx2,fma"))) void reduce_rows_avx2(const ReduceArgs<scalar_t, index_t>& a, int64_t rb,
                                                          int64_t re) {
  reduce_rows<scalar_t, index_t, R, Epi>(a, rb, re);
}

// Whether a max/min call must run the NaN-propagating compare: some x, or with weights some w or an infinity that
// could meet a zero, is not a plain number.
template <typename scalar_t>
bool select_needs_nan_checks(Reduce R, const at::Tensor& x, const at::Tensor* w) {
  if (R != Reduce::Max && R != Reduce::Min) return false;
  const bool weighted = w != nullptr;
  if (!tiles::nan_free(x.data_ptr<scalar_t>(), x.numel(), weighted)) return true;
  return weighted && !tiles::nan_free(w->data_ptr<scalar_t>(), w->numel(), true);
}

// The epilogue's tensors (contiguous, checked) or nulls: csr_reduce passes none.
struct EpilogueArgs {
  const at::Tensor* diag = nullptr;
  const at::Tensor* bias = nullptr;
  bool relu = false;
  bool any() const { return diag || bias || relu; }
};

template <Reduce R>
void dispatch(const at::Tensor& rowptr, const at::Tensor* col, const at::Tensor* eid, const at::Tensor* w,
              const at::Tensor& x, at::Tensor& out, at::Tensor& arg, BadIndex& bad, const EpilogueArgs& ep) {
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "csr_reduce_cpu", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "csr_reduce_cpu_index", [&] {
      const index_t* rp = rowptr.data_ptr<index_t>();
      const int64_t rows = out.size(0);
      const ReduceArgs<scalar, index_t> a{rp,
                                          col ? col->data_ptr<index_t>() : nullptr,
                                          eid ? eid->data_ptr<index_t>() : nullptr,
                                          w ? w->data_ptr<scalar>() : nullptr,
                                          x.data_ptr<scalar>(),
                                          x.size(0),
                                          &bad,
                                          out.data_ptr<scalar>(),
                                          arg.numel() ? arg.data_ptr<int64_t>() : nullptr,
                                          x.size(1),
                                          x.size(2),
                                          select_needs_nan_checks<scalar>(R, x, w),
                                          int64_t(rp[rows]),
                                          ep.diag ? ep.diag->data_ptr<scalar>() : nullptr,
                                          ep.bias ? ep.bias->data_ptr<scalar>() : nullptr,
                                          ep.diag ? ep.diag->numel() : 0,
                                          ep.relu};
      auto range = use_avx2() ? &reduce_rows_avx2<scalar, index_t, R, false>
                              : &reduce_rows_default<scalar, index_t, R, false>;
      if constexpr (R == Reduce::Sum || R == Reduce::Mean) {
        if (ep.any())
          range = use_avx2() ? &reduce_rows_avx2<scalar, index_t, R, true>
                             : &reduce_rows_default<scalar, index_t, R, true>;
      }
      parallel_rows(a.rowptr, rows, a.H * a.F, [&](int64_t rb, int64_t re) { range(a, rb, re); });
    });
  });
}

// Checks, then the kernel: the body of both ops. Returns (out, arg).
std::tuple<at::Tensor, at::Tensor> run_reduce(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& col_,
                                              const c10::optional<at::Tensor>& eid_,
                                              const c10::optional<at::Tensor>& weight_, const at::Tensor& x_,
                                              Reduce R, const EpilogueArgs& ep) {
  // The kernel checks col's bounds as it gathers (csr_reduce_tiles.h), except with no features, where it reads nothing.
  const bool kernel_checks = x_.dim() == 3 && x_.size(1) * x_.size(2) > 0;
  validate_csr_reduce(rowptr_, col_, eid_, weight_, x_, /*col_bounds=*/!kernel_checks);
  TORCH_CHECK_TYPE(x_.scalar_type() == at::kFloat || x_.scalar_type() == at::kDouble,
                   "the CPU kernels take float32 or float64, got ", x_.scalar_type());
  const int64_t entries = col_ ? col_->numel() : x_.size(0);
  if ((R == Reduce::Max || R == Reduce::Min) && x_.scalar_type() == at::kFloat &&
      entries > std::numeric_limits<int32_t>::max()) {  // only then can one row be too long for the int32 lanes
    const auto deg = rowptr_.narrow(0, 1, rowptr_.numel() - 1) - rowptr_.narrow(0, 0, rowptr_.numel() - 1);
    const int64_t longest = deg.max().item<int64_t>();
    TORCH_CHECK_VALUE(longest <= std::numeric_limits<int32_t>::max(),
                      "float32 max/min supports rows of up to 2^31 - 1 edges, got a row of ", longest, " (use float64)");
  }
  auto rowptr = rowptr_.contiguous();
  auto x = x_.contiguous();
  at::Tensor col, eid, w;
  if (col_) col = col_->contiguous();
  if (eid_) eid = eid_->contiguous();
  if (weight_) w = weight_->contiguous();
  const int64_t rows = rowptr.numel() - 1;
  auto out = empty_output({rows, x.size(1), x.size(2)}, x.options());
  const bool with_arg = R == Reduce::Max || R == Reduce::Min;
  auto arg = with_arg ? empty_output({rows, x.size(1), x.size(2)}, x.options().dtype(at::kLong))
                      : at::empty({0}, x.options().dtype(at::kLong));
  const at::Tensor* c = col_ ? &col : nullptr;
  const at::Tensor* ei = eid_ ? &eid : nullptr;
  const at::Tensor* wp = weight_ ? &w : nullptr;
  BadIndex bad;
  switch (R) {
    case Reduce::Sum: dispatch<Reduce::Sum>(rowptr, c, ei, wp, x, out, arg, bad, ep); break;
    case Reduce::Mean: dispatch<Reduce::Mean>(rowptr, c, ei, wp, x, out, arg, bad, ep); break;
    case Reduce::Max: dispatch<Reduce::Max>(rowptr, c, ei, wp, x, out, arg, bad, ep); break;
    case Reduce::Min: dispatch<Reduce::Min>(rowptr, c, ei, wp, x, out, arg, bad, ep); break;
  }
  if (bad.any()) {
    const int64_t b = bad.get();
    TORCH_CHECK_VALUE(b >= 0, "col has negative index ", b);
    TORCH_CHECK_VALUE(false, "col has index ", b, " but x.size(0) is ", x.size(0));
  }
  return {out, arg};
}

std::tuple<at::Tensor, at::Tensor> csr_reduce_cpu(const at::Tensor& rowptr, const c10::optional<at::Tensor>& col,
                                                  const c10::optional<at::Tensor>& eid,
                                                  const c10::optional<at::Tensor>& weight, const at::Tensor& x,
                                                  c10::string_view reduce) {
  return run_reduce(rowptr, col, eid, weight, x, parse_reduce(std::string(reduce)), EpilogueArgs{});
}

// csr_reduce (sum or mean) with the epilogue out[r] = act(reduce[r] + diag[r] * x[r] + bias): diag [D] scales
// the target's own row of x for r < D (D <= rows and D <= x.size(0): targets are the first sources, as on a square
// graph or a layer-trimmed batch), bias [H * F] is added to every row, act is "none" or "relu".
at::Tensor csr_reduce_epilogue_cpu(const at::Tensor& rowptr, const c10::optional<at::Tensor>& col,
                                   const c10::optional<at::Tensor>& eid, const c10::optional<at::Tensor>& weight,
                                   const at::Tensor& x, c10::string_view reduce_, const c10::optional<at::Tensor>& diag_,
                                   const c10::optional<at::Tensor>& bias_, c10::string_view act_) {
  const Reduce R = parse_reduce(std::string(reduce_));
  TORCH_CHECK_VALUE(R == Reduce::Sum || R == Reduce::Mean, "the epilogue needs reduce 'sum' or 'mean', got '",
                    std::string(reduce_), "'");
  const std::string act(act_);
  TORCH_CHECK_VALUE(act == "none" || act == "relu", "act must be 'none' or 'relu', got '", act, "'");
  TORCH_CHECK_VALUE(x.dim() == 3, "x must have shape [M, H, F], got ", x.sizes());
  const int64_t rows = rowptr.numel() - 1;
  at::Tensor diag, bias;
  EpilogueArgs ep;
  ep.relu = act == "relu";
  if (diag_) {
    TORCH_CHECK_VALUE(diag_->dim() == 1, "diag must have shape [D], got ", diag_->sizes());
    TORCH_CHECK_VALUE(diag_->size(0) <= rows && diag_->size(0) <= x.size(0), "diag has ", diag_->size(0),
                      " entries but there are ", rows, " rows and x.size(0) is ", x.size(0));
    TORCH_CHECK_TYPE(diag_->scalar_type() == x.scalar_type(), "diag has dtype ", diag_->scalar_type(),
                     " but x has dtype ", x.scalar_type());
    TORCH_CHECK_VALUE(diag_->device() == x.device(), "diag is on ", diag_->device(), " but x is on ", x.device());
    diag = diag_->contiguous();
    ep.diag = &diag;
  }
  if (bias_) {
    TORCH_CHECK_VALUE(bias_->numel() == x.size(1) * x.size(2), "bias has ", bias_->numel(),
                      " entries but x's rows have ", x.size(1) * x.size(2));
    TORCH_CHECK_TYPE(bias_->scalar_type() == x.scalar_type(), "bias has dtype ", bias_->scalar_type(),
                     " but x has dtype ", x.scalar_type());
    TORCH_CHECK_VALUE(bias_->device() == x.device(), "bias is on ", bias_->device(), " but x is on ", x.device());
    bias = bias_->contiguous();
    ep.bias = &bias;
  }
  return std::get<0>(run_reduce(rowptr, col, eid, weight, x, R, ep));
}

}  // namespace
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) {
  m.impl("csr_reduce", &graphkit::csr_reduce_cpu);
  m.impl("csr_reduce_epilogue", &graphkit::csr_reduce_epilogue_cpu);
}
