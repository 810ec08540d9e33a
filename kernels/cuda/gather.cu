// Zero-copy row gather from pinned host memory into GPU memory over UVA (PyTorch-Direct style).
//
// gather_rows_uva(src, index, pos, out, stream, check=True) -> out:   out[pos[i], :] = src[index[i], :]
//
//   src   [R, W] pinned or cudaHostRegister'ed host tensor (page-locked, mapped into the GPU's address space)
//   index [n] int64 CUDA; sorted ascending is fastest (neighbouring warps then read neighbouring host pages)
//   pos   [n] int64 CUDA, where each gathered row goes (the inverse of the sort)
//   out   [n, W] CUDA tensor, same dtype as src
//   stream  the cudaStream_t to launch on, as an integer (torch.cuda.Stream.cuda_stream)
//   check   read the error flag after the launch (one sync) and raise ValueError for an index or pos out of
//           range; False leaves it to cuda_raise_pending (FeatureStore.gather_cuda checks its CPU index first)
//
// Every index and pos is range-checked in the kernel before any host byte is read, so a bad call can never
// read outside src or write outside out.
//
// A group of L lanes copies one row (L = the row's width in lane-words rounded up to a power of two, at most
// 32; 32/L rows per warp, so narrow rows keep the warp busy). The GPU reads host memory over PCIe in 128-byte
// requests, so each group starts at the 128-byte boundary at or below its row's first byte and walks the row
// in aligned windows; lanes whose word falls outside the row skip it. Lane words are 16 bytes (uint4) when the
// row size and both base pointers allow, else 4 bytes, else single bytes.
#include <ATen/ATen.h>
#include <cuda_runtime.h>
#include <torch/library.h>

#include <cstdint>

#include "common.cuh"

