#include "cli/clusters_check.h"

#include <nlohmann/json.hpp>

#include "cli/table.h"

namespace brfed::cli {
namespace {

CheckItem Ok(std::string summary) { return {CheckState::kOk, std::move(summary), ""}; }
CheckItem Failed(std::string summary, std::string fix) {
  return {CheckState::kFailed, std::move(summary), std::move(fix)};
}
CheckItem Skipped() { return {CheckState::kSkipped, "-", ""}; }

const char* kVerbs[] = {"get", "list", "watch", "create", "patch", "delete"};

}  // namespace

bool ClusterCheck::ok() const {
  for (const CheckItem* item : {&reachable, &authenticated, &crds, &access, &tidbclusters}) {
    if (item->state == CheckState::kFailed) return false;
  }
  return true;
}

ClusterCheck UnconfiguredCluster(const std::string& cluster, const std::string& error) {
  ClusterCheck c;
  c.cluster = cluster;
  c.reachable =
      Failed("no", "fix context \"" + cluster + "\" in the federation kubeconfig: " + error);
  c.authenticated = c.crds = c.access = c.tidbclusters = Skipped();
  return c;
}

ClusterCheck CheckCluster(kube::Client& client, const std::string& server,
                          const std::vector<ClusterTarget>& expected) {
  ClusterCheck c;
  c.cluster = client.cluster_name();
  c.server = server;
  c.authenticated = c.crds = c.access = c.tidbclusters = Skipped();

  // Discovery of pingcap.com answers reachability, authentication and the CRDs at once.
  Result<Json> discovery = client.Request("GET", "/apis/pingcap.com/v1alpha1", nullptr);
  const Status& st = discovery.status();
  if (!discovery.ok() && (st.code() == Code::kUnavailable || st.code() == Code::kTimeout ||
                          st.code() == Code::kCancelled)) {
    c.reachable =
        Failed("no", "start the API server at " + server +
                         " or fix its address in the federation kubeconfig (" + st.message() + ")");
    return c;
  }
  c.reachable = Ok("yes");
  if (!discovery.ok() && st.code() == Code::kUnauthorized) {
    c.authenticated = Failed("no", "the server rejected the credentials of context \"" + c.cluster +
                                       "\": put a valid token or client certificate in the "
                                       "federation kubeconfig");
    return c;
  }
  c.authenticated = Ok("yes");
  if (!discovery.ok() && st.code() != Code::kNotFound) {
    c.crds = Failed("unknown", "discovery of pingcap.com/v1alpha1 failed: " + st.message());
    return c;
  }
  std::vector<std::string> missing = {"backups", "restores"};
  if (discovery.ok()) {
    if (const Json* resources = JsonAt(*discovery, {"resources"});
        resources && resources->is_array()) {
      for (const Json& r : *resources) {
        const std::string name = JsonStringAt(r, {"name"});
        std::erase(missing, name);
      }
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m + ".pingcap.com";
    c.crds = Failed("missing " + list, "install TiDB Operator's CRDs in \"" + c.cluster +
                                           "\" (kubectl apply -f the operator's crd.yaml; for a "
                                           "test server: deploy/crds/test)");
    return c;
  }
  c.crds = Ok("yes");

  // Access: one SelfSubjectAccessReview per verb and resource.
  std::string denied;
  bool supported = true;
  for (const char* resource : {"backups", "restores"}) {
    for (const char* verb : kVerbs) {
      const Json review = {
          {"apiVersion", "authorization.k8s.io/v1"},
          {"kind", "SelfSubjectAccessReview"},
          {"spec",
           {{"resourceAttributes",
             {{"group", "pingcap.com"}, {"resource", resource}, {"verb", verb}}}}}};
      Result<Json> answer =
          client.Request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", &review);
      if (!answer.ok()) {
        supported = false;
        break;
      }
      if (!JsonBoolAt(*answer, {"status", "allowed"})) {
        denied += (denied.empty() ? "" : ", ") + std::string(verb) + " " + resource;
      }
    }
    if (!supported) break;
  }
  if (!supported) {
    c.access = {CheckState::kNotChecked, "not checked", ""};
  } else if (!denied.empty()) {
    c.access = Failed("denied: " + denied,
                      "grant the manager's user these verbs on pingcap.com backups and restores "
                      "in \"" +
                          c.cluster + "\" (a ClusterRole + binding; see deploy/)");
  } else {
    c.access = Ok("yes");
  }

  // TidbClusters.
  if (!expected.empty()) {
    std::string absent;
    for (const ClusterTarget& t : expected) {
      Result<Json> tc = client.Get(kube::resources::TidbCluster(), t.tc_namespace, t.tc_name);
      if (!tc.ok()) absent += (absent.empty() ? "" : ", ") + t.tc_namespace + "/" + t.tc_name;
    }
    c.tidbclusters = absent.empty()
                         ? Ok(std::to_string(expected.size()) + " found")
                         : Failed("missing " + absent, "create the TidbCluster in \"" + c.cluster +
                                                           "\" or fix the --cluster flag");
  } else {
    Result<Json> list = client.List(kube::resources::TidbCluster(), "");
    const Json* items = list.ok() ? JsonAt(*list, {"items"}) : nullptr;
    const size_t n = items && items->is_array() ? items->size() : 0;
    if (!list.ok()) {
      c.tidbclusters = Failed("unknown", "cannot list TidbClusters: " + list.status().message());
    } else if (n == 0) {
      c.tidbclusters = Failed("none", "deploy the TidbCluster's TiKV in \"" + c.cluster +
                                          "\" (the federation backs up TiKV volumes there)");
    } else {
      std::string names;
      for (const Json& tc : *items) {
        names += (names.empty() ? "" : ",") + JsonStringAt(tc, {"metadata", "namespace"}) + "/" +
                 JsonStringAt(tc, {"metadata", "name"});
      }
      c.tidbclusters = Ok(names);
    }
  }
  return c;
}

std::string RenderClusterChecks(const std::vector<ClusterCheck>& checks, const Style& style) {
  auto cell = [&](const CheckItem& item) {
    switch (item.state) {
      case CheckState::kOk:
        return style.Green(item.summary);
      case CheckState::kFailed:
        return style.Red(item.summary);
      default:
        return style.Dim(item.summary);
    }
  };
  std::vector<TableRow> rows;
  std::string fixes;
  for (const ClusterCheck& c : checks) {
    rows.push_back({c.cluster, cell(c.reachable), cell(c.authenticated), cell(c.crds),
                    cell(c.access), cell(c.tidbclusters)});
    for (const CheckItem* item :
         {&c.reachable, &c.authenticated, &c.crds, &c.access, &c.tidbclusters}) {
      if (item->state == CheckState::kFailed) fixes += "  " + c.cluster + ": " + item->fix + "\n";
    }
  }
  std::string out = RenderTable(
      {"CLUSTER", "REACHABLE", "AUTHENTICATED", "CRDS", "ACCESS", "TIDBCLUSTERS"}, rows);
  if (!fixes.empty()) out += "\nTo fix:\n" + fixes;
  return out;
}

}  // namespace brfed::cli
