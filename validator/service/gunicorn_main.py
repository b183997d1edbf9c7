"""``python -m validator.service.gunicorn_main [gunicorn arguments]``: gunicorn, once the settings are checked.

gunicorn reads ``WEB_CONCURRENCY`` itself when it is imported, before any of our code (gunicorn.conf.py) runs, so
``gunicorn -c gunicorn.conf.py ...`` with a non-integer ``WEB_CONCURRENCY`` stops with a Python traceback. This entry
point checks every setting first (validator.service.settings, as gunicorn.conf.py does) and, on any problem, prints
each as ``validator: refusing to start: ...`` (JSON lines, as under gunicorn) and exits with code 2; otherwise it
runs gunicorn with the same arguments, exactly as the ``gunicorn`` command would.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from validator.service.settings import read_all, refuse

    args = sys.argv[1:] if argv is None else list(argv)
    _settings, _server, problems = read_all(argv=["gunicorn", *args])
    if problems:
        refuse(problems, json_lines=True)
    from gunicorn.app.wsgiapp import run

    sys.argv = ["gunicorn", *args]
    run()


if __name__ == "__main__":
    main()
