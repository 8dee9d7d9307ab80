# syntax=docker/dockerfile:1
# assistd container image: `docker build -t assistd:0.1.0 .` (docs/deploy.md).
#
# Two stages: the build stage has the compiler toolchain and the dev dependencies; the runtime
# stage gets only the compiled JavaScript and the production node_modules, and runs as an
# unprivileged user on a read-only root filesystem (every path it writes is a volume or /tmp).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# better-sqlite3 compiles itself when no prebuilt binary matches; this is its toolchain.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
# `npm ci` runs `prepare`, which compiles src/ into dist/ and builds the console (web/) into
# dist/console/.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund
# node-llama-cpp ships one prebuilt llama.cpp per platform and GPU API (the CUDA ones are
# hundreds of MB). Keep those named in LLAMA_BACKENDS; by default the CPU build for this
# platform (linux-x64 or linux-arm64). Example: --build-arg LLAMA_BACKENDS="linux-x64 linux-x64-cuda".
ARG LLAMA_BACKENDS=""
RUN keep="${LLAMA_BACKENDS:-$(node -p 'process.platform + "-" + process.arch')}" \
 && for dir in node_modules/@node-llama-cpp/*; do \
      case " ${keep} " in *" ${dir##*/} "*) ;; *) rm -rf "${dir}" ;; esac; \
    done

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOME=/var/lib/assistd \
    ASSISTD_HOST=0.0.0.0 \
    ASSISTD_PORT=18789 \
    ASSISTD_DATA_DIR=/var/lib/assistd \
    PATH=/opt/assistant/bin:${PATH}
RUN groupadd --system --gid 10001 assistd \
 && useradd --system --uid 10001 --gid assistd --home-dir /var/lib/assistd \
      --no-create-home --shell /usr/sbin/nologin assistd \
 && mkdir -p /opt/assistant/bin /opt/models /var/log/assistd /var/lib/assistd \
 && chown assistd:assistd /var/log/assistd /var/lib/assistd
WORKDIR /opt/assistant
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# `init-service` is on the PATH and at the path the runbook uses.
RUN ln -s ../dist/init-service.js /opt/assistant/bin/init-service \
 && ln -s ../dist/main.js /opt/assistant/bin/assistd
USER 10001:10001
EXPOSE 18789
VOLUME ["/opt/models", "/var/log/assistd", "/var/lib/assistd"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/opt/assistant/dist/healthcheck.js"]
# A non-loopback host needs TLS (--tls-cert/--tls-key) or --tls-terminated-by-proxy: the server
# refuses to start on plain HTTP otherwise, and says so.
ENTRYPOINT ["init-service"]
CMD []
