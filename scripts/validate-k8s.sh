#!/usr/bin/env bash
# Validates the Kubernetes deployment offline, without kubectl or a cluster:
#   1. renders the kustomization with scripts/render_kustomize.py (what `kubectl kustomize` prints);
#   2. validates every rendered object against the Kubernetes API schemas of $K8S_VERSION, strict mode
#      (unknown fields and wrong types fail), with kubernetes-validate;
#   3. checks what the schemas cannot: probes, resources and security settings of every pod, selectors,
#      Service and Ingress references, HPA and PDB targets, each service's required settings, and that no
#      secret is committed;
#   4. runs the same checks on deliberately broken variants and fails unless each one is rejected;
#   5. where kubectl is installed, compares the rendering with `kubectl kustomize` (skipped without it).
# Usage: scripts/validate-k8s.sh [DIR]   (default deploy/k8s). Needs python3 (3.11) and PyPI, once: the
# tools are installed into target/validate-venv and reused.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(cd "${1:-$root/deploy/k8s}" && pwd)
k8s_version=${K8S_VERSION:-1.30.0}
venv=$root/target/validate-venv
requirements="kubernetes-validate==1.37.0 PyYAML==6.0.4 jsonschema==4.26.0 jsonschema-specifications==2025.9.1
referencing==0.37.0 rpds-py==2026.9.1 attrs==26.1.0 importlib_resources==7.1.0 packaging==26.4
typing_extensions==4.16.0"

if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$requirements" ]; then
  echo "installing the validation tools into ${venv#"$root"/} ..."
  [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
  # shellcheck disable=SC2086 # one requirement per word
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $requirements
  printf '%s' "$requirements" > "$venv/.requirements"
fi

exec "$venv/bin/python" - "$root" "$dir" "$k8s_version" <<'PY'
import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml

root, directory, k8s_version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
sys.path.insert(0, str(root / "scripts"))
from render_kustomize import RenderError, render  # noqa: E402

NAMESPACE = "scoreboard"
EXAMPLE = "secret.example.yaml"
BINARIES = {"scoreboard-action": {"serve", "migrate"}, "scoreboard-score": {"serve", "migrate"},
            "scoreboard-notifier": {"serve"}}
# What each command cannot start (or must not run in production) without.
REQUIRED_ENV = {
    ("scoreboard-action", "serve"): ["DATABASE_URL", "ACTION_BIND_ADDR", "JWT_ALGORITHM", "JWT_PUBLIC_KEY_FILE",
                                     "SERVICE_CREDENTIAL", "LOG_FORMAT"],
    ("scoreboard-score", "serve"): ["DATABASE_URL", "SCORE_BIND_ADDR", "JWT_ALGORITHM", "JWT_PUBLIC_KEY_FILE",
                                    "REDIS_URL", "AMQP_URL", "LOG_FORMAT"],
    ("scoreboard-notifier", "serve"): ["DATABASE_URL", "NOTIFIER_BIND_ADDR", "NOTIFIER_REPLICA_ID", "REDIS_URL",
                                       "AMQP_URL", "WS_ALLOWED_ORIGINS", "LOG_FORMAT"],
    ("scoreboard-action", "migrate"): ["DATABASE_URL"],
    ("scoreboard-score", "migrate"): ["DATABASE_URL"],
}
# Settings that hold credentials: only ever from a Secret.
SECRET_ENV = {"DATABASE_URL", "REDIS_URL", "AMQP_URL", "SERVICE_CREDENTIAL", "JWT_SECRET"}
CREDENTIAL = re.compile(r"://[^/\s:@]*:[^/\s@]+@|-----BEGIN [A-Z ]*PRIVATE KEY-----")
PLACEHOLDER = "CHANGE-ME"
POD_SPEC = {"Deployment": ["spec", "template"], "StatefulSet": ["spec", "template"],
            "DaemonSet": ["spec", "template"], "Job": ["spec", "template"],
            "CronJob": ["spec", "jobTemplate", "spec", "template"]}


def dig(obj, *path, default=None):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return default if obj is None else obj


def ident(doc):
    return f"{doc['kind']} {doc['metadata'].get('namespace', '-')}/{doc['metadata']['name']}"


def quantity(value):
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", str(value))
    if not match:
        return None
    scale = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}[match.group(2)]
    return float(match.group(1)) * scale


