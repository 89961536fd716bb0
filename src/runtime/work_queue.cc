#include "runtime/work_queue.h"

#include <algorithm>
#include <cmath>

#include "runtime/metrics.h"

namespace brfed::runtime {
namespace {
// With a FakeClock nothing wakes a waiter when time jumps, so waits for delayed keys are capped.
constexpr std::chrono::milliseconds kMaxDelayedWait{50};

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

WorkQueue::WorkQueue(std::string name, Clock* clock, RateLimitOptions rate_limit,
                     MetricsRegistry* metrics)
    : name_(std::move(name)), clock_(clock), rate_limit_(rate_limit) {
  if (metrics == nullptr) return;
  depth_ = &metrics->AddGauge("workqueue_depth", "Current depth of the work queue.", {"name"})
                .WithLabels({name_});
  adds_ =
      &metrics
           ->AddCounter("workqueue_adds_total", "Total number of adds to the work queue.", {"name"})
           .WithLabels({name_});
  retries_ = &metrics
                  ->AddCounter("workqueue_retries_total", "Total number of rate-limited requeues.",
                               {"name"})
                  .WithLabels({name_});
  auto buckets = ExponentialBuckets(1e-8, 10, 10);
  queue_duration_ = &metrics
                         ->AddHistogram("workqueue_queue_duration_seconds",
                                        "How long an item stays in the queue before it is "
                                        "handed to a worker.",
                                        {"name"}, buckets)
                         .WithLabels({name_});
  work_duration_ = &metrics
                        ->AddHistogram("workqueue_work_duration_seconds",
                                       "How long processing an item takes.", {"name"}, buckets)
                        .WithLabels({name_});
  unfinished_work_ = &metrics
                          ->AddGauge("workqueue_unfinished_work_seconds",
                                     "Seconds of work in progress that has not been observed by "
                                     "work_duration; large values mean stuck workers.",
                                     {"name"})
                          .WithLabels({name_});
  longest_running_ =
      &metrics
           ->AddGauge("workqueue_longest_running_processor_seconds",
                      "Seconds the longest-running item has been in process.", {"name"})
           .WithLabels({name_});
  metrics_ = metrics;
  collector_id_ = metrics->AddCollector([this] { CollectInFlight(); });
}

WorkQueue::~WorkQueue() {
  if (metrics_ != nullptr) metrics_->RemoveCollector(collector_id_);
  ShutDown();
}

void WorkQueue::CollectInFlight() {
  std::lock_guard<std::mutex> lock(mu_);
  const SteadyTime now = clock_->Steady();
  double total = 0, longest = 0;
  for (const auto& [key, started] : started_at_) {
    const double s = Seconds(now - started);
    total += s;
    longest = std::max(longest, s);
  }
  unfinished_work_->Set(total);
  longest_running_->Set(longest);
}

void WorkQueue::AddLocked(const std::string& key, Priority priority) {
  if (shutting_down_) return;
  if (adds_ != nullptr) adds_->Inc();
  if (auto it = delayed_.find(key); it != delayed_.end()) {
    // An immediate add supersedes a pending delayed one, and keeps its priority.
    if (it->second.priority == Priority::kHigh) priority = Priority::kHigh;
    delayed_.erase(it);
  }
  const bool high = priority == Priority::kHigh;
  if (dirty_.count(key) != 0) {
    if (!high || !high_.insert(key).second || processing_.count(key) != 0) return;
    // Queued as normal: it moves to the high-priority line.
    queue_.erase(std::find(queue_.begin(), queue_.end(), key));
    high_queue_.push_back(key);
    return;
  }
  dirty_.insert(key);
  if (high) high_.insert(key);
  added_at_.emplace(key, clock_->Steady());
  if (processing_.count(key) != 0) return;  // re-queued by Done
  PushLocked(key);
}

void WorkQueue::PushLocked(const std::string& key) {
  (high_.count(key) != 0 ? high_queue_ : queue_).push_back(key);
  SetDepthLocked();
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key, Priority priority) {
  std::lock_guard<std::mutex> lock(mu_);
  AddLocked(key, priority);
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::nanoseconds delay,
                         Priority priority) {
  if (delay.count() <= 0) return Add(key, priority);
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  if (dirty_.count(key) != 0) {  // already due now
    if (priority == Priority::kHigh) AddLocked(key, priority);
    return;
  }
  SteadyTime due = clock_->Steady() + delay;
  auto it = delayed_.find(key);
  if (it == delayed_.end()) {
    delayed_.emplace(key, Delayed{due, priority});
  } else {
    it->second.due = std::min(it->second.due, due);
    if (priority == Priority::kHigh) it->second.priority = priority;
  }
  cv_.notify_all();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  std::chrono::nanoseconds delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int n = failures_[key]++;
    double factor = std::pow(2.0, std::min(n, 62));
    double d = static_cast<double>(rate_limit_.base.count()) * factor;
    delay = d >= static_cast<double>(rate_limit_.max.count())
                ? rate_limit_.max
                : std::chrono::nanoseconds(static_cast<long long>(d));
    if (retries_ != nullptr) retries_->Inc();
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::PromoteDueLocked(SteadyTime now) {
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->second.due <= now) {
      std::string key = it->first;
      const Priority priority = it->second.priority;
      it = delayed_.erase(it);
      AddLocked(key, priority);
    } else {
      ++it;
    }
  }
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (shutting_down_) return std::nullopt;
    PromoteDueLocked(clock_->Steady());
    if (!queue_.empty() || !high_queue_.empty()) break;
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      SteadyTime earliest = delayed_.begin()->second.due;
      for (const auto& [k, d] : delayed_) earliest = std::min(earliest, d.due);
      auto wait = std::min<std::chrono::nanoseconds>(earliest - clock_->Steady(), kMaxDelayedWait);
      cv_.wait_for(lock, std::max(wait, std::chrono::nanoseconds(1000)));
    }
  }
  std::deque<std::string>& line = high_queue_.empty() ? queue_ : high_queue_;
  std::string key = std::move(line.front());
  line.pop_front();
  dirty_.erase(key);
  high_.erase(key);
  processing_.insert(key);
  SteadyTime now = clock_->Steady();
  if (auto it = added_at_.find(key); it != added_at_.end()) {
    if (queue_duration_ != nullptr) queue_duration_->Observe(Seconds(now - it->second));
    added_at_.erase(it);
  }
  started_at_[key] = now;
  SetDepthLocked();
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (auto it = started_at_.find(key); it != started_at_.end()) {
    if (work_duration_ != nullptr) work_duration_->Observe(Seconds(clock_->Steady() - it->second));
    started_at_.erase(it);
  }
  if (dirty_.count(key) != 0 && !shutting_down_) PushLocked(key);
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + high_queue_.size();
}

void WorkQueue::SetDepthLocked() {
  if (depth_ != nullptr) depth_->Set(static_cast<double>(queue_.size() + high_queue_.size()));
}

size_t WorkQueue::HighLen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return high_queue_.size();
}

size_t WorkQueue::DelayedLen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return delayed_.size();
}

}  // namespace brfed::runtime
