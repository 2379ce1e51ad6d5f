"""Trainer, pretraining and evaluation on a tiny synthetic manifest (small configs, a few steps each)."""
import json
import os

import numpy as np
import onnx
import pytest
import soundfile as sf
import torch

from merit.backbones.tiny import TinyBackbone, num_frames
from merit.config import BackboneConfig, MoEConfig, ModelConfig, SEHeadConfig, SERHeadConfig
from merit.evaluate import evaluate_checkpoint, export_with_metrics, report
from merit.factory import load_checkpoint
from merit.pretrain import (
    MFCCFeatures,
    PretrainConfig,
    assign_units,
    kmeans,
    load_backbone_init,
    mfcc_frames,
    pretrain,
    read_manifest,
)
from merit.train import TrainRunConfig, assemble_cascade, train

SR = 16000
SMALL_BACKBONE = dict(conv_channels=16, dim=32, num_layers=2, num_heads=2, ffn_dim=64, pos_conv_kernel=8,
                      pos_conv_groups=2)


def small_config(kind="sparse_merit", **moe):
    return ModelConfig(name=f"{kind}_test", kind=kind, backbone=BackboneConfig(**SMALL_BACKBONE),
                       moe=MoEConfig(expert_hidden=32, **moe), se=SEHeadConfig(linear_dim=32, lstm_hidden=16),
                       ser=SERHeadConfig(attention_dim=16, mlp_hidden=32))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """8 utterances of 0.5 s: each class a different tone pattern, mixed with white noise at 0 dB."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    t = np.arange(SR // 2) / SR
    freqs = {"angry": 600, "sad": 150, "happy": 400, "neutral": 250}
    recs = []
    for i in range(8):
        emo = list(freqs)[i % 4]
        clean = 0.3 * np.sin(2 * np.pi * freqs[emo] * (1 + 0.05 * i) * t) * np.hanning(t.size)
        noise = rng.standard_normal(t.size) * np.sqrt(np.mean(clean ** 2))
        for kind, x in (("clean", clean), ("noisy", clean + noise)):
            os.makedirs(root / kind, exist_ok=True)
            sf.write(str(root / kind / f"u{i}.wav"), x.astype(np.float32), SR, subtype="FLOAT")
        recs.append({"noisy": f"noisy/u{i}.wav", "clean": f"clean/u{i}.wav", "emotion": emo,
                     "snr_db": [-5.0, 0.0][i % 2], "noise": "white", "speaker": f"s{i % 2}",
                     "noise_seen": i % 4 < 2, "utt": f"u{i}"})
    path = root / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return str(path)


def run_config(**kw):
    base = dict(model="sparse_merit", name="t", stage1_steps=3, stage2_steps=3, batch_size=4, crop_seconds=0.5,
                lr=3e-3, warmup_steps=1, log_every=1, checkpoint_every=3, seed=0)
    base.update(kw)
    return TrainRunConfig(**base)


def test_loss_decreases_on_a_tiny_batch(corpus, tmp_path):
    torch.manual_seed(0)
    # An overfitting check, so the same stored pairs every step: no fresh noise, augmentation or heavy dropout.
    run = run_config(stage1_steps=8, stage2_steps=8, batch_size=8, lr=1e-2, checkpoint_every=100,
                     on_the_fly_noise=False, augment=False, ser_input_dropout=0.0, ser_dropout=0.1)
    final = train(run, corpus, None, str(tmp_path / "run"), log=lambda s: None, base_config=small_config())
    hist = torch.load(final)["history"]
    first = np.mean([h["total"] for h in hist[:3]])
    last = np.mean([h["total"] for h in hist[-3:]])
    assert last < 0.85 * first, (first, last)
    assert {"se", "ser", "load_balance", "total"} <= set(hist[0])
    assert [h["stage"] for h in hist] == [1] * 8 + [2] * 8


def test_stage1_freezes_the_backbone(corpus, tmp_path):
    run = run_config(stage1_steps=2, stage2_steps=0, checkpoint_every=100)
    cfg = small_config()
    torch.manual_seed(0)
    from merit.factory import build_model

    before = {k: v.clone() for k, v in build_model(cfg).state_dict().items()}
    torch.manual_seed(0)
    final = train(run, corpus, None, str(tmp_path / "run"), log=lambda s: None, base_config=cfg)
    after = torch.load(final)["state_dict"]
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("backbone."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("se_head."))


def test_stage2_fine_tunes_the_transformer_but_keeps_the_cnn_frozen(corpus, tmp_path):
    run = run_config(stage1_steps=1, stage2_steps=2, checkpoint_every=100)
    cfg = small_config()
    torch.manual_seed(0)
    from merit.factory import build_model

    before = build_model(cfg).state_dict()
    torch.manual_seed(0)
    after = torch.load(train(run, corpus, None, str(tmp_path / "run"), log=lambda s: None, base_config=cfg))["state_dict"]
    cnn = [k for k in before if k.startswith("backbone.") and ".feature_extractor." in k]
    transformer = [k for k in before if k.startswith("backbone.") and ".transformer.layers." in k]
    assert cnn and transformer
    assert all(torch.equal(before[k], after[k]) for k in cnn)
    assert any(not torch.equal(before[k], after[k]) for k in transformer)


def test_mixing_sampler_draws_fresh_noise_and_augmentation_deterministically(corpus):
    from merit.pretrain import read_manifest
    from merit.train import MixingSampler

    recs = read_manifest(corpus)
    run = run_config(crop_seconds=0.5, clean_share=0.0)
    a = MixingSampler(recs, 4, 8000, 0, run)
    b = MixingSampler(recs, 4, 8000, 0, run)
    c1, y1, l1 = a.batch_at(3)
    c2, y2, l2 = b.batch_at(3)
    assert torch.equal(c1, c2) and torch.equal(y1, y2) and torch.equal(l1, l2)
    # the same utterance a whole epoch later gets another noise clip (2 steps of 4 = the 8 utterances)
    i = a.indices(0)[0]
    later = next((step, slot) for step in range(2, 4) for slot, j in enumerate(a.indices(step)) if j == i)
    first = a.pair(i, 0, 0)[1]
    again = a.pair(i, *later)[1]
    assert not np.allclose(first, again)
    assert all(torch.isfinite(y).all() and y.abs().max() <= 1.0 for y in (y1, c1))


def test_loop_crop_repeats_short_utterances_with_pauses_not_zeros():
    from merit.train import loop_crop

    x = np.ones(4000, np.float32)
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = loop_crop(x, 48000, rng)
        assert y.size == 48000
        silent = np.flatnonzero(np.diff(np.concatenate([[1.0], (y == 0).astype(float), [1.0]])) != 0)
        runs = np.diff(silent)[::2] if silent.size else np.array([0])
        assert y.mean() > 0.3 and runs.max() <= 0.5 * SR  # 0.25 s of speech per <= 0.75 s, no pause over 0.5 s
    long = np.arange(60000, dtype=np.float32)
    y = loop_crop(long, 48000, rng)
    assert np.all(np.diff(y) == 1)  # a long utterance is cropped, not looped


def test_resume_restores_step_optimizer_and_gives_the_same_weights(corpus, tmp_path):
    cfg = small_config()
    torch.manual_seed(0)
    straight = train(run_config(), corpus, None, str(tmp_path / "a"), log=lambda s: None, base_config=cfg)

    class Interrupt(Exception):
        pass

    def stop_at_4(line):
        if "step 4/6" in line:
            raise Interrupt

    torch.manual_seed(0)
    with pytest.raises(Interrupt):
        train(run_config(), corpus, None, str(tmp_path / "b"), log=stop_at_4, base_config=cfg)
    last = torch.load(tmp_path / "b" / "last.pt")
    assert last["step"] == 3 and len(last["history"]) == 3
    assert all(int(s["step"]) == 3 for s in last["optimizer"]["state"].values())
    assert not (tmp_path / "b" / "running.pid").exists()
    torch.manual_seed(123)  # a different global seed: the checkpoint's RNG state must win
    lines = []
    resumed = train(run_config(), corpus, None, str(tmp_path / "b"), log=lines.append, base_config=cfg)
    assert any("resumed" in s and "step 3/6" in s for s in lines)
    a, b = torch.load(straight), torch.load(resumed)
    # Same weights, optimizer moments, batches and dropout masks: the resumed run is the uninterrupted one, bit for bit.
    assert [h["total"] for h in a["history"]] == [h["total"] for h in b["history"]]
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    # a different run configuration must not silently resume someone else's checkpoint
    with pytest.raises(ValueError, match="different run configuration"):
        os.remove(tmp_path / "b" / "final.pt")
        train(run_config(lr=1e-2), corpus, None, str(tmp_path / "b"), log=lambda s: None, base_config=cfg)


def test_checkpoint_carries_its_config_and_loads_with_the_factory(corpus, tmp_path):
    torch.manual_seed(0)
    final = train(run_config(stage1_steps=1, stage2_steps=1), corpus, corpus, str(tmp_path / "r"),
                  log=lambda s: None, base_config=small_config())
    model, cfg, data, metrics = load_checkpoint(final)
    assert cfg.backbone.dim == 32 and cfg.training.lr == 3e-3
    assert cfg.training.class_weights == pytest.approx([1.0] * 4)
    assert data["training"]["stage1_steps"] == 1
    assert set(metrics["dev"]) >= {"f1_macro", "accuracy", "se_l1"}


def test_kmeans_finds_separated_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.cat([c + 0.1 * torch.randn(50, 2, generator=g) for c in centres])
    c = kmeans(x, 3, 10, g)
    assert torch.cdist(centres, c).min(1).values.max() < 0.2
    units = assign_units(x, c)
    assert all(len(set(units[i * 50:(i + 1) * 50].tolist())) == 1 for i in range(3))


@pytest.mark.parametrize("n", [400, 720, 16000, 48000, 48123])
def test_mfcc_targets_align_with_backbone_frames(n):
    assert mfcc_frames(MFCCFeatures(), torch.randn(n)).shape == (num_frames(n), 39)


def test_pretrain_unmasked_weight_adds_the_visible_frames_cross_entropy(corpus, tmp_path):
    # At initialisation every frame's cross-entropy is about ln(K), so weighting the visible frames by 1 doubles the
    # first step's loss and weight 0 (HuBERT's masked-only loss) leaves it at ~ln(K).
    first = {}
    for w in (0.0, 1.0):
        cfg = PretrainConfig(steps=1, batch_size=4, crop_seconds=0.5, num_units=8, kmeans_utterances=8,
                             kmeans_iters=5, warmup_steps=1, unmasked_weight=w)
        torch.manual_seed(0)
        first[w] = pretrain(corpus, str(tmp_path / str(w)), BackboneConfig(**SMALL_BACKBONE), cfg,
                            log=lambda s: None)["history"][0]["loss"]
    assert first[0.0] == pytest.approx(np.log(8), rel=0.25)
    assert first[1.0] / first[0.0] == pytest.approx(2.0, rel=0.2)


def test_pretrain_resumes_and_its_backbone_loads_into_the_model(corpus, tmp_path):
    cfg = PretrainConfig(steps=4, batch_size=4, crop_seconds=0.5, num_units=8, kmeans_utterances=8,
                         kmeans_iters=5, warmup_steps=1, log_every=1, checkpoint_every=2)
    bb = BackboneConfig(**SMALL_BACKBONE)

    class Interrupt(Exception):
        pass

    def stop(line):
        if "step 3/4" in line:
            raise Interrupt

    with pytest.raises(Interrupt):
        pretrain(corpus, str(tmp_path), bb, cfg, log=stop)
    assert torch.load(tmp_path / "last.pt")["step"] == 2
    lines = []
    res = pretrain(corpus, str(tmp_path), bb, cfg, log=lines.append)
    assert any("resumed" in s for s in lines) and len(res["history"]) == 4
    assert all(np.isfinite(h["loss"]) for h in res["history"])
    backbone = TinyBackbone(bb)
    load_backbone_init(backbone, str(tmp_path / "backbone.pt"))
    assert torch.equal(backbone.model.encoder.feature_projection.projection.weight,
                       res["state_dict"]["encoder.feature_projection.projection.weight"])


def test_evaluation_report_and_cascade(corpus, tmp_path):
    torch.manual_seed(0)
    kw = dict(stage1_steps=1, stage2_steps=1)
    merit = train(run_config(name="merit-sparse", **kw), corpus, None, str(tmp_path / "m"), log=lambda s: None,
                  base_config=small_config())
    se = train(run_config(model="se_only", name="se", **kw), corpus, None, str(tmp_path / "se"),
               log=lambda s: None, base_config=small_config("se_only"))
    ser = train(run_config(model="ser_only", name="ser", enhancer=se, **kw), corpus, None, str(tmp_path / "ser"),
                log=lambda s: None, base_config=small_config("ser_only"))
    cascade = assemble_cascade(se, ser, str(tmp_path / "cascade.pt"), "se-preproc")
    outs = []
    for ckpt in (merit, cascade):
        res = evaluate_checkpoint(ckpt, corpus, log=lambda s: None)
        s = res["summary"]
        assert set(s) >= {"ser", "se", "by_snr", "by_noise", "items"} and s["items"] == 8
        assert set(s["by_snr"]) == {"-5", "0"} and set(s["by_noise"]) == {"seen", "unseen"}
        path = tmp_path / f"{res['name']}.json"
        path.write_text(json.dumps(res))
        outs.append(str(path))
    merit_sum = json.loads(open(outs[0]).read())["summary"]
    assert sum(merit_sum["expert_utilisation"]["se"]) == pytest.approx(1.0, abs=1e-3)
    summary = report(outs, str(tmp_path / "eval"), "merit-sparse", engine_paths=outs, human_paths=outs)
    assert set(summary["significance_vs_reference"]) == {"se-preproc"}
    assert set(summary["unseen_engine"]) == {"merit-sparse", "se-preproc"}
    sig = summary["significance_vs_reference"]["se-preproc"]["all"]
    assert sig["bootstrap_f1_macro"]["clusters"] == 8 and "clustered_accuracy" in sig
    items = json.loads(open(outs[0]).read())["items"]
    called_negative = sum(it["pred"] in (0, 1) for it in items) / len(items)
    assert summary["human_neutral"]["merit-sparse"]["negative_share"] == pytest.approx(called_negative)
    md = (tmp_path / "eval" / "results.md").read_text()
    assert "## Unseen engine" in md and "## Real human neutral speech" in md
    for f in ("results.json", "results.md", "f1_by_snr.png", "ssnr_by_snr.png", "expert_utilisation.png"):
        assert (tmp_path / "eval" / f).stat().st_size > 0, f
    # A run exported under another name (a longer run shipped as the default) keeps its own run's test metrics.
    onnx_path, = export_with_metrics([merit], str(tmp_path / "eval" / "results.json"), str(tmp_path / "models"),
                                     name="shipped")
    assert os.path.basename(onnx_path) == "shipped.onnx"
    card = json.loads((tmp_path / "models" / "shipped.json").read_text())
    assert card["name"] == "shipped" and card["metrics"]["run"] == "merit-sparse"
    assert card["metrics"]["test"]["ser"] == summary["models"]["merit-sparse"]["ser"]
    with pytest.raises(ValueError, match="one exported model"):
        export_with_metrics([merit, cascade], str(tmp_path / "eval" / "results.json"), str(tmp_path / "x"), name="y")


def test_reference_branch_trains_alone_on_top_of_a_trained_checkpoint(corpus, tmp_path):
    from merit.export import export_model

    torch.manual_seed(0)
    base = train(run_config(stage1_steps=1, stage2_steps=1), corpus, None, str(tmp_path / "base"),
                 log=lambda s: None, base_config=small_config())
    run = run_config(name="ref", stage1_steps=0, stage2_steps=2, speaker_reference=True, init_checkpoint=base,
                     trainable="ser_head.reference", augment=False)
    final = train(run, corpus, None, str(tmp_path / "ref"), log=lambda s: None)
    before, blob = torch.load(base)["state_dict"], torch.load(final)
    after = blob["state_dict"]
    assert all(torch.equal(before[k], after[k]) for k in before)  # everything it started from stays as it was
    assert any(k.startswith("ser_head.reference.") for k in set(after) - set(before))
    model, cfg, _, _ = load_checkpoint(final)
    assert cfg.ser.speaker_reference and len(cfg.ser.prosody_scale) == 10
    graph = onnx.load(export_model(model, cfg, str(tmp_path / "export"))[0])
    assert [i.name for i in graph.graph.input] == ["waveform", "prosody", "speaker_ref", "speaker_ref_weight"]


def test_reference_sampler_draws_other_utterances_of_the_same_speaker(corpus):
    from merit.train import ReferenceSampler

    recs = read_manifest(corpus)
    n = len(recs)
    vectors = np.repeat(np.arange(n, dtype=float)[:, None, None], 3, axis=1) * np.ones((n, 3, 10))
    sampler = ReferenceSampler(recs, 4, SR // 2, 0, run_config(speaker_reference=True), vectors, np.ones((n, 3), bool))
    none = 0
    for k in range(200):
        ref, weight = sampler.reference(0, 0, np.random.default_rng(k))
        if weight == 0:
            none += 1
            continue
        same_speaker = [j for j, r in enumerate(recs) if r["speaker"] == recs[0]["speaker"] and j != 0]
        assert min(same_speaker) - 1e-6 <= ref[0] <= max(same_speaker) + 1e-6  # feature 0: mean of the picked indices
    assert 10 <= none <= 60  # about 15 % of draws give no reference
