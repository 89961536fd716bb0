#include "federation/backup_decide.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "api/backup_member.h"
#include "api/conditions.h"
#include "api/labels.h"
#include "api/metadata.h"
#include "api/volume_backup.h"
#include "core/bytes.h"
#include "core/duration.h"
#include "core/excerpt.h"
#include "core/strings.h"

namespace brfed::federation {
namespace {

namespace vbc = api::volume_backup_condition;
namespace phase = api::federal_backup_phase;
using Kind = BackupAction::Kind;

constexpr const char* kVanishedMessage =
    "vanished while the backup ran: it was deleted from the data plane, not by the manager (by "
    "hand, or the cluster's API server lost its data)";

// One spec.clusters[] entry joined with what we observe there.
struct Slot {
  api::ClusterRef ref;
  const BackupClusterView* view = nullptr;  // never null after Observe
  const Json* member = nullptr;             // ours and present
  bool foreign = false;                     // a member of an older object of the same name
  bool is_init = false;
};

// Deletes `member` of `cluster` in the foreground, so that its Jobs (the init Job holding the
// pause, a running execute Job) go first. One that has not reported its snapshots most likely
// has no backupmeta, and under cleanPolicy Delete its clean would then fail for ever (contract
// b.7: a missing backupmeta is an error unless the member Failed; CleanFailed holds the member,
// and so the VolumeBackup, by their finalizers). OnFailure first: the cleaner then removes its
// finalizer without a clean, unless it fails, when a missing backupmeta is no error. (Retain
// would hold it too: a finalizer goes only from a clean candidate.) Snapshots a job started
// without recording them in a backupmeta are out of any clean's reach either way.
void AppendMemberStop(std::vector<BackupAction>& actions, const std::string& cluster,
                      const Json& member) {
  const std::string ns = JsonStringAt(member, {"metadata", "namespace"});
  const std::string name = JsonStringAt(member, {"metadata", "name"});
  if (!api::IsVolumeBackupSnapshotsCreated(member) &&
      JsonStringAt(member, {"spec", "cleanPolicy"}) == "Delete") {
    auto patch = std::make_shared<Json>(Json{
        {"metadata", {{"resourceVersion", JsonStringAt(member, {"metadata", "resourceVersion"})}}},
        {"spec", {{"cleanPolicy", "OnFailure"}}}});
    actions.push_back({Kind::kPatchMember, cluster, ns, name, std::move(patch)});
  }
  BackupAction stop{Kind::kDeleteMember, cluster, ns, name, nullptr};
  stop.propagation_policy = "Foreground";
  actions.push_back(std::move(stop));
}

class Decider {
 public:
  Decider(const BackupObservation& obs, const BackupDecideOptions& options)
      : obs_(obs), options_(options), vb_(*obs.volume_backup), old_status_(api::StatusOf(vb_)) {
    status_ = old_status_.is_object() ? old_status_ : Json::object();
    name_ = JsonStringAt(vb_, {"metadata", "name"});
    rv_ = JsonStringAt(vb_, {"metadata", "resourceVersion"});
  }

  BackupDecision Run() {
    Observe();
    // Adoption first and alone: it changes the members' resourceVersions, and the adopted
    // members reach the caches (and the next decision) through their watch events.
    if (DecideAdoptions()) return Finish();
    if (api::IsBeingDeleted(vb_)) {
      DecideDeletion();
    } else if (api::IsConditionTrue(status_, vbc::kFailed)) {
      StopAfterFailure();
    } else if (!api::IsConditionTrue(status_, vbc::kComplete)) {
      DecideProgress();
    }
    return Finish();
  }

 private:
  // ---- observation ------------------------------------------------------------------------

  void Observe() {
    static const BackupClusterView kMissing{false, "no client for this cluster", nullptr, ""};
    std::vector<api::ClusterRef> refs = api::VolumeBackupClusters(vb_);
    for (size_t i = 0; i < refs.size(); ++i) {
      Slot slot;
      slot.ref = refs[i];
      slot.is_init = i == 0;
      auto it = obs_.clusters.find(slot.ref.k8s_cluster_name);
      slot.view = it != obs_.clusters.end() ? &it->second : &kMissing;
      if (slot.view->reachable && slot.view->member != nullptr) {
        if (api::MemberBelongsTo(*slot.view->member, vb_)) {
          slot.member = slot.view->member.get();
        } else {
          slot.foreign = true;
        }
      } else if (slot.view->reachable && slot.view->unmarked_member != nullptr &&
                 !api::IsGoManagerMember(*slot.view->unmarked_member, vb_)) {
        slot.foreign = true;
      }
      slots_.push_back(std::move(slot));
    }
  }

  // Members the Go br-federation-manager built for this VolumeBackup get our marks.
  bool DecideAdoptions() {
    bool any = false;
    for (const Slot& s : slots_) {
      const auto& unmarked = s.view->unmarked_member;
      if (!s.view->reachable || s.view->member != nullptr || unmarked == nullptr ||
          !api::IsGoManagerMember(*unmarked, vb_)) {
        continue;
      }
      decision_.actions.push_back({Kind::kPatchMember, s.ref.k8s_cluster_name, s.ref.tc_namespace,
                                   api::MemberName(name_),
                                   std::make_shared<Json>(api::AdoptionPatch(*unmarked, vb_))});
      AddEvent("Normal", "Adopted",
               api::MemberName(name_) + " in cluster " + s.ref.k8s_cluster_name +
                   " was built by the Go br-federation-manager; continuing it");
      any = true;
    }
    return any;
  }

  bool AnyMemberPresent() const {
    for (const Slot& s : slots_) {
      if (s.member != nullptr) return true;
    }
    return false;
  }

