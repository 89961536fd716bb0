#include "cli/errors.h"

namespace brfed::cli {

std::string NextStep(const Status& status, const ErrorSubject& s) {
  const std::string where =
      s.server_role.empty() ? "the API server" : "the " + s.server_role + " API server";
  const std::string kubeconfig_flag =
      s.server_role.rfind("data plane", 0) == 0 ? "--federation-kubeconfig" : "--kubeconfig";
  switch (status.code()) {
    case Code::kOk:
      return "";
    case Code::kInvalidArgument:
      return "fix the input named above; `brfed <command> --help` lists every flag";
    case Code::kUnavailable:
    case Code::kTimeout:
      return "check that " + where + (s.server.empty() ? "" : " at " + s.server) +
             " is running and that " + kubeconfig_flag +
             " points at it (for the local sandbox: `brfed sandbox status`, or `brfed sandbox "
             "up`)";
    case Code::kUnauthorized:
      return where + " rejected the credentials: refresh the token or client certificate in " +
             kubeconfig_flag + " (for the sandbox, re-source DIR/env)";
    case Code::kForbidden:
      return "ask an administrator to grant this user access to " +
             (s.kind.empty() ? std::string("these objects") : s.kind + " objects") +
             " (see deploy/ RBAC), or use a kubeconfig with more rights";
    case Code::kNotFound:
      if (!s.name.empty()) {
        return "check the name and -n/--namespace" +
               (s.list_command.empty() ? std::string()
                                       : " (`" + s.list_command + "` shows what exists)") +
               "; if the server does not know the kind at all, install the CRDs: kubectl "
               "apply -f deploy/crds/";
      }
      return "the federation CRDs may be missing: kubectl apply -f deploy/crds/";
    case Code::kAlreadyExists:
      return "pick another name, or delete the existing " + s.kind + " first";
    case Code::kConflict:
      return "someone changed the object at the same time; run the command again";
    case Code::kInvalid:
    case Code::kBadRequest:
      return "the server rejected the object; fix the fields it names (see `brfed <command> "
             "--help`)";
    case Code::kCancelled:
      return "the command was interrupted; run it again";
    default:
      return "this looks like a bug or an unexpected server answer; rerun with BRFED_LOG=debug "
             "and report it";
  }
}

std::string FormatError(const Status& status, const ErrorSubject& subject) {
  std::string out = "error: " + status.message();
  if (!out.ends_with("\n")) out += "\n";
  const std::string next = NextStep(status, subject);
  if (!next.empty()) out += "  next: " + next + "\n";
  return out;
}

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  return status.code() == Code::kInvalidArgument ? kExitUsage : kExitFailure;
}

}  // namespace brfed::cli
