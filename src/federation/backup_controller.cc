#include "federation/backup_controller.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "api/backup_member.h"
#include "api/conditions.h"
#include "api/labels.h"
#include "api/metadata.h"
#include "api/volume_backup.h"
#include "core/log.h"
#include "kube/resource.h"
#include "runtime/cache.h"
#include "runtime/event_mappers.h"

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

// Why a status write was made, for brfed_volume_backup_status_writes_total: "member_mirror"
// (only status.backups[] changed, at the end of a batch window), the reason of the decision's
// first Event (a protocol transition), or "status" (a change without an Event).
std::string StatusWriteCause(const Write& write, const BackupDecision& decision) {
  if (write.may_wait) return "member_mirror";
  return decision.events.empty() ? "status" : decision.events.front().reason;
}

}  // namespace

VolumeBackupController::VolumeBackupController(ControllerDeps deps, BackupDecideOptions options)
    : deps_(std::move(deps)),
      options_(options),
      expectations_(deps_.clock),
      status_batcher_(deps_.clock, kMemberMirrorBatchWindow, kMemberMirrorMaxBatchWindow),
      executor_(NewExecutor(deps_, Pacing())),
      admission_line_(deps_.clock, kAdmissionMinSpacing, kAdmissionMaxWait, kAdmissionForgetAfter) {
  options_.gc_pause_budget = deps_.gc_pause_budget;
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
  status_writes_ = &m->AddCounter(
      "brfed_volume_backup_status_writes_total",
      "VolumeBackup status writes answered, by cause: member_mirror (status.backups[] only), "
      "the Event reason of the protocol transition written, or status (no Event)",
      {"cause"});
  pause_budget_exceeded_ = &m->AddCounter(
      "brfed_volume_backup_pause_budget_exceeded_total",
      "VolumeBackups failed because not every member created its snapshots within the GC-pause "
      "budget",
      {"namespace"});
  // 3.125 ms .. 819.2 s: resolves 5 ms to 600 s, and keeps 819.2 s, which the pause alert uses.
  const std::vector<double> pause_buckets = runtime::ExponentialBuckets(0.003125, 2, 19);
  gc_pause_ = &m->AddHistogram("brfed_volume_backup_gc_pause_seconds",
                               "GC and PD-scheduling pause window per VolumeBackup, as the manager "
                               "saw it (Initialized event -> release seen or teardown sent)",
                               {"namespace"}, pause_buckets);
  gc_pause_control_plane_ = &m->AddHistogram(
      "brfed_volume_backup_gc_pause_control_plane_seconds",
      "Part of the GC-pause window spent waiting on the manager: Initialized event -> last "
      "execute write answered, plus last SnapshotsCreated event -> resumeGcSchedule answered",
      {"namespace"}, pause_buckets);

  informer_ = deps_.informers->For(kube::resources::VolumeBackup());
  controller_ = std::make_unique<runtime::Controller>(
      name_, [this](const std::string& key) { return Reconcile(key); }, deps_.workers,
      deps_.metrics, deps_.clock);
  informer_->AddHandlers(
      runtime::EnqueueMapped(&controller_->queue(), runtime::ObjectKeyMapper(),
                             [this](const std::string& key) { return PriorityOf(key); }));
  deps_.data_planes->AddMemberHandler(
      kube::resources::Backup(), [this](const std::string& cluster, const Json& member) {
        for (const std::string& key : OnMemberEvent(cluster, member)) {
          controller_->queue().Add(key, PriorityOf(key));
        }
      });
  deps_.data_planes->AddClusterChangeHandler(
      [this] { runtime::EnqueueAll(informer_->cache(), &controller_->queue()); });
}

VolumeBackupController::~VolumeBackupController() { Stop(); }

Status VolumeBackupController::Start() {
  BRFED_RETURN_IF_ERROR(StartInformers(deps_, {informer_.get()}));
  controller_->Start();
  return Status::Ok();
}

// The shared informers are stopped by their factory's owner, after every controller.
void VolumeBackupController::Stop() {
  if (controller_) controller_->Stop();
}

