// Temporary stubs so that the library links while the implementation lands.
#include "runtime/controller.h"

namespace brfed::runtime {
ErrorDecision DefaultErrorPolicy(const Status&) { return {}; }
}  // namespace brfed::runtime
