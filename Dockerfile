# The validation webhook as a container: gunicorn with gunicorn.conf.py, listening on $PORT (default 8000).
# Build: docker build -t scale-validator .    Run: see README.md ("Running the container") and docs/deployment.md.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000 \
    NUMBA_CACHE_DIR=/var/cache/validator-numba

WORKDIR /app

# A fixed, unprivileged user (numeric, so Kubernetes' runAsNonRoot can verify it), and the one directory it writes
# to besides /tmp and /dev/shm: numba's cache of the compiled geometry kernels (NUMBA_CACHE_DIR).
RUN groupadd --system --gid 10001 validator \
    && useradd --system --uid 10001 --gid validator --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin validator \
    && mkdir -p /var/cache/validator-numba && chown 10001:10001 /var/cache/validator-numba

# The same install as the README's ./dev (the project and its dependencies from pyproject.toml), without the
# test extra and without an editable link.
COPY pyproject.toml README.md ./
COPY validator ./validator
COPY rules ./rules
RUN python -m pip install --no-cache-dir .
COPY gunicorn.conf.py Procfile ./

USER 10001:10001
# The geometry's compiled kernels (validator/geometry/compiled.py), compiled once here into numba's cache: a start-up
# loads them (~0.5 s) instead of compiling them (~4 s). numba only uses a cache directory it can write to: with a
# read-only root filesystem, mount a writable volume there (docs/deployment.md, "Compiled kernels").
RUN python -c "from validator.geometry import compiled; assert compiled.status()['cached'], compiled.status()"

EXPOSE 8000

# The Procfile's command without --bind: gunicorn.conf.py binds 0.0.0.0:$PORT itself (exec form: gunicorn's arbiter
# runs in PID 1 and gets SIGTERM directly, so the drain on SIGTERM works). validator.service.gunicorn_main checks
# the settings (WEB_CONCURRENCY included, which gunicorn reads on import) before it runs gunicorn.
CMD ["python", "-m", "validator.service.gunicorn_main", "-c", "gunicorn.conf.py", "validator.service.wsgi:app"]
