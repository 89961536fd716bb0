// DecideRestore: the VolumeRestore protocol as a pure function. Given one VolumeRestore, the
// member Restores observed in the data planes, the referenced VolumeBackup (if any) and the
// time, it returns what to do (member creates, phase patches, deletes, finalizer change), the
// new status, events, metric observations and when to look again. It performs no I/O and reads
// no clock, so the same observation always yields the same decision (crash safety: the act
// step may be interrupted anywhere and the next pass re-derives the rest).
//
// Thread-safety: pure function over caller-owned values. Ownership: the input borrows the
// caller's JSON objects; the decision owns everything it returns.
#ifndef BRFED_FEDERATION_RESTORE_DECIDE_H_
#define BRFED_FEDERATION_RESTORE_DECIDE_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/volume_restore.h"
#include "core/json.h"
#include "core/time.h"
#include "federation/decision.h"

namespace brfed::federation {

struct RestoreDecideInput {
  const Json* volume_restore = nullptr;  // the VolumeRestore object (required)
  // Members named fed-<name> observed in each spec cluster's tcNamespace (at most one per
  // cluster; k8s_cluster_name set).
  std::vector<api::RestoreMemberView> members;
  // Contexts of the federation kubeconfig (validation: unknown names are Invalid).
  std::set<std::string> known_clusters;
  // The subset whose client and member cache are usable now. A missing member in any other
  // cluster may just be invisible: no create there, no Cleaned, look again later.
  std::set<std::string> observable_clusters;
  // Members named fed-<name> without our marks, keyed by k8sClusterName, that a live read found
  // past the label-selected caches. Those the Go br-federation-manager built
  // (api::IsGoManagerMember) are adopted before anything else is decided.
  std::map<std::string, const Json*> unmarked_members;
  // Clusters the manager's reachability probe counts as unreachable, with the last error.
  std::map<std::string, std::string> unreachable;
  // spec.volumeBackupName looked up in the VolumeRestore's namespace; nullptr = not found.
  const Json* volume_backup = nullptr;
  Time now;
};

struct MemberAction {
  // kAdopt: api::AdoptionPatch (our marks on a member the Go manager built), in `body`.
  enum class Kind { kCreate, kPatchPhase, kDelete, kAdopt };
  Kind kind = Kind::kCreate;
  std::string k8s_cluster_name;
  std::string ns;
  std::string name;
  // kCreate: the member object; kAdopt: the merge patch.
  std::shared_ptr<const Json> body;
  // kPatchPhase: the new spec.federalVolumeRestorePhase and the resourceVersion it was
  // decided on (sent in the merge patch, so a stale decision fails with Conflict).
  std::string federal_phase;
  std::string resource_version;
};

// The JSON merge patch for a kPatchPhase action.
Json MemberPhasePatch(const MemberAction& action);

struct StepObservation {
  std::string step;
  double seconds = 0;
};

struct RestoreDecision : Decision<MemberAction> {
  enum class FinalizerChange { kNone, kAdd, kRemove };
  std::optional<api::VolumeRestoreStatus> new_status;  // nullopt: unchanged
  FinalizerChange finalizer = FinalizerChange::kNone;
  // Metric observations for transitions made by this decision.
  std::vector<StepObservation> finished_steps;
  std::string outcome;  // "Complete", "Failed", "Invalid" or "Cleaned" when reached now
  std::optional<double> total_seconds;  // with Complete/Failed
};

// How long to wait before re-checking a data plane that has no handle.
inline constexpr std::chrono::seconds kUnknownClusterRecheck{30};

RestoreDecision DecideRestore(const RestoreDecideInput& input);

// What to do with restore members whose VolumeRestore is gone: delete each one not already
// being deleted. A pass of ours can create a member after a deletion it has not seen yet (the
// deletion can win against the patch that adds our finalizer, as chaos seed 22010 showed for
// VolumeBackups), and nothing else would ever delete it.
std::vector<MemberAction> DecideOrphanedRestoreMembers(const std::vector<OrphanedMember>& members);

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_RESTORE_DECIDE_H_
