#!/usr/bin/env python3
# kube_list_cost.py TESTENV CRD_DIR N REPS: starts one kube-apiserver (brfed-kube-testenv), creates N
# finished Backups, then measures the server's own CPU (utime+stime from /proc) to send them all, as
# the manager's informer lists them (label selector, limit=500, pages) and the other ways a client
# can ask: one LIST at resourceVersion=0 (served from the watch cache) and a WatchList
# (sendInitialEvents=true up to the initial-events-end bookmark). Prints one JSON line per mode.
# Example: python3 bench/kube_list_cost.py build/tools/bin/brfed-kube-testenv deploy/crds/test 1000 20
import json, os, subprocess, sys, tempfile, time
import requests, urllib3, yaml

for v in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would override verify=False
    os.environ.pop(v, None)
urllib3.disable_warnings()
testenv, crd, n, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
work = tempfile.mkdtemp(prefix="kube-list-cost-")
kubeconfig = os.path.join(work, "kubeconfig")
server = subprocess.Popen([testenv, "--crd", crd, "--kubeconfig-out", kubeconfig, "--log-level", "warn"],
                          stdout=open(os.path.join(work, "testenv.log"), "w"), stderr=subprocess.STDOUT)
try:
    deadline = time.time() + 120
    while not os.path.exists(kubeconfig):
        if time.time() > deadline or server.poll() is not None:
            sys.exit("kube_list_cost: the API server did not start; see " + work)
        time.sleep(0.2)
    k = yaml.safe_load(open(kubeconfig))
    base = k["clusters"][0]["cluster"]["server"]
    s = requests.Session()
    s.verify = False
    s.headers["Authorization"] = "Bearer " + k["users"][0]["user"]["token"]
    while s.get(base + "/readyz", timeout=5).status_code != 200:
        time.sleep(0.2)
    s.post(base + "/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tidb"}})
    backups = base + "/apis/pingcap.com/v1alpha1/namespaces/tidb/backups"
    conds = [{"type": t, "status": "True", "lastTransitionTime": "2026-12-06T05:55:24Z", "reason": "", "message": ""}
             for t in ["Scheduled", "Prepare", "Running", "VolumeBackupInitialized", "VolumeBackupSnapshotsCreated",
                       "VolumeBackupComplete", "Complete"]]
    for i in range(n):
        name = f"fed-fin-{i:05d}"
        obj = {"apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
               "metadata": {"name": name, "namespace": "tidb",
                            "labels": {"federation.pingcap.com/managed-by": "br-federation-manager"}},
               "spec": {"mode": "volume-snapshot", "federalVolumeBackupPhase": "teardown", "resumeGcSchedule": True,
                        "br": {"cluster": "basic", "clusterNamespace": "tidb"},
                        "s3": {"provider": "aws", "bucket": "bench", "prefix": f"fin-{i:05d}/dp01"},
                        "toolImage": "pingcap/br:v8.5.0", "cleanPolicy": "Retain"}}
        r = s.post(backups, json=obj)
        r.raise_for_status()
        created = r.json()
        created["status"] = {"phase": "Complete", "conditions": conds, "backupPath": f"s3://bench/fin-{i:05d}/dp01",
                             "commitTs": "454545454545454545", "backupSize": 107374182400}
        s.put(f"{backups}/{name}/status", json=created).raise_for_status()

    def server_cpu():
        fields = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    query = base + "/apis/pingcap.com/v1alpha1/backups?labelSelector=federation.pingcap.com%2Fmanaged-by%3Dbr-federation-manager"

    def paged_list():
        url, items, size = query + "&limit=500", 0, 0
        while True:
            r = s.get(url)
            page = r.json()
            items, size = items + len(page["items"]), size + len(r.content)
            token = page["metadata"].get("continue")
            if not token:
                return items, size
            url = query + "&limit=500&continue=" + token

    def list_at_rv0():
        r = s.get(query + "&limit=500&resourceVersion=0")
        return len(r.json()["items"]), len(r.content)

    def watch_list():
        r = s.get(query + "&watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                  "&allowWatchBookmarks=true", stream=True, timeout=60)
        items, size = 0, 0
        for line in r.iter_lines():
            size += len(line)
            event = json.loads(line)
            if event["type"] == "ADDED":
                items += 1
            annotations = event["object"]["metadata"].get("annotations", {})
            if event["type"] == "ERROR" or (event["type"] == "BOOKMARK" and
                                            annotations.get("k8s.io/initial-events-end") == "true"):
                r.close()
                return items, size

    for mode, fetch in [("paged_list", paged_list), ("list_rv0", list_at_rv0), ("watch_list", watch_list)]:
        fetch()  # warm
        cpu0, t0 = server_cpu(), time.time()
        for _ in range(reps):
            items, size = fetch()
        print(json.dumps({"mode": mode, "objects": n, "items": items, "bytes": size, "reps": reps,
                          "apiserver_cpu_ms_each": round((server_cpu() - cpu0) / reps * 1000, 1),
                          "wall_ms_each": round((time.time() - t0) / reps * 1000, 1)}), flush=True)
finally:
    server.terminate()
    server.wait()
