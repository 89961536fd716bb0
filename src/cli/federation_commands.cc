#include "cli/federation_commands.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/describe.h"
#include "cli/table.h"
#include "cli/watch.h"
#include "core/clock.h"

namespace brfed::cli {
namespace {

using std::chrono::milliseconds;

struct Kind {
  const kube::Resource& resource;
  std::string kind;     // "VolumeBackup"
  std::string command;  // "backup"
  std::function<Progress(const Json&)> progress;

  // kubectl's "volumebackup.federation.pingcap.com/NAME".
  std::string Ref(const std::string& name) const {
    std::string lower = kind;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return lower + "." + resource.group + "/" + name;
  }
};

const Kind& BackupKind() {
  static const Kind k{kube::resources::VolumeBackup(), "VolumeBackup", "backup", BackupProgress};
  return k;
}
const Kind& RestoreKind() {
  static const Kind k{kube::resources::VolumeRestore(), "VolumeRestore", "restore",
                      RestoreProgress};
  return k;
}
const Kind& ScheduleKind() {
  static const Kind k{kube::resources::VolumeBackupSchedule(), "VolumeBackupSchedule", "schedule",
                      nullptr};
  return k;
}

ErrorSubject Subject(CommandContext& ctx, const Kind& k, const std::string& name = "") {
  return ctx.ControlSubject(k.kind, name, "brfed " + k.command + " list -n " + ctx.options().ns);
}

// Rewrites a bare 404 into a sentence naming the object and namespace.
Status Explain(CommandContext& ctx, const Kind& k, const std::string& name, const Status& st) {
  if (st.code() == Code::kNotFound && !name.empty()) {
    return Status(Code::kNotFound,
                  k.kind + " \"" + name + "\" not found in namespace \"" + ctx.options().ns + "\"");
  }
  if (st.code() == Code::kAlreadyExists) {
    return Status(
        Code::kAlreadyExists,
        k.kind + " \"" + name + "\" already exists in namespace \"" + ctx.options().ns + "\"");
  }
  return st;
}

int Fail(CommandContext& ctx, const Kind& k, const std::string& name, const Status& st) {
  return ctx.Fail(Explain(ctx, k, name, st), Subject(ctx, k, name));
}

Result<std::vector<Json>> ListItems(kube::Client& client, const kube::Resource& r,
                                    const std::string& ns, const kube::ListOptions& o = {}) {
  BRFED_ASSIGN_OR_RETURN(Json list, client.List(r, ns, o));
  std::vector<Json> items;
  if (const Json* it = JsonAt(list, {"items"}); it && it->is_array()) {
    items.assign(it->begin(), it->end());
  }
  std::sort(items.begin(), items.end(), [](const Json& a, const Json& b) {
    return JsonStringAt(a, {"metadata", "name"}) < JsonStringAt(b, {"metadata", "name"});
  });
  return items;
}

// Events about one object; empty when Events cannot be read (describe still shows the object).
std::vector<Json> EventsFor(kube::Client& client, const std::string& ns, const std::string& kind,
                            const std::string& name) {
  kube::ListOptions o;
  o.field_selector = "involvedObject.name=" + name;
  Result<std::vector<Json>> events = ListItems(client, kube::resources::Event(), ns, o);
  if (!events.ok()) return {};
  std::vector<Json> mine;
  for (const Json& e : *events) {
    if (JsonStringAt(e, {"involvedObject", "name"}) == name &&
        JsonStringAt(e, {"involvedObject", "kind"}, kind) == kind) {
      mine.push_back(e);
    }
  }
  return mine;
}

Result<std::shared_ptr<kube::Client>> Connect(CommandContext& ctx) { return ctx.Control(); }

int Create(CommandContext& ctx, const Kind& k, const Json& object, const WaitOptions& wait) {
  const std::string name = JsonStringAt(object, {"metadata", "name"});
  Result<std::shared_ptr<kube::Client>> client = Connect(ctx);
  if (!client.ok()) return Fail(ctx, k, "", client.status());
  Result<Json> created = (*client)->Create(k.resource, ctx.options().ns, object);
  if (!created.ok()) {
    if (created.status().code() == Code::kNotFound) {
      if (created.status().message().find("namespaces \"") != std::string::npos) {
        ctx.Err("error: namespace \"" + ctx.options().ns +
                "\" does not exist on the control plane\n  next: create it (kubectl create "
                "namespace " +
                ctx.options().ns + ") or choose another with -n\n");
        return kExitFailure;
      }
      return ctx.Fail(Status(Code::kNotFound, "the control plane does not serve " + k.kind + ": " +
                                                  created.status().message()),
                      Subject(ctx, k));
    }
    return Fail(ctx, k, name, created.status());
  }
  if (!wait.wait) {
    if (ctx.output_format() != OutputFormat::kTable) {
      ctx.Out(Serialize(*created, ctx.output_format()));
    } else {
      ctx.Out(k.Ref(name) + " created\n");
    }
    return kExitOk;
  }
  ctx.Out(k.Ref(name) + " created; waiting for it to finish\n");
  WatchTarget target{
      &k.resource, k.kind, ctx.options().ns, name, "brfed " + k.command + " describe " + name,
      k.progress};
  Result<Json> done = FollowUntilDone(ctx, **client, target, wait.timeout, true);
  if (!done.ok()) return Fail(ctx, k, name, done.status());
  ctx.Out(k.kind == "VolumeBackup" ? SummarizeVolumeBackup(*done, ctx.style())
                                   : SummarizeVolumeRestore(*done, ctx.style()));
  return k.progress(*done).succeeded ? kExitOk : kExitFailure;
}

using RowFn = std::function<TableRow(const Json&, Time)>;

int List(CommandContext& ctx, const Kind& k, const TableRow& headers, const RowFn& row) {
  Result<std::shared_ptr<kube::Client>> client = Connect(ctx);
  if (!client.ok()) return Fail(ctx, k, "", client.status());
  Result<std::vector<Json>> items = ListItems(**client, k.resource, ctx.options().ns);
  if (!items.ok()) return Fail(ctx, k, "", items.status());
  if (ctx.output_format() != OutputFormat::kTable) {
    ctx.Out(Serialize(MakeList(*items), ctx.output_format()));
    return kExitOk;
  }
  if (items->empty()) {
    ctx.Err("No " + k.kind + "s found in namespace \"" + ctx.options().ns + "\".\n");
    return kExitOk;
  }
  const Time now = RealClock::Get()->Now();
  std::vector<TableRow> rows;
  for (const Json& item : *items) rows.push_back(row(item, now));
  ctx.Out(RenderTable(headers, rows));
  return kExitOk;
}

using DescribeFn = std::function<std::string(kube::Client&, const Json&, Time)>;

int Describe(CommandContext& ctx, const Kind& k, const std::string& name,
             const DescribeFn& describe) {
  Result<std::shared_ptr<kube::Client>> client = Connect(ctx);
  if (!client.ok()) return Fail(ctx, k, name, client.status());
  Result<Json> obj = (*client)->Get(k.resource, ctx.options().ns, name);
  if (!obj.ok()) return Fail(ctx, k, name, obj.status());
  if (ctx.output_format() != OutputFormat::kTable) {
    ctx.Out(Serialize(*obj, ctx.output_format()));
    return kExitOk;
  }
  ctx.Out(describe(**client, *obj, RealClock::Get()->Now()));
  return kExitOk;
}

int Watch(CommandContext& ctx, const Kind& k, const std::string& name, milliseconds timeout) {
  Result<std::shared_ptr<kube::Client>> client = Connect(ctx);
  if (!client.ok()) return Fail(ctx, k, name, client.status());
  WatchTarget target{
      &k.resource, k.kind, ctx.options().ns, name, "brfed " + k.command + " describe " + name,
      k.progress};
  Result<Json> done = FollowUntilDone(ctx, **client, target, timeout, true);
  if (!done.ok()) return Fail(ctx, k, name, done.status());
  const Progress p = k.progress(*done);
  if (!p.succeeded) {
    ctx.Err(k.kind + " \"" + name + "\" ended " + p.phase +
            (p.message.empty() ? "" : ": " + p.message) + "\n  next: `brfed " + k.command +
            " describe " + name + "` shows each member's failure reason\n");
    return kExitFailure;
  }
  return kExitOk;
}

int Delete(CommandContext& ctx, const Kind& k, const std::string& name, const WaitOptions& wait) {
  Result<std::shared_ptr<kube::Client>> client = Connect(ctx);
  if (!client.ok()) return Fail(ctx, k, name, client.status());
  Status st = (*client)->Delete(k.resource, ctx.options().ns, name);
  if (!st.ok()) return Fail(ctx, k, name, st);
  if (wait.wait) {
    // Finalizers let the manager tear members down first; wait for the object to go.
    const auto deadline = std::chrono::steady_clock::now() + wait.timeout;
    while (true) {
      Result<Json> obj = (*client)->Get(k.resource, ctx.options().ns, name);
      if (!obj.ok() && obj.status().code() == Code::kNotFound) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        return ctx.Fail(
            Status(Code::kTimeout,
                   k.kind + " \"" + name + "\" is marked for deletion but still exists (phase " +
                       (obj.ok() ? JsonStringAt(*obj, {"status", "phase"}, "Pending")
                                 : obj.status().message()) +
                       "): its members are being cleaned up"),
            {"control plane", ctx.control_server(), k.kind, name,
             "brfed " + k.command + " describe " + name});
      }
      std::this_thread::sleep_for(milliseconds(200));
    }
  }
  ctx.Out(k.Ref(name) + " deleted\n");
  return kExitOk;
}

std::string Dash(std::string s) { return s.empty() ? "-" : s; }

}  // namespace

