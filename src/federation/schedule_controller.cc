#include "federation/schedule_controller.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "api/labels.h"
#include "api/volume_backup.h"
#include "core/log.h"
#include "federation/schedule_decide.h"

namespace brfed::federation {
namespace {

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
    std::string message;
    for (const api::ValidationIssue& issue : api::ValidateVolumeBackup(vb, known_clusters())) {
      message += (message.empty() ? "" : "; ") + issue.message;
    }
    return message.empty() ? Status::Ok() : Status(Code::kInvalid, "backupTemplate: " + message);
  };
}

ScheduleController::ScheduleController(ScheduleControllerDeps deps) : deps_(std::move(deps)) {}

std::vector<JsonPtr> ScheduleController::BackupsOf(const std::vector<JsonPtr>& all,
                                                   std::string_view schedule) const {
  std::vector<JsonPtr> out;
  for (const JsonPtr& b : all) {
    if (LabelOf(*b, api::kBackupScheduleLabel) == schedule) out.push_back(b);
  }
  return out;
}

std::vector<std::string> ScheduleController::GroupKeys(std::string_view ns,
                                                       std::string_view group) const {
  std::vector<std::string> keys;
  if (group.empty()) return keys;
  for (const JsonPtr& s : deps_.list_schedules(ns)) {
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

Result<std::optional<std::chrono::nanoseconds>> ScheduleController::Reconcile(
    const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return InvalidArgument("bad schedule key " + key);
  const std::string ns = key.substr(0, slash);
  const std::string name = key.substr(slash + 1);
  const SteadyTime steady_now = deps_.clock->Steady();

  // Claim generations before the lists are taken (see the header).
  std::map<std::string, uint64_t> generations_before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generations_before = claim_generations_;
  }
  const std::vector<JsonPtr> schedules = deps_.list_schedules(ns);
  JsonPtr self;
  for (const JsonPtr& s : schedules) {
    if (NameOf(*s) == name) self = s;
  }
  const std::string group = self ? LabelOf(*self, api::kBackupScheduleGroupLabel) : "";
  const std::string claim_key = group.empty() ? "schedule:" + key : "group:" + ns + "/" + group;
  const std::vector<JsonPtr> all_backups = deps_.list_volume_backups(ns);

  std::string claim_holder;
  std::vector<std::string> deletes_in_flight;
  bool lists_stale = false;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Someone else took or released our claim while we listed: the lists may predate it.
    lists_stale = claim_generations_[claim_key] != generations_before[claim_key];
    // Forget what the cache now shows (or what has waited too long for it).
    for (auto it = claims_.begin(); it != claims_.end();) {
      const bool seen = std::any_of(all_backups.begin(), all_backups.end(), [&](const JsonPtr& b) {
        return NameOf(*b) == it->second.backup_name;
      });
      const bool ours = it->first == claim_key;
      if ((ours && seen) || steady_now - it->second.since > deps_.bookkeeping_timeout) {
        ++claim_generations_[it->first];
        it = claims_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = deletes_.begin(); it != deletes_.end();) {
      const std::string& vb_key = it->first;
      bool done = vb_key.rfind(ns + "/", 0) == 0;
      if (done) {
        const std::string vb_name = vb_key.substr(ns.size() + 1);
        for (const JsonPtr& b : all_backups) {
          if (NameOf(*b) == vb_name && !api::IsBeingDeleted(*b)) done = false;
        }
      }
      if (done || steady_now - it->second.since > deps_.bookkeeping_timeout) {
        it = deletes_.erase(it);
      } else {
        if (vb_key.rfind(ns + "/", 0) == 0)
          deletes_in_flight.push_back(vb_key.substr(ns.size() + 1));
        ++it;
      }
    }
    if (auto it = claims_.find(claim_key); it != claims_.end()) claim_holder = it->second.holder;
    generation = claim_generations_[claim_key];
  }

  if (!self) {
    // Deleted: its backups stay (no owner reference). Nothing else to do.
    return std::optional<std::chrono::nanoseconds>();
  }

  // Observe.
  std::vector<JsonPtr> own = BackupsOf(all_backups, name);
  ScheduleDecideInput in;
  in.self.schedule = self.get();
  for (const JsonPtr& b : own) in.self.backups.push_back(b.get());
  in.self.template_validation = TemplateValidation(*self);
  std::vector<std::vector<JsonPtr>> peer_backups;  // keeps peers' vectors alive
  if (!group.empty()) {
    for (const JsonPtr& s : schedules) {
      if (NameOf(*s) == name || LabelOf(*s, api::kBackupScheduleGroupLabel) != group) continue;
      peer_backups.push_back(BackupsOf(all_backups, NameOf(*s)));
      ScheduleObservation peer;
      peer.schedule = s.get();
      for (const JsonPtr& b : peer_backups.back()) peer.backups.push_back(b.get());
      peer.template_validation = TemplateValidation(*s);
      in.group_peers.push_back(std::move(peer));
    }
  }
  if (!group.empty()) {
    std::set<std::string> live_schedules;
    for (const JsonPtr& sc : schedules) live_schedules.insert(NameOf(*sc));
    for (const JsonPtr& b : all_backups) {
      if (LabelOf(*b, api::kBackupScheduleGroupLabel) == group &&
          live_schedules.count(LabelOf(*b, api::kBackupScheduleLabel)) == 0) {
        in.orphan_group_backups.push_back(b.get());
      }
    }
  }
  in.claim_holder = claim_holder;
  in.deletes_in_flight = deletes_in_flight;
  in.now = deps_.clock->Now();

  // Decide.
  ScheduleDecision d = DecideSchedule(in);

  // Act.
  for (const Event& e : d.events) {
    if (deps_.events) deps_.events(*self, e.type, e.reason, e.message);
    log::Warn("schedule: " + e.message, {{"schedule", key}, {"reason", e.reason}});
  }
  if (d.last_successful_backup && deps_.metrics) {
    deps_.metrics->LastSuccessfulBackup(ns, name, *d.last_successful_backup);
  }

  Status first_error;
  bool status_allowed = true;
  if (!d.create.empty()) {
    const Json& vb = d.create[0];
    const std::string vb_name = NameOf(vb);
    bool claimed = false;
    if (!lists_stale) {
      std::lock_guard<std::mutex> lock(mu_);
      if (claims_.count(claim_key) == 0 && claim_generations_[claim_key] == generation) {
        claims_[claim_key] = Claim{name, vb_name, steady_now};
        ++claim_generations_[claim_key];
        claimed = true;
      }
    }
    if (!claimed) {
      // Another schedule of the group created (or its claim was released) after we listed.
      d.requeue_after = std::chrono::seconds(1);
      status_allowed = false;
    } else {
      Status st = deps_.writer->CreateVolumeBackup(vb);
      if (st.ok() || st.code() == Code::kAlreadyExists) {
        if (deps_.events) {
          deps_.events(*self, "Normal", "SuccessfulCreate",
                       "create VolumeBackup " + vb_name + " for schedule " + name);
        }
        if (deps_.metrics && st.ok()) deps_.metrics->BackupCreated(ns, name);
        log::Info("schedule: created VolumeBackup", {{"schedule", key}, {"volumeBackup", vb_name}});
      } else {
        {
          std::lock_guard<std::mutex> lock(mu_);
          claims_.erase(claim_key);
          ++claim_generations_[claim_key];
        }
        if (deps_.events) {
          deps_.events(*self, "Warning", "FailedCreate",
                       "create VolumeBackup " + vb_name + " failed: " + st.message());
        }
        first_error = st.Annotate("create VolumeBackup " + ns + "/" + vb_name);
        status_allowed = false;  // the slot is not taken until the backup exists
      }
    }
  }

  if (!d.delete_backup.empty()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      deletes_[ns + "/" + d.delete_backup] = PendingDelete{ns + "/" + d.delete_backup, steady_now};
    }
    Status st = deps_.writer->DeleteVolumeBackup(ns, d.delete_backup);
    if (st.ok() || st.code() == Code::kNotFound) {
      if (deps_.events) {
        deps_.events(*self, "Normal", "SuccessfulDelete",
                     "delete VolumeBackup " + d.delete_backup + " (" + d.delete_reason + ")");
      }
      if (deps_.metrics && st.ok()) deps_.metrics->RetentionDeleted(ns, name);
      log::Info("schedule: retention deleted VolumeBackup",
                {{"schedule", key}, {"volumeBackup", d.delete_backup}, {"why", d.delete_reason}});
    } else {
      {
        std::lock_guard<std::mutex> lock(mu_);
        deletes_.erase(ns + "/" + d.delete_backup);
      }
      if (deps_.events) {
        deps_.events(*self, "Warning", "FailedDelete",
                     "delete VolumeBackup " + d.delete_backup + " failed: " + st.message());
      }
      if (first_error.ok()) first_error = st.Annotate("delete VolumeBackup " + d.delete_backup);
    }
  }

  if (status_allowed && d.status_changed) {
    const Json old_status = self->contains("status") ? (*self)["status"] : Json::object();
    Json patch = CreateMergePatch(Json{{"status", old_status}}, Json{{"status", d.status[0]}});
    patch["metadata"]["resourceVersion"] = JsonStringAt(*self, {"metadata", "resourceVersion"});
    Status st = deps_.writer->PatchScheduleStatus(ns, name, patch);
    if (!st.ok() && first_error.ok()) first_error = st.Annotate("update status of " + key);
  }

  if (!first_error.ok()) return first_error;
  return d.requeue_after;
}

}  // namespace brfed::federation
