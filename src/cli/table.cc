#include "cli/table.h"

#include <algorithm>

namespace brfed::cli {

size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= '@' && s[i] <= '~')) ++i;
      continue;
    }
    if ((c & 0xC0) == 0x80) continue;
    ++width;
  }
  return width;
}

std::string RenderTable(const TableRow& headers, const std::vector<TableRow>& rows) {
  std::vector<size_t> widths(headers.size(), 0);
  for (size_t i = 0; i < headers.size(); ++i) widths[i] = DisplayWidth(headers[i]);
  for (const TableRow& row : rows) {
    for (size_t i = 0; i < headers.size() && i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string out;
  auto append_row = [&](const TableRow& row) {
    std::string line;
    for (size_t i = 0; i < headers.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < headers.size()) line.append(widths[i] - DisplayWidth(cell) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  append_row(headers);
  for (const TableRow& row : rows) append_row(row);
  return out;
}

std::string HumanDuration(std::chrono::nanoseconds d) {
  using std::chrono::duration_cast;
  const long long seconds = duration_cast<std::chrono::seconds>(d).count();
  if (seconds < 0) return "<invalid>";
  if (seconds < 120) return std::to_string(seconds) + "s";
  const long long minutes = seconds / 60;
  if (minutes < 10) {
    const long long rest = seconds % 60;
    return std::to_string(minutes) + "m" + (rest ? std::to_string(rest) + "s" : "");
  }
  if (minutes < 180) return std::to_string(minutes) + "m";
  const long long hours = minutes / 60;
  if (hours < 48) return std::to_string(hours) + "h";
  const long long days = hours / 24;
  if (days < 730) return std::to_string(days) + "d";
  return std::to_string(days / 365) + "y";
}

std::string AgeSince(std::string_view rfc3339, Time now) {
  if (rfc3339.empty()) return "<unknown>";
  Result<Time> t = ParseRfc3339(rfc3339);
  if (!t.ok()) return "<unknown>";
  return HumanDuration(std::max(std::chrono::nanoseconds(0), Elapsed(*t, now)));
}

}  // namespace brfed::cli
