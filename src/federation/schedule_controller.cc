#include "federation/schedule_controller.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "api/labels.h"
#include "api/volume_backup.h"
#include "core/log.h"
#include "core/strings.h"
#include "federation/schedule_decide.h"
#include "runtime/write_expectations.h"

namespace brfed::federation {
namespace {

// Whether resourceVersion `a` is below `b`; false when either is not a plain number.
bool VersionBelow(const std::string& a, const std::string& b) {
  const auto x = runtime::ParseRevision(a), y = runtime::ParseRevision(b);
  return x && y && *x < *y;
}

std::string NameOf(const Json& o) { return JsonStringAt(o, {"metadata", "name"}); }
std::string NamespaceOf(const Json& o) { return JsonStringAt(o, {"metadata", "namespace"}); }
std::string LabelOf(const Json& o, std::string_view key) {
  const Json* labels = JsonAt(o, {"metadata", "labels"});
  if (labels == nullptr || !labels->is_object()) return "";
  auto it = labels->find(std::string(key));
  return it != labels->end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::function<Status(const Json&)> VolumeBackupValidator(
    std::function<std::vector<std::string>()> known_clusters) {
  return [known_clusters = std::move(known_clusters)](const Json& vb) {
    std::string message = Join(api::ValidateVolumeBackup(vb, known_clusters()), "; ",
                               [](const api::ValidationIssue& issue) { return issue.message; });
    return message.empty() ? Status::Ok() : Status(Code::kInvalid, "backupTemplate: " + message);
  };
}

ScheduleController::ScheduleController(ScheduleControllerDeps deps) : deps_(std::move(deps)) {}

std::vector<runtime::ObjectPtr> ScheduleController::BackupsOf(
    const std::vector<runtime::ObjectPtr>& all, std::string_view schedule) const {
  std::vector<runtime::ObjectPtr> out;
  for (const runtime::ObjectPtr& b : all) {
    if (LabelOf(*b, api::kBackupScheduleLabel) == schedule) out.push_back(b);
  }
  return out;
}

std::vector<std::string> ScheduleController::GroupKeys(std::string_view ns,
                                                       std::string_view group) const {
  std::vector<std::string> keys;
  if (group.empty()) return keys;
  for (const runtime::ObjectPtr& s : deps_.list_schedules(ns)) {
    if (LabelOf(*s, api::kBackupScheduleGroupLabel) == group) {
      keys.push_back(std::string(ns) + "/" + NameOf(*s));
    }
  }
  return keys;
}

std::vector<std::string> ScheduleController::KeysForSchedule(const Json& schedule) const {
  const std::string ns = NamespaceOf(schedule);
  std::set<std::string> keys = {ns + "/" + NameOf(schedule)};
  for (std::string& k : GroupKeys(ns, LabelOf(schedule, api::kBackupScheduleGroupLabel))) {
    keys.insert(std::move(k));
  }
  return {keys.begin(), keys.end()};
}

std::vector<std::string> ScheduleController::KeysForVolumeBackup(const Json& vb) const {
  const std::string schedule = LabelOf(vb, api::kBackupScheduleLabel);
  if (schedule.empty()) return {};
  const std::string ns = NamespaceOf(vb);
  std::set<std::string> keys = {ns + "/" + schedule};
  // Generated backups carry the schedule's labels, so also its group's.
  for (std::string& k : GroupKeys(ns, LabelOf(vb, api::kBackupScheduleGroupLabel))) {
    keys.insert(std::move(k));
  }
  return {keys.begin(), keys.end()};
}

Status ScheduleController::TemplateValidation(const Json& schedule) const {
  if (!deps_.validate_volume_backup) return Status::Ok();
  return deps_.validate_volume_backup(BuildScheduledVolumeBackup(schedule, deps_.clock->Now()));
}

// What one pass works on: the key, the lists it took, and its claim bookkeeping.
struct ScheduleController::Pass {
  std::string key, ns, name;
  SteadyTime steady_now;
  std::vector<runtime::ObjectPtr> schedules;
  std::vector<runtime::ObjectPtr> all_backups;
  runtime::ObjectPtr self;  // null: the schedule is gone
  std::string group;
  std::string claim_key;
  bool lists_stale = false;  // our claim was taken or released while we listed
  uint64_t generation = 0;   // of our claim, after the bookkeeping
  std::string claim_holder;
  std::vector<std::string> deletes_in_flight;
};

Result<std::optional<std::chrono::nanoseconds>> ScheduleController::Reconcile(
    const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return InvalidArgument("bad schedule key " + key);
  Pass pass;
  pass.key = key;
  pass.ns = key.substr(0, slash);
  pass.name = key.substr(slash + 1);
  pass.steady_now = deps_.clock->Steady();
  ListAndSettle(pass);
  if (!pass.self) {
    // Deleted: its backups stay (no owner reference). Nothing else to do.
    return std::optional<std::chrono::nanoseconds>();
  }
  std::vector<std::vector<runtime::ObjectPtr>> keep_alive;  // the backups the input points into
  ScheduleDecision d = DecideSchedule(Observe(pass, keep_alive));
  return Act(pass, d);
}

void ScheduleController::ListAndSettle(Pass& pass) {
  // Claim generations before the lists are taken (see the header).
  std::map<std::string, uint64_t> generations_before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generations_before = claim_generations_;
  }
  pass.schedules = deps_.list_schedules(pass.ns);
  for (const runtime::ObjectPtr& s : pass.schedules) {
    if (NameOf(*s) == pass.name) pass.self = s;
  }
  pass.group = pass.self ? LabelOf(*pass.self, api::kBackupScheduleGroupLabel) : "";
  pass.claim_key =
      pass.group.empty() ? "schedule:" + pass.key : "group:" + pass.ns + "/" + pass.group;
  pass.all_backups = deps_.list_volume_backups(pass.ns);

  std::lock_guard<std::mutex> lock(mu_);
  pass.lists_stale = claim_generations_[pass.claim_key] != generations_before[pass.claim_key];
  ForgetSettledClaims(pass);
  ForgetSettledDeletes(pass);
  if (auto it = claims_.find(pass.claim_key); it != claims_.end()) {
    pass.claim_holder = it->second.holder;
  }
  pass.generation = claim_generations_[pass.claim_key];
}

// Forgets claims the cache now shows (or that waited too long for it). Holds mu_.
void ScheduleController::ForgetSettledClaims(const Pass& pass) {
  for (auto it = claims_.begin(); it != claims_.end();) {
    const bool seen = std::any_of(
        pass.all_backups.begin(), pass.all_backups.end(),
        [&](const runtime::ObjectPtr& b) { return NameOf(*b) == it->second.backup_name; });
    const bool ours = it->first == pass.claim_key;
    if ((ours && seen) || pass.steady_now - it->second.since > deps_.bookkeeping_timeout) {
      ++claim_generations_[it->first];
      it = claims_.erase(it);
    } else {
      ++it;
    }
  }
}

// Forgets deletes the cache now shows (or that waited too long); the rest of this namespace's
// are still in flight. Holds mu_.
void ScheduleController::ForgetSettledDeletes(Pass& pass) {
  const std::string prefix = pass.ns + "/";
  for (auto it = deletes_.begin(); it != deletes_.end();) {
    const std::string& vb_key = it->first;
    const bool here = vb_key.rfind(prefix, 0) == 0;
    bool done = here;
    if (here) {
      const std::string vb_name = vb_key.substr(prefix.size());
      for (const runtime::ObjectPtr& b : pass.all_backups) {
        if (NameOf(*b) == vb_name && !api::IsBeingDeleted(*b)) done = false;
      }
    }
    if (done || pass.steady_now - it->second.since > deps_.bookkeeping_timeout) {
      it = deletes_.erase(it);
    } else {
      if (here) pass.deletes_in_flight.push_back(vb_key.substr(prefix.size()));
      ++it;
    }
  }
}

std::map<std::string, std::string> ScheduleController::UnreachableClusters(
    const Json& schedule) const {
  std::map<std::string, std::string> unreachable;
  const Json* clusters = JsonAt(schedule, {"spec", "backupTemplate", "clusters"});
  if (!deps_.unreachable_error || clusters == nullptr || !clusters->is_array()) {
    return unreachable;
  }
  for (const Json& c : *clusters) {
    const std::string name = JsonStringAt(c, {"k8sClusterName"});
    if (std::string error = deps_.unreachable_error(name); !error.empty()) {
      unreachable[name] = std::move(error);
    }
  }
  return unreachable;
}

ScheduleDecideInput ScheduleController::Observe(
    const Pass& pass, std::vector<std::vector<runtime::ObjectPtr>>& keep_alive) const {
  ScheduleDecideInput in;
  keep_alive.push_back(BackupsOf(pass.all_backups, pass.name));
  in.self.schedule = pass.self.get();
  for (const runtime::ObjectPtr& b : keep_alive.back()) in.self.backups.push_back(b.get());
  in.self.template_validation = TemplateValidation(*pass.self);
  if (!pass.group.empty()) {
    std::set<std::string> live_schedules;
    for (const runtime::ObjectPtr& s : pass.schedules) {
      live_schedules.insert(NameOf(*s));
      if (NameOf(*s) == pass.name || LabelOf(*s, api::kBackupScheduleGroupLabel) != pass.group) {
        continue;
      }
      keep_alive.push_back(BackupsOf(pass.all_backups, NameOf(*s)));
      ScheduleObservation peer;
      peer.schedule = s.get();
      for (const runtime::ObjectPtr& b : keep_alive.back()) peer.backups.push_back(b.get());
      peer.template_validation = TemplateValidation(*s);
      in.group_peers.push_back(std::move(peer));
    }
    for (const runtime::ObjectPtr& b : pass.all_backups) {
      if (LabelOf(*b, api::kBackupScheduleGroupLabel) == pass.group &&
          live_schedules.count(LabelOf(*b, api::kBackupScheduleLabel)) == 0) {
        in.orphan_group_backups.push_back(b.get());
      }
    }
  }
  in.claim_holder = pass.claim_holder;
  in.deletes_in_flight = pass.deletes_in_flight;
  in.unreachable = UnreachableClusters(*pass.self);
  in.now = deps_.clock->Now();
  return in;
}

// Writes in order and stops at the first failure (the executor's policy, docs/architecture.md):
// create, retention delete, status.
Result<std::optional<std::chrono::nanoseconds>> ScheduleController::Act(const Pass& pass,
                                                                        ScheduleDecision& d) {
  for (const Event& e : d.events) {
    if (deps_.events) deps_.events(*pass.self, e.type, e.reason, e.message);
    log::Warn("schedule: " + e.message, {{"schedule", pass.key}, {"reason", e.reason}});
  }
  if (d.last_successful_backup && deps_.metrics) {
    deps_.metrics->LastSuccessfulBackup(pass.ns, pass.name, *d.last_successful_backup);
  }
  if (!d.create.empty()) {
    BRFED_ASSIGN_OR_RETURN(const LiveSchedule live, ReadLive(pass));
    if (!live.CreatesBackups()) {
      // Paused or deleted after the cache we decided on: decide again once it shows that.
      return std::optional<std::chrono::nanoseconds>(std::chrono::seconds(1));
    }
    if (!TakeClaim(pass, NameOf(d.create[0]))) {
      // Another schedule of the group created (or its claim was released) after we listed:
      // decide again on fresher lists (the status waits for that decision).
      return std::optional<std::chrono::nanoseconds>(std::chrono::seconds(1));
    }
    BRFED_RETURN_IF_ERROR(CreateClaimed(pass, d.create[0]));
  }
  if (!d.delete_backup.empty()) BRFED_RETURN_IF_ERROR(DeleteForRetention(pass, d));
  if (d.status_changed) {
    const Json& self = *pass.self;
    const Json old_status = self.contains("status") ? self["status"] : Json::object();
    Json patch = CreateMergePatch(Json{{"status", old_status}}, Json{{"status", d.status[0]}});
    patch["metadata"]["resourceVersion"] = JsonStringAt(self, {"metadata", "resourceVersion"});
    Status st = deps_.writer->PatchScheduleStatus(pass.ns, pass.name, patch);
    if (!st.ok()) return st.Annotate("update status of " + pass.key);
  }
  return d.requeue_after;
}

Result<ScheduleController::LiveSchedule> ScheduleController::ReadLive(const Pass& pass) {
  auto read = deps_.writer->ReadScheduleLive(pass.ns, pass.name);
  LiveSchedule live;
  if (!read.ok()) {
    if (read.status().code() != Code::kNotFound) {
      return read.status().Annotate("read schedule " + pass.key);
    }
    live.gone = true;
    return live;
  }
  live.gone =
      JsonStringAt(*read, {"metadata", "uid"}) != JsonStringAt(*pass.self, {"metadata", "uid"});
  live.stopped = JsonAt(*read, {"metadata", "deletionTimestamp"}) != nullptr ||
                 JsonBoolAt(*read, {"spec", "pause"});
  live.resource_version = JsonStringAt(*read, {"metadata", "resourceVersion"});
  return live;
}

bool ScheduleController::TakeClaim(const Pass& pass, const std::string& backup_name) {
  if (pass.lists_stale) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (claims_.count(pass.claim_key) != 0 || claim_generations_[pass.claim_key] != pass.generation) {
    return false;
  }
  claims_[pass.claim_key] = Claim{pass.name, backup_name, pass.steady_now};
  ++claim_generations_[pass.claim_key];
  return true;
}

void ScheduleController::ReleaseClaim(const std::string& claim_key) {
  std::lock_guard<std::mutex> lock(mu_);
  claims_.erase(claim_key);
  ++claim_generations_[claim_key];
}

Status ScheduleController::CreateClaimed(const Pass& pass, const Json& vb) {
  const std::string vb_name = NameOf(vb);
  Result<std::string> created = deps_.writer->CreateVolumeBackup(vb);
  const Status st = created.status();
  if (st.ok() || st.code() == Code::kAlreadyExists) {
    if (deps_.events) {
      deps_.events(*pass.self, "Normal", "SuccessfulCreate",
                   "create VolumeBackup " + vb_name + " for schedule " + pass.name);
    }
    if (deps_.metrics && st.ok()) deps_.metrics->BackupCreated(pass.ns, pass.name);
    log::Info("schedule: created VolumeBackup",
              {{"schedule", pass.key}, {"volumeBackup", vb_name}});
    return st.ok() ? UndoCreateIfUnwanted(pass, vb_name, *created) : Status::Ok();
  }
  ReleaseClaim(pass.claim_key);
  if (deps_.events) {
    deps_.events(*pass.self, "Warning", "FailedCreate",
                 "create VolumeBackup " + vb_name + " failed: " + st.message());
  }
  // The slot is not taken until the backup exists: no status write in this pass.
  return st.Annotate("create VolumeBackup " + pass.ns + "/" + vb_name);
}

// The read before the create can be answered from before a pause or a deletion that reaches
// the server first (chaos seed 30043: answered 325 ms late under a slow control plane, after
// the schedule had been paused, deleted and its backups listed for deletion). A read started
// after the create was answered sees anything that came before the create, and what came
// after it too: a pause the user made on seeing the new backup keeps that backup (a drop-in
// test does just that). The server's resourceVersions tell them apart: a schedule paused or
// being deleted at a version below the new backup's was so before the create (one etcd, or
// brfed-apiserver's one counter, orders both kinds; a version that does not parse keeps the
// backup). A schedule gone or replaced was deleted concurrently with the create at the
// latest: its backup is deleted, as one created a moment later would never have been.
Status ScheduleController::UndoCreateIfUnwanted(const Pass& pass, const std::string& vb_name,
                                                const std::string& created_rv) {
  BRFED_ASSIGN_OR_RETURN(const LiveSchedule live, ReadLive(pass));
  if (!live.gone && !(live.stopped && VersionBelow(live.resource_version, created_rv))) {
    return Status::Ok();
  }
  Status st = deps_.writer->DeleteVolumeBackup(pass.ns, vb_name);
  if (!st.ok() && st.code() != Code::kNotFound) {
    return st.Annotate("delete VolumeBackup " + pass.ns + "/" + vb_name +
                       ", created as the schedule was paused or deleted");
  }
  ReleaseClaim(pass.claim_key);  // the cache may never show the backup now
  if (deps_.events) {
    deps_.events(*pass.self, "Normal", "SuccessfulDelete",
                 "delete VolumeBackup " + vb_name + ": the schedule was paused or deleted as it " +
                     "was created");
  }
  log::Info("schedule: deleted the VolumeBackup it created as it was paused or deleted",
            {{"schedule", pass.key}, {"volumeBackup", vb_name}});
  return Status::Ok();
}

Status ScheduleController::DeleteForRetention(const Pass& pass, const ScheduleDecision& d) {
  const std::string vb_key = pass.ns + "/" + d.delete_backup;
  {
    std::lock_guard<std::mutex> lock(mu_);
    deletes_[vb_key] = PendingDelete{vb_key, pass.steady_now};
  }
  Status st = deps_.writer->DeleteVolumeBackup(pass.ns, d.delete_backup);
  if (st.ok() || st.code() == Code::kNotFound) {
    if (deps_.events) {
      deps_.events(*pass.self, "Normal", "SuccessfulDelete",
                   "delete VolumeBackup " + d.delete_backup + " (" + d.delete_reason + ")");
    }
    if (deps_.metrics && st.ok()) deps_.metrics->RetentionDeleted(pass.ns, pass.name);
    log::Info(
        "schedule: retention deleted VolumeBackup",
        {{"schedule", pass.key}, {"volumeBackup", d.delete_backup}, {"why", d.delete_reason}});
    return Status::Ok();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    deletes_.erase(vb_key);
  }
  if (deps_.events) {
    deps_.events(*pass.self, "Warning", "FailedDelete",
                 "delete VolumeBackup " + d.delete_backup + " failed: " + st.message());
  }
  return st.Annotate("delete VolumeBackup " + d.delete_backup);
}

}  // namespace brfed::federation
