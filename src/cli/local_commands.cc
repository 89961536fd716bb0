#include "cli/local_commands.h"

#include <cstdlib>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "cli/clusters_check.h"
#include "cli/describe.h"
#include "cli/federation_commands.h"
#include "cli/object_builders.h"
#include "cli/process.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "core/strings.h"
#include "kube/client.h"
#include "kube/resource.h"

namespace brfed::cli {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

// Sandbox failures: what is missing, or which log to read.
int SandboxFail(CommandContext& ctx, const Status& st, const std::string& dir) {
  std::string next;
  if (st.code() == Code::kNotFound) {
    next = "build all programs first: cmake --build <build dir> (or scripts/build.sh)";
  } else if (st.code() == Code::kInvalidArgument) {
    next = "fix the flag named above; `brfed sandbox up --help` lists them";
  } else {
    next = "read the log named above (all logs: " + dir +
           "/logs); everything started was stopped again";
  }
  ctx.Err("error: " + st.message() + "\n  next: " + next + "\n");
  return ExitCodeFor(st);
}

std::string LookAround(const SandboxState& s) {
  const std::string& dir = s.dir;
  std::string out = "Look around (from another terminal):\n";
  out += "  . " + dir + "/env                       # points kubectl and brfed at the sandbox\n";
  out += "  kubectl get vbk,vrt -n " + s.ns + "          # federation objects (control plane)\n";
  out += "  kubectl --kubeconfig " + dir + "/federation.kubeconfig --context " +
         (s.clusters.empty() ? std::string("dp-1") : s.clusters.front()) +
         " get backups,restores -n " + s.tc_namespace + "\n";
  out += "  brfed clusters check; brfed backup list; brfed backup describe NAME\n";
  out += "  logs: " + dir + "/logs/\n";
  return out;
}

std::string ProcessTable(const SandboxState& s, const Style& style, bool* all_running) {
  std::vector<TableRow> rows;
  *all_running = true;
  for (const SandboxProcess& p : s.processes) {
    const bool running = IsRunning(p.pid, p.binary);
    *all_running = *all_running && running;
    const std::string health = running ? ProcessHealth(s, p) : "-";
    *all_running = *all_running && health != "not ready";
    rows.push_back({p.name, std::to_string(p.pid),
                    running ? style.Green("running") : style.Red("exited"),
                    health == "ready" ? style.Green(health) : style.Yellow(health),
                    p.address.empty() ? "-" : p.address, p.log});
  }
  return RenderTable({"PROCESS", "PID", "STATE", "HEALTH", "ADDRESS", "LOG"}, rows);
}

}  // namespace

int SandboxUpCommand(CommandContext& ctx, const SandboxOptions& options) {
  Result<SandboxState> state =
      SandboxUp(options, [&](const std::string& line) { ctx.Err("  " + line + "\n"); });
  if (!state.ok()) {
    if (state.status().code() == Code::kAlreadyExists) {
      ctx.Err("error: " + state.status().message() + "\n");
      return kExitFailure;
    }
    return SandboxFail(ctx, state.status(), options.dir);
  }
  bool all_running = false;
  ctx.Out("sandbox up in " + state->dir + " (" + std::to_string(state->clusters.size()) +
          " data planes)\n" + ProcessTable(*state, ctx.style(), &all_running) + "\n" +
          LookAround(*state) + "Stop it with: brfed sandbox down --dir " + state->dir + "\n");
  return kExitOk;
}

