// LeaderElector: leader election on a coordination.k8s.io/v1 Lease with client-go's semantics.
// A candidate acquires the Lease when it is free, expired (renewTime + leaseDurationSeconds
// passed by our clock since we last saw it change) or already ours; the leader renews every
// retry period and gives up leadership when it cannot renew within the renew deadline. Run
// calls on_started_leading on acquiring (on a separate thread) and on_stopped_leading when
// leadership ends for any reason; the caller must stop all work there. Stop releases the Lease
// (holderIdentity cleared, lease duration 1 s) so another candidate takes over at once.
//
// Thread-safety: Run blocks in one thread; Stop and IsLeader are safe from any thread. Shares
// the Client; the Clock must outlive the elector.
#ifndef BRFED_RUNTIME_LEADER_ELECTION_H_
#define BRFED_RUNTIME_LEADER_ELECTION_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "core/json.h"
#include "kube/client.h"

namespace brfed::runtime {

class LeaderElector {
 public:
  struct Config {
    std::string ns;
    std::string name;
    std::string identity;
    std::chrono::milliseconds lease_duration{15000};
    std::chrono::milliseconds renew_deadline{10000};
    std::chrono::milliseconds retry_period{2000};
  };

  LeaderElector(std::shared_ptr<kube::Client> client, Config config,
                Clock* clock = RealClock::Get());
  ~LeaderElector();

  // Blocks until Stop() or until leadership, once gained, is lost. kInvalidArgument for a bad
  // Config (empty names, renew_deadline >= lease_duration, ...).
  Status Run(std::function<void()> on_started_leading, std::function<void()> on_stopped_leading);
  void Stop();
  bool IsLeader() const { return leader_.load(); }

 private:
  // One acquire-or-renew attempt; true when we hold the Lease afterwards.
  bool TryAcquireOrRenew();
  bool SleepFor(std::chrono::milliseconds d);  // false when stopping
  void Release();

  std::shared_ptr<kube::Client> client_;
  Config config_;
  Clock* clock_;
  std::atomic<bool> leader_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  // What we last saw of the Lease, for expiry by our own clock.
  std::string observed_rv_;
  SteadyTime observed_at_{};
  std::shared_ptr<const Json> observed_;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_LEADER_ELECTION_H_
