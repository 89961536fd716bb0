// How brfed reports failures: exit codes, and the "what to do next" line every error carries.
//
// Thread-safety: pure functions.
#ifndef BRFED_CLI_ERRORS_H_
#define BRFED_CLI_ERRORS_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace brfed::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // the operation failed, or the backup/restore it waited for failed
  kExitUsage = 2,    // bad flags or arguments
};

// What the failing request was about, so the advice can be specific.
struct ErrorSubject {
  std::string server_role;   // "control plane" or "data plane dp-1"
  std::string server;        // URL, may be empty
  std::string kind;          // "VolumeBackup", ... (may be empty)
  std::string name;          // object name (may be empty)
  std::string list_command;  // e.g. "brfed backup list"
};

// One sentence telling the user what to do about `status`.
std::string NextStep(const Status& status, const ErrorSubject& subject);

// "error: <message>\n  next: <next step>\n".
std::string FormatError(const Status& status, const ErrorSubject& subject);

// kInvalidArgument (bad user input) maps to kExitUsage, everything else to kExitFailure.
int ExitCodeFor(const Status& status);

}  // namespace brfed::cli

#endif  // BRFED_CLI_ERRORS_H_
