#include "federation/schedule_decide.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "api/conditions.h"
#include "api/labels.h"
#include "api/volume_backup.h"
#include "core/duration.h"
#include "core/excerpt.h"
#include "core/strings.h"
#include "cron/cron.h"

namespace brfed::federation {
namespace {

using std::chrono::nanoseconds;
namespace vbc = api::volume_backup_condition;

constexpr std::string_view kInvalidCondition = "Invalid";
// How long a schedule blocked by another backup waits before looking again if no watch event
// wakes it earlier (events from the blocking backup normally do).
constexpr std::chrono::seconds kBlockedRecheck(15);
// While a data plane of the template is unreachable: as the VolumeBackup controller's default.
constexpr std::chrono::seconds kUnreachableRecheck(5);
constexpr std::string_view kLastAppliedAnnotation =
    "kubectl.kubernetes.io/last-applied-configuration";

std::optional<Time> TimeAt(const Json& root, std::initializer_list<std::string_view> path) {
  std::string text = JsonStringAt(root, path);
  if (text.empty()) return std::nullopt;
  Result<Time> t = ParseRfc3339(text);
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::string NameOf(const Json& object) { return JsonStringAt(object, {"metadata", "name"}); }

Time CreationOf(const Json& object) {
  return TimeAt(object, {"metadata", "creationTimestamp"}).value_or(Time());
}

// Oldest first; ties by name so every caller orders alike.
bool OlderThan(const Json* a, const Json* b) {
  return std::make_tuple(CreationOf(*a), NameOf(*a)) < std::make_tuple(CreationOf(*b), NameOf(*b));
}

bool IsSkipGc(const Json& backup) { return JsonBoolAt(backup, {"skipGC"}); }

// The schedule's own validation, apart from the template check the caller did.
struct Validated {
  std::optional<CronSchedule> cron;
  std::optional<nanoseconds> max_reserved_time;
  long long max_backups = 0;
  bool retention_valid = true;
  std::vector<std::string> problems;
};

Validated Validate(const ScheduleObservation& obs) {
  const Json& s = *obs.schedule;
  Validated v;
  const Json* spec = JsonAt(s, {"spec"});
  std::string cron_text = JsonStringAt(s, {"spec", "schedule"});
  if (cron_text.empty()) {
    v.problems.push_back("spec.schedule is required");
  } else {
    Result<CronSchedule> cron = CronSchedule::Parse(cron_text);
    if (cron.ok()) {
      v.cron = *cron;
    } else {
      v.problems.push_back("spec.schedule " + Quote(cron_text) + ": " +
                           Excerpt(cron.status().message()));
    }
  }
  if (const Json* mrt = spec ? JsonAt(*spec, {"maxReservedTime"}) : nullptr;
      mrt != nullptr && !mrt->is_null()) {
    Result<nanoseconds> d =
        mrt->is_string() ? ParseGoDuration(mrt->get<std::string>())
                         : Result<nanoseconds>(InvalidArgument("must be a Go duration string"));
    if (!d.ok()) {
      v.problems.push_back("spec.maxReservedTime: " + d.status().message());
      v.retention_valid = false;
    } else if (d->count() <= 0) {
      v.problems.push_back("spec.maxReservedTime must be positive, got " +
                           Quote(mrt->get<std::string>()));
      v.retention_valid = false;
    } else {
      v.max_reserved_time = *d;
    }
  }
  if (const Json* mb = spec ? JsonAt(*spec, {"maxBackups"}) : nullptr;
      mb != nullptr && !mb->is_null()) {
    if (!mb->is_number_integer() || mb->get<long long>() < 0) {
      v.problems.push_back("spec.maxBackups must be a non-negative integer, got " +
                           Excerpt(mb->dump()));
      v.retention_valid = false;
    } else {
      v.max_backups = mb->get<long long>();
    }
  }
  const Json* tmpl = JsonAt(s, {"spec", "backupTemplate", "template"});
  if (tmpl == nullptr || !tmpl->is_object()) {
    v.problems.push_back("spec.backupTemplate.template is required");
  } else {
    const Json* br = JsonAt(*tmpl, {"br"});
    const Json* s3 = JsonAt(*tmpl, {"s3"});
    if (br == nullptr || !br->is_object()) {
      v.problems.push_back("spec.backupTemplate.template.br is required");
    }
    if (s3 == nullptr || !s3->is_object()) {
      v.problems.push_back("spec.backupTemplate.template.s3 is required");
    }
  }
  if (!obs.template_validation.ok()) v.problems.push_back(obs.template_validation.message());
  return v;
}

Time ReferenceOf(const Json& s) {
  Time ref = CreationOf(s);
  for (auto path : {"lastBackupTime", "allBackupCleanTime"}) {
    if (std::optional<Time> t = TimeAt(s, {"status", path}); t && *t > ref) ref = *t;
  }
  return ref;
}

bool IsPaused(const Json& s) { return JsonBoolAt(s, {"spec", "pause"}); }

bool HasUnfinished(const std::vector<const Json*>& backups) {
  return std::any_of(backups.begin(), backups.end(),
                     [](const Json* b) { return StateOfBackup(*b) == BackupState::kRunning; });
}

// The slot a schedule would run now if nothing blocked it, or nullopt.
std::optional<Time> PendingSlot(const ScheduleObservation& obs, Time now) {
  Validated v = Validate(obs);
  if (!v.problems.empty() || !v.cron || IsPaused(*obs.schedule)) return std::nullopt;
  Time ref = ReferenceOf(*obs.schedule);
  if (ref > now) return std::nullopt;
  return ComputeSlots(*v.cron, ref, now).due;
}

// Sets or clears the Invalid condition of a schedule's status (schedules have no `phase`, so
// this is not api::SetCondition). Returns true when it changed to True or its message changed.
bool SetInvalidCondition(Json& status, const std::string& message, Time now) {
  const bool invalid = !message.empty();
  const std::string cond_status = invalid ? "True" : "False";
  Json* existing = nullptr;
  if (status.contains("conditions") && status["conditions"].is_array()) {
    for (Json& c : status["conditions"]) {
      if (c.is_object() && JsonStringAt(c, {"type"}) == kInvalidCondition) existing = &c;
    }
  }
  if (existing == nullptr) {
    if (!invalid) return false;
    if (!status.contains("conditions") || !status["conditions"].is_array()) {
      status["conditions"] = Json::array();
    }
    status["conditions"].push_back({{"type", kInvalidCondition},
                                    {"status", cond_status},
                                    {"lastTransitionTime", FormatRfc3339(now)},
                                    {"reason", "InvalidSpec"},
                                    {"message", message}});
    return true;
  }
  const bool was_true = JsonStringAt(*existing, {"status"}) == "True";
  const bool message_changed = JsonStringAt(*existing, {"message"}) != message;
  if (was_true != invalid) {
    (*existing)["status"] = cond_status;
    (*existing)["lastTransitionTime"] = FormatRfc3339(now);
  }
  (*existing)["reason"] = invalid ? "InvalidSpec" : "Valid";
  (*existing)["message"] = message;
  return invalid && (!was_true || message_changed);
}

}  // namespace

Json BuildScheduledVolumeBackup(const Json& s, Time slot) {
  const std::string name = NameOf(s);
  const std::string backup_name = ScheduledBackupName(name, slot);
  Json labels = {{"app.kubernetes.io/name", "backup-schedule"},
                 {"app.kubernetes.io/managed-by", "backup-schedule-operator"},
                 {"app.kubernetes.io/instance", name}};
  if (const Json* own = JsonAt(s, {"metadata", "labels"}); own && own->is_object()) {
    for (const auto& [k, val] : own->items()) labels[k] = val;  // upstream: schedule's win
  }
  labels[std::string(api::kBackupScheduleLabel)] = name;
  Json metadata = {{"name", backup_name},
                   {"namespace", JsonStringAt(s, {"metadata", "namespace"})},
                   {"labels", labels}};
  if (const Json* ann = JsonAt(s, {"metadata", "annotations"}); ann && ann->is_object()) {
    Json copied = *ann;
    copied.erase(std::string(kLastAppliedAnnotation));
    if (!copied.empty()) metadata["annotations"] = copied;
  }
  // Not Json::value: it throws when `spec` is not an object (found by fuzzing).
  const Json* backup_template = JsonAt(s, {"spec", "backupTemplate"});
  Json spec = backup_template != nullptr && backup_template->is_object() ? *backup_template
                                                                         : Json::object();
  if (spec.contains("template") && spec["template"].contains("s3") &&
      spec["template"]["s3"].is_object()) {
    Json& s3 = spec["template"]["s3"];
    std::string prefix = s3.contains("prefix") && s3["prefix"].is_string()
                             ? s3["prefix"].get<std::string>()
                             : std::string();
    std::string ts = backup_name.substr(name.size() + 1);
    s3["prefix"] = JoinS3Prefix(prefix, "-" + ts);
  }
  return Json{{"apiVersion", "federation.pingcap.com/v1alpha1"},
              {"kind", "VolumeBackup"},
              {"metadata", metadata},
              {"spec", spec}};
}

namespace {

void Requeue(ScheduleDecision& d, nanoseconds after) { d.RequeueWithin(after); }

// Retention: picks at most one backup to delete and notes when to look again.
// The newest Complete backup not being deleted, or nullptr.
template <typename Deleting>
const Json* NewestComplete(const std::vector<const Json*>& backups, Deleting deleting) {
  const Json* newest = nullptr;
  for (const Json* b : backups) {
    if (StateOfBackup(*b) == BackupState::kComplete && !deleting(b) &&
        (newest == nullptr || OlderThan(newest, b))) {
      newest = b;
    }
  }
  return newest;
}

void DecideRetention(const ScheduleDecideInput& in, const Validated& v, ScheduleDecision& d) {
  const std::vector<const Json*>& all = in.self.backups;
  auto deleting = [&](const Json* b) {
    return api::IsBeingDeleted(*b) ||
           std::find(in.deletes_in_flight.begin(), in.deletes_in_flight.end(), NameOf(*b)) !=
               in.deletes_in_flight.end();
  };
  // The newest Complete backup that is staying: never deleted, whatever else happens.
  const Json* newest_complete = NewestComplete(all, deleting);
  if (newest_complete != nullptr) {
    d.last_successful_backup = TimeAt(*newest_complete, {"status", "timeCompleted"})
                                   .value_or(CreationOf(*newest_complete));
  }
  if (!v.retention_valid || (!v.max_reserved_time && v.max_backups == 0)) return;
  if (std::any_of(all.begin(), all.end(), deleting)) return;  // one at a time

  std::vector<const Json*> candidates;
  for (const Json* b : all) {
    if (!IsSkipGc(*b)) candidates.push_back(b);
  }
  std::sort(candidates.begin(), candidates.end(), OlderThan);
  auto deletable = [&](const Json* b, BackupState state) {
    return b != newest_complete && StateOfBackup(*b) == state;
  };
  auto first_of = [&](auto&& pred) -> const Json* {
    for (BackupState state : {BackupState::kFailed, BackupState::kComplete}) {
      for (const Json* b : candidates) {
        if (deletable(b, state) && pred(b)) return b;
      }
    }
    return nullptr;
  };

  const Json* victim = nullptr;
  if (v.max_reserved_time) {
    const nanoseconds keep = *v.max_reserved_time;
    auto expired = [&](const Json* b) { return Elapsed(CreationOf(*b), in.now) > keep; };
    victim = first_of(expired);
    if (victim != nullptr) {
      d.delete_reason = "older than maxReservedTime " + FormatGoDuration(keep);
    } else {
      // Wake up when the next one expires.
      for (const Json* b : candidates) {
        if (b != newest_complete && StateOfBackup(*b) != BackupState::kRunning) {
          const Time expires = ShiftedBy(CreationOf(*b), keep);
          Requeue(d, Elapsed(in.now, ShiftedBy(expires, std::chrono::seconds(1))));
        }
      }
    }
  } else if (static_cast<long long>(candidates.size()) > v.max_backups) {
    victim = first_of([](const Json*) { return true; });
    if (victim != nullptr) {
      d.delete_reason = "more than maxBackups " + std::to_string(v.max_backups) + " (" +
                        std::to_string(candidates.size()) + " counted)";
    }
  }
  if (victim != nullptr) d.delete_backup = NameOf(*victim);
}

}  // namespace

BackupState StateOfBackup(const Json& b) {
  const Json& status = api::StatusOf(b);
  const std::string phase = JsonStringAt(status, {"phase"});
  if (phase == vbc::kComplete) return BackupState::kComplete;
  if (phase == vbc::kFailed || phase == vbc::kInvalid) return BackupState::kFailed;
  if (api::IsConditionTrue(status, vbc::kFailed) || api::IsConditionTrue(status, vbc::kInvalid)) {
    return BackupState::kFailed;
  }
  if (api::IsConditionTrue(status, vbc::kComplete)) return BackupState::kComplete;
  return BackupState::kRunning;
}

std::string ScheduledBackupName(std::string_view schedule, Time slot) {
  std::string ts = FormatRfc3339(slot);  // 2006-01-02T15:04:05Z
  ts.pop_back();
  std::replace(ts.begin(), ts.end(), ':', '-');
  std::replace(ts.begin(), ts.end(), 'T', 't');
  return std::string(schedule) + "-" + ts;
}

std::string JoinS3Prefix(std::string_view prefix, std::string_view element) {
  // Go's path.Join: join the non-empty elements with '/', then path.Clean.
  std::string joined;
  for (std::string_view part : {prefix, element}) {
    if (part.empty()) continue;
    if (!joined.empty()) joined += '/';
    joined += part;
  }
  if (joined.empty()) return "";
  const bool rooted = joined[0] == '/';
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= joined.size()) {
    size_t slash = joined.find('/', i);
    if (slash == std::string::npos) slash = joined.size();
    std::string part = joined.substr(i, slash - i);
    if (part.empty() || part == ".") {
      // skip
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
    } else {
      parts.push_back(part);
    }
    i = slash + 1;
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  return out.empty() ? "." : out;
}

ScheduleSlots ComputeSlots(const CronSchedule& cron, Time reference, Time now) {
  ScheduleSlots r;
  std::optional<Time> t = cron.Next(reference);
  int count = 0;
  while (t && *t <= now) {
    if (++count > kMaxMissedSlots) {
      r.due.reset();
      r.too_many_missed = true;
      r.next = cron.Next(now);
      return r;
    }
    r.due = *t;
    t = cron.Next(*t);
  }
  r.next = t;
  return r;
}

namespace {

// The slot to run now, or nullopt with d.wait_reason (and the requeue) saying why not: paused,
// invalid, the clock went back, too many missed slots (skip ahead), or nothing due yet.
std::optional<Time> DueSlot(const ScheduleDecideInput& in, const Validated& v, Json& status,
                            ScheduleDecision& d) {
  const Json& s = *in.self.schedule;
  if (IsPaused(s)) {
    d.wait_reason = "paused";
    return std::nullopt;
  }
  if (!v.problems.empty() || !v.cron) {
    d.wait_reason = "invalid";
    return std::nullopt;
  }
  const CronSchedule& cron = *v.cron;
  Time reference =
      ReferenceOf(Json{{"metadata", s.value("metadata", Json::object())}, {"status", status}});
  if (reference > in.now) {
    d.wait_reason = "clock-backwards";
    if (std::optional<Time> next = cron.Next(reference)) Requeue(d, Elapsed(in.now, *next));
    return std::nullopt;
  }
  ScheduleSlots slots = ComputeSlots(cron, reference, in.now);
  if (slots.next) Requeue(d, Elapsed(in.now, *slots.next));
  if (slots.too_many_missed) {
    status["allBackupCleanTime"] = FormatRfc3339(in.now);
    d.events.push_back({"Warning", "MissedSchedules",
                        "more than " + std::to_string(kMaxMissedSlots) + " slots missed since " +
                            FormatRfc3339(reference) + "; skipping to the next slot"});
    d.wait_reason = "too-many-missed";
    return std::nullopt;
  }
  if (!slots.due) d.wait_reason = "not-due";
  return slots.due;
}

// "cluster <c>: <last error>" for each cluster of the template the manager cannot reach.
std::vector<std::string> UnreachableTemplateClusters(const ScheduleDecideInput& in) {
  std::vector<std::string> down;
  const Json* clusters = JsonAt(*in.self.schedule, {"spec", "backupTemplate", "clusters"});
  if (clusters == nullptr || !clusters->is_array()) return down;
  for (const Json& c : *clusters) {
    auto it = in.unreachable.find(JsonStringAt(c, {"k8sClusterName"}));
    if (it != in.unreachable.end()) down.push_back("cluster " + it->first + ": " + it->second);
  }
  return down;
}

// Why `slot` cannot run now ("" when it can): a claim, an unfinished backup of this schedule
// or of its group, or a group peer that goes first.
std::string BlockedReason(const ScheduleDecideInput& in, Time slot, const std::string& name) {
  if (!in.claim_holder.empty()) return "claimed";
  if (HasUnfinished(in.self.backups)) return "busy";
  for (const ScheduleObservation& peer : in.group_peers) {
    if (HasUnfinished(peer.backups)) return "group-busy";
  }
  if (HasUnfinished(in.orphan_group_backups)) return "group-busy";
  for (const ScheduleObservation& peer : in.group_peers) {
    std::optional<Time> peer_slot = PendingSlot(peer, in.now);
    if (peer_slot &&
        std::make_tuple(*peer_slot, NameOf(*peer.schedule)) < std::make_tuple(slot, name)) {
      return "group-order";
    }
  }
  return "";
}

}  // namespace

ScheduleDecision DecideSchedule(const ScheduleDecideInput& in) {
  const Json& s = *in.self.schedule;
  const std::string name = NameOf(s);
  ScheduleDecision d;
  const Json old_status =
      s.contains("status") && s["status"].is_object() ? s["status"] : Json::object();
  Json status = old_status;

  Validated v = Validate(in.self);
  std::string problems = Excerpt(Join(v.problems, "; "), kMessageBytes);
  if (SetInvalidCondition(status, problems, in.now)) {
    d.events.push_back({"Warning", "Invalid", problems});
  }

  ReportUnreachableDataPlanes(status, UnreachableTemplateClusters(in),
                              "the backups this schedule creates wait for it", in.now,
                              kUnreachableRecheck, d);

  DecideRetention(in, v, d);

  // All backups gone (the last one was deleted): start counting from now, as upstream does.
  const std::string last_backup = JsonStringAt(status, {"lastBackup"});
  if (in.self.backups.empty() && !last_backup.empty() && in.claim_holder != name) {
    status["lastBackup"] = "";
    status.erase("lastBackupTime");
    status["allBackupCleanTime"] = FormatRfc3339(in.now);
  }

  auto finish = [&]() {
    d.status_changed = status != old_status;
    d.status.push_back(std::move(status));
    return std::move(d);
  };
  const std::optional<Time> slot = DueSlot(in, v, status, d);
  if (!slot) return finish();
  const std::string backup_name = ScheduledBackupName(name, *slot);
  auto record_slot = [&]() {
    status["lastBackup"] = backup_name;
    status["lastBackupTime"] = FormatRfc3339(*slot);
    status.erase("allBackupCleanTime");
  };
  for (const Json* b : in.self.backups) {
    if (NameOf(*b) == backup_name) {
      // Created earlier (status write lost, or a restart): only the status is missing.
      record_slot();
      d.wait_reason = "exists";
      return finish();
    }
  }
  if (std::string why = BlockedReason(in, *slot, name); !why.empty()) {
    d.wait_reason = std::move(why);
    Requeue(d, kBlockedRecheck);
    return finish();
  }
  d.create.push_back(BuildScheduledVolumeBackup(s, *slot));
  record_slot();
  return finish();
}

}  // namespace brfed::federation
