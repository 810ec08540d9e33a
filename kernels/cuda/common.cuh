// Shared pieces of the CUDA kernels: accumulation type, warp reductions, the max/min rule, launch helpers and
// the in-kernel error flag that replaces host-side range validation (no device-to-host sync before a launch).
#pragma once

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>  // not ATen/cuda/CUDAContext.h: that pulls cuBLAS/cuSPARSE headers
#include <c10/cuda/CUDAGuard.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#include <cstdint>
#include <limits>

namespace graphkit {
namespace cuda {

constexpr unsigned kFull = 0xffffffffu;
constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 8;
constexpr int kBlock = kWarp * kWarpsPerBlock;
constexpr int64_t kMaxGridY = 65535;  // gridDim.y and gridDim.z limit; gridDim.x allows 2^31 - 1

// float16/bfloat16 accumulate in float32; float32/float64 in themselves.
template <typename scalar_t>
using acc_t = at::opmath_type<scalar_t>;

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

// Sum over aligned groups of G lanes (G a power of two <= 32); every lane of the warp must call it.
template <int G, typename T>
__device__ __forceinline__ T group_sum(T v) {
#pragma unroll
  for (int o = G / 2; o > 0; o /= 2) v += __shfl_xor_sync(kFull, v, o, G);
  return v;
}

// The max/min rule every backend implements: a group containing NaN gives NaN and its arg is the FIRST NaN in
// CSR order; otherwise the strict comparison keeps the earliest of equal values; the first edge is taken
// unconditionally (``have == false``), so an all -inf group keeps -inf with arg = its first edge.
template <int R, typename acc>  // R == 2: max, R == 3: min
__device__ __forceinline__ bool better(acc v, acc cur, bool have) {
  if (!have) return true;
  if (cur != cur) return false;  // cur is NaN: the first NaN stays
  if (v != v) return true;
  return R == 2 ? v > cur : v < cur;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline unsigned grid_y(int64_t tiles) { return unsigned(tiles < kMaxGridY ? tiles : kMaxGridY); }

// ---------------------------------------------------------------------------------------------- error flag
// Kernels check every index they read. A bad one is never dereferenced: the kernel records the first error
// here (code, offending value, bound) and carries on with a safe value. The host reads the flag once after the
// launch (one device-to-host sync per op) or, in deferred mode, only when asked (no sync at all: CUDA graphs
// and run-ahead work), see errors.cu and graphkit/ops/cuda.py.
struct DeviceError {
  unsigned long long code;
  long long value;
  long long bound;
};

// code = kind * 8 + which
enum ErrKind : int { kNegative = 1, kTooHigh = 2, kRowptrFirst = 3, kRowptrStep = 4, kRowptrLast = 5, kRepeat = 6 };
enum ErrWhich : int { kCol = 0, kEid = 1, kArg = 2, kIndex = 3, kPos = 4, kRowptr = 5 };

__device__ __forceinline__ void report_error(DeviceError* err, int kind, int which, long long value,
                                             long long bound) {
  const unsigned long long code = (unsigned long long)(kind * 8 + which);
  if (atomicCAS(&err->code, 0ull, code) == 0ull) {
    err->value = value;
    err->bound = bound;
  }
}

// v in [0, bound)? Otherwise report it and return false (the caller then uses a safe value instead).
__device__ __forceinline__ bool check_index(DeviceError* err, int which, long long v, long long bound) {
  if (v >= 0 && v < bound) return true;
  report_error(err, v < 0 ? kNegative : kTooHigh, which, v, bound);
  return false;
}

// The row [b, e) of a CSR with `entries` entries: checks rowptr[0] == 0, the step, and rowptr[-1]; returns an
// empty range for a bad row so that nothing outside [0, entries) is read.
__device__ __forceinline__ void checked_row(DeviceError* err, int64_t row, int64_t rows, int64_t entries, int64_t& b,
                                            int64_t& e) {
  if (row == 0 && b != 0) report_error(err, kRowptrFirst, kRowptr, b, 0);
  if (row == rows - 1 && e != entries) report_error(err, kRowptrLast, kRowptr, e, entries);
  if (e < b) report_error(err, kRowptrStep, kRowptr, e - b, 0);
  if (b < 0 || e > entries || e < b) b = e = 0;
}

// Host side (errors.cu).
struct CheckNames {
  const char* names[6] = {"col", "eid", "arg", "index", "pos", "rowptr"};
  const char* bounds[6] = {"the bound", "the bound", "the number of entries", "the bound", "the bound", ""};
  const char* entries_name = "col";
};
DeviceError* error_slot(const at::Device& device);
// After the launches of one op: raise the first recorded error as a ValueError (sync mode, one sync), or leave
// it for cuda_raise_pending (deferred mode, no sync).
void finish_checks(const at::Device& device, const CheckNames& names);
// Read the flag now (on the current stream) whatever the mode, and raise the first recorded error.
void raise_now(const at::Device& device, const CheckNames& names);
// One warp-free launch that checks a CSR row pointer (rowptr[0] == 0, steps >= 0, rowptr[-1] == entries).
void launch_check_rowptr(const at::Tensor& rowptr, int64_t entries, DeviceError* err, cudaStream_t stream);
// eid (entries in [0, n), checked by the op's kernel) holds no value twice: ops that write out[eid[k]] into an
// uninitialised output need a permutation (a repeat leaves a row unwritten and races two writers). One int32
// scratch array of n entries and one atomic per entry; no sync.
void launch_check_permutation(const at::Tensor& eid, int64_t n, DeviceError* err, cudaStream_t stream);

}  // namespace cuda
}  // namespace graphkit
