// Controller: N workers taking keys from a WorkQueue and calling a reconcile function. What
// happens next is decided in one place:
//   - success: Forget the key's backoff; requeue after `requeue_after` if set;
//   - `decide_again` (ReconcileOutcome::DecideAgain): the pass acted on a stale cache and wants a
//     fresh decision: AddRateLimited, counted as result="requeue", not as an error;
//   - a terminal error, only when the reconcile says so explicitly (TerminalError, in the spirit
//     of controller-runtime's): logged and counted, not retried. Terminality is never inferred
//     from an error code;
//   - an error: the error policy (DefaultErrorPolicy): kTooManyRequests is requeued after a
//     fixed delay, anything else AddRateLimited.
// A reconcile that throws is caught, logged with its key, counted as an error
// (controller_runtime_reconcile_panics_total) and retried with backoff; it never kills the
// process. Workers start at Start(); wait for informer sync before calling it.
//
// Metrics, pre-created at zero for this controller (label controller=<name>):
// controller_runtime_reconcile_total{controller,result=success|error|requeue|requeue_after},
// controller_runtime_reconcile_errors_total, controller_runtime_terminal_reconcile_errors_total,
// controller_runtime_reconcile_panics_total, controller_runtime_reconcile_time_seconds,
// controller_runtime_max_concurrent_reconciles, controller_runtime_active_workers (only
// workers inside a reconcile), plus the queue's workqueue_* metrics.
//
// Thread-safety: Start/Stop from one owner thread; queue() is safe for concurrent use (event
// handlers add keys from informer threads). The Clock and MetricsRegistry must outlive it.
#ifndef BRFED_RUNTIME_CONTROLLER_H_
#define BRFED_RUNTIME_CONTROLLER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "runtime/work_queue.h"

namespace brfed::runtime {

struct ReconcileOutcome {
  // nullopt: wait for the next event for this key.
  std::optional<std::chrono::nanoseconds> requeue_after;
  // Decide again from fresher caches (rate limited) instead of waiting for an event.
  bool decide_again = false;
  // Set by TerminalError: the pass failed and retrying cannot help.
  Status terminal_error;

  static ReconcileOutcome DecideAgain() { return {std::nullopt, true, Status::Ok()}; }
};

// The outcome of a pass that failed for good (bad input no retry can fix). Only this makes an
// error terminal.
inline ReconcileOutcome TerminalError(Status error) {
  return {std::nullopt, false, std::move(error)};
}

using ReconcileFn = std::function<Result<ReconcileOutcome>(const std::string& key)>;

enum class ErrorAction { kRetryWithBackoff, kRequeueAfter, kTerminal };
struct ErrorDecision {
  ErrorAction action = ErrorAction::kRetryWithBackoff;
  std::chrono::nanoseconds delay{0};  // kRequeueAfter
};
ErrorDecision DefaultErrorPolicy(const Status& error);

struct ControllerOptions {
  int workers = 1;
  RateLimitOptions rate_limit;
  std::function<ErrorDecision(const Status&)> error_policy = DefaultErrorPolicy;
};

class Controller {
 public:
  Controller(std::string name, ReconcileFn fn, int workers, MetricsRegistry* metrics,
             Clock* clock = RealClock::Get());
  Controller(std::string name, ReconcileFn fn, ControllerOptions options, MetricsRegistry* metrics,
             Clock* clock = RealClock::Get());
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  WorkQueue& queue() { return queue_; }
  const std::string& name() const { return name_; }
  void Start();
  // Shuts the queue down and waits for running reconciles to finish. Idempotent.
  void Stop();

 private:
  void Worker();
  void ProcessOne(const std::string& key);
  void HandleOutcome(const std::string& key, const ReconcileOutcome& outcome);
  void HandleError(const std::string& key, const Status& error);

  const std::string name_;
  ReconcileFn fn_;
  ControllerOptions options_;
  MetricsRegistry* metrics_;
  Clock* clock_;
  WorkQueue queue_;
  std::vector<std::thread> workers_;
  bool started_ = false;
  struct Metrics;
  std::unique_ptr<Metrics> m_;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_CONTROLLER_H_
