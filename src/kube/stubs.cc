// Temporary stubs so that callers link while the implementation lands.
#include "kube/client.h"
#include "kube/kubeconfig.h"

namespace brfed::kube {
namespace {
Status NotImplemented() { return Status(Code::kInternal, "not implemented"); }
}  // namespace
Result<std::shared_ptr<Client>> NewClient(const RestConfig&, ClientMetrics*) {
  return NotImplemented();
}
void GlobalInit() {}
}  // namespace brfed::kube
