#include "runtime/informer_factory.h"

namespace brfed::runtime {

SharedInformerFactory::SharedInformerFactory(std::shared_ptr<kube::Client> client,
                                             InformerOptions defaults, Clock* clock)
    : client_(std::move(client)), defaults_(std::move(defaults)), clock_(clock) {}

SharedInformerFactory::~SharedInformerFactory() { Stop(); }

std::shared_ptr<Informer> SharedInformerFactory::For(const kube::Resource& resource,
                                                     std::string label_selector) {
  std::lock_guard<std::mutex> lock(mu_);
  Key key{resource.group, resource.plural, label_selector};
  auto it = informers_.find(key);
  if (it != informers_.end()) return it->second;
  InformerOptions options = defaults_;
  options.label_selector = std::move(label_selector);
  auto informer = std::make_shared<Informer>(client_, resource, std::move(options), clock_);
  informers_.emplace(std::move(key), informer);
  return informer;
}

void SharedInformerFactory::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, informer] : informers_) informer->Start();  // idempotent per informer
}

Status SharedInformerFactory::WaitForSync(const std::vector<Informer*>& informers,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (Informer* informer : informers) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!informer->WaitForSync(std::max(left, std::chrono::milliseconds(0)))) {
      return UnavailableError(informer->resource().plural + " cache did not sync within " +
                              std::to_string(timeout.count() / 1000) + "s");
    }
  }
  return Status::Ok();
}

void SharedInformerFactory::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, informer] : informers_) informer->Stop();
}

size_t SharedInformerFactory::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return informers_.size();
}

}  // namespace brfed::runtime
