#include "tests/dropin/go_era.h"

#include <nlohmann/json.hpp>

namespace brfed::testing {

Json GoEraVolumeBackup(const std::string& name, const std::string& ns,
                       const std::vector<std::string>& clusters, const std::string& tc_ns) {
  Json vb = {{"apiVersion", "federation.pingcap.com/v1alpha1"},
             {"kind", "VolumeBackup"},
             {"metadata",
              {{"name", name},
               {"namespace", ns},
               {"labels", {{"team", "db"}, {"tidb.pingcap.com/backup-schedule", "nightly"}}},
               {"annotations", {{"example.com/iam-role", "backup"}}},
               {"finalizers", {"tidb.pingcap.com/backup-protection"}}}},
             {"spec",
              {{"clusters", Json::array()},
               {"template",
                {{"br", {{"sendCredToTikv", false}}},
                 {"cleanPolicy", "Delete"},
                 {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", name}}}}}}}};
  for (const auto& c : clusters) {
    vb["spec"]["clusters"].push_back(
        {{"k8sClusterName", c}, {"tcName", "basic"}, {"tcNamespace", tc_ns}});
  }
  return vb;
}

Json GoBackupMember(const Json& vb, const std::string& cluster, const std::string& phase) {
  const std::string name = JsonStringAt(vb, {"metadata", "name"});
  std::string tc_ns;
  for (const Json& c : vb["spec"]["clusters"]) {
    if (JsonStringAt(c, {"k8sClusterName"}) == cluster) tc_ns = JsonStringAt(c, {"tcNamespace"});
  }
  Json spec = {
      {"backupMode", "volume-snapshot"},
      {"backupType", "full"},
      {"federalVolumeBackupPhase", phase},
      {"cleanPolicy", "Delete"},
      {"br", {{"cluster", "basic"}, {"clusterNamespace", tc_ns}, {"sendCredToTikv", false}}},
      {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", name + "-" + cluster}}},
      {"cleanOption", {{"snapshotsDeleteRatio", 1.0}}}};
  if (phase == "initialize") spec["volumeBackupInitJobMaxActiveSeconds"] = 600;
  return {{"apiVersion", "pingcap.com/v1alpha1"},
          {"kind", "Backup"},
          {"metadata",
           {{"name", "fed-" + name},
            {"namespace", tc_ns},
            {"labels", vb["metadata"]["labels"]},
            {"annotations", vb["metadata"]["annotations"]}}},
          {"spec", spec}};
}

Json GoBackupStatus(const Json& vb, const std::string& phase,
                    const std::vector<std::pair<std::string, std::string>>& member_phases) {
  Json status = {
      {"phase", phase},
      {"timeStarted", "2026-01-01T00:00:00Z"},
      {"conditions",
       {{{"type", "Running"}, {"status", "True"}, {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}},
      {"backups", Json::array()}};
  if (phase == "SnapshotsCreated") {
    status["conditions"].push_back({{"type", "SnapshotsCreated"},
                                    {"status", "True"},
                                    {"lastTransitionTime", "2026-01-01T00:00:01Z"}});
  }
  const std::string member = "fed-" + JsonStringAt(vb, {"metadata", "name"});
  for (const auto& [cluster, member_phase] : member_phases) {
    std::string tc_ns;
    for (const Json& c : vb["spec"]["clusters"]) {
      if (JsonStringAt(c, {"k8sClusterName"}) == cluster) tc_ns = JsonStringAt(c, {"tcNamespace"});
    }
    status["backups"].push_back({{"k8sClusterName", cluster},
                                 {"tcName", "basic"},
                                 {"tcNamespace", tc_ns},
                                 {"backupName", member},
                                 {"phase", member_phase}});
  }
  return status;
}

}  // namespace brfed::testing
