// The local sandbox behind `brfed sandbox up|status|down` and `brfed demo`: one control-plane
// API server, N data-plane API servers (brfed-apiserver, or kube-apiserver with
// --apiserver kube), one tidb-operator-sim and one
// br-federation-manager, run as background processes whose pids, logs, kubeconfigs and state
// live in one folder.
//
// Layout of DIR: sandbox.json (state), control.kubeconfig, federation.kubeconfig (one context
// per data plane, named dp-1..dp-N = k8sClusterName), env (to source), kubeconfigs/dp-*.kubeconfig,
// logs/<process>.log, pids/<process>.pid.
//
// Thread-safety: one Sandbox operation at a time per folder; not internally synchronised.
#ifndef BRFED_CLI_SANDBOX_H_
#define BRFED_CLI_SANDBOX_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace brfed::cli {

// The API server a sandbox runs: our brfed-apiserver (fast; the default) or a real
// kube-apiserver (brfed-kube-testenv, which scripts/install-deps.sh builds into build/tools/bin)
// serving upstream's pingcap.com CRDs on the data planes.
enum class SandboxApiServer { kBrfed, kKube };

// Pure: "brfed-apiserver" or "kube"; anything else is kInvalidArgument naming both.
Result<SandboxApiServer> ParseSandboxApiServer(const std::string& value);

struct SandboxOptions {
  std::string dir;
  int clusters = 3;
  int tikv_per_cluster = 3;
  bool tls = false;
  std::string speed = "1";     // tidb-operator-sim time scale
  std::string ns = "default";  // control-plane namespace of the federation objects
  std::string tc_namespace = "tidb";
  std::string tc_name = "basic";
  SandboxApiServer apiserver = SandboxApiServer::kBrfed;
  std::chrono::milliseconds ready_timeout{std::chrono::seconds(30)};  // 180s at least on kube
};

// The --speed value the simulator accepts: a finite number from 0.001 to 1000000.
Status CheckSpeed(const std::string& speed);

// Where the programs and CRDs the sandbox runs are.
struct SandboxBinaries {
  std::string apiserver;  // brfed-apiserver, or brfed-kube-testenv on kube
  std::string sim;
  std::string manager;
  std::string crd_dir;  // deploy/crds (federation CRDs; test/ holds the pingcap.com ones)
  // The pingcap.com CRD files the data planes serve: deploy/crds/test on brfed-apiserver,
  // upstream's own (tidb-operator release-1.6 manifests/crd/v1) on kube.
  std::vector<std::string> data_plane_crds;
};

// Where LocateSandboxBinaries looks.
struct SandboxSearch {
  std::string self_exe;
  std::string source_dir;
  std::string crd_override;           // $BRFED_CRD_DIR
  std::string upstream_crd_override;  // $BRFED_UPSTREAM_CRD_DIR (kube only)
  SandboxApiServer apiserver = SandboxApiServer::kBrfed;
};

// Pure: finds the binaries next to `self_exe` (installed layout) or in the build tree
// (<build>/src/cli/brfed -> <build>/src/{apiserver,sim,manager}/..., and on kube
// <build>/../tools/bin/brfed-kube-testenv), the CRDs under `crd_override`,
// `source_dir`/deploy/crds, or next to the binary, and on kube upstream's CRDs under
// `upstream_crd_override` or `source_dir`/../shared/upstream. `exists` tells whether a path
// exists.
Result<SandboxBinaries> LocateSandboxBinaries(
    const SandboxSearch& search, const std::function<bool(const std::string&)>& exists);

struct SandboxProcess {
  std::string name;    // "control", "dp-1", "sim", "manager"
  std::string binary;  // absolute path, compared with /proc/<pid>/cmdline
  pid_t pid = 0;
  std::string log;
  std::string address;  // URL or host:port it serves, "" when unknown
};

struct SandboxState {
  std::string dir;
  std::vector<std::string> clusters;  // k8sClusterNames
  std::string ns;
  std::string tc_namespace;
  std::string tc_name;
  bool tls = false;
  std::string apiserver = "brfed-apiserver";  // or "kube"
  std::vector<SandboxProcess> processes;
  Json ToJson() const;
  static Result<SandboxState> FromJson(const Json& j);
};

// Pure: the shell snippet that points kubectl and brfed at the sandbox.
std::string SandboxEnvFile(const std::string& dir, const std::string& ns);

// The default folder: $BRFED_SANDBOX_DIR, else $HOME/.brfed/sandbox.
std::string DefaultSandboxDir();

using ProgressFn = std::function<void(const std::string& line)>;

// Starts a sandbox in options.dir. kAlreadyExists (with what runs) when one is running there.
// On failure everything started so far is stopped again and the error names the log to read.
Result<SandboxState> SandboxUp(const SandboxOptions& options, const ProgressFn& progress);

// Whether a running sandbox process answers its health endpoint: "ready", "not ready", or "-"
// when it has none. API servers are asked through their kubeconfig (TLS and token included).
std::string ProcessHealth(const SandboxState& state, const SandboxProcess& process);

// Reads DIR/sandbox.json; kNotFound when there is no sandbox there.
Result<SandboxState> LoadSandbox(const std::string& dir);

// Stops exactly the processes recorded in DIR (checking each pid's command line), removes the
// state, pid files and kubeconfigs, and with `purge` the whole folder. Returns the names of
// processes that were still running.
Result<std::vector<std::string>> SandboxDown(const std::string& dir, bool purge);

}  // namespace brfed::cli

#endif  // BRFED_CLI_SANDBOX_H_
