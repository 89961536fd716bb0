// The object commands of brfed: `backup`, `restore` and `schedule` create, list, describe,
// watch, delete (and pause/resume for schedules), against the control plane.
//
// Each function returns the process exit code and prints errors with their next step.
// Thread-safety: main thread only.
#ifndef BRFED_CLI_FEDERATION_COMMANDS_H_
#define BRFED_CLI_FEDERATION_COMMANDS_H_

#include <chrono>
#include <string>
#include <vector>

#include "cli/command_context.h"
#include "cli/object_builders.h"

namespace brfed::cli {

struct WaitOptions {
  bool wait = false;
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

struct BackupCreateArgs {
  std::string name;
  std::vector<std::string> clusters;  // raw --cluster values
  std::vector<std::string> labels;    // raw --label values
  BackupTemplateOptions tmpl;
  WaitOptions wait;
};
int BackupCreate(CommandContext& ctx, const BackupCreateArgs& args);
int BackupList(CommandContext& ctx);
int BackupDescribe(CommandContext& ctx, const std::string& name);
int BackupWatch(CommandContext& ctx, const std::string& name, std::chrono::milliseconds timeout);
int BackupDelete(CommandContext& ctx, const std::string& name, const WaitOptions& wait);

struct RestoreCreateArgs {
  std::string name;
  std::string from_backup;
  std::vector<std::string> clusters;
  std::string warmup;
  std::string warmup_image;
  std::string warmup_strategy;
  std::vector<std::string> br_options;
  bool inline_locations = false;
  WaitOptions wait;
};
int RestoreCreate(CommandContext& ctx, const RestoreCreateArgs& args);
int RestoreList(CommandContext& ctx);
int RestoreDescribe(CommandContext& ctx, const std::string& name);
int RestoreWatch(CommandContext& ctx, const std::string& name, std::chrono::milliseconds timeout);
int RestoreDelete(CommandContext& ctx, const std::string& name, const WaitOptions& wait);

struct ScheduleCreateArgs {
  std::string name;
  std::string schedule;
  std::vector<std::string> clusters;
  BackupTemplateOptions tmpl;
  int max_backups = 0;
  std::string max_reserved_time;
  std::string group;
  bool paused = false;
};
int ScheduleCreate(CommandContext& ctx, const ScheduleCreateArgs& args);
int ScheduleList(CommandContext& ctx);
int ScheduleDescribe(CommandContext& ctx, const std::string& name);
int ScheduleSetPaused(CommandContext& ctx, const std::string& name, bool paused);
int ScheduleDelete(CommandContext& ctx, const std::string& name);

// Whether the control plane's VolumeRestore CRD keeps spec.volumeBackupName (older CRDs prune
// it); true when the CRD cannot be read.
bool ServesVolumeBackupName(kube::Client& client);

// Used by `demo`: creates `object` of `kind` and follows it to the end with progress.
// Returns the final object; kInternal-free errors carry their own message.
Result<Json> CreateAndFollow(CommandContext& ctx, const std::string& kind, const Json& object,
                             std::chrono::milliseconds timeout);

}  // namespace brfed::cli

#endif  // BRFED_CLI_FEDERATION_COMMANDS_H_
