// Node-induced sub-graphs and the node sets of GraphSAINT and shaDow-GNN, on a CSR of incoming edges
// (graph.csr(): rowptr [N+1] over targets, col [E] = sources, perm [E] = edge ids).
//
// induced_subgraph(rowptr, col, perm, nodes) -> (rowptr_sub, col_sub, e_id)
//   Every edge whose two ends are in `nodes` (unique ids; local id = position). The result is the sub-graph's
//   CSR over targets: edges grouped by local target, in CSR order inside a row; col_sub holds local sources.
//   ClusterLoader (clusters joined per batch, edges between them kept) and the GraphSAINT samplers use it.
//
// saint_sample(rowptr, col, edge_cdf, kind, batch_size, walk_length, seed) -> nodes (sorted, unique)
//   GraphSAINT's node sets (Zeng et al., 2020), each draw from its own generator (seed, draw index):
//   "node": batch_size draws of a uniform edge, taking its source (a node with probability proportional to its
//           out-degree, as PyG's GraphSAINTNodeSampler);
//   "edge": batch_size edges drawn with probability proportional to 1/deg(u) + 1/deg(v), given as the inclusive
//           cumulative sum `edge_cdf` [E] in CSR order, taking both ends;
//   "rw":   batch_size uniform roots, each walking walk_length uniform steps along the CSR, taking every node.
//
// shadow_k_hop(rowptr, col, perm, roots, depth, num_neighbors, replace, seed)
//     -> (node_ptr [B+1], n_id, edge_ptr [B+1], edge_index [2, E'] (local inside its root's sub-graph), e_id)
//   shaDow-GNN's bounded scope (Zeng et al., 2021): for each root, `depth` hops of at most num_neighbors incoming
//   neighbours per node (-1: all), then the sub-graph induced on every node reached. The root is local node 0 of
//   its sub-graph, the others follow in order of discovery. Root i draws from its own generator (seed, i).
//
// Every op here returns a function of its inputs and seed only: threads split the items, never the draws.
// Bounds: node ids given by the caller are checked up front; CSR rows and entries as they are read (BadIndex).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../include/sampling.h"
#include "../include/validate.h"

