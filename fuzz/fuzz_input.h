// FuzzInput: the shared shape of the decide fuzz targets' input. The fuzzer's bytes are one
// JSON object; a target reads what it needs from it with these helpers, which never throw and
// fall back to defaults for missing or mistyped fields, so every byte string is a valid input.
//
// Thread-safety: pure functions over values; a fuzz target runs single-threaded.
#ifndef BRFED_FUZZ_FUZZ_INPUT_H_
#define BRFED_FUZZ_FUZZ_INPUT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/time.h"

namespace brfed::fuzz {

// The input as a JSON object, or nullopt when the bytes are not one.
std::optional<Json> ParseObject(const uint8_t* data, size_t size);

// `input[key]` when it is an object, else an empty object.
Json ObjectAt(const Json& input, std::string_view key);
// `input[key]` when it is an array, else an empty array.
Json ArrayAt(const Json& input, std::string_view key);
// The strings in `input[key]` (other elements are skipped).
std::vector<std::string> StringsAt(const Json& input, std::string_view key);
// `input["now"]` as Unix seconds clamped to years 1970..2200; 2026-01-01 when absent.
Time NowAt(const Json& input);

}  // namespace brfed::fuzz

#endif  // BRFED_FUZZ_FUZZ_INPUT_H_
