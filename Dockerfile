# invoice-worker: one image for the worker, the console and init-db (see compose.yaml).
FROM python:3.11-slim-bookworm

# weasyprint needs pango; libharfbuzz-subset0 is its fast font subsetter; the CJK fonts
# print the invoices; postgresql-client gives pg_dump/pg_restore to deploy/backup.sh.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk postgresql-client \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /srv/invoice-worker --uid 10001 invoice
WORKDIR /srv/invoice-worker
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY config ./config
COPY templates ./templates
COPY deploy ./deploy
RUN python -m venv .venv && .venv/bin/pip install --no-cache-dir -e . \
 && mkdir -p /data && chown invoice:invoice /data

ENV PATH=/srv/invoice-worker/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    INVOICE_WORKER_CONFIG=/etc/invoice-worker/config.toml
USER invoice
VOLUME ["/data"]
EXPOSE 8000
CMD ["invoice-worker", "run"]
