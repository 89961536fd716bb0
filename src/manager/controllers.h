// The controllers the manager runs. Registering one is one line in RegisteredControllers()
// (controllers.cc): `Register<federation::VolumeRestoreController>()`. Each is built with the
// shared ControllerDeps after the data planes exist and before they start, so its member and
// cluster-change handlers see every cluster.
//
// Thread-safety: pure functions returning factories.
#ifndef BRFED_MANAGER_CONTROLLERS_H_
#define BRFED_MANAGER_CONTROLLERS_H_

#include <functional>
#include <memory>
#include <vector>

#include "federation/federation_controller.h"

namespace brfed::manager {

using ControllerFactory = std::function<std::unique_ptr<federation::FederationController>(
    const federation::ControllerDeps& deps)>;

template <typename T>
ControllerFactory Register() {
  return [](const federation::ControllerDeps& deps) { return std::make_unique<T>(deps); };
}

// Every controller br-federation-manager runs, in start order.
std::vector<ControllerFactory> RegisteredControllers();

}  // namespace brfed::manager

#endif  // BRFED_MANAGER_CONTROLLERS_H_
