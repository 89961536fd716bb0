// What the Go br-federation-manager leaves behind, for the hand-over tests: a VolumeBackup as a
// user writes it (with the finalizer Go adds first), its member Backups exactly as Go's
// buildBackupMember makes them (`fed-<name>`, the VolumeBackup's labels and annotations, none
// of our marks), and the status Go writes. Clusters use TidbCluster `basic`.
//
// Thread-safety: pure functions.
#ifndef BRFED_TESTS_DROPIN_GO_ERA_H_
#define BRFED_TESTS_DROPIN_GO_ERA_H_

#include <string>
#include <utility>
#include <vector>

#include "core/json.h"

namespace brfed::testing {

// VolumeBackup `ns/name` over `clusters` (TidbCluster basic in `tc_ns`), S3 prefix `name`.
Json GoEraVolumeBackup(const std::string& name, const std::string& ns,
                       const std::vector<std::string>& clusters, const std::string& tc_ns);

// The member of `vb` in `cluster` at federal phase `phase` ("initialize", "execute", ...).
Json GoBackupMember(const Json& vb, const std::string& cluster, const std::string& phase);

// Go's status at `phase` ("Running" or "SnapshotsCreated"), one status.backups entry per
// (cluster, member phase).
Json GoBackupStatus(const Json& vb, const std::string& phase,
                    const std::vector<std::pair<std::string, std::string>>& member_phases);

}  // namespace brfed::testing

#endif  // BRFED_TESTS_DROPIN_GO_ERA_H_
