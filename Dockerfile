# syntax=docker/dockerfile:1
# One image for every workcat process: `serve` (the default command), `ingest --from pubsub`,
# `run nightly`, `worker`, `migrate --all-tenants` (a deploy step) and the others: pass the
# command as the container's arguments. Configuration is environment variables (README,
# Configuration); Cloud Run sets PORT.
#
#   docker build -t workcat .
#   docker run --rm --init -p 8080:8080 -e DATABASE_URL=… -e WORKCAT_MASTER_KEY=… workcat
#   docker run --rm --init -e DATABASE_URL=… -e WORKCAT_MASTER_KEY=… workcat run nightly --tenant acme

# Build: all dependencies, then tsc -b into each package's dist/ and the bundle the binary runs
# (packages/server/dist/workcat.mjs, scripts/bundle.mjs).
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/tenancy/package.json packages/tenancy/
COPY packages/pipeline/package.json packages/pipeline/
COPY packages/server/package.json packages/server/
# No lifecycle scripts here: the root's `prepare` (the build) runs below, once the sources are in,
# and no dependency's install script is needed to build.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
COPY scripts scripts
RUN npm run build
# What the runtime stage is made of: the list is in scripts/production-install.sh, which
# packages/server/test/ProductionInstall.test.ts runs too.
RUN sh scripts/production-install.sh copy /prod

# Runtime: the bundle and the lock file's production dependencies only.
FROM node:20-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    WORKCAT_HOME=/home/node/.workcat
WORKDIR /app
COPY --from=build /prod/ ./
RUN --mount=type=cache,target=/root/.npm sh scripts/production-install.sh install
# The application stays root's and read-only; workcat runs as the image's unprivileged `node`
# user, whose home holds WORKCAT_HOME (the embedded PostgreSQL, when DATABASE_URL is not set).
USER node
EXPOSE 8080
ENTRYPOINT ["node", "packages/server/bin/workcat.mjs"]
CMD ["serve"]
