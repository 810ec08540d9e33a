// Multi-hop neighbour sampling on a CSR of incoming edges (graph.csr(): rowptr, col = sources, perm = edge ids).
//
// sample_neighbors(rowptr, col, perm, seeds, fanouts, replace, seed)
//   -> (n_id, rowptr_sub, edge_index_sub [2, E'] (local source; local target), e_id, nodes_per_hop, edges_per_hop)
//
// Hop h samples, for every node first reached at hop h (its "frontier"), at most fanouts[h] incoming edges.
// Each node's neighbourhood is sampled once, as in PyG's NeighborLoader. Local ids: seeds first (0..B-1), then
// new nodes in order of first appearance, so the frontier of hop h is one contiguous id range and the emitted
// edges come out grouped by target in ascending local id: the sub-graph's CSR is
// (rowptr_sub, edge_index_sub[0], arange(E')).
//
// Reproducibility: node i of a hop draws from its own generator, seeded from (seed, hop, local id of i). The
// local ids are fixed by the previous hops, so the result does not depend on the number of threads.
// Parallel: per hop, (1) per-node counts (known without sampling), (2) prefix sum, (3) parallel sampling into
// disjoint slices, (4) a sequential relabel through a dense global->local map that is kept between calls
// (one per thread, reset after use): a dense array beats a hash map by several times on random ids.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace graphkit {
namespace sampler {

// splitmix64: turns (seed, hop, node) into a well-mixed 64-bit state; also the per-draw generator.
static inline uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed, uint64_t hop, uint64_t node) : s(mix(mix(seed ^ (hop << 56)) ^ node)) {}
  inline uint64_t next() { s += 0x9E3779B97F4A7C15ULL; uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL; z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL; return z ^ (z >> 31); }
  // Uniform integer in [0, n) (Lemire's multiply-shift; the bias is < n / 2^64, negligible).
  inline int64_t below(int64_t n) { return (int64_t)(((unsigned __int128)next() * (uint64_t)n) >> 64); }
};

static inline int64_t sample_count(int64_t deg, int64_t k, bool replace) {
  if (deg == 0) return 0;
  if (k < 0) return deg;
  return replace ? k : std::min(k, deg);
}

