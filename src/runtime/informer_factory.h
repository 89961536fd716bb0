// SharedInformerFactory: one Informer per (resource, namespace, label selector) of one cluster,
// handed to every controller that asks (like client-go's SharedInformerFactory), so three
// controllers that read VolumeBackups share one list and one watch. Controllers ask for their
// informers and add their handlers (AddHandlers) while they are built; the first Start starts
// every informer asked for so far, later Starts start only the new ones.
//
// The label selector is part of the key, so an informer for "our members" and one for "members
// of another manager" are different informers.
//
// Thread-safety: all methods are safe for concurrent use; handlers must be added before the
// informer starts (Informer's rule). Ownership: owns its informers (shared with the callers);
// shares the Client; the Clock must outlive it. Stop (also run by the destructor) stops them.
#ifndef BRFED_RUNTIME_INFORMER_FACTORY_H_
#define BRFED_RUNTIME_INFORMER_FACTORY_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "kube/client.h"
#include "kube/resource.h"
#include "runtime/informer.h"

namespace brfed::runtime {

class SharedInformerFactory {
 public:
  // `defaults` (namespace, metrics, backoff ...) apply to every informer; For() overrides the
  // namespace and label selector per informer.
  SharedInformerFactory(std::shared_ptr<kube::Client> client, InformerOptions defaults = {},
                        Clock* clock = RealClock::Get());
  ~SharedInformerFactory();
  SharedInformerFactory(const SharedInformerFactory&) = delete;
  SharedInformerFactory& operator=(const SharedInformerFactory&) = delete;

  // The informer of `resource` in the default namespace with `label_selector`; the same object
  // for the same arguments.
  std::shared_ptr<Informer> For(const kube::Resource& resource, std::string label_selector = "");

  // Starts every informer not started yet.
  void Start();
  // True once every informer in `informers` has synced, false on timeout (the Unavailable
  // error names the first that did not).
  static Status WaitForSync(const std::vector<Informer*>& informers,
                            std::chrono::milliseconds timeout);
  void Stop();

  // How many informers exist (for tests: one per resource and selector).
  size_t size() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // group, plural, selector
  std::shared_ptr<kube::Client> client_;
  InformerOptions defaults_;
  Clock* clock_;
  mutable std::mutex mu_;
  std::map<Key, std::shared_ptr<Informer>> informers_;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_INFORMER_FACTORY_H_
