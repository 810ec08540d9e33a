// CPU edge softmax over each target's incoming edges, forward and backward, heads in the inner loop.
// Forward: max pass, exp-and-sum pass, scale pass over the row (the row's scores stay in cache).
// Backward: grad_s = y * (g - sum_row(y * g)).
#include <torch/library.h>

#include <cmath>
#include <limits>
#include <vector>

#include "../include/partition.h"
#include "../include/validate.h"

namespace graphkit {
namespace {

template <typename scalar_t, typename index_t>
void softmax_fwd_impl(const index_t* rowptr, const index_t* eid, const scalar_t* s, scalar_t* y, int64_t rows,
                      int64_t H) {
  parallel_rows(rowptr, rows, H, [&](int64_t rb, int64_t re) {
    std::vector<scalar_t> mx(H), sum(H);
    for (int64_t r = rb; r < re; ++r) {
      const int64_t b = rowptr[r], e = rowptr[r + 1];
      if (b == e) continue;
      for (int64_t h = 0; h < H; ++h) mx[h] = -std::numeric_limits<scalar_t>::infinity(), sum[h] = 0;
      for (int64_t k = b; k < e; ++k) {
        const scalar_t* sk = s + (eid ? int64_t(eid[k]) : k) * H;
        for (int64_t h = 0; h < H; ++h) mx[h] = sk[h] > mx[h] ? sk[h] : mx[h];
      }
      for (int64_t k = b; k < e; ++k) {
        const int64_t o = (eid ? int64_t(eid[k]) : k) * H;
        for (int64_t h = 0; h < H; ++h) {
          const scalar_t v = std::exp(s[o + h] - mx[h]);
          y[o + h] = v;
          sum[h] += v;
        }
      }
      for (int64_t h = 0; h < H; ++h) sum[h] = scalar_t(1) / sum[h];
      for (int64_t k = b; k < e; ++k) {
        const int64_t o = (eid ? int64_t(eid[k]) : k) * H;
        for (int64_t h = 0; h < H; ++h) y[o + h] *= sum[h];
      }
    }
  });
}

template <typename scalar_t, typename index_t>
void softmax_bwd_impl(const index_t* rowptr, const index_t* eid, const scalar_t* y, const scalar_t* g, scalar_t* out,
                      int64_t rows, int64_t H) {
  parallel_rows(rowptr, rows, H, [&](int64_t rb, int64_t re) {
    std::vector<scalar_t> dot(H);
    for (int64_t r = rb; r < re; ++r) {
      const int64_t b = rowptr[r], e = rowptr[r + 1];
      for (int64_t h = 0; h < H; ++h) dot[h] = 0;
      for (int64_t k = b; k < e; ++k) {
        const int64_t o = (eid ? int64_t(eid[k]) : k) * H;
        for (int64_t h = 0; h < H; ++h) dot[h] += y[o + h] * g[o + h];
      }
      for (int64_t k = b; k < e; ++k) {
        const int64_t o = (eid ? int64_t(eid[k]) : k) * H;
        for (int64_t h = 0; h < H; ++h) out[o + h] = y[o + h] * (g[o + h] - dot[h]);
      }
    }
  });
}

void check_cpu_dtype(const at::Tensor& t) {
  TORCH_CHECK_TYPE(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble,
                   "the CPU kernels take float32 or float64, got ", t.scalar_type());
}

at::Tensor softmax_fwd_cpu(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& eid_, const at::Tensor& s_) {
  validate_softmax(rowptr_, eid_, s_, "scores");
  check_cpu_dtype(s_);
  auto rowptr = rowptr_.contiguous(), s = s_.contiguous();
  at::Tensor eid;
  if (eid_) eid = eid_->contiguous();
  auto y = at::empty_like(s);
  AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "edge_softmax_fwd_cpu", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "edge_softmax_fwd_cpu_index", [&] {
      softmax_fwd_impl<scalar, index_t>(rowptr.data_ptr<index_t>(), eid_ ? eid.data_ptr<index_t>() : nullptr,
                                        s.data_ptr<scalar>(), y.data_ptr<scalar>(), rowptr.numel() - 1, s.size(1));
    });
  });
  return y;
}

at::Tensor softmax_bwd_cpu(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& eid_, const at::Tensor& y_,
                           const at::Tensor& g_) {
  validate_softmax(rowptr_, eid_, y_, "y");
  check_float_tensor("grad", g_, 2, y_);
  TORCH_CHECK_VALUE(g_.sizes() == y_.sizes(), "grad has shape ", g_.sizes(), " but y has shape ", y_.sizes());
  check_cpu_dtype(y_);
  auto rowptr = rowptr_.contiguous(), y = y_.contiguous(), g = g_.contiguous();
  at::Tensor eid;
  if (eid_) eid = eid_->contiguous();
  auto out = at::empty_like(y);
  AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "edge_softmax_bwd_cpu", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "edge_softmax_bwd_cpu_index", [&] {
      softmax_bwd_impl<scalar, index_t>(rowptr.data_ptr<index_t>(), eid_ ? eid.data_ptr<index_t>() : nullptr,
                                        y.data_ptr<scalar>(), g.data_ptr<scalar>(), out.data_ptr<scalar>(),
                                        rowptr.numel() - 1, y.size(1));
    });
  });
  return out;
}

}  // namespace
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) {
  m.impl("edge_softmax_fwd", &graphkit::softmax_fwd_cpu);
  m.impl("edge_softmax_bwd", &graphkit::softmax_bwd_cpu);
}
