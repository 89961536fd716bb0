#include "apiserver/store.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apiserver/api_error.h"
#include "apiserver/base64.h"
#include "core/log.h"
#include "core/object_ref.h"
#include "core/strings.h"
#include "core/time.h"

namespace brfed::apiserver {
namespace {

constexpr char kCrdId[] = "customresourcedefinitions.apiextensions.k8s.io";
constexpr char kNamespaceId[] = "namespaces";

std::string Qualified(const ResourceInfo& r) { return r.Id(); }

// Equality as kube-apiserver sees two decoded custom resources: Go decodes 1 as an int64 and
// 1.0 as a float64, which never compare equal, where nlohmann's == compares numbers by value.
bool EqualAsDecoded(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return a.is_number_float() == b.is_number_float() && a == b;
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (const auto& [key, value] : a.items()) {
      auto other = b.find(key);
      if (other == b.end() || !EqualAsDecoded(value, *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!EqualAsDecoded(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

// Whether an update leaves what metadata.generation counts as it was: everything but metadata,
// and but the status where a status subresource keeps it (without one the status is ordinary
// content, as kube-apiserver has it). Compared in place: this runs on every write. A number
// sent as 1.0 where 1 is stored moves the generation, as on kube-apiserver (which stores it as 1
// again, so it moves on every such write).
bool SameSpec(const ResourceInfo& r, const Json& a, const Json& b) {
  auto counted = [&](const std::string& key) {
    return key != "metadata" && !(r.status_subresource && key == "status");
  };
  size_t counted_in_a = 0;
  for (const auto& [key, value] : a.items()) {
    if (!counted(key)) continue;
    ++counted_in_a;
    auto other = b.find(key);
    if (other == b.end() || !EqualAsDecoded(*other, value)) return false;
  }
  size_t counted_in_b = 0;
  for (const auto& [key, value] : b.items()) counted_in_b += counted(key) ? 1 : 0;
  return counted_in_a == counted_in_b;
}

// What kube-apiserver stores for a custom resource's float with no fraction: Go writes a
// float64 600 as 600, so it reads back as an integer.
void StoreIntegralFloatsAsIntegers(Json& value) {
  if (value.is_number_float()) {
    if (IsKubeInteger(value)) value = static_cast<int64_t>(value.get<double>());
  } else if (value.is_structured()) {
    for (Json& v : value) StoreIntegralFloatsAsIntegers(v);
  }
}

bool TracksGeneration(const ResourceInfo& r) {
  return r.custom || r.kind == "CustomResourceDefinition";
}

Json& Meta(Json& object) {
  if (!object["metadata"].is_object()) object["metadata"] = Json::object();
  return object["metadata"];
}

constexpr char kForegroundDeletion[] = "foregroundDeletion";

// Adds the foregroundDeletion finalizer unless present; true when it was added.
bool AddForegroundFinalizer(Json& object) {
  Json& finalizers = Meta(object)["finalizers"];
  if (!finalizers.is_array()) finalizers = Json::array();
  if (std::find(finalizers.begin(), finalizers.end(), Json(kForegroundDeletion)) !=
      finalizers.end()) {
    return false;
  }
  finalizers.push_back(kForegroundDeletion);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Watcher

Watcher::Watcher(std::string ns, ListOptions filter, std::string api_version, uint64_t start_rv,
                 size_t max_queue)
    : ns_(std::move(ns)),
      filter_(std::move(filter)),
      api_version_(std::move(api_version)),
      max_queue_(max_queue),
      start_rv_(start_rv),
      last_rv_(start_rv) {}

std::optional<WatchEvent> Watcher::Next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || closed_; });
  if (queue_.empty()) return std::nullopt;
  WatchEvent ev = std::move(queue_.front());
  queue_.pop_front();
  last_rv_ = std::max(last_rv_, ev.resource_version);
  return ev;
}

bool Watcher::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void Watcher::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

uint64_t Watcher::last_rv() const {
  std::lock_guard lock(mu_);
  return last_rv_;
}

void Watcher::OfferInitialEventsEnd(uint64_t rv) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    queue_.push_back({"BOOKMARK", nullptr, rv});
  }
  cv_.notify_all();
}

void Watcher::Offer(const std::string& type, const std::shared_ptr<const Json>& object,
                    const std::shared_ptr<const Json>& old_object, uint64_t rv) {
  auto matches = [&](const Json& o) {
    if (!ns_.empty() && JsonStringAt(o, {"metadata", "namespace"}) != ns_) return false;
    return filter_.labels.Matches(o) && filter_.fields.Matches(o);
  };
  bool now = matches(*object);
  bool before = old_object != nullptr && matches(*old_object);
  std::string out_type = type;
  if (type == "MODIFIED") {
    if (now && !before) out_type = "ADDED";
    if (!now && before) out_type = "DELETED";
    if (!now && !before) return;
  } else if (!now) {
    return;
  }
  // An object that left the selection is sent as it was, at the version that removed it.
  const bool left = type == "MODIFIED" && out_type == "DELETED";
  std::shared_ptr<const Json> out = left ? old_object : object;
  if (left || JsonStringAt(*out, {"apiVersion"}) != api_version_) {
    auto changed = std::make_shared<Json>(*out);
    (*changed)["apiVersion"] = api_version_;
    if (left) (*changed)["metadata"]["resourceVersion"] = std::to_string(rv);
    out = std::move(changed);
  }
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (queue_.size() >= max_queue_) {
      closed_ = true;
    } else {
      queue_.push_back({out_type, std::move(out), rv});
    }
  }
  cv_.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Store

Store::Store(ResourceRegistry* registry, Clock* clock, Options options)
    : registry_(registry), clock_(clock), options_(options), rng_(std::random_device{}()) {}

Store::~Store() { CloseAllWatchers(); }

Status Store::OpenDataDir(const std::string& dir) {
  BRFED_ASSIGN_OR_RETURN(Journal::Loaded loaded, Journal::Open(dir));
  std::lock_guard lock(mu_);
  for (const Json& record : loaded.records) {
    const Json* object = JsonAt(record, {"obj"});
    if (object == nullptr) continue;
    Apply(JsonStringAt(record, {"op"}), JsonStringAt(record, {"res"}),
          std::make_shared<const Json>(*object));
  }
  for (auto& [id, data] : data_) data.compacted_rv = rv_;
  journal_ = std::move(loaded.journal);
  if (loaded.dropped_bytes > 0) {
    log::Warn("dropped a torn or corrupt journal tail",
              {{"dir", dir}, {"bytes", std::to_string(loaded.dropped_bytes)}});
  }
  log::Info("journal loaded", {{"dir", dir},
                               {"records", std::to_string(loaded.records.size())},
                               {"resourceVersion", std::to_string(rv_)}});
  return Status::Ok();
}

Status Store::LoadCrd(const Json& crd) {
  Target target{registry_->FindById(kCrdId), "v1", "", JsonStringAt(crd, {"metadata", "name"})};
  std::lock_guard lock(mu_);
  std::vector<FieldError> causes;
  auto existing = data_[kCrdId].objects.find(Key{"", target.name});
  if (existing != data_[kCrdId].objects.end()) {
    Json updated = crd;
    updated["metadata"]["resourceVersion"] =
        JsonStringAt(*existing->second, {"metadata", "resourceVersion"});
    return UpdateLocked(target, std::move(updated), {false, &causes}).status();
  }
  return CreateLocked(target, crd, {false, &causes}).status();
}

uint64_t Store::CurrentResourceVersion() const {
  std::lock_guard lock(mu_);
  return rv_;
}

std::string Store::NewUid() {
  uint64_t a = rng_(), b = rng_();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(((b >> 48) & 0x3fff) | 0x8000),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

Json Store::Output(const Target& target, const Json& stored) const {
  Json out = stored;
  out["apiVersion"] = target.resource->ApiVersion(target.version);
  out["kind"] = target.resource->kind;
  return out;
}

bool Store::NamespaceExists(const std::string& ns) const {
  auto it = data_.find(kNamespaceId);
  return it != data_.end() && it->second.objects.count(Key{"", ns}) > 0;
}

void Store::Apply(std::string_view op, const std::string& id,
                  const std::shared_ptr<const Json>& object) {
  const Json& obj = *object;
  Key key{JsonStringAt(obj, {"metadata", "namespace"}), JsonStringAt(obj, {"metadata", "name"})};
  uint64_t rv = std::stoull(JsonStringAt(obj, {"metadata", "resourceVersion"}, "0"));
  rv_ = std::max(rv_, rv);
  ResourceData& data = data_[id];
  data.texts.erase(key);
  if (op == "put") {
    data.objects[key] = object;
    if (id == kCrdId) {
      Result<ResourceInfo> info = ResourceFromCrd(obj);
      if (info.ok()) registry_->Put(std::move(info).value());
    }
  } else {
    data.objects.erase(key);
    if (id == kCrdId) {
      Result<ResourceInfo> info = ResourceFromCrd(obj);
      if (info.ok()) registry_->Remove(info->Id());
    }
  }
}

void Store::Publish(ResourceData& data, const std::string& type,
                    const std::shared_ptr<const Json>& object,
                    const std::shared_ptr<const Json>& old_object, uint64_t rv) {
  data.history.push_back({type, object, old_object, rv});
  while (data.history.size() > options_.watch_history) {
    data.compacted_rv = data.history.front().rv;
    data.history.pop_front();
  }
  auto& watchers = data.watchers;
  watchers.erase(std::remove_if(watchers.begin(), watchers.end(),
                                [](const std::weak_ptr<Watcher>& w) { return w.expired(); }),
                 watchers.end());
  for (const auto& weak : watchers) {
    if (auto w = weak.lock(); w != nullptr && rv > w->start_rv_) {
      w->Offer(type, object, old_object, rv);
    }
  }
}

Status Store::Commit(const ResourceInfo& resource, const std::string& type, Json object,
                     std::shared_ptr<const Json> old_object) {
  uint64_t rv = rv_ + 1;
  object["metadata"]["resourceVersion"] = std::to_string(rv);
  const char* op = type == "DELETED" ? "del" : "put";
  if (journal_ != nullptr) {
    BRFED_RETURN_IF_ERROR(journal_->Append({{"op", op}, {"res", resource.Id()}, {"obj", object}}));
  }
  auto published = std::make_shared<const Json>(std::move(object));
  Apply(op, resource.Id(), published);
  Publish(data_[resource.Id()], type, published, old_object, rv);
  return Status::Ok();
}

// Normalises and checks `object` for a create (current == nullptr) or an update.
namespace {

// The 422 for an object with field errors; the causes also go to the caller when it asks.
Status InvalidObject(const ResourceInfo& r, const Json& object, std::vector<FieldError> causes,
                     const WriteOptions& options) {
  std::string msg = r.kind + (r.group.empty() ? "" : "." + r.group) + " \"" +
                    JsonStringAt(object, {"metadata", "name"}) + "\" is invalid: ";
  auto described = [](const FieldError& c) { return c.field + ": " + c.message; };
  if (causes.size() == 1) {
    msg += described(causes[0]);
  } else {
    msg += "[" + Join(causes, ", ", described) + "]";
  }
  if (options.causes != nullptr) *options.causes = std::move(causes);
  return ApiError(Code::kInvalid, msg);
}

// What the API server fills in for built-in kinds: Secret data from stringData and its type,
// a Namespace's phase.
void ApplyBuiltInDefaults(const ResourceInfo& r, Json& object) {
  if (r.kind == "Secret") {
    if (const Json* sd = JsonAt(object, {"stringData"}); sd != nullptr && sd->is_object()) {
      for (const auto& [k, v] : sd->items()) {
        if (v.is_string()) object["data"][k] = Base64Encode(v.get<std::string>());
      }
    }
    object.erase("stringData");
    if (JsonStringAt(object, {"type"}).empty()) object["type"] = "Opaque";
  }
  if (r.kind == "Namespace") {
    // As kube-apiserver's namespace strategy: the name label always matches, and the
    // "kubernetes" finalizer is there until the namespace's contents are gone.
    object["metadata"]["labels"]["kubernetes.io/metadata.name"] =
        JsonStringAt(object, {"metadata", "name"});
    if (!JsonAt(object, {"spec", "finalizers"})) object["spec"]["finalizers"] = {"kubernetes"};
    object["status"]["phase"] =
        JsonAt(object, {"metadata", "deletionTimestamp"}) ? "Terminating" : "Active";
  }
}

// What kube-apiserver's Go types leave out when empty (`omitempty`): a request's `labels: {}`
// or `finalizers: []` is not there when the object is read back (fidelity finding F6).
void DropWhatGoOmitsWhenEmpty(const ResourceInfo& r, Json& object) {
  auto drop_empty = [](Json& parent, std::initializer_list<const char*> fields) {
    if (!parent.is_object()) return;
    for (const char* field : fields) {
      auto it = parent.find(field);
      if (it != parent.end() && (it->is_null() || (it->is_structured() && it->empty()) ||
                                 (it->is_string() && it->get_ref<const std::string&>().empty()))) {
        parent.erase(it);
      }
    }
  };
  if (auto meta = object.find("metadata"); meta != object.end()) {
    drop_empty(*meta, {"labels", "annotations", "finalizers", "ownerReferences", "managedFields",
                       "generateName"});
  }
  if (r.kind == "ConfigMap") drop_empty(object, {"data", "binaryData"});
  if (r.kind == "Secret") drop_empty(object, {"data"});
}

// What kube-apiserver says of an invalid metadata.name, word for word: a Namespace's must be an
// RFC 1123 label, any other object's a subdomain (fidelity finding F15). Empty is caught before.
std::vector<std::string> NameErrors(std::string_view name, bool label) {
  std::vector<std::string> errors;
  const size_t max = label ? 63 : 253;
  if (name.size() > max) {
    errors.push_back("must be no more than " + std::to_string(max) + " characters");
  }
  if (IsDns1123(name, /*allow_dots=*/!label)) return errors;
  if (label && IsDns1123(name, /*allow_dots=*/true)) {
    errors.push_back("must not contain dots");  // a subdomain, but not a label
    return errors;
  }
  errors.push_back(
      label ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
              "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
              "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
              "'-' or '.', and must start and end with an alphanumeric character (e.g. "
              "'example.com', regex used for validation is "
              "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  return errors;
}

// A CRD is accepted at once: its names, Established, and its first version stored.
Status AcceptCrd(const ResourceInfo& r, Json& object, Time now, const WriteOptions& options) {
  Result<ResourceInfo> info = ResourceFromCrd(object);
  if (!info.ok()) {
    std::string msg = info.status().message();
    return InvalidObject(r, object, {{msg.substr(0, msg.find(':')), "FieldValueInvalid", msg}},
                         options);
  }
  object["status"]["acceptedNames"] = object["spec"]["names"];
  const std::string at = FormatRfc3339(now);
  object["status"]["conditions"] =
      Json::array({{{"type", "NamesAccepted"},
                    {"status", "True"},
                    {"reason", "NoConflicts"},
                    {"message", "no conflicts found"},
                    {"lastTransitionTime", at}},
                   {{"type", "Established"},
                    {"status", "True"},
                    {"reason", "InitialNamesAccepted"},
                    {"message", "the initial names have been accepted"},
                    {"lastTransitionTime", at}}});
  object["status"]["storedVersions"] = Json::array({info->versions.front()});
  return Status::Ok();
}

}  // namespace

bool HasFinalizers(const Json& object) {
  const Json* f = JsonAt(object, {"metadata", "finalizers"});
  return f != nullptr && f->is_array() && !f->empty();
}

Status Store::Prepare(const Target& target, Json& object, const Json* current,
                      const WriteOptions& options) {
  const ResourceInfo& r = *target.resource;
  ApplyBuiltInDefaults(r, object);
  DropWhatGoOmitsWhenEmpty(r, object);
  if (r.kind == "CustomResourceDefinition") {
    BRFED_RETURN_IF_ERROR(AcceptCrd(r, object, clock_->Now(), options));
  }
  std::vector<FieldError> causes;
  std::string name = JsonStringAt(object, {"metadata", "name"});
  if (current == nullptr) {
    for (const std::string& error : NameErrors(name, r.kind == "Namespace")) {
      causes.push_back(
          {"metadata.name", "FieldValueInvalid", "Invalid value: \"" + name + "\": " + error});
    }
  }
  auto schema_it = r.schemas.find(target.version);
  if (schema_it != r.schemas.end() && schema_it->second != nullptr) {
    DefaultAndPrune(*schema_it->second, object);
    for (FieldError& e : ValidateAgainstSchema(*schema_it->second, object)) {
      causes.push_back(std::move(e));
    }
  }
  if (!causes.empty()) return InvalidObject(r, object, std::move(causes), options);
  return Status::Ok();
}

Result<std::shared_ptr<const Json>> Store::StoredLocked(const Target& target) {
  auto& data = data_[target.resource->Id()];
  auto it = data.objects.find(Key{target.ns, target.name});
  if (it == data.objects.end()) {
    return ApiError(Code::kNotFound,
                    Qualified(*target.resource) + " \"" + target.name + "\" not found");
  }
  return it->second;
}

Result<Json> Store::Get(const Target& target) {
  std::lock_guard lock(mu_);
  BRFED_ASSIGN_OR_RETURN(std::shared_ptr<const Json> stored, StoredLocked(target));
  return Output(target, *stored);
}

// A built-in type's list items carry no kind and apiVersion (its list has them once); a custom
// resource's carry both, as kube-apiserver writes them (fidelity finding F18).
Json Store::ListItem(const Target& target, const Json& stored) const {
  Json item = Output(target, stored);
  if (!target.resource->custom) {
    item.erase("kind");
    item.erase("apiVersion");
  }
  return item;
}

Result<Json> Store::List(const Target& target, const ListOptions& options) {
  std::lock_guard lock(mu_);
  Json items = Json::array();
  auto& data = data_[target.resource->Id()];
  for (const auto& [key, obj] : data.objects) {
    if (Selected(target, options, key, *obj)) items.push_back(ListItem(target, *obj));
  }
  return Json{{"kind", target.resource->list_kind},
              {"apiVersion", target.resource->ApiVersion(target.version)},
              {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
              {"items", std::move(items)}};
}

Result<Store::ListBody> Store::ListText(const Target& target, const ListOptions& options) {
  std::lock_guard lock(mu_);
  auto& data = data_[target.resource->Id()];
  const std::string api_version = target.resource->ApiVersion(target.version);
  ListBody body;
  body.resource_version = std::to_string(rv_);
  // The keys in the order a Json object prints them, so the bytes are List's.
  body.json = "{\"apiVersion\":" + DumpJson(Json(api_version)) + ",\"items\":[";
  bool first = true;
  for (const auto& [key, obj] : data.objects) {
    if (!Selected(target, options, key, *obj)) continue;
    auto& [version, text] = data.texts[key];
    if (text.empty() || version != api_version) {
      version = api_version;
      text = DumpJson(ListItem(target, *obj));
    }
    if (!first) body.json += ',';
    first = false;
    body.json += text;
  }
  body.json += "],\"kind\":" + DumpJson(Json(target.resource->list_kind)) +
               ",\"metadata\":{\"resourceVersion\":" + DumpJson(Json(body.resource_version)) + "}}";
  return body;
}

bool Store::Selected(const Target& target, const ListOptions& options, const Key& key,
                     const Json& stored) {
  if (!target.ns.empty() && key.ns != target.ns) return false;
  return options.labels.Matches(stored) && options.fields.Matches(stored);
}

Result<Json> Store::Create(const Target& target, Json object, const WriteOptions& options) {
  std::lock_guard lock(mu_);
  return CreateLocked(target, std::move(object), options);
}

namespace {

Status CheckKind(const ResourceInfo& r, const Json& object) {
  std::string kind = JsonStringAt(object, {"kind"});
  if (!kind.empty() && kind != r.kind) {
    return ApiError(Code::kBadRequest, "the kind of the object (" + kind +
                                           ") does not match the resource (" + r.kind + ")");
  }
  return Status::Ok();
}

Status NameMismatch(const std::string& body_name, const std::string& url_name) {
  return ApiError(Code::kBadRequest, "the name of the object (" + body_name +
                                         ") does not match the name on the URL (" + url_name + ")");
}

}  // namespace

Status Store::AssignNamespace(const Target& target, Json& object) {
  Json& meta = Meta(object);
  if (!target.resource->namespaced) {
    meta.erase("namespace");
    return Status::Ok();
  }
  std::string ns = JsonStringAt(object, {"metadata", "namespace"});
  if (!ns.empty() && ns != target.ns) {
    return ApiError(Code::kBadRequest,
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request");
  }
  meta["namespace"] = target.ns;
  if (!NamespaceExists(target.ns)) {
    return ApiError(Code::kNotFound, "namespaces \"" + target.ns + "\" not found");
  }
  return Status::Ok();
}

Status Store::AssignName(const ResourceInfo& r, Json& object, const WriteOptions& options) {
  if (!JsonStringAt(object, {"metadata", "name"}).empty()) return Status::Ok();
  std::string prefix = JsonStringAt(object, {"metadata", "generateName"});
  if (prefix.empty()) {
    std::vector<FieldError> causes = {
        {"metadata.name", "FieldValueRequired",
         "metadata.name: Required value: name or generateName is required"}};
    std::string msg = r.kind + " \"\" is invalid: " + causes[0].message;
    if (options.causes != nullptr) *options.causes = causes;
    return ApiError(Code::kInvalid, msg);
  }
  Json& meta = Meta(object);
  static constexpr char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string name;
  do {
    name = prefix;
    for (int i = 0; i < 5; ++i) name += kChars[rng_() % (sizeof kChars - 1)];
  } while (data_[r.Id()].objects.count(Key{meta.value("namespace", ""), name}) > 0);
  meta["name"] = name;
  return Status::Ok();
}

Result<Json> Store::CreateLocked(const Target& target, Json object, const WriteOptions& options) {
  const ResourceInfo& r = *target.resource;
  if (!object.is_object()) return ApiError(Code::kBadRequest, "the body must be a JSON object");
  if (target.status) {
    return ApiError(Code::kNotFound, "create is not supported on the status subresource");
  }
  BRFED_RETURN_IF_ERROR(CheckKind(r, object));
  BRFED_RETURN_IF_ERROR(AssignNamespace(target, object));
  BRFED_RETURN_IF_ERROR(AssignName(r, object, options));
  Json& meta = Meta(object);
  const std::string name = JsonStringAt(object, {"metadata", "name"});
  if (!target.name.empty() && target.name != name) return NameMismatch(name, target.name);
  Key key{meta.value("namespace", ""), name};
  if (data_[r.Id()].objects.count(key) > 0) {
    return ApiError(Code::kAlreadyExists, Qualified(r) + " \"" + name + "\" already exists");
  }
  object["apiVersion"] = r.ApiVersion(target.version);
  object["kind"] = r.kind;
  for (const char* field : {"deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                            "resourceVersion", "selfLink"}) {
    meta.erase(field);
  }
  meta["uid"] = NewUid();
  meta["creationTimestamp"] = FormatRfc3339(clock_->Now());
  if (TracksGeneration(r)) meta["generation"] = 1;
  if (r.status_subresource && r.kind != "CustomResourceDefinition") object.erase("status");
  BRFED_RETURN_IF_ERROR(Prepare(target, object, nullptr, options));
  if (r.custom) StoreIntegralFloatsAsIntegers(object);
  if (options.dry_run) return Output(target, object);
  BRFED_RETURN_IF_ERROR(Commit(r, "ADDED", std::move(object), nullptr));
  return Output(target, *data_[r.Id()].objects[key]);
}

Result<Json> Store::Update(const Target& target, Json object, const WriteOptions& options) {
  std::lock_guard lock(mu_);
  return UpdateLocked(target, std::move(object), options);
}

namespace {

// An update's body against the object it replaces: name, namespace, kind, resourceVersion.
Status CheckUpdateBody(const Target& target, const Json& object, const Json& current) {
  const ResourceInfo& r = *target.resource;
  std::string body_name = JsonStringAt(object, {"metadata", "name"});
  if (!body_name.empty() && body_name != target.name) return NameMismatch(body_name, target.name);
  std::string body_ns = JsonStringAt(object, {"metadata", "namespace"});
  if (r.namespaced && !body_ns.empty() && body_ns != target.ns) {
    return ApiError(Code::kBadRequest,
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request");
  }
  BRFED_RETURN_IF_ERROR(CheckKind(r, object));
  std::string want_rv = JsonStringAt(object, {"metadata", "resourceVersion"});
  std::string have_rv = JsonStringAt(current, {"metadata", "resourceVersion"});
  if (!want_rv.empty() && want_rv != have_rv) {
    return ApiError(Code::kConflict,
                    "Operation cannot be fulfilled on " + Qualified(r) + " \"" + target.name +
                        "\": the object has been modified; please apply your changes to the "
                        "latest version and try again");
  }
  return Status::Ok();
}

// kube-apiserver refuses new finalizers on an object that is being deleted.
Status CheckNoNewFinalizers(const ResourceInfo& r, const Json& object, const Json& current,
                            const WriteOptions& options) {
  const Json* body = JsonAt(object, {"metadata", "finalizers"});
  if (JsonAt(current, {"metadata", "deletionTimestamp"}) == nullptr || body == nullptr ||
      !body->is_array()) {
    return Status::Ok();
  }
  const Json* had = JsonAt(current, {"metadata", "finalizers"});
  std::vector<std::string> added;
  for (const Json& f : *body) {
    bool known =
        had != nullptr && had->is_array() && std::find(had->begin(), had->end(), f) != had->end();
    if (!known && f.is_string()) added.push_back("\"" + f.get<std::string>() + "\"");
  }
  if (added.empty()) return Status::Ok();
  std::string message =
      "Forbidden: no new finalizers can be added if the object is being deleted, found new "
      "finalizers []string{" +
      Join(added, ", ") + "}";
  return InvalidObject(r, current, {{"metadata.finalizers", "FieldValueForbidden", message}},
                       options);
}

// The object an update stores: through /status only the status changes; otherwise everything
// but the status (with a status subresource) and the server-owned metadata.
Json UpdatedObject(const Target& target, Json object, const Json& current) {
  Json updated;
  if (target.status) {
    updated = current;
    if (object.contains("status")) {
      updated["status"] = object["status"];
    } else {
      updated.erase("status");
    }
    return updated;
  }
  updated = std::move(object);
  if (target.resource->status_subresource) {
    if (current.contains("status")) {
      updated["status"] = current["status"];
    } else {
      updated.erase("status");
    }
  }
  Json& meta = Meta(updated);
  for (const char* field : {"uid", "creationTimestamp", "deletionTimestamp",
                            "deletionGracePeriodSeconds", "generation"}) {
    if (const Json* v = JsonAt(current, {"metadata", field}); v != nullptr) {
      meta[field] = *v;
    } else {
      meta.erase(field);
    }
  }
  meta.erase("managedFields");
  return updated;
}

}  // namespace

Result<Json> Store::UpdateLocked(const Target& target, Json object, const WriteOptions& options) {
  const ResourceInfo& r = *target.resource;
  if (!object.is_object()) return ApiError(Code::kBadRequest, "the body must be a JSON object");
  if (target.status && !r.status_subresource) {
    return ApiError(Code::kNotFound, "the server could not find the requested resource");
  }
  auto& data = data_[r.Id()];
  Key key{target.ns, target.name};
  // Stored objects never change (a write stores a new one), so this stays what it was.
  BRFED_ASSIGN_OR_RETURN(const std::shared_ptr<const Json> current_ptr, StoredLocked(target));
  const Json& current = *current_ptr;
  BRFED_RETURN_IF_ERROR(CheckUpdateBody(target, object, current));
  BRFED_RETURN_IF_ERROR(CheckNoNewFinalizers(r, object, current, options));
  const std::string have_rv = JsonStringAt(current, {"metadata", "resourceVersion"});
  Json updated = UpdatedObject(target, std::move(object), current);
  Json& meta = Meta(updated);
  meta["name"] = target.name;
  if (r.namespaced) meta["namespace"] = target.ns;
  meta["resourceVersion"] = have_rv;
  updated["apiVersion"] = r.ApiVersion(target.version);
  updated["kind"] = r.kind;
  BRFED_RETURN_IF_ERROR(Prepare(target, updated, &current, options));
  if (TracksGeneration(r) && !SameSpec(r, updated, current)) {
    meta["generation"] = JsonIntAt(current, {"metadata", "generation"}, 1) + 1;
  }
  if (r.custom) StoreIntegralFloatsAsIntegers(updated);
  if (updated == current) return Output(target, current);
  if (options.dry_run) return Output(target, updated);
  bool finalize =
      JsonAt(updated, {"metadata", "deletionTimestamp"}) != nullptr && !HasFinalizers(updated);
  if (finalize) {
    BRFED_RETURN_IF_ERROR(Commit(r, "DELETED", updated, current_ptr));
    if (r.kind == "Namespace") BRFED_RETURN_IF_ERROR(RemoveNamespaceContents(target.name));
    return Output(target, updated);
  }
  BRFED_RETURN_IF_ERROR(Commit(r, "MODIFIED", std::move(updated), current_ptr));
  return Output(target, *data.objects[key]);
}

Result<Store::PatchResult> Store::Patch(const Target& target, PatchType type, const Json& patch,
                                        const WriteOptions& options) {
  std::lock_guard lock(mu_);
  const ResourceInfo& r = *target.resource;
  if (type == PatchType::kStrategicMerge && r.custom) {
    return ApiError(Code::kUnsupportedMediaType,
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/json-patch+json, application/merge-patch+json, "
                    "application/apply-patch+yaml");
  }
  auto& data = data_[r.Id()];
  auto it = data.objects.find(Key{target.ns, target.name});
  if (it == data.objects.end()) {
    if (type == PatchType::kApply && !target.status) {
      Target create = target;
      BRFED_ASSIGN_OR_RETURN(Json created, CreateLocked(create, patch, options));
      return PatchResult{std::move(created), true};
    }
    return ApiError(Code::kNotFound, Qualified(r) + " \"" + target.name + "\" not found");
  }
  Json patched = Output(target, *it->second);
  if (type == PatchType::kJson) {
    if (!patch.is_array()) {
      return ApiError(Code::kBadRequest, "a JSON patch must be an array of operations");
    }
    Result<Json> applied = ApplyJsonPatch(patched, patch);
    if (!applied.ok()) return ApiError(Code::kInvalid, applied.status().message());
    patched = std::move(applied).value();
  } else {
    if (!patch.is_object()) return ApiError(Code::kBadRequest, "a merge patch must be an object");
    patched = ApplyMergePatch(std::move(patched), patch);
  }
  BRFED_ASSIGN_OR_RETURN(Json updated, UpdateLocked(target, std::move(patched), options));
  return PatchResult{std::move(updated), false};
}

Result<Json> Store::Delete(const Target& target, const DeleteOptions& options) {
  std::lock_guard lock(mu_);
  const ResourceInfo& r = *target.resource;
  auto& data = data_[r.Id()];
  Key key{target.ns, target.name};
  // Stored objects never change (a write stores a new one), so this stays what it was.
  BRFED_ASSIGN_OR_RETURN(const std::shared_ptr<const Json> current_ptr, StoredLocked(target));
  const Json& current = *current_ptr;
  if (!options.precondition_uid.empty() &&
      options.precondition_uid != JsonStringAt(current, {"metadata", "uid"})) {
    return ApiError(Code::kConflict,
                    "Precondition failed: UID in precondition: " + options.precondition_uid +
                        ", UID in object meta: " + JsonStringAt(current, {"metadata", "uid"}));
  }
  if (!options.precondition_resource_version.empty() &&
      options.precondition_resource_version !=
          JsonStringAt(current, {"metadata", "resourceVersion"})) {
    return ApiError(Code::kConflict, "Precondition failed: ResourceVersion in precondition: " +
                                         options.precondition_resource_version +
                                         ", ResourceVersion in object "
                                         "meta: " +
                                         JsonStringAt(current, {"metadata", "resourceVersion"}));
  }
  if (options.dry_run) return Output(target, current);
  const bool foreground = options.propagation_policy == "Foreground";
  if (foreground || HasFinalizers(current)) {
    Json marked = current;
    // As kube-apiserver: a foreground deletion also reaches an object already being deleted.
    const bool finalizer_added = foreground && AddForegroundFinalizer(marked);
    if (JsonAt(current, {"metadata", "deletionTimestamp"}) != nullptr) {
      if (!finalizer_added) return Output(target, current);
      BRFED_RETURN_IF_ERROR(Commit(r, "MODIFIED", marked, current_ptr));
      return Output(target, *data.objects[key]);
    }
    marked["metadata"]["deletionTimestamp"] = FormatRfc3339(clock_->Now());
    marked["metadata"]["deletionGracePeriodSeconds"] = 0;
    if (TracksGeneration(r)) {
      marked["metadata"]["generation"] = JsonIntAt(current, {"metadata", "generation"}, 1) + 1;
    }
    if (r.kind == "Namespace") marked["status"]["phase"] = "Terminating";
    BRFED_RETURN_IF_ERROR(Commit(r, "MODIFIED", marked, current_ptr));
    return Output(target, *data.objects[key]);
  }
  if (r.kind == "Namespace") BRFED_RETURN_IF_ERROR(RemoveNamespaceContents(target.name));
  if (r.kind == "CustomResourceDefinition") {
    Result<ResourceInfo> info = ResourceFromCrd(current);
    if (info.ok()) BRFED_RETURN_IF_ERROR(RemoveResourceObjects(info->Id()));
  }
  Json final_state = current;
  if (r.kind == "Namespace") final_state["status"]["phase"] = "Terminating";
  BRFED_RETURN_IF_ERROR(Commit(r, "DELETED", final_state, current_ptr));
  Json out = final_state;
  out["metadata"]["resourceVersion"] = std::to_string(rv_);
  return Output(target, out);
}

Status Store::RemoveNamespaceContents(const std::string& ns) {
  for (auto& [id, data] : data_) {
    ResourcePtr r = registry_->FindById(id);
    if (r == nullptr || !r->namespaced) continue;
    std::vector<std::shared_ptr<const Json>> doomed;
    for (const auto& [key, obj] : data.objects) {
      if (key.ns == ns) doomed.push_back(obj);
    }
    for (const auto& obj : doomed) BRFED_RETURN_IF_ERROR(Commit(*r, "DELETED", *obj, obj));
  }
  return Status::Ok();
}

Status Store::RemoveResourceObjects(const std::string& id) {
  ResourcePtr r = registry_->FindById(id);
  auto it = data_.find(id);
  if (r == nullptr || it == data_.end()) return Status::Ok();
  std::vector<std::shared_ptr<const Json>> doomed;
  for (const auto& [key, obj] : it->second.objects) doomed.push_back(obj);
  for (const auto& obj : doomed) BRFED_RETURN_IF_ERROR(Commit(*r, "DELETED", *obj, obj));
  for (const auto& weak : it->second.watchers) {
    if (auto w = weak.lock()) w->Close();
  }
  return Status::Ok();
}

Result<std::shared_ptr<Watcher>> Store::Watch(const Target& target,
                                              const std::string& resource_version,
                                              ListOptions filter, bool initial_events) {
  std::lock_guard lock(mu_);
  auto& data = data_[target.resource->Id()];
  bool from_now = initial_events || resource_version.empty() || resource_version == "0";
  uint64_t start = rv_;
  if (!resource_version.empty() && resource_version != "0") {
    try {
      size_t used = 0;
      start = std::stoull(resource_version, &used);
      if (used != resource_version.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return ApiError(Code::kBadRequest, "invalid resourceVersion \"" + resource_version + "\"");
    }
    if (!from_now && start < data.compacted_rv) {
      return ApiError(Code::kGone, "too old resource version: " + resource_version + " (" +
                                       std::to_string(data.compacted_rv) + ")");
    }
  }
  auto watcher = std::make_shared<Watcher>(target.ns, std::move(filter),
                                           target.resource->ApiVersion(target.version),
                                           from_now ? rv_ : start, options_.watcher_queue);
  if (from_now) {
    for (const auto& [key, obj] : data.objects) {
      watcher->Offer("ADDED", obj, nullptr,
                     std::stoull(JsonStringAt(*obj, {"metadata", "resourceVersion"}, "0")));
    }
    if (initial_events) watcher->OfferInitialEventsEnd(rv_);
  } else {
    for (const Event& ev : data.history) {
      if (ev.rv <= start) continue;
      watcher->Offer(ev.type, ev.object, ev.old_object, ev.rv);
    }
  }
  data.watchers.push_back(watcher);
  return watcher;
}

void Store::CloseAllWatchers() {
  std::lock_guard lock(mu_);
  for (auto& [id, data] : data_) {
    for (const auto& weak : data.watchers) {
      if (auto w = weak.lock()) w->Close();
    }
    data.watchers.clear();
  }
}

void Store::ExpireWatchHistory() {
  std::lock_guard lock(mu_);
  for (auto& [id, data] : data_) {
    data.history.clear();
    data.compacted_rv = rv_;  // a client that saw rv_ missed nothing; any older one did
  }
}

}  // namespace brfed::apiserver
