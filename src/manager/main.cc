// br-federation-manager: the BR Federation control plane (see docs/manager.md).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/log.h"
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
  brfed::kube::GlobalInit();

  // SIGTERM/SIGINT are taken by a dedicated thread so that Stop runs outside signal context.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR2);  // sent by main to end the signal thread
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  brfed::manager::Manager manager(parsed.flags, brfed::manager::RegisteredControllers());
  std::thread signal_thread([&manager, &signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR2) return;
    brfed::log::Info("stopping", {{"signal", std::to_string(sig)}});
    manager.Stop();
  });
  brfed::Status run = manager.Run();
  pthread_kill(signal_thread.native_handle(), SIGUSR2);
  signal_thread.join();
  if (!run.ok()) {
    std::fprintf(stderr, "br-federation-manager: %s\n", run.ToString().c_str());
    return 1;
  }
  brfed::log::Info("stopped");
  return 0;
}
