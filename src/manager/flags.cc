#include "manager/flags.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <optional>

#include "core/duration.h"
#include "core/object_ref.h"
#include "core/version.h"
#include "manager/go_flags.h"

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

// What client-go v0.29 (upstream's) accepts: only Leases. The older lock kinds were removed
// from client-go, and upstream fails on them at start; we fail on them as a flag error.
Status ValidateResourceLock(const std::string& lock) {
  if (lock == "leases") return Status::Ok();
  if (lock == "endpoints" || lock == "configmaps" || lock == "endpointsleases" ||
      lock == "configmapsleases") {
    return InvalidArgument("-leader-resource-lock: \"" + lock +
                           "\" locks were removed from client-go (upstream's binary refuses "
                           "them too); use leases");
  }
  return InvalidArgument("-leader-resource-lock: \"" + lock + "\" is not a lock type; use leases");
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
// Flag values that are parsed after CLI11 has read them as text.
struct TextFlags {
  std::string lease = "15s", renew = "10s", retry = "2s", resync = "30s", poll = "1s";
  std::string probe_interval = "5s", probe_timeout = "3s", gc_pause_budget = "5m";
  std::string level = "info", format = "text";
  std::string resource_lock = "leases";
};

void AddOptions(CLI::App& app, ManagerFlags& f, TextFlags& t) {
  app.set_version_flag("-V,--version", VersionLine(kProgram));
  app.add_option("--kubeconfig", f.kubeconfig,
                 "kubeconfig of the control-plane cluster (default: $KUBECONFIG, else in-cluster)");
  app.add_option("--federation-kubeconfig-path", f.federation_kubeconfig_path,
                 "kubeconfig with one context per data-plane cluster; the context name is the "
                 "k8sClusterName; watched for changes")
      ->capture_default_str();
  app.add_option("--namespace", f.ns,
                 "namespace of the leader-election Lease, and the only watched namespace with "
                 "--cluster-scoped=false (default: $NAMESPACE)");
  app.add_flag("--cluster-scoped", f.cluster_scoped,
               "watch VolumeBackups, VolumeRestores and VolumeBackupSchedules in all namespaces "
               "(false: only in --namespace)")
      ->capture_default_str();
  app.add_option("--workers", f.workers, "concurrent reconciles per controller")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_flag("--leader-elect", f.leader_elect,
               "elect a leader on Lease br-federation-manager[-$HELM_RELEASE] before working "
               "(--leader-elect=false to disable)")
      ->capture_default_str();
  app.add_option("--leader-lease-duration", t.lease, "how long a standby waits before taking over")
      ->capture_default_str();
  app.add_option("--leader-renew-deadline", t.renew, "how long the leader tries to renew")
      ->capture_default_str();
  app.add_option("--leader-retry-period", t.retry, "interval between leader-election attempts")
      ->capture_default_str();
  app.add_option("--leader-resource-lock", t.resource_lock, "leader-election lock kind: leases")
      ->capture_default_str();
  app.add_option("--kube-client-qps", f.kube_client_qps, "requests per second per API server")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 100000.0));
  app.add_option("--kube-client-burst", f.kube_client_burst, "request burst per API server")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--resync-duration", t.resync,
                 "every live object is looked at again after this long (a safety net; "
                 "progress never waits for it)")
      ->capture_default_str();
  app.add_option("--federation-kubeconfig-poll-interval", t.poll,
                 "how often the federation kubeconfig file is checked for changes")
      ->capture_default_str();
  app.add_option("--data-plane-probe-interval", t.probe_interval,
                 "how often every data plane's API server is probed (GET /version)")
      ->capture_default_str();
  app.add_option("--data-plane-probe-timeout", t.probe_timeout,
                 "how long one probe may take; a probe is never retried (the next one is)")
      ->capture_default_str();
  app.add_option("--data-plane-unreachable-after", f.unreachable_after,
                 "failed probes in a row after which a data plane is reported unreachable")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--gc-pause-budget", t.gc_pause_budget,
                 "a VolumeBackup fails (PauseBudgetExceeded) and is torn down when not every "
                 "member has created its snapshots this long after GC was paused; the "
                 "annotation federation.pingcap.com/gc-pause-budget overrides it per backup")
      ->capture_default_str();
  app.add_option("--metrics-addr", f.metrics_addr,
                 "address for /metrics, /healthz and /readyz (0 disables)")
      ->capture_default_str();
  app.add_option("--log-level,-v", t.level,
                 "trace, debug, info, warn, error, off, or a klog verbosity number")
      ->capture_default_str();
  app.add_option("--log-format", t.format, "text or json")->capture_default_str();
  app.footer(
      "Every flag is also accepted in Go's spelling (-name=value, -name value, -bool, "
      "-bool=false), as upstream's binary and Helm chart write them; klog's flags other than "
      "-v are accepted and ignored with a warning.");
}

