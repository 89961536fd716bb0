#include "federation/restore_decide.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "api/conditions.h"
#include "api/volume_backup.h"
#include "core/excerpt.h"
#include "core/strings.h"
#include "federation/decision.h"  // kDataPlaneUnreachableCondition, shared with backups

namespace brfed::federation {
namespace {

namespace cond = api::vrt_condition;
namespace mcond = api::restore_condition;
namespace step = api::restore_step;
namespace reason = api::restore_reason;
namespace fphase = api::federal_restore_phase;

double Seconds(Time from, Time to) {
  return std::chrono::duration<double>(Elapsed(from, to)).count();
}

// strconv.ParseInt(s, 10, 64): optional sign, decimal digits, within int64.
std::optional<long long> ParseInt64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return std::nullopt;
  }
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno == ERANGE || end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

// One decision pass; holds the working copy of the status and the decision being built.
class Pass {
 public:
  Pass(const RestoreDecideInput& in, const api::VolumeRestoreView& vr)
      : in_(in),
        vr_(vr),
        now_(std::chrono::floor<std::chrono::seconds>(in.now)),
        status_(vr.status) {
    for (const auto& m : in.members) members_[m.k8s_cluster_name] = &m;
  }

  RestoreDecision Run() {
    // Adoption first and alone: it changes the members' resourceVersions, and the adopted
    // members reach the caches (and the next decision) through their watch events.
    if (DecideAdoptions()) return std::move(d_);
    if (vr_.deleting) {
      Delete();
    } else {
      if (!vr_.HasFinalizer()) d_.finalizer = RestoreDecision::FinalizerChange::kAdd;
      // An Invalid restore that never started is checked again on every pass, so fixing its
      // spec (or adding the missing context) starts it; one that stays invalid stays quiet.
      const bool recheck = !status_.IsTrue(cond::kInvalid) || !status_.IsTrue(cond::kRunning);
      if (!status_.IsTrue(cond::kComplete) && !status_.IsTrue(cond::kFailed) && recheck) {
        Reconcile();
        if (status_.IsTrue(cond::kRunning)) ReportUnreachableDataPlanes();
      }
    }
    if (!(status_ == vr_.status)) d_.new_status = std::move(status_);
    return std::move(d_);
  }

 private:
  bool DecideAdoptions() {
    bool any = false;
    for (const auto& [cluster, member] : in_.unmarked_members) {
      if (member == nullptr ||
          !api::IsGoManagerMember(*member, *in_.volume_restore, "federalVolumeRestorePhase")) {
        continue;
      }
      const std::string name = JsonStringAt(*member, {"metadata", "name"});
      d_.actions.push_back({MemberAction::Kind::kAdopt, cluster,
                            JsonStringAt(*member, {"metadata", "namespace"}), name,
                            std::make_shared<const Json>(api::AdoptionPatch(
                                *member, *in_.volume_restore, api::kVolumeRestoreLabel)),
                            "", ""});
      Event("Normal", "Adopted",
            name + " in cluster " + cluster +
                " was built by the Go br-federation-manager; continuing it");
      any = true;
    }
    return any;
  }

  void Event(std::string_view type, std::string_view why, std::string message) {
    d_.events.push_back({std::string(type), std::string(why), std::move(message)});
  }
  // While the probe counts a data plane unreachable its member's status may be stale: say so
  // in a condition naming each such cluster and its last error (it is not a phase), and look
  // again soon; False once every cluster answers.
  void ReportUnreachableDataPlanes() {
    std::vector<std::string> down;
    for (const auto& c : vr_.clusters) {
      auto it = in_.unreachable.find(c.k8s_cluster_name);
      if (it != in_.unreachable.end()) down.push_back("cluster " + it->first + ": " + it->second);
    }
    const std::string phase = status_.phase;
    if (down.empty()) {
      if (status_.IsTrue(kDataPlaneUnreachableCondition)) {
        status_.SetCondition(kDataPlaneUnreachableCondition, "False", "Reachable",
                             "every data plane answers again", now_);
      }
    } else {
      const std::string message = Excerpt(
          "data plane unreachable: " + Join(down, "; ") + " (member status may be stale; retrying)",
          kMessageBytes);
      if (!status_.IsTrue(kDataPlaneUnreachableCondition)) {
        Event("Warning", kDataPlaneUnreachableCondition, message);
      }
      status_.SetCondition(kDataPlaneUnreachableCondition, "True", "ProbeFailed", message, now_);
      d_.RequeueWithin(std::chrono::seconds(5));
    }
    status_.phase = phase;
  }

