"""agents.common.devices: device choice, bf16 autocast with float32 outputs,
compiled steps = eager."""

import pytest

torch = pytest.importorskip("torch")

from test_ram_agent import TINY, tiny_envs  # noqa: E402

from agents.common.devices import autocast, compile_step, resolve_device  # noqa: E402
from agents.ram.model import RAMConfig, RecurrentAttentionModel  # noqa: E402
from agents.ram.reinforce import losses, play  # noqa: E402


def test_auto_takes_an_accelerator_when_there_is_one_else_the_cpu():
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="--device must be one of auto, cpu, cuda, mps"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="--device cuda: no such device here"):
            resolve_device("cuda")


def gradients(model, episodes) -> dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    terms = losses(episodes)
    sum(terms.values()).backward()
    return {
        **{f"loss {k}": v.detach() for k, v in terms.items()},
        **{n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None},
    }


def tiny_model() -> RecurrentAttentionModel:
    torch.manual_seed(0)
    return RecurrentAttentionModel(
        (2, 4, 4), 3, RAMConfig(**{**TINY.__dict__, "reinforce_core_weight": 1.0})
    )


def test_bf16_autocast_keeps_the_outputs_in_float32_and_close_to_fp32():
    model = tiny_model()
    torch.manual_seed(1)
    full = play(tiny_envs(), model, sample_labels=False, greedy=True)
    torch.manual_seed(1)
    with autocast(torch.device("cpu"), "bf16"):
        half = play(tiny_envs(), model, sample_labels=False, greedy=True)
    for name in ("logits", "baselines", "location_log_probs", "locations"):
        assert getattr(half, name).dtype == torch.float32, name
    torch.testing.assert_close(half.logits, full.logits, atol=0.05, rtol=0.05)
    assert not torch.equal(half.logits, full.logits)  # bf16 was really used


def test_a_compiled_step_gives_the_eager_losses_and_gradients(capsys):
    eager, compiled = tiny_model(), tiny_model()
    compile_step(compiled)
    for episode_seed in (1, 2):  # the second call runs the cached compiled code
        torch.manual_seed(episode_seed)
        expected = gradients(eager, play(tiny_envs(), eager, sample_labels=False))
        torch.manual_seed(episode_seed)
        got = gradients(compiled, play(tiny_envs(), compiled, sample_labels=False))
        assert set(got) == set(expected)
        for name in expected:
            torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)
    assert "not available" not in capsys.readouterr().out  # compiled, not the fallback


def test_compile_falls_back_to_eager_with_one_line(capsys, monkeypatch):
    def broken(function, **kwargs):
        def fail(*args):
            raise RuntimeError("no C compiler\nmore detail")

        return fail

    monkeypatch.setattr(torch, "compile", broken)
    model = tiny_model()
    compile_step(model)
    episodes = play(tiny_envs(), model, sample_labels=False)
    assert episodes.logits.shape == (6, 3)
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        "torch.compile is not available here (RuntimeError: no C compiler); the model runs eagerly"
    ]
