// FederationController: the shape every federation controller (VolumeBackup, VolumeRestore,
// VolumeBackupSchedule) has for the manager, and the dependencies the manager hands to each.
// Registering a controller in the manager is one line: add a factory to its controller list.
//
// Thread-safety: Start and Stop are called from the manager's thread, once each.
#ifndef BRFED_FEDERATION_FEDERATION_CONTROLLER_H_
#define BRFED_FEDERATION_FEDERATION_CONTROLLER_H_

#include <chrono>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "federation/data_planes.h"
#include "kube/client.h"
#include "runtime/event_recorder.h"
#include "runtime/metrics.h"

namespace brfed::federation {

struct ControllerDeps {
  std::shared_ptr<kube::Client> control_plane;  // the manager's own cluster
  DataPlanes* data_planes = nullptr;
  runtime::EventRecorder* events = nullptr;
  runtime::MetricsRegistry* metrics = nullptr;
  Clock* clock = RealClock::Get();
  int workers = 5;
  // Safety net only: every live object is looked at again after this long.
  std::chrono::seconds resync{30};
  // Namespace to watch in the control plane ("" = all).
  std::string watch_namespace;
};

class FederationController {
 public:
  virtual ~FederationController() = default;
  virtual const std::string& name() const = 0;
  // Starts the control-plane informers, waits for their first list (bounded), then the workers.
  virtual Status Start() = 0;
  virtual void Stop() = 0;
};

}  // namespace brfed::federation

#endif  // BRFED_FEDERATION_FEDERATION_CONTROLLER_H_
