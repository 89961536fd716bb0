// Human-readable byte sizes exactly as go-humanize's Bytes prints them (SI, base 1000):
// "0 B", "999 B", "1.0 kB", "83 MB", "1.9 TB". Upstream writes `backupSizeReadable` this way.
//
// Thread-safety: pure function.
#ifndef BRFED_CORE_BYTES_H_
#define BRFED_CORE_BYTES_H_

#include <cstdint>
#include <string>

namespace brfed {

std::string HumanizeBytes(uint64_t bytes);

}  // namespace brfed

#endif  // BRFED_CORE_BYTES_H_
