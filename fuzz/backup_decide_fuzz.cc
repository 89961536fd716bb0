// Fuzzes VolumeBackup validation and DecideVolumeBackup (api/volume_backup.h,
// federation/backup_decide.h) with arbitrary objects. Input: one JSON object
//   {"volumeBackup": {...}, "members": {"<cluster>": {...} | null}, "unreachable": ["<cluster>"],
//    "known": ["<cluster>"], "now": <unix seconds>}
#include <cstdint>
#include <memory>

#include "api/volume_backup.h"
#include "federation/backup_decide.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace brfed;
  auto input = fuzz::ParseObject(data, size);
  if (!input) return 0;
  federation::BackupObservation o;
  o.volume_backup = std::make_shared<const Json>(fuzz::ObjectAt(*input, "volumeBackup"));
  o.known_clusters = fuzz::StringsAt(*input, "known");
  o.now = fuzz::NowAt(*input);
  std::vector<std::string> unreachable = fuzz::StringsAt(*input, "unreachable");
  const Json members = fuzz::ObjectAt(*input, "members");
  for (const auto& [cluster, member] : members.items()) {
    federation::BackupClusterView view;
    view.reachable =
        std::find(unreachable.begin(), unreachable.end(), cluster) == unreachable.end();
    if (!view.reachable) view.problem = "unreachable";
    if (member.is_object()) view.member = std::make_shared<const Json>(member);
    if (member.is_string()) view.permanent_error = member.get<std::string>();
    o.clusters.emplace(cluster, std::move(view));
  }
  (void)api::ValidateVolumeBackup(*o.volume_backup, o.known_clusters);
  (void)federation::DecideVolumeBackup(o);
  return 0;
}
