#!/usr/bin/env python3
"""The PyTorch peer (../shared/bench/torch_charrnn.py) with its training forward pass under
torch.autocast("cpu", dtype=torch.bfloat16), as a PyTorch user turns on bf16 on a CPU. Same flags and the same
one JSON line as torch_charrnn.py; evaluation and generation stay fp32. Used by bench.py's precision group.
Usage: torch_autocast.py PEERS_DIR [torch_charrnn.py flags...]"""
import sys

sys.path.insert(0, sys.argv[1])
import torch  # noqa: E402
import torch_charrnn  # noqa: E402

plain_forward = torch_charrnn.CharRNN.forward


def autocast_forward(self, x, state=None):
    if not self.training:
        return plain_forward(self, x, state)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, state = plain_forward(self, x, state)
    # carry the state and compute the loss in fp32, as autocast's own fp32 ops would
    if isinstance(state, tuple):
        state = tuple(s.float() for s in state)
    elif state is not None:
        state = state.float()
    return logits.float(), state


torch_charrnn.CharRNN.forward = autocast_forward
sys.argv = [sys.argv[0]] + sys.argv[2:]
sys.exit(torch_charrnn.main())
