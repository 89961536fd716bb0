#include "cli/command_context.h"

#include <cstdlib>

#include "core/object_ref.h"

namespace brfed::cli {

CommandContext::CommandContext(GlobalOptions options, std::FILE* out, std::FILE* err)
    : options_(std::move(options)),
      out_(out),
      err_(err),
      out_is_terminal_(IsTerminal(out)),
      style_(ShouldUseColor(out_is_terminal_, std::getenv("NO_COLOR"))),
      err_style_(ShouldUseColor(IsTerminal(err), std::getenv("NO_COLOR"))) {}

OutputFormat CommandContext::output_format() const {
  return ParseOutputFormat(options_.output).value_or(OutputFormat::kTable);
}

Status CommandContext::Validate() const {
  Result<OutputFormat> format = ParseOutputFormat(options_.output);
  if (!format.ok()) return format.status();
  if (std::string err = ValidateDnsLabel(options_.ns); !err.empty()) {
    return InvalidArgument("-n/--namespace \"" + options_.ns + "\": " + err);
  }
  return Status::Ok();
}

Result<std::shared_ptr<kube::Client>> CommandContext::Control() {
  if (control_) return control_;
  Result<kube::RestConfig> config = kube::ResolveRestConfig(options_.kubeconfig, options_.context);
  if (!config.ok()) {
    return InvalidArgument(
        "cannot load the control-plane kubeconfig: " + config.status().message() +
        " (pass --kubeconfig PATH, set KUBECONFIG, or source the sandbox "
        "env file)");
  }
  config->timeout = options_.request_timeout;
  control_server_ = config->server;
  BRFED_ASSIGN_OR_RETURN(control_, kube::NewClient(*config));
  return control_;
}

Result<kube::Kubeconfig> CommandContext::Federation() const {
  std::string path = options_.federation_kubeconfig;
  if (path.empty()) {
    return InvalidArgument(
        "no federation kubeconfig: pass --federation-kubeconfig PATH (one context per data "
        "plane) or set BRFED_FEDERATION_KUBECONFIG");
  }
  return kube::Kubeconfig::LoadFile(path);
}

Result<kube::RestConfig> CommandContext::DataPlaneConfig(const std::string& context) const {
  BRFED_ASSIGN_OR_RETURN(kube::Kubeconfig kc, Federation());
  BRFED_ASSIGN_OR_RETURN(kube::RestConfig config, kc.ForContext(context));
  config.timeout = options_.request_timeout;
  return config;
}

void CommandContext::Out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

void CommandContext::Err(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), err_);
  std::fflush(err_);
}

int CommandContext::Fail(const Status& status, const ErrorSubject& subject) {
  std::string text = FormatError(status, subject);
  if (err_style_.color() && text.rfind("error:", 0) == 0) {
    text = err_style_.Red("error:") + text.substr(6);
  }
  Err(text);
  return ExitCodeFor(status);
}

ErrorSubject CommandContext::ControlSubject(std::string kind, std::string name,
                                            std::string list_command) const {
  return {"control plane", control_server_, std::move(kind), std::move(name),
          std::move(list_command)};
}

}  // namespace brfed::cli
