#include "apiserver/server.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <list>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "apiserver/api_error.h"
#include "apiserver/base64.h"
#include "apiserver/fault.h"
#include "apiserver/protobuf.h"
#include "apiserver/resources.h"
#include "apiserver/store.h"
#include "apiserver/table.h"
#include "apiserver/tls.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/json.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/time.h"

namespace brfed::apiserver {
namespace {

// A task queue that grows a thread per concurrent connection (httplib keeps a thread for a
// connection's whole life, and a watch stream can last hours), up to `max` threads.
class ElasticPool final : public httplib::TaskQueue {
 public:
  explicit ElasticPool(size_t max) : max_(max) {}

  void enqueue(std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ && threads_.size() < max_) {
      ++idle_;
      threads_.emplace_back([this] { Work(); });
    }
    cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  void Work() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
      if (jobs_.empty()) return;
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      --idle_;
      lock.unlock();
      fn();
      lock.lock();
      ++idle_;
    }
  }

  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

// What one API request addresses, parsed from its path.
struct Route {
  enum class Kind { kResource, kOther } kind = Kind::kOther;
  std::string group;
  std::string version;
  std::string plural;
  std::string ns;
  std::string name;
  std::string subresource;
};

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// Parses /api/v1/... and /apis/{g}/{v}/...; kOther when it is not a resource path.
Route ParseRoute(const std::string& path) {
  Route r;
  std::vector<std::string> s = Split(path);
  size_t at = 0;
  if (s.size() >= 3 && s[0] == "api") {
    r.version = s[1];
    at = 2;
  } else if (s.size() >= 4 && s[0] == "apis") {
    r.group = s[1];
    r.version = s[2];
    at = 3;
  } else {
    return r;
  }
  std::vector<std::string> rest(s.begin() + static_cast<long>(at), s.end());
  bool namespace_object = r.group.empty() && rest.size() == 3 && rest[0] == "namespaces" &&
                          (rest[2] == "status" || rest[2] == "finalize");
  if (rest.size() >= 3 && rest[0] == "namespaces" && !namespace_object) {
    r.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) return r;
  r.kind = Route::Kind::kResource;
  r.plural = rest[0];
  if (rest.size() >= 2) r.name = rest[1];
  if (rest.size() == 3) r.subresource = rest[2];
  return r;
}

Json StatusJson(const Status& status, const Route& route, const std::vector<FieldError>& causes) {
  int code = status.http_status() != 0 ? status.http_status() : 500;
  std::string reason = status.reason().empty() ? "InternalError" : status.reason();
  Json details = Json::object();
  if (!route.name.empty()) details["name"] = route.name;
  if (!route.group.empty()) details["group"] = route.group;
  if (!route.plural.empty()) details["kind"] = route.plural;
  if (!causes.empty()) {
    Json cs = Json::array();
    for (const FieldError& c : causes) {
      cs.push_back({{"reason", c.reason}, {"message", c.message}, {"field", c.field}});
    }
    details["causes"] = cs;
  }
  Json out = {{"kind", "Status"},    {"apiVersion", "v1"},          {"metadata", Json::object()},
              {"status", "Failure"}, {"message", status.message()}, {"reason", reason},
              {"code", code}};
  if (!details.empty()) out["details"] = details;
  return out;
}

Status MethodNotAllowed(std::string message) {
  return Status(Code::kBadRequest, std::move(message)).WithHttp(405, "MethodNotAllowed");
}

bool QueryFlag(const httplib::Request& req, const char* key) {
  if (!req.has_param(key)) return false;
  std::string v = req.get_param_value(key);
  return v == "true" || v == "1" || v.empty();
}

std::string LowerMediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  return t;
}

struct Audit {
  std::string verb;
  std::string resource;
  std::string subresource;
  std::string ns;
  std::string name;
  std::string resource_version;
};

// One request on a resource that passed the checks: what the verb handlers share.
struct ResourceCall {
  ResourceCall(const httplib::Request& req, httplib::Response& res, const Route& route,
               Audit& audit, Target target)
      : req(req), res(res), route(route), audit(audit), target(std::move(target)) {}
  ResourceCall(const ResourceCall&) = delete;
  ResourceCall& operator=(const ResourceCall&) = delete;

  // The request body as JSON, decoded by its Content-Type.
  Result<Json> Body(bool allow_protobuf) const;

  const httplib::Request& req;
  httplib::Response& res;
  const Route& route;
  Audit& audit;
  const Target target;
  ListOptions filter;
  std::vector<FieldError> causes;
  std::string body_name;  // a created object's name, for the details of its 409 or 422
  const WriteOptions write_opts{req.get_param_value("dryRun") == "All", &causes};
  const bool table = req.get_header_value("Accept").find("as=Table") != std::string::npos;
};

// One watch stream's state, shared by httplib's content provider calls.
struct WatchStream {
  std::shared_ptr<Watcher> watcher;
  Json error;  // an ERROR event to send, then end
  SteadyTime deadline = SteadyTime::max();
  SteadyTime next_bookmark;
  SteadyTime next_heartbeat;
  uint64_t generation = 0;
  bool bookmarks = false;
  bool table = false;
  ResourcePtr resource;
  std::string api_version;
};

}  // namespace

struct ApiServer::Impl {
  ServerOptions options;
  Clock* clock = RealClock::Get();
  ResourceRegistry registry;
  std::unique_ptr<Store> store;
  FaultInjector faults{RealClock::Get()};
  std::unique_ptr<httplib::Server> http;
  std::string scheme = "http";
  std::string host;
  int port = 0;
  TlsMaterial tls;
  std::atomic<bool> stopping{false};
  std::mutex audit_mu;
  FILE* audit = nullptr;

  ~Impl() {
    if (audit != nullptr) std::fclose(audit);
  }

