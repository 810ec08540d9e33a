// CPU sddmm: for every edge k in row r (target), op(a[r], b[col[k]]) written to out[eid[k]], per head.
// The target row a[r] stays in cache for the whole row; b's source rows are prefetched ahead.
#include <torch/library.h>

#include "../include/partition.h"
#include "../include/validate.h"

namespace graphkit {
namespace {

template <typename scalar_t, typename index_t, SddmmOp OP>
void sddmm_cpu_impl(const index_t* rowptr, const index_t* col, const index_t* eid, const scalar_t* a,
                    const scalar_t* b, scalar_t* out, int64_t rows, int64_t H, int64_t F) {
  const int64_t HF = H * F;
  parallel_rows(rowptr, rows, HF, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const scalar_t* __restrict__ ar = a + r * HF;
      const int64_t e1 = rowptr[r + 1];
      for (int64_t k = rowptr[r]; k < e1; ++k) {
        if (k + 4 < e1) __builtin_prefetch(b + int64_t(col[k + 4]) * HF, 0, 1);
        const scalar_t* __restrict__ bs = b + int64_t(col[k]) * HF;
        const int64_t e = eid ? int64_t(eid[k]) : k;
        for (int64_t h = 0; h < H; ++h) {
          const scalar_t* ah = ar + h * F;
          const scalar_t* bh = bs + h * F;
          if (OP == SddmmOp::Dot) {
            scalar_t s = 0;
#pragma omp simd reduction(+ : s)
            for (int64_t f = 0; f < F; ++f) s += ah[f] * bh[f];
            out[e * H + h] = s;
          } else {
            scalar_t* __restrict__ o = out + (e * H + h) * F;
#pragma omp simd
            for (int64_t f = 0; f < F; ++f) o[f] = OP == SddmmOp::Add ? ah[f] + bh[f] : ah[f] * bh[f];
          }
        }
      }
    }
  });
}

at::Tensor sddmm_cpu(const at::Tensor& rowptr_, const at::Tensor& col_, const c10::optional<at::Tensor>& eid_,
                     const at::Tensor& a_, const at::Tensor& b_, c10::string_view op_) {
  const SddmmOp op = parse_sddmm_op(std::string(op_));
  validate_sddmm(rowptr_, col_, eid_, a_, b_);
  TORCH_CHECK_TYPE(a_.scalar_type() == at::kFloat || a_.scalar_type() == at::kDouble,
                   "the CPU kernels take float32 or float64, got ", a_.scalar_type());
  auto rowptr = rowptr_.contiguous(), col = col_.contiguous(), a = a_.contiguous(), b = b_.contiguous();
  at::Tensor eid;
  if (eid_) eid = eid_->contiguous();
  const int64_t E = col.numel(), H = a.size(1), F = a.size(2);
  auto out = op == SddmmOp::Dot ? at::empty({E, H}, a.options()) : at::empty({E, H, F}, a.options());
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "sddmm_cpu", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "sddmm_cpu_index", [&] {
      const index_t* ep = eid_ ? eid.data_ptr<index_t>() : nullptr;
      auto run = [&](auto tag) {
        sddmm_cpu_impl<scalar, index_t, decltype(tag)::value>(rowptr.data_ptr<index_t>(), col.data_ptr<index_t>(),
                                                              ep, a.data_ptr<scalar>(), b.data_ptr<scalar>(),
                                                              out.data_ptr<scalar>(), a.size(0), H, F);
      };
      if (op == SddmmOp::Dot) run(std::integral_constant<SddmmOp, SddmmOp::Dot>());
      else if (op == SddmmOp::Add) run(std::integral_constant<SddmmOp, SddmmOp::Add>());
      else run(std::integral_constant<SddmmOp, SddmmOp::Mul>());
    });
  });
  return out;
}

}  // namespace
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) { m.impl("sddmm", &graphkit::sddmm_cpu); }