def selects(selector, labels):
    """Whether a LabelSelector (matchLabels / matchExpressions) selects these labels."""
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values) \
                or (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def readme_settings():
    """Every variable named in the configuration table of README.md."""
    text = (root / "README.md").read_text()
    section = text.split("\n## Configuration", 1)[-1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def load_example():
    path = directory / EXAMPLE
    if not path.is_file():
        return None, [f"{EXAMPLE}: missing (it documents the Secrets the manifests read)"]
    secrets, errors = {}, []
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc:
            continue
        if doc.get("kind") != "Secret":
            errors.append(f"{EXAMPLE}: holds a {doc.get('kind')}, expected only Secrets")
            continue
        values = {**(doc.get("data") or {}), **(doc.get("stringData") or {})}
        for key, value in values.items():
            if PLACEHOLDER not in str(value):
                errors.append(f"{EXAMPLE}: {doc['metadata']['name']}.{key} is not a {PLACEHOLDER} placeholder: "
                              "real secret values are never committed")
        secrets[doc["metadata"]["name"]] = set(values)
    return secrets, errors


def committed_files_errors():
    """No Secret in any manifest but the example; no credential in any file; the example not rendered."""
    errors = []
    kustomization = next((yaml.safe_load(p.read_text()) or {} for p in
                          (directory / "kustomization.yaml", directory / "kustomization.yml") if p.is_file()), {})
    if EXAMPLE in (kustomization.get("resources") or []):
        errors.append(f"kustomization.yaml: lists {EXAMPLE}, which must stay out of the kustomization")
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory)
        text = path.read_text(errors="replace")
        for match in CREDENTIAL.finditer(text):
            line = text[: match.start()].count("\n") + 1
            if PLACEHOLDER not in text.splitlines()[line - 1]:
                errors.append(f"{rel}:{line}: looks like a credential (a URL with a password or a private key)")
        if path.suffix in (".yaml", ".yml") and path.name != EXAMPLE:
            try:
                kinds = [d.get("kind") for d in yaml.safe_load_all(text) if isinstance(d, dict)]
            except yaml.YAMLError as e:
                errors.append(f"{rel}: not valid YAML: {e}")
                continue
            if "Secret" in kinds:
                errors.append(f"{rel}: holds a Secret: secrets are created in the cluster, never committed "
                              f"(document their keys in {EXAMPLE})")
    return errors


def schema_errors(docs):
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, k8s_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            where = ".".join(str(p) for p in e.path) or "(top level)"
            errors.append(f"{ident(doc)}: schema {k8s_version} (strict): {where}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"{ident(doc)}: {e.message}")
        except Exception as e:  # an unsupported version, an unreadable schema: never a pass
            errors.append(f"{ident(doc)}: could not be validated: {getattr(e, 'message', e)!s}")
    return errors


def check(docs, example_secrets, known_settings):
    """Everything the API schemas do not say. Returns the problems found."""
    errors = []
    err = errors.append
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    configmaps = {n: d.get("data") or {} for n, d in by_kind.get("ConfigMap", {}).items()}
    service_accounts = by_kind.get("ServiceAccount", {})
    example_secrets = example_secrets or {}

    if NAMESPACE not in by_kind.get("Namespace", {}):
        err(f"no Namespace {NAMESPACE}")
    for doc in docs:
        if doc["kind"] == "Namespace":
            continue
        if doc["metadata"].get("namespace") != NAMESPACE:
            err(f"{ident(doc)}: not in the namespace {NAMESPACE}")
        if doc["kind"] == "Secret":
            err(f"{ident(doc)}: a Secret is rendered: secrets are created in the cluster, never committed")
    for name, sa in service_accounts.items():
        if sa.get("automountServiceAccountToken") is not False:
            err(f"{ident(sa)}: automountServiceAccountToken must be false")
    for name, data in configmaps.items():
        for key, value in data.items():
            if key in SECRET_ENV:
                err(f"ConfigMap {name}: {key} is a secret: take it from a Secret")
            elif CREDENTIAL.search(str(value)):
                err(f"ConfigMap {name}: {key} holds a credential: take it from a Secret")
            if key not in known_settings:
                err(f"ConfigMap {name}: {key} is not a setting of README.md's configuration table")

    # Pod templates of every workload.
    pods = {}  # (kind, name) -> (labels, pod spec)
    for kind, path in POD_SPEC.items():
        for name, doc in by_kind.get(kind, {}).items():
            template = dig(doc, *path, default={})
            pods[(kind, name)] = (dig(template, "metadata", "labels", default={}), dig(template, "spec", default={}))

    for (kind, name), (labels, pod) in pods.items():
        where = f"{kind} {name}"
        doc = by_kind[kind][name]
        long_running = kind in ("Deployment", "StatefulSet", "DaemonSet")
        if kind != "CronJob" and "selector" in doc.get("spec", {}):
            if not selects(doc["spec"]["selector"], labels):
                err(f"{where}: spec.selector does not select its own pod template labels")
        if pod.get("automountServiceAccountToken") is not False:
            err(f"{where}: automountServiceAccountToken must be false")
        account = pod.get("serviceAccountName")
        if account and account not in service_accounts:
            err(f"{where}: serviceAccountName {account} is not defined")
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(flag):
                err(f"{where}: {flag} must not be set")
        pod_security = pod.get("securityContext") or {}
        secret_mounts = {}  # volume name -> (secret name, file names or None for every key)
        for volume in pod.get("volumes") or []:
            if "secret" in volume:
                secret = volume["secret"].get("secretName")
                items = volume["secret"].get("items")
                if secret not in example_secrets:
                    err(f"{where}: volume {volume['name']}: Secret {secret} is not documented in {EXAMPLE}")
                for item in items or []:
                    if item["key"] not in example_secrets.get(secret, set()):
                        err(f"{where}: volume {volume['name']}: key {item['key']} of Secret {secret} is not "
                            f"documented in {EXAMPLE}")
                files = [i.get("path", i["key"]) for i in items] if items else sorted(example_secrets.get(secret, []))
                secret_mounts[volume["name"]] = files
            if "hostPath" in volume:
                err(f"{where}: volume {volume['name']}: hostPath is not allowed")
        grace = pod.get("terminationGracePeriodSeconds", 30)

        for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
            cwhere = f"{where} container {container['name']}"
            security = container.get("securityContext") or {}
            effective = {**pod_security, **security}
            if effective.get("runAsNonRoot") is not True:
                err(f"{cwhere}: securityContext.runAsNonRoot must be true")
            if effective.get("runAsUser") == 0:
                err(f"{cwhere}: runAsUser 0 (root)")
            if security.get("allowPrivilegeEscalation") is not False:
                err(f"{cwhere}: securityContext.allowPrivilegeEscalation must be false")
            if security.get("readOnlyRootFilesystem") is not True:
                err(f"{cwhere}: securityContext.readOnlyRootFilesystem must be true")
            if security.get("privileged"):
                err(f"{cwhere}: privileged")
            if "ALL" not in (dig(security, "capabilities", "drop", default=[])):
                err(f"{cwhere}: securityContext.capabilities.drop must hold ALL")
            if dig(effective, "seccompProfile", "type") not in ("RuntimeDefault", "Localhost"):
                err(f"{cwhere}: seccompProfile must be RuntimeDefault")

            resources = container.get("resources") or {}
            for resource in ("cpu", "memory"):
                request = quantity(dig(resources, "requests", resource))
                limit = quantity(dig(resources, "limits", resource))
                if request is None:
                    err(f"{cwhere}: no (valid) resources.requests.{resource}")
                if limit is None:
                    err(f"{cwhere}: no (valid) resources.limits.{resource}")
                if request is not None and limit is not None and request > limit:
                    err(f"{cwhere}: resources.requests.{resource} is above its limit")

            image = container.get("image", "")
            last = image.split("@")[0].rsplit("/", 1)[-1]
            if "@" not in image and ":" not in last:
                err(f"{cwhere}: image {image} has no tag: set it with `images:` in kustomization.yaml")
            elif ":" in last and last.rsplit(":", 1)[1] == "latest":
                err(f"{cwhere}: image {image}: use a released tag, not latest")

            ports = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
            port_numbers = set(ports.values())
            if long_running:
                for probe in ("readinessProbe", "livenessProbe"):
                    spec = container.get(probe)
                    if not spec:
                        err(f"{cwhere}: no {probe}")
                        continue
                    port = dig(spec, "httpGet", "port", default=dig(spec, "tcpSocket", "port"))
                    if port is not None and port not in ports and port not in port_numbers:
                        err(f"{cwhere}: {probe} port {port} is not a port of the container")
                if not dig(container, "lifecycle", "preStop"):
                    err(f"{cwhere}: no preStop hook (endpoints must be removed before shutdown)")
                pause = dig(container, "lifecycle", "preStop", "sleep", "seconds", default=0)
                if grace < pause + 10:
                    err(f"{cwhere}: terminationGracePeriodSeconds {grace} leaves less than the 10 s shutdown "
                        f"after the {pause} s preStop pause")

            # The environment the container sees.
            env, sources = {}, {}
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    ref = source["configMapRef"]["name"]
                    if ref not in configmaps:
                        err(f"{cwhere}: envFrom ConfigMap {ref} is not defined")
                    for key, value in configmaps.get(ref, {}).items():
                        env[key], sources[key] = str(value), f"ConfigMap {ref}"
                if "secretRef" in source:
                    ref = source["secretRef"]["name"]
                    if ref not in example_secrets:
                        err(f"{cwhere}: envFrom Secret {ref} is not documented in {EXAMPLE}")
                    for key in example_secrets.get(ref, []):
                        env[key], sources[key] = None, f"Secret {ref}"
            for var in container.get("env") or []:
                name = var["name"]
                ref = var.get("valueFrom") or {}
                if "value" in var:
                    env[name], sources[name] = str(var["value"]), "value"
                    if name in SECRET_ENV or CREDENTIAL.search(str(var["value"])):
                        err(f"{cwhere}: {name} is a secret: use secretKeyRef, not a value")
                elif "configMapKeyRef" in ref:
                    cm, key = ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]
                    if key not in configmaps.get(cm, {}):
                        err(f"{cwhere}: {name}: ConfigMap {cm} has no key {key}")
                    env[name], sources[name] = configmaps.get(cm, {}).get(key), f"ConfigMap {cm}"
                elif "secretKeyRef" in ref:
                    secret, key = ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]
                    if key not in example_secrets.get(secret, set()):
                        err(f"{cwhere}: {name}: key {key} of Secret {secret} is not documented in {EXAMPLE}")
                    env[name], sources[name] = None, f"Secret {secret}"
                elif "fieldRef" in ref:
                    env[name], sources[name] = None, f"fieldRef {ref['fieldRef']['fieldPath']}"
                else:
                    env[name], sources[name] = None, "valueFrom"
            for name in env:
                if name not in known_settings:
                    err(f"{cwhere}: {name} is not a setting of README.md's configuration table")
            for name, value in env.items():
                if name in SECRET_ENV and not sources[name].startswith("Secret"):
                    err(f"{cwhere}: {name} must come from a Secret, not {sources[name]}")
                if name.endswith("_BIND_ADDR") and value is not None:
                    host, _, port = value.rpartition(":")
                    if host not in ("0.0.0.0", "[::]"):
                        err(f"{cwhere}: {name}={value}: bind 0.0.0.0 to be reachable from outside the pod")
                    if not port.isdigit() or int(port) not in port_numbers:
                        err(f"{cwhere}: {name}={value}: port is not a containerPort ({sorted(port_numbers)})")
            if str(env.get("DEV_TOKENS_ENABLED", "false")).lower() not in ("false", "0", "no", "off", ""):
                err(f"{cwhere}: DEV_TOKENS_ENABLED must be false in production")

            command = container.get("command") or []
            if command and command[0].startswith("scoreboard-"):
                binary, sub = command[0], (command[1:] or ["serve"])[0]
                if sub not in BINARIES.get(binary, set()):
                    err(f"{cwhere}: unknown command {' '.join(command)}")
                for name in REQUIRED_ENV.get((binary, sub), []):
                    if name not in env:
                        err(f"{cwhere}: {binary} {sub} needs {name}")
                if sub == "serve" and env.get("LOG_FORMAT") not in (None, "json"):
                    err(f"{cwhere}: LOG_FORMAT must be json")
                if "JWT_ALGORITHM" in env and env["JWT_ALGORITHM"] not in ("RS256", "ES256"):
                    err(f"{cwhere}: JWT_ALGORITHM={env['JWT_ALGORITHM']}: production verifies the identity "
                        "provider's public key (RS256 or ES256)")
                key_file = env.get("JWT_PUBLIC_KEY_FILE")
                if key_file:
                    mounted = False
                    for mount in container.get("volumeMounts") or []:
                        files = secret_mounts.get(mount["name"], [])
                        if any(key_file == f"{mount['mountPath'].rstrip('/')}/{f}" for f in files):
                            mounted = True
                    if not mounted:
                        err(f"{cwhere}: JWT_PUBLIC_KEY_FILE={key_file} is not a file of a mounted Secret")
                if binary == "scoreboard-notifier" and sources.get("NOTIFIER_REPLICA_ID") != "fieldRef metadata.name":
                    err(f"{cwhere}: NOTIFIER_REPLICA_ID must be the pod name (fieldRef metadata.name): "
                        "one queue per replica")

    deployments = {n: pods[("Deployment", n)] for n in by_kind.get("Deployment", {})}

    for name, svc in by_kind.get("Service", {}).items():
        selector = dig(svc, "spec", "selector", default={})
        if not selector:
            err(f"Service {name}: no selector")
            continue
        matched = [d for d, (labels, _) in deployments.items() if selects({"matchLabels": selector}, labels)]
        if not matched:
            err(f"Service {name}: selector {selector} selects no pod of any Deployment")
        for port in dig(svc, "spec", "ports", default=[]):
            target = port.get("targetPort", port["port"])
            for d in matched:
                container_ports = [(p.get("name"), p["containerPort"]) for c in deployments[d][1].get("containers", [])
                                   for p in c.get("ports") or []]
                if not any(target in pair for pair in container_ports):
                    err(f"Service {name}: targetPort {target} is not a container port of Deployment {d}")

    services = by_kind.get("Service", {})
    routes = {}
    for name, ingress in by_kind.get("Ingress", {}).items():
        backends = []
        if dig(ingress, "spec", "defaultBackend", "service"):
            backends.append(("defaultBackend", ingress["spec"]["defaultBackend"]["service"]))
        for rule in dig(ingress, "spec", "rules", default=[]):
            for path in dig(rule, "http", "paths", default=[]):
                route = (rule.get("host", "*"), path.get("path"), path.get("pathType"))
                if route in routes:
                    err(f"Ingress {name}: {route[0]}{route[1]} ({route[2]}) is also routed by Ingress {routes[route]}")
                routes[route] = name
                backends.append((f"{route[0]}{route[1]}", dig(path, "backend", "service")))
        for where, backend in backends:
            if not backend:
                err(f"Ingress {name}: {where} has no service backend")
                continue
            svc = services.get(backend["name"])
            if svc is None:
                err(f"Ingress {name}: {where} -> Service {backend['name']}, which is not defined")
                continue
            wanted = backend.get("port", {})
            svc_ports = dig(svc, "spec", "ports", default=[])
            if not any(("number" in wanted and p["port"] == wanted["number"])
                       or ("name" in wanted and p.get("name") == wanted["name"]) for p in svc_ports):
                err(f"Ingress {name}: {where} -> Service {backend['name']} has no port "
                    f"{wanted.get('number', wanted.get('name'))}")

    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        target = dig(hpa, "spec", "scaleTargetRef", default={})
        if target.get("kind") != "Deployment" or target.get("name") not in deployments:
            err(f"HorizontalPodAutoscaler {name}: scaleTargetRef {target.get('kind')} {target.get('name')} "
                "is not a Deployment here")
            continue
        if "replicas" in by_kind["Deployment"][target["name"]]["spec"]:
            err(f"Deployment {target['name']}: sets spec.replicas although HorizontalPodAutoscaler {name} owns "
                "the count (every apply would reset it)")
        if dig(hpa, "spec", "minReplicas", default=1) > dig(hpa, "spec", "maxReplicas", default=0):
            err(f"HorizontalPodAutoscaler {name}: minReplicas above maxReplicas")
        for metric in dig(hpa, "spec", "metrics", default=[]):
            resource = dig(metric, "resource", "name")
            for container in deployments[target["name"]][1].get("containers", []):
                if resource and dig(container, "resources", "requests", resource) is None:
                    err(f"HorizontalPodAutoscaler {name}: scales on {resource} but container "
                        f"{container['name']} requests none")

    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for name, doc in by_kind.get(kind, {}).items():
            selector = dig(doc, "spec", "selector" if kind == "PodDisruptionBudget" else "podSelector", default={})
            if kind == "PodDisruptionBudget" and not selector:
                err(f"{kind} {name}: no selector")
            elif selector and not any(selects(selector, labels) for labels, _ in pods.values()):
                err(f"{kind} {name}: selector selects no pod")
    return errors


