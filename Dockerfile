# duet as a container: one process, SQLite in /data unless DUET_DATABASE_URL points elsewhere.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DUET_HOST=0.0.0.0 DUET_PORT=8000 DUET_DATA_DIR=/data

# av and aiortc ship manylinux wheels with their codecs; nothing to compile.
WORKDIR /srv/duet
COPY pyproject.toml README.md ./
COPY app ./app
COPY signaling ./signaling
COPY media ./media
COPY web ./web
RUN pip install --no-cache-dir '.[postgres]' \
 && useradd --system --uid 10001 --home-dir /data duet \
 && mkdir -p /data && chown duet /data

USER duet
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"DUET_PORT\"]}/healthz')"
# In production set DUET_ENV=production, DUET_SECRET_KEY, DUET_PUBLIC_URL and DUET_ICE_SERVERS.
CMD ["duet", "serve"]
