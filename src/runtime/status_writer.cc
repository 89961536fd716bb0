#include "runtime/status_writer.h"

#include <nlohmann/json.hpp>

#include "core/log.h"

namespace brfed::runtime {
namespace {

std::string KeyOfResource(const kube::Resource& r) {
  return r.group + "/" + r.version + "/" + r.plural;
}

}  // namespace

StatusWriter::StatusWriter(std::shared_ptr<kube::Client> client,
                           std::unique_ptr<kube::RateLimiter> limiter)
    : client_(std::move(client)), limiter_(std::move(limiter)) {}

std::optional<std::chrono::nanoseconds> StatusWriter::Busy(double reserve) {
  return limiter_ != nullptr ? limiter_->Busy(reserve) : std::nullopt;
}

std::chrono::nanoseconds StatusWriter::Reserve() {
  return limiter_ != nullptr ? limiter_->Reserve() : std::chrono::nanoseconds(0);
}

StatusWriter::Target StatusWriter::TargetOf(const kube::Resource& resource) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = targets_.find(KeyOfResource(resource));
    if (it != targets_.end()) return it->second;
  }
  Target target = Discover(resource);
  if (target != Target::kUnknown) Remember(resource, target);
  return target;
}

StatusWriter::Target StatusWriter::Discover(const kube::Resource& resource) {
  const std::string path = resource.group.empty()
                               ? "/api/" + resource.version
                               : "/apis/" + resource.group + "/" + resource.version;
  Result<Json> list = client_->Request("GET", path, nullptr);
  if (!list.ok()) return Target::kUnknown;
  const Json* resources = JsonAt(*list, {"resources"});
  if (resources == nullptr || !resources->is_array()) return Target::kUnknown;
  const std::string status_name = resource.plural + "/status";
  for (const Json& r : *resources) {
    if (JsonStringAt(r, {"name"}) == status_name) return Target::kSubresource;
  }
  return Target::kObject;
}

void StatusWriter::Remember(const kube::Resource& resource, Target target) {
  std::lock_guard<std::mutex> lock(mu_);
  targets_[KeyOfResource(resource)] = target;
}

Result<Json> StatusWriter::Patch(const kube::Resource& resource, std::string_view ns,
                                 std::string_view name, const Json& patch, Pacing pacing) {
  if (pacing == Pacing::kWait && limiter_ != nullptr) limiter_->Wait();
  const Target target = TargetOf(resource);
  if (target == Target::kObject) {
    return client_->Patch(resource, ns, name, kube::PatchType::kMerge, patch);
  }
  Result<Json> out = client_->Patch(resource, ns, name, kube::PatchType::kMerge, patch, "status");
  const Code code = out.ok() ? Code::kOk : out.status().code();
  // 403: no RBAC for */status. 404 when discovery could not tell: maybe no subresource (after
  // a discovered subresource, 404 only means the object is gone).
  if (code != Code::kForbidden && !(code == Code::kNotFound && target == Target::kUnknown)) {
    return out;
  }
  Result<Json> object = client_->Patch(resource, ns, name, kube::PatchType::kMerge, patch);
  if (object.ok()) {
    log::Info("status subresource not usable; status goes through the object from now on",
              {{"resource", resource.plural}, {"error", out.status().ToString()}});
    Remember(resource, Target::kObject);
  }
  return object;
}

}  // namespace brfed::runtime
