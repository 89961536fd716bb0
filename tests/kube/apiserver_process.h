// ApiServerProcess: starts a real brfed-apiserver binary on loopback for the kube integration
// tests, waits until it has written its kubeconfig, and stops it with SIGTERM (SIGKILL after a
// grace period). A stand-in until the shared tests/harness library lands.
//
// Thread-safety: owned by one test thread.
#ifndef BRFED_TESTS_KUBE_APISERVER_PROCESS_H_
#define BRFED_TESTS_KUBE_APISERVER_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace brfed::testing {

class ApiServerProcess {
 public:
  // `dir` receives the kubeconfig and the log; `args` are extra flags.
  ApiServerProcess(std::string dir, std::vector<std::string> args)
      : dir_(std::move(dir)), args_(std::move(args)) {}
  ~ApiServerProcess() { Stop(); }

  // Starts the server and waits (up to 30 s) for its kubeconfig; false on failure.
  bool Start() {
    std::filesystem::remove(kubeconfig());
    std::vector<std::string> argv = {
        std::string(BRFED_BINARY_DIR) + "/src/apiserver/brfed-apiserver", "--kubeconfig-out",
        kubeconfig()};
    argv.insert(argv.end(), args_.begin(), args_.end());
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = dir_ + "/apiserver.log";
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawn(&pid_, raw[0], &actions, nullptr, raw.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(kubeconfig())) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }

  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }

 private:
  std::string dir_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

}  // namespace brfed::testing

#endif  // BRFED_TESTS_KUBE_APISERVER_PROCESS_H_
