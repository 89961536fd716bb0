// WatchMachine: the list-then-watch protocol as an explicit, pure state machine. It decides
// what to do next (list, open a watch from a resourceVersion, read the next event, or wait)
// and turns the results it is fed into store operations. It does no I/O, so it is unit-tested
// with canned results; Informer drives it with a real Client.
//
// States: kListing -> (list ok) kWatchStarting(rv) -> kWatching -> on a normal end or an
// error the server answered, resume from the last seen rv; on 410 (HTTP or ERROR event)
// relist; list or watch-start failures wait with jittered backoff (0.8 s..30 s, reset after 2
// healthy minutes). BOOKMARK events only advance the rv.
//
// An API server restarted without its data accepts a watch from a version it has not reached
// and then stays silent (kube-apiserver does; so does brfed-apiserver), so the cache would keep
// objects that no longer exist and miss new ones. Two defences:
//   - a failure with no HTTP answer (connection refused, reset or timed out: the server may
//     have been replaced) is followed by a list after the backoff, never by a resume;
//   - any other resume (not the watch right after a list) first checks that the server still
//     knows the rv: a list not older than it answers 504 ResourceVersionTooLarge on a reset
//     server (kube::IsResourceVersionTooLarge), and the machine relists at once.
// A relist drops the vanished objects (their deletes are emitted).
//
// Thread-safety: not thread-safe; owned by one informer thread.
#ifndef BRFED_RUNTIME_WATCHER_H_
#define BRFED_RUNTIME_WATCHER_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "kube/client.h"
#include "runtime/backoff.h"

namespace brfed::runtime {

class WatchMachine {
 public:
  enum class ActionKind { kList, kStartWatch, kReadEvent, kWait };
  struct Action {
    ActionKind kind = ActionKind::kList;
    std::string resource_version;      // kStartWatch: watch from here
    std::chrono::nanoseconds wait{0};  // kWait: how long
    // kStartWatch: a resume. The driver first lists at most one object not older than
    // resource_version (resourceVersionMatch=NotOlderThan); an error from that list is the
    // watch start's result.
    bool check_version = false;
  };

  enum class OutputKind { kReplace, kApply, kDelete, kError };
  struct Output {
    OutputKind kind = OutputKind::kApply;
    // kReplace: the complete new set of objects (initial list or relist), swapped atomically.
    std::vector<std::shared_ptr<const Json>> objects;
    std::shared_ptr<const Json> object;  // kApply, kDelete
    Status error;                        // kError (for logs; recovery is automatic)
    bool relist = false;                 // kReplace after the first: a relist
    bool watch_restart = false;          // kError that ends a watch
  };

  explicit WatchMachine(BackoffOptions backoff = {}, uint64_t seed = std::random_device{}());

  // What the driver should do now.
  Action Next() const { return action_; }

  // Result of the kList action: the complete List object (all pages merged), taken by value so
  // that its items move into the outputs.
  std::vector<Output> OnList(Result<Json> list, SteadyTime now);
  // Result of kStartWatch (or of its version check).
  std::vector<Output> OnWatchStarted(const Status& status, SteadyTime now);
  // Result of kReadEvent (nullopt value: the server ended the stream normally).
  std::vector<Output> OnEvent(const Result<std::optional<kube::WatchEvent>>& event, SteadyTime now);
  // The kWait action elapsed.
  void OnWaited();
  // The driver learned that the cache is stale (a write was answered NotFound for an object it
  // holds): relist at once from any state, abandoning a watch. `why` is logged.
  std::vector<Output> RequestRelist(Status why) { return RelistNow(std::move(why)); }

  const std::string& resource_version() const { return resource_version_; }
  bool listed_once() const { return listed_once_; }

 private:
  std::vector<Output> Fail(const Status& status, bool relist, bool watch_restart, SteadyTime now);
  // Resume the watch from resource_version_, checking first that the server still knows it.
  void Resume();
  // Relist at once (no backoff): the server forgot our version or no longer has it.
  std::vector<Output> RelistNow(Status why);

  Action action_;
  ActionKind after_wait_ = ActionKind::kList;
  std::string resource_version_;
  bool listed_once_ = false;
  Backoff backoff_;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_WATCHER_H_
