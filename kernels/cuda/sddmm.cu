// CUDA sddmm, edge-parallel (DGL SDDMMCoo / FeatGraph style): every warp takes 32 consecutive CSR positions,
// whatever rows they belong to, so a hub row is spread over many warps instead of being walked by one.
// A warp finds the row of its first position by binary search in rowptr and then advances linearly.
// Lanes are split into groups of G (G = the feature width rounded up to a power of two, at most 32): a warp
// handles 32/G edges at a time, each group striding one edge's features (coalesced), and `dot` finishes with a
// G-wide segmented shuffle reduction per head. So GAT shapes (H=8, F=8) keep every lane busy.
// Indices are range-checked in the kernel (error flag, errors.cu): no host sync before the launch.
#include <torch/library.h>

#include "../include/validate.h"
#include "common.cuh"

namespace graphkit {
namespace cuda {
namespace {

constexpr int kEdgesPerWarp = 32;

template <typename scalar_t, typename index_t>
struct SddmmArgs {
  const index_t* rowptr;
  const index_t* col;
  const index_t* eid;
  const scalar_t* a;
  const scalar_t* b;
  scalar_t* out;
  int64_t rows, E, nb, H, F, HF;
  DeviceError* err;
};

template <int G, typename T>
__device__ __forceinline__ T group_sum_rt(T v, int g) {
  for (int o = g / 2; o > 0; o /= 2) v += __shfl_xor_sync(kFull, v, o, G);
  return v;
}

template <typename scalar_t, typename index_t, int OP>
__global__ void __launch_bounds__(kBlock) sddmm_edges(const SddmmArgs<scalar_t, index_t> p, int G) {
  using acc = acc_t<scalar_t>;
  const int lane = threadIdx.x;
  const int64_t k0 = (int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.y) * kEdgesPerWarp;
  if (k0 >= p.E) return;  // uniform across the warp
  const int per = kWarp / G, g = lane / G, gl = lane % G;
  // the last row whose start is <= k0 (rowptr is checked separately; any answer in [0, rows) is safe to read)
  int64_t lo = 0, hi = p.rows - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (int64_t(p.rowptr[mid]) <= k0) lo = mid;
    else hi = mid - 1;
  }
  int64_t r = lo;
  for (int round = 0; round < G; ++round) {  // G rounds of 32/G edges: 32 edges per warp
    const int64_t k = k0 + int64_t(round) * per + g;
    bool ok = k < p.E;
    int64_t c = 0, e = 0;
    if (ok) {
      while (r + 1 < p.rows && int64_t(p.rowptr[r + 1]) <= k) ++r;
      c = p.col[k];
      e = p.eid ? int64_t(p.eid[k]) : k;
      ok = check_index(p.err, kCol, c, p.nb) && check_index(p.err, kEid, e, p.E);
    }
    const scalar_t* ar = p.a + r * p.HF;
    const scalar_t* bc = p.b + c * p.HF;
    if (OP == 0) {
      for (int64_t h = 0; h < p.H; ++h) {  // the whole warp takes part in every shuffle
        acc s = 0;
        if (ok)
          for (int64_t f = gl; f < p.F; f += G) s += acc(ar[h * p.F + f]) * acc(bc[h * p.F + f]);
        if (G == 32) s = group_sum_rt<32>(s, G);
        else if (G == 16) s = group_sum_rt<16>(s, G);
        else if (G == 8) s = group_sum_rt<8>(s, G);
        else if (G == 4) s = group_sum_rt<4>(s, G);
        else if (G == 2) s = group_sum_rt<2>(s, G);
        if (ok && gl == 0) p.out[e * p.H + h] = scalar_t(s);
      }
    } else if (ok) {
      for (int64_t f = gl; f < p.HF; f += G) {
        const acc v = OP == 1 ? acc(ar[f]) + acc(bc[f]) : acc(ar[f]) * acc(bc[f]);
        p.out[e * p.HF + f] = scalar_t(v);
      }
    }
  }
}

int lanes_for(int64_t width) {
  int g = 1;
  while (g < width && g < kWarp) g *= 2;
  return g;
}

at::Tensor sddmm_cuda(const at::Tensor& rowptr_, const at::Tensor& col_, const c10::optional<at::Tensor>& eid_,
                      const at::Tensor& a_, const at::Tensor& b_, c10::string_view op_) {
  const SddmmOp op = parse_sddmm_op(std::string(op_));
  validate_sddmm(rowptr_, col_, eid_, a_, b_, /*ranges=*/false);
  const c10::cuda::CUDAGuard guard(a_.device());
  auto rowptr = rowptr_.contiguous(), col = col_.contiguous(), a = a_.contiguous(), b = b_.contiguous();
  at::Tensor eid;
  if (eid_) eid = eid_->contiguous();
  const int64_t E = col.numel(), H = a.size(1), F = a.size(2), rows = a.size(0);
  auto out = op == SddmmOp::Dot ? at::empty({E, H}, a.options()) : at::empty({E, H, F}, a.options());
  auto stream = c10::cuda::getCurrentCUDAStream();
  DeviceError* err = error_slot(a.device());
  CheckNames names;
  names.bounds[kCol] = "b.size(0)";
  names.bounds[kEid] = "the number of edges";
  launch_check_rowptr(rowptr, E, err, stream);
  if (eid_) launch_check_permutation(eid, E, err, stream);
  if (rows == 0 || E == 0 || out.numel() == 0) {
    finish_checks(a.device(), names);
    return out;
  }
  const int G = lanes_for(op == SddmmOp::Dot ? F : H * F);
  const dim3 block(kWarp, kWarpsPerBlock);
  const dim3 grid(unsigned(ceil_div(E, int64_t(kWarpsPerBlock) * kEdgesPerWarp)));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, a.scalar_type(), "sddmm_cuda", [&] {
    using scalar = scalar_t;
    AT_DISPATCH_INDEX_TYPES(rowptr.scalar_type(), "sddmm_cuda_index", [&] {
      const SddmmArgs<scalar, index_t> p{rowptr.data_ptr<index_t>(), col.data_ptr<index_t>(),
                                         eid_ ? eid.data_ptr<index_t>() : nullptr, a.data_ptr<scalar>(),
                                         b.data_ptr<scalar>(), out.data_ptr<scalar>(), rows, E, b.size(0), H, F,
                                         H * F, err};
      if (op == SddmmOp::Dot) sddmm_edges<scalar, index_t, 0><<<grid, block, 0, stream>>>(p, G);
      else if (op == SddmmOp::Add) sddmm_edges<scalar, index_t, 1><<<grid, block, 0, stream>>>(p, G);
      else sddmm_edges<scalar, index_t, 2><<<grid, block, 0, stream>>>(p, G);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  finish_checks(a.device(), names);
  return out;
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) { m.impl("sddmm", &graphkit::cuda::sddmm_cuda); }
