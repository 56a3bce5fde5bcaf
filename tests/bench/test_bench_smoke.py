"""The benchmark keeps working: a short run of every server it compares (no time is
asserted): the real ``hearing-server serve``, Janus's VideoRoom and the
decode-and-re-encode baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.compare import main


@pytest.mark.timeout(240)
def test_benchmark_smoke_run_measures_the_real_server_janus_and_the_baseline(
        tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    assert main(["--smoke", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    servers = [r["server"] for r in report["results"]]
    assert servers[:3] == ["hearing-server", "janus default", "janus event_loops=2"]
    assert servers[3].startswith("decode/re-encode")
    for result in report["results"]:
        assert result["points"][-1]["server_cores"] > 0
        assert result["points"][-1]["video_delivery_mean"] > 0.5
        assert result["marginal_cores_per_subscriber"] is not None
    assert len(report["ratios"]) == 3
    # the real server's REMBs to its publisher were read (what it asks of the encoder)
    assert report["results"][0]["points"][-1]["publisher_remb_kbit_min"] > 100


def test_the_publishers_remb_column_leaves_out_the_estimates_start_at_k_0() -> None:
    from bench.compare import remb_min

    def point(k: int, kbit: int | None) -> dict[str, object]:
        return {"k": k, "publisher_remb_kbit_min": kbit}

    assert remb_min([point(0, 581), point(8, 1001), point(24, 991)]) == "991 (K = 24)"
    assert remb_min([point(0, 581), point(8, None)]) == "—"
    assert remb_min([point(1, None), point(3, None)]) == "—"


def test_a_server_whose_short_window_measured_no_step_still_gets_its_ratio_line() -> None:
    from bench.compare import ratios

    def result(server: str, marginal: float | None) -> dict[str, object]:
        return {"server": server, "marginal_cores_per_subscriber": marginal}

    lines = ratios([result("hearing-server", 0.005), result("janus default", 0.0),
                    result("janus event_loops=2", 0.0025), result("unmeasured", None)])
    assert lines == [
        "janus default / hearing-server, marginal CPU per subscriber: 0.00x"
        " (hearing-server is above it)",
        "janus event_loops=2 / hearing-server, marginal CPU per subscriber: 0.50x"
        " (hearing-server is above it)"]
    assert ratios([result("hearing-server", 0.0), result("janus default", 0.003)]) == [
        "janus default / hearing-server, marginal CPU per subscriber: no ratio"
        " (hearing-server measured 0.0 in this run)"]
