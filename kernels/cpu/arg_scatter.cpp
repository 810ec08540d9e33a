// The x-gradient of a max/min csr_reduce: every output element sends its gradient to the one source its arg
// picked, grad_x[src(arg[r, c]), c] += coeff * grad[r, c] with src(k) = col[k] (or k without col) and coeff the
// edge's weight for head c / F (or 1).
//
// arg_scatter(col?, eid?, weight?, arg [R, H, F], grad [R, H, F], num_src) -> grad_x [num_src, H, F]
//
// Two outputs rows may pick the same source in the same column, so rows cannot be split across threads without
// atomics. Columns can: each thread owns a range of whole 64-byte column blocks and walks every row for them, so
// no two threads write the same cache line and the result is deterministic (rows are added in order).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>

#include "../include/alloc.h"
#include "../include/validate.h"

namespace graphkit {
namespace {

template <typename scalar_t, typename index_t>
void arg_scatter_impl(const index_t* col, const index_t* eid, const scalar_t* w, const int64_t* arg,
                      const scalar_t* grad, scalar_t* gx, int64_t R, int64_t H, int64_t F, int64_t num_entries,
                      int64_t num_src, std::atomic<int64_t>& bad) {
  const int64_t HF = H * F;
  const int64_t block = std::max<int64_t>(1, 64 / int64_t(sizeof(scalar_t)));
  const int64_t nblocks = (HF + block - 1) / block;
  at::parallel_for(0, nblocks, R * HF < 32768 ? nblocks : 1, [&](int64_t b0, int64_t b1) {
    const int64_t c0 = b0 * block, c1 = std::min(HF, b1 * block);
    for (int64_t r = 0; r < R; ++r) {
      const int64_t* a = arg + r * HF;
      const scalar_t* g = grad + r * HF;
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t k = a[c];
        if (k == -1) continue;  // an empty row: nothing was picked
        if (k < -1 || k >= num_entries) {
          bad.store(k);
          return;
        }
        const int64_t s = col ? int64_t(col[k]) : k;
        const scalar_t coeff = w ? w[(eid ? int64_t(eid[k]) : k) * H + c / F] : scalar_t(1);
        gx[s * HF + c] += coeff * g[c];
      }
    }
  });
}

at::Tensor arg_scatter_cpu(const c10::optional<at::Tensor>& col_, const c10::optional<at::Tensor>& eid_,
                           const c10::optional<at::Tensor>& weight_, const at::Tensor& arg_, const at::Tensor& grad_,
                           int64_t num_src) {
  TORCH_CHECK_TYPE(grad_.scalar_type() == at::kFloat || grad_.scalar_type() == at::kDouble,
                   "arg_scatter: grad must be float32 or float64, got ", grad_.scalar_type());
  TORCH_CHECK_TYPE(arg_.scalar_type() == at::kLong, "arg_scatter: arg must be int64, got ", arg_.scalar_type());
  TORCH_CHECK_VALUE(grad_.dim() == 3 && arg_.sizes() == grad_.sizes(),
                    "arg_scatter: arg and grad must have the same shape [R, H, F], got ", arg_.sizes(), " and ",
                    grad_.sizes());
  const int64_t R = grad_.size(0), H = grad_.size(1), F = grad_.size(2);
  check_size("arg_scatter: num_src", num_src, H * F * grad_.element_size());
  if (col_) {
    check_index_tensor("col", *col_, *col_);
    check_bounds("col", *col_, num_src, "num_src");
  }
  if (weight_) {
    check_float_tensor("weight", *weight_, 2, grad_);
    TORCH_CHECK_VALUE(weight_->size(1) == H, "arg_scatter: weight has ", weight_->size(1), " heads but grad has ", H);
  }
  if (eid_) {
    TORCH_CHECK_VALUE(weight_ && col_, "arg_scatter: eid needs weight and col");
    check_index_tensor("eid", *eid_, *col_);
    TORCH_CHECK_VALUE(eid_->numel() == col_->numel(), "arg_scatter: eid has ", eid_->numel(), " entries but col has ",
                      col_->numel());
    check_bounds("eid", *eid_, weight_->size(0), "weight.size(0)");
  }
  // the positions arg may hold: entries of col, or source rows (and weight rows) directly
  const int64_t num_entries = col_ ? col_->numel() : num_src;
  TORCH_CHECK_VALUE(!weight_ || eid_ || weight_->size(0) >= num_entries, "arg_scatter: weight has ",
                    weight_ ? weight_->size(0) : 0, " rows but positions go up to ", num_entries);
  auto arg = arg_.contiguous(), grad = grad_.contiguous();
  at::Tensor col, eid, w;
  if (col_) col = col_->contiguous();
  if (eid_) eid = eid_->contiguous();
  if (weight_) w = weight_->contiguous();
  auto gx = empty_output({num_src, H, F}, grad.options());
  gx.zero_();
  std::atomic<int64_t> bad{-1};  // -1: none (a bad position is never -1)
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "arg_scatter_cpu", [&] {
    using scalar = scalar_t;
    auto run = [&](auto* c, auto* e) {
      arg_scatter_impl<scalar>(c, e, weight_ ? w.data_ptr<scalar>() : nullptr, arg.data_ptr<int64_t>(),
                               grad.data_ptr<scalar>(), gx.data_ptr<scalar>(), R, H, F, num_entries, num_src, bad);
    };
    if (!col_) {
      run(static_cast<int64_t*>(nullptr), static_cast<int64_t*>(nullptr));
    } else {
      AT_DISPATCH_INDEX_TYPES(col.scalar_type(), "arg_scatter_cpu_index", [&] {
        run(col.data_ptr<index_t>(), eid_ ? eid.data_ptr<index_t>() : static_cast<index_t*>(nullptr));
      });
    }
  });
  TORCH_CHECK_VALUE(bad.load() == -1, "arg_scatter: arg has position ", bad.load(), " but positions must be -1 "
                    "(nothing picked) or in [0, ", num_entries, ")");
  return gx;
}

}  // namespace
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) { m.impl("arg_scatter", &graphkit::arg_scatter_cpu); }
