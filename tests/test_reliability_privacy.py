"""Privacy: personal data planted in every input path never reaches the data directory.

User names, e-mail addresses, prompt text and API keys go into: generic CSV and JSONL usage files (extra
columns), every vendor log format (OpenAI, Anthropic, LiteLLM, Ollama, CodeCarbon), the labels of a
/metrics page that `monitor` scrapes, the labels of Prometheus series that `collect prometheus` reads,
and `footprint.track()`. Afterwards none of those byte strings exist in any file under the database's
directory (database, WAL, spool, reject files excepted only where the user asked for them elsewhere) or
the cache directory, and no table column holds them (DuckDB compresses strings, so both are checked).
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster_helpers import FakePrometheusAPI
from reliability_helpers import add_use_case, base_env, footprint, has_command, monitor_scraping

NAME = "Marguerite Zalewska-Personne"
EMAIL = "marguerite.zalewska@ministere-exemple.fr"
PROMPT = "PLEASE-SUMMARISE-MY-CONFIDENTIAL-MEDICAL-FILE-7731"
API_KEY = "sk-proj-9vQ2LEAKEDKEYx7Tq1ZpL0"
SECRETS = [NAME, EMAIL, PROMPT, API_KEY]
PERSONAL = {"user": NAME, "email": EMAIL, "user_email": EMAIL, "api_key": API_KEY, "prompt": PROMPT,
            "messages": [{"role": "user", "content": PROMPT, "name": NAME}],
            "metadata": {"user_api_key": API_KEY, "user_api_key_alias": NAME, "end_user": EMAIL}}
FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def leaks(root: Path) -> list[str]:
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            data = Path(dirpath, name).read_bytes()
            for secret in SECRETS:
                for encoded in (secret.encode(), secret.encode("utf-16-le"), secret.lower().encode()):
                    if encoded in data:
                        found.append(f"{Path(dirpath, name)}: {secret}")
    return found


def leaks_in_tables(db_path: Path) -> list[str]:
    from footprint.store import open_store

    found = []
    with open_store(db_path) as store:
        columns = store.execute("SELECT table_name, column_name FROM information_schema.columns "
                                "WHERE table_schema = 'main'").fetchall()
        for table, column in columns:
            for secret in SECRETS:
                hits = store.execute(
                    f'SELECT count(*) FROM "{table}" WHERE lower(CAST("{column}" AS VARCHAR)) LIKE ?',
                    [f"%{secret.lower()}%"]).fetchone()[0]
                if hits:
                    found.append(f"{table}.{column}: {secret}")
    return found


def _plant_jsonl(source: Path, target: Path) -> None:
    lines = []
    for line in source.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            if isinstance(record, dict):
                record.update(PERSONAL)
                if isinstance(record.get("message"), dict):
                    record["message"]["content"] = PROMPT
            lines.append(json.dumps(record))
    target.write_text("\n".join(lines) + "\n")


class _Metrics(http.server.BaseHTTPRequestHandler):
    count = 0

    def do_GET(self):
        _Metrics.count += 7
        body = (f'vllm:prompt_tokens_total{{model_name="m",user="{NAME}",email="{EMAIL}",api_key="{API_KEY}"}} '
                f'{_Metrics.count * 3}\n'
                f'vllm:generation_tokens_total{{model_name="m",prompt="{PROMPT}"}} {_Metrics.count}\n').encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _PersonalPrometheus(FakePrometheusAPI):
    def answer(self, path, form):
        code, body = super().answer(path, form)
        if code == 200:
            for series in body["data"]["result"]:
                series["metric"].update({"namespace": "chat", "user": NAME, "user_email": EMAIL,
                                         "api_key": API_KEY, "prompt": PROMPT})
        return code, body


@pytest.mark.skipif(not has_command("ingest"), reason="footprint ingest not merged in this build yet")
def test_no_personal_data_reaches_the_data_directory(tmp_path):
    data_dir = tmp_path / "data"
    env = base_env(data_dir / "fp.duckdb", tmp_path / "cache")
    add_use_case(env, "job")
    add_use_case(env, "chat")
    inputs = tmp_path / "inputs"
    inputs.mkdir()

    # Generic CSV and JSONL with personal columns.
    (inputs / "usage.csv").write_text(
        "timestamp,use_case,model,input_tokens,output_tokens,user,email,prompt,api_key\n"
        f'2026-07-01T10:00:00Z,job,gpt-4o,100,20,{NAME},{EMAIL},"{PROMPT}",{API_KEY}\n'
        f'2026-07-01T11:00:00Z,job,gpt-4o,10,2,{NAME},{EMAIL},"{PROMPT}",{API_KEY}\n')
    (inputs / "usage.jsonl").write_text(json.dumps({
        "timestamp": "2026-07-02T10:00:00Z", "use_case": "job", "model": "m", "input_tokens": 5,
        "output_tokens": 1, **PERSONAL}) + "\n")
    for args in (["ingest", str(inputs / "usage.csv")], ["ingest", str(inputs / "usage.jsonl")]):
        done = footprint(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
    # Every vendor format, from the ingest fixtures, with personal fields added to each record.
    vendors = {"openai_chat.jsonl": "openai", "openai_batch.jsonl": "openai", "anthropic_messages.jsonl": "anthropic",
               "ollama.jsonl": "ollama"}
    for name, fmt in vendors.items():
        _plant_jsonl(FIXTURES / name, inputs / name)
        done = footprint("ingest", str(inputs / name), "--format", fmt, "--use-case", "job", env=env)
        assert done.returncode == 0, (name, done.stderr)
    litellm = json.loads((FIXTURES / "litellm_spend_logs.json").read_text())
    for record in litellm:
        record.update(PERSONAL)
    (inputs / "litellm.json").write_text(json.dumps(litellm))
    done = footprint("ingest", str(inputs / "litellm.json"), "--format", "litellm", "--use-case", "job", env=env)
    assert done.returncode == 0, done.stderr
    emissions = (FIXTURES / "emissions.csv").read_text().splitlines()
    emissions = [emissions[0] + ",user,email,api_key"] + [
        line.replace(",chat,", ",job,", 1) + f",{NAME},{EMAIL},{API_KEY}" for line in emissions[1:] if line]
    (inputs / "emissions.csv").write_text("\n".join(emissions) + "\n")
    done = footprint("ingest", str(inputs / "emissions.csv"), "--format", "codecarbon", env=env)
    assert done.returncode == 0, done.stderr
    # A bad row with --skip-bad: the reject file lies beside the input (not in the data directory) and
    # carries no personal field either.
    (inputs / "bad.csv").write_text("timestamp,use_case,model,input_tokens,output_tokens,email\n"
                                    f"2026-07-03T10:00:00Z,job,m,-1,2,{EMAIL}\n2026-07-03T11:00:00Z,job,m,1,2,{EMAIL}\n")
    done = footprint("ingest", str(inputs / "bad.csv"), "--skip-bad", env=env)
    assert done.returncode == 0, done.stderr
    for reject in inputs.glob("*reject*"):
        assert EMAIL.encode() not in reject.read_bytes(), reject

    # monitor scraping a /metrics page whose labels carry personal data.
    with monitor_scraping(env, _Metrics, interval="0.3"):
        spool_files = list((data_dir / "fp.duckdb.spool").glob("*"))
        assert spool_files and leaks(data_dir) == []  # nothing personal in the live spool either

    # collect prometheus: series labels carry personal data.
    fake = _PersonalPrometheus(watts=200.0, tokens_per_s=10.0)
    try:
        (inputs / "map.toml").write_text('[[map]]\nmatch = {namespace = "chat"}\nuse_case = "chat"\n')
        now = int(time.time()) // 60 * 60
        done = footprint("collect", "prometheus", "--url", fake.url, "--from", str(now - 1200), "--to", str(now - 600),
                         "--step", "60", "--config", str(inputs / "map.toml"), env=env)
        assert done.returncode == 0, done.stderr
    finally:
        fake.close()

    # track(): the Python API, with a personal string where a caller might wrongly put one (not a model).
    code = ("import footprint\n"
            "with footprint.track('job', interval_s=0.2) as t:\n"
            "    t.add_tokens(input=5, output=2, requests=1, model='m')\n"
            "    import time; time.sleep(0.5)\n")
    done = subprocess.run([sys.executable, "-c", code], env={**env, "FOOTPRINT_USER": NAME}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    done = footprint("usage", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert sum(r["requests"] for r in json.loads(done.stdout)) > 10  # the planted files were ingested
    measured = json.loads(footprint("measurements", "--json", env=env).stdout)
    assert {r["source"] for r in measured} >= {"monitor", "track"}
    assert any(r["use_case"] == "chat" for r in measured)  # the cluster collection landed
    assert len(leaks(inputs)) >= 4  # the scan finds what was planted where it was planted
    assert leaks_in_tables(data_dir / "fp.duckdb") == []
    assert leaks(data_dir) == []
    assert leaks(tmp_path / "cache") == []
