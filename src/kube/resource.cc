#include "kube/resource.h"

namespace brfed::kube {

std::string Resource::ApiVersion() const { return group.empty() ? version : group + "/" + version; }

std::string Resource::Path(std::string_view ns, std::string_view name,
                           std::string_view subresource) const {
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += ns;
  }
  path += "/";
  path += plural;
  if (!name.empty()) {
    path += "/";
    path += name;
    if (!subresource.empty()) {
      path += "/";
      path += subresource;
    }
  }
  return path;
}

std::string Resource::String() const { return group.empty() ? plural : plural + "." + group; }

namespace resources {
namespace {
const Resource& Make(const char* group, const char* version, const char* plural, const char* kind,
                     bool namespaced) {
  // Leaked on purpose: immutable statics that live for the whole process.
  return *new Resource{group, version, plural, kind, namespaced};
}
}  // namespace

const Resource& Namespace() {
  static const Resource& r = Make("", "v1", "namespaces", "Namespace", false);
  return r;
}
const Resource& Secret() {
  static const Resource& r = Make("", "v1", "secrets", "Secret", true);
  return r;
}
const Resource& ConfigMap() {
  static const Resource& r = Make("", "v1", "configmaps", "ConfigMap", true);
  return r;
}
const Resource& Event() {
  static const Resource& r = Make("", "v1", "events", "Event", true);
  return r;
}
const Resource& Lease() {
  static const Resource& r = Make("coordination.k8s.io", "v1", "leases", "Lease", true);
  return r;
}
const Resource& CustomResourceDefinition() {
  static const Resource& r = Make("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                  "CustomResourceDefinition", false);
  return r;
}
const Resource& Backup() {
  static const Resource& r = Make("pingcap.com", "v1alpha1", "backups", "Backup", true);
  return r;
}
const Resource& Restore() {
  static const Resource& r = Make("pingcap.com", "v1alpha1", "restores", "Restore", true);
  return r;
}
const Resource& TidbCluster() {
  static const Resource& r = Make("pingcap.com", "v1alpha1", "tidbclusters", "TidbCluster", true);
  return r;
}
const Resource& VolumeBackup() {
  static const Resource& r =
      Make("federation.pingcap.com", "v1alpha1", "volumebackups", "VolumeBackup", true);
  return r;
}
const Resource& VolumeRestore() {
  static const Resource& r =
      Make("federation.pingcap.com", "v1alpha1", "volumerestores", "VolumeRestore", true);
  return r;
}
const Resource& VolumeBackupSchedule() {
  static const Resource& r = Make("federation.pingcap.com", "v1alpha1", "volumebackupschedules",
                                  "VolumeBackupSchedule", true);
  return r;
}
}  // namespace resources

}  // namespace brfed::kube
