# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir bot && touch bot/__init__.py \
    && pip install . \
    && pip uninstall -y smspva-rent-bot && rm -rf bot

COPY bot ./bot
COPY locales ./locales
# Catalogs compiled at build time; the running bot finds them up to date.
RUN python -c "from bot.i18n import compile_catalogs; compile_catalogs()" \
    && useradd --system --uid 10001 --home /app botuser \
    && mkdir -p /data && chown botuser /data

USER botuser
ENV DATABASE_PATH=/data/bot.sqlite3
VOLUME ["/data"]
CMD ["python", "-m", "bot"]
