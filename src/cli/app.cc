#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>

#include "cli/command_context.h"
#include "cli/federation_commands.h"
#include "cli/local_commands.h"
#include "core/duration.h"
#include "core/version.h"

namespace brfed::cli {
namespace {

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

}  // namespace

int RunBrfed(int argc, char** argv) {
  GlobalOptions globals;
  CLI::App app{
      "brfed: back up and restore a TiDB cluster spread over several Kubernetes "
      "clusters (BR Federation)",
      "brfed"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version,-V", VersionLine("brfed"));
  app.footer(
      "Start here: `brfed demo` runs a federated backup and restore on a local sandbox.\n"
      "Exit codes: 0 ok, 1 failure (or the backup/restore failed), 2 bad usage.");
  app.add_option("--kubeconfig", globals.kubeconfig,
                 "control-plane kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)");
  app.add_option("--context", globals.context, "control-plane kubeconfig context");
  app.add_option("--federation-kubeconfig", globals.federation_kubeconfig,
                 "kubeconfig with one context per data plane (context name = k8sClusterName)")
      ->envname("BRFED_FEDERATION_KUBECONFIG");
  app.add_option("-n,--namespace", globals.ns, "namespace of the federation objects")
      ->envname("BRFED_NAMESPACE");
  app.add_option("-o,--output", globals.output, "table | yaml | json");

  // The command to run once flags are parsed.
  std::function<int(CommandContext&)> run;
  auto on = [&run](CLI::App* cmd, std::function<int(CommandContext&)> fn) {
    cmd->callback([&run, fn] { run = fn; });
  };

  // backup
  CLI::App* backup =
      app.add_subcommand("backup", "VolumeBackups: create, list, describe, watch, delete");
  backup->alias("vbk");
  backup->require_subcommand(1);
  BackupCreateArgs bc;
  DurationFlag wait_timeout{"30m", "--timeout"};
  DurationFlag watch_timeout{"30m", "--timeout"};
  WaitOptions delete_wait{true, std::chrono::minutes(1)};
  DurationFlag delete_timeout{"60s", "--timeout"};
  std::string name;
  {
    CLI::App* c = backup->add_subcommand("create", "create a VolumeBackup");
    c->add_option("NAME", bc.name, "VolumeBackup name")->required();
    AddClusterFlag(c, &bc.clusters)->required();
    AddTemplateFlags(c, &bc.tmpl);
    c->add_option("--label", bc.labels, "KEY=VALUE label, copied to members (repeatable)");
    c->add_flag("--wait", bc.wait.wait,
                "show progress and wait until it ends; exit code = outcome");
    c->add_option("--timeout", wait_timeout.text, "give up waiting after this long (with --wait)");
    on(c, [&](CommandContext& ctx) {
      Result<std::chrono::milliseconds> t = wait_timeout.Get();
      if (!t.ok()) return ctx.Fail(t.status(), {});
      bc.wait.timeout = *t;
      return BackupCreate(ctx, bc);
    });
    CLI::App* l = backup->add_subcommand("list", "list VolumeBackups");
    l->alias("ls");
    on(l, [&](CommandContext& ctx) { return BackupList(ctx); });
    CLI::App* d = backup->add_subcommand("describe", "members, steps (GC-pause window), events");
    d->add_option("NAME", name, "VolumeBackup name")->required();
    on(d, [&](CommandContext& ctx) { return BackupDescribe(ctx, name); });
    CLI::App* w =
        backup->add_subcommand("watch", "live progress until the backup ends; exit code = outcome");
    w->add_option("NAME", name, "VolumeBackup name")->required();
    w->add_option("--timeout", watch_timeout.text, "give up after this long");
    on(w, [&](CommandContext& ctx) {
      Result<std::chrono::milliseconds> t = watch_timeout.Get();
      if (!t.ok()) return ctx.Fail(t.status(), {});
      return BackupWatch(ctx, name, *t);
    });
    CLI::App* del =
        backup->add_subcommand("delete", "delete a VolumeBackup (members are torn down)");
    del->add_option("NAME", name, "VolumeBackup name")->required();
    del->add_flag("--wait,!--no-wait", delete_wait.wait, "wait until it is gone (default true)");
    del->add_option("--timeout", delete_timeout.text, "how long to wait");
    on(del, [&](CommandContext& ctx) {
      Result<std::chrono::milliseconds> t = delete_timeout.Get();
      if (!t.ok()) return ctx.Fail(t.status(), {});
      delete_wait.timeout = *t;
      return BackupDelete(ctx, name, delete_wait);
    });
  }

  // restore
  CLI::App* restore =
      app.add_subcommand("restore", "VolumeRestores: create, list, describe, watch, delete");
  restore->alias("vrt");
  restore->require_subcommand(1);
  RestoreCreateArgs rc;
  {
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
    c->add_flag("--wait", rc.wait.wait,
                "show progress and wait until it ends; exit code = outcome");
    c->add_option("--timeout", wait_timeout.text, "give up waiting after this long (with --wait)");
    on(c, [&](CommandContext& ctx) {
      Result<std::chrono::milliseconds> t = wait_timeout.Get();
      if (!t.ok()) return ctx.Fail(t.status(), {});
      rc.wait.timeout = *t;
      return RestoreCreate(ctx, rc);
    });
    CLI::App* l = restore->add_subcommand("list", "list VolumeRestores");
    l->alias("ls");
    on(l, [&](CommandContext& ctx) { return RestoreList(ctx); });
    CLI::App* d = restore->add_subcommand("describe", "members, steps, events");
    d->add_option("NAME", name, "VolumeRestore name")->required();
    on(d, [&](CommandContext& ctx) { return RestoreDescribe(ctx, name); });
    CLI::App* w = restore->add_subcommand(
        "watch", "live progress until the restore ends; exit code = outcome");
    w->add_option("NAME", name, "VolumeRestore name")->required();
    w->add_option("--timeout", watch_timeout.text, "give up after this long");
    on(w, [&](CommandContext& ctx) {
      Result<std::chrono::milliseconds> t = watch_timeout.Get();
      if (!t.ok()) return ctx.Fail(t.status(), {});
      return RestoreWatch(ctx, name, *t);
    });
    CLI::App* del = restore->add_subcommand("delete", "delete a VolumeRestore");
    del->add_option("NAME", name, "VolumeRestore name")->required();
    del->add_flag("--wait,!--no-wait", delete_wait.wait, "wait until it is gone (default true)");
    del->add_option("--timeout", delete_timeout.text, "how long to wait");
    on(del, [&](CommandContext& ctx) {
      Result<std::chrono::milliseconds> t = delete_timeout.Get();
      if (!t.ok()) return ctx.Fail(t.status(), {});
      delete_wait.timeout = *t;
      return RestoreDelete(ctx, name, delete_wait);
    });
  }

  // schedule
  CLI::App* schedule = app.add_subcommand(
      "schedule", "VolumeBackupSchedules: create, list, describe, pause, resume, delete");
  schedule->alias("vbks");
  schedule->require_subcommand(1);
  ScheduleCreateArgs sc;
  {
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
    on(c, [&](CommandContext& ctx) { return ScheduleCreate(ctx, sc); });
    CLI::App* l = schedule->add_subcommand("list", "list VolumeBackupSchedules");
    l->alias("ls");
    on(l, [&](CommandContext& ctx) { return ScheduleList(ctx); });
    CLI::App* d = schedule->add_subcommand("describe", "schedule, its backups and events");
    d->add_option("NAME", name, "schedule name")->required();
    on(d, [&](CommandContext& ctx) { return ScheduleDescribe(ctx, name); });
    CLI::App* p = schedule->add_subcommand("pause", "stop creating backups");
    p->add_option("NAME", name, "schedule name")->required();
    on(p, [&](CommandContext& ctx) { return ScheduleSetPaused(ctx, name, true); });
    CLI::App* r = schedule->add_subcommand("resume", "start creating backups again");
    r->add_option("NAME", name, "schedule name")->required();
    on(r, [&](CommandContext& ctx) { return ScheduleSetPaused(ctx, name, false); });
    CLI::App* del = schedule->add_subcommand("delete", "delete a schedule");
    del->add_option("NAME", name, "schedule name")->required();
    on(del, [&](CommandContext& ctx) { return ScheduleDelete(ctx, name); });
  }

  // clusters
  CLI::App* clusters =
      app.add_subcommand("clusters", "check the data planes of the federation kubeconfig");
  clusters->require_subcommand(1);
  std::vector<std::string> check_clusters;
  {
    CLI::App* c = clusters->add_subcommand(
        "check",
        "reachable, authenticated, CRDs, access, TidbClusters; non-zero exit on a problem");
    AddClusterFlag(c, &check_clusters);
    on(c, [&](CommandContext& ctx) { return ClustersCheckCommand(ctx, check_clusters); });
  }

  // sandbox
  CLI::App* sandbox = app.add_subcommand(
      "sandbox", "a local federation: API servers, simulated TiDB Operator, manager");
  sandbox->require_subcommand(1);
  SandboxOptions so;
  so.dir = DefaultSandboxDir();
  bool purge = false;
  std::string sandbox_apiserver = "brfed-apiserver";
  {
    CLI::App* up = sandbox->add_subcommand("up", "start a sandbox in the background");
    up->add_option("--dir", so.dir, "folder for state, kubeconfigs, logs")->capture_default_str();
    up->add_option("--clusters", so.clusters, "number of data planes")->capture_default_str();
    up->add_option("--tikv-per-cluster", so.tikv_per_cluster,
                   "simulated TiKV stores per data plane")
        ->capture_default_str();
    up->add_flag("--tls", so.tls, "serve the API servers over HTTPS");
    up->add_option("--speed", so.speed, "simulation speed factor")->capture_default_str();
    up->add_option("--apiserver", sandbox_apiserver,
                   "brfed-apiserver, or kube (a real kube-apiserver; scripts/install-deps.sh "
                   "builds it)")
        ->capture_default_str();
    on(up, [&](CommandContext& ctx) {
      Result<SandboxApiServer> apiserver = ParseSandboxApiServer(sandbox_apiserver);
      if (!apiserver.ok()) return ctx.Fail(apiserver.status(), {});
      so.apiserver = *apiserver;
      return SandboxUpCommand(ctx, so);
    });
    CLI::App* status = sandbox->add_subcommand("status", "what runs, where, and its logs");
    status->add_option("--dir", so.dir, "sandbox folder")->capture_default_str();
    on(status, [&](CommandContext& ctx) { return SandboxStatusCommand(ctx, so.dir); });
    CLI::App* down =
        sandbox->add_subcommand("down", "stop exactly the processes the sandbox started");
    down->add_option("--dir", so.dir, "sandbox folder")->capture_default_str();
    down->add_flag("--purge", purge, "also remove the folder (logs included)");
    on(down, [&](CommandContext& ctx) { return SandboxDownCommand(ctx, so.dir, purge); });
  }

  // demo
  DemoOptions demo_options;
  std::string demo_apiserver = "brfed-apiserver";
  {
    CLI::App* demo = app.add_subcommand(
        "demo", "sandbox up, a VolumeBackup and a VolumeRestore with live progress, sandbox down");
    demo->add_flag("--keep", demo_options.keep, "leave the sandbox running afterwards");
    demo->add_option("--dir", demo_options.dir, "sandbox folder (default: a new temporary one)");
    demo->add_option("--clusters", demo_options.clusters, "number of data planes")
        ->capture_default_str();
    demo->add_option("--speed", demo_options.speed, "simulation speed factor")
        ->capture_default_str();
    demo->add_option("--apiserver", demo_apiserver,
                     "brfed-apiserver, or kube (a real kube-apiserver; scripts/install-deps.sh "
                     "builds it)")
        ->capture_default_str();
    on(demo, [&](CommandContext& ctx) {
      if (demo_options.clusters < 1)
        return ctx.Fail(InvalidArgument("--clusters must be at least 1"), {});
      Result<SandboxApiServer> apiserver = ParseSandboxApiServer(demo_apiserver);
      if (!apiserver.ok()) return ctx.Fail(apiserver.status(), {});
      demo_options.apiserver = *apiserver;
      return DemoCommand(ctx, demo_options);
    });
  }

  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->check_name(argv[1]);
    if (!known) {
      std::cerr << "error: unknown command \"" << argv[1]
                << "\"\n  next: run `brfed --help` to see the commands\n";
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
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
  }
  CommandContext ctx(globals, stdout, stderr);
  if (Status st = ctx.Validate(); !st.ok()) return ctx.Fail(st, {});
  if (!run) {
    std::cerr << "error: no command given\n  next: run `brfed --help`\n";
    return kExitUsage;
  }
  return run(ctx);
}

}  // namespace brfed::cli
