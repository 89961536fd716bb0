#include "kube/credentials.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "kube/testing/testing_util.h"

namespace brfed::kube {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

// A plugin that counts its runs in a file and issues "tok-<n>" expiring at $EXPIRY; it also
// records KUBERNETES_EXEC_INFO and its argument.
constexpr const char* kPlugin = R"(#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/count" 2>/dev/null || echo 0)
n=$((n+1))
echo $n > "$dir/count"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$dir/info"
echo "$1" > "$dir/arg"
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"%s"}}' "$API" "$n" "$EXPIRY"
)";

RestConfig ExecConfigFor(const std::string& command, const std::string& api) {
  RestConfig rc;
  rc.context_name = "eks-1";
  rc.server = "https://h:443";
  ExecConfig exec;
  exec.api_version = api;
  exec.command = command;
  exec.args = {"arg with spaces; echo no-shell"};
  exec.env = {{"API", api}, {"EXPIRY", "2023-11-14T22:18:20Z"}};  // FakeClock start + 300 s
  exec.install_hint = "Install the test plugin from the test suite.";
  exec.provide_cluster_info = true;
  rc.exec = exec;
  return rc;
}

// Each test gets a fresh folder for the plugin and its files, and a fake clock.
class ExecCredentialTest : public ::testing::Test {
 protected:
  // A credential source running `script` (the counting plugin by default) as `api`.
  auto PluginSource(const std::string& api, const char* script = kPlugin) {
    return NewCredentialSource(ExecConfigFor(dir.Write("plugin", script, true), api), &clock);
  }

  TempDir dir;
  FakeClock clock;
};

TEST_F(ExecCredentialTest, CachesUntilShortlyBeforeExpiryThenRefreshes) {
  auto source = PluginSource("client.authentication.k8s.io/v1");
  auto c1 = source->Get();
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  EXPECT_EQ(c1->bearer_token, "tok-1");
  ASSERT_TRUE(c1->expiry.has_value());
  clock.Advance(200s);  // 100 s left: still cached
  EXPECT_EQ(source->Get()->bearer_token, "tok-1");
  clock.Advance(45s);  // 55 s left: inside the refresh margin
  EXPECT_EQ(source->Get()->bearer_token, "tok-2");
  EXPECT_EQ(dir.Read("arg"), "arg with spaces; echo no-shell\n");  // one argv entry, no shell
  auto info = ParseJson(dir.Read("info"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(JsonStringAt(*info, {"spec", "cluster", "server"}), "https://h:443");
  EXPECT_FALSE(JsonBoolAt(*info, {"spec", "interactive"}, true));
}

TEST_F(ExecCredentialTest, RefreshAheadRunsThePluginEarlyOnlyWhenDue) {
  auto source = PluginSource("client.authentication.k8s.io/v1");
  EXPECT_TRUE(source->RefreshAhead(120s).ok());  // nothing cached: runs
  EXPECT_EQ(dir.Read("count"), "1\n");
  EXPECT_TRUE(source->RefreshAhead(120s).ok());  // 300 s left: not due
  EXPECT_EQ(dir.Read("count"), "1\n");
  clock.Advance(200s);  // 100 s left: due for a 120 s lookahead, not yet for a request
  EXPECT_TRUE(source->RefreshAhead(120s).ok());
  EXPECT_EQ(dir.Read("count"), "2\n");
  EXPECT_EQ(source->Get()->bearer_token, "tok-2");
  EXPECT_EQ(dir.Read("count"), "2\n");
}

TEST_F(ExecCredentialTest, AFailedRefreshAheadKeepsTheCredentialRequestsStillUse) {
  // The first run succeeds, every later one fails.
  auto source = PluginSource("client.authentication.k8s.io/v1", R"(#!/bin/sh
dir=$(dirname "$0")
if [ -e "$dir/ran" ]; then echo 'sts unreachable' >&2; exit 1; fi
touch "$dir/ran"
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"tok-1","expirationTimestamp":"%s"}}' "$API" "$EXPIRY"
)");
  EXPECT_EQ(source->Get()->bearer_token, "tok-1");
  clock.Advance(200s);
  Status ahead = source->RefreshAhead(120s);
  ASSERT_FALSE(ahead.ok());
  EXPECT_NE(ahead.message().find("sts unreachable"), std::string::npos) << ahead.message();
  EXPECT_EQ(source->Get()->bearer_token, "tok-1");  // 100 s left: still good for requests
}

TEST_F(ExecCredentialTest, RequestsWithAFreshCredentialDoNotWaitForARefreshAhead) {
  // The second run blocks until the test creates "go".
  auto source = PluginSource("client.authentication.k8s.io/v1", R"(#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$dir/count"
if [ $n -ge 2 ]; then i=0; while [ ! -e "$dir/go" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done; fi
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"%s"}}' "$API" "$n" "$EXPIRY"
)");
  EXPECT_EQ(source->Get()->bearer_token, "tok-1");
  clock.Advance(200s);
  std::thread ahead([&] { EXPECT_TRUE(source->RefreshAhead(120s).ok()); });
  ASSERT_TRUE(testing::WaitFor([&] { return dir.Read("count") == "2\n"; }, 30s));
  // The plugin is running (and waits for "go"): a request gets the cached credential at once.
  auto get = std::async(std::launch::async, [&] { return source->Get(); });
  const bool answered = get.wait_for(30s) == std::future_status::ready;
  dir.Write("go", "");
  ahead.join();
  ASSERT_TRUE(answered) << "Get() waited for the refresh ahead";
  EXPECT_EQ(get.get()->bearer_token, "tok-1");
  EXPECT_EQ(source->Get()->bearer_token, "tok-2");  // what the refresh ahead cached
}

