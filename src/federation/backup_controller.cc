#include "federation/backup_controller.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "api/conditions.h"
#include "api/labels.h"
#include "api/volume_backup.h"
#include "core/log.h"
#include "kube/resource.h"
#include "runtime/store.h"

namespace brfed::federation {
namespace {

using Kind = BackupAction::Kind;

// Upstream's `tc` label: the TidbCluster names, sorted and comma-joined, duplicates kept (two
// data planes with a TidbCluster of the same name give "basic,basic", as upstream's does).
std::string CombinedTcName(const Json& volume_backup) {
  std::vector<std::string> names;
  for (const auto& c : api::VolumeBackupClusters(volume_backup)) names.push_back(c.tc_name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ",";
    out += n;
  }
  return out;
}

// Whether the member of `cluster` should exist by what the VolumeBackup says (it is being
// deleted, its status lists the member with a phase, or it is Running and `cluster` holds the
// initialize member), so that a cache miss there needs a live read before it counts as absence.
bool MemberExpected(const Json& volume_backup, const std::string& cluster) {
  if (api::IsBeingDeleted(volume_backup)) return true;
  const Json status = api::StatusOf(volume_backup);
  if (api::IsConditionTrue(status, api::volume_backup_condition::kComplete) ||
      api::IsConditionTrue(status, api::volume_backup_condition::kFailed)) {
    return false;
  }
  const auto clusters = api::VolumeBackupClusters(volume_backup);
  if (api::IsConditionTrue(status, api::volume_backup_condition::kRunning) && !clusters.empty() &&
      clusters[0].k8s_cluster_name == cluster) {
    return true;
  }
  const Json* backups = JsonAt(status, {"backups"});
  if (backups == nullptr || !backups->is_array()) return false;
  for (const Json& e : *backups) {
    if (JsonStringAt(e, {"k8sClusterName"}) == cluster && !JsonStringAt(e, {"phase"}).empty()) {
      return true;
    }
  }
  return false;
}

std::string OwnerKeyOf(const Json& member) {
  if (JsonStringAt(member, {"metadata", "labels", api::kVolumeBackupLabel}).empty()) return "";
  return JsonStringAt(member, {"metadata", "annotations", api::kOwnerAnnotation});
}

}  // namespace

VolumeBackupController::VolumeBackupController(ControllerDeps deps, BackupDecideOptions options)
    : deps_(std::move(deps)), options_(options) {
  auto* m = deps_.metrics;
  status_total_ = &m->AddCounter("fed_volume_backup_status", "VolumeBackups by final status",
                                 {"namespace", "tc", "status"});
  total_time_ =
      &m->AddCounter("fed_volume_backup_total_time_sec",
                     "Total seconds taken by finished VolumeBackups", {"namespace", "tc"});
  total_size_ = &m->AddCounter("fed_volume_backup_total_size_gb",
                               "Total size in GiB of complete VolumeBackups", {"namespace", "tc"});
  cleanup_status_ =
      &m->AddCounter("fed_volume_backup_cleanup_status", "VolumeBackup cleanups by result",
                     {"namespace", "tc", "status"});
  cleanup_time_ = &m->AddCounter("fed_volume_backup_cleanup_total_time_sec",
                                 "Total seconds from deletion to Cleaned", {"namespace", "tc"});
  hop_latency_ = &m->AddHistogram("brfed_volume_backup_hop_latency_seconds",
                                  "Time from a member Backup event to the manager's reacting write",
                                  {"cluster"}, runtime::ExponentialBuckets(0.001, 2, 16));
  gc_pause_ = &m->AddHistogram("brfed_volume_backup_gc_pause_seconds",
                               "GC and PD-scheduling pause window per VolumeBackup, as observed",
                               {"namespace"}, runtime::ExponentialBuckets(0.05, 2, 16));

  runtime::InformerOptions informer_options;
  informer_options.ns = deps_.watch_namespace;
  informer_ = std::make_unique<runtime::Informer>(
      deps_.control_plane, kube::resources::VolumeBackup(), informer_options, deps_.clock);
  controller_ = std::make_unique<runtime::Controller>(
      name_, [this](const std::string& key) { return Reconcile(key); }, deps_.workers,
      deps_.metrics, deps_.clock);
  auto enqueue = [this](const Json& obj) {
    controller_->queue().Add(runtime::KeyOf(obj).String());
  };
  informer_->AddHandlers(
      {enqueue, [enqueue](const Json&, const Json& obj) { enqueue(obj); }, enqueue});
  deps_.data_planes->AddMemberHandler(
      kube::resources::Backup(),
      [this](const std::string& cluster, const Json& member) { OnMemberEvent(cluster, member); });
  deps_.data_planes->AddClusterChangeHandler([this] { EnqueueAll(); });
}

VolumeBackupController::~VolumeBackupController() { Stop(); }

Status VolumeBackupController::Start() {
  informer_->Start();
  if (!informer_->WaitForSync(std::chrono::seconds(60))) {
    return UnavailableError("VolumeBackup cache did not sync within 60s");
  }
  controller_->Start();
  return Status::Ok();
}

void VolumeBackupController::Stop() {
  if (controller_) controller_->Stop();
  if (informer_) informer_->Stop();
}

void VolumeBackupController::OnMemberEvent(const std::string& cluster, const Json& member) {
  std::string owner = OwnerKeyOf(member);
  if (owner.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    member_event_at_.try_emplace(owner, cluster, deps_.clock->Steady());
  }
  controller_->queue().Add(owner);
}

void VolumeBackupController::EnqueueAll() {
  for (const auto& obj : informer_->store().List()) {
    controller_->queue().Add(runtime::KeyOf(*obj).String());
  }
}

BackupObservation VolumeBackupController::Observe(std::shared_ptr<const Json> volume_backup) {
  BackupObservation obs;
  obs.volume_backup = volume_backup;
  obs.known_clusters = deps_.data_planes->Names();
  obs.now = deps_.clock->Now();
  const std::string key = runtime::KeyOf(*volume_backup).String();
  const std::string member_name =
      api::MemberName(JsonStringAt(*volume_backup, {"metadata", "name"}));
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& ref : api::VolumeBackupClusters(*volume_backup)) {
    if (ref.k8s_cluster_name.empty() || obs.clusters.count(ref.k8s_cluster_name)) continue;
    BackupClusterView view;
    auto plane = deps_.data_planes->Get(ref.k8s_cluster_name);
    if (plane == nullptr) {
      view.problem = "context '" + ref.k8s_cluster_name + "' is not in the federation kubeconfig";
    } else if (plane->client == nullptr || plane->backups == nullptr) {
      view.problem = plane->problem.empty() ? "no client" : plane->problem;
    } else if (!plane->backups->HasSynced()) {
      view.problem = plane->problem.empty() ? "member cache not synced yet" : plane->problem;
    } else {
      view.reachable = true;
      view.member = plane->backups->store().Get({ref.tc_namespace, member_name});
    }
    auto it = permanent_errors_.find(key + "|" + ref.k8s_cluster_name);
    if (it != permanent_errors_.end()) {
      if (deps_.clock->Steady() - it->second.second < deps_.resync) {
        view.permanent_error = it->second.first;
      } else {
        permanent_errors_.erase(it);
      }
    }
    obs.clusters[ref.k8s_cluster_name] = std::move(view);
  }
  return obs;
}

