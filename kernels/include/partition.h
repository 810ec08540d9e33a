// Edge-balanced split of CSR rows across threads: the rows are cut into chunks whose (edges + rows) sum to an
// equal share, found by binary search on rowptr, so high-degree rows do not leave other threads idle. Threads
// take chunks from a shared counter (several chunks per thread): on a machine shared with other jobs, a thread
// that is descheduled for a while does not hold up the others at the end of the parallel region.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace graphkit {

// Calls fn(row_begin, row_end) on up to 16 * num_threads contiguous row ranges, in parallel.
template <typename index_t, typename F>
void parallel_rows(const index_t* rowptr, int64_t num_rows, int64_t feat, const F& fn) {
  if (num_rows == 0) return;
  const int64_t nnz = rowptr[num_rows];
  const int64_t work = (nnz + num_rows) * std::max<int64_t>(feat, 1);
  const int64_t nt = at::get_num_threads();
  // Small problems run on one thread: a parallel region costs microseconds.
  const int64_t chunks = work < 32768 ? 1 : std::min<int64_t>(nt * 16, num_rows);
  const int64_t total = nnz + num_rows;
  // first row r with rowptr[r] + r >= target: the cost of rows [0, r) is rowptr[r] + r.
  auto find = [&](int64_t target) {
    int64_t lo = 0, hi = num_rows;
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (int64_t(rowptr[mid]) + mid < target) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
  auto run_chunk = [&](int64_t c) {
    const int64_t rb = c == 0 ? 0 : find(total * c / chunks);
    const int64_t re = c + 1 == chunks ? num_rows : find(total * (c + 1) / chunks);
    if (rb < re) fn(rb, re);
  };
  if (chunks == 1) {
    run_chunk(0);
    return;
  }
  std::atomic<int64_t> next{0};
  at::parallel_for(0, std::min(nt, chunks), 1, [&](int64_t, int64_t) {
    for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) run_chunk(c);
  });
}

}  // namespace graphkit
