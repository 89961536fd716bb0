#!/usr/bin/env python3
# apiserver_write_cost.py CRD_DIR WRITES WATCHERS ROUNDS BINARY [BINARY...]: the CPU brfed-apiserver
# spends per member write while watch streams are open, as on a data plane during a backup. For
# each binary (in turn, ROUNDS times, so that a machine that slows down mid-run shows in both):
# start it, create 10 member-shaped Backups (about 2 KB each), open WATCHERS watch streams on
# Backups (the manager's and the simulator's informers), then send WRITES writes, alternating a
# merge patch of the spec (as the manager's execute and resume) and a PUT of the status (as the
# simulator's steps), and read the server's own CPU (utime+stime from /proc) over the writes.
# Prints one JSON object: per binary, the CPU per write of each round and their median.
# Example: python3 bench/apiserver_write_cost.py deploy/crds/test 2000 2 3 OLD/brfed-apiserver NEW/brfed-apiserver
import http.client, json, os, socket, statistics, subprocess, sys, threading, time, urllib.request

crd, writes, watchers, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
binaries = sys.argv[5:]
PATH = '/apis/pingcap.com/v1alpha1/namespaces/tidb/backups'


def member(i):
    return {'apiVersion': 'pingcap.com/v1alpha1', 'kind': 'Backup',
            'metadata': {'name': f'fed-vb-{i}', 'namespace': 'tidb',
                         'labels': {'app.kubernetes.io/managed-by': 'br-federation-manager',
                                    'federation.pingcap.com/volume-backup': f'vb-{i}'},
                         'annotations': {'federation.pingcap.com/owner': f'default/vb-{i}/0123456789abcdef'}},
            'spec': {'backupMode': 'volume-snapshot', 'federalVolumeBackupPhase': 'initialize',
                     'br': {'cluster': 'basic', 'clusterNamespace': 'tidb', 'sendCredToTikv': False},
                     's3': {'provider': 'aws', 'bucket': 'bench', 'prefix': f'vb-{i}/dp01'},
                     'toolImage': 'pingcap/br:v8.5.0', 'cleanPolicy': 'Retain', 'calcSizeLevel': 'all'}}


def status(step):
    conds = [{'type': t, 'status': 'True', 'lastTransitionTime': '2026-12-06T05:55:24Z', 'reason': '',
              'message': ''} for t in ['Scheduled', 'Prepare', 'Running', 'VolumeBackupInitialized'][:1 + step % 4]]
    return {'phase': conds[-1]['type'], 'conditions': conds, 'backupPath': 's3://bench/vb/dp01',
            'commitTs': str(454545454545454545 + step), 'timeStarted': '2026-12-06T05:55:24Z'}


def measure(binary):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    server = subprocess.Popen([binary, '--listen', f'127.0.0.1:{port}', '--crd', crd, '--log-level', 'warn'])
    try:
        return writes_cpu(server, port)
    finally:
        server.terminate()
        server.wait()


def request(conn, method, path, body, content_type='application/json'):
    conn.request(method, path, body=json.dumps(body), headers={'Content-Type': content_type})
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        sys.exit(f'apiserver_write_cost: {method} {path}: {response.status} {data[:200]!r}')
    return json.loads(data)


def writes_cpu(server, port):
    for _ in range(100):
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz')
            break
        except OSError:
            time.sleep(0.1)
    conn = http.client.HTTPConnection('127.0.0.1', port)
    request(conn, 'POST', '/api/v1/namespaces', {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'tidb'}})
    objects = [request(conn, 'POST', PATH, member(i)) for i in range(10)]
    received = [0] * watchers

    def watch(k):
        c = http.client.HTTPConnection('127.0.0.1', port)
        c.request('GET', PATH + '?watch=true&resourceVersion=' + objects[-1]['metadata']['resourceVersion'])
        r = c.getresponse()
        while r.readline():
            received[k] += 1

    for k in range(watchers):
        threading.Thread(target=watch, args=(k,), daemon=True).start()
    time.sleep(0.5)  # the streams are open before the first write; nothing is timed yet

    def cpu():
        fields = open(f'/proc/{server.pid}/stat').read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    before = cpu()
    for n in range(writes):
        i = n % 10
        name = objects[i]['metadata']['name']
        if n % 2 == 0:
            patch = {'metadata': {'resourceVersion': objects[i]['metadata']['resourceVersion']},
                     'spec': {'federalVolumeBackupPhase': ['execute', 'initialize'][n // 10 % 2]}}
            objects[i] = request(conn, 'PATCH', f'{PATH}/{name}', patch, 'application/merge-patch+json')
        else:
            updated = dict(objects[i], status=status(n))
            objects[i] = request(conn, 'PUT', f'{PATH}/{name}/status', updated)
    deadline = time.time() + 30
    while min(received) < writes and time.time() < deadline:
        time.sleep(0.05)
    used = cpu() - before
    if min(received) < writes:
        sys.exit(f'apiserver_write_cost: the watchers saw {received} of {writes} events')
    return used * 1000 / writes


results = {b: [] for b in binaries}
for _ in range(rounds):
    for b in binaries:
        results[b].append(round(measure(b), 4))
print(json.dumps({'writes': writes, 'watchers': watchers, 'rounds': rounds,
                  'cpu_ms_per_write': {b: {'rounds': r, 'median': statistics.median(r)} for b, r in results.items()},
                  'load_average': open('/proc/loadavg').read().split()[:3]}, indent=1))
