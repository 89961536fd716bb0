// Simulator: the tidb-operator-sim process core. For every Kubernetes cluster it creates the
// TidbCluster of the topology if absent, watches Backup, Restore and TidbCluster objects with
// informers, and drives each member with the pure step functions (sim/steps.h) over one shared
// Model: level-triggered, one member write per step, timers as delayed re-queues. Writes are
// full-object Updates with the member's resourceVersion; a conflict re-reads and re-applies the
// same change (up to 5 attempts), as TiDB Operator's status updaters do. Every model effect and
// every persisted condition goes to the audit log. An optional admin HTTP server offers fault
// injection and a state dump.
//
// Thread-safety: Start/Stop from one thread. Internally: informer threads enqueue keys; one
// worker thread per cluster steps that cluster's members, a ticker thread advances PD time, and
// the admin server answers; all of them touch the model only under one model mutex, which no
// thread holds across an API call (a frozen data plane stalls only its own cluster's members).
// Ownership: owns clients, informers, the worker and the admin server; the Clock must outlive it.
#ifndef BRFED_SIM_SIMULATOR_H_
#define BRFED_SIM_SIMULATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "kube/kubeconfig.h"
#include "sim/model.h"

namespace brfed::sim {

struct ClusterEndpoint {
  std::string name;        // the Kubernetes cluster name used in the topology and audit log
  std::string kubeconfig;  // path
  std::string context;     // "" = current context
};
// Parses "NAME=KUBECONFIG[:CONTEXT]".
Result<ClusterEndpoint> ParseClusterFlag(std::string_view flag);

// The client configuration for one cluster: the kubeconfig's, with the simulator's User-Agent
// and no client-side rate limit. The simulator stands for TiDB Operator and every job pod of
// every member, each a process with a client of its own; one shared token bucket (the default
// 50 QPS, burst 100) held every write of a busy data plane about 20 ms at 10 concurrent
// backups and doubled the GC pause. Errors name the cluster.
Result<kube::RestConfig> ClusterClientConfig(const ClusterEndpoint& endpoint);

struct SimulatorOptions {
  std::vector<ClusterEndpoint> clusters;
  Topology topology;  // one entry per cluster, same names
  Timing timing;
  std::vector<Fault> faults;
  std::string audit_log;   // "" = none
  std::string admin_addr;  // "" = no admin server; "HOST:PORT" (port 0 picks one)
};

class Simulator {
 public:
  static Result<std::unique_ptr<Simulator>> Create(SimulatorOptions options,
                                                   Clock* clock = RealClock::Get());
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Connects, creates missing TidbClusters, starts informers, the worker and the admin server.
  // Errors name the cluster that failed.
  Status Start();
  void Stop();  // idempotent
  int admin_port() const;

  class Impl;

 private:
  explicit Simulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace brfed::sim

#endif  // BRFED_SIM_SIMULATOR_H_
