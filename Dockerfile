# syntax=docker/dockerfile:1
# Aurora Sync image. One image, two processes:
#   worker (default CMD): Temporal worker + outbox relay + Prometheus metrics on :9100
#   API:  docker run ... node --import tsx src/api/main.ts   (REST API on :8000)
# TypeScript runs directly through tsx (a runtime dependency), so there is no build step.
FROM node:24-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so source edits do not reinstall them. `--omit=dev` drops only typescript and
# @types/*; tsx is in "dependencies". The Temporal core bridge and @swc/core (used to bundle the
# workflow code, at build time) ship prebuilt glibc binaries, so no compiler is needed.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# src/ includes src/store/migrations/*.sql, which the worker and the API apply at start-up.
COPY tsconfig.json ./
COPY src ./src
# The workflow bundle, built here so the worker never bundles at start-up (src/bundle.ts).
RUN node --import tsx src/bundle.ts

# Defaults for the container; docker-compose.yml sets the rest (POSTGRES_*, REDIS_*, TEMPORAL_ADDRESS...).
# Credentials can also come from files in SECRETS_DIR (hubspot-api-key.txt, postgres-password.txt,
# redis-password.txt), mounted read-only; they must be readable by uid 1000 (the `node` user).
ENV SECRETS_DIR=/secrets \
    METRICS_PORT=9100 \
    API_HOST=0.0.0.0 \
    API_PORT=8000

# Application files stay root-owned and read-only to the process.
USER node

# 9100: worker metrics (/metrics); 8000: REST API (when run with the API command).
EXPOSE 9100 8000

# Node runs as PID 1; both entry points handle SIGTERM/SIGINT and shut down cleanly.
# The V8 flags keep the heap near what the worker uses (src/worker.ts WORKER_NODE_FLAGS).
CMD ["node", "--max-semi-space-size=2", "--max-old-space-size=512", "--import", "tsx", "src/worker.ts"]
