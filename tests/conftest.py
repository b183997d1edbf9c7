import pytest

from tests.support.servers import start_service


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    """The service under gunicorn (Procfile command), default config, two accepted keys."""
    svc = start_service(tmp_path_factory.mktemp("service"))
    yield svc
    svc.stop()
