// Federation objects the integration suites and fed_bench create, built one way: a VolumeBackup
// over some data planes with the template every run uses (no credentials sent to TiKV, S3 bucket
// "bk", the object's name as prefix) and the simulator's TidbCluster tidb/basic in each.
//
// Thread-safety: pure functions.
#ifndef BRFED_TESTS_HARNESS_OBJECTS_H_
#define BRFED_TESTS_HARNESS_OBJECTS_H_

#include <string>
#include <vector>

#include "core/json.h"

namespace brfed::testing {

// The TidbCluster tidb-operator-sim creates in each data plane, which these objects name; the
// members go to its namespace.
inline constexpr char kSimTcNamespace[] = "tidb";
inline constexpr char kSimTcName[] = "basic";

// The spec of such a VolumeBackup over `clusters` (k8sClusterName each).
Json VolumeBackupSpec(const std::string& prefix, const std::vector<std::string>& clusters);

// A whole VolumeBackup `ns`/`name` with VolumeBackupSpec(name, clusters).
Json VolumeBackupObject(const std::string& ns, const std::string& name,
                        const std::vector<std::string>& clusters);

}  // namespace brfed::testing

#endif  // BRFED_TESTS_HARNESS_OBJECTS_H_
