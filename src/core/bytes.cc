#include "core/bytes.h"

#include <cmath>
#include <cstdio>

namespace brfed {

std::string HumanizeBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  char buf[32];
  if (bytes < 10) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    return buf;
  }
  const double value = static_cast<double>(bytes);
  const double exponent = std::floor(std::log(value) / std::log(1000.0));
  const int index = static_cast<int>(exponent);
  const double scaled = std::floor(value / std::pow(1000.0, exponent) * 10 + 0.5) / 10;
  std::snprintf(buf, sizeof buf, scaled < 10 ? "%.1f %s" : "%.0f %s", scaled, kUnits[index]);
  return buf;
}

}  // namespace brfed
