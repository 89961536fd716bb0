// The resource registry: which kinds this server serves (built-in kinds plus those defined
// by CustomResourceDefinitions), with everything discovery, routing, Tables and schema
// checks need to know about each one.
//
// Thread-safety: ResourceRegistry is safe for concurrent use (readers share a lock); the
// ResourceInfo values it hands out are immutable shared_ptrs that stay valid after the CRD
// that defined them is removed.
#ifndef BRFED_APISERVER_RESOURCES_H_
#define BRFED_APISERVER_RESOURCES_H_

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace brfed::apiserver {

struct PrinterColumn {
  std::string name;
  std::string type;  // string, integer, number, boolean, date
  std::string format;
  std::string description;
  std::string json_path;  // e.g. ".status.phase"
  int priority = 0;
};

struct ResourceInfo {
  std::string group;                  // "" for core
  std::vector<std::string> versions;  // served versions; the first is preferred
  std::string plural;
  std::string singular;
  std::string kind;
  std::string list_kind;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  bool namespaced = true;
  bool status_subresource = false;
  bool custom = false;  // defined by a CRD (no strategic merge patch)
  std::vector<PrinterColumn> columns;
  // openAPIV3Schema per version (null when none).
  std::map<std::string, std::shared_ptr<const Json>> schemas;

  // "volumebackups.federation.pingcap.com", or "namespaces" for core.
  std::string Id() const { return group.empty() ? plural : plural + "." + group; }
  std::string ApiVersion(const std::string& version) const {
    return group.empty() ? version : group + "/" + version;
  }
  bool Serves(const std::string& version) const;
};

using ResourcePtr = std::shared_ptr<const ResourceInfo>;

// Builds the ResourceInfo a CustomResourceDefinition object describes. Errors are kInvalid
// with the field at fault.
Result<ResourceInfo> ResourceFromCrd(const Json& crd);

class ResourceRegistry {
 public:
  // Starts with the built-in kinds (Namespace, Secret, ConfigMap, Event, Lease, CRD).
  ResourceRegistry();

  // The resource at group/version/plural, or nullptr.
  ResourcePtr Find(const std::string& group, const std::string& version,
                   const std::string& plural) const;
  // By id (plural.group), any version.
  ResourcePtr FindById(const std::string& id) const;

  void Put(ResourceInfo info);
  void Remove(const std::string& id);

  // All resources, ordered by id.
  std::vector<ResourcePtr> All() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, ResourcePtr> by_id_;
};

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_RESOURCES_H_
