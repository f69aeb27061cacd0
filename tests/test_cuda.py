"""The CUDA path: bf16 autocast and the steady-state CUDA graphs. Skipped where there is no GPU (CI);
run on a lent GPU with `pytest tests/test_cuda.py`."""

import threading

import numpy as np
import pytest
import torch

from conftest import make_dynamics, make_lam, make_tokenizer
from genie_play.world import World

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
ACTIONS = [0, 3, 5, 1, 7, 2] * 4  # window 4: most steps run with a full cache, from the graphs


def cuda_world(**kw):
    kw.setdefault("maskgit_steps", 2)
    models = [m.cuda() for m in (make_tokenizer(), make_dynamics(), make_lam())]
    return World(*models, **kw)


def rollout(world, prompt):
    return np.stack([world.reset(prompt).copy()] + [world.step(a).copy() for a in ACTIONS])


@pytest.mark.parametrize("bf16", [True, False])
@pytest.mark.parametrize("temperature", [1.0, 0.0])
def test_graphs_give_the_frames_of_eager_cuda(prompt_array, bf16, temperature):
    kw = dict(seed=3, batch=2, bf16=bf16, temperature=temperature)
    eager = rollout(cuda_world(cuda_graphs=False, **kw), prompt_array)
    world = cuda_world(**kw)
    assert world.cuda_graphs and world.bf16 == bf16
    graphed = rollout(world, prompt_array)
    assert set(world._graphs.graphs) == {"push", "sample", "render"}
    assert np.array_equal(graphed, eager)


def test_bf16_is_the_default_on_cuda_and_close_to_fp32(prompt_array):
    assert cuda_world().bf16
    fp32 = cuda_world(bf16=False, temperature=0.0)
    bf16 = cuda_world(temperature=0.0)
    fp32.reset(prompt_array)
    bf16.reset(prompt_array)
    assert torch.equal(fp32.tokens, bf16.tokens)  # the prompt's tokens
    assert (fp32.sample_tokens(torch.zeros(1, dtype=torch.long, device="cuda"))
            == bf16.sample_tokens(torch.zeros(1, dtype=torch.long, device="cuda"))).float().mean() > 0.9


def test_graph_undo_restores_the_frame_and_memory_stays_flat(prompt_array):
    world = cuda_world(seed=1, undo_depth=4)
    world.reset(prompt_array)
    for a in ACTIONS:
        world.step(a)
    before = world.frame.copy()
    world.step(4)
    assert np.array_equal(world.undo(), before)
    allocated = []
    for steps in (100, 300):  # the undo history is full after 4
        for i in range(steps):
            world.step(i % 8)
        torch.cuda.synchronize()
        allocated.append(torch.cuda.memory_allocated())
    assert allocated[0] == allocated[1]


def test_a_large_batch_of_worlds_steps(prompt_array):
    """B * N * heads above 65,535: beyond what the fused attention kernels take."""
    world = cuda_world(batch=1024, undo_depth=0)
    world.reset(prompt_array)
    frames = [world.step_batch(np.arange(1024) % 8).copy() for _ in range(6)]
    assert frames[-1].shape == (1024, 64, 64, 3) and world._graphs.graphs


def test_graphs_captured_on_a_worker_thread(prompt_array):
    """The app steps its world on a worker thread, so that is where the graphs are captured."""
    world, frames = cuda_world(seed=5), []
    world.reset(prompt_array)
    worker = threading.Thread(target=lambda: frames.extend(world.step(a).copy() for a in ACTIONS))
    worker.start()
    worker.join()
    eager = cuda_world(seed=5, cuda_graphs=False)
    eager.reset(prompt_array)
    assert world._graphs.graphs and np.array_equal(np.stack(frames), np.stack([eager.step(a).copy() for a in ACTIONS]))
