// Kubernetes clients and condition lookups shared by the integration suites that talk to the
// API servers through src/kube (library brfed_test_kube; the process harness itself stays free
// of the client).
//
// Thread-safety: free functions; the returned client is thread-safe.
#ifndef BRFED_TESTS_HARNESS_KUBE_CLIENTS_H_
#define BRFED_TESTS_HARNESS_KUBE_CLIENTS_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/status.h"
#include "kube/client.h"

namespace brfed::testing {

// A client for the current context of the kubeconfig file at `kubeconfig`.
Result<std::shared_ptr<kube::Client>> KubeClientFor(const std::string& kubeconfig);

// The entry of `type` in obj.status.conditions when its status is "True", else nullptr.
const Json* TrueCondition(const Json& obj, std::string_view type);

}  // namespace brfed::testing

#endif  // BRFED_TESTS_HARNESS_KUBE_CLIENTS_H_
