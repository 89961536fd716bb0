// The Grafana dashboard and the Prometheus rules query only metrics that a running
// br-federation-manager really exposes, and the rules pass promtool's check and unit tests.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "tests/deploy/deploy_util.h"
#include "tests/harness/federation_env.h"

namespace brfed::testing {
namespace {

constexpr char kRules[] = "deploy/prometheus/br-federation-rules.yaml";

// The series names a PromQL expression selects: identifiers that are neither functions,
// keywords, label names in by/on/... lists nor inside matchers, strings or ranges.
std::set<std::string> MetricNames(std::string expr) {
  static const std::regex kStrings(R"("([^"\\]|\\.)*")");
  static const std::regex kMatchers(R"(\{[^}]*\})");
  static const std::regex kRanges(R"(\[[^\]]*\])");
  static const std::regex kGroupings(
      R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))");
  static const std::regex kIdentifier(R"([A-Za-z_:][A-Za-z0-9_:]*(\s*\()?)");
  static const std::set<std::string> kKeywords = {"and",    "or",  "unless", "bool",
                                                  "offset", "inf", "nan"};
  for (const std::regex* r : {&kStrings, &kMatchers, &kRanges, &kGroupings}) {
    expr = std::regex_replace(expr, *r, " ");
  }
  std::set<std::string> names;
  for (std::sregex_iterator it(expr.begin(), expr.end(), kIdentifier), end; it != end; ++it) {
    if ((*it)[1].matched) continue;  // a function call
    std::string name = (*it)[0];
    std::string lower = name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
    // Grafana variables ($__range) and numbers' exponents never start an identifier here.
    size_t start = static_cast<size_t>(it->position());
    if (start > 0 && (expr[start - 1] == '$' || std::isdigit(expr[start - 1]) != 0)) continue;
    if (kKeywords.count(lower) == 0) names.insert(name);
  }
  return names;
}

TEST(MetricNames, ParsesSelectorsOnly) {
  EXPECT_EQ(MetricNames(R"(histogram_quantile(0.99, sum by (le, cluster) )"
                        R"((rate(a_bucket{cluster=~"$cluster"}[$__rate_interval]))))"),
            (std::set<std::string>{"a_bucket"}));
  EXPECT_EQ(MetricNames("time() - b_seconds > 25 * 3600 and on(x) c unless d offset 5m"),
            (std::set<std::string>{"b_seconds", "c", "d"}));
  EXPECT_EQ(MetricNames(R"(sum(x{le="+Inf"}) - ignoring(le) y)"),
            (std::set<std::string>{"x", "y"}));
}

// Every PromQL expression of the dashboard: panel targets (rows included) and variables.
void CollectDashboardExprs(const Json& panels, std::vector<std::string>* out) {
  for (const Json& p : panels) {
    if (p.contains("targets")) {
      for (const Json& t : p["targets"]) out->push_back(t.value("expr", ""));
    }
    if (p.contains("panels")) CollectDashboardExprs(p["panels"], out);
  }
}

std::vector<std::string> DashboardExprs() {
  auto dashboard = ParseYaml(ReadFile(SourcePath("deploy/grafana/br-federation.json")));
  EXPECT_TRUE(dashboard.ok()) << dashboard.status().ToString();
  std::vector<std::string> exprs;
  if (!dashboard.ok()) return exprs;
  CollectDashboardExprs((*dashboard)["panels"], &exprs);
  static const std::regex kLabelValues(R"(label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*))");
  for (const Json& v : (*dashboard)["templating"]["list"]) {
    std::smatch m;
    std::string def = v.value("definition", "");
    if (std::regex_search(def, m, kLabelValues)) exprs.push_back(m[1]);
  }
  return exprs;
}

std::vector<std::string> RuleExprs() {
  auto rules = ParseYaml(ReadFile(SourcePath(kRules)));
  EXPECT_TRUE(rules.ok()) << rules.status().ToString();
  std::vector<std::string> exprs;
  if (!rules.ok()) return exprs;
  for (const Json& g : (*rules)["groups"]) {
    for (const Json& r : g["rules"]) exprs.push_back(r.value("expr", ""));
  }
  return exprs;
}

// The sample names of /metrics: each family's name, and a histogram's _bucket/_sum/_count.
std::set<std::string> ExposedSeries(const std::string& metrics) {
  std::set<std::string> out;
  static const std::regex kType(R"(# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (\w+))");
  for (std::sregex_iterator it(metrics.begin(), metrics.end(), kType), end; it != end; ++it) {
    std::string name = (*it)[1];
    if ((*it)[2] == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) out.insert(name + suffix);
    } else {
      out.insert(name);
    }
  }
  return out;
}

class ManagerMetrics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto env = FederationEnv::Start({});
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    auto manager = env_->StartManager("metrics");
    ASSERT_TRUE(manager.ok()) << manager.status().ToString();
    manager_ = std::move(*manager);
    // Controllers register their metrics when they start; reachability after the first probe.
    ASSERT_TRUE(WaitFor(
        [] {
          std::string m = manager_->Metrics();
          return m.find("brfed_schedule_backups_created_total") != std::string::npos &&
                 m.find("fed_volume_restore_status") != std::string::npos &&
                 m.find("brfed_data_plane_reachable{") != std::string::npos;
        },
        60s))
        << manager_->Log();
    exposed_ = ExposedSeries(manager_->Metrics());
  }
  static void TearDownTestSuite() {
    manager_.reset();
    env_.reset();
  }

