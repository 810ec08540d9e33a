// Typed multi-hop neighbour sampling on a HeteroGraph's relation-grouped CSR (the homogeneous sampler's twin:
// cpu/sample_neighbors.cpp; the shared primitives are in include/sampling.h).
//
// sample_neighbors_typed(rowptr, col, perm, seeds, node_ptr, edge_ptr, rel_row_off, rel_src_type, rel_dst_type,
//                        fanouts, replace, seed) -> (n_id [T], edge_index [R], e_id [R], nodes_per_hop, edges_per_hop)
//
// The graph is a HeteroGraph's relation-grouped CSR (HeteroGraph.relation_csr()): relation r's rows are
// rel_row_off[r] + (id of the target within its type), col holds global source ids, perm global edge ids.
// node_ptr [T+1] and edge_ptr [R+1] give each node type's and relation's global id range, rel_src_type and
// rel_dst_type [R] each relation's two end types, fanouts [L * R] the fan-out of relation r at hop h at
// fanouts[h * R + r] (-1: all, 0: none); seeds are global ids of any types.
// A frontier node v of type t draws, for each relation r into t in relation order, its own fan-out from row
// (r, v); the generator of (node, relation) is seeded from (seed, hop, local id * R + r), local ids numbering the
// nodes in order of first reach, so the result depends on the seed only, never on the thread count.
//
// The output is already the typed batch, so the caller only wraps it: n_id[t] the sampled nodes of type t (ids
// within the type) in order of first reach, seeds first in the order given; edge_index[r] [2, E_r] relation r's
// sampled edges in those per-type positions (row 0 sources, row 1 targets) and e_id[r] their ids within the
// relation, in sampling order (hop, then target, then draw); nodes_per_hop [L+1], edges_per_hop [L] over all types.
//
// Layout: each relation owns two growing columns (source, edge id) that become its output tensors without a
// copy, each type one column of ids. Per hop: (1) a serial pass gives every (frontier node, relation) pair its
// slice of its relation's columns, (2) the parallel draw fills the slices, writing each source as its position
// within its type when an earlier hop reached it (a read of the dense map from global id to that position), (3) a
// serial pass in (node, relation, draw) order numbers the sources first reached at this hop. (2) and (3) walk the
// pairs in blocks of ~64 edges, each block's random reads (col/perm lines, map entries) prefetched in a pass of
// their own before the pass that uses them, so their misses overlap: on ogbn-mag's shape this made a batch ~1.6x
// faster (benchmarks/RESULTS.md, "Typed neighbour sampling at larger scales"). The targets are known
// per pair and written once, at the end, into the second half of the grown source column. No global edge list is
// built and regrouped afterwards.
// col and perm entries are checked as they are read against the relation's own ranges: a source of the wrong type
// would be an out-of-range position in the batch.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <tuple>
#include <vector>

#include "../include/sampling.h"
#include "../include/validate.h"

#ifndef GK_TYPED_AHEAD
#define GK_TYPED_AHEAD 16
#endif
#ifndef GK_TYPED_BLOCK
#define GK_TYPED_BLOCK 64
#endif

namespace graphkit {
namespace sampler {

using TypedSampleResult = std::tuple<std::vector<at::Tensor>, std::vector<at::Tensor>, std::vector<at::Tensor>,
                                     at::Tensor, at::Tensor>;

// An int64 column that grows without zero-filling (every slot is written once) and hands its buffer to a tensor
// without a copy.
class Column {
 public:
  Column() = default;
  ~Column() { std::free(data_); }
  Column(const Column&) = delete;
  Column& operator=(const Column&) = delete;
  Column(Column&& o) noexcept : data_(o.data_), size_(o.size_), cap_(o.cap_) { o.data_ = nullptr, o.size_ = o.cap_ = 0; }
  int64_t size() const { return size_; }
  int64_t* data() const { return data_; }
  // Appends n uninitialised slots and returns the first; exact == false grows geometrically (one push per node),
  // exact == true to the size asked (a hop's edges: known up front, and no slack is left in the batch).
  // realloc of a large block remaps its pages rather than copying them.
  int64_t extend(int64_t n, bool exact) {
    const int64_t base = size_;
    if (base + n > cap_) reserve(exact ? base + n : std::max<int64_t>(base + n, 2 * cap_ + 16));
    size_ = base + n;
    return base;
  }
  // Room for n more values without moving the buffer again. An upper bound costs no memory beyond what is written:
  // the pages past it are never touched (geometric growth would hold the old and the new copy at its peak).
  void reserve_more(int64_t n) {
    if (size_ + n > cap_) reserve(size_ + n);
  }
  void push(int64_t v) {
    const int64_t i = extend(1, false);  // before reading data_: extend may move the buffer
    data_[i] = v;
  }
  // The values as a 1-D tensor that owns the buffer; the column is left empty.
  at::Tensor release() {
    if (size_ == 0) return at::empty({0}, at::kLong);
    reserve(size_);
    int64_t* p = data_;
    const int64_t n = size_;
    data_ = nullptr, size_ = cap_ = 0;
    return at::from_blob(p, {n}, [](void* q) { std::free(q); }, at::TensorOptions().dtype(at::kLong));
  }

