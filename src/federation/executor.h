// Executor: carries out the writes of any federation decision (VolumeBackup, VolumeRestore,
// VolumeBackupSchedule) with one failure policy, writes status through the one StatusWriter and
// records Events through the one EventSink. Every API write a controller makes goes through
// Execute, so "where is this action executed" has one answer.
//
// Failure policy: writes run in decision order and the pass STOPS AT THE FIRST FAILURE. The
// controller then returns the error (the queue retries with backoff) or DecideAgain, and the
// next pass re-decides from fresher caches: later writes were decided on the assumption that
// earlier ones happened, so carrying on could act on a state that never existed (the
// level-triggered design makes stopping safe: nothing is lost, it is decided again).
//   - A create answered AlreadyExists is done (creates are idempotent by deterministic name),
//     unless the write says `exists_means_decide_again` (the decision needs to see the object in
//     its cache first).
//   - A delete answered NotFound is done; so is any write with `missing_is_done`.
//   - Consecutive member writes to different data planes (each cluster once) are independent
//     and go at once, one thread each; their answers are settled in decision order, so the
//     first failure among them is the one reported and nothing after them runs. The GC pause
//     waits for the slowest execute create, not for the sum of them.
//   - A `pause_critical` write goes on WritePacing::pause_clients (the data plane's bucket, with
//     priority), so what a GC pause waits for never queues behind the data plane's other
//     requests (the creates that open new pauses, reads): when the bucket runs dry, new pauses
//     wait to open instead of open ones waiting to close.
//   - A pass with a write that opens a GC pause is deferred whole, before any write, while the
//     bucket of a cluster that pause needs is busy (WritePacing::busy): a worker never blocks
//     to open a pause while the passes of open ones wait for it.
//   - Within one pass, a later write to an object this pass already wrote carries the
//     resourceVersion that write returned, not the observed one: our own write must not make
//     the rest of the same decision look stale (a foreign write in between still conflicts).
//
// Pacing (WritePacing, optional):
//   - With WriteExpectations, every write that returns an object records its resourceVersion
//     (a delete forgets it), so the controller can wait until its cache has caught up before
//     deciding again.
//   - With a StatusBatcher, a status write marked `may_wait` (a change of mirrored member
//     fields only) is held while its object's batch window is open, and any status write is
//     held until the token it booked from the StatusWriter's bucket is due: the write is skipped
//     and `held_for` says when to decide again (the later write carries every change since the
//     last). No pass blocks on the status bucket. Writes after a held one still run: a held
//     status write is a decision's last. Any status write that is made closes the object's
//     window.
//
// Thread-safety: Execute and Record are safe for concurrent use if the clients, the status
// writer and the event sink are. Ownership: shares the clients; the StatusWriter must outlive
// the executor.
#ifndef BRFED_FEDERATION_EXECUTOR_H_
#define BRFED_FEDERATION_EXECUTOR_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "federation/decision.h"
#include "kube/client.h"
#include "kube/resource.h"
#include "runtime/status_batcher.h"
#include "runtime/status_writer.h"
#include "runtime/write_expectations.h"

namespace brfed::federation {

// One API write of a decision.
struct Write {
  enum class Verb {
    kCreate,       // body: the object
    kMergePatch,   // body: JSON merge patch (with metadata.resourceVersion when conditional)
    kPatchStatus,  // body: {"metadata":{"resourceVersion"},"status":{...}} via the StatusWriter
    kDelete,
  };
  Verb verb = Verb::kCreate;
  std::string cluster;  // "" = the control plane, else the data plane's context
  const kube::Resource* resource = nullptr;
  std::string ns;
  std::string name;
  std::shared_ptr<const Json> body;
  bool exists_means_decide_again = false;  // kCreate only
  bool missing_is_done = false;            // NotFound counts as done
  // kPatchStatus only: the change may wait for the object's status batch window.
  bool may_wait = false;
  // A data-plane write a GC pause (or a restore's next phase) waits for: sent on
  // WritePacing::pause_clients.
  bool pause_critical = false;
  // A write that starts new work (a backup's finalizer, the create that opens its GC pause):
  // the clusters ("" = the control plane) that work will need writes on. While one of their
  // buckets is busy (WritePacing::busy) the pass is deferred.
  std::vector<std::string> admission_on;
  std::string propagation_policy;  // kDelete only: "", "Foreground", ...

