#include "tests/harness/harness.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/json.h"

extern char** environ;

namespace brfed::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "brfed-test-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  path_ = made != nullptr ? made : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

Result<std::unique_ptr<Process>> Process::Start(const ProcessOptions& options) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : options.env) replaced = replaced || k == key;
    if (!replaced) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {options.binary};
  argv_strings.insert(argv_strings.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string out = options.stdout_path.empty() ? "/dev/null" : options.stdout_path;
  std::string err = options.stderr_path.empty() ? "/dev/null" : options.stderr_path;
  pid_t pid = fork();
  if (pid < 0) return InternalError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    int in_fd = open("/dev/null", O_RDONLY);
    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
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

Result<ApiServer> StartApiServer(const ApiServerOptions& options) {
  ApiServer server;
  server.kubeconfig = options.dir + "/" + options.name + ".kubeconfig";
  server.stdout_path = options.dir + "/" + options.name + ".out";
  server.stderr_path = options.dir + "/" + options.name + ".err";
  server.token = options.token;
  std::filesystem::remove(server.kubeconfig);
  ProcessOptions p;
  p.binary = options.binary.empty() ? ApiServerBinary() : options.binary;
  p.args = {"--kubeconfig-out", server.kubeconfig, "--name", options.name};
  if (options.tls) p.args.push_back("--tls");
  if (!options.token.empty()) p.args.insert(p.args.end(), {"--token", options.token});
  if (!options.data_dir.empty()) p.args.insert(p.args.end(), {"--data-dir", options.data_dir});
  p.args.insert(p.args.end(), options.extra_args.begin(), options.extra_args.end());
  p.stdout_path = server.stdout_path;
  p.stderr_path = server.stderr_path;
  BRFED_ASSIGN_OR_RETURN(server.process, Process::Start(p));
  auto failed = [&](const std::string& why) {
    return Status(Code::kUnavailable,
                  "brfed-apiserver " + why + "; stderr: " + ReadFile(server.stderr_path));
  };
  if (!WaitFor(
          [&] { return std::filesystem::exists(server.kubeconfig) || !server.process->Running(); },
          options.ready_timeout) ||
      !server.process->Running()) {
    return failed("did not write its kubeconfig");
  }
  Result<Json> kc = ParseYaml(ReadFile(server.kubeconfig));
  if (!kc.ok()) return failed("wrote an unreadable kubeconfig: " + kc.status().message());
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
          options.ready_timeout)) {
    return failed("never answered /readyz at " + server.url);
  }
  return server;
}

}  // namespace brfed::testing
