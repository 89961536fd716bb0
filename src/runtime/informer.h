// Informer: keeps a Cache in sync with one resource (optionally one namespace and a label
// selector) of one cluster by driving a WatchMachine with a Client on its own thread, and
// calls handlers for every add, update and delete (including the differences a relist finds).
// WaitForSync is the barrier: true once the first list is in the cache.
//
// Handlers run on the informer thread, in order; they must be quick (enqueue a key) and must
// not call Stop().
//
// Thread-safety: all public methods are safe for concurrent use; AddHandlers only before
// Start. Ownership: shares the Client; the Clock and ClientMetrics (optional) must outlive the
// informer. Stop() (also run by the destructor) cancels the watch and joins the thread.
#ifndef BRFED_RUNTIME_INFORMER_H_
#define BRFED_RUNTIME_INFORMER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "kube/client.h"
#include "kube/client_metrics.h"
#include "kube/resource.h"
#include "runtime/backoff.h"
#include "runtime/cache.h"
#include "runtime/watcher.h"

namespace brfed::runtime {

struct InformerHandlers {
  std::function<void(const Json& obj)> on_add;
  std::function<void(const Json& old_obj, const Json& new_obj)> on_update;
  std::function<void(const Json& obj)> on_delete;
  // A deletion only a relist found: the watch never showed it (client-go passes such objects
  // as DeletedFinalStateUnknown), e.g. the server was restarted without its data. Called
  // instead of on_delete when set, with the last state the cache held.
  std::function<void(const Json& last_known)> on_delete_unseen;
};

struct InformerOptions {
  std::string ns;  // "" = all namespaces
  std::string label_selector;
  long page_size = 500;
  BackoffOptions backoff;
  // Watches are re-established at a random point in [min, 2*min) seconds, as client-go does.
  int watch_timeout_min_seconds = 300;
  kube::ClientMetrics* metrics = nullptr;
  // The cache keeps objects without metadata.managedFields: kube-apiserver's field ownership
  // is kilobytes per object that no handler reads. Off for a cache whose readers need them.
  bool strip_managed_fields = true;
};

class Informer {
 public:
  Informer(std::shared_ptr<kube::Client> client, kube::Resource resource,
           InformerOptions options = {}, Clock* clock = RealClock::Get());
  // Convenience for the common case.
  Informer(std::shared_ptr<kube::Client> client, kube::Resource resource, std::string ns,
           std::string label_selector = "", Clock* clock = RealClock::Get());
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void AddHandlers(InformerHandlers handlers);  // before Start
  void Start();
  void Stop();  // idempotent; joins

  // True once the first list is in (false on timeout or after Stop without a list).
  bool WaitForSync(std::chrono::milliseconds timeout);
  bool HasSynced() const;

  // Relists at once, from any state (a watch in progress is abandoned): the caller learned
  // that the cache is stale, e.g. a write was answered NotFound for an object the cache holds
  // (a server restarted without its data can accept the watch that follows our list and stay
  // silent). Safe from any thread, handlers included; `why` is logged.
  void Relist(std::string why);

  const Cache& cache() const { return cache_; }
  const kube::Resource& resource() const { return resource_; }
  // The namespace it watches ("" = all namespaces).
  const std::string& ns() const { return options_.ns; }

 private:
  void Run();
  // Before a resume: whether the server still knows `resource_version` (WatchMachine).
  Status CheckVersion(const std::string& resource_version);
  Status StartWatch(const std::string& resource_version, std::mt19937& rng,
                    std::shared_ptr<kube::WatchStream>& watch);
  void Apply(const WatchMachine::Output& out);
  // A pending Relist() as the machine's outputs (none when there is none).
  std::vector<WatchMachine::Output> TakeRelistRequest(WatchMachine& machine);
  // from_relist: the change is a difference a list found, not a watch event.
  void Emit(const Cache::Change& change, bool from_relist);
  Result<Json> ListAll();

  std::shared_ptr<kube::Client> client_;
  kube::Resource resource_;
  InformerOptions options_;
  Clock* clock_;
  Cache cache_;
  std::vector<InformerHandlers> handlers_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool synced_ = false;
  bool stopping_ = false;
  std::shared_ptr<kube::WatchStream> active_watch_;  // guarded by mu_, for Stop()
  std::string relist_why_;                           // guarded by mu_: a Relist() pending
  std::thread thread_;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_INFORMER_H_
