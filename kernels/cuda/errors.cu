// The in-kernel error flag of the CUDA ops (see common.cuh): one small device buffer per GPU, read once per op.
//
// Sync mode (default): after its launches an op copies the flag to the host on the current stream: one
// device-to-host sync per op, and a bad index raises the same ValueError as on the CPU.
// Deferred mode (cuda_sync_checks(false)): nothing is read; kernels still never dereference a bad index, and
// cuda_raise_pending(device) raises the first recorded error later. No op then syncs, so a training step can run
// ahead of the GPU or be captured in a CUDA graph.
#include <torch/library.h>

#include <array>
#include <atomic>
#include <mutex>
#include <sstream>

#include "common.cuh"

namespace graphkit {
namespace cuda {

namespace {

std::atomic<bool> g_sync_checks{true};
std::mutex g_mutex;
std::array<at::Tensor*, 64> g_slots{};  // leaked on purpose: freeing device memory at exit races CUDA teardown

at::Tensor& slot_tensor(const at::Device& device) {
  const int idx = device.index() < 0 ? 0 : device.index();
  TORCH_CHECK(idx < int(g_slots.size()), "graphkit: device index ", idx, " out of range");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_slots[idx] == nullptr) {
    const c10::cuda::CUDAGuard guard(device);
    // 3 x int64 = sizeof(DeviceError); zeroed on the current stream, then made visible to every stream
    auto t = at::zeros({3}, at::TensorOptions().dtype(at::kLong).device(at::kCUDA, idx));
    C10_CUDA_CHECK(cudaStreamSynchronize(c10::cuda::getCurrentCUDAStream(idx).stream()));
    g_slots[idx] = new at::Tensor(std::move(t));
  }
  return *g_slots[idx];
}

std::string message(int64_t code, int64_t value, int64_t bound, const CheckNames* names) {
  const int kind = int(code / 8), which = int(code % 8);
  const CheckNames defaults;
  const CheckNames& n = names ? *names : defaults;
  const char* name = which < 6 ? n.names[which] : "index";
  std::ostringstream s;
  switch (kind) {
    case kNegative: s << name << " has negative index " << value; break;
    case kTooHigh: s << name << " has index " << value << " but " << n.bounds[which] << " is " << bound; break;
    case kRowptrFirst: s << "rowptr[0] must be 0, got " << value; break;
    case kRowptrStep: s << "rowptr must be non-decreasing, found a step of " << value; break;
    case kRowptrLast: s << "rowptr[-1] is " << value << " but " << n.entries_name << " has " << bound << " entries"; break;
    case kRepeat:
      s << name << " must be a permutation of the edge ids, but " << name << "[" << bound << "] = " << value
        << " repeats another entry";
      break;
    default: s << "graphkit CUDA op reported error code " << code << " (value " << value << ")";
  }
  return s.str();
}

void raise_from(const at::Device& device, const CheckNames* names) {
  auto& slot = slot_tensor(device);
  auto host = slot.to(at::kCPU);  // the one sync: waits for this stream's launches
  const int64_t* h = host.data_ptr<int64_t>();
  if (h[0] == 0) return;
  const std::string msg = message(h[0], h[1], h[2], names);
  slot.zero_();
  TORCH_CHECK_VALUE(false, msg);
}

__global__ void check_rowptr_kernel(const int64_t* rowptr, int64_t rows, int64_t entries, DeviceError* err) {
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    int64_t b = rowptr[r], e = rowptr[r + 1];
    checked_row(err, r, rows, entries, b, e);
  }
}

__global__ void check_rowptr_kernel32(const int32_t* rowptr, int64_t rows, int64_t entries, DeviceError* err) {
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    int64_t b = rowptr[r], e = rowptr[r + 1];
    checked_row(err, r, rows, entries, b, e);
  }
}

__global__ void check_empty_rowptr_kernel32(const int32_t* rowptr, int64_t entries, DeviceError* err) {
  if (rowptr[0] != 0) report_error(err, kRowptrFirst, kRowptr, rowptr[0], 0);
  else if (entries != 0) report_error(err, kRowptrLast, kRowptr, 0, entries);
}

__global__ void check_empty_rowptr_kernel(const int64_t* rowptr, int64_t entries, DeviceError* err) {
  if (rowptr[0] != 0) report_error(err, kRowptrFirst, kRowptr, rowptr[0], 0);
  else if (entries != 0) report_error(err, kRowptrLast, kRowptr, 0, entries);
}

template <typename index_t>
__global__ void check_permutation_kernel(const index_t* eid, int64_t n, int* seen, DeviceError* err) {
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t v = eid[k];
    if (v < 0 || v >= n) continue;  // out of range: the op's own kernel reports it
    if (atomicExch(seen + v, 1) != 0) report_error(err, kRepeat, kEid, v, k);
  }
}

}  // namespace

void launch_check_permutation(const at::Tensor& eid, int64_t n, DeviceError* err, cudaStream_t stream) {
  if (n == 0) return;
  auto seen = at::zeros({n}, eid.options().dtype(at::kInt));
  const unsigned blocks = unsigned(std::min<int64_t>(ceil_div(n, kBlock), 4096));
  if (eid.scalar_type() == at::kInt)
    check_permutation_kernel<<<blocks, kBlock, 0, stream>>>(eid.data_ptr<int32_t>(), n, seen.data_ptr<int>(), err);
  else
    check_permutation_kernel<<<blocks, kBlock, 0, stream>>>(eid.data_ptr<int64_t>(), n, seen.data_ptr<int>(), err);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

DeviceError* error_slot(const at::Device& device) {
  return reinterpret_cast<DeviceError*>(slot_tensor(device).data_ptr<int64_t>());
}

void finish_checks(const at::Device& device, const CheckNames& names) {
  if (g_sync_checks.load(std::memory_order_relaxed)) raise_from(device, &names);
}

void raise_now(const at::Device& device, const CheckNames& names) { raise_from(device, &names); }

void launch_check_rowptr(const at::Tensor& rowptr, int64_t entries, DeviceError* err, cudaStream_t stream) {
  const int64_t rows = rowptr.numel() - 1;
  const bool i32 = rowptr.scalar_type() == at::kInt;
  if (rows == 0) {  // rowptr = [0] and no entries
    if (i32) check_empty_rowptr_kernel32<<<1, 1, 0, stream>>>(rowptr.data_ptr<int32_t>(), entries, err);
    else check_empty_rowptr_kernel<<<1, 1, 0, stream>>>(rowptr.data_ptr<int64_t>(), entries, err);
  } else {
    const unsigned blocks = unsigned(std::min<int64_t>(ceil_div(rows, kBlock), 4096));
    if (i32) check_rowptr_kernel32<<<blocks, kBlock, 0, stream>>>(rowptr.data_ptr<int32_t>(), rows, entries, err);
    else check_rowptr_kernel<<<blocks, kBlock, 0, stream>>>(rowptr.data_ptr<int64_t>(), rows, entries, err);
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

// The two ops of graphkit.ops.cuda (schemas in registration.cpp).
bool set_sync_checks(bool enable) { return g_sync_checks.exchange(enable); }

void raise_pending(int64_t device) {
  const at::Device d(at::kCUDA, c10::DeviceIndex(device));
  const c10::cuda::CUDAGuard guard(d);
  raise_from(d, nullptr);
}

}  // namespace cuda
}  // namespace graphkit
