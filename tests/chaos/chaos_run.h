// One chaos run: a fresh federation (testing::FederationEnv with persistent API servers and,
// on brfed-apiserver, fault injection), the work and faults of a seed's schedule played at
// their instants, then the checks every run must pass:
//   - the simulator's audit check is clean (every pause released, each backup's snapshots
//     inside one pause window, cleaned snapshots deleted, restores ran once);
//   - every federation object is terminal, or retrying with a condition that names the cause;
//   - no member is duplicated, and none is left once every object has been deleted (except
//     behind a VolumeBackup whose CleanFailed condition names the member that failed to clean);
//   - no pause was held longer than `pause_bound` (by default the data plane's own bound, the
//     init-job deadline of the run; `gc_pause_budget` gives the manager a tighter one of its own),
//     or, when its holder's data-plane API server was stopped before that, longer than 5 s after
//     that server resumed (PausesOverBound);
//   - the manager never exited except when the run killed it, and serves /readyz at the end.
//
// Thread-safety: RunChaos drives one run on the calling thread. Ownership: each run owns its
// processes and temporary directory and removes them before returning.
#ifndef BRFED_TESTS_CHAOS_CHAOS_RUN_H_
#define BRFED_TESTS_CHAOS_CHAOS_RUN_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "tests/chaos/chaos_schedule.h"

namespace brfed::chaos {

struct RunConfig {
  uint64_t seed = 0;
  ChaosParams params;
  double sim_speed = 4;  // tidb-operator-sim --speed: a backup takes seconds, faults land in it
  // volumeBackupInitJobMaxActiveSeconds of every backup (spec seconds; the simulator divides
  // it by its speed): the data plane's own bound on a pause.
  int init_job_deadline_s = 60;
  // The longest pause allowed; 0 = the init-job deadline in real time plus 5 s of slack.
  std::chrono::milliseconds pause_bound{0};
  // The manager's --gc-pause-budget; 0 = its default (5 m, longer than any run's pause), so the
  // budget path runs only when this is set (bench/chaos.sh --budget).
  std::chrono::milliseconds gc_pause_budget{0};
  // How long, after the last fault ended, objects have to become terminal or retrying.
  std::chrono::milliseconds settle{120000};
};

struct RunResult {
  uint64_t seed = 0;
  std::string backend;
  std::map<std::string, int> faults_by_kind;
  std::vector<std::string> violations;
  double longest_pause_s = 0;
  double pause_bound_s = 0;
  double wall_s = 0;
  // Seconds spent in each phase of the run (setup, timeline, settle, check, delete-all, audit),
  // so that a slow run shows where its time went.
  std::map<std::string, double> phase_s;
  int objects = 0;  // federation objects checked (schedule-made backups included)
  // VolumeBackups still there after the deletion, held by a member whose clean failed, with a
  // CleanFailed condition that says so (not a violation; the simulator's clean-fail is final).
  int held_by_clean_failed = 0;
  // VolumeBackups failed by the manager's pause budget (reason PauseBudgetExceeded).
  int budget_failures = 0;
  std::string schedule;  // DescribeSchedule
  Json ToJson() const;
};

RunResult RunChaos(const RunConfig& config);

}  // namespace brfed::chaos

#endif  // BRFED_TESTS_CHAOS_CHAOS_RUN_H_
