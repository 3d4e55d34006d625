"""The DLA network's shapes and determinism; fold construction."""

import numpy as np
import pytest
import torch

from lvquant.errors import InputError
from lvquant.folds import contiguous_folds, kmeans, kmeans_folds, subject_descriptors
from lvquant.nets import DLA_VARIANTS, create_dla
from lvquant.nets.dla import Tree


@pytest.mark.parametrize("name", sorted(DLA_VARIANTS))
def test_every_variant_maps_80x80_to_11_outputs(name):
    torch.manual_seed(0)
    net = create_dla(name).eval()
    with torch.no_grad():
        out = net(torch.rand(3, 1, 80, 80))
    assert out.shape == (3, 11)
    assert torch.isfinite(out).all()


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="dla-small"):
        create_dla("resnet")


def test_same_seed_same_weights_and_outputs():
    torch.manual_seed(3)
    a = create_dla("dla-tiny").eval()
    torch.manual_seed(3)
    b = create_dla("dla-tiny").eval()
    x = torch.rand(2, 1, 80, 80)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


def test_tree_halves_resolution_and_aggregates_level_root():
    tree = Tree(2, 8, 16, stride=2, level_root=True)
    out = tree(torch.rand(1, 8, 20, 20))
    assert out.shape == (1, 16, 10, 10)
    # the deepest root aggregates: 2 leaves + the earlier sub-tree output + the down-sampled input
    roots = [m for m in tree.modules() if m.__class__.__name__ == "Root"]
    assert max(r.conv.in_channels for r in roots) == 16 + 16 + 16 + 8


def test_gradients_reach_the_first_layer():
    net = create_dla("dla-tiny")
    net(torch.rand(4, 1, 80, 80)).sum().backward()
    assert net.base[0].weight.grad.abs().sum() > 0


def test_kmeans_finds_separated_clusters_deterministically():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    x = np.concatenate([c + rng.normal(0, 0.5, (20, 2)) for c in centres])
    labels = kmeans(x, 3, seed=1)
    for block in range(3):
        assert len(set(labels[block * 20:(block + 1) * 20])) == 1
    assert len(set(labels)) == 3
    np.testing.assert_array_equal(labels, kmeans(x, 3, seed=1))


def test_kmeans_folds_put_each_cluster_evenly_in_every_fold():
    rng = np.random.default_rng(2)
    desc = np.concatenate([rng.normal(m * 5, 0.2, (n, 3)) for m, n in enumerate([40, 30, 35, 25, 15])])
    folds = kmeans_folds(desc, 5, 5, seed=0)
    assert folds.shape == (145,)
    counts = np.bincount(folds, minlength=5)
    assert counts.max() - counts.min() <= 1
    labels = kmeans(desc, 5, seed=0)
    for c in range(5):
        per_fold = np.bincount(folds[labels == c], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1


def test_contiguous_folds_are_blocks_of_29():
    folds = contiguous_folds(145)
    assert np.bincount(folds).tolist() == [29] * 5
    assert np.all(np.diff(folds) >= 0)
    with pytest.raises(InputError):
        contiguous_folds(3)


def test_descriptors_standardised_and_checked():
    rng = np.random.default_rng(0)
    images = rng.gamma(2.0, size=(6, 4, 16, 16))
    idx = rng.uniform(1, 10, size=(6, 4, 11))
    d = subject_descriptors(images, idx, n_bins=8)
    assert d.shape == (6, 19)
    np.testing.assert_allclose(d.mean(0), 0, atol=1e-9)
    with pytest.raises(InputError):
        subject_descriptors(images, idx[:, :3])


def test_batchnorm_folding_keeps_the_outputs():
    import copy

    import torch

    from lvquant.nets.dla import create_dla, fuse_for_inference

    torch.manual_seed(3)
    net = create_dla("dla-small")
    # Give the batch norms non-trivial statistics, as after training.
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(8, 1, 80, 80) * 2)
    net.eval()
    fused = fuse_for_inference(copy.deepcopy(net))
    x = torch.rand(5, 1, 80, 80)
    with torch.inference_mode():
        assert torch.allclose(net(x), fused(x), atol=1e-4, rtol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