// A cache miss alone must never fail a backup, mark it Cleaned or lead to a second create: where
// the member should exist, a live GET confirms its absence. The same read finds the members the
// Go br-federation-manager built, which carry none of our labels and so are in no cache of ours.
void VolumeBackupController::ReadMissingMembers(const Json& volume_backup, BackupObservation& obs) {
  const std::string key = runtime::KeyOf(volume_backup).String();
  const std::string member_name =
      api::MemberName(JsonStringAt(volume_backup, {"metadata", "name"}));
  for (const auto& ref : api::VolumeBackupClusters(volume_backup)) {
    auto it = obs.clusters.find(ref.k8s_cluster_name);
    if (it == obs.clusters.end() || !it->second.reachable || it->second.member != nullptr) {
      continue;
    }
    bool flagged;
    {
      std::lock_guard<std::mutex> lock(mu_);
      flagged = exists_uncached_.erase(key + "|" + ref.k8s_cluster_name) > 0;
    }
    if (!flagged && !MemberExpected(volume_backup, ref.k8s_cluster_name)) continue;
    auto plane = deps_.data_planes->Get(ref.k8s_cluster_name);
    if (plane == nullptr || plane->client == nullptr) continue;
    BackupClusterView& view = it->second;
    auto read = plane->client->Get(kube::resources::Backup(), ref.tc_namespace, member_name);
    if (read.status().code() == Code::kNotFound) continue;
    if (!read.ok()) {
      view.reachable = false;
      view.problem = "cannot read member " + member_name + ": " + read.status().ToString();
      continue;
    }
    auto found = std::make_shared<const Json>(std::move(*read));
    const bool marked = !JsonStringAt(*found, {"metadata", "labels", api::kManagedByLabel}).empty();
    (marked ? view.member : view.unmarked_member) = found;
    log::Info(
        "member read past the cache",
        {{"object", key}, {"cluster", ref.k8s_cluster_name}, {"marked", marked ? "yes" : "no"}});
  }
}

Result<runtime::ReconcileOutcome> VolumeBackupController::Reconcile(const std::string& key) {
  auto volume_backup = informer_->store().Get(ObjectKey::Parse(key));
  if (volume_backup == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    member_event_at_.erase(key);
    return runtime::ReconcileOutcome{};
  }
  BackupObservation observation = Observe(volume_backup);
  ReadMissingMembers(*volume_backup, observation);
  BackupDecision decision = DecideVolumeBackup(observation, options_);
  Status acted = Act(key, decision);
  if (!acted.ok()) return acted;
  for (const auto& e : decision.events) {
    deps_.events->Record(*volume_backup, e.type, e.reason, e.message);
    log::Info("volume backup event",
              {{"object", key}, {"reason", e.reason}, {"message", e.message}});
  }
  RecordMetrics(*volume_backup, decision);
  runtime::ReconcileOutcome outcome;
  outcome.requeue_after = decision.requeue_after;
  const Json& status = *decision.status;
  const std::string phase = JsonStringAt(status, {"phase"});
  const bool finished = (phase == "Complete" || phase == "Failed" || phase == "Invalid") &&
                        !api::IsBeingDeleted(*volume_backup);
  if (!finished) {
    auto resync = std::chrono::duration_cast<std::chrono::nanoseconds>(deps_.resync);
    if (!outcome.requeue_after || *outcome.requeue_after > resync) outcome.requeue_after = resync;
  }
  return outcome;
}

