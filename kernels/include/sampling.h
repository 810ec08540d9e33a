// The sampling primitives shared by every sampler kernel (cpu/sample_neighbors.cpp, cpu/random_walk.cpp,
// cpu/subgraph.cpp): a counter-based generator seeded per (seed, stream, item), so that what an item draws never
// depends on which thread runs it; k-of-deg edge draws; and the per-thread dense global->local node map.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace graphkit {
namespace sampler {

// splitmix64: turns (seed, hop, node) into a well-mixed 64-bit state; also the per-draw generator.
inline uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

struct Rng {
  uint64_t s;
  Rng() : s(0) {}  // a placeholder in an array of generators, seeded before use
  explicit Rng(uint64_t seed, uint64_t hop, uint64_t node) : s(mix(mix(seed ^ (hop << 56)) ^ node)) {}
  inline uint64_t next() { s += 0x9E3779B97F4A7C15ULL; uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL; z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL; return z ^ (z >> 31); }
  // Uniform integer in [0, n) (Lemire's multiply-shift; the bias is < n / 2^64, negligible).
  inline int64_t below(int64_t n) { return (int64_t)(((unsigned __int128)next() * (uint64_t)n) >> 64); }
  // Uniform double in [0, 1) from the top 53 bits.
  inline double uniform() { return double(next() >> 11) * 0x1.0p-53; }
};

inline int64_t sample_count(int64_t deg, int64_t k, bool replace) {
  if (deg == 0) return 0;
  if (k < 0) return deg;
  return replace ? k : std::min(k, deg);
}

// Writes `cnt` edge positions (offsets into col/perm) chosen among [begin, begin + deg).
inline void sample_one(int64_t begin, int64_t deg, int64_t k, bool replace, Rng& rng, int64_t* out,
                       std::vector<int64_t>& scratch) {
  if (k < 0 || (!replace && k >= deg)) {
    for (int64_t j = 0; j < deg; ++j) out[j] = begin + j;
  } else if (replace) {
    for (int64_t j = 0; j < k; ++j) out[j] = begin + rng.below(deg);
  } else if (k <= 64) {
    // Floyd's algorithm: k distinct draws in k steps; membership is a scan of at most 64 entries.
    int64_t n = 0;
    for (int64_t j = deg - k; j < deg; ++j) {
      int64_t t = rng.below(j + 1);
      bool seen = false;
      for (int64_t q = 0; q < n; ++q) if (out[q] == begin + t) { seen = true; break; }
      out[n++] = begin + (seen ? j : t);
    }
  } else {
    // Large fan-out: partial Fisher-Yates over a scratch copy of the row.
    scratch.resize(deg);
    for (int64_t j = 0; j < deg; ++j) scratch[j] = j;
    for (int64_t j = 0; j < k; ++j) {
      int64_t t = j + rng.below(deg - j);
      std::swap(scratch[j], scratch[t]);
      out[j] = begin + scratch[j];
    }
  }
}

// One dense global->local map per calling thread; every entry is -1 between calls. int32 halves its cache
// footprint (local ids of one batch stay far below 2^31).
inline std::vector<int32_t>& local_map(int64_t num_nodes) {
  thread_local std::vector<int32_t> map;
  if ((int64_t)map.size() < num_nodes) map.resize(num_nodes, -1);
  return map;
}

// The state of one call: the thread's map and the nodes reached so far. The destructor puts every map entry it
// set back to -1, on every exit path (a return, or an exception from validation, a bad CSR entry or an
// allocation), so a failed call never leaves the next call on this thread a dirty map.
struct Frontier {
  std::vector<int32_t>& map;
  std::vector<int64_t> n_id;  // global id of each local node, in local-id order
  explicit Frontier(int64_t num_nodes) : map(local_map(num_nodes)) {}
  ~Frontier() {
    for (int64_t v : n_id) map[v] = -1;
  }
  Frontier(const Frontier&) = delete;
  Frontier& operator=(const Frontier&) = delete;
  // local id of global node v, numbering it next if it is new
  inline int32_t local(int64_t v) {
    int32_t l = map[v];
    if (l < 0) {
      l = (int32_t)n_id.size();
      map[v] = l;
      n_id.push_back(v);
    }
    return l;
  }
};

}  // namespace sampler
}  // namespace graphkit
