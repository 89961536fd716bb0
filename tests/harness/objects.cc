#include "tests/harness/objects.h"

#include <nlohmann/json.hpp>

namespace brfed::testing {

Json VolumeBackupSpec(const std::string& prefix, const std::vector<std::string>& clusters) {
  Json spec = {{"clusters", Json::array()},
               {"template",
                {{"br", {{"sendCredToTikv", false}}},
                 {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", prefix}}}}}};
  for (const auto& c : clusters) {
    spec["clusters"].push_back(
        {{"k8sClusterName", c}, {"tcName", kSimTcName}, {"tcNamespace", kSimTcNamespace}});
  }
  return spec;
}

Json VolumeBackupObject(const std::string& ns, const std::string& name,
                        const std::vector<std::string>& clusters) {
  return {{"apiVersion", "federation.pingcap.com/v1alpha1"},
          {"kind", "VolumeBackup"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", VolumeBackupSpec(name, clusters)}};
}

}  // namespace brfed::testing
