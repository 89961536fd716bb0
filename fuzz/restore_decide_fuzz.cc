// Fuzzes VolumeRestore parsing and DecideRestore (api/volume_restore.h,
// federation/restore_decide.h) with arbitrary objects. Input: one JSON object
//   {"volumeRestore": {...}, "members": {"<cluster>": {...}}, "volumeBackup": {...} (optional),
//    "known": [...], "observable": [...], "now": <unix seconds>}
#include <cstdint>

#include "api/volume_restore.h"
#include "federation/restore_decide.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace brfed;
  auto input = fuzz::ParseObject(data, size);
  if (!input) return 0;
  const Json restore = fuzz::ObjectAt(*input, "volumeRestore");
  const Json backup = fuzz::ObjectAt(*input, "volumeBackup");
  federation::RestoreDecideInput in;
  in.volume_restore = &restore;
  if (input->contains("volumeBackup")) in.volume_backup = &backup;
  for (const std::string& c : fuzz::StringsAt(*input, "known")) in.known_clusters.insert(c);
  for (const std::string& c : fuzz::StringsAt(*input, "observable")) {
    in.observable_clusters.insert(c);
  }
  in.now = fuzz::NowAt(*input);
  const Json members = fuzz::ObjectAt(*input, "members");
  for (const auto& [cluster, member] : members.items()) {
    auto view = api::ParseRestoreMember(member, cluster);
    if (view.ok()) in.members.push_back(std::move(view).value());
  }
  (void)api::ParseVolumeRestore(restore);
  for (const std::string& c : in.known_clusters) {
    (void)api::RestoreStorageFromVolumeBackup(backup, c);
  }
  (void)federation::DecideRestore(in);
  return 0;
}
