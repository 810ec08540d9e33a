// Random walks on a CSR (row -> col), uniform or node2vec-biased.
//
// random_walk(rowptr, col, start, walk_length, p, q, seed) -> (node_seq [B, L+1], pos_seq [B, L])
//
// Walk i starts at start[i] and takes walk_length steps. pos_seq holds the CSR position of each step's edge (the
// caller maps it to an edge id through the CSR's perm); a walk at a node without out-edges stays there and
// records -1, as torch-cluster's random_walk does.
//
// p == q == 1: each step picks a uniform neighbour. Otherwise node2vec's second-order walk (Grover & Leskovec,
// 2016): from cur, having come from prev, neighbour x has weight 1/p if x == prev, 1 if x is a neighbour of prev,
// 1/q otherwise. Drawn by rejection (as KnightKing and torch-cluster do): propose a uniform neighbour x, accept
// it with probability weight(x) / max(1/p, 1, 1/q); the test "x is a neighbour of prev" is a binary search in
// prev's row, so the rows must be sorted by column (graphkit.loader.random_walk builds such a CSR once per graph).
// The expected number of proposals per step is at most max(1/p, 1, 1/q) / min(1/p, 1, 1/q).
//
// Reproducibility: walk i draws from its own generator seeded from (seed, i), so the output depends on the seed
// only, never on the number of threads. Walks run in parallel; each CSR row is checked as it is read.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../include/sampling.h"
#include "../include/validate.h"

