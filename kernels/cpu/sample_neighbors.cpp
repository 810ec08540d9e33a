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
// (one per thread, reset by RAII on every exit path): a dense array beats a hash map by several times on random ids.
// Validation (validate.h): the cheap O(1) checks up front, then exactly the CSR rows and entries each hop reads.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "../include/sampling.h"
#include "../include/validate.h"

namespace graphkit {
namespace sampler {

struct Csr {
  const int64_t *rowptr, *col, *perm;
  int64_t N, E;
};

// The sampled edges so far: src (global, then local after relabel), dst (local), eid (global edge ids), and per
// local node the number of incoming sampled edges.
struct Edges {
  std::vector<int64_t> src, dst, eid, sub_deg;
};

// Seeds take local ids 0..B-1; they must be in range and unique.
static void add_seeds(Frontier& fr, const int64_t* seeds, int64_t B, int64_t N) {
  fr.n_id.reserve(B * 4);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t v = seeds[i];
    TORCH_CHECK_VALUE(v >= 0 && v < N, "sample_neighbors: seeds[", i, "] is ", v, " but num_nodes is ", N);
    TORCH_CHECK_VALUE(fr.map[v] < 0, "sample_neighbors: seeds[", i, "] = ", v, " repeats seeds[", fr.map[v],
                      "]; seeds must be unique");
    fr.local(v);
  }
}

// Room for one hop's `total` edges after the `base` already sampled (returned), and in-degree slots for the
// local nodes [0, fe); beyond kMaxSampledEdges per call the hop raises instead of allocating.
static int64_t grow(Edges& ed, int64_t total, int64_t fe, int64_t hop, const char* op) {
  const int64_t base = (int64_t)ed.src.size();
  TORCH_CHECK_VALUE(base + total <= kMaxSampledEdges, op, ": hop ", hop, " would sample ", total, " edges (",
                    base + total, " in all); at most ", kMaxSampledEdges, " per call");
  ed.src.resize(base + total);
  ed.dst.resize(base + total);
  ed.eid.resize(base + total);
  ed.sub_deg.resize(fe, 0);
  return base;
}

// Draw `cnt` edges of one CSR row [begin, begin + deg) for local target `local` into slots [off, off + cnt) of
// `ed` (global source, local target, global edge id). col and perm entries are checked as they are read; a bad
// one is recorded and replaced by a harmless 0, and the caller raises after the parallel loop.
static inline void draw_row(const Csr& g, Edges& ed, int64_t begin, int64_t deg, int64_t k, bool replace, Rng& rng,
                            int64_t off, int64_t cnt, int64_t local, std::vector<int64_t>& scratch,
                            BadIndex& bad_col, BadIndex& bad_perm) {
  int64_t* pos = ed.eid.data() + off;
  sample_one(begin, deg, k, replace, rng, pos, scratch);
  for (int64_t j = 0; j < cnt; ++j) {
    int64_t s = g.col[pos[j]], e = g.perm[pos[j]];
    if (__builtin_expect(uint64_t(s) >= uint64_t(g.N), 0)) bad_col.record(s), s = 0;
    if (__builtin_expect(uint64_t(e) >= uint64_t(g.E), 0)) bad_perm.record(e), e = 0;
    ed.src[off + j] = s;
    ed.dst[off + j] = local;
    pos[j] = e;
  }
}

// One hop: the frontier is local ids [fs, fe); appends its sampled edges to `ed` and the new nodes to `fr`.
static void sample_hop(const Csr& g, Frontier& fr, Edges& ed, int64_t fs, int64_t fe, int64_t hop, int64_t k,
                       bool replace, int64_t seed) {
  const int64_t F = fe - fs;
  const std::vector<int64_t>& n_id = fr.n_id;
  // (1) per-node counts, known without sampling, and (2) their prefix sum; each row read is checked here.
  std::vector<int64_t> counts(F + 1, 0);
  // Software prefetch a few iterations ahead: every access below is a random read into arrays far larger
  // than the caches, and the loops are otherwise latency-bound.
  constexpr int64_t kAhead = 16;
  for (int64_t i = 0; i < F; ++i) {
    if (i + kAhead < F) __builtin_prefetch(g.rowptr + n_id[fs + i + kAhead]);
    const int64_t v = n_id[fs + i];
    check_csr_row(g.rowptr, v, g.E);
    counts[i + 1] = counts[i] + sample_count(g.rowptr[v + 1] - g.rowptr[v], k, replace);
  }
  const int64_t base = grow(ed, counts[F], fe, hop, "sample_neighbors"), total = counts[F];
  // (3) parallel sampling: node i writes edge positions into eid[base + counts[i] ...]. col and perm entries are
  // checked as they are read; a bad one is recorded and replaced by a harmless 0, and the call raises below.
  // Grain 1024 nodes: a parallel region costs tens of microseconds, far more on an oversubscribed machine.
  BadIndex bad_col, bad_perm;
  at::parallel_for(0, F, 1024, [&](int64_t lo, int64_t hi) {
    std::vector<int64_t> scratch;
    for (int64_t i = lo; i < hi; ++i) {
      if (i + 4 < hi) {
        const int64_t ahead = g.rowptr[n_id[fs + i + 4]];  // rowptr rows were prefetched by the count loop
        __builtin_prefetch(g.col + ahead);
        __builtin_prefetch(g.perm + ahead);
      }
      const int64_t local = fs + i, v = n_id[local];
      const int64_t begin = g.rowptr[v], deg = g.rowptr[v + 1] - begin, off = base + counts[i];
      const int64_t cnt = counts[i + 1] - counts[i];
      ed.sub_deg[local] = cnt;
      if (cnt == 0) continue;
      Rng rng((uint64_t)seed, (uint64_t)hop, (uint64_t)local);
      draw_row(g, ed, begin, deg, k, replace, rng, off, cnt, local, scratch, bad_col, bad_perm);
    }
  });
  TORCH_CHECK_VALUE(!bad_col.any(), "sample_neighbors: col has index ", bad_col.get(), " but num_nodes is ", g.N);
  TORCH_CHECK_VALUE(!bad_perm.any(), "sample_neighbors: perm has edge id ", bad_perm.get(), " but there are ", g.E,
                    " edges");
  // (4) sequential relabel, in edge order: deterministic local ids for new nodes.
  for (int64_t j = base; j < base + total; ++j) {
    if (j + kAhead < base + total) __builtin_prefetch(fr.map.data() + ed.src[j + kAhead]);
    ed.src[j] = fr.local(ed.src[j]);
  }
}

using Sample = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

// The output tensors: the sub-graph's rowptr from the per-node in-degrees (0 for the last hop's new nodes).
static Sample assemble(const std::vector<int64_t>& n_id, const Edges& ed, const std::vector<int64_t>& nodes_per_hop,
                       const std::vector<int64_t>& edges_per_hop) {
  const int64_t n_sub = (int64_t)n_id.size(), e_sub = (int64_t)ed.src.size();
  auto opts = at::TensorOptions().dtype(at::kLong);
  auto to_tensor = [&](const std::vector<int64_t>& v) {
    at::Tensor t = at::empty({(int64_t)v.size()}, opts);
    if (!v.empty()) std::memcpy(t.data_ptr<int64_t>(), v.data(), v.size() * sizeof(int64_t));
    return t;
  };
  at::Tensor rowptr_sub = at::zeros({n_sub + 1}, opts);
  int64_t* rp = rowptr_sub.data_ptr<int64_t>();
  for (int64_t i = 0; i < (int64_t)ed.sub_deg.size(); ++i) rp[i + 1] = rp[i] + ed.sub_deg[i];
  for (int64_t i = (int64_t)ed.sub_deg.size(); i < n_sub; ++i) rp[i + 1] = rp[i];
  TORCH_INTERNAL_ASSERT(rp[n_sub] == e_sub);
  at::Tensor edge_index = at::empty({2, e_sub}, opts);
  if (e_sub) {
    std::memcpy(edge_index.data_ptr<int64_t>(), ed.src.data(), e_sub * sizeof(int64_t));
    std::memcpy(edge_index.data_ptr<int64_t>() + e_sub, ed.dst.data(), e_sub * sizeof(int64_t));
  }
  return {to_tensor(n_id), rowptr_sub, edge_index, to_tensor(ed.eid), to_tensor(nodes_per_hop),
          to_tensor(edges_per_hop)};
}

Sample sample_neighbors(const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& perm_t,
                        const at::Tensor& seeds_t, at::IntArrayRef fanouts, bool replace, int64_t seed) {
  validate_sample_neighbors(rowptr_t, col_t, perm_t, seeds_t, fanouts, replace);
  const at::Tensor rowptr_c = rowptr_t.contiguous(), col_c = col_t.contiguous(), perm_c = perm_t.contiguous(),
                   seeds_c = seeds_t.contiguous();
  const Csr g{rowptr_c.data_ptr<int64_t>(), col_c.data_ptr<int64_t>(), perm_c.data_ptr<int64_t>(),
              rowptr_c.numel() - 1, col_c.numel()};
  Frontier fr(g.N);
  const int64_t B = seeds_c.numel();
  add_seeds(fr, seeds_c.data_ptr<int64_t>(), B, g.N);
  Edges ed;
  std::vector<int64_t> nodes_per_hop{B}, edges_per_hop;
  int64_t fs = 0, fe = B;
  for (size_t h = 0; h < fanouts.size(); ++h) {
    const int64_t before = (int64_t)ed.src.size();
    sample_hop(g, fr, ed, fs, fe, (int64_t)h, fanouts[h], replace, seed);
    nodes_per_hop.push_back((int64_t)fr.n_id.size() - fe);
    edges_per_hop.push_back((int64_t)ed.src.size() - before);
    fs = fe;
    fe = (int64_t)fr.n_id.size();
  }
  return assemble(fr.n_id, ed, nodes_per_hop, edges_per_hop);
}

}  // namespace sampler
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) {
  m.impl("sample_neighbors", &graphkit::sampler::sample_neighbors);
}