  void SetTrue(std::string_view type, std::string message) {
    status_.SetCondition(type, "True", "", message, now_);
    Event("Normal", type, std::move(message));
  }
  void FinishStep(std::string_view name) {
    const api::VolumeRestoreStep* s = status_.FindStep(name);
    if (s == nullptr || s->time_completed.has_value()) return;
    status_.FinishStep(name, now_);
    s = status_.FindStep(name);
    if (s->time_started.has_value()) {
      d_.finished_steps.push_back({std::string(name), Seconds(*s->time_started, now_)});
    }
  }
  void Terminal(std::string_view type, std::string_view why, const std::string& message) {
    status_.time_completed = now_;
    if (status_.time_started.has_value()) {
      status_.time_taken = api::FormatTimeTaken(*status_.time_started, now_);
      d_.total_seconds = Seconds(*status_.time_started, now_);
    }
    status_.SetCondition(type, "True", why, message, now_);
    d_.outcome = std::string(type);
    Event(type == cond::kComplete ? "Normal" : "Warning", type == cond::kComplete ? type : why,
          message);
  }
  void Fail(std::string_view why, const std::string& message) {
    Terminal(cond::kFailed, why, message);
  }
  void Invalid(const std::string& full_message) {
    const std::string message = Excerpt(full_message, kMessageBytes);
    const api::RestoreCondition* was =
        api::FindRestoreCondition(status_.conditions, cond::kInvalid);
    if (was != nullptr && was->status == "True" && was->message == message) return;  // unchanged
    status_.SetCondition(cond::kInvalid, "True", reason::kInvalidSpec, message, now_);
    d_.outcome = std::string(cond::kInvalid);
    Event("Warning", cond::kInvalid, message);
  }

  bool Known(const std::string& cluster) const { return in_.known_clusters.count(cluster) > 0; }
  bool Observable(const std::string& cluster) const {
    return in_.observable_clusters.count(cluster) > 0;
  }
  const api::RestoreMemberView* Member(const std::string& cluster) const {
    auto it = members_.find(cluster);
    return it == members_.end() ? nullptr : it->second;
  }
  // A member is ours unless its owner marks name another object; members without marks (made
  // by the Go manager before a switch-over) are adopted.
  bool Foreign(const api::RestoreMemberView& m) const {
    if (!m.owner_uid.empty() && !vr_.uid.empty()) return m.owner_uid != vr_.uid;
    return !m.owner.empty() && m.owner != vr_.ns + "/" + vr_.name;
  }
  bool Recorded(const std::string& cluster) const {
    for (const auto& r : status_.restores) {
      if (r.k8s_cluster_name == cluster) return true;
    }
    return false;
  }
  std::string Describe(const api::RestoreMemberView& m) const {
    return "restore member " + m.name + " of cluster " + m.k8s_cluster_name;
  }

  void Delete() {
    if (!vr_.HasFinalizer()) return;
    bool pending = false;
    std::vector<std::string> deleting;
    for (const auto& c : vr_.clusters) {
      const api::RestoreMemberView* m = Member(c.k8s_cluster_name);
      if (m != nullptr && !Foreign(*m)) {
        pending = true;
        if (!m->deleting) {
          d_.actions.push_back(
              {MemberAction::Kind::kDelete, c.k8s_cluster_name, m->ns, m->name, nullptr, "", ""});
          deleting.push_back(c.k8s_cluster_name);
        }
      } else if (m == nullptr && !Observable(c.k8s_cluster_name) && Recorded(c.k8s_cluster_name)) {
        pending = true;  // cannot see that data plane: its member may still exist
        d_.RequeueWithin(kUnknownClusterRecheck);
      }
    }
    if (!deleting.empty()) {
      Event("Normal", "DeletingMembers",
            "deleting restore members in clusters " + Join(deleting, ", "));
    }
    if (pending) return;
    if (!status_.IsTrue(cond::kCleaned)) {
      status_.SetCondition(cond::kCleaned, "True", "", "all restore members are deleted", now_);
      d_.outcome = std::string(cond::kCleaned);
      Event("Normal", cond::kCleaned, "all restore members are deleted");
    }
    d_.finalizer = RestoreDecision::FinalizerChange::kRemove;
  }

