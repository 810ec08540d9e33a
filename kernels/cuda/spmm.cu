// CUDA csr_reduce (spmm sum/mean/max/min, scatter, segment).
//
// Rows of ordinary degree, GE-SpMM style: one warp per CSR row; the warp loads 32 (col, edge id) pairs at once
// (coalesced) and broadcasts them with shuffles of index_t, while each lane owns kCF features, so the gather
// x[col[k], f] reads 32*kCF consecutive values. Feature tiles of 64 go on blockIdx.y with a grid-stride loop,
// so any H*F launches (gridDim.y <= 65535). Narrow rows (H*F <= 16) pack 256/G rows per block, G lanes per row
// (G = H*F rounded up to a power of two), each lane walking its row's edges: no lane idles on a 64-wide tile.
//
// Hub rows (more than `split` edges) are split nnz-balanced, in the spirit of merge-path SpMM: the main kernel
// hands each hub's segments of `split` edges to a work list (one atomicAdd per hub), a second kernel reduces
// every segment with one warp into a float32/float64 partial, and a third combines a row's partials in segment
// order. So a 100k-edge hub costs ~400 parallel warps instead of one warp walking 100k edges, and the result is
// still deterministic (no float atomics) and identical in arg semantics.
//
// max/min follow the rule of common.cuh (`better`): NaN wins and keeps its first position, ties keep the first
// edge, an all -inf row keeps its first edge. Empty rows give 0 and arg -1. Every index read is range-checked
// in the kernel (error flag, see errors.cu), so the op makes no host sync before launching.
#include <torch/library.h>

#include "../include/validate.h"
#include "common.cuh"

