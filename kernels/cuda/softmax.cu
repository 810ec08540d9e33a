// CUDA edge softmax, fused: one warp per (target row, head). Lanes stride the row's edges. The forward is an
// online softmax (Milakov & Gimelshein 2018): each lane keeps a running max and a sum rescaled to it, the warp
// combines the (max, sum) pairs with shuffles, and a second pass writes exp(s - max) / sum: two passes over the
// scores, one exp per score per pass. Backward: grad_s = y * (g - sum_row(y * g)) the same way.
//
// Hub rows (more than kSplit edges) are split as in csr_reduce (SplitWork, common.cuh): the row kernel hands a
// hub's segments to a work list; one warp per (segment, head) computes the segment's statistic ((max, sum) or
// the dot), one thread per (hub, head) combines them in segment order (deterministic), and one warp per
// (segment, head) writes the segment. So a 100k-edge hub is ~200 warps wide instead of one warp long.
// eid and rowptr are range-checked in the kernel (error flag, errors.cu): no host sync before the launch.
#include <torch/library.h>

#include "../include/validate.h"
#include "common.cuh"

namespace graphkit {
namespace cuda {
namespace {

constexpr int64_t kSplit = 512;  // 16 edges per lane: longer rows are split across warps

template <typename scalar_t, typename index_t>
struct SoftmaxArgs {
  const index_t* rowptr;
  const index_t* eid;  // null: CSR position k is edge k
  const scalar_t* s;   // forward: the scores; backward: y
  const scalar_t* g;   // backward: the incoming gradient
  scalar_t* out;
  int64_t rows, H, E;
  DeviceError* err;
  SplitWork work;
  acc_t<scalar_t>* part;  // [slots, H, 2]: a segment's statistic, then (at a row's first slot) the row's
};

// The edge id of CSR position k, checked (a bad one reads position 0 of a non-empty score array instead).
template <typename index_t>
__device__ __forceinline__ int64_t edge_of(const index_t* eid, int64_t k, int64_t E, DeviceError* err) {
  if (!eid) return k;
  const int64_t e = eid[k];
  return check_index(err, kEid, e, E) ? e : 0;
}

// A running sum taken relative to max m, re-expressed relative to mm >= m. A zero sum stays zero (also when
// m = mm = -inf, where exp(m - mm) would be NaN); a NaN sum stays NaN (NaN scores make the row NaN, as in torch).
template <typename acc>
__device__ __forceinline__ acc rescale(acc sum, acc m, acc mm) {
  return sum == acc(0) ? acc(0) : sum * exp(m - mm);
}

// Merge statistic (a2, c2) into (a, c): forward (max, sum relative to it), backward (dot, unused).
template <bool Fwd, typename acc>
__device__ __forceinline__ void merge(acc& a, acc& c, acc a2, acc c2) {
  if (Fwd) {
    const acc mm = a2 > a ? a2 : a;
    c = rescale(c, a, mm) + rescale(c2, a2, mm);
    a = mm;
  } else {
    a += a2;
  }
}

template <typename scalar_t, typename index_t>
__device__ __forceinline__ void row_of(const SoftmaxArgs<scalar_t, index_t>& p, int64_t row, int64_t& b, int64_t& e) {
  b = p.rowptr[row];
  e = p.rowptr[row + 1];
  if (b < 0 || e > p.E || e < b) b = e = 0;  // reported by the rowptr check
}

// The statistic of CSR positions [kb, ke) for head h, the same in every lane on return (the whole warp calls).
template <bool Fwd, typename scalar_t, typename index_t>
__device__ __forceinline__ void range_stat(const SoftmaxArgs<scalar_t, index_t>& p, int64_t kb, int64_t ke,
                                           int64_t h, acc_t<scalar_t>& a, acc_t<scalar_t>& c) {
  using acc = acc_t<scalar_t>;
  constexpr acc kNegInf = -std::numeric_limits<acc>::infinity();
  a = Fwd ? kNegInf : acc(0);
  c = acc(0);
  for (int64_t k = kb + threadIdx.x; k < ke; k += kWarp) {
    const int64_t o = edge_of(p.eid, k, p.E, p.err) * p.H + h;
    const acc v = acc(p.s[o]);
    if (Fwd) {
      if (v > a) {
        c = rescale(c, a, v);
        a = v;
      }
      // -inf scores add nothing (an all -inf row then gives 0/0 = NaN, as torch's softmax does); NaN propagates
      c += v == kNegInf ? acc(0) : exp(v - a);
    } else {
      a += v * acc(p.g[o]);
    }
  }
#pragma unroll
  for (int o = kWarp / 2; o > 0; o /= 2) {
    const acc a2 = __shfl_xor_sync(kFull, a, o), c2 = __shfl_xor_sync(kFull, c, o);
    merge<Fwd>(a, c, a2, c2);
  }
}

// A row's final statistic: forward (max, 1 / sum), backward (dot, -).
template <bool Fwd, typename acc>
__device__ __forceinline__ void finish(acc& a, acc& c) {
  if (Fwd) c = acc(1) / c;
}

template <bool Fwd, typename scalar_t, typename index_t>
__device__ __forceinline__ void range_write(const SoftmaxArgs<scalar_t, index_t>& p, int64_t kb, int64_t ke,
                                            int64_t h, acc_t<scalar_t> a, acc_t<scalar_t> c) {
  using acc = acc_t<scalar_t>;
  for (int64_t k = kb + threadIdx.x; k < ke; k += kWarp) {
    const int64_t o = edge_of(p.eid, k, p.E, p.err) * p.H + h;
    p.out[o] = Fwd ? scalar_t(exp(acc(p.s[o]) - a) * c) : scalar_t(acc(p.s[o]) * (acc(p.g[o]) - a));
  }
}

// One warp per (row, head); a hub row is only registered (by its head-0 warp) for the split kernels.
template <bool Fwd, typename scalar_t, typename index_t>
__global__ void __launch_bounds__(kBlock) softmax_rows(const SoftmaxArgs<scalar_t, index_t> p) {
  const int64_t wid = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (wid >= p.rows * p.H) return;  // uniform across the warp
  const int64_t row = wid / p.H, h = wid % p.H;
  int64_t b, e;
  row_of(p, row, b, e);
  if (e - b > p.work.split) {
    if (h == 0 && threadIdx.x == 0) p.work.add(row, e - b);
    return;
  }
  acc_t<scalar_t> a, c;
  range_stat<Fwd>(p, b, e, h, a, c);
  finish<Fwd>(a, c);
  range_write<Fwd>(p, b, e, h, a, c);
}

// One warp per (hub segment, head): the segment's statistic into part[slot, h].
template <bool Fwd, typename scalar_t, typename index_t>
__global__ void __launch_bounds__(kBlock) softmax_segment_stats(const SoftmaxArgs<scalar_t, index_t> p) {
  const int64_t wid = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  const int64_t slot = wid / p.H, h = wid % p.H;
  if (slot >= p.work.count()) return;  // uniform across the warp
  int64_t b, e, sb, se;
  row_of(p, p.work.row[slot], b, e);
  p.work.range(slot, b, e, sb, se);
  acc_t<scalar_t> a, c;
  range_stat<Fwd>(p, sb, se, h, a, c);
  if (threadIdx.x == 0) {
    p.part[(slot * p.H + h) * 2] = a;
    p.part[(slot * p.H + h) * 2 + 1] = c;
  }
}

// One thread per (hub, head): combine the hub's segment statistics in segment order into its first slot.
template <bool Fwd, typename scalar_t, typename index_t>
__global__ void __launch_bounds__(kBlock) softmax_combine(const SoftmaxArgs<scalar_t, index_t> p) {
  using acc = acc_t<scalar_t>;
  const int64_t i = int64_t(blockIdx.x) * kBlock + threadIdx.x;
  const int64_t slot = i / p.H, h = i % p.H;
  if (slot >= p.work.count() || p.work.base[slot] != slot) return;
  int64_t b, e;
  row_of(p, p.work.row[slot], b, e);
  const int64_t nseg = p.work.segments(e - b);
  const int64_t last = slot + nseg <= p.work.slots ? slot + nseg : p.work.slots;
  acc a = p.part[(slot * p.H + h) * 2], c = p.part[(slot * p.H + h) * 2 + 1];
  for (int64_t q = slot + 1; q < last; ++q) merge<Fwd>(a, c, p.part[(q * p.H + h) * 2], p.part[(q * p.H + h) * 2 + 1]);
  finish<Fwd>(a, c);
  p.part[(slot * p.H + h) * 2] = a;
  p.part[(slot * p.H + h) * 2 + 1] = c;
}

// One warp per (hub segment, head): write the segment with its row's statistic.
template <bool Fwd, typename scalar_t, typename index_t>
__global__ void __launch_bounds__(kBlock) softmax_segment_write(const SoftmaxArgs<scalar_t, index_t> p) {
  const int64_t wid = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  const int64_t slot = wid / p.H, h = wid % p.H;
  if (slot >= p.work.count()) return;
  int64_t b, e, sb, se;
  row_of(p, p.work.row[slot], b, e);
  p.work.range(slot, b, e, sb, se);
  const int64_t first = p.work.base[slot];
  range_write<Fwd>(p, sb, se, h, p.part[(first * p.H + h) * 2], p.part[(first * p.H + h) * 2 + 1]);
}

// The shared host side of forward (g undefined) and backward: checks, work list, the launches, the error flag.
template <bool Fwd>
at::Tensor softmax_cuda(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& eid_, const at::Tensor& s_,
                        const at::Tensor& g_, const char* name) {
  const c10::cuda::CUDAGuard guard(s_.device());
  auto rowptr = rowptr_.contiguous(), s = s_.contiguous();
  at::Tensor eid, g;
  if (eid_) eid = eid_->contiguous();
  if (!Fwd) g = g_.contiguous();
  auto out = at::empty_like(s);
  const int64_t rows = rowptr.numel() - 1, H = s.size(1), E = s.size(0);
  auto stream = c10::cuda::getCurrentCUDAStream();
  DeviceError* err = error_slot(s.device());
  CheckNames names;
  names.bounds[kEid] = "the number of edges";
  names.entries_name = name;
  launch_check_rowptr(rowptr, E, err, stream);
  if (eid_) launch_check_permutation(eid, E, err, stream);
  if (rows == 0 || s.numel() == 0) {
    finish_checks(s.device(), names);
    return out;
  }
  at::Tensor counter, work_list, part;
  const SplitWork work = make_split_work(counter, work_list, s.options(), E, kSplit);
  if (work.counter) part = at::empty({work.slots, H, 2}, s.options().dtype(at::toOpMathType(s.scalar_type())));
  const dim3 block(kWarp, kWarpsPerBlock);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, s.scalar_type(), "edge_softmax_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "edge_softmax_cuda_index", [&] {
      SoftmaxArgs<scalar, index_t> p{rowptr.data_ptr<index_t>(), eid_ ? eid.data_ptr<index_t>() : nullptr,
                                     s.data_ptr<scalar>(), Fwd ? nullptr : g.data_ptr<scalar>(),
                                     out.data_ptr<scalar>(), rows, H, E, err, work,
                                     work.counter ? part.data_ptr<acc_t<scalar>>() : nullptr};
      softmax_rows<Fwd><<<dim3(unsigned(ceil_div(rows * H, kWarpsPerBlock))), block, 0, stream>>>(p);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      if (work.counter) {
        const dim3 grid(unsigned(ceil_div(work.slots * H, kWarpsPerBlock)));
        softmax_segment_stats<Fwd><<<grid, block, 0, stream>>>(p);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        softmax_combine<Fwd><<<dim3(unsigned(ceil_div(work.slots * H, kBlock))), dim3(kBlock), 0, stream>>>(p);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
        softmax_segment_write<Fwd><<<grid, block, 0, stream>>>(p);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
    });
  });
  finish_checks(s.device(), names);
  return out;
}

at::Tensor softmax_fwd_cuda(const at::Tensor& rowptr, const c10::optional<at::Tensor>& eid, const at::Tensor& s) {
  validate_softmax(rowptr, eid, s, "scores", /*ranges=*/false);
  return softmax_cuda<true>(rowptr, eid, s, at::Tensor(), "scores");
}

at::Tensor softmax_bwd_cuda(const at::Tensor& rowptr, const c10::optional<at::Tensor>& eid, const at::Tensor& y,
                            const at::Tensor& g) {
  validate_softmax(rowptr, eid, y, "y", /*ranges=*/false);
  check_float_tensor("grad", g, 2, y);
  TORCH_CHECK_VALUE(g.sizes() == y.sizes(), "grad has shape ", g.sizes(), " but y has shape ", y.sizes());
  return softmax_cuda<false>(rowptr, eid, y, g, "y");
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) {
  m.impl("edge_softmax_fwd", &graphkit::cuda::softmax_fwd_cuda);
  m.impl("edge_softmax_bwd", &graphkit::cuda::softmax_bwd_cuda);
}
