// The chaos suite's fault schedule: a pure function from a seed (and the run's parameters) to
// the work a run starts (VolumeBackups, VolumeRestores, VolumeBackupSchedules) and the faults
// it injects, each at an instant measured from the start of the run. The same seed and
// parameters always give the same schedule, on every platform: the draws come from SplitMix64,
// not from the standard library's distributions (whose results are implementation-defined).
//
// Thread-safety: pure functions and value types. Ownership: plain values.
#ifndef BRFED_TESTS_CHAOS_CHAOS_SCHEDULE_H_
#define BRFED_TESTS_CHAOS_CHAOS_SCHEDULE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace brfed::chaos {

enum class FaultKind {
  kKillManager,        // kill -9 the manager, start it again
  kFreezeApiServer,    // SIGSTOP a data-plane API server, SIGCONT it after `duration_ms`
  kKillApiServer,      // kill -9 an API server, restart it on its --data-dir
  kEmptyApiServer,     // kill -9 a data-plane API server, restart it without its data
  kApiServerErrors,    // brfed-apiserver: a fraction of requests answered 500
  kApiServerThrottle,  // brfed-apiserver: a fraction answered 429 with Retry-After
  kApiServerSlow,      // brfed-apiserver: every request delayed
  kDropWatches,        // brfed-apiserver: every open watch ended
  kExpireWatches,      // brfed-apiserver: history forgotten, watches ended: 410 on resume
  kSimFault,           // a tidb-operator-sim fault (docs/sim.md) for `duration_ms`
  kGarbageKubeconfig,  // the federation kubeconfig overwritten with garbage, then repaired
};
inline constexpr int kFaultKinds = 11;

// Stable names ("kill-manager", "freeze-apiserver", ...) used in logs and the JSON results.
const char* FaultKindName(FaultKind kind);
// The inverse of FaultKindName; kInvalidArgument names the known kinds.
Result<FaultKind> ParseFaultKind(const std::string& name);

enum class WorkKind { kBackup, kRestore, kSchedule };

struct Work {
  int64_t at_ms = 0;
  WorkKind kind = WorkKind::kBackup;
  std::string name;                   // the federation object's name
  std::vector<std::string> clusters;  // its data planes, in the order of the spec
  int64_t delete_at_ms = -1;          // deleted mid-run at this instant; -1 = kept to the end
};

struct Fault {
  int64_t at_ms = 0;
  FaultKind kind = FaultKind::kKillManager;
  // The API server ("control-plane" or a data plane) for the API-server kinds; the data plane
  // for kSimFault; empty for the others.
  std::string target;
  int64_t duration_ms = 0;  // freezes, brfed-apiserver rules, simulator faults, kubeconfig
  // kSimFault: the simulator's fault spec (KIND@CLUSTER[/fed-NAME]); kGarbageKubeconfig: which
  // garbage ("empty", "bytes", "yaml"); kApiServer*: the fail fraction or latency.
  std::string detail;
};

struct ChaosParams {
  std::vector<std::string> data_planes = {"c1", "c2", "c3"};
  int64_t run_ms = 8000;  // faults and work start inside [0, run_ms)
  int faults = 8;
  int backups = 4;
  int restores = 1;
  int schedules = 1;
  int64_t freeze_min_ms = 5000;  // kFreezeApiServer lasts in [min, max]
  int64_t freeze_max_ms = 60000;
  int64_t fault_min_ms = 500;  // every other fault with a duration lasts in [min, max]
  int64_t fault_max_ms = 4000;
  // Kinds that are never drawn: the brfed-apiserver ones on a real kube-apiserver, and
  // kEmptyApiServer until the manager notices a data plane that lost its data (issue 18,
  // finding 1).
  std::vector<FaultKind> disabled;
};

struct ChaosSchedule {
  uint64_t seed = 0;
  std::vector<Work> work;     // ordered by at_ms
  std::vector<Fault> faults;  // ordered by at_ms
};

// Pure: the schedule of `seed` under `params`. The parameters are checked first
// (kInvalidArgument: no data plane, run_ms < 1, negative counts, min > max, every kind
// disabled while faults > 0).
Result<ChaosSchedule> GenerateSchedule(uint64_t seed, const ChaosParams& params);

// One line per event, ordered by instant ("+1234ms fault kill-manager", ...): printed with
// the seed so that a failing run says what happened.
std::string DescribeSchedule(const ChaosSchedule& schedule);

// Every simulator fault kind of docs/sim.md that the generator draws, backup kinds first.
const std::vector<std::string>& SimBackupFaultKinds();
const std::vector<std::string>& SimRestoreFaultKinds();

}  // namespace brfed::chaos

#endif  // BRFED_TESTS_CHAOS_CHAOS_SCHEDULE_H_
