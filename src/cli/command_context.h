// What every brfed command shares: the global flags, the output streams and their styling, and
// lazily built clients for the control plane (--kubeconfig) and the data planes
// (--federation-kubeconfig).
//
// Thread-safety: one per process, used from the main thread only.
#ifndef BRFED_CLI_COMMAND_CONTEXT_H_
#define BRFED_CLI_COMMAND_CONTEXT_H_

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli/errors.h"
#include "cli/output.h"
#include "cli/style.h"
#include "core/status.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

namespace brfed::cli {

struct GlobalOptions {
  std::string kubeconfig;             // control plane; "" = $KUBECONFIG, in-cluster, ~/.kube/config
  std::string context;                // control-plane context; "" = current
  std::string federation_kubeconfig;  // data planes, one context each
  std::string ns = "default";
  std::string output = "table";
  // Per-request timeout, so an unresponsive server never hangs a command.
  std::chrono::milliseconds request_timeout{10000};
};

class CommandContext {
 public:
  CommandContext(GlobalOptions options, std::FILE* out, std::FILE* err);

  const GlobalOptions& options() const { return options_; }
  GlobalOptions& mutable_options() { return options_; }
  const Style& style() const { return style_; }
  bool out_is_terminal() const { return out_is_terminal_; }
  // -o as parsed; table on a parse error (reported by Validate()).
  OutputFormat output_format() const;
  Status Validate() const;

  // The control-plane client, built on first use.
  Result<std::shared_ptr<kube::Client>> Control();
  // The server URL of the control plane ("" before Control() succeeded).
  const std::string& control_server() const { return control_server_; }

  // The federation kubeconfig (flag, else $BRFED_FEDERATION_KUBECONFIG).
  Result<kube::Kubeconfig> Federation() const;
  Result<kube::RestConfig> DataPlaneConfig(const std::string& context) const;

  void Out(std::string_view text);
  void Err(std::string_view text);
  // Prints `status` with its next step to stderr and returns the exit code for it.
  int Fail(const Status& status, const ErrorSubject& subject);
  // An ErrorSubject for the control plane about `kind`/`name`.
  ErrorSubject ControlSubject(std::string kind = "", std::string name = "",
                              std::string list_command = "") const;

 private:
  GlobalOptions options_;
  std::FILE* out_;
  std::FILE* err_;
  bool out_is_terminal_;
  Style style_;
  Style err_style_;
  std::shared_ptr<kube::Client> control_;
  std::string control_server_;
};

}  // namespace brfed::cli

#endif  // BRFED_CLI_COMMAND_CONTEXT_H_
