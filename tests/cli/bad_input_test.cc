// Bad input to every brfed command: a clear "error:" with a "next:" step, a non-zero exit
// (2 for usage, 1 for failures), never a crash or a hang.
#include <gtest/gtest.h>

#include "tests/cli/cli_e2e_util.h"

namespace brfed::e2e {
namespace {

// An environment where no kubeconfig is found by accident.
std::map<std::string, std::string> Isolated() {
  return {{"KUBECONFIG", "/nonexistent/brfed-test.kubeconfig"},
          {"BRFED_FEDERATION_KUBECONFIG", ""},
          {"BRFED_SANDBOX_DIR", ""},
          {"HOME", "/nonexistent-home"}};
}

void ExpectUsageError(const std::vector<std::string>& args, const std::string& needle) {
  RunResult r = RunBrfed(args, Isolated(), std::chrono::seconds(20));
  std::string joined;
  for (const std::string& a : args) joined += a + " ";
  EXPECT_FALSE(r.timed_out) << joined;
  EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
  EXPECT_NE(r.err.find("error:"), std::string::npos) << joined << "\n" << r.err;
  EXPECT_NE(r.err.find("next:"), std::string::npos) << joined << "\n" << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << joined << "\n" << r.err;
}

TEST(BadInput, UnknownCommandsAndFlagsEverywhere) {
  ExpectUsageError({}, "subcommand");
  ExpectUsageError({"frobnicate"}, "unknown command \"frobnicate\"");
  ExpectUsageError({"--bogus-flag", "backup", "list"}, "bogus-flag");
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"backup", "list"},
           {"backup", "describe", "x"},
           {"backup", "watch", "x"},
           {"backup", "delete", "x"},
           {"backup", "create", "x", "--cluster", "a=b/c", "--bucket", "b"},
           {"restore", "list"},
           {"restore", "create", "x", "--from-backup", "y"},
           {"restore", "describe", "x"},
           {"restore", "watch", "x"},
           {"restore", "delete", "x"},
           {"schedule", "create", "x", "--schedule", "* * * * *", "--cluster", "a=b/c", "--bucket",
            "b"},
           {"schedule", "list"},
           {"schedule", "describe", "x"},
           {"schedule", "pause", "x"},
           {"schedule", "resume", "x"},
           {"schedule", "delete", "x"},
           {"clusters", "check"},
           {"sandbox", "up"},
           {"sandbox", "status"},
           {"sandbox", "down"},
           {"demo"}}) {
    std::vector<std::string> args = cmd;
    args.push_back("--no-such-flag");
    ExpectUsageError(args, "no-such-flag");
  }
  ExpectUsageError({"backup"}, "subcommand");
  ExpectUsageError({"backup", "describe"}, "NAME");
}

