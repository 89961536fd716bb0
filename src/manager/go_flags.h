// Go flag syntax for br-federation-manager: upstream's binary parses its command line with Go's
// `flag` package (plus klog's flags), so its users and its Helm chart write `-name=value`,
// `-name value`, `--name=value`, booleans as `-name` or `-name=false`. TranslateGoFlags rewrites
// such a command line into the `--name value` form the manager's parser takes, consumes klog's
// flags (mapping `-v`, warning about the ones that mean nothing here) and reports malformed
// input as one line naming the flag, as Go's parser would.
//
// Thread-safety: pure functions over values.
#ifndef BRFED_MANAGER_GO_FLAGS_H_
#define BRFED_MANAGER_GO_FLAGS_H_

#include <string>
#include <vector>

#include "core/status.h"

namespace brfed::manager {

enum class GoFlagKind {
  kValue,      // takes a value: `-name=v` or `-name v`
  kBool,       // `-name` (true) or `-name=<Go bool>`; never takes the next argument
  kKlogValue,  // klog's, taking a value; accepted and reported as ignored
  kKlogBool,   // klog's boolean; accepted and reported as ignored
};

struct GoFlagSpec {
  std::string name;  // without dashes, e.g. "cluster-scoped", "V"
  GoFlagKind kind;
  std::string translated;  // what the manager's parser calls it, e.g. "--log-level" for "v"
};

struct TranslatedFlags {
  std::vector<std::string> args;      // `--name value` / `--name=true|false` / short `-V`
  std::vector<std::string> warnings;  // one line per accepted-but-ignored klog flag
};

// Every flag the manager accepts in Go syntax: upstream's, klog's and our own.
const std::vector<GoFlagSpec>& ManagerGoFlags();

// `args` excludes the program name. Arguments that are not flags (and everything after `--`)
// are passed through for the manager's parser to reject.
Result<TranslatedFlags> TranslateGoFlags(const std::vector<std::string>& args,
                                         const std::vector<GoFlagSpec>& specs);

// Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False.
Result<bool> ParseGoBool(const std::string& text);

}  // namespace brfed::manager

#endif  // BRFED_MANAGER_GO_FLAGS_H_
