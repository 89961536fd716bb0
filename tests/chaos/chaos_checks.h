// The chaos runner's checks that are pure functions of what the servers and the simulator's
// audit log show: whether an object is settled, the longest PD pause, and the pauses longer
// than their bound.
//
// Thread-safety: pure functions.
#ifndef BRFED_TESTS_CHAOS_CHAOS_CHECKS_H_
#define BRFED_TESTS_CHAOS_CHAOS_CHECKS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"

namespace brfed::chaos {

// Complete, Failed or Invalid.
bool IsTerminalPhase(const std::string& phase);

// Terminal, or retrying with a stated cause: a True condition with a reason and a message, or a
// member entry (status.backups[] / status.restores[]) with a reason and a message.
bool TerminalOrExplained(const Json& federation_object);

// Longest PD pause in a simulator audit log (pd_pause to the pd_resume or pd_pause_expired of
// the same holder, by mono_ns), in seconds; a pause still open at the end counts to the last
// line. Malformed lines are skipped (the simulator's own check reports them).
double LongestPauseSeconds(const std::string& audit_log_text);

// A time during which a data plane's API server was stopped (SIGSTOP to SIGCONT, or to its
// restart), in steady-clock nanoseconds as the audit log's mono_ns.
struct FrozenSpan {
  int64_t from_ns = 0;
  int64_t to_ns = 0;
};

// The pauses of the audit log (as LongestPauseSeconds measures them) that ended later than they
// may, one line each naming the holder, its length and what was allowed. A pause may last
// `bound`; when the API server of its holder's data plane (the holder's first path segment,
// "c1" in "c1/tidb/fed-x/uid#init") was stopped before that, it may also last until `slack`
// after that freeze ended, and a freeze beginning before the new end extends it again. Nothing
// can release such a pause meanwhile: the manager cannot reach the initialize member, and the
// data plane enforces the init job's deadline through the stopped server (its Job controller).
std::vector<std::string> PausesOverBound(
    const std::string& audit_log_text, std::chrono::nanoseconds bound,
    std::chrono::nanoseconds slack, const std::map<std::string, std::vector<FrozenSpan>>& frozen);

}  // namespace brfed::chaos

#endif  // BRFED_TESTS_CHAOS_CHAOS_CHECKS_H_
