// Whole-file reads and atomic whole-file writes: the one ReadFile and WriteFileAtomically every
// layer uses.
//
// Thread-safety: free functions; concurrent reads of one file are the file system's business.
#ifndef BRFED_CORE_FILES_H_
#define BRFED_CORE_FILES_H_

#include <sys/types.h>

#include <string>

#include "core/status.h"

namespace brfed {

// The bytes of the file at path. kNotFound when it cannot be opened (absent, unreadable, a
// folder), kInternal when reading fails part way; messages read "cannot read PATH: why".
Result<std::string> ReadFile(const std::string& path);

// Replaces the file at path with `text` in one rename, so a reader sees the old or the new
// bytes, never a part: a temporary file next to it with permissions `mode`, written, flushed
// to disk, then renamed. kInvalidArgument naming the path when any step fails.
Status WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode = 0644);

}  // namespace brfed

#endif  // BRFED_CORE_FILES_H_
