#include "manager/go_flags.h"

#include <gtest/gtest.h>

namespace brfed::manager {
namespace {

using Args = std::vector<std::string>;

struct GoodCase {
  Args in;
  Args out;
  size_t warnings = 0;
};

TEST(GoFlagsTest, GoSpellingsTranslate) {
  const std::vector<GoodCase> cases = {
      {{"-workers=7"}, {"--workers", "7"}},
      {{"-workers", "7"}, {"--workers", "7"}},
      {{"--workers=7"}, {"--workers", "7"}},
      {{"--workers", "7"}, {"--workers", "7"}},
      {{"-cluster-scoped"}, {"--cluster-scoped=true"}},
      {{"-cluster-scoped=false"}, {"--cluster-scoped=false"}},
      {{"--cluster-scoped=F"}, {"--cluster-scoped=false"}},
      {{"-cluster-scoped=1"}, {"--cluster-scoped=true"}},
      {{"-v=2"}, {"--log-level", "2"}},
      {{"-v", "4"}, {"--log-level", "4"}},
      {{"--v=5"}, {"--log-level", "5"}},
      {{"-V"}, {"-V"}},
      {{"-version"}, {"-V"}},
      {{"--version=false"}, {}},
      {{"-h"}, {"--help"}},
      {{"-leader-resource-lock=leases"}, {"--leader-resource-lock", "leases"}},
      {{"-federation-kubeconfig-path=/a=b"}, {"--federation-kubeconfig-path", "/a=b"}},
      {{"-logtostderr"}, {}, 0},
      {{"-logtostderr=false"}, {}, 1},
      {{"-alsologtostderr"}, {}, 0},
      {{"-vmodule=foo=3"}, {}, 1},
      {{"-log_dir", "/tmp"}, {}, 1},
      {{"-log_file=/x", "-log_file_max_size=1800"}, {}, 2},
      {{"-stderrthreshold=warning"}, {}, 1},
      {{"-stderrthreshold", "2"}, {}, 1},
      {{"-add_dir_header", "-skip_headers", "-skip_log_headers=true", "-one_output"}, {}, 4},
      {{"-log_backtrace_at=file.go:10"}, {}, 1},
      {{"stray", "-workers=1"}, {"stray", "--workers", "1"}},
      {{"--", "-workers=1"}, {"--", "-workers=1"}},
  };
  for (const auto& c : cases) {
    auto t = TranslateGoFlags(c.in, ManagerGoFlags());
    ASSERT_TRUE(t.ok()) << c.in[0] << ": " << t.status().ToString();
    EXPECT_EQ(t->args, c.out) << c.in[0];
    EXPECT_EQ(t->warnings.size(), c.warnings) << c.in[0];
  }
}

TEST(GoFlagsTest, IgnoredKlogFlagWarningNamesTheFlag) {
  auto t = TranslateGoFlags({"-vmodule=x=2"}, ManagerGoFlags());
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->warnings.size(), 1u);
  EXPECT_NE(t->warnings[0].find("-vmodule=x=2"), std::string::npos) << t->warnings[0];
  EXPECT_EQ(t->warnings[0].find('\n'), std::string::npos);
}

struct BadCase {
  Args in;
  std::string expected;
};

TEST(GoFlagsTest, MalformedInputIsOneLineNamingTheFlag) {
  const std::vector<BadCase> cases = {
      {{"-cluster-scoped=maybe"}, "invalid boolean value \"maybe\" for flag -cluster-scoped"},
      {{"-cluster-scoped="}, "for flag -cluster-scoped"},
      {{"-leader-elect=yes"}, "for flag -leader-elect"},
      {{"-logtostderr=no"}, "for flag -logtostderr"},
      {{"-workers"}, "flag needs an argument: -workers"},
      {{"-log_dir"}, "flag needs an argument: -log_dir"},
      {{"-no-such-flag=1"}, "flag provided but not defined: -no-such-flag=1"},
      {{"--no-such-flag"}, "flag provided but not defined: --no-such-flag"},
      {{"-="}, "not defined"},
      {{"-log_file_max_size=big"}, "for flag -log_file_max_size"},
      {{"-stderrthreshold=LOUD"}, "for flag -stderrthreshold"},
  };
  for (const auto& c : cases) {
    auto t = TranslateGoFlags(c.in, ManagerGoFlags());
    ASSERT_FALSE(t.ok()) << c.in[0];
    EXPECT_NE(t.status().message().find(c.expected), std::string::npos)
        << c.in[0] << ": " << t.status().message();
    EXPECT_EQ(t.status().message().find('\n'), std::string::npos);
  }
}

TEST(GoFlagsTest, GoBools) {
  for (const char* yes : {"1", "t", "T", "true", "TRUE", "True"}) {
    EXPECT_TRUE(*ParseGoBool(yes)) << yes;
  }
  for (const char* no : {"0", "f", "F", "false", "FALSE", "False"}) {
    EXPECT_FALSE(*ParseGoBool(no)) << no;
  }
  for (const char* bad : {"", "yes", "on", "tRuE", "2"}) EXPECT_FALSE(ParseGoBool(bad).ok()) << bad;
}

}  // namespace
}  // namespace brfed::manager
