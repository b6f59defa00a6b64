"""Checks of the container files that neither the Compose schema nor hadolint make.

    validate_compose.py compose FILE         semantics of a Compose file
    validate_compose.py dockerfile FILE...   rules every Dockerfile of the project must follow

Prints one line per check; exits 1 when any check fails. Run by scripts/validate-compose.sh, which
provides PyYAML and dockerfile-parse.
"""

from __future__ import annotations

import io
import re
import shlex
import sys
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser


class Report:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)
        print(f"  FAIL {message}")

    def ok(self, message: str) -> None:
        print(f"  ok   {message}")


# ---------------------------------------------------------------------------------------------------
# Images


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """name, tag, digest of an image reference (a registry port is not a tag)."""
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    name, tag = ref, None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    return name, tag, digest


def pinning_problem(ref: str) -> str | None:
    """Why an image reference is not pinned, or None when it names a tag (not latest) or a digest."""
    if "$" in ref:
        return f"image '{ref}' depends on a build argument without a default"
    name, tag, digest = split_image(ref)
    if digest:
        return None
    if tag is None:
        return f"image '{ref}' has no tag (it means latest); pin a version"
    if tag == "latest":
        return f"image '{ref}' uses the latest tag; pin a version"
    return None


# ---------------------------------------------------------------------------------------------------
# Compose

INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate_unset(value: str) -> str:
    """The value Compose gives a string when none of its variables is set (the defaults)."""
    value = value.replace("$$", "\0")

    def replace(match: re.Match[str]) -> str:
        operator, default = match.group(2), match.group(3)
        if operator in (":-", "-"):
            return default or ""
        return ""

    return INTERPOLATION.sub(replace, value).replace("\0", "$")


def depends_on_map(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: (spec or {}) for name, spec in deps.items()}


