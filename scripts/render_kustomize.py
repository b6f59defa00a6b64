#!/usr/bin/env python3
"""Renders a kustomization without kubectl, for offline validation (scripts/validate-k8s.sh).

Supports exactly what deploy/k8s/kustomization.yaml uses, the way kustomize v5 does it:

- `resources`: YAML files (one or more documents each), relative to the kustomization;
- `namespace`: set on every namespaced object;
- `labels`: `pairs` added to every object's labels and, with `includeTemplates: true`, to the pod
  templates of workloads (`includeSelectors: true` is refused: selectors are immutable);
- `images`: `name` matched against every container and init container image, replaced by
  `newName`, `newTag` and/or `digest`;
- the output order of `kubectl kustomize` (kustomize's legacy order: namespaces first, webhooks last).

Anything else in the kustomization (generators, patches, components, remote or directory resources, ...)
is an error, so that this renderer can never silently disagree with kustomize.

    render_kustomize.py DIR      prints the rendered documents as a YAML stream
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "labels", "images"}

# Kinds without a namespace that may appear here (kustomize leaves their metadata.namespace unset).
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "PersistentVolume",
    "PriorityClass",
    "StorageClass",
    "ValidatingWebhookConfiguration",
}

# Workloads whose pod template labels `includeTemplates` extends, and where that template sits.
TEMPLATE_PATHS = {
    "Deployment": [["spec", "template"]],
    "ReplicaSet": [["spec", "template"]],
    "ReplicationController": [["spec", "template"]],
    "DaemonSet": [["spec", "template"]],
    "StatefulSet": [["spec", "template"]],
    "Job": [["spec", "template"]],
    "CronJob": [["spec", "jobTemplate"], ["spec", "jobTemplate", "spec", "template"]],
}

# kustomize's legacy output order.
ORDER_FIRST = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


class RenderError(Exception):
    """The kustomization cannot be rendered (or uses something this renderer does not support)."""


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty document of a YAML file; each must be a Kubernetes object."""
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        raise RenderError(f"{path}: not valid YAML: {e}") from e
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise RenderError(f"{path}: document {index + 1} is not a mapping")
        for field in ("apiVersion", "kind", "metadata"):
            if field not in document:
                raise RenderError(f"{path}: document {index + 1} has no {field}")
        if not isinstance(document["metadata"], dict) or not document["metadata"].get("name"):
            raise RenderError(f"{path}: document {index + 1} has no metadata.name")
    return documents


