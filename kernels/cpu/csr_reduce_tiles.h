// Register-tile inner loops of the CPU csr_reduce: one row's edges reduced over a tile of V vectors of 32 bytes
// (8 float32 or 4 float64 per vector) of the feature row, the accumulator held in registers.
//
// Why registers: the cost of a row walk is the random gathers x[col[k]]. The out-of-order core overlaps as many
// of them as its reorder window holds, so every instruction per edge counts; an accumulator in memory (a load and
// a store per vector per edge) measured 2x slower at F=64 than one in registers. A row is cut into tiles of 8,
// 4, 2 and 1 vectors and a scalar tail (for_tiles), each tile a full pass over the row's edges, whose indices are
// then L1 hits. GCC vector extensions keep this portable: they compile to SSE2 in the default entry point and to
// AVX2 in the one built with target("avx2,fma").
#pragma once

#include <ATen/Parallel.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../include/validate.h"

namespace graphkit {
namespace tiles {

constexpr int64_t kGatherAhead = 8;  // edges ahead whose source tile is prefetched

#define GK_INLINE __attribute__((always_inline)) inline

template <typename scalar_t>
constexpr int64_t lanes() {
  return 32 / int64_t(sizeof(scalar_t));
}

// Calls body(std::integral_constant<int, V>, f) for the tiles of a row of `width` elements: V = 8, 4, 2, 1
// vectors, then V = 0 for the scalar tail at f (fewer than one vector's worth).
template <typename scalar_t, typename Body>
GK_INLINE void for_tiles(int64_t width, const Body& body) {
  constexpr int64_t L = lanes<scalar_t>();
  int64_t f = 0;
  for (; f + 8 * L <= width; f += 8 * L) body(std::integral_constant<int, 8>{}, f);
  if (f + 4 * L <= width) {
    body(std::integral_constant<int, 4>{}, f);
    f += 4 * L;
  }
  if (f + 2 * L <= width) {
    body(std::integral_constant<int, 2>{}, f);
    f += 2 * L;
  }
  if (f + L <= width) {
    body(std::integral_constant<int, 1>{}, f);
    f += L;
  }
  if (f < width) body(std::integral_constant<int, 0>{}, f);
}

template <typename scalar_t>
GK_INLINE void prefetch_tile(const scalar_t* p, int bytes) {
  const char* c = reinterpret_cast<const char*>(p);
  for (int j = 0; j < bytes; j += 64) __builtin_prefetch(c + j, 0, 3);
}

// Where the edges of a row read: x row col[k] (row k without col: segment) at element offset `off`, rows `stride`
// apart; weight w[eid[k] * H + h] (w[k * H + h] without eid). The null checks are branches that never change
// direction within a call, which the predictor makes free.
//
// The bounds of col are checked here, as each index is read for its gather, instead of in a separate pass over
// col before the kernel: that pass cost 5% of a sum at F=64. A bad index is recorded in *bad and its edge
// skipped, so nothing outside x is read; csr_reduce raises after the kernel. Prefetches use indices unchecked,
// which is safe: a prefetch never faults.
template <typename scalar_t, typename index_t, bool Weighted>
struct Gather {
  const index_t* col;
  const index_t* eid;
  const scalar_t* w;
  const scalar_t* x;
  int64_t stride, H, h, num_src;
  BadIndex* bad;

