#include "runtime/informer.h"

#include <nlohmann/json.hpp>
#include <random>

#include "core/log.h"
#include "runtime/watcher.h"

namespace brfed::runtime {

Informer::Informer(std::shared_ptr<kube::Client> client, kube::Resource resource,
                   InformerOptions options, Clock* clock)
    : client_(std::move(client)),
      resource_(std::move(resource)),
      options_(std::move(options)),
      clock_(clock) {}

Informer::Informer(std::shared_ptr<kube::Client> client, kube::Resource resource, std::string ns,
                   std::string label_selector, Clock* clock)
    : Informer(std::move(client), std::move(resource),
               InformerOptions{std::move(ns), std::move(label_selector)}, clock) {}

Informer::~Informer() { Stop(); }

void Informer::AddHandlers(InformerHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (active_watch_) active_watch_->Cancel();
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return synced_ || stopping_; });
  return synced_;
}

bool Informer::HasSynced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

Result<Json> Informer::ListAll() {
  kube::ListOptions o;
  o.label_selector = options_.label_selector;
  o.limit = options_.page_size;
  o.strip_managed_fields = options_.strip_managed_fields;
  Json merged;
  Json items = Json::array();
  while (true) {
    BRFED_ASSIGN_OR_RETURN(Json page, client_->List(resource_, options_.ns, o));
    // Moved out of the page (a const view here would copy every object).
    if (auto it = page.find("items"); it != page.end() && it->is_array()) {
      for (auto& item : *it) items.push_back(std::move(item));
    }
    o.continue_token = JsonStringAt(page, {"metadata", "continue"});
    if (o.continue_token.empty()) {
      merged = std::move(page);
      break;
    }
  }
  merged["items"] = std::move(items);
  return merged;
}

void Informer::Emit(const Cache::Change& change, bool from_relist) {
  for (const auto& h : handlers_) {
    if (change.old_obj == nullptr) {
      if (h.on_add) h.on_add(*change.new_obj);
    } else if (change.new_obj == nullptr) {
      if (from_relist && h.on_delete_unseen) {
        h.on_delete_unseen(*change.old_obj);
      } else if (h.on_delete) {
        h.on_delete(*change.old_obj);
      }
    } else if (h.on_update) {
      h.on_update(*change.old_obj, *change.new_obj);
    }
  }
}

void Informer::Run() {
  WatchMachine machine(options_.backoff);
  std::shared_ptr<kube::WatchStream> watch;
  std::mt19937 rng(std::random_device{}());
  auto stopping = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  };
  while (!stopping()) {
    for (const auto& out : TakeRelistRequest(machine)) Apply(out);
    WatchMachine::Action action = machine.Next();
    if (action.kind != WatchMachine::ActionKind::kReadEvent && watch) {
      std::lock_guard<std::mutex> lock(mu_);
      active_watch_.reset();
      watch.reset();
    }
    std::vector<WatchMachine::Output> outputs;
    switch (action.kind) {
      case WatchMachine::ActionKind::kList:
        outputs = machine.OnList(ListAll(), clock_->Steady());
        break;
      case WatchMachine::ActionKind::kStartWatch: {
        Status started =
            action.check_version ? CheckVersion(action.resource_version) : Status::Ok();
        if (started.ok()) started = StartWatch(action.resource_version, rng, watch);
        outputs = machine.OnWatchStarted(started, clock_->Steady());
        break;
      }
      case WatchMachine::ActionKind::kReadEvent: {
        auto ev = watch->Next();
        if (!ev.ok() && ev.status().code() == Code::kCancelled) continue;  // Stop
        outputs = machine.OnEvent(ev, clock_->Steady());
        break;
      }
      case WatchMachine::ActionKind::kWait: {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, action.wait, [&] { return stopping_ || !relist_why_.empty(); });
        lock.unlock();
        machine.OnWaited();
        break;
      }
    }
    for (const auto& out : outputs) Apply(out);
  }
  std::lock_guard<std::mutex> lock(mu_);
  active_watch_.reset();
}

void Informer::Relist(std::string why) {
  std::lock_guard<std::mutex> lock(mu_);
  relist_why_ = why.empty() ? "relist requested" : std::move(why);
  if (active_watch_) active_watch_->Cancel();
  cv_.notify_all();
}

std::vector<WatchMachine::Output> Informer::TakeRelistRequest(WatchMachine& machine) {
  std::string why;
  {
    std::lock_guard<std::mutex> lock(mu_);
    why.swap(relist_why_);
  }
  if (why.empty()) return {};
  // Cancelled names what happened to the watch (we stopped it), not a shutdown.
  return machine.RequestRelist(Status(Code::kCancelled, "watch stopped to relist: " + why));
}

Status Informer::CheckVersion(const std::string& resource_version) {
  kube::ListOptions o;
  o.label_selector = options_.label_selector;
  o.resource_version = resource_version;
  o.resource_version_match = "NotOlderThan";
  o.limit = 1;
  return client_->List(resource_, options_.ns, o).status();
}

Status Informer::StartWatch(const std::string& resource_version, std::mt19937& rng,
                            std::shared_ptr<kube::WatchStream>& watch) {
  kube::WatchOptions o;
  o.label_selector = options_.label_selector;
  o.resource_version = resource_version;
  int min = std::max(1, options_.watch_timeout_min_seconds);
  o.timeout_seconds = min + static_cast<int>(rng() % static_cast<unsigned>(min));
  o.idle_timeout = std::chrono::seconds(o.timeout_seconds + 30);
  o.strip_managed_fields = options_.strip_managed_fields;
  auto started = client_->Watch(resource_, options_.ns, o);
  if (!started.ok()) return started.status();
  std::lock_guard<std::mutex> lock(mu_);
  watch = std::shared_ptr<kube::WatchStream>(std::move(started).value());
  active_watch_ = watch;
  if (stopping_) watch->Cancel();
  return Status::Ok();
}

void Informer::Apply(const WatchMachine::Output& out) {
  const std::string& cluster = client_->cluster_name();
  switch (out.kind) {
    case WatchMachine::OutputKind::kReplace: {
      if (out.relist && options_.metrics != nullptr) {
        options_.metrics->Relist(cluster, resource_.String());
      }
      for (const auto& change : cache_.Replace(out.objects)) Emit(change, /*from_relist=*/true);
      std::lock_guard<std::mutex> lock(mu_);
      synced_ = true;
      cv_.notify_all();
      break;
    }
    case WatchMachine::OutputKind::kApply: {
      ObjectPtr old = cache_.Upsert(out.object);
      Emit({old, out.object}, /*from_relist=*/false);
      break;
    }
    case WatchMachine::OutputKind::kDelete: {
      ObjectPtr old = cache_.Remove(KeyOf(*out.object));
      Emit({old != nullptr ? old : out.object, nullptr}, /*from_relist=*/false);
      break;
    }
    case WatchMachine::OutputKind::kError:
      if (out.watch_restart && options_.metrics != nullptr) {
        options_.metrics->WatchRestart(cluster, resource_.String());
      }
      log::Warn("informer: " + out.error.ToString(),
                {{"cluster", cluster}, {"resource", resource_.String()}});
      break;
  }
}

}  // namespace brfed::runtime
