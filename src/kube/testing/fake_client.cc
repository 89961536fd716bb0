#include "kube/testing/fake_client.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

namespace brfed::kube {
namespace {

std::string Key(std::string_view ns, std::string_view name) {
  return std::string(ns) + "/" + std::string(name);
}

Status Error(Code code, int http, const char* reason, std::string msg) {
  Status s(code, std::move(msg));
  s.WithHttp(http, reason);
  return s;
}

}  // namespace

struct FakeClient::Stream final : public WatchStream {
  std::string collection;
  std::string ns;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<WatchEvent> events;
  bool ended = false;
  Status end_status;
  bool cancelled = false;
  bool strip_managed_fields = false;  // WatchOptions::strip_managed_fields, as the real client

  Result<std::optional<WatchEvent>> Next() override {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return !events.empty() || ended || cancelled; });
    if (cancelled) return Status(Code::kCancelled, "watch cancelled");
    if (!events.empty()) {
      WatchEvent ev = std::move(events.front());
      events.pop_front();
      if (strip_managed_fields) {
        Json stripped = *ev.object;
        StripManagedFields(stripped);
        ev.object = std::make_shared<const Json>(std::move(stripped));
      }
      return std::optional<WatchEvent>(std::move(ev));
    }
    if (!end_status.ok()) return end_status;
    return std::optional<WatchEvent>();
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu);
    cancelled = true;
    cv.notify_all();
  }
};

FakeClient::FakeClient(std::string cluster) : cluster_(std::move(cluster)) {}
FakeClient::~FakeClient() { BreakWatches(Status(Code::kCancelled, "client destroyed")); }

void FakeClient::FailNext(const std::string& verb, Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_[verb].push_back(std::move(error));
}

int FakeClient::Calls(const std::string& verb) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(verb);
  return it == calls_.end() ? 0 : it->second;
}

Status FakeClient::TakeFailure(const std::string& verb) {
  ++calls_[verb];
  auto& q = failures_[verb];
  if (q.empty()) return Status::Ok();
  Status s = q.front();
  q.pop_front();
  return s;
}

void FakeClient::ResetEmpty(Status watch_end) {
  ResetEmptySilently();
  BreakWatches(std::move(watch_end));
}

void FakeClient::ResetEmptySilently() {
  std::lock_guard<std::mutex> lock(mu_);
  objects_.clear();
  history_.clear();
  rv_ = 1;
}

void FakeClient::BreakWatches(Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& weak : streams_) {
    if (auto s = weak.lock()) {
      std::lock_guard<std::mutex> slock(s->mu);
      s->ended = true;
      s->end_status = error;
      s->cv.notify_all();
    }
  }
  streams_.clear();
}

void FakeClient::Notify(const Resource& r, const std::string& type, const Json& obj) {
  std::string collection = r.Path("");
  std::string ns = JsonStringAt(obj, {"metadata", "namespace"});
  WatchEvent::Type t = type == "ADDED"      ? WatchEvent::Type::kAdded
                       : type == "MODIFIED" ? WatchEvent::Type::kModified
                                            : WatchEvent::Type::kDeleted;
  auto shared = std::make_shared<const Json>(obj);
  history_[collection].push_back(WatchEvent{t, shared});
  for (auto& weak : streams_) {
    auto s = weak.lock();
    if (!s || s->collection != collection || (!s->ns.empty() && s->ns != ns)) continue;
    std::lock_guard<std::mutex> slock(s->mu);
    s->events.push_back(WatchEvent{t, shared});
    s->cv.notify_all();
  }
}

Result<Json> FakeClient::Get(const Resource& r, std::string_view ns, std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  BRFED_RETURN_IF_ERROR(TakeFailure("GET"));
  auto& coll = objects_[r.Path("")];
  auto it = coll.find(Key(r.namespaced ? ns : "", name));
  if (it == coll.end()) {
    return Error(Code::kNotFound, 404, "NotFound",
                 r.String() + " \"" + std::string(name) + "\" not found");
  }
  return it->second;
}