// Turns the text flags into typed values.
Status ApplyTextFlags(const TextFlags& t, ManagerFlags& f) {
  auto lease = ParseFlagDuration("--leader-lease-duration", t.lease);
  auto renew = ParseFlagDuration("--leader-renew-deadline", t.renew);
  auto retry = ParseFlagDuration("--leader-retry-period", t.retry);
  auto resync = ParseFlagDuration("--resync-duration", t.resync);
  auto poll = ParseFlagDuration("--federation-kubeconfig-poll-interval", t.poll);
  auto probe_interval = ParseFlagDuration("--data-plane-probe-interval", t.probe_interval);
  auto probe_timeout = ParseFlagDuration("--data-plane-probe-timeout", t.probe_timeout);
  auto budget = ParseFlagDuration("--gc-pause-budget", t.gc_pause_budget);
  for (const Status& st :
       {lease.status(), renew.status(), retry.status(), resync.status(), poll.status(),
        probe_interval.status(), probe_timeout.status(), budget.status()}) {
    BRFED_RETURN_IF_ERROR(st);
  }
  f.leader_lease_duration = *lease;
  f.leader_renew_deadline = *renew;
  f.leader_retry_period = *retry;
  f.resync_duration = *resync;
  f.kubeconfig_poll_interval = *poll;
  f.probe_interval = *probe_interval;
  f.probe_timeout = *probe_timeout;
  f.gc_pause_budget = *budget;
  BRFED_ASSIGN_OR_RETURN(f.log_level, ParseVerbosity(t.level));
  auto format = log::ParseFormat(t.format);
  if (!format.ok())
    return InvalidArgument("--log-format: \"" + t.format + "\" is not text or json");
  f.log_format = *format;
  return ValidateResourceLock(t.resource_lock);
}

Status ValidateLeaderElection(const ManagerFlags& f, const TextFlags& t) {
  if (f.leader_renew_deadline >= f.leader_lease_duration) {
    return InvalidArgument("--leader-renew-deadline (" + t.renew +
                           ") must be shorter than --leader-lease-duration (" + t.lease + ")");
  }
  // client-go's rule: the renew deadline must exceed the jittered retry period.
  if (f.leader_renew_deadline.count() <= f.leader_retry_period.count() * 12 / 10) {
    return InvalidArgument("--leader-renew-deadline (" + t.renew +
                           ") must be longer than 1.2 x --leader-retry-period (" + t.retry + ")");
  }
  if (std::string problem = ValidateDnsSubdomain(f.lease_name); !problem.empty()) {
    return InvalidArgument("$HELM_RELEASE: the Lease name \"" + f.lease_name + "\" " + problem);
  }
  return Status::Ok();
}

// Rules that involve several flags or the environment.
Status ValidateFlags(const ManagerFlags& f, const TextFlags& t) {
  BRFED_RETURN_IF_ERROR(ValidateListenAddr(f.metrics_addr));
  if (f.federation_kubeconfig_path.empty()) {
    return InvalidArgument("--federation-kubeconfig-path must not be empty");
  }
  if (!f.cluster_scoped && f.ns.empty()) {
    return InvalidArgument(
        "--cluster-scoped=false needs the namespace to watch: set $NAMESPACE (the chart does) "
        "or pass --namespace");
  }
  if (f.leader_elect) {
    if (f.ns.empty()) {
      return InvalidArgument(
          "--namespace is required for leader election (or set $NAMESPACE, or pass "
          "--leader-elect=false)");
    }
    BRFED_RETURN_IF_ERROR(ValidateLeaderElection(f, t));
  }
  if (!f.ns.empty()) {
    if (std::string problem = ValidateDnsLabel(f.ns); !problem.empty()) {
      return InvalidArgument("--namespace \"" + f.ns + "\": " + problem);
    }
  }
  return Status::Ok();
}

}  // namespace

FlagParse ParseManagerFlags(const std::vector<std::string>& args, const GetEnv& getenv) {
  ManagerFlags f;
  TextFlags t;
  if (const char* ns = getenv("NAMESPACE"); ns != nullptr) f.ns = ns;
  if (const char* release = getenv("HELM_RELEASE"); release != nullptr && *release != '\0') {
    f.lease_name = std::string(kLeaseBaseName) + "-" + release;
  }
  CLI::App app{
      "br-federation-manager: the BR Federation control plane (federated EBS-snapshot "
      "backups and restores of a TiDB cluster spread over several Kubernetes clusters)",
      kProgram};
  AddOptions(app, f, t);

  auto translated = TranslateGoFlags(args, ManagerGoFlags());
  if (!translated.ok()) return BadFlags(translated.status().message());
  // CLI11 takes a vector in reverse order.
  std::vector<std::string> reversed(translated->args.rbegin(), translated->args.rend());
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
  if (Status st = ApplyTextFlags(t, f); !st.ok()) return BadFlags(st.message());
  if (Status st = ValidateFlags(f, t); !st.ok()) return BadFlags(st.message());
  FlagParse p;
  p.flags = std::move(f);
  p.warnings = std::move(translated->warnings);
  return p;
}

}  // namespace brfed::manager