TEST(BadInput, MalformedValues) {
  ExpectUsageError({"backup", "create", "b1", "--cluster", "dp-1", "--bucket", "b"},
                   "CONTEXT=NAMESPACE/TIDBCLUSTER");
  ExpectUsageError({"backup", "create", "b1", "--cluster", "dp-1=tidb", "--bucket", "b"},
                   "missing '/'");
  ExpectUsageError({"backup", "create", "B_1", "--cluster", "dp-1=tidb/basic", "--bucket", "b"},
                   "not a valid name");
  ExpectUsageError({"backup", "create", "b1", "--cluster", "dp-1=tidb/basic"}, "--bucket");
  // Issue 18, finding 7: names and labels the manager or API server would refuse.
  ExpectUsageError({"backup", "create", "b1", "--cluster", "dp-1=tidb/basic", "--bucket", "b",
                    "--label", "k=v=w"},
                   "--label");
  ExpectUsageError(
      {"backup", "create", std::string(48, 'b'), "--cluster", "dp-1=tidb/basic", "--bucket", "b"},
      "at most 47");
  ExpectUsageError({"schedule", "create", std::string(28, 's'), "--schedule", "0 * * * *",
                    "--cluster", "dp-1=tidb/basic", "--bucket", "b"},
                   "at most 27");
  ExpectUsageError({"schedule", "create", "S1", "--schedule", "0 * * * *", "--cluster",
                    "dp-1=tidb/basic", "--bucket", "b"},
                   "not a valid name");
  ExpectUsageError({"backup", "create", "b1", "--cluster", "dp-1=tidb/basic", "--cluster",
                    "dp-1=tidb/other", "--bucket", "b"},
                   "twice");
  ExpectUsageError({"backup", "create", "b1", "--cluster", "dp-1=tidb/basic", "--bucket", "b",
                    "--wait", "--timeout", "soon"},
                   "--timeout");
  ExpectUsageError({"backup", "list", "-o", "xml"}, "-o yaml");
  ExpectUsageError({"backup", "list", "-n", "Not_A_Namespace"}, "--namespace");
  ExpectUsageError({"restore", "create", "r1", "--from-backup", "b1", "--warmup", "later"},
                   "sync, async");
  ExpectUsageError({"schedule", "create", "s1", "--schedule", "0 * * * *", "--cluster",
                    "dp-1=tidb/basic", "--bucket", "b", "--max-reserved-time", "3 days"},
                   "72h");
  ExpectUsageError({"schedule", "create", "s1", "--schedule", "0 * * * *", "--cluster",
                    "dp-1=tidb/basic", "--bucket", "b", "--max-backups", "many"},
                   "max-backups");
  ExpectUsageError({"sandbox", "up", "--dir", ::testing::TempDir() + "/sb-bad", "--clusters", "0"},
                   "--clusters");
  ExpectUsageError(
      {"sandbox", "up", "--dir", ::testing::TempDir() + "/sb-bad", "--apiserver", "k8s"},
      "want brfed-apiserver or kube");
  ExpectUsageError({"demo", "--dir", ::testing::TempDir() + "/demo-bad", "--apiserver", ""},
                   "want brfed-apiserver or kube");
  // Issue 18, finding 9: exit 2 (usage), not 1 from a simulator that failed to start.
  for (const char* speed : {"-3", "nan", "inf", "0", "fast", ""}) {
    ExpectUsageError({"sandbox", "up", "--dir", ::testing::TempDir() + "/sb-bad", "--speed", speed},
                     "--speed");
  }
  ExpectUsageError({"clusters", "check"}, "--federation-kubeconfig");
  ExpectUsageError({"clusters", "check", "--federation-kubeconfig", "/nonexistent/fed"},
                   "/nonexistent/fed");
}

TEST(BadInput, UnreachableServerFailsFastWithTheNextStep) {
  const std::string dir = MakeTempDir("brfed-cli-unreachable");
  // Port 1 on loopback: nothing listens there.
  WriteFile(dir + "/dead.kubeconfig",
            "apiVersion: v1\nkind: Config\nclusters:\n- name: dead\n  cluster:\n    server: "
            "http://127.0.0.1:1\ncontexts:\n- name: dead\n  context:\n    cluster: dead\n    "
            "user: dead\ncurrent-context: dead\nusers:\n- name: dead\n  user: {}\n");
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"backup", "list"},
           {"backup", "watch", "b1"},
           {"backup", "create", "b1", "--cluster", "dp-1=tidb/basic", "--bucket", "b"},
           {"restore", "create", "r1", "--from-backup", "b1"},
           {"schedule", "pause", "s1"}}) {
    std::vector<std::string> args = cmd;
    args.push_back("--kubeconfig");
    args.push_back(dir + "/dead.kubeconfig");
    RunResult r = RunBrfed(args, Isolated(), std::chrono::seconds(45));
    EXPECT_FALSE(r.timed_out) << cmd[0] << " " << cmd[1];
    EXPECT_EQ(r.exit_code, 1) << cmd[0] << " " << cmd[1] << "\n" << r.err;
    EXPECT_NE(r.err.find("next: check that the control plane API server at http://127.0.0.1:1"),
              std::string::npos)
        << r.err;
  }
}

TEST(BadInput, NoSandboxToShowOrStop) {
  const std::string dir = MakeTempDir("brfed-cli-nosandbox");
  RunResult status = RunBrfed({"sandbox", "status", "--dir", dir}, Isolated());
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_NE(status.err.find("brfed sandbox up --dir"), std::string::npos) << status.err;
  RunResult down = RunBrfed({"sandbox", "down", "--dir", dir}, Isolated());
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("no sandbox"), std::string::npos) << down.err;
}

TEST(Help, EveryCommandHasHelpAndVersionWorks) {
  RunResult help = RunBrfed({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* word : {"backup", "restore", "schedule", "clusters", "sandbox", "demo"}) {
    EXPECT_NE(help.out.find(word), std::string::npos) << word;
  }
  EXPECT_EQ(RunBrfed({"backup", "create", "--help"}).exit_code, 0);
  RunResult version = RunBrfed({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("brfed"), std::string::npos);
}

}  // namespace
}  // namespace brfed::e2e