Result<Json> FakeClient::List(const Resource& r, std::string_view ns, const ListOptions& o) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool at_version = !o.resource_version_match.empty();
  BRFED_RETURN_IF_ERROR(TakeFailure(at_version ? "LIST_AT_VERSION" : "LIST"));
  if (at_version && std::atoll(o.resource_version.c_str()) > rv_) {
    return Error(Code::kTimeout, 504, "Timeout",
                 "Timeout: Too large resource version: " + o.resource_version +
                     ", current: " + std::to_string(rv_));
  }
  Json items = Json::array();
  for (const auto& [key, obj] : objects_[r.Path("")]) {
    if (!ns.empty() && JsonStringAt(obj, {"metadata", "namespace"}) != ns) continue;
    items.push_back(obj);
    if (o.strip_managed_fields) StripManagedFields(items.back());  // as the real client
  }
  return Json{{"kind", r.kind + "List"},
              {"apiVersion", r.ApiVersion()},
              {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
              {"items", items}};
}

Result<Json> FakeClient::Store(const Resource& r, Json obj, bool create, bool status_only) {
  std::string ns = r.namespaced ? JsonStringAt(obj, {"metadata", "namespace"}) : "";
  std::string name = JsonStringAt(obj, {"metadata", "name"});
  if (name.empty()) return Error(Code::kInvalid, 422, "Invalid", "metadata.name: Required value");
  auto& coll = objects_[r.Path("")];
  auto it = coll.find(Key(ns, name));
  if (create) {
    if (it != coll.end()) {
      return Error(Code::kAlreadyExists, 409, "AlreadyExists",
                   r.String() + " \"" + name + "\" already exists");
    }
    obj["metadata"]["uid"] = "uid-" + std::to_string(rv_ + 1);
    obj["metadata"]["generation"] = 1;
  } else {
    if (it == coll.end()) {
      return Error(Code::kNotFound, 404, "NotFound", r.String() + " \"" + name + "\" not found");
    }
    std::string want = JsonStringAt(obj, {"metadata", "resourceVersion"});
    std::string have = JsonStringAt(it->second, {"metadata", "resourceVersion"});
    if (!want.empty() && want != have) {
      return Error(Code::kConflict, 409, "Conflict",
                   "Operation cannot be fulfilled on " + r.String() + " \"" + name +
                       "\": the object has been modified");
    }
    if (status_only) {
      Json updated = it->second;
      updated["status"] = obj.contains("status") ? obj["status"] : Json();
      obj = std::move(updated);
    } else if (it->second.contains("status")) {
      obj["status"] = it->second["status"];
    }
  }
  obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
  if (!r.kind.empty()) {
    obj["kind"] = r.kind;
    obj["apiVersion"] = r.ApiVersion();
  }
  coll[Key(ns, name)] = obj;
  Notify(r, create ? "ADDED" : "MODIFIED", obj);
  return obj;
}

Result<Json> FakeClient::Create(const Resource& r, std::string_view ns, const Json& obj) {
  std::lock_guard<std::mutex> lock(mu_);
  BRFED_RETURN_IF_ERROR(TakeFailure("POST"));
  Json copy = obj;
  if (r.namespaced) copy["metadata"]["namespace"] = std::string(ns);
  if (JsonStringAt(copy, {"metadata", "name"}).empty() &&
      !JsonStringAt(copy, {"metadata", "generateName"}).empty()) {
    copy["metadata"]["name"] =
        JsonStringAt(copy, {"metadata", "generateName"}) + std::to_string(rv_ + 1);
  }
  copy["metadata"].erase("resourceVersion");
  return Store(r, std::move(copy), true, false);
}

Result<Json> FakeClient::Update(const Resource& r, const Json& obj) {
  std::lock_guard<std::mutex> lock(mu_);
  BRFED_RETURN_IF_ERROR(TakeFailure("PUT"));
  return Store(r, obj, false, false);
}

Result<Json> FakeClient::UpdateStatus(const Resource& r, const Json& obj) {
  std::lock_guard<std::mutex> lock(mu_);
  BRFED_RETURN_IF_ERROR(TakeFailure("PUT"));
  return Store(r, obj, false, true);
}

