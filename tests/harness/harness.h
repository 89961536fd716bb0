// Test-support helpers shared by the integration suites: child processes (fork/exec, no
// shell) with captured output, temporary directories, polling waits, a small HTTP client
// (libcurl) and StartApiServer, which launches brfed-apiserver and waits until it is ready.
//
// Thread-safety: Process, TempDir and HttpClient objects are not shared between threads
// without external locking; the free functions are thread-safe. Each object owns what it
// starts or creates and cleans it up in its destructor (a Process still running is killed).
#ifndef BRFED_TESTS_HARNESS_HARNESS_H_
#define BRFED_TESTS_HARNESS_HARNESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace brfed::testing {

using namespace std::chrono_literals;

// A directory under $TMPDIR removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct ProcessOptions {
  std::string binary;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) our env
  std::string stdout_path;                               // "" = /dev/null
  std::string stderr_path;                               // "" = /dev/null
};

class Process {
 public:
  static Result<std::unique_ptr<Process>> Start(const ProcessOptions& options);
  ~Process();  // SIGKILL + reap when still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  void Terminate();  // SIGTERM
  void Kill();       // SIGKILL
  bool Running();
  // The exit code (128+signal when killed by one), or kTimeout.
  Result<int> Wait(std::chrono::milliseconds timeout);

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion (killed at `timeout`, exit code then -1).
CommandResult RunCommand(const ProcessOptions& options, std::chrono::milliseconds timeout = 60s);

// Polls `predicate` every few milliseconds until it is true or `deadline` has passed.
bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds deadline = 30s);

std::string ReadFile(const std::string& path);

struct HttpResponse {
  long status = 0;  // 0 when the request did not complete
  std::string body;
  std::string content_type;
  std::string retry_after;
  std::string error;  // transport error text
};

// A minimal client for one server: base URL, optional CA (PEM) and bearer token.
class HttpClient {
 public:
  HttpClient(std::string base_url, std::string ca_pem = "", std::string token = "");
  HttpResponse Request(const std::string& method, const std::string& path,
                       const std::string& body = "",
                       const std::string& content_type = "application/json",
                       const std::string& accept = "application/json",
                       std::chrono::milliseconds timeout = 10s) const;
  // Streams a response (a watch), calling `on_data` with each piece until it returns false,
  // the server ends the stream, or `timeout` passes. Returns the HTTP status.
  long Stream(const std::string& path, const std::function<bool(const std::string&)>& on_data,
              std::chrono::milliseconds timeout) const;
  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
  std::string ca_pem_;
  std::string token_;
};

struct ApiServerOptions {
  std::string dir;  // where the kubeconfig and logs go (required)
  std::string name = "test-apiserver";
  bool tls = false;
  std::string token;
  std::string data_dir;
  std::vector<std::string> extra_args;  // e.g. {"--crd", path}
  std::chrono::milliseconds ready_timeout = 30s;
  std::string binary;  // "" = brfed-apiserver; another server taking the same flags
};

struct ApiServer {
  std::unique_ptr<Process> process;
  std::string kubeconfig;  // path
  std::string url;
  std::string ca_pem;  // "" without TLS
  std::string token;
  std::string stdout_path;
  std::string stderr_path;
  HttpClient Client() const { return HttpClient(url, ca_pem, token); }
};

// BRFED_BINARY_DIR/src/apiserver/brfed-apiserver.
std::string ApiServerBinary();

// Starts brfed-apiserver with --kubeconfig-out in `options.dir`, waits for the kubeconfig and
// a 200 from /readyz. Errors carry the server's stderr.
Result<ApiServer> StartApiServer(const ApiServerOptions& options);

}  // namespace brfed::testing

#endif  // BRFED_TESTS_HARNESS_HARNESS_H_
