// AdmissionLine: the backups waiting to start (their pass was deferred because a token bucket
// they need is busy, or because open GC pauses wait for a worker), in the order they first
// waited. The key at the front is told to come back after the wait it was given, and is woken
// (Leave returns it) whenever a key leaves the line; a key with n keys ahead of it comes back
// after n times the recent interval between keys leaving (the rate at which backups are being
// admitted), if that is longer, but never after more than `max_wait`. So a long line costs
// about as many passes as backups it admits, plus at most one per key per `max_wait`: at 200
// backups started at once, every deferred key coming back after the same few milliseconds made
// most of the controller's passes. Waking the front on every departure keeps the line moving
// at the rate room appears: without it the keys ahead sleep through their turns, the interval
// grows and so does every wait (a 200-backup run took 86 s instead of 19). Any key that finds
// room is admitted; the order is a tendency, not a rule. A key leaves when its pass is not
// deferred; one that stops coming back (its VolumeBackup deleted and never reconciled again) is
// forgotten after `forget_after`.
//
// Thread-safety: safe for concurrent use. The Clock must outlive the line.
#ifndef BRFED_FEDERATION_ADMISSION_LINE_H_
#define BRFED_FEDERATION_ADMISSION_LINE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "core/clock.h"

namespace brfed::federation {

class AdmissionLine {
 public:
  AdmissionLine(Clock* clock, std::chrono::nanoseconds min_spacing,
                std::chrono::nanoseconds max_wait, std::chrono::nanoseconds forget_after);
  // `key` was deferred and should try again after at least `wait`: how long it waits, with its
  // place in the line (it joins at the end the first time).
  std::chrono::nanoseconds Wait(const std::string& key, std::chrono::nanoseconds wait);
  // `key` was admitted (or is gone): it leaves the line. Returns the key now at the front when
  // `key` was in the line and another waits: try it now.
  std::optional<std::string> Leave(const std::string& key);
  size_t size();
  // The current interval between keys leaving.
  std::chrono::nanoseconds spacing();

 private:
  struct Place {
    uint64_t arrival;
    SteadyTime last_seen;
  };
  void ForgetStaleLocked(SteadyTime now);

  Clock* clock_;
  const std::chrono::nanoseconds min_spacing_;
  const std::chrono::nanoseconds max_wait_;
  const std::chrono::nanoseconds forget_after_;
  std::mutex mu_;
  uint64_t next_arrival_ = 0;
  std::chrono::nanoseconds spacing_;  // moving average of the intervals between leavers
  std::optional<SteadyTime> last_leave_;
  std::map<std::string, Place> places_;
  std::set<std::pair<uint64_t, std::string>> order_;  // (arrival, key)
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_ADMISSION_LINE_H_
