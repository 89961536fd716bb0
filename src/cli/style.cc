#include "cli/style.h"

#include <unistd.h>

namespace brfed::cli {

bool ShouldUseColor(bool is_terminal, const char* no_color_env) {
  return is_terminal && (no_color_env == nullptr || no_color_env[0] == '\0');
}

bool IsTerminal(std::FILE* stream) { return isatty(fileno(stream)) == 1; }

std::string Style::Wrap(std::string_view code, std::string_view s) const {
  if (!color_ || s.empty()) return std::string(s);
  std::string out = "\x1b[";
  out.append(code).append("m").append(s).append("\x1b[0m");
  return out;
}

std::string Style::Phase(std::string_view phase) const {
  if (phase.find("Fail") != std::string_view::npos || phase == "Invalid") return Red(phase);
  if (phase == "Complete" || phase.ends_with("Complete") || phase == "Cleaned") {
    return Green(phase);
  }
  if (phase.empty()) return std::string(phase);
  return Yellow(phase);
}

}  // namespace brfed::cli
