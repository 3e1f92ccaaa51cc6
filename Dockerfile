# duet as a container: one process, SQLite in /data unless DUET_DATABASE_URL points elsewhere.
# The image gets duet's wheel installed exactly as `make smoke` installs it in a fresh virtualenv
# (scripts/smoke.py build_command / install_command; tests/test_packaging.py keeps the lines equal).

FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY signaling ./signaling
COPY media ./media
COPY web ./web
RUN python -m pip install --no-cache-dir build \
 && python -m build --outdir /dist .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DUET_ENV=production DUET_HOST=0.0.0.0 DUET_PORT=8000 DUET_DATA_DIR=/data

# av and aiortc ship manylinux wheels with their codecs; nothing to compile. The wheel alone first,
# no extras (what the smoke test ran), then its `postgres` extra (asyncpg, for
# DUET_DATABASE_URL=postgresql+asyncpg://…; SQLite needs nothing more).
COPY --from=wheel /dist/ /tmp/dist/
RUN python -m pip install /tmp/dist/duet_video-*.whl \
 && python -m pip install "$(ls /tmp/dist/duet_video-*.whl)[postgres]" \
 && rm -rf /tmp/dist \
 && useradd --system --uid 10001 --home-dir /data duet \
 && mkdir -p /data && chown duet /data

USER duet
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"DUET_PORT\"]}/healthz')"
# DUET_ENV=production refuses to start without DUET_SECRET_KEY; set it, DUET_PUBLIC_URL and
# DUET_ICE_SERVERS (and DUET_TURN_URLS, DUET_TURN_SECRET with a TURN relay).
CMD ["duet", "serve"]