TEST_F(ExecCredentialTest, CancelKillsARunningPluginAndFailsLaterRunsButKeepsTheCached) {
  // The second run says it started, then hangs past kExecTimeout.
  auto source = PluginSource("client.authentication.k8s.io/v1", R"(#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$dir/count"
if [ $n -ge 2 ]; then exec sleep 600; fi
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"%s"}}' "$API" "$n" "$EXPIRY"
)");
  EXPECT_EQ(source->Get()->bearer_token, "tok-1");
  clock.Advance(200s);
  auto ahead = std::async(std::launch::async, [&] { return source->RefreshAhead(120s); });
  ASSERT_TRUE(testing::WaitFor([&] { return dir.Read("count") == "2\n"; }, 30s));
  source->Cancel();
  // Well inside the plugin's kExecTimeout (60 s): the hung run was killed, not waited out.
  ASSERT_EQ(ahead.wait_for(30s), std::future_status::ready) << "the hung run was not killed";
  Status refreshed = ahead.get();
  EXPECT_EQ(refreshed.code(), Code::kCancelled) << refreshed.ToString();
  EXPECT_NE(refreshed.message().find("cancelled"), std::string::npos);
  EXPECT_EQ(source->Get()->bearer_token, "tok-1");  // 100 s left: still served
  clock.Advance(60s);                               // now due: a run would be needed
  auto due = source->Get();
  ASSERT_FALSE(due.ok());
  EXPECT_EQ(due.status().code(), Code::kCancelled);
  EXPECT_EQ(dir.Read("count"), "2\n") << "a run started after Cancel";
}

// The request path: a reconcile worker's Get() that found no fresh credential runs the plugin
// itself; a second worker's Get() waits for that run (or, when it comes after Cancel, fails at
// once: the test cannot tell which). Cancel must free both without waiting out the run.
TEST_F(ExecCredentialTest, CancelFreesTheRequestsWaitingOnAHungRun) {
  auto source = PluginSource("client.authentication.k8s.io/v1", R"(#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$dir/count"
exec sleep 600
)");
  auto running = std::async(std::launch::async, [&] { return source->Get(); });
  ASSERT_TRUE(testing::WaitFor([&] { return dir.Read("count") == "1\n"; }, 30s));
  auto waiting = std::async(std::launch::async, [&] { return source->Get(); });
  source->Cancel();
  for (auto* get : {&running, &waiting}) {
    // Well inside the plugin's kExecTimeout (60 s).
    ASSERT_EQ(get->wait_for(30s), std::future_status::ready) << "a request waited out the run";
    Result<Credential> got = get->get();
    EXPECT_EQ(got.status().code(), Code::kCancelled) << got.status().ToString();
  }
  EXPECT_EQ(dir.Read("count"), "1\n") << "a run started after Cancel";
}

TEST_F(ExecCredentialTest, InvalidateAfter401Refreshes) {
  auto source = PluginSource("client.authentication.k8s.io/v1beta1");
  EXPECT_EQ(source->Get()->bearer_token, "tok-1");
  EXPECT_EQ(source->Get()->bearer_token, "tok-1");
  source->Invalidate();
  EXPECT_EQ(source->Get()->bearer_token, "tok-2");
}

TEST_F(ExecCredentialTest, FailingPluginShowsInstallHintAndStderr) {
  auto source = PluginSource("client.authentication.k8s.io/v1",
                             "#!/bin/sh\necho 'no credentials' >&2\nexit 3\n");
  auto c = source->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnauthorized);
  EXPECT_NE(c.status().message().find("exited with code 3: no credentials"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("Install the test plugin"), std::string::npos);
  EXPECT_NE(c.status().message().find("eks-1"), std::string::npos);
}

TEST_F(ExecCredentialTest, MissingCommandAndBadOutput) {
  auto missing = NewCredentialSource(
      ExecConfigFor(dir.path() + "/does-not-exist", "client.authentication.k8s.io/v1"), &clock);
  auto c = missing->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("Install the test plugin"), std::string::npos);

  std::string garbage = dir.Write("garbage", "#!/bin/sh\necho not-json\n", true);
  auto bad = NewCredentialSource(ExecConfigFor(garbage, "client.authentication.k8s.io/v1"), &clock);
  EXPECT_FALSE(bad->Get().ok());

  // A v1beta1 answer to a v1 request is rejected.
  std::string plugin = dir.Write("plugin", kPlugin, true);
  RestConfig mismatch = ExecConfigFor(plugin, "client.authentication.k8s.io/v1");
  mismatch.exec->env[0].second = "client.authentication.k8s.io/v1beta1";
  auto wrong = NewCredentialSource(mismatch, &clock)->Get();
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("does not match"), std::string::npos);
}

TEST(TokenFileTest, ReReadsAfterAMinuteAndAfterInvalidate) {
  TempDir dir;
  RestConfig rc;
  rc.token_file = dir.Write("token", "one\n");
  FakeClock clock;
  auto source = NewCredentialSource(rc, &clock);
  EXPECT_EQ(source->Get()->bearer_token, "one");
  dir.Write("token", "two\n");
  EXPECT_EQ(source->Get()->bearer_token, "one");
  clock.Advance(61s);
  EXPECT_EQ(source->Get()->bearer_token, "two");
  dir.Write("token", "three");
  source->Invalidate();
  EXPECT_EQ(source->Get()->bearer_token, "three");
}

TEST(StaticTokenTest, ReturnsTheToken) {
  RestConfig rc;
  rc.bearer_token = "abc";
  EXPECT_EQ(NewCredentialSource(rc)->Get()->bearer_token, "abc");
}

}  // namespace
}  // namespace brfed::kube
