# seedfeeds: one container that builds, watches and serves. See README "Deployment".
FROM python:3.11-slim

ENV PYTHONUTF8=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SEEDFEEDS_SEEDS=/srv/seedfeeds/seeds \
    SEEDFEEDS_FEEDS=/srv/seedfeeds/feeds \
    SEEDFEEDS_STATE=/srv/seedfeeds/state/state.sqlite \
    SEEDFEEDS_HOST=0.0.0.0 \
    SEEDFEEDS_PORT=8080

WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install . \
 && useradd --system --uid 10001 --user-group --home-dir /srv/seedfeeds seedfeeds \
 && mkdir -p /srv/seedfeeds/seeds /srv/seedfeeds/feeds /srv/seedfeeds/state \
 && chown -R seedfeeds:seedfeeds /srv/seedfeeds

USER seedfeeds
WORKDIR /srv/seedfeeds
VOLUME ["/srv/seedfeeds/seeds", "/srv/seedfeeds/feeds", "/srv/seedfeeds/state"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["seedfeeds", "healthcheck"]
CMD ["seedfeeds", "serve"]
