#include "core/json.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace brfed {
namespace {

bool IsYamlNull(const std::string& s) {
  return s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty();
}

Json ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  // Quoted or explicitly tagged string scalars stay strings.
  if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return text;
  if (IsYamlNull(text)) return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  // Integers: optional sign then digits only (YAML 1.2 core schema).
  size_t i = (text[0] == '-' || text[0] == '+') ? 1 : 0;
  bool digits = i < text.size();
  for (size_t j = i; j < text.size(); ++j) digits = digits && (text[j] >= '0' && text[j] <= '9');
  if (digits) {
    try {
      size_t used = 0;
      long long v = std::stoll(text, &used);
      if (used == text.size()) return v;
    } catch (const std::exception&) {
      return text;  // too large for int64: keep as written
    }
  }
  // Floats: only the plain decimal/exponent forms.
  bool floaty =
      text.find_first_not_of("+-.0123456789eE") == std::string::npos &&
      text.find_first_of("0123456789") != std::string::npos &&
      (text.find('.') != std::string::npos || text.find_first_of("eE") != std::string::npos);
  if (floaty) {
    try {
      size_t used = 0;
      double v = std::stod(text, &used);
      if (used == text.size()) return v;
    } catch (const std::exception&) {
    }
  }
  return text;
}

Json NodeToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(NodeToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = NodeToJson(kv.second);
      return out;
    }
  }
  return nullptr;
}

// nlohmann's SAX interface, building the same DOM as Json::parse except for the left-out
// members. Open containers sit on a stack of pointers into the tree under construction; a
// pointer stays valid because nothing is added to a container's parent while it is open.
class DomWithout {
 public:
  DomWithout(std::string_view parent_key, std::string_view key)
      : parent_key_(parent_key), key_(key) {}

  Json& root() { return root_; }
  const std::string& error() const { return error_; }

  bool null() { return Scalar(nullptr); }
  bool boolean(bool v) { return Scalar(v); }
  bool number_integer(Json::number_integer_t v) { return Scalar(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return Scalar(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& /*text*/) { return Scalar(v); }
  bool string(Json::string_t& v) { return Scalar(v); }
  bool binary(Json::binary_t& v) { return Scalar(std::move(v)); }
  bool start_object(std::size_t /*size*/) { return Open(Json::object()); }
  bool start_array(std::size_t /*size*/) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(Json::string_t& k) {
    if (skip_depth_ > 0) return true;
    if (open_.back().is_parent && k == key_) {
      skip_next_ = true;
      return true;
    }
    next_is_parent_ = k == parent_key_;
    slot_ = &(*open_.back().value)[k];
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const Json::exception& e) {
    error_ = e.what();
    return false;
  }

 private:
  struct OpenContainer {
    Json* value;
    bool is_parent;  // the value of a member named parent_key_
  };

  // True when the value starting now is left out (or lies inside one that is).
  bool Skipping(bool opens_container) {
    if (skip_depth_ > 0) {
      if (opens_container) ++skip_depth_;
      return true;
    }
    if (!skip_next_) return false;
    skip_next_ = false;
    if (opens_container) skip_depth_ = 1;
    return true;
  }

  Json* Place(Json&& v) {
    next_is_parent_ = false;
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& top = *open_.back().value;
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    *slot_ = std::move(v);
    return slot_;
  }

  template <typename T>
  bool Scalar(T&& v) {
    if (!Skipping(false)) Place(Json(std::forward<T>(v)));
    return true;
  }

  bool Open(Json&& empty) {
    if (Skipping(true)) return true;
    const bool is_parent = next_is_parent_ && empty.is_object();
    open_.push_back({Place(std::move(empty)), is_parent});
    return true;
  }

  bool Close() {
    if (skip_depth_ > 0) {
      --skip_depth_;
      return true;
    }
    open_.pop_back();
    return true;
  }

  std::string_view parent_key_, key_;
  Json root_;
  std::vector<OpenContainer> open_;
  Json* slot_ = nullptr;  // the member named by the last key
  bool next_is_parent_ = false;
  bool skip_next_ = false;
  int skip_depth_ = 0;  // open containers inside a left-out value
  std::string error_;
};

}  // namespace

Result<Json> ParseJsonWithout(std::string_view text, std::string_view parent_key,
                              std::string_view key) {
  DomWithout dom(parent_key, key);
  if (!Json::sax_parse(text, &dom)) {
    return InvalidArgument("malformed JSON: " +
                           (dom.error().empty() ? std::string("parse failed") : dom.error()));
  }
  return std::move(dom.root());
}

Result<Json> ParseJson(std::string_view text) {
  Json out = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    // Re-parse with exceptions only to obtain the position for the message.
    try {
      Json discarded = Json::parse(text);
    } catch (const std::exception& e) {
      return InvalidArgument(std::string("malformed JSON: ") + e.what());
    }
    return InvalidArgument("malformed JSON");
  }
  return out;
}

Result<Json> ParseYaml(std::string_view text) {
  try {
    YAML::Node node = YAML::Load(std::string(text));
    return NodeToJson(node);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("malformed YAML: ") + e.what());
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed YAML: ") + e.what());
  }
}

Result<std::vector<Json>> ParseYamlDocuments(std::string_view text) {
  try {
    std::vector<Json> out;
    for (const YAML::Node& node : YAML::LoadAll(std::string(text))) {
      if (node.IsNull() || !node.IsDefined()) continue;
      out.push_back(NodeToJson(node));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("malformed YAML: ") + e.what());
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed YAML: ") + e.what());
  }
}

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json* JsonAt(const Json& root, std::initializer_list<std::string_view> path) {
  const Json* cur = &root;
  for (std::string_view key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string JsonStringAt(const Json& root, std::initializer_list<std::string_view> path,
                         std::string_view fallback) {
  const Json* v = JsonAt(root, path);
  return v && v->is_string() ? v->get<std::string>() : std::string(fallback);
}

long long JsonIntAt(const Json& root, std::initializer_list<std::string_view> path,
                    long long fallback) {
  const Json* v = JsonAt(root, path);
  return v && v->is_number_integer() ? v->get<long long>() : fallback;
}

bool JsonBoolAt(const Json& root, std::initializer_list<std::string_view> path, bool fallback) {
  const Json* v = JsonAt(root, path);
  return v && v->is_boolean() ? v->get<bool>() : fallback;
}

Json ApplyMergePatch(Json target, const Json& patch) {
  target.merge_patch(patch);
  return target;
}

Result<Json> ApplyJsonPatch(const Json& target, const Json& patch) {
  if (!patch.is_array()) return Status(Code::kInvalid, "JSON patch must be an array");
  try {
    return target.patch(patch);
  } catch (const std::exception& e) {
    return Status(Code::kInvalid, std::string("JSON patch failed: ") + e.what());
  }
}

Json CreateMergePatch(const Json& from, const Json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  Json patch = Json::object();
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (!to.contains(it.key())) patch[it.key()] = nullptr;
  }
  for (auto it = to.begin(); it != to.end(); ++it) {
    auto prev = from.find(it.key());
    if (prev == from.end()) {
      patch[it.key()] = it.value();
    } else if (*prev != it.value()) {
      patch[it.key()] = (prev->is_object() && it.value().is_object())
                            ? CreateMergePatch(*prev, it.value())
                            : it.value();
    }
  }
  return patch;
}

}  // namespace brfed