  // "create restores ns/name in cluster c" for logs and error context.
  std::string Describe() const;
  // The written object's key in WriteExpectations and the StatusBatcher (ObjectIdOf).
  std::string ObjectId() const;
};

// "<cluster>|<plural>|<ns>/<name>": one object of one cluster ("" = the control plane).
std::string ObjectIdOf(std::string_view cluster, const kube::Resource& resource,
                       std::string_view ns, std::string_view name);

// Told that `cluster`'s cache of member `resource` (Backups or Restores) contradicts what its
// server answered, and why: the cache may be stale and should be listed again.
using StaleMemberCacheFn = std::function<void(
    const std::string& cluster, const kube::Resource& resource, const std::string& why)>;

// The client of a data plane ("" = the control plane); nullptr when it has none now.
using ClientFor = std::function<std::shared_ptr<kube::Client>(const std::string& cluster)>;

// Optional pacing of an executor's writes (see the policy above); both must outlive it.
struct WritePacing {
  runtime::WriteExpectations* expectations = nullptr;
  runtime::StatusBatcher* status_batcher = nullptr;
  // Told when a data-plane write's answer contradicts the cache the decision read: a patch or
  // delete answered NotFound (the cache had the member), or a create answered AlreadyExists
  // (it had not). The cache may be stale: a server restarted without its data accepts the
  // watch that follows a list from before the restart and never sends what it holds below
  // that resourceVersion, exactly as kube-apiserver does. MemberCacheRelister relists it.
  StaleMemberCacheFn on_stale_member_cache;
  // The clients of `pause_critical` writes (first in their data plane's token bucket); when
  // unset or null for a cluster, those writes use the cluster's client. Both the backup and
  // the restore controllers set it.
  ClientFor pause_clients;
  // For a cluster ("" = the control plane): nullopt when new work may start there now, else
  // about how long until it may (kube::RateLimiter::Busy of the buckets its writes need, or
  // the controller's own backlog); unset: never busy.
  std::function<std::optional<std::chrono::nanoseconds>(const std::string& cluster)> busy;
  // The resourceVersion a data-plane member cache holds now for a write's object ("" when it
  // does not know). A conditional merge patch decided on an older one is not sent (the server
  // would answer 409 Conflict): the pass ends with decide_again, and the event that moved the
  // cache has already queued the next pass. Unset: every patch is sent.
  std::function<std::string(const Write& write)> cached_rv;
  // True while work already admitted waits for a worker (an open pause's pass is queued): new
  // work is deferred too, for kBacklogDeferral. Unset: never.
  std::function<bool()> backlogged;
  // With a status_batcher: a member-mirror-only status write (may_wait) past its window is
  // held, not booked, while less than this share of the status bucket's burst is free, so the
  // protocol transitions of other objects find tokens (the next transition carries the
  // mirror). 0: mirror writes book like transitions.
  double mirror_status_reserve = 0;
};

// How long a pass deferred for the controller's backlog waits before it tries again (before
// its place in an AdmissionLine is added).
inline constexpr std::chrono::milliseconds kBacklogDeferral{10};

struct ExecuteResult {
  Status error;  // the first failure, annotated with the write; OK when all were done
  const Write* failed = nullptr;
  Status cause;  // the same failure as the server (or the missing client) answered it
  // A write asked for a fresh decision (see Write), or a patch was decided on a cache that has
  // since moved on (WritePacing::cached_rv; then `failed` is that patch, not sent).
  bool decide_again = false;
  // The status write was held (batch window or token not due): decide again after this long.
  std::optional<std::chrono::nanoseconds> held_for;
  // Nothing was written: a write would start new work on a busy cluster. Decide again after
  // this long (the pass's Events and status describe writes that were not made).
  std::optional<std::chrono::nanoseconds> deferred_for;
  bool ok() const { return error.ok() && !decide_again; }
};

class Executor {
 public:
  using ClientFor = federation::ClientFor;
  // Runs after each write that was done, with what the server returned; `written` is null
  // when the write found its work already done (AlreadyExists, NotFound).
  using OnDone = std::function<void(const Write& write, const Json& written)>;

  Executor(ClientFor clients, runtime::StatusWriter* status_writer, EventSink events,
           WritePacing pacing = {});

  // Carries out `writes` in order under the policy above. `key` names the object in logs.
  ExecuteResult Execute(std::string_view key, const std::vector<Write>& writes,
                        const OnDone& on_done = {}) const;

  // Records `events` against `object` (and logs them with `key`).
  void Record(const Json& object, std::string_view key, const std::vector<Event>& events) const;

 private:
  Result<Json> Do(const Write& write, kube::Client& client, const Json& body) const;
  // One write through its cluster's client, carrying the resourceVersion this pass wrote.
  Result<Json> Send(const Write& write, const std::map<std::string, std::string>& written_rv) const;
  // writes[begin, end) at once (one thread each when there are several): their answers.
  std::vector<Result<Json>> SendAll(const std::vector<Write>& writes, size_t begin, size_t end,
                                    const std::map<std::string, std::string>& written_rv) const;
  // What a write's answer means for the pass: nullopt to go on (it was done), else the result
  // that stops the pass.
  std::optional<ExecuteResult> Settle(std::string_view key, const Write& write, Result<Json> out,
                                      std::map<std::string, std::string>& written_rv,
                                      const OnDone& on_done, const ExecuteResult& so_far) const;
  // Records what a done write returned in the expectations and the batcher.
  void Remember(const Write& write, const std::string& written_rv) const;
  // How long a status write waits for its batch window or its booked token; nullopt: send it.
  std::optional<std::chrono::nanoseconds> HoldStatus(const Write& write) const;
  // Whether `write` is a conditional patch whose resourceVersion the cache has moved past.
  bool DecidedOnOlderCache(const Write& write,
                           const std::map<std::string, std::string>& written_rv) const;
  // How long to defer a pass that starts new work while it may not start; nullopt: go.
  std::optional<std::chrono::nanoseconds> AdmissionWait(const std::vector<Write>& writes) const;

  ClientFor clients_;
  runtime::StatusWriter* status_writer_;
  EventSink events_;
  WritePacing pacing_;
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_EXECUTOR_H_
