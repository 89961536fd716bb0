// br-federation-manager: the BR Federation control plane (see docs/manager.md).

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/log.h"
#include "core/shutdown_signals.h"
#include "kube/client.h"
#include "manager/controllers.h"
#include "manager/flags.h"
#include "manager/manager.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed =
      brfed::manager::ParseManagerFlags(args, [](const char* n) { return std::getenv(n); });
  if (parsed.outcome == brfed::manager::FlagParse::Outcome::kExit) {
    std::fputs(parsed.output.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  brfed::log::Setup({parsed.flags.log_level, parsed.flags.log_format, "br-federation-manager"});
  for (const std::string& warning : parsed.warnings) brfed::log::Warn(warning);
  brfed::kube::GlobalInit();

  brfed::ShutdownSignals shutdown_signals;

  brfed::manager::Manager manager(parsed.flags, brfed::manager::RegisteredControllers());
  shutdown_signals.OnSignal([&manager](int) { manager.Stop(); });
  brfed::Status run = manager.Run();
  shutdown_signals.Disarm();
  if (!run.ok()) {
    std::fprintf(stderr, "br-federation-manager: %s\n", run.ToString().c_str());
    return 1;
  }
  brfed::log::Info("stopped");
  return 0;
}
