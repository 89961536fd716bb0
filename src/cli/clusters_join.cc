#include "cli/clusters_join.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/output.h"
#include "core/duration.h"
#include "core/files.h"
#include "core/object_ref.h"
#include "core/strings.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/pem.h"

namespace brfed::cli {
namespace {

const kube::Resource& ServiceAccountResource() {
  static const kube::Resource r{"", "v1", "serviceaccounts", "ServiceAccount", true};
  return r;
}
const kube::Resource& ClusterRoleResource() {
  static const kube::Resource r{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole",
                                false};
  return r;
}
const kube::Resource& ClusterRoleBindingResource() {
  static const kube::Resource r{"rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                                "ClusterRoleBinding", false};
  return r;
}
const kube::Resource& RoleBindingResource() {
  static const kube::Resource r{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding",
                                true};
  return r;
}

std::string ReaderName(const std::string& name) { return "brfed-" + name + "-reader"; }
std::string WriterName(const std::string& name) { return "brfed-" + name + "-writer"; }

Json Metadata(const std::string& name, const std::string& ns, const std::string& joined_as) {
  Json m = {{"name", name},
            {"labels", {{"app.kubernetes.io/managed-by", "brfed"}, {kJoinedAsLabel, joined_as}}}};
  if (!ns.empty()) m["namespace"] = ns;
  return m;
}

Json Object(const kube::Resource& r, Json metadata) {
  return {{"apiVersion", r.ApiVersion()}, {"kind", r.kind}, {"metadata", std::move(metadata)}};
}

Json Rules(const Json& verbs) {
  return Json::array(
      {{{"apiGroups", {"pingcap.com"}}, {"resources", {"backups", "restores"}}, {"verbs", verbs}}});
}

JoinObject Binding(const kube::Resource& kind, const std::string& binding, const std::string& ns,
                   const std::string& role, const std::string& name) {
  Json b = Object(kind, Metadata(binding, ns, name));
  b["subjects"] = Json::array({{{"kind", "ServiceAccount"},
                                {"name", ServiceAccountName(name)},
                                {"namespace", kJoinNamespace}}});
  b["roleRef"] = {
      {"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", role}};
  return {&kind, ns, std::move(b)};
}

}  // namespace

Status ValidateJoinName(const std::string& name) {
  if (std::string err = ValidateDnsLabel(name); !err.empty()) {
    return InvalidArgument("cluster name \"" + name + "\": " + err +
                           " (it names the context and the objects in the data plane)");
  }
  return Status::Ok();
}

Result<std::chrono::seconds> ParseTokenDuration(const std::string& text) {
  Result<std::chrono::nanoseconds> d = ParseGoDuration(text);
  if (!d.ok() || *d < std::chrono::minutes(10)) {
    return InvalidArgument("--token-duration \"" + text +
                           "\" is not a duration of at least 10m, such as 8760h");
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

// get: the VolumeBackup controller reads a member its cache lacks (hand-over, deletion).
Json MemberReaderRules() { return Rules({"get", "list", "watch"}); }
Json MemberWriterRules() { return Rules({"create", "patch", "delete"}); }

std::string ServiceAccountName(const std::string& name) { return "brfed-" + name; }

std::vector<JoinObject> JoinObjects(const std::string& name,
                                    const std::vector<std::string>& tc_namespaces) {
  std::vector<JoinObject> out;
  out.push_back(
      {&ServiceAccountResource(), kJoinNamespace,
       Object(ServiceAccountResource(), Metadata(ServiceAccountName(name), kJoinNamespace, name))});
  for (const auto& [role, rules] : {std::pair{ReaderName(name), MemberReaderRules()},
                                    std::pair{WriterName(name), MemberWriterRules()}}) {
    Json r = Object(ClusterRoleResource(), Metadata(role, "", name));
    r["rules"] = rules;
    out.push_back({&ClusterRoleResource(), "", std::move(r)});
  }
  out.push_back(
      Binding(ClusterRoleBindingResource(), ReaderName(name), "", ReaderName(name), name));
  if (tc_namespaces.empty()) {
    out.push_back(
        Binding(ClusterRoleBindingResource(), WriterName(name), "", WriterName(name), name));
  }
  for (const std::string& ns : std::set(tc_namespaces.begin(), tc_namespaces.end())) {
    out.push_back(Binding(RoleBindingResource(), WriterName(name), ns, WriterName(name), name));
  }
  return out;
}

Result<std::pair<std::string, std::string>> ParseSecretFlag(const std::string& text) {
  const size_t slash = text.find('/');
  const std::string ns = text.substr(0, slash);
  const std::string name = slash == std::string::npos ? "" : text.substr(slash + 1);
  std::string err = slash == std::string::npos ? "not NAMESPACE/NAME" : ValidateDnsLabel(ns);
  if (err.empty()) err = ValidateDnsSubdomain(name);
  if (!err.empty()) return InvalidArgument("--secret \"" + text + "\": " + err);
  return std::pair{ns, name};
}

Json KubeconfigSecret(const std::string& ns, const std::string& name,
                      const std::string& kubeconfig_text) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"type", "Opaque"},
          {"data", {{"kubeconfig", kube::EncodeBase64(kubeconfig_text)}}}};
}

Json TokenRequestBody(std::chrono::seconds duration) {
  return {{"apiVersion", "authentication.k8s.io/v1"},
          {"kind", "TokenRequest"},
          {"spec", {{"expirationSeconds", duration.count()}}}};
}

std::string TokenSecretName(const std::string& name) { return "brfed-" + name + "-token"; }

Json TokenSecret(const std::string& name) {
  Json metadata = Metadata(TokenSecretName(name), kJoinNamespace, name);
  metadata["annotations"] = {{"kubernetes.io/service-account.name", ServiceAccountName(name)}};
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", std::move(metadata)},
          {"type", "kubernetes.io/service-account-token"}};
}

