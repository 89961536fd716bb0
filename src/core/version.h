// Build identity shown by every binary's --version.
// Thread-safety: constants.
#ifndef BRFED_CORE_VERSION_H_
#define BRFED_CORE_VERSION_H_

#include <string>

namespace brfed {

// "0.1.0"
const char* Version();
// Short git commit of the build, "unknown" outside a checkout.
const char* GitCommit();
// "<program> 0.1.0 (commit abc123)"
std::string VersionLine(const char* program);

}  // namespace brfed

#endif  // BRFED_CORE_VERSION_H_