namespace graphkit {
namespace sampler {

namespace {

at::Tensor long_tensor(const std::vector<int64_t>& v) {
  at::Tensor t = at::empty({(int64_t)v.size()}, at::TensorOptions().dtype(at::kLong));
  if (!v.empty()) std::memcpy(t.data_ptr<int64_t>(), v.data(), v.size() * sizeof(int64_t));
  return t;
}

// Numbers `nodes` 0..M-1 in the frontier's map; they must be in range (checked by the caller) and unique.
void add_unique(const char* op, Frontier& fr, const int64_t* nodes, int64_t M) {
  fr.n_id.reserve(M);
  for (int64_t i = 0; i < M; ++i) {
    const int64_t v = nodes[i];
    TORCH_CHECK_VALUE(fr.map[v] < 0, op, ": nodes[", i, "] = ", v, " repeats nodes[", fr.map[v],
                      "]; nodes must be unique");
    fr.local(v);
  }
}

void raise_bad(const char* op, const BadIndex& bad_row, const BadIndex& bad_col, const BadIndex* bad_perm,
               int64_t N, int64_t E) {
  TORCH_CHECK_VALUE(!bad_row.any(), op, ": rowptr must be non-decreasing in [0, ", E, "], but row ", bad_row.get(),
                    " is not");
  TORCH_CHECK_VALUE(!bad_col.any(), op, ": col has index ", bad_col.get(), " but num_nodes is ", N);
  TORCH_CHECK_VALUE(bad_perm == nullptr || !bad_perm->any(), op, ": perm has edge id ",
                    bad_perm ? bad_perm->get() : 0, " but there are ", E, " edges");
}

inline bool row_ok(const int64_t* rowptr, int64_t v, int64_t E) {
  const int64_t b = rowptr[v], e = rowptr[v + 1];
  return 0 <= b && b <= e && e <= E;
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor> induced_subgraph(const at::Tensor& rowptr_t, const at::Tensor& col_t,
                                                                const at::Tensor& perm_t, const at::Tensor& nodes_t) {
  static constexpr const char* op = "induced_subgraph";
  validate_csr_args(op, rowptr_t, col_t, &perm_t, nodes_t, "nodes");
  const at::Tensor rowptr_c = rowptr_t.contiguous(), col_c = col_t.contiguous(), perm_c = perm_t.contiguous(),
                   nodes_c = nodes_t.contiguous();
  const int64_t N = rowptr_c.numel() - 1, E = col_c.numel(), M = nodes_c.numel();
  check_node_ids(op, "nodes", nodes_c, N);
  const int64_t *rowptr = rowptr_c.data_ptr<int64_t>(), *col = col_c.data_ptr<int64_t>(),
                *perm = perm_c.data_ptr<int64_t>();
  Frontier fr(N);
  add_unique(op, fr, nodes_c.data_ptr<int64_t>(), M);
  const int32_t* map = fr.map.data();
  auto opts = at::TensorOptions().dtype(at::kLong);
  at::Tensor rowptr_sub = at::zeros({M + 1}, opts);
  int64_t* rp = rowptr_sub.data_ptr<int64_t>();
  BadIndex bad_row, bad_col, bad_perm;
  // (1) kept edges per target, (2) prefix sum, (3) fill the disjoint slices.
  at::parallel_for(0, M, 1024, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t v = fr.n_id[t];
      if (!row_ok(rowptr, v, E)) { bad_row.record(v); continue; }
      int64_t c = 0;
      for (int64_t j = rowptr[v]; j < rowptr[v + 1]; ++j) {
        const int64_t s = col[j];
        if (__builtin_expect(uint64_t(s) >= uint64_t(N), 0)) { bad_col.record(s); continue; }
        c += map[s] >= 0;
      }
      rp[t + 1] = c;
    }
  });
  raise_bad(op, bad_row, bad_col, nullptr, N, E);
  for (int64_t t = 0; t < M; ++t) rp[t + 1] += rp[t];
  const int64_t K = rp[M];
  at::Tensor col_sub = at::empty({K}, opts), e_id = at::empty({K}, opts);
  int64_t *cs = col_sub.data_ptr<int64_t>(), *es = e_id.data_ptr<int64_t>();
  at::parallel_for(0, M, 1024, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t v = fr.n_id[t];
      int64_t o = rp[t];
      for (int64_t j = rowptr[v]; j < rowptr[v + 1]; ++j) {
        const int32_t l = map[col[j]];
        if (l < 0) continue;
        int64_t e = perm[j];
        if (__builtin_expect(uint64_t(e) >= uint64_t(E), 0)) bad_perm.record(e), e = 0;
        cs[o] = l;
        es[o++] = e;
      }
    }
  });
  raise_bad(op, bad_row, bad_col, &bad_perm, N, E);
  return {rowptr_sub, col_sub, e_id};
}

