#include "federation/schedule_kube_writer.h"

#include <nlohmann/json.hpp>

#include "kube/resource.h"

namespace brfed::federation {

Status KubeScheduleWriter::CreateVolumeBackup(const Json& volume_backup) {
  return client_
      ->Create(kube::resources::VolumeBackup(),
               JsonStringAt(volume_backup, {"metadata", "namespace"}), volume_backup)
      .status();
}

Status KubeScheduleWriter::DeleteVolumeBackup(std::string_view ns, std::string_view name) {
  return client_->Delete(kube::resources::VolumeBackup(), ns, name);
}

Status KubeScheduleWriter::PatchScheduleStatus(std::string_view ns, std::string_view name,
                                               const Json& patch) {
  const kube::Resource& r = kube::resources::VolumeBackupSchedule();
  Result<Json> out = client_->Patch(r, ns, name, kube::PatchType::kMerge, patch, "status");
  if (!out.ok() && out.status().code() == Code::kNotFound) {
    out = client_->Patch(r, ns, name, kube::PatchType::kMerge, patch);
  }
  return out.status();
}

}  // namespace brfed::federation
