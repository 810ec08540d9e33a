// The interface between the csr_reduce host wrapper (spmm.cu) and its kernels (spmm_impl.cuh), which are
// compiled in one translation unit per reduce (spmm_{sum,mean,max,min}.cu) so that the four build in parallel.
#pragma once

#include "common.cuh"

namespace graphkit {
namespace cuda {

// Everything one call needs, as tensors (undefined where absent), for the per-reduce translation units.
struct ReduceLaunch {
  at::Tensor rowptr, col, eid, w, x, out, arg, part, part_arg;
  SplitWork work;  // hub rows (never split when no work list was allocated)
  int64_t rows, H, F, HF, entries;
  DeviceError* err;
  cudaStream_t stream;
};

// Launch the kernels for reduce R (0 sum, 1 mean, 2 max, 3 min); one translation unit per R (spmm_<r>.cu)
// so that the four compile in parallel.
template <int R>
void csr_reduce_launch(const ReduceLaunch& l);

constexpr int64_t kNarrow = 16;  // H*F up to this uses the narrow kernel

// Rows with more edges than this are split across warps: short enough that one segment costs about what an
// ordinary row does, long enough that the partials stay small (at most 2 * E / split rows of H*F floats).
inline int64_t split_threshold(int64_t HF) { return HF <= kNarrow ? 128 : 256; }

}  // namespace cuda
}  // namespace graphkit
