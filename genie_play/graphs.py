"""CUDA graphs: a step's hundreds of small kernels launched as one, so a single stream is not bound by
Python and launch overhead. Used by World for its steady state, once the KV cache is full and every
tensor shape stays the same from step to step."""

from collections.abc import Callable

import torch


class Captured:
    """fn(**inputs) recorded once as a CUDA graph and replayed.

    `inputs` are static buffers: a call copies its arguments into them (or the caller fills them in
    place), then replays. fn may also read and write other tensors that outlive the graph (the KV cache).
    The result's tensors belong to the graph and are overwritten by the next replay: clone what must last.
    `warmup` runs first on a side stream, as CUDA graph capture asks; give a side-effect-free stand-in
    when fn changes state (it must not run twice).
    """

    def __init__(self, fn: Callable, inputs: dict[str, torch.Tensor], warmup: Callable | None = None):
        self.inputs = inputs
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            (warmup or fn)(**inputs)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, capture_error_mode="thread_local"):  # the app steps from a worker thread
            self.result = fn(**inputs)

    def __call__(self, **values: torch.Tensor):
        for name, value in values.items():
            self.inputs[name].copy_(value)
        self.graph.replay()
        return self.result


class GraphSet:
    """Graphs captured on first use and kept while their settings stay the same; a new key drops them all."""

    def __init__(self):
        self.graphs: dict[str, Captured] = {}
        self.key = None

    def get(self, name: str, key, capture: Callable[[], Captured]) -> Captured:
        if key != self.key:
            self.graphs.clear()
            self.key = key
        if name not in self.graphs:
            self.graphs[name] = capture()
        return self.graphs[name]

    def clear(self) -> None:
        self.graphs.clear()
        self.key = None