  // Problems with the spec that make it Invalid; fills `storage` for every cluster.
  // spec.template's warm-up fields: known mode and strategy, an image when warming up, and
  // check-wal-only only with sync.
  void ValidateWarmUp(std::vector<std::string>& problems) const {
    const auto& w = vr_.warmup;
    if (!w.empty() && w != api::warmup_mode::kSync && w != api::warmup_mode::kAsync) {
      problems.push_back("spec.template.warmup " + Quote(w) + " is not one of sync, async");
    }
    const auto& s = vr_.warmup_strategy;
    if (!s.empty() && s != api::warmup_strategy::kFio && s != api::warmup_strategy::kHybrid &&
        s != api::warmup_strategy::kFsr && s != api::warmup_strategy::kCheckWalOnly) {
      problems.push_back("spec.template.warmupStrategy " + Quote(s) +
                         " is not one of fio, hybrid, fsr, check-wal-only");
    }
    if (!w.empty() && vr_.warmup_image.empty()) {
      problems.push_back("spec.template.warmupImage is required when warmup is " + Quote(w));
    }
    if (s == api::warmup_strategy::kCheckWalOnly && w != api::warmup_mode::kSync) {
      problems.push_back("spec.template.warmupStrategy check-wal-only requires warmup: sync");
    }
  }

  std::vector<std::string> Validate(bool check_known, std::map<std::string, Json>* storage) {
    std::vector<std::string> problems;
    if (vr_.name.size() > api::kMaxVolumeRestoreNameLength) {
      problems.push_back("name " + Quote(vr_.name) + " has " + std::to_string(vr_.name.size()) +
                         " characters; at most " +
                         std::to_string(api::kMaxVolumeRestoreNameLength) +
                         " fit, because the data plane's job restore-data-fed-<name> must stay "
                         "within 63 characters");
    }
    if (vr_.clusters.empty()) problems.push_back("spec.clusters is empty");
    std::set<std::string> seen;
    const bool from_backup = !vr_.volume_backup_name.empty();
    for (size_t i = 0; i < vr_.clusters.size(); ++i) {
      const auto& c = vr_.clusters[i];
      const std::string where = "spec.clusters[" + std::to_string(i) + "]";
      if (c.k8s_cluster_name.empty()) {
        problems.push_back(where + ".k8sClusterName is required");
      } else if (!seen.insert(c.k8s_cluster_name).second) {
        problems.push_back(where + ".k8sClusterName " + Quote(c.k8s_cluster_name) +
                           " is duplicated");
      } else if (check_known && !Known(c.k8s_cluster_name)) {
        std::vector<std::string> known(in_.known_clusters.begin(), in_.known_clusters.end());
        problems.push_back(
            where + ".k8sClusterName " + Quote(c.k8s_cluster_name) +
            " is not a context of the federation kubeconfig (known: " + Join(known, ", ") + ")");
      }
      if (c.tc_name.empty()) problems.push_back(where + ".tcName is required");
      if (c.tc_namespace.empty()) problems.push_back(where + ".tcNamespace is required");
      if (from_backup && c.backup != nullptr) {
        problems.push_back(where + ".backup and spec.volumeBackupName are mutually exclusive");
      } else if (!from_backup && c.backup == nullptr) {
        problems.push_back(
            where + " has no backup storage: set clusters[].backup or spec.volumeBackupName");
      } else if (!from_backup) {
        auto s3 = c.backup->find("s3");
        if (s3 == c.backup->end() || !s3->is_object()) {
          problems.push_back(where + ".backup must set s3 (EBS snapshot restore supports S3 only)");
        } else {
          (*storage)[c.k8s_cluster_name] = *c.backup;
        }
      }
    }
    ValidateWarmUp(problems);
    if (from_backup) ValidateBackupReference(seen, storage, &problems);
    return problems;
  }