  static void ExpectExposed(const std::vector<std::string>& exprs, const std::string& what,
                            const std::set<std::string>& outside = {}) {
    ASSERT_FALSE(exprs.empty()) << what;
    for (const std::string& expr : exprs) {
      std::set<std::string> names = MetricNames(expr);
      EXPECT_FALSE(names.empty()) << what << ": no metric in " << expr;
      for (const std::string& name : names) {
        if (outside.count(name) != 0) continue;
        EXPECT_EQ(exposed_.count(name), 1u)
            << what << " queries " << name << ", which /metrics does not expose (in: " << expr
            << ")";
      }
    }
  }

  static std::unique_ptr<FederationEnv> env_;
  static std::unique_ptr<ManagerProcess> manager_;
  static std::set<std::string> exposed_;
};

std::unique_ptr<FederationEnv> ManagerMetrics::env_;
std::unique_ptr<ManagerProcess> ManagerMetrics::manager_;
std::set<std::string> ManagerMetrics::exposed_;

TEST_F(ManagerMetrics, DashboardQueriesOnlyExposedMetrics) {
  ExpectExposed(DashboardExprs(), "deploy/grafana/br-federation.json");
}

TEST_F(ManagerMetrics, RulesQueryOnlyExposedMetrics) {
  // `up` is Prometheus' own series about the scrape.
  ExpectExposed(RuleExprs(), kRules, {"up"});
}

// The pause alert compares two buckets by their `le`; both must be real bucket bounds.
TEST_F(ManagerMetrics, PauseAlertBucketsExist) {
  // The histogram has series only after a pause; its bounds are ExponentialBuckets(0.003125, 2,
  // 19), 3.125 ms .. 819.2 s, which /metrics prints in the shortest form (819.2).
  std::string metrics = manager_->Metrics();
  std::string rules = ReadFile(SourcePath(kRules));
  static const std::regex kLe(R"(gc_pause_seconds_bucket\{le="([^"]+)\"\})");
  int checked = 0;
  for (std::sregex_iterator it(rules.begin(), rules.end(), kLe), end; it != end; ++it) {
    ++checked;
    std::string le = (*it)[1];
    EXPECT_NE(le, "");
    if (le == "+Inf") continue;
    bool found = false;
    for (double b = 0.05; b < 2000; b *= 2) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%g", b);
      found = found || le == buf;
    }
    EXPECT_TRUE(found) << "le=\"" << le << "\" is not a bucket of brfed_volume_backup_gc_pause";
  }
  EXPECT_EQ(checked, 2);
  EXPECT_NE(metrics.find("# TYPE brfed_volume_backup_gc_pause_seconds histogram"),
            std::string::npos);
}

TEST(Promtool, RulesCheck) {
  auto r = RunTool("promtool", {"check", "rules", SourcePath(kRules)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0) << r->out << r->err;
  EXPECT_NE((r->out + r->err).find("SUCCESS"), std::string::npos) << r->out << r->err;
}

TEST(Promtool, RulesUnitTests) {
  auto r = RunTool(
      "promtool",
      {"test", "rules", SourcePath("deploy/prometheus/tests/br-federation-rules.test.yaml")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0) << r->out << r->err;
  EXPECT_NE((r->out + r->err).find("SUCCESS"), std::string::npos) << r->out << r->err;
}

}  // namespace
}  // namespace brfed::testing
