#include "launch/spawn.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace brfed::launch {
namespace {

namespace fs = std::filesystem;

class SpawnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "brfed-spawn-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string File(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Runs to completion and returns the exit code.
  static int Run(const SpawnOptions& o) {
    Result<pid_t> pid = Spawn(o);
    EXPECT_TRUE(pid.ok()) << pid.status().ToString();
    if (!pid.ok()) return -1;
    int status = 0;
    waitpid(*pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  static SpawnOptions Shell(const std::string& script) {
    SpawnOptions o;
    o.binary = "/bin/sh";
    o.args = {"-c", script};
    return o;
  }

  std::string dir_;
};

TEST_F(SpawnTest, StreamsGoToTheirFilesAndArgumentsArriveUnsplit) {
  SpawnOptions o = Shell("echo \"$0\"; echo err >&2; exit 3");
  o.args.push_back("one arg with spaces");
  o.stdout_path = File("out");
  o.stderr_path = File("err");
  EXPECT_EQ(Run(o), 3);
  EXPECT_EQ(Read(File("out")), "one arg with spaces\n");
  EXPECT_EQ(Read(File("err")), "err\n");
}

TEST_F(SpawnTest, OnePathForBothStreamsKeepsTheirOrderAndAppendKeepsWhatWasThere) {
  SpawnOptions o = Shell("echo a; echo b >&2; echo c");
  o.stdout_path = o.stderr_path = File("log");
  EXPECT_EQ(Run(o), 0);
  EXPECT_EQ(Read(File("log")), "a\nb\nc\n");
  o.append = true;
  EXPECT_EQ(Run(o), 0);
  EXPECT_EQ(Read(File("log")), "a\nb\nc\na\nb\nc\n");
  o.append = false;
  EXPECT_EQ(Run(o), 0);
  EXPECT_EQ(Read(File("log")), "a\nb\nc\n");
}

TEST_F(SpawnTest, EnvironmentOverridesReplaceAndUnsetRemoves) {
  ASSERT_EQ(setenv("BRFED_SPAWN_KEPT", "kept", 1), 0);
  ASSERT_EQ(setenv("BRFED_SPAWN_GONE", "here", 1), 0);
  SpawnOptions o = Shell(
      "echo \"${BRFED_SPAWN_KEPT}|${BRFED_SPAWN_NEW}|${BRFED_SPAWN_EMPTY-unset}|"
      "${BRFED_SPAWN_GONE-unset}\"");
  o.env = {{"BRFED_SPAWN_NEW", "new"}, {"BRFED_SPAWN_EMPTY", ""}};
  o.unset = {"BRFED_SPAWN_GONE"};
  o.stdout_path = File("out");
  EXPECT_EQ(Run(o), 0);
  EXPECT_EQ(Read(File("out")), "kept|new||unset\n");
  unsetenv("BRFED_SPAWN_KEPT");
  unsetenv("BRFED_SPAWN_GONE");
}

TEST_F(SpawnTest, DescriptorsCanStandForFiles) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  SpawnOptions o = Shell("echo piped");
  o.stdout_fd = fds[1];
  EXPECT_EQ(Run(o), 0);
  close(fds[1]);
  char buf[64] = {};
  EXPECT_EQ(read(fds[0], buf, sizeof buf - 1), 6);
  close(fds[0]);
  EXPECT_STREQ(buf, "piped\n");
}

TEST_F(SpawnTest, ABinaryThatCannotRunIsAnErrorNotAChildThatExits127) {
  SpawnOptions o;
  o.binary = File("no-such-binary");
  Result<pid_t> pid = Spawn(o);
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.status().message().find("cannot run " + o.binary), std::string::npos);
  EXPECT_NE(pid.status().message().find("No such file"), std::string::npos);
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1) << "the failed child was reaped";

  o.binary = "/bin/sh";
  o.stdout_path = File("missing-dir/out");
  Result<pid_t> unopenable = Spawn(o);
  ASSERT_FALSE(unopenable.ok());
  EXPECT_NE(unopenable.status().message().find("cannot open " + o.stdout_path), std::string::npos);
}

TEST_F(SpawnTest, ANewSessionIsLedByTheChild) {
  SpawnOptions o;
  o.binary = "/bin/sleep";
  o.args = {"60"};
  for (const bool new_session : {false, true}) {
    o.new_session = new_session;
    Result<pid_t> pid = Spawn(o);
    ASSERT_TRUE(pid.ok()) << pid.status().ToString();
    EXPECT_EQ(getsid(*pid) == *pid, new_session);
    kill(*pid, SIGKILL);
    waitpid(*pid, nullptr, 0);
  }
}

}  // namespace
}  // namespace brfed::launch