def negative_controls(docs, example_secrets, known_settings):
    """Deliberately broken variants: each must be rejected with the expected message."""

    def find(kind, name):
        return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)

    def container(d):
        return d["spec"]["template"]["spec"]["containers"][0]

    def deployment(name):
        return find("Deployment", name)

    def mutations():
        yield "replicas as a string", "is not of type 'integer'", \
            lambda: deployment("gateway")["spec"].__setitem__("replicas", "two")
        yield "replicas beside an autoscaler", "owns the count", \
            lambda: deployment("action")["spec"].__setitem__("replicas", 2)
        yield "an unknown field", "Additional properties", \
            lambda: container(deployment("score")).__setitem__("imagePullPolice", "Always")
        yield "no readiness probe", "no readinessProbe", \
            lambda: container(deployment("notifier")).pop("readinessProbe")
        yield "root allowed", "runAsNonRoot", \
            lambda: (deployment("gateway")["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot"),
                     container(deployment("gateway"))["securityContext"].pop("runAsNonRoot"))
        yield "a Service selecting nothing", "selects no pod", \
            lambda: find("Service", "notifier")["spec"]["selector"].__setitem__("app.kubernetes.io/component",
                                                                              "notifer")
        yield "an Ingress to a missing port", "has no port", \
            lambda: find("Ingress", "web")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"][
                "port"].__setitem__("number", 9999)
        yield "a bind address off the container port", "port is not a containerPort", \
            lambda: find("ConfigMap", "scoreboard-score")["data"].__setitem__("SCORE_BIND_ADDR", "0.0.0.0:9082")
        yield "development tokens on", "DEV_TOKENS_ENABLED", \
            lambda: find("ConfigMap", "scoreboard-action")["data"].__setitem__("DEV_TOKENS_ENABLED", "true")
        yield "a committed Secret", "a Secret is rendered", \
            lambda: docs.append({"apiVersion": "v1", "kind": "Secret",
                                 "metadata": {"name": "leak", "namespace": NAMESPACE},
                                 "stringData": {"DATABASE_URL": "postgres://u:p@h/db"}})

    original = docs
    failures = []
    count = 0
    for description, expected, mutate in mutations():
        count += 1
        docs = copy.deepcopy(original)
        try:
            mutate()
        except (KeyError, IndexError, StopIteration) as e:
            failures.append(f"negative control '{description}' could not be set up (renamed object?): {e!r}")
            continue
        problems = schema_errors(docs) + check(docs, example_secrets, known_settings)
        if not any(expected in p for p in problems):
            failures.append(f"negative control '{description}' was not rejected (expected '{expected}'; "
                            f"got {problems or 'no error'})")
    return count, failures


