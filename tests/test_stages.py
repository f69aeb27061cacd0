"""Training-stage helpers: the LAM's clip-start padding."""

import numpy as np

from genie_play.train.stages import pad_clip_starts


def test_pad_clip_starts_keeps_the_transition_and_repeats_a_prefix():
    rng = np.random.default_rng(0)
    clips = np.arange(400 * 5).reshape(400, 5, 1, 1, 1).astype(np.int64)  # frame value = its position
    padded = pad_clip_starts(clips, rng, share=0.5)
    assert padded.shape == clips.shape
    assert np.array_equal(padded[:, -2:], clips[:, -2:])  # frames t and t+1 never change
    changed = (padded != clips).any(axis=(1, 2, 3, 4))
    assert 0.35 < changed.mean() < 0.65
    for before, after in zip(clips[changed, :, 0, 0, 0], padded[changed, :, 0, 0, 0]):
        j = int(np.argmax(after != after[0])) - 1  # the prefix 0..j all show frame j
        assert (after[: j + 1] == before[j]).all() and (after[j + 1 :] == before[j + 1 :]).all()


def test_pad_clip_starts_leaves_pairs_alone():
    clips = np.arange(20).reshape(10, 2, 1, 1, 1)
    assert np.array_equal(pad_clip_starts(clips, np.random.default_rng(1), share=1.0), clips)
