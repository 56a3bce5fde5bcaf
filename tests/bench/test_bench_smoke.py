"""The benchmark keeps working: a short run of both relays (no time is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.run import main


@pytest.mark.timeout(180)
def test_benchmark_smoke_run_measures_both_relays(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["--smoke", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    modes = {r["mode"] for r in report["rows"]}
    assert modes == {"relay", "baseline"}
    for row in report["rows"]:
        assert row["forwarded_streams"] > 0
        assert row["server_cores"] > 0
        assert row["video_delivery_mean"] is not None and row["video_delivery_mean"] > 0.5
    assert report["baseline_over_relay"] is None or report["baseline_over_relay"] > 0
