"""Issue 12: the PyTorch quality peer (../shared/bench/torch_best.py), run unchanged, with its best model kept,
so that it can be scored on texts it never saw exactly as it scores its own validation text (one stream from a
zero state, batch 1, fp32).

    python peer_unseen.py --save M.pt -- <torch_best.py arguments>     trains; prints torch_best.py's JSON line
    python peer_unseen.py --load M.pt --score TEXT...                   one JSON line per text

A text is scored after dropping the characters outside the model's vocabulary (make quality gives rnn-score
the same filtered file). Like torch_best.py's validation, the first character is the zero-state input and the
other n-1 are scored.
"""
import argparse, json, math, os, runpy, sys
import torch, torch.nn as nn, torch.nn.functional as F

PEERS = os.environ.get("PEERS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))


class Net(nn.Module):
    """torch_best.py's Net, for loading its state dict (same attribute names, same forward)."""

    def __init__(self, kind, V, H, L):
        super().__init__()
        self.vocab = V
        self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](V, H, L)
        self.drop = nn.Dropout(0.0)
        self.head = nn.Linear(H, V)

    def forward(self, x, state=None):
        out, state = self.rnn(F.one_hot(x, self.vocab).float(), state)
        return self.head(self.drop(out)), state


@torch.inference_mode()
def score(model, data, chunk=2048):
    """Summed nats of data[1:] given data[:-1], one stream from a zero state (torch_charrnn.eval_sequential)."""
    inp, tgt, state, total = data[:-1], data[1:], None, 0.0
    for i in range(0, len(tgt), chunk):
        logits, state = model(inp[i:i + chunk].view(-1, 1), state)
        total += F.cross_entropy(logits.view(-1, model.vocab), tgt[i:i + chunk], reduction="sum").item()
    return total, len(tgt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--save")
    ap.add_argument("--load")
    ap.add_argument("--score", nargs="*", default=[])
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.save:
        script = os.path.join(PEERS, "torch_best.py")
        sys.argv = [script] + [x for x in a.rest if x != "--"]
        g = runpy.run_path(script, run_name="__main__")  # trains, loads its best weights, prints its JSON line
        args = g["a"]
        torch.save({"state": g["model"].state_dict(), "chars": g["chars"], "kind": args.model,
                    "hidden": args.hidden, "layers": args.layers}, a.save)
        return
    if not a.load:
        ap.error("--save or --load")
    saved = torch.load(a.load)
    chars = saved["chars"]
    model = Net(saved["kind"], len(chars), saved["hidden"], saved["layers"])
    model.load_state_dict(saved["state"])
    model.eval()
    torch.set_num_threads(2)
    stoi = {c: i for i, c in enumerate(chars)}
    for path in a.score:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        kept = [stoi[c] for c in text if c in stoi]
        nats, n = score(model, torch.tensor(kept, dtype=torch.long))
        print(json.dumps({"text": path, "chars": n, "dropped": len(text) - len(kept),
                          "bpc": round(nats / n / math.log(2), 5)}), flush=True)


if __name__ == "__main__":
    main()
