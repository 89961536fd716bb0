// Fuzzes DecideSchedule (federation/schedule_decide.h) and the VolumeBackup validation of the
// backups a schedule would create, with arbitrary objects. Input: one JSON object
//   {"schedule": {...}, "backups": [{...}], "peers": [{"schedule": {...}, "backups": [...]}],
//    "orphans": [{...}], "claimHolder": "...", "deletesInFlight": [...], "known": [...],
//    "now": <unix seconds>}
#include <cstdint>
#include <list>

#include "api/volume_backup.h"
#include "federation/schedule_decide.h"
#include "fuzz/fuzz_input.h"

namespace {

using brfed::Json;
using brfed::federation::ScheduleObservation;

// Builds an observation whose pointers refer into `keep` (a list: its elements never move).
ScheduleObservation Observe(const Json& schedule, const Json& backups,
                            const std::vector<std::string>& known, std::list<Json>& keep) {
  ScheduleObservation o;
  o.schedule = &keep.emplace_back(schedule);
  for (const Json& b : backups) {
    if (b.is_object()) o.backups.push_back(&keep.emplace_back(b));
  }
  Json built = brfed::federation::BuildScheduledVolumeBackup(schedule, brfed::Time());
  auto issues = brfed::api::ValidateVolumeBackup(built, known);
  if (!issues.empty()) o.template_validation = brfed::InvalidArgument(issues.front().message);
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace brfed;
  auto input = fuzz::ParseObject(data, size);
  if (!input) return 0;
  std::list<Json> keep;
  std::vector<std::string> known = fuzz::StringsAt(*input, "known");
  federation::ScheduleDecideInput in;
  in.self =
      Observe(fuzz::ObjectAt(*input, "schedule"), fuzz::ArrayAt(*input, "backups"), known, keep);
  for (const Json& peer : fuzz::ArrayAt(*input, "peers")) {
    if (!peer.is_object()) continue;
    in.group_peers.push_back(
        Observe(fuzz::ObjectAt(peer, "schedule"), fuzz::ArrayAt(peer, "backups"), known, keep));
  }
  for (const Json& b : fuzz::ArrayAt(*input, "orphans")) {
    if (b.is_object()) in.orphan_group_backups.push_back(&keep.emplace_back(b));
  }
  auto holder = input->find("claimHolder");
  if (holder != input->end() && holder->is_string()) in.claim_holder = holder->get<std::string>();
  in.deletes_in_flight = fuzz::StringsAt(*input, "deletesInFlight");
  in.now = fuzz::NowAt(*input);
  (void)federation::DecideSchedule(in);
  return 0;
}