int SandboxStatusCommand(CommandContext& ctx, const std::string& dir) {
  Result<SandboxState> state = LoadSandbox(dir);
  if (!state.ok()) {
    ctx.Err("error: " + state.status().message() +
            "\n  next: start one with `brfed sandbox up --dir " + dir + "`\n");
    return kExitFailure;
  }
  bool all_running = false;
  const std::string table = ProcessTable(*state, ctx.style(), &all_running);
  if (ctx.output_format() != OutputFormat::kTable) {
    Json j = state->ToJson();
    for (Json& p : j["processes"]) {
      p["running"] = IsRunning(static_cast<pid_t>(p["pid"].get<int>()), p["binary"]);
    }
    ctx.Out(Serialize(j, ctx.output_format()));
  } else {
    ctx.Out("sandbox in " + state->dir + ": " + std::to_string(state->clusters.size()) +
            " data planes, namespace " + state->ns + "\n" + table);
  }
  if (!all_running) {
    ctx.Err(
        "error: some sandbox processes are not running (see their logs)\n  next: `brfed "
        "sandbox down --dir " +
        dir + "` then `brfed sandbox up --dir " + dir + "`\n");
    return kExitFailure;
  }
  return kExitOk;
}

int SandboxDownCommand(CommandContext& ctx, const std::string& dir, bool purge) {
  Result<std::vector<std::string>> stopped = SandboxDown(dir, purge);
  if (!stopped.ok()) {
    ctx.Err("error: " + stopped.status().message() +
            "\n  next: nothing to stop; `brfed sandbox status --dir DIR` checks another folder\n");
    return kExitFailure;
  }
  const std::string names = Join(*stopped, ", ");
  ctx.Out("sandbox in " + dir + " stopped" +
          (names.empty() ? " (nothing was running)" : ": " + names) +
          (purge ? "; folder removed" : "") + "\n");
  return kExitOk;
}

int ClustersCheckCommand(CommandContext& ctx, const std::vector<std::string>& cluster_flags) {
  Result<std::vector<ClusterTarget>> targets = ParseClusterFlags(cluster_flags);
  if (!targets.ok()) return ctx.Fail(targets.status(), {});
  Result<kube::Kubeconfig> kc = ctx.Federation();
  if (!kc.ok()) return ctx.Fail(kc.status(), {"data plane", "", "", "", ""});
  std::vector<std::string> contexts = kc->ContextNames();
  if (contexts.empty()) {
    return ctx.Fail(
        InvalidArgument("the federation kubeconfig " + ctx.options().federation_kubeconfig +
                        " has no contexts; add one per data plane"),
        {});
  }
  for (const ClusterTarget& t : *targets) {
    if (std::find(contexts.begin(), contexts.end(), t.k8s_cluster_name) == contexts.end()) {
      return ctx.Fail(InvalidArgument("--cluster names context \"" + t.k8s_cluster_name +
                                      "\", which the federation kubeconfig does not have"),
                      {});
    }
  }
  // Every data plane at once, each request bounded (5 s, one retry): a frozen or partitioned
  // server costs about 10 s in all, never one wait per cluster.
  std::vector<std::future<ClusterCheck>> pending;
  for (const std::string& name : contexts) {
    std::vector<ClusterTarget> expected;
    for (const ClusterTarget& t : *targets) {
      if (t.k8s_cluster_name == name) expected.push_back(t);
    }
    Result<kube::RestConfig> config = kc->ForContext(name);
    pending.push_back(
        std::async(std::launch::async, [name, config, expected = std::move(expected)]() mutable {
          if (!config.ok()) return UnconfiguredCluster(name, config.status().message());
          config->timeout = kClusterCheckTimeout;
          config->max_retries = 1;
          Result<std::shared_ptr<kube::Client>> client = kube::NewClient(*config);
          if (!client.ok()) return UnconfiguredCluster(name, client.status().message());
          return CheckCluster(**client, config->server, expected);
        }));
  }
  std::vector<ClusterCheck> checks;
  for (auto& check : pending) checks.push_back(check.get());
  ctx.Out(RenderClusterChecks(checks, ctx.style()));
  for (const ClusterCheck& c : checks) {
    if (!c.ok()) return kExitFailure;
  }
  return kExitOk;
}

namespace {

// Makes the demo's sandbox folder: the one asked for, or a new temporary one.
Result<std::string> DemoDir(const DemoOptions& options) {
  if (!options.dir.empty()) return options.dir;
  std::string tmpl = (fs::temp_directory_path() / "brfed-demo-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return InternalError("cannot create a temporary folder under " +
                         fs::temp_directory_path().string());
  }
  return tmpl;
}

