#include "tests/cli/cli_e2e_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/process.h"
#include "kube/kubeconfig.h"
#include "launch/spawn.h"

namespace brfed::e2e {
namespace fs = std::filesystem;

std::string BuildDir() { return BRFED_BINARY_DIR; }
std::string SourceDir() { return BRFED_SOURCE_DIR; }
std::string BrfedBinary() { return BuildDir() + "/src/cli/brfed"; }
std::string ApiserverBinary() { return BuildDir() + "/src/apiserver/brfed-apiserver"; }

bool FileExists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << text;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

struct BrfedProcess::State {
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
  mutable std::mutex mu;
  std::string out, err;
  std::thread reader;
  std::atomic<bool> stop{false};
};

BrfedProcess::BrfedProcess(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env)
    : state_(std::make_unique<State>()) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return;
  launch::SpawnOptions spawn;
  spawn.binary = BrfedBinary();
  spawn.args = args;
  for (const auto& [key, value] : env) {
    if (value.empty()) {
      spawn.unset.push_back(key);
    } else {
      spawn.env.emplace_back(key, value);
    }
  }
  spawn.stdout_fd = out_pipe[1];
  spawn.stderr_fd = err_pipe[1];
  Result<pid_t> spawned = launch::Spawn(spawn);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!spawned.ok()) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    state_->err = spawned.status().ToString();
    return;
  }
  state_->pid = *spawned;
  state_->out_fd = out_pipe[0];
  state_->err_fd = err_pipe[0];
  State* st = state_.get();
  st->reader = std::thread([st] {
    pollfd fds[2] = {{st->out_fd, POLLIN, 0}, {st->err_fd, POLLIN, 0}};
    int open_fds = 2;
    char buf[4096];
    while (open_fds > 0 && !st->stop) {
      if (poll(fds, 2, 100) < 0) break;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          fds[i].fd = -1;
          --open_fds;
        } else {
          std::lock_guard<std::mutex> lock(st->mu);
          (i == 0 ? st->out : st->err).append(buf, static_cast<size_t>(n));
        }
      }
    }
  });
}

BrfedProcess::~BrfedProcess() {
  if (state_->pid > 0) Wait(std::chrono::seconds(0));
}

std::string BrfedProcess::Out() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->out;
}

RunResult BrfedProcess::Wait(std::chrono::seconds deadline) {
  RunResult result;
  if (state_->pid <= 0) {
    result.err = state_->err;  // the reason it never started
    return result;
  }
  const auto end = std::chrono::steady_clock::now() + deadline;
  int status = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(state_->pid, &status, WNOHANG) == state_->pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!exited) {
    result.timed_out = true;
    kill(state_->pid, SIGKILL);
    waitpid(state_->pid, &status, 0);
  }
  state_->pid = -1;
  if (state_->reader.joinable()) {
    if (result.timed_out) state_->stop = true;
    state_->reader.join();
  }
  close(state_->out_fd);
  close(state_->err_fd);
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  std::lock_guard<std::mutex> lock(state_->mu);
  result.out = state_->out;
  result.err = state_->err;
  return result;
}

RunResult RunBrfed(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, std::chrono::seconds deadline) {
  BrfedProcess p(args, env);
  return p.Wait(deadline);
}

ApiServerProcess::ApiServerProcess(const std::string& dir, const std::string& name,
                                   const std::vector<std::string>& extra_args) {
  testing::ApiServerOptions o;
  o.dir = dir;
  o.name = name;
  o.extra_args = extra_args;
  Result<testing::ApiServer> started = testing::StartApiServer(o);
  if (started.ok()) {
    server_ = std::make_unique<testing::ApiServer>(std::move(started).value());
  } else {
    error_ = started.status().ToString();
  }
}

ApiServerProcess::~ApiServerProcess() { Stop(); }

void ApiServerProcess::Signal(int sig) {
  if (server_ != nullptr) server_->process->Signal(sig);
}

void ApiServerProcess::Stop() {
  if (server_ != nullptr) {
    server_->process->Terminate();
    (void)server_->process->Wait(std::chrono::seconds(30));
  }
  server_.reset();
}

std::string ApiServerProcess::ca_data() const {
  if (!ok()) return "";
  Result<Json> kc = ParseYaml(ReadFile(server_->kubeconfig));
  if (!kc.ok() || !(*kc)["clusters"].is_array() || (*kc)["clusters"].empty()) return "";
  return JsonStringAt((*kc)["clusters"][0], {"cluster", "certificate-authority-data"});
}

std::shared_ptr<kube::Client> ApiServerProcess::Client() const {
  if (!ok()) return nullptr;
  Result<kube::Kubeconfig> kc = kube::Kubeconfig::LoadFile(server_->kubeconfig);
  if (!kc.ok()) return nullptr;
  Result<kube::RestConfig> rc = kc->ForContext("");
  if (!rc.ok()) return nullptr;
  Result<std::shared_ptr<kube::Client>> client = kube::NewClient(*rc);
  return client.ok() ? *client : nullptr;
}

}  // namespace brfed::e2e
