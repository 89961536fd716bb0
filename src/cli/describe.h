// `brfed backup|restore|schedule describe`: the human report on one federation object, built
// from the object and its recent Events.
//
// Thread-safety: pure functions.
#ifndef BRFED_CLI_DESCRIBE_H_
#define BRFED_CLI_DESCRIBE_H_

#include <string>
#include <vector>

#include "cli/style.h"
#include "core/json.h"
#include "core/time.h"

namespace brfed::cli {

// Members per cluster (phase, size, commitTs, failure reason), the step timeline including
// the GC-pause window, conditions, and Events (oldest first).
std::string DescribeVolumeBackup(const Json& vb, const std::vector<Json>& events, Time now,
                                 const Style& style);
std::string DescribeVolumeRestore(const Json& vr, const std::vector<Json>& events, Time now,
                                  const Style& style);
std::string DescribeVolumeBackupSchedule(const Json& vbks, const std::vector<Json>& backups,
                                         const std::vector<Json>& events, Time now,
                                         const Style& style);

// The one-paragraph summary `backup create --wait` and `demo` print when a backup ends:
// outcome, members, size, commitTs, GC-pause window, time taken.
std::string SummarizeVolumeBackup(const Json& vb, const Style& style);
std::string SummarizeVolumeRestore(const Json& vr, const Style& style);

// The GC-pause step ("" when absent): the step whose name mentions GC, with its length and the
// manager's share of it (controlPlaneTimeTaken) when recorded.
std::string GcPauseWindow(const Json& obj);

}  // namespace brfed::cli

#endif  // BRFED_CLI_DESCRIBE_H_
