#include "runtime/leader_election.h"

#include <nlohmann/json.hpp>
#include <thread>

#include "core/log.h"
#include "kube/resource.h"

namespace brfed::runtime {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

LeaderElector::LeaderElector(std::shared_ptr<kube::Client> client, Config config, Clock* clock)
    : client_(std::move(client)), config_(std::move(config)), clock_(clock) {}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

bool LeaderElector::SleepFor(milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_; });
  return !stopping_;
}

bool LeaderElector::TryAcquireOrRenew() {
  const kube::Resource& lease = kube::resources::Lease();
  long long duration_s =
      std::max<long long>(1, duration_cast<seconds>(config_.lease_duration).count());
  std::string now = FormatRfc3339Micro(clock_->Now());
  auto current = client_->Get(lease, config_.ns, config_.name);
  if (!current.ok()) {
    if (current.status().code() != Code::kNotFound) {
      log::Warn("leader election: cannot read lease", {{"lease", config_.ns + "/" + config_.name},
                                                       {"error", current.status().ToString()}});
      return false;
    }
    Json fresh = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"namespace", config_.ns}, {"name", config_.name}}},
                  {"spec",
                   {{"holderIdentity", config_.identity},
                    {"leaseDurationSeconds", duration_s},
                    {"acquireTime", now},
                    {"renewTime", now},
                    {"leaseTransitions", 0}}}};
    auto created = client_->Create(lease, config_.ns, fresh);
    if (!created.ok()) return false;
    observed_ = std::make_shared<const Json>(*created);
    observed_rv_ = JsonStringAt(*created, {"metadata", "resourceVersion"});
    observed_at_ = clock_->Steady();
    return true;
  }
  const Json& obj = *current;
  std::string rv = JsonStringAt(obj, {"metadata", "resourceVersion"});
  if (rv != observed_rv_) {
    // Expiry is judged by our own clock from when we saw the lease change, as client-go does,
    // so clock skew between candidates does not matter.
    observed_rv_ = rv;
    observed_at_ = clock_->Steady();
    observed_ = std::make_shared<const Json>(obj);
  }
  std::string holder = JsonStringAt(obj, {"spec", "holderIdentity"});
  long long their_duration = JsonIntAt(obj, {"spec", "leaseDurationSeconds"}, duration_s);
  bool expired = clock_->Steady() >= observed_at_ + seconds(their_duration);
  if (!holder.empty() && holder != config_.identity && !expired) return false;
  Json updated = obj;
  updated["spec"]["holderIdentity"] = config_.identity;
  updated["spec"]["leaseDurationSeconds"] = duration_s;
  updated["spec"]["renewTime"] = now;
  if (holder != config_.identity) {
    updated["spec"]["acquireTime"] = now;
    updated["spec"]["leaseTransitions"] = JsonIntAt(obj, {"spec", "leaseTransitions"}) + 1;
  }
  auto written = client_->Update(lease, updated);
  if (!written.ok()) return false;
  observed_ = std::make_shared<const Json>(*written);
  observed_rv_ = JsonStringAt(*written, {"metadata", "resourceVersion"});
  observed_at_ = clock_->Steady();
  return true;
}

void LeaderElector::Release() {
  if (!observed_) return;
  Json released = *observed_;
  if (JsonStringAt(released, {"spec", "holderIdentity"}) != config_.identity) return;
  released["spec"]["holderIdentity"] = "";
  released["spec"]["leaseDurationSeconds"] = 1;
  released["spec"]["renewTime"] = FormatRfc3339Micro(clock_->Now());
  auto res = client_->Update(kube::resources::Lease(), released);
  if (!res.ok()) {
    log::Warn("leader election: cannot release lease", {{"error", res.status().ToString()}});
  }
}

Status LeaderElector::Run(std::function<void()> on_started_leading,
                          std::function<void()> on_stopped_leading) {
  if (config_.ns.empty() || config_.name.empty() || config_.identity.empty()) {
    return InvalidArgument("leader election: namespace, name and identity are required");
  }
  if (config_.retry_period.count() <= 0 || config_.renew_deadline <= config_.retry_period ||
      config_.lease_duration <= config_.renew_deadline) {
    return InvalidArgument(
        "leader election: need lease duration > renew deadline > retry period > 0");
  }
  std::string lease_name = config_.ns + "/" + config_.name;
  // Acquire.
  while (!TryAcquireOrRenew()) {
    if (!SleepFor(config_.retry_period)) return Status::Ok();
  }
  leader_ = true;
  log::Info("leader election: became leader",
            {{"lease", lease_name}, {"identity", config_.identity}});
  std::thread work;
  if (on_started_leading) work = std::thread(on_started_leading);
  // Renew.
  SteadyTime last_renew = clock_->Steady();
  while (SleepFor(config_.retry_period)) {
    if (TryAcquireOrRenew()) {
      last_renew = clock_->Steady();
      continue;
    }
    if (clock_->Steady() - last_renew >= config_.renew_deadline) {
      log::Error("leader election: lost leadership (renew deadline passed)",
                 {{"lease", lease_name}, {"identity", config_.identity}});
      break;
    }
  }
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
  }
  leader_ = false;
  if (on_stopped_leading) on_stopped_leading();
  if (work.joinable()) work.join();
  if (stopping) Release();
  return Status::Ok();
}

}  // namespace brfed::runtime