Result<Json> FakeClient::Patch(const Resource& r, std::string_view ns, std::string_view name,
                               PatchType type, const Json& patch, std::string_view subresource) {
  std::lock_guard<std::mutex> lock(mu_);
  BRFED_RETURN_IF_ERROR(TakeFailure("PATCH"));
  auto& coll = objects_[r.Path("")];
  auto it = coll.find(Key(r.namespaced ? ns : "", name));
  if (it == coll.end()) {
    return Error(Code::kNotFound, 404, "NotFound",
                 r.String() + " \"" + std::string(name) + "\" not found");
  }
  Json patched;
  if (type == PatchType::kJsonPatch) {
    auto applied = ApplyJsonPatch(it->second, patch);
    if (!applied.ok()) return applied.status();
    patched = std::move(applied).value();
  } else if (type == PatchType::kMerge) {
    patched = ApplyMergePatch(it->second, patch);
  } else {
    return Error(Code::kUnsupportedMediaType, 415, "UnsupportedMediaType",
                 "the fake client supports merge and JSON patches only");
  }
  // A resourceVersion in the patch is a precondition; otherwise the current one applies.
  std::string want = JsonStringAt(patched, {"metadata", "resourceVersion"});
  if (want.empty())
    patched["metadata"]["resourceVersion"] = it->second["metadata"]["resourceVersion"];
  return Store(r, std::move(patched), false, subresource == "status");
}

Status FakeClient::Delete(const Resource& r, std::string_view ns, std::string_view name,
                          const DeleteOptions& o) {
  std::lock_guard<std::mutex> lock(mu_);
  BRFED_RETURN_IF_ERROR(TakeFailure("DELETE"));
  auto& coll = objects_[r.Path("")];
  auto it = coll.find(Key(r.namespaced ? ns : "", name));
  if (it == coll.end()) {
    return Error(Code::kNotFound, 404, "NotFound",
                 r.String() + " \"" + std::string(name) + "\" not found");
  }
  if (o.precondition_resource_version &&
      *o.precondition_resource_version !=
          JsonStringAt(it->second, {"metadata", "resourceVersion"})) {
    return Error(Code::kConflict, 409, "Conflict", "precondition failed");
  }
  Json obj = it->second;
  coll.erase(it);
  obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
  Notify(r, "DELETED", obj);
  return Status::Ok();
}

Result<std::unique_ptr<WatchStream>> FakeClient::Watch(const Resource& r, std::string_view ns,
                                                       const WatchOptions& o) {
  std::lock_guard<std::mutex> lock(mu_);
  BRFED_RETURN_IF_ERROR(TakeFailure("WATCH"));
  auto stream = std::make_shared<Stream>();
  stream->collection = r.Path("");
  stream->ns = r.namespaced ? std::string(ns) : "";
  stream->strip_managed_fields = o.strip_managed_fields;
  // From a resourceVersion: the changes after it first, as an API server replays its history.
  const long long from = std::atoll(o.resource_version.c_str());
  for (const WatchEvent& ev : history_[stream->collection]) {
    if (std::atoll(JsonStringAt(*ev.object, {"metadata", "resourceVersion"}).c_str()) <= from ||
        o.resource_version.empty() ||
        (!stream->ns.empty() &&
         JsonStringAt(*ev.object, {"metadata", "namespace"}) != stream->ns)) {
      continue;
    }
    stream->events.push_back(ev);
  }
  streams_.push_back(stream);
  // The caller owns the stream; the client keeps a weak reference to feed it.
  struct Handle final : public WatchStream {
    std::shared_ptr<Stream> s;
    Result<std::optional<WatchEvent>> Next() override { return s->Next(); }
    void Cancel() override { s->Cancel(); }
  };
  auto handle = std::make_unique<Handle>();
  handle->s = std::move(stream);
  return std::unique_ptr<WatchStream>(std::move(handle));
}

Result<Json> FakeClient::Request(std::string_view method, std::string_view path, const Json*) {
  return Error(Code::kNotFound, 404, "NotFound",
               "fake client: no raw route for " + std::string(method) + " " + std::string(path));
}

}  // namespace brfed::kube
