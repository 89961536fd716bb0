// brfed against one control-plane brfed-apiserver: objects are created, listed, described,
// watched and deleted. The test plays the manager's part by writing status, so every watch
// transition is deterministic.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "kube/resource.h"
#include "tests/cli/cli_e2e_util.h"

namespace brfed::e2e {
namespace {

class ObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("brfed-cli-objects");
    server_ = std::make_unique<ApiServerProcess>(
        dir_, "control",
        std::vector<std::string>{
            "--crd", testing::FederationCrd("federation.pingcap.com_volumebackups.yaml"), "--crd",
            testing::FederationCrd("federation.pingcap.com_volumerestores.yaml"), "--crd",
            testing::FederationCrd("federation.pingcap.com_volumebackupschedules.yaml")});
    ASSERT_TRUE(server_->ok()) << server_->error();
    client_ = server_->Client();
    ASSERT_NE(client_, nullptr);
    // kube-apiserver creates "default" itself; brfed-apiserver starts with no namespaces.
    Result<Json> ns = client_->Create(
        kube::resources::Namespace(), "",
        Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "default"}}}});
    ASSERT_TRUE(ns.ok() || ns.status().code() == Code::kAlreadyExists) << ns.status().ToString();
  }

  void TearDown() override {
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::map<std::string, std::string> Env() const {
    return {{"KUBECONFIG", server_->kubeconfig()}, {"NO_COLOR", "1"}};
  }
  RunResult Brfed(const std::vector<std::string>& args) {
    return RunBrfed(args, Env(), std::chrono::seconds(30));
  }

  // Writes status the way the manager does (status subresource, merge patch).
  void SetBackupStatus(const std::string& name, const Json& status) {
    Result<Json> r = client_->Patch(kube::resources::VolumeBackup(), "default", name,
                                    kube::PatchType::kMerge, Json{{"status", status}}, "status");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  Json Members(const std::string& p1, const std::string& p2) {
    return Json::array({{{"k8sClusterName", "dp-1"}, {"backupName", "fed-b1"}, {"phase", p1}},
                        {{"k8sClusterName", "dp-2"}, {"backupName", "fed-b1"}, {"phase", p2}}});
  }

  void CreateBackup() {
    RunResult r = Brfed({"backup", "create", "b1", "--cluster", "dp-1=tidb/basic", "--cluster",
                         "dp-2=tidb/basic", "--bucket", "bk", "--region", "us-west-2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "volumebackup.federation.pingcap.com/b1 created\n");
  }

  std::string dir_;
  std::unique_ptr<ApiServerProcess> server_;
  std::shared_ptr<kube::Client> client_;
};

TEST_F(ObjectsTest, BackupCreateListDescribeDelete) {
  CreateBackup();
  Result<Json> stored = client_->Get(kube::resources::VolumeBackup(), "default", "b1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ((*stored)["spec"]["clusters"].size(), 2u);
  EXPECT_EQ((*stored)["spec"]["template"]["s3"]["bucket"], "bk");

  RunResult dup =
      Brfed({"backup", "create", "b1", "--cluster", "dp-1=tidb/basic", "--bucket", "bk"});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;

  SetBackupStatus("b1", {{"phase", "Complete"},
                         {"backupSizeReadable", "2.0 GB"},
                         {"commitTs", "445566"},
                         {"timeTaken", "7s"},
                         {"backups", Members("Complete", "Complete")},
                         {"steps", Json::array({{{"stepName", "GCPause"},
                                                 {"timeStarted", "2026-01-01T00:00:01Z"},
                                                 {"timeCompleted", "2026-01-01T00:00:02Z"},
                                                 {"timeTaken", "1s"}}})}});
  RunResult list = Brfed({"backup", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.rfind("NAME   STATUS     CLUSTERS   SIZE     COMMITTS   TIMETAKEN   AGE\n", 0),
            0u)
      << list.out;
  EXPECT_NE(list.out.find("b1     Complete   2          2.0 GB   445566     7s"), std::string::npos)
      << list.out;

  RunResult describe = Brfed({"backup", "describe", "b1"});
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_NE(describe.out.find("GC paused:      2026-01-01T00:00:01Z .. 2026-01-01T00:00:02Z (1s)"),
            std::string::npos)
      << describe.out;
  EXPECT_NE(describe.out.find("dp-2"), std::string::npos);

  RunResult yaml = Brfed({"backup", "describe", "b1", "-o", "json"});
  ASSERT_EQ(yaml.exit_code, 0);
  Result<Json> parsed = ParseJson(yaml.out);
  ASSERT_TRUE(parsed.ok()) << yaml.out;
  EXPECT_EQ((*parsed)["status"]["commitTs"], "445566");
  RunResult list_yaml = Brfed({"backup", "list", "-o", "yaml"});
  Result<Json> list_parsed = ParseYaml(list_yaml.out);
  ASSERT_TRUE(list_parsed.ok()) << list_yaml.out;
  EXPECT_EQ((*list_parsed)["items"].size(), 1u);

  // Restoring needs a Complete backup; the restore references it and carries its locations.
  RunResult restore = Brfed({"restore", "create", "r1", "--from-backup", "b1", "--warmup", "sync",
                             "--warmup-image", "warmup:v1"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  Result<Json> vr = client_->Get(kube::resources::VolumeRestore(), "default", "r1");
  ASSERT_TRUE(vr.ok());
  ASSERT_EQ((*vr)["spec"]["clusters"].size(), 2u);
  // deploy/crds has spec.volumeBackupName, so brfed references the backup instead of copying
  // its locations.
  EXPECT_EQ((*vr)["spec"].value("volumeBackupName", ""), "b1") << DumpJson(*vr);
  EXPECT_FALSE((*vr)["spec"]["clusters"][0].contains("backup")) << DumpJson(*vr);
  EXPECT_EQ(restore.err.find("--inline-locations"), std::string::npos) << restore.err;
  RunResult inline_restore =
      Brfed({"restore", "create", "r2", "--from-backup", "b1", "--inline-locations"});
  ASSERT_EQ(inline_restore.exit_code, 0) << inline_restore.err;
  Result<Json> vr2 = client_->Get(kube::resources::VolumeRestore(), "default", "r2");
  ASSERT_TRUE(vr2.ok());
  EXPECT_EQ((*vr2)["spec"]["clusters"][1]["backup"]["s3"]["prefix"], "b1-dp-2");
  RunResult restores = Brfed({"restore", "list"});
  EXPECT_NE(restores.out.find("r1"), std::string::npos) << restores.out;
  EXPECT_EQ(Brfed({"restore", "describe", "r1"}).exit_code, 0);
  EXPECT_EQ(Brfed({"restore", "delete", "r1"}).exit_code, 0);
  EXPECT_EQ(Brfed({"restore", "delete", "r2"}).exit_code, 0);

  RunResult del = Brfed({"backup", "delete", "b1"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(del.out, "volumebackup.federation.pingcap.com/b1 deleted\n");
  EXPECT_EQ(client_->Get(kube::resources::VolumeBackup(), "default", "b1").status().code(),
            Code::kNotFound);
  RunResult empty = Brfed({"backup", "list"});
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_NE(empty.err.find("No VolumeBackups found"), std::string::npos);
}

TEST_F(ObjectsTest, MissingObjectsAndNamespaces) {
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"backup", "describe", "nope"},
                                             {"backup", "watch", "nope"},
                                             {"backup", "delete", "nope"},
                                             {"restore", "describe", "nope"},
                                             {"restore", "create", "r1", "--from-backup", "nope"},
                                             {"schedule", "pause", "nope"},
                                             {"schedule", "delete", "nope"}}) {
    RunResult r = Brfed(cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd[0] << " " << cmd[1] << "\n" << r.err;
    EXPECT_NE(r.err.find("\"nope\" not found in namespace \"default\""), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("next:"), std::string::npos);
  }
  RunResult no_ns = Brfed({"backup", "create", "b1", "-n", "elsewhere", "--cluster",
                           "dp-1=tidb/basic", "--bucket", "bk"});
  EXPECT_EQ(no_ns.exit_code, 1);
  EXPECT_NE(no_ns.err.find("kubectl create namespace elsewhere"), std::string::npos) << no_ns.err;
  // A backup that is not Complete cannot be restored.
  CreateBackup();
  RunResult early = Brfed({"restore", "create", "r1", "--from-backup", "b1"});
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_NE(early.err.find("not Complete"), std::string::npos) << early.err;
}

TEST_F(ObjectsTest, ScheduleLifecycle) {
  RunResult c = Brfed({"schedule", "create", "nightly", "--schedule", "0 2 * * *", "--cluster",
                       "dp-1=tidb/basic", "--bucket", "bk", "--max-backups", "3"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  RunResult pause = Brfed({"schedule", "pause", "nightly"});
  ASSERT_EQ(pause.exit_code, 0) << pause.err;
  EXPECT_TRUE(
      JsonBoolAt(*client_->Get(kube::resources::VolumeBackupSchedule(), "default", "nightly"),
                 {"spec", "pause"}));
  RunResult list = Brfed({"schedule", "list"});
  EXPECT_NE(list.out.find("nightly   0 2 * * *   true     3"), std::string::npos) << list.out;
  ASSERT_EQ(Brfed({"schedule", "resume", "nightly"}).exit_code, 0);
  EXPECT_FALSE(
      JsonBoolAt(*client_->Get(kube::resources::VolumeBackupSchedule(), "default", "nightly"),
                 {"spec", "pause"}, true));
  RunResult describe = Brfed({"schedule", "describe", "nightly"});
  EXPECT_NE(describe.out.find("Paused:         no"), std::string::npos) << describe.out;
  ASSERT_EQ(Brfed({"schedule", "delete", "nightly"}).exit_code, 0);
}

// In a pipe, `backup watch` prints one plain line per change and exits with the outcome.
TEST_F(ObjectsTest, WatchInAPipePrintsPlainLinesAndExitsWithTheOutcome) {
  CreateBackup();
  BrfedProcess watch({"backup", "watch", "b1", "--timeout", "60s"}, Env());
  ASSERT_TRUE(WaitFor([&] { return watch.Out().find("backup/b1 Pending") != std::string::npos; }))
      << watch.Out();
  SetBackupStatus("b1",
                  {{"phase", "Running"}, {"backups", Members("VolumeBackupInitialized", "")}});
  ASSERT_TRUE(WaitFor([&] {
    return watch.Out().find("dp-1 VolumeBackupInitialized") != std::string::npos;
  })) << watch.Out();
  SetBackupStatus("b1", {{"backups", Members("VolumeBackupSnapshotsCreated", "Running")}});
  ASSERT_TRUE(WaitFor([&] { return watch.Out().find("dp-2 Running") != std::string::npos; }))
      << watch.Out();
  SetBackupStatus("b1", {{"phase", "Complete"}, {"backups", Members("Complete", "Complete")}});
  RunResult r = watch.Wait(std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "no escape codes in a pipe";
  EXPECT_NE(r.out.find("backup/b1 Running\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("backup/b1 Complete\n"), std::string::npos) << r.out;
  // One line per change: the Running line appears once although the object changed twice.
  EXPECT_EQ(r.out.find("backup/b1 Running"), r.out.rfind("backup/b1 Running")) << r.out;

  // A failed backup: exit 1, with the reason and where to look.
  RunResult again =
      Brfed({"backup", "create", "b2", "--cluster", "dp-1=tidb/basic", "--bucket", "bk"});
  ASSERT_EQ(again.exit_code, 0);
  Result<Json> failed = client_->Patch(
      kube::resources::VolumeBackup(), "default", "b2", kube::PatchType::kMerge,
      Json{{"status",
            {{"phase", "Failed"},
             {"conditions", Json::array({{{"type", "Failed"},
                                          {"status", "True"},
                                          {"message", "member dp-1 failed: snapshot quota"}}})}}}},
      "status");
  ASSERT_TRUE(failed.ok());
  RunResult fw = Brfed({"backup", "watch", "b2"});
  EXPECT_EQ(fw.exit_code, 1);
  EXPECT_NE(fw.err.find("snapshot quota"), std::string::npos) << fw.err;
  EXPECT_NE(fw.err.find("brfed backup describe b2"), std::string::npos) << fw.err;
}

std::string Tmux(const std::string& socket, const std::string& args) {
  const std::string cmd = "tmux -L " + socket + " " + args + " 2>&1";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// On a terminal, `backup watch` redraws its frame in place: after several changes the screen
// holds one frame, not one per change.
TEST_F(ObjectsTest, WatchOnATerminalRedrawsInPlace) {
  CreateBackup();
  const std::string socket = "brfed-cli-test-" + std::to_string(getpid());
  const std::string script = dir_ + "/watch.sh";
  WriteFile(script, "#!/bin/sh\nKUBECONFIG=" + server_->kubeconfig() + " " + BrfedBinary() +
                        " backup watch b1 --timeout 60s\necho \"EXIT=$?\"\nsleep 60\n");
  ASSERT_EQ(system(("chmod +x " + script).c_str()), 0);
  Tmux(socket, "new-session -d -s watch -x 120 -y 30 " + script);
  auto screen = [&] { return Tmux(socket, "capture-pane -p -t watch"); };
  ASSERT_TRUE(WaitFor([&] { return screen().find("backup b1") != std::string::npos; })) << screen();
  SetBackupStatus("b1",
                  {{"phase", "Running"}, {"backups", Members("VolumeBackupInitialized", "")}});
  ASSERT_TRUE(WaitFor([&] {
    return screen().find("VolumeBackupInitialized") != std::string::npos;
  })) << screen();
  SetBackupStatus("b1", {{"backups", Members("VolumeBackupSnapshotsCreated", "Running")}});
  ASSERT_TRUE(WaitFor([&] {
    return screen().find("VolumeBackupSnapshotsCreated") != std::string::npos;
  })) << screen();
  SetBackupStatus("b1", {{"phase", "Complete"}, {"backups", Members("Complete", "Complete")}});
  ASSERT_TRUE(WaitFor([&] { return screen().find("EXIT=") != std::string::npos; })) << screen();
  const std::string final_screen = screen();
  Tmux(socket, "kill-server");
  EXPECT_NE(final_screen.find("EXIT=0"), std::string::npos) << final_screen;
  // Redrawn in place: one header, one row per cluster, showing only the latest state.
  EXPECT_EQ(Count(final_screen, "CLUSTER"), 1u) << final_screen;
  EXPECT_EQ(Count(final_screen, "dp-1"), 1u) << final_screen;
  EXPECT_EQ(Count(final_screen, "VolumeBackupInitialized"), 0u) << final_screen;
  EXPECT_NE(final_screen.find("Complete"), std::string::npos) << final_screen;
}

}  // namespace
}  // namespace brfed::e2e
