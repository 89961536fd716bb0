// `-o table|yaml|json` for brfed: serialising objects as kubectl does (a single object as is,
// several as a v1 List) and checking the format name.
//
// Thread-safety: pure functions.
#ifndef BRFED_CLI_OUTPUT_H_
#define BRFED_CLI_OUTPUT_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace brfed::cli {

enum class OutputFormat { kTable, kYaml, kJson };

Result<OutputFormat> ParseOutputFormat(std::string_view name);

// Block-style YAML of `value` (keys in JSON order), ending in '\n'.
std::string ToYaml(const Json& value);

// Pretty JSON (2-space indent), ending in '\n'.
std::string ToPrettyJson(const Json& value);

// A v1 List of `items`.
Json MakeList(const std::vector<Json>& items);

// `value` in `format` (kYaml or kJson).
std::string Serialize(const Json& value, OutputFormat format);

}  // namespace brfed::cli

#endif  // BRFED_CLI_OUTPUT_H_
