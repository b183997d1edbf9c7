"""The HTTP service: WSGI app, authentication, settings from the environment, lifecycle, logs, metrics."""