def compare_with_kubectl(docs):
    """(note, problems): the renderer must print what `kubectl kustomize` prints, where kubectl exists."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return "kubectl not installed: rendering not compared with kubectl kustomize", []
    try:
        run = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"kubectl kustomize could not run ({e}): rendering not compared", []
    if run.returncode != 0:
        return f"kubectl kustomize failed ({run.stderr.strip()[:200]}): rendering not compared", []
    theirs = [d for d in yaml.safe_load_all(run.stdout) if d]
    if theirs == docs:
        return f"rendering identical to `kubectl kustomize` ({len(theirs)} objects)", []
    mine = {ident(d): d for d in docs}
    kustomize = {ident(d): d for d in theirs}
    problems = [f"render_kustomize.py and kubectl kustomize differ on {i}"
                for i in sorted(set(mine) | set(kustomize)) if mine.get(i) != kustomize.get(i)]
    return None, problems or ["render_kustomize.py orders the objects differently from kubectl kustomize"]


def main():
    print(f"validating {directory} against Kubernetes {k8s_version} (strict schemas, "
          f"kubernetes-validate {kubernetes_validate.__version__})")
    try:
        docs = render(directory)
    except RenderError as e:
        print(f"FAIL render: {e}")
        return 1
    known_settings = readme_settings()
    example_secrets, errors = load_example()
    errors += committed_files_errors()
    errors += schema_errors(docs)
    errors += check(docs, example_secrets, known_settings)
    note, problems = compare_with_kubectl(docs)
    errors += problems
    for doc in docs:
        print(f"  rendered {ident(doc)}")
    if errors:
        for problem in errors:
            print(f"FAIL {problem}")
        print(f"{len(errors)} problem(s) in {len(docs)} rendered objects")
        return 1
    count, failures = negative_controls(docs, example_secrets, known_settings)
    for problem in failures:
        print(f"FAIL {problem}")
    if failures:
        return 1
    print(f"""checked {len(docs)} objects:
  - each valid against the Kubernetes {k8s_version} API schemas, unknown fields refused
  - every pod: non-root, no privilege escalation, read-only root, no capabilities, RuntimeDefault seccomp,
    cpu and memory requests and limits, a tagged image, no service account token
  - every Deployment: readiness and liveness probes on its own ports, a preStop pause, enough grace
  - every setting is in README.md's configuration table; each command has the settings it needs; bind
    addresses match container ports; RS256/ES256 with a mounted key; development tokens off; the notifier's
    replica id is the pod name
  - Service selectors and target ports, Ingress backends, HPA targets, PDB and NetworkPolicy selectors
    all resolve; no path is routed twice; no replica count beside an autoscaler
  - no Secret or credential committed; {EXAMPLE} holds placeholders for every Secret key used, and is not
    part of the kustomization
  - {count} deliberately broken variants, each rejected
  - {note}""")
    return 0


sys.exit(main())
PY
