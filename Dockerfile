# Jemput: slim Python base, non-root user, migrations before uvicorn, a healthcheck.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    JEMPUT_DATA_DIR=/var/lib/jemput

WORKDIR /srv/jemput
COPY pyproject.toml README.md ./
COPY app ./app
COPY visits ./visits
COPY routing ./routing
COPY migrations ./migrations
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --home-dir /var/lib/jemput --create-home jemput

USER jemput
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["sh", "-c", "jemput migrate && exec jemput serve --host 0.0.0.0 --port 8000"]
