#include "runtime/event_recorder.h"

#include <nlohmann/json.hpp>
#include <random>

#include "core/log.h"
#include "kube/resource.h"

namespace brfed::runtime {

namespace {
constexpr size_t kMaxRemembered = 4096;

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* hex = "0123456789abcdef";
  std::string s;
  uint64_t v = rng();
  for (int i = 0; i < 16; ++i, v >>= 4) s.push_back(hex[v & 15]);
  return s;
}
}  // namespace

struct EventRecorder::Pending {
  Json involved;
  std::string type, reason, message;
  Time at;
};

struct EventRecorder::Written {
  std::string ns, name;
  long long count = 0;
};

EventRecorder::EventRecorder(std::shared_ptr<kube::Client> client, std::string component,
                             Clock* clock, size_t max_backlog)
    : client_(std::move(client)),
      component_(std::move(component)),
      clock_(clock),
      max_backlog_(max_backlog),
      thread_([this] { Run(); }) {}

EventRecorder::~EventRecorder() { Stop(); }

void EventRecorder::Record(const Json& involved_object, std::string_view type,
                           std::string_view reason, std::string_view message) {
  auto p = std::make_unique<Pending>();
  p->involved = involved_object;
  p->type = type;
  p->reason = reason;
  p->message = message;
  p->at = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || queue_.size() >= max_backlog_) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(p));
  cv_.notify_all();
}

void EventRecorder::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return (queue_.empty() && in_flight_ == 0) || !thread_.joinable(); });
}

void EventRecorder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

uint64_t EventRecorder::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void EventRecorder::Run() {
  while (true) {
    std::unique_ptr<Pending> p;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping and drained
      p = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    Write(*p);
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    cv_.notify_all();
  }
}

void EventRecorder::Write(const Pending& p) {
  const Json& obj = p.involved;
  std::string ns = JsonStringAt(obj, {"metadata", "namespace"}, "default");
  std::string name = JsonStringAt(obj, {"metadata", "name"});
  std::string uid = JsonStringAt(obj, {"metadata", "uid"});
  std::string kind = JsonStringAt(obj, {"kind"});
  std::string key =
      uid + "|" + kind + "|" + ns + "|" + name + "|" + p.type + "|" + p.reason + "|" + p.message;
  std::string ts = FormatRfc3339(p.at);
  // written_ is touched only by this thread.
  auto it = written_.find(key);
  if (it != written_.end()) {
    Written& w = *it->second;
    Json patch = {{"count", w.count + 1}, {"lastTimestamp", ts}};
    auto res =
        client_->Patch(kube::resources::Event(), w.ns, w.name, kube::PatchType::kMerge, patch);
    if (res.ok()) {
      ++w.count;
      return;
    }
    written_.erase(it);  // fall through: create a fresh Event (e.g. the old one expired)
  }
  Json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"namespace", ns}, {"name", name + "." + RandomSuffix()}}},
                {"involvedObject",
                 {{"apiVersion", JsonStringAt(obj, {"apiVersion"})},
                  {"kind", kind},
                  {"namespace", ns},
                  {"name", name},
                  {"uid", uid},
                  {"resourceVersion", JsonStringAt(obj, {"metadata", "resourceVersion"})}}},
                {"reason", p.reason},
                {"message", p.message},
                {"type", p.type},
                {"source", {{"component", component_}}},
                {"reportingComponent", component_},
                {"firstTimestamp", ts},
                {"lastTimestamp", ts},
                {"count", 1}};
  auto res = client_->Create(kube::resources::Event(), ns, event);
  if (!res.ok()) {
    log::Warn("cannot write event", {{"cluster", client_->cluster_name()},
                                     {"object", ns + "/" + name},
                                     {"reason", p.reason},
                                     {"error", res.status().ToString()}});
    return;
  }
  if (written_.size() >= kMaxRemembered) written_.clear();
  auto w = std::make_unique<Written>();
  w->ns = ns;
  w->name = JsonStringAt(*res, {"metadata", "name"});
  w->count = 1;
  written_[key] = std::move(w);
}

}  // namespace brfed::runtime
