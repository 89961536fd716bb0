#include "kube/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/log.h"
#include "kube/pem.h"

extern char** environ;

namespace brfed::kube {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

class StaticSource final : public CredentialSource {
 public:
  explicit StaticSource(Credential c) : credential_(std::move(c)) {}
  Result<Credential> Get() override { return credential_; }
  void Invalidate() override {}

 private:
  Credential credential_;
};

// Re-reads the token file when the cached copy is older than kTokenFileRefresh or after a 401.
class TokenFileSource final : public CredentialSource {
 public:
  TokenFileSource(std::string path, Clock* clock) : path_(std::move(path)), clock_(clock) {}
  Result<Credential> Get() override {
    std::lock_guard<std::mutex> lock(mu_);
    SteadyTime now = clock_->Steady();
    if (!read_at_ || now - *read_at_ >= kTokenFileRefresh) {
      auto content = ReadFileToString(path_);
      if (!content.ok()) {
        if (token_.empty())
          return Status(Code::kUnauthorized, "tokenFile: " + content.status().message());
        log::Warn("cannot re-read token file; using the previous token", {{"file", path_}});
      } else {
        token_ = Trim(std::move(content).value());
        read_at_ = now;
      }
    }
    Credential c;
    c.bearer_token = token_;
    return c;
  }
  void Invalidate() override {
    std::lock_guard<std::mutex> lock(mu_);
    read_at_.reset();
  }

 private:
  std::mutex mu_;
  std::string path_;
  Clock* clock_;
  std::string token_;
  std::optional<SteadyTime> read_at_;
};

struct ProcessOutput {
  int exit_code = -1;
  std::string out, err;
  bool timed_out = false;
  bool cancelled = false;  // killed because `cancel_fd` became readable
};

// Runs argv[0] (PATH lookup for bare names) with extra environment, stdin on /dev/null, no
// shell, capturing stdout and stderr, killed after `timeout`.
// This process's environment with `extra_env` (NAME=VALUE entries) replacing or adding.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra_env) {
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool overridden = false;
    for (const auto& x : extra_env) {
      size_t eq = x.find('=');
      if (entry.substr(0, entry.find('=')) == std::string_view(x).substr(0, eq)) overridden = true;
    }
    if (!overridden) env_strings.emplace_back(entry);
  }
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  return env_strings;
}