bool ServesVolumeBackupName(kube::Client& client) {
  Result<Json> crd = client.Get(kube::resources::CustomResourceDefinition(), "",
                                "volumerestores.federation.pingcap.com");
  if (!crd.ok()) return true;
  const Json* versions = JsonAt(*crd, {"spec", "versions"});
  if (!versions || !versions->is_array()) return true;
  for (const Json& v : *versions) {
    const Json* spec = JsonAt(v, {"schema", "openAPIV3Schema", "properties", "spec"});
    if (!spec) return true;
    if (JsonBoolAt(*spec, {"x-kubernetes-preserve-unknown-fields"})) return true;
    if (JsonAt(*spec, {"properties", "volumeBackupName"})) return true;
  }
  return false;
}

int BackupCreate(CommandContext& ctx, const BackupCreateArgs& args) {
  VolumeBackupOptions o;
  o.name = args.name;
  o.ns = ctx.options().ns;
  o.tmpl = args.tmpl;
  Result<std::vector<ClusterTarget>> clusters = ParseClusterFlags(args.clusters);
  if (!clusters.ok()) return ctx.Fail(clusters.status(), {});
  o.clusters = *clusters;
  Result<std::map<std::string, std::string>> labels = ParseLabels(args.labels);
  if (!labels.ok()) return ctx.Fail(labels.status(), {});
  o.labels = *labels;
  Result<Json> vb = BuildVolumeBackup(o);
  if (!vb.ok()) return ctx.Fail(vb.status(), {});
  return Create(ctx, BackupKind(), *vb, args.wait);
}

