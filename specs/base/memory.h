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

// At most one malloc arena per core (at least 2) instead of glibc's eight per core, unless
// MALLOC_ARENA_MAX says otherwise: a thread's freed memory is then reused by the others rather
// than kept apart (10,000 specs under `converge watch`: 70 -> 58 MB resident after a resync on
// two cores). For `converge watch` only: with more busy threads than arenas, malloc contends —
// a plan that observes while it loads (3 threads, 2 arenas) took 2.8 s instead of 1.6 s.
// Call once at start, before any thread.
void LimitMallocArenas();

}  // namespace converge
