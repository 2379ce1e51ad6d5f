"""Speaker-relative emotion: the prosody features, the running reference, the trainer's draws and the model inputs."""
import numpy as np
import pytest
import torch

from merit import speaker_reference as sr
from merit.config import SERHeadConfig
from merit.heads import ReferenceInputs, SpeakerReferenceBranch

RATE = 16000


def harmonic(f0: float, seconds: float = 3.0, amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    """A voiced test signal: harmonics of `f0` with a 4 Hz syllable envelope and a little noise."""
    t = np.arange(int(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 10))
    env = 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
    noise = np.random.default_rng(seed).standard_normal(t.size) * 1e-3
    return (amplitude * env * x / np.abs(x).max() + noise).astype(np.float32)


def test_pitch_and_level_are_measured_in_semitones_and_decibels():
    low, high = sr.prosody(harmonic(120.0)), sr.prosody(harmonic(240.0))
    assert low[0] == pytest.approx(12 * np.log2(1.2), abs=0.2)
    assert high[0] - low[0] == pytest.approx(12.0, abs=0.3)  # one octave
    louder = sr.prosody(harmonic(120.0, amplitude=0.2))
    assert louder[4] - low[4] == pytest.approx(20 * np.log10(2), abs=0.05)  # level follows gain exactly
    assert louder[0] == pytest.approx(low[0], abs=0.01)  # pitch does not


def test_silence_and_short_input_have_no_features_and_cannot_enter_a_reference():
    vec, ok = sr.prosody_and_validity(np.zeros(48000, np.float32))
    assert not ok and not vec.any()
    vec, ok = sr.prosody_and_validity(harmonic(150.0)[:300])
    assert not ok and not vec.any()
    assert sr.prosody_and_validity(harmonic(150.0))[1]


def test_reference_is_the_mean_and_spread_of_its_segments_with_decay():
    a, b = np.full(sr.NUM_FEATURES, 1.0), np.full(sr.NUM_FEATURES, 3.0)
    ref, weight = sr.reference_inputs([a, b], half_life_s=1e9)
    assert weight == pytest.approx(2.0)
    np.testing.assert_allclose(ref[:sr.NUM_FEATURES], 2.0, rtol=1e-6)
    np.testing.assert_allclose(ref[sr.NUM_FEATURES:], 1.0, rtol=1e-6)
    # a half-life of one segment: the older one counts half
    ref, weight = sr.reference_inputs([a, b], half_life_s=sr.SEGMENT_SECONDS)
    assert weight == pytest.approx(1.5)
    np.testing.assert_allclose(ref[:sr.NUM_FEATURES], (0.5 * 1 + 3) / 1.5, rtol=1e-6)
    assert sr.no_reference()[1] == 0.0


def test_evaluation_references_come_from_other_utterances_of_the_same_speaker():
    items = [{"speaker": "s1", "utt": "u1", "emotion": "neutral"}, {"speaker": "s1", "utt": "u1", "emotion": "neutral"},
             {"speaker": "s1", "utt": "u2", "emotion": "angry"}, {"speaker": "s2", "utt": "u3", "emotion": "sad"}]
    vectors = np.arange(4, dtype=float)[:, None] * np.ones((4, sr.NUM_FEATURES))
    refs, weights = sr.references_for(items, vectors, np.ones(4, bool), n=5, seed=0)
    # u1's two mixtures may only use u2; u2 uses both u1 mixtures; s2 has nobody else
    np.testing.assert_allclose(refs[0, :sr.NUM_FEATURES], 2.0)
    np.testing.assert_allclose(refs[2, :sr.NUM_FEATURES], 0.5, atol=0.01)  # the older segment decays a little
    np.testing.assert_allclose(weights, [1.0, 1.0, 2.0, 0.0], atol=0.01)
    _, skewed = sr.references_for(items, vectors, np.ones(4, bool), n=5, seed=0, only_emotion="angry")
    assert list(skewed) == [1.0, 1.0, 0.0, 0.0]


def branch(p: int = sr.NUM_FEATURES) -> SpeakerReferenceBranch:
    cfg = SERHeadConfig(speaker_reference=True, reference_hidden=8, prosody_mean=[0.0] * p, prosody_scale=[1.0] * p)
    return SpeakerReferenceBranch(cfg)


def test_a_new_branch_leaves_the_logits_alone_and_weight_zero_hides_the_reference():
    b = branch()
    logits = torch.randn(3, 4)
    prosody, ref = torch.randn(3, sr.NUM_FEATURES), torch.randn(3, 2 * sr.NUM_FEATURES)
    torch.testing.assert_close(b(logits, prosody, ref, torch.tensor([0.0, 2.0, 5.0])), logits)
    for p in b.parameters():
        torch.nn.init.normal_(p)
    none = torch.zeros(3)
    # without a reference the head's logits come out unchanged, whatever the window's prosody
    torch.testing.assert_close(b(logits, prosody, ref, none), logits)
    torch.testing.assert_close(b(logits, torch.randn_like(prosody), torch.randn_like(ref), none), logits)
    assert not torch.allclose(b(logits, prosody, ref, torch.full((3,), 4.0)), b(logits, prosody, ref, none))


def test_without_reference_inputs_a_reference_model_is_its_base_model():
    from merit.fixtures import fixture_config, randomise_reference_branch
    from merit.factory import build_model

    model = build_model(fixture_config()).eval()
    randomise_reference_branch(model, 0)
    x = torch.randn(2, 16000)
    none = ReferenceInputs(torch.randn(2, sr.NUM_FEATURES), torch.randn(2, 2 * sr.NUM_FEATURES), torch.zeros(2))
    some = ReferenceInputs(none.prosody, none.speaker_ref, torch.tensor([3.0, 0.0]))
    with torch.no_grad():
        alone, judged, explicit = model(x).emotion_logits, model(x, some).emotion_logits, model(x, none).emotion_logits
    torch.testing.assert_close(alone, explicit)
    torch.testing.assert_close(judged[1], alone[1])  # weight 0: judged alone
    assert not torch.allclose(judged[0], alone[0])
