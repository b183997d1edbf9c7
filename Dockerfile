# The validation webhook as a container: gunicorn with gunicorn.conf.py, listening on $PORT (default 8000).
# Build: docker build -t scale-validator .    Run: see README.md ("Running the container") and docs/deployment.md.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

# A fixed, unprivileged user (numeric, so Kubernetes' runAsNonRoot can verify it).
RUN groupadd --system --gid 10001 validator \
    && useradd --system --uid 10001 --gid validator --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin validator

# The same install as the README's ./dev (the project and its dependencies from pyproject.toml), without the
# test extra and without an editable link.
COPY pyproject.toml README.md ./
COPY validator ./validator
COPY rules ./rules
RUN python -m pip install --no-cache-dir .
COPY gunicorn.conf.py Procfile ./

USER 10001:10001
EXPOSE 8000

# The Procfile's command without --bind: gunicorn.conf.py binds 0.0.0.0:$PORT itself (exec form: gunicorn's arbiter
# runs in PID 1 and gets SIGTERM directly, so the drain on SIGTERM works). validator.service.gunicorn_main checks
# the settings (WEB_CONCURRENCY included, which gunicorn reads on import) before it runs gunicorn.
CMD ["python", "-m", "validator.service.gunicorn_main", "-c", "gunicorn.conf.py", "validator.service.wsgi:app"]
