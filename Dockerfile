# syntax=docker/dockerfile:1
# One image for every role: `conjure api …` (the default command), `conjure worker`, `conjure migrate`.
# Build: docker build -t conjure .     Run: docker compose up (docker-compose.yml, docs/deploy.md).
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN python -m pip install uv
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY src ./src
# Runtime dependencies only, at the versions the lock pins (the lock also pins the test extra,
# which the constraint leaves out because nothing asks for it).
RUN uv venv /opt/conjure \
 && uv pip install --python /opt/conjure/bin/python --constraint requirements.lock .

FROM python:${PYTHON_VERSION}-slim AS runtime
# Production by default: JSON logs, HSTS, and a refusal to start without JWT_SECRET.
ENV PATH=/opt/conjure/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    VAR_DIR=/var/lib/conjure \
    HEALTHCHECK_URL=http://127.0.0.1:8000/health
RUN groupadd --system --gid 10001 conjure \
 && useradd --system --uid 10001 --gid conjure --home-dir /var/lib/conjure --create-home conjure
COPY --from=build /opt/conjure /opt/conjure
USER 10001:10001
WORKDIR /var/lib/conjure
# 8000: the API; 9100: a worker's /metrics when WORKER_METRICS_PORT=9100.
EXPOSE 8000 9100
# The API answers /health; a worker sets HEALTHCHECK_URL to its /metrics (docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['HEALTHCHECK_URL'], timeout=2)"]
CMD ["conjure", "api", "--host", "0.0.0.0", "--port", "8000"]