  // A member we saw earlier (its status entry has a data-plane phase) and that is now gone,
  // before any teardown: not deleted by us (after a failure we may delete members that still
  // run, StopMember), so someone deleted it or its API server lost its data (restarted empty:
  // the member cache relists then, runtime::WatchMachine).
  // Once seen, it stays vanished: its status entry says so (kReasonMemberVanished).
  // The initialize member is also known to have existed, and to have paused GC, once any other
  // member exists (they are created only after it reported Initialized), even when the status
  // never mirrored its phase (member-mirror writes wait in a batch window): created again, it
  // would open a second pause window for the same backup while the others already took their
  // snapshots in the first (chaos seed 60184: that backup completed).
  bool Vanished(const Slot& s) const {
    if (s.member != nullptr || !s.view->reachable || s.foreign) return false;
    const Json* entry = OldEntry(s.ref.k8s_cluster_name);
    const std::string reason = entry != nullptr ? JsonStringAt(*entry, {"reason"}) : "";
    if (reason == kReasonMemberVanished) return true;
    if (reason == kReasonMemberStopped || TeardownStartedAt()) return false;
    const bool seen = entry != nullptr && !JsonStringAt(*entry, {"phase"}).empty();
    return seen || (s.is_init && std::any_of(slots_.begin() + 1, slots_.end(),
                                             [](const Slot& o) { return o.member != nullptr; }));
  }

  // When teardown began: the Teardown step in the status as it was before this pass, else
  // (upstream's CRDs prune status.steps) when this manager first tore it down, else, for a
  // backup already Failed (the budget fails it at once), the Failed condition's transition.
  std::optional<Time> TeardownStartedAt() const {
    if (const Json* steps = JsonAt(old_status_, {"steps"}); steps != nullptr && steps->is_array()) {
      for (const Json& step : *steps) {
        if (JsonStringAt(step, {"stepName"}) != backup_step::kTeardown) continue;
        if (auto t = ParseRfc3339(JsonStringAt(step, {"timeStarted"})); t.ok()) return *t;
      }
    }
    std::optional<Time> seen = obs_.teardown_seen;
    if (auto failed = api::ConditionTransitionTime(old_status_, vbc::kFailed); failed) {
      seen = std::min(seen.value_or(*failed), *failed);
    }
    return seen;
  }

  const Json* OldEntry(const std::string& cluster) const {
    const Json* backups = JsonAt(old_status_, {"backups"});
    if (backups == nullptr || !backups->is_array()) return nullptr;
    for (const Json& e : *backups) {
      if (JsonStringAt(e, {"k8sClusterName"}) == cluster) return &e;
    }
    return nullptr;
  }

  // ---- the protocol -----------------------------------------------------------------------
  // ARCHITECTURE.md §1, in phases: StartOrReject (validate, finalizer, initialize member) ->
  // Initialize -> Execute (snapshots, then GC resumes) -> Teardown (on completion or any
  // failure) -> Complete or Failed; DecideDeletion when the VolumeBackup is being deleted.