WritePacing VolumeBackupController::Pacing() {
  WritePacing pacing{&expectations_, &status_batcher_};
  pacing.backlogged = [this] {
    return controller_ != nullptr && controller_->queue().HighLen() > 0;
  };
  return pacing;
}

void VolumeBackupController::LeaveAdmissionLine(const std::string& key) {
  if (auto next = admission_line_.Leave(key)) controller_->queue().Add(*next);
}

runtime::WorkQueue::Priority VolumeBackupController::PriorityOf(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return pause_seen_.count(key) != 0 ? runtime::WorkQueue::Priority::kHigh
                                     : runtime::WorkQueue::Priority::kNormal;
}

std::vector<std::string> VolumeBackupController::OnMemberEvent(const std::string& cluster,
                                                               const Json& member) {
  std::string owner = api::OwnerKeyOf(member, api::kVolumeBackupLabel);
  if (owner.empty()) return {};
  std::lock_guard<std::mutex> lock(mu_);
  member_event_at_.try_emplace(owner, cluster, deps_.clock->Steady());
  NotePauseEvent(owner, cluster, member);
  return {owner};
}

// Only members inside a pause window count, so a relist of finished backups records nothing.
void VolumeBackupController::NotePauseEvent(const std::string& key, const std::string& cluster,
                                            const Json& member) {
  if (api::IsMemberTerminal(member) ||
      api::MemberFederalPhase(member) == api::federal_backup_phase::kTeardown) {
    return;
  }
  const bool holds = api::IsMemberPauseHeld(member);
  const bool snapshots = api::IsVolumeBackupSnapshotsCreated(member);
  if (!holds && !snapshots) return;
  PauseSeen& seen = pause_seen_[key];
  const Time now = deps_.clock->Now();
  if (holds && !seen.marks.initialized_seen) seen.marks.initialized_seen = now;
  if (snapshots) seen.snapshots_seen.try_emplace(cluster, now);
}

// The execute writes and resumeGcSchedule of a window this manager saw open.
void VolumeBackupController::NotePauseWrite(const std::string& key, const Write& write) {
  if (write.cluster.empty() || write.body == nullptr) return;
  const bool execute = JsonStringAt(*write.body, {"spec", "federalVolumeBackupPhase"}) ==
                       api::federal_backup_phase::kExecute;
  const bool resume = JsonBoolAt(*write.body, {"spec", "resumeGcSchedule"});
  if (!execute && !resume) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pause_seen_.find(key);
  if (it == pause_seen_.end()) return;
  const Time now = deps_.clock->Now();
  if (execute) it->second.marks.execute_written = now;
  if (resume && !it->second.marks.resume_written) it->second.marks.resume_written = now;
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
    } else if (view.unreachable_error = deps_.data_planes->UnreachableError(ref.k8s_cluster_name);
               !view.unreachable_error.empty()) {
      // Its cache may be stale and any action would hang: wait for it, let the others go on.
      view.problem = "its API server does not answer: " + view.unreachable_error;
    } else {
      view.reachable = true;
      view.member = plane->backups->cache().Get({ref.tc_namespace, member_name});
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
  if (auto it = pause_seen_.find(key); it != pause_seen_.end()) {
    obs.gc_pause = it->second.marks;
    for (const auto& [cluster, at] : it->second.snapshots_seen) {
      obs.gc_pause.snapshots_seen = std::max(obs.gc_pause.snapshots_seen.value_or(at), at);
    }
  }
  obs.gc_pause.window_recorded = pause_recorded_.count(key) > 0;
  if (auto it = teardown_seen_.find(key); it != teardown_seen_.end())
    obs.teardown_seen = it->second;
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
  auto volume_backup = informer_->cache().Get(ObjectKey::Parse(key));
  if (volume_backup == nullptr) {
    const ObjectKey object = ObjectKey::Parse(key);
    const std::string id = ObjectIdOf("", kube::resources::VolumeBackup(), object.ns, object.name);
    expectations_.Forget(id);
    status_batcher_.Written(id);
    {
      std::lock_guard<std::mutex> lock(mu_);
      member_event_at_.erase(key);
      pause_seen_.erase(key);
      pause_recorded_.erase(key);
      teardown_seen_.erase(key);
      held_status_.erase(key);
    }
    LeaveAdmissionLine(key);
    return StopOrphanedMembers(key);
  }
  // Observe: the caches, then a live read where the cache misses a member that should exist.
  std::shared_ptr<const Json> decided_on = WithHeldStatus(key, volume_backup);
  BackupObservation observation = Observe(decided_on);
  if (auto wait = AwaitOwnWrites(*volume_backup, observation)) {
    // The watch event of our own write enqueues the key again; `wait` bounds the wait.
    return runtime::ReconcileOutcome{*wait};
  }
  ReadMissingMembers(*decided_on, observation);
  BackupDecision decision = DecideVolumeBackup(observation, options_);
  if (decided_on != volume_backup) RebaseStatusWrite(key, *volume_backup, decision);
  if (auto stopped = Act(key, decision, volume_backup.get())) return *stopped;
  executor_.Record(*volume_backup, key, decision.events);
  RecordMetrics(*volume_backup, decision);
  const std::string phase = JsonStringAt(*decision.status, {"phase"});
  const bool finished = (phase == "Complete" || phase == "Failed" || phase == "Invalid") &&
                        !api::IsBeingDeleted(*volume_backup);
  return WithResyncSafetyNet(decision.requeue_after, !finished, deps_.resync);
}

