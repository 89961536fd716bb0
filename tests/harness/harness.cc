#include "tests/harness/harness.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "core/json.h"
#include "launch/commands.h"
#include "launch/spawn.h"

namespace brfed::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "brfed-test-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  path_ = made != nullptr ? made : "";
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  if (const char* keep = std::getenv("BRFED_TEST_KEEP_DIRS");
      keep_ || (keep != nullptr && keep == std::string("1"))) {
    std::cerr << "kept test directory " << path_ << "\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Result<std::unique_ptr<Process>> Process::Start(const ProcessOptions& options) {
  launch::SpawnOptions spawn;
  spawn.binary = options.binary;
  spawn.args = options.args;
  spawn.env = options.env;
  spawn.stdout_path = options.stdout_path;
  spawn.stderr_path = options.stderr_path;
  BRFED_ASSIGN_OR_RETURN(pid_t pid, launch::Spawn(spawn));
  return std::unique_ptr<Process>(new Process(pid));
}

Process::~Process() {
  if (!exit_code_.has_value()) {
    Kill();
    (void)Wait(10s);
  }
}

void Process::Signal(int sig) {
  if (!exit_code_.has_value()) kill(pid_, sig);
}
void Process::Terminate() { Signal(SIGTERM); }
void Process::Kill() { Signal(SIGKILL); }

bool Process::Running() {
  if (exit_code_.has_value()) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

Result<int> Process::Wait(std::chrono::milliseconds timeout) {
  if (WaitFor([&] { return !Running(); }, timeout)) return *exit_code_;
  return Status(Code::kTimeout, "process " + std::to_string(pid_) + " still running");
}

CommandResult RunCommand(const ProcessOptions& options, std::chrono::milliseconds timeout) {
  TempDir dir;
  ProcessOptions opts = options;
  opts.stdout_path = dir.File("out");
  opts.stderr_path = dir.File("err");
  CommandResult result;
  Result<std::unique_ptr<Process>> p = Process::Start(opts);
  if (!p.ok()) {
    result.err = p.status().message();
    return result;
  }
  Result<int> code = (*p)->Wait(timeout);
  if (!code.ok()) (*p)->Kill();
  result.exit_code = code.ok() ? *code : -1;
  result.out = ReadFile(opts.stdout_path);
  result.err = ReadFile(opts.stderr_path);
  return result;
}

bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(20ms);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

// One audited request: when it was received and, when its log says so, when its answer ended.
struct AuditedRequest {
  std::string received;  // kube: requestReceivedTimestamp (RFC 3339, fixed microseconds)
  std::string ended;     // kube: the ResponseComplete stage's time; "" while open or unknown
};

// The audited requests of `verb` on `resource` from matching user agents, by request.
std::map<std::string, AuditedRequest> AuditedRequests(const std::string& audit_log,
                                                      const std::string& verb,
                                                      const std::string& resource,
                                                      const std::string& user_agent_prefix) {
  std::map<std::string, AuditedRequest> requests;
  std::istringstream lines(ReadFile(audit_log));
  int line_number = 0;
  for (std::string line; std::getline(lines, line); ++line_number) {
    Result<Json> entry = ParseJson(line);
    if (!entry.ok()) continue;  // a line still being written
    const bool kube_event = entry->contains("auditID");
    const std::string entry_resource = kube_event ? JsonStringAt(*entry, {"objectRef", "resource"})
                                                  : JsonStringAt(*entry, {"resource"});
    const std::string agent = JsonStringAt(*entry, {kube_event ? "userAgent" : "user_agent"});
    if (JsonStringAt(*entry, {"verb"}) != verb || entry_resource != resource ||
        agent.rfind(user_agent_prefix, 0) != 0) {
      continue;
    }
    if (!kube_event) {
      requests[std::to_string(line_number)];  // brfed-apiserver logs a request once, at its start
      continue;
    }
    AuditedRequest& r = requests[JsonStringAt(*entry, {"auditID"})];
    r.received = JsonStringAt(*entry, {"requestReceivedTimestamp"});
    if (JsonStringAt(*entry, {"stage"}) == "ResponseComplete") {
      r.ended = JsonStringAt(*entry, {"stageTimestamp"});
    }
  }
  return requests;
}

}  // namespace

int CountAuditedRequests(const std::string& audit_log, const std::string& verb,
                         const std::string& resource, const std::string& user_agent_prefix) {
  return static_cast<int>(AuditedRequests(audit_log, verb, resource, user_agent_prefix).size());
}

