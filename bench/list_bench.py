#!/usr/bin/env python3
# list_bench.py BRFED_APISERVER CRD_DIR N LISTS: starts one brfed-apiserver, creates N Backups shaped
# like finished federation members (about 2 KB each), then times LISTS LISTs of them with curl as the
# manager's informer asks (label selector, limit=500), and ten at once. Prints one JSON line.
# Example: python3 bench/list_bench.py build/release/src/apiserver/brfed-apiserver deploy/crds/test 1000 20
import json, subprocess, sys, time, urllib.request, os, socket, statistics
binary, crd, n, lists = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
p = subprocess.Popen(['nice', '-n', '5', binary, '--listen', f'127.0.0.1:{port}', '--crd', crd, '--log-level', 'warn'])
base = f'http://127.0.0.1:{port}'
for _ in range(100):
    try:
        urllib.request.urlopen(base + '/readyz'); break
    except Exception: time.sleep(0.1)
def req(method, path, body=None):
    r = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                               headers={'Content-Type': 'application/json'})
    return json.loads(urllib.request.urlopen(r).read())
req('POST', '/api/v1/namespaces', {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'tidb'}})
conds = [{'type': t, 'status': 'True', 'lastTransitionTime': '2026-12-06T05:55:24Z', 'reason': '', 'message': ''}
         for t in ['Scheduled', 'Prepare', 'Running', 'VolumeBackupInitialized', 'VolumeBackupSnapshotsCreated',
                   'VolumeBackupComplete', 'VolumeBackupInitializeComplete', 'Complete']]
for i in range(n):
    name = f'fed-fin-{i:05d}'
    obj = {'apiVersion': 'pingcap.com/v1alpha1', 'kind': 'Backup',
           'metadata': {'name': name, 'namespace': 'tidb',
                        'labels': {'app.kubernetes.io/managed-by': 'br-federation-manager', 'federation.pingcap.com/volume-backup': f'fin-{i:05d}'},
                        'annotations': {'federation.pingcap.com/owner': f'default/fin-{i:05d}/0123456789abcdef'}},
           'spec': {'backupMode': 'volume-snapshot', 'federalVolumeBackupPhase': 'teardown', 'resumeGcSchedule': True,
                    'br': {'cluster': 'basic', 'clusterNamespace': 'tidb', 'sendCredToTikv': False},
                    's3': {'provider': 'aws', 'bucket': 'bench', 'prefix': f'fin-{i:05d}/dp01'},
                    'toolImage': 'pingcap/br:v8.5.0', 'cleanPolicy': 'Retain', 'calcSizeLevel': 'all'},
           'status': {'phase': 'Complete', 'conditions': conds, 'backupPath': f's3://bench/fin-{i:05d}/dp01',
                      'commitTs': '454545454545454545', 'backupSize': 107374182400, 'backupSizeReadable': '107 GB',
                      'incrementalBackupSize': 107374182400, 'incrementalBackupSizeReadable': '107 GB',
                      'timeStarted': '2026-12-06T05:55:24Z', 'timeCompleted': '2026-12-06T05:55:24Z',
                      'progresses': [{'step': 'Full Backup', 'progress': 100, 'lastTransitionTime': '2026-12-06T05:55:24Z'}]}}
    created = req('POST', '/apis/pingcap.com/v1alpha1/namespaces/tidb/backups', obj)
    if 'status' not in created or not created['status']:
        created['status'] = obj['status']
        req('PUT', f'/apis/pingcap.com/v1alpha1/namespaces/tidb/backups/{name}/status', created)
url = base + '/apis/pingcap.com/v1alpha1/namespaces/tidb/backups?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dbr-federation-manager&limit=500'
times = []; size = 0
for _ in range(lists):
    out = subprocess.run(['curl', '-s', '-o', '/dev/null', '-w', '%{time_total} %{size_download} %{time_starttransfer}', url], capture_output=True, text=True).stdout.split()
    times.append(float(out[0]) * 1000); size = int(out[1])
# Ten at once, as ten informers of a starting manager would (one per data plane, here one server).
t0 = time.time()
ps = [subprocess.Popen(['curl', '-s', '-o', '/dev/null', url]) for _ in range(10)]
for q in ps: q.wait()
par = (time.time() - t0) * 1000
p.terminate(); p.wait()
times.sort()
print(json.dumps({'objects': n, 'bytes': size, 'lists': lists, 'p50_ms': round(statistics.median(times), 1),
                  'min_ms': round(times[0], 1), 'max_ms': round(times[-1], 1), 'ten_at_once_ms': round(par, 1),
                  'load_average': open('/proc/loadavg').read().split()[:3]}))