Result<runtime::ReconcileOutcome> VolumeBackupController::StopOrphanedMembers(
    const std::string& key) {
  const ObjectKey object = ObjectKey::Parse(key);
  // A namespace-scoped manager sees the members of other namespaces' VolumeBackups (another
  // manager's, which it may not even read): not ours to judge.
  if (!informer_->ns().empty() && object.ns != informer_->ns()) return runtime::ReconcileOutcome{};
  std::vector<OrphanedMember> orphans = CachedMembersOwnedBy(
      *deps_.data_planes, kube::resources::Backup(), api::kVolumeBackupLabel, key);
  BackupDecision decision;
  decision.actions = DecideOrphanedMembers(orphans);
  if (decision.actions.empty()) return runtime::ReconcileOutcome{};
  if (auto wait =
          WaitUnlessOwnerGone(*deps_.control_plane, kube::resources::VolumeBackup(), object)) {
    return *wait;
  }
  for (const OrphanedMember& o : orphans) {
    log::Warn(
        "deleting a member whose VolumeBackup no longer exists",
        {{"object", key}, {"cluster", o.cluster}, {"member", runtime::KeyOf(*o.member).String()}});
  }
  if (auto stopped = Act(key, decision)) return *stopped;
  return runtime::ReconcileOutcome{};
}

namespace {

// The Write that carries out `a`.
Write ToWrite(const BackupAction& a) {
  Write w;
  w.cluster = a.cluster;
  w.ns = a.ns;
  w.name = a.name;
  w.body = a.body;
  w.resource = a.cluster.empty() ? &kube::resources::VolumeBackup() : &kube::resources::Backup();
  // Every member write but the one opening a pause is one a pause may be waiting for (the
  // execute creates and patch, resumeGcSchedule, teardown, stops); none can flood the cluster,
  // since each open pause needs a few of them at most.
  w.pause_critical = !a.cluster.empty() && a.admission_on.empty();
  w.admission_on = a.admission_on;
  switch (a.kind) {
    case Kind::kCreateMember:
      w.verb = Write::Verb::kCreate;
      // Our cache has not seen it yet: the decision waits until it has.
      w.exists_means_decide_again = true;
      break;
    case Kind::kPatchMember:
    case Kind::kPatchVolumeBackup:
      w.verb = Write::Verb::kMergePatch;
      break;
    case Kind::kDeleteMember:
      w.verb = Write::Verb::kDelete;
      w.propagation_policy = a.propagation_policy;
      break;
    case Kind::kPatchVolumeBackupStatus:
      w.verb = Write::Verb::kPatchStatus;
      w.may_wait = a.may_wait;
      break;
  }
  return w;
}

}  // namespace