 private:
  void reserve(int64_t cap) {
    if (cap == cap_) return;
    void* p = std::realloc(data_, std::max<int64_t>(cap, 1) * sizeof(int64_t));
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<int64_t*>(p), cap_ = cap;
  }
  int64_t* data_ = nullptr;
  int64_t size_ = 0, cap_ = 0;
};

struct TypedCsr {
  const int64_t *rowptr, *col, *perm;
  int64_t E;
  const int64_t *node_ptr, *edge_ptr, *rel_row_off, *rel_src, *rel_dst;
  int64_t T, R;
  std::vector<std::vector<int64_t>> rels_into;  // per node type, the relations that end there, in relation order
};

// The edges one (target, relation) pair drew: slots [slot, slot + cnt) of relation r's columns. Their targets are
// written from these once, at the end, straight into the output (no target column is kept while sampling).
struct Run {
  int64_t slot, cnt;
  int32_t target, r;  // a position within a type (< 2^31 nodes) and a relation
};

// The state of one call. The thread's dense map (Frontier) sends a reached global id to its position within its
// type, the one thing the relabel needs (a single lookup per edge); per local node (order of first reach): its
// type and position; per type its ids (the output n_id); per relation its source and edge-id columns.
struct TypedSample {
  Frontier fr;
  std::vector<int32_t> type;
  std::vector<int32_t> pos;  // < 2^31: the node count is checked
  std::vector<Column> n_id, src, eid;
  std::vector<Run> runs;
  TypedSample(int64_t N, int64_t T, int64_t R) : fr(N), n_id(T), src(R), eid(R) {}
  // position within type t of global node v (t's ids start at type_start), numbering it next if it is new
  inline int64_t reach(int64_t v, int32_t t, int64_t type_start) {
    int32_t& m = fr.map[v];
    if (m >= 0) return m;
    m = (int32_t)n_id[t].size();
    fr.n_id.push_back(v);
    type.push_back(t);
    pos.push_back(m);
    n_id[t].push(v - type_start);
    return m;
  }
};

static inline int64_t type_of(const TypedCsr& tg, int64_t v) {
  // node_ptr is sorted; types are few, so a linear scan from the back beats a binary search's branches
  int64_t t = tg.T - 1;
  while (t > 0 && tg.node_ptr[t] > v) --t;
  return t;
}

// One hop over the frontier, local ids [fs, fe); returns the number of edges it sampled.
static int64_t sample_hop_typed(const TypedCsr& tg, TypedSample& st, int64_t fs, int64_t fe, int64_t hop,
                                const int64_t* k, bool replace, int64_t seed) {
  const int64_t F = fe - fs, R = tg.R;
  const int64_t* gid = st.fr.n_id.data();
  // (1) pairs: node i's are pair_ptr[i] .. pair_ptr[i+1] (its type's relations in order); pair p draws cnt of the
  // deg edges at CSR positions begin.. into slots slot.. of relation r's columns. Every CSR row read is checked.
  struct Pair {
    int64_t begin, deg, slot, cnt, r, stream;  // stream: the generator's item, local id * R + r
  };
  std::vector<int64_t> pair_ptr(F + 1, 0);
  for (int64_t i = 0; i < F; ++i) pair_ptr[i + 1] = pair_ptr[i] + (int64_t)tg.rels_into[st.type[fs + i]].size();
  std::unique_ptr<Pair[]> pairs(new Pair[pair_ptr[F]]);  // every entry is written below: no zero-fill
  std::vector<int64_t> fill(R);
  for (int64_t r = 0; r < R; ++r) fill[r] = st.eid[r].size();
  constexpr int64_t kAhead = GK_TYPED_AHEAD;  // rows are random reads into a CSR far larger than the caches
  constexpr int64_t kBlockEdges = GK_TYPED_BLOCK;  // edges per block of the draw (2)
  for (int64_t i = 0; i < F; ++i) {
    if (i + kAhead < F) {
      const int64_t a = fs + i + kAhead, ta = st.type[a];
      for (int64_t r : tg.rels_into[ta]) __builtin_prefetch(tg.rowptr + tg.rel_row_off[r] + gid[a] - tg.node_ptr[ta]);
    }
    const int64_t local = fs + i, t = st.type[local], v = gid[local] - tg.node_ptr[t];
    Pair* pr = pairs.get() + pair_ptr[i];
    for (int64_t r : tg.rels_into[t]) {
      const int64_t row = tg.rel_row_off[r] + v;
      check_csr_row(tg.rowptr, row, tg.E);
      const int64_t begin = tg.rowptr[row], deg = tg.rowptr[row + 1] - begin, c = sample_count(deg, k[r], replace);
      *pr++ = Pair{begin, deg, fill[r], c, r, local * R + r};
      if (c) st.runs.push_back(Run{fill[r], c, (int32_t)st.pos[local], (int32_t)r});
      fill[r] += c;
    }
  }
  int64_t total = 0;
  std::vector<int64_t> hop_edges(R);  // this hop's edges per relation
  for (int64_t r = 0; r < R; ++r) {
    const int64_t n = hop_edges[r] = fill[r] - st.eid[r].size();
    total += n;
    TORCH_CHECK_VALUE(fill[r] <= kMaxSampledEdges, "sample_neighbors_typed: hop ", hop, " would sample ", n,
                      " edges of relation ", r, " (", fill[r], " in all); at most ", kMaxSampledEdges, " per call");
    st.src[r].extend(n, true), st.eid[r].extend(n, true);
  }
  // (2) the draws, in parallel: disjoint slices. A bad col/perm entry is recorded per relation, replaced by the
  // relation's first id, and raised below (never from inside the parallel region). Every col/perm/map read is a
  // cache miss on a large graph, so a thread's pairs go in blocks of about kBlockEdges edges through three passes,
  // each prefetching what the next one reads: (a) draw the positions (the generator only) and prefetch their
  // col/perm lines; (b) read col/perm, check them, prefetch the sources' map entries; (c) read the map. The
  // misses of a block overlap instead of each waiting its turn. The draws and what is written are those of a
  // single pass, so the batch does not change.
  std::unique_ptr<BadIndex[]> bad_col(new BadIndex[R]), bad_perm(new BadIndex[R]);
  const int32_t* map = st.fr.map.data();
  at::parallel_for(0, F, 512, [&](int64_t lo, int64_t hi) {
    std::vector<int64_t> scratch;
    const Pair* pr = pairs.get();
    const int64_t last = pair_ptr[hi];
    for (int64_t p0 = pair_ptr[lo]; p0 < last;) {
      int64_t p1 = p0;
      for (int64_t drawn = 0; p1 < last && drawn < kBlockEdges; ++p1) {  // (a)
        const Pair& q = pr[p1];
        if (q.cnt == 0) continue;
        int64_t* pos = st.eid[q.r].data() + q.slot;
        Rng rng((uint64_t)seed, (uint64_t)hop, (uint64_t)q.stream);
        sample_one(q.begin, q.deg, k[q.r], replace, rng, pos, scratch);
        if (q.cnt == q.deg) {  // the whole row: its lines, once each
          for (int64_t e = q.begin & ~int64_t(7); e < q.begin + q.deg; e += 8)
            __builtin_prefetch(tg.col + e), __builtin_prefetch(tg.perm + e);
        } else {
          for (int64_t j = 0; j < q.cnt; ++j) __builtin_prefetch(tg.col + pos[j]), __builtin_prefetch(tg.perm + pos[j]);
        }
        drawn += q.cnt;
      }
      for (int64_t p = p0; p < p1; ++p) {  // (b): src holds the global source, or -1 for a bad one
        const Pair& q = pr[p];
        const int64_t r = q.r, s_lo = tg.node_ptr[tg.rel_src[r]], s_n = tg.node_ptr[tg.rel_src[r] + 1] - s_lo;
        const int64_t e_lo = tg.edge_ptr[r], e_n = tg.edge_ptr[r + 1] - e_lo;
        int64_t *eid = st.eid[r].data() + q.slot, *src = st.src[r].data() + q.slot;
        for (int64_t j = 0; j < q.cnt; ++j) {
          const int64_t s = tg.col[eid[j]] - s_lo;
          int64_t e = tg.perm[eid[j]] - e_lo;
          if (__builtin_expect(uint64_t(e) >= uint64_t(e_n), 0)) bad_perm[r].record(e + e_lo), e = 0;
          eid[j] = e;
          if (__builtin_expect(uint64_t(s) >= uint64_t(s_n), 0)) {
            bad_col[r].record(s + s_lo), src[j] = -1;  // raised before the relabel reads it
            continue;
          }
          src[j] = s + s_lo;
          __builtin_prefetch(map + s + s_lo);
        }
      }
      for (int64_t p = p0; p < p1; ++p) {  // (c)
        const Pair& q = pr[p];
        int64_t* src = st.src[q.r].data() + q.slot;
        for (int64_t j = 0; j < q.cnt; ++j) {
          // a source reached at an earlier hop already has its position (the map is only read here); a new one
          // stays ~global id for the serial pass to number
          const int64_t g = src[j];
          if (__builtin_expect(g < 0, 0)) continue;
          const int32_t m = map[g];
          src[j] = m >= 0 ? m : ~g;
        }
      }
      p0 = p1;
    }
  });
  for (int64_t r = 0; r < R; ++r) {
    const int64_t ts = tg.rel_src[r];
    TORCH_CHECK_VALUE(!bad_col[r].any(), "sample_neighbors_typed: col has index ", bad_col[r].get(), " in relation ",
                      r, ", whose source type ", ts, " holds the global ids [", tg.node_ptr[ts], ", ",
                      tg.node_ptr[ts + 1], ")");
    TORCH_CHECK_VALUE(!bad_perm[r].any(), "sample_neighbors_typed: perm has edge id ", bad_perm[r].get(),
                      " in relation ", r, ", which holds the edge ids [", tg.edge_ptr[r], ", ", tg.edge_ptr[r + 1],
                      ")");
  }
  // (3) serial, in (node, relation, draw) order: the sources first reached at this hop are numbered, in order of
  // first appearance (each of their appearances was left ~global id by the draw, so this equals a sequential
  // relabel of every edge, and does not depend on the threads). At most one new node per edge: room for that
  // many up front, so the per-node arrays never grow by copying (their peak stays what they hold).
  {
    std::vector<int64_t> per_type(tg.T, 0);
    for (int64_t r = 0; r < R; ++r) per_type[tg.rel_src[r]] += hop_edges[r];
    for (int64_t t = 0; t < tg.T; ++t) st.n_id[t].reserve_more(per_type[t]);
    const size_t most = st.fr.n_id.size() + (size_t)total;
    st.fr.n_id.reserve(most), st.type.reserve(most), st.pos.reserve(most);
  }
  // Blocks of about kBlockEdges edges: the map entries of a block's new sources are prefetched first (random
  // reads, the pass's misses), then numbered.
  const Pair* pr = pairs.get();
  const int64_t P = pair_ptr[F];
  for (int64_t p0 = 0; p0 < P;) {
    int64_t p1 = p0;
    for (int64_t seen = 0; p1 < P && seen < kBlockEdges; ++p1) {
      const Pair& q = pr[p1];
      const int64_t* src = st.src[q.r].data() + q.slot;
      for (int64_t j = 0; j < q.cnt; ++j)
        if (src[j] < 0) __builtin_prefetch(map + ~src[j]);
      seen += q.cnt;
    }
    for (int64_t p = p0; p < p1; ++p) {
      const Pair& q = pr[p];
      const int32_t ts = (int32_t)tg.rel_src[q.r];
      const int64_t s_lo = tg.node_ptr[ts];
      int64_t* src = st.src[q.r].data() + q.slot;
      for (int64_t j = 0; j < q.cnt; ++j)
        if (src[j] < 0) src[j] = st.reach(~src[j], ts, s_lo);
    }
    p0 = p1;
  }
  return total;
}

// The checks of the typed structure; rowptr's interior and the col/perm entries are checked as they are read.
static void validate_typed(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& perm,
                           const at::Tensor& seeds, const at::Tensor& node_ptr, const at::Tensor& edge_ptr,
                           const at::Tensor& rel_row_off, const at::Tensor& rel_src_type,
                           const at::Tensor& rel_dst_type, at::IntArrayRef fanouts, bool replace) {
  for (const auto& pair : {std::make_pair("node_ptr", &node_ptr), std::make_pair("edge_ptr", &edge_ptr),
                           std::make_pair("rel_row_off", &rel_row_off), std::make_pair("rel_src_type", &rel_src_type),
                           std::make_pair("rel_dst_type", &rel_dst_type)}) {
    TORCH_CHECK_TYPE(pair.second->scalar_type() == at::kLong && pair.second->dim() == 1 &&
                         pair.second->device().is_cpu(),
                     "sample_neighbors_typed: ", pair.first, " must be a 1-D int64 CPU tensor");
  }
  validate_sample_neighbors(rowptr, col, perm, seeds, fanouts, replace);  // dtypes, rowptr's ends, each fan-out
  const int64_t T = node_ptr.numel() - 1, R = rel_dst_type.numel();
  TORCH_CHECK_VALUE(T >= 1, "sample_neighbors_typed: node_ptr needs at least 2 entries (one node type)");
  TORCH_CHECK_VALUE(R >= 1 && rel_src_type.numel() == R, "sample_neighbors_typed: rel_src_type has ",
                    rel_src_type.numel(), " entries and rel_dst_type ", R, "; one per relation, at least one");
  for (const auto& pair : {std::make_pair("rel_row_off", &rel_row_off), std::make_pair("edge_ptr", &edge_ptr)})
    TORCH_CHECK_VALUE(pair.second->numel() == R + 1, "sample_neighbors_typed: ", pair.first, " has ",
                      pair.second->numel(), " entries but there are ", R, " relations");
  TORCH_CHECK_VALUE((int64_t)fanouts.size() % R == 0, "sample_neighbors_typed: fanouts has ", fanouts.size(),
                    " entries, not a multiple of the ", R, " relations");
  const at::Tensor np_c = node_ptr.contiguous(), ep_c = edge_ptr.contiguous(), ro_c = rel_row_off.contiguous(),
                   rs_c = rel_src_type.contiguous(), rd_c = rel_dst_type.contiguous();
  const int64_t *np = np_c.data_ptr<int64_t>(), *ep = ep_c.data_ptr<int64_t>(), *ro = ro_c.data_ptr<int64_t>(),
                *rs = rs_c.data_ptr<int64_t>(), *rd = rd_c.data_ptr<int64_t>();
  TORCH_CHECK_VALUE(np[0] == 0, "sample_neighbors_typed: node_ptr[0] must be 0, got ", np[0]);
  TORCH_CHECK_VALUE(np[T] < int64_t(std::numeric_limits<int32_t>::max()), "sample_neighbors_typed: ", np[T],
                    " nodes; at most 2^31 - 1");
  for (int64_t t = 0; t < T; ++t)
    TORCH_CHECK_VALUE(np[t] <= np[t + 1], "sample_neighbors_typed: node_ptr must be non-decreasing, but node_ptr[",
                      t, "] = ", np[t], " and node_ptr[", t + 1, "] = ", np[t + 1]);
  TORCH_CHECK_VALUE(ep[0] == 0 && ep[R] == col.numel(), "sample_neighbors_typed: edge_ptr must run from 0 to the ",
                    col.numel(), " edges, got ", ep[0], " .. ", ep[R]);
  TORCH_CHECK_VALUE(ro[0] == 0 && ro[R] == rowptr.numel() - 1, "sample_neighbors_typed: rel_row_off must run from "
                    "0 to the ", rowptr.numel() - 1, " CSR rows, got ", ro[0], " .. ", ro[R]);
  for (int64_t r = 0; r < R; ++r) {
    TORCH_CHECK_VALUE(ep[r] <= ep[r + 1], "sample_neighbors_typed: edge_ptr must be non-decreasing, but edge_ptr[",
                      r, "] = ", ep[r], " and edge_ptr[", r + 1, "] = ", ep[r + 1]);
    for (const auto& pair : {std::make_pair("rel_src_type", rs[r]), std::make_pair("rel_dst_type", rd[r])})
      TORCH_CHECK_VALUE(0 <= pair.second && pair.second < T, "sample_neighbors_typed: ", pair.first, "[", r, "] is ",
                        pair.second, " but there are ", T, " node types");
    TORCH_CHECK_VALUE(ro[r] <= ro[r + 1] && ro[r + 1] - ro[r] == np[rd[r] + 1] - np[rd[r]],
                      "sample_neighbors_typed: relation ", r, " has ", ro[r + 1] - ro[r],
                      " CSR rows but its target type has ", np[rd[r] + 1] - np[rd[r]], " nodes");
  }
}

TypedSampleResult sample_neighbors_typed(const at::Tensor& rowptr_t, const at::Tensor& col_t,
                                         const at::Tensor& perm_t, const at::Tensor& seeds_t,
                                         const at::Tensor& node_ptr_t, const at::Tensor& edge_ptr_t,
                                         const at::Tensor& rel_row_off_t, const at::Tensor& rel_src_type_t,
                                         const at::Tensor& rel_dst_type_t, at::IntArrayRef fanouts, bool replace,
                                         int64_t seed) {
  validate_typed(rowptr_t, col_t, perm_t, seeds_t, node_ptr_t, edge_ptr_t, rel_row_off_t, rel_src_type_t,
                 rel_dst_type_t, fanouts, replace);
  const at::Tensor rowptr_c = rowptr_t.contiguous(), col_c = col_t.contiguous(), perm_c = perm_t.contiguous(),
                   seeds_c = seeds_t.contiguous(), np_c = node_ptr_t.contiguous(), ep_c = edge_ptr_t.contiguous(),
                   ro_c = rel_row_off_t.contiguous(), rs_c = rel_src_type_t.contiguous(),
                   rd_c = rel_dst_type_t.contiguous();
  const int64_t T = np_c.numel() - 1, R = rd_c.numel(), L = (int64_t)fanouts.size() / R;
  TypedCsr tg{rowptr_c.data_ptr<int64_t>(), col_c.data_ptr<int64_t>(), perm_c.data_ptr<int64_t>(), col_c.numel(),
              np_c.data_ptr<int64_t>(), ep_c.data_ptr<int64_t>(), ro_c.data_ptr<int64_t>(),
              rs_c.data_ptr<int64_t>(), rd_c.data_ptr<int64_t>(), T, R, std::vector<std::vector<int64_t>>(T)};
  for (int64_t r = 0; r < R; ++r) tg.rels_into[tg.rel_dst[r]].push_back(r);
  const int64_t N = tg.node_ptr[T], B = seeds_c.numel();
  TypedSample st(N, T, R);
  const int64_t* seeds = seeds_c.data_ptr<int64_t>();
  st.fr.n_id.reserve(B * 4);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t v = seeds[i];
    TORCH_CHECK_VALUE(v >= 0 && v < N, "sample_neighbors_typed: seeds[", i, "] is ", v, " but num_nodes is ", N);
    if (st.fr.map[v] >= 0) {  // the map holds positions within types, so find the first occurrence
      const int64_t first = std::find(seeds, seeds + i, v) - seeds;
      TORCH_CHECK_VALUE(false, "sample_neighbors_typed: seeds[", i, "] = ", v, " repeats seeds[", first,
                        "]; seeds must be unique");
    }
    const int64_t t = type_of(tg, v);
    st.reach(v, (int32_t)t, tg.node_ptr[t]);
  }
  std::vector<int64_t> nodes_per_hop{B}, edges_per_hop;
  int64_t fs = 0, fe = B;
  for (int64_t h = 0; h < L; ++h) {
    edges_per_hop.push_back(sample_hop_typed(tg, st, fs, fe, h, fanouts.data() + h * R, replace, seed));
    nodes_per_hop.push_back((int64_t)st.fr.n_id.size() - fe);
    fs = fe;
    fe = (int64_t)st.fr.n_id.size();
  }
  // edge_index[r] is [sources | targets]: the source column grown to twice its length, its second half filled
  // from the runs (each run's target, repeated)
  std::vector<int64_t> num_edges(R);
  for (int64_t r = 0; r < R; ++r) num_edges[r] = st.src[r].size(), st.src[r].extend(num_edges[r], true);
  for (const Run& run : st.runs)
    std::fill_n(st.src[run.r].data() + num_edges[run.r] + run.slot, run.cnt, run.target);
  std::vector<at::Tensor> n_id, edge_index, e_id;
  for (int64_t t = 0; t < T; ++t) n_id.push_back(st.n_id[t].release());
  for (int64_t r = 0; r < R; ++r) {
    edge_index.push_back(st.src[r].release().view({2, num_edges[r]}));
    e_id.push_back(st.eid[r].release());
  }
  auto to_tensor = [](const std::vector<int64_t>& v) {
    return at::tensor(at::ArrayRef<int64_t>(v), at::TensorOptions().dtype(at::kLong));
  };
  return {n_id, edge_index, e_id, to_tensor(nodes_per_hop), to_tensor(edges_per_hop)};
}

}  // namespace sampler
}  // namespace graphkit

TORCH_LIBRARY_IMPL(graphkit, CPU, m) {
  m.impl("sample_neighbors_typed", &graphkit::sampler::sample_neighbors_typed);
}
