# syntax=docker/dockerfile:1
# =============================================================================
# Hotline server (Node 20, TypeScript compiled to dist/). Two stages:
#   build   - full install (incl. typescript), `npm run build` -> dist/
#   runtime - production dependencies only, non-root, compiled JS only
# =============================================================================

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json vitest.config.ts ./
COPY src ./src
COPY tests ./tests
COPY bench ./bench
COPY prompts ./prompts
COPY data ./data
RUN npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    HOTLINE_DATA_DIR=/app/var
WORKDIR /app
# espeak-ng + sox: a knowledge-base article's short answer becomes a prompt when it is published
# (src/knowledge/tts.ts), the same pipeline as prompts/build.ts.
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng sox && rm -rf /var/lib/apt/lists/*
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --from=build --chown=root:root /app/dist/src ./dist/src
# The prompt catalogue is read relative to the compiled modules
# (dist/src/ivr -> ../../prompts), and from the repo root by tools.
COPY --from=build --chown=root:root /app/prompts/catalogue.json ./dist/prompts/catalogue.json
COPY --from=build --chown=root:root /app/prompts/catalogue.json ./prompts/catalogue.json
# Data and pages are read relative to the compiled modules too: dist/src/<area> -> ../../data
# (presets, holiday calendar, SLA policies, dispatch rules, seats) and dist/src/http -> ../web (pages).
COPY --from=build --chown=root:root /app/data ./dist/data
COPY --from=build --chown=root:root /app/src/web ./dist/src/web
# Code is root-owned and read-only for the app user; only var/ is writable
# (ticket outbox spool, HOTLINE_DATA_DIR).
RUN mkdir -p /app/var && chown node:node /app/var
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
