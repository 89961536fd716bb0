#include "apiserver/table.h"

#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"' || s.front() == '\'')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '"' || s.back() == '\'')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

// Applies one bracket expression ("0", "?(@.type==\"Ready\")") to an array.
const Json* Index(const Json& value, std::string_view expr) {
  if (!value.is_array()) return nullptr;
  if (!expr.empty() && expr[0] == '?') {
    size_t at = expr.find("@.");
    size_t eq = expr.find("==");
    if (at == std::string_view::npos || eq == std::string_view::npos) return nullptr;
    std::string key(expr.substr(at + 2, eq - at - 2));
    std::string want = Trimmed(expr.substr(eq + 2, expr.rfind(')') - eq - 2));
    for (const Json& item : value) {
      const Json* v = EvalJsonPath(item, "." + key);
      if (v == nullptr) continue;
      if ((v->is_string() && v->get<std::string>() == want) ||
          (!v->is_string() && v->dump() == want)) {
        return &item;
      }
    }
    return nullptr;
  }
  try {
    long long i = std::stoll(std::string(expr));
    if (i < 0) i += static_cast<long long>(value.size());
    if (i < 0 || i >= static_cast<long long>(value.size())) return nullptr;
    return &value[static_cast<size_t>(i)];
  } catch (const std::exception&) {
    return nullptr;
  }
}

Json Cell(const PrinterColumn& column, const Json& object, Time now) {
  const Json* v = EvalJsonPath(object, column.json_path);
  if (v == nullptr || v->is_null()) return nullptr;
  if (column.type == "date" && v->is_string()) {
    Result<Time> t = ParseRfc3339(v->get<std::string>());
    if (!t.ok()) return *v;
    return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(Elapsed(*t, now)));
  }
  if (v->is_string() || v->is_number() || v->is_boolean()) return *v;
  return v->dump();
}

std::vector<PrinterColumn> Columns(const ResourceInfo& r) {
  std::vector<PrinterColumn> cols = {
      {"Name", "string", "name", "Name must be unique within a namespace.", ".metadata.name", 0}};
  PrinterColumn age{"Age", "date", "", "CreationTimestamp", ".metadata.creationTimestamp", 0};
  if (r.custom) {
    if (r.columns.empty()) {
      cols.push_back(age);
    } else {
      cols.insert(cols.end(), r.columns.begin(), r.columns.end());
    }
    return cols;
  }
  if (r.kind == "Namespace") cols.push_back({"Status", "string", "", "", ".status.phase", 0});
  if (r.kind == "Secret") cols.push_back({"Type", "string", "", "", ".type", 0});
  if (r.kind == "Lease") cols.push_back({"Holder", "string", "", "", ".spec.holderIdentity", 0});
  if (r.kind == "Event") {
    cols.push_back({"Type", "string", "", "", ".type", 0});
    cols.push_back({"Reason", "string", "", "", ".reason", 0});
    cols.push_back({"Message", "string", "", "", ".message", 0});
  }
  cols.push_back(age);
  return cols;
}

}  // namespace

std::string HumanDuration(std::chrono::seconds d) {
  long long s = d.count();
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return std::to_string(s) + "s";
  long long m = s / 60;
  if (m < 10) {
    return s % 60 == 0 ? std::to_string(m) + "m"
                       : std::to_string(m) + "m" + std::to_string(s % 60) + "s";
  }
  if (m < 180) return std::to_string(m) + "m";
  long long h = s / 3600;
  if (h < 8) {
    return m % 60 == 0 ? std::to_string(h) + "h"
                       : std::to_string(h) + "h" + std::to_string(m % 60) + "m";
  }
  if (h < 48) return std::to_string(h) + "h";
  long long days = h / 24;
  if (h < 24 * 8) {
    return h % 24 == 0 ? std::to_string(days) + "d"
                       : std::to_string(days) + "d" + std::to_string(h % 24) + "h";
  }
  if (h < 24 * 365 * 2) return std::to_string(days) + "d";
  long long years = days / 365;
  if (h < 24 * 365 * 8) {
    return days % 365 == 0 ? std::to_string(years) + "y"
                           : std::to_string(years) + "y" + std::to_string(days % 365) + "d";
  }
  return std::to_string(years) + "y";
}

const Json* EvalJsonPath(const Json& object, std::string_view path) {
  if (!path.empty() && path.front() == '{' && path.back() == '}') {
    path = path.substr(1, path.size() - 2);
  }
  const Json* cur = &object;
  size_t i = 0;
  while (i < path.size() && cur != nullptr) {
    if (path[i] == '.') {
      ++i;
      size_t end = path.find_first_of(".[", i);
      std::string key(path.substr(i, end == std::string_view::npos ? end : end - i));
      if (key.empty()) continue;
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(key);
      cur = it == cur->end() ? nullptr : &*it;
      i = end == std::string_view::npos ? path.size() : end;
    } else if (path[i] == '[') {
      size_t end = path.find(']', i);
      if (end == std::string_view::npos) return nullptr;
      cur = Index(*cur, path.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      return nullptr;
    }
  }
  return cur;
}

Json RenderTable(const ResourceInfo& resource, const std::vector<Json>& objects,
                 const std::string& resource_version, Time now) {
  std::vector<PrinterColumn> columns = Columns(resource);
  Json defs = Json::array();
  for (const PrinterColumn& c : columns) {
    defs.push_back({{"name", c.name},
                    {"type", c.type},
                    {"format", c.format},
                    {"description", c.description},
                    {"priority", c.priority}});
  }
  Json rows = Json::array();
  for (const Json& obj : objects) {
    Json cells = Json::array();
    for (const PrinterColumn& c : columns) cells.push_back(Cell(c, obj, now));
    Json meta = obj.contains("metadata") ? obj["metadata"] : Json::object();
    meta.erase("managedFields");
    rows.push_back({{"cells", std::move(cells)},
                    {"object",
                     {{"kind", "PartialObjectMetadata"},
                      {"apiVersion", "meta.k8s.io/v1"},
                      {"metadata", std::move(meta)}}}});
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", {{"resourceVersion", resource_version}}},
          {"columnDefinitions", std::move(defs)},
          {"rows", std::move(rows)}};
}

}  // namespace brfed::apiserver