at::Tensor saint_sample(const at::Tensor& rowptr_t, const at::Tensor& col_t, const c10::optional<at::Tensor>& cdf_t,
                        const std::string& kind, int64_t batch_size, int64_t walk_length, int64_t seed) {
  static constexpr const char* op = "saint_sample";
  validate_csr_args(op, rowptr_t, col_t, nullptr, rowptr_t, "rowptr");
  TORCH_CHECK_VALUE(kind == "node" || kind == "edge" || kind == "rw", op,
                    ": kind must be 'node', 'edge' or 'rw', got '", kind, "'");
  TORCH_CHECK_VALUE(batch_size >= 1 && batch_size <= (int64_t(1) << 31), op, ": batch_size must be in [1, 2^31], got ",
                    batch_size);
  TORCH_CHECK_VALUE(kind != "rw" || (walk_length >= 0 && walk_length <= (int64_t(1) << 16)), op,
                    ": walk_length must be in [0, 65536], got ", walk_length);
  const at::Tensor rowptr_c = rowptr_t.contiguous(), col_c = col_t.contiguous();
  const int64_t N = rowptr_c.numel() - 1, E = col_c.numel();
  TORCH_CHECK_VALUE(N >= 1, op, ": the graph has no nodes");
  TORCH_CHECK_VALUE(kind == "rw" || E >= 1, op, ": kind '", kind, "' draws edges but the graph has none");
  const int64_t *rowptr = rowptr_c.data_ptr<int64_t>(), *col = col_c.data_ptr<int64_t>();
  at::Tensor cdf_c;
  const double* cdf = nullptr;
  if (kind == "edge") {
    TORCH_CHECK_VALUE(cdf_t.has_value(), op, ": kind 'edge' needs edge_cdf");
    TORCH_CHECK_TYPE(cdf_t->scalar_type() == at::kDouble, op, ": edge_cdf must be float64, got ",
                     cdf_t->scalar_type());
    TORCH_CHECK_VALUE(cdf_t->dim() == 1 && cdf_t->numel() == E && cdf_t->device().is_cpu(), op,
                      ": edge_cdf must be a 1-D CPU tensor with one entry per edge (", E, "), got shape ",
                      cdf_t->sizes());
    cdf_c = cdf_t->contiguous();
    cdf = cdf_c.data_ptr<double>();
    TORCH_CHECK_VALUE(cdf[E - 1] > 0 && std::isfinite(cdf[E - 1]), op, ": edge_cdf must end at a positive finite "
                      "total, got ", cdf[E - 1]);
  }
  const int64_t per = kind == "node" ? 1 : kind == "edge" ? 2 : walk_length + 1;
  std::vector<int64_t> out(batch_size * per);
  BadIndex bad_row, bad_col;
  at::parallel_for(0, batch_size, 1024, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      Rng rng((uint64_t)seed, 1, (uint64_t)i);
      int64_t* o = out.data() + i * per;
      if (kind == "node") {
        o[0] = col[rng.below(E)];
      } else if (kind == "edge") {
        // inverse CDF: the first position whose cumulative weight exceeds u * total
        const double u = rng.uniform() * cdf[E - 1];
        const int64_t k = std::min<int64_t>(std::upper_bound(cdf, cdf + E, u) - cdf, E - 1);
        o[0] = col[k];
        o[1] = std::upper_bound(rowptr, rowptr + N + 1, k) - rowptr - 1;  // the row (target) holding position k
      } else {
        int64_t cur = rng.below(N);
        o[0] = cur;
        for (int64_t s = 0; s < walk_length; ++s) {
          if (!row_ok(rowptr, cur, E)) { bad_row.record(cur); o[s + 1] = cur; continue; }
          const int64_t b = rowptr[cur], d = rowptr[cur + 1] - b;
          if (d > 0) cur = col[b + rng.below(d)];
          o[s + 1] = cur;
        }
      }
      for (int64_t j = 0; j < per; ++j)
        if (__builtin_expect(uint64_t(o[j]) >= uint64_t(N), 0)) bad_col.record(o[j]), o[j] = 0;
    }
  });
  raise_bad(op, bad_row, bad_col, nullptr, N, E);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return long_tensor(out);
}

using Scopes = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

