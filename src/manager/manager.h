// Manager: br-federation-manager's process wiring. It builds the control-plane client, the
// metrics registry with /metrics /healthz /readyz, the event recorder and the ClusterHandles;
// then (after winning the Lease `br-federation-manager` in --namespace when --leader-elect)
// it builds the registered controllers, loads the data planes and starts everything. A
// standby does nothing but campaign. Losing the Lease stops all work and makes Run return
// an error, so the process exits and restarts as a fresh candidate (as upstream does).
//
// Readiness is independent of leadership, as in controller-runtime: /readyz answers 200 in a
// standby that is campaigning and in the leader (or the process without leader election) once
// its controllers run; it answers 503 before that (while the new leader starts its controllers)
// and once the process is stopping. /healthz answers 200 while the process runs. Which process
// leads is the gauge leader_election_master_status{name="<lease>"} (client-go's name): 1 in the
// working leader, 0 elsewhere.
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
#include "kube/rate_limiter.h"
#include "manager/cluster_handles.h"
#include "manager/controllers.h"
#include "manager/flags.h"

namespace brfed::runtime {
class EventRecorder;
class Gauge;
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
  // What /readyz answers (see the header comment).
  bool Ready() const;

  ManagerFlags flags_;
  std::vector<ControllerFactory> factories_;
  std::unique_ptr<runtime::MetricsRegistry> metrics_;
  std::unique_ptr<runtime::ProcessMetrics> process_metrics_;  // before metrics_ goes
  std::unique_ptr<kube::ClientMetrics> client_metrics_;
  std::shared_ptr<kube::Client> control_plane_;
  std::shared_ptr<kube::RateLimiter> control_plane_limiter_;  // control_plane_'s bucket
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
  // A standby campaigning for the Lease (ready, not leading).
  std::atomic<bool> campaigning_{false};
  runtime::Gauge* leader_status_ = nullptr;  // leader_election_master_status{name}

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_requested_ = false;
  Status fatal_;
};

}  // namespace brfed::manager

#endif  // BRFED_MANAGER_MANAGER_H_
