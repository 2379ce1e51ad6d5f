import torch

from merit.flops import count_flops


def test_linear_counts_two_flops_per_multiply_add():
    layer = torch.nn.Linear(16, 8)
    total, by_op = count_flops(layer, torch.randn(5, 16))
    assert total == 2 * 5 * 16 * 8
    assert set(by_op) == {"addmm"}


def test_conv_and_transposed_conv():
    conv = torch.nn.Conv1d(4, 6, kernel_size=3, stride=2, bias=False)
    x = torch.randn(2, 4, 21)
    out_len = (21 - 3) // 2 + 1
    total, _ = count_flops(conv, x)
    assert total == 2 * (2 * 6 * out_len) * 4 * 3

    tconv = torch.nn.ConvTranspose1d(4, 6, kernel_size=3, stride=2, bias=False)
    total, by_op = count_flops(tconv, x)
    assert total == 2 * (2 * 4 * 21) * 6 * 3
    assert set(by_op) == {"conv_transpose"}


def test_grouped_conv_divides_by_groups():
    conv = torch.nn.Conv1d(8, 8, kernel_size=5, padding=2, groups=4, bias=False)
    total, _ = count_flops(conv, torch.randn(1, 8, 10))
    assert total == 2 * (8 * 10) * (8 // 4) * 5


def test_lstm_counts_every_step():
    lstm = torch.nn.LSTM(6, 5, batch_first=True)
    steps = 7
    total, _ = count_flops(lstm, torch.randn(1, steps, 6))
    # Per step: input and hidden projections to 4 gates.
    assert total == steps * 2 * (6 * 20 + 5 * 20)


def test_attention_batched_products():
    a = torch.randn(3, 4, 5)
    b = torch.randn(3, 5, 6)

    class M(torch.nn.Module):
        def forward(self, x):
            return torch.bmm(x, b)

    total, by_op = count_flops(M(), a)
    assert total == 2 * 3 * 4 * 5 * 6
    assert set(by_op) == {"bmm"}
