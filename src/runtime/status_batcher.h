// StatusBatcher: when a status change that may wait is written. A change that may not wait (a
// protocol transition) is written at once; a change that may (a VolumeBackup's mirror of its
// members' phases) opens a window for its object, and is held until the window has passed.
// Nothing is queued here: the held decision is dropped and the caller requeues the object for
// the window's end, and since every decision recomputes the whole status from the cache, the
// write made then (or by any earlier transition) carries every change since the last write.
// One object therefore gets at most one deferrable status write per window.
//
// Thread-safety: safe for concurrent use. Ownership: the Clock must outlive it.
#ifndef BRFED_RUNTIME_STATUS_BATCHER_H_
#define BRFED_RUNTIME_STATUS_BATCHER_H_

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"

namespace brfed::runtime {

class StatusBatcher {
 public:
  StatusBatcher(Clock* clock, std::chrono::nanoseconds window);

  // For a change of `object` that may wait: nullopt = write it now (its window has passed);
  // otherwise hold it and look again after the returned time. The first held change opens the
  // window.
  std::optional<std::chrono::nanoseconds> Hold(const std::string& object);

  // A status write of `object` was made (of any kind): its window closes.
  void Written(const std::string& object);

  std::chrono::nanoseconds window() const { return window_; }

 private:
  Clock* clock_;
  const std::chrono::nanoseconds window_;
  std::mutex mu_;
  std::map<std::string, SteadyTime> opened_;  // object -> first held change
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_STATUS_BATCHER_H_
