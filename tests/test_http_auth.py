"""Authentication over real HTTP: gunicorn started from the Procfile's command (tests/support/servers.py).

One instance serves the whole module. Its ``SCALE_CALLBACK_AUTH_KEY`` has spaces around both keys, so every
"accepted" test also proves that the keys are trimmed. Start-up without a key (refused) and with the development
switch (loud warning) each need their own process.
"""
from __future__ import annotations


import pytest
import requests

from tests.support.servers import refused_start, start_service, wait_ready

LIVE = "live-key-0123456789"
TEST = "test-key-abcdefghij"
BODY = {"task": {"task_id": "t-auth", "type": "imageannotation", "params": {"geometries": {}}},
        "response": {"annotations": []}}


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    s = start_service(tmp_path_factory.mktemp("auth"), keys=(LIVE, TEST),
                      env={"SCALE_CALLBACK_AUTH_KEY": f"  {LIVE} ,\t{TEST}  , "})
    yield s
    s.stop()


def assert_rejected(r: requests.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"error"}
    assert "scale-callback-auth" in r.json()["error"]
    for key in (LIVE, TEST):
        assert key not in r.text
        assert key[:8] not in r.text
    assert "Traceback" not in r.text


@pytest.mark.parametrize("key", [LIVE, TEST], ids=["live", "test"])
def test_both_configured_keys_are_accepted(svc, key):
    r = svc.post(BODY, key=key)
    assert r.status_code == 200, r.text
    assert r.json() == {"pass": True, "issues": {}, "globalIssues": []}


@pytest.mark.parametrize("candidate", [
    "wrong-key",
    LIVE[:-1],                 # a prefix of a key
    LIVE[:1],
    LIVE + "x",                # a key plus extra characters
    LIVE + TEST,
    f"{LIVE},{TEST}",          # the raw variable value is not a key
    LIVE.upper(),
    "",                        # empty header
], ids=["wrong", "prefix", "one-char", "suffix", "concatenated", "both-with-comma", "upper-case", "empty"])
def test_wrong_keys_are_rejected(svc, candidate):
    assert_rejected(svc.post(BODY, key=candidate))


def test_missing_header_is_rejected(svc):
    assert_rejected(svc.post(BODY, key=None))


def test_other_auth_headers_do_not_count(svc):
    r = svc.post(BODY, key=None, headers={"authorization": f"Bearer {LIVE}", "x-scale-callback-auth": LIVE})
    assert_rejected(r)


@pytest.mark.parametrize("name", ["Scale-Callback-Auth", "SCALE-CALLBACK-AUTH", "scale-CALLBACK-auth"])
def test_header_name_is_case_insensitive(svc, name):
    r = svc.post(BODY, key=None, headers={name: TEST})
    assert r.status_code == 200, r.text


def test_rejection_happens_before_the_body_is_parsed(svc):
    # a bad body with a bad key: 401, not 400 (an unauthenticated caller learns nothing about our parsing)
    assert_rejected(svc.post(b"not json", key="wrong"))


def test_keys_never_reach_the_logs(svc):
    svc.post(BODY, key=LIVE)
    svc.post(BODY, key=LIVE + "-nearly")
    logs = svc.logs_once(0, '"msg":"validation"')
    assert "validation" in logs
    for key in (LIVE, TEST):
        assert key not in logs
    assert "nearly" not in logs


# -- start-up ---------------------------------------------------------------------------------------------------

def test_refuses_to_start_without_a_key(tmp_path):
    out = refused_start(tmp_path, "no SCALE_CALLBACK_AUTH_KEY", keys=())
    assert "SCALE_CALLBACK_AUTH_KEY" in out
    assert "refusing to start" in out


def test_blank_key_variable_counts_as_no_key(tmp_path):
    out = refused_start(tmp_path, "only blanks in SCALE_CALLBACK_AUTH_KEY", keys=(),
                        env={"SCALE_CALLBACK_AUTH_KEY": " , ,"})
    assert "SCALE_CALLBACK_AUTH_KEY" in out


def test_development_switch_runs_without_auth_and_says_so(tmp_path):
    s = start_service(tmp_path, keys=(), env={"VALIDATOR_INSECURE_NO_AUTH": "1"}, wait=False)
    try:
        wait_ready(s)
        assert s.post(BODY, key=None).status_code == 200
        assert s.post(BODY, key="anything").status_code == 200
        out = s.logs()
        assert "AUTHENTICATION IS OFF" in out
        warning = next(line for line in out.splitlines() if "AUTHENTICATION IS OFF" in line)
        assert '"level":"warning"' in warning
    finally:
        assert s.stop() == 0
