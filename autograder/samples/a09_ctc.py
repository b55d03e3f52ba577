"""Wrong answers for a09 (each a whole solution cell) and the status each must get.

Each variant is the answer key's own solution cell (read from the master notebook) with one classic CTC mistake
put in: the wrong 'mean', a skip rule that merges repeated labels, a log-sum-exp that is right in value but nan in
gradient, one that underflows, ignored input lengths, ignored ``zero_infinity``, the wrong unbatched shape, and
torch's own ``logsumexp`` or ``ctc_loss`` (forbidden).
"""
from pathlib import Path

from autograder import notebooks

_MASTER = Path(__file__).resolve().parents[2] / "course" / "source" / "a09_ctc" / "a09_ctc.ipynb"
_KEY = notebooks.solutions_by_grade_id(notebooks.read(_MASTER))["sol_ctc_loss"]


def _variant(*edits: tuple[str, str]) -> str:
    """The key's cell with each (old, new) replaced; old must occur exactly once."""
    source = _KEY
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


_NAIVE_LSE = '''        s = 0
        for x in terms:
            s = s + torch.exp(x)
        return torch.log(s)  # no max shift: exp underflows to 0 on long sequences
'''

_TORCH_LSE = '''        x = torch.stack(terms)
        dead = (x == -math.inf).all(dim=0)
        out = torch.logsumexp(torch.where(dead, torch.zeros_like(x), x), dim=0)  # torch's logsumexp: not allowed
        return torch.where(dead, torch.full_like(out, -math.inf), out)
'''

# the body of the key's nested helper _ctc_lse (inside ctc_loss, so indented by 8)
_LSE_BODY_START = "\n        m = terms[0]\n"
_LSE_BODY_END = "        return torch.where(dead, torch.full_like(s, -math.inf), m + torch.log(s))\n"


def _replace_lse(new_body: str) -> str:
    assert _KEY.count(_LSE_BODY_START) == 1 and _KEY.count(_LSE_BODY_END) == 1
    start = _KEY.index(_LSE_BODY_START) + 1
    end = _KEY.index(_LSE_BODY_END) + len(_LSE_BODY_END)
    return _KEY[:start] + new_body + _KEY[end:]


WRONG = {
    "ctc_loss": [
        (_variant(("return (loss / tl.clamp(min=1).to(dt)).mean()",
                   "return loss.mean()  # forgot to divide each loss by its target length")), "wrong"),
        (_variant(("skip[:, 2:] = ext[:, 2:] != ext[:, :-2]",
                   "skip[:, 2:] = ext[:, 2:] != blank  # skips the blank between repeated labels too")), "wrong"),
        (_variant(("s = torch.where(dead, torch.ones_like(s), s)",
                   "s = s + 0  # log(0) stays in the graph: right value, 0/0 = nan gradient")), "wrong"),
        (_replace_lse(_NAIVE_LSE), "wrong"),
        (_variant(("alpha = torch.where((t < il)[:, None], new, alpha)", "alpha = new  # input_lengths ignored")), "wrong"),
        (_variant(("    loss = torch.where(loss == math.inf, torch.zeros_like(loss), loss)",
                   "    pass  # zero_infinity ignored")), "wrong"),
        (_variant(("return loss if batched else loss[0]", "return loss  # shape (1,) for an unbatched input")), "wrong"),
        (_replace_lse(_TORCH_LSE), "forbidden"),
        ("def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction='mean', zero_infinity=False):\n"
         "    f = getattr(torch.nn.functional, 'ctc' + '_loss')  # torch's own CTC under another name\n"
         "    return f(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity)\n", "forbidden"),
    ],
    "ctc_loss_backward": [
        ("def ctc_loss_backward(grad_output, log_probs, targets, input_lengths, target_lengths, blank=0, reduction='mean',\n"
         "                      zero_infinity=False):\n"
         "    x = log_probs.detach().requires_grad_()\n"
         "    loss = ctc_loss(x, targets, input_lengths, target_lengths, blank, reduction, zero_infinity)\n"
         "    return torch.autograd.grad(loss, x, grad_output)[0]  # autograd does the backward pass\n", "forbidden"),
        ("_key_ctc_loss_backward = ctc_loss_backward\n\n\n"
         "def ctc_loss_backward(grad_output, log_probs, targets, input_lengths, target_lengths, blank=0, reduction='mean',\n"
         "                      zero_infinity=False):\n"
         "    g = _key_ctc_loss_backward(grad_output, log_probs, targets, input_lengths, target_lengths, blank, reduction,\n"
         "                               zero_infinity)\n"
         "    return g + torch.exp(log_probs) * (g != 0)  # torch's kernel convention y - gamma, not the true derivative\n", "wrong"),
    ],
}
