# The clip bot in a container, for those who want one. OBS stays on the host (OBS_URL points at
# host.docker.internal); the clips folder and OBS's recordings folder are mounted (see compose.yaml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# ffmpeg fits clips under Discord's upload limit.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    CLIPS_DIR=/clips \
    DATABASE_URL=sqlite:///data/bot.sqlite \
    OBS_URL=ws://host.docker.internal:4455 \
    HTTP_PORT=9464 \
    LOG_FORMAT=json
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
RUN mkdir -p /clips /data && chown node:node /clips /data
USER node
VOLUME ["/clips", "/data"]
# /healthz answers on 127.0.0.1 inside the container: 200 when Discord and OBS are both connected.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) is a clean stop; give it time with `stop_grace_period`.
CMD ["node", "dist/main.js"]