  void ValidateBackupReference(const std::set<std::string>& restore_clusters,
                               std::map<std::string, Json>* storage,
                               std::vector<std::string>* problems) {
    const std::string ref = "VolumeBackup " + vr_.ns + "/" + vr_.volume_backup_name;
    if (in_.volume_backup == nullptr) {
      problems->push_back("spec.volumeBackupName: " + ref + " not found");
      return;
    }
    if (!api::IsConditionTrue(api::StatusOf(*in_.volume_backup),
                              api::volume_backup_condition::kComplete)) {
      std::string phase = JsonStringAt(*in_.volume_backup, {"status", "phase"});
      problems->push_back("spec.volumeBackupName: " + ref + " is not Complete (phase " +
                          Quote(phase) + ")");
      return;
    }
    std::set<std::string> backup_clusters;
    for (const auto& c : api::VolumeBackupClusters(*in_.volume_backup)) {
      backup_clusters.insert(c.k8s_cluster_name);
    }
    std::vector<std::string> not_in_backup, not_in_restore;
    for (const auto& c : restore_clusters) {
      if (!backup_clusters.count(c)) not_in_backup.push_back(c);
    }
    for (const auto& c : backup_clusters) {
      if (!restore_clusters.count(c)) not_in_restore.push_back(c);
    }
    if (!not_in_backup.empty() || !not_in_restore.empty()) {
      std::string msg = "spec.clusters do not match the clusters of " + ref;
      if (!not_in_backup.empty()) msg += "; not in the backup: " + Join(not_in_backup, ", ");
      if (!not_in_restore.empty()) msg += "; not in the restore: " + Join(not_in_restore, ", ");
      problems->push_back(msg);
      return;
    }
    for (const auto& c : restore_clusters) {
      auto s = api::RestoreStorageFromVolumeBackup(*in_.volume_backup, c);
      if (!s.ok()) {
        problems->push_back(s.status().message());
      } else {
        (*storage)[c] = std::move(s).value();
      }
    }
  }

  void MirrorMember(const api::RestoreMemberView& m) {
    api::VolumeRestoreMemberStatus e{
        m.k8s_cluster_name, m.tc_name, m.tc_namespace, m.name, m.phase, m.commit_ts, "", ""};
    if (m.phase == mcond::kFailed) {
      if (const auto* f = api::FindRestoreCondition(m.conditions, mcond::kFailed)) {
        e.reason = f->reason;
        e.message = f->message;
      }
    }
    UpsertRestore(std::move(e));
  }
  void UpsertRestore(api::VolumeRestoreMemberStatus e) {
    for (auto& r : status_.restores) {
      if (r.k8s_cluster_name == e.k8s_cluster_name) {
        r = std::move(e);
        return;
      }
    }
    status_.restores.push_back(std::move(e));
  }

  void Reconcile() {
    const bool started = status_.IsTrue(cond::kRunning);
    if (RejectForeignMember()) return;
    std::vector<const api::VolumeRestoreCluster*> missing;
    for (const auto& c : vr_.clusters) {
      if (Member(c.k8s_cluster_name) == nullptr) missing.push_back(&c);
    }
    std::map<std::string, Json> storage;
    // An empty list after the start (the spec was edited) must not read as "every member is
    // done": that led restore-data to a member that does not exist (found by fuzz).
    if (!started || !missing.empty() || vr_.clusters.empty()) {
      std::vector<std::string> problems = Validate(!started, &storage);
      if (!problems.empty()) {
        Invalid(Join(problems, "; "));
        return;
      }
    }
    if (!started) {
      if (status_.IsTrue(cond::kInvalid)) {
        status_.SetCondition(cond::kInvalid, "False", "SpecFixed", "the spec is valid now", now_);
        Event("Normal", "SpecFixed", "the spec is valid now; starting");
      }
      status_.time_started = now_;
      std::vector<std::string> names;
      for (const auto& c : vr_.clusters) names.push_back(c.k8s_cluster_name);
      SetTrue(cond::kRunning, "restoring volumes in clusters " + Join(names, ", "));
    }
    status_.StartStep(step::kRestoreVolume, now_);
    for (const auto& c : vr_.clusters) {
      if (const auto* m = Member(c.k8s_cluster_name)) MirrorMember(*m);
    }
    if (!CreateMissingMembers(missing, storage)) return;
    if (CheckMemberFailures()) return;
    if (!missing.empty()) return;
    Progress();
  }

