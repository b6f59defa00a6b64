# syntax=docker/dockerfile:1
#
# One image for the three Scoreboard services: scoreboard-action, scoreboard-score and
# scoreboard-notifier, all in /usr/local/bin. The command picks the service:
#
#   docker build -t scoreboard .
#   docker run --rm scoreboard scoreboard-score migrate       (with DATABASE_URL)
#   docker run --rm scoreboard scoreboard-action serve        (ACTION_BIND_ADDR, port 8081)
#   docker run --rm scoreboard scoreboard-score serve         (the default, port 8082)
#   docker run --rm scoreboard scoreboard-notifier serve      (port 8083)
#
# Stages: chef (toolchain + cargo-chef) -> planner (dependency recipe) -> builder (dependencies
# first, cached while the manifests and Cargo.lock stay the same, then the workspace) -> runtime.
# The cache mounts need BuildKit (the default builder of current Docker and of `docker compose`).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
ARG CARGO_CHEF_VERSION=0.1.78
RUN --mount=type=cache,id=scoreboard-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

# The recipe holds the workspace's manifests and lock file only: it changes when the dependencies do,
# not when the code does, so the dependency layer below stays cached across code changes.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# diesel's PostgreSQL backend links libpq.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
COPY --from=planner /src/recipe.json recipe.json
# The same packages and profile as the build below, so the dependency artifacts are reused as they are.
RUN --mount=type=cache,id=scoreboard-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=scoreboard-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    cargo chef cook --release --locked --bins \
        -p scoreboard-action -p scoreboard-score -p scoreboard-notifier \
        --recipe-path recipe.json
# The whole workspace (.dockerignore keeps out what no image needs): cargo loads every member, the
# services embed their openapi.json and crates/db embeds migrations/ at compile time.
COPY . .
RUN --mount=type=cache,id=scoreboard-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=scoreboard-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    cargo build --release --locked --bins \
        -p scoreboard-action -p scoreboard-score -p scoreboard-notifier

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
LABEL org.opencontainers.image.title="scoreboard" \
      org.opencontainers.image.description="Scoreboard services: scoreboard-action, scoreboard-score, scoreboard-notifier" \
      org.opencontainers.image.licenses="MIT"
# libpq5: the PostgreSQL client library the binaries link; ca-certificates: TLS to external hosts.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 scoreboard \
    && useradd --system --uid 10001 --gid scoreboard --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin scoreboard
COPY --from=builder \
    /src/target/release/scoreboard-action \
    /src/target/release/scoreboard-score \
    /src/target/release/scoreboard-notifier \
    /usr/local/bin/
# Inside a container the services must listen on every interface; the built-in defaults are loopback.
ENV ACTION_BIND_ADDR=0.0.0.0:8081 \
    SCORE_BIND_ADDR=0.0.0.0:8082 \
    NOTIFIER_BIND_ADDR=0.0.0.0:8083
USER 10001:10001
EXPOSE 8081 8082 8083
CMD ["scoreboard-score", "serve"]
