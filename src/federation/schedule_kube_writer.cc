#include "federation/schedule_kube_writer.h"

#include <nlohmann/json.hpp>

#include "kube/resource.h"

namespace brfed::federation {

KubeScheduleWriter::KubeScheduleWriter(std::shared_ptr<kube::Client> client,
                                       runtime::StatusWriter* status_writer)
    : client_(std::move(client)), status_writer_(status_writer) {
  if (status_writer_ == nullptr) {
    own_status_writer_ = std::make_unique<runtime::StatusWriter>(client_);
    status_writer_ = own_status_writer_.get();
  }
}

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
  return status_writer_->Patch(kube::resources::VolumeBackupSchedule(), ns, name, patch).status();
}

}  // namespace brfed::federation