  GK_INLINE int64_t src(int64_t k) const { return col ? int64_t(col[k]) : k; }
  GK_INLINE const scalar_t* row(int64_t k, int64_t off) const { return x + src(k) * stride + off; }
  // the row to gather for edge k, or nullptr (recorded) when its index is out of range
  GK_INLINE const scalar_t* checked_row(int64_t k, int64_t off) const {
    const int64_t s = src(k);
    if (__builtin_expect(uint64_t(s) >= uint64_t(num_src), 0)) {
      bad->record(s);
      return nullptr;
    }
    return x + s * stride + off;
  }
  GK_INLINE scalar_t weight(int64_t k) const {
    return Weighted ? w[(eid ? int64_t(eid[k]) : k) * H + h] : scalar_t(1);
  }
};

// What a sum's output tile gets on its way out, while it is still in registers (graphkit.ops.spmm's epilogue:
// GCN's self-loop term, bias and activation): o = act(scale * acc + d * self[0, n) + bias[0, n)). self (x's row of
// the target, at the tile's offset) and bias are null when absent. Each was a separate pass over the N x F output.
template <typename scalar_t>
struct Epilogue {
  const scalar_t* self;
  scalar_t d;
  const scalar_t* bias;
  bool relu;
};

// o[0, n) = scale * sum_{k in [b, e)} w_k x[col[k]][off, off + n), n = V vectors (or the tail's n < one vector
// when V = 0), then the epilogue when Epi. Sources are prefetched kGatherAhead edges ahead up to edge ahead_end:
// e, or past the row (the next rows' first edges) when the tile is the whole row. Rows have ~10 edges in a typical
// graph, so stopping at e left the first kGatherAhead gathers of every row unprefetched.
template <int V, bool Epi, typename scalar_t, typename G>
GK_INLINE void sum_tile(const G& g, scalar_t* o, int64_t b, int64_t e, int64_t ahead_end, int64_t off, int64_t n,
                        scalar_t scale, const Epilogue<scalar_t>& ep) {
  constexpr int L = int(lanes<scalar_t>());
  if constexpr (V == 0) {
    scalar_t acc[L] = {};
    for (int64_t k = b; k < e; ++k) {
      const scalar_t* xs = g.checked_row(k, off);
      if (xs == nullptr) continue;
      const scalar_t ww = g.weight(k);
      for (int64_t i = 0; i < n; ++i) acc[i] += ww * xs[i];
    }
    for (int64_t i = 0; i < n; ++i) {
      scalar_t r = acc[i] * scale;
      if constexpr (Epi) {
        if (ep.self) r += ep.d * ep.self[i];
        if (ep.bias) r += ep.bias[i];
        if (ep.relu) r = r < scalar_t(0) ? scalar_t(0) : r;  // NaN stays NaN, as torch.relu
      }
      o[i] = r;
    }
  } else {
    typedef scalar_t vec __attribute__((vector_size(32)));
    vec acc[V];
    for (int j = 0; j < V; ++j) acc[j] = vec{};
    for (int64_t k = b; k < e; ++k) {
      if (k + kGatherAhead < ahead_end) prefetch_tile(g.row(k + kGatherAhead, off), V * 32);
      const scalar_t* xs = g.checked_row(k, off);
      if (xs == nullptr) continue;
      const scalar_t ww = g.weight(k);
      for (int j = 0; j < V; ++j) {
        vec v;
        __builtin_memcpy(&v, xs + j * L, 32);  // an unaligned vector load
        acc[j] += ww * v;                      // ww is 1 unweighted: folded away
      }
    }
    for (int j = 0; j < V; ++j) {
      vec r = acc[j] * scale;
      if constexpr (Epi) {
        vec t;
        if (ep.self) __builtin_memcpy(&t, ep.self + j * L, 32), r += ep.d * t;
        if (ep.bias) __builtin_memcpy(&t, ep.bias + j * L, 32), r += t;
        if (ep.relu) r = r < vec{} ? vec{} : r;  // NaN stays NaN, as torch.relu
      }
      __builtin_memcpy(o + j * L, &r, 32);
    }
  }
}

// Max (IsMax) or min of w_k x[col[k]][off, off + n) over k in [b, e) into o, and into a the CSR position k of
// the edge picked. NaN semantics are torch's amax/amin (and the torch and CUDA paths'): a NaN wins over every
// number and the first NaN wins over later ones, so a row containing NaN gives NaN with its arg at the first NaN
// (its gradient goes there). Otherwise strict comparison: ties keep the earliest edge. A row of only -inf (max)
// or +inf (min) keeps that value with arg = its first edge, so its gradient is not dropped. The position is kept
// relative to b in lanes as wide as the scalar (int32 for float32), so it needs e - b < 2^31 for float32
// (csr_reduce checks).
//
// NanAware: "v wins" is !(v <= acc) && acc == acc for max: true when v is greater or v is NaN, false once acc is
// NaN. That costs a second compare and an and per vector per edge, which measured 6% on a compiled max forward at
// F=64 (the loop is bound by the gathers, but not only by them). csr_reduce therefore scans x and the weights for
// NaN once per call (nan_free below) and runs the NaN-blind v > acc when no product w_k x can be NaN; both compares
// pick the same edge on NaN-free input (strict, ties keep the earliest, all -inf keeps the first edge).
template <int V, bool IsMax, bool NanAware, typename scalar_t, typename G>
GK_INLINE void select_tile(const G& g, scalar_t* o, int64_t* a, int64_t b, int64_t e, int64_t off, int64_t n) {
  constexpr int L = int(lanes<scalar_t>());
  constexpr scalar_t init = IsMax ? -std::numeric_limits<scalar_t>::infinity()
                                  : std::numeric_limits<scalar_t>::infinity();
  if constexpr (V == 0) {
    scalar_t acc[L];
    int64_t am[L];
    for (int64_t i = 0; i < n; ++i) acc[i] = init, am[i] = -1;
    for (int64_t k = b; k < e; ++k) {
      const scalar_t* xs = g.checked_row(k, off);
      if (xs == nullptr) continue;
      const scalar_t ww = g.weight(k);
      for (int64_t i = 0; i < n; ++i) {
        const scalar_t v = ww * xs[i];
        const bool better = NanAware ? (IsMax ? !(v <= acc[i]) : !(v >= acc[i])) && acc[i] == acc[i]
                                     : (IsMax ? v > acc[i] : v < acc[i]);
        acc[i] = better ? v : acc[i];
        am[i] = better ? k : am[i];
      }
    }
    for (int64_t i = 0; i < n; ++i) o[i] = acc[i], a[i] = am[i] < 0 ? b : am[i];  // all +-inf: the first edge
  } else {
    using lane_t = std::conditional_t<sizeof(scalar_t) == 4, int32_t, int64_t>;
    typedef scalar_t vec __attribute__((vector_size(32)));
    typedef lane_t ivec __attribute__((vector_size(32)));
    vec acc[V];
    ivec am[V];
    for (int j = 0; j < V; ++j) acc[j] = vec{} + init, am[j] = ivec{} - 1;
    for (int64_t k = b; k < e; ++k) {
      if (k + kGatherAhead < e) prefetch_tile(g.row(k + kGatherAhead, off), V * 32);
      const scalar_t* xs = g.checked_row(k, off);
      if (xs == nullptr) continue;
      const scalar_t ww = g.weight(k);
      const ivec kk = ivec{} + lane_t(k - b);
      for (int j = 0; j < V; ++j) {
        vec v;
        __builtin_memcpy(&v, xs + j * L, 32);
        v = ww * v;
        ivec better;  // all-ones: v wins
        if constexpr (NanAware) better = (IsMax ? ~(v <= acc[j]) : ~(v >= acc[j])) & (acc[j] == acc[j]);
        else better = IsMax ? v > acc[j] : v < acc[j];
        acc[j] = better ? v : acc[j];
        am[j] = better ? kk : am[j];
      }
    }
    for (int j = 0; j < V; ++j) {
      __builtin_memcpy(o + j * L, &acc[j], 32);
      for (int i = 0; i < L; ++i) a[j * L + i] = am[j][i] < 0 ? b : b + int64_t(am[j][i]);  // all +-inf: first edge
    }
  }
}

// True when p[0, n) holds no NaN (and, with no_inf, no +-inf either): one parallel streaming pass, a few percent
// of a max/min's cost since it reads x once, not once per edge. A product w * x is NaN only when a factor is NaN
// or an infinity meets a zero, so the caller asks for no_inf on both factors when there are weights.
template <typename scalar_t>
bool nan_free(const scalar_t* p, int64_t n, bool no_inf) {
  // 16-byte vectors: SSE2 in every build, and a streaming pass is bound by memory, not by the vector width.
  typedef scalar_t vec __attribute__((vector_size(16)));
  constexpr int64_t L = 16 / int64_t(sizeof(scalar_t));
  std::atomic<bool> bad{false};
  at::parallel_for(0, n, int64_t(1) << 16, [&](int64_t lo, int64_t hi) {
    if (bad.load(std::memory_order_relaxed)) return;
    // x - x is NaN exactly when x is NaN or infinite; x != x exactly when x is NaN.
    auto flag = [no_inf](auto v) { return no_inf ? (v - v) != (v - v) : v != v; };
    int64_t i = lo;
    for (; i + 4 * L <= hi; i += 4 * L) {
      vec v[4];
      __builtin_memcpy(v, p + i, sizeof(v));
      const auto m = flag(v[0]) | flag(v[1]) | flag(v[2]) | flag(v[3]);
      bool any = false;
      for (int64_t j = 0; j < L; ++j) any |= m[j] != 0;
      if (any) {
        bad.store(true, std::memory_order_relaxed);
        return;
      }
    }
    for (; i < hi; ++i)
      if (flag(p[i])) {
        bad.store(true, std::memory_order_relaxed);
        return;
      }
  });
  return !bad.load();
}

#undef GK_INLINE

}  // namespace tiles
}  // namespace graphkit