  // A member of our name that belongs to another VolumeRestore makes this one Invalid.
  bool RejectForeignMember() {
    for (const auto& c : vr_.clusters) {
      const api::RestoreMemberView* m = Member(c.k8s_cluster_name);
      if (m != nullptr && Foreign(*m)) {
        Invalid("Restore " + m->ns + "/" + m->name + " in cluster " + c.k8s_cluster_name +
                " already exists and belongs to another VolumeRestore (" + m->owner + " uid " +
                m->owner_uid + ")");
        return true;
      }
    }
    return false;
  }

  // Creates the members that are missing where we can see; false when the restore failed (a
  // member vanished after VolumeComplete).
  bool CreateMissingMembers(const std::vector<const api::VolumeRestoreCluster*>& missing,
                            const std::map<std::string, Json>& storage) {
    for (const auto* c : missing) {
      if (status_.IsTrue(cond::kVolumeComplete) && Recorded(c->k8s_cluster_name)) {
        Fail(reason::kMemberFailed, "restore member " + api::RestoreMemberName(vr_.name) +
                                        " of cluster " + c->k8s_cluster_name +
                                        " disappeared after VolumeComplete");
        return false;
      }
      if (!Observable(c->k8s_cluster_name)) {
        d_.RequeueWithin(kUnknownClusterRecheck);
        continue;
      }
      auto body = std::make_shared<const Json>(
          api::BuildRestoreMember(vr_, *c, storage.at(c->k8s_cluster_name)));
      d_.actions.push_back({MemberAction::Kind::kCreate, c->k8s_cluster_name, c->tc_namespace,
                            api::RestoreMemberName(vr_.name), std::move(body), "", ""});
      if (!Recorded(c->k8s_cluster_name)) {
        UpsertRestore({c->k8s_cluster_name, c->tc_name, c->tc_namespace,
                       api::RestoreMemberName(vr_.name), "", "", "", ""});
      }
      Event("Normal", "CreateMember",
            "creating restore member " + api::RestoreMemberName(vr_.name) + " in cluster " +
                c->k8s_cluster_name + " namespace " + c->tc_namespace);
    }
    return true;
  }

  // Any Invalid or Failed member fails the restore (upstream R7), naming every such member.
  bool CheckMemberFailures() {
    std::vector<std::string> bad;
    bool any_invalid = false;
    for (const auto& c : vr_.clusters) {
      const api::RestoreMemberView* m = Member(c.k8s_cluster_name);
      if (m == nullptr) continue;
      const char* what = nullptr;
      const api::RestoreCondition* why = nullptr;
      if (m->IsTrue(mcond::kInvalid)) {
        what = "is invalid";
        why = api::FindRestoreCondition(m->conditions, mcond::kInvalid);
        any_invalid = true;
      } else if (m->IsTrue(mcond::kFailed)) {
        what = "is failed";
        why = api::FindRestoreCondition(m->conditions, mcond::kFailed);
      }
      if (what == nullptr) continue;
      std::string line = Describe(*m) + " " + what;
      if (!why->reason.empty()) line += ": " + why->reason;
      if (!why->message.empty()) line += ": " + why->message;
      bad.push_back(std::move(line));
    }
    if (bad.empty()) return false;
    Fail(any_invalid ? reason::kMemberInvalid : reason::kMemberFailed, Join(bad, "; "));
    return true;
  }

  bool All(std::string_view member_condition) const {
    for (const auto& c : vr_.clusters) {
      const api::RestoreMemberView* m = Member(c.k8s_cluster_name);
      if (m == nullptr || !m->IsTrue(member_condition)) return false;
    }
    return true;
  }