namespace graphkit {
namespace cuda {
namespace {

constexpr int kCF = 2;      // features per lane in the wide kernel: a warp covers a tile of 64 features
constexpr int kTile = kWarp * kCF;
constexpr int64_t kNarrow = 16;  // H*F up to this uses the narrow kernel

template <typename scalar_t, typename index_t>
struct Args {
  const index_t* rowptr;
  const index_t* col;   // null: segment (x[k])
  const index_t* eid;   // null: weight row k
  const scalar_t* w;    // null: unweighted
  const scalar_t* x;
  scalar_t* out;
  int64_t* arg;         // max/min only
  int64_t rows, H, F, HF, entries, nsrc, nw;
  DeviceError* err;
  // hub split path
  int64_t split;  // rows with more edges than this are split (INT64_MAX: never)
  unsigned long long* counter;
  int64_t* work_row;   // [slots] the row of each segment
  int64_t* work_base;  // [slots] the slot of the row's first segment
  int64_t slots;
  acc_t<scalar_t>* part;  // [slots, HF]
  int64_t* part_arg;      // [slots, HF] (max/min)
};

template <typename acc>
__device__ __forceinline__ acc init_value() { return acc(0); }

// Register a hub row's segments in the work list (one lane per hub).
template <typename scalar_t, typename index_t>
__device__ void register_hub(const Args<scalar_t, index_t>& p, int64_t row, int64_t deg) {
  const int64_t nseg = (deg + p.split - 1) / p.split;
  const int64_t base = int64_t(atomicAdd(p.counter, (unsigned long long)nseg));
  if (base + nseg > p.slots) return;  // impossible for a valid rowptr (sum of segments < 2 * entries / split)
  for (int64_t j = 0; j < nseg; ++j) {
    p.work_row[base + j] = row;
    p.work_base[base + j] = base;
  }
}

// Reads rowptr[row], rowptr[row+1]; `report` lets one lane record a bad rowptr.
template <typename scalar_t, typename index_t>
__device__ __forceinline__ void row_range(const Args<scalar_t, index_t>& p, int64_t row, bool report, int64_t& b,
                                          int64_t& e) {
  b = p.rowptr[row];
  e = p.rowptr[row + 1];
  if (report) {
    int64_t bb = b, ee = e;
    checked_row(p.err, row, p.rows, p.entries, bb, ee);
  }
  if (b < 0 || e > p.entries || e < b) b = e = 0;
}

// Accumulate edges [b, e) into a[c], m[c] for the features f0 + 32*c (the whole warp calls it).
template <int R, bool W, typename scalar_t, typename index_t>
__device__ __forceinline__ void reduce_wide(const Args<scalar_t, index_t>& p, int64_t b, int64_t e, int64_t f0,
                                            acc_t<scalar_t> (&a)[kCF], int64_t (&m)[kCF]) {
  using acc = acc_t<scalar_t>;
  const int lane = threadIdx.x;
  int64_t head[kCF];
#pragma unroll
  for (int c = 0; c < kCF; ++c) head[c] = W ? (f0 + c * kWarp < p.HF ? (f0 + c * kWarp) / p.F : 0) : 0;
  for (int64_t kk = b; kk < e; kk += kWarp) {
    const int64_t k = kk + lane;
    index_t s_l = 0, e_l = 0;
    if (k < e) {
      if (p.col) {
        s_l = p.col[k];
        if (!check_index(p.err, kCol, s_l, p.nsrc)) s_l = 0;
      }
      if (W && p.eid) {
        e_l = p.eid[k];
        if (!check_index(p.err, kEid, e_l, p.nw)) e_l = 0;
      }
    }
    const int n = e - kk < kWarp ? int(e - kk) : kWarp;
#pragma unroll 4
    for (int j = 0; j < n; ++j) {
      const int64_t s = p.col ? int64_t(__shfl_sync(kFull, s_l, j)) : kk + j;
      int64_t ee = 0;
      if (W) ee = p.eid ? int64_t(__shfl_sync(kFull, e_l, j)) : kk + j;
#pragma unroll
      for (int c = 0; c < kCF; ++c) {
        const int64_t f = f0 + c * kWarp;
        if (f < p.HF) {
          const acc v = W ? acc(p.w[ee * p.H + head[c]]) * acc(p.x[s * p.HF + f]) : acc(p.x[s * p.HF + f]);
          if (R <= 1) {
            a[c] += v;
          } else if (better<R>(v, a[c], m[c] >= 0)) {
            a[c] = v;
            m[c] = kk + j;
          }
        }
      }
    }
  }
}

template <int R, typename scalar_t, typename index_t>
__device__ __forceinline__ void write_final(const Args<scalar_t, index_t>& p, int64_t row, int64_t f,
                                            acc_t<scalar_t> a, int64_t m, int64_t deg) {
  using acc = acc_t<scalar_t>;
  const int64_t o = row * p.HF + f;
  if (deg == 0) {
    p.out[o] = scalar_t(acc(0));
    if (R >= 2) p.arg[o] = -1;
  } else {
    p.out[o] = scalar_t(R == 1 ? a / acc(deg) : a);
    if (R >= 2) p.arg[o] = m;
  }
}

template <typename scalar_t, typename index_t, int R, bool W>
__global__ void __launch_bounds__(kBlock) csr_reduce_wide(const Args<scalar_t, index_t> p) {
  using acc = acc_t<scalar_t>;
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.y;
  if (row >= p.rows) return;  // uniform across the warp: the shuffles stay full-mask
  const int lane = threadIdx.x;
  const bool first = blockIdx.y == 0 && lane == 0;
  int64_t b, e;
  row_range(p, row, first, b, e);
  if (e - b > p.split) {
    if (first) register_hub(p, row, e - b);
    return;
  }
  const int64_t tiles = (p.HF + kTile - 1) / kTile;
  for (int64_t t = blockIdx.y; t < tiles; t += gridDim.y) {
    const int64_t f0 = t * kTile + lane;
    acc a[kCF];
    int64_t m[kCF];
#pragma unroll
    for (int c = 0; c < kCF; ++c) a[c] = acc(0), m[c] = -1;
    reduce_wide<R, W>(p, b, e, f0, a, m);
#pragma unroll
    for (int c = 0; c < kCF; ++c)
      if (f0 + c * kWarp < p.HF) write_final<R>(p, row, f0 + c * kWarp, a[c], m[c], e - b);
  }
}

// H*F <= 16: G lanes per row (G = 1, 2, 4, 8 or 16), each lane one feature, walking the row's edges itself.
template <typename scalar_t, typename index_t, int R, bool W>
__global__ void __launch_bounds__(kBlock) csr_reduce_narrow(const Args<scalar_t, index_t> p, int G) {
  using acc = acc_t<scalar_t>;
  const int t = threadIdx.x + threadIdx.y * kWarp;
  const int64_t row = int64_t(blockIdx.x) * (kBlock / G) + t / G;
  const int64_t f = t % G;
  if (row >= p.rows) return;  // no shuffles in this kernel
  int64_t b, e;
  row_range(p, row, f == 0, b, e);
  if (e - b > p.split) {
    if (f == 0) register_hub(p, row, e - b);
    return;
  }
  if (f >= p.HF) return;
  const int64_t head = W ? f / p.F : 0;
  acc a = acc(0);
  int64_t m = -1;
#pragma unroll 4
  for (int64_t k = b; k < e; ++k) {
    int64_t s = k;
    if (p.col) {
      s = p.col[k];
      if (!check_index(p.err, kCol, s, p.nsrc)) s = 0;
    }
    acc v = acc(p.x[s * p.HF + f]);
    if (W) {
      int64_t ee = k;
      if (p.eid) {
        ee = p.eid[k];
        if (!check_index(p.err, kEid, ee, p.nw)) ee = 0;
      }
      v = acc(p.w[ee * p.H + head]) * v;
    }
    if (R <= 1) {
      a += v;
    } else if (better<R>(v, a, m >= 0)) {
      a = v;
      m = k;
    }
  }
  write_final<R>(p, row, f, a, m, e - b);
}

// One warp per hub segment: its partial (unscaled sum, or max/min with arg) into part[slot].
template <typename scalar_t, typename index_t, int R, bool W>
__global__ void __launch_bounds__(kBlock) csr_reduce_segments(const Args<scalar_t, index_t> p) {
  using acc = acc_t<scalar_t>;
  const int64_t slot = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.y;
  if (slot >= p.slots || slot >= int64_t(*p.counter)) return;
  const int64_t row = p.work_row[slot], seg = slot - p.work_base[slot];
  int64_t b, e;
  row_range(p, row, false, b, e);
  const int64_t sb = b + seg * p.split, se = sb + p.split < e ? sb + p.split : e;
  const int lane = threadIdx.x;
  const int64_t tiles = (p.HF + kTile - 1) / kTile;
  for (int64_t t = blockIdx.y; t < tiles; t += gridDim.y) {
    const int64_t f0 = t * kTile + lane;
    acc a[kCF];
    int64_t m[kCF];
#pragma unroll
    for (int c = 0; c < kCF; ++c) a[c] = acc(0), m[c] = -1;
    reduce_wide<R, W>(p, sb, se, f0, a, m);
#pragma unroll
    for (int c = 0; c < kCF; ++c) {
      const int64_t f = f0 + c * kWarp;
      if (f < p.HF) {
        p.part[slot * p.HF + f] = a[c];
        if (R >= 2) p.part_arg[slot * p.HF + f] = m[c];
      }
    }
  }
}

// One thread per (hub, feature): combine the hub's partials in segment order, then scale (mean) and write.
template <typename scalar_t, typename index_t, int R>
__global__ void __launch_bounds__(kBlock) csr_reduce_combine(const Args<scalar_t, index_t> p) {
  using acc = acc_t<scalar_t>;
  const int64_t slot = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.y;
  if (slot >= p.slots || slot >= int64_t(*p.counter) || p.work_base[slot] != slot) return;
  const int64_t row = p.work_row[slot];
  int64_t b, e;
  row_range(p, row, false, b, e);
  const int64_t nseg = (e - b + p.split - 1) / p.split;
  const int64_t last = slot + nseg <= p.slots ? slot + nseg : p.slots;
  for (int64_t f = int64_t(blockIdx.y) * kWarp + threadIdx.x; f < p.HF; f += int64_t(gridDim.y) * kWarp) {
    acc a = acc(0);
    int64_t m = -1;
    for (int64_t q = slot; q < last; ++q) {
      const acc v = p.part[q * p.HF + f];
      if (R <= 1) {
        a += v;
      } else if (better<R>(v, a, q > slot)) {
        a = v;
        m = p.part_arg[q * p.HF + f];
      }
    }
    write_final<R>(p, row, f, a, m, e - b);
  }
}

template <typename scalar_t, typename index_t, int R, bool W>
void launch_all(Args<scalar_t, index_t> p, cudaStream_t stream) {
  const int64_t tiles = ceil_div(p.HF, kTile);
  if (p.HF <= kNarrow) {
    int G = 1;
    while (G < p.HF) G *= 2;
    const int64_t rows_per_block = kBlock / G;
    csr_reduce_narrow<scalar_t, index_t, R, W>
        <<<dim3(unsigned(ceil_div(p.rows, rows_per_block))), dim3(kWarp, kWarpsPerBlock), 0, stream>>>(p, G);
  } else {
    csr_reduce_wide<scalar_t, index_t, R, W>
        <<<dim3(unsigned(ceil_div(p.rows, kWarpsPerBlock)), grid_y(tiles)), dim3(kWarp, kWarpsPerBlock), 0, stream>>>(p);
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  if (p.counter == nullptr) return;
  const dim3 grid(unsigned(ceil_div(p.slots, kWarpsPerBlock)), grid_y(tiles));
  csr_reduce_segments<scalar_t, index_t, R, W><<<grid, dim3(kWarp, kWarpsPerBlock), 0, stream>>>(p);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const dim3 grid_c(unsigned(ceil_div(p.slots, kWarpsPerBlock)), grid_y(ceil_div(p.HF, kWarp)));
  csr_reduce_combine<scalar_t, index_t, R><<<grid_c, dim3(kWarp, kWarpsPerBlock), 0, stream>>>(p);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

std::tuple<at::Tensor, at::Tensor> csr_reduce_cuda(const at::Tensor& rowptr_, const c10::optional<at::Tensor>& col_,
                                                   const c10::optional<at::Tensor>& eid_,
                                                   const c10::optional<at::Tensor>& weight_, const at::Tensor& x_,
                                                   c10::string_view reduce_) {
  const Reduce R = parse_reduce(std::string(reduce_));
  validate_csr_reduce(rowptr_, col_, eid_, weight_, x_, /*col_bounds=*/false, /*ranges=*/false);
  const c10::cuda::CUDAGuard guard(x_.device());
  auto rowptr = rowptr_.contiguous(), x = x_.contiguous();
  at::Tensor col, eid, w;
  if (col_) col = col_->contiguous();
  if (eid_) eid = eid_->contiguous();
  if (weight_) w = weight_->contiguous();
  const int64_t rows = rowptr.numel() - 1, H = x.size(1), F = x.size(2), HF = H * F;
  const int64_t entries = col_ ? col.numel() : x.size(0);
  auto out = at::empty({rows, H, F}, x.options());
  const bool with_arg = R == Reduce::Max || R == Reduce::Min;
  auto arg = with_arg ? at::empty({rows, H, F}, x.options().dtype(at::kLong))
                      : at::empty({0}, x.options().dtype(at::kLong));
  auto stream = c10::cuda::getCurrentCUDAStream();
  DeviceError* err = error_slot(x.device());
  CheckNames names;
  names.bounds[kCol] = "x.size(0)";
  names.bounds[kEid] = "weight.size(0)";
  names.entries_name = col_ ? "col" : "x";
  if (rows == 0 || HF == 0) {
    launch_check_rowptr(rowptr, entries, err, stream);
    finish_checks(x.device(), names);
    return {out, arg};
  }
  const int64_t split = HF <= kNarrow ? 128 : 256;
  at::Tensor counter, work, part, part_arg;
  const bool split_path = entries > split;
  if (split_path) {
    const int64_t slots = 2 * ceil_div(entries, split) + 1;
    counter = at::zeros({1}, x.options().dtype(at::kLong));
    work = at::empty({2, slots}, x.options().dtype(at::kLong));
    part = at::empty({slots, HF}, x.options().dtype(at::toOpMathType(x.scalar_type())));
    if (with_arg) part_arg = at::empty({slots, HF}, x.options().dtype(at::kLong));
  }
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "csr_reduce_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "csr_reduce_cuda_index", [&] {
      Args<scalar, index_t> p{};
      p.rowptr = rowptr.data_ptr<index_t>();
      p.col = col_ ? col.data_ptr<index_t>() : nullptr;
      p.eid = eid_ ? eid.data_ptr<index_t>() : nullptr;
      p.w = weight_ ? w.data_ptr<scalar>() : nullptr;
      p.x = x.data_ptr<scalar>();
      p.out = out.data_ptr<scalar>();
      p.arg = with_arg ? arg.data_ptr<int64_t>() : nullptr;
      p.rows = rows, p.H = H, p.F = F, p.HF = HF, p.entries = entries, p.nsrc = x.size(0);
      p.nw = weight_ ? w.size(0) : 0;
      p.err = err;
      p.split = std::numeric_limits<int64_t>::max();
      if (split_path) {
        p.split = split;
        p.counter = reinterpret_cast<unsigned long long*>(counter.data_ptr<int64_t>());
        p.slots = work.size(1);
        p.work_row = work.data_ptr<int64_t>();
        p.work_base = p.work_row + p.slots;
        p.part = part.data_ptr<acc_t<scalar>>();
        p.part_arg = with_arg ? part_arg.data_ptr<int64_t>() : nullptr;
      }
      auto go = [&](auto rv, auto wv) { launch_all<scalar, index_t, decltype(rv)::value, decltype(wv)::value>(p, stream); };
      auto by_w = [&](auto rv) {
        if (weight_) go(rv, std::true_type());
        else go(rv, std::false_type());
      };
      switch (R) {
        case Reduce::Sum: by_w(std::integral_constant<int, 0>()); break;
        case Reduce::Mean: by_w(std::integral_constant<int, 1>()); break;
        case Reduce::Max: by_w(std::integral_constant<int, 2>()); break;
        case Reduce::Min: by_w(std::integral_constant<int, 3>()); break;
      }
    });
  });
  finish_checks(x.device(), names);
  return {out, arg};
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) { m.impl("csr_reduce", &graphkit::cuda::csr_reduce_cuda); }
