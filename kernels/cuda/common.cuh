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

// ------------------------------------------------------------------------------------ hub rows, split
// Rows with more than `split` entries are cut into segments of `split` entries (nnz-balanced, in the spirit of
// merge-path SpMM): the main kernel appends a hub's segments to a work list (one atomicAdd per hub) and skips the
// row; later kernels take one segment per warp and combine a row's partials in segment order (deterministic, no
// float atomics). Used by csr_reduce (spmm_impl.cuh) and edge_softmax (softmax.cu).
struct SplitWork {
  int64_t split = std::numeric_limits<int64_t>::max();  // never split unless the host allocated a work list
  unsigned long long* counter = nullptr;                 // segments registered so far
  int64_t* row = nullptr;                                // [slots] the row of each segment
  int64_t* base = nullptr;                               // [slots] the slot of its row's first segment
  int64_t slots = 0;

  // Segments registered: slots past it are idle (one read of a word every warp of the launch shares).
  __device__ __forceinline__ int64_t count() const {
    const int64_t n = int64_t(*counter);
    return n < slots ? n : slots;
  }
  __device__ __forceinline__ int64_t segments(int64_t deg) const { return (deg + split - 1) / split; }
  // One lane per hub: reserve and fill its segments' slots.
  __device__ __forceinline__ void add(int64_t r, int64_t deg) const {
    const int64_t nseg = segments(deg);
    const int64_t first = int64_t(atomicAdd(counter, (unsigned long long)nseg));
    if (first + nseg > slots) return;  // impossible for a valid rowptr (segments <= 2 * entries / split)
    for (int64_t j = 0; j < nseg; ++j) {
      row[first + j] = r;
      base[first + j] = first;
    }
  }
  // The CSR positions [sb, se) of `slot`, whose row spans [b, e).
  __device__ __forceinline__ void range(int64_t slot, int64_t b, int64_t e, int64_t& sb, int64_t& se) const {
    sb = b + (slot - base[slot]) * split;
    se = sb + split < e ? sb + split : e;
  }
};

// Host: a work list for `entries` CSR entries (counter [1] zeroed, work [2, slots]) when some row could exceed
// `split`; otherwise a SplitWork that never splits (no allocation).
inline SplitWork make_split_work(at::Tensor& counter, at::Tensor& work, const at::TensorOptions& opts,
                                 int64_t entries, int64_t split) {
  SplitWork w;
  if (entries <= split) return w;
  w.slots = 2 * ceil_div(entries, split) + 1;
  counter = at::zeros({1}, opts.dtype(at::kLong));
  work = at::empty({2, w.slots}, opts.dtype(at::kLong));
  w.split = split;
  w.counter = reinterpret_cast<unsigned long long*>(counter.data_ptr<int64_t>());
  w.row = work.data_ptr<int64_t>();
  w.base = w.row + w.slots;
  return w;
}

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
