#!/usr/bin/env python3
"""Sums the chaos results (bench/results/chaos/*.json, written by bench/chaos.sh) per backend.

Prints one Markdown table row per backend (runs, clean runs, violations, faults by kind,
longest pause against its bound, commits) and one row per file, for README.md and
bench/README.md. A run is clean when it has no violation. Files of the same seeds run again
(a rerun after a runner fix) are all counted: every run is a run.

Usage: bench/chaos_totals.py [RESULTS_DIR]
"""
import collections
import glob
import json
import os
import sys


def load(results_dir):
    files = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        with open(path) as f:
            files.append((os.path.basename(path), json.load(f)))
    return files


def summarize(runs):
    faults = collections.Counter()
    clean = violations = 0
    longest = bound = 0.0
    for r in runs:
        faults.update(r.get("faultsByKind", {}))
        violations += len(r["violations"])
        clean += not r["violations"]
        if r["longestPauseSeconds"] > longest:
            longest, bound = r["longestPauseSeconds"], r["pauseBoundSeconds"]
    return clean, violations, faults, longest, bound


def faults_text(faults):
    return ", ".join(f"{k} {v}" for k, v in sorted(faults.items(), key=lambda kv: -kv[1]))


def main():
    results_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "results", "chaos")
    files = load(results_dir)
    by_backend = collections.defaultdict(list)
    commits = collections.defaultdict(set)
    print("| file | commit | runs | clean | violations | longest pause (bound) |")
    print("|---|---|---|---|---|---|")
    for name, d in files:
        backend = d["backend"] + (" (5-60 s freezes)" if d.get("freezeMs", [0, 0])[1] > 3000
                                  else "")
        if d.get("gcPauseBudgetMs", 0) > 0:
            backend += f" (manager budget {d['gcPauseBudgetMs'] / 1000:g} s)"
        by_backend[backend].extend(d["perRun"])
        commit = d.get("commit", "")[:9] or "not recorded"
        commits[backend].add(commit)
        clean, violations, _, longest, bound = summarize(d["perRun"])
        print(f"| {name} | {commit} | {len(d['perRun'])} | {clean} | {violations} | "
              f"{longest:.1f} s ({bound:.0f} s) |")
    print()
    print("| backend | runs | clean | violations | longest pause (bound) | faults by kind | commits |")
    print("|---|---|---|---|---|---|---|")
    for backend, runs in sorted(by_backend.items()):
        clean, violations, faults, longest, bound = summarize(runs)
        print(f"| {backend} | {len(runs)} | {clean} | {violations} | {longest:.1f} s ({bound:.0f} s) "
              f"| {faults_text(faults)} | {', '.join(sorted(commits[backend]))} |")


if __name__ == "__main__":
    main()
