// Following one VolumeBackup or VolumeRestore until it ends, rendering progress as it goes
// (redrawn in place on a terminal, one line per change otherwise). It re-reads the object a
// few times a second: simple, robust against dropped watch streams, and cheap for one object.
//
// Thread-safety: runs on the calling thread.
#ifndef BRFED_CLI_WATCH_H_
#define BRFED_CLI_WATCH_H_

#include <chrono>
#include <functional>
#include <string>

#include "cli/command_context.h"
#include "cli/progress.h"
#include "kube/resource.h"

namespace brfed::cli {

struct WatchTarget {
  const kube::Resource* resource;
  std::string kind;  // "VolumeBackup"
  std::string ns;
  std::string name;
  std::string describe_command;  // "brfed backup describe NAME", for the timeout hint
  std::function<Progress(const Json&)> extract;
  // Give up when no controller has written any status by then (nobody is handling the kind).
  std::chrono::milliseconds pickup_timeout{std::chrono::seconds(30)};
};

// Follows `target` until its phase is terminal, `timeout` passes (kTimeout) or it disappears
// (kNotFound). Returns the last object seen. `render` = false prints nothing.
Result<Json> FollowUntilDone(CommandContext& ctx, kube::Client& client, const WatchTarget& target,
                             std::chrono::milliseconds timeout, bool render);

}  // namespace brfed::cli

#endif  // BRFED_CLI_WATCH_H_
