// VolumeBackupScheduleController: the manager-facing VolumeBackupSchedule controller. It owns
// (shared) control-plane informers for VolumeBackupSchedules and VolumeBackups, a work queue with
// workers, and a ScheduleController (the observe -> decide -> act core) wired to a
// KubeScheduleWriter, the EventRecorder, the metrics registry and VolumeBackup validation
// against the data planes' names. A schedule event enqueues the schedule and its group; a
// VolumeBackup event enqueues the schedule that made it and that schedule's group.
//
// Metrics: brfed_schedule_backups_created_total{namespace,schedule},
// brfed_schedule_retention_deletions_total{namespace,schedule},
// brfed_schedule_last_successful_backup_timestamp_seconds{namespace,schedule}.
//
// Thread-safety: Start/Stop from one thread; Reconcile runs on the workers.
#ifndef BRFED_FEDERATION_VOLUME_BACKUP_SCHEDULE_CONTROLLER_H_
#define BRFED_FEDERATION_VOLUME_BACKUP_SCHEDULE_CONTROLLER_H_

#include <memory>
#include <string>

#include "federation/federation_controller.h"
#include "federation/schedule_controller.h"
#include "federation/schedule_kube_writer.h"
#include "runtime/controller.h"
#include "runtime/informer.h"

namespace brfed::federation {

class VolumeBackupScheduleController final : public FederationController, private ScheduleMetrics {
 public:
  explicit VolumeBackupScheduleController(ControllerDeps deps);
  ~VolumeBackupScheduleController() override;

  const std::string& name() const override { return name_; }
  Status Start() override;
  void Stop() override;

  // One pass for "namespace/name" (exposed for tests).
  Result<runtime::ReconcileOutcome> Reconcile(const std::string& key);

 private:
  void BackupCreated(std::string_view ns, std::string_view schedule) override;
  void RetentionDeleted(std::string_view ns, std::string_view schedule) override;
  void LastSuccessfulBackup(std::string_view ns, std::string_view schedule, Time t) override;

  const std::string name_ = "volumeBackupSchedule";
  ControllerDeps deps_;
  KubeScheduleWriter writer_;
  std::shared_ptr<runtime::Informer> schedules_;
  std::shared_ptr<runtime::Informer> volume_backups_;
  std::unique_ptr<ScheduleController> core_;
  std::unique_ptr<runtime::Controller> controller_;
  runtime::Counter* created_ = nullptr;
  runtime::Counter* deleted_ = nullptr;
  runtime::Gauge* last_success_ = nullptr;
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_VOLUME_BACKUP_SCHEDULE_CONTROLLER_H_
