#include "cli/watch.h"

#include "cli/process.h"

#include <nlohmann/json.hpp>
#include <thread>

namespace brfed::cli {
namespace {

long long Seconds(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

// The object still has no status after target.pickup_timeout: most likely nothing handles it.
Status NoControllerError(const WatchTarget& target) {
  return Status(Code::kTimeout,
                target.kind + " \"" + target.name + "\" has no status after " +
                    std::to_string(Seconds(target.pickup_timeout)) +
                    "s: no controller is handling " + target.kind +
                    "s; is br-federation-manager running (with this controller) and watching "
                    "namespace \"" +
                    target.ns + "\"? (`brfed sandbox status` for the sandbox)");
}

Status NotFinishedError(const WatchTarget& target, std::chrono::milliseconds timeout,
                        const Json& last) {
  return Status(Code::kTimeout, target.kind + " \"" + target.name + "\" did not finish within " +
                                    std::to_string(Seconds(timeout)) + "s (still " +
                                    JsonStringAt(last, {"status", "phase"}, "Pending") +
                                    "); is br-federation-manager running? `" +
                                    target.describe_command + "` shows details");
}

}  // namespace

Result<Json> FollowUntilDone(CommandContext& ctx, kube::Client& client, const WatchTarget& target,
                             std::chrono::milliseconds timeout, bool render) {
  using SteadyClock = std::chrono::steady_clock;
  constexpr auto kPollInterval = std::chrono::milliseconds(200);
  constexpr auto kMaxOutage = std::chrono::seconds(15);
  const auto start = SteadyClock::now();
  const auto deadline = start + timeout;
  WatchRenderer renderer(
      ctx.out_is_terminal() ? WatchRenderer::Mode::kRedraw : WatchRenderer::Mode::kLines,
      ctx.style());
  // Start of the current outage of the API server; kNoOutage while it answers. (Not an
  // std::optional: g++ 12 -O2 reports a false maybe-uninitialized on it.)
  constexpr SteadyClock::time_point kNoOutage = SteadyClock::time_point::min();
  SteadyClock::time_point outage_since = kNoOutage;
  Json last;
  while (true) {
    if (Interrupted()) {
      return Status(Code::kCancelled,
                    "interrupted while watching " + target.kind + " \"" + target.name + "\"");
    }
    Result<Json> obj = client.Get(*target.resource, target.ns, target.name);
    if (obj.ok()) {
      outage_since = kNoOutage;
      last = *obj;
      const Progress progress = target.extract(last);
      if (render) ctx.Out(renderer.Render(progress, SteadyClock::now() - start));
      if (progress.finished) return last;
      if (progress.phase.empty() && SteadyClock::now() - start > target.pickup_timeout) {
        return NoControllerError(target);
      }
    } else if (obj.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, target.kind + " \"" + target.name +
                                         "\" not found in namespace \"" + target.ns +
                                         "\" (or it was deleted while watching)");
    } else if (obj.status().IsRetryable() && !last.is_null()) {
      // Ride out a short outage of a server we already reached; the client has retried.
      if (outage_since == kNoOutage) outage_since = SteadyClock::now();
      if (SteadyClock::now() - outage_since > kMaxOutage) {
        return obj.status().Annotate("lost the control-plane API server while watching " +
                                     target.kind + " \"" + target.name + "\"");
      }
    } else {
      return obj.status();
    }
    if (SteadyClock::now() >= deadline) return NotFinishedError(target, timeout, last);
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace brfed::cli
