// The brfed command line: flag parsing (CLI11) and dispatch to the command functions.
//
// Thread-safety: call once, from main().
#ifndef BRFED_CLI_APP_H_
#define BRFED_CLI_APP_H_

namespace brfed::cli {

// Runs `brfed` with argv; returns the exit code (0 ok, 1 failure, 2 usage).
int RunBrfed(int argc, char** argv);

}  // namespace brfed::cli

#endif  // BRFED_CLI_APP_H_
