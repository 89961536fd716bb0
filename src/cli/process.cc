#include "cli/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/files.h"
#include "launch/spawn.h"

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
  launch::SpawnOptions options;
  options.binary = binary;
  options.args = args;
  options.stdout_path = options.stderr_path = log_path;
  options.append = true;
  options.new_session = true;
  return launch::Spawn(options);
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
