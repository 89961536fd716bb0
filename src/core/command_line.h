// ParseCommandLine: CLI11's parse with the exits every brfed binary shares. Header-only (CLI11
// is header-only); include it only from a binary's flag parsing.
//
// Thread-safety: call from main(), once.
#ifndef BRFED_CORE_COMMAND_LINE_H_
#define BRFED_CORE_COMMAND_LINE_H_

#include <CLI/CLI.hpp>
#include <optional>

namespace brfed {

// Parses argv into `app`. nullopt: the program goes on. Otherwise its exit code: --help and
// --version print and give CLI11's code (0); a parse error gives on_error(error).
template <typename OnError>
std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv, OnError on_error) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return on_error(e);
  }
  return std::nullopt;
}

}  // namespace brfed

#endif  // BRFED_CORE_COMMAND_LINE_H_
