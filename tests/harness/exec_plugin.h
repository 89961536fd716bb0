// ExecPlugin: an exec credential plugin for integration suites and fed_bench, standing in for
// `aws eks get-token`. Its runs are slow on purpose when asked (`run_seconds`), each issues the
// data plane's own token (so the API server accepts it) for `lifetime_seconds`, and each is
// logged, one line "<cluster> <unix time>", so a test can count who ran it and when.
// UseExecPlugin rewrites a federation kubeconfig so that every user gets its token from the
// plugin instead of holding it.
//
// Thread-safety: the functions are thread-safe; the files they write are not locked.
#ifndef BRFED_TESTS_HARNESS_EXEC_PLUGIN_H_
#define BRFED_TESTS_HARNESS_EXEC_PLUGIN_H_

#include <map>
#include <string>

#include "core/json.h"
#include "core/status.h"

namespace brfed::testing {

struct ExecPluginOptions {
  std::string run_seconds = "0";  // how long each run takes (sleep(1) syntax)
  int lifetime_seconds = 3600;    // how long the tokens it issues last
};

// Writes the plugin to `plugin_path` and replaces every user's token in `kubeconfig` (a merged
// federation kubeconfig: one user per context, named after it) with an exec stanza running it,
// logging to `runs_log`. A user without a token (a server without authentication) is issued
// "exec-plugin".
Status UseExecPlugin(Json& kubeconfig, const std::string& plugin_path, const std::string& runs_log,
                     const ExecPluginOptions& options);

// The runs logged in `runs_log`, per cluster.
std::map<std::string, int> ExecPluginRuns(const std::string& runs_log);

}  // namespace brfed::testing

#endif  // BRFED_TESTS_HARNESS_EXEC_PLUGIN_H_
