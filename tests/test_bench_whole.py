"""``echoes bench --whole``: whole processes timed from start to exit, outputs checked."""

from __future__ import annotations


from echoes.eval.bench_whole import bench_whole, format_whole


def test_whole_process_rows_for_a_model_and_the_reference() -> None:
    res = bench_whole(minutes=0.05, repeats=1, channels=(1,), models=("fast",))
    rows = {r["process"]: r for r in res["rows"]}
    fast = rows["echoes restore --denoise always --model fast"]
    assert "error" not in fast, fast
    # 3 s of audio: the process time is mostly start-up, but it ran and wrote every frame
    assert fast["runs"] == 1 and fast["wall_s"] > 0 and fast["cpu_s"] > 0
    assert abs(fast["rtf"] - 3.0 / fast["wall_s"]) < 0.1
    assert any(k.startswith("noisereduce") for k in rows)
    md = "\n".join(format_whole(res))
    assert "| 1 | echoes restore --denoise always --model fast |" in md
