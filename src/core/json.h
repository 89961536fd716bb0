// JSON helpers over nlohmann::json: parsing without exceptions, YAML to JSON, and
// null-safe path accessors. Kubernetes objects stay JSON underneath so that fields we do not
// model survive round trips.
//
// This header only forward-declares nlohmann::json; a .cc that builds or inspects JSON values
// includes <nlohmann/json.hpp> itself.
//
// Thread-safety: free functions over caller-owned values; no shared state.
#ifndef BRFED_CORE_JSON_H_
#define BRFED_CORE_JSON_H_

#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace brfed {

using Json = nlohmann::json;

// Parses one JSON document. Errors (kInvalidArgument) carry the byte offset.
Result<Json> ParseJson(std::string_view text);

// Parses like ParseJson, but leaves out every member named `key` of an object that is itself
// the value of a member named `parent_key` (at any depth). Nothing is built for a left-out
// value, which is what makes this cheaper than erasing it after the parse: Kubernetes'
// metadata.managedFields are a deep tree of small objects on every object.
Result<Json> ParseJsonWithout(std::string_view text, std::string_view parent_key,
                              std::string_view key);

// Parses one YAML document (JSON is YAML) into JSON. Scalars keep YAML 1.2 core types:
// plain true/false/null/numbers become JSON types, quoted scalars stay strings.
Result<Json> ParseYaml(std::string_view text);

// Parses a multi-document YAML stream; empty documents are skipped.
Result<std::vector<Json>> ParseYamlDocuments(std::string_view text);

// Compact serialisation.
std::string DumpJson(const Json& value);

// The value at `path` (object keys), or nullptr when any step is missing or not an object.
const Json* JsonAt(const Json& root, std::initializer_list<std::string_view> path);

// The string at `path`, or `fallback` when missing or not a string.
std::string JsonStringAt(const Json& root, std::initializer_list<std::string_view> path,
                         std::string_view fallback = "");

// The integer at `path`, or `fallback` when missing or not an integer.
long long JsonIntAt(const Json& root, std::initializer_list<std::string_view> path,
                    long long fallback = 0);

// The bool at `path`, or `fallback` when missing or not a bool.
bool JsonBoolAt(const Json& root, std::initializer_list<std::string_view> path,
                bool fallback = false);

// RFC 7386 JSON merge patch applied to `target` (a copy, or moved in when the caller is done
// with it).
Json ApplyMergePatch(Json target, const Json& patch);

// RFC 6902 JSON patch (including `test`); errors are kInvalid with the failing operation.
Result<Json> ApplyJsonPatch(const Json& target, const Json& patch);

// The RFC 7386 merge patch that turns `from` into `to`.
Json CreateMergePatch(const Json& from, const Json& to);

}  // namespace brfed

#endif  // BRFED_CORE_JSON_H_
