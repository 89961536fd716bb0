// Temporary stubs so that callers link while the implementation lands.
#include "kube/client.h"
#include "kube/kubeconfig.h"

namespace brfed::kube {
namespace {
Status NotImplemented() { return Status(Code::kInternal, "not implemented"); }
}  // namespace
Result<Kubeconfig> Kubeconfig::LoadFile(const std::string&) { return NotImplemented(); }
Result<Kubeconfig> Kubeconfig::LoadFiles(const std::vector<std::string>&) {
  return NotImplemented();
}
Result<Kubeconfig> Kubeconfig::LoadFromEnvOrDefault() { return NotImplemented(); }
Result<Kubeconfig> Kubeconfig::Parse(std::string_view, std::string_view, std::string_view) {
  return NotImplemented();
}
std::vector<std::string> Kubeconfig::ContextNames() const { return {}; }
Result<RestConfig> Kubeconfig::ForContext(std::string_view) const { return NotImplemented(); }
Result<RestConfig> InClusterConfig() { return NotImplemented(); }
Result<RestConfig> ResolveRestConfig(const std::string&, const std::string&) {
  return NotImplemented();
}
Result<std::shared_ptr<Client>> NewClient(const RestConfig&, ClientMetrics*) {
  return NotImplemented();
}
void GlobalInit() {}
}  // namespace brfed::kube