Scopes shadow_k_hop(const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& perm_t,
                    const at::Tensor& roots_t, int64_t depth, int64_t num_neighbors, bool replace, int64_t seed) {
  static constexpr const char* op = "shadow_k_hop";
  validate_csr_args(op, rowptr_t, col_t, &perm_t, roots_t, "roots");
  TORCH_CHECK_VALUE(depth >= 0 && depth <= 64, op, ": depth must be in [0, 64], got ", depth);
  TORCH_CHECK_VALUE(num_neighbors >= 1 || num_neighbors == -1, op, ": num_neighbors must be >= 1 or -1 (all), got ",
                    num_neighbors);
  TORCH_CHECK_VALUE(!replace || num_neighbors <= kMaxFanoutWithReplacement, op, ": num_neighbors is ",
                    num_neighbors, " with replace=True; at most ", kMaxFanoutWithReplacement);
  const at::Tensor rowptr_c = rowptr_t.contiguous(), col_c = col_t.contiguous(), perm_c = perm_t.contiguous(),
                   roots_c = roots_t.contiguous();
  const int64_t N = rowptr_c.numel() - 1, E = col_c.numel(), B = roots_c.numel();
  check_node_ids(op, "roots", roots_c, N);
  const int64_t *rowptr = rowptr_c.data_ptr<int64_t>(), *col = col_c.data_ptr<int64_t>(),
                *perm = perm_c.data_ptr<int64_t>(), *roots = roots_c.data_ptr<int64_t>();
  // One scope per root, built in parallel into its own vectors, then concatenated in root order.
  struct Scope { std::vector<int64_t> n_id, src, dst, eid; };
  std::vector<Scope> scopes(B);
  BadIndex bad_row, bad_col, bad_perm;
  at::parallel_for(0, B, 16, [&](int64_t lo, int64_t hi) {
    std::vector<int64_t> pos, scratch;
    for (int64_t i = lo; i < hi; ++i) {
      Rng rng((uint64_t)seed, 2, (uint64_t)i);
      Frontier fr(N);  // this thread's map, cleared when fr goes out of scope
      fr.local(roots[i]);
      int64_t fs = 0, fe = 1;
      for (int64_t h = 0; h < depth && fs < fe; ++h) {
        for (int64_t t = fs; t < fe; ++t) {
          const int64_t v = fr.n_id[t];
          if (!row_ok(rowptr, v, E)) { bad_row.record(v); continue; }
          const int64_t b = rowptr[v], d = rowptr[v + 1] - b, cnt = sample_count(d, num_neighbors, replace);
          if (cnt == 0) continue;
          pos.resize(cnt);
          sample_one(b, d, num_neighbors, replace, rng, pos.data(), scratch);
          for (int64_t j = 0; j < cnt; ++j) {
            const int64_t u = col[pos[j]];
            if (__builtin_expect(uint64_t(u) >= uint64_t(N), 0)) { bad_col.record(u); continue; }
            fr.local(u);
          }
        }
        fs = fe;
        fe = (int64_t)fr.n_id.size();
      }
      Scope& sc = scopes[i];
      const int64_t M = (int64_t)fr.n_id.size();
      for (int64_t t = 0; t < M; ++t) {  // the induced sub-graph, grouped by local target
        const int64_t v = fr.n_id[t];
        if (!row_ok(rowptr, v, E)) { bad_row.record(v); continue; }
        for (int64_t j = rowptr[v]; j < rowptr[v + 1]; ++j) {
          const int64_t s = col[j];
          if (__builtin_expect(uint64_t(s) >= uint64_t(N), 0)) { bad_col.record(s); continue; }
          const int32_t l = fr.map[s];
          if (l < 0) continue;
          int64_t e = perm[j];
          if (__builtin_expect(uint64_t(e) >= uint64_t(E), 0)) bad_perm.record(e), e = 0;
          sc.src.push_back(l);
          sc.dst.push_back(t);
          sc.eid.push_back(e);
        }
      }
      sc.n_id = fr.n_id;
    }
  });
  raise_bad(op, bad_row, bad_col, &bad_perm, N, E);
  auto opts = at::TensorOptions().dtype(at::kLong);
  at::Tensor node_ptr = at::zeros({B + 1}, opts), edge_ptr = at::zeros({B + 1}, opts);
  int64_t *np = node_ptr.data_ptr<int64_t>(), *ep = edge_ptr.data_ptr<int64_t>();
  for (int64_t i = 0; i < B; ++i) {
    np[i + 1] = np[i] + (int64_t)scopes[i].n_id.size();
    ep[i + 1] = ep[i] + (int64_t)scopes[i].eid.size();
  }
  at::Tensor n_id = at::empty({np[B]}, opts), edge_index = at::empty({2, ep[B]}, opts), e_id = at::empty({ep[B]}, opts);
  int64_t *ni = n_id.data_ptr<int64_t>(), *ei = edge_index.data_ptr<int64_t>(), *ee = e_id.data_ptr<int64_t>();
  const int64_t K = ep[B];
  at::parallel_for(0, B, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const Scope& sc = scopes[i];
      std::copy(sc.n_id.begin(), sc.n_id.end(), ni + np[i]);
      std::copy(sc.src.begin(), sc.src.end(), ei + ep[i]);
      std::copy(sc.dst.begin(), sc.dst.end(), ei + K + ep[i]);
      std::copy(sc.eid.begin(), sc.eid.end(), ee + ep[i]);
    }
  });
  return {node_ptr, n_id, edge_ptr, edge_index, e_id};
}

}  // namespace sampler
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) {
  m.impl("induced_subgraph", &graphkit::sampler::induced_subgraph);
  m.impl("saint_sample", &graphkit::sampler::saint_sample);
  m.impl("shadow_k_hop", &graphkit::sampler::shadow_k_hop);
}
