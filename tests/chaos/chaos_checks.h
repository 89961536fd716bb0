// The chaos runner's checks that are pure functions of what the servers and the simulator's
// audit log show: whether an object is settled, and the longest PD pause.
//
// Thread-safety: pure functions.
#ifndef BRFED_TESTS_CHAOS_CHAOS_CHECKS_H_
#define BRFED_TESTS_CHAOS_CHAOS_CHECKS_H_

#include <string>

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

}  // namespace brfed::chaos

#endif  // BRFED_TESTS_CHAOS_CHAOS_CHECKS_H_