int MostAuditedRequestsAtOnce(const std::string& audit_log, const std::string& verb,
                              const std::string& resource, const std::string& user_agent_prefix) {
  // A sweep over starts (+1) and ends (-1); at one instant an end comes first, so a request
  // that replaced one that ended then is not counted twice.
  std::vector<std::pair<std::string, int>> edges;
  for (const auto& [id, r] : AuditedRequests(audit_log, verb, resource, user_agent_prefix)) {
    edges.emplace_back(r.received, +1);
    if (!r.ended.empty()) edges.emplace_back(r.ended, -1);
  }
  std::sort(edges.begin(), edges.end());
  int open = 0, most = 0;
  for (const auto& [time, change] : edges) most = std::max(most, open += change);
  return most;
}

namespace {

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  std::string line(data, size * n);
  auto take = [&](const char* name, std::string& out) {
    size_t len = std::strlen(name);
    if (strncasecmp(line.c_str(), name, len) == 0) {
      out = line.substr(len);
      while (!out.empty() && (out.back() == '\r' || out.back() == '\n')) out.pop_back();
      while (!out.empty() && out.front() == ' ') out.erase(0, 1);
    }
  };
  take("content-type:", resp->content_type);
  take("retry-after:", resp->retry_after);
  return size * n;
}

struct CurlSetup {
  CURL* curl;
  curl_slist* headers = nullptr;
  ~CurlSetup() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  }
};

void Configure(CurlSetup& c, const std::string& url, const std::string& ca_pem,
               const std::string& token, std::chrono::milliseconds timeout) {
  curl_easy_setopt(c.curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (!ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(ca_pem.data()), ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c.curl, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!token.empty()) {
    c.headers = curl_slist_append(c.headers, ("Authorization: Bearer " + token).c_str());
  }
}

}  // namespace

HttpClient::HttpClient(std::string base_url, std::string ca_pem, std::string token)
    : base_url_(std::move(base_url)), ca_pem_(std::move(ca_pem)), token_(std::move(token)) {}

