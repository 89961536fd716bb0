#include "federation/schedule_kube_writer.h"

#include <nlohmann/json.hpp>

#include "kube/resource.h"

namespace brfed::federation {

KubeScheduleWriter::KubeScheduleWriter(std::shared_ptr<kube::Client> client,
                                       runtime::StatusWriter* status_writer)
    : client_(std::move(client)) {
  if (status_writer == nullptr) {
    own_status_writer_ = std::make_unique<runtime::StatusWriter>(client_);
    status_writer = own_status_writer_.get();
  }
  // The control plane only: a schedule writes nothing in the data planes.
  auto clients = [client = client_](const std::string& cluster) {
    return cluster.empty() ? client : nullptr;
  };
  executor_ = std::make_unique<Executor>(std::move(clients), status_writer, EventSink());
}

Status KubeScheduleWriter::Run(Write write, Json* written) {
  const std::string key = write.ns + "/" + write.name;
  ExecuteResult result =
      executor_->Execute(key, {std::move(write)}, [written](const Write&, const Json& out) {
        if (written != nullptr) *written = out;
      });
  // The controller adds its own context; the server's answer is what it reports.
  return result.cause;
}

Result<std::string> KubeScheduleWriter::CreateVolumeBackup(const Json& volume_backup) {
  Write w;
  w.verb = Write::Verb::kCreate;
  w.resource = &kube::resources::VolumeBackup();
  w.ns = JsonStringAt(volume_backup, {"metadata", "namespace"});
  w.name = JsonStringAt(volume_backup, {"metadata", "name"});
  w.body = std::make_shared<const Json>(volume_backup);
  Json written;
  BRFED_RETURN_IF_ERROR(Run(std::move(w), &written));
  // The ScheduleController tells "created" from "was there" (its metric counts creates).
  if (written.is_null()) return Status(Code::kAlreadyExists, "VolumeBackup exists");
  return JsonStringAt(written, {"metadata", "resourceVersion"});
}

Status KubeScheduleWriter::DeleteVolumeBackup(std::string_view ns, std::string_view name) {
  Write w;
  w.verb = Write::Verb::kDelete;
  w.resource = &kube::resources::VolumeBackup();
  w.ns = std::string(ns);
  w.name = std::string(name);
  Json written;
  BRFED_RETURN_IF_ERROR(Run(std::move(w), &written));
  const bool gone = written.is_null();
  return gone ? Status(Code::kNotFound, "VolumeBackup is gone") : Status::Ok();
}

Result<Json> KubeScheduleWriter::ReadScheduleLive(std::string_view ns, std::string_view name) {
  return client_->Get(kube::resources::VolumeBackupSchedule(), ns, name);
}

Status KubeScheduleWriter::PatchScheduleStatus(std::string_view ns, std::string_view name,
                                               const Json& patch) {
  Write w;
  w.verb = Write::Verb::kPatchStatus;
  w.resource = &kube::resources::VolumeBackupSchedule();
  w.ns = std::string(ns);
  w.name = std::string(name);
  w.body = std::make_shared<const Json>(patch);
  return Run(std::move(w));
}

}  // namespace brfed::federation
