"""The production example (``compose.yaml``, ``docs/nginx.conf``, ``Dockerfile``) against the product.

No Docker engine runs here (nor in CI), so the file is checked for what would break it when the
code moves on: every service's command is a real ``jemput`` command line, every ``JEMPUT_``
variable is a real setting and the compose environment makes valid settings (the secret key from
the environment, PostgreSQL, trusted proxies covering the compose network), the web services are
the ones nginx balances, and the proxy accepts the forms' largest body."""

from __future__ import annotations

import ipaddress
import re
import shlex
from pathlib import Path

import pytest
import yaml

from app.cli import build_parser
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` (error when unset)."""

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env and env[name] != "":
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def _services(compose: dict, kind: str) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if s.get("command", [None, None])[:2] == ["jemput", kind]}


def test_every_jemput_command_parses(compose: dict) -> None:
    parser = build_parser()
    commands = [s["command"] for s in compose["services"].values() if s.get("command", [""])[0] == "jemput"]
    assert len(commands) == 5  # migrate, 2 web, 2 workers
    for command in commands:
        parser.parse_args(command[1:])  # SystemExit (a failure) on an unknown command or option
    # the image's default command, too
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    default = re.search(r'^CMD \["sh", "-c", "(.+)"\]$', dockerfile, re.M)
    assert default is not None
    for part in default.group(1).split("&&"):
        words = shlex.split(part.replace("exec ", ""))
        assert words[0] == "jemput"
        parser.parse_args(words[1:])


def test_two_web_processes_two_workers_after_migrating(compose: dict) -> None:
    web, workers = _services(compose, "serve"), _services(compose, "worker")
    assert len(web) == 2 and len(workers) == 2
    names = [shlex.split(" ".join(s["command"]))[-1] for s in workers.values()]
    assert len(set(names)) == 2  # each worker has its own name in the workers table
    for service in [*web.values(), *workers.values()]:
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert compose["services"]["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_compose_environment_is_valid_settings(compose: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    env = compose["services"]["web1"]["environment"]
    fields = {f"JEMPUT_{name.upper()}" for name in Settings.model_fields}
    unknown = sorted(set(env) - fields)
    assert not unknown, f"not settings: {unknown}"
    for service in [*_services(compose, "serve").values(), *_services(compose, "worker").values()]:
        assert service["environment"] == env  # one configuration for every process
    with pytest.raises(KeyError, match="JEMPUT_SECRET_KEY"):  # compose refuses to start without the shared key
        _interpolate(env["JEMPUT_SECRET_KEY"], {"POSTGRES_PASSWORD": "pw"})
    given = {"POSTGRES_PASSWORD": "pw", "JEMPUT_SECRET_KEY": "one-key-for-every-process"}
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"JEMPUT_{name.upper()}", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, _interpolate(str(value), given))
    settings = Settings()
    assert settings.resolved_database_url().startswith("postgresql+psycopg://jemput:pw@db:5432/")
    assert settings.resolved_secret_key() == "one-key-for-every-process"
    assert settings.log_format == "json"
    network = ipaddress.ip_network(settings.trusted_proxies)
    assert ipaddress.ip_address("172.18.0.5") in network  # docker's default bridge networks lie in 172.16/12
    assert settings.osrm_max_table_size == 100
    osrm = compose["services"]["osrm"]["command"]
    assert osrm[osrm.index("--max-table-size") + 1] == str(settings.osrm_max_table_size)  # the server's limit is the setting


def test_nginx_balances_the_web_services_and_takes_the_largest_form(compose: dict) -> None:
    conf = (ROOT / "docs" / "nginx.conf").read_text(encoding="utf-8")
    upstream = set(re.findall(r"^\s*server\s+([\w.-]+):(\d+);", conf, re.M))
    web = _services(compose, "serve")
    assert upstream == {(name, s["command"][s["command"].index("--port") + 1]) for name, s in web.items()}
    size = re.search(r"client_max_body_size\s+(\d+)m;", conf)
    assert size is not None and int(size.group(1)) * 1024 * 1024 > Settings.model_fields["upload_form_max_bytes"].default
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf
    assert re.search(r"location = /metrics \{\s*deny all;", conf)  # staff or localhost only, never through the public proxy
    assert "./docs/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in compose["services"]["proxy"]["volumes"]
