// Zero-copy row gather from pinned host memory into GPU memory over UVA (PyTorch-Direct style).
//
// gather_rows_uva(src, index, pos, out, stream) -> out:   out[pos[i], :] = src[index[i], :]
//
//   src   [R, W] pinned host tensor (page-locked, hence mapped into the GPU's address space under UVA)
//   index [n] int64 CUDA, sorted ascending (neighbouring warps then read neighbouring host pages)
//   pos   [n] int64 CUDA, where each gathered row goes (the inverse of the sort)
//   out   [n, W] CUDA tensor, same dtype as src
//   stream  the cudaStream_t to launch on, as an integer (torch.cuda.Stream.cuda_stream); passed explicitly so
//           this file needs only the CUDA runtime and ATen core headers (the CPU torch wheel lacks some
//           c10/cuda build headers, and kernels/cuda_check.sh compiles against it)
//
// One warp copies one row. The GPU reads host memory over PCIe in 128-byte requests, so each warp starts at
// the 128-byte boundary at or below its row's first byte and walks the row in aligned 128-byte windows
// (32 lanes x 4 bytes); lanes whose word falls outside the row skip it. A row that does not start on a
// boundary (width * itemsize not a multiple of 128) then costs one partial window, not a split request per
// read. No CPU gather and no staging buffer: the rows go host -> GPU once. The caller runs it on a side
// stream (FeatureStore.gather_cuda), overlapped with the compute on the main stream.
#include <ATen/ATen.h>
#include <cuda_runtime.h>
#include <torch/library.h>

#include <cstdint>

namespace graphkit {
namespace uva {

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 8;

// 4-byte words; requires the row size and the base pointer to be multiples of 4 bytes.
__global__ void gather_words(const char* __restrict__ src, const int64_t* __restrict__ index,
                             const int64_t* __restrict__ pos, char* __restrict__ out, int64_t n,
                             int64_t row_bytes) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warp = (int64_t)blockIdx.x * kWarpsPerBlock + threadIdx.x / kWarp;
  const int64_t warps = (int64_t)gridDim.x * kWarpsPerBlock;
  for (int64_t i = warp; i < n; i += warps) {
    const uintptr_t first = (uintptr_t)(src + index[i] * row_bytes);
    const uintptr_t last = first + row_bytes;
    const uintptr_t window = first & ~(uintptr_t)127;  // 128-byte aligned start
    uint32_t* dst = reinterpret_cast<uint32_t*>(out + pos[i] * row_bytes);
    for (uintptr_t a = window + 4 * lane; a < last; a += 4 * kWarp) {
      if (a >= first) dst[(a - first) / 4] = *reinterpret_cast<const uint32_t*>(a);
    }
  }
}

// Any row size: bytes, still one warp per row and windows aligned to 128 bytes.
__global__ void gather_bytes(const char* __restrict__ src, const int64_t* __restrict__ index,
                             const int64_t* __restrict__ pos, char* __restrict__ out, int64_t n,
                             int64_t row_bytes) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warp = (int64_t)blockIdx.x * kWarpsPerBlock + threadIdx.x / kWarp;
  const int64_t warps = (int64_t)gridDim.x * kWarpsPerBlock;
  for (int64_t i = warp; i < n; i += warps) {
    const char* row = src + index[i] * row_bytes;
    char* dst = out + pos[i] * row_bytes;
    for (int64_t b = lane; b < row_bytes; b += kWarp) dst[b] = row[b];
  }
}

#define GK_CUDA_CHECK(expr)                                                                      \
  do {                                                                                             \
    const cudaError_t err_ = (expr);                                                               \
    TORCH_CHECK(err_ == cudaSuccess, "gather_rows_uva: ", #expr, " failed: ", cudaGetErrorString(err_)); \
  } while (0)

at::Tensor& gather_rows_uva(const at::Tensor& src, const at::Tensor& index, const at::Tensor& pos,
                            at::Tensor& out, int64_t stream_handle) {
  TORCH_CHECK_VALUE(src.device().is_cpu() && src.is_pinned(),
                    "gather_rows_uva: src must be a pinned host tensor (FeatureStore(..., pin=True))");
  TORCH_CHECK_VALUE(index.is_cuda() && pos.is_cuda() && out.is_cuda(),
                    "gather_rows_uva: index, pos and out must be CUDA tensors");
  TORCH_CHECK_TYPE(index.scalar_type() == at::kLong && pos.scalar_type() == at::kLong,
                   "gather_rows_uva: index and pos must be int64");
  TORCH_CHECK_VALUE(src.dim() == 2 && src.is_contiguous(), "gather_rows_uva: src must be contiguous 2-D, got ",
                    src.sizes());
  TORCH_CHECK_VALUE(index.dim() == 1 && pos.numel() == index.numel(), "gather_rows_uva: index has ",
                    index.numel(), " entries but pos has ", pos.numel());
  TORCH_CHECK_TYPE(out.scalar_type() == src.scalar_type(), "gather_rows_uva: out has dtype ", out.scalar_type(),
                   " but src has ", src.scalar_type());
  TORCH_CHECK_VALUE(out.dim() == 2 && out.size(0) == index.numel() && out.size(1) == src.size(1) &&
                        out.is_contiguous(),
                    "gather_rows_uva: out must be contiguous [", index.numel(), ", ", src.size(1), "], got ",
                    out.sizes());
  const int64_t n = index.numel();
  if (n == 0) return out;
  int current = -1;
  GK_CUDA_CHECK(cudaGetDevice(&current));
  TORCH_CHECK_VALUE(current == out.device().index(), "gather_rows_uva: out is on ", out.device(),
                    " but the current device is cuda:", current);
  // index is sorted, so its ends bound it (one small sync, before any host memory is read).
  const int64_t lo = index[0].item<int64_t>(), hi = index[n - 1].item<int64_t>();
  TORCH_CHECK_VALUE(lo >= 0 && hi < src.size(0), "gather_rows_uva: index holds ", lo < 0 ? lo : hi,
                    " but src has ", src.size(0), " rows");
  void* dev_src = nullptr;
  GK_CUDA_CHECK(cudaHostGetDevicePointer(&dev_src, const_cast<void*>(src.const_data_ptr()), 0));
  const int64_t row_bytes = src.size(1) * src.element_size();
  const int64_t blocks = std::min<int64_t>((n + kWarpsPerBlock - 1) / kWarpsPerBlock, 65535);
  cudaStream_t stream = reinterpret_cast<cudaStream_t>(static_cast<uintptr_t>(stream_handle));
  const bool words = row_bytes % 4 == 0 && (uintptr_t)dev_src % 4 == 0;
  auto kernel = words ? gather_words : gather_bytes;
  kernel<<<blocks, kWarp * kWarpsPerBlock, 0, stream>>>(static_cast<const char*>(dev_src),
                                                         index.data_ptr<int64_t>(), pos.data_ptr<int64_t>(),
                                                         static_cast<char*>(out.data_ptr()), n, row_bytes);
  GK_CUDA_CHECK(cudaGetLastError());
  return out;
}

}  // namespace uva
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) { m.impl("gather_rows_uva", &graphkit::uva::gather_rows_uva); }
