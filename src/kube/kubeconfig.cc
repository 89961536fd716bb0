#include "kube/kubeconfig.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "kube/pem.h"

namespace brfed::kube {
namespace {

constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

std::string DirOf(const std::string& path) {
  std::filesystem::path p(path);
  std::filesystem::path parent = p.parent_path();
  return parent.empty() ? "" : parent.string();
}

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

// Error context: "kubeconfig <source>: context "c": <section> "n": field: problem".
class ErrorContext {
 public:
  ErrorContext(std::string source, std::string context)
      : prefix_("kubeconfig " + source + ": context \"" + context + "\": ") {}
  Status Field(std::string_view section, std::string_view name, std::string_view field,
               std::string_view problem) const {
    std::string msg = prefix_;
    if (!section.empty()) {
      msg += std::string(section) + " \"" + std::string(name) + "\": ";
    }
    msg += std::string(field) + ": " + std::string(problem);
    return InvalidArgument(std::move(msg));
  }

 private:
  std::string prefix_;
};

// Reads a string field; non-strings are reported.
Result<std::string> StringField(const Json& obj, const char* field, const ErrorContext& err,
                                std::string_view section, std::string_view name) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return err.Field(section, name, field, "must be a string");
  return it->get<std::string>();
}

Result<bool> BoolField(const Json& obj, const char* field, const ErrorContext& err,
                       std::string_view section, std::string_view name) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) return err.Field(section, name, field, "must be true or false");
  return it->get<bool>();
}

// PEM material from `<field>-data` (base64) or `<field>` (a file); "" when neither is set.
Result<std::string> PemField(const Json& obj, const std::string& field, const std::string& base_dir,
                             const ErrorContext& err, std::string_view section,
                             std::string_view name, bool is_key) {
  std::string data_field = field + "-data";
  BRFED_ASSIGN_OR_RETURN(std::string data,
                         StringField(obj, data_field.c_str(), err, section, name));
  BRFED_ASSIGN_OR_RETURN(std::string file, StringField(obj, field.c_str(), err, section, name));
  std::string pem;
  std::string used_field;
  if (!data.empty()) {
    auto decoded = DecodeBase64(data);
    if (!decoded.ok()) return err.Field(section, name, data_field, decoded.status().message());
    pem = std::move(decoded).value();
    used_field = data_field;
  } else if (!file.empty()) {
    auto content = ReadFileToString(ResolvePath(base_dir, file));
    if (!content.ok()) return err.Field(section, name, field, content.status().message());
    pem = std::move(content).value();
    used_field = field;
  } else {
    return std::string();
  }
  std::string problem = is_key ? ValidatePrivateKey(pem) : ValidateCertificates(pem);
  if (!problem.empty()) return err.Field(section, name, used_field, problem);
  return pem;
}

Result<ExecConfig> ParseExec(const Json& exec, const std::string& base_dir, const ErrorContext& err,
                             std::string_view user) {
  if (!exec.is_object()) return err.Field("user", user, "exec", "must be a mapping");
  ExecConfig out;
  BRFED_ASSIGN_OR_RETURN(out.api_version, StringField(exec, "apiVersion", err, "user", user));
  if (out.api_version != "client.authentication.k8s.io/v1" &&
      out.api_version != "client.authentication.k8s.io/v1beta1") {
    return err.Field("user", user, "exec.apiVersion",
                     out.api_version.empty()
                         ? "missing (want client.authentication.k8s.io/v1 or v1beta1)"
                         : "unsupported \"" + out.api_version + "\"");
  }
  BRFED_ASSIGN_OR_RETURN(std::string command, StringField(exec, "command", err, "user", user));
  if (command.empty()) return err.Field("user", user, "exec.command", "missing");
  // Bare names go through PATH; relative paths with a separator are relative to the file.
  out.command = command.find('/') == std::string::npos ? command : ResolvePath(base_dir, command);
  if (auto it = exec.find("args"); it != exec.end() && !it->is_null()) {
    if (!it->is_array()) return err.Field("user", user, "exec.args", "must be a list");
    for (const auto& a : *it) {
      if (!a.is_string()) return err.Field("user", user, "exec.args", "items must be strings");
      out.args.push_back(a.get<std::string>());
    }
  }
  if (auto it = exec.find("env"); it != exec.end() && !it->is_null()) {
    if (!it->is_array()) return err.Field("user", user, "exec.env", "must be a list");
    for (const auto& e : *it) {
      if (!e.is_object() || !e.contains("name") || !e["name"].is_string() ||
          e["name"].get<std::string>().empty()) {
        return err.Field("user", user, "exec.env", "each entry needs a name");
      }
      std::string value = e.contains("value") && e["value"].is_string() ? e["value"] : "";
      out.env.emplace_back(e["name"].get<std::string>(), value);
    }
  }
  BRFED_ASSIGN_OR_RETURN(out.install_hint, StringField(exec, "installHint", err, "user", user));
  BRFED_ASSIGN_OR_RETURN(out.provide_cluster_info,
                         BoolField(exec, "provideClusterInfo", err, "user", user));
  BRFED_ASSIGN_OR_RETURN(out.interactive_mode,
                         StringField(exec, "interactiveMode", err, "user", user));
  if (!out.interactive_mode.empty() && out.interactive_mode != "Never" &&
      out.interactive_mode != "IfAvailable" && out.interactive_mode != "Always") {
    return err.Field("user", user, "exec.interactiveMode", "must be Never, IfAvailable or Always");
  }
  if (out.interactive_mode == "Always") {
    return err.Field("user", user, "exec.interactiveMode",
                     "Always needs a terminal, which brfed never has");
  }
  return out;
}

