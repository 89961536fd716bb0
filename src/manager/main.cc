// br-federation-manager: the BR Federation control plane (see docs/manager.md).

#include <cstdio>
#include <cstdlib>
#include <thread>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/log.h"
#include "core/shutdown_signals.h"
#include "kube/client.h"
#include "manager/controllers.h"
#include "manager/flags.h"
#include "manager/manager.h"

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // glibc gives each thread that allocates an arena of its own (up to 8 per core); the
  // manager's informer, worker and per-write sender threads left most of them mostly empty:
  // peak RSS 64.9 MiB at 10 data planes x 200 backups, 49.0 MiB with two arenas, at the same
  // speed (bench/README.md). An explicit MALLOC_ARENA_MAX still wins.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
#endif
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
