#include "core/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::log {
namespace {

TEST(Log, ParsesLevelsAndFormats) {
  EXPECT_EQ(*ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("warning"), Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud").ok());
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
  EXPECT_FALSE(ParseFormat("xml").ok());
}

TEST(Log, TextRecordsCarryFieldsAndQuoteWhenNeeded) {
  std::string line = Render(Format::kText, Level::kInfo, "mgr", "backup started",
                            {{"object", "ns/a"}, {"cluster", "c 1"}});
  EXPECT_EQ(line, "info [mgr] backup started object=ns/a cluster=\"c 1\"");
}

TEST(Log, JsonRecordsAreValidJson) {
  std::string line = Render(Format::kJson, Level::kError, "", "failed \"x\"", {{"object", "ns/a"}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "failed \"x\"");
  EXPECT_EQ(j["object"], "ns/a");
}

// Issue 18 (found by a kubeconfig of random bytes): invalid UTF-8 in a value made the text
// format throw out of the log call, and with it out of the manager's kubeconfig reload.
TEST(Log, InvalidUtf8InValuesIsReplacedNotThrown) {
  const std::string bad = std::string("bytes \xde\xad\x00\xbe\xef", 10);
  for (Format format : {Format::kText, Format::kJson}) {
    std::string line;
    ASSERT_NO_THROW(line = Render(format, Level::kError, "", "cannot parse", {{"error", bad}}));
    EXPECT_NE(line.find("\xEF\xBF\xBD"), std::string::npos) << line;
  }
  ASSERT_NO_THROW(Error("cannot parse", {{"error", bad}}));
}

TEST(Log, SecretsAreRedacted) {
  std::string line = Render(Format::kText, Level::kInfo, "", "auth",
                            {{"token", "s3cr3t"}, {"bearerToken", "abc"}, {"user", "bob"}});
  EXPECT_EQ(line.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(line.find("abc"), std::string::npos);
  EXPECT_NE(line.find("user=bob"), std::string::npos);
}

TEST(Log, LevelFilter) {
  log::Setup({Level::kWarn, Format::kText, "t"});
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  log::Setup({Level::kInfo, Format::kText, ""});
}

}  // namespace
}  // namespace brfed::log