std::optional<std::chrono::nanoseconds> VolumeBackupController::AwaitOwnWrites(
    const Json& volume_backup, const BackupObservation& obs) {
  const std::string ns = JsonStringAt(volume_backup, {"metadata", "namespace"});
  const std::string name = JsonStringAt(volume_backup, {"metadata", "name"});
  std::optional<std::chrono::nanoseconds> wait =
      expectations_.Pending(ObjectIdOf("", kube::resources::VolumeBackup(), ns, name),
                            JsonStringAt(volume_backup, {"metadata", "resourceVersion"}));
  for (const auto& ref : api::VolumeBackupClusters(volume_backup)) {
    auto it = obs.clusters.find(ref.k8s_cluster_name);
    if (it == obs.clusters.end() || !it->second.reachable) continue;
    const auto& member = it->second.member;
    auto member_wait = expectations_.Pending(
        ObjectIdOf(ref.k8s_cluster_name, kube::resources::Backup(), ref.tc_namespace,
                   api::MemberName(name)),
        member != nullptr ? JsonStringAt(*member, {"metadata", "resourceVersion"}) : "");
    if (member_wait && (!wait || *member_wait < *wait)) wait = member_wait;
  }
  if (wait) {
    log::Debug("cache older than our last write; waiting for its watch event",
               {{"object", runtime::KeyOf(volume_backup).String()}});
  }
  return wait;
}

std::shared_ptr<const Json> VolumeBackupController::WithHeldStatus(
    const std::string& key, std::shared_ptr<const Json> cached) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_status_.find(key);
  if (it == held_status_.end()) return cached;
  if (JsonStringAt(*cached, {"metadata", "uid"}) != it->second.uid ||
      api::StatusOf(*cached) != *it->second.base) {
    // Our write landed (and was forgotten), someone else wrote status, or this is a new
    // VolumeBackup of the same name: the cache decides.
    held_status_.erase(it);
    return cached;
  }
  auto with_held = std::make_shared<Json>(*cached);
  (*with_held)["status"] = *it->second.status;
  return with_held;
}

void VolumeBackupController::RebaseStatusWrite(const std::string& key, const Json& cached,
                                               BackupDecision& decision) {
  bool held_may_wait;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = held_status_.find(key);
    if (it == held_status_.end()) return;
    held_may_wait = it->second.may_wait;
  }
  auto& actions = decision.actions;
  bool may_wait = held_may_wait;
  bool metadata = false;
  for (auto a = actions.begin(); a != actions.end();) {
    metadata = metadata || a->kind == BackupAction::Kind::kPatchVolumeBackup;
    if (a->kind != BackupAction::Kind::kPatchVolumeBackupStatus) {
      ++a;
      continue;
    }
    may_wait = may_wait && a->may_wait;
    a = actions.erase(a);
  }
  // A metadata patch changes the resourceVersion; the held status waits for the next pass.
  if (metadata) return;
  if (auto write = StatusWriteAction(cached, *decision.status, may_wait)) {
    actions.push_back(std::move(*write));
  }
}

