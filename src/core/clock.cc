#include "core/clock.h"

namespace brfed {

Clock* RealClock::Get() {
  static RealClock* const instance = new RealClock();
  return instance;
}

}  // namespace brfed
