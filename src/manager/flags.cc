#include "manager/flags.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <optional>

#include "core/duration.h"
#include "core/object_ref.h"
#include "core/version.h"

namespace brfed::manager {
namespace {

constexpr char kProgram[] = "br-federation-manager";

// A positive Go duration, or an error naming the flag.
Result<std::chrono::milliseconds> ParseFlagDuration(const std::string& flag,
                                                    const std::string& text) {
  auto d = ParseGoDuration(text);
  if (!d.ok()) return InvalidArgument(flag + ": " + d.status().message());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  if (ms.count() <= 0) {
    return InvalidArgument(flag + ": must be a positive duration such as 15s, got \"" + text +
                           "\"");
  }
  return ms;
}

// --log-level / -v: a level name, or a klog verbosity number (0-3 info, 4 debug, 5+ trace).
Result<log::Level> ParseVerbosity(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
      text.size() < 4) {
    int v = std::stoi(text);
    if (v >= 5) return log::Level::kTrace;
    if (v == 4) return log::Level::kDebug;
    return log::Level::kInfo;
  }
  auto level = log::ParseLevel(text);
  if (!level.ok()) {
    return InvalidArgument("--log-level: \"" + text +
                           "\" is not one of trace, debug, info, warn, error, off or a "
                           "klog verbosity 0-999");
  }
  return *level;
}

// ":port", "host:port" or "0" (disabled).
Status ValidateListenAddr(const std::string& addr) {
  if (addr == "0") return Status::Ok();
  auto colon = addr.rfind(':');
  const std::string port = colon == std::string::npos ? "" : addr.substr(colon + 1);
  bool ok = !port.empty() && port.size() <= 5 &&
            port.find_first_not_of("0123456789") == std::string::npos && std::stoi(port) <= 65535;
  if (!ok) {
    return InvalidArgument("--metrics-addr: \"" + addr +
                           "\" is not HOST:PORT or :PORT (or 0 to disable)");
  }
  return Status::Ok();
}

FlagParse Exit(int code, std::string output) {
  FlagParse p;
  p.outcome = FlagParse::Outcome::kExit;
  p.exit_code = code;
  p.output = std::move(output);
  return p;
}

FlagParse BadFlags(const std::string& message) {
  return Exit(
      2, std::string(kProgram) + ": " + message + "\nRun '" + kProgram + " --help' for usage.\n");
}

}  // namespace

