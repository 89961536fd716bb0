// Manager: br-federation-manager's process wiring. It builds the control-plane client, the
// metrics registry with /metrics /healthz /readyz, the event recorder and the ClusterHandles;
// then (after winning the Lease `br-federation-manager` in --namespace when --leader-elect)
// it builds the registered controllers, loads the data planes and starts everything. A
// standby does nothing but campaign. Losing the Lease stops all work and makes Run return
// an error, so the process exits and restarts as a fresh candidate (as upstream does).
//
// /readyz answers 200 only while this process is the working leader (or leader election is
// off and the controllers run).
//
// Thread-safety: Run blocks in main's thread; Stop is safe from any thread (a signal thread).
#ifndef BRFED_MANAGER_MANAGER_H_
#define BRFED_MANAGER_MANAGER_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "core/status.h"
#include "manager/cluster_handles.h"
#include "manager/controllers.h"
#include "manager/flags.h"

namespace brfed::runtime {
class EventRecorder;
class HttpEndpoints;
class LeaderElector;
class MetricsRegistry;
class ProcessMetrics;
class SharedInformerFactory;
class StatusWriter;
}  // namespace brfed::runtime

namespace brfed::manager {

class Manager {
 public:
  Manager(ManagerFlags flags, std::vector<ControllerFactory> controllers);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Until Stop (Ok) or a fatal error: unusable configuration, a federation kubeconfig that
  // cannot be loaded, the metrics address in use, or leadership lost.
  Status Run();
  void Stop();

 private:
  Status Init();
  // Builds and starts the data planes and the controllers; for the leader.
  Status StartWork();
  void StopWork();
  void Fail(Status status);

  ManagerFlags flags_;
  std::vector<ControllerFactory> factories_;
  std::unique_ptr<runtime::MetricsRegistry> metrics_;
  std::unique_ptr<runtime::ProcessMetrics> process_metrics_;  // before metrics_ goes
  std::unique_ptr<kube::ClientMetrics> client_metrics_;
  std::shared_ptr<kube::Client> control_plane_;
  // Status writes only, with their own token bucket (Events have theirs in the recorder).
  std::shared_ptr<kube::Client> status_client_;
  std::unique_ptr<runtime::HttpEndpoints> endpoints_;
  std::unique_ptr<runtime::EventRecorder> events_;
  std::unique_ptr<runtime::LeaderElector> elector_;

  std::mutex work_mu_;  // serialises StartWork/StopWork
  std::unique_ptr<ClusterHandles> clusters_;
  // One informer per control-plane resource and one status writer, shared by the controllers.
  std::unique_ptr<runtime::SharedInformerFactory> informers_;
  std::unique_ptr<runtime::StatusWriter> status_writer_;
  std::vector<std::unique_ptr<federation::FederationController>> controllers_;
  std::atomic<bool> working_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_requested_ = false;
  Status fatal_;
};

}  // namespace brfed::manager

#endif  // BRFED_MANAGER_MANAGER_H_