namespace {

// Removes the entries named `name` from the list `key` of `kubeconfig` (absent = empty list).
Status DropNamed(Json& kubeconfig, const char* key, const std::string& name) {
  Json& list = kubeconfig[key];
  if (list.is_null()) list = Json::array();
  if (!list.is_array()) return InvalidArgument(std::string(key) + " is not a list");
  Json kept = Json::array();
  for (const Json& entry : list) {
    if (!entry.is_object() || JsonStringAt(entry, {"name"}) != name) kept.push_back(entry);
  }
  list = std::move(kept);
  return Status::Ok();
}

}  // namespace

Result<Json> SetFederationContext(Json kubeconfig, const std::string& name,
                                  const FederationEntry& entry) {
  if (kubeconfig.is_null()) kubeconfig = {{"apiVersion", "v1"}, {"kind", "Config"}};
  if (!kubeconfig.is_object()) return InvalidArgument("not a kubeconfig (not a mapping)");
  for (const char* key : {"clusters", "users", "contexts"}) {
    BRFED_RETURN_IF_ERROR(DropNamed(kubeconfig, key, name));
  }
  Json cluster = {{"server", entry.server}};
  if (!entry.ca_data.empty()) cluster["certificate-authority-data"] = entry.ca_data;
  if (entry.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
  if (!entry.tls_server_name.empty()) cluster["tls-server-name"] = entry.tls_server_name;
  kubeconfig["clusters"].push_back({{"name", name}, {"cluster", std::move(cluster)}});
  kubeconfig["users"].push_back({{"name", name}, {"user", {{"token", entry.token}}}});
  kubeconfig["contexts"].push_back(
      {{"name", name}, {"context", {{"cluster", name}, {"user", name}}}});
  return kubeconfig;
}

Json RemoveFederationContext(Json kubeconfig, const std::string& name) {
  if (!kubeconfig.is_object()) return kubeconfig;
  for (const char* key : {"clusters", "users", "contexts"}) {
    if (kubeconfig.contains(key)) (void)DropNamed(kubeconfig, key, name);
  }
  if (JsonStringAt(kubeconfig, {"current-context"}) == name) kubeconfig.erase("current-context");
  return kubeconfig;
}

namespace {

std::string FederationPath(const CommandContext& ctx) {
  const std::string& flag = ctx.options().federation_kubeconfig;
  return flag.empty() ? kDefaultFederationKubeconfig : flag;
}

// The federation kubeconfig as Json; null when the file does not exist yet.
Result<Json> LoadFederationJson(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return Json();
    return InvalidArgument("federation kubeconfig " + text.status().message());
  }
  Result<Json> parsed = ParseYaml(*text);
  if (!parsed.ok() || !(parsed->is_object() || parsed->is_null())) {
    return InvalidArgument("federation kubeconfig " + path + " is not a kubeconfig" +
                           (parsed.ok() ? "" : ": " + parsed.status().message()));
  }
  return parsed;
}

// Writes the federation kubeconfig, then, with --secret, the control plane's Secret.
Status SaveFederation(const std::string& path, const Json& kubeconfig, const JoinArgs& args,
                      const CommandContext& ctx) {
  const std::string text = ToYaml(kubeconfig);
  BRFED_RETURN_IF_ERROR(WriteFileAtomically(path, text, 0600));
  if (args.secret.empty()) return Status::Ok();
  BRFED_ASSIGN_OR_RETURN(auto secret, ParseSecretFlag(args.secret));
  Result<kube::RestConfig> config =
      kube::ResolveRestConfig(args.control_kubeconfig, args.control_context);
  if (!config.ok()) {
    return InvalidArgument(
        "cannot load the control-plane kubeconfig for --secret: " + config.status().message() +
        " (pass --control-kubeconfig PATH [--control-context C])");
  }
  config->timeout = ctx.options().request_timeout;
  BRFED_ASSIGN_OR_RETURN(std::shared_ptr<kube::Client> control, kube::NewClient(*config));
  Result<Json> applied =
      control->Patch(kube::resources::Secret(), secret.first, secret.second,
                     kube::PatchType::kApply, KubeconfigSecret(secret.first, secret.second, text));
  if (!applied.ok()) {
    return Status(applied.status().code(), "Secret " + args.secret + " in the control plane " +
                                               config->server + ": " + applied.status().message());
  }
  return Status::Ok();
}

// The data plane is the cluster --kubeconfig/--context point to (the control plane's flags for
// other commands).
struct DataPlane {
  kube::RestConfig config;
  std::shared_ptr<kube::Client> client;
};
Result<DataPlane> ConnectDataPlane(const CommandContext& ctx) {
  Result<kube::RestConfig> config =
      kube::ResolveRestConfig(ctx.options().kubeconfig, ctx.options().context);
  if (!config.ok()) {
    return InvalidArgument("cannot load the data plane's kubeconfig: " + config.status().message() +
                           " (pass --kubeconfig PATH [--context C] with admin rights there)");
  }
  config->timeout = ctx.options().request_timeout;
  BRFED_ASSIGN_OR_RETURN(std::shared_ptr<kube::Client> client, kube::NewClient(*config));
  return DataPlane{std::move(config).value(), std::move(client)};
}

ErrorSubject DataPlaneSubject(const DataPlane& dp, const std::string& name) {
  return {"data plane", dp.config.server, "ServiceAccount", ServiceAccountName(name), ""};
}

// What join and leave both start from, once their own flags are checked: a valid --secret, the
// federation kubeconfig (null when the file does not exist yet) and a client of the data plane.
struct JoinTarget {
  std::string path;
  Json federation;
  DataPlane dp;
};
Result<JoinTarget> OpenJoinTarget(const CommandContext& ctx, const JoinArgs& args) {
  if (!args.secret.empty()) BRFED_RETURN_IF_ERROR(ParseSecretFlag(args.secret).status());
  JoinTarget t;
  t.path = FederationPath(ctx);
  BRFED_ASSIGN_OR_RETURN(t.federation, LoadFederationJson(t.path));
  BRFED_ASSIGN_OR_RETURN(t.dp, ConnectDataPlane(ctx));
  return t;
}

Status IgnoreNotFound(const Status& s) { return s.code() == Code::kNotFound ? Status::Ok() : s; }

// Deletes the RoleBindings of `name` in namespaces outside `keep` (all of them for leave).
Status DeleteRoleBindings(kube::Client& client, const std::string& name,
                          const std::set<std::string>& keep) {
  BRFED_ASSIGN_OR_RETURN(Json list,
                         client.List(RoleBindingResource(), "",
                                     {.label_selector = std::string(kJoinedAsLabel) + "=" + name}));
  for (const Json& item : list.value("items", Json::array())) {
    const std::string ns = JsonStringAt(item, {"metadata", "namespace"});
    if (keep.contains(ns)) continue;
    BRFED_RETURN_IF_ERROR(IgnoreNotFound(
        client.Delete(RoleBindingResource(), ns, JsonStringAt(item, {"metadata", "name"}))));
  }
  return Status::Ok();
}

// A token for the joined identity and how long it lasts, in words.
struct IssuedToken {
  std::string token;
  std::string lifetime;
};

// How long join waits for the data plane's token controller to fill the token Secret.
constexpr std::chrono::seconds kTokenSecretWait{60};

// The token of a token Secret, once filled: `secret` as read, else its changes, watched.
Result<std::string> WatchForToken(kube::Client& client, const std::string& name,
                                  const Json& secret) {
  const std::string secret_name = TokenSecretName(name);
  kube::WatchOptions o{.field_selector = "metadata.name=" + secret_name,
                       .resource_version = JsonStringAt(secret, {"metadata", "resourceVersion"}),
                       .allow_bookmarks = false,
                       .timeout_seconds = static_cast<int>(kTokenSecretWait.count()),
                       .idle_timeout = kTokenSecretWait + std::chrono::seconds(10)};
  Json seen = secret;
  std::unique_ptr<kube::WatchStream> stream;
  while (JsonStringAt(seen, {"data", "token"}).empty()) {
    if (stream == nullptr) {
      BRFED_ASSIGN_OR_RETURN(stream, client.Watch(kube::resources::Secret(), kJoinNamespace, o));
    }
    BRFED_ASSIGN_OR_RETURN(std::optional<kube::WatchEvent> event, stream->Next());
    if (!event.has_value()) {
      return Status(Code::kTimeout,
                    "Secret " + std::string(kJoinNamespace) + "/" + secret_name +
                        " got no token within " + std::to_string(kTokenSecretWait.count()) +
                        "s: the data plane runs no service-account token controller "
                        "(kube-controller-manager); use TokenRequest (without --token-secret)");
    }
    if (event->type == kube::WatchEvent::Type::kError) {
      return InternalError("watching Secret " + secret_name + ": " + DumpJson(*event->object));
    }
    if (event->type == kube::WatchEvent::Type::kDeleted) {
      return Status(Code::kNotFound, "Secret " + secret_name + " was deleted while join waited");
    }
    seen = *event->object;
  }
  Result<std::string> token = kube::DecodeBase64(JsonStringAt(seen, {"data", "token"}));
  if (!token.ok()) return InternalError("Secret " + secret_name + " holds a token not in base64");
  return token;
}

// --token-secret: applies the token Secret and returns its token once the token controller
// has filled it (the token does not expire; leave deletes the Secret, which revokes it).
Result<IssuedToken> TokenFromSecret(kube::Client& client, const std::string& name) {
  const Json secret = TokenSecret(name);
  BRFED_ASSIGN_OR_RETURN(
      Json applied, client.Patch(kube::resources::Secret(), kJoinNamespace, TokenSecretName(name),
                                 kube::PatchType::kApply, secret));
  BRFED_ASSIGN_OR_RETURN(std::string token, WatchForToken(client, name, applied));
  return IssuedToken{std::move(token), "from Secret " + std::string(kJoinNamespace) + "/" +
                                           TokenSecretName(name) +
                                           ", valid until leave deletes the Secret"};
}

Status EnsureNamespace(kube::Client& client) {
  Result<Json> created = client.Create(
      kube::resources::Namespace(), "",
      Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kJoinNamespace}}}});
  if (!created.ok() && created.status().code() != Code::kAlreadyExists) return created.status();
  return Status::Ok();
}

