"""Batched VAEs on real data (symrep.realdata): models, trainer, held-out metrics, Frechet
distance and the shipped feature networks."""

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from symrep.realdata import features as features_module
from symrep.realdata import frechet
from symrep.realdata.evaluation import generate, heldout_metrics
from symrep.realdata.features import FeatureNetwork, feature_network, load_feature_network
from symrep.realdata.frechet import frechet_distance, frechet_distances, resolve_features
from symrep.realdata.training import train_vaes
from symrep.realdata.vae import LinearRealVAE, make_vae
from symrep.simulate.data import sample_scm

SHAPES = {"mlp": (1, 4, 4), "conv": (3, 8, 8), "linear": (1, 4, 4)}


@pytest.fixture(scope="module")
def digits():
    return torch.tensor(load_digits().data / 16.0, dtype=torch.float32)


def _low_rank_data(P, N, seed=0):
    """Pixels in [0, 1] driven by two latent factors plus a little noise."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((P, 2))
    A = rng.standard_normal((2, N))
    return torch.tensor(1 / (1 + np.exp(-(z @ A))) + 0.05 * rng.standard_normal((P, N)),
                        dtype=torch.float32)


@pytest.mark.parametrize("kind", ["mlp", "conv", "linear"])
def test_forward_shapes(kind):
    shape = SHAPES[kind]
    N = math.prod(shape)
    model = make_vae(kind, shape, 3, latent=5)
    for X in (torch.rand(7, N), torch.rand(3, 7, N)):
        mean, logvar = model.encode(X)
        assert mean.shape == logvar.shape == (3, 7, 5)
        assert model.decode(mean).shape == model(X).shape == (3, 7, N)
        assert model.sample_losses(X, torch.ones(3)).shape == (3, 7)
        assert model.loss(X, 1.0).shape == (3,)


def test_default_sizes_follow_the_paper():
    mlp = make_vae("mlp", 784, 1)
    assert (mlp.hidden, mlp.latent) == (128, 2)
    assert mlp.enc.weight.shape == (1, 784, 128) and mlp.dec_out.weight.shape == (1, 128, 784)
    conv = make_vae("conv", (3, 32, 32), 1)
    assert conv.latent == 128 and conv.enc_mean.weight.shape == (1, 4096, 128)
    assert conv.conv1.weight.shape == (1, 32, 3, 4, 4)


def test_make_vae_rejects_bad_input():
    with pytest.raises(ValueError, match="kind = 'cnn'.*mlp, conv, linear"):
        make_vae("cnn", 16, 1)
    with pytest.raises(ValueError, match="input_shape.*divisible by 4"):
        make_vae("conv", (3, 6, 8), 1)
    with pytest.raises(ValueError, match="input_shape"):
        make_vae("conv", 48, 1)
    with pytest.raises(ValueError, match="n_runs"):
        make_vae("mlp", 16, 0)
    with pytest.raises(ValueError, match="hidden"):
        make_vae("linear", 16, 1, hidden=8)
    with pytest.raises(ValueError, match="seed"):
        make_vae("mlp", 16, 2, seed=[1, 2, 3])


@pytest.mark.parametrize("kind", ["mlp", "conv", "linear"])
def test_batched_run_equals_the_run_alone(kind):
    shape = SHAPES[kind]
    start = dict(make_vae(kind, shape, 1, seed=7).named_parameters())
    batch_start = dict(make_vae(kind, shape, 3, seed=[3, 7, 5]).named_parameters())
    for name, value in start.items():
        assert torch.equal(batch_start[name][1], value[0]), name
    X = torch.rand(40, math.prod(shape), generator=torch.Generator().manual_seed(1))
    kw = dict(kind=kind, image_shape=shape, epochs=3, batch_size=16, lr=1e-3, device="cpu")
    batched = train_vaes(X, [0.5, 2.0], seeds=(3, 7), **kw)
    alone = train_vaes(X, [2.0], seeds=(7,), **kw)
    assert batched.betas.tolist() == [0.5, 0.5, 2.0, 2.0]
    assert batched.seeds.tolist() == [3, 7, 3, 7]
    trained = dict(batched.model.named_parameters())
    for name, value in alone.model.named_parameters():
        # Grouped and single convolutions round differently (~1e-7), and Adam's
        # normalised steps carry such differences on: compare with how far training went.
        moved = float((value[0] - start[name][0]).detach().abs().max())
        diff = float((trained[name][3] - value[0]).detach().abs().max())
        assert moved > 1e-3 and diff <= 1e-2 * moved, name
    # a run with another seed did train differently (the comparison can fail)
    assert not torch.allclose(trained[name][1], trained[name][3])
    np.testing.assert_allclose(batched.loss[:, 3], alone.loss[:, 0], rtol=1e-5)


@pytest.mark.parametrize("kind", ["mlp", "conv", "linear"])
def test_trainer_reduces_the_training_loss(kind):
    shape = SHAPES[kind]
    X = _low_rank_data(128, math.prod(shape))
    result = train_vaes(X, [0.1, 1.0], kind=kind, image_shape=shape, epochs=15,
                        batch_size=32, lr=1e-2, device="cpu")
    assert result.loss.shape == (15, 2)
    assert np.all(result.loss[-1] < 0.9 * result.loss[0])


def test_trainer_rejects_bad_input():
    X = torch.rand(10, 16)
    cases = [(dict(betas=[1.0, 0.0]), "betas.*\\(0, inf\\)"),
             (dict(betas=[-1.0]), "betas"),
             (dict(betas=[1.0], epochs=0), "epochs"),
             (dict(betas=[1.0], batch_size=0), "batch_size"),
             (dict(betas=[1.0], lr=0.0), "lr"),
             (dict(betas=[1.0], seeds=(-1,)), "seeds"),
             (dict(betas=[1.0], kind="cnn"), "kind"),
             (dict(betas=[1.0], kind="conv"), "image_shape"),
             (dict(betas=[1.0], image_shape=(1, 3, 5)), "image_shape")]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            train_vaes(X, **kwargs)
    bad = X.clone()
    bad[2, 3] = float("nan")
    for data in (bad, torch.rand(16), torch.rand(2, 3, 4)):
        with pytest.raises(ValueError, match="X is invalid"):
            train_vaes(data, [1.0])


def test_linear_exact_loss_equals_the_closed_form():
    rng = np.random.default_rng(4)
    N, M, B = 12, 2, 9
    X = rng.standard_normal((B, N))
    W, We, logD = rng.standard_normal((N, M)), rng.standard_normal((M, N)), rng.normal(
        0, 0.5, M)
    model = LinearRealVAE(N, 1, latent=M)
    with torch.no_grad():
        model.W.copy_(torch.tensor(W[None]))
        model.W_enc.copy_(torch.tensor(We[None]))
        model.log_D.copy_(torch.tensor(logD[None]))
    beta = 0.7
    got = model.sample_losses(torch.tensor(X, dtype=torch.float32), beta)[0].detach().numpy()
    # Bias-variance form: E_q||x - W z/sqrt(N)||^2 = ||x - W mu/sqrt(N)||^2 + tr(W D W^T)/N
    D = np.exp(logD)
    mu = X @ We.T / np.sqrt(N)
    recon = ((X - mu @ W.T / np.sqrt(N)) ** 2).sum(1) + np.trace(W @ np.diag(D) @ W.T) / N
    kl = 0.5 * (D.sum() + (mu**2).sum(1) - M - logD.sum())
    np.testing.assert_allclose(got, recon / 2 + beta * kl, rtol=1e-5)
    # and the one-sample loss averages to it
    model.exact = False
    Xt = torch.tensor(X, dtype=torch.float32).expand(20000, B, N).reshape(1, -1, N)
    noise = torch.randn(1, Xt.shape[1], M, generator=torch.Generator().manual_seed(0))
    sampled = model.sample_losses(Xt, beta, noise).reshape(20000, B).mean(0).detach().numpy()
    np.testing.assert_allclose(sampled, recon / 2 + beta * kl, rtol=0.03)


def test_rate_collapses_at_large_beta_only():
    X = torch.tensor(sample_scm(P=400, N=20, rho=4, eta=0.5, seed=0)[0], dtype=torch.float32)
    X_test = torch.tensor(sample_scm(P=400, N=20, rho=4, eta=0.5, seed=1)[0],
                          dtype=torch.float32)
    result = train_vaes(X, [0.2, 500.0], kind="linear", epochs=150, batch_size=100,
                        lr=0.05, device="cpu")
    metrics = heldout_metrics(result, X_test)
    assert set(metrics) == {"reconstruction", "rate", "elbo_loss"}
    assert all(v.shape == (2,) for v in metrics.values())
    assert metrics["rate"][0] > 0.5
    assert metrics["rate"][1] < 1e-3
    # the collapsed model reconstructs nothing: ||x||^2 / 2 on average
    np.testing.assert_allclose(metrics["reconstruction"][1],
                               0.5 * float((X_test**2).sum(1).mean()), rtol=1e-2)
    assert metrics["reconstruction"][0] < 0.8 * metrics["reconstruction"][1]


def test_generate_shapes_and_seed():
    X = _low_rank_data(64, 16)
    result = train_vaes(X, [1.0, 2.0], epochs=1, device="cpu")
    a, b = generate(result, 5, seed=3), generate(result, 5, seed=3)
    assert a.shape == (2, 5, 16) and torch.equal(a, b)
    assert not torch.equal(a, generate(result, 5, seed=4))


@pytest.mark.gpu
def test_training_on_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X = _low_rank_data(64, 16)
    gpu = train_vaes(X, [1.0], kind="linear", epochs=3, device="cuda")
    cpu = train_vaes(X, [1.0], kind="linear", epochs=3, device="cpu")
    assert gpu.device.type == "cuda"
    np.testing.assert_allclose(gpu.loss, cpu.loss, rtol=1e-4)


# --- Frechet distance -------------------------------------------------------------------

def _fd(real, fake, **kw):
    return frechet_distance(real, fake, dataset="digits", image_shape=(1, 8, 8), **kw)


def test_frechet_distance_of_a_set_with_itself_is_zero(digits):
    A, B = digits[:800], digits[800:1600]
    between = _fd(A, B)
    assert between > 1.0
    assert _fd(A, A) <= 1e-9 * between


def test_frechet_distance_grows_with_a_brightness_shift(digits):
    A = digits[:600]
    values = [_fd(A, A + delta) for delta in (0.0, 0.05, 0.1, 0.2)]
    assert values[0] < 1e-9 * values[1]
    assert np.all(np.diff(values) > 0)


def test_batched_frechet_distances_match_single_ones(digits):
    A, B = digits[:500], digits[500:1000]
    fakes = torch.stack([B, A + 0.1])
    got = frechet_distances(A, fakes, dataset="digits", image_shape=(1, 8, 8))
    np.testing.assert_allclose(got, [_fd(A, B), _fd(A, A + 0.1)], rtol=1e-9)


@pytest.mark.parametrize("name, accuracy", [("digits", 0.95), ("patches", 0.4)])
def test_shipped_feature_networks(name, accuracy, digits):
    path = features_module.shipped_weights_path(name)
    assert path.stat().st_size < 200_000
    net = load_feature_network(path)
    assert net.image_shape == (1, 8, 8) and net.num_features == 64
    assert net.heldout_accuracy > accuracy
    assert net(digits[:10]).shape == (10, 64)
    assert isinstance(feature_network(name), FeatureNetwork)


def test_shipped_digits_network_classifies_digits(digits):
    labels = torch.tensor(load_digits().target)
    net = feature_network("digits")
    with torch.no_grad():
        accuracy = (net.logits(digits).argmax(1) == labels).double().mean()
    assert accuracy > 0.95


def test_without_inception_the_feature_network_is_used(monkeypatch, tmp_path):
    monkeypatch.setattr(frechet, "inception_weights_path", lambda: tmp_path / "absent.pth")
    assert not frechet.inception_available()
    assert isinstance(resolve_features("auto", "digits", (1, 8, 8)), FeatureNetwork)
    with pytest.raises(ValueError, match="features = 'inception'"):
        resolve_features("inception", "digits", (1, 8, 8))
    with pytest.raises(ValueError, match="features = 'vgg'"):
        resolve_features("vgg", "digits", (1, 8, 8))


def test_feature_network_is_trained_once_and_cached(monkeypatch, tmp_path, digits):
    monkeypatch.setenv("SYMREP_CACHE_DIR", str(tmp_path))
    labels = load_digits().target[:300]
    with pytest.raises(ValueError, match="X = None"):
        feature_network("mydigits", image_shape=(1, 8, 8))
    net = feature_network("mydigits", digits[:300], labels, (1, 8, 8))
    assert (tmp_path / "features" / "mydigits-1x8x8.pt").is_file()
    cached = feature_network("mydigits", image_shape=(1, 8, 8))
    assert torch.equal(cached(digits[:5]), net(digits[:5]))
