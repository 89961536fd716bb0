// WriteExpectations: "our own write has not reached the cache yet", per object, in the spirit
// of kube-controller-manager's and controller-runtime's expectations. After a write, the
// controller records the resourceVersion the server returned; before the next reconcile of
// that object acts, it asks whether the cache has caught up. Until it has, the reconcile does
// nothing and waits for the watch event of its own write (which enqueues the key again), so no
// decision is made on a cache older than our last write, and the stale-cache 409 Conflicts
// that deciding on it would cause do not happen. Writes by others are not expected here: their
// conflicts are retried as before.
//
// Caught up means the cache holds a resourceVersion equal to the expected one or, when both
// are decimal integers (etcd revisions; brfed-apiserver's counter), a larger one (someone wrote
// after us). resourceVersions are otherwise opaque, so a non-numeric one only matches exactly.
// An expectation that is not met within `ttl` is dropped (the event was lost, the object was
// deleted behind us): it delays a reconcile, it never blocks one for good.
//
// Thread-safety: safe for concurrent use. Ownership: the Clock must outlive it.
#ifndef BRFED_RUNTIME_WRITE_EXPECTATIONS_H_
#define BRFED_RUNTIME_WRITE_EXPECTATIONS_H_

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace brfed::runtime {

class WriteExpectations {
 public:
  static constexpr std::chrono::seconds kDefaultTtl{10};

  explicit WriteExpectations(Clock* clock = RealClock::Get(),
                             std::chrono::nanoseconds ttl = kDefaultTtl);

  // Our write of `object` returned `resource_version` (ignored when empty). A later write of the
  // same object replaces the expectation.
  void Expect(const std::string& object, std::string resource_version);

  // nullopt when `object` may be reconciled: nothing expected, the cache (holding
  // `cached_resource_version`, "" when it has no such object) has caught up, or the
  // expectation expired; a met or expired expectation is forgotten. Otherwise how long the
  // expectation may still wait (the caller's fallback requeue if no event comes).
  std::optional<std::chrono::nanoseconds> Pending(const std::string& object,
                                                  std::string_view cached_resource_version);

  // Drops the expectation of `object` (it was deleted).
  void Forget(const std::string& object);

  size_t size() const;

 private:
  struct Expected {
    std::string resource_version;
    SteadyTime at;
  };
  void DropExpiredLocked(SteadyTime now);

  Clock* clock_;
  std::chrono::nanoseconds ttl_;
  mutable std::mutex mu_;
  std::map<std::string, Expected> expected_;
};

// Whether a cache holding `cached` has seen a write that returned `written` (see above).
bool ResourceVersionReached(std::string_view cached, std::string_view written);
// A resourceVersion as the etcd revision (or brfed-apiserver counter) it is; nullopt when it is
// not a plain number (kube-apiserver promises nothing more, so callers must cope).
std::optional<unsigned long long> ParseRevision(std::string_view resource_version);

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_WRITE_EXPECTATIONS_H_