Status CheckServer(const std::string& server, const ErrorContext& err, std::string_view cluster) {
  if (server.empty()) return err.Field("cluster", cluster, "server", "missing");
  if (server.rfind("https://", 0) != 0 && server.rfind("http://", 0) != 0) {
    return err.Field("cluster", cluster, "server", "must start with https:// or http://");
  }
  return Status::Ok();
}

// A mapping with none of a kubeconfig's top-level keys, or of another kind, is some other
// file: loading it as "no clusters" would make a manager drop every data plane.
Status CheckLooksLikeKubeconfig(const Json& root, const std::string& source) {
  if (auto kind = root.find("kind"); kind != root.end() && !kind->is_null()) {
    if (!kind->is_string() || kind->get<std::string>() != "Config") {
      return InvalidArgument("kubeconfig " + source + ": kind: must be Config");
    }
    return Status::Ok();
  }
  for (const char* key : {"apiVersion", "clusters", "users", "contexts", "current-context"}) {
    if (root.contains(key)) return Status::Ok();
  }
  return InvalidArgument("kubeconfig " + source +
                         ": not a kubeconfig (none of apiVersion, kind, clusters, users, "
                         "contexts, current-context)");
}

// kubectl skips an empty file in a KUBECONFIG list; Parse rejects it.
bool IsBlankYaml(std::string_view text) {
  auto parsed = ParseYaml(text);
  return parsed.ok() && parsed->is_null();
}

}  // namespace

Result<Kubeconfig> Kubeconfig::Parse(std::string_view yaml, std::string_view source_name,
                                     std::string_view base_dir) {
  std::string source(source_name);
  auto parsed = ParseYaml(yaml);
  if (!parsed.ok())
    return InvalidArgument("kubeconfig " + source + ": " + parsed.status().message());
  const Json& root = *parsed;
  Kubeconfig out;
  if (root.is_null()) return InvalidArgument("kubeconfig " + source + ": empty");
  if (!root.is_object()) return InvalidArgument("kubeconfig " + source + ": not a mapping");
  BRFED_RETURN_IF_ERROR(CheckLooksLikeKubeconfig(root, source));
  auto section = [&](const char* list_name, const char* item_field,
                     std::map<std::string, Entry, std::less<>>& into) -> Status {
    auto it = root.find(list_name);
    if (it == root.end() || it->is_null()) return Status::Ok();
    if (!it->is_array()) {
      return InvalidArgument("kubeconfig " + source + ": " + list_name + ": must be a list");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& item = (*it)[i];
      std::string where = "kubeconfig " + source + ": " + list_name + "[" + std::to_string(i) + "]";
      if (!item.is_object()) return InvalidArgument(where + ": must be a mapping");
      auto name = item.find("name");
      if (name == item.end() || !name->is_string() || name->get<std::string>().empty()) {
        return InvalidArgument(where + ": name: missing");
      }
      auto body = item.find(item_field);
      if (body != item.end() && !body->is_null() && !body->is_object()) {
        return InvalidArgument(where + ": " + item_field + ": must be a mapping");
      }
      Json value = body == item.end() || body->is_null() ? Json::object() : *body;
      into.emplace(name->get<std::string>(),
                   Entry{source, std::string(base_dir), std::make_shared<const Json>(value)});
    }
    return Status::Ok();
  };
  BRFED_RETURN_IF_ERROR(section("clusters", "cluster", out.clusters_));
  BRFED_RETURN_IF_ERROR(section("users", "user", out.users_));
  BRFED_RETURN_IF_ERROR(section("contexts", "context", out.contexts_));
  if (auto it = root.find("current-context"); it != root.end() && !it->is_null()) {
    if (!it->is_string()) {
      return InvalidArgument("kubeconfig " + source + ": current-context: must be a string");
    }
    out.current_context_ = it->get<std::string>();
  }
  return out;
}

