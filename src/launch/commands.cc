#include "launch/commands.h"

namespace brfed::launch {

const std::vector<std::string>& FederationCrdFiles() {
  static const std::vector<std::string> kFiles = {
      "federation.pingcap.com_volumebackups.yaml", "federation.pingcap.com_volumerestores.yaml",
      "federation.pingcap.com_volumebackupschedules.yaml"};
  return kFiles;
}

std::vector<std::string> ApiServerArgs(const ApiServerCommand& c) {
  std::vector<std::string> args = {"--kubeconfig-out", c.kubeconfig_out, "--name", c.name};
  if (!c.listen.empty()) args.insert(args.end(), {"--listen", c.listen});
  if (c.tls) args.push_back("--tls");
  if (!c.token.empty()) args.insert(args.end(), {"--token", c.token});
  if (!c.data_dir.empty()) args.insert(args.end(), {"--data-dir", c.data_dir});
  for (const std::string& crd : c.crd_paths) args.insert(args.end(), {"--crd", crd});
  return args;
}

bool ReportedReady(const std::string& stdout_text) {
  return stdout_text.rfind("ready https://", 0) == 0 ||
         stdout_text.find("\nready https://") != std::string::npos;
}

std::vector<std::string> SimulatorArgs(const SimulatorCommand& c) {
  std::vector<std::string> args;
  for (const auto& [name, kubeconfig] : c.clusters) {
    args.insert(args.end(), {"--cluster", name + "=" + kubeconfig});
  }
  args.insert(args.end(), {"--admin-addr", c.admin_addr, "--audit-log", c.audit_log});
  return args;
}

std::vector<std::string> ManagerArgs(const ManagerCommand& c) {
  return {"--kubeconfig",
          c.control_plane_kubeconfig,
          "--federation-kubeconfig-path",
          c.federation_kubeconfig,
          "--namespace",
          c.ns,
          "--metrics-addr",
          c.metrics_addr};
}

}  // namespace brfed::launch