// Writes `cnt` edge positions (offsets into col/perm) chosen among [begin, begin + deg).
static void sample_one(int64_t begin, int64_t deg, int64_t k, bool replace, Rng& rng, int64_t* out,
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
static std::vector<int32_t>& local_map(int64_t num_nodes) {
  thread_local std::vector<int32_t> map;
  if ((int64_t)map.size() < num_nodes) map.resize(num_nodes, -1);
  return map;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> sample_neighbors(
    const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& perm_t, const at::Tensor& seeds_t,
    at::IntArrayRef fanouts, bool replace, int64_t seed) {
  for (const auto& pair : {std::make_pair("rowptr", &rowptr_t), std::make_pair("col", &col_t),
                           std::make_pair("perm", &perm_t), std::make_pair("seeds", &seeds_t)}) {
    TORCH_CHECK_TYPE(pair.second->scalar_type() == at::kLong, "sample_neighbors: ", pair.first,
                     " must be int64, got ", pair.second->scalar_type());
    TORCH_CHECK_VALUE(pair.second->dim() == 1, "sample_neighbors: ", pair.first, " must be 1-D, got shape ",
                      pair.second->sizes());
    TORCH_CHECK_VALUE(pair.second->device().is_cpu(), "sample_neighbors: ", pair.first, " must be on the CPU");
  }
  TORCH_CHECK_VALUE(rowptr_t.numel() >= 1, "sample_neighbors: rowptr must have num_nodes + 1 >= 1 entries");
  TORCH_CHECK_VALUE(rowptr_t.numel() - 1 < (int64_t)INT32_MAX, "sample_neighbors: more than 2^31 - 1 nodes");
  const at::Tensor rowptr_c = rowptr_t.contiguous(), col_c = col_t.contiguous(), perm_c = perm_t.contiguous(),
                   seeds_c = seeds_t.contiguous();
  const int64_t N = rowptr_c.numel() - 1, E = col_c.numel();
  const int64_t* rowptr = rowptr_c.data_ptr<int64_t>();
  const int64_t* col = col_c.data_ptr<int64_t>();
  const int64_t* perm = perm_c.data_ptr<int64_t>();
  TORCH_CHECK_VALUE(perm_c.numel() == E, "sample_neighbors: perm has ", perm_c.numel(), " entries but col has ", E);
  TORCH_CHECK_VALUE(rowptr[N] == E, "sample_neighbors: rowptr[-1] is ", rowptr[N], " but col has ", E, " entries");
  for (size_t h = 0; h < fanouts.size(); ++h)
    TORCH_CHECK_VALUE(fanouts[h] >= 0 || fanouts[h] == -1, "sample_neighbors: fanouts[", h, "] is ", fanouts[h],
                      " but must be >= 0 or -1 (all neighbours)");

  std::vector<int32_t>& map = local_map(N);
  std::vector<int64_t> n_id;
  const int64_t B = seeds_c.numel();
  const int64_t* seeds = seeds_c.data_ptr<int64_t>();
  n_id.reserve(B * 4);
  auto reset = [&]() { for (int64_t v : n_id) map[v] = -1; };
  for (int64_t i = 0; i < B; ++i) {
    const int64_t v = seeds[i];
    if (v < 0 || v >= N) { reset(); TORCH_CHECK_VALUE(false, "sample_neighbors: seeds[", i, "] is ", v,
                                                      " but num_nodes is ", N); }
    if (map[v] >= 0) { reset(); TORCH_CHECK_VALUE(false, "sample_neighbors: seeds[", i, "] = ", v,
                                                  " repeats seeds[", map[v], "]; seeds must be unique"); }
    map[v] = (int32_t)i;
    n_id.push_back(v);
  }

  std::vector<int64_t> src, dst, eid, counts;
  std::vector<int64_t> nodes_per_hop{B}, edges_per_hop;
  std::vector<int64_t> sub_deg;  // incoming sampled edges per local node (0 for the last hop's new nodes)
  int64_t fs = 0, fe = B;
  for (size_t h = 0; h < fanouts.size(); ++h) {
    const int64_t k = fanouts[h], F = fe - fs;
    counts.assign(F + 1, 0);
    // Software prefetch a few iterations ahead: every access below is a random read into arrays far larger
    // than the caches, and the loops are otherwise latency-bound.
    constexpr int64_t kAhead = 16;
    for (int64_t i = 0; i < F; ++i) {
      if (i + kAhead < F) __builtin_prefetch(rowptr + n_id[fs + i + kAhead]);
      const int64_t v = n_id[fs + i];
      counts[i + 1] = counts[i] + sample_count(rowptr[v + 1] - rowptr[v], k, replace);
    }
    const int64_t base = (int64_t)src.size(), total = counts[F];
    src.resize(base + total);
    dst.resize(base + total);
    eid.resize(base + total);
    sub_deg.resize(fe, 0);
    // (3) parallel sampling: node i writes edge positions into eid[base + counts[i] ...].
    // Grain 1024 nodes: a parallel region costs tens of microseconds, far more on an oversubscribed machine.
    at::parallel_for(0, F, 1024, [&](int64_t lo, int64_t hi) {
      std::vector<int64_t> scratch;
      for (int64_t i = lo; i < hi; ++i) {
        if (i + 4 < hi) {
          const int64_t ahead = rowptr[n_id[fs + i + 4]];  // rowptr rows were prefetched by the count loop
          __builtin_prefetch(col + ahead);
          __builtin_prefetch(perm + ahead);
        }
        const int64_t local = fs + i, v = n_id[local];
        const int64_t begin = rowptr[v], deg = rowptr[v + 1] - begin, off = base + counts[i];
        const int64_t cnt = counts[i + 1] - counts[i];
        sub_deg[local] = cnt;
        if (cnt == 0) continue;
        Rng rng((uint64_t)seed, (uint64_t)h, (uint64_t)local);
        int64_t* pos = eid.data() + off;
        sample_one(begin, deg, k, replace, rng, pos, scratch);
        for (int64_t j = 0; j < cnt; ++j) {
          src[off + j] = col[pos[j]];
          dst[off + j] = local;
          pos[j] = perm[pos[j]];
        }
      }
    });
    // (4) sequential relabel, in edge order: deterministic local ids for new nodes.
    for (int64_t j = base; j < base + total; ++j) {
      if (j + kAhead < base + total) __builtin_prefetch(map.data() + src[j + kAhead]);
      const int64_t v = src[j];
      int32_t l = map[v];
      if (l < 0) { l = (int32_t)n_id.size(); map[v] = l; n_id.push_back(v); }
      src[j] = l;
    }
    nodes_per_hop.push_back((int64_t)n_id.size() - fe);
    edges_per_hop.push_back(total);
    fs = fe;
    fe = (int64_t)n_id.size();
  }
  reset();

  const int64_t n_sub = (int64_t)n_id.size(), e_sub = (int64_t)src.size();
  auto opts = at::TensorOptions().dtype(at::kLong);
  auto to_tensor = [&](const std::vector<int64_t>& v) {
    at::Tensor t = at::empty({(int64_t)v.size()}, opts);
    if (!v.empty()) std::memcpy(t.data_ptr<int64_t>(), v.data(), v.size() * sizeof(int64_t));
    return t;
  };
  at::Tensor rowptr_sub = at::zeros({n_sub + 1}, opts);
  int64_t* rp = rowptr_sub.data_ptr<int64_t>();
  for (int64_t i = 0; i < (int64_t)sub_deg.size(); ++i) rp[i + 1] = rp[i] + sub_deg[i];
  for (int64_t i = (int64_t)sub_deg.size(); i < n_sub; ++i) rp[i + 1] = rp[i];
  TORCH_INTERNAL_ASSERT(rp[n_sub] == e_sub);
  at::Tensor edge_index = at::empty({2, e_sub}, opts);
  if (e_sub) {
    std::memcpy(edge_index.data_ptr<int64_t>(), src.data(), e_sub * sizeof(int64_t));
    std::memcpy(edge_index.data_ptr<int64_t>() + e_sub, dst.data(), e_sub * sizeof(int64_t));
  }
  return {to_tensor(n_id), rowptr_sub, edge_index, to_tensor(eid), to_tensor(nodes_per_hop), to_tensor(edges_per_hop)};
}

}  // namespace sampler
}  // namespace graphkit

TORCH_LIBRARY_FRAGMENT(graphkit, m) {
  m.def(
      "sample_neighbors(Tensor rowptr, Tensor col, Tensor perm, Tensor seeds, int[] fanouts, bool replace, "
      "int seed) -> (Tensor n_id, Tensor rowptr_sub, Tensor edge_index, Tensor e_id, Tensor nodes_per_hop, "
      "Tensor edges_per_hop)");
}

TORCH_LIBRARY_IMPL(graphkit, CPU, m) { m.impl("sample_neighbors", &graphkit::sampler::sample_neighbors); }
