"""`kg.batch(..., client=...)` on a real Dask LocalCluster of 2 worker processes equals a local run.

The cluster runs in a child process of its own: Dask's worker processes and multiprocessing's
resource tracker would otherwise stay children of the test process (other tests check that a
query leaves no child behind).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import kg
from kg.cohort.synthetic import synthetic_records

pytest.importorskip("distributed")

_SCRIPT = r"""
import json, sys
from pathlib import Path
import distributed, kg
tmp = Path(sys.argv[1])
cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=50)
with distributed.Client(cluster) as client:
    on_dask = kg.batch([tmp / "cohort.ndjson"], out=tmp / "dask", chunk_size=30, client=client,
                       store=tmp / "dask-store")
    engines = client.run(lambda dask_worker: id(dask_worker.plugins["painkg-engine"].engine()))
cluster.close()
local = kg.batch([tmp / "cohort.ndjson"], out=tmp / "local", chunk_size=30, store=tmp / "local-store")
print(json.dumps({"dask": on_dask, "local": local, "engines": len(set(engines.values()))}))
"""


def test_a_dask_run_equals_a_local_run_record_for_record(tmp_path):
    (tmp_path / "cohort.ndjson").write_bytes(b"\n".join(synthetic_records(240, seed=17, bad=0.05)) + b"\n")
    run = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    for name in ("results.jsonl", "rejects.jsonl"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    on_dask, local = report["dask"], report["local"]
    assert on_dask["counts"] == local["counts"] and local["counts"]["rejects"] > 0
    assert on_dask["run"]["dask"] and on_dask["run"]["workers"] == 2
    assert report["engines"] == 2  # each worker built its own engine through the plugin
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert kg.query(count, store=tmp_path / "dask-store").rows == kg.query(count, store=tmp_path / "local-store").rows


def test_the_dask_address_of_no_scheduler_is_an_input_error(tmp_path):
    with pytest.raises(kg.InputError, match="--dask"):
        kg.batch([json.loads(next(synthetic_records(1)))], out=tmp_path, client="tcp://127.0.0.1:9")
