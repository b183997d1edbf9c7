"""The benchmark's baseline: the cheapest honest webhook.

A bare WSGI app (no framework) that reads the request body, parses it with orjson and answers the small JSON a
passing validation would answer. ``bench/run.py`` serves it with exactly the same gunicorn command and settings as
the real service, so the ratio service/bare isolates the cost of the validation itself.

    gunicorn -c gunicorn.conf.py 'bench.bare_app:app'
"""

import orjson

_ANSWER = {"pass": True, "issues": {}, "globalIssues": []}


def app(environ, start_response):
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = stream.read(length) if length > 0 else stream.read()
    status = "200 OK"
    if environ.get("REQUEST_METHOD") == "POST":
        try:
            orjson.loads(body)
            out = orjson.dumps(_ANSWER)
        except orjson.JSONDecodeError:
            status, out = "400 Bad Request", b'{"error":"invalid JSON"}'
    else:  # GET anything: the readiness probe
        out = orjson.dumps(_ANSWER)
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
    return [out]