  void DecideProgress() {
    const bool started = api::IsConditionTrue(status_, vbc::kRunning) || AnyMemberPresent();
    if (!started) {
      StartOrReject();
      return;
    }
    if (slots_.empty()) {
      SetCondition(vbc::kFailed, "InvalidSpec",
                   "spec.clusters was emptied after the backup started");
      return;
    }
    MirrorMembers();
    std::vector<std::string> failures = Failures();
    const bool teardown_started = std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) {
      return s.member != nullptr && api::MemberFederalPhase(*s.member) == phase::kTeardown;
    });
    const bool all_complete =
        !slots_.empty() && std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) {
          return s.member != nullptr && api::IsVolumeBackupComplete(*s.member);
        });
    ObserveGcRelease();
    MarkSnapshotsCreated();
    if (std::vector<std::string> late = OverPauseBudget(failures.empty()); !late.empty()) {
      FailOverPauseBudget(late);
      return;
    }
    if (!failures.empty() || all_complete || teardown_started) {
      Teardown(failures, all_complete);
      return;
    }
    Slot& init = slots_[0];
    if (Initialize(init)) Execute(init);
  }

  // Initialize: the initialize member pauses GC and PD scheduling; once it reports Initialized,
  // it moves on to execute. True once it has.
  bool Initialize(Slot& init) {
    if (init.member == nullptr) {
      if (init.view->reachable && !init.foreign) CreateMember(init);
      return false;
    }
    if (!api::IsVolumeBackupInitialized(*init.member)) return false;  // pausing GC
    if (api::MemberFederalPhase(*init.member) == phase::kInitialize) {
      PatchMember(init, {{"federalVolumeBackupPhase", phase::kExecute}});
      EndStep(backup_step::kInitialize);
      // The window opened when the event saying so arrived, not when this pass began.
      StartStep(backup_step::kGcPause,
                std::min(obs_.now, obs_.gc_pause.initialized_seen.value_or(obs_.now)));
      StartStep(backup_step::kCreateSnapshots);
      AddEvent("Normal", "Initialized",
               "GC and PD scheduling paused by cluster " + init.ref.k8s_cluster_name +
                   "; taking snapshots in every cluster");
    }
    return true;
  }

  // Execute: the other members take their snapshots; once every member has, GC and PD
  // scheduling resume (resumeGcSchedule on the initialize member).
  void Execute(Slot& init) {
    for (size_t i = 1; i < slots_.size(); ++i) {
      if (slots_[i].member == nullptr && slots_[i].view->reachable && !slots_[i].foreign) {
        CreateMember(slots_[i]);
      }
    }
    const bool all_snapshots = std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) {
      return s.member != nullptr && api::IsVolumeBackupSnapshotsCreated(*s.member);
    });
    if (all_snapshots && !api::MemberResumeGcSchedule(*init.member)) {
      PatchMember(init, {{"resumeGcSchedule", true}});
      EndStep(backup_step::kCreateSnapshots);  // visible before the condition, in steps[]
      StartStep(backup_step::kCompleteSnapshots);
      AddEvent("Normal", "SnapshotsCreated",
               "all " + std::to_string(slots_.size()) +
                   " members created their snapshots; resuming GC and PD scheduling");
    }
  }

  // Before any member exists: validate, add the finalizer, then create the initialize member.
  void StartOrReject() {
    std::vector<api::ValidationIssue> issues = api::ValidateVolumeBackup(vb_, obs_.known_clusters);
    if (!issues.empty()) {
      std::string message;
      for (const auto& issue : issues) {
        if (!message.empty()) message += "; ";
        message += issue.message;
      }
      message = Excerpt(message, kMessageBytes);
      const bool news = api::ConditionMessage(status_, vbc::kInvalid) != message ||
                        !api::IsConditionTrue(status_, vbc::kInvalid);
      SetCondition(vbc::kInvalid, issues[0].reason, message);
      if (news) AddEvent("Warning", "Invalid", message);
      return;
    }
    if (!api::HasFinalizer(vb_, api::kBackupProtectionFinalizer)) {
      AddVolumeBackupPatch(api::FinalizerPatch(vb_, api::kBackupProtectionFinalizer, true, rv_));
      decision_.actions.back().admission_on = {""};
      return;  // the status waits for the next pass: one resourceVersion per write
    }
    Slot& init = slots_[0];
    if (!init.view->permanent_error.empty()) {
      const std::string message = "cannot create the initialize member in cluster " +
                                  init.ref.k8s_cluster_name + ": " +
                                  Excerpt(init.view->permanent_error, kMessageBytes);
      const bool news = api::ConditionMessage(status_, vbc::kInvalid) != message;
      SetCondition(vbc::kInvalid, "CreateMemberFailed", message);
      if (news) AddEvent("Warning", "Invalid", message);
      return;
    }
    if (api::FindCondition(status_, vbc::kInvalid) != nullptr) {
      api::SetCondition(status_, {std::string(vbc::kInvalid), "False", "Valid", ""}, obs_.now);
    }
    MirrorMembers();
    if (!init.view->reachable || init.foreign) return;
    CreateMember(init);
    SetCondition(vbc::kRunning, "", "");
    status_["timeStarted"] = FormatRfc3339(obs_.now);
    StartStep(backup_step::kInitialize);
    AddEvent("Normal", "Running",
             "creating initialize member " + api::MemberName(name_) + " in cluster " +
                 init.ref.k8s_cluster_name + " (namespace " + init.ref.tc_namespace + ")");
    if (api::SnapshotsDeleteRatioOutOfRange(vb_)) {
      AddEvent("Warning", "SnapshotsDeleteRatioOutOfRange",
               "spec.template.snapshotsDeleteRatio is outside [0.1, 2.0]; members use 1");
    }
    if (JsonStringAt(vb_, {"spec", "template", "s3", "prefix"}).empty()) {
      // Members then write to <bucket>/-<cluster>, the same place as every other backup
      // without a prefix: the second one fails with FileExistedInExternalStorage.
      AddEvent("Warning", "NoS3Prefix",
               "spec.template.s3.prefix is empty: every backup without a prefix writes to the "
               "same S3 location, so a second one fails (FileExistedInExternalStorage)");
    }
  }

  // Members that failed (or could not be created), each "fed-x in cluster c: why".
  std::vector<std::string> Failures() const {
    std::vector<std::string> failures;
    for (const Slot& s : slots_) {
      std::string why;
      if (s.member != nullptr && api::IsMemberFailed(*s.member)) {
        why = api::MemberFailureSummary(*s.member);
      } else if (s.member == nullptr && !s.view->permanent_error.empty()) {
        why = "could not be created: " + s.view->permanent_error;
      } else if (Vanished(s)) {
        why = kVanishedMessage;
      } else if (s.member != nullptr && api::IsBackupComplete(*s.member) &&
                 !api::IsVolumeBackupComplete(*s.member)) {
        why = "completed without VolumeBackupComplete";
      }
      if (!why.empty()) {
        failures.push_back(api::MemberName(name_) + " in cluster " + s.ref.k8s_cluster_name + ": " +
                           why);
      }
    }
    return failures;
  }

  // SnapshotsCreated as upstream sets it: every member took its snapshots and the initialize
  // member reports VolumeBackupInitializeComplete (GC and PD scheduling resumed).
  void MarkSnapshotsCreated() {
    if (slots_.empty() || api::IsConditionTrue(status_, vbc::kSnapshotsCreated)) return;
    const Slot& init = slots_[0];
    if (init.member == nullptr || !api::IsVolumeBackupInitializeComplete(*init.member)) return;
    const bool all_snapshots = std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) {
      return s.member != nullptr && api::IsVolumeBackupSnapshotsCreated(*s.member);
    });
    if (all_snapshots) SetCondition(vbc::kSnapshotsCreated, "", "");
  }

  void ObserveGcRelease() {
    if (slots_.empty()) return;
    const Slot& init = slots_[0];
    if (init.member == nullptr || api::IsMemberPauseHeld(*init.member)) return;
    if (!api::IsVolumeBackupInitialized(*init.member)) return;
    if (ClosePauseWindow()) {
      AddEvent("Normal", "GCResumed",
               "GC and PD scheduling resumed in cluster " + init.ref.k8s_cluster_name);
    }
  }

  // Teardown everywhere (which also resumes GC), then Complete or Failed once every member
  // is done. After a failure, StopThenTeardown.
  void Teardown(const std::vector<std::string>& failures, bool all_complete) {
    decision_.tears_down = true;
    if (StartStep(backup_step::kTeardown)) AnnounceTeardown(failures);
    const bool done = failures.empty() ? SendTeardownToEveryMember() : StopThenTeardown(false);
    if (!done) return;
    EndStep(backup_step::kTeardown);
    RecordTimeTaken();
    std::vector<std::string> problems = failures;
    if (problems.empty() && !all_complete) problems = IncompleteMembers();
    // The size is written on Failed too, as upstream does: what the members that got that far
    // hold (their snapshots stay until the VolumeBackup is deleted).
    const long long size = RecordSize();
    std::optional<unsigned long long> commit_ts;
    if (problems.empty()) commit_ts = SmallestCommitTs(problems);
    if (!problems.empty()) return Fail(problems);
    status_["commitTs"] = std::to_string(*commit_ts);
    SetCondition(vbc::kComplete, "", "");
    AddEvent("Normal", "Complete",
             "backup complete: " + HumanizeBytes(static_cast<uint64_t>(size)) + ", commitTs " +
                 std::to_string(*commit_ts) + ", took " + status_["timeTaken"].get<std::string>());
    decision_.finished_phase = "Complete";
  }

  void AnnounceTeardown(const std::vector<std::string>& failures) {
    if (failures.empty()) {
      // Every member may have reached VolumeBackupComplete before we saw them all at
      // SnapshotsCreated (a data plane that did not answer meanwhile, finding 8): the status
      // still records that stage.
      if (!api::IsConditionTrue(status_, vbc::kSnapshotsCreated)) {
        SetCondition(vbc::kSnapshotsCreated, "", "");
      }
      EndStep(backup_step::kCreateSnapshots);
      StartStep(backup_step::kCompleteSnapshots);
      EndStep(backup_step::kCompleteSnapshots);
      AddEvent("Normal", "Teardown", "all members completed their snapshots; tearing down");
    } else {
      AddEvent(
          "Warning", "Teardown",
          "tearing down every member (GC and PD scheduling resume) after: " + Join(failures, "; "));
    }
  }

  // Whether `s` has a member that has not ended; clears `all_done` unless it is known to have
  // ended (an unreachable cluster's member is not).
  static bool Unfinished(const Slot& s, bool& all_done) {
    if (!s.view->reachable) {
      all_done = false;
      return false;
    }
    if (s.member == nullptr || api::IsMemberTerminal(*s.member)) return false;
    all_done = false;
    return true;
  }

  // Sends teardown (and resumeGcSchedule to the initialize member) to every unfinished member.
  // True once every member is done.
  bool SendTeardownToEveryMember() {
    bool all_done = true;
    for (Slot& s : slots_) {
      if (Unfinished(s, all_done)) SendTeardownTo(s);
    }
    return all_done;
  }

  // After a failure, in the order a deletion uses (TeardownBeforeDeletion): a member other than
  // the initialize one that still executes without snapshots is deleted in the foreground at
  // once, since its execute Job keeps running after teardown (contract b.6) and would take its
  // snapshots after GC resumes; the rest get teardown. The initialize member's teardown, which
  // resumes GC, waits until the stopped members are gone, at most stop_after_failure_grace
  // after the failure (chaos seeds 42013, 44085, 44133: sending it in the same pass let a job
  // elsewhere snapshot 0.04-5 s after the release). Once it has teardown, the initialize member
  // is deleted too if it still runs without snapshots: at once with `stop_init_now` (the budget
  // is spent), else after the grace, since teardown may still end it with its status. True
  // once every member is done.
  bool StopThenTeardown(bool stop_init_now) {
    bool all_done = true;
    bool stopping = false;
    for (Slot& s : slots_) {
      if (s.is_init || !Unfinished(s, all_done)) continue;
      if (api::IsBeingDeleted(*s.member)) {
        stopping = stopping || !api::IsVolumeBackupSnapshotsCreated(*s.member);
      } else if (StillRunningWithoutSnapshots(*s.member)) {
        StopMember(s, "the backup failed");
        stopping = true;
      } else {
        SendTeardownTo(s);
      }
    }
    if (slots_.empty() || !Unfinished(slots_[0], all_done)) return all_done;
    const Slot& init = slots_[0];
    if (api::IsBeingDeleted(*init.member)) return all_done;  // its Jobs, and the pause, go
    if (stopping && !StopGraceOver()) return all_done;       // resume once they are gone
    if (SendTeardownTo(init)) return all_done;
    if (StillRunningWithoutSnapshots(*init.member) && (stop_init_now || StopGraceOver())) {
      StopMember(init, "the backup failed");
    }
    return all_done;
  }

  // SendTeardown, with the GCResumed Event when it is the one to the initialize member. True
  // when a patch was sent.
  bool SendTeardownTo(const Slot& s) {
    if (!SendTeardown(s)) return false;
    if (s.is_init && ClosePauseWindow()) {
      AddEvent("Normal", "GCResumed", "teardown sent to cluster " + s.ref.k8s_cluster_name);
    }
    return true;
  }

  static bool StillRunningWithoutSnapshots(const Json& member) {
    return !api::IsBeingDeleted(member) && !api::IsVolumeBackupSnapshotsCreated(member) &&
           api::MemberFailureSummary(member).empty();
  }

  // Deletes the member in the foreground (AppendMemberStop); `why` says what the backup is
  // going through.
  void StopMember(const Slot& s, const std::string& why) {
    AppendMemberStop(decision_.actions, s.ref.k8s_cluster_name, *s.member);
    if (status_.contains("backups") && status_["backups"].is_array()) {
      for (Json& entry : status_["backups"]) {
        if (JsonStringAt(entry, {"k8sClusterName"}) != s.ref.k8s_cluster_name) continue;
        entry["reason"] = kReasonMemberStopped;
        entry["message"] = "deleted by the manager before its snapshots: " + why;
      }
    }
    AddEvent("Warning", "StoppingMember",
             "deleting " + api::MemberName(name_) + " in cluster " + s.ref.k8s_cluster_name +
                 (s.is_init ? " to release GC and PD scheduling now (its init job goes with it)"
                            : " to stop it: it has not created its snapshots and " + why));
  }

  // Whether the members sent teardown after a failure have had their grace (see
  // BackupDecideOptions::stop_after_failure_grace); if not, look again when they have.
  bool StopGraceOver() {
    const auto waited =
        Elapsed(std::min(obs_.now, TeardownStartedAt().value_or(obs_.now)), obs_.now);
    if (waited >= options_.stop_after_failure_grace) return true;
    Requeue(options_.stop_after_failure_grace - waited);
    return false;
  }

  // A Failed backup whose members are not all done (the budget failed it at once, or a member
  // hung): keep tearing down and stop what still runs without snapshots.
  void StopAfterFailure() {
    if (api::ConditionReason(status_, vbc::kFailed) != kReasonPauseBudgetExceeded) return;
    MirrorMembers();
    decision_.tears_down = true;
    if (StopThenTeardown(true)) EndStep(backup_step::kTeardown);
  }

  // ---- the GC-pause budget ----------------------------------------------------------------

  std::chrono::milliseconds PauseBudget() const {
    auto annotated = api::GcPauseBudgetOf(vb_);
    return annotated.ok() && annotated->has_value() ? **annotated : options_.gc_pause_budget;
  }

  // When the pause began: the GCPause step, else (upstream's CRDs prune status.steps) when this
  // manager saw the initialize member's Initialized event (what the step would have said), else
  // that member's own VolumeBackupInitialized transition (a manager started inside the window).
  std::optional<Time> PauseStarted() {
    if (const Json* step = FindStep(backup_step::kGcPause); step != nullptr) {
      if (auto t = ParseRfc3339(JsonStringAt(*step, {"timeStarted"})); t.ok()) return *t;
    }
    if (slots_.empty() || slots_[0].member == nullptr) return std::nullopt;
    if (obs_.gc_pause.initialized_seen) return std::min(obs_.now, *obs_.gc_pause.initialized_seen);
    return api::ConditionTransitionTime(api::StatusOf(*slots_[0].member),
                                        api::backup_condition::kVolumeBackupInitialized);
  }

  // Closes the GC-pause window, once: through its GCPause step, or where the CRD prunes
  // status.steps (upstream's) from PauseStarted() when nothing persisted says it closed
  // before this pass (PauseClosedEarlier). True when it closes now.
  bool ClosePauseWindow() {
    if (pause_closed_) return false;
    if (FindStep(backup_step::kGcPause) != nullptr) {
      pause_closed_ = EndStep(backup_step::kGcPause);
      return pause_closed_;
    }
    const std::optional<Time> started = PauseStarted();
    if (!started || PauseClosedEarlier()) return false;
    RecordPauseWindow(*started, nullptr);
    pause_closed_ = true;
    return true;
  }

  // Without status.steps: whether an earlier pass saw the window close, by what the CRD keeps:
  // the SnapshotsCreated condition (set in the pass that saw GC resumed, or that sent teardown
  // after every member completed), or the initialize member's mirror in status.backups[]
  // already showing it ended; else by this manager's memory (GcPauseMarks::window_recorded).
  // Teardown on the initialize member is no proof: the pass that sent it may have failed at
  // its status write, before the window was recorded.
  bool PauseClosedEarlier() const {
    const Slot& init = slots_[0];
    if (obs_.gc_pause.window_recorded) return true;
    if (api::IsConditionTrue(old_status_, vbc::kSnapshotsCreated)) return true;
    const Json* entry = OldEntry(init.ref.k8s_cluster_name);
    const std::string mirrored = entry != nullptr ? JsonStringAt(*entry, {"phase"}) : "";
    return mirrored == "Complete" || mirrored == "Failed";
  }

  // The members not done within the budget ("cluster c: why"), once it has run out since the
  // pause began (the GCPause step) without every member reporting its snapshots; before that,
  // nothing (and a look again when it runs out). `creating` says whether absent members are
  // still to be created (no failure yet).
  std::vector<std::string> OverPauseBudget(bool creating) {
    if (api::IsConditionTrue(status_, vbc::kSnapshotsCreated)) return {};
    const std::optional<Time> started = PauseStarted();
    if (!started) return {};
    // Not negative: a start after now (a clock that went back) counts as just started.
    const auto elapsed = std::max(std::chrono::nanoseconds(0), Elapsed(*started, obs_.now));
    if (elapsed < PauseBudget()) {
      Requeue(PauseBudget() - elapsed);
      return {};
    }
    std::vector<std::string> late;
    for (const Slot& s : slots_) {
      if (!s.view->reachable) {
        late.push_back("cluster " + s.ref.k8s_cluster_name +
                       " (unreachable: " + Excerpt(s.view->problem, kMessageBytes) + ")");
      } else if (s.member != nullptr && !api::IsVolumeBackupSnapshotsCreated(*s.member) &&
                 !api::IsMemberTerminal(*s.member)) {
        late.push_back("cluster " + s.ref.k8s_cluster_name + " (member in phase '" +
                       JsonStringAt(*s.member, {"status", "phase"}) + "')");
      } else if (s.member == nullptr && creating) {
        late.push_back("cluster " + s.ref.k8s_cluster_name + " (member not created)");
      }
    }
    return late;
  }

  void FailOverPauseBudget(const std::vector<std::string>& late) {
    const std::string message =
        "GC pause budget " + FormatGoDuration(PauseBudget()) +
        " exceeded: not every member reported VolumeBackupSnapshotsCreated; not done: " +
        Join(late, "; ") + "; tearing down at once (GC and PD scheduling resume)";
    if (StartStep(backup_step::kTeardown)) {
      AddEvent("Warning", std::string(kReasonPauseBudgetExceeded), message);
    }
    RecordTimeTaken();
    RecordSize();
    SetCondition(vbc::kFailed, std::string(kReasonPauseBudgetExceeded), message);
    AddEvent("Warning", "Failed", message);
    decision_.finished_phase = "Failed";
    decision_.pause_budget_exceeded = true;
    decision_.tears_down = true;
    if (StopThenTeardown(true)) EndStep(backup_step::kTeardown);
  }

  // Teardown (and resumeGcSchedule to the initialize member) unless the member has both;
  // true when a patch was sent.
  bool SendTeardown(const Slot& s) {
    const bool needs_phase = api::MemberFederalPhase(*s.member) != phase::kTeardown;
    const bool needs_resume = s.is_init && !api::MemberResumeGcSchedule(*s.member);
    if (!needs_phase && !needs_resume) return false;
    Json patch = {{"federalVolumeBackupPhase", phase::kTeardown}};
    if (s.is_init) patch["resumeGcSchedule"] = true;
    PatchMember(s, std::move(patch));
    return true;
  }

  void RecordTimeTaken() {
    const Time started = ParseRfc3339(JsonStringAt(status_, {"timeStarted"})).value_or(obs_.now);
    status_["timeCompleted"] = FormatRfc3339(obs_.now);
    const auto taken = Elapsed(started, obs_.now);
    status_["timeTaken"] = FormatGoDuration(RoundGoDuration(taken, std::chrono::seconds(1)));
    decision_.total_seconds = std::chrono::duration<double>(taken).count();
  }

  std::vector<std::string> IncompleteMembers() const {
    std::vector<std::string> problems;
    for (const Slot& s : slots_) {
      if (s.member == nullptr || !api::IsBackupComplete(*s.member)) {
        problems.push_back(api::MemberName(name_) + " in cluster " + s.ref.k8s_cluster_name +
                           ": did not complete");
      }
    }
    return problems;
  }

  // The total backupSize of the members that exist, into the status and the size counter
  // (upstream adds it to the counter on Failed too).
  long long RecordSize() {
    long long size = 0;
    for (const Slot& s : slots_) {
      if (s.member != nullptr) size += JsonIntAt(*s.member, {"status", "backupSize"});
    }
    status_["backupSize"] = size;
    status_["backupSizeReadable"] = HumanizeBytes(static_cast<uint64_t>(size));
    decision_.total_size_bytes = size;
    return size;
  }

  // The smallest commitTs of the members; a commitTs that is not a TSO is a problem.
  std::optional<unsigned long long> SmallestCommitTs(std::vector<std::string>& problems) const {
    std::optional<unsigned long long> commit_ts;
    for (const Slot& s : slots_) {
      const std::string ts = JsonStringAt(*s.member, {"status", "commitTs"});
      unsigned long long value = 0;
      auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), value);
      if (ts.empty() || ec != std::errc() || end != ts.data() + ts.size()) {
        problems.push_back(api::MemberName(name_) + " in cluster " + s.ref.k8s_cluster_name +
                           ": commitTs '" + ts + "' is not a TSO");
        continue;
      }
      if (!commit_ts || value < *commit_ts) commit_ts = value;
    }
    return commit_ts;
  }

  void Fail(const std::vector<std::string>& problems) {
    const std::string message = std::to_string(problems.size()) + " of " +
                                std::to_string(slots_.size()) +
                                " members failed: " + Join(problems, "; ");
    SetCondition(vbc::kFailed, std::string(api::kReasonMemberFailed), message);
    AddEvent("Warning", "Failed", message);
    decision_.finished_phase = "Failed";
  }

  // Deletion: teardown first (releasing the pause), then delete the members, then Cleaned or
  // CleanFailed, then the finalizer goes.
  void DecideDeletion() {
    if (!api::HasFinalizer(vb_, api::kBackupProtectionFinalizer)) return;
    if (api::IsConditionTrue(status_, vbc::kCleaned)) {
      AddVolumeBackupPatch(api::FinalizerPatch(vb_, api::kBackupProtectionFinalizer, false, rv_));
      return;
    }
    MirrorMembers();
    ObserveGcRelease();
    const Time deleted_at =
        ParseRfc3339(JsonStringAt(vb_, {"metadata", "deletionTimestamp"})).value_or(obs_.now);
    const auto waited = std::max(std::chrono::nanoseconds(0), Elapsed(deleted_at, obs_.now));
    const DeletionSweep sweep = TeardownBeforeDeletion(waited);
    if (sweep.stopping && waited < options_.stop_after_failure_grace) {
      Requeue(options_.stop_after_failure_grace - waited);
    }
    if (sweep.pause_may_be_held && waited < options_.deletion_teardown_grace) {
      Requeue(options_.deletion_teardown_grace - waited);
      return;
    }
    // Then delete members (the data plane's cleanPolicy decides what happens to snapshots).
    for (Slot& s : slots_) {
      if (s.member == nullptr || api::IsBeingDeleted(*s.member)) continue;
      decision_.actions.push_back({Kind::kDeleteMember, s.ref.k8s_cluster_name, s.ref.tc_namespace,
                                   api::MemberName(name_), nullptr});
    }
    if (sweep.clean_failed && !api::IsConditionTrue(status_, vbc::kCleanFailed)) {
      SetCondition(vbc::kCleanFailed, "MemberCleanFailed",
                   "a member reported CleanFailed; its data plane keeps retrying");
      AddEvent("Warning", "CleanFailed", "a member reported CleanFailed");
      decision_.cleanup_phase = "CleanFailed";
    }
    if (sweep.all_gone) {
      SetCondition(vbc::kCleaned, "", "");
      AddEvent("Normal", "Cleaned", "every member is gone");
      decision_.cleanup_phase = "Cleaned";
      decision_.cleanup_seconds = std::chrono::duration<double>(waited).count();
    }
  }

  struct DeletionSweep {
    bool pause_may_be_held = false;  // the initialize member may still pause GC
    bool stopping = false;           // a member without snapshots is still being stopped
    bool all_gone = true;
    bool clean_failed = false;
  };

  // Before any member is deleted: members still executing without snapshots are stopped
  // (foreground deletion takes their jobs with them), then teardown (with resumeGcSchedule) goes
  // to every live member. The initialize member's teardown, which resumes GC, waits until the
  // stopped members are gone, so that none takes its snapshots after the pause has ended (the
  // data plane's execute job keeps running after teardown, contract b.6); it waits at most
  // stop_after_failure_grace after the deletion, so a stuck member cannot hold the pause.
  DeletionSweep TeardownBeforeDeletion(std::chrono::nanoseconds waited) {
    DeletionSweep sweep;
    for (Slot& s : slots_) {
      if (!s.view->reachable) {
        sweep.all_gone = false;
        continue;
      }
      if (s.member == nullptr) continue;
      sweep.all_gone = false;
      if (api::IsBackupCleanFailed(*s.member)) sweep.clean_failed = true;
      if (s.is_init || api::IsMemberTerminal(*s.member)) continue;
      if (StillRunningWithoutSnapshots(*s.member)) {
        StopMember(s, "the backup is being deleted");
        sweep.stopping = true;
      } else if (api::IsBeingDeleted(*s.member) &&
                 !api::IsVolumeBackupSnapshotsCreated(*s.member)) {
        sweep.stopping = true;
      }
    }
    const bool may_resume = !sweep.stopping || waited >= options_.stop_after_failure_grace;
    for (Slot& s : slots_) {
      if (!s.view->reachable || s.member == nullptr) continue;
      if (api::IsBeingDeleted(*s.member) || api::IsMemberTerminal(*s.member)) continue;
      if (s.is_init && (api::IsMemberPauseHeld(*s.member) ||
                        api::MemberFederalPhase(*s.member) == phase::kInitialize)) {
        sweep.pause_may_be_held = true;
      }
      if (s.is_init && !may_resume) continue;
      if (SendTeardown(s) && StartStep(backup_step::kTeardown)) {
        AddEvent("Normal", "Deleting", "tearing down every member before deleting them");
      }
    }
    return sweep;
  }

  // ---- status helpers ---------------------------------------------------------------------

  // A member deleted by StopMember keeps saying so in its entry, while it goes and once gone.
  static void KeepReason(const Json& old, Json& entry) {
    entry["reason"] = old["reason"];
    if (old.contains("message")) entry["message"] = old["message"];
  }

  // The status.backups[] entry fields that come from the observed member `m`.
  static void MirrorMember(const Json& m, Json& entry) {
    entry["phase"] = JsonStringAt(m, {"status", "phase"});
    for (const char* field : {"backupPath", "commitTs"}) {
      std::string value = JsonStringAt(m, {"status", field});
      if (value.empty()) {
        entry.erase(field);
      } else {
        entry[field] = value;
      }
    }
    if (const Json* size = JsonAt(m, {"status", "backupSize"}); size && size->is_number()) {
      entry["backupSize"] = *size;
    }
    std::string failure = api::MemberFailureSummary(m);
    if (failure.empty()) return;
    const Json& st = api::StatusOf(m);
    for (std::string_view type :
         {api::backup_condition::kVolumeBackupInitializeFailed,
          api::backup_condition::kVolumeBackupFailed, api::backup_condition::kInvalid,
          api::backup_condition::kFailed}) {
      if (!api::IsConditionTrue(st, type)) continue;
      entry["reason"] = api::ConditionReason(st, type).empty() ? std::string(type)
                                                               : api::ConditionReason(st, type);
      entry["message"] = failure;
      return;
    }
  }

  void MirrorMembers() {
    Json backups = Json::array();
    bool blocked = false;
    for (const Slot& s : slots_) {
      const Json* old = OldEntry(s.ref.k8s_cluster_name);
      Json entry = old != nullptr ? *old : Json::object();
      entry["k8sClusterName"] = s.ref.k8s_cluster_name;
      entry["tcName"] = s.ref.tc_name;
      entry["tcNamespace"] = s.ref.tc_namespace;
      entry["backupName"] = api::MemberName(name_);
      if (!entry.contains("phase")) entry["phase"] = "";
      entry.erase("reason");
      entry.erase("message");
      const bool stopped = old != nullptr && JsonStringAt(*old, {"reason"}) == kReasonMemberStopped;
      if (s.member != nullptr) {
        MirrorMember(*s.member, entry);
        if (stopped && !entry.contains("reason")) KeepReason(*old, entry);
      } else if (!s.view->reachable) {
        entry["reason"] = "ClusterUnreachable";
        entry["message"] = "cluster " + s.ref.k8s_cluster_name +
                           " is unreachable: " + s.view->problem + " (retrying)";
        blocked = true;
      } else if (s.foreign) {
        entry["reason"] = "MemberNameTaken";
        entry["message"] = "a Backup " + api::MemberName(name_) +
                           " from an earlier VolumeBackup "
                           "of the same name still exists in namespace " +
                           s.ref.tc_namespace + "; waiting for it to be deleted";
        blocked = true;
      } else if (!s.view->permanent_error.empty()) {
        entry["reason"] = "CreateMemberFailed";
        entry["message"] = s.view->permanent_error;
      } else if (stopped) {
        KeepReason(*old, entry);
      } else if (Vanished(s)) {
        entry["reason"] = kReasonMemberVanished;
        entry["message"] = kVanishedMessage;
      } else if (old == nullptr) {
        continue;  // not created yet
      }
      if (entry.contains("message") &&
          (old == nullptr || JsonStringAt(*old, {"message"}) != entry["message"]) &&
          (entry["reason"] == "ClusterUnreachable" || entry["reason"] == "MemberNameTaken")) {
        AddEvent("Warning", entry["reason"].get<std::string>(),
                 entry["message"].get<std::string>());
      }
      backups.push_back(std::move(entry));
    }
    if (!backups.empty() || status_.contains("backups")) status_["backups"] = std::move(backups);
    if (blocked) Requeue(options_.unreachable_retry);
    ReportUnreachableDataPlanes();
  }

  // The member phases mirrored above may be stale while a data plane does not answer: say so,
  // naming each such cluster and its last error, and look again soon.
  void ReportUnreachableDataPlanes() {
    std::vector<std::string> down;
    for (const Slot& s : slots_) {
      if (s.view->unreachable_error.empty()) continue;
      down.push_back("cluster " + s.ref.k8s_cluster_name + ": " + s.view->unreachable_error);
    }
    federation::ReportUnreachableDataPlanes(status_, down, "member status may be stale", obs_.now,
                                            options_.unreachable_retry, decision_);
  }

  void SetCondition(std::string_view type, const std::string& reason, const std::string& msg) {
    api::SetCondition(status_, {std::string(type), "True", reason, msg}, obs_.now);
  }

  Json* FindStep(const char* name) {
    auto it = status_.find("steps");
    if (it == status_.end() || !it->is_array()) return nullptr;
    for (Json& s : *it) {
      if (JsonStringAt(s, {"stepName"}) == name) return &s;
    }
    return nullptr;
  }

  // Returns true when the step starts now (at `at`, default the observation's time).
  bool StartStep(const char* name, std::optional<Time> at = std::nullopt) {
    if (FindStep(name) != nullptr) return false;
    if (!status_["steps"].is_array()) status_["steps"] = Json::array();
    status_["steps"].push_back(
        {{"stepName", name}, {"timeStarted", FormatRfc3339Micro(at.value_or(obs_.now))}});
    return true;
  }

  // Returns true when the step ends now (it was open).
  bool EndStep(const char* name) {
    Json* step = FindStep(name);
    if (step == nullptr || step->contains("timeCompleted")) return false;
    (*step)["timeCompleted"] = FormatRfc3339Micro(obs_.now);
    auto started = ParseRfc3339(JsonStringAt(*step, {"timeStarted"}));
    const auto taken = Elapsed(started.ok() ? *started : obs_.now, obs_.now);
    (*step)["timeTaken"] = FormatGoDuration(RoundGoDuration(taken, std::chrono::milliseconds(1)));
    if (std::string_view(name) == backup_step::kGcPause) {
      RecordPauseWindow(started.ok() ? *started : obs_.now, step);
    }
    return true;
  }

  // The GC-pause window [started, now] closes: its length, and the manager's share of it when
  // this process saw it open (its marks start at the window's start; timeStarted keeps
  // microseconds only), also written to the GCPause step when there is one.
  void RecordPauseWindow(Time started, Json* step) {
    decision_.gc_pause_seconds = std::chrono::duration<double>(Elapsed(started, obs_.now)).count();
    const auto& seen = obs_.gc_pause.initialized_seen;
    if (!seen || Elapsed(started, *seen) > std::chrono::milliseconds(1)) return;
    const auto share = GcPauseControlPlaneShare(started, obs_.now, obs_.gc_pause);
    if (step != nullptr) {
      (*step)["controlPlaneTimeTaken"] =
          FormatGoDuration(RoundGoDuration(share, std::chrono::milliseconds(1)));
    }
    decision_.gc_pause_control_plane_seconds = std::chrono::duration<double>(share).count();
  }

  // ---- actions ----------------------------------------------------------------------------

  void CreateMember(const Slot& s) {
    auto member = std::make_shared<Json>(api::BuildBackupMember(vb_, s.ref, s.is_init));
    BackupAction create{Kind::kCreateMember, s.ref.k8s_cluster_name, s.ref.tc_namespace,
                        api::MemberName(name_), std::move(member)};
    if (s.is_init) {
      for (const Slot& slot : slots_) create.admission_on.push_back(slot.ref.k8s_cluster_name);
    }
    decision_.actions.push_back(std::move(create));
  }

  void PatchMember(const Slot& s, Json spec_patch) {
    auto patch = std::make_shared<Json>(
        Json{{"metadata",
              {{"resourceVersion", JsonStringAt(*s.member, {"metadata", "resourceVersion"})}}},
             {"spec", std::move(spec_patch)}});
    decision_.actions.push_back({Kind::kPatchMember, s.ref.k8s_cluster_name, s.ref.tc_namespace,
                                 api::MemberName(name_), std::move(patch)});
  }

  void AddVolumeBackupPatch(Json patch) {
    decision_.actions.push_back({Kind::kPatchVolumeBackup, "",
                                 JsonStringAt(vb_, {"metadata", "namespace"}), name_,
                                 std::make_shared<Json>(std::move(patch))});
  }

  void AddEvent(std::string type, std::string reason, std::string message) {
    decision_.AddEvent(std::move(type), std::move(reason), std::move(message));
  }

  void Requeue(std::chrono::nanoseconds after) { decision_.RequeueWithin(after); }

  BackupDecision Finish() {
    if (auto write = StatusWriteAction(vb_, status_, decision_.events.empty())) {
      decision_.actions.push_back(std::move(*write));
    }
    decision_.status = std::make_shared<Json>(std::move(status_));
    return std::move(decision_);
  }

  const BackupObservation& obs_;
  const BackupDecideOptions& options_;
  const Json& vb_;
  const Json& old_status_;  // in vb_, which the observation keeps alive
  Json status_;
  std::string name_;
  std::string rv_;
  std::vector<Slot> slots_;
  BackupDecision decision_;
  bool pause_closed_ = false;  // ClosePauseWindow closed it in this pass
};

}  // namespace

