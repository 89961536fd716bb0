#include "runtime/write_expectations.h"

#include <charconv>

namespace brfed::runtime {

std::optional<unsigned long long> ParseRevision(std::string_view rv) {
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), value);
  if (rv.empty() || ec != std::errc() || end != rv.data() + rv.size()) return std::nullopt;
  return value;
}

bool ResourceVersionReached(std::string_view cached, std::string_view written) {
  if (cached.empty()) return false;
  if (cached == written) return true;
  auto c = ParseRevision(cached);
  auto w = ParseRevision(written);
  return c && w && *c >= *w;
}

WriteExpectations::WriteExpectations(Clock* clock, std::chrono::nanoseconds ttl)
    : clock_(clock), ttl_(ttl) {}

void WriteExpectations::Expect(const std::string& object, std::string resource_version) {
  if (resource_version.empty()) return;
  const SteadyTime now = clock_->Steady();
  std::lock_guard<std::mutex> lock(mu_);
  // Objects never reconciled again (deleted) would otherwise stay forever.
  DropExpiredLocked(now);
  expected_[object] = {std::move(resource_version), now};
}

std::optional<std::chrono::nanoseconds> WriteExpectations::Pending(
    const std::string& object, std::string_view cached_resource_version) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = expected_.find(object);
  if (it == expected_.end()) return std::nullopt;
  const auto waited = clock_->Steady() - it->second.at;
  if (waited >= ttl_ ||
      ResourceVersionReached(cached_resource_version, it->second.resource_version)) {
    expected_.erase(it);
    return std::nullopt;
  }
  return ttl_ - waited;
}

void WriteExpectations::Forget(const std::string& object) {
  std::lock_guard<std::mutex> lock(mu_);
  expected_.erase(object);
}

size_t WriteExpectations::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return expected_.size();
}

void WriteExpectations::DropExpiredLocked(SteadyTime now) {
  for (auto it = expected_.begin(); it != expected_.end();) {
    it = now - it->second.at >= ttl_ ? expected_.erase(it) : std::next(it);
  }
}

}  // namespace brfed::runtime