// Applies the objects (server-side apply, so a second join converges to the same objects),
// removes bindings a previous join made for namespaces no longer given, returns a token.
Result<IssuedToken> ApplyJoin(kube::Client& client, const JoinArgs& args,
                              std::chrono::seconds duration) {
  BRFED_RETURN_IF_ERROR(EnsureNamespace(client));
  for (const JoinObject& o : JoinObjects(args.name, args.tc_namespaces)) {
    BRFED_RETURN_IF_ERROR(client
                              .Patch(*o.resource, o.ns,
                                     JsonStringAt(o.object, {"metadata", "name"}),
                                     kube::PatchType::kApply, o.object)
                              .status());
  }
  const std::set<std::string> keep(args.tc_namespaces.begin(), args.tc_namespaces.end());
  BRFED_RETURN_IF_ERROR(DeleteRoleBindings(client, args.name, keep));
  if (!keep.empty()) {
    BRFED_RETURN_IF_ERROR(
        IgnoreNotFound(client.Delete(ClusterRoleBindingResource(), "", WriterName(args.name))));
  }
  if (args.token_secret) return TokenFromSecret(client, args.name);
  // A token Secret of an earlier --token-secret join would outlive this join's token.
  BRFED_RETURN_IF_ERROR(IgnoreNotFound(
      client.Delete(kube::resources::Secret(), kJoinNamespace, TokenSecretName(args.name))));
  const Json body = TokenRequestBody(duration);
  BRFED_ASSIGN_OR_RETURN(Json answer,
                         client.Request("POST",
                                        ServiceAccountResource().Path(
                                            kJoinNamespace, ServiceAccountName(args.name), "token"),
                                        &body));
  IssuedToken issued{JsonStringAt(answer, {"status", "token"}),
                     "valid until " + JsonStringAt(answer, {"status", "expirationTimestamp"})};
  if (issued.token.empty()) {
    return InternalError("the data plane's TokenRequest answer holds no token");
  }
  return issued;
}