def load_kustomization(directory: Path) -> dict[str, Any]:
    candidates = [directory / n for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")]
    found = [c for c in candidates if c.is_file()]
    if len(found) != 1:
        raise RenderError(f"{directory}: expected exactly one kustomization file, found {len(found)}")
    kustomization = yaml.safe_load(found[0].read_text()) or {}
    if not isinstance(kustomization, dict):
        raise RenderError(f"{found[0]}: not a mapping")
    unsupported = sorted(set(kustomization) - SUPPORTED_KEYS)
    if unsupported:
        raise RenderError(
            f"{found[0]}: {', '.join(unsupported)} not supported by scripts/render_kustomize.py "
            "(extend it, or keep the kustomization to resources, namespace, labels and images)"
        )
    if kustomization.get("kind", "Kustomization") != "Kustomization":
        raise RenderError(f"{found[0]}: kind must be Kustomization")
    return kustomization


def resource_files(directory: Path, kustomization: dict[str, Any]) -> list[Path]:
    resources = kustomization.get("resources") or []
    if not isinstance(resources, list):
        raise RenderError("resources must be a list")
    files = []
    root = directory.resolve()
    for entry in resources:
        if not isinstance(entry, str) or "://" in entry or entry.startswith(("github.com", "git@")):
            raise RenderError(f"resource {entry!r}: only local files are supported")
        path = (directory / entry).resolve()
        if root not in path.parents:
            raise RenderError(f"resource {entry!r}: outside {directory}")
        if path.is_dir():
            raise RenderError(f"resource {entry!r}: directories (nested kustomizations) are not supported")
        if not path.is_file():
            raise RenderError(f"resource {entry!r}: no such file")
        if path in files:
            raise RenderError(f"resource {entry!r}: listed twice")
        files.append(path)
    return files


def dig(obj: Any, path: list[str], create: bool = False) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        if key not in obj or obj[key] is None:
            if not create:
                return None
            obj[key] = {}
        obj = obj[key]
    return obj


def apply_labels(document: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("pairs"), dict):
            raise RenderError("labels: each entry needs `pairs`")
        extra = set(entry) - {"pairs", "includeSelectors", "includeTemplates"}
        if extra:
            raise RenderError(f"labels: {', '.join(sorted(extra))} not supported")
        if entry.get("includeSelectors"):
            raise RenderError("labels: includeSelectors: true is not supported (selectors are immutable)")
        pairs = {str(k): str(v) for k, v in entry["pairs"].items()}
        dig(document, ["metadata", "labels"], create=True).update(pairs)
        if entry.get("includeTemplates"):
            for path in TEMPLATE_PATHS.get(document["kind"], []):
                if dig(document, path) is not None:
                    dig(document, path + ["metadata", "labels"], create=True).update(pairs)


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """`name[:tag][@digest]` -> (name, tag, digest); a registry port is not a tag."""
    name, digest = image.split("@", 1) if "@" in image else (image, None)
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest


def apply_images(node: Any, images: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        container["image"] = new_image(container["image"], images)
            apply_images(value, images)
    elif isinstance(node, list):
        for item in node:
            apply_images(item, images)


def new_image(image: str, images: list[dict[str, Any]]) -> str:
    name, tag, digest = split_image(image)
    for entry in images:
        if entry.get("name") != name:
            continue
        name = entry.get("newName", name)
        if entry.get("digest"):
            return f"{name}@{entry['digest']}"
        if entry.get("newTag") is not None:
            return f"{name}:{entry['newTag']}"
        break
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def order_key(document: dict[str, Any]) -> tuple:
    kind = document["kind"]
    if kind in ORDER_FIRST:
        rank = ORDER_FIRST.index(kind)
    elif kind in ORDER_LAST:
        rank = len(ORDER_FIRST) + 1 + ORDER_LAST.index(kind)
    else:
        rank = len(ORDER_FIRST)
    group, _, version = document["apiVersion"].rpartition("/")
    metadata = document["metadata"]
    return (rank, group, version, kind, metadata.get("namespace", ""), metadata["name"])


def render(directory: str | Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize DIRECTORY` would print, in its order."""
    directory = Path(directory)
    kustomization = load_kustomization(directory)
    namespace = kustomization.get("namespace")
    labels = kustomization.get("labels") or []
    images = kustomization.get("images") or []
    for entry in images:
        if not isinstance(entry, dict) or not entry.get("name"):
            raise RenderError("images: each entry needs a name")
        extra = set(entry) - {"name", "newName", "newTag", "digest"}
        if extra:
            raise RenderError(f"images: {', '.join(sorted(extra))} not supported")

    documents: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str], Path] = {}
    for path in resource_files(directory, kustomization):
        for document in load_documents(path):
            document = copy.deepcopy(document)
            if namespace and document["kind"] not in CLUSTER_SCOPED:
                document["metadata"]["namespace"] = namespace
            apply_labels(document, labels)
            apply_images(document, images)
            identity = (document["kind"], document["metadata"].get("namespace", ""), document["metadata"]["name"])
            if identity in seen:
                raise RenderError(f"{path}: {'/'.join(identity)} is already defined in {seen[identity]}")
            seen[identity] = path
            documents.append(document)
    documents.sort(key=order_key)
    return documents


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        documents = render(argv[1])
    except RenderError as e:
        print(f"render_kustomize: {e}", file=sys.stderr)
        return 1
    yaml.safe_dump_all(documents, sys.stdout, sort_keys=True, default_flow_style=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
