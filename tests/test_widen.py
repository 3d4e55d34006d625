"""lvquant.nets.widen: a trained DLA grown into a wider variant computes exactly what it did."""

import numpy as np
import pytest
import torch

from lvquant.errors import InputError
from lvquant.nets.dla import create_dla
from lvquant.nets.widen import can_widen, widen_state
from lvquant.nets.config import DLA_VARIANTS


def _trained_like(seed: int) -> torch.nn.Module:
    """A dla-small with random weights and BatchNorm statistics (as if trained)."""
    torch.manual_seed(seed)
    net = create_dla("dla-small")
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
            elif isinstance(m, torch.nn.Linear):
                m.weight.normal_(0, 0.1)
                m.bias.normal_(0, 0.1)
    return net


def _no_dropout(net: torch.nn.Module) -> torch.nn.Module:
    for m in net.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    return net


@pytest.mark.parametrize("seed", [0, 1])
def test_the_wider_network_predicts_what_the_narrow_one_did_and_can_learn_with_its_new_channels(seed):
    narrow = _trained_like(seed)
    wide_state = widen_state(narrow.state_dict(), "dla-small", "dla-small-wide", input_size=80, seed=seed)
    wide = create_dla("dla-small-wide")
    wide.load_state_dict(wide_state)
    x = torch.randn(8, 1, 80, 80, generator=torch.Generator().manual_seed(seed))
    narrow.eval(), wide.eval()
    with torch.no_grad():
        before = narrow(x)
        np.testing.assert_array_equal(wide(x).numpy(), before.numpy())  # evaluation mode: bit for bit
    _no_dropout(narrow).train(), _no_dropout(wide).train()
    np.testing.assert_allclose(wide(x).detach().numpy(), narrow(x).detach().numpy(), atol=1e-6)  # batch statistics too
    assert not torch.allclose(narrow(x), before)  # (training mode does differ from evaluation mode here)

    small, big = DLA_VARIANTS["dla-small"], DLA_VARIANTS["dla-small-wide"]
    w = wide.state_dict()["level4.tree1.conv1.weight"]  # (96, 32, 3, 3) from (64, 24, 3, 3)
    assert w.shape == (big.channels[5], big.channels[4], 3, 3)
    assert torch.all(w[:small.channels[5], small.channels[4]:] == 0)  # an old channel hears no added one
    assert torch.any(w[small.channels[5]:] != 0)  # the added channels compute something
    wide.zero_grad()
    wide(x).square().sum().backward()
    grad = dict(wide.named_parameters())["level4.tree1.conv1.weight"].grad
    assert torch.any(grad[:small.channels[5], small.channels[4]:] != 0)  # and training reaches those zero weights


def test_a_widening_keeps_the_depths_and_full_resolution_widths_and_never_narrows():
    assert can_widen(DLA_VARIANTS["dla-small"], DLA_VARIANTS["dla-small-wide"])
    assert not can_widen(DLA_VARIANTS["dla-small-wide"], DLA_VARIANTS["dla-small"])  # narrower
    assert not can_widen(DLA_VARIANTS["dla-small"], DLA_VARIANTS["dla-base"])  # other depths
    state = create_dla("dla-small").state_dict()
    with pytest.raises(InputError, match="not a widening"):
        widen_state(state, "dla-small", "dla-base", input_size=80)
    with pytest.raises(InputError, match="unknown network"):
        widen_state(state, "dla-small", "dla-huge", input_size=80)
    torch.manual_seed(3)
    expected = torch.rand(1)
    torch.manual_seed(3)
    widen_state(state, "dla-small", "dla-small-wide", input_size=80, seed=9)
    assert torch.equal(torch.rand(1), expected)  # the caller's random stream is left alone
    same = widen_state(state, "dla-small", "dla-small", input_size=80)
    assert all(torch.equal(same[k], v) for k, v in state.items())
