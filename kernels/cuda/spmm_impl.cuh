// Kernels of the CUDA csr_reduce (see spmm.cu for the design); included only by spmm_{sum,mean,max,min}.cu.
#pragma once

#include "spmm_launch.h"

namespace graphkit {
namespace cuda {

namespace {

// How the lanes of a warp cover a tile of features in the wide kernels. V == 1: two features per lane, 32 apart
// (a tile of 64, two coalesced scalar loads per edge). V == 2 or 4 (CUDA review P7): V consecutive features per
// lane, loaded with one aligned V-wide vector load (8 or 16 bytes for float32), a tile of 32 * V. The host picks
// V where H*F % V == 0, H*F >= 32 * V (every lane busy) and x is aligned to V elements.
template <int V>
struct Lanes {
  static constexpr int kCF = V == 1 ? 2 : V;  // features per lane
  static constexpr int kTile = kWarp * kCF;
  static __device__ __forceinline__ int64_t feature(int64_t t, int lane, int c) {
    return V == 1 ? t * kTile + lane + c * kWarp : t * kTile + lane * V + c;
  }
};

template <typename T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};
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
  SplitWork work;          // hub rows (common.cuh)
  acc_t<scalar_t>* part;  // [slots, HF]
  int64_t* part_arg;      // [slots, HF] (max/min)
};

template <typename acc>
__device__ __forceinline__ acc init_value() { return acc(0); }

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

// Accumulate edges [b, e) into a[c], m[c] for the lane's features of tile t (the whole warp calls it).
template <int R, bool W, int V, typename scalar_t, typename index_t>
__device__ __forceinline__ void reduce_wide(const Args<scalar_t, index_t>& p, int64_t b, int64_t e, int64_t t,
                                            acc_t<scalar_t> (&a)[Lanes<V>::kCF], int64_t (&m)[Lanes<V>::kCF]) {
  using acc = acc_t<scalar_t>;
  constexpr int kCF = Lanes<V>::kCF;
  const int lane = threadIdx.x;
  int64_t feat[kCF], head[kCF];  // loop-invariant: no division in the edge loop (P5)
#pragma unroll
  for (int c = 0; c < kCF; ++c) {
    feat[c] = Lanes<V>::feature(t, lane, c);
    head[c] = W && feat[c] < p.HF ? feat[c] / p.F : 0;
  }
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
      const scalar_t* xs = p.x + s * p.HF;
      scalar_t xv[kCF];
      if (V > 1) {  // H*F % V == 0: a lane's V features are all in range or all out
        if (feat[0] < p.HF) {
          const Vec<scalar_t, V> vec = *reinterpret_cast<const Vec<scalar_t, V>*>(xs + feat[0]);
#pragma unroll
          for (int c = 0; c < kCF; ++c) xv[c] = vec.v[c];
        }
      } else {
#pragma unroll
        for (int c = 0; c < kCF; ++c)
          if (feat[c] < p.HF) xv[c] = xs[feat[c]];
      }
#pragma unroll
      for (int c = 0; c < kCF; ++c) {
        if (feat[c] < p.HF) {
          const acc v = W ? acc(p.w[ee * p.H + head[c]]) * acc(xv[c]) : acc(xv[c]);
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

template <typename scalar_t, typename index_t, int R, bool W, int V>
__global__ void __launch_bounds__(kBlock) csr_reduce_wide(const Args<scalar_t, index_t> p) {
  using acc = acc_t<scalar_t>;
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.y;
  if (row >= p.rows) return;  // uniform across the warp: the shuffles stay full-mask
  const int lane = threadIdx.x;
  const bool first = blockIdx.y == 0 && lane == 0;
  int64_t b, e;
  row_range(p, row, first, b, e);
  if (e - b > p.work.split) {
    if (first) p.work.add(row, e - b);
    return;
  }
  using L = Lanes<V>;
  const int64_t tiles = (p.HF + L::kTile - 1) / L::kTile;
  for (int64_t t = blockIdx.y; t < tiles; t += gridDim.y) {
    acc a[L::kCF];
    int64_t m[L::kCF];
#pragma unroll
    for (int c = 0; c < L::kCF; ++c) a[c] = acc(0), m[c] = -1;
    reduce_wide<R, W, V>(p, b, e, t, a, m);
#pragma unroll
    for (int c = 0; c < L::kCF; ++c) {
      const int64_t f = L::feature(t, lane, c);
      if (f < p.HF) write_final<R>(p, row, f, a[c], m[c], e - b);
    }
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
  if (e - b > p.work.split) {
    if (f == 0) p.work.add(row, e - b);
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
  if (slot >= p.work.count()) return;
  int64_t b, e, sb, se;
  row_range(p, p.work.row[slot], false, b, e);
  p.work.range(slot, b, e, sb, se);
  const int lane = threadIdx.x;
  using L = Lanes<1>;  // hub segments are few: the scalar layout, one instantiation
  const int64_t tiles = (p.HF + L::kTile - 1) / L::kTile;
  for (int64_t t = blockIdx.y; t < tiles; t += gridDim.y) {
    acc a[L::kCF];
    int64_t m[L::kCF];
#pragma unroll
    for (int c = 0; c < L::kCF; ++c) a[c] = acc(0), m[c] = -1;
    reduce_wide<R, W, 1>(p, sb, se, t, a, m);
#pragma unroll
    for (int c = 0; c < L::kCF; ++c) {
      const int64_t f = L::feature(t, lane, c);
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
  if (slot >= p.work.count() || p.work.base[slot] != slot) return;
  const int64_t row = p.work.row[slot];
  int64_t b, e;
  row_range(p, row, false, b, e);
  const int64_t nseg = p.work.segments(e - b);
  const int64_t last = slot + nseg <= p.work.slots ? slot + nseg : p.work.slots;
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

// The widest vector layout (Lanes<V>) this call allows: 16 bytes per lane at most, H*F a multiple of V and at
// least a full tile (no idle lanes), x aligned to V elements (so is every row, H*F being a multiple of V).
template <typename scalar_t, typename index_t>
int vector_width(const Args<scalar_t, index_t>& p) {
  for (int v = 4; v > 1; v /= 2) {
    if (int64_t(sizeof(scalar_t)) * v <= 16 && p.HF % v == 0 && p.HF >= int64_t(kWarp) * v &&
        reinterpret_cast<uintptr_t>(p.x) % (sizeof(scalar_t) * v) == 0)
      return v;
  }
  return 1;
}

template <typename scalar_t, typename index_t, int R, bool W, int V>
void launch_wide(const Args<scalar_t, index_t>& p, cudaStream_t stream) {
  const dim3 grid(unsigned(ceil_div(p.rows, kWarpsPerBlock)), grid_y(ceil_div(p.HF, Lanes<V>::kTile)));
  csr_reduce_wide<scalar_t, index_t, R, W, V><<<grid, dim3(kWarp, kWarpsPerBlock), 0, stream>>>(p);
}

template <typename scalar_t, typename index_t, int R, bool W>
void launch_all(Args<scalar_t, index_t> p, cudaStream_t stream) {
  const int64_t tiles = ceil_div(p.HF, Lanes<1>::kTile);
  if (p.HF <= kNarrow) {
    int G = 1;
    while (G < p.HF) G *= 2;
    const int64_t rows_per_block = kBlock / G;
    csr_reduce_narrow<scalar_t, index_t, R, W>
        <<<dim3(unsigned(ceil_div(p.rows, rows_per_block))), dim3(kWarp, kWarpsPerBlock), 0, stream>>>(p, G);
  } else {
    switch (vector_width(p)) {
      case 4: launch_wide<scalar_t, index_t, R, W, 4>(p, stream); break;
      case 2: launch_wide<scalar_t, index_t, R, W, 2>(p, stream); break;
      default: launch_wide<scalar_t, index_t, R, W, 1>(p, stream);
    }
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  if (p.work.counter == nullptr) return;
  const dim3 grid(unsigned(ceil_div(p.work.slots, kWarpsPerBlock)), grid_y(tiles));
  csr_reduce_segments<scalar_t, index_t, R, W><<<grid, dim3(kWarp, kWarpsPerBlock), 0, stream>>>(p);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const dim3 grid_c(unsigned(ceil_div(p.work.slots, kWarpsPerBlock)), grid_y(ceil_div(p.HF, kWarp)));
  csr_reduce_combine<scalar_t, index_t, R><<<grid_c, dim3(kWarp, kWarpsPerBlock), 0, stream>>>(p);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace

template <int R>
void csr_reduce_launch(const ReduceLaunch& l) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, l.x.scalar_type(), "csr_reduce_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(l.rowptr.scalar_type(), "csr_reduce_cuda_index", [&] {
      Args<scalar, index_t> p{};
      p.rowptr = l.rowptr.data_ptr<index_t>();
      p.col = l.col.defined() ? l.col.data_ptr<index_t>() : nullptr;
      p.eid = l.eid.defined() ? l.eid.data_ptr<index_t>() : nullptr;
      p.w = l.w.defined() ? l.w.data_ptr<scalar>() : nullptr;
      p.x = l.x.data_ptr<scalar>();
      p.out = l.out.data_ptr<scalar>();
      p.arg = R >= 2 ? l.arg.data_ptr<int64_t>() : nullptr;
      p.rows = l.rows, p.H = l.H, p.F = l.F, p.HF = l.HF, p.entries = l.entries, p.nsrc = l.x.size(0);
      p.nw = l.w.defined() ? l.w.size(0) : 0;
      p.err = l.err;
      p.work = l.work;
      if (l.work.counter) {
        p.part = l.part.data_ptr<acc_t<scalar>>();
        p.part_arg = R >= 2 ? l.part_arg.data_ptr<int64_t>() : nullptr;
      }
      if (l.w.defined()) launch_all<scalar, index_t, R, true>(p, l.stream);
      else launch_all<scalar, index_t, R, false>(p, l.stream);
    });
  });
}

}  // namespace cuda
}  // namespace graphkit
