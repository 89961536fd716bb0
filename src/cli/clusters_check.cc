#include "cli/clusters_check.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/table.h"
#include "core/strings.h"

namespace brfed::cli {
namespace {

CheckItem Ok(std::string summary) { return {CheckState::kOk, std::move(summary), ""}; }
CheckItem Failed(std::string summary, std::string fix) {
  return {CheckState::kFailed, std::move(summary), std::move(fix)};
}
CheckItem Skipped() { return {CheckState::kSkipped, "-", ""}; }

// What the manager does with members (deploy/data-plane/rbac.yaml): reads everywhere (its
// informers are cluster-wide), writes only in the namespaces of the TidbClusters.
const char* kReadVerbs[] = {"get", "list", "watch"};
const char* kWriteVerbs[] = {"create", "patch", "delete"};

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

namespace {

// Discovery of pingcap.com answers reachability, authentication and the CRDs at once; returns
// false when a failure leaves nothing more to check.
bool CheckDiscovery(kube::Client& client, ClusterCheck& c) {
  Result<Json> discovery = client.Request("GET", "/apis/pingcap.com/v1alpha1", nullptr);
  const Status& st = discovery.status();
  if (!discovery.ok() && st.code() == Code::kTimeout && st.http_status() == 0) {
    // Connected (or connecting) but no answer: a frozen, overloaded or partitioned server.
    c.reachable = Failed("no", "the API server at " + c.server + " did not answer within " +
                                   std::to_string(kClusterCheckTimeout.count()) +
                                   "s (frozen, overloaded or partitioned?): " + st.message());
    return false;
  }
  if (!discovery.ok() && (st.code() == Code::kUnavailable || st.code() == Code::kTimeout ||
                          st.code() == Code::kCancelled)) {
    c.reachable =
        Failed("no", "start the API server at " + c.server +
                         " or fix its address in the federation kubeconfig (" + st.message() + ")");
    return false;
  }
  c.reachable = Ok("yes");
  if (!discovery.ok() && st.code() == Code::kUnauthorized) {
    c.authenticated = Failed("no", "the server rejected the credentials of context \"" + c.cluster +
                                       "\": put a valid token or client certificate in the "
                                       "federation kubeconfig");
    return false;
  }
  c.authenticated = Ok("yes");
  if (!discovery.ok() && st.code() != Code::kNotFound) {
    c.crds = Failed("unknown", "discovery of pingcap.com/v1alpha1 failed: " + st.message());
    return false;
  }
  std::vector<std::string> missing = {"backups", "restores"};
  if (discovery.ok()) {
    if (const Json* resources = JsonAt(*discovery, {"resources"});
        resources && resources->is_array()) {
      for (const Json& r : *resources) std::erase(missing, JsonStringAt(r, {"name"}));
    }
  }
  if (!missing.empty()) {
    const std::string list =
        Join(missing, ", ", [](const std::string& m) { return m + ".pingcap.com"; });
    c.crds = Failed("missing " + list, "install TiDB Operator's CRDs in \"" + c.cluster +
                                           "\" (kubectl apply -f the operator's crd.yaml; for a "
                                           "test server: deploy/crds/test)");
    return false;
  }
  c.crds = Ok("yes");
  return true;
}

// Whether the server allows `verb` on pingcap.com `resource` in `ns` ("" = every namespace),
// by one SelfSubjectAccessReview; an error when the server does not answer reviews.
Result<bool> Allowed(kube::Client& client, const std::string& verb, const std::string& resource,
                     const std::string& ns) {
  Json attributes = {{"group", "pingcap.com"}, {"resource", resource}, {"verb", verb}};
  if (!ns.empty()) attributes["namespace"] = ns;
  const Json review = {{"apiVersion", "authorization.k8s.io/v1"},
                       {"kind", "SelfSubjectAccessReview"},
                       {"spec", {{"resourceAttributes", attributes}}}};
  BRFED_ASSIGN_OR_RETURN(
      Json answer,
      client.Request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", &review));
  return JsonBoolAt(answer, {"status", "allowed"});
}

// Where the manager writes members: the tcNamespaces of the --cluster targets, else the
// namespaces holding a TidbCluster, else (none known) every namespace ("").
std::vector<std::string> WriteNamespaces(kube::Client& client,
                                         const std::vector<ClusterTarget>& expected) {
  std::set<std::string> namespaces;
  for (const ClusterTarget& t : expected) namespaces.insert(t.tc_namespace);
  if (expected.empty()) {
    Result<Json> list = client.List(kube::resources::TidbCluster(), "");
    const Json* items = list.ok() ? JsonAt(*list, {"items"}) : nullptr;
    if (items != nullptr && items->is_array()) {
      for (const Json& tc : *items) namespaces.insert(JsonStringAt(tc, {"metadata", "namespace"}));
    }
  }
  if (namespaces.empty()) return {""};
  return {namespaces.begin(), namespaces.end()};
}

// Access: one SelfSubjectAccessReview per verb and resource (per namespace for writes). The
// summary names each denied verb; the fix names the namespaces.
CheckItem CheckAccess(kube::Client& client, const std::string& cluster,
                      const std::vector<std::string>& write_namespaces) {
  std::vector<std::string> denied;
  std::set<std::string> denied_in;
  auto check = [&](const std::string& verb, const std::string& resource,
                   const std::string& ns) -> Status {
    BRFED_ASSIGN_OR_RETURN(bool allowed, Allowed(client, verb, resource, ns));
    if (allowed) return Status::Ok();
    const std::string what = verb + " " + resource;
    if (std::find(denied.begin(), denied.end(), what) == denied.end()) denied.push_back(what);
    denied_in.insert(ns.empty() ? "every namespace" : "namespace " + ns);
    return Status::Ok();
  };
  for (const char* resource : {"backups", "restores"}) {
    for (const char* verb : kReadVerbs) {
      if (!check(verb, resource, "").ok()) return {CheckState::kNotChecked, "not checked", ""};
    }
    for (const char* verb : kWriteVerbs) {
      for (const std::string& ns : write_namespaces) {
        if (!check(verb, resource, ns).ok()) return {CheckState::kNotChecked, "not checked", ""};
      }
    }
  }
  if (denied.empty()) return Ok("yes");
  return Failed("denied: " + Join(denied, ", "),
                "grant the manager's user " + Join(denied, ", ") + " on pingcap.com in " +
                    Join(std::vector<std::string>(denied_in.begin(), denied_in.end()), ", ") +
                    " of \"" + cluster +
                    "\" (brfed clusters join does; see deploy/data-plane/rbac.yaml)" +
                    (denied_in.count("every namespace") > 0
                         ? "; or name the TidbCluster with --cluster CONTEXT=NS/TC to check "
                           "only its namespace"
                         : ""));
}

// The identity may not read TidbClusters: fine, the manager does not (deploy/data-plane/rbac.yaml).
CheckItem TidbClustersUnreadable() { return {CheckState::kNotChecked, "not readable", ""}; }

// The TidbClusters named by --cluster flags for this cluster.
CheckItem CheckExpectedTidbClusters(kube::Client& client, const std::string& cluster,
                                    const std::vector<ClusterTarget>& expected) {
  std::vector<std::string> absent;
  for (const ClusterTarget& t : expected) {
    Result<Json> tc = client.Get(kube::resources::TidbCluster(), t.tc_namespace, t.tc_name);
    // The manager never reads TidbClusters, so its least-privilege identity may not either.
    if (tc.status().code() == Code::kForbidden) return TidbClustersUnreadable();
    if (!tc.ok()) absent.push_back(t.tc_namespace + "/" + t.tc_name);
  }
  if (absent.empty()) return Ok(std::to_string(expected.size()) + " found");
  return Failed("missing " + Join(absent, ", "),
                "create the TidbCluster in \"" + cluster + "\" or fix the --cluster flag");
}

// Without --cluster flags: any TidbCluster at all.
CheckItem CheckAnyTidbCluster(kube::Client& client, const std::string& cluster) {
  Result<Json> list = client.List(kube::resources::TidbCluster(), "");
  const Json* items = list.ok() ? JsonAt(*list, {"items"}) : nullptr;
  const size_t n = items && items->is_array() ? items->size() : 0;
  if (list.status().code() == Code::kForbidden) return TidbClustersUnreadable();
  if (!list.ok()) return Failed("unknown", "cannot list TidbClusters: " + list.status().message());
  if (n == 0) {
    return Failed("none", "deploy the TidbCluster's TiKV in \"" + cluster +
                              "\" (the federation backs up TiKV volumes there)");
  }
  return Ok(Join(*items, ",", [](const Json& tc) {
    return JsonStringAt(tc, {"metadata", "namespace"}) + "/" +
           JsonStringAt(tc, {"metadata", "name"});
  }));
}

}  // namespace

ClusterCheck CheckCluster(kube::Client& client, const std::string& server,
                          const std::vector<ClusterTarget>& expected) {
  ClusterCheck c;
  c.cluster = client.cluster_name();
  c.server = server;
  c.authenticated = c.crds = c.access = c.tidbclusters = Skipped();
  if (!CheckDiscovery(client, c)) return c;
  c.access = CheckAccess(client, c.cluster, WriteNamespaces(client, expected));
  c.tidbclusters = expected.empty() ? CheckAnyTidbCluster(client, c.cluster)
                                    : CheckExpectedTidbClusters(client, c.cluster, expected);
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