Result<Kubeconfig> Kubeconfig::LoadFile(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return InvalidArgument("kubeconfig: " + text.status().message());
  return Parse(*text, path, DirOf(path));
}

namespace {

// One file of a KUBECONFIG list: an empty file contributes nothing, as with kubectl.
Result<Kubeconfig> LoadListedFile(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return InvalidArgument("kubeconfig: " + text.status().message());
  if (IsBlankYaml(*text)) return Kubeconfig();
  return Kubeconfig::Parse(*text, path, DirOf(path));
}

}  // namespace

Result<Kubeconfig> Kubeconfig::LoadFiles(const std::vector<std::string>& paths) {
  Kubeconfig merged;
  bool any = false;
  for (const std::string& path : paths) {
    if (path.empty()) continue;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    BRFED_ASSIGN_OR_RETURN(Kubeconfig one, LoadListedFile(path));
    any = true;
    // First file wins per name (map::insert keeps existing entries).
    merged.clusters_.insert(one.clusters_.begin(), one.clusters_.end());
    merged.users_.insert(one.users_.begin(), one.users_.end());
    merged.contexts_.insert(one.contexts_.begin(), one.contexts_.end());
    if (merged.current_context_.empty()) merged.current_context_ = one.current_context_;
  }
  if (!any) {
    return InvalidArgument("kubeconfig: none of the files exist: " + Join(paths, ":"));
  }
  return merged;
}

Result<Kubeconfig> Kubeconfig::LoadFromEnvOrDefault() {
  const char* env = std::getenv("KUBECONFIG");
  if (env != nullptr && *env != '\0') {
    std::vector<std::string> paths;
    std::string_view rest(env);
    while (true) {
      size_t colon = rest.find(':');
      paths.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    return LoadFiles(paths);
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    return InvalidArgument("kubeconfig: KUBECONFIG and HOME are both unset");
  }
  return LoadFile(std::string(home) + "/.kube/config");
}

std::vector<std::string> Kubeconfig::ContextNames() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : contexts_) names.push_back(name);
  return names;
}

Status Kubeconfig::ReadCluster(const Entry& cl, const std::string& context,
                               const std::string& cluster_name, RestConfig& out) {
  ErrorContext cerr(cl.source, context);
  const Json& c = *cl.value;
  out.source = "kubeconfig " + cl.source;
  BRFED_ASSIGN_OR_RETURN(out.server, StringField(c, "server", cerr, "cluster", cluster_name));
  while (!out.server.empty() && out.server.back() == '/') out.server.pop_back();
  BRFED_RETURN_IF_ERROR(CheckServer(out.server, cerr, cluster_name));
  BRFED_ASSIGN_OR_RETURN(out.ca_pem, PemField(c, "certificate-authority", cl.base_dir, cerr,
                                              "cluster", cluster_name, false));
  if (!out.ca_pem.empty()) out.ca_data_base64 = EncodeBase64(out.ca_pem);
  BRFED_ASSIGN_OR_RETURN(out.insecure_skip_tls_verify,
                         BoolField(c, "insecure-skip-tls-verify", cerr, "cluster", cluster_name));
  BRFED_ASSIGN_OR_RETURN(out.tls_server_name,
                         StringField(c, "tls-server-name", cerr, "cluster", cluster_name));
  BRFED_ASSIGN_OR_RETURN(out.proxy_url, StringField(c, "proxy-url", cerr, "cluster", cluster_name));
  return Status::Ok();
}

Status Kubeconfig::ReadUser(const Entry& us, const std::string& context,
                            const std::string& user_name, RestConfig& out) {
  ErrorContext uerr(us.source, context);
  const Json& u = *us.value;
  if (u.contains("auth-provider")) {
    return uerr.Field("user", user_name, "auth-provider",
                      "legacy auth-provider plugins are not supported; use an exec plugin");
  }
  BRFED_ASSIGN_OR_RETURN(out.client_cert_pem, PemField(u, "client-certificate", us.base_dir, uerr,
                                                       "user", user_name, false));
  BRFED_ASSIGN_OR_RETURN(out.client_key_pem,
                         PemField(u, "client-key", us.base_dir, uerr, "user", user_name, true));
  if (out.client_cert_pem.empty() != out.client_key_pem.empty()) {
    return uerr.Field("user", user_name,
                      out.client_cert_pem.empty() ? "client-certificate" : "client-key",
                      "missing (a client certificate needs both certificate and key)");
  }
  BRFED_ASSIGN_OR_RETURN(out.bearer_token, StringField(u, "token", uerr, "user", user_name));
  BRFED_ASSIGN_OR_RETURN(std::string token_file,
                         StringField(u, "tokenFile", uerr, "user", user_name));
  if (!token_file.empty()) {
    out.token_file = ResolvePath(us.base_dir, token_file);
    auto content = ReadFileToString(out.token_file);
    if (!content.ok()) {
      return uerr.Field("user", user_name, "tokenFile", content.status().message());
    }
  }
  BRFED_ASSIGN_OR_RETURN(out.username, StringField(u, "username", uerr, "user", user_name));
  BRFED_ASSIGN_OR_RETURN(out.password, StringField(u, "password", uerr, "user", user_name));
  if (auto it = u.find("exec"); it != u.end() && !it->is_null()) {
    BRFED_ASSIGN_OR_RETURN(ExecConfig exec, ParseExec(*it, us.base_dir, uerr, user_name));
    out.exec = std::move(exec);
  }
  return Status::Ok();
}

