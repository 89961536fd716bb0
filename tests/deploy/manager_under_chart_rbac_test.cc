// The manager runs as the chart's ServiceAccount, in-cluster style (a token the real
// kube-apiserver issued for it, RBAC as the chart renders it, leader election on), and completes
// a federated backup in another namespace without a single forbidden request.
#include <gtest/gtest.h>

#include "kube/resource.h"
#include "tests/deploy/deploy_util.h"
#include "tests/harness/federation_env.h"
#include "tests/harness/kube_clients.h"
#include "tests/harness/objects.h"

namespace brfed::testing {
namespace {

constexpr char kReleaseNs[] = "brfed-run";
constexpr char kBackupNs[] = "tidb-backups";

TEST(ManagerUnderChartRbac, CompletesABackupWithoutForbiddenRequests) {
  auto server = KubeApiServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  KubeApiServer& s = **server;
  auto created_ns = s.Kubectl({"create", "namespace", kBackupNs});
  ASSERT_TRUE(created_ns.ok() && created_ns->exit_code == 0);
  // What the kubelet mounts into the chart's Pod: a token for its ServiceAccount.
  auto kubeconfig = InstallChartAndGetManagerKubeconfig(s, "run", kReleaseNs);
  ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status().ToString();
  const std::string sa_kubeconfig = s.dir().File("sa.kubeconfig");
  WriteFile(sa_kubeconfig, *kubeconfig);

  auto env = FederationEnv::Start({});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  ProcessOptions o;
  o.binary = ManagerBinary();
  o.args = {"--kubeconfig",
            sa_kubeconfig,
            "--federation-kubeconfig-path",
            (*env)->federation_kubeconfig(),
            "--metrics-addr",
            "0",
            "-v=4"};
  o.env = {{"NAMESPACE", kReleaseNs}};  // as the chart's fieldRef sets it
  o.stderr_path = s.dir().File("manager.err");
  auto manager = Process::Start(o);
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();

  auto admin = KubeClientFor(s.kubeconfig());
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  auto created = (*admin)->Create(kube::resources::VolumeBackup(), kBackupNs,
                                  VolumeBackupObject(kBackupNs, "as-sa", {"c1", "c2", "c3"}));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Json vb;
  WaitFor(
      [&] {
        auto r = (*admin)->Get(kube::resources::VolumeBackup(), kBackupNs, "as-sa");
        if (r.ok()) vb = *r;
        std::string phase = JsonStringAt(vb, {"status", "phase"});
        return phase == "Complete" || phase == "Failed" || phase == "Invalid";
      },
      180s);
  const std::string log = ReadFile(o.stderr_path);
  ASSERT_EQ(JsonStringAt(vb, {"status", "phase"}), "Complete") << DumpJson(vb) << log;
  // Leader election ran on the Lease in the release namespace, as the chart's identity.
  auto lease = (*admin)->Get(kube::resources::Lease(), kReleaseNs, "br-federation-manager");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString() << log;
  EXPECT_FALSE(JsonStringAt(*lease, {"spec", "holderIdentity"}).empty());
  // Events were recorded next to the VolumeBackup.
  auto events = (*admin)->List(kube::resources::Event(), kBackupNs);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_FALSE((*events)["items"].empty()) << log;
  EXPECT_TRUE((*manager)->Running()) << log;
  for (const char* refused : {"forbidden", "Forbidden", " 403"}) {
    EXPECT_EQ(log.find(refused), std::string::npos) << "the manager was refused something:\n"
                                                    << log;
  }
}

}  // namespace
}  // namespace brfed::testing
