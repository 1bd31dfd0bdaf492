# syntax=docker/dockerfile:1
# Python 3.11, the oldest pbxgram supports, as CI; uv as the lock file was made with.
FROM python:3.11.14-slim-trixie AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --extra sentry --no-install-project
COPY bot ./bot
COPY handlers ./handlers
COPY sandbox ./sandbox
COPY templates ./templates
RUN uv sync --locked --no-dev --extra sentry

FROM python:3.11.14-slim-trixie
RUN useradd --create-home --uid 10001 pbxgram
WORKDIR /app
COPY --from=build --chown=pbxgram:pbxgram /app /app
ENV PATH=/app/.venv/bin:$PATH PBXGRAM_DATA_DIR=/data WEB_HOST=0.0.0.0 WEB_PORT=8080
RUN mkdir -p /data && chown pbxgram:pbxgram /data
USER pbxgram
VOLUME ["/data"]
# 8080: the web role (PBX webhooks, /healthz, /readyz, /metrics); 8081: a worker's /healthz.
EXPOSE 8080 8081
# The probe asks /healthz on the port of the role this container runs (`pbxgram web|worker|run`,
# read from PID 1's command line): WORKER_PORT (8081) for a worker, WEB_PORT (8080) otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; args = open('/proc/1/cmdline', 'rb').read().split(b'\\0'); port = (os.environ.get('WORKER_PORT') or '8081') if b'worker' in args else (os.environ.get('WEB_PORT') or '8080'); urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["pbxgram", "run"]
