#include "core/object_ref.h"

#include "core/excerpt.h"

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
      return std::string(what) + " " + Quote(name) +
             " must consist of lower case alphanumeric characters, '-'" +
             (allow_dots ? " or '.'" : "");
    }
  }
  if (!IsDns1123(name, allow_dots)) {
    return std::string(what) + " " + Quote(name) +
           (allow_dots ? " must have each dot-separated part start and end with an alphanumeric "
                         "character"
                       : " must start and end with an alphanumeric character");
  }
  return "";
}

bool IsLabelChar(char c) {
  return IsAlnum(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.';
}

// The name part of a label key and a non-empty label value share one rule.
std::string ValidateLabelName(std::string_view text, const char* what) {
  if (text.size() > 63) {
    return std::string(what) + " must be no more than 63 characters (got " +
           std::to_string(text.size()) + ")";
  }
  auto alnum = [](char c) { return IsLabelChar(c) && c != '-' && c != '_' && c != '.'; };
  for (char c : text) {
    if (!IsLabelChar(c)) {
      return std::string(what) + " " + Quote(text) +
             " must consist of alphanumeric characters, '-', '_' or '.'";
    }
  }
  if (!alnum(text.front()) || !alnum(text.back())) {
    return std::string(what) + " " + Quote(text) +
           " must start and end with an alphanumeric character";
  }
  return "";
}

}  // namespace

bool IsDns1123(std::string_view name, bool allow_dots) {
  for (size_t start = 0;;) {
    const size_t dot = allow_dots ? name.find('.', start) : std::string_view::npos;
    std::string_view part = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || !IsAlnum(part.front()) || !IsAlnum(part.back())) return false;
    for (char c : part) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

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

std::string ValidateLabelValue(std::string_view value) {
  return value.empty() ? "" : ValidateLabelName(value, "label value");
}

std::string ValidateLabelKey(std::string_view key) {
  const size_t slash = key.find('/');
  std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  if (slash != std::string_view::npos) {
    if (std::string err = ValidateName(key.substr(0, slash), 253, true, "label key prefix");
        !err.empty()) {
      return err;
    }
  }
  if (name.empty()) return "label key " + Quote(key) + " has an empty name";
  return ValidateLabelName(name, "label key");
}

}  // namespace brfed