int BackupList(CommandContext& ctx) {
  return List(ctx, BackupKind(),
              {"NAME", "STATUS", "CLUSTERS", "SIZE", "COMMITTS", "TIMETAKEN", "AGE"},
              [&](const Json& vb, Time now) -> TableRow {
                const Json* cs = JsonAt(vb, {"spec", "clusters"});
                return {JsonStringAt(vb, {"metadata", "name"}),
                        ctx.style().Phase(Dash(JsonStringAt(vb, {"status", "phase"}))),
                        std::to_string(cs && cs->is_array() ? cs->size() : 0),
                        Dash(JsonStringAt(vb, {"status", "backupSizeReadable"})),
                        Dash(JsonStringAt(vb, {"status", "commitTs"})),
                        Dash(JsonStringAt(vb, {"status", "timeTaken"})),
                        AgeSince(JsonStringAt(vb, {"metadata", "creationTimestamp"}), now)};
              });
}

int BackupDescribe(CommandContext& ctx, const std::string& name) {
  return Describe(ctx, BackupKind(), name, [&](kube::Client& c, const Json& vb, Time now) {
    return DescribeVolumeBackup(vb, EventsFor(c, ctx.options().ns, "VolumeBackup", name), now,
                                ctx.style());
  });
}

int BackupWatch(CommandContext& ctx, const std::string& name, milliseconds timeout) {
  return Watch(ctx, BackupKind(), name, timeout);
}

