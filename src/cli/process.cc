#include "cli/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/files.h"

namespace brfed::cli {
namespace {

std::string ReadProcFile(pid_t pid, const char* name) {
  return ReadFile("/proc/" + std::to_string(pid) + "/" + name).value_or("");
}

bool IsZombieOrGone(pid_t pid) {
  const std::string stat = ReadProcFile(pid, "stat");
  if (stat.empty()) return true;
  // "pid (comm) S ...": the state follows the last ')'.
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z' ||
         stat[paren + 2] == 'X';
}

volatile sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) { g_interrupted = 1; }

// Reaps `pid` if it is our child; harmless otherwise.
void ReapIfChild(pid_t pid) { waitpid(pid, nullptr, WNOHANG); }

}  // namespace

Result<pid_t> SpawnDetached(const std::string& binary, const std::vector<std::string>& args,
                            const std::string& log_path) {
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return InvalidArgument("cannot open log file " + log_path + ": " + std::strerror(errno));
  }
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The child reports exec failure through this pipe (closed on successful exec).
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    close(log_fd);
    return InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return InternalError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setsid();
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    execv(binary.c_str(), argv.data());
    const int err = errno;
    [[maybe_unused]] ssize_t n = write(pipe_fds[1], &err, sizeof err);
    _exit(127);
  }
  close(log_fd);
  close(pipe_fds[1]);
  int child_errno = 0;
  const ssize_t n = read(pipe_fds[0], &child_errno, sizeof child_errno);
  close(pipe_fds[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    waitpid(pid, nullptr, 0);
    return InvalidArgument("cannot run " + binary + ": " + std::strerror(child_errno));
  }
  return pid;
}

bool CmdlineMatches(std::string_view cmdline, std::string_view binary) {
  const size_t end = cmdline.find('\0');
  return cmdline.substr(0, end) == binary;
}

bool IsRunning(pid_t pid, const std::string& binary) {
  if (pid <= 0) return false;
  ReapIfChild(pid);
  if (IsZombieOrGone(pid)) return false;
  return CmdlineMatches(ReadProcFile(pid, "cmdline"), binary);
}

bool Terminate(pid_t pid, const std::string& binary, std::chrono::milliseconds grace) {
  if (!IsRunning(pid, binary)) return false;
  kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    ReapIfChild(pid);
    if (IsZombieOrGone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (IsRunning(pid, binary)) kill(pid, SIGKILL);
  const auto kill_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < kill_deadline) {
    ReapIfChild(pid);
    if (IsZombieOrGone(pid)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void InstallInterruptHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool Interrupted() { return g_interrupted != 0; }

std::string SelfExecutable() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

}  // namespace brfed::cli
