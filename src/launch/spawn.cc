#include "launch/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace brfed::launch {
namespace {

// NUL-terminated string storage and the pointer array execve wants, built before fork.
struct CStrings {
  std::vector<std::string> storage;
  std::vector<char*> pointers;
  char* const* Terminated() {
    pointers.clear();
    for (std::string& s : storage) pointers.push_back(s.data());
    pointers.push_back(nullptr);
    return pointers.data();
  }
};

CStrings Environment(const SpawnOptions& o) {
  CStrings env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    bool dropped = std::find(o.unset.begin(), o.unset.end(), key) != o.unset.end();
    for (const auto& [k, v] : o.env) dropped = dropped || k == key;
    if (!dropped) env.storage.push_back(entry);
  }
  for (const auto& [k, v] : o.env) env.storage.push_back(k + "=" + v);
  return env;
}

// Opens where one stream goes; -1 with errno set on failure.
int OpenStream(const std::string& path, bool append) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  return open(path.empty() ? "/dev/null" : path.c_str(), flags, 0644);
}

// The descriptors the child's stdout and stderr get; those we opened are closed by Close.
struct Streams {
  int out = -1, err = -1;
  bool own_out = false, own_err = false;
  void Close() {
    if (own_out && out >= 0) close(out);
    if (own_err && err >= 0 && err != out) close(err);
  }
};

Result<Streams> OpenStreams(const SpawnOptions& o) {
  Streams s;
  s.out = o.stdout_fd;
  if (s.out < 0) {
    s.out = OpenStream(o.stdout_path, o.append);
    s.own_out = true;
    if (s.out < 0) {
      return InvalidArgument("cannot open " + o.stdout_path + ": " + std::strerror(errno));
    }
  }
  s.err = o.stderr_fd;
  if (s.err < 0 && o.stdout_fd < 0 && o.stderr_path == o.stdout_path) {
    s.err = s.out;
  } else if (s.err < 0) {
    s.err = OpenStream(o.stderr_path, o.append);
    s.own_err = true;
    if (s.err < 0) {
      const std::string why = std::strerror(errno);
      s.Close();
      return InvalidArgument("cannot open " + o.stderr_path + ": " + why);
    }
  }
  return s;
}

// In the child: only async-signal-safe calls. Reports exec's errno through `report`.
[[noreturn]] void ExecChild(const SpawnOptions& o, const Streams& s, char* const* argv,
                            char* const* envp, int report) {
  if (o.new_session) setsid();
  const int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  dup2(s.out, STDOUT_FILENO);
  dup2(s.err, STDERR_FILENO);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  execve(o.binary.c_str(), argv, envp);
  const int err = errno;
  [[maybe_unused]] ssize_t n = write(report, &err, sizeof err);
  _exit(127);
}

}  // namespace

Result<pid_t> Spawn(const SpawnOptions& options) {
  CStrings argv;
  argv.storage.push_back(options.binary);
  argv.storage.insert(argv.storage.end(), options.args.begin(), options.args.end());
  CStrings envp = Environment(options);
  BRFED_ASSIGN_OR_RETURN(Streams streams, OpenStreams(options));
  // The child reports a failed exec through this pipe; a successful exec closes it.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    streams.Close();
    return InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  char* const* argv_ptrs = argv.Terminated();
  char* const* envp_ptrs = envp.Terminated();
  const pid_t pid = fork();
  if (pid == 0) ExecChild(options, streams, argv_ptrs, envp_ptrs, report[1]);
  const int fork_errno = errno;
  streams.Close();
  close(report[1]);
  if (pid < 0) {
    close(report[0]);
    return InternalError(std::string("fork: ") + std::strerror(fork_errno));
  }
  int child_errno = 0;
  ssize_t n = 0;
  do {
    n = read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    waitpid(pid, nullptr, 0);
    return InvalidArgument("cannot run " + options.binary + ": " + std::strerror(child_errno));
  }
  return pid;
}

}  // namespace brfed::launch