def env_map(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {key: value for key, value in pairs}
    return {key: "" if value is None else str(value) for key, value in env.items()}


def dockerfile_of(base: Path, build) -> tuple[Path | None, Path | None]:
    """(context, Dockerfile) of a build section; None for a remote context or an inline Dockerfile."""
    if isinstance(build, str):
        build = {"context": build}
    context_ref = build.get("context", ".")
    if re.match(r"^[a-z][a-z0-9+.-]*://|^git@", context_ref):
        return None, None
    context = (base / context_ref).resolve()
    if "dockerfile_inline" in build:
        return context, None
    return context, context / build.get("dockerfile", "Dockerfile")


def parse_dockerfile(path: Path) -> list[dict]:
    """The instructions of a Dockerfile of any name (the parser reads from a file object, never writes)."""
    return DockerfileParser(fileobj=io.BytesIO(path.read_bytes()), env_replace=False).structure


def final_stage_has_healthcheck(dockerfile: Path) -> bool:
    found = False
    for instruction in parse_dockerfile(dockerfile):
        if instruction["instruction"] == "FROM":
            found = False
        elif instruction["instruction"] == "HEALTHCHECK":
            found = instruction["value"].strip().upper() != "NONE"
    return found


def published_ports(service: dict) -> list[tuple[str, str, str]]:
    """(host ip, host port, protocol) of every published port."""
    found = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") is not None:
                found.append((str(port.get("host_ip", "")), str(port["published"]), port.get("protocol", "tcp")))
            continue
        spec, _, protocol = str(port).partition("/")
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            found.append((parts[0].strip("[]"), parts[1], protocol or "tcp"))
        elif len(parts) == 2:
            found.append(("", parts[0], protocol or "tcp"))
    return found


def check_compose(path: Path) -> list[str]:
    report = Report(path)
    base = path.resolve().parent
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        report.error(f"cannot read: {err}")
        return report.errors
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict) or not doc["services"]:
        report.error("no services")
        return report.errors
    services: dict[str, dict] = doc["services"]

    if "version" in doc:
        report.error("top-level 'version' is obsolete in the Compose Specification; remove it")
    else:
        report.ok("no obsolete top-level 'version'")

    # Images and builds.
    for name, service in services.items():
        if "build" in service:
            context, dockerfile = dockerfile_of(base, service["build"])
            if context is None:
                report.ok(f"{name}: builds from a remote context")
            elif not context.is_dir():
                report.error(f"{name}: build context {context} is not a directory")
            elif dockerfile is not None and not dockerfile.is_file():
                report.error(f"{name}: build.dockerfile {dockerfile.relative_to(base)} does not exist")
            else:
                shown = dockerfile.relative_to(base) if dockerfile else "inline Dockerfile"
                report.ok(f"{name}: builds {shown}")
        elif "image" in service:
            problem = pinning_problem(service["image"])
            if problem:
                report.error(f"{name}: {problem}")
            else:
                report.ok(f"{name}: image {service['image']} is pinned")
        else:
            report.error(f"{name}: has neither image nor build")

    # Dependencies: targets exist, the conditions can be met, no cycle.
    for name, service in services.items():
        for target, spec in depends_on_map(service).items():
            condition = spec.get("condition", "service_started")
            if target not in services:
                report.error(f"{name}: depends_on names '{target}', which is not a service")
                continue
            if target == name:
                report.error(f"{name}: depends on itself")
                continue
            dependency = services[target]
            if condition == "service_healthy":
                healthcheck = dependency.get("healthcheck") or {}
                if healthcheck.get("disable") or healthcheck.get("test") in (["NONE"], "NONE"):
                    report.error(f"{name}: waits for '{target}' to be healthy, but its healthcheck is disabled")
                elif healthcheck.get("test"):
                    report.ok(f"{name}: waits for '{target}' to be healthy; it has a healthcheck")
                else:
                    _, dockerfile = dockerfile_of(base, dependency["build"]) if "build" in dependency else (None, None)
                    if dockerfile is not None and dockerfile.is_file() and final_stage_has_healthcheck(dockerfile):
                        report.ok(f"{name}: waits for '{target}' to be healthy; its Dockerfile has a HEALTHCHECK")
                    else:
                        report.error(f"{name}: waits for '{target}' to be healthy, but '{target}' has no healthcheck")
            elif condition == "service_completed_successfully":
                restart = str(dependency.get("restart", "no"))
                if restart in ("always", "unless-stopped"):
                    report.error(f"{name}: waits for '{target}' to complete, but it restarts ({restart})")
                else:
                    report.ok(f"{name}: waits for one-shot '{target}' to complete (restart: {restart})")
            elif condition == "service_started":
                report.ok(f"{name}: starts after '{target}'")

    graph = {name: list(depends_on_map(service)) for name, service in services.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return trail + [node, nxt]
            if state.get(nxt) is None:
                cycle = visit(nxt, trail + [node])
                if cycle:
                    return cycle
        state[node] = 2
        return None

    cycles = [c for c in (visit(n, []) for n in graph if state.get(n) is None) if c]
    if cycles:
        report.error(f"dependency cycle: {' -> '.join(cycles[0])}")
    else:
        report.ok("the dependencies form no cycle")

    # Named volumes are declared.
    declared = set((doc.get("volumes") or {}).keys())
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            if isinstance(volume, dict):
                source = volume.get("source") if volume.get("type", "volume") == "volume" else None
            else:
                source = str(volume).split(":", 1)[0] if ":" in str(volume) else None
                if source and (source.startswith((".", "/", "~", "$")) or "/" in source):
                    source = None
            if source and source not in declared:
                report.error(f"{name}: volume '{source}' is not declared under top-level volumes")
            elif source:
                report.ok(f"{name}: named volume '{source}' is declared")

    # No host port is published twice.
    seen: list[tuple[str, str, str]] = []  # (host ip, port/protocol, service)
    clashes = 0
    for name, service in services.items():
        for host_ip, host_port, protocol in published_ports(service):
            key = f"{host_port}/{protocol}"
            for other_ip, other_key, owner in seen:
                if other_key == key and (not host_ip or not other_ip or host_ip == other_ip):
                    report.error(f"{name}: host port {key} is also published by {owner}")
                    clashes += 1
            seen.append((host_ip, key, name))
    if not clashes:
        report.ok(f"{len(seen)} published host ports, none twice")

    # Scoreboard's secrets must be at least 32 bytes or the services refuse to start (README, Configuration).
    for name, service in services.items():
        for key, value in env_map(service).items():
            if key in ("JWT_SECRET", "SERVICE_CREDENTIAL"):
                effective = interpolate_unset(value)
                if len(effective.encode()) < 32:
                    report.error(f"{name}: {key} (with no variable set) is {len(effective)} bytes; at least 32 needed")
                else:
                    report.ok(f"{name}: {key} defaults to at least 32 bytes")

    return report.errors


# ---------------------------------------------------------------------------------------------------
# Dockerfiles

APT_INSTALL = re.compile(r"\bapt-get\b[^;&|]*\binstall\b")
URL = re.compile(r"^(https?|ftp)://|^git@|\.git(#.*)?$")


def check_dockerfile(path: Path) -> list[str]:
    report = Report(path)
    try:
        structure = parse_dockerfile(path)
    except OSError as err:
        report.error(f"cannot read: {err}")
        return report.errors

    global_args: dict[str, str] = {}
    stages: list[dict] = []  # {"name", "parent", "user", "line"}

    def substitute(text: str) -> str:
        def arg(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            return global_args.get(name, match.group(0))

        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", arg, text)

    def stage_ref(ref: str) -> int | None:
        """Index of an earlier stage named (or numbered) by ref."""
        for index, stage in enumerate(stages):
            if stage["name"] and stage["name"].lower() == ref.lower():
                return index
        if ref.isdigit() and int(ref) < len(stages):
            return int(ref)
        return None

    def check_source(line: int, what: str, ref: str) -> None:
        if stage_ref(ref) is not None:
            report.ok(f"line {line}: {what} '{ref}' is an earlier stage")
            return
        problem = pinning_problem(substitute(ref))
        if problem:
            report.error(f"line {line}: {what} '{ref}' is neither an earlier stage nor a pinned image ({problem})")
        else:
            report.ok(f"line {line}: {what} '{ref}' is a pinned image")

    for instruction in structure:
        kind, value, line = instruction["instruction"], instruction["value"], instruction["startline"] + 1
        if kind == "ARG" and not stages:
            name, _, default = value.strip().partition("=")
            global_args[name.strip()] = default.strip().strip('"').strip("'")
        elif kind == "FROM":
            words = [w for w in value.split() if not w.startswith("--")]
            image = words[0] if words else ""
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            resolved = substitute(image)
            parent = stage_ref(resolved)
            if parent is not None:
                report.ok(f"line {line}: FROM earlier stage '{resolved}'")
            elif resolved == "scratch":
                report.ok(f"line {line}: FROM scratch")
            else:
                problem = pinning_problem(resolved)
                if problem:
                    report.error(f"line {line}: FROM {problem}")
                else:
                    report.ok(f"line {line}: FROM {resolved} is pinned")
            stages.append({"name": name, "parent": parent, "user": None, "line": line})
        elif not stages:
            continue
        elif kind == "USER":
            stages[-1]["user"] = value.strip()
        elif kind == "ADD":
            for source in [w for w in shlex.split(value) if not w.startswith("--")][:-1]:
                if URL.search(source):
                    report.error(f"line {line}: ADD fetches the remote '{source}'; download it in a RUN you can verify")
        elif kind == "COPY":
            for flag in shlex.split(value):
                if flag.startswith("--from="):
                    check_source(line, "COPY --from", flag.split("=", 1)[1])
        elif kind == "RUN":
            for mount in re.findall(r"--mount=(\S+)", value):
                for option in mount.split(","):
                    if option.startswith("from="):
                        check_source(line, "RUN --mount from", option.split("=", 1)[1])
            if APT_INSTALL.search(value):
                problems = []
                if "--no-install-recommends" not in value:
                    problems.append("without --no-install-recommends")
                if not re.search(r"\s(-y|--yes|--assume-yes|-qq?y|-yqq?)\b", value):
                    problems.append("without -y")
                if not re.search(r"\bapt-get\b[^;&|]*\bupdate\b", value):
                    problems.append("without apt-get update in the same RUN")
                cached_lists = re.search(r"--mount=\S*type=cache\S*target=/var/lib/apt/lists", value)
                if not cached_lists and not re.search(r"rm\s+-(rf|fr|r)\s+[^;&|]*/var/lib/apt/lists", value):
                    problems.append("without removing /var/lib/apt/lists in the same RUN")
                if problems:
                    report.error(f"line {line}: apt-get install {', '.join(problems)}")
                else:
                    report.ok(f"line {line}: apt-get install is minimal and cleans the package lists")

    if not stages:
        report.error("no FROM")
        return report.errors

    # The user the final stage runs as: its last USER, else the one of the stage it builds on.
    index: int | None = len(stages) - 1
    user = None
    while index is not None and user is None:
        user = stages[index]["user"]
        index = stages[index]["parent"]
    final = stages[-1]["name"] or f"stage {len(stages) - 1}"
    if user is None:
        report.error(f"final stage ({final}) sets no USER: it would run as root; add a non-root USER")
    elif user.split(":", 1)[0] in ("root", "0"):
        report.error(f"final stage ({final}) runs as root (USER {user})")
    else:
        report.ok(f"final stage ({final}) runs as the non-root USER {user}")
    return report.errors


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("compose", "dockerfile"):
        print(__doc__, file=sys.stderr)
        return 2
    errors: list[str] = []
    for file in argv[1:]:
        path = Path(file)
        print(f"{argv[0]} {path}:")
        errors += check_compose(path) if argv[0] == "compose" else check_dockerfile(path)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
