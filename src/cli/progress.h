// Progress of a VolumeBackup or VolumeRestore as `brfed ... watch` shows it, extracted from the
// object's status, and the renderer that turns successive states into terminal output: either
// a frame redrawn in place (terminal) or one plain line per change (pipe, log file).
//
// Thread-safety: Progress is a value; a WatchRenderer belongs to one thread.
#ifndef BRFED_CLI_PROGRESS_H_
#define BRFED_CLI_PROGRESS_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/style.h"
#include "core/json.h"

namespace brfed::cli {

struct MemberProgress {
  std::string cluster;  // k8sClusterName
  std::string phase;
  std::string detail;  // size / commitTs / failure reason, whatever is known
  bool operator==(const MemberProgress&) const = default;
};

struct Progress {
  std::string kind;  // "backup" | "restore"
  std::string name;
  std::string phase;    // "" before the manager first writes status
  std::string message;  // failure reason when failed
  std::vector<MemberProgress> members;
  bool finished = false;   // Complete, Failed, Invalid (or Cleaned)
  bool succeeded = false;  // Complete
  bool operator==(const Progress&) const = default;
};

// Phases after which nothing more happens to the object.
bool IsTerminalPhase(std::string_view phase);

Progress BackupProgress(const Json& volume_backup);
Progress RestoreProgress(const Json& volume_restore);

class WatchRenderer {
 public:
  enum class Mode { kRedraw, kLines };
  WatchRenderer(Mode mode, Style style) : mode_(mode), style_(style) {}

  // What to write for `state`, seen `elapsed` after the watch began. kRedraw: a full frame
  // that first moves the cursor back over the previous frame. kLines: one line per change
  // since the previous state ("" when nothing changed).
  std::string Render(const Progress& state, std::chrono::nanoseconds elapsed);

 private:
  std::string Frame(const Progress& state, std::chrono::nanoseconds elapsed);
  std::string Lines(const Progress& state, std::chrono::nanoseconds elapsed) const;

  Mode mode_;
  Style style_;
  std::optional<Progress> last_;
  int lines_on_screen_ = 0;
};

// "1.5s", "42s", "3m05s".
std::string FormatElapsed(std::chrono::nanoseconds d);

}  // namespace brfed::cli

#endif  // BRFED_CLI_PROGRESS_H_