Status VolumeBackupController::Act(const std::string& key, const BackupDecision& decision) {
  const auto& backup_resource = kube::resources::Backup();
  const auto& vb_resource = kube::resources::VolumeBackup();
  for (const BackupAction& a : decision.actions) {
    Status st;
    std::shared_ptr<kube::Client> client = deps_.control_plane;
    if (!a.cluster.empty()) {
      auto plane = deps_.data_planes->Get(a.cluster);
      if (plane == nullptr || plane->client == nullptr) {
        return UnavailableError("cluster " + a.cluster + " went away");
      }
      client = plane->client;
    }
    switch (a.kind) {
      case Kind::kCreateMember: {
        auto r = client->Create(backup_resource, a.ns, *a.body);
        st = r.status();
        if (st.code() == Code::kAlreadyExists) {
          // Our cache has not seen it yet, or it is not ours to see (the Go manager's): the
          // next observation reads it.
          std::lock_guard<std::mutex> lock(mu_);
          exists_uncached_.insert(key + "|" + a.cluster);
          return Status(Code::kConflict, "member " + a.name + " in cluster " + a.cluster +
                                             " exists but is not in the cache yet");
        }
        if (!st.ok() && !st.IsRetryable()) {
          std::lock_guard<std::mutex> lock(mu_);
          permanent_errors_[key + "|" + a.cluster] = {st.ToString(), deps_.clock->Steady()};
          log::Warn("cannot create member",
                    {{"object", key}, {"cluster", a.cluster}, {"error", st.ToString()}});
          // Decide again at once: the error now fails (or invalidates) the backup.
          return Status(Code::kConflict, "member create failed permanently; re-deciding");
        }
        break;
      }
      case Kind::kPatchMember:
        st =
            client->Patch(backup_resource, a.ns, a.name, kube::PatchType::kMerge, *a.body).status();
        break;
      case Kind::kDeleteMember:
        st = client->Delete(backup_resource, a.ns, a.name);
        if (st.code() == Code::kNotFound) st = Status::Ok();
        break;
      case Kind::kPatchVolumeBackup:
        st = client->Patch(vb_resource, a.ns, a.name, kube::PatchType::kMerge, *a.body).status();
        break;
      case Kind::kPatchVolumeBackupStatus:
        st = client->Patch(vb_resource, a.ns, a.name, kube::PatchType::kMerge, *a.body, "status")
                 .status();
        break;
    }
    if (!st.ok()) {
      log::Warn("volume backup action failed",
                {{"object", key}, {"cluster", a.cluster}, {"error", st.ToString()}});
      return st.Annotate("cluster " +
                         (a.cluster.empty() ? std::string("control-plane") : a.cluster));
    }
    if (!a.cluster.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = member_event_at_.find(key);
      if (it != member_event_at_.end()) {
        hop_latency_->WithLabels({it->second.first})
            .Observe(
                std::chrono::duration<double>(deps_.clock->Steady() - it->second.second).count());
        member_event_at_.erase(it);
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  member_event_at_.erase(key);
  return Status::Ok();
}

void VolumeBackupController::RecordMetrics(const Json& volume_backup,
                                           const BackupDecision& decision) {
  const std::string ns = JsonStringAt(volume_backup, {"metadata", "namespace"});
  const std::string tc = CombinedTcName(volume_backup);
  // Every status series exists from the first reconcile, at 0, as upstream pre-creates them
  // (so rate() and absent() work before the first backup of a TidbCluster ends).
  for (const char* status : {"Running", "SnapshotsCreated", "Complete", "Failed", "Cleaned"}) {
    status_total_->WithLabels({ns, tc, status});
  }
  if (!decision.finished_phase.empty()) {
    status_total_->WithLabels({ns, tc, decision.finished_phase}).Inc();
    if (decision.total_seconds) total_time_->WithLabels({ns, tc}).Inc(*decision.total_seconds);
    if (decision.total_size_bytes > 0) {
      total_size_->WithLabels({ns, tc}).Inc(static_cast<double>(decision.total_size_bytes) /
                                            (1024.0 * 1024.0 * 1024.0));
    }
  }
  if (!decision.cleanup_phase.empty()) {
    cleanup_status_->WithLabels({ns, tc, decision.cleanup_phase}).Inc();
    if (decision.cleanup_seconds)
      cleanup_time_->WithLabels({ns, tc}).Inc(*decision.cleanup_seconds);
  }
  if (decision.gc_pause_seconds) gc_pause_->WithLabels({ns}).Observe(*decision.gc_pause_seconds);
}

}  // namespace brfed::federation
