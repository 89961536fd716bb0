// Test-only driver for the step functions: a set of member objects per cluster, one TidbCluster
// per cluster, the model, and a simulated time that jumps to the next wake-up when nothing is
// left to write. Records every persisted condition (phase after the write) per member.
//
// Thread-safety: none (single-threaded tests).
#ifndef BRFED_SIM_TESTING_SIM_WORLD_TEST_UTIL_H_
#define BRFED_SIM_TESTING_SIM_WORLD_TEST_UTIL_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/audit.h"
#include "sim/steps.h"

namespace brfed::sim::testing {

class World {
 public:
  explicit World(int clusters = 2, Timing timing = Timing::Scaled(1, false, false));

  // Adds a member object in `cluster`; returns its id "<cluster>/<kind>/<name>".
  std::string AddBackup(const std::string& cluster, Json spec, std::string name = "fed-vb");
  std::string AddRestore(const std::string& cluster, Json spec, std::string name = "fed-vr");
  Json& Obj(const std::string& id) { return objects_.at(id); }
  bool Exists(const std::string& id) const { return objects_.count(id) > 0; }
  Json& Tc(const std::string& cluster) { return tcs_.at(cluster); }
  void RemoveTc(const std::string& cluster) { tcs_.erase(cluster); }
  void Delete(const std::string& id);  // sets deletionTimestamp (or removes without finalizers)

  // Steps every member until `done` holds (true) or simulated `limit` passes (false).
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::seconds limit = std::chrono::seconds(3600));
  bool True(const std::string& id, const std::string& type) const;
  // Phases after every persisted condition write of `id`.
  const std::vector<std::string>& Phases(const std::string& id) { return phases_[id]; }
  Model& model() { return model_; }
  Time now() const { return now_; }
  std::string AuditText() const;
  std::string Key(const std::string& id) const {
    return MemberKey(cluster_of_.at(id), objects_.at(id));
  }

 private:
  bool StepAll();  // one pass; true when something was written
  Model model_;
  Time now_;
  std::map<std::string, Json> objects_;
  std::map<std::string, std::string> cluster_of_;
  std::map<std::string, Json> tcs_;
  std::map<std::string, std::vector<std::string>> phases_;
  std::vector<Json> audit_;
  std::optional<Time> wake_;
  int uid_ = 0;
};

Json BackupSpec(const std::string& phase, const std::string& prefix = "p");
Json RestoreSpec(const std::string& prefix);

}  // namespace brfed::sim::testing

#endif  // BRFED_SIM_TESTING_SIM_WORLD_TEST_UTIL_H_
