// spectromine/core/parallel.hpp: the one threading primitive of the library.
//
// parallel_for splits [0, n) into contiguous chunks, one per thread, in a
// fixed way that depends only on n and the thread count. Algorithms keep
// their results independent of the thread count by writing per-item outputs
// (labels of pixels) or by reducing per-chunk partials in chunk order.
// std::thread keeps the library free of an OpenMP runtime dependency (and
// clean under ThreadSanitizer).
#pragma once

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

// Number of threads: 0 means "all hardware threads".
struct thread_options {
  int threads = 0;
};

inline int resolve_threads(int requested) {
  require(requested >= 0, "parallel", "threads", "must be >= 0 (0 = all cores)", requested);
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Calls body(begin, end, worker) on disjoint chunks covering [0, n). Chunks
// are at least `grain` items. Exceptions thrown by a worker are rethrown
// (the first one) after all workers have joined.
template <class Body>
void parallel_for(index_t n, int threads, index_t grain, Body&& body) {
  if (n <= 0) return;
  grain = std::max<index_t>(grain, 1);
  const index_t max_chunks = (n + grain - 1) / grain;
  const int workers =
      static_cast<int>(std::min<index_t>(resolve_threads(threads), max_chunks));
  if (workers <= 1) {
    body(index_t{0}, n, 0);
    return;
  }
  std::exception_ptr failure;
  std::mutex failure_mutex;
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(workers - 1));
  auto run = [&](int w) {
    const index_t begin = n * w / workers;
    const index_t end = n * (w + 1) / workers;
    try {
      body(begin, end, w);
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  for (int w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace spectromine
