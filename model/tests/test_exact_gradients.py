"""The conv -> GELU -> transpose backward that ends every wav2vec2 conv block gets exact weight gradients in training."""
import torch
import torch.nn.functional as F

from merit.exact_gradients import exact_conv_gradients


def conv_gelu_transpose_weight_grad(dtype: torch.dtype) -> torch.Tensor:
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(16, 16, 2, stride=2, bias=False).to(dtype)
    x = torch.randn(4, 16, 48).to(dtype)
    grad = torch.randn(4, 24, 16).to(dtype)  # contiguous as [B, T, C]: non-contiguous for the conv's [B, C, T]
    F.gelu(conv(x)).transpose(1, 2).backward(grad)
    return conv.weight.grad


def test_weight_gradients_match_a_float64_reference_on_every_call():
    reference = conv_gelu_transpose_weight_grad(torch.float64)
    with exact_conv_gradients():
        for _ in range(3):  # the broken kernel returned different garbage from call to call
            got = conv_gelu_transpose_weight_grad(torch.float32)
            torch.testing.assert_close(got.double(), reference, rtol=1e-4, atol=1e-4)


def test_the_previous_backend_setting_comes_back():
    before = torch.backends.mkldnn.enabled
    with exact_conv_gradients():
        assert not torch.backends.mkldnn.enabled
    assert torch.backends.mkldnn.enabled == before
