// KubeScheduleWriter: the ScheduleController's writes (create and delete VolumeBackups, patch
// a schedule's status), and its one live read (the schedule, before a create), to the
// control-plane API server. The writes are each carried out by the federation::Executor (so
// every write of every controller goes through Executor::Execute).
//
// Status goes through runtime::StatusWriter (the one status writer: /status when the CRD
// serves it, else the object).
//
// Thread-safety: as safe as the Client (which is thread-safe). Ownership: shares the Client.
#ifndef BRFED_FEDERATION_SCHEDULE_KUBE_WRITER_H_
#define BRFED_FEDERATION_SCHEDULE_KUBE_WRITER_H_

#include <memory>
#include <string_view>

#include "federation/executor.h"
#include "federation/schedule_controller.h"
#include "kube/client.h"
#include "runtime/status_writer.h"

namespace brfed::federation {

class KubeScheduleWriter final : public ScheduleWriter {
 public:
  // `status_writer` null: the writer makes its own over `client`.
  explicit KubeScheduleWriter(std::shared_ptr<kube::Client> client,
                              runtime::StatusWriter* status_writer = nullptr);

  Result<std::string> CreateVolumeBackup(const Json& volume_backup) override;
  Status DeleteVolumeBackup(std::string_view ns, std::string_view name) override;
  Status PatchScheduleStatus(std::string_view ns, std::string_view name,
                             const Json& patch) override;
  Result<Json> ReadScheduleLive(std::string_view ns, std::string_view name) override;

 private:
  // Runs one write; `written` (optional) gets the server's answer, null when the write found
  // its work done (the object existed, or was gone).
  Status Run(Write write, Json* written = nullptr);

  std::shared_ptr<kube::Client> client_;
  std::unique_ptr<runtime::StatusWriter> own_status_writer_;
  std::unique_ptr<Executor> executor_;
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_SCHEDULE_KUBE_WRITER_H_
