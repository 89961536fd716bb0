// Resource: which Kubernetes collection a request is about (group, version, plural), and the
// URL paths the API server serves it under. The `resources` namespace names the kinds brfed
// uses so callers never spell paths by hand.
//
// Thread-safety: values; the predefined resources are immutable statics.
#ifndef BRFED_KUBE_RESOURCE_H_
#define BRFED_KUBE_RESOURCE_H_

#include <string>
#include <string_view>

namespace brfed::kube {

struct Resource {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;

  // "v1" for the core group, else "group/version".
  std::string ApiVersion() const;

  // "/api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]]", or "/apis/<g>/<v>/..." for named
  // groups. An empty `ns` (or a cluster-scoped resource) gives the all-namespaces or
  // cluster-scoped collection path.
  std::string Path(std::string_view ns, std::string_view name = "",
                   std::string_view subresource = "") const;

  // "plural.group" ("pods" for the core group): used in logs and metric labels.
  std::string String() const;

  // Whether `other` names the same resource (group and plural; the version does not matter).
  bool SameAs(const Resource& other) const {
    return group == other.group && plural == other.plural;
  }
};

namespace resources {
const Resource& Namespace();
const Resource& Secret();
const Resource& ConfigMap();
const Resource& Event();
const Resource& Lease();  // coordination.k8s.io/v1
const Resource& CustomResourceDefinition();
const Resource& Backup();                // pingcap.com/v1alpha1 backups
const Resource& Restore();               // pingcap.com/v1alpha1 restores
const Resource& TidbCluster();           // pingcap.com/v1alpha1 tidbclusters
const Resource& VolumeBackup();          // federation.pingcap.com/v1alpha1 volumebackups
const Resource& VolumeRestore();         // federation.pingcap.com/v1alpha1 volumerestores
const Resource& VolumeBackupSchedule();  // federation.pingcap.com/v1alpha1 volumebackupschedules
}  // namespace resources

}  // namespace brfed::kube

#endif  // BRFED_KUBE_RESOURCE_H_