std::chrono::nanoseconds GcPauseControlPlaneShare(Time opened, Time closed,
                                                  const GcPauseMarks& marks) {
  using std::chrono::nanoseconds;
  const nanoseconds window = std::max(nanoseconds(0), Elapsed(opened, closed));
  auto part = [&](Time from, Time to) { return std::clamp(Elapsed(from, to), {}, window); };
  nanoseconds share{0};
  if (marks.execute_written) share += part(opened, *marks.execute_written);
  if (marks.snapshots_seen) {
    share += part(*marks.snapshots_seen, marks.resume_written.value_or(closed));
  }
  return std::min(share, window);
}

std::optional<BackupAction> StatusWriteAction(const Json& volume_backup, const Json& status,
                                              bool may_wait) {
  const Json& old_status = api::StatusOf(volume_backup);
  if (status == old_status || (old_status.is_null() && status == Json::object())) {
    return std::nullopt;
  }
  Json status_patch = old_status.is_object() ? CreateMergePatch(old_status, status) : status;
  const bool mirror_only =
      status_patch.is_object() && status_patch.size() == 1 && status_patch.contains("backups");
  Json patch = {
      {"metadata",
       {{"resourceVersion", JsonStringAt(volume_backup, {"metadata", "resourceVersion"})}}},
      {"status", std::move(status_patch)}};
  return BackupAction{BackupAction::Kind::kPatchVolumeBackupStatus,
                      "",
                      JsonStringAt(volume_backup, {"metadata", "namespace"}),
                      JsonStringAt(volume_backup, {"metadata", "name"}),
                      std::make_shared<Json>(std::move(patch)),
                      may_wait && mirror_only};
}

BackupDecision DecideVolumeBackup(const BackupObservation& observation,
                                  const BackupDecideOptions& options) {
  return Decider(observation, options).Run();
}

std::vector<BackupAction> DecideOrphanedMembers(const std::vector<OrphanedMember>& members) {
  std::vector<BackupAction> actions;
  for (const OrphanedMember& o : members) {
    if (!api::IsBeingDeleted(*o.member)) AppendMemberStop(actions, o.cluster, *o.member);
  }
  return actions;
}

}  // namespace brfed::federation
