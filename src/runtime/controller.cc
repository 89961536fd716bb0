#include "runtime/controller.h"

#include <exception>

#include "core/log.h"
#include "runtime/metrics.h"

namespace brfed::runtime {

ErrorDecision DefaultErrorPolicy(const Status& error) {
  if (error.code() == Code::kTooManyRequests) {
    return {ErrorAction::kRequeueAfter, std::chrono::seconds(5)};
  }
  return {ErrorAction::kRetryWithBackoff, {}};
}

namespace {

struct ControllerMetricSeries {
  Counter::Series* success = nullptr;
  Counter::Series* error = nullptr;
  Counter::Series* requeue = nullptr;
  Counter::Series* requeue_after = nullptr;
  Counter::Series* errors = nullptr;
  Counter::Series* terminal = nullptr;
  Counter::Series* panics = nullptr;
  Histogram::Series* time = nullptr;
  Gauge::Series* active = nullptr;
};

ControllerMetricSeries InitMetrics(MetricsRegistry* r, const std::string& name, int workers) {
  ControllerMetricSeries m;
  if (r == nullptr) return m;
  auto& total =
      r->AddCounter("controller_runtime_reconcile_total",
                    "Total number of reconciliations per controller.", {"controller", "result"});
  m.success = &total.WithLabels({name, "success"});
  m.error = &total.WithLabels({name, "error"});
  m.requeue = &total.WithLabels({name, "requeue"});
  m.requeue_after = &total.WithLabels({name, "requeue_after"});
  m.errors = &r->AddCounter("controller_runtime_reconcile_errors_total",
                            "Total number of reconciliation errors per controller.", {"controller"})
                  .WithLabels({name});
  m.terminal = &r->AddCounter("controller_runtime_terminal_reconcile_errors_total",
                              "Total number of terminal reconciliation errors per controller.",
                              {"controller"})
                    .WithLabels({name});
  m.panics =
      &r->AddCounter("controller_runtime_reconcile_panics_total",
                     "Total number of reconciliations that threw an exception.", {"controller"})
           .WithLabels({name});
  m.time = &r->AddHistogram(
                 "controller_runtime_reconcile_time_seconds",
                 "Length of time per reconciliation per controller.", {"controller"},
                 {0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
                  0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
                  6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60})
                .WithLabels({name});
  r->AddGauge("controller_runtime_max_concurrent_reconciles",
              "Maximum number of concurrent reconciles per controller.", {"controller"})
      .WithLabels({name})
      .Set(workers);
  m.active = &r->AddGauge("controller_runtime_active_workers",
                          "Number of workers currently running a reconcile, per controller.",
                          {"controller"})
                  .WithLabels({name});
  return m;
}

}  // namespace

struct Controller::Metrics : ControllerMetricSeries {};

Controller::Controller(std::string name, ReconcileFn fn, int workers, MetricsRegistry* metrics,
                       Clock* clock)
    : Controller(std::move(name), std::move(fn), ControllerOptions{workers}, metrics, clock) {}

Controller::Controller(std::string name, ReconcileFn fn, ControllerOptions options,
                       MetricsRegistry* metrics, Clock* clock)
    : name_(std::move(name)),
      fn_(std::move(fn)),
      options_(std::move(options)),
      metrics_(metrics),
      clock_(clock),
      queue_(name_, clock, options_.rate_limit, metrics) {
  if (options_.workers < 1) options_.workers = 1;
  if (!options_.error_policy) options_.error_policy = DefaultErrorPolicy;
  m_ = std::make_unique<Metrics>(Metrics{InitMetrics(metrics_, name_, options_.workers)});
}

Controller::~Controller() { Stop(); }

void Controller::Start() {
  if (started_) return;
  started_ = true;
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Worker(); });
}

void Controller::Stop() {
  queue_.ShutDown();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void Controller::Worker() {
  while (auto key = queue_.Get()) {
    ProcessOne(*key);
    queue_.Done(*key);
  }
}

namespace {

void Inc(Counter::Series* series) {
  if (series != nullptr) series->Inc();
}

}  // namespace

void Controller::ProcessOne(const std::string& key) {
  const Metrics& m = *m_;
  if (m.active != nullptr) m.active->Inc();
  SteadyTime start = clock_->Steady();
  Result<ReconcileOutcome> result = Status(Code::kInternal, "reconcile did not run");
  try {
    result = fn_(key);
  } catch (const std::exception& e) {
    Inc(m.panics);
    result = Status(Code::kInternal, std::string("reconcile threw: ") + e.what());
  } catch (...) {
    Inc(m.panics);
    result = Status(Code::kInternal, "reconcile threw a non-standard exception");
  }
  if (m.time != nullptr) {
    m.time->Observe(std::chrono::duration<double>(clock_->Steady() - start).count());
  }
  if (m.active != nullptr) m.active->Dec();
  if (result.ok()) {
    HandleOutcome(key, *result);
  } else {
    HandleError(key, result.status());
  }
}

void Controller::HandleOutcome(const std::string& key, const ReconcileOutcome& outcome) {
  const Metrics& m = *m_;
  if (outcome.decide_again) {
    queue_.AddRateLimited(key);
    Inc(m.requeue);
    return;
  }
  if (!outcome.terminal_error.ok()) {
    Inc(m.error);
    Inc(m.errors);
    Inc(m.terminal);
    queue_.Forget(key);
    log::Error(
        "reconcile failed permanently; not retrying",
        {{"controller", name_}, {"object", key}, {"error", outcome.terminal_error.ToString()}});
    return;
  }
  queue_.Forget(key);
  if (outcome.requeue_after && outcome.requeue_after->count() > 0) {
    queue_.AddAfter(key, *outcome.requeue_after);
    Inc(m.requeue_after);
  } else {
    Inc(m.success);
  }
}

void Controller::HandleError(const std::string& key, const Status& error) {
  const Metrics& m = *m_;
  Inc(m.error);
  Inc(m.errors);
  ErrorDecision decision = options_.error_policy(error);
  switch (decision.action) {
    case ErrorAction::kTerminal:
      Inc(m.terminal);
      queue_.Forget(key);
      log::Error("reconcile failed permanently; not retrying",
                 {{"controller", name_}, {"object", key}, {"error", error.ToString()}});
      break;
    case ErrorAction::kRequeueAfter:
      queue_.AddAfter(key, decision.delay);
      log::Warn("reconcile failed; requeued",
                {{"controller", name_}, {"object", key}, {"error", error.ToString()}});
      break;
    case ErrorAction::kRetryWithBackoff:
      queue_.AddRateLimited(key);
      log::Warn("reconcile failed; retrying with backoff",
                {{"controller", name_}, {"object", key}, {"error", error.ToString()}});
      break;
  }
}

}  // namespace brfed::runtime