FlagParse ParseManagerFlags(const std::vector<std::string>& args, const GetEnv& getenv) {
  ManagerFlags f;
  if (const char* ns = getenv("NAMESPACE"); ns != nullptr) f.ns = ns;
  std::string lease = "15s", renew = "10s", retry = "2s", resync = "30s", poll = "1s";
  std::string probe_interval = "5s", probe_timeout = "3s";
  std::string level = "info", format = "text";

  CLI::App app{
      "br-federation-manager: the BR Federation control plane (federated EBS-snapshot "
      "backups and restores of a TiDB cluster spread over several Kubernetes clusters)",
      kProgram};
  app.set_version_flag("-V,--version", VersionLine(kProgram));
  app.add_option("--kubeconfig", f.kubeconfig,
                 "kubeconfig of the control-plane cluster (default: $KUBECONFIG, else in-cluster)");
  app.add_option("--federation-kubeconfig-path", f.federation_kubeconfig_path,
                 "kubeconfig with one context per data-plane cluster; the context name is the "
                 "k8sClusterName; watched for changes")
      ->capture_default_str();
  app.add_option("--namespace", f.ns,
                 "namespace of the leader-election Lease (default: $NAMESPACE)");
  app.add_option("--workers", f.workers, "concurrent reconciles per controller")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_flag("--leader-elect", f.leader_elect,
               "elect a leader on Lease br-federation-manager before working "
               "(--leader-elect=false to disable)")
      ->capture_default_str();
  app.add_option("--leader-lease-duration", lease, "how long a standby waits before taking over")
      ->capture_default_str();
  app.add_option("--leader-renew-deadline", renew, "how long the leader tries to renew")
      ->capture_default_str();
  app.add_option("--leader-retry-period", retry, "interval between leader-election attempts")
      ->capture_default_str();
  app.add_option("--kube-client-qps", f.kube_client_qps, "requests per second per API server")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 100000.0));
  app.add_option("--kube-client-burst", f.kube_client_burst, "request burst per API server")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--resync-duration", resync,
                 "every live object is looked at again after this long (a safety net; "
                 "progress never waits for it)")
      ->capture_default_str();
  app.add_option("--federation-kubeconfig-poll-interval", poll,
                 "how often the federation kubeconfig file is checked for changes")
      ->capture_default_str();
  app.add_option("--data-plane-probe-interval", probe_interval,
                 "how often every data plane's API server is probed (GET /version)")
      ->capture_default_str();
  app.add_option("--data-plane-probe-timeout", probe_timeout,
                 "how long one probe may take; a probe is never retried (the next one is)")
      ->capture_default_str();
  app.add_option("--data-plane-unreachable-after", f.unreachable_after,
                 "failed probes in a row after which a data plane is reported unreachable")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--metrics-addr", f.metrics_addr,
                 "address for /metrics, /healthz and /readyz (0 disables)")
      ->capture_default_str();
  app.add_option("--log-level,-v", level,
                 "trace, debug, info, warn, error, off, or a klog verbosity number")
      ->capture_default_str();
  app.add_option("--log-format", format, "text or json")->capture_default_str();

  // klog spells its verbosity `-v=N`, which CLI11 does not split for short options.
  std::vector<std::string> normalised;
  for (const std::string& a : args) {
    if (a.rfind("-v=", 0) == 0) {
      normalised.push_back("-v");
      normalised.push_back(a.substr(3));
    } else {
      normalised.push_back(a);
    }
  }
  // CLI11 takes a vector in reverse order.
  std::vector<std::string> reversed(normalised.rbegin(), normalised.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return Exit(0, app.help());
  } catch (const CLI::CallForAllHelp&) {
    return Exit(0, app.help());
  } catch (const CLI::CallForVersion&) {
    return Exit(0, VersionLine(kProgram) + "\n");
  } catch (const CLI::ParseError& e) {
    return BadFlags(e.what());
  }

  auto parsed_lease = ParseFlagDuration("--leader-lease-duration", lease);
  auto parsed_renew = ParseFlagDuration("--leader-renew-deadline", renew);
  auto parsed_retry = ParseFlagDuration("--leader-retry-period", retry);
  auto parsed_resync = ParseFlagDuration("--resync-duration", resync);
  auto parsed_poll = ParseFlagDuration("--federation-kubeconfig-poll-interval", poll);
  auto parsed_probe_interval = ParseFlagDuration("--data-plane-probe-interval", probe_interval);
  auto parsed_probe_timeout = ParseFlagDuration("--data-plane-probe-timeout", probe_timeout);
  for (const Status& st :
       {parsed_lease.status(), parsed_renew.status(), parsed_retry.status(), parsed_resync.status(),
        parsed_poll.status(), parsed_probe_interval.status(), parsed_probe_timeout.status()}) {
    if (!st.ok()) return BadFlags(st.message());
  }
  f.leader_lease_duration = *parsed_lease;
  f.leader_renew_deadline = *parsed_renew;
  f.leader_retry_period = *parsed_retry;
  f.resync_duration = *parsed_resync;
  f.kubeconfig_poll_interval = *parsed_poll;
  f.probe_interval = *parsed_probe_interval;
  f.probe_timeout = *parsed_probe_timeout;

  auto parsed_level = ParseVerbosity(level);
  if (!parsed_level.ok()) return BadFlags(parsed_level.status().message());
  f.log_level = *parsed_level;
  auto parsed_format = log::ParseFormat(format);
  if (!parsed_format.ok()) {
    return BadFlags("--log-format: \"" + format + "\" is not text or json");
  }
  f.log_format = *parsed_format;

  if (Status st = ValidateListenAddr(f.metrics_addr); !st.ok()) return BadFlags(st.message());
  if (f.federation_kubeconfig_path.empty()) {
    return BadFlags("--federation-kubeconfig-path must not be empty");
  }
  if (f.leader_elect) {
    if (f.ns.empty()) {
      return BadFlags(
          "--namespace is required for leader election (or set $NAMESPACE, or pass "
          "--leader-elect=false)");
    }
    if (f.leader_renew_deadline >= f.leader_lease_duration) {
      return BadFlags("--leader-renew-deadline (" + renew +
                      ") must be shorter than --leader-lease-duration (" + lease + ")");
    }
    // client-go's rule: the renew deadline must exceed the jittered retry period.
    if (f.leader_renew_deadline.count() <= f.leader_retry_period.count() * 12 / 10) {
      return BadFlags("--leader-renew-deadline (" + renew +
                      ") must be longer than 1.2 x --leader-retry-period (" + retry + ")");
    }
  }
  if (!f.ns.empty()) {
    if (std::string problem = ValidateDnsLabel(f.ns); !problem.empty()) {
      return BadFlags("--namespace \"" + f.ns + "\": " + problem);
    }
  }
  FlagParse p;
  p.flags = std::move(f);
  return p;
}

}  // namespace brfed::manager
