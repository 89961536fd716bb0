#include "core/object_ref.h"

namespace brfed {
namespace {

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string ValidateName(std::string_view name, size_t max, bool allow_dots, const char* what) {
  if (name.empty()) return std::string(what) + " must not be empty";
  if (name.size() > max) {
    return std::string(what) + " must be no more than " + std::to_string(max) +
           " characters (got " + std::to_string(name.size()) + ")";
  }
  for (char c : name) {
    if (!(IsAlnum(c) || c == '-' || (allow_dots && c == '.'))) {
      return std::string(what) + " \"" + std::string(name) +
             "\" must consist of lower case alphanumeric characters, '-'" +
             (allow_dots ? " or '.'" : "");
    }
  }
  if (!IsAlnum(name.front()) || !IsAlnum(name.back())) {
    return std::string(what) + " \"" + std::string(name) +
           "\" must start and end with an alphanumeric character";
  }
  return "";
}

}  // namespace

ObjectKey ObjectKey::Parse(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

std::string ValidateDnsSubdomain(std::string_view name) {
  return ValidateName(name, 253, true, "name");
}

std::string ValidateDnsLabel(std::string_view name) {
  return ValidateName(name, 63, false, "name");
}

}  // namespace brfed
