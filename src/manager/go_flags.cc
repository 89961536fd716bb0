#include "manager/go_flags.h"

#include <algorithm>
#include <cctype>

namespace brfed::manager {
namespace {

const GoFlagSpec* Find(const std::vector<GoFlagSpec>& specs, const std::string& name) {
  auto it =
      std::find_if(specs.begin(), specs.end(), [&](const GoFlagSpec& s) { return s.name == name; });
  return it == specs.end() ? nullptr : &*it;
}

bool IsUnsigned(const std::string& text) {
  return !text.empty() && text.size() <= 19 &&
         text.find_first_not_of("0123456789") == std::string::npos;
}

// klog's severity names or numbers, as its -stderrthreshold accepts them.
bool IsKlogSeverity(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return text == "INFO" || text == "WARNING" || text == "ERROR" || text == "FATAL" || text == "0" ||
         text == "1" || text == "2" || text == "3";
}

// Why a klog flag means nothing here: the manager always writes its log to stderr.
std::string IgnoredKlogFlag(const std::string& name, const std::string& value) {
  return "flag -" + name + (value.empty() ? "" : "=" + value) +
         " is klog's and is ignored: br-federation-manager logs to stderr only, with its own "
         "format (--log-format) and level (-v)";
}

Status CheckKlogValue(const std::string& spelled, const std::string& value) {
  const std::string name = spelled.substr(spelled.find_first_not_of('-'));
  if (name == "log_file_max_size" && !IsUnsigned(value)) {
    return InvalidArgument("invalid value \"" + value + "\" for flag " + spelled +
                           ": not a non-negative integer (megabytes)");
  }
  if (name == "stderrthreshold" && !IsKlogSeverity(value)) {
    return InvalidArgument("invalid value \"" + value + "\" for flag " + spelled +
                           ": not INFO, WARNING, ERROR, FATAL or 0-3");
  }
  return Status::Ok();
}

// A bool flag's translation: `--name=true|false`; the exit flags only when set.
void AppendBool(const GoFlagSpec& spec, bool value, TranslatedFlags& out) {
  if (spec.translated == "-V" || spec.translated == "--help") {
    if (value) out.args.push_back(spec.translated);
    return;
  }
  out.args.push_back(spec.translated + "=" + (value ? "true" : "false"));
}

}  // namespace

Result<bool> ParseGoBool(const std::string& text) {
  if (text == "1" || text == "t" || text == "T" || text == "true" || text == "TRUE" ||
      text == "True") {
    return true;
  }
  if (text == "0" || text == "f" || text == "F" || text == "false" || text == "FALSE" ||
      text == "False") {
    return false;
  }
  return InvalidArgument("\"" + text + "\" is not a boolean (true or false)");
}

const std::vector<GoFlagSpec>& ManagerGoFlags() {
  using K = GoFlagKind;
  static const std::vector<GoFlagSpec> specs = {
      // upstream's cmd/br-federation-manager
      {"cluster-scoped", K::kBool, "--cluster-scoped"},
      {"workers", K::kValue, "--workers"},
      {"resync-duration", K::kValue, "--resync-duration"},
      {"leader-lease-duration", K::kValue, "--leader-lease-duration"},
      {"leader-renew-deadline", K::kValue, "--leader-renew-deadline"},
      {"leader-retry-period", K::kValue, "--leader-retry-period"},
      {"leader-resource-lock", K::kValue, "--leader-resource-lock"},
      {"kube-client-qps", K::kValue, "--kube-client-qps"},
      {"kube-client-burst", K::kValue, "--kube-client-burst"},
      {"federation-kubeconfig-path", K::kValue, "--federation-kubeconfig-path"},
      {"V", K::kBool, "-V"},
      {"version", K::kBool, "-V"},
      {"help", K::kBool, "--help"},
      {"h", K::kBool, "--help"},
      // klog's: -v is our log level, the rest are accepted and ignored
      {"v", K::kValue, "--log-level"},
      {"vmodule", K::kKlogValue, ""},
      {"log_dir", K::kKlogValue, ""},
      {"log_file", K::kKlogValue, ""},
      {"log_file_max_size", K::kKlogValue, ""},
      {"stderrthreshold", K::kKlogValue, ""},
      {"log_backtrace_at", K::kKlogValue, ""},
      {"logtostderr", K::kKlogBool, ""},
      {"alsologtostderr", K::kKlogBool, ""},
      {"add_dir_header", K::kKlogBool, ""},
      {"skip_headers", K::kKlogBool, ""},
      {"skip_log_headers", K::kKlogBool, ""},
      {"one_output", K::kKlogBool, ""},
      // ours
      {"kubeconfig", K::kValue, "--kubeconfig"},
      {"namespace", K::kValue, "--namespace"},
      {"leader-elect", K::kBool, "--leader-elect"},
      {"metrics-addr", K::kValue, "--metrics-addr"},
      {"log-level", K::kValue, "--log-level"},
      {"log-format", K::kValue, "--log-format"},
      {"federation-kubeconfig-poll-interval", K::kValue, "--federation-kubeconfig-poll-interval"},
      {"data-plane-probe-interval", K::kValue, "--data-plane-probe-interval"},
      {"data-plane-probe-timeout", K::kValue, "--data-plane-probe-timeout"},
      {"data-plane-unreachable-after", K::kValue, "--data-plane-unreachable-after"},
      {"gc-pause-budget", K::kValue, "--gc-pause-budget"},
  };
  return specs;
}

Result<TranslatedFlags> TranslateGoFlags(const std::vector<std::string>& args,
                                         const std::vector<GoFlagSpec>& specs) {
  TranslatedFlags out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.args.insert(out.args.end(), args.begin() + static_cast<long>(i), args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      out.args.push_back(arg);  // not a flag: the parser reports it
      continue;
    }
    const std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    const auto eq = body.find('=');
    const std::string name = body.substr(0, eq);
    const bool has_value = eq != std::string::npos;
    const std::string spelled = arg.substr(0, arg.find('='));  // as the user wrote it
    std::string value = has_value ? body.substr(eq + 1) : "";
    const GoFlagSpec* spec = Find(specs, name);
    if (spec == nullptr || name.empty()) {
      return InvalidArgument("flag provided but not defined: " + arg);
    }
    const bool klog = spec->kind == GoFlagKind::kKlogValue || spec->kind == GoFlagKind::kKlogBool;
    if (spec->kind == GoFlagKind::kBool || spec->kind == GoFlagKind::kKlogBool) {
      auto b = ParseGoBool(has_value ? value : "true");
      if (!b.ok()) {
        return InvalidArgument("invalid boolean value \"" + value + "\" for flag " + spelled);
      }
      if (!klog) AppendBool(*spec, *b, out);
      // Logging to stderr is what the manager does anyway: saying so would be noise.
      if ((name == "logtostderr" && *b) || name == "alsologtostderr") continue;
    } else {
      if (!has_value) {
        if (i + 1 >= args.size()) return InvalidArgument("flag needs an argument: " + spelled);
        value = args[++i];
      }
      if (!klog) {
        out.args.push_back(spec->translated);
        out.args.push_back(value);
      } else {
        BRFED_RETURN_IF_ERROR(CheckKlogValue(spelled, value));
      }
    }
    if (klog) out.warnings.push_back(IgnoredKlogFlag(name, value));
  }
  return out;
}

}  // namespace brfed::manager
