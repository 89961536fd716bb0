#include "manager/flags.h"

#include <gtest/gtest.h>

#include <map>

namespace brfed::manager {
namespace {

using Outcome = FlagParse::Outcome;

FlagParse Parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return ParseManagerFlags(args, [env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(ManagerFlagsTest, DefaultsMatchUpstream) {
  auto p = Parse({}, {{"NAMESPACE", "br-fed"}});
  ASSERT_EQ(p.outcome, Outcome::kRun) << p.output;
  const auto& f = p.flags;
  EXPECT_EQ(f.kubeconfig, "");
  EXPECT_EQ(f.federation_kubeconfig_path, "/etc/br-federation/federation-kubeconfig/kubeconfig");
  EXPECT_EQ(f.ns, "br-fed");
  EXPECT_EQ(f.workers, 5);
  EXPECT_TRUE(f.leader_elect);
  EXPECT_EQ(f.leader_lease_duration, std::chrono::seconds(15));
  EXPECT_EQ(f.leader_renew_deadline, std::chrono::seconds(10));
  EXPECT_EQ(f.leader_retry_period, std::chrono::seconds(2));
  EXPECT_EQ(f.metrics_addr, ":6060");
  EXPECT_EQ(f.log_level, log::Level::kInfo);
  EXPECT_EQ(f.log_format, log::Format::kText);
  EXPECT_EQ(f.probe_interval, std::chrono::seconds(5));
  EXPECT_EQ(f.probe_timeout, std::chrono::seconds(3));
  EXPECT_EQ(f.unreachable_after, 3);
  EXPECT_EQ(f.gc_pause_budget, std::chrono::minutes(5));
}

TEST(ManagerFlagsTest, EveryFlagIsParsed) {
  auto p = Parse({"--kubeconfig",
                  "/cp",
                  "--federation-kubeconfig-path=/fed",
                  "--namespace",
                  "ns1",
                  "--workers",
                  "9",
                  "--leader-lease-duration",
                  "30s",
                  "--leader-renew-deadline",
                  "20s",
                  "--leader-retry-period",
                  "500ms",
                  "--kube-client-qps",
                  "7.5",
                  "--kube-client-burst",
                  "11",
                  "--resync-duration",
                  "1m",
                  "--metrics-addr",
                  "127.0.0.1:0",
                  "--log-level",
                  "debug",
                  "--log-format",
                  "json",
                  "--federation-kubeconfig-poll-interval",
                  "250ms",
                  "--data-plane-probe-interval=2s",
                  "--data-plane-probe-timeout=750ms",
                  "--data-plane-unreachable-after=5",
                  "-gc-pause-budget=90s"},
                 {{"NAMESPACE", "ignored"}});
  ASSERT_EQ(p.outcome, Outcome::kRun) << p.output;
  const auto& f = p.flags;
  EXPECT_EQ(f.kubeconfig, "/cp");
  EXPECT_EQ(f.federation_kubeconfig_path, "/fed");
  EXPECT_EQ(f.ns, "ns1");
  EXPECT_EQ(f.workers, 9);
  EXPECT_EQ(f.leader_lease_duration, std::chrono::seconds(30));
  EXPECT_EQ(f.leader_renew_deadline, std::chrono::seconds(20));
  EXPECT_EQ(f.leader_retry_period, std::chrono::milliseconds(500));
  EXPECT_DOUBLE_EQ(f.kube_client_qps, 7.5);
  EXPECT_EQ(f.kube_client_burst, 11);
  EXPECT_EQ(f.resync_duration, std::chrono::minutes(1));
  EXPECT_EQ(f.metrics_addr, "127.0.0.1:0");
  EXPECT_EQ(f.log_level, log::Level::kDebug);
  EXPECT_EQ(f.log_format, log::Format::kJson);
  EXPECT_EQ(f.kubeconfig_poll_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(f.probe_interval, std::chrono::seconds(2));
  EXPECT_EQ(f.probe_timeout, std::chrono::milliseconds(750));
  EXPECT_EQ(f.unreachable_after, 5);
  EXPECT_EQ(f.gc_pause_budget, std::chrono::seconds(90));
}

TEST(ManagerFlagsTest, LeaderElectCanBeTurnedOffWithoutNamespace) {
  auto p = Parse({"--leader-elect=false"});
  ASSERT_EQ(p.outcome, Outcome::kRun) << p.output;
  EXPECT_FALSE(p.flags.leader_elect);
  EXPECT_EQ(p.flags.ns, "");
  auto on = Parse({"--leader-elect", "--namespace", "x"});
  ASSERT_EQ(on.outcome, Outcome::kRun) << on.output;
  EXPECT_TRUE(on.flags.leader_elect);
}

TEST(ManagerFlagsTest, KlogVerbosityMapsToLevels) {
  EXPECT_EQ(Parse({"-v", "2", "--leader-elect=false"}).flags.log_level, log::Level::kInfo);
  EXPECT_EQ(Parse({"-v", "4", "--leader-elect=false"}).flags.log_level, log::Level::kDebug);
  EXPECT_EQ(Parse({"-v=6", "--leader-elect=false"}).flags.log_level, log::Level::kTrace);
  EXPECT_EQ(Parse({"-v", "warn", "--leader-elect=false"}).flags.log_level, log::Level::kWarn);
}

TEST(ManagerFlagsTest, HelpAndVersionExitZero) {
  for (const char* flag : {"--help", "-h"}) {
    auto p = Parse({flag});
    EXPECT_EQ(p.outcome, Outcome::kExit);
    EXPECT_EQ(p.exit_code, 0);
    EXPECT_NE(p.output.find("--federation-kubeconfig-path"), std::string::npos) << p.output;
  }
  for (const char* flag : {"--version", "-V"}) {
    auto p = Parse({flag});
    EXPECT_EQ(p.outcome, Outcome::kExit);
    EXPECT_EQ(p.exit_code, 0);
    EXPECT_NE(p.output.find("br-federation-manager"), std::string::npos) << p.output;
  }
}

struct BadCase {
  std::vector<std::string> args;
  std::string expected;  // part of the message
};

TEST(ManagerFlagsTest, BadFlagsExitTwoWithAClearMessage) {
  const std::vector<BadCase> cases = {
      {{"--no-such-flag"}, "--no-such-flag"},
      {{"--workers", "0"}, "--workers"},
      {{"--workers", "many"}, "--workers"},
      {{"--leader-lease-duration", "15"}, "--leader-lease-duration"},
      {{"--leader-lease-duration", "-5s"}, "positive"},
      {{"--leader-renew-deadline", "20s"}, "shorter than --leader-lease-duration"},
      {{"--leader-retry-period", "9s"}, "1.2 x --leader-retry-period"},
      {{"--resync-duration", "soon"}, "--resync-duration"},
      {{"--kube-client-qps", "0"}, "--kube-client-qps"},
      {{"--kube-client-burst", "-1"}, "--kube-client-burst"},
      {{"--metrics-addr", "localhost"}, "--metrics-addr"},
      {{"--metrics-addr", ":99999"}, "--metrics-addr"},
      {{"--log-level", "loud"}, "--log-level"},
      {{"--log-format", "xml"}, "--log-format"},
      {{"--namespace", "Bad_NS"}, "--namespace"},
      {{"--federation-kubeconfig-path="}, "--federation-kubeconfig-path"},
      {{"--workers"}, "--workers"},
      {{"--data-plane-probe-interval", "0s"}, "--data-plane-probe-interval"},
      {{"--data-plane-probe-timeout", "3"}, "--data-plane-probe-timeout"},
      {{"--data-plane-unreachable-after", "0"}, "--data-plane-unreachable-after"},
      {{"--data-plane-unreachable-after", "x"}, "--data-plane-unreachable-after"},
      {{"--gc-pause-budget", "0s"}, "--gc-pause-budget"},
      {{"--gc-pause-budget", "soon"}, "--gc-pause-budget"},
      {{"stray-positional"}, "stray-positional"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args;
    if (c.args[0] != "--namespace") args.push_back("--namespace=ok");
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto p = Parse(args);
    EXPECT_EQ(p.outcome, Outcome::kExit) << c.args[0];
    EXPECT_EQ(p.exit_code, 2) << c.args[0];
    EXPECT_NE(p.output.find(c.expected), std::string::npos) << c.args[0] << ": " << p.output;
    EXPECT_NE(p.output.find("--help"), std::string::npos) << p.output;
  }
}

TEST(ManagerFlagsTest, LeaderElectionNeedsANamespace) {
  auto p = Parse({});
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.output.find("--namespace is required"), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("$NAMESPACE"), std::string::npos) << p.output;
}

TEST(ManagerFlagsTest, UpstreamFlagsInGoSpelling) {
  auto p =
      Parse({"-cluster-scoped=false", "-workers=3", "-resync-duration", "45s",
             "-leader-lease-duration=20s", "--leader-renew-deadline=12s", "-leader-retry-period",
             "3s", "-leader-resource-lock=leases", "-kube-client-qps=9", "-kube-client-burst", "19",
             "-federation-kubeconfig-path=/etc/fed/kc", "-v=4", "-logtostderr"},
            {{"NAMESPACE", "br-fed"}});
  ASSERT_EQ(p.outcome, Outcome::kRun) << p.output;
  const auto& f = p.flags;
  EXPECT_FALSE(f.cluster_scoped);
  EXPECT_EQ(f.workers, 3);
  EXPECT_EQ(f.resync_duration, std::chrono::seconds(45));
  EXPECT_EQ(f.leader_lease_duration, std::chrono::seconds(20));
  EXPECT_EQ(f.leader_renew_deadline, std::chrono::seconds(12));
  EXPECT_EQ(f.leader_retry_period, std::chrono::seconds(3));
  EXPECT_DOUBLE_EQ(f.kube_client_qps, 9);
  EXPECT_EQ(f.kube_client_burst, 19);
  EXPECT_EQ(f.federation_kubeconfig_path, "/etc/fed/kc");
  EXPECT_EQ(f.log_level, log::Level::kDebug);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(ManagerFlagsTest, TheChartsCommandLineRuns) {
  // charts/br-federation/templates/controller-manager-deployment.yaml with default values.
  auto p =
      Parse({"-v=2", "-cluster-scoped=true",
             "-federation-kubeconfig-path=/etc/br-federation/federation-kubeconfig/kubeconfig"},
            {{"NAMESPACE", "br-fed-admin"}, {"TZ", "UTC"}});
  ASSERT_EQ(p.outcome, Outcome::kRun) << p.output;
  EXPECT_TRUE(p.flags.cluster_scoped);
  EXPECT_EQ(p.flags.log_level, log::Level::kInfo);
  EXPECT_EQ(p.flags.lease_name, "br-federation-manager");
  EXPECT_EQ(p.flags.ns, "br-fed-admin");
}

TEST(ManagerFlagsTest, KlogFlagsThatMeanNothingHereWarnOnce) {
  auto p = Parse({"-vmodule=a=1", "-log_dir=/var/log", "-alsologtostderr"}, {{"NAMESPACE", "x"}});
  ASSERT_EQ(p.outcome, Outcome::kRun) << p.output;
  ASSERT_EQ(p.warnings.size(), 2u);
  EXPECT_NE(p.warnings[0].find("-vmodule"), std::string::npos);
  EXPECT_NE(p.warnings[1].find("-log_dir"), std::string::npos);
}

TEST(ManagerFlagsTest, LeaseNameFollowsHelmRelease) {
  EXPECT_EQ(Parse({}, {{"NAMESPACE", "x"}}).flags.lease_name, "br-federation-manager");
  EXPECT_EQ(Parse({}, {{"NAMESPACE", "x"}, {"HELM_RELEASE", ""}}).flags.lease_name,
            "br-federation-manager");
  EXPECT_EQ(Parse({}, {{"NAMESPACE", "x"}, {"HELM_RELEASE", "fed1"}}).flags.lease_name,
            "br-federation-manager-fed1");
  auto bad = Parse({}, {{"NAMESPACE", "x"}, {"HELM_RELEASE", "Bad_Release"}});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("$HELM_RELEASE"), std::string::npos) << bad.output;
}

TEST(ManagerFlagsTest, ResourceLockIsLeasesOnly) {
  EXPECT_EQ(Parse({"-leader-resource-lock=leases"}, {{"NAMESPACE", "x"}}).outcome, Outcome::kRun);
  for (const char* lock : {"endpoints", "configmaps", "endpointsleases", "configmapsleases"}) {
    auto p = Parse({std::string("-leader-resource-lock=") + lock}, {{"NAMESPACE", "x"}});
    EXPECT_EQ(p.exit_code, 2) << lock;
    EXPECT_NE(p.output.find("were removed from client-go"), std::string::npos) << p.output;
  }
  auto p = Parse({"-leader-resource-lock", "flock"}, {{"NAMESPACE", "x"}});
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.output.find("-leader-resource-lock"), std::string::npos) << p.output;
}

TEST(ManagerFlagsTest, NamespaceScopedNeedsANamespace) {
  auto p = Parse({"-cluster-scoped=false", "--leader-elect=false"});
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.output.find("--cluster-scoped=false needs the namespace"), std::string::npos)
      << p.output;
  auto ok = Parse({"-cluster-scoped=false", "--leader-elect=false"}, {{"NAMESPACE", "x"}});
  ASSERT_EQ(ok.outcome, Outcome::kRun) << ok.output;
  EXPECT_EQ(ok.flags.ns, "x");
}

TEST(ManagerFlagsTest, GoSpellingBadValuesExitTwo) {
  const std::vector<BadCase> cases = {
      {{"-cluster-scoped=maybe"}, "-cluster-scoped"},
      {{"-workers=x"}, "--workers"},
      {{"-resync-duration=10"}, "--resync-duration"},
      {{"-kube-client-qps", "fast"}, "--kube-client-qps"},
      {{"-stderrthreshold=LOUD"}, "-stderrthreshold"},
      {{"-v=loud"}, "--log-level"},
      {{"-leader-lease-duration"}, "-leader-lease-duration"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"--namespace=ok"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto p = Parse(args);
    EXPECT_EQ(p.exit_code, 2) << c.args[0];
    EXPECT_NE(p.output.find(c.expected), std::string::npos) << c.args[0] << ": " << p.output;
  }
}

}  // namespace
}  // namespace brfed::manager