// Reads the child's stdout and stderr until both close; past the deadline, or once `cancel_fd`
// (-1: none) is readable, the child is killed.
void CollectOutput(int out_fd, int err_fd, int cancel_fd, pid_t pid,
                   std::chrono::milliseconds timeout, ProcessOutput& result) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    int n = poll(fds, 3, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      result.cancelled = true;
      kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd >= 0) close(fds[i].fd);
  }
}

Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env,
                                 std::chrono::milliseconds timeout, int cancel_fd) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return InternalError(std::strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return InternalError(std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

  std::vector<std::string> env_strings = MergedEnvironment(extra_env);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return Status(Code::kNotFound, "cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  ProcessOutput result;
  CollectOutput(out_pipe[0], err_pipe[0], cancel_fd, pid, timeout, result);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return result;
}

class ExecSource final : public CredentialSource {
 public:
  ExecSource(RestConfig config, Clock* clock, ClientMetrics* metrics)
      : config_(std::move(config)),
        clock_(clock),
        metrics_(metrics),
        cancel_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~ExecSource() override {
    if (cancel_fd_ >= 0) close(cancel_fd_);
  }
  ExecSource(const ExecSource&) = delete;
  ExecSource& operator=(const ExecSource&) = delete;

  Result<Credential> Get() override {
    if (auto cached = CachedUnlessExpiringWithin(kExecRefreshMargin)) return *cached;
    // One run at a time; a caller that waited for another's run finds its result cached.
    std::lock_guard<std::mutex> run(run_mu_);
    if (auto cached = CachedUnlessExpiringWithin(kExecRefreshMargin)) return *cached;
    return Refresh();
  }
  void Invalidate() override {
    std::lock_guard<std::mutex> lock(mu_);
    cached_.reset();
  }
  Status RefreshAhead(std::chrono::seconds lookahead) override {
    if (CachedUnlessExpiringWithin(lookahead)) return Status::Ok();
    std::unique_lock<std::mutex> run(run_mu_, std::try_to_lock);
    if (!run.owns_lock()) return Status::Ok();  // someone else's run refreshes it
    if (CachedUnlessExpiringWithin(lookahead)) return Status::Ok();
    return Refresh().status();
  }
  void Cancel() override {
    cancelled_ = true;
    if (cancel_fd_ < 0) return;
    const uint64_t one = 1;
    // Stays readable: a run starting after this is killed too (Run also checks cancelled_).
    if (write(cancel_fd_, &one, sizeof(one)) < 0) {
      log::Warn("cannot cancel exec plugin runs", {{"cluster", config_.context_name}});
    }
  }

 private:
  std::optional<Credential> CachedUnlessExpiringWithin(std::chrono::seconds margin) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ && (!cached_->expiry || clock_->Now() + margin < *cached_->expiry)) return cached_;
    return std::nullopt;
  }
  // Runs the plugin and caches what it returns; the caller holds run_mu_.
  Result<Credential> Refresh() {
    auto fresh = Run();
    if (metrics_ != nullptr) metrics_->ExecRefresh(config_.context_name, fresh.ok());
    if (!fresh.ok()) return fresh.status();
    std::lock_guard<std::mutex> lock(mu_);
    cached_ = *fresh;
    return *fresh;
  }

  Status Cancelled() const {
    return Status(Code::kCancelled, "exec plugin \"" + config_.exec->command + "\" for context \"" +
                                        config_.context_name +
                                        "\": cancelled (the client is stopping)");
  }

  Status Fail(const std::string& what) const {
    std::string msg = "exec plugin \"" + config_.exec->command + "\" for context \"" +
                      config_.context_name + "\": " + what;
    if (!config_.exec->install_hint.empty()) msg += "\n" + config_.exec->install_hint;
    return Status(Code::kUnauthorized, msg);
  }

  Result<Credential> Run() {
    const ExecConfig& exec = *config_.exec;
    std::vector<std::string> argv{exec.command};
    argv.insert(argv.end(), exec.args.begin(), exec.args.end());
    std::vector<std::string> env;
    for (const auto& [k, v] : exec.env) env.push_back(k + "=" + v);
    Json info = {{"apiVersion", exec.api_version},
                 {"kind", "ExecCredential"},
                 {"spec", {{"interactive", false}}}};
    if (exec.provide_cluster_info) {
      Json cluster = {{"server", config_.server}};
      if (!config_.tls_server_name.empty()) cluster["tls-server-name"] = config_.tls_server_name;
      if (config_.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
      if (!config_.ca_data_base64.empty()) {
        cluster["certificate-authority-data"] = config_.ca_data_base64;
      }
      if (!config_.proxy_url.empty()) cluster["proxy-url"] = config_.proxy_url;
      info["spec"]["cluster"] = cluster;
    }
    env.push_back("KUBERNETES_EXEC_INFO=" + DumpJson(info));
    if (cancelled_) return Cancelled();
    auto run = RunProcess(argv, env, kExecTimeout, cancel_fd_);
    if (!run.ok()) return Fail(run.status().message());
    if (run->cancelled) return Cancelled();
    if (run->timed_out) return Fail("timed out");
    if (run->exit_code != 0) {
      return Fail("exited with code " + std::to_string(run->exit_code) +
                  (run->err.empty() ? "" : ": " + Trim(run->err)));
    }
    auto parsed = ParseJson(run->out);
    if (!parsed.ok()) return Fail("output is not an ExecCredential: " + parsed.status().message());
    const Json& cred = *parsed;
    if (JsonStringAt(cred, {"kind"}) != "ExecCredential") {
      return Fail("output kind is not ExecCredential");
    }
    if (JsonStringAt(cred, {"apiVersion"}) != exec.api_version) {
      return Fail("output apiVersion \"" + JsonStringAt(cred, {"apiVersion"}) +
                  "\" does not match \"" + exec.api_version + "\"");
    }
    Credential c;
    c.bearer_token = JsonStringAt(cred, {"status", "token"});
    c.client_cert_pem = JsonStringAt(cred, {"status", "clientCertificateData"});
    c.client_key_pem = JsonStringAt(cred, {"status", "clientKeyData"});
    if (c.bearer_token.empty() && (c.client_cert_pem.empty() || c.client_key_pem.empty())) {
      return Fail("output has neither status.token nor client certificate data");
    }
    std::string expiry = JsonStringAt(cred, {"status", "expirationTimestamp"});
    if (!expiry.empty()) {
      auto t = ParseRfc3339(expiry);
      if (!t.ok()) return Fail("status.expirationTimestamp: " + t.status().message());
      c.expiry = *t;
    }
    log::Debug("exec credential refreshed", {{"cluster", config_.context_name}});
    return c;
  }

  std::mutex run_mu_;  // held through a plugin run: runs are single-flight
  std::mutex mu_;      // guards cached_ only, never held through a run
  RestConfig config_;
  Clock* clock_;
  ClientMetrics* metrics_;
  std::optional<Credential> cached_;
  std::atomic<bool> cancelled_{false};
  int cancel_fd_;  // an eventfd, readable once Cancel ran; -1 if it could not be made
};

}  // namespace

std::shared_ptr<CredentialSource> NewCredentialSource(const RestConfig& config, Clock* clock,
                                                      ClientMetrics* metrics) {
  if (config.exec) return std::make_shared<ExecSource>(config, clock, metrics);
  if (!config.token_file.empty())
    return std::make_shared<TokenFileSource>(config.token_file, clock);
  Credential c;
  c.bearer_token = config.bearer_token;
  return std::make_shared<StaticSource>(std::move(c));
}

}  // namespace brfed::kube