  // The phases of ARCHITECTURE.md §1 (restore), each entered once all members finished the
  // previous one.
  void Progress() {
    const bool sync = vr_.warmup == api::warmup_mode::kSync;
    const bool async = vr_.warmup == api::warmup_mode::kAsync;
    const bool check_wal_only = vr_.warmup_strategy == api::warmup_strategy::kCheckWalOnly;
    if (!All(mcond::kVolumeComplete)) return;
    VolumesRestored(sync, async);
    if (sync || async) WarmUp(sync, check_wal_only);
    if (check_wal_only) {
      // No data restore: complete once every member finished its warm-up, as upstream does (the
      // data plane writes the member's Complete right after, or Failed instead of
      // WarmUpComplete when the check finds corruption).
      if (status_.IsTrue(cond::kWarmUpComplete)) {
        Terminal(cond::kComplete, "", "WAL check complete in every cluster");
      }
      return;
    }
    if (!All(mcond::kTikvComplete)) return;
    if (!status_.IsTrue(cond::kTikvComplete)) {
      SetTrue(cond::kTikvComplete, "TiKV is up in every cluster");
      FinishStep(step::kStartTiKV);
    }
    if (!RestoreData()) return;
    RestoreFinish(async);
  }

  void VolumesRestored(bool sync, bool async) {
    if (status_.IsTrue(cond::kVolumeComplete)) return;
    SetTrue(cond::kVolumeComplete, "volumes are restored in every cluster");
    FinishStep(step::kRestoreVolume);
    if (sync) {
      status_.StartStep(step::kWarmUp, now_);
    } else if (async) {
      status_.StartStep(step::kStartTiKV, now_);
      status_.StartStep(step::kWarmUp, now_);
    } else {
      status_.StartStep(step::kStartTiKV, now_);
    }
  }

  void WarmUp(bool sync, bool check_wal_only) {
    if (!status_.IsTrue(cond::kWarmUpStarted) && All(mcond::kWarmUpStarted)) {
      SetTrue(cond::kWarmUpStarted, "warm-up started in every cluster");
    }
    if (status_.IsTrue(cond::kWarmUpStarted) && !status_.IsTrue(cond::kWarmUpComplete) &&
        All(mcond::kWarmUpComplete)) {
      SetTrue(cond::kWarmUpComplete, "warm-up complete in every cluster");
      FinishStep(step::kWarmUp);
      if (sync && !check_wal_only) status_.StartStep(step::kStartTiKV, now_);
    }
  }

  // restore-data in one member; true once its data is restored.
  bool RestoreData() {
    bool data_started = false;
    for (const auto& m : in_.members) {
      if (m.federal_phase == fphase::kRestoreData || m.federal_phase == fphase::kRestoreFinish) {
        data_started = true;
      }
    }
    if (!data_started) {
      StartRestoreData();
      return false;
    }
    status_.StartStep(step::kRestoreData, now_);  // after a crash between patch and status
    if (status_.IsTrue(cond::kDataComplete)) return true;
    const api::RestoreMemberView* done = nullptr;
    for (const auto& c : vr_.clusters) {
      const api::RestoreMemberView* m = Member(c.k8s_cluster_name);
      if (m->IsTrue(mcond::kDataComplete)) {
        done = m;
        break;
      }
    }
    if (done == nullptr) return false;
    status_.commit_ts = done->commit_ts;
    SetTrue(cond::kDataComplete,
            "data restored by " + Describe(*done) + " at commitTs " + done->commit_ts);
    FinishStep(step::kRestoreData);
    return true;
  }

  // restore-finish everywhere, then Complete.
  void RestoreFinish(bool async) {
    status_.StartStep(step::kRestartTiKV, now_);
    std::vector<std::string> patched;
    for (const auto& c : vr_.clusters) {
      const api::RestoreMemberView* m = Member(c.k8s_cluster_name);
      if (m->federal_phase == fphase::kRestoreFinish) continue;
      d_.actions.push_back({MemberAction::Kind::kPatchPhase, m->k8s_cluster_name, m->ns, m->name,
                            nullptr, std::string(fphase::kRestoreFinish), m->resource_version});
      patched.push_back(m->k8s_cluster_name);
    }
    if (!patched.empty()) {
      Event("Normal", "RestoreFinish", "restore-finish in clusters " + Join(patched, ", "));
      return;
    }
    if (!All(mcond::kComplete)) return;
    FinishStep(step::kRestartTiKV);
    // Async warm-up runs on after TiKV restarts; Complete waits for it (upstream R6).
    if (async && !status_.IsTrue(cond::kWarmUpComplete)) return;
    Terminal(cond::kComplete, "", "restore complete at commitTs " + status_.commit_ts);
  }

