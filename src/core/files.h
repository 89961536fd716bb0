// Whole-file reads: the one ReadFile every layer uses.
//
// Thread-safety: free functions; concurrent reads of one file are the file system's business.
#ifndef BRFED_CORE_FILES_H_
#define BRFED_CORE_FILES_H_

#include <string>

#include "core/status.h"

namespace brfed {

// The bytes of the file at path. kNotFound when it cannot be opened (absent, unreadable, a
// folder), kInternal when reading fails part way; messages read "cannot read PATH: why".
Result<std::string> ReadFile(const std::string& path);

}  // namespace brfed

#endif  // BRFED_CORE_FILES_H_
