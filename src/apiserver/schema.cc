#include "apiserver/schema.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/strings.h"

namespace brfed::apiserver {
namespace {

bool PreservesUnknown(const Json& schema) {
  auto it = schema.find("x-kubernetes-preserve-unknown-fields");
  return it != schema.end() && it->is_boolean() && it->get<bool>();
}

void Walk(const Json& schema, Json& value, bool root) {
  if (!schema.is_object()) return;
  if (value.is_object()) {
    const Json* props = JsonAt(schema, {"properties"});
    if (props != nullptr && props->is_object()) {
      for (const auto& [key, sub] : props->items()) {
        if (!value.contains(key) && sub.is_object() && sub.contains("default")) {
          value[key] = sub["default"];
        }
      }
    }
    const Json* additional = JsonAt(schema, {"additionalProperties"});
    bool keep_unknown =
        PreservesUnknown(schema) ||
        (additional != nullptr &&
         (additional->is_object() || (additional->is_boolean() && additional->get<bool>())));
    for (auto it = value.begin(); it != value.end();) {
      const std::string& key = it.key();
      if (root && (key == "apiVersion" || key == "kind" || key == "metadata")) {
        ++it;
        continue;
      }
      const Json* sub = nullptr;
      if (props != nullptr && props->is_object() && props->contains(key)) {
        sub = &(*props)[key];
      } else if (additional != nullptr && additional->is_object()) {
        sub = additional;
      }
      if (sub == nullptr && !keep_unknown) {
        it = value.erase(it);
        continue;
      }
      if (sub != nullptr) Walk(*sub, it.value(), false);
      ++it;
    }
  } else if (value.is_array()) {
    const Json* items = JsonAt(schema, {"items"});
    if (items != nullptr) {
      for (Json& v : value) Walk(*items, v, false);
    }
  }
}

std::string Render(const Json& v) { return v.dump(); }

bool TypeMatches(const std::string& type, const Json& v) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "integer") return IsKubeInteger(v);
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  return true;
}

void Check(const Json& schema, const Json& value, const std::string& path,
           std::vector<FieldError>& errors);

// The value's type: false when it is null, or not of the schema's type (an error unless null
// is allowed), or an int-or-string (checked here in full).
bool CheckType(const Json& schema, const Json& value, const std::string& field,
               std::vector<FieldError>& errors) {
  if (value.is_null()) {
    if (!JsonBoolAt(schema, {"nullable"}) && schema.contains("type")) {
      errors.push_back({field, "FieldValueRequired", "Required value"});
    }
    return false;
  }
  if (bool int_or_string = JsonBoolAt(schema, {"x-kubernetes-int-or-string"}); int_or_string) {
    if (!value.is_string() && !IsKubeInteger(value)) {
      errors.push_back({field, "FieldValueTypeInvalid",
                        "Invalid value: \"" + std::string(value.type_name()) + "\": " + field +
                            " in body must be of type int-or-string"});
    }
    return false;
  }
  std::string type = JsonStringAt(schema, {"type"});
  if (!type.empty() && !TypeMatches(type, value)) {
    errors.push_back({field, "FieldValueTypeInvalid",
                      "Invalid value: \"" + std::string(value.type_name()) + "\": " + field +
                          " in body must be of type " + type + ": \"" +
                          std::string(value.type_name()) + "\""});
    return false;
  }
  return true;
}

void CheckEnum(const Json& schema, const Json& value, const std::string& field,
               std::vector<FieldError>& errors) {
  if (const Json* en = JsonAt(schema, {"enum"}); en != nullptr && en->is_array()) {
    if (std::find(en->begin(), en->end(), value) == en->end()) {
      errors.push_back({field, "FieldValueNotSupported",
                        "Unsupported value: " + Render(value) +
                            ": supported values: " + Join(*en, ", ", Render)});
    }
  }
}

// minimum and maximum, optionally exclusive.
void CheckNumber(const Json& schema, const Json& value, const std::string& field,
                 std::vector<FieldError>& errors) {
  double v = value.get<double>();
  if (const Json* m = JsonAt(schema, {"minimum"}); m != nullptr && m->is_number()) {
    bool excl = JsonBoolAt(schema, {"exclusiveMinimum"});
    if (v < m->get<double>() || (excl && v == m->get<double>())) {
      errors.push_back({field, "FieldValueInvalid",
                        "Invalid value: " + Render(value) + ": " + field +
                            " in body should be greater than " + (excl ? "" : "or equal to ") +
                            Render(*m)});
    }
  }
  if (const Json* m = JsonAt(schema, {"maximum"}); m != nullptr && m->is_number()) {
    bool excl = JsonBoolAt(schema, {"exclusiveMaximum"});
    if (v > m->get<double>() || (excl && v == m->get<double>())) {
      errors.push_back({field, "FieldValueInvalid",
                        "Invalid value: " + Render(value) + ": " + field +
                            " in body should be less than " + (excl ? "" : "or equal to ") +
                            Render(*m)});
    }
  }
}

