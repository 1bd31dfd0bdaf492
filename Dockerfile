# syntax=docker/dockerfile:1
FROM python:3.12-slim AS build
COPY --from=ghcr.io/astral-sh/uv:latest /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY bot ./bot
COPY handlers ./handlers
COPY sandbox ./sandbox
COPY templates ./templates
RUN uv sync --frozen --no-dev

FROM python:3.12-slim
RUN useradd --create-home --uid 10001 pbxgram
WORKDIR /app
COPY --from=build --chown=pbxgram:pbxgram /app /app
ENV PATH=/app/.venv/bin:$PATH PBXGRAM_DATA_DIR=/data WEB_HOST=0.0.0.0 WEB_PORT=8080
RUN mkdir -p /data && chown pbxgram:pbxgram /data
USER pbxgram
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
CMD ["pbxgram", "run"]
