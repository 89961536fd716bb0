#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <optional>

#include "cli/clusters_join.h"
#include "cli/command_context.h"
#include "cli/federation_commands.h"
#include "cli/local_commands.h"
#include "core/command_line.h"
#include "core/duration.h"
#include "core/version.h"

namespace brfed::cli {
namespace {

using Command = std::function<int(CommandContext&)>;

// A flag holding a Go duration ("90s", "30m").
struct DurationFlag {
  std::string text;
  std::string flag;
  Result<std::chrono::milliseconds> Get() const {
    Result<std::chrono::nanoseconds> d = ParseGoDuration(text);
    if (!d.ok() || d->count() <= 0) {
      return InvalidArgument(flag + " \"" + text +
                             "\" is not a positive duration such as 90s or 30m");
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }
};

// Everything the flags bind to, and the command parsing chose. CLI11 keeps pointers into it,
// so it outlives the parse.
struct Invocation {
  GlobalOptions globals;
  Command run;
  std::string name;
  DurationFlag wait_timeout{"30m", "--timeout"};
  DurationFlag watch_timeout{"30m", "--timeout"};
  WaitOptions delete_wait{true, std::chrono::minutes(1)};
  DurationFlag delete_timeout{"60s", "--timeout"};
  BackupCreateArgs backup_create;
  RestoreCreateArgs restore_create;
  ScheduleCreateArgs schedule_create;
  std::vector<std::string> check_clusters;
  JoinArgs join;
  SandboxOptions sandbox;
  bool purge = false;
  DemoOptions demo;
  std::string sandbox_apiserver = "brfed-apiserver";
  std::string demo_apiserver = "brfed-apiserver";

