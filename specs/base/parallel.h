// Runs independent work on every core: the spec loader (one file each) and the planner (one block
// of documents each).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace converge {

// Calls f(begin, end) for the blocks [0, block), [block, 2 * block), ... of [0, n), each thread
// taking the next block from a shared counter. Inline when there are fewer than `min_per_thread`
// items per extra thread; at most 8 threads.
template <typename F>
void ParallelForBlocks(size_t n, size_t block, size_t min_per_thread, F&& f) {
  const size_t threads =
      std::min<size_t>({std::max(1u, std::thread::hardware_concurrency()), 8,
                        std::max<size_t>(1, n / std::max<size_t>(1, min_per_thread))});
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t b; (b = next.fetch_add(block)) < n;) f(b, std::min(n, b + block));
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

}  // namespace converge
