// ShutdownSignals: turns SIGTERM and SIGINT into one call of a handler on a dedicated thread,
// so that shutdown code (stopping servers, joining threads) runs outside signal context.
//
// Construct it in main before any other thread starts: the constructor blocks SIGTERM, SIGINT
// and SIGUSR2 (used internally to end the thread) in the calling thread, and threads started
// later inherit that mask. It also ignores SIGPIPE (peers closing sockets must not kill us).
// Not copyable.
#ifndef BRFED_CORE_SHUTDOWN_SIGNALS_H_
#define BRFED_CORE_SHUTDOWN_SIGNALS_H_

#include <signal.h>

#include <functional>
#include <thread>

namespace brfed {

class ShutdownSignals {
 public:
  ShutdownSignals();
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  // Starts waiting; `handler(signal)` runs once, on the signal thread. Call at most once.
  void OnSignal(std::function<void(int)> handler);

  // Ends the signal thread (if no signal came) and waits for a running handler. Call it before
  // destroying what the handler touches. Idempotent; the destructor calls it.
  void Disarm();

 private:
  sigset_t signals_;
  std::thread thread_;
};

}  // namespace brfed

#endif  // BRFED_CORE_SHUTDOWN_SIGNALS_H_
