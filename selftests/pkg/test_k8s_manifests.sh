#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The Kubernetes manifests (deploy/kubernetes/) and the RBAC they grant:
#   1. `kubectl apply --dry-run=client -f deploy/kubernetes/` passes. kubectl
#      needs an apiserver's discovery documents even for a client dry run:
#      svc-fakekube serves them (selftests/e2e/k8s/discovery.json) on loopback.
#      No openapi schema can be had offline, so --validate=false, and check 2
#      does the validation that matters here.
#   2. The manifests hold together: names referenced exist (ServiceAccount,
#      ConfigMap, volumes), the DaemonSet is hostNetwork and not privileged, the
#      agent's capabilities are exactly the systemd unit's bounding set and the
#      companion has none, bpffs / cgroup / /run/svcplane are mounted, probes and
#      Prometheus annotations point at the agent's metrics port, each ConfigMap
#      key is an svcplaned option, the commands are the installed programs.
#   3. The ClusterRole grants exactly what svcplane-k8s calls: the API paths in
#      k8s/*.c (each listed and watched) against the role's rules, both ways.
#   4. The Containerfile's runtime stage installs the Debian package of every
#      shared library the three programs link directly (readelf NEEDED; the
#      sanitizer runtimes of a SAN=1 build and libc6, in every image, aside).
set -uo pipefail
cd "$(dirname "$0")/../.."
name=pkg/test_k8s_manifests
SVC_BIN=${SVC_BIN:-$PWD/.output-san/bin}
fail=0
work=$(mktemp -d /tmp/svc-k8s-manifests.XXXXXX)
kpid=
cleanup() {
	[ -n "$kpid" ] && kill "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in kubectl python3; do
	command -v "$b" >/dev/null ||
		{ echo "not ok - $name: $b not installed (make deps installs it)"; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null ||
	{ echo "not ok - $name: python3-yaml not installed (make deps installs it)"; exit 1; }
for b in "$SVC_BIN/tools/svc-fakekube" "$SVC_BIN/svcplaned"; do
	[ -x "$b" ] || { echo "not ok - $name: $b not built (make tests)"; exit 1; }
done

# ---- 1. kubectl apply --dry-run=client ----
"$SVC_BIN/tools/svc-fakekube" --port-file "$work/ports" \
	--discovery selftests/e2e/k8s/discovery.json 2>"$work/fake.log" &
kpid=$!
for _ in $(seq 1 1200); do [ -s "$work/ports" ] && break; sleep 0.05; done
read -r api _ <"$work/ports" || { echo "not ok - $name: svc-fakekube did not start"; exit 1; }
cat >"$work/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster:
    server: http://127.0.0.1:$api
  name: fake
contexts:
- context:
    cluster: fake
    user: fake
  name: fake
current-context: fake
users:
- name: fake
  user: {}
EOF
out=$(kubectl --kubeconfig "$work/kubeconfig" apply --dry-run=client --validate=false \
	-f deploy/kubernetes/ 2>&1)
rc=$?
n=$(grep -c 'created (dry run)' <<<"$out")
want=$(cat deploy/kubernetes/*.yaml | grep -c '^kind:')
if [ "$rc" = 0 ] && [ "$n" = "$want" ]; then
	echo "ok - $name: kubectl apply --dry-run=client -f deploy/kubernetes/: $n objects"
else
	echo "not ok - $name: kubectl apply --dry-run=client -f deploy/kubernetes/ (rc $rc, $n of $want objects)"
	sed 's/^/# /' <<<"$out"
	fail=1
fi

# ---- 2. the manifests hold together ----
"$SVC_BIN/svcplaned" --help >"$work/help.txt" 2>&1
python3 - "$work/help.txt" <<'EOF'
import glob, re, sys, yaml
docs = [d for f in sorted(glob.glob('deploy/kubernetes/*.yaml')) for d in yaml.safe_load_all(open(f)) if d]
help_txt = open(sys.argv[1]).read()
failed = []
def check(cond, what):
    if not cond:
        failed.append(what)
by = {}
for d in docs:
    check(d.get('apiVersion') and d.get('kind') and d.get('metadata', {}).get('name'), 'object without apiVersion/kind/name: %r' % d)
    by.setdefault(d['kind'], []).append(d)
ns = by['Namespace'][0]['metadata']['name']
for k in ('ServiceAccount', 'ConfigMap', 'DaemonSet'):
    for d in by.get(k, []):
        check(d['metadata'].get('namespace') == ns, '%s %s not in namespace %s' % (k, d['metadata']['name'], ns))
ds = by['DaemonSet'][0]
sel = ds['spec']['selector']['matchLabels']
tmpl = ds['spec']['template']
check(all(tmpl['metadata']['labels'].get(k) == v for k, v in sel.items()), 'DaemonSet selector does not match its template labels')
pod = tmpl['spec']
check(pod.get('hostNetwork') is True, 'DaemonSet is not hostNetwork')
sa = by['ServiceAccount'][0]['metadata']['name']
check(pod.get('serviceAccountName') == sa, 'serviceAccountName %r is not the ServiceAccount %r' % (pod.get('serviceAccountName'), sa))
vols = dict((v['name'], v) for v in pod['volumes'])
cm = by['ConfigMap'][0]
for v in vols.values():
    if 'configMap' in v:
        check(v['configMap']['name'] == cm['metadata']['name'], 'volume %s names ConfigMap %s' % (v['name'], v['configMap']['name']))
hostpaths = dict((v['name'], v['hostPath']['path']) for v in vols.values() if 'hostPath' in v)
for p in ('/sys/fs/bpf', '/sys/fs/cgroup', '/run/svcplane'):
    check(p in hostpaths.values(), 'no hostPath volume for %s' % p)
unit = open('deploy/svcplaned.service.in').read()
unit_caps = set(c.replace('CAP_', '') for c in re.search(r'^CapabilityBoundingSet=(.*)$', unit, re.M).group(1).split())
cons = dict((c['name'], c) for c in pod['containers'])
check(set(cons) == {'svcplaned', 'svcplane-k8s'}, 'containers %s' % sorted(cons))
for n, c in cons.items():
    sc = c.get('securityContext', {})
    check(not sc.get('privileged'), '%s is privileged' % n)
    check(sc.get('allowPrivilegeEscalation') is False, '%s allows privilege escalation' % n)
    check(sc.get('capabilities', {}).get('drop') == ['ALL'], '%s does not drop ALL capabilities' % n)
    for m in c.get('volumeMounts', []):
        check(m['name'] in vols, '%s mounts unknown volume %s' % (n, m['name']))
    check(c['command'][0] in ('/usr/sbin/svcplaned', '/usr/sbin/svcplane-k8s'), '%s runs %s' % (n, c['command'][0]))
    check(c['image'] == cons['svcplaned']['image'], '%s runs another image' % n)
agent, comp = cons['svcplaned'], cons['svcplane-k8s']
add = set(agent['securityContext']['capabilities'].get('add', []))
check(add == unit_caps, 'agent capabilities %s, the systemd unit has %s' % (sorted(add), sorted(unit_caps)))
check(not comp['securityContext']['capabilities'].get('add'), 'svcplane-k8s adds capabilities')
mounts = lambda c: dict((m['mountPath'], m['name']) for m in c.get('volumeMounts', []))
for p in ('/sys/fs/bpf', '/sys/fs/cgroup', '/run/svcplane', '/etc/svcplane'):
    check(p in mounts(agent), 'agent does not mount %s' % p)
check('/run/svcplane' in mounts(comp), 'svcplane-k8s does not mount /run/svcplane')
check(mounts(agent).get('/run/svcplane') == mounts(comp).get('/run/svcplane'), 'the two containers do not share /run/svcplane')
conf = cm['data']['svcplaned.conf']
keys = {}
for line in conf.splitlines():
    line = line.strip()
    if not line or line.startswith('#'):
        continue
    k, v = [s.strip() for s in line.split('=', 1)]
    keys[k] = v
    check(('--' + k) in help_txt, 'ConfigMap key %s is not an svcplaned option' % k)
check(agent['command'][-1].startswith('/etc/svcplane/'), 'the agent does not read the ConfigMap file')
check(comp['command'][comp['command'].index('--socket') + 1] == keys.get('socket'), 'svcplane-k8s --socket is not the agent socket %s' % keys.get('socket'))
mport = int(keys['metrics'].rsplit(':', 1)[1])
ann = tmpl['metadata'].get('annotations', {})
check(ann.get('prometheus.io/scrape') == 'true', 'no prometheus.io/scrape annotation')
check(ann.get('prometheus.io/port') == str(mport), 'prometheus.io/port %s, metrics on %d' % (ann.get('prometheus.io/port'), mport))
check(any(p['containerPort'] == mport for p in agent.get('ports', [])), 'metrics port %d not declared' % mport)
check('livenessProbe' in agent and 'readinessProbe' in agent, 'agent without liveness/readiness probes')
rp = agent['readinessProbe'].get('httpGet', {})
check(rp.get('port') == mport and rp.get('path') == ann.get('prometheus.io/path'), 'readiness probe not on the metrics endpoint')
lp = agent['livenessProbe'].get('exec', {}).get('command', [])
check('/run/svcplane/api.sock' in lp or keys.get('socket') in lp, 'liveness probe does not ask the API socket')
crb = by['ClusterRoleBinding'][0]
check(crb['roleRef']['name'] == by['ClusterRole'][0]['metadata']['name'], 'ClusterRoleBinding names another role')
check(crb['subjects'] == [{'kind': 'ServiceAccount', 'name': sa, 'namespace': ns}], 'ClusterRoleBinding subjects %r' % crb['subjects'])
for f in failed:
    print('# ' + f)
sys.exit(1 if failed else 0)
EOF
rc=$?
if [ $rc = 0 ]; then echo "ok - $name: manifests consistent (names, hostNetwork, capabilities = the unit's, mounts, probes, metrics, ConfigMap keys)"
else echo "not ok - $name: manifests inconsistent"; fail=1; fi

# ---- 3. the role grants exactly what the code calls ----
grep -ohE '"/apis?/[a-z0-9./-]+"' k8s/*.c | tr -d '"' | sort -u >"$work/paths"
python3 - "$work/paths" <<'EOF'
import glob, sys, yaml
called = set()
for p in open(sys.argv[1]).read().split():
    parts = p.strip('/').split('/')
    # /api/v1/RESOURCE (core group "") or /apis/GROUP/VERSION/RESOURCE, cluster-wide
    if parts[0] == 'api' and len(parts) == 3:
        called.add(('', parts[2]))
    elif parts[0] == 'apis' and len(parts) == 4:
        called.add((parts[1], parts[3]))
    else:
        print('# path %s: not a cluster-wide collection path this check knows' % p)
        sys.exit(1)
role = [d for f in glob.glob('deploy/kubernetes/*.yaml') for d in yaml.safe_load_all(open(f)) if d and d['kind'] in ('ClusterRole', 'Role')]
granted, failed = {}, []
for r in role:
    for rule in r['rules']:
        for g in rule['apiGroups']:
            for res in rule['resources']:
                granted.setdefault((g, res), set()).update(rule['verbs'])
print('# code calls (group, resource): %s' % sorted(called))
print('# role grants: %s' % sorted((k, sorted(v)) for k, v in granted.items()))
for k in called:
    if not {'list', 'watch'} <= granted.get(k, set()):
        failed.append('code lists and watches %s but the role does not grant it' % (k,))
for k, v in granted.items():
    if k not in called:
        failed.append('role grants %s on %s, which the code never calls' % (sorted(v), k))
    if v - {'get', 'list', 'watch'}:
        failed.append('role grants %s on %s: more than reading' % (sorted(v - {'get', 'list', 'watch'}), k))
    if '*' in k[0] or '*' in k[1]:
        failed.append('wildcard in %s' % (k,))
for f in failed:
    print('# ' + f)
sys.exit(1 if failed or not called else 0)
EOF
rc=$?
if [ $rc = 0 ]; then echo "ok - $name: the ClusterRole grants exactly the resources k8s/*.c lists and watches, read-only"
else echo "not ok - $name: RBAC and code disagree"; fail=1; fi

# ---- 4. the image's runtime packages cover the programs' libraries ----
need=$(for b in svcplaned svcplane-k8s servicectl; do
	f="$SVC_BIN/$b"
	readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r lib; do
		path=$(ldd "$f" | awk -v l="$lib" '$1 == l { print $3 }')
		[ -n "$path" ] && dpkg -S "$(readlink -f "$path")" 2>/dev/null | cut -d: -f1
	done
done | sort -u | grep -vxE 'libc6|libasan[0-9]+|libubsan[0-9]+|libgcc-s1')
have=$(sed -n '/^FROM debian:bookworm-slim/,$p' deploy/kubernetes/Containerfile | grep -oE 'lib[a-z0-9.+-]+|zlib1g' | sort -u)
miss=$(comm -23 <(echo "$need") <(echo "$have"))
if [ -n "$need" ] && [ -z "$miss" ]; then
	echo "ok - $name: the Containerfile's runtime stage installs every linked library's package: $(echo $need)"
else
	echo "not ok - $name: the Containerfile's runtime stage misses: $(echo $miss) (needed: $(echo $need))"
	fail=1
fi
exit $fail