  // Create's phases: the store, CRDs and audit log; then the HTTP(S) server, bound.
  Status Open();
  Status Serve(int requested_port);
  Status LoadCrds();
  Status WriteKubeconfig();
  void Handle(const httplib::Request& req, httplib::Response& res);
  // Handle, with an exception answered as 500 instead of reaching httplib.
  void HandleGuarded(const httplib::Request& req, httplib::Response& res);
  bool Authenticated(const httplib::Request& req) const;
  void HandleResource(const httplib::Request& req, httplib::Response& res, const Route& route,
                      Audit& audit);
  // The checks before a verb runs; false when one of them answered the request.
  bool PassesFaults(httplib::Response& res, const Route& route, const std::string& verb);
  bool WithinBodyLimit(const httplib::Request& req, httplib::Response& res, const Route& route);
  // One handler per verb on a resource.
  void HandleGet(ResourceCall& call);
  void HandleCreate(ResourceCall& call);
  void HandleUpdate(ResourceCall& call);
  void HandlePatch(ResourceCall& call);
  void HandleDelete(ResourceCall& call);
  void Finish(ResourceCall& call, Result<Json> result, int ok_code);
  void HandleWatch(const httplib::Request& req, httplib::Response& res, const Target& target,
                   ListOptions filter);
  // Writes what a watch stream has next (an event, a bookmark or a heartbeat); false when the
  // client went away.
  bool PumpWatch(WatchStream& w, httplib::DataSink& sink);
  bool HandleOther(const httplib::Request& req, httplib::Response& res);
  // Discovery of the API groups: one APIGroup per group, its versions in registration order.
  Json ApiGroups() const;
  Json Discovery(const std::string& group, const std::string& version) const;
  Json OpenApiRoot() const;
  Json OpenApiDoc(const std::string& group, const std::string& version) const;
  void WriteAudit(const httplib::Request& req, const Audit& audit, int code, double latency_ms);
};

namespace {

void SendJson(httplib::Response& res, int code, const Json& body) {
  res.status = code;
  res.set_content(DumpJson(body), "application/json");
}

void SendError(httplib::Response& res, const Status& status, const Route& route,
               const std::vector<FieldError>& causes = {}) {
  Json body = StatusJson(status, route, causes);
  SendJson(res, body["code"].get<int>(), body);
}

}  // namespace

Status ApiServer::Impl::LoadCrds() {
  namespace fs = std::filesystem;
  for (const std::string& path : options.crd_paths) {
    std::vector<std::string> files;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        std::string ext = entry.path().extension().string();
        if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      return InvalidArgument("--crd " + path + ": no such file or directory");
    }
    for (const std::string& file : files) {
      Result<std::string> text = ReadFile(file);
      if (!text.ok()) return InvalidArgument("--crd " + text.status().message());
      Result<std::vector<Json>> docs = ParseYamlDocuments(*text);
      if (!docs.ok()) return InvalidArgument("--crd " + file + ": " + docs.status().message());
      for (const Json& doc : *docs) {
        if (JsonStringAt(doc, {"kind"}) != "CustomResourceDefinition") {
          return InvalidArgument("--crd " + file +
                                 ": expected kind CustomResourceDefinition, got \"" +
                                 JsonStringAt(doc, {"kind"}) + "\"");
        }
        Status s = store->LoadCrd(doc);
        if (!s.ok()) return InvalidArgument("--crd " + file + ": " + s.message());
      }
    }
  }
  return Status::Ok();
}

Status ApiServer::Impl::WriteKubeconfig() {
  if (options.kubeconfig_out.empty()) return Status::Ok();
  std::string name = options.name;
  std::string server =
      scheme + "://" + (host == "0.0.0.0" ? "127.0.0.1" : host) + ":" + std::to_string(port);
  std::ostringstream out;
  out << "apiVersion: v1\nkind: Config\nclusters:\n- name: " << name << "\n  cluster:\n"
      << "    server: " << server << "\n";
  if (!tls.ca_cert_pem.empty()) {
    out << "    certificate-authority-data: " << Base64Encode(tls.ca_cert_pem) << "\n";
  }
  out << "contexts:\n- name: " << name << "\n  context:\n    cluster: " << name
      << "\n    user: " << name << "\ncurrent-context: " << name << "\nusers:\n- name: " << name
      << "\n  user:";
  if (!options.token.empty()) {
    out << "\n    token: " << options.token << "\n";
  } else {
    out << " {}\n";
  }
  std::string tmp = options.kubeconfig_out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << out.str();
    if (!f) return InvalidArgument("--kubeconfig-out " + options.kubeconfig_out + ": cannot write");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, options.kubeconfig_out, ec);
  if (ec)
    return InvalidArgument("--kubeconfig-out " + options.kubeconfig_out + ": " + ec.message());
  return Status::Ok();
}

bool ApiServer::Impl::Authenticated(const httplib::Request& req) const {
  if (options.token.empty() && options.client_ca_file.empty()) return true;
  if (!options.token.empty() &&
      req.get_header_value("Authorization") == "Bearer " + options.token) {
    return true;
  }
  if (!options.client_ca_file.empty() && req.ssl != nullptr) {
    X509* peer = SSL_get0_peer_certificate(req.ssl);
    if (peer != nullptr && SSL_get_verify_result(req.ssl) == X509_V_OK) return true;
  }
  return false;
}