namespace graphkit {
namespace uva {

using cuda::DeviceError;
using cuda::kWarp;
using cuda::kWarpsPerBlock;

template <typename word_t>
__global__ void __launch_bounds__(cuda::kBlock) gather_rows_kernel(const char* __restrict__ src,
                                                                  const int64_t* __restrict__ index,
                                                                  const int64_t* __restrict__ pos,
                                                                  char* __restrict__ out, int64_t n, int64_t nrows,
                                                                  int64_t row_bytes, int L, DeviceError* err) {
  constexpr int64_t kW = sizeof(word_t);
  const int lane = threadIdx.x % kWarp, gl = lane % L;
  const int per_warp = kWarp / L;
  const int64_t warp = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  const int64_t stride = int64_t(gridDim.x) * kWarpsPerBlock * per_warp;
  for (int64_t i = warp * per_warp + lane / L; i < n; i += stride) {
    const int64_t r = index[i], p = pos[i];
    const bool ok_r = cuda::check_index(err, cuda::kIndex, r, nrows);
    const bool ok_p = cuda::check_index(err, cuda::kPos, p, n);
    if (!ok_r || !ok_p) continue;
    const uintptr_t first = (uintptr_t)(src + r * row_bytes);
    const uintptr_t last = first + row_bytes;
    const uintptr_t window = first & ~(uintptr_t)127;  // 128-byte aligned start
    word_t* dst = reinterpret_cast<word_t*>(out + p * row_bytes);
    for (uintptr_t a = window + kW * gl; a < last; a += kW * L) {
      if (a >= first) dst[(a - first) / kW] = *reinterpret_cast<const word_t*>(a);
    }
  }
}

#define GK_CUDA_CHECK(expr)                                                                                 \
  do {                                                                                                      \
    const cudaError_t err_ = (expr);                                                                        \
    TORCH_CHECK(err_ == cudaSuccess, "gather_rows_uva: ", #expr, " failed: ", cudaGetErrorString(err_));   \
  } while (0)

at::Tensor& gather_rows_uva(const at::Tensor& src, const at::Tensor& index_, const at::Tensor& pos_,
                            at::Tensor& out, int64_t stream_handle, bool check) {
  TORCH_CHECK_VALUE(src.device().is_cpu() && src.is_pinned(),
                    "gather_rows_uva: src must be a pinned host tensor (FeatureStore(..., pin=True))");
  TORCH_CHECK_VALUE(index_.is_cuda() && pos_.is_cuda() && out.is_cuda(),
                    "gather_rows_uva: index, pos and out must be CUDA tensors");
  TORCH_CHECK_VALUE(index_.device() == out.device() && pos_.device() == out.device(), "gather_rows_uva: index is on ",
                    index_.device(), " and pos on ", pos_.device(), " but out is on ", out.device());
  TORCH_CHECK_TYPE(index_.scalar_type() == at::kLong && pos_.scalar_type() == at::kLong,
                   "gather_rows_uva: index and pos must be int64");
  TORCH_CHECK_VALUE(src.dim() == 2 && src.is_contiguous(), "gather_rows_uva: src must be contiguous 2-D, got ",
                    src.sizes());
  TORCH_CHECK_VALUE(index_.dim() == 1 && pos_.dim() == 1 && pos_.numel() == index_.numel(),
                    "gather_rows_uva: index has ", index_.numel(), " entries but pos has ", pos_.numel());
  TORCH_CHECK_TYPE(out.scalar_type() == src.scalar_type(), "gather_rows_uva: out has dtype ", out.scalar_type(),
                   " but src has ", src.scalar_type());
  TORCH_CHECK_VALUE(out.dim() == 2 && out.size(0) == index_.numel() && out.size(1) == src.size(1) &&
                        out.is_contiguous(),
                    "gather_rows_uva: out must be contiguous [", index_.numel(), ", ", src.size(1), "], got ",
                    out.sizes());
  const int64_t n = index_.numel();
  const int64_t row_bytes = src.size(1) * src.element_size();
  if (n == 0 || row_bytes == 0) return out;
  const c10::cuda::CUDAGuard guard(out.device());
  auto index = index_.contiguous(), pos = pos_.contiguous();
  void* dev_src = nullptr;
  GK_CUDA_CHECK(cudaHostGetDevicePointer(&dev_src, const_cast<void*>(src.const_data_ptr()), 0));
  cudaStream_t stream = reinterpret_cast<cudaStream_t>(static_cast<uintptr_t>(stream_handle));
  DeviceError* err = cuda::error_slot(out.device());
  const uintptr_t sp = (uintptr_t)dev_src, op = (uintptr_t)out.data_ptr();
  auto aligned = [&](int64_t w) { return row_bytes % w == 0 && sp % w == 0 && op % w == 0; };
  const int64_t word = aligned(16) ? 16 : aligned(4) ? 4 : 1;
  int L = 1;
  while (L < kWarp && L * word < row_bytes) L *= 2;
  const int64_t groups = int64_t(kWarpsPerBlock) * (kWarp / L);
  const int64_t blocks = std::min<int64_t>((n + groups - 1) / groups, 65535);
  auto launch = [&](auto kernel) {
    kernel<<<unsigned(blocks), kWarp * kWarpsPerBlock, 0, stream>>>(
        static_cast<const char*>(dev_src), index.data_ptr<int64_t>(), pos.data_ptr<int64_t>(),
        static_cast<char*>(out.data_ptr()), n, src.size(0), row_bytes, L, err);
  };
  if (word == 16) launch(gather_rows_kernel<uint4>);
  else if (word == 4) launch(gather_rows_kernel<uint32_t>);
  else launch(gather_rows_kernel<uint8_t>);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  if (check) {
    cuda::CheckNames names;
    names.bounds[cuda::kIndex] = "src.size(0)";
    names.bounds[cuda::kPos] = "out.size(0)";
    // the flag is read on `stream`: make it the current one for the read
    const c10::cuda::CUDAStreamGuard sg(c10::cuda::getStreamFromExternal(stream, out.device().index()));
    cuda::raise_now(out.device(), names);
  }
  return out;
}

}  // namespace uva
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CUDA, m) { m.impl("gather_rows_uva", &graphkit::uva::gather_rows_uva); }
