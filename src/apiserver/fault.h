// FaultInjector: the rules behind --enable-fault-injection. Each rule is scoped by verb and
// resource ("*" matches all) and can add latency, fail a fraction of requests (500, 429 with
// Retry-After, or 409), or stall matching requests until a deadline ("stop answering").
// Dropping open watch streams is a separate one-shot action that bumps a generation counter
// watch streams compare against.
//
// Thread-safety: safe for concurrent use.
#ifndef BRFED_APISERVER_FAULT_H_
#define BRFED_APISERVER_FAULT_H_

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"

namespace brfed::apiserver {

struct FaultRule {
  std::string verb = "*";      // get, list, watch, create, update, patch, delete, *
  std::string resource = "*";  // plural, e.g. volumebackups, or *
  std::chrono::milliseconds latency{0};
  double fail_fraction = 0;  // 0..1
  int fail_code = 500;       // 500, 429 or 409
  int retry_after_seconds = 1;
  SteadyTime stall_until{};  // requests wait until then
};

struct FaultDecision {
  std::chrono::milliseconds latency{0};
  SteadyTime stall_until{};
  int fail_code = 0;  // 0 = do not fail
  int retry_after_seconds = 0;
};

class FaultInjector {
 public:
  explicit FaultInjector(Clock* clock) : clock_(clock), rng_(std::random_device{}()) {}

  // Replaces the rules from the admin body {"rules":[{"verb","resource","latencyMs",
  // "failFraction","failCode","retryAfterSeconds","stallSeconds"}]}. Errors are kBadRequest.
  Status SetRules(const Json& body);
  Json RulesJson() const;
  void Clear();

  FaultDecision Decide(const std::string& verb, const std::string& resource);

  void DropWatches() { watch_generation_.fetch_add(1); }
  uint64_t watch_generation() const { return watch_generation_.load(); }

 private:
  Clock* clock_;
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  std::mt19937_64 rng_;
  std::atomic<uint64_t> watch_generation_{0};
};

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_FAULT_H_
