// The simulated TiDB Operator, as two step functions: given one member object (a Backup or a
// Restore in volume-snapshot mode), its TidbCluster, the shared model and the current time, they
// advance the member's jobs and pods in the model and return at most ONE write to make on the
// member (each condition is its own write, as the operator's writers make them), an optional
// merge patch for the TidbCluster, and the next time something becomes due. Callers loop: write,
// then step again on the written object.
//
// Behaviour follows the data-plane contract (b.1-b.12, c.2-c.5). Objects not in volume-snapshot
// mode are ignored, as this simulator is not an operator for the other modes.
//
// Thread-safety: none; callers serialise access to the model.
#ifndef BRFED_SIM_STEPS_H_
#define BRFED_SIM_STEPS_H_

#include <optional>
#include <string>

#include "api/metadata.h"
#include "sim/conditions.h"
#include "sim/model.h"

namespace brfed::sim {

inline constexpr char kBackupProtectionFinalizer[] = "tidb.pingcap.com/backup-protection";
using api::kForegroundDeletionFinalizer;
inline constexpr char kTikvVolumesReadyAnnotation[] = "tidb.pingcap.com/tikv-volumes-ready";

struct StepOutput {
  std::optional<MemberWrite> write;
  Json tc_patch;  // JSON merge patch for the TidbCluster; null = none
  // Step again at this time if nothing else triggers it first. After a write or patch that
  // changed something, callers step again at once instead.
  std::optional<Time> wake;
};

// `tc` is the member's TidbCluster (br.clusterNamespace or the member's namespace, br.cluster),
// or nullptr when it does not exist.
StepOutput StepBackup(const std::string& cluster, const Json& backup, const Json* tc, Model& model,
                      Time now);
StepOutput StepRestore(const std::string& cluster, const Json& restore, const Json* tc,
                       Model& model, Time now);

// Whether stepping this Backup member may end a GC pause: its federal phase is execute (the
// execute job's snapshots, then resumeGcSchedule on the init member) or teardown (which stops a
// still-running init job). Its steps would run in their own pods, never behind another
// backup's init job; the simulator, which steps a cluster's members one at a time, steps these
// first among the members due at once, so another backup's init steps (which only open a
// pause) do not lengthen a pause that is already open.
bool MayEndPause(const Json& backup_member);

// Where the member's TidbCluster lives: {namespace, name}.
std::pair<std::string, std::string> TidbClusterRef(const Json& member);

}  // namespace brfed::sim

#endif  // BRFED_SIM_STEPS_H_
