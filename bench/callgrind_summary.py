#!/usr/bin/env python3
"""Sums a callgrind profile of br-federation-manager into the figures of bench/README.md
("Issue 16, fourth pass"): inclusive instructions of the functions on the path from exec to
the first full reconcile, and of the whole life. Instructions, unlike seconds, do not depend on
the machine's load.

Usage: bench/callgrind_summary.py LABEL=CALLGRIND_FILE... > out.json
(profiles from fed_bench with BRFED_BENCH_MANAGER_WRAPPER="/usr/bin/valgrind --tool=callgrind
--callgrind-out-file=DIR/cg.%p")."""
import json
import re
import subprocess
import sys

# Inclusive counts of these functions (callgrind_annotate names, matched as substrings).
FUNCTIONS = {
    "list_all": "brfed::runtime::Informer::ListAll",
    "list_parse": "brfed::ParseJson",
    "on_list": "brfed::runtime::WatchMachine::OnList",
    "informer_apply": "brfed::runtime::Informer::Apply",
    "volume_backup_reconcile": "brfed::federation::VolumeBackupController::Reconcile(",
    "decide_volume_backup": "brfed::federation::DecideVolumeBackup(",
    "resume_version_checks": "brfed::runtime::Informer::CheckVersion",
    "shutdown": "brfed::manager::Manager::StopWork",
}
# On the path from exec to the first full reconcile (ParseJson is inside ListAll).
START_PATH = ["list_all", "on_list", "informer_apply", "volume_backup_reconcile"]


def summarize(path):
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                          check=True, capture_output=True, text=True).stdout
    out = {"file": path}
    total = re.search(r"^\s*([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", text, re.M)
    out["total_instructions"] = int(total.group(1).replace(",", "")) if total else None
    for key, name in FUNCTIONS.items():
        best = 0
        for line in text.splitlines():
            m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*" + re.escape(name), line)
            if m:
                best = max(best, int(m.group(1).replace(",", "")))
        out[key] = best
    out["start_path_instructions"] = sum(out[k] for k in START_PATH)
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    result = {"schema_version": 1, "name": "manager_start_callgrind", "runs": {}}
    for arg in sys.argv[1:]:
        label, _, path = arg.partition("=")
        result["runs"][label] = summarize(path)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