  // Makes `fn` the command to run when `cmd` is the one parsed.
  void On(CLI::App* cmd, Command fn) {
    cmd->callback([this, fn = std::move(fn)] { run = fn; });
  }
  // Like On, for commands that take a --timeout: a bad duration fails before `fn` runs.
  void OnTimed(CLI::App* cmd, const DurationFlag* flag,
               std::function<int(CommandContext&, std::chrono::milliseconds)> fn) {
    On(cmd, [flag, fn = std::move(fn)](CommandContext& ctx) {
      Result<std::chrono::milliseconds> t = flag->Get();
      if (!t.ok()) return ctx.Fail(t.status(), {});
      return fn(ctx, *t);
    });
  }
};

// The verbs every federation kind has besides create: list, describe, watch (optional), delete
// (waiting for the object to go, or not), plus kind-specific ones added before delete.
struct ResourceCommands {
  std::string kind;  // the object kind, for help texts: "VolumeBackup"
  std::string name_help;
  std::string describe_help;
  std::string watch_help;  // empty: no watch command
  std::string delete_help;
  Command list;
  std::function<int(CommandContext&, const std::string&)> describe;
  std::function<int(CommandContext&, const std::string&, std::chrono::milliseconds)> watch;
  std::function<int(CommandContext&, const std::string&, const WaitOptions&)> delete_and_wait;
  std::function<int(CommandContext&, const std::string&)> delete_now;  // when not waiting
  std::function<void(CLI::App*)> add_before_delete;                    // optional
};

void AddTemplateFlags(CLI::App* cmd, BackupTemplateOptions* t) {
  cmd->add_option("--bucket", t->bucket, "S3 bucket for backup metadata")->required();
  cmd->add_option("--prefix", t->prefix,
                  "S3 prefix; each cluster appends -<context> (default: NAME)");
  cmd->add_option("--region", t->region, "S3 region");
  cmd->add_option("--endpoint", t->endpoint, "S3-compatible endpoint URL");
  cmd->add_option("--secret-name", t->secret_name, "Secret with S3 credentials in each namespace");
  cmd->add_option("--clean-policy", t->clean_policy, "Retain | OnFailure | Delete");
  cmd->add_option("--calc-size-level", t->calc_size_level, "all | full | incremental | none");
  cmd->add_option("--tool-image", t->tool_image, "BR tool image for member pods");
  cmd->add_option("--br-option", t->br_options, "extra BR flag (repeatable)");
}

CLI::Option* AddClusterFlag(CLI::App* cmd, std::vector<std::string>* clusters) {
  return cmd->add_option("--cluster", *clusters,
                         "CONTEXT=NAMESPACE/TIDBCLUSTER, one per data plane (repeatable; the "
                         "first pauses GC)");
}

// A `create` that can --wait for the outcome with a --timeout: the flags, and running
// `create` with the timeout set.
template <typename Args>
void AddWaitingCreate(CLI::App* cmd, Invocation* inv, Args* args,
                      int (*create)(CommandContext&, const Args&)) {
  cmd->add_flag("--wait", args->wait.wait,
                "show progress and wait until it ends; exit code = outcome");
  cmd->add_option("--timeout", inv->wait_timeout.text,
                  "give up waiting after this long (with --wait)");
  inv->OnTimed(cmd, &inv->wait_timeout,
               [args, create](CommandContext& ctx, std::chrono::milliseconds t) {
                 args->wait.timeout = t;
                 return create(ctx, *args);
               });
}

void AddResourceCommands(CLI::App* parent, Invocation* inv, const ResourceCommands& r) {
  CLI::App* l = parent->add_subcommand("list", "list " + r.kind + "s");
  l->alias("ls");
  inv->On(l, r.list);
  CLI::App* d = parent->add_subcommand("describe", r.describe_help);
  d->add_option("NAME", inv->name, r.name_help)->required();
  inv->On(d, [inv, fn = r.describe](CommandContext& ctx) { return fn(ctx, inv->name); });
  if (!r.watch_help.empty()) {
    CLI::App* w = parent->add_subcommand("watch", r.watch_help);
    w->add_option("NAME", inv->name, r.name_help)->required();
    w->add_option("--timeout", inv->watch_timeout.text, "give up after this long");
    inv->OnTimed(w, &inv->watch_timeout,
                 [inv, fn = r.watch](CommandContext& ctx, std::chrono::milliseconds t) {
                   return fn(ctx, inv->name, t);
                 });
  }
  if (r.add_before_delete) r.add_before_delete(parent);
  CLI::App* del = parent->add_subcommand("delete", r.delete_help);
  del->add_option("NAME", inv->name, r.name_help)->required();
  if (!r.delete_and_wait) {
    inv->On(del, [inv, fn = r.delete_now](CommandContext& ctx) { return fn(ctx, inv->name); });
    return;
  }
  del->add_flag("--wait,!--no-wait", inv->delete_wait.wait, "wait until it is gone (default true)");
  del->add_option("--timeout", inv->delete_timeout.text, "how long to wait");
  inv->OnTimed(del, &inv->delete_timeout,
               [inv, fn = r.delete_and_wait](CommandContext& ctx, std::chrono::milliseconds t) {
                 inv->delete_wait.timeout = t;
                 return fn(ctx, inv->name, inv->delete_wait);
               });
}

void AddGlobalFlags(CLI::App& app, GlobalOptions* globals) {
  app.add_option("--kubeconfig", globals->kubeconfig,
                 "control-plane kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)");
  app.add_option("--context", globals->context, "control-plane kubeconfig context");
  app.add_option("--federation-kubeconfig", globals->federation_kubeconfig,
                 "kubeconfig with one context per data plane (context name = k8sClusterName)")
      ->envname("BRFED_FEDERATION_KUBECONFIG");
  app.add_option("-n,--namespace", globals->ns, "namespace of the federation objects")
      ->envname("BRFED_NAMESPACE");
  app.add_option("-o,--output", globals->output, "table | yaml | json");
}

void AddBackupCommands(CLI::App& app, Invocation* inv) {
  CLI::App* backup =
      app.add_subcommand("backup", "VolumeBackups: create, list, describe, watch, delete");
  backup->alias("vbk");
  backup->require_subcommand(1);
  BackupCreateArgs& bc = inv->backup_create;
  CLI::App* c = backup->add_subcommand("create", "create a VolumeBackup");
  c->add_option("NAME", bc.name, "VolumeBackup name")->required();
  AddClusterFlag(c, &bc.clusters)->required();
  AddTemplateFlags(c, &bc.tmpl);
  c->add_option("--label", bc.labels, "KEY=VALUE label, copied to members (repeatable)");
  AddWaitingCreate(c, inv, &bc, BackupCreate);
  AddResourceCommands(backup, inv,
                      {.kind = "VolumeBackup",
                       .name_help = "VolumeBackup name",
                       .describe_help = "members, steps (GC-pause window), events",
                       .watch_help = "live progress until the backup ends; exit code = outcome",
                       .delete_help = "delete a VolumeBackup (members are torn down)",
                       .list = BackupList,
                       .describe = BackupDescribe,
                       .watch = BackupWatch,
                       .delete_and_wait = BackupDelete});
}

void AddRestoreCommands(CLI::App& app, Invocation* inv) {
  CLI::App* restore =
      app.add_subcommand("restore", "VolumeRestores: create, list, describe, watch, delete");
  restore->alias("vrt");
  restore->require_subcommand(1);
  RestoreCreateArgs& rc = inv->restore_create;
  CLI::App* c = restore->add_subcommand("create", "restore a VolumeBackup into the data planes");
  c->add_option("NAME", rc.name, "VolumeRestore name")->required();
  c->add_option("--from-backup", rc.from_backup, "the Complete VolumeBackup to restore")
      ->required();
  AddClusterFlag(c, &rc.clusters);
  c->add_option("--warmup", rc.warmup, "sync | async volume warm-up");
  c->add_option("--warmup-image", rc.warmup_image, "image of the warm-up jobs (with --warmup)");
  c->add_option("--warmup-strategy", rc.warmup_strategy, "hybrid | fio | fsr | check-wal-only");
  c->add_option("--br-option", rc.br_options, "extra BR flag (repeatable)");
  c->add_flag("--inline-locations", rc.inline_locations,
              "write each cluster's backup location instead of spec.volumeBackupName "
              "(for the Go br-federation-manager)");
  AddWaitingCreate(c, inv, &rc, RestoreCreate);
  AddResourceCommands(restore, inv,
                      {.kind = "VolumeRestore",
                       .name_help = "VolumeRestore name",
                       .describe_help = "members, steps, events",
                       .watch_help = "live progress until the restore ends; exit code = outcome",
                       .delete_help = "delete a VolumeRestore",
                       .list = RestoreList,
                       .describe = RestoreDescribe,
                       .watch = RestoreWatch,
                       .delete_and_wait = RestoreDelete});
}

void AddScheduleCommands(CLI::App& app, Invocation* inv) {
  CLI::App* schedule = app.add_subcommand(
      "schedule", "VolumeBackupSchedules: create, list, describe, pause, resume, delete");
  schedule->alias("vbks");
  schedule->require_subcommand(1);
  ScheduleCreateArgs& sc = inv->schedule_create;
  CLI::App* c = schedule->add_subcommand("create", "create a VolumeBackupSchedule");
  c->add_option("NAME", sc.name, "schedule name")->required();
  c->add_option("--schedule", sc.schedule, "5-field cron, e.g. \"0 */6 * * *\"")->required();
  AddClusterFlag(c, &sc.clusters)->required();
  AddTemplateFlags(c, &sc.tmpl);
  c->add_option("--max-backups", sc.max_backups, "keep at most this many backups (0 = no limit)");
  c->add_option("--max-reserved-time", sc.max_reserved_time,
                "delete backups older than this (e.g. 72h)");
  c->add_option("--group", sc.group, "schedules in one group run one at a time");
  c->add_flag("--paused", sc.paused, "create it paused");
  inv->On(c, [&sc](CommandContext& ctx) { return ScheduleCreate(ctx, sc); });
  auto add_pause_resume = [inv](CLI::App* parent) {
    CLI::App* p = parent->add_subcommand("pause", "stop creating backups");
    p->add_option("NAME", inv->name, "schedule name")->required();
    inv->On(p, [inv](CommandContext& ctx) { return ScheduleSetPaused(ctx, inv->name, true); });
    CLI::App* r = parent->add_subcommand("resume", "start creating backups again");
    r->add_option("NAME", inv->name, "schedule name")->required();
    inv->On(r, [inv](CommandContext& ctx) { return ScheduleSetPaused(ctx, inv->name, false); });
  };
  AddResourceCommands(schedule, inv,
                      {.kind = "VolumeBackupSchedule",
                       .name_help = "schedule name",
                       .describe_help = "schedule, its backups and events",
                       .delete_help = "delete a schedule",
                       .list = ScheduleList,
                       .describe = ScheduleDescribe,
                       .delete_now = ScheduleDelete,
                       .add_before_delete = add_pause_resume});
}

void AddSecretFlags(CLI::App* cmd, JoinArgs* args) {
  cmd->add_option("--secret", args->secret,
                  "NAMESPACE/NAME: also store the federation kubeconfig in this control-plane "
                  "Secret (key kubeconfig, as the chart mounts it)");
  cmd->add_option("--control-kubeconfig", args->control_kubeconfig,
                  "control-plane kubeconfig for --secret (default: $KUBECONFIG, in-cluster, "
                  "~/.kube/config)");
  cmd->add_option("--control-context", args->control_context,
                  "control-plane kubeconfig context for --secret");
}

void AddClustersCommands(CLI::App& app, Invocation* inv) {
  CLI::App* clusters = app.add_subcommand(
      "clusters", "check, join and leave the data planes of the federation kubeconfig");
  clusters->require_subcommand(1);
  CLI::App* c = clusters->add_subcommand(
      "check", "reachable, authenticated, CRDs, access, TidbClusters; non-zero exit on a problem");
  AddClusterFlag(c, &inv->check_clusters);
  inv->On(c, [inv](CommandContext& ctx) { return ClustersCheckCommand(ctx, inv->check_clusters); });
  CLI::App* join = clusters->add_subcommand(
      "join",
      "give the manager a least-privilege identity in the data plane that --kubeconfig/--context "
      "point to, and write context NAME for it into the federation kubeconfig");
  join->add_option("NAME", inv->join.name, "context name in the federation kubeconfig")->required();
  join->add_option("--tc-namespace", inv->join.tc_namespaces,
                   "namespace of a TidbCluster: write access there only (repeatable; default: "
                   "all namespaces)");
  CLI::Option* duration =
      join->add_option("--token-duration", inv->join.token_duration,
                       "lifetime asked for the token (the server may shorten it)")
          ->capture_default_str();
  join->add_flag("--token-secret", inv->join.token_secret,
                 "take a long-lived token from a kubernetes.io/service-account-token Secret "
                 "(filled by the data plane's token controller) instead of TokenRequest")
      ->excludes(duration);
  AddSecretFlags(join, &inv->join);
  inv->On(join, [inv](CommandContext& ctx) { return ClustersJoinCommand(ctx, inv->join); });
  CLI::App* leave = clusters->add_subcommand(
      "leave", "delete what join created in the data plane and context NAME");
  leave->add_option("NAME", inv->join.name, "context name in the federation kubeconfig")
      ->required();
  AddSecretFlags(leave, &inv->join);
  inv->On(leave, [inv](CommandContext& ctx) { return ClustersLeaveCommand(ctx, inv->join); });
}

constexpr const char* kApiServerFlagHelp =
    "brfed-apiserver, or kube (a real kube-apiserver; scripts/install-deps.sh builds it)";

void AddSandboxCommands(CLI::App& app, Invocation* inv) {
  CLI::App* sandbox = app.add_subcommand(
      "sandbox", "a local federation: API servers, simulated TiDB Operator, manager");
  sandbox->require_subcommand(1);
  SandboxOptions& so = inv->sandbox;
  so.dir = DefaultSandboxDir();
  CLI::App* up = sandbox->add_subcommand("up", "start a sandbox in the background");
  up->add_option("--dir", so.dir, "folder for state, kubeconfigs, logs")->capture_default_str();
  up->add_option("--clusters", so.clusters, "number of data planes")->capture_default_str();
  up->add_option("--tikv-per-cluster", so.tikv_per_cluster, "simulated TiKV stores per data plane")
      ->capture_default_str();
  up->add_flag("--tls", so.tls, "serve the API servers over HTTPS");
  up->add_option("--speed", so.speed, "simulation speed factor")->capture_default_str();
  up->add_option("--apiserver", inv->sandbox_apiserver, kApiServerFlagHelp)->capture_default_str();
  inv->On(up, [inv, &so](CommandContext& ctx) {
    Result<SandboxApiServer> apiserver = ParseSandboxApiServer(inv->sandbox_apiserver);
    if (!apiserver.ok()) return ctx.Fail(apiserver.status(), {});
    so.apiserver = *apiserver;
    return SandboxUpCommand(ctx, so);
  });
  CLI::App* status = sandbox->add_subcommand("status", "what runs, where, and its logs");
  status->add_option("--dir", so.dir, "sandbox folder")->capture_default_str();
  inv->On(status, [&so](CommandContext& ctx) { return SandboxStatusCommand(ctx, so.dir); });
  CLI::App* down =
      sandbox->add_subcommand("down", "stop exactly the processes the sandbox started");
  down->add_option("--dir", so.dir, "sandbox folder")->capture_default_str();
  down->add_flag("--purge", inv->purge, "also remove the folder (logs included)");
  inv->On(down, [inv](CommandContext& ctx) {
    return SandboxDownCommand(ctx, inv->sandbox.dir, inv->purge);
  });
}

void AddDemoCommand(CLI::App& app, Invocation* inv) {
  DemoOptions& options = inv->demo;
  CLI::App* demo = app.add_subcommand(
      "demo", "sandbox up, a VolumeBackup and a VolumeRestore with live progress, sandbox down");
  demo->add_flag("--keep", options.keep, "leave the sandbox running afterwards");
  demo->add_option("--dir", options.dir, "sandbox folder (default: a new temporary one)");
  demo->add_option("--clusters", options.clusters, "number of data planes")->capture_default_str();
  demo->add_option("--speed", options.speed, "simulation speed factor")->capture_default_str();
  demo->add_option("--apiserver", inv->demo_apiserver, kApiServerFlagHelp)->capture_default_str();
  inv->On(demo, [inv, &options](CommandContext& ctx) {
    if (options.clusters < 1) return ctx.Fail(InvalidArgument("--clusters must be at least 1"), {});
    Result<SandboxApiServer> apiserver = ParseSandboxApiServer(inv->demo_apiserver);
    if (!apiserver.ok()) return ctx.Fail(apiserver.status(), {});
    options.apiserver = *apiserver;
    return DemoCommand(ctx, options);
  });
}

// The whole command table, flags bound into `inv`.
void BuildCommands(CLI::App& app, Invocation* inv) {
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version,-V", VersionLine("brfed"));
  app.footer(
      "Start here: `brfed demo` runs a federated backup and restore on a local sandbox.\n"
      "Exit codes: 0 ok, 1 failure (or the backup/restore failed), 2 bad usage.");
  AddGlobalFlags(app, &inv->globals);
  AddBackupCommands(app, inv);
  AddRestoreCommands(app, inv);
  AddScheduleCommands(app, inv);
  AddClustersCommands(app, inv);
  AddSandboxCommands(app, inv);
  AddDemoCommand(app, inv);
}

// An unknown first word gets a short error instead of CLI11's generic one.
bool IsKnownCommand(const CLI::App& app, int argc, char** argv) {
  if (argc <= 1 || argv[1][0] == '-') return true;
  bool known = false;
  for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->check_name(argv[1]);
  return known;
}

// Parses argv; returns the exit code when parsing ends the run (help, version, bad usage).
std::optional<int> Parse(CLI::App& app, int argc, char** argv) {
  return ParseCommandLine(app, argc, argv, [&app](const CLI::ParseError& e) {
    std::string where = "brfed";
    for (const CLI::App* sub = &app; sub != nullptr;) {
      const std::vector<CLI::App*> subs = sub->get_subcommands();
      if (subs.empty()) break;
      sub = subs.front();
      where += " " + sub->get_name();
    }
    std::cerr << "error: " << e.what() << "\n  next: run `" << where
              << " --help` to see the commands and flags\n";
    return kExitUsage;
  });
}

}  // namespace

int RunBrfed(int argc, char** argv) {
  Invocation inv;
  CLI::App app{
      "brfed: back up and restore a TiDB cluster spread over several Kubernetes "
      "clusters (BR Federation)",
      "brfed"};
  BuildCommands(app, &inv);
  if (!IsKnownCommand(app, argc, argv)) {
    std::cerr << "error: unknown command \"" << argv[1]
              << "\"\n  next: run `brfed --help` to see the commands\n";
    return kExitUsage;
  }
  if (std::optional<int> exit_code = Parse(app, argc, argv)) return *exit_code;
  CommandContext ctx(inv.globals, stdout, stderr);
  if (Status st = ctx.Validate(); !st.ok()) return ctx.Fail(st, {});
  if (!inv.run) {
    std::cerr << "error: no command given\n  next: run `brfed --help`\n";
    return kExitUsage;
  }
  return inv.run(ctx);
}

}  // namespace brfed::cli
