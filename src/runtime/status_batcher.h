// StatusBatcher: when a status change that may wait is written. A change that may not wait (a
// protocol transition) is written at once; a change that may (a VolumeBackup's mirror of its
// members' phases) opens a window for its object, and is held until the window has passed.
// Nothing is queued here: the held decision is dropped and the caller requeues the object for
// the window's end, and since every decision recomputes the whole status from the cache, the
// write made then (or by any earlier transition) carries every change since the last write.
// One object therefore gets at most one deferrable status write per window.
//
// Pacing: every status write, deferrable or not, also books a token of the status writes' bucket
// (Book) instead of blocking the worker for it. While the token is not due the write is held
// like a deferrable one, so the pass's other writes (the pause-critical member writes, which come
// first) are not delayed, and no worker waits for a token while other objects' passes queue.
// A held transition is not re-derived from the cache: its caller keeps the decided status and
// decides the next pass on it (VolumeBackupController).
//
// The window grows while an object's deferrable changes keep coming without a transition: each
// deferrable write made doubles the next window, up to `max_window`; a write that is not
// deferrable (a transition) starts it afresh. So a burst of changes right after a step costs
// one write within `window`, while changes that trickle in between two steps (members of a
// backup among hundreds, each reached late by its data plane) cost about log2(gap / window)
// writes instead of one per change.
//
// Thread-safety: safe for concurrent use. Ownership: the Clock must outlive it.
#ifndef BRFED_RUNTIME_STATUS_BATCHER_H_
#define BRFED_RUNTIME_STATUS_BATCHER_H_

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"

namespace brfed::runtime {

class StatusBatcher {
 public:
  // `max_window` below `window` means `window` (no growth).
  StatusBatcher(Clock* clock, std::chrono::nanoseconds window,
                std::chrono::nanoseconds max_window = {});

  // For a change of `object` that may wait: nullopt = write it now (its window has passed);
  // otherwise hold it and look again after the returned time. The first held change opens the
  // window.
  std::optional<std::chrono::nanoseconds> Hold(const std::string& object);

  // For any status write of `object`: nullopt = write it now; otherwise hold it and look again
  // after the returned time. The first call books a token with `reserve` (which returns how long
  // until it is due); later calls wait for the same token, which the write made uses.
  std::optional<std::chrono::nanoseconds> Book(
      const std::string& object, const std::function<std::chrono::nanoseconds()>& reserve);

  // A status write of `object` was made: its window closes. After a `deferrable` one (a change
  // that was held) the next window is twice as long, up to the maximum; after any other (or
  // when the object is gone) it is `window` again.
  void Written(const std::string& object, bool deferrable = false);

  std::chrono::nanoseconds window() const { return window_; }

 private:
  struct Batch {
    std::optional<SteadyTime> opened;     // the first held change of the open window
    std::chrono::nanoseconds window;      // this object's current window
    std::optional<SteadyTime> token_due;  // a booked token (Book), until a write uses it
  };
  Clock* clock_;
  const std::chrono::nanoseconds window_;
  const std::chrono::nanoseconds max_window_;
  std::mutex mu_;
  std::map<std::string, Batch> batches_;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_STATUS_BATCHER_H_
