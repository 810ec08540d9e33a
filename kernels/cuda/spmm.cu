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
#include "spmm_launch.h"

namespace graphkit {
namespace cuda {
namespace {

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
  at::Tensor counter, work_list, part, part_arg;
  const SplitWork work = make_split_work(counter, work_list, x.options(), entries, split_threshold(HF));
  if (work.counter) {
    part = at::empty({work.slots, HF}, x.options().dtype(at::toOpMathType(x.scalar_type())));
    if (with_arg) part_arg = at::empty({work.slots, HF}, x.options().dtype(at::kLong));
  }
  ReduceLaunch l{rowptr, col, eid, w, x, out, arg, part, part_arg, work, rows, H, F, HF, entries, err, stream};
  switch (R) {
    case Reduce::Sum: csr_reduce_launch<0>(l); break;
    case Reduce::Mean: csr_reduce_launch<1>(l); break;
    case Reduce::Max: csr_reduce_launch<2>(l); break;
    case Reduce::Min: csr_reduce_launch<3>(l); break;
  }
  finish_checks(x.device(), names);
  return {out, arg};
}

}  // namespace
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) { m.impl("csr_reduce", &graphkit::cuda::csr_reduce_cuda); }