int BackupDelete(CommandContext& ctx, const std::string& name, const WaitOptions& wait) {
  return Delete(ctx, BackupKind(), name, wait);
}

int RestoreCreate(CommandContext& ctx, const RestoreCreateArgs& args) {
  VolumeRestoreOptions o;
  o.name = args.name;
  o.ns = ctx.options().ns;
  o.from_backup = args.from_backup;
  o.warmup = args.warmup;
  o.warmup_image = args.warmup_image;
  o.warmup_strategy = args.warmup_strategy;
  o.br_options = args.br_options;
  o.inline_locations = args.inline_locations;
  Result<std::vector<ClusterTarget>> clusters = ParseClusterFlags(args.clusters);
  if (!clusters.ok()) return ctx.Fail(clusters.status(), {});
  o.clusters = *clusters;
  // Validate flags before touching the network.
  VolumeRestoreOptions offline_options = o;
  offline_options.inline_locations = false;  // needs the source; checked below
  Result<Json> offline = BuildVolumeRestore(offline_options, nullptr);
  if (!offline.ok()) return ctx.Fail(offline.status(), {});

  Result<std::shared_ptr<kube::Client>> client = Connect(ctx);
  if (!client.ok()) return Fail(ctx, RestoreKind(), "", client.status());
  Result<Json> source = (*client)->Get(kube::resources::VolumeBackup(), o.ns, o.from_backup);
  if (!source.ok()) return Fail(ctx, BackupKind(), o.from_backup, source.status());
  const std::string phase = JsonStringAt(*source, {"status", "phase"});
  if (phase != "Complete") {
    ctx.Err("error: VolumeBackup \"" + o.from_backup + "\" is " +
            (phase.empty() ? "Pending" : phase) +
            ", not Complete; only a complete backup can be restored\n  next: wait for it with "
            "`brfed backup watch " +
            o.from_backup + "`, or pick another with `brfed backup list`\n");
    return kExitFailure;
  }
  if (!o.inline_locations && !ServesVolumeBackupName(**client)) {
    ctx.Err(
        "note: this control plane's VolumeRestore CRD has no spec.volumeBackupName (it would "
        "be dropped); writing each cluster's backup location instead (--inline-locations)\n");
    o.inline_locations = true;
  }
  Result<Json> vr = BuildVolumeRestore(o, &*source);
  if (!vr.ok()) return ctx.Fail(vr.status(), {});
  return Create(ctx, RestoreKind(), *vr, args.wait);
}

int RestoreList(CommandContext& ctx) {
  return List(ctx, RestoreKind(), {"NAME", "STATUS", "BACKUP", "COMMITTS", "TIMETAKEN", "AGE"},
              [&](const Json& vr, Time now) -> TableRow {
                return {JsonStringAt(vr, {"metadata", "name"}),
                        ctx.style().Phase(Dash(JsonStringAt(vr, {"status", "phase"}))),
                        Dash(JsonStringAt(vr, {"spec", "volumeBackupName"})),
                        Dash(JsonStringAt(vr, {"status", "commitTs"})),
                        Dash(JsonStringAt(vr, {"status", "timeTaken"})),
                        AgeSince(JsonStringAt(vr, {"metadata", "creationTimestamp"}), now)};
              });
}

int RestoreDescribe(CommandContext& ctx, const std::string& name) {
  return Describe(ctx, RestoreKind(), name, [&](kube::Client& c, const Json& vr, Time now) {
    return DescribeVolumeRestore(vr, EventsFor(c, ctx.options().ns, "VolumeRestore", name), now,
                                 ctx.style());
  });
}

int RestoreWatch(CommandContext& ctx, const std::string& name, milliseconds timeout) {
  return Watch(ctx, RestoreKind(), name, timeout);
}

int RestoreDelete(CommandContext& ctx, const std::string& name, const WaitOptions& wait) {
  return Delete(ctx, RestoreKind(), name, wait);
}

