#include "manager/controllers.h"

#include "federation/backup_controller.h"

namespace brfed::manager {

std::vector<ControllerFactory> RegisteredControllers() {
  return {
      Register<federation::VolumeBackupController>(),
  };
}

}  // namespace brfed::manager
