# scimbridge served by uvicorn on port 8000, as a non-root user.
# Without SCIMBRIDGE_DATABASE_URL it keeps a SQLite file in /var/lib/scimbridge;
# docker-compose.yml runs it on PostgreSQL and Redis instead.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system scimbridge \
    && useradd --system --gid scimbridge --no-create-home \
        --home-dir /var/lib/scimbridge --shell /usr/sbin/nologin scimbridge \
    && install --directory --owner scimbridge --group scimbridge /var/lib/scimbridge

# lxml and xmlsec install from manylinux wheels, so no compiler is needed.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .

USER scimbridge
WORKDIR /var/lib/scimbridge
ENV SCIMBRIDGE_DATABASE_URL=sqlite+aiosqlite:////var/lib/scimbridge/scimbridge.db

EXPOSE 8000

# Any HTTP status below 500 counts as healthy: without a token the SCIM
# endpoint returns 401, which still proves the application is serving.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import http.client as h, sys; c = h.HTTPConnection('127.0.0.1', 8000, timeout=3); c.request('GET', '/scim/v2/ServiceProviderConfig'); sys.exit(c.getresponse().status >= 500)"]

CMD ["scimbridge", "serve", "--host", "0.0.0.0", "--port", "8000"]