namespace graphkit {
namespace sampler {

static constexpr const char* kWalkOp = "random_walk";

// Is x in the sorted row [b, e) of col?
static inline bool in_row(const int64_t* col, int64_t b, int64_t e, int64_t x) {
  if (e - b <= 8) {  // short rows: a scan beats the branchy search
    for (int64_t j = b; j < e; ++j) if (col[j] == x) return true;
    return false;
  }
  return std::binary_search(col + b, col + e, x);
}

std::tuple<at::Tensor, at::Tensor> random_walk(const at::Tensor& rowptr_t, const at::Tensor& col_t,
                                               const at::Tensor& start_t, int64_t walk_length, double p, double q,
                                               int64_t seed) {
  validate_csr_args(kWalkOp, rowptr_t, col_t, nullptr, start_t, "start");
  TORCH_CHECK_VALUE(walk_length >= 0, "random_walk: walk_length must be >= 0, got ", walk_length);
  TORCH_CHECK_VALUE(p > 0 && std::isfinite(p), "random_walk: p must be a positive finite number, got ", p);
  TORCH_CHECK_VALUE(q > 0 && std::isfinite(q), "random_walk: q must be a positive finite number, got ", q);
  const at::Tensor rowptr_c = rowptr_t.contiguous(), col_c = col_t.contiguous(), start_c = start_t.contiguous();
  const int64_t N = rowptr_c.numel() - 1, E = col_c.numel(), B = start_c.numel();
  check_node_ids(kWalkOp, "start", start_c, N);
  TORCH_CHECK_VALUE(B == 0 || walk_length < (int64_t(1) << 40) / B, "random_walk: ", B, " walks of length ",
                    walk_length, " are too many steps for one call");
  const int64_t* rowptr = rowptr_c.data_ptr<int64_t>();
  const int64_t* col = col_c.data_ptr<int64_t>();
  const int64_t* start = start_c.data_ptr<int64_t>();
  auto opts = at::TensorOptions().dtype(at::kLong);
  at::Tensor nodes_t = at::empty({B, walk_length + 1}, opts), pos_t = at::empty({B, walk_length}, opts);
  int64_t* nodes = nodes_t.data_ptr<int64_t>();
  int64_t* pos = pos_t.data_ptr<int64_t>();
  const bool biased = !(p == 1.0 && q == 1.0);
  const double max_w = std::max({1.0 / p, 1.0, 1.0 / q});
  const double accept_back = (1.0 / p) / max_w, accept_near = 1.0 / max_w, accept_far = (1.0 / q) / max_w;
  BadIndex bad_row, bad_col;
  // Walks advance in groups of kGroup, one step of the whole group at a time, in two phases: (A) read each walk's
  // row and draw its edge, prefetching the column entry; (B) read the column, prefetching the next row. Every
  // read is a cache miss on a large graph; a group keeps kGroup of them in flight instead of one (the walk is
  // latency-bound, not bandwidth-bound). Each walk's draws come from its own generator in the same order as a
  // walk run alone, so the grouping changes nothing in the output.
  constexpr int64_t kGroup = 16;
  at::parallel_for(0, B, 256, [&](int64_t lo, int64_t hi) {
    for (int64_t g0 = lo; g0 < hi; g0 += kGroup) {
      const int64_t n = std::min(kGroup, hi - g0);
      Rng rng[kGroup];
      int64_t cur[kGroup], prev[kGroup], pb[kGroup], pe[kGroup], rb[kGroup], re[kGroup], k[kGroup];
      bool dead[kGroup];  // a corrupt row was met: the walk stays where it is
      for (int64_t j = 0; j < n; ++j) {
        rng[j] = Rng((uint64_t)seed, 0, (uint64_t)(g0 + j));
        cur[j] = start[g0 + j], prev[j] = -1, pb[j] = pe[j] = 0, dead[j] = false;
        nodes[(g0 + j) * (walk_length + 1)] = cur[j];
      }
      for (int64_t s = 0; s < walk_length; ++s) {
        for (int64_t j = 0; j < n; ++j) {  // (A) the row and the first proposal
          k[j] = -1;
          if (dead[j]) continue;
          const int64_t b = rowptr[cur[j]], e = rowptr[cur[j] + 1];
          if (__builtin_expect(!(0 <= b && b <= e && e <= E), 0)) {  // corrupt rowptr: raise below
            bad_row.record(cur[j]);
            dead[j] = true;
            continue;
          }
          rb[j] = b, re[j] = e;
          if (e > b) {
            k[j] = b + rng[j].below(e - b);
            __builtin_prefetch(col + k[j]);
          }
        }
        for (int64_t j = 0; j < n; ++j) {  // (B) node2vec's acceptance test, the column, the next row
          int64_t kk = k[j];
          if (kk >= 0 && biased && prev[j] >= 0) {
            for (;;) {  // rejection: accept the proposal by its node2vec weight, else propose again
              const int64_t x = col[kk];
              const double r = rng[j].uniform();
              if (x == prev[j]) { if (r < accept_back) break; }
              else if (in_row(col, pb[j], pe[j], x)) { if (r < accept_near) break; }
              else if (r < accept_far) break;
              kk = rb[j] + rng[j].below(re[j] - rb[j]);
            }
          }
          int64_t nxt = cur[j];
          if (kk >= 0) {
            nxt = col[kk];
            if (__builtin_expect(uint64_t(nxt) >= uint64_t(N), 0)) {
              bad_col.record(nxt);
              nxt = cur[j], kk = -1;
            }
          }
          pos[(g0 + j) * walk_length + s] = kk;
          nodes[(g0 + j) * (walk_length + 1) + s + 1] = nxt;
          if (kk >= 0) prev[j] = cur[j], pb[j] = rb[j], pe[j] = re[j];
          cur[j] = nxt;
          __builtin_prefetch(rowptr + nxt);
        }
      }
    }
  });
  TORCH_CHECK_VALUE(!bad_row.any(), "random_walk: rowptr must be non-decreasing in [0, ", E, "], but row ",
                    bad_row.get(), " is not");
  TORCH_CHECK_VALUE(!bad_col.any(), "random_walk: col has index ", bad_col.get(), " but num_nodes is ", N);
  return {nodes_t, pos_t};
}

}  // namespace sampler
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) { m.impl("random_walk", &graphkit::sampler::random_walk); }
