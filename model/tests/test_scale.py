"""Training at scale, checked on the CPU: device and --amp options, bf16 autocast, data-loader workers, gradient
accumulation, epochs, noise folders and checkpoints that resume on another device (tiny configs, a few steps)."""
import os

import numpy as np
import pytest
import soundfile as sf
import torch

from merit.device import Runtime, amp_dtype, optimizer_state_devices, resolve_device, seed_worker, to_float
from merit.evaluate import evaluate_checkpoint
from merit.factory import build_model
from merit.heads import SEHead
from merit.model import compute_losses
from merit.pretrain import PretrainBatches, PretrainConfig, read_manifest
from merit.train import MicroBatches, MixingSampler, TrainRunConfig, make_sampler, parse_run, resolve_budget, train

from test_train_loop import SMALL_BACKBONE, corpus, run_config, small_config  # noqa: F401 (corpus: a fixture)

quiet = lambda s: None  # noqa: E731


class Interrupt(Exception):
    pass


def stop_at(step, total):
    def log(line):
        if f"step {step}/{total}" in line:
            raise Interrupt
    return log


# ------------------------------------------------------------------------------------------------------- options


def test_cuda_without_cuda_and_fp16_on_the_cpu_are_refused_naming_the_option(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"--device cuda:1: CUDA is not available.*is_available\(\) is false"):
        resolve_device("cuda:1")
    with pytest.raises(ValueError, match="--device 'tpu'"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="--amp fp16 needs --device cuda"):
        amp_dtype(torch.device("cpu"), "fp16")
    assert amp_dtype(torch.device("cpu"), "bf16") == torch.bfloat16 and amp_dtype(torch.device("cpu"), "none") is None
    from merit import evaluate, pretrain, train as train_cli

    for main, argv in ((train_cli.main, ["--train", "x", "--out", "y"]), (pretrain.main, ["--manifest", "x", "--out", "y"]),
                       (evaluate.main, ["--checkpoint", "x", "--manifest", "y", "--out", "z"])):
        with pytest.raises(SystemExit):
            main(argv + ["--device", "cuda"])
        assert "--device cuda: CUDA is not available" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            main(argv + ["--amp", "fp16"])
        assert "--amp fp16 needs --device cuda" in capsys.readouterr().err


def test_epochs_become_steps_at_the_effective_batch_and_the_cli_parses_the_new_options():
    a, run = parse_run(["--train", "t.jsonl", "--out", "o", "--batch-size", "8", "--accumulate", "4",
                        "--stage1-epochs", "5", "--stage2-epochs", "15", "--backbone", "wavlm_large",
                        "--backbone-checkpoint", "/w/WavLM-Large.pt", "--noise-dir", "/n", "--device", "cpu",
                        "--amp", "bf16", "--workers", "3"])
    assert (a.device, a.amp, a.workers) == ("cpu", "bf16", 3)
    assert (run.accumulate, run.backbone, run.backbone_checkpoint, run.noise_dir) == (4, "wavlm_large",
                                                                                     "/w/WavLM-Large.pt", "/n")
    steps = resolve_budget(run, 1000)
    assert (steps.stage1_steps, steps.stage2_steps) == (157, 469)  # ceil(5 x 1000 / 32), ceil(15 x 1000 / 32)
    assert resolve_budget(TrainRunConfig(stage1_steps=3, stage2_steps=4), 1000) == TrainRunConfig(stage1_steps=3,
                                                                                                  stage2_steps=4)


def test_a_large_backbone_run_gets_the_paper_sizes():
    from merit.train import model_config

    run = TrainRunConfig(model="dense_moe", name="d", backbone="wavlm_large", backbone_checkpoint="/w/WavLM-Large.pt",
                         lr=5e-5, backbone_lr_scale=0.5, normalise_magnitude=False)
    cfg = model_config(run, [{"emotion": e, "snr_db": 0.0} for e in ("angry", "sad", "happy", "neutral")])
    assert (cfg.backbone.kind, cfg.backbone.checkpoint_path) == ("wavlm_large", "/w/WavLM-Large.pt")
    assert (cfg.moe.expert_hidden, cfg.moe.gate_mode, cfg.moe.dispatch) == (4096, "dense", "dense")
    assert (cfg.training.lr, cfg.training.backbone_lr_scale, cfg.name) == (5e-5, 0.5, "d")


