#!/usr/bin/env python3
"""Benchmark results: wrap Google Benchmark output, validate, summarise (standard library only).

  report.py wrap-micro RAW.json OUT.json --commit SHA --build-type TYPE
  report.py validate DIR [--partial]  # exit 0 when every DIR/*.json matches bench/README.md's
                                      # shape (--partial: a folder of some scenarios only)
  report.py summary DIR      # markdown summary table on stdout
  report.py issue16 DIR...   # issue 16's table over several result folders (before / after)
"""
import argparse
import datetime
import glob
import json
import os
import sys

IMPLIED = "implied by design, not measured"
STATS_KEYS = ("p50_ms", "p90_ms", "p99_ms", "max_ms")
BACKUP_HOPS = ["initialized_to_execute", "snapshots_created_to_resume_gc",
               "complete_to_teardown", "teardown_complete_to_volumebackup_complete"]
RESTORE_HOPS = ["volume_complete_to_volumerestore_volume_complete",
                "tikv_complete_to_restore_data", "data_complete_to_restore_finish",
                "complete_to_volumerestore_complete"]


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count() or 0, "cpu_model": model}


def wrap_micro(args):
    with open(args.raw) as f:
        raw = json.load(f)
    benchmarks = [{"name": b["name"], "real_time_ns": round(b["real_time"], 1),
                   "cpu_time_ns": round(b["cpu_time"], 1), "iterations": b["iterations"]}
                  for b in raw.get("benchmarks", []) if b.get("time_unit", "ns") == "ns"]
    out = {"name": "micro_bench",
           "description": "Google Benchmark micro-benchmarks: DecideVolumeBackup and JSON "
                          "decoding of a large Backup object",
           "schema_version": 1, "machine": machine(), "build_type": args.build_type,
           "git_commit": args.commit,
           "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "config": {"benchmark_min_time_s": 0.2},
           "results": {"benchmarks": benchmarks},
           "target": {},
           "go_original": {"label": IMPLIED, "basis": "no comparable micro-benchmark"}}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


class Invalid(Exception):
    pass


