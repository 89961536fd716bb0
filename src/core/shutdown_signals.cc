#include "core/shutdown_signals.h"

#include <pthread.h>

#include <string>

#include "core/log.h"

namespace brfed {

ShutdownSignals::ShutdownSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void ShutdownSignals::OnSignal(std::function<void(int)> handler) {
  thread_ = std::thread([this, handler = std::move(handler)] {
    int sig = 0;
    sigwait(&signals_, &sig);
    if (sig == SIGUSR2) return;
    log::Info("stopping", {{"signal", std::to_string(sig)}});
    handler(sig);
  });
}

ShutdownSignals::~ShutdownSignals() { Disarm(); }

void ShutdownSignals::Disarm() {
  if (!thread_.joinable()) return;
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

}  // namespace brfed