# ------------------------------------------------------------------------------------------------ bf16 autocast


def test_bf16_autocast_on_the_cpu_runs_in_bf16_and_stays_near_float32():
    torch.manual_seed(0)
    cfg = small_config()
    model = build_model(cfg).eval()
    rt = Runtime.create("cpu", "bf16")
    model = rt.prepare(model)
    x = 0.1 * torch.randn(2, 8000)
    with torch.no_grad():
        ref = model(x)
        with rt.autocast():
            low = model(x)
    assert low.emotion_logits.dtype == torch.bfloat16 and ref.emotion_logits.dtype == torch.float32
    low = to_float(low)
    assert torch.allclose(low.emotion_logits, ref.emotion_logits, atol=0.1)
    assert torch.allclose(low.se.enhanced_logmag, ref.se.enhanced_logmag, atol=0.1)
    # and the losses of a training forward are float32 and finite, with gradients for every trainable weight
    model.train()
    for m in model.modules():
        if isinstance(m, SEHead):
            m.synthesize_when_training = False
    with rt.autocast():
        out = model(x)
    parts = compute_losses(model, to_float(out), x, torch.tensor([0, 3]), cfg)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in parts.values())
    parts["total"].backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all()
               for n, p in model.named_parameters() if not n.startswith("backbone.model.feature_extractor."))


def test_bf16_training_and_pretraining_on_the_cpu(corpus, tmp_path):
    from merit.config import BackboneConfig
    from merit.pretrain import pretrain

    rt = Runtime.create("cpu", "bf16")
    torch.manual_seed(0)
    final = train(run_config(stage1_steps=2, stage2_steps=2), corpus, corpus, str(tmp_path / "r"), log=quiet,
                  base_config=small_config(), runtime=rt)
    blob = torch.load(final)
    assert [h["step"] for h in blob["history"]] == [1, 2, 3, 4] and all(np.isfinite(h["total"]) for h in blob["history"])
    assert blob["runtime"]["amp"] == "bf16" and all(v.dtype == torch.float32 for v in blob["state_dict"].values()
                                                    if v.is_floating_point())
    assert set(blob["dev"][-1]) >= {"f1_macro", "se_l1"}
    cfg = PretrainConfig(steps=2, batch_size=4, crop_seconds=0.5, num_units=8, kmeans_utterances=8, kmeans_iters=5,
                         warmup_steps=1)
    res = pretrain(corpus, str(tmp_path / "p"), BackboneConfig(**SMALL_BACKBONE), cfg, log=quiet, runtime=rt)
    assert len(res["history"]) == 2 and all(np.isfinite(h["loss"]) for h in res["history"])


# ----------------------------------------------------------------------------------------------------- workers


class _GlobalDraws(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, k):
        return torch.utils.data.get_worker_info().id, int(np.random.randint(1 << 30)), int(torch.randint(1 << 30, ()))


def test_workers_are_seeded_reproducibly_and_differently():
    rt = Runtime.create("cpu", workers=2)
    a = list(rt.loader(_GlobalDraws(), seed=7))
    b = list(rt.loader(_GlobalDraws(), seed=7))
    c = list(rt.loader(_GlobalDraws(), seed=8))
    assert a == b and a != c  # the same seed, the same draws; another seed, others
    by_worker = {w: (x, y) for w, x, y in a}
    assert len(by_worker) == 2 and by_worker[0] != by_worker[1]  # no two workers share a generator
    state = torch.get_rng_state()
    list(rt.loader(_GlobalDraws(), seed=7))
    assert torch.equal(state, torch.get_rng_state())  # the loader leaves the global generator (dropout's) alone
    seed_worker(0)  # usable outside a worker too


