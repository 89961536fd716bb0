#include "apiserver/selectors.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

Status BadSelector(std::string_view what, std::string_view term) {
  return Status(Code::kBadRequest, "unable to parse requirement: invalid " + std::string(what) +
                                       ": \"" + std::string(term) + "\"")
      .WithHttp(400, "BadRequest");
}

// Splits at top-level commas (commas inside parentheses belong to set values).
std::vector<std::string> SplitTerms(std::string_view text) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(Trim(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(Trim(cur));
  return out;
}

bool ValidLabelKey(std::string_view key) {
  if (key.empty() || key.size() > 316) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

bool ValidLabelValue(std::string_view v) {
  if (v.size() > 63) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

const Json* Labels(const Json& object) { return JsonAt(object, {"metadata", "labels"}); }

}  // namespace

Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  LabelSelector sel;
  if (Trim(text).empty()) return sel;
  for (const std::string& term : SplitTerms(text)) {
    if (term.empty()) return BadSelector("label selector term", text);
    Requirement req;
    size_t paren = term.find('(');
    if (paren != std::string::npos) {
      if (term.back() != ')') return BadSelector("label selector term", term);
      std::string head = Trim(std::string_view(term).substr(0, paren));
      size_t sp = head.find(' ');
      if (sp == std::string::npos) return BadSelector("label selector term", term);
      req.key = Trim(std::string_view(head).substr(0, sp));
      std::string op = Trim(std::string_view(head).substr(sp + 1));
      if (op == "in") {
        req.op = Op::kIn;
      } else if (op == "notin") {
        req.op = Op::kNotIn;
      } else {
        return BadSelector("label selector operator", op);
      }
      std::string inner = term.substr(paren + 1, term.size() - paren - 2);
      for (const std::string& v : SplitTerms(inner)) {
        if (!ValidLabelValue(v)) return BadSelector("label value", v);
        req.values.push_back(v);
      }
    } else if (size_t pos = term.find("!="); pos != std::string::npos) {
      req.op = Op::kNotEquals;
      req.key = Trim(std::string_view(term).substr(0, pos));
      req.values.push_back(Trim(std::string_view(term).substr(pos + 2)));
    } else if (size_t eq = term.find('='); eq != std::string::npos) {
      req.op = Op::kEquals;
      req.key = Trim(std::string_view(term).substr(0, eq));
      size_t vstart = eq + 1;
      if (vstart < term.size() && term[vstart] == '=') ++vstart;
      req.values.push_back(Trim(std::string_view(term).substr(vstart)));
    } else if (term[0] == '!') {
      req.op = Op::kNotExists;
      req.key = Trim(std::string_view(term).substr(1));
    } else {
      req.op = Op::kExists;
      req.key = term;
    }
    if (!ValidLabelKey(req.key)) return BadSelector("label key", req.key);
    for (const std::string& v : req.values) {
      if (!ValidLabelValue(v)) return BadSelector("label value", v);
    }
    sel.requirements_.push_back(std::move(req));
  }
  return sel;
}

bool LabelSelector::Matches(const Json& object) const {
  const Json* labels = Labels(object);
  for (const Requirement& req : requirements_) {
    const Json* value = nullptr;
    if (labels != nullptr && labels->is_object()) {
      auto it = labels->find(req.key);
      if (it != labels->end() && it->is_string()) value = &*it;
    }
    auto in_values = [&] {
      return value != nullptr && std::find(req.values.begin(), req.values.end(),
                                           value->get<std::string>()) != req.values.end();
    };
    switch (req.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!in_values()) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        if (in_values()) return false;
        break;
      case Op::kExists:
        if (value == nullptr) return false;
        break;
      case Op::kNotExists:
        if (value != nullptr) return false;
        break;
    }
  }
  return true;
}

Result<FieldSelector> FieldSelector::Parse(std::string_view text, std::string_view kind) {
  FieldSelector sel;
  if (Trim(text).empty()) return sel;
  for (const std::string& term : SplitTerms(text)) {
    Requirement req;
    size_t pos = term.find("!=");
    size_t value_at = 0;
    if (pos != std::string::npos) {
      req.negated = true;
      value_at = pos + 2;
    } else {
      pos = term.find('=');
      if (pos == std::string::npos) return BadSelector("field selector term", term);
      value_at = pos + 1;
      if (value_at < term.size() && term[value_at] == '=') ++value_at;
    }
    req.field = Trim(std::string_view(term).substr(0, pos));
    req.value = Trim(std::string_view(term).substr(value_at));
    bool known = req.field == "metadata.name" || req.field == "metadata.namespace";
    if (kind == "Event") {
      known = known || req.field.rfind("involvedObject.", 0) == 0 || req.field == "reason" ||
              req.field == "type" || req.field == "source" || req.field == "reportingComponent";
    }
    if (kind == "Secret") known = known || req.field == "type";
    if (!known) {
      return Status(Code::kBadRequest, "field label not supported: " + req.field)
          .WithHttp(400, "BadRequest");
    }
    sel.requirements_.push_back(std::move(req));
  }
  return sel;
}

bool FieldSelector::Matches(const Json& object) const {
  for (const Requirement& req : requirements_) {
    std::string actual;
    if (req.field == "source") {
      actual = JsonStringAt(object, {"source", "component"});
    } else {
      const Json* cur = &object;
      std::string_view rest = req.field;
      while (cur != nullptr && !rest.empty()) {
        size_t dot = rest.find('.');
        std::string part(rest.substr(0, dot));
        rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        if (!cur->is_object()) {
          cur = nullptr;
          break;
        }
        auto it = cur->find(part);
        cur = it == cur->end() ? nullptr : &*it;
      }
      if (cur != nullptr) {
        if (cur->is_string()) {
          actual = cur->get<std::string>();
        } else if (!cur->is_null()) {
          actual = cur->dump();
        }
      }
    }
    if ((actual == req.value) == req.negated) return false;
  }
  return true;
}

}  // namespace brfed::apiserver