void VolumeBackupController::KeepHeldStatus(const std::string& key, const Json& cached,
                                            const BackupDecision& decision,
                                            const ExecuteResult& result) {
  if (!result.ok()) return;
  const BackupAction* status_write = nullptr;
  bool metadata = false;
  for (const BackupAction& a : decision.actions) {
    if (a.kind == BackupAction::Kind::kPatchVolumeBackupStatus) status_write = &a;
    metadata = metadata || a.kind == BackupAction::Kind::kPatchVolumeBackup;
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Written, or nothing left to write (the decided status is the cached one): nothing held.
  // Next to a metadata patch a held status stays for the next pass (RebaseStatusWrite).
  if (status_write == nullptr ? !metadata : !result.held_for) {
    held_status_.erase(key);
    return;
  }
  if (status_write == nullptr) return;
  HeldStatus& held = held_status_[key];
  const bool transition = !status_write->may_wait;
  if (transition || held.cause.empty()) {
    held.cause = StatusWriteCause(ToWrite(*status_write), decision);
  }
  held.uid = JsonStringAt(cached, {"metadata", "uid"});
  held.base = std::make_shared<const Json>(api::StatusOf(cached));
  held.status = decision.status;
  held.may_wait = status_write->may_wait;
}

std::optional<Result<runtime::ReconcileOutcome>> VolumeBackupController::Act(
    const std::string& key, BackupDecision& decision, const Json* volume_backup) {
  std::vector<Write> writes;
  for (const BackupAction& a : decision.actions) writes.push_back(ToWrite(a));
  std::string held_cause;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = held_status_.find(key); it != held_status_.end()) held_cause = it->second.cause;
  }
  ExecuteResult result = executor_.Execute(key, writes, [&](const Write& w, const Json&) {
    if (!w.cluster.empty()) ObserveHopLatency(key);
    if (w.verb == Write::Verb::kPatchStatus) {
      // A write carrying a held transition counts as that transition.
      const bool own_transition = !w.may_wait && !decision.events.empty();
      status_writes_
          ->WithLabels(
              {own_transition || held_cause.empty() ? StatusWriteCause(w, decision) : held_cause})
          .Inc();
    }
    NotePauseWrite(key, w);
  });
  if (result.deferred_for) {
    return runtime::ReconcileOutcome{admission_line_.Wait(key, *result.deferred_for)};
  }
  LeaveAdmissionLine(key);
  if (volume_backup != nullptr) KeepHeldStatus(key, *volume_backup, decision, result);
  if (result.held_for) decision.RequeueWithin(*result.held_for);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (result.ok()) member_event_at_.erase(key);
    // The window is closed (its share recorded) or the backup is over: nothing more to see.
    if (result.ok() && (decision.gc_pause_seconds || !decision.finished_phase.empty())) {
      pause_seen_.erase(key);
    }
    if (result.ok() && decision.gc_pause_seconds) pause_recorded_.insert(key);
    if (result.ok() && decision.finished_phase == "Complete") pause_recorded_.erase(key);
    if (result.ok() && decision.tears_down && decision.finished_phase.empty()) {
      teardown_seen_.try_emplace(key, deps_.clock->Now());
    } else if (result.ok() && !decision.finished_phase.empty()) {
      teardown_seen_.erase(key);
    }
  }
  if (result.ok()) return std::nullopt;
  if (result.decide_again) {
    // A create found the member already there: our cache has not seen it yet, or it is not ours
    // to see (the Go manager's); the next observation reads it past the cache. (A patch decided
    // on an older cache needs no read: the cache has the newer member.)
    std::lock_guard<std::mutex> lock(mu_);
    if (result.failed->verb == Write::Verb::kCreate) {
      exists_uncached_.insert(key + "|" + result.failed->cluster);
    }
    return runtime::ReconcileOutcome::DecideAgain();
  }
  const Write& failed = *result.failed;
  if (failed.verb == Write::Verb::kCreate && !failed.cluster.empty() &&
      !result.error.IsRetryable()) {
    // Retrying will not fix it (Forbidden, Invalid, no namespace ...): the next decision fails
    // (or invalidates) the backup with this error, at once.
    std::lock_guard<std::mutex> lock(mu_);
    permanent_errors_[key + "|" + failed.cluster] = {result.error.ToString(),
                                                     deps_.clock->Steady()};
    return runtime::ReconcileOutcome::DecideAgain();
  }
  return result.error;
}

void VolumeBackupController::ObserveHopLatency(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = member_event_at_.find(key);
  if (it == member_event_at_.end()) return;
  hop_latency_->WithLabels({it->second.first})
      .Observe(std::chrono::duration<double>(deps_.clock->Steady() - it->second.second).count());
  member_event_at_.erase(it);
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
  if (decision.pause_budget_exceeded) pause_budget_exceeded_->WithLabels({ns}).Inc();
  if (decision.gc_pause_seconds) gc_pause_->WithLabels({ns}).Observe(*decision.gc_pause_seconds);
  if (decision.gc_pause_control_plane_seconds) {
    gc_pause_control_plane_->WithLabels({ns}).Observe(*decision.gc_pause_control_plane_seconds);
  }
}

}  // namespace brfed::federation