  // restore-data on exactly one member: the smallest commitTs, ties to the smallest
  // k8sClusterName (independent of spec order, so a spec edit cannot change the choice).
  void StartRestoreData() {
    std::vector<std::string> bad;
    const api::RestoreMemberView* chosen = nullptr;
    long long min_ts = 0;
    for (const auto& c : vr_.clusters) {
      const api::RestoreMemberView* m = Member(c.k8s_cluster_name);
      if (m->commit_ts.empty()) {
        bad.push_back("commitTs of " + Describe(*m) + " is empty");
        continue;
      }
      std::optional<long long> ts = ParseInt64(m->commit_ts);
      if (!ts.has_value()) {
        bad.push_back("commitTs " + Quote(m->commit_ts) + " of " + Describe(*m) +
                      " is not a 64-bit integer");
        continue;
      }
      if (chosen == nullptr || *ts < min_ts ||
          (*ts == min_ts && m->k8s_cluster_name < chosen->k8s_cluster_name)) {
        chosen = m;
        min_ts = *ts;
      }
    }
    if (!bad.empty()) {
      Fail(reason::kMemberResolvedTsInvalid, Join(bad, "; "));
      return;
    }
    status_.StartStep(step::kRestoreData, now_);
    d_.actions.push_back({MemberAction::Kind::kPatchPhase, chosen->k8s_cluster_name, chosen->ns,
                          chosen->name, nullptr, std::string(fphase::kRestoreData),
                          chosen->resource_version});
    Event(
        "Normal", "RestoreData",
        "restore-data on " + Describe(*chosen) + " (smallest commitTs " + chosen->commit_ts + ")");
  }

  const RestoreDecideInput& in_;
  const api::VolumeRestoreView& vr_;
  const Time now_;
  api::VolumeRestoreStatus status_;
  std::map<std::string, const api::RestoreMemberView*> members_;
  RestoreDecision d_;
};

}  // namespace

Json MemberPhasePatch(const MemberAction& action) {
  return Json{{"metadata", {{"resourceVersion", action.resource_version}}},
              {"spec", {{"federalVolumeRestorePhase", action.federal_phase}}}};
}

RestoreDecision DecideRestore(const RestoreDecideInput& input) {
  auto vr = api::ParseVolumeRestore(*input.volume_restore);
  if (vr.ok()) return Pass(input, *vr).Run();

  // Malformed spec: Invalid (once), and deletion is not blocked.
  RestoreDecision d;
  const Json* st = JsonAt(*input.volume_restore, {"status"});
  auto status = st != nullptr ? api::ParseVolumeRestoreStatus(*st) : api::VolumeRestoreStatus{};
  api::VolumeRestoreStatus s = status.ok() ? *status : api::VolumeRestoreStatus{};
  const Json* deletion = JsonAt(*input.volume_restore, {"metadata", "deletionTimestamp"});
  if (deletion != nullptr && !deletion->is_null()) {
    d.finalizer = RestoreDecision::FinalizerChange::kRemove;
    return d;
  }
  const std::string message = Excerpt(vr.status().message(), kMessageBytes);
  const api::RestoreCondition* inv = api::FindRestoreCondition(s.conditions, cond::kInvalid);
  if (status.ok() && inv != nullptr && inv->status == "True" && inv->message == message) return d;
  s.SetCondition(cond::kInvalid, "True", reason::kInvalidSpec, message,
                 std::chrono::floor<std::chrono::seconds>(input.now));
  d.new_status = std::move(s);
  d.outcome = std::string(cond::kInvalid);
  d.events.push_back({"Warning", std::string(cond::kInvalid), message});
  return d;
}

std::vector<MemberAction> DecideOrphanedRestoreMembers(const std::vector<OrphanedMember>& members) {
  std::vector<MemberAction> actions;
  for (const OrphanedMember& o : members) {
    if (api::IsBeingDeleted(*o.member)) continue;
    MemberAction a;
    a.kind = MemberAction::Kind::kDelete;
    a.k8s_cluster_name = o.cluster;
    a.ns = JsonStringAt(*o.member, {"metadata", "namespace"});
    a.name = JsonStringAt(*o.member, {"metadata", "name"});
    actions.push_back(std::move(a));
  }
  return actions;
}

}  // namespace brfed::federation
