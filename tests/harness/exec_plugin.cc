#include "tests/harness/exec_plugin.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/harness/harness.h"

namespace brfed::testing {
namespace {

constexpr const char* kScript = R"sh(#!/bin/sh
echo "$CLUSTER $(date +%s.%N)" >> "$RUNS_LOG"
sleep "$RUN_SECONDS"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "$TOKEN" "$(date -u -d "+$LIFETIME seconds" +%Y-%m-%dT%H:%M:%SZ)"
)sh";

Json EnvVar(const std::string& name, const std::string& value) {
  return Json{{"name", name}, {"value", value}};
}

}  // namespace

Status UseExecPlugin(Json& kubeconfig, const std::string& plugin_path, const std::string& runs_log,
                     const ExecPluginOptions& options) {
  {
    std::ofstream out(plugin_path, std::ios::trunc);
    out << kScript;
    if (!out) return InternalError("cannot write " + plugin_path);
  }
  std::error_code ec;
  std::filesystem::permissions(plugin_path, std::filesystem::perms::owner_all, ec);
  if (ec) return InternalError("chmod " + plugin_path + ": " + ec.message());
  if (!kubeconfig.contains("users") || !kubeconfig["users"].is_array()) {
    return InvalidArgument("kubeconfig without a users list");
  }
  for (Json& user : kubeconfig["users"]) {
    Json& u = user["user"];
    std::string token = JsonStringAt(u, {"token"});
    if (token.empty()) token = "exec-plugin";
    u.erase("token");
    u["exec"] = {
        {"apiVersion", "client.authentication.k8s.io/v1"},
        {"command", plugin_path},
        {"interactiveMode", "Never"},
        {"env", Json::array({EnvVar("CLUSTER", JsonStringAt(user, {"name"})),
                             EnvVar("TOKEN", token), EnvVar("RUN_SECONDS", options.run_seconds),
                             EnvVar("LIFETIME", std::to_string(options.lifetime_seconds)),
                             EnvVar("RUNS_LOG", runs_log)})}};
  }
  return Status::Ok();
}

std::map<std::string, int> ExecPluginRuns(const std::string& runs_log) {
  std::map<std::string, int> runs;
  std::istringstream in(ReadFile(runs_log));
  for (std::string cluster, when; in >> cluster >> when;) ++runs[cluster];
  return runs;
}

}  // namespace brfed::testing
