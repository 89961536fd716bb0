#include "federation/federation_controller.h"

#include <nlohmann/json.hpp>

#include "api/metadata.h"

namespace brfed::federation {
namespace {

// `cluster`'s member cache of `member_resource` (Backups, else Restores); null when none.
std::shared_ptr<runtime::Informer> MemberInformer(const DataPlanes& planes,
                                                  const std::string& cluster,
                                                  const kube::Resource& member_resource) {
  auto plane = planes.Get(cluster);
  if (plane == nullptr) return nullptr;
  return member_resource.SameAs(kube::resources::Backup()) ? plane->backups : plane->restores;
}

}  // namespace

StaleMemberCacheFn MemberCacheRelister(const DataPlanes* planes) {
  return
      [planes](const std::string& cluster, const kube::Resource& resource, const std::string& why) {
        if (planes == nullptr) return;
        if (auto members = MemberInformer(*planes, cluster, resource)) members->Relist(why);
      };
}

std::vector<OrphanedMember> CachedMembersOwnedBy(const DataPlanes& planes,
                                                 const kube::Resource& member_resource,
                                                 std::string_view owner_label,
                                                 const std::string& key) {
  std::vector<OrphanedMember> out;
  for (const std::string& cluster : planes.Names()) {
    const auto members = MemberInformer(planes, cluster, member_resource);
    if (members == nullptr || !members->HasSynced() || !planes.UnreachableError(cluster).empty()) {
      continue;
    }
    for (const runtime::ObjectPtr& m : members->cache().List()) {
      if (api::OwnerKeyOf(*m, owner_label) == key) out.push_back({cluster, m});
    }
  }
  return out;
}

std::optional<Result<runtime::ReconcileOutcome>> WaitUnlessOwnerGone(
    kube::Client& control_plane, const kube::Resource& owner_resource, const ObjectKey& owner) {
  Status read = control_plane.Get(owner_resource, owner.ns, owner.name).status();
  if (read.ok()) return runtime::ReconcileOutcome{std::chrono::nanoseconds(kOrphanRecheck)};
  if (read.code() != Code::kNotFound) return read;
  return std::nullopt;
}

Executor NewExecutor(const ControllerDeps& deps, WritePacing pacing) {
  if (!pacing.on_stale_member_cache) {
    pacing.on_stale_member_cache = MemberCacheRelister(deps.data_planes);
  }
  auto control_plane = deps.control_plane;
  DataPlanes* planes = deps.data_planes;
  auto clients = [control_plane, planes](const std::string& cluster) {
    if (cluster.empty()) return control_plane;
    auto plane = planes != nullptr ? planes->Get(cluster) : nullptr;
    return plane != nullptr ? plane->client : nullptr;
  };
  if (!pacing.busy) {
    pacing.busy = [planes, status = deps.status_writer,
                   control = deps.control_plane_limiter](const std::string& cluster) {
      auto plane = planes != nullptr && !cluster.empty() ? planes->Get(cluster) : nullptr;
      kube::RateLimiter* bucket = cluster.empty()    ? control.get()
                                  : plane != nullptr ? plane->limiter.get()
                                                     : nullptr;
      std::optional<std::chrono::nanoseconds> busy;
      if (bucket != nullptr) busy = bucket->Busy(kPauseReserve);
      if (!busy && status != nullptr) busy = status->Busy(kPauseReserve);
      return busy;
    };
  }
  if (pacing.status_batcher != nullptr && pacing.mirror_status_reserve == 0) {
    pacing.mirror_status_reserve = kPauseReserve;
  }
  if (!pacing.cached_rv) {
    pacing.cached_rv = [planes](const Write& w) -> std::string {
      if (planes == nullptr || w.resource == nullptr) return "";
      const auto members = MemberInformer(*planes, w.cluster, *w.resource);
      auto cached = members != nullptr ? members->cache().Get(ObjectKey{w.ns, w.name}) : nullptr;
      return cached != nullptr ? JsonStringAt(*cached, {"metadata", "resourceVersion"}) : "";
    };
  }
  if (!pacing.pause_clients) {
    pacing.pause_clients = [planes](const std::string& cluster) {
      auto plane = planes != nullptr && !cluster.empty() ? planes->Get(cluster) : nullptr;
      return plane != nullptr ? plane->pause_client : nullptr;
    };
  }
  return Executor(std::move(clients), deps.status_writer, NewExecutorEventSink(deps), pacing);
}

EventSink NewExecutorEventSink(const ControllerDeps& deps) {
  if (deps.events == nullptr) return {};
  return [recorder = deps.events](const Json& object, std::string_view type,
                                  std::string_view reason, std::string_view message) {
    recorder->Record(object, type, reason, message);
  };
}

runtime::ReconcileOutcome WithResyncSafetyNet(std::optional<std::chrono::nanoseconds> requeue_after,
                                              bool live, std::chrono::seconds resync) {
  runtime::ReconcileOutcome outcome;
  outcome.requeue_after = requeue_after;
  const std::chrono::nanoseconds net = resync;
  if (live && (!outcome.requeue_after || *outcome.requeue_after > net)) {
    outcome.requeue_after = net;
  }
  return outcome;
}

Status StartInformers(const ControllerDeps& deps,
                      const std::vector<runtime::Informer*>& informers) {
  deps.informers->Start();
  return runtime::SharedInformerFactory::WaitForSync(informers, std::chrono::seconds(60));
}

}  // namespace brfed::federation
