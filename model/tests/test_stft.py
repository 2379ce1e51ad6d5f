import pytest
import torch

from merit.stft import ConvISTFT, ConvSTFT

LENGTHS = [400, 1601, 16000, 16123, 48000]


@pytest.fixture(scope="module")
def transforms():
    stft = ConvSTFT(400, 160)
    return stft, ConvISTFT(stft)


@pytest.mark.parametrize("n", LENGTHS)
def test_conv_stft_matches_torch_stft(transforms, n):
    stft, _ = transforms
    x = torch.randn(2, n, generator=torch.Generator().manual_seed(n))
    real, imag = stft(x)
    ref = torch.stft(x, 400, 160, 400, torch.hamming_window(400), center=True, pad_mode="reflect", return_complex=True)
    assert real.shape == (2, 201, 1 + n // 160)
    assert torch.allclose(real, ref.real, atol=1e-4)
    assert torch.allclose(imag, ref.imag, atol=1e-4)


@pytest.mark.parametrize("n", LENGTHS)
def test_istft_inverts_stft(transforms, n):
    stft, istft = transforms
    x = torch.randn(3, n, generator=torch.Generator().manual_seed(n + 1))
    y = istft(*stft(x), n)
    assert y.shape == x.shape
    assert (y - x).abs().max() < 1e-5


def test_conv_istft_matches_torch_istft_on_a_modified_spectrum(transforms):
    # A spectrum that is not the STFT of any signal exercises the overlap-add normalisation, not just invertibility.
    stft, istft = transforms
    x = torch.randn(2, 16000, generator=torch.Generator().manual_seed(7))
    real, imag = stft(x)
    gain = torch.rand(real.shape, generator=torch.Generator().manual_seed(8))
    y = istft(real * gain, imag * gain, 16000)
    window = torch.hamming_window(400)
    ref = torch.istft(torch.complex(real * gain, imag * gain), 400, 160, 400, window, center=True, length=16000)
    assert (y - ref).abs().max() < 1e-5
