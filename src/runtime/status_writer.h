// StatusWriter: the one place every federation controller writes an object's status through.
// A status write is a JSON merge patch of the whole object ({"metadata":{"resourceVersion"},
// "status":{...}}), so a write decided on a stale object fails with Conflict.
//
// Where it goes is found out once per resource: API discovery (GET /apis/<group>/<version>)
// lists "<plural>/status" when the CRD serves a status subresource; then the patch goes to
// /status, otherwise to the object itself (upstream's CRDs declare no subresource). When
// discovery cannot answer, /status is tried first; a 404 (no subresource) or 403 (upstream's
// chart grants no RBAC on */status) switches that resource to the object for good, so no write
// loops on 404 or 403.
//
// Priority and coalescing: the manager gives the writer a client of its own (unlimited) and the
// status writes' token bucket, so status writes never delay other writes (nor wait behind
// them). Patch waits for a token; a caller that must not block books its token with Reserve
// and comes back when it is due (runtime::StatusBatcher, through the federation executor,
// holds the write meanwhile and a later decision's write carries it). Which status changes are
// written when is decided before Patch.
//
// Thread-safety: safe for concurrent use. Ownership: shares the Client.
#ifndef BRFED_RUNTIME_STATUS_WRITER_H_
#define BRFED_RUNTIME_STATUS_WRITER_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/status.h"
#include "kube/client.h"
#include "kube/rate_limiter.h"
#include "kube/resource.h"

namespace brfed::runtime {

class StatusWriter {
 public:
  // `limiter`: the status writes' token bucket (none: unlimited, or the client's own).
  explicit StatusWriter(std::shared_ptr<kube::Client> client,
                        std::unique_ptr<kube::RateLimiter> limiter = nullptr);

  // Books the next token of the bucket: how long until it is due (0: now). The write it is for
  // then goes with Pacing::kBooked once that time has passed.
  std::chrono::nanoseconds Reserve();
  // The bucket's kube::RateLimiter::Busy (nullopt without a bucket).
  std::optional<std::chrono::nanoseconds> Busy(double reserve);

  enum class Pacing { kWait, kBooked };
  // Merge-patches `patch` into object `ns/name` of `resource`; returns the written object.
  // kWait first waits for a token; kBooked uses the one the caller reserved.
  Result<Json> Patch(const kube::Resource& resource, std::string_view ns, std::string_view name,
                     const Json& patch, Pacing pacing = Pacing::kWait);

  // Where status of `resource` goes, as far as known (for tests and logs).
  enum class Target { kUnknown, kSubresource, kObject };
  Target TargetOf(const kube::Resource& resource);

 private:
  Target Discover(const kube::Resource& resource);
  void Remember(const kube::Resource& resource, Target target);

  std::shared_ptr<kube::Client> client_;
  std::unique_ptr<kube::RateLimiter> limiter_;
  std::mutex mu_;
  std::map<std::string, Target> targets_;  // "<group>/<version>/<plural>" -> target
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_STATUS_WRITER_H_