def test_micro_batches_from_workers_are_the_in_process_ones_and_each_slot_has_its_own_noise(corpus):
    recs = read_manifest(corpus)
    run = run_config(clean_share=0.0, augment=False)
    sampler = MixingSampler(recs, 4, 8000, 0, run)
    one = list(Runtime.create("cpu").loader(MicroBatches(sampler, 1, 4, 2), seed=0))
    two = list(Runtime.create("cpu", workers=2).loader(MicroBatches(sampler, 1, 4, 2), seed=0))
    assert len(one) == len(two) == 6
    for x, y in zip(one, two):
        assert all(torch.equal(u, v) for u, v in zip(x, y))
    # micro-batch j of step s holds slots 2j, 2j + 1 of that step's batch of 4
    whole = sampler.batch_at(1)
    assert all(torch.equal(torch.cat([one[0][k], one[1][k]]), whole[k]) for k in range(3))
    noise = torch.cat([b[1] - b[0] for b in two])
    assert all(not torch.allclose(noise[i], noise[j]) for i in range(len(noise)) for j in range(i))


def test_pretraining_batches_do_not_depend_on_the_workers(corpus):
    from merit.pretrain import MFCCFeatures, build_units

    recs = read_manifest(corpus)
    cfg = PretrainConfig(steps=4, batch_size=2, crop_seconds=0.5, num_units=4, kmeans_utterances=8, kmeans_iters=2)
    feat = MFCCFeatures()
    feat.mean, feat.std, cents = build_units(recs, cfg, feat)
    data = PretrainBatches(recs, cfg, feat, cents, first_step=1)
    one = list(Runtime.create("cpu").loader(data, seed=0))
    two = list(Runtime.create("cpu", workers=2).loader(data, seed=0))
    assert len(one) == 3 and all(torch.equal(u, v) for x, y in zip(one, two) for u, v in zip(x, y))


def test_training_with_workers_is_the_training_in_one_process(corpus, tmp_path):
    cfg = small_config()
    results = []
    for workers in (0, 2):
        torch.manual_seed(0)
        final = train(run_config(stage1_steps=2, stage2_steps=2), corpus, None, str(tmp_path / str(workers)),
                      log=quiet, base_config=cfg, runtime=Runtime.create("cpu", workers=workers))
        results.append(torch.load(final))
    a, b = results
    assert [h["total"] for h in a["history"]] == [h["total"] for h in b["history"]]
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_evaluation_with_workers_and_bf16(corpus, tmp_path):
    torch.manual_seed(0)
    ckpt = train(run_config(stage1_steps=1, stage2_steps=0), corpus, None, str(tmp_path / "r"), log=quiet,
                 base_config=small_config())
    plain = evaluate_checkpoint(ckpt, corpus, log=quiet)
    workers = evaluate_checkpoint(ckpt, corpus, log=quiet, runtime=Runtime.create("cpu", workers=2))
    assert plain["items"] == workers["items"] and plain["summary"] == workers["summary"]
    low = evaluate_checkpoint(ckpt, corpus, log=quiet, runtime=Runtime.create("cpu", "bf16", workers=1))
    assert low["runtime"] == {"device": "cpu", "amp": "bf16"} and low["summary"]["items"] == 8
    diff = [abs(p - q) for x, y in zip(plain["items"], low["items"]) for p, q in zip(x["probs"], y["probs"])]
    assert max(diff) < 0.1


# ------------------------------------------------------------------------------------------------ accumulation


