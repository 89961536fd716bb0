#include "manager/controllers.h"

#include "federation/backup_controller.h"
#include "federation/restore_controller.h"
#include "federation/volume_backup_schedule_controller.h"

namespace brfed::manager {

std::vector<ControllerFactory> RegisteredControllers() {
  return {
      Register<federation::VolumeBackupController>(),
      Register<federation::VolumeRestoreController>(),
      Register<federation::VolumeBackupScheduleController>(),
  };
}

}  // namespace brfed::manager
