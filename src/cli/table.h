// kubectl-style plain tables: upper-case headers, columns padded to the widest cell and
// separated by three spaces, no borders; and the short ages kubectl prints ("45s", "3m", "2d").
//
// Thread-safety: pure functions.
#ifndef BRFED_CLI_TABLE_H_
#define BRFED_CLI_TABLE_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace brfed::cli {

using TableRow = std::vector<std::string>;

// Renders header + rows, one line each, every line ending in '\n'. Cells may contain ANSI
// colour sequences; they do not count towards the width. Missing cells render empty.
std::string RenderTable(const TableRow& headers, const std::vector<TableRow>& rows);

// Width of `s` as displayed: bytes minus ANSI escape sequences, UTF-8 continuation bytes.
size_t DisplayWidth(std::string_view s);

// kubectl's human duration: "0s".."119s", "2m".."9m59s"-style compact forms, "3h", "4d", "2y".
std::string HumanDuration(std::chrono::nanoseconds d);

// Age of an RFC 3339 timestamp relative to `now`; "<unknown>" when unparseable or empty.
std::string AgeSince(std::string_view rfc3339, Time now);

}  // namespace brfed::cli

#endif  // BRFED_CLI_TABLE_H_