// maxLength, minLength and pattern.
void CheckString(const Json& schema, const Json& value, const std::string& field,
                 std::vector<FieldError>& errors) {
  const std::string& s = value.get_ref<const std::string&>();
  if (const Json* m = JsonAt(schema, {"maxLength"}); m != nullptr && m->is_number_integer()) {
    if (static_cast<long long>(s.size()) > m->get<long long>()) {
      errors.push_back(
          {field, "FieldValueTooLong", "Too long: may not be longer than " + Render(*m)});
    }
  }
  if (const Json* m = JsonAt(schema, {"minLength"}); m != nullptr && m->is_number_integer()) {
    if (static_cast<long long>(s.size()) < m->get<long long>()) {
      errors.push_back({field, "FieldValueInvalid",
                        "Invalid value: " + Render(value) + ": " + field +
                            " in body should be at least " + Render(*m) + " chars long"});
    }
  }
  if (const Json* p = JsonAt(schema, {"pattern"}); p != nullptr && p->is_string()) {
    try {
      if (!std::regex_search(s, std::regex(p->get<std::string>(), std::regex::ECMAScript))) {
        errors.push_back({field, "FieldValueInvalid",
                          "Invalid value: " + Render(value) + ": " + field +
                              " in body should match '" + p->get<std::string>() + "'"});
      }
    } catch (const std::regex_error&) {
      // A pattern std::regex cannot compile is not enforced.
    }
  }
}

// required properties, then each property against its schema.
void CheckObject(const Json& schema, const Json& value, const std::string& path,
                 std::vector<FieldError>& errors) {
  if (const Json* req = JsonAt(schema, {"required"}); req != nullptr && req->is_array()) {
    for (const Json& r : *req) {
      if (!r.is_string() || value.contains(r.get<std::string>())) continue;
      std::string f = (path.empty() ? "" : path + ".") + r.get<std::string>();
      errors.push_back({f, "FieldValueRequired", "Required value"});
    }
  }
  const Json* props = JsonAt(schema, {"properties"});
  const Json* additional = JsonAt(schema, {"additionalProperties"});
  for (const auto& [key, sub] : value.items()) {
    if (path.empty() && (key == "apiVersion" || key == "kind" || key == "metadata")) continue;
    std::string sub_path = (path.empty() ? "" : path + ".") + key;
    if (props != nullptr && props->is_object() && props->contains(key)) {
      Check((*props)[key], sub, sub_path, errors);
    } else if (additional != nullptr && additional->is_object()) {
      Check(*additional, sub, sub_path, errors);
    }
  }
}

// each item, then maxItems and minItems.
void CheckArray(const Json& schema, const Json& value, const std::string& path,
                const std::string& field, std::vector<FieldError>& errors) {
  if (const Json* items = JsonAt(schema, {"items"}); items != nullptr) {
    for (size_t i = 0; i < value.size(); ++i) {
      Check(*items, value[i], path + "[" + std::to_string(i) + "]", errors);
    }
  }
  if (const Json* m = JsonAt(schema, {"maxItems"}); m != nullptr && m->is_number_integer()) {
    if (static_cast<long long>(value.size()) > m->get<long long>()) {
      errors.push_back({field, "FieldValueTooMany",
                        "Too many: " + std::to_string(value.size()) + ": must have at most " +
                            Render(*m) + " items"});
    }
  }
  if (const Json* m = JsonAt(schema, {"minItems"}); m != nullptr && m->is_number_integer()) {
    if (static_cast<long long>(value.size()) < m->get<long long>()) {
      errors.push_back({field, "FieldValueInvalid",
                        "Invalid value: " + std::to_string(value.size()) + ": " + field +
                            " in body should have at least " + Render(*m) + " items"});
    }
  }
}

void Check(const Json& schema, const Json& value, const std::string& path,
           std::vector<FieldError>& errors) {
  if (!schema.is_object()) return;
  std::string field = path.empty() ? "<root>" : path;
  if (!CheckType(schema, value, field, errors)) return;
  CheckEnum(schema, value, field, errors);
  if (value.is_number()) CheckNumber(schema, value, field, errors);
  if (value.is_string()) CheckString(schema, value, field, errors);
  if (value.is_object()) CheckObject(schema, value, path, errors);
  if (value.is_array()) CheckArray(schema, value, path, field, errors);
}

}  // namespace

void DefaultAndPrune(const Json& schema, Json& object) { Walk(schema, object, true); }

std::vector<FieldError> ValidateAgainstSchema(const Json& schema, const Json& object) {
  std::vector<FieldError> errors;
  Check(schema, object, "", errors);
  return errors;
}

bool IsKubeInteger(const Json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::trunc(d) == d && d >= -9.2e18 && d <= 9.2e18;
}

}  // namespace brfed::apiserver
