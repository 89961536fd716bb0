// Test-support helpers shared by the integration suites: child processes (fork/exec, no
// shell) with captured output, temporary directories, polling waits, a small HTTP client
// (libcurl) and StartApiServer, which launches an API server and waits until it is ready: our
// brfed-apiserver, or a real kube-apiserver (brfed-kube-testenv) when BRFED_TEST_APISERVER=kube.
//
// Thread-safety: Process, TempDir and HttpClient objects are not shared between threads
// without external locking; the free functions are thread-safe. Each object owns what it
// starts or creates and cleans it up in its destructor (a Process still running is killed).
#ifndef BRFED_TESTS_HARNESS_HARNESS_H_
#define BRFED_TESTS_HARNESS_HARNESS_H_

#include <sys/types.h>

#include <atomic>
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

// A directory under $TMPDIR removed (recursively) on destruction, unless BRFED_TEST_KEEP_DIRS=1
// (then it is kept and its path printed on stderr, to read a failed run's logs afterwards).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Keeps the directory when this object goes (as BRFED_TEST_KEEP_DIRS=1 does for all), e.g.
  // for a run that found something; safe from any thread.
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  std::atomic<bool> keep_{false};
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

// How many requests of `verb` ("list", "watch", ...) on `resource` (a plural) from a client
// whose User-Agent starts with `user_agent_prefix` an API server's audit log holds. Reads both
// formats: brfed-apiserver's flat lines (`resource`, `user_agent`, one per request) and
// kube-apiserver's audit.k8s.io Events (`objectRef.resource`, `userAgent`, one per stage of a
// request, so requests are told apart by `auditID`).
int CountAuditedRequests(const std::string& audit_log, const std::string& verb,
                         const std::string& resource, const std::string& user_agent_prefix);

// The most such requests that were open at one time. kube-apiserver's log says when each
// answer ended (a watch the server closed, say when a CRD's storage is rebuilt, and then
// resumed counts once); brfed-apiserver's does not, so there every request counts as open.
int MostAuditedRequestsAtOnce(const std::string& audit_log, const std::string& verb,
                              const std::string& resource, const std::string& user_agent_prefix);

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

// The API server a suite runs against. BRFED_TEST_APISERVER picks it: unset or
// "brfed-apiserver" (the default), or "kube" (brfed-kube-testenv: a real kube-apiserver over an
// embedded etcd, with upstream's CRDs on the data planes).
enum class Backend { kBrfedApiServer, kKube };

// Pure: "" or "brfed-apiserver" -> kBrfedApiServer, "kube" -> kKube, else kInvalidArgument.
Result<Backend> ParseBackend(const std::string& value);
// ParseBackend($BRFED_TEST_APISERVER); a bad value aborts the test binary with a clear message
// (a typo must not silently run the default).
Backend TestBackend();
const char* BackendName(Backend backend);

// $BRFED_KUBE_TESTENV, else <build>/../tools/bin/brfed-kube-testenv (scripts/install-deps.sh
// builds it there).
std::string KubeTestenvBinary();

// The CRD flags for a data plane: deploy/crds/test (status subresource, loose schemas) on
// brfed-apiserver; upstream's own pingcap.com CRDs unchanged from ../shared/upstream (no status
// subresource, full schemas) on kube.
std::vector<std::string> DataPlaneCrdArgs(Backend backend);

// Which federation CRDs the control plane serves: ours (deploy/crds) or, when
// BRFED_TEST_FEDERATION_CRDS=upstream (kube only), upstream's (no status subresource).
// `file` is a CRD file name such as "federation.pingcap.com_volumebackups.yaml".
std::string FederationCrd(const std::string& file);

struct ApiServerOptions {
  std::string dir;  // where the kubeconfig and logs go (required)
  std::string name = "test-apiserver";
  bool tls = false;
  std::string token;
  std::string data_dir;
  // e.g. {"--crd", path}. On kube, flags that only brfed-apiserver has (fault injection, watch
  // history, body limit, bookmark interval) make StartApiServer fail with kInvalidArgument
  // naming the flag: a suite excludes such tests from its kube variant (tests/CMakeLists.txt).
  std::vector<std::string> extra_args;
  std::chrono::milliseconds ready_timeout = 30s;  // at least 180s on kube (start is slower)
  std::optional<Backend> backend;                 // unset = TestBackend()
  // The brfed-apiserver binary to run ("" = this build's; a benchmark names an older build's).
  // Not used on kube.
  std::string binary;
};

struct ApiServer {
  ApiServer() = default;
  ApiServer(ApiServer&&) = default;
  ApiServer& operator=(ApiServer&&) = default;
  // SIGTERM and a wait, so that kube-apiserver closes its etcd and removes its temporary data
  // (Process alone would SIGKILL). Tests that want a crash call process->Kill() themselves.
  ~ApiServer();

  std::unique_ptr<Process> process;
  std::string kubeconfig;  // path
  std::string url;
  std::string ca_pem;  // "" without TLS
  std::string token;   // the admin bearer token of its kubeconfig ("" = none)
  Backend backend = Backend::kBrfedApiServer;
  std::string stdout_path;
  std::string stderr_path;
  HttpClient Client() const { return HttpClient(url, ca_pem, token); }
};

// BRFED_BINARY_DIR/src/apiserver/brfed-apiserver.
std::string ApiServerBinary();

// Starts the chosen API server with --kubeconfig-out in `options.dir`, waits for the kubeconfig
// and a 200 from /readyz. Errors carry the server's stderr; on kube a missing binary is an
// error that says to run scripts/install-deps.sh.
Result<ApiServer> StartApiServer(const ApiServerOptions& options);

}  // namespace brfed::testing

#endif  // BRFED_TESTS_HARNESS_HARNESS_H_
