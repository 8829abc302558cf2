// Gives the pages of freed heap memory back to the operating system.
//
// glibc keeps what a thread frees in that thread's arena for later allocations and returns
// memory to the system only from the top of each heap. `converge watch` allocates a whole pass's
// worth (10,000 observed objects, their last-applied documents, the plan) and frees it at the
// end of each resync, on a handful of threads: without this, the process keeps the fragmented
// free space of every arena it has used — tens of MB held for nothing between passes.
#pragma once

namespace converge {

// Returns the unused pages of every malloc arena to the system (malloc_trim). Cheap next to a
// resync (a few ms); a no-op where the C library has no such call.
void ReturnFreedMemory();

// At most one malloc arena per two cores (at least one) instead of glibc's eight per core,
// unless MALLOC_ARENA_MAX says otherwise: a thread's freed memory is then reused by the others
// rather than kept apart, and what stays resident no longer depends on which threads happened to
// share an arena. 10,000 specs under `converge watch` on two cores, resident a second after the
// first resync: 60 MB with one arena whatever else runs; 57-68 MB with two, depending on whether
// the status server's threads started first; 69 MB with glibc's default. The price is a slower
// parallel load (the first one: 4.4 -> 4.7 s). For `converge watch` only: with more busy threads
// than arenas, malloc contends — a plan that observes while it loads (3 threads, 2 arenas) took
// 2.8 s instead of 1.6 s. Call once at start, before any thread.
void LimitMallocArenas();

}  // namespace converge
