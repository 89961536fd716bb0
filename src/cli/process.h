// Background processes of the sandbox: starting a binary detached (own session, output to a
// log file), telling whether a pid is still that binary (pids get reused, so we compare
// /proc/<pid>/cmdline), and stopping it (SIGTERM, then SIGKILL after a grace period).
//
// Thread-safety: free functions; safe to call from any thread.
#ifndef BRFED_CLI_PROCESS_H_
#define BRFED_CLI_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace brfed::cli {

// Starts `binary args...` in a new session with stdin from /dev/null and stdout+stderr
// appended to `log_path`. Returns the pid. The child outlives this process.
Result<pid_t> SpawnDetached(const std::string& binary, const std::vector<std::string>& args,
                            const std::string& log_path);

// Pure: whether a /proc/<pid>/cmdline (NUL-separated argv) starts with `binary`.
bool CmdlineMatches(std::string_view cmdline, std::string_view binary);

// Whether `pid` is alive (not a zombie) and runs `binary`.
bool IsRunning(pid_t pid, const std::string& binary);

// Stops `pid` if it still runs `binary`: SIGTERM, then SIGKILL after `grace`. Reaps it when it
// is our child. Returns true when it was running.
bool Terminate(pid_t pid, const std::string& binary, std::chrono::milliseconds grace);

// SIGINT/SIGTERM set a flag instead of killing brfed, so long-running commands (demo, watch)
// can stop what they started. Interrupted() reads the flag.
void InstallInterruptHandler();
bool Interrupted();

// The absolute path of the running executable (/proc/self/exe).
std::string SelfExecutable();

}  // namespace brfed::cli

#endif  // BRFED_CLI_PROCESS_H_