Json ApiServer::Impl::Discovery(const std::string& group, const std::string& version) const {
  Json resources = Json::array();
  for (const ResourcePtr& r : registry.All()) {
    if (r->group != group || !r->Serves(version)) continue;
    resources.push_back(
        {{"name", r->plural},
         {"singularName", r->singular},
         {"namespaced", r->namespaced},
         {"kind", r->kind},
         {"verbs",
          {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}},
         {"shortNames", r->short_names},
         {"categories", r->categories}});
    if (r->status_subresource) {
      resources.push_back({{"name", r->plural + "/status"},
                           {"singularName", ""},
                           {"namespaced", r->namespaced},
                           {"kind", r->kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group.empty() ? version : group + "/" + version},
          {"resources", resources}};
}

Json ApiServer::Impl::OpenApiRoot() const {
  Json paths = Json::object();
  for (const ResourcePtr& r : registry.All()) {
    for (const std::string& v : r->versions) {
      std::string key = r->group.empty() ? "api/" + v : "apis/" + r->group + "/" + v;
      paths[key] = {{"serverRelativeURL", "/openapi/v3/" + key}};
    }
  }
  return {{"paths", paths}};
}

Json ApiServer::Impl::OpenApiDoc(const std::string& group, const std::string& version) const {
  Json paths = Json::object();
  Json schemas = Json::object();
  for (const ResourcePtr& r : registry.All()) {
    if (r->group != group || !r->Serves(version)) continue;
    std::string prefix = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
    std::string path =
        prefix + (r->namespaced ? "/namespaces/{namespace}/" : "/") + r->plural + "/{name}";
    Json gvk = {{"group", group}, {"version", version}, {"kind", r->kind}};
    Json param = {{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}};
    paths[path] = {{"patch", {{"x-kubernetes-group-version-kind", gvk}, {"parameters", {param}}}}};
    Json schema = {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    if (auto it = r->schemas.find(version); it != r->schemas.end() && it->second != nullptr) {
      schema = *it->second;
    }
    schema["x-kubernetes-group-version-kind"] = Json::array({gvk});
    schemas[(group.empty() ? "io.k8s.api.core." + version : group + "." + version) + "." +
            r->kind] = schema;
  }
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.32.4"}}},
          {"paths", paths},
          {"components", {{"schemas", schemas}}}};
}

namespace {

// GET /version: the Kubernetes release this server imitates.
Json VersionInfo() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", "v1.32.4"},
          {"gitCommit", "brfed-apiserver"},
          {"gitTreeState", "clean"},
          {"buildDate", "2025-01-01T00:00:00Z"},
          {"goVersion", "go1.23.8"},
          {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

}  // namespace

Json ApiServer::Impl::ApiGroups() const {
  std::map<std::string, std::vector<std::string>> groups;
  for (const ResourcePtr& r : registry.All()) {
    if (r->group.empty()) continue;
    auto& vs = groups[r->group];
    for (const std::string& v : r->versions) {
      if (std::find(vs.begin(), vs.end(), v) == vs.end()) vs.push_back(v);
    }
  }
  Json list = Json::array();
  for (const auto& [g, vs] : groups) {
    Json versions = Json::array();
    for (const std::string& v : vs) {
      versions.push_back({{"groupVersion", g + "/" + v}, {"version", v}});
    }
    list.push_back({{"name", g}, {"versions", versions}, {"preferredVersion", versions[0]}});
  }
  return list;
}

bool ApiServer::Impl::HandleOther(const httplib::Request& req, httplib::Response& res) {
  const std::string& p = req.path;
  std::vector<std::string> s = Split(p);
  if (req.method != "GET") return false;
  if (p == "/version") {
    SendJson(res, 200, VersionInfo());
    return true;
  }
  if (p == "/api") {
    SendJson(
        res, 200,
        {{"kind", "APIVersions"},
         {"versions", {"v1"}},
         {"serverAddressByClientCIDRs",
          {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", host + ":" + std::to_string(port)}}}}});
    return true;
  }
  if (p == "/api/v1") {
    SendJson(res, 200, Discovery("", "v1"));
    return true;
  }
  if (p == "/apis") {
    SendJson(res, 200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", ApiGroups()}});
    return true;
  }
  if (s.size() == 2 && s[0] == "apis") {
    for (Json& g : ApiGroups()) {
      if (g["name"] == s[1]) {
        g["kind"] = "APIGroup";
        g["apiVersion"] = "v1";
        SendJson(res, 200, g);
        return true;
      }
    }
    return false;
  }
  if (s.size() == 3 && s[0] == "apis") {
    bool known = false;
    for (const ResourcePtr& r : registry.All())
      known = known || (r->group == s[1] && r->Serves(s[2]));
    if (!known) return false;
    SendJson(res, 200, Discovery(s[1], s[2]));
    return true;
  }
  if (p == "/openapi/v3") {
    SendJson(res, 200, OpenApiRoot());
    return true;
  }
  if (s.size() == 4 && s[0] == "openapi" && s[1] == "v3" && s[2] == "api") {
    SendJson(res, 200, OpenApiDoc("", s[3]));
    return true;
  }
  if (s.size() == 5 && s[0] == "openapi" && s[1] == "v3" && s[2] == "apis") {
    SendJson(res, 200, OpenApiDoc(s[3], s[4]));
    return true;
  }
  return false;
}

void ApiServer::Impl::WriteAudit(const httplib::Request& req, const Audit& a, int code,
                                 double latency_ms) {
  if (audit == nullptr) return;
  Json line = {{"time", FormatRfc3339Micro(clock->Now())},
               {"server", options.name},
               {"verb", a.verb},
               {"path", req.path},
               {"resource", a.resource},
               {"subresource", a.subresource},
               {"namespace", a.ns},
               {"name", a.name},
               {"code", code},
               {"latency_ms", latency_ms},
               {"resourceVersion", a.resource_version},
               {"user_agent", req.get_header_value("User-Agent")}};
  std::string text = DumpJson(line) + "\n";
  std::lock_guard lock(audit_mu);
  std::fwrite(text.data(), 1, text.size(), audit);
  std::fflush(audit);
}

void ApiServer::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  SteadyTime start = clock->Steady();
  Audit audit;
  audit.verb = req.method == "GET"      ? "get"
               : req.method == "POST"   ? "create"
               : req.method == "PUT"    ? "update"
               : req.method == "PATCH"  ? "patch"
               : req.method == "DELETE" ? "delete"
                                        : req.method;
  Route route = ParseRoute(req.path);
  const std::string& p = req.path;
  if (p == "/healthz" || p == "/livez" || p == "/readyz") {
    res.set_content("ok", "text/plain");
  } else if (!Authenticated(req)) {
    SendError(res, ApiError(Code::kUnauthorized, "Unauthorized"), Route{});
  } else if (p.rfind("/admin/faults", 0) == 0) {
    if (!options.enable_fault_injection) {
      SendError(res, ApiError(Code::kNotFound, "fault injection is off (--enable-fault-injection)"),
                Route{});
    } else if (req.method == "GET" && p == "/admin/faults") {
      SendJson(res, 200, faults.RulesJson());
    } else if (req.method == "DELETE" && p == "/admin/faults") {
      faults.Clear();
      SendJson(res, 200, faults.RulesJson());
    } else if (req.method == "POST" && p == "/admin/faults/drop-watches") {
      faults.DropWatches();
      store->CloseAllWatchers();
      SendJson(res, 200, faults.RulesJson());
    } else if (req.method == "POST" && p == "/admin/faults/expire-watches") {
      // Every resumption then needs a relist: the history is gone, the streams are ended.
      store->ExpireWatchHistory();
      faults.DropWatches();
      store->CloseAllWatchers();
      SendJson(res, 200, faults.RulesJson());
    } else if ((req.method == "POST" || req.method == "PUT") && p == "/admin/faults") {
      Result<Json> body = ParseJson(req.body);
      Status s =
          body.ok() ? faults.SetRules(*body) : ApiError(Code::kBadRequest, body.status().message());
      if (s.ok()) {
        SendJson(res, 200, faults.RulesJson());
      } else {
        SendError(res, s, Route{});
      }
    } else {
      SendError(res, ApiError(Code::kNotFound, "unknown admin path"), Route{});
    }
  } else if (route.kind == Route::Kind::kResource) {
    HandleResource(req, res, route, audit);
  } else if (!HandleOther(req, res)) {
    SendError(res, ApiError(Code::kNotFound, "the server could not find the requested resource"),
              Route{});
  }
  double ms = std::chrono::duration<double, std::milli>(clock->Steady() - start).count();
  WriteAudit(req, audit, res.status == -1 ? 200 : res.status, ms);
}

namespace {

const char kNoSuchResource[] = "the server could not find the requested resource";

Result<Json> ResourceCall::Body(bool allow_protobuf) const {
  std::string type = LowerMediaType(req.get_header_value("Content-Type"));
  if (allow_protobuf && type == "application/vnd.kubernetes.protobuf") {
    return DecodeKubernetesProtobuf(req.body);
  }
  if (type == "application/yaml" || type == "application/apply-patch+yaml") {
    Result<Json> y = ParseYaml(req.body);
    if (!y.ok()) return ApiError(Code::kBadRequest, y.status().message());
    return y;
  }
  if (type.empty() || type == "application/json" || type == "application/merge-patch+json" ||
      type == "application/json-patch+json" || type == "application/strategic-merge-patch+json") {
    Result<Json> j = ParseJson(req.body);
    if (!j.ok()) {
      return ApiError(Code::kBadRequest,
                      "the body of the request could not be decoded: " + j.status().message());
    }
    return j;
  }
  return ApiError(Code::kUnsupportedMediaType,
                  "the body of the request was in an unknown format - accepted media types "
                  "include: application/json, application/yaml, "
                  "application/vnd.kubernetes.protobuf");
}

// The patch type a PATCH's Content-Type names.
Result<PatchType> PatchTypeOf(const httplib::Request& req) {
  std::string type = LowerMediaType(req.get_header_value("Content-Type"));
  if (type == "application/merge-patch+json") return PatchType::kMerge;
  if (type == "application/json-patch+json") return PatchType::kJson;
  if (type == "application/strategic-merge-patch+json") return PatchType::kStrategicMerge;
  if (type == "application/apply-patch+yaml") return PatchType::kApply;
  return ApiError(Code::kUnsupportedMediaType,
                  "the body of the request was in an unknown format - accepted "
                  "media types include: application/json-patch+json, "
                  "application/merge-patch+json, application/apply-patch+yaml");
}

// DeleteOptions from the body (optional) and the dryRun query parameter.
Result<DeleteOptions> DeleteOptionsOf(const httplib::Request& req) {
  DeleteOptions opts;
  if (!req.body.empty()) {
    Result<Json> body = ParseJson(req.body);
    if (!body.ok()) {
      return ApiError(Code::kBadRequest,
                      "the DeleteOptions body could not be decoded: " + body.status().message());
    }
    if (const Json* dry = JsonAt(*body, {"dryRun"}); dry != nullptr && dry->is_array()) {
      opts.dry_run = std::find(dry->begin(), dry->end(), Json("All")) != dry->end();
    }
    opts.precondition_uid = JsonStringAt(*body, {"preconditions", "uid"});
    opts.precondition_resource_version = JsonStringAt(*body, {"preconditions", "resourceVersion"});
    opts.propagation_policy = JsonStringAt(*body, {"propagationPolicy"});
  }
  if (req.has_param("propagationPolicy")) {
    opts.propagation_policy = req.get_param_value("propagationPolicy");
  }
  opts.dry_run = opts.dry_run || req.get_param_value("dryRun") == "All";
  return opts;
}

// Label and field selectors of a list, watch or deletecollection.
Result<ListOptions> ListOptionsOf(const httplib::Request& req, const ResourceInfo& resource) {
  ListOptions filter;
  Result<LabelSelector> labels = LabelSelector::Parse(req.get_param_value("labelSelector"));
  if (!labels.ok()) return labels.status();
  Result<FieldSelector> fields =
      FieldSelector::Parse(req.get_param_value("fieldSelector"), resource.kind);
  if (!fields.ok()) return fields.status();
  filter.labels = std::move(labels).value();
  filter.fields = std::move(fields).value();
  return filter;
}

}  // namespace

bool ApiServer::Impl::WithinBodyLimit(const httplib::Request& req, httplib::Response& res,
                                      const Route& route) {
  if (req.body.size() <= options.max_body_bytes) return true;
  SendError(
      res,
      ApiError(Code::kRequestEntityTooLarge, "the request body is larger than " +
                                                 std::to_string(options.max_body_bytes) + " bytes"),
      route);
  return false;
}

// Fault injection, scoped by verb and resource.
bool ApiServer::Impl::PassesFaults(httplib::Response& res, const Route& route,
                                   const std::string& verb) {
  if (!options.enable_fault_injection) return true;
  FaultDecision d = faults.Decide(verb, route.plural);
  while (!stopping && clock->Steady() < d.stall_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (d.latency.count() > 0) std::this_thread::sleep_for(d.latency);
  if (d.fail_code == 0) return true;
  Code code = d.fail_code == 429   ? Code::kTooManyRequests
              : d.fail_code == 409 ? Code::kConflict
                                   : Code::kInternal;
  if (d.fail_code == 429) res.set_header("Retry-After", std::to_string(d.retry_after_seconds));
  SendError(res, ApiError(code, "injected fault"), route);
  return false;
}

void ApiServer::Impl::HandleResource(const httplib::Request& req, httplib::Response& res,
                                     const Route& route, Audit& audit) {
  audit.resource = route.plural;
  audit.subresource = route.subresource;
  audit.ns = route.ns;
  audit.name = route.name;
  ResourcePtr resource = registry.Find(route.group, route.version, route.plural);
  if (resource == nullptr) {
    SendError(res, ApiError(Code::kNotFound, kNoSuchResource), route);
    return;
  }
  const bool collection = route.name.empty();
  if (req.method == "GET" && collection) audit.verb = QueryFlag(req, "watch") ? "watch" : "list";
  if (req.method == "DELETE" && collection) audit.verb = "deletecollection";
  // The order of the checks decides which error a bad request gets.
  const bool known_subresource = route.subresource.empty() || route.subresource == "status" ||
                                 (route.subresource == "finalize" && resource->kind == "Namespace");
  const bool served_subresource =
      known_subresource && !(route.subresource == "status" && !resource->status_subresource);
  if (!served_subresource && resource->custom && !route.name.empty()) {
    // kube-apiserver's custom resource handler names the object, as if it were missing
    // (fidelity finding F12).
    SendError(res, ApiError(Code::kNotFound, resource->Id() + " \"" + route.name + "\" not found"),
              route);
    return;
  }
  if (!served_subresource || (!resource->namespaced && !route.ns.empty())) {
    SendError(res, ApiError(Code::kNotFound, kNoSuchResource), route);
    return;
  }
  if (!PassesFaults(res, route, audit.verb) || !WithinBodyLimit(req, res, route)) return;
  ResourceCall call(
      req, res, route, audit,
      Target{resource, route.version, route.ns, route.name, route.subresource == "status"});
  if (req.method == "GET" || (req.method == "DELETE" && collection)) {
    Result<ListOptions> filter = ListOptionsOf(req, *resource);
    if (!filter.ok()) return SendError(res, filter.status(), route);
    call.filter = std::move(filter).value();
  }
  if (req.method == "GET") return HandleGet(call);
  if (req.method == "POST") return HandleCreate(call);
  if (req.method == "PUT") return HandleUpdate(call);
  if (req.method == "PATCH") return HandlePatch(call);
  if (req.method == "DELETE") return HandleDelete(call);
  SendError(res, MethodNotAllowed("method not allowed"), route);
}

namespace {

// The route an error's details name, as kube-apiserver fills them: a create's 409 and 422 name
// the object from its body, and a 422 names the Kind, not the resource.
Route ErrorRoute(const ResourceCall& call, const Status& error) {
  Route route = call.route;
  if (error.code() != Code::kAlreadyExists && error.code() != Code::kInvalid) return route;
  if (route.name.empty()) route.name = call.body_name;
  if (error.code() == Code::kInvalid && !call.causes.empty()) {
    route.plural = call.target.resource->kind;
  }
  return route;
}

}  // namespace

void ApiServer::Impl::Finish(ResourceCall& call, Result<Json> result, int ok_code) {
  if (!result.ok())
    return SendError(call.res, result.status(), ErrorRoute(call, result.status()), call.causes);
  call.audit.resource_version = JsonStringAt(*result, {"metadata", "resourceVersion"});
  if (call.table && call.req.method == "GET") {
    std::vector<Json> objs;
    if (result->contains("items")) {
      for (const Json& i : (*result)["items"]) objs.push_back(i);
    } else {
      objs.push_back(*result);
    }
    std::string rv = JsonStringAt(*result, {"metadata", "resourceVersion"});
    return SendJson(call.res, ok_code, RenderTable(*call.target.resource, objs, rv, clock->Now()));
  }
  SendJson(call.res, ok_code, *result);
}

namespace {

// A list asked for a state not older than a resourceVersion the store has not reached (the
// client saw a server that has since lost its data): kube-apiserver waits 3 s for its watch
// cache to catch up, then answers 504 Timeout with cause ResourceVersionTooLarge, which is how
// a client learns that the server was reset. The store has no cache to wait for, so this
// answers at once. nullopt when the list may be served.
std::optional<Json> TooLargeResourceVersion(const httplib::Request& req, uint64_t current) {
  const std::string rv = req.get_param_value("resourceVersion");
  uint64_t asked = 0;
  auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), asked);
  if (rv.empty() || ec != std::errc() || end != rv.data() + rv.size() || asked <= current) {
    return std::nullopt;
  }
  Json body = StatusJson(ApiError(Code::kTimeout, "Timeout: Too large resource version: " + rv +
                                                      ", current: " + std::to_string(current)),
                         Route{}, {});
  body["details"] = {{"causes", Json::array({{{"reason", "ResourceVersionTooLarge"},
                                              {"message", "Too large resource version"}}})},
                     {"retryAfterSeconds", 1}};
  return body;
}

}  // namespace

void ApiServer::Impl::HandleGet(ResourceCall& call) {
  if (call.route.name.empty() && QueryFlag(call.req, "watch")) {
    return HandleWatch(call.req, call.res, call.target, std::move(call.filter));
  }
  if (call.route.name.empty()) {
    if (auto too_large = TooLargeResourceVersion(call.req, store->CurrentResourceVersion())) {
      call.res.set_header("Retry-After", "1");
      return SendJson(call.res, 504, *too_large);
    }
    if (call.table) return Finish(call, store->List(call.target, call.filter), 200);
    Result<Store::ListBody> list = store->ListText(call.target, call.filter);
    if (!list.ok()) return SendError(call.res, list.status(), call.route);
    call.audit.resource_version = list->resource_version;
    call.res.status = 200;
    call.res.set_content(std::move(list->json), "application/json");
    return;
  }
  Finish(call, store->Get(call.target), 200);
}

void ApiServer::Impl::HandleCreate(ResourceCall& call) {
  if (!call.route.name.empty()) {
    return SendError(call.res, MethodNotAllowed("POST is not allowed on an object"), call.route);
  }
  Result<Json> body = call.Body(true);
  if (!body.ok()) return SendError(call.res, body.status(), call.route);
  call.body_name = JsonStringAt(*body, {"metadata", "name"});
  Result<Json> created = store->Create(call.target, std::move(body).value(), call.write_opts);
  if (created.ok()) call.audit.name = JsonStringAt(*created, {"metadata", "name"});
  Finish(call, std::move(created), 201);
}

void ApiServer::Impl::HandleUpdate(ResourceCall& call) {
  if (call.route.name.empty()) {
    return SendError(call.res, MethodNotAllowed("PUT needs an object name"), call.route);
  }
  Result<Json> body = call.Body(false);
  if (!body.ok()) return SendError(call.res, body.status(), call.route);
  Finish(call, store->Update(call.target, std::move(body).value(), call.write_opts), 200);
}

void ApiServer::Impl::HandlePatch(ResourceCall& call) {
  Result<PatchType> patch_type = PatchTypeOf(call.req);
  if (!patch_type.ok()) return SendError(call.res, patch_type.status(), call.route);
  if (call.route.name.empty()) {
    return SendError(call.res, MethodNotAllowed("PATCH needs an object name"), call.route);
  }
  Result<Json> body = call.Body(false);
  if (!body.ok()) return SendError(call.res, body.status(), call.route);
  Result<Store::PatchResult> patched =
      store->Patch(call.target, *patch_type, *body, call.write_opts);
  if (!patched.ok()) return Finish(call, patched.status(), 200);
  Finish(call, patched->object, patched->created ? 201 : 200);
}

namespace {

// What a DELETE answers, as kube-apiserver: a built-in object that is gone is reported by a
// Success Status naming it (fidelity finding F17); a custom resource, a CRD, a Namespace (which
// goes Terminating) and an object its finalizers keep come back as objects.
Result<Json> DeleteResponse(const ResourceInfo& r, Result<Json> deleted) {
  if (!deleted.ok() || r.custom || r.kind == "Namespace" || r.kind == "CustomResourceDefinition") {
    return deleted;
  }
  if (HasFinalizers(*deleted)) return deleted;
  Json details = {{"name", JsonStringAt(*deleted, {"metadata", "name"})},
                  {"kind", r.plural},
                  {"uid", JsonStringAt(*deleted, {"metadata", "uid"})}};
  if (!r.group.empty()) details["group"] = r.group;
  return Json{{"kind", "Status"},
              {"apiVersion", "v1"},
              {"metadata", Json::object()},
              {"status", "Success"},
              {"details", std::move(details)}};
}

}  // namespace

void ApiServer::Impl::HandleDelete(ResourceCall& call) {
  Result<DeleteOptions> opts = DeleteOptionsOf(call.req);
  if (!opts.ok()) return SendError(call.res, opts.status(), call.route);
  if (const std::string& policy = opts->propagation_policy;
      !policy.empty() && policy != "Foreground" && policy != "Background" && policy != "Orphan") {
    // kube-apiserver's validation of DeleteOptions, word for word.
    const FieldError cause{"propagationPolicy", "FieldValueNotSupported",
                           "Unsupported value: \"" + policy +
                               "\": supported values: \"Foreground\", \"Background\", "
                               "\"Orphan\", \"nil\""};
    Route options_route;
    options_route.group = "meta.k8s.io";
    options_route.plural = "DeleteOptions";
    return SendError(call.res,
                     ApiError(Code::kInvalid, "DeleteOptions.meta.k8s.io \"\" is invalid: " +
                                                  cause.field + ": " + cause.message),
                     options_route, {cause});
  }
  if (!call.route.name.empty()) {
    return Finish(call, DeleteResponse(*call.target.resource, store->Delete(call.target, *opts)),
                  200);
  }
  Result<Json> list = store->List(call.target, call.filter);
  if (!list.ok()) return SendError(call.res, list.status(), call.route);
  for (const Json& item : (*list)["items"]) {
    Target one = call.target;
    one.ns = JsonStringAt(item, {"metadata", "namespace"});
    one.name = JsonStringAt(item, {"metadata", "name"});
    Result<Json> deleted = store->Delete(one, *opts);
    if (!deleted.ok() && deleted.status().code() != Code::kNotFound) {
      return SendError(call.res, deleted.status(), call.route);
    }
  }
  Finish(call, std::move(list), 200);
}

namespace {

// The API server's rules for a watch's resourceVersionMatch and sendInitialEvents (a watch
// list, what client-go's WatchListClient and kubectl 1.37 send): the field errors, if any.
std::vector<FieldError> WatchListErrors(const httplib::Request& req) {
  std::vector<FieldError> errors;
  auto forbidden = [&](const char* field, const char* message) {
    errors.push_back({field, "FieldValueForbidden", std::string("Forbidden: ") + message});
  };
  const std::string match = req.get_param_value("resourceVersionMatch");
  const bool initial_events = req.has_param("sendInitialEvents");
  if (initial_events) {
    if (match != "NotOlderThan") {
      forbidden("resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
    }
  }
  if (!match.empty()) {
    if (!initial_events) {
      forbidden("resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided");
    }
    if (match != "NotOlderThan") {
      errors.push_back(
          {"resourceVersionMatch", "FieldValueNotSupported",
           "Unsupported value: \"" + match + "\": supported values: \"NotOlderThan\""});
    }
  }
  return errors;
}

// The 422 for `errors`, worded as the API server words an invalid ListOptions.
void SendInvalidListOptions(httplib::Response& res, const std::vector<FieldError>& errors) {
  std::vector<std::string> parts;
  for (const FieldError& e : errors) parts.push_back(e.field + ": " + e.message);
  std::string joined = parts.size() == 1 ? parts[0] : "[" + Join(parts, ", ") + "]";
  Route route;
  route.group = "meta.k8s.io";
  route.plural = "ListOptions";
  SendError(res, ApiError(Code::kInvalid, "ListOptions.meta.k8s.io \"\" is invalid: " + joined),
            route, errors);
}

}  // namespace

void ApiServer::Impl::HandleWatch(const httplib::Request& req, httplib::Response& res,
                                  const Target& target, ListOptions filter) {
  if (std::vector<FieldError> errors = WatchListErrors(req); !errors.empty()) {
    return SendInvalidListOptions(res, errors);
  }
  const bool initial_events = QueryFlag(req, "sendInitialEvents");
  std::string rv = req.get_param_value("resourceVersion");
  long long timeout_s = 0;
  if (req.has_param("timeoutSeconds")) {
    try {
      timeout_s = std::stoll(req.get_param_value("timeoutSeconds"));
    } catch (const std::exception&) {
      return SendError(res, ApiError(Code::kBadRequest, "invalid timeoutSeconds"), Route{});
    }
  }
  Result<std::shared_ptr<Watcher>> started =
      store->Watch(target, rv, std::move(filter), initial_events);
  auto state = std::make_shared<WatchStream>();
  if (started.ok()) {
    state->watcher = std::move(started).value();
  } else if (started.status().code() == Code::kGone) {
    state->error = StatusJson(started.status(), Route{}, {});
  } else {
    return SendError(res, started.status(), Route{});
  }
  SteadyTime now = clock->Steady();
  if (timeout_s > 0) state->deadline = now + std::chrono::seconds(timeout_s);
  state->next_bookmark = now + options.bookmark_interval;
  state->next_heartbeat = now + std::chrono::seconds(5);
  state->generation = faults.watch_generation();
  state->bookmarks = QueryFlag(req, "allowWatchBookmarks");
  state->table = req.get_header_value("Accept").find("as=Table") != std::string::npos;
  state->resource = target.resource;
  state->api_version = target.resource->ApiVersion(target.version);
  res.status = 200;
  // Not plain "application/json": httplib would gzip the stream for clients that accept it,
  // and the compressor holds events back until it has a full block.
  res.set_chunked_content_provider(
      "application/json; charset=utf-8",
      [this, state](size_t, httplib::DataSink& sink) { return PumpWatch(*state, sink); },
      [state](bool) {
        if (state->watcher) state->watcher->Close();
      });
}

namespace {

// A bookmark: an object of the watched kind that carries nothing but a resourceVersion.
Json BookmarkObject(const WatchStream& w, uint64_t resource_version) {
  return {{"kind", w.resource->kind},
          {"apiVersion", w.api_version},
          {"metadata", {{"resourceVersion", std::to_string(resource_version)}}}};
}

}  // namespace

bool ApiServer::Impl::PumpWatch(WatchStream& w, httplib::DataSink& sink) {
  // Written as kube-apiserver writes it ({"type":...,"object":...}), around the object's own
  // text: the event's object is shared with the store and the other streams, and is not copied.
  auto write_event = [&](std::string_view type, const Json& object) {
    std::string line = "{\"type\":\"";
    line += type;
    line += "\",\"object\":";
    line += DumpJson(object);
    line += "}\n";
    return sink.write(line.data(), line.size());
  };
  if (!w.error.is_null()) {
    write_event("ERROR", w.error);
    sink.done();
    return true;
  }
  std::optional<WatchEvent> ev = w.watcher->Next(std::chrono::milliseconds(500));
  if (ev && ev->type == "BOOKMARK") {
    // kube-apiserver v1.37 accepts a watch list without allowWatchBookmarks, then sends no end.
    if (!w.bookmarks) return true;
    Json object = BookmarkObject(w, ev->resource_version);
    object["metadata"]["annotations"] = {{"k8s.io/initial-events-end", "true"}};
    return write_event("BOOKMARK", object);
  }
  if (ev) {
    if (!w.table) return write_event(ev->type, *ev->object);
    return write_event(
        ev->type,
        RenderTable(*w.resource, {*ev->object},
                    JsonStringAt(*ev->object, {"metadata", "resourceVersion"}), clock->Now()));
  }
  SteadyTime t = clock->Steady();
  if (stopping || w.watcher->closed() || t >= w.deadline ||
      faults.watch_generation() != w.generation) {
    w.watcher->Close();
    sink.done();
    return true;
  }
  if (w.bookmarks && t >= w.next_bookmark) {
    w.next_bookmark = t + options.bookmark_interval;
    Json object = BookmarkObject(w, w.watcher->last_rv());
    if (!write_event("BOOKMARK", object)) return false;
  } else if (t >= w.next_heartbeat) {
    // Whitespace between events is legal; writing it notices a client that went away.
    w.next_heartbeat = t + std::chrono::seconds(5);
    if (!sink.write("\n", 1)) return false;
  }
  return true;
}

void ApiServer::Impl::HandleGuarded(const httplib::Request& req, httplib::Response& res) {
  try {
    Handle(req, res);
  } catch (const std::exception& e) {
    SendError(res, ApiError(Code::kInternal, std::string("internal error: ") + e.what()), Route{});
  }
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() = default;

namespace {

// --listen HOST:PORT; port 0 picks a free port.
Result<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos)
    return InvalidArgument("--listen " + listen + ": expected HOST:PORT");
  std::string host = listen.substr(0, colon);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || port < 0 || port > 65535) throw 0;
  } catch (...) {
    return InvalidArgument("--listen " + listen + ": port must be 0..65535");
  }
  if (host.empty()) return InvalidArgument("--listen " + listen + ": missing host");
  return std::make_pair(host, port);
}

// An HTTPS server with our generated certificate, verifying client certificates against
// --client-ca-file when one is given.
std::unique_ptr<httplib::Server> NewTlsServer(const TlsMaterial* tls,
                                              const std::string* client_ca_file) {
  return std::make_unique<httplib::SSLServer>([tls, client_ca_file](SSL_CTX& ctx) {
    BIO* cert_bio =
        BIO_new_mem_buf(tls->server_cert_pem.data(), static_cast<int>(tls->server_cert_pem.size()));
    BIO* key_bio =
        BIO_new_mem_buf(tls->server_key_pem.data(), static_cast<int>(tls->server_key_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    bool ok = cert != nullptr && key != nullptr && SSL_CTX_use_certificate(&ctx, cert) == 1 &&
              SSL_CTX_use_PrivateKey(&ctx, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cert_bio);
    BIO_free(key_bio);
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    if (ok && !client_ca_file->empty()) {
      ok = SSL_CTX_load_verify_locations(&ctx, client_ca_file->c_str(), nullptr) == 1;
      SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
    }
    return ok;
  });
}

// Every method and path goes to `handle` (HandleGuarded: an exception becomes a 500).
void InstallHandlers(httplib::Server& http,
                     std::function<void(const httplib::Request&, httplib::Response&)> handle) {
  auto handler = [handle](const httplib::Request& req, httplib::Response& res) {
    handle(req, res);
  };
  http.Get(".*", handler);
  http.Post(".*", handler);
  http.Put(".*", handler);
  http.Patch(".*", handler);
  http.Delete(".*", handler);
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 413) {
      SendError(res, ApiError(Code::kRequestEntityTooLarge, "the request body is too large"),
                Route{});
    }
  });
}

}  // namespace

Status ApiServer::Impl::Open() {
  if (!options.client_ca_file.empty() && !options.tls) {
    return InvalidArgument("--client-ca-file needs --tls");
  }
  if (!options.client_ca_file.empty() &&
      !std::filesystem::is_regular_file(options.client_ca_file)) {
    return InvalidArgument("--client-ca-file " + options.client_ca_file + ": no such file");
  }
  store = std::make_unique<Store>(&registry, clock, Store::Options{options.watch_history, 10000});
  if (!options.data_dir.empty()) {
    Status s = store->OpenDataDir(options.data_dir);
    if (!s.ok()) return InvalidArgument("--data-dir: " + s.message());
  }
  BRFED_RETURN_IF_ERROR(LoadCrds());
  if (!options.audit_log.empty()) {
    audit = std::fopen(options.audit_log.c_str(), "a");
    if (audit == nullptr) {
      return InvalidArgument("--audit-log " + options.audit_log + ": cannot open for writing");
    }
  }
  return Status::Ok();
}

Status ApiServer::Impl::Serve(int requested_port) {
  if (options.tls) {
    BRFED_ASSIGN_OR_RETURN(tls, GenerateTlsMaterial({host}));
    scheme = "https";
    http = NewTlsServer(&tls, &options.client_ca_file);
    if (!http->is_valid()) return InvalidArgument("--tls: could not set up the TLS context");
  } else {
    http = std::make_unique<httplib::Server>();
  }
  size_t max_threads = options.max_threads;
  http->new_task_queue = [max_threads] { return new ElasticPool(max_threads); };
  http->set_payload_max_length(options.max_body_bytes * 4 + 1024);
  http->set_keep_alive_max_count(1000);
  // Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm holds the
  // body back until the client's delayed ACK (~40 ms) on every keep-alive request.
  http->set_tcp_nodelay(true);
  InstallHandlers(*http, [this](const httplib::Request& req, httplib::Response& res) {
    HandleGuarded(req, res);
  });
  if (requested_port == 0) {
    port = http->bind_to_any_port(host);
  } else {
    port = http->bind_to_port(host, requested_port) ? requested_port : -1;
  }
  if (port <= 0) return InvalidArgument("--listen " + options.listen + ": cannot bind");
  return WriteKubeconfig();
}

Result<std::unique_ptr<ApiServer>> ApiServer::Create(const ServerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  BRFED_ASSIGN_OR_RETURN(auto listen, ParseListen(options.listen));
  impl->host = listen.first;
  BRFED_RETURN_IF_ERROR(impl->Open());
  BRFED_RETURN_IF_ERROR(impl->Serve(listen.second));
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

int ApiServer::port() const { return impl_->port; }

std::string ApiServer::url() const {
  return impl_->scheme + "://" + impl_->host + ":" + std::to_string(impl_->port);
}

Status ApiServer::Run() {
  if (!impl_->http->listen_after_bind() && !impl_->stopping) {
    return UnavailableError("the HTTP server stopped unexpectedly");
  }
  return Status::Ok();
}

ApiServer::Reply ApiServer::HandleInProcess(
    const std::string& method, const std::string& path, const std::string& query,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  httplib::detail::parse_query_text(query, req.params);
  for (const auto& [name, value] : headers) req.headers.emplace(name, value);
  req.body = body;
  httplib::Response res;
  impl_->HandleGuarded(req, res);
  return Reply{res.status == -1 ? 200 : res.status, res.body};
}

void ApiServer::Stop() {
  impl_->stopping = true;
  impl_->store->CloseAllWatchers();
  impl_->http->stop();
}

}  // namespace brfed::apiserver
