"""Metric functions on hand-checked cases, and the evaluation JSON contract."""
import math

import numpy as np
import pytest

from merit.evaluate import clustered_sign_flip, mcnemar_exact, paired_bootstrap
from merit.metrics import (
    SE_KEYS,
    confusion_matrix,
    evaluation_summary,
    f1_from_confusion,
    f1_scores,
    se_item_metrics,
    si_sdr,
    ssnr,
    stoi,
    third_octave_matrix,
)

SR = 16000


def speech_like(seconds=2.0, seed=0):
    """Amplitude-modulated harmonic signal with pauses: enough structure for STOI's envelopes."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 2  # syllable-rate envelope with silent gaps
    return (0.3 * env * x + 1e-4 * rng.standard_normal(t.size)).astype(np.float64)


def test_f1_on_a_known_confusion():
    # true angry: 3 right, 1 -> sad; true sad: 2 right, 2 -> angry; happy: 4 right; neutral: 0 items, 1 predicted
    labels = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    preds = [0, 0, 0, 1, 1, 1, 0, 0, 2, 2, 2, 2, 3]
    cm = confusion_matrix(labels, preds, 4)
    assert cm.tolist() == [[3, 1, 0, 0], [2, 2, 0, 0], [0, 0, 4, 1], [0, 0, 0, 0]]
    f = f1_from_confusion(cm)
    # angry: P 3/5, R 3/4 -> 2/3; sad: P 2/3, R 2/4 -> 4/7; happy: P 1, R 4/5 -> 8/9; neutral: 0
    expected = [2 / 3, 4 / 7, 8 / 9, 0.0]
    assert f["f1_per_class"] == pytest.approx(expected)
    assert f["f1_macro"] == pytest.approx(sum(expected) / 4)
    assert f["accuracy"] == pytest.approx(9 / 13)
    assert f["f1_micro"] == pytest.approx(9 / 13)  # single-label: micro F1 = accuracy
    assert f1_scores(labels, preds, 4)["confusion"] == cm.tolist()


def test_perfect_and_all_wrong_predictions():
    assert f1_scores([0, 1, 2, 3], [0, 1, 2, 3], 4)["f1_macro"] == 1.0
    assert f1_scores([0, 1, 2, 3], [1, 2, 3, 0], 4)["f1_macro"] == 0.0


def test_si_sdr_of_a_scaled_copy_is_huge_and_of_added_noise_matches_the_snr():
    x = speech_like()
    assert si_sdr(x, 0.3 * x) > 100
    rng = np.random.default_rng(1)
    n = rng.standard_normal(x.size)
    n *= np.linalg.norm(x - x.mean()) / np.linalg.norm(n) / math.sqrt(10)  # 10 dB below the signal
    # the projection absorbs the tiny signal/noise correlation, so within a few hundredths of a dB
    assert si_sdr(x, x + n) == pytest.approx(10.0, abs=0.2)


def test_ssnr_clamps_identical_signals_and_silent_estimates():
    x = speech_like()
    assert ssnr(x, x) == pytest.approx(35.0)
    # an all-zero estimate has noise = signal: 0 dB where there is speech, so the mean lies in [-10, 0]
    s0 = ssnr(x, np.zeros_like(x))
    assert -10.0 <= s0 <= 0.5
    rng = np.random.default_rng(2)
    noisy = x + 0.05 * rng.standard_normal(x.size)
    assert -10 < ssnr(x, noisy) < 35


def test_ssnr_improves_when_noise_is_reduced():
    x = speech_like()
    rng = np.random.default_rng(3)
    n = rng.standard_normal(x.size) * 0.05
    # 10.5 dB less noise power; frames clamped at -10 dB (the pauses) dilute the mean gain
    assert ssnr(x, x + 0.3 * n) > ssnr(x, x + n) + 3


def test_stoi_of_identical_signals_is_one_and_of_noise_is_low():
    x = speech_like(3.0)
    assert stoi(x, x) == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(4)
    # Not 0: the -15 dB clipping (y' <= (1 + 10^(15/20)) x) makes even pure noise follow the clean envelope a little;
    # the reference implementation gives ~0.35 for noise against speech too.
    assert stoi(x, rng.standard_normal(x.size)) < 0.45
    mid = stoi(x, x + 0.3 * rng.standard_normal(x.size) * np.std(x))
    assert 0.2 < mid < 0.999


def test_stoi_is_scale_invariant_and_monotonic_in_noise():
    x = speech_like(3.0)
    rng = np.random.default_rng(5)
    n = rng.standard_normal(x.size) * np.std(x)
    assert stoi(x, 5 * x) == pytest.approx(1.0, abs=1e-6)
    scores = [stoi(x, x + g * n) for g in (0.1, 0.5, 2.0)]
    assert scores[0] > scores[1] > scores[2]


def test_stoi_of_too_short_signals_follows_the_reference_convention():
    x = speech_like(0.2)  # < 30 frames of 12.8 ms after resampling
    assert stoi(x, x) == pytest.approx(1e-5)


def test_third_octave_bands_cover_150_hz_to_about_4_khz():
    obm = third_octave_matrix()
    assert obm.shape == (15, 257)
    f = np.linspace(0, 10000, 513)[:257]
    used = f[obm.any(axis=0)]
    assert 130 < used.min() < 170 and 4000 < used.max() < 5000
    assert (obm.sum(axis=0) <= 1).all()  # bands do not overlap


def test_evaluation_summary_has_the_contract_keys():
    rng = np.random.default_rng(6)
    items = []
    for i in range(12):
        x = speech_like(1.0, seed=i)
        y = x + 0.1 * rng.standard_normal(x.size)
        it = {"label": i % 4, "pred": (i + (i % 3 == 0)) % 4, "snr_db": [-5.0, 0.0, 5.0][i % 3],
              "noise_seen": i % 2 == 0}
        it.update(se_item_metrics(x, y, 0.5 * (x + y)))
        items.append(it)
    s = evaluation_summary(items)
    assert set(s) >= {"ser", "se", "by_snr", "by_noise", "items"}
    assert set(s["ser"]) == {"f1_macro", "f1_micro", "accuracy", "confusion"}
    assert set(s["se"]) == set(SE_KEYS)
    assert set(s["by_snr"]) == {"-5", "0", "5"}
    assert set(s["by_noise"]) == {"seen", "unseen"}
    assert s["items"] == 12 and s["by_snr"]["-5"]["items"] == 4
    assert s["by_condition"]["-5/seen"]["items"] == 2
    assert s["se"]["ssnr_enhanced_db"] > s["se"]["ssnr_noisy_db"]  # halfway to clean is better than noisy
    assert sum(map(sum, s["ser"]["confusion"])) == 12


def test_mcnemar_and_bootstrap():
    a = np.array([True] * 30 + [False] * 10)
    b = np.array([True] * 10 + [False] * 30)
    res = mcnemar_exact(a, b)
    assert res["a_only"] == 20 and res["b_only"] == 0
    assert res["p_value"] == pytest.approx(2 * 0.5 ** 20)
    assert mcnemar_exact(a, a)["p_value"] == 1.0
    d = np.random.default_rng(0).normal(1.0, 0.5, 200)
    boot = paired_bootstrap(lambda idx: float(np.mean(d[idx])), np.arange(d.size), rounds=300)
    assert boot["ci95"][0] > 0.8 and boot["p_value"] < 0.01


def test_clustered_tests_resample_whole_utterances():
    """Six mixtures of one utterance are one piece of evidence, not six: 10 utterances whose every mixture favours
    model A convince the item-level tests (60 discordant items) far more than the clustered ones (10 utterances)."""
    clusters = np.repeat(np.arange(20), 6)
    a = np.zeros(120, bool)
    b = np.zeros(120, bool)
    a[:60] = True      # utterances 0-9: A right on all six mixtures, B wrong
    b[60:78] = True    # utterances 10-12: B right, A wrong
    item_p = mcnemar_exact(a, b)["p_value"]
    clustered = clustered_sign_flip(a, b, clusters, rounds=4000)
    assert clustered["clusters"] == 20 and clustered["a_only"] == 60 and clustered["b_only"] == 18
    assert item_p < 1e-5 < clustered["p_value"] and clustered["p_value"] < 0.2
    # the bootstrap CI over utterances is wider than over items
    d = a.astype(float) - b.astype(float)
    by_item = paired_bootstrap(lambda idx: float(np.mean(d[idx])), np.arange(120), rounds=500)
    by_utt = paired_bootstrap(lambda idx: float(np.mean(d[idx])), clusters, rounds=500)
    width = lambda r: r["ci95"][1] - r["ci95"][0]  # noqa: E731
    assert width(by_utt) > 1.8 * width(by_item) and by_utt["clusters"] == 20


def test_temperature_scaling_recovers_the_temperature_that_made_the_probabilities():
    from merit.evaluate import fit_temperature

    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, size=(4000, 4))
    p = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(4, p=row) for row in p])
    fit = fit_temperature(true_logits * 2.0, labels)  # an over-confident model: logits twice too large
    assert fit["temperature"] == pytest.approx(2.0, rel=0.1)
    assert fit["nll_calibrated"] < fit["nll"] and fit["items"] == 4000
    assert fit_temperature(true_logits, labels)["temperature"] == pytest.approx(1.0, rel=0.1)