// One demo run: the sandbox it started and how the run ends.
class DemoRun {
 public:
  DemoRun(CommandContext& ctx, const DemoOptions& options, SandboxState sandbox,
          SteadyClock::time_point start)
      : ctx_(ctx), options_(options), sandbox_(std::move(sandbox)), start_(start) {}

  // Points the command context at the sandbox, as `. DIR/env` would.
  void UseSandbox() {
    GlobalOptions& g = ctx_.mutable_options();
    g.kubeconfig = sandbox_.dir + "/control.kubeconfig";
    g.context = "";
    g.ns = sandbox_.ns;
    g.federation_kubeconfig = sandbox_.dir + "/federation.kubeconfig";
  }

  // Step 2: a VolumeBackup over every data plane, followed to its end.
  Result<Json> Backup() {
    VolumeBackupOptions vbo;
    vbo.name = "demo-backup";
    vbo.ns = sandbox_.ns;
    for (const std::string& c : sandbox_.clusters) {
      vbo.clusters.push_back({c, sandbox_.tc_namespace, sandbox_.tc_name});
    }
    vbo.tmpl.bucket = "brfed-demo";
    vbo.tmpl.region = "us-west-2";
    Result<Json> vb = BuildVolumeBackup(vbo);
    if (!vb.ok()) return vb.status();
    const Style& st = ctx_.style();
    ctx_.Out(st.Bold("2. VolumeBackup") + " demo-backup: clusters[0] (" +
             sandbox_.clusters.front() +
             ") pauses GC, every data plane snapshots its TiKV volumes\n");
    Result<Json> backup = CreateAndFollow(ctx_, "VolumeBackup", *vb, options_.step_timeout);
    if (!backup.ok()) return backup.status();
    ctx_.Out("\n" + SummarizeVolumeBackup(*backup, st) + "\n");
    if (!BackupProgress(*backup).succeeded) {
      return InternalError("the VolumeBackup ended " + JsonStringAt(*backup, {"status", "phase"}));
    }
    return backup;
  }

  // Step 3: a VolumeRestore of `backup` into every data plane, followed to its end.
  Status Restore(const Json& backup) {
    VolumeRestoreOptions vro;
    vro.name = "demo-restore";
    vro.ns = sandbox_.ns;
    vro.from_backup = "demo-backup";
    vro.warmup = "sync";
    vro.warmup_image = "pingcap/brfed-warmup:demo";
    if (Result<std::shared_ptr<kube::Client>> control = ctx_.Control();
        control.ok() && !ServesVolumeBackupName(**control)) {
      vro.inline_locations = true;  // an older CRD would drop the reference
    }
    Result<Json> vr = BuildVolumeRestore(vro, &backup);
    if (!vr.ok()) return vr.status();
    const Style& st = ctx_.style();
    ctx_.Out(st.Bold("3. VolumeRestore") +
             " demo-restore from demo-backup: volumes in every data plane, then data on the "
             "member with the smallest commitTs\n");
    if (Status s = SetRecoveryMode(); !s.ok()) return s;
    ctx_.Out("   TidbClusters set to recoveryMode: true in every data plane\n");
    Result<Json> restore = CreateAndFollow(ctx_, "VolumeRestore", *vr, options_.step_timeout);
    if (!restore.ok()) return restore.status();
    ctx_.Out("\n" + SummarizeVolumeRestore(*restore, st));
    if (!RestoreProgress(*restore).succeeded) {
      return InternalError("the VolumeRestore ended " +
                           JsonStringAt(*restore, {"status", "phase"}));
    }
    return Status::Ok();
  }

