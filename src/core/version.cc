#include "core/version.h"

namespace brfed {

const char* Version() { return BRFED_VERSION; }
const char* GitCommit() { return BRFED_GIT_COMMIT; }
std::string VersionLine(const char* program) {
  return std::string(program) + " " + Version() + " (commit " + GitCommit() + ")";
}

}  // namespace brfed
