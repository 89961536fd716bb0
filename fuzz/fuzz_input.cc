#include "fuzz/fuzz_input.h"

#include <algorithm>

namespace brfed::fuzz {

std::optional<Json> ParseObject(const uint8_t* data, size_t size) {
  auto parsed = ParseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok() || !parsed->is_object()) return std::nullopt;
  return std::move(parsed).value();
}

Json ObjectAt(const Json& input, std::string_view key) {
  auto it = input.find(key);
  return it != input.end() && it->is_object() ? *it : Json::object();
}

Json ArrayAt(const Json& input, std::string_view key) {
  auto it = input.find(key);
  return it != input.end() && it->is_array() ? *it : Json::array();
}

std::vector<std::string> StringsAt(const Json& input, std::string_view key) {
  std::vector<std::string> out;
  for (const Json& item : ArrayAt(input, key)) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

Time NowAt(const Json& input) {
  constexpr int64_t kDefault = 1767225600;  // 2026-01-01T00:00:00Z
  constexpr int64_t kMax = 7258118400;      // 2200-01-01T00:00:00Z
  int64_t seconds = kDefault;
  auto it = input.find("now");
  if (it != input.end() && it->is_number_integer()) {
    seconds = std::clamp<int64_t>(it->get<int64_t>(), 0, kMax);
  }
  return Time(std::chrono::seconds(seconds));
}

}  // namespace brfed::fuzz
