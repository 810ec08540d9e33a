// Output allocation for the CPU kernels: large outputs on transparent huge pages, with freed blocks reused.
//
// A fresh [N, F] output of tens of MB comes from mmap, and its first touch takes one page fault per 4 KiB page;
// at N=200k, F=64 (51 MB) those 12,500 faults cost ~12 ms, more than a third of a sum-SpMM. On Linux with THP in
// "madvise" mode (the common default), a 2 MiB-aligned block marked MADV_HUGEPAGE faults in 2 MiB pages instead
// (25 faults), and the kernel still zeroes every page. A training loop asks for the same sizes every step, so a
// few freed blocks are kept (bounded: kMaxCachedBlocks and kMaxCachedBytes) and handed out again for the same
// rounded size, already faulted in. Small outputs, and other systems, use the default allocator. The tensor owns
// a proper resizable storage with this allocator, so it behaves like any other CPU tensor.
#pragma once

#include <ATen/ATen.h>
#include <ATen/EmptyTensor.h>
#include <c10/core/Allocator.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace graphkit {

#if defined(__linux__)
struct HugePageAllocator final : c10::Allocator {
  static constexpr size_t kAlign = size_t(2) << 20;
  static constexpr size_t kMaxCachedBlocks = 8;
  static constexpr size_t kMaxCachedBytes = size_t(512) << 20;

  // Freed blocks by rounded size. Leaked on purpose (never destroyed): tensors freed during interpreter
  // shutdown, after static destructors have run, still find it.
  struct Cache {
    std::mutex mu;
    std::unordered_map<void*, size_t> live;      // block -> rounded size, for every block handed out
    std::vector<std::pair<size_t, void*>> free;  // (rounded size, block)
    size_t free_bytes = 0;
  };
  static Cache& cache() {
    static Cache* c = new Cache();
    return *c;
  }

  static void release(void* p) {
    if (p == nullptr) return;
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.live.find(p);
    if (it == c.live.end()) {  // not ours to cache (cannot happen through allocate(); free it and move on)
      std::free(p);
      return;
    }
    const size_t bytes = it->second;
    c.live.erase(it);
    if (c.free.size() < kMaxCachedBlocks && c.free_bytes + bytes <= kMaxCachedBytes) {
      c.free.emplace_back(bytes, p);
      c.free_bytes += bytes;
    } else {
      std::free(p);
    }
  }

  c10::DataPtr allocate(size_t n) override {
    if (n == 0) return {nullptr, nullptr, &release, c10::Device(c10::DeviceType::CPU)};
    const size_t bytes = (n + kAlign - 1) / kAlign * kAlign;
    Cache& c = cache();
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(c.mu);
      for (size_t i = 0; i < c.free.size(); ++i) {
        if (c.free[i].first == bytes) {
          p = c.free[i].second;
          c.free[i] = c.free.back();
          c.free.pop_back();
          c.free_bytes -= bytes;
          break;
        }
      }
    }
    if (p == nullptr) {
      if (posix_memalign(&p, kAlign, bytes) != 0) throw std::bad_alloc();
      // advisory: where THP is off or the call fails, the block is simply backed by small pages
      madvise(p, bytes, MADV_HUGEPAGE);
    }
    {
      std::lock_guard<std::mutex> lock(c.mu);
      c.live.emplace(p, bytes);
    }
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }
};
#endif

// Below this size the default allocator's small pages (and its reuse of freed memory) win.
constexpr int64_t kHugeOutputBytes = int64_t(8) << 20;

// at::empty(sizes, options) for a CPU tensor, on huge pages when it is large.
inline at::Tensor empty_output(at::IntArrayRef sizes, const at::TensorOptions& options) {
#if defined(__linux__)
  int64_t numel = 1;
  for (const int64_t s : sizes) numel *= s;
  const int64_t bytes = numel * int64_t(c10::elementSize(c10::typeMetaToScalarType(options.dtype())));
  if (options.device().is_cpu() && bytes >= kHugeOutputBytes) {
    static HugePageAllocator allocator;
    return at::detail::empty_generic(sizes, &allocator, c10::DispatchKeySet(c10::DispatchKey::CPU),
                                     c10::typeMetaToScalarType(options.dtype()), c10::nullopt);
  }
#endif
  return at::empty(sizes, options);
}

}  // namespace graphkit