def test_k_micro_batches_of_b_are_one_step_of_k_times_b(corpus, tmp_path):
    """Naive MTL has no batch-dependent layer or loss (GroupNorm and attention pooling are per example, the SE L1
    and the CE with equal class weights are means over equal micro-batches; the MoE's load-balance loss is a
    batch statistic, so Sparse MERIT is left out). After one optimizer step AdamW's first moment is 0.1 x the
    gradient: it must be the same whether the 8 examples came as 1 x 8, 2 x 4 or 4 x 2."""
    cfg = small_config("naive_mtl")
    moments, steps = {}, {}
    for batch, k in ((8, 1), (4, 2), (2, 4)):
        torch.manual_seed(0)
        run = run_config(model="naive_mtl", stage1_steps=0, stage2_steps=1, batch_size=batch, accumulate=k,
                         augment=False, ser_input_dropout=0.0, ser_dropout=0.0, checkpoint_every=1)
        out = tmp_path / f"{batch}x{k}"
        train(run, corpus, None, str(out), log=quiet, base_config=cfg)
        last = torch.load(out / "last.pt")
        assert len(last["history"]) == 1  # one step however many micro-batches
        names = [n for n in last["state_dict"]]
        state = last["optimizer"]["state"]
        steps[k] = {int(s["step"]) for s in state.values()}
        moments[k] = {i: s["exp_avg"] for i, s in state.items()}
        assert len(moments[k]) > 0.5 * len(names)
    assert steps == {1: {1}, 2: {1}, 4: {1}}
    scale = max(float(m.abs().max()) for m in moments[1].values())
    for k in (2, 4):
        for i, m in moments[1].items():
            # the same sums in another order: equal to 1e-4 of each tensor's largest element (1e-6 of the largest
            # of all for the few near-zero gradients, where the rounding of a cancelling sum dominates)
            assert (moments[k][i] - m).abs().max() <= 1e-4 * m.abs().max() + 1e-6 * scale, (k, i)


def test_the_optimizer_steps_once_per_k_micro_batches(corpus, tmp_path):
    run = run_config(stage1_steps=2, stage2_steps=1, batch_size=2, accumulate=3, checkpoint_every=100)
    torch.manual_seed(0)
    final = train(run, corpus, None, str(tmp_path / "r"), log=quiet, base_config=small_config())
    last = torch.load(tmp_path / "r" / "last.pt")
    assert {int(s["step"]) for s in last["optimizer"]["state"].values()} <= {1, 3}  # backbone from stage 2 only
    assert max(int(s["step"]) for s in last["optimizer"]["state"].values()) == 3
    blob = torch.load(final)
    assert len(blob["history"]) == 3 and blob["data"]["training"]["accumulate"] == 3
    # the model card records epochs at the effective batch: 3 steps x 6 examples over 8 items
    assert blob["config"]["training"]["stage1_epochs"] == 2  # ceil(2 x 6 / 8)
    with pytest.raises(ValueError, match="does not split into 4 equal micro-batches"):
        MixingSampler(read_manifest(corpus), 6, 8000, 0, run).slots(0, 0, 4)


# ------------------------------------------------------------------------------------------------- noise folder


def test_noise_from_a_folder_is_mixed_on_the_fly_and_silent_files_are_skipped(corpus, tmp_path):
    folder = tmp_path / "noise"
    (folder / "sub").mkdir(parents=True)
    t = np.arange(16000) / 16000
    sf.write(str(folder / "sub" / "hum.wav"), (0.1 * np.sin(2 * np.pi * 97 * t)).astype(np.float32), 16000)
    sf.write(str(folder / "silence.wav"), np.zeros(4000, np.float32), 16000)
    recs = read_manifest(corpus)
    sampler = make_sampler(recs, run_config(noise_dir=str(folder), clean_share=0.0, augment=False, batch_size=8))
    assert len(sampler.noise_files) == 2
    clean, noisy, _ = sampler.batch_at(0)
    residual = (noisy - clean).numpy()
    spectrum = np.abs(np.fft.rfft(residual, axis=1))
    noisy_rows = [r for r in range(8) if np.abs(residual[r]).max() > 0]
    assert noisy_rows  # at least one example got the hum (silent draws are retried)
    for r in noisy_rows:
        assert abs(np.argmax(spectrum[r]) * 16000 / residual.shape[1] - 97) < 3
    again = make_sampler(recs, run_config(noise_dir=str(folder), clean_share=0.0, augment=False, batch_size=8))
    assert torch.equal(again.batch_at(0)[1], noisy)
    with pytest.raises(ValueError, match="needs --on-the-fly-noise"):
        make_sampler(recs, run_config(noise_dir=str(folder), on_the_fly_noise=False))


