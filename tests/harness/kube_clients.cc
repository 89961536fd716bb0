#include "tests/harness/kube_clients.h"

#include <nlohmann/json.hpp>

#include "api/conditions.h"
#include "kube/kubeconfig.h"

namespace brfed::testing {

Result<std::shared_ptr<kube::Client>> KubeClientFor(const std::string& kubeconfig) {
  BRFED_ASSIGN_OR_RETURN(kube::Kubeconfig config, kube::Kubeconfig::LoadFile(kubeconfig));
  BRFED_ASSIGN_OR_RETURN(kube::RestConfig rest, config.ForContext(""));
  return kube::NewClient(rest);
}

const Json* TrueCondition(const Json& obj, std::string_view type) {
  const Json* condition = api::FindCondition(api::StatusOf(obj), type);
  return condition != nullptr && JsonStringAt(*condition, {"status"}) == "True" ? condition
                                                                                : nullptr;
}

}  // namespace brfed::testing
