#include "apiserver/fault.h"

#include <nlohmann/json.hpp>

#include "apiserver/api_error.h"

namespace brfed::apiserver {

Status FaultInjector::SetRules(const Json& body) {
  const Json* rules = JsonAt(body, {"rules"});
  if (rules == nullptr || !rules->is_array()) {
    return ApiError(Code::kBadRequest, "body must be {\"rules\": [...]}");
  }
  std::vector<FaultRule> parsed;
  for (size_t i = 0; i < rules->size(); ++i) {
    const Json& r = (*rules)[i];
    std::string where = "rules[" + std::to_string(i) + "]";
    if (!r.is_object()) return ApiError(Code::kBadRequest, where + " must be an object");
    FaultRule rule;
    rule.verb = JsonStringAt(r, {"verb"}, "*");
    rule.resource = JsonStringAt(r, {"resource"}, "*");
    rule.latency = std::chrono::milliseconds(JsonIntAt(r, {"latencyMs"}));
    if (const Json* f = JsonAt(r, {"failFraction"}); f != nullptr) {
      if (!f->is_number() || f->get<double>() < 0 || f->get<double>() > 1) {
        return ApiError(Code::kBadRequest, where + ".failFraction must be a number in [0,1]");
      }
      rule.fail_fraction = f->get<double>();
    }
    rule.fail_code = static_cast<int>(JsonIntAt(r, {"failCode"}, 500));
    if (rule.fail_code != 500 && rule.fail_code != 429 && rule.fail_code != 409) {
      return ApiError(Code::kBadRequest, where + ".failCode must be 500, 429 or 409");
    }
    rule.retry_after_seconds = static_cast<int>(JsonIntAt(r, {"retryAfterSeconds"}, 1));
    long long stall = JsonIntAt(r, {"stallSeconds"});
    if (rule.latency.count() < 0 || stall < 0 || rule.retry_after_seconds < 0) {
      return ApiError(Code::kBadRequest, where + ": durations must not be negative");
    }
    if (stall > 0) rule.stall_until = clock_->Steady() + std::chrono::seconds(stall);
    parsed.push_back(std::move(rule));
  }
  std::lock_guard lock(mu_);
  rules_ = std::move(parsed);
  return Status::Ok();
}

Json FaultInjector::RulesJson() const {
  std::lock_guard lock(mu_);
  Json out = Json::array();
  SteadyTime now = clock_->Steady();
  for (const FaultRule& r : rules_) {
    long long stall =
        r.stall_until > now
            ? std::chrono::duration_cast<std::chrono::seconds>(r.stall_until - now).count()
            : 0;
    out.push_back({{"verb", r.verb},
                   {"resource", r.resource},
                   {"latencyMs", r.latency.count()},
                   {"failFraction", r.fail_fraction},
                   {"failCode", r.fail_code},
                   {"retryAfterSeconds", r.retry_after_seconds},
                   {"stallSecondsLeft", stall}});
  }
  return {{"rules", out}, {"watchGeneration", watch_generation()}};
}

void FaultInjector::Clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

FaultDecision FaultInjector::Decide(const std::string& verb, const std::string& resource) {
  std::lock_guard lock(mu_);
  FaultDecision d;
  for (const FaultRule& r : rules_) {
    if (r.verb != "*" && r.verb != verb) continue;
    if (r.resource != "*" && r.resource != resource) continue;
    d.latency += r.latency;
    d.stall_until = std::max(d.stall_until, r.stall_until);
    if (d.fail_code == 0 && r.fail_fraction > 0 &&
        std::uniform_real_distribution<double>(0, 1)(rng_) < r.fail_fraction) {
      d.fail_code = r.fail_code;
      d.retry_after_seconds = r.retry_after_seconds;
    }
  }
  return d;
}

}  // namespace brfed::apiserver
