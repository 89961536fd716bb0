#include "cli/watch.h"

#include "cli/process.h"

#include <nlohmann/json.hpp>
#include <thread>

namespace brfed::cli {

Result<Json> FollowUntilDone(CommandContext& ctx, kube::Client& client, const WatchTarget& target,
                             std::chrono::milliseconds timeout, bool render) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kPollInterval = std::chrono::milliseconds(200);
  constexpr auto kMaxOutage = std::chrono::seconds(15);
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  WatchRenderer renderer(
      ctx.out_is_terminal() ? WatchRenderer::Mode::kRedraw : WatchRenderer::Mode::kLines,
      ctx.style());
  // Start of the current outage of the API server; kNoOutage while it answers. (Not an
  // std::optional: g++ 12 -O2 reports a false maybe-uninitialized on it.)
  constexpr Clock::time_point kNoOutage = Clock::time_point::min();
  Clock::time_point outage_since = kNoOutage;
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
      if (render) ctx.Out(renderer.Render(progress, Clock::now() - start));
      if (progress.finished) return last;
      if (progress.phase.empty() && Clock::now() - start > target.pickup_timeout) {
        return Status(Code::kTimeout,
                      target.kind + " \"" + target.name + "\" has no status after " +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             target.pickup_timeout)
                                             .count()) +
                          "s: no controller is handling " + target.kind +
                          "s; is br-federation-manager running (with this controller) and watching "
                          "namespace \"" +
                          target.ns + "\"? (`brfed sandbox status` for the sandbox)");
      }
    } else if (obj.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, target.kind + " \"" + target.name +
                                         "\" not found in namespace \"" + target.ns +
                                         "\" (or it was deleted while watching)");
    } else if (obj.status().IsRetryable() && !last.is_null()) {
      // Ride out a short outage of a server we already reached; the client has retried.
      if (outage_since == kNoOutage) outage_since = Clock::now();
      if (Clock::now() - outage_since > kMaxOutage) {
        return obj.status().Annotate("lost the control-plane API server while watching " +
                                     target.kind + " \"" + target.name + "\"");
      }
    } else {
      return obj.status();
    }
    if (Clock::now() >= deadline) {
      return Status(
          Code::kTimeout,
          target.kind + " \"" + target.name + "\" did not finish within " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
              "s (still " + JsonStringAt(last, {"status", "phase"}, "Pending") +
              "); is br-federation-manager running? `" + target.describe_command +
              "` shows details");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace brfed::cli