HttpResponse HttpClient::Request(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& content_type,
                                 const std::string& accept,
                                 std::chrono::milliseconds timeout) const {
  HttpResponse resp;
  CurlSetup c{curl_easy_init()};
  Configure(c, base_url_ + path, ca_pem_, token_, timeout);
  c.headers = curl_slist_append(c.headers, ("Content-Type: " + content_type).c_str());
  c.headers = curl_slist_append(c.headers, ("Accept: " + accept).c_str());
  curl_easy_setopt(c.curl, CURLOPT_HTTPHEADER, c.headers);
  curl_easy_setopt(c.curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(c.curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c.curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c.curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c.curl, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c.curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(c.curl, CURLOPT_HEADERDATA, &resp);
  CURLcode rc = curl_easy_perform(c.curl);
  if (rc != CURLE_OK) {
    resp.error = curl_easy_strerror(rc);
    return resp;
  }
  curl_easy_getinfo(c.curl, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

long HttpClient::Stream(const std::string& path,
                        const std::function<bool(const std::string&)>& on_data,
                        std::chrono::milliseconds timeout) const {
  CurlSetup c{curl_easy_init()};
  Configure(c, base_url_ + path, ca_pem_, token_, timeout);
  c.headers = curl_slist_append(c.headers, "Accept: application/json");
  curl_easy_setopt(c.curl, CURLOPT_HTTPHEADER, c.headers);
  struct Ctx {
    const std::function<bool(const std::string&)>* fn;
  } ctx{&on_data};
  curl_easy_setopt(
      c.curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* user) -> size_t {
        auto* ctx = static_cast<Ctx*>(user);
        return (*ctx->fn)(std::string(data, size * n)) ? size * n : 0;
      });
  curl_easy_setopt(c.curl, CURLOPT_WRITEDATA, &ctx);
  curl_easy_perform(c.curl);
  long status = 0;
  curl_easy_getinfo(c.curl, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

std::string ApiServerBinary() {
  return std::string(BRFED_BINARY_DIR) + "/src/apiserver/brfed-apiserver";
}

Result<Backend> ParseBackend(const std::string& value) {
  if (value.empty() || value == "brfed-apiserver") return Backend::kBrfedApiServer;
  if (value == "kube") return Backend::kKube;
  return InvalidArgument("BRFED_TEST_APISERVER=" + value +
                         " names no API server; want brfed-apiserver (the default) or kube");
}

namespace {

// Aborts the test binary: a mistyped environment must fail loudly, never run the default.
[[noreturn]] void Abort(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(2);
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// Upstream's CRDs (tidb-operator release-1.6), read in place from the shared checkout.
std::string UpstreamCrdDir() {
  return EnvOr("BRFED_UPSTREAM_CRD_DIR",
               std::string(BRFED_SOURCE_DIR) +
                   "/../shared/upstream/tidb-operator-release-1.6/manifests/crd");
}

}  // namespace

Backend TestBackend() {
  Result<Backend> backend = ParseBackend(EnvOr("BRFED_TEST_APISERVER", ""));
  if (!backend.ok()) Abort(backend.status().message());
  return *backend;
}

const char* BackendName(Backend backend) {
  return backend == Backend::kKube ? "kube" : "brfed-apiserver";
}

std::string KubeTestenvBinary() {
  return EnvOr("BRFED_KUBE_TESTENV", std::filesystem::path(std::string(BRFED_BINARY_DIR) +
                                                           "/../tools/bin/brfed-kube-testenv")
                                         .lexically_normal()
                                         .string());
}

std::vector<std::string> DataPlaneCrdArgs(Backend backend) {
  if (backend == Backend::kBrfedApiServer) {
    return {"--crd", std::string(BRFED_SOURCE_DIR) + "/deploy/crds/test"};
  }
  std::vector<std::string> args;
  for (const char* f :
       {"pingcap.com_backups.yaml", "pingcap.com_restores.yaml", "pingcap.com_tidbclusters.yaml"}) {
    args.insert(args.end(), {"--crd", UpstreamCrdDir() + "/v1/" + f});
  }
  return args;
}

std::string FederationCrd(const std::string& file) {
  const std::string which = EnvOr("BRFED_TEST_FEDERATION_CRDS", "brfed");
  if (which == "upstream") return UpstreamCrdDir() + "/federation/v1/" + file;
  if (which != "brfed") {
    Abort("BRFED_TEST_FEDERATION_CRDS=" + which + " names no CRD set; want brfed or upstream");
  }
  return std::string(BRFED_SOURCE_DIR) + "/deploy/crds/" + file;
}

namespace {

// brfed-kube-testenv's flags (those brfed-apiserver shares with it, plus its own): flag ->
// whether it takes a value. Every other brfed-apiserver flag (fault injection, watch history,
// body limit, bookmark interval) has no counterpart on a real server and is an error, so a
// test that needs it cannot pass by silently losing it.
Result<std::vector<std::string>> KubeArgs(const std::vector<std::string>& args) {
  static const std::map<std::string, bool> kKnown = {
      {"--crd", true},           {"--listen", true},
      {"--user", true},          {"--data-dir", true},
      {"--name", true},          {"--token", true},
      {"--tls", false},          {"--kubeconfig-out", true},
      {"--log-level", true},     {"--log-format", true},
      {"--audit-log", true},     {"--client-ca-file", true},
      {"--apiserver-arg", true}, {"--compaction-interval", true}};
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string flag = args[i].substr(0, args[i].find('='));
    const bool inline_value = flag.size() != args[i].size();
    auto known = kKnown.find(flag);
    if (known == kKnown.end()) {
      return InvalidArgument("flag " + flag +
                             " exists only on brfed-apiserver; exclude this test from the kube "
                             "variant (tests/CMakeLists.txt)");
    }
    out.push_back(args[i]);
    if (known->second && !inline_value && i + 1 < args.size()) out.push_back(args[++i]);
  }
  return out;
}

std::string TokenOf(const Json& kubeconfig) {
  const Json* users = JsonAt(kubeconfig, {"users"});
  if (users == nullptr || !users->is_array() || users->empty()) return "";
  return JsonStringAt((*users)[0], {"user", "token"});
}

}  // namespace

ApiServer::~ApiServer() {
  if (process != nullptr && process->Running()) {
    process->Terminate();
    (void)process->Wait(30s);
  }
}

namespace {

Result<ApiServer> StartApiServerOnce(const ApiServerOptions& options) {
  ApiServer server;
  server.backend = options.backend.value_or(TestBackend());
  const bool kube = server.backend == Backend::kKube;
  server.kubeconfig = options.dir + "/" + options.name + ".kubeconfig";
  server.stdout_path = options.dir + "/" + options.name + ".out";
  server.stderr_path = options.dir + "/" + options.name + ".err";
  std::filesystem::remove(server.kubeconfig);
  ProcessOptions p;
  p.binary = kube                     ? KubeTestenvBinary()
             : options.binary.empty() ? ApiServerBinary()
                                      : options.binary;
  if (kube && !std::filesystem::exists(p.binary)) {
    return Status(Code::kNotFound, "BRFED_TEST_APISERVER=kube needs " + p.binary +
                                       ", which is missing: run scripts/install-deps.sh (it "
                                       "builds tools/ into build/tools/bin)");
  }
  // kube-testenv picks a fixed port unless told otherwise; tests want a free one.
  const bool has_listen =
      std::any_of(options.extra_args.begin(), options.extra_args.end(),
                  [](const std::string& a) { return a.rfind("--listen", 0) == 0; });
  p.args = launch::ApiServerArgs({.name = options.name,
                                  .kubeconfig_out = server.kubeconfig,
                                  .listen = kube && !has_listen ? "127.0.0.1:0" : "",
                                  .tls = options.tls,
                                  .token = options.token,
                                  .data_dir = options.data_dir});
  if (kube) {
    BRFED_ASSIGN_OR_RETURN(std::vector<std::string> extra, KubeArgs(options.extra_args));
    p.args.insert(p.args.end(), extra.begin(), extra.end());
  } else {
    p.args.insert(p.args.end(), options.extra_args.begin(), options.extra_args.end());
  }
  p.stdout_path = server.stdout_path;
  p.stderr_path = server.stderr_path;
  BRFED_ASSIGN_OR_RETURN(server.process, Process::Start(p));
  auto failed = [&](const std::string& why) {
    return Status(Code::kUnavailable,
                  std::string(kube ? "brfed-kube-testenv " : "brfed-apiserver ") + why +
                      "; stderr: " + ReadFile(server.stderr_path));
  };
  // A real kube-apiserver takes seconds to start (more on a loaded 2-core machine); its
  // `ready <url>` line comes once its CRDs are Established.
  const std::chrono::milliseconds ready_timeout =
      kube ? std::max<std::chrono::milliseconds>(options.ready_timeout, 180s)
           : options.ready_timeout;
  if (!WaitFor(
          [&] {
            bool written = std::filesystem::exists(server.kubeconfig) &&
                           (!kube || launch::ReportedReady(ReadFile(server.stdout_path)));
            return written || !server.process->Running();
          },
          ready_timeout) ||
      !server.process->Running()) {
    return failed(kube ? "did not report ready" : "did not write its kubeconfig");
  }
  Result<Json> kc = ParseYaml(ReadFile(server.kubeconfig));
  if (!kc.ok()) return failed("wrote an unreadable kubeconfig: " + kc.status().message());
  server.token = TokenOf(*kc);
  if (server.token.empty()) server.token = options.token;
  server.url = (*kc)["clusters"][0]["cluster"].value("server", "");
  std::string ca_b64 = (*kc)["clusters"][0]["cluster"].value("certificate-authority-data", "");
  if (!ca_b64.empty()) {
    std::string decoded(ca_b64.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                            reinterpret_cast<const unsigned char*>(ca_b64.data()),
                            static_cast<int>(ca_b64.size()));
    if (n < 0) return failed("wrote bad certificate-authority-data");
    decoded.resize(static_cast<size_t>(n));
    while (!decoded.empty() && decoded.back() == '\0') decoded.pop_back();
    server.ca_pem = decoded;
  }
  HttpClient client = server.Client();
  if (!WaitFor(
          [&] {
            return client.Request("GET", "/readyz", "", "application/json", "*/*", 2s).status ==
                   200;
          },
          ready_timeout)) {
    return failed("never answered /readyz at " + server.url);
  }
  return server;
}

}  // namespace

// A port picked free can be taken by another process before the server binds it (seen once in
// CI: brfed-kube-testenv's etcd, "bind: address already in use", with tests running two at
// once). Only that failure is retried, with new ports.
Result<ApiServer> StartApiServer(const ApiServerOptions& options) {
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    Result<ApiServer> server = StartApiServerOnce(options);
    if (server.ok() || attempt == kAttempts ||
        server.status().message().find("address already in use") == std::string::npos) {
      return server;
    }
    std::cerr << "harness: " << options.name << " lost its port to another process; again\n";
  }
}

}  // namespace brfed::testing
