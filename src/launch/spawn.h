// Starting a child process: fork + exec of a binary (never a shell) with its arguments, an
// environment derived from ours, and its standard streams on files or descriptors. The one
// place the project forks: `brfed sandbox` (detached servers), the test harness (owned
// children) and the CLI end-to-end tests (captured pipes) all start processes through it.
//
// Thread-safety: Spawn is safe to call from any thread; between fork and exec the child makes
// only async-signal-safe calls, so it is safe in a multi-threaded parent. Ownership: the
// caller owns the returned pid (reaps it, or leaves it to outlive us when detached).
#ifndef BRFED_LAUNCH_SPAWN_H_
#define BRFED_LAUNCH_SPAWN_H_

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace brfed::launch {

struct SpawnOptions {
  std::string binary;  // a path; no PATH lookup
  std::vector<std::string> args;
  // Added to our environment, replacing a variable of the same name (an empty value stays set,
  // as a kubelet sets it); `unset` names variables of ours the child does not get.
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> unset;
  // Where stdout and stderr go: a file path ("" = /dev/null; the same path twice shares one
  // descriptor, so lines interleave in order), or, when >= 0, a descriptor of ours.
  std::string stdout_path;
  std::string stderr_path;
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool append = false;       // append to the files instead of truncating them
  bool new_session = false;  // setsid(): the child outlives our terminal and signals to us
};

// Starts the child with stdin on /dev/null and an empty signal mask. Fails (and reaps the
// child) when the binary cannot be executed, with the reason, rather than leaving a child that
// exits 127.
Result<pid_t> Spawn(const SpawnOptions& options);

}  // namespace brfed::launch

#endif  // BRFED_LAUNCH_SPAWN_H_
