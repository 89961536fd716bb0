// Fuzzes Go duration parsing (core/duration.h). Beyond "no crash": whatever parses must format
// back to a string that parses to the same value (Go's String/ParseDuration round trip).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/duration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = brfed::ParseGoDuration(text);
  if (!parsed.ok()) return 0;
  std::string formatted = brfed::FormatGoDuration(*parsed);
  auto again = brfed::ParseGoDuration(formatted);
  if (!again.ok() || *again != *parsed) {
    std::fprintf(stderr, "round trip failed: %s -> %s\n", std::string(text).c_str(),
                 formatted.c_str());
    std::abort();
  }
  brfed::RoundGoDuration(*parsed, std::chrono::nanoseconds(size));
  return 0;
}