  // Stops the sandbox (unless --keep) and reports the outcome; returns the exit code.
  int Finish(const Status& outcome) {
    const bool ok = outcome.ok();
    if (options_.keep) {
      ctx_.Out("\nThe sandbox keeps running (--keep). Stop it with: brfed sandbox down --dir " +
               sandbox_.dir + " --purge\n");
    } else {
      SandboxDown(sandbox_.dir, /*purge=*/ok).value_or({});
      ctx_.Out(ok ? "\nSandbox stopped and removed.\n"
                  : "\nSandbox stopped; its logs stay in " + sandbox_.dir + "/logs\n");
    }
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - start_).count();
    char took[32];
    std::snprintf(took, sizeof took, "%.1fs", seconds);
    const Style& st = ctx_.style();
    if (ok) {
      ctx_.Out(st.Green(st.Bold("demo succeeded")) + ": backup and restore completed across " +
               std::to_string(sandbox_.clusters.size()) + " data planes in " + took + "\n");
      return kExitOk;
    }
    ctx_.Err(st.Red("demo failed") + ": " + outcome.message() + "\n  next: read the logs in " +
             sandbox_.dir + "/logs, or rerun with --keep to look around in the sandbox\n");
    return kExitFailure;
  }

 private:
  // A restore goes into TidbClusters in recovery mode (TiKV not serving until data is back).
  Status SetRecoveryMode() {
    Result<kube::Kubeconfig> fed = ctx_.Federation();
    if (!fed.ok()) return fed.status();
    for (const std::string& cluster : sandbox_.clusters) {
      Result<kube::RestConfig> rc = ctx_.DataPlaneConfig(cluster);
      Result<std::shared_ptr<kube::Client>> dp =
          rc.ok() ? kube::NewClient(*rc) : Result<std::shared_ptr<kube::Client>>(rc.status());
      Result<Json> patched =
          dp.ok() ? (*dp)->Patch(kube::resources::TidbCluster(), sandbox_.tc_namespace,
                                 sandbox_.tc_name, kube::PatchType::kMerge,
                                 Json{{"spec", {{"recoveryMode", true}}}})
                  : Result<Json>(dp.status());
      if (!patched.ok()) {
        return InternalError("cannot set recoveryMode on " + cluster + ": " +
                             patched.status().message());
      }
    }
    return Status::Ok();
  }

  CommandContext& ctx_;
  const DemoOptions& options_;
  const SandboxState sandbox_;
  const SteadyClock::time_point start_;
};

}  // namespace

int DemoCommand(CommandContext& ctx, const DemoOptions& options) {
  InstallInterruptHandler();
  const auto start = SteadyClock::now();
  Result<std::string> dir = DemoDir(options);
  if (!dir.ok()) return ctx.Fail(dir.status(), {});
  const Style& st = ctx.style();
  ctx.Out(st.Bold("brfed demo") +
          ": a federated EBS-snapshot backup and restore of one TiDB "
          "cluster spread over " +
          std::to_string(options.clusters) + " simulated Kubernetes clusters\n\n" +
          st.Bold("1. Sandbox") + " in " + *dir + "\n");
  SandboxOptions so;
  so.dir = *dir;
  so.clusters = options.clusters;
  so.speed = options.speed;
  so.apiserver = options.apiserver;
  Result<SandboxState> sandbox =
      SandboxUp(so, [&](const std::string& line) { ctx.Out("   " + line + "\n"); });
  if (!sandbox.ok()) {
    // A fresh temporary folder is removed unless it holds logs worth reading.
    if (options.dir.empty() && (sandbox.status().code() == Code::kNotFound ||
                                sandbox.status().code() == Code::kInvalidArgument)) {
      std::error_code ec;
      fs::remove_all(*dir, ec);
    }
    return SandboxFail(ctx, sandbox.status(), *dir);
  }
  ctx.Out("\n" + LookAround(*sandbox) + "\n");
  DemoRun run(ctx, options, std::move(*sandbox), start);
  run.UseSandbox();
  Result<Json> backup = run.Backup();
  if (!backup.ok()) return run.Finish(backup.status());
  return run.Finish(run.Restore(*backup));
}

}  // namespace brfed::cli
