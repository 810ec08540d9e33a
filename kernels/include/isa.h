// Which instruction set the CPU kernels' hot loops use, picked once at run time.
//
// The extension is built without -march so that one binary runs on any x86-64. The hot loops are therefore
// compiled twice, once for the baseline ISA and once with target("avx2,fma"), and this picks between them.
// GRAPHKIT_CPU_ISA=generic forces the baseline entry points (to compare them, and so the tests cover them on
// machines that have AVX2).
#pragma once

#include <cstdlib>
#include <cstring>

namespace graphkit {

inline bool use_avx2() {
  static const bool avx2 = [] {
    const char* forced = std::getenv("GRAPHKIT_CPU_ISA");
    if (forced != nullptr && std::strcmp(forced, "generic") == 0) return false;
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
  }();
  return avx2;
}

}  // namespace graphkit
