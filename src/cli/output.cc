#include "cli/output.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace brfed::cli {
namespace {

void Emit(YAML::Emitter& e, const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      e << YAML::BeginMap;
      for (const auto& [key, item] : v.items()) {
        e << YAML::Key << key << YAML::Value;
        Emit(e, item);
      }
      e << YAML::EndMap;
      break;
    case Json::value_t::array:
      e << YAML::BeginSeq;
      for (const Json& item : v) Emit(e, item);
      e << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      // Quote strings a YAML reader would otherwise turn into another type ("true", "12").
      Result<Json> reparsed = ParseYaml(s);
      const bool ambiguous = s.empty() || !reparsed.ok() || !reparsed->is_string() ||
                             reparsed->get_ref<const std::string&>() != s;
      if (ambiguous) e << YAML::DoubleQuoted;
      e << s;
      break;
    }
    case Json::value_t::boolean:
      e << (v.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::null:
      e << YAML::Null;
      break;
    default:
      e << v.dump();
  }
}

}  // namespace

Result<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "table" || name == "wide" || name.empty()) return OutputFormat::kTable;
  if (name == "yaml") return OutputFormat::kYaml;
  if (name == "json") return OutputFormat::kJson;
  return InvalidArgument("unknown output format \"" + std::string(name) +
                         "\"; use -o table, -o yaml or -o json");
}

std::string ToYaml(const Json& value) {
  YAML::Emitter e;
  Emit(e, value);
  std::string out = e.c_str();
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

std::string ToPrettyJson(const Json& value) { return value.dump(2) + "\n"; }

Json MakeList(const std::vector<Json>& items) {
  return Json{{"apiVersion", "v1"},
              {"kind", "List"},
              {"items", items},
              {"metadata", {{"resourceVersion", ""}}}};
}

std::string Serialize(const Json& value, OutputFormat format) {
  return format == OutputFormat::kJson ? ToPrettyJson(value) : ToYaml(value);
}

}  // namespace brfed::cli