def need(obj, key, kind, where):
    if not isinstance(obj, dict) or key not in obj:
        raise Invalid(f"{where}: missing {key}")
    value = obj[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise Invalid(f"{where}.{key}: expected {kind}, got bool")
    if not isinstance(value, kinds):
        raise Invalid(f"{where}.{key}: expected {kind}, got {type(value).__name__}")
    return value


def check_stats(s, where):
    n = need(s, "samples", int, where)
    if n > 0:
        values = [need(s, k, (int, float), where) for k in STATS_KEYS]
        if values != sorted(values) or values[0] < 0:
            raise Invalid(f"{where}: percentiles not ordered: {values}")


def check_hops(results, names, where):
    hops = need(results, "hops", list, where)
    got = [need(h, "hop", str, where + ".hops[]") for h in hops]
    if got != names:
        raise Invalid(f"{where}.hops: expected {names}, got {got}")
    for h in hops:
        check_stats(h, f"{where}.hops[{h['hop']}]")
    need(results, "unmatched_hops", int, where)
    need(results, "phases", dict, where)
    check = need(results, "simulator_check", dict, where)
    need(check, "violations", int, where + ".simulator_check")


def check_pause_and_cost(r, where):
    """Issue 16's block (hop_latency_* and scale_*; absent from files written before it)."""
    if "pause_and_cost" not in r:
        return
    p = need(r, "pause_and_cost", dict, where)
    w = where + ".pause_and_cost"
    check_stats(need(p, "control_plane_share_audit", dict, w), w + ".control_plane_share_audit")
    view = need(p, "manager_view", dict, w)
    check_stats(need(view, "gc_pause", dict, w), w + ".manager_view.gc_pause")
    check_stats(need(view, "control_plane", dict, w), w + ".manager_view.control_plane")
    check_stats(need(p, "whole_pause", dict, w), w + ".whole_pause")
    for key in ("status_writes_per_volume_backup", "conflict_percent_of_manager_writes",
                "manager_peak_rss_mib"):
        need(p, key, (int, float), w)
    need(p, "manager_writes", int, w)
    need(p, "manager_conflicts", int, w)


FAILURE_CASE_STATS = ("failure_to_release", "failure_to_teardown_patch",
                      "failure_to_member_delete")
FAILURE_CASE_COUNTS = ("volume_backups", "members_deleted", "init_member_deleted",
                       "init_execute_running_at_failure", "snapshots_after_release", "unmatched")


def check_failure_release(r, where):
    """failure_release_<N>dp (issue 18): per simulator timing, per fault case."""
    timings = need(r, "timings", list, where)
    if not timings:
        raise Invalid(f"{where}.timings: empty")
    need(r, "release_why_meaning", dict, where)
    for t in timings:
        w = f"{where}.timings[{need(t, 'timing', str, where + '.timings[]')}]"
        need(t, "simulator", str, w)
        need(t, "wall_seconds", (int, float), w)
        need(t, "load_average_at_start", list, w)
        check = need(t, "simulator_check", dict, w)
        need(check, "violations", int, w + ".simulator_check")
        for c in need(t, "cases", list, w):
            cw = f"{w}.cases[{need(c, 'case', str, w + '.cases[]')}]"
            need(c, "fault", str, cw)
            need(c, "phases", dict, cw)
            for key in FAILURE_CASE_STATS:
                check_stats(need(c, key, dict, cw), f"{cw}.{key}")
            for key in FAILURE_CASE_COUNTS:
                need(c, key, int, cw)
            why = need(c, "release_why", dict, cw)
            if sum(why.values()) != c["volume_backups"] - c["unmatched"]:
                raise Invalid(f"{cw}.release_why: counts do not add up to the matched backups")


def validate_file(path):
    with open(path) as f:
        doc = json.load(f)
    name = need(doc, "name", str, "")
    if name + ".json" != os.path.basename(path):
        raise Invalid(f"name {name!r} does not match the file name")
    need(doc, "description", str, name)
    if need(doc, "schema_version", int, name) != 1:
        raise Invalid(f"{name}: schema_version must be 1")
    m = need(doc, "machine", dict, name)
    if need(m, "cores", int, name + ".machine") < 1:
        raise Invalid(f"{name}.machine.cores < 1")
    need(m, "cpu_model", str, name + ".machine")
    need(doc, "build_type", str, name)
    need(doc, "git_commit", str, name)
    need(doc, "started", str, name)
    need(doc, "config", dict, name)
    need(doc, "target", dict, name)
    go = need(doc, "go_original", dict, name)
    if need(go, "label", str, name + ".go_original") != IMPLIED:
        raise Invalid(f"{name}.go_original.label must be {IMPLIED!r}")
    r = need(doc, "results", dict, name)
    where = name + ".results"
    if name.startswith("hop_latency_"):
        check_hops(r, BACKUP_HOPS, where)
        need(r, "wall_seconds", (int, float), where)
        check_pause_and_cost(r, where)
    elif name.startswith("idle_pause_"):
        check_hops(r, BACKUP_HOPS, where)
        check_pause_and_cost(r, where)
        need(r, "exec_plugin_runs", int, where)
        if r.get("connections_opened") is not None:  # null from a manager without the series
            need(r, "connections_opened", (int, float), where)
        need(need(r, "simulator_check", dict, where), "violations", int, where)
    elif name.startswith("restore_"):
        check_hops(r, RESTORE_HOPS, where)
    elif name.startswith("gc_pause_"):
        check_stats(need(r, "pause", dict, where), where + ".pause")
        check_stats(need(r, "overhead", dict, where), where + ".overhead")
        need(r, "configured_work_ms", (int, float), where)
        need(r, "pause_expiries", int, where)
    elif name.startswith("scale_"):
        check_hops(r, BACKUP_HOPS, where)
        need(r, "all_complete", bool, where)
        need(r, "total_seconds", (int, float), where)
        per = need(r, "manager_requests_per_volume_backup", dict, where)
        need(per, "control_plane", dict, where + ".manager_requests_per_volume_backup")
        need(per, "data_planes", dict, where + ".manager_requests_per_volume_backup")
        need(r, "manager_requests_total", int, where)
        need(r, "manager_request_error_codes", dict, where)
        need(r, "manager_request_conflicts", int, where)
        need(r, "manager_error_log_lines", int, where)
        need(r, "manager_cpu_seconds", (int, float), where)
        need(r, "manager_peak_rss_mib", (int, float), where)
        check_stats(need(r, "gc_pause", dict, where), where + ".gc_pause")
        check_pause_and_cost(r, where)
    elif name.startswith("startup_"):
        check_stats(need(r, "start_to_ready", dict, where), where + ".start_to_ready")
    elif name.startswith("failure_release_"):
        check_failure_release(r, where)
    elif name.startswith("finished_"):
        check_stats(need(r, "start_to_ready", dict, where), where + ".start_to_ready")
        check_stats(need(r, "start_to_first_full_reconcile", dict, where),
                    where + ".start_to_first_full_reconcile")
        need(r, "manager_writes", int, where)
        need(r, "load_seconds", (int, float), where)
    elif name == "micro_bench":
        for b in need(r, "benchmarks", list, where):
            need(b, "name", str, where + ".benchmarks[]")
            need(b, "real_time_ns", (int, float), where + ".benchmarks[]")
            need(b, "cpu_time_ns", (int, float), where + ".benchmarks[]")
            need(b, "iterations", int, where + ".benchmarks[]")
    else:
        raise Invalid(f"unknown result name {name!r}")


def validate(args):
    files = sorted(glob.glob(os.path.join(args.dir, "*.json")))
    expected = {"micro_bench", "hop_latency_1dp", "hop_latency_3dp", "hop_latency_10dp",
                "gc_pause_10dp", "restore_3dp", "startup_10dp"}
    present = {os.path.basename(f)[:-5] for f in files}
    bad = 0
    if args.partial:
        expected = set()
    for name in sorted(expected - present):
        print(f"validate: missing {name}.json", file=sys.stderr)
        bad += 1
    if not args.partial and not any(p.startswith("scale_") for p in present):
        print("validate: missing scale_10dp_<N>.json", file=sys.stderr)
        bad += 1
    for f in files:
        try:
            validate_file(f)
        except (Invalid, ValueError, KeyError, TypeError) as e:
            print(f"validate: {f}: {e}", file=sys.stderr)
            bad += 1
    print(f"validate: {len(files)} files, {bad} problems", file=sys.stderr)
    return 1 if bad else 0


def load(dir_):
    out = {}
    for f in glob.glob(os.path.join(dir_, "*.json")):
        with open(f) as fh:
            doc = json.load(fh)
        out[doc.get("name", os.path.basename(f))] = doc
    return out


def ms(v):
    return "–" if v is None else f"{v:.2f}"


def verdict(ok):
    return "met" if ok else "**missed**"


def p50_p99(stats):
    if not stats or not stats.get("samples"):
        return "–"
    return f"{stats['p50_ms']:.1f} / {stats['p99_ms']:.1f}"


ISSUE16_HEADER = [
    "", "## Issue 16: the pause and what the manager's writes cost", "",
    "All times p50 / p99 ms. Hop p99 = the worst of the four backup hops. Share (audit) = "
    "Initialized write -> last execute write + last SnapshotsCreated write -> resumeGcSchedule, "
    "from the API servers' audit logs; share / pause (manager) = status.steps[] GCPause "
    "controlPlaneTimeTaken / timeTaken; whole pause (PD) = the simulator's pd_pause -> pd_resume.",
    "",
    "| run | commit | phases | initialized_to_execute | hop p99 (worst) | share (audit) | "
    "share (manager) | whole pause (PD) | pause (manager) | status writes / VB | "
    "409s of manager writes | manager RSS MiB |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|"]


def issue16_rows(docs):
    """One row per run with the pause_and_cost block: issue 16's figures."""
    rows = []
    for name in sorted(n for n in docs if n.startswith(("hop_latency_", "scale_"))):
        doc = docs[name]
        r = doc["results"]
        p = r.get("pause_and_cost")
        if p is None:
            continue
        hops = r.get("hops", [])
        worst = max((h.get("p99_ms", 0) for h in hops if h.get("samples")), default=None)
        first = {h["hop"]: h for h in hops}
        rows.append(
            f"| {name} | {doc['git_commit'][:10]} | {json.dumps(r['phases'])} | "
            f"{p50_p99(first.get('initialized_to_execute'))} | "
            f"{ms(worst)} | "
            f"{p50_p99(p['control_plane_share_audit'])} | "
            f"{p50_p99(p['manager_view']['control_plane'])} | "
            f"{p50_p99(p['whole_pause'])} | "
            f"{p50_p99(p['manager_view']['gc_pause'])} | "
            f"{p['status_writes_per_volume_backup']} | "
            f"{p['conflict_percent_of_manager_writes']} % ({p['manager_conflicts']}/"
            f"{p['manager_writes']}) | {p['manager_peak_rss_mib']} |")
    return rows


def issue16(args):
    """Rows of every folder, grouped by run name, folders in the order given (before, after)."""
    rows = []
    for i, d in enumerate(args.dirs):
        rows += [(row.split(" | ")[0], i, row) for row in issue16_rows(load(d))]
    print("\n".join(ISSUE16_HEADER + [row for _, _, row in sorted(rows)]))
    return 0


def failure_release_lines(name, doc):
    """Issue 18's table: failure -> release per simulator timing and fault case."""
    lines = ["", f"## GC pause after a failure ({name})", "",
             "Failure = the faulted member's failure condition write (hang: the pause budget's "
             "expiry); release = the simulator's pd_resume. p50 / p99 / max ms.", "",
             "| timing | case | n | phases | failure → release | failure → teardown patch | "
             "members deleted (init) | init execute job running at failure | release why | "
             "snapshots after release |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def three(s):
        if not s.get("samples"):
            return "–"
        return f"{s['p50_ms']:.0f} / {s['p99_ms']:.0f} / {s['max_ms']:.0f}"

    for t in doc["results"]["timings"]:
        for c in t["cases"]:
            lines.append(
                f"| {t['timing']} | {c['case']} | {c['volume_backups']} | "
                f"{json.dumps(c['phases'])} | {three(c['failure_to_release'])} | "
                f"{three(c['failure_to_teardown_patch'])} | {c['members_deleted']} "
                f"({c['init_member_deleted']}) | {c['init_execute_running_at_failure']} | "
                f"{json.dumps(c['release_why'])} | {c['snapshots_after_release']} |")
    return lines


def summary(args):
    docs = load(args.dir)
    any_doc = next(iter(docs.values()), {})
    m = any_doc.get("machine", {})
    lines = ["# brfed benchmark summary", "",
             f"Machine: {m.get('cores')} cores, {m.get('cpu_model')}; build "
             f"{any_doc.get('build_type')}; commit {any_doc.get('git_commit')}. "
             "Go original: " + IMPLIED + " (every hop waits for the 30 s informer resync).",
             "", "## Orchestration hop latency (data-plane status write -> manager's write)", "",
             "| scenario | hop | n | p50 ms | p90 ms | p99 ms | max ms | target p99 ≤ 50 ms | "
             "Go original (implied) |",
             "|---|---|---|---|---|---|---|---|---|"]
    hop_names = sorted(n for n in docs if n.startswith(("hop_latency_", "restore_", "scale_")))
    hop_names.sort(key=lambda n: (n.split("_")[0], int("".join(c for c in n.split("_")[-1]
                                                                  if c.isdigit()) or 0)))
    for name in hop_names:
        for h in docs[name]["results"].get("hops", []):
            p99 = h.get("p99_ms")
            ok = p99 is not None and p99 <= 50
            lines.append(f"| {name} | {h['hop']} | {h['samples']} | {ms(h.get('p50_ms'))} | "
                         f"{ms(h.get('p90_ms'))} | {ms(p99)} | {ms(h.get('max_ms'))} | "
                         f"{verdict(ok)} | 0–30 000 (p50 ~15 000) |")
    gc = docs.get("gc_pause_10dp")
    if gc:
        o = gc["results"]["overhead"]
        lines += ["", "## GC/PD pause overhead, 10 data planes", "",
                  "| n | p50 ms | p90 ms | p99 ms | max ms | target ≤ 100 ms | Go original (implied) |",
                  "|---|---|---|---|---|---|---|",
                  f"| {o['samples']} | {ms(o.get('p50_ms'))} | {ms(o.get('p90_ms'))} | "
                  f"{ms(o.get('p99_ms'))} | {ms(o.get('max_ms'))} | "
                  f"{verdict(o.get('max_ms') is not None and o['max_ms'] <= 100)} (by max) | "
                  "0–60 000 (two resync-bound hops inside the pause) |"]
    for name in sorted(n for n in docs if n.startswith("scale_")):
        r = docs[name]["results"]
        per = r["manager_requests_per_volume_backup"]
        errors = sum(r["manager_request_error_codes"].values()) + r["manager_error_log_lines"]
        lines += ["", f"## Scale ({name})", "", "| what | value | target |", "|---|---|---|",
                  f"| phases | {json.dumps(r['phases'])} | all Complete: "
                  f"{verdict(r['all_complete'])} |",
                  f"| total time | {r['total_seconds']:.2f} s | – (Go implied ≥ "
                  f"{docs[name]['go_original'].get('min_total_seconds_implied')} s) |",
                  f"| errors (manager requests answered ≥ 400 except 409, + error log lines) | {errors} "
                  f"{json.dumps(r['manager_request_error_codes'])} | 0: {verdict(errors == 0)} |",
                  f"| manager 409 conflicts (stale-cache patches, retried by design) | "
                  f"{r['manager_request_conflicts']} | – |",
                  f"| manager peak RSS | {r['manager_peak_rss_mib']} MiB | ≤ 64 MiB: "
                  f"{verdict(r['manager_peak_rss_mib'] <= 64)} |",
                  f"| manager CPU | {r['manager_cpu_seconds']} s | – |",
                  f"| manager requests per VolumeBackup, control plane | "
                  f"{json.dumps(per['control_plane'], sort_keys=True)} | no GET/LIST per "
                  "reconcile |",
                  f"| manager requests per VolumeBackup, all data planes | "
                  f"{json.dumps(per['data_planes'], sort_keys=True)} | bounded, reported |",
                  f"| GC pause p50 / p99 / max | {ms(r['gc_pause'].get('p50_ms'))} / "
                  f"{ms(r['gc_pause'].get('p99_ms'))} / {ms(r['gc_pause'].get('max_ms'))} ms "
                  "| – |",
                  f"| simulator invariant check | {r['simulator_check']['violations']} "
                  "violations | 0 |"]
    for name in sorted(n for n in docs if n.startswith("failure_release_")):
        lines += failure_release_lines(name, docs[name])
    rows = issue16_rows(docs)
    lines += ISSUE16_HEADER + rows if rows else []
    st = docs.get("startup_10dp")
    if st:
        s = st["results"]["start_to_ready"]
        lines += ["", "## Manager start to ready, 10 data planes", "",
                  f"{s['samples']} runs: p50 {ms(s.get('p50_ms'))} ms, max {ms(s.get('max_ms'))} ms."]
    mb = docs.get("micro_bench")
    if mb:
        lines += ["", "## Micro-benchmarks", "", "| benchmark | time (ns) | CPU (ns) |",
                  "|---|---|---|"]
        for b in mb["results"]["benchmarks"]:
            lines.append(f"| {b['name']} | {b['real_time_ns']:.0f} | {b['cpu_time_ns']:.0f} |")
    print("\n".join(lines))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("wrap-micro")
    w.add_argument("raw")
    w.add_argument("out")
    w.add_argument("--commit", default="unknown")
    w.add_argument("--build-type", default="unknown")
    v = sub.add_parser("validate")
    v.add_argument("dir")
    v.add_argument("--partial", action="store_true")
    s = sub.add_parser("summary")
    s.add_argument("dir")
    i = sub.add_parser("issue16")
    i.add_argument("dirs", nargs="+")
    args = p.parse_args()
    if args.cmd == "wrap-micro":
        wrap_micro(args)
        return 0
    if args.cmd == "validate":
        return validate(args)
    if args.cmd == "issue16":
        return issue16(args)
    return summary(args)


if __name__ == "__main__":
    sys.exit(main())
