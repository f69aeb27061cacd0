"""The benchmark command measures what it says: latency split, FLOPs, floor ratio, batched throughput."""

import json

import pytest
from typer.testing import CliRunner

from genie_play.bench import run_benchmark
from genie_play.cli import app


def test_benchmark_reports_consistent_figures(tiny_weights):
    result = run_benchmark(tiny_weights, device="cpu", steps=4, batches=(1, 2), warmup=1)
    assert result["device"] == "cpu"
    assert 0 < result["p50_ms"] <= result["p95_ms"]
    assert result["dynamics_p50_ms"] > 0 and result["decode_p50_ms"] > 0 and result["settle_p50_ms"] > 0
    assert result["step_gflops"] > 0 and result["matmul_peak_gflops"] > 0
    assert result["flop_floor_ms"] == pytest.approx(result["step_gflops"] / result["matmul_peak_gflops"] * 1000)
    assert result["latency_over_floor"] == pytest.approx(result["p50_ms"] / result["flop_floor_ms"])
    assert set(result["batched_fps"]) == {"1", "2"} and all(v > 0 for v in result["batched_fps"].values())
    assert result["peak_rss_mb"] > 0


def test_bench_command_prints_json(tiny_weights):
    out = CliRunner().invoke(app, ["bench", "--weights", str(tiny_weights), "--device", "cpu", "--steps", "3",
                                   "--batches", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["maskgit_steps"] >= 1


def test_more_maskgit_steps_cost_more_flops(tiny_weights):
    few = run_benchmark(tiny_weights, device="cpu", steps=2, batches=(1,), warmup=1, maskgit_steps=1)
    many = run_benchmark(tiny_weights, device="cpu", steps=2, batches=(1,), warmup=1, maskgit_steps=4)
    assert many["step_gflops"] > few["step_gflops"]
