// Helpers for the brfed end-to-end tests: running the brfed binary with a deadline (a hang is a
// test failure, never a stuck test), and starting API server processes on loopback.
//
// Thread-safety: test-thread only.
#ifndef BRFED_TESTS_CLI_CLI_E2E_UTIL_H_
#define BRFED_TESTS_CLI_CLI_E2E_UTIL_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "kube/client.h"
#include "tests/harness/harness.h"

namespace brfed::e2e {

std::string BuildDir();
std::string SourceDir();
std::string BrfedBinary();
std::string ApiserverBinary();
bool FileExists(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);
// A fresh folder under the test temp dir.
std::string MakeTempDir(const std::string& prefix);

struct RunResult {
  int exit_code = -1;  // -1 when killed at the deadline
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs brfed with `args`; `env` entries are added to (or, with an empty value, removed from)
// the environment. Kills it and reports timed_out after `deadline`.
RunResult RunBrfed(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env = {},
                   std::chrono::seconds deadline = std::chrono::seconds(60));

// brfed running in the background with its output collected as it comes.
class BrfedProcess {
 public:
  BrfedProcess(const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env = {});
  ~BrfedProcess();
  BrfedProcess(const BrfedProcess&) = delete;
  BrfedProcess& operator=(const BrfedProcess&) = delete;
  std::string Out() const;
  // Waits for the exit (killing it at the deadline) and returns everything.
  RunResult Wait(std::chrono::seconds deadline);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Starts an API server in the background (tests/harness StartApiServer: brfed-apiserver, or
// kube-apiserver when BRFED_TEST_APISERVER=kube) and waits until it is ready; stopped on
// destruction.
class ApiServerProcess {
 public:
  ApiServerProcess(const std::string& dir, const std::string& name,
                   const std::vector<std::string>& extra_args);
  ~ApiServerProcess();
  ApiServerProcess(const ApiServerProcess&) = delete;
  ApiServerProcess& operator=(const ApiServerProcess&) = delete;

  bool ok() const { return server_ != nullptr; }
  const std::string& error() const { return error_; }  // why it did not start
  std::string kubeconfig() const { return ok() ? server_->kubeconfig : ""; }
  std::string server() const { return ok() ? server_->url : ""; }
  std::string token() const { return ok() ? server_->token : ""; }  // "" = none
  // The base64 certificate-authority-data of its kubeconfig ("" without TLS).
  std::string ca_data() const;
  std::shared_ptr<kube::Client> Client() const;
  // Sends `sig` to the server process (SIGSTOP/SIGCONT: a partition).
  void Signal(int sig);
  void Stop();

 private:
  std::unique_ptr<testing::ApiServer> server_;
  std::string error_;
};

using testing::ReadFile;
using testing::WaitFor;

}  // namespace brfed::e2e

#endif  // BRFED_TESTS_CLI_CLI_E2E_UTIL_H_