Result<RestConfig> Kubeconfig::ForContext(std::string_view context_arg) const {
  std::string context(context_arg.empty() ? std::string_view(current_context_) : context_arg);
  if (context.empty()) {
    return InvalidArgument("kubeconfig: no context given and current-context is not set");
  }
  auto ctx_it = contexts_.find(context);
  if (ctx_it == contexts_.end()) {
    std::string known =
        Join(contexts_, ", ", [](const auto& context_entry) { return context_entry.first; });
    return InvalidArgument("kubeconfig: context \"" + context +
                           "\" not found (known: " + (known.empty() ? "none" : known) + ")");
  }
  const Entry& ctx = ctx_it->second;
  ErrorContext err(ctx.source, context);
  BRFED_ASSIGN_OR_RETURN(std::string cluster_name, StringField(*ctx.value, "cluster", err, "", ""));
  BRFED_ASSIGN_OR_RETURN(std::string user_name, StringField(*ctx.value, "user", err, "", ""));
  if (cluster_name.empty()) return err.Field("", "", "cluster", "missing");
  auto cl_it = clusters_.find(cluster_name);
  if (cl_it == clusters_.end()) {
    return err.Field("", "", "cluster", "\"" + cluster_name + "\" is not defined in clusters");
  }
  RestConfig out;
  out.context_name = context;
  BRFED_RETURN_IF_ERROR(ReadCluster(cl_it->second, context, cluster_name, out));
  // A context without a user is anonymous.
  if (user_name.empty()) return out;
  auto us_it = users_.find(user_name);
  if (us_it == users_.end()) {
    return err.Field("", "", "user", "\"" + user_name + "\" is not defined in users");
  }
  BRFED_RETURN_IF_ERROR(ReadUser(us_it->second, context, user_name, out));
  return out;
}

Result<RestConfig> InClusterConfigFrom(std::string_view host, std::string_view port,
                                       const std::string& sa_dir) {
  if (host.empty() || port.empty()) {
    return NotFoundError(
        "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  RestConfig out;
  out.source = "in-cluster";
  out.context_name = "in-cluster";
  std::string h(host);
  if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";  // IPv6
  out.server = "https://" + h + ":" + std::string(port);
  out.token_file = sa_dir + "/token";
  auto token = ReadFileToString(out.token_file);
  if (!token.ok()) return InvalidArgument("in-cluster: token: " + token.status().message());
  auto ca = ReadFileToString(sa_dir + "/ca.crt");
  if (!ca.ok()) return InvalidArgument("in-cluster: ca.crt: " + ca.status().message());
  std::string problem = ValidateCertificates(*ca);
  if (!problem.empty()) return InvalidArgument("in-cluster: " + sa_dir + "/ca.crt: " + problem);
  out.ca_pem = std::move(ca).value();
  out.ca_data_base64 = EncodeBase64(out.ca_pem);
  return out;
}

Result<RestConfig> InClusterConfig() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  return InClusterConfigFrom(host ? host : "", port ? port : "", kServiceAccountDir);
}

Result<RestConfig> ResolveRestConfig(const std::string& kubeconfig_path,
                                     const std::string& context) {
  if (!kubeconfig_path.empty()) {
    BRFED_ASSIGN_OR_RETURN(Kubeconfig kc, Kubeconfig::LoadFile(kubeconfig_path));
    return kc.ForContext(context);
  }
  const char* env = std::getenv("KUBECONFIG");
  if (env == nullptr || *env == '\0') {
    auto in_cluster = InClusterConfig();
    if (in_cluster.ok() || in_cluster.status().code() != Code::kNotFound) return in_cluster;
  }
  BRFED_ASSIGN_OR_RETURN(Kubeconfig kc, Kubeconfig::LoadFromEnvOrDefault());
  return kc.ForContext(context);
}

}  // namespace brfed::kube