Status ApplyLeave(kube::Client& client, const std::string& name) {
  BRFED_RETURN_IF_ERROR(DeleteRoleBindings(client, name, {}));
  BRFED_RETURN_IF_ERROR(IgnoreNotFound(
      client.Delete(kube::resources::Secret(), kJoinNamespace, TokenSecretName(name))));
  for (const std::string& binding : {ReaderName(name), WriterName(name)}) {
    BRFED_RETURN_IF_ERROR(IgnoreNotFound(client.Delete(ClusterRoleBindingResource(), "", binding)));
    BRFED_RETURN_IF_ERROR(IgnoreNotFound(client.Delete(ClusterRoleResource(), "", binding)));
  }
  return IgnoreNotFound(
      client.Delete(ServiceAccountResource(), kJoinNamespace, ServiceAccountName(name)));
}

}  // namespace

int ClustersJoinCommand(CommandContext& ctx, const JoinArgs& args) {
  if (Status s = ValidateJoinName(args.name); !s.ok()) return ctx.Fail(s, {});
  Result<std::chrono::seconds> duration = ParseTokenDuration(args.token_duration);
  if (!duration.ok()) return ctx.Fail(duration.status(), {});
  for (const std::string& ns : args.tc_namespaces) {
    if (std::string err = ValidateDnsLabel(ns); !err.empty()) {
      return ctx.Fail(InvalidArgument("--tc-namespace \"" + ns + "\": " + err), {});
    }
  }
  Result<JoinTarget> target = OpenJoinTarget(ctx, args);
  if (!target.ok()) return ctx.Fail(target.status(), {});
  const std::string& path = target->path;
  Json& federation = target->federation;
  DataPlane& dp = target->dp;
  Result<IssuedToken> token = ApplyJoin(*dp.client, args, *duration);
  if (!token.ok()) return ctx.Fail(token.status(), DataPlaneSubject(dp, args.name));
  const kube::RestConfig& config = dp.config;
  const FederationEntry entry{config.server, config.ca_data_base64, config.insecure_skip_tls_verify,
                              config.tls_server_name, token->token};
  Result<Json> updated = SetFederationContext(std::move(federation), args.name, entry);
  if (!updated.ok()) {
    return ctx.Fail(
        InvalidArgument("federation kubeconfig " + path + ": " + updated.status().message()), {});
  }
  if (Status s = SaveFederation(path, *updated, args, ctx); !s.ok()) return ctx.Fail(s, {});
  ctx.Out("joined " + args.name + ": ServiceAccount " + kJoinNamespace + "/" +
          ServiceAccountName(args.name) + " in " + config.server + ", token " + token->lifetime +
          "\ncontext " + args.name + " written to " + path + "\n");
  return kExitOk;
}

int ClustersLeaveCommand(CommandContext& ctx, const JoinArgs& args) {
  if (Status s = ValidateJoinName(args.name); !s.ok()) return ctx.Fail(s, {});
  Result<JoinTarget> target = OpenJoinTarget(ctx, args);
  if (!target.ok()) return ctx.Fail(target.status(), {});
  const std::string& path = target->path;
  Json& federation = target->federation;
  DataPlane& dp = target->dp;
  if (Status s = ApplyLeave(*dp.client, args.name); !s.ok()) {
    return ctx.Fail(s, DataPlaneSubject(dp, args.name));
  }
  if (!federation.is_null()) {
    Status s =
        SaveFederation(path, RemoveFederationContext(std::move(federation), args.name), args, ctx);
    if (!s.ok()) return ctx.Fail(s, {});
  }
  ctx.Out("left " + args.name + ": its objects in " + dp.config.server +
          " are deleted and context " + args.name + " is gone from " + path + "\n");
  return kExitOk;
}

}  // namespace brfed::cli
