// WorkQueue: the controller's queue of keys (usually "namespace/name"). Invariants, each
// tested: a key is queued at most once (dedupe); a key is never handed to two workers at once
// (a key added while being processed is marked dirty and re-queued when Done is called);
// AddAfter keeps the earliest due time when requeues merge; AddRateLimited delays by per-key
// exponential backoff (1 s doubling to 100 s by default) until Forget; ShutDown wakes every
// Get, which then returns nullopt (keys not yet handed out are dropped). A key added with high
// priority is handed out before every normal key (in the order they became ready within a
// priority), and keeps that priority until it is handed out, as controller-runtime's priority
// queue does: a controller puts the keys whose work is waited on (an open GC pause) first.
//
// Metrics (when a registry is given), labelled name=<queue name>: workqueue_depth,
// workqueue_adds_total, workqueue_retries_total, workqueue_queue_duration_seconds,
// workqueue_work_duration_seconds.
//
// Thread-safety: all methods are safe for concurrent use. The Clock and MetricsRegistry must
// outlive the queue. Delayed keys become ready by the Clock; with a FakeClock, Get notices an
// Advance within ~50 ms of real time.
#ifndef BRFED_RUNTIME_WORK_QUEUE_H_
#define BRFED_RUNTIME_WORK_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/clock.h"
#include "runtime/metrics.h"

namespace brfed::runtime {

struct RateLimitOptions {
  std::chrono::nanoseconds base = std::chrono::seconds(1);
  std::chrono::nanoseconds max = std::chrono::seconds(100);
};

class WorkQueue {
 public:
  explicit WorkQueue(std::string name, Clock* clock = RealClock::Get(),
                     RateLimitOptions rate_limit = {}, MetricsRegistry* metrics = nullptr);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  enum class Priority { kNormal, kHigh };

  void Add(const std::string& key, Priority priority = Priority::kNormal);
  // Adds `key` after `delay`; an earlier pending due time (or the key being queued already)
  // wins, and so does the higher priority. A delay <= 0 is Add.
  void AddAfter(const std::string& key, std::chrono::nanoseconds delay,
                Priority priority = Priority::kNormal);
  // AddAfter with the key's next backoff delay (base * 2^n, capped at max).
  void AddRateLimited(const std::string& key);
  // Resets the key's backoff.
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

  // Blocks for the next ready key; nullopt after ShutDown. The caller must call Done(key).
  std::optional<std::string> Get();
  void Done(const std::string& key);

  void ShutDown();
  bool shutting_down() const;
  // Keys ready to be handed out (not counting delayed or in-process keys).
  size_t Len() const;
  // Of those, the high-priority ones.
  size_t HighLen() const;
  // Keys waiting for their AddAfter time.
  size_t DelayedLen() const;
  const std::string& name() const { return name_; }

 private:
  struct Delayed {
    SteadyTime due;
    Priority priority;
  };
  void AddLocked(const std::string& key, Priority priority);
  // Appends a ready key to its priority's line.
  void PushLocked(const std::string& key);
  void SetDepthLocked();  // workqueue_depth: both lines
  // Sets the in-flight gauges from started_at_ (a metrics collector, run at scrape time).
  void CollectInFlight();
  void PromoteDueLocked(SteadyTime now);

  const std::string name_;
  Clock* clock_;
  RateLimitOptions rate_limit_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;               // ready normal-priority keys
  std::deque<std::string> high_queue_;          // ready high-priority keys
  std::unordered_set<std::string> dirty_;       // queued or to re-queue after Done
  std::unordered_set<std::string> high_;        // dirty keys of high priority
  std::unordered_set<std::string> processing_;  // handed out, Done not yet called
  std::unordered_map<std::string, SteadyTime> added_at_;
  std::unordered_map<std::string, SteadyTime> started_at_;
  std::map<std::string, Delayed> delayed_;
  std::unordered_map<std::string, int> failures_;
  bool shutting_down_ = false;

  Gauge::Series* depth_ = nullptr;
  Counter::Series* adds_ = nullptr;
  Counter::Series* retries_ = nullptr;
  Histogram::Series* queue_duration_ = nullptr;
  Histogram::Series* work_duration_ = nullptr;
  Gauge::Series* unfinished_work_ = nullptr;
  Gauge::Series* longest_running_ = nullptr;
  MetricsRegistry* metrics_ = nullptr;
  int collector_id_ = -1;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_WORK_QUEUE_H_
