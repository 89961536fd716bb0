// brfed commands that act on the local machine or on every data plane: `sandbox up|status|down`,
// `clusters check` and `demo`.
//
// Each returns the process exit code. Thread-safety: main thread only.
#ifndef BRFED_CLI_LOCAL_COMMANDS_H_
#define BRFED_CLI_LOCAL_COMMANDS_H_

#include <string>
#include <vector>

#include "cli/command_context.h"
#include "cli/sandbox.h"

namespace brfed::cli {

int SandboxUpCommand(CommandContext& ctx, const SandboxOptions& options);
int SandboxStatusCommand(CommandContext& ctx, const std::string& dir);
int SandboxDownCommand(CommandContext& ctx, const std::string& dir, bool purge);

// `clusters`: raw --cluster values naming the TidbClusters to look for.
int ClustersCheckCommand(CommandContext& ctx, const std::vector<std::string>& clusters);

struct DemoOptions {
  bool keep = false;
  std::string dir;  // "" = a fresh temporary folder
  int clusters = 3;
  std::string speed = "4";
  SandboxApiServer apiserver = SandboxApiServer::kBrfed;
  std::chrono::milliseconds step_timeout{std::chrono::seconds(90)};
};
int DemoCommand(CommandContext& ctx, const DemoOptions& options);

}  // namespace brfed::cli

#endif  // BRFED_CLI_LOCAL_COMMANDS_H_