int ScheduleCreate(CommandContext& ctx, const ScheduleCreateArgs& args) {
  VolumeBackupScheduleOptions o;
  o.name = args.name;
  o.ns = ctx.options().ns;
  o.schedule = args.schedule;
  o.tmpl = args.tmpl;
  o.max_backups = args.max_backups;
  o.max_reserved_time = args.max_reserved_time;
  o.group = args.group;
  o.paused = args.paused;
  Result<std::vector<ClusterTarget>> clusters = ParseClusterFlags(args.clusters);
  if (!clusters.ok()) return ctx.Fail(clusters.status(), {});
  o.clusters = *clusters;
  Result<Json> vbks = BuildVolumeBackupSchedule(o);
  if (!vbks.ok()) return ctx.Fail(vbks.status(), {});
  return Create(ctx, ScheduleKind(), *vbks, {});
}

int ScheduleList(CommandContext& ctx) {
  return List(ctx, ScheduleKind(),
              {"NAME", "SCHEDULE", "PAUSED", "MAXBACKUPS", "MAXRESERVEDTIME", "LASTBACKUP", "AGE"},
              [&](const Json& s, Time now) -> TableRow {
                const long long max_backups = JsonIntAt(s, {"spec", "maxBackups"}, 0);
                return {JsonStringAt(s, {"metadata", "name"}),
                        JsonStringAt(s, {"spec", "schedule"}),
                        JsonBoolAt(s, {"spec", "pause"}) ? ctx.style().Yellow("true") : "false",
                        max_backups > 0 ? std::to_string(max_backups) : "-",
                        Dash(JsonStringAt(s, {"spec", "maxReservedTime"})),
                        Dash(JsonStringAt(s, {"status", "lastBackup"})),
                        AgeSince(JsonStringAt(s, {"metadata", "creationTimestamp"}), now)};
              });
}

int ScheduleDescribe(CommandContext& ctx, const std::string& name) {
  return Describe(ctx, ScheduleKind(), name, [&](kube::Client& c, const Json& s, Time now) {
    kube::ListOptions o;
    o.label_selector = "tidb.pingcap.com/backup-schedule=" + name;
    std::vector<Json> backups =
        ListItems(c, kube::resources::VolumeBackup(), ctx.options().ns, o).value_or({});
    return DescribeVolumeBackupSchedule(
        s, backups, EventsFor(c, ctx.options().ns, "VolumeBackupSchedule", name), now, ctx.style());
  });
}

int ScheduleSetPaused(CommandContext& ctx, const std::string& name, bool paused) {
  const Kind& k = ScheduleKind();
  Result<std::shared_ptr<kube::Client>> client = Connect(ctx);
  if (!client.ok()) return Fail(ctx, k, name, client.status());
  Result<Json> patched =
      (*client)->Patch(k.resource, ctx.options().ns, name, kube::PatchType::kMerge,
                       Json{{"spec", {{"pause", paused}}}});
  if (!patched.ok()) return Fail(ctx, k, name, patched.status());
  ctx.Out(k.Ref(name) + (paused ? " paused\n" : " resumed\n"));
  return kExitOk;
}

int ScheduleDelete(CommandContext& ctx, const std::string& name) {
  return Delete(ctx, ScheduleKind(), name, {});
}

Result<Json> CreateAndFollow(CommandContext& ctx, const std::string& kind, const Json& object,
                             milliseconds timeout) {
  const Kind& k = kind == "VolumeBackup" ? BackupKind() : RestoreKind();
  const std::string name = JsonStringAt(object, {"metadata", "name"});
  BRFED_ASSIGN_OR_RETURN(std::shared_ptr<kube::Client> client, Connect(ctx));
  Result<Json> created = client->Create(k.resource, ctx.options().ns, object);
  if (!created.ok()) return Explain(ctx, k, name, created.status());
  WatchTarget target{
      &k.resource, k.kind, ctx.options().ns, name, "brfed " + k.command + " describe " + name,
      k.progress};
  Result<Json> done = FollowUntilDone(ctx, *client, target, timeout, true);
  if (!done.ok()) return Explain(ctx, k, name, done.status());
  return done;
}

}  // namespace brfed::cli
