// Terminal styling for brfed output: whether to colour, and wrapping text in ANSI colours.
// Colour is used only when the stream is a terminal and NO_COLOR is unset or empty
// (https://no-color.org).
//
// Thread-safety: immutable after construction.
#ifndef BRFED_CLI_STYLE_H_
#define BRFED_CLI_STYLE_H_

#include <cstdio>
#include <string>
#include <string_view>

namespace brfed::cli {

// Pure decision: colour iff on a terminal and NO_COLOR (may be null) is unset or empty.
bool ShouldUseColor(bool is_terminal, const char* no_color_env);

// True when `stream` is a terminal.
bool IsTerminal(std::FILE* stream);

class Style {
 public:
  explicit Style(bool color) : color_(color) {}
  bool color() const { return color_; }
  std::string Bold(std::string_view s) const { return Wrap("1", s); }
  std::string Green(std::string_view s) const { return Wrap("32", s); }
  std::string Red(std::string_view s) const { return Wrap("31", s); }
  std::string Yellow(std::string_view s) const { return Wrap("33", s); }
  std::string Dim(std::string_view s) const { return Wrap("2", s); }
  // Colours a phase word by what it means: green done, red failed, yellow in progress.
  std::string Phase(std::string_view phase) const;

 private:
  std::string Wrap(std::string_view code, std::string_view s) const;
  bool color_;
};

}  // namespace brfed::cli

#endif  // BRFED_CLI_STYLE_H_
