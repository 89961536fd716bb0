// KubeScheduleWriter: the ScheduleController's writes (create and delete VolumeBackups, patch
// a schedule's status) over a kube::Client to the control-plane API server.
//
// Status goes to the `status` subresource (brfed's CRDs have one); when the server answers
// 404 for it (upstream's CRDs declare no subresource), the same patch goes to the object.
//
// Thread-safety: as safe as the Client (which is thread-safe). Ownership: shares the Client.
#ifndef BRFED_FEDERATION_SCHEDULE_KUBE_WRITER_H_
#define BRFED_FEDERATION_SCHEDULE_KUBE_WRITER_H_

#include <memory>
#include <string_view>

#include "federation/schedule_controller.h"
#include "kube/client.h"

namespace brfed::federation {

class KubeScheduleWriter final : public ScheduleWriter {
 public:
  explicit KubeScheduleWriter(std::shared_ptr<kube::Client> client) : client_(std::move(client)) {}

  Status CreateVolumeBackup(const Json& volume_backup) override;
  Status DeleteVolumeBackup(std::string_view ns, std::string_view name) override;
  Status PatchScheduleStatus(std::string_view ns, std::string_view name,
                             const Json& patch) override;

 private:
  std::shared_ptr<kube::Client> client_;
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_SCHEDULE_KUBE_WRITER_H_
