#include "apiserver/resources.h"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

Status CrdInvalid(const std::string& field, const std::string& message) {
  return Status(Code::kInvalid, field + ": " + message).WithHttp(422, "Invalid");
}

ResourceInfo Builtin(std::string group, std::string version, std::string plural,
                     std::string singular, std::string kind, bool namespaced,
                     std::vector<std::string> short_names) {
  ResourceInfo r;
  r.group = std::move(group);
  r.versions = {std::move(version)};
  r.plural = std::move(plural);
  r.singular = std::move(singular);
  r.kind = std::move(kind);
  r.list_kind = r.kind + "List";
  r.namespaced = namespaced;
  r.short_names = std::move(short_names);
  return r;
}

}  // namespace

bool ResourceInfo::Serves(const std::string& version) const {
  return std::find(versions.begin(), versions.end(), version) != versions.end();
}

namespace {

// spec.names: plural, kind, singular, listKind, shortNames, categories.
Status ReadCrdNames(const Json& crd, ResourceInfo& r) {
  const Json* names = JsonAt(crd, {"spec", "names"});
  if (names == nullptr || !names->is_object()) return CrdInvalid("spec.names", "Required value");
  r.plural = JsonStringAt(*names, {"plural"});
  r.kind = JsonStringAt(*names, {"kind"});
  if (r.plural.empty()) return CrdInvalid("spec.names.plural", "Required value");
  if (r.kind.empty()) return CrdInvalid("spec.names.kind", "Required value");
  r.singular = JsonStringAt(*names, {"singular"});
  if (r.singular.empty()) {
    r.singular = r.kind;
    std::transform(r.singular.begin(), r.singular.end(), r.singular.begin(), ::tolower);
  }
  r.list_kind = JsonStringAt(*names, {"listKind"}, r.kind + "List");
  for (const char* key : {"shortNames", "categories"}) {
    auto it = names->find(key);
    if (it == names->end() || !it->is_array()) continue;
    for (const Json& v : *it) {
      if (!v.is_string()) continue;
      (std::string(key) == "shortNames" ? r.short_names : r.categories)
          .push_back(v.get<std::string>());
    }
  }
  return Status::Ok();
}

// The preferred version's status subresource and printer columns.
void ReadPreferredVersion(const Json& preferred, ResourceInfo& r) {
  r.status_subresource = JsonAt(preferred, {"subresources", "status"}) != nullptr;
  const Json* cols = JsonAt(preferred, {"additionalPrinterColumns"});
  if (cols == nullptr || !cols->is_array()) return;
  for (const Json& c : *cols) {
    PrinterColumn col;
    col.name = JsonStringAt(c, {"name"});
    col.type = JsonStringAt(c, {"type"}, "string");
    col.format = JsonStringAt(c, {"format"});
    col.description = JsonStringAt(c, {"description"});
    col.json_path = JsonStringAt(c, {"jsonPath"});
    col.priority = static_cast<int>(JsonIntAt(c, {"priority"}));
    r.columns.push_back(std::move(col));
  }
}

// spec.versions: the served ones (preferred first: the storage version when it is served,
// else the first served) with their schemas; exactly one must be the storage version.
Status ReadCrdVersions(const Json& crd, ResourceInfo& r) {
  const Json* versions = JsonAt(crd, {"spec", "versions"});
  if (versions == nullptr || !versions->is_array() || versions->empty()) {
    return CrdInvalid("spec.versions",
                      "Required value: must have exactly one version marked as "
                      "storage version");
  }
  std::string storage;
  const Json* preferred = nullptr;
  for (size_t i = 0; i < versions->size(); ++i) {
    const Json& v = (*versions)[i];
    std::string name = JsonStringAt(v, {"name"});
    if (name.empty()) {
      return CrdInvalid("spec.versions[" + std::to_string(i) + "].name", "Required value");
    }
    bool is_storage = JsonBoolAt(v, {"storage"});
    if (is_storage) storage = name;
    if (!JsonBoolAt(v, {"served"})) continue;
    if (is_storage) {
      r.versions.insert(r.versions.begin(), name);
      preferred = &v;
    } else {
      r.versions.push_back(name);
      if (preferred == nullptr) preferred = &v;
    }
    if (const Json* schema = JsonAt(v, {"schema", "openAPIV3Schema"});
        schema != nullptr && schema->is_object()) {
      r.schemas[name] = std::make_shared<const Json>(*schema);
    }
  }
  if (preferred != nullptr) ReadPreferredVersion(*preferred, r);
  if (storage.empty()) {
    return CrdInvalid("spec.versions",
                      "Invalid value: must have exactly one version marked as "
                      "storage version");
  }
  if (r.versions.empty()) return CrdInvalid("spec.versions", "must serve at least one version");
  return Status::Ok();
}

}  // namespace

Result<ResourceInfo> ResourceFromCrd(const Json& crd) {
  ResourceInfo r;
  r.custom = true;
  r.group = JsonStringAt(crd, {"spec", "group"});
  if (r.group.empty()) return CrdInvalid("spec.group", "Required value");
  BRFED_RETURN_IF_ERROR(ReadCrdNames(crd, r));
  std::string expected_name = r.plural + "." + r.group;
  if (JsonStringAt(crd, {"metadata", "name"}) != expected_name) {
    return CrdInvalid("metadata.name",
                      "must be spec.names.plural+\".\"+spec.group (\"" + expected_name + "\")");
  }
  std::string scope = JsonStringAt(crd, {"spec", "scope"});
  if (scope != "Namespaced" && scope != "Cluster") {
    return CrdInvalid("spec.scope", "Unsupported value: \"" + scope +
                                        "\": supported values: \"Cluster\", \"Namespaced\"");
  }
  r.namespaced = scope == "Namespaced";
  BRFED_RETURN_IF_ERROR(ReadCrdVersions(crd, r));
  return r;
}

ResourceRegistry::ResourceRegistry() {
  Put(Builtin("", "v1", "namespaces", "namespace", "Namespace", false, {"ns"}));
  Put(Builtin("", "v1", "secrets", "secret", "Secret", true, {}));
  Put(Builtin("", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"}));
  Put(Builtin("", "v1", "events", "event", "Event", true, {"ev"}));
  Put(Builtin("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, {}));
  ResourceInfo crd =
      Builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
              "CustomResourceDefinition", false, {"crd", "crds"});
  crd.status_subresource = true;
  Put(std::move(crd));
}

ResourcePtr ResourceRegistry::Find(const std::string& group, const std::string& version,
                                   const std::string& plural) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(group.empty() ? plural : plural + "." + group);
  if (it == by_id_.end() || !it->second->Serves(version)) return nullptr;
  return it->second;
}

ResourcePtr ResourceRegistry::FindById(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void ResourceRegistry::Put(ResourceInfo info) {
  std::unique_lock lock(mu_);
  std::string id = info.Id();
  by_id_[id] = std::make_shared<const ResourceInfo>(std::move(info));
}

void ResourceRegistry::Remove(const std::string& id) {
  std::unique_lock lock(mu_);
  by_id_.erase(id);
}

std::vector<ResourcePtr> ResourceRegistry::All() const {
  std::shared_lock lock(mu_);
  std::vector<ResourcePtr> out;
  for (const auto& [id, r] : by_id_) out.push_back(r);
  return out;
}

}  // namespace brfed::apiserver
