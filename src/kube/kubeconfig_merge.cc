#include "kube/kubeconfig_merge.h"

#include <nlohmann/json.hpp>

namespace brfed::kube {

Result<Json> MergeKubeconfigs(const std::vector<std::string>& kubeconfigs) {
  Json merged = {{"apiVersion", "v1"},
                 {"kind", "Config"},
                 {"clusters", Json::array()},
                 {"contexts", Json::array()},
                 {"users", Json::array()}};
  for (const std::string& text : kubeconfigs) {
    BRFED_ASSIGN_OR_RETURN(Json kc, ParseYaml(text));
    for (const char* section : {"clusters", "contexts", "users"}) {
      if (const Json* items = JsonAt(kc, {section}); items && items->is_array()) {
        for (const Json& item : *items) merged[section].push_back(item);
      }
    }
    if (!merged.contains("current-context") && kc.contains("current-context")) {
      merged["current-context"] = kc["current-context"];
    }
  }
  return merged;
}

}  // namespace brfed::kube
