// String joining: the one place that writes "a; b; c" or "x, y" out of a list.
//
// Thread-safety: free functions over caller-owned values; no shared state.
#ifndef BRFED_CORE_STRINGS_H_
#define BRFED_CORE_STRINGS_H_

#include <string>
#include <string_view>
#include <vector>

namespace brfed {

// Joins items with sep between them: Join({"a", "b"}, "; ") == "a; b"; no items give "".
std::string Join(const std::vector<std::string>& items, std::string_view sep);

// Joins to_string(item) for each item of a range: Join(issues, "; ", &Issue::message) style,
// with a lambda.
template <typename Range, typename ToString>
std::string Join(const Range& items, std::string_view sep, ToString to_string) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += to_string(item);
  }
  return out;
}

}  // namespace brfed

#endif  // BRFED_CORE_STRINGS_H_