# ------------------------------------------------------------------------------------------------- checkpoints


def test_a_checkpoint_written_on_cuda_resumes_on_the_cpu(corpus, tmp_path, monkeypatch):
    """The interrupted run's files are written as if from cuda:0 (torch.save records each storage's device as this
    tag); the CPU-only resume must map them to the CPU and continue bit for bit."""
    cfg = small_config()
    torch.manual_seed(0)
    straight = torch.load(train(run_config(), corpus, None, str(tmp_path / "a"), log=quiet, base_config=cfg))
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.manual_seed(0)
        with pytest.raises(Interrupt):
            train(run_config(), corpus, None, str(tmp_path / "b"), log=stop_at(4, 6), base_config=cfg)
    last = str(tmp_path / "b" / "last.pt")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(last)  # really a "cuda" file: without map_location it does not load here
    lines = []
    resumed = torch.load(train(run_config(), corpus, None, str(tmp_path / "b"), log=lines.append, base_config=cfg,
                               runtime=Runtime.create("cpu", workers=1)))
    assert any("resumed" in s and "step 3/6" in s for s in lines)
    assert [h["total"] for h in straight["history"]] == [h["total"] for h in resumed["history"]]
    assert all(torch.equal(straight["state_dict"][k], resumed["state_dict"][k]) for k in straight["state_dict"])


def test_resume_moves_the_optimizer_state_to_the_model_and_may_change_precision(corpus, tmp_path):
    cfg = small_config()
    torch.manual_seed(0)
    with pytest.raises(Interrupt):
        train(run_config(), corpus, None, str(tmp_path), log=stop_at(4, 6), base_config=cfg)
    lines = []
    final = train(run_config(), corpus, None, str(tmp_path), log=lines.append, base_config=cfg,
                  runtime=Runtime.create("cpu", "bf16"))
    assert any("resumed" in s and "(written on cpu)" in s for s in lines)
    blob = torch.load(final)
    assert len(blob["history"]) == 6 and blob["runtime"]["amp"] == "bf16"
    # what the trainer does on resume, spelled out: model on the device first, then the optimizer and its state
    from merit.train import make_optimizer

    last = torch.load(tmp_path / "last.pt", map_location="cpu")
    model = Runtime.create("cpu").prepare(build_model(last["config"]))
    opt = make_optimizer(model, TrainRunConfig(**last["run"]))
    opt.load_state_dict(last["optimizer"])
    assert optimizer_state_devices(opt) == {torch.device("cpu")}
    assert all(v.device.type == "cpu" for s in opt.state.values() for k, v in s.items() if k == "step")


# --------------------------------------------------------------------------------- a machine without soundfile


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32"])
def test_pcm_wav_reads_the_same_without_soundfile(tmp_path, monkeypatch, subtype):
    from merit.data import audio

    rng = np.random.default_rng(0)
    x = np.clip(0.3 * rng.standard_normal((1600, 2)), -0.99, 0.99).astype(np.float32)
    path = str(tmp_path / f"{subtype}.wav")
    sf.write(path, x, 8000, subtype=subtype)
    with_sf = audio.read_wav(path)
    monkeypatch.setattr(audio, "sf", None)
    without = audio.read_wav(path)  # resampled 8 -> 16 kHz as well
    assert without.shape == with_sf.shape == (3200,) and np.allclose(without, with_sf, atol=1e-6)
    assert audio.wav_frames(path) == 1600
    audio.write_wav(str(tmp_path / "w.wav"), x[:, 0], 8000)  # PCM16 through the standard library
    monkeypatch.undo()
    back, sr = sf.read(str(tmp_path / "w.wav"), dtype="float32")
    assert sr == 8000 and np.allclose(back, x[:, 0], atol=1 / 32768)
