"""Cross-prompt consistency: replays of a clip's codes from its own frame, other prompts and shuffled codes."""

from fake_world import fake_clip, texture
from genie_play.consistency import consistency


def test_consistency_on_tiny_weights(tiny_weights):
    clips = [fake_clip([1, 0, 1], seed=s) for s in (1, 2, 3)]
    result = consistency(tiny_weights, clips, [texture(9)], device="cpu", batch=2)
    assert result["clips"] == 3 and result["frames"] == 4
    for key in ("own", "other", "shuffled", "other_vs_own"):
        assert 0.0 <= result[key]["all"] <= 1.0 and result[key]["steps"] == 9
    assert len(result["other_per_prompt"]) == 1
