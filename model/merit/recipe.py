#!/usr/bin/python3
"""The whole recipe in one command: corpus -> pretraining -> Sparse MERIT and the baselines -> evaluation -> export.

    cd model && OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -m merit.recipe --work ../work/recipe --models ../models

Every stage is a subprocess (`merit.data.corpus`, `merit.pretrain`, `merit.train`, `merit.evaluate`) with its own log
under WORK/logs/ and an output file that marks it done; rerunning the command skips finished stages and resumes
interrupted training from its last checkpoint. Up to --jobs stages run at once (2: this machine has 2 cores), started
in priority order as their inputs appear: Sparse MERIT first, then its longer run and the speaker-reference branch
trained on top of it (together the job's default model, also scored with 5 / 10 / angry-only references into
MODELS/eval/speaker_reference.md), the cascade halves, naive MTL, dense MoE; the randomly initialised Sparse MERIT (the pretraining ablation) fills the second
slot while the backbone pretrains. Outputs: MODELS/{merit-sparse,mtl-naive,se-preproc,merit-dense}.{onnx,json} (cards with test
metrics) and MODELS/eval/ (results.json, results.md, plots).

--preset smoke runs the same graph on a tiny corpus with a few steps (minutes): the end-to-end check.

--preset paper is the paper's setting on a GPU (a graph of its own, `build_paper_tasks`): MSP-Podcast 1.11 (4 classes)
with separate train / dev / test noise folders, WavLM-Large from a local checkpoint, the four compared models trained
with the official optimiser settings, each scored on Test1 and Test2 at -5 / 0 / 5 dB, two reports under WORK/report.
It exports nothing (a WavLM-Large graph is no model for the CPU job) and needs its inputs named:

    python3 -m merit.recipe --preset paper --work ../work/paper --msp-root /data/MSP-PODCAST-1.11 \
        --wavlm /models/WavLM-Large.pt --noise-train N/train --noise-dev N/dev --noise-test N/test \
        [--device cuda:0] [--set batch=32 --set accumulate=1]

`--device / --amp / --workers` pass on to every training and evaluation stage (for the other presets too; without
them their commands are as before), `--set KEY=VALUE` overrides one preset value.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

PRESETS = {
    # Sized for 2 quiet cores and ~95 minutes: 5,000 espeak-ng train utterances + the Asterisk prompts (noise and
    # augmentation drawn fresh every step), 1,500 steps of 8 x 3 s crops per compared model (600 frozen-backbone +
    # 900 fine-tuning, ~0.8 s each with the CNN frozen and no iSTFT) and 3,000 for the default; 720 test mixtures
    # (120 per SNR x seen/unseen cell), 500 unseen-engine and ~140 real human ones.
    # Then the speaker-reference branch is trained on the default ("reference_steps" of 16 examples, the rest
    # frozen, ~25 min).
    "full": {"per_class": 1250, "dev_per_class": 15, "test_per_class": 30, "engine_per_class": 25, "train_mixtures": 1,
             "pretrain_steps": 800, "stage1": 600, "stage2": 900, "default_stage2": 2400, "batch": 8,
             "reference_steps": 2000, "reference_batch": 16, "stream_steps": 600},
    "smoke": {"per_class": 4, "dev_per_class": 1, "test_per_class": 1, "engine_per_class": 1, "train_mixtures": 1,
              "pretrain_steps": 4, "stage1": 2, "stage2": 2, "default_stage2": 3, "batch": 2,
              "reference_steps": 2, "reference_batch": 2, "stream_steps": 2},
    # The paper's setting (see the module doc): AdamW 5e-5 with the SSL backbone at 0.5x, its CNN feature extractor
    # frozen throughout, 20 epochs (the first 5 with the whole backbone frozen), effective batch 32 (16 x 2
    # accumulated: fits a 40 GB GPU; --set batch=32 --set accumulate=1 on a larger one). Noise mixed on the fly from
    # the train noise folder, no voice augmentation (real voices). bf16 on one GPU, one stage at a time.
    "paper": {"kind": "paper", "backbone": "wavlm_large", "lr": 5e-5, "backbone_lr_scale": 0.5,
              "stage1_epochs": 5, "stage2_epochs": 15, "batch": 16, "accumulate": 2, "warmup_steps": 500,
              "device": "cuda", "amp": "bf16", "eval_amp": "none", "workers": 8, "jobs": 1,
              "corpus_workers": 8, "log_every": 50, "checkpoint_every": 1000},
}
PAPER_INPUTS = ("msp_root", "wavlm", "noise_train", "noise_dev", "noise_test")
PAPER_SPLITS = ("test", "test2")  # MSP-Podcast Test1 and Test2

COMPARED = ("merit-sparse", "mtl-naive", "se-preproc", "merit-dense")  # same data and budget
# The job's default is Sparse MERIT with a longer fine-tuning stage ("default_stage2" steps) plus the speaker-reference
# branch trained on top of it (REFERENCE), exported as merit-sparse; the equal-budget merit-sparse run stays in the
# comparison only.
DEFAULT = "merit-sparse-long"
REFERENCE = "merit-sparse-ref"
# The speaker-reference evaluation on the unseen engine and on human speech: (label, reference size, emotion); without
# a reference it is REFERENCE's ordinary evaluation of those splits.
REFERENCE_SETTINGS = (("ref5", 5, None), ("ref10", 10, None), ("angry10", 10, "angry"))
EXPORTED = ("mtl-naive", "se-preproc", "merit-dense")
# The default as a streaming model (merit.streaming): its SE head fine-tuned ("stream_steps") on crops of the encoder's
# chunk, everything else frozen, then compared on calls with the default run by windows and exported beside it.
STREAM = "merit-sparse-stream"
STREAM_SHAPE = {"context": 0.48, "lookahead": 0.16, "overlap": 0.16}
ABLATION = "merit-sparse-random"
ABLATION_REF = "merit-sparse-stage1"
# Besides the test split (unseen espeak-ng voices): the unseen engine (flite) and held-out real human neutral speech.
EXTRA_SPLITS = ("test-engine", "human")


# The generalisation fixes, each switched off in a stage-1-only run of Sparse MERIT (same data, steps and frozen
# backbone as the pretraining ablation's reference, merit-sparse-stage1): what each one contributes. Not part of the
# default recipe (5 x ~10 min); `--fix-ablations` adds them.
FIX_ABLATIONS = {
    "no-augment": ["--no-augment"],
    "stored-noise": ["--no-on-the-fly-noise"],
    "no-level": ["--no-level-features"],
    "raw-magnitude": ["--no-normalise-magnitude"],
    "light-ser-head": ["--ser-input-dropout", "0", "--ser-dropout", "0.1", "--no-ser-layer-norm"],
}


@dataclass
class Task:
    name: str
    cmd: List[str]
    output: str
    deps: List[str] = field(default_factory=list)


def py(module: str, *args: str) -> List[str]:
    return [sys.executable, "-m", module, *args]


def hw_flags(hw: Optional[Dict], amp: bool = True) -> List[str]:
    """--device / --amp / --workers for a stage; none for what `hw` leaves unset (the stage's own defaults).
    Evaluations get amp=False: they score in float32 unless a preset says otherwise."""
    hw = hw or {}
    flags = []
    for key in ("device", "amp", "workers") if amp else ("device", "workers"):
        if hw.get(key) is not None:
            flags += ["--" + key, str(hw[key])]
    return flags


def build_tasks(work: str, models_dir: str, p: Dict, seed: int, train_seed: int = 0,
                fix_ablations: bool = False, hw: Optional[Dict] = None,
                inputs: Optional[Dict[str, str]] = None) -> List[Task]:
    """The stage graph of preset `p`. `hw`: device / amp / workers for the training and evaluation stages (unset:
    the stages' defaults). `inputs`: the paper preset's data, weights and noise folders (PAPER_INPUTS)."""
    if p.get("kind") == "paper":
        return build_paper_tasks(work, p, seed, train_seed, hw, inputs)
    c = os.path.join(work, "corpus")
    runs = os.path.join(work, "runs")
    ev = os.path.join(work, "eval")
    train_m, dev_m, test_m = (os.path.join(c, f"{s}.jsonl") for s in ("train", "dev", "test"))
    backbone = os.path.join(work, "pretrain", "backbone.pt")
    def train(name: str, model: str, deps: List[str], *extra: str, stage2: int = p["stage2"]) -> Task:
        budget = ["--stage1-steps", str(p["stage1"]), "--stage2-steps", str(stage2), "--batch-size", str(p["batch"]),
                  "--seed", str(train_seed)]
        return Task(f"train-{name}", py("merit.train", "--model", model, "--name", name, "--train", train_m,
                                         "--dev", dev_m, "--out", os.path.join(runs, name), *budget, *extra,
                                         *hw_flags(hw)),
                    os.path.join(runs, name, "final.pt"), deps)

    def evaluate(name: str, dep: str, ckpt: str = "final.pt", split: str = "test") -> Task:
        """The test split's result goes to EVAL/<name>.json, the extra splits' to EVAL/<split>/<name>.json."""
        run_dir = name[:-len("-stage1")] if name.endswith("-stage1") else name
        folder = ev if split == "test" else os.path.join(ev, split)
        suffix = "" if split == "test" else f"@{split}"
        return Task(f"eval-{name}{suffix}", py("merit.evaluate", "--checkpoint", os.path.join(runs, run_dir, ckpt),
                                               "--name", name, "--manifest", os.path.join(c, f"{split}.jsonl"),
                                               "--out", os.path.join(folder, f"{name}.json"),
                                               *hw_flags(hw, amp=False)),
                    os.path.join(folder, f"{name}.json"), [dep])

    def evaluate_all(name: str, dep: str) -> List[Task]:
        return [evaluate(name, dep, split=split) for split in ("test",) + EXTRA_SPLITS]

    def evaluate_reference(split: str, label: str, size: int, emotion: Optional[str]) -> Task:
        out = os.path.join(ev, "speaker-reference", f"{split}-{label}.json")
        extra = ["--speaker-reference", str(size)] + (["--reference-emotion", emotion] if emotion else [])
        return Task(f"eval-reference-{split}-{label}",
                    py("merit.evaluate", "--checkpoint", os.path.join(runs, REFERENCE, "final.pt"),
                       "--manifest", os.path.join(c, f"{split}.jsonl"), "--out", out, *extra,
                       *hw_flags(hw, amp=False)),
                    out, [f"train-{REFERENCE}"])

    def streaming_tasks() -> List[Task]:
        stream_run = os.path.join(runs, STREAM, "final.pt")
        shape = [a for k, v in STREAM_SHAPE.items() for a in (f"--{k}", str(v))]
        evaluation = os.path.join(models_dir, "eval", "streaming.json")
        return [
            Task(f"train-{STREAM}", py("merit.train", "--name", STREAM, "--train", train_m, "--dev", dev_m,
                                       "--out", os.path.join(runs, STREAM),
                                       "--init-checkpoint", os.path.join(runs, REFERENCE, "final.pt"),
                                       "--trainable", "se_head", "--lr", "1e-3",
                                       "--crop-seconds", str(1.0 + STREAM_SHAPE["context"]), "--stage1-steps", "0",
                                       "--stage2-steps", str(p["stream_steps"]), "--batch-size", str(p["batch"]),
                                       "--seed", str(train_seed), *hw_flags(hw)),
                 stream_run, [f"train-{REFERENCE}"]),
            Task(f"compare-{STREAM}", py("merit.stream_eval", "--checkpoint", stream_run,
                                      "--window", os.path.join(runs, REFERENCE, "final.pt"), *shape,
                                      "--manifest", *[os.path.join(c, f"{s}.jsonl") for s in ("test", *EXTRA_SPLITS)],
                                      "--out", evaluation),
                 os.path.join(models_dir, "eval", "streaming.md"), [f"train-{STREAM}"]),
            Task(f"export-{STREAM}", py("merit.streaming", "--checkpoint", stream_run, "--name", STREAM, *shape,
                                        "--evaluation", os.path.join(models_dir, "eval", "streaming-*.json"),
                                        "--out", models_dir, "--done", os.path.join(work, "export-stream.done")),
                 os.path.join(work, "export-stream.done"), [f"compare-{STREAM}"]),
        ]

    init = ["--backbone-init", backbone]
    tasks = [
        Task("corpus", py("merit.data.corpus", "--out", c, "--seed", str(seed), "--per-class", str(p["per_class"]),
                          "--dev-per-class", str(p["dev_per_class"]), "--test-per-class", str(p["test_per_class"]),
                          "--engine-per-class", str(p["engine_per_class"]),
                          "--train-mixtures", str(p["train_mixtures"]), "--workers", "2"),
             os.path.join(c, "corpus.json")),
        Task("pretrain", py("merit.pretrain", "--manifest", train_m, "--out", os.path.join(work, "pretrain"),
                            "--steps", str(p["pretrain_steps"]), "--seed", str(train_seed), *hw_flags(hw)),
             backbone, ["corpus"]),
        train("merit-sparse", "sparse_merit", ["pretrain"], *init),
        *evaluate_all("merit-sparse", "train-merit-sparse"),
        train(DEFAULT, "sparse_merit", ["pretrain"], *init, stage2=p["default_stage2"]),
        *evaluate_all(DEFAULT, f"train-{DEFAULT}"),
        Task(f"train-{REFERENCE}", py("merit.train", "--name", REFERENCE, "--train", train_m, "--dev", dev_m,
                                      "--out", os.path.join(runs, REFERENCE), "--speaker-reference",
                                      "--init-checkpoint", os.path.join(runs, DEFAULT, "final.pt"),
                                      "--trainable", "ser_head.reference", "--no-augment", "--stage1-steps", "0",
                                      "--stage2-steps", str(p["reference_steps"]),
                                      "--batch-size", str(p["reference_batch"]), "--seed", str(train_seed),
                                      *hw_flags(hw)),
             os.path.join(runs, REFERENCE, "final.pt"), [f"train-{DEFAULT}"]),
        *evaluate_all(REFERENCE, f"train-{REFERENCE}"),
        *streaming_tasks(),
        *[evaluate_reference(split, *setting) for split in EXTRA_SPLITS for setting in REFERENCE_SETTINGS],
        train("se-preproc-se", "se_only", ["pretrain"], *init),
        train("se-preproc-ser", "ser_only", ["train-se-preproc-se"], *init,
              "--enhancer", os.path.join(runs, "se-preproc-se", "final.pt")),
        Task("cascade", py("merit.train", "--assemble-cascade", os.path.join(runs, "se-preproc-se", "final.pt"),
                           os.path.join(runs, "se-preproc-ser", "final.pt"), "--name", "se-preproc",
                           "--out", os.path.join(runs, "se-preproc", "final.pt")),
             os.path.join(runs, "se-preproc", "final.pt"), ["train-se-preproc-se", "train-se-preproc-ser"]),
        *evaluate_all("se-preproc", "cascade"),
        train("mtl-naive", "naive_mtl", ["pretrain"], *init),
        *evaluate_all("mtl-naive", "train-mtl-naive"),
        train("merit-dense", "dense_moe", ["pretrain"], *init),
        *evaluate_all("merit-dense", "train-merit-dense"),
        # The pretraining ablation: the same model, data and frozen-backbone budget (stage 1) from a randomly
        # initialised backbone, against the pretrained run's own stage-1 snapshot. It needs no pretraining, so it
        # runs beside it.
        train(ABLATION, "sparse_merit", ["corpus"], stage2=0),
        evaluate(ABLATION, f"train-{ABLATION}"),
        evaluate(ABLATION_REF, "train-merit-sparse", "stage1.pt"),
    ]
    fix_runs = [f"fix-{n}" for n in FIX_ABLATIONS] if fix_ablations else []
    for name in fix_runs:
        tasks.append(train(name, "sparse_merit", ["pretrain"], *init, *FIX_ABLATIONS[name[len("fix-"):]], stage2=0))
        tasks.extend(evaluate_all(name, f"train-{name}"))
    tasks.extend(evaluate(ABLATION_REF, "train-merit-sparse", "stage1.pt", split) for split in EXTRA_SPLITS
                 if fix_runs)
    if fix_runs:
        names = [ABLATION_REF, *fix_runs]
        tasks.append(Task("report-fixes", py("merit.evaluate", "--fix-report", *names, "--eval-dir", ev,
                                             "--out", os.path.join(models_dir, "eval", "fix_ablations.md")),
                          os.path.join(models_dir, "eval", "fix_ablations.md"),
                          [f"eval-{n}{sfx}" for n in names for sfx in ("", "@test-engine", "@human")]))
    evals = [t.name for t in tasks if t.name.startswith("eval-") and not t.name.startswith(("eval-fix-", "eval-reference-"))
             and "stage1@" not in t.name]
    per_split = {split: [os.path.join(ev, split, f"{n}.json") for n in [*COMPARED, DEFAULT, REFERENCE]]
                 for split in EXTRA_SPLITS}
    reference_results = [os.path.join(ev, split, f"{REFERENCE}.json") for split in EXTRA_SPLITS] + [
        os.path.join(ev, "speaker-reference", f"{split}-{label}.json")
        for split in EXTRA_SPLITS for label, _, _ in REFERENCE_SETTINGS]
    tasks.append(Task("report-reference", py("merit.evaluate", "--reference-report", *reference_results,
                                             "--out", os.path.join(models_dir, "eval", "speaker_reference.md")),
                      os.path.join(models_dir, "eval", "speaker_reference.md"),
                      [f"eval-{REFERENCE}@{split}" for split in EXTRA_SPLITS]
                      + [f"eval-reference-{split}-{label}" for split in EXTRA_SPLITS
                         for label, _, _ in REFERENCE_SETTINGS]))
    tasks.append(Task("report", py("merit.evaluate", "--report", *[os.path.join(ev, f"{n}.json") for n in
                                                                  [*COMPARED, DEFAULT, REFERENCE, ABLATION_REF,
                                                                   ABLATION]],
                                   "--engine", *per_split["test-engine"], "--human", *per_split["human"],
                                   "--reference", "merit-sparse", "--ablation", ABLATION_REF, ABLATION,
                                   "--out", os.path.join(models_dir, "eval")),
                      os.path.join(models_dir, "eval", "results.json"), evals))
    tasks.append(Task("export", py("merit.evaluate", "--export", *[os.path.join(runs, n, "final.pt") for n in EXPORTED],
                                   "--results", os.path.join(models_dir, "eval", "results.json"),
                                   "--calibrate", dev_m, "--out", models_dir, "--done", os.path.join(work, "export.done")),
                      os.path.join(work, "export.done"), ["report"]))
    tasks.append(Task("export-default", py("merit.evaluate", "--export", os.path.join(runs, REFERENCE, "final.pt"),
                                           "--name", "merit-sparse",
                                           "--results", os.path.join(models_dir, "eval", "results.json"),
                                           "--calibrate", dev_m, "--out", models_dir,
                                           "--done", os.path.join(work, "export-default.done")),
                      os.path.join(work, "export-default.done"), ["report"]))
    return tasks


def build_paper_tasks(work: str, p: Dict, seed: int, train_seed: int = 0, hw: Optional[Dict] = None,
                      inputs: Optional[Dict[str, str]] = None) -> List[Task]:
    """MSP-Podcast manifests -> Sparse MERIT, naive MTL, dense MoE and the SE-preprocessing cascade on WavLM-Large ->
    each on Test1 and Test2 (-5 / 0 / 5 dB, unseen noise) -> a report per test set. Also the Sparse MERIT run's
    frozen-backbone snapshot (stage1.pt), the frozen-SSL stage on its own. Nothing goes to the models folder."""
    inputs = {k: (inputs or {}).get(k) or f"<--{k.replace('_', '-')}>" for k in PAPER_INPUTS}
    hw = {k: (hw or {}).get(k) if (hw or {}).get(k) is not None else p[k] for k in ("device", "amp", "workers")}
    eval_hw = dict(hw, amp=p["eval_amp"])
    c, runs, ev = (os.path.join(work, d) for d in ("corpus", "runs", "eval"))
    train_m, dev_m = os.path.join(c, "train.jsonl"), os.path.join(c, "dev.jsonl")
    recipe = ["--backbone", p["backbone"], "--backbone-checkpoint", inputs["wavlm"],
              "--lr", str(p["lr"]), "--backbone-lr-scale", str(p["backbone_lr_scale"]), "--freeze-cnn",
              "--stage1-epochs", str(p["stage1_epochs"]), "--stage2-epochs", str(p["stage2_epochs"]),
              "--batch-size", str(p["batch"]), "--accumulate", str(p["accumulate"]),
              "--warmup-steps", str(p["warmup_steps"]), "--noise-dir", inputs["noise_train"], "--no-augment",
              "--seed", str(train_seed), "--log-every", str(p["log_every"]),
              "--checkpoint-every", str(p["checkpoint_every"]), *hw_flags(hw)]

    def train(name: str, model: str, deps: List[str], *extra: str) -> Task:
        return Task(f"train-{name}", py("merit.train", "--model", model, "--name", name, "--train", train_m,
                                         "--dev", dev_m, "--out", os.path.join(runs, name), *recipe, *extra),
                    os.path.join(runs, name, "final.pt"), deps)

    def evaluate(name: str, dep: str, split: str, ckpt: str = "final.pt") -> Task:
        run_dir = name[:-len("-stage1")] if name.endswith("-stage1") else name
        out = os.path.join(ev, split, f"{name}.json")
        return Task(f"eval-{name}@{split}", py("merit.evaluate", "--checkpoint", os.path.join(runs, run_dir, ckpt),
                                               "--name", name, "--manifest", os.path.join(c, f"{split}.jsonl"),
                                               "--out", out, *hw_flags(eval_hw)), out, [dep])

    scored = [*COMPARED, ABLATION_REF]
    source = {"merit-sparse": "train-merit-sparse", "mtl-naive": "train-mtl-naive", "se-preproc": "cascade",
              "merit-dense": "train-merit-dense", ABLATION_REF: "train-merit-sparse"}

    def evaluate_all(*names: str) -> List[Task]:
        return [evaluate(n, source[n], split, "stage1.pt" if n == ABLATION_REF else "final.pt")
                for n in names for split in PAPER_SPLITS]

    # In priority order (one GPU: one stage at a time): each model's scores come right after its training.
    tasks = [
        Task("corpus", py("merit.data.msp_podcast", "--root", inputs["msp_root"], "--out", c, "--seed", str(seed),
                          "--noise-train", inputs["noise_train"], "--noise-dev", inputs["noise_dev"],
                          "--noise-test", inputs["noise_test"], "--workers", str(p["corpus_workers"])),
             os.path.join(c, "corpus.json")),
        train("merit-sparse", "sparse_merit", ["corpus"]),
        *evaluate_all("merit-sparse", ABLATION_REF),
        train("mtl-naive", "naive_mtl", ["corpus"]),
        *evaluate_all("mtl-naive"),
        train("se-preproc-se", "se_only", ["corpus"]),
        train("se-preproc-ser", "ser_only", ["train-se-preproc-se"],
              "--enhancer", os.path.join(runs, "se-preproc-se", "final.pt")),
        Task("cascade", py("merit.train", "--assemble-cascade", os.path.join(runs, "se-preproc-se", "final.pt"),
                           os.path.join(runs, "se-preproc-ser", "final.pt"), "--name", "se-preproc",
                           "--out", os.path.join(runs, "se-preproc", "final.pt")),
             os.path.join(runs, "se-preproc", "final.pt"), ["train-se-preproc-se", "train-se-preproc-ser"]),
        *evaluate_all("se-preproc"),
        train("merit-dense", "dense_moe", ["corpus"]),
        *evaluate_all("merit-dense"),
    ]
    for split in PAPER_SPLITS:
        results = [os.path.join(ev, split, f"{n}.json") for n in scored]
        out = os.path.join(work, "report", split)
        tasks.append(Task(f"report-{split}", py("merit.evaluate", "--report", *results, "--reference", "merit-sparse",
                                                "--out", out),
                          os.path.join(out, "results.json"), [f"eval-{n}@{split}" for n in scored]))
    return tasks


def apply_overrides(p: Dict, settings: List[str]) -> Dict:
    """--set KEY=VALUE on a copy of preset `p` (VALUE parsed as the preset's own value's type)."""
    p = dict(p)
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or key not in p:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE with KEY one of {sorted(p)}")
        old = p[key]
        p[key] = type(old)(float(value)) if isinstance(old, int) and not isinstance(old, bool) else type(old)(value)
    return p


def running_elsewhere(t: Task) -> Optional[int]:
    """PID of a live process (started by hand or by another recipe) already working on this task's folder."""
    marker = os.path.join(os.path.dirname(t.output), "running.pid")
    try:
        with open(marker) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def run(tasks: List[Task], work: str, jobs: int, only: Optional[List[str]] = None) -> int:
    logs = os.path.join(work, "logs")
    os.makedirs(logs, exist_ok=True)
    by_name = {t.name: t for t in tasks}
    done = {t.name for t in tasks if os.path.exists(t.output)}
    for t in tasks:
        if t.name in done:
            print(f"[recipe] {t.name}: done already ({t.output})", flush=True)
    wanted = set(by_name) if not only else set(only)
    running: Dict[str, subprocess.Popen] = {}
    started: Dict[str, float] = {}
    failed: List[str] = []
    waiting: Dict[str, bool] = {}
    waiting_pid: Dict[str, int] = {}
    t0 = time.time()
    while True:
        for name, proc in list(running.items()):
            rc = proc.poll()
            if rc is None:
                continue
            del running[name]
            el = time.time() - started[name]
            if rc == 0 and os.path.exists(by_name[name].output):
                done.add(name)
                print(f"[recipe] {name}: finished in {el / 60:.1f} min", flush=True)
            else:
                failed.append(name)
                print(f"[recipe] {name}: FAILED (exit {rc}) after {el / 60:.1f} min; see {logs}/{name}.log",
                      flush=True)
        pending = [t for t in tasks if t.name in wanted and t.name not in done and t.name not in running
                   and t.name not in failed]
        blocked = [t for t in pending if any(d in failed for d in t.deps)]
        for t in blocked:
            failed.append(t.name)
            print(f"[recipe] {t.name}: skipped, an input failed", flush=True)
        pending = [t for t in pending if t not in blocked]
        if not pending and not running and not waiting:
            break
        for name in list(waiting):
            if running_elsewhere(by_name[name]) is None:
                del waiting[name]
                if os.path.exists(by_name[name].output):
                    done.add(name)
                    print(f"[recipe] {name}: finished by process {waiting_pid.pop(name)}", flush=True)
        pending = [t for t in pending if t.name not in done]
        for t in pending:
            # A task someone else is running still takes one of the --jobs cores.
            if len(running) + len(waiting) - (t.name in waiting) >= jobs:
                break
            if all(d in done or d not in wanted and os.path.exists(by_name[d].output) for d in t.deps):
                other = running_elsewhere(t)
                if other is not None:
                    if t.name not in waiting:
                        print(f"[recipe] {t.name}: process {other} is already running it; waiting", flush=True)
                    waiting[t.name] = True
                    waiting_pid[t.name] = other
                    continue
                os.makedirs(os.path.dirname(t.output), exist_ok=True)
                log = open(os.path.join(logs, f"{t.name}.log"), "a")
                log.write(f"\n# {time.strftime('%H:%M:%S')} {' '.join(t.cmd)}\n")
                log.flush()
                # One torch thread per stage when --jobs stages share the cores; all of them for a stage alone.
                threads = max(1, (os.cpu_count() or 1) // jobs)
                env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1", MERIT_THREADS=str(threads))
                running[t.name] = subprocess.Popen(t.cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                                   cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
                started[t.name] = time.time()
                print(f"[recipe] {t.name}: started at {time.strftime('%H:%M:%S')} (log {logs}/{t.name}.log)",
                      flush=True)
        time.sleep(2)
    print(f"[recipe] finished in {(time.time() - t0) / 60:.1f} min; failed: {failed or 'none'}", flush=True)
    return 1 if failed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m merit.recipe", description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="../work/recipe", help="corpus, checkpoints, logs (git-ignored)")
    ap.add_argument("--models", default="../models", help="where the ONNX models, cards and eval/ go")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="full")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed")
    ap.add_argument("--train-seed", type=int, default=0, help="pretraining / training seed")
    ap.add_argument("--jobs", type=int, help="stages at once (default: the preset's, else 2)")
    ap.add_argument("--device", help="--device of every training / evaluation stage (default: the preset's, else cpu)")
    ap.add_argument("--amp", choices=("none", "bf16", "fp16"), help="--amp of every training stage")
    ap.add_argument("--workers", type=int, help="--workers of every training / evaluation stage")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one preset value")
    for key in PAPER_INPUTS:
        ap.add_argument("--" + key.replace("_", "-"), help="paper preset: " + {
            "msp_root": "MSP-Podcast 1.11 folder (Audios/, Labels/)", "wavlm": "WavLM-Large checkpoint (local file)",
            "noise_train": "train noise folder", "noise_dev": "dev noise folder",
            "noise_test": "test noise folder (unseen in training)"}[key])
    ap.add_argument("--only", nargs="*", help="run only these stages (their inputs must exist)")
    ap.add_argument("--list", action="store_true", help="print the stages and exit")
    ap.add_argument("--fix-ablations", action="store_true",
                    help="also run the fix ablations (stage-1-only runs with one fix off each) and their report")
    a = ap.parse_args(argv)
    work, models_dir = os.path.abspath(a.work), os.path.abspath(a.models)
    try:
        p = apply_overrides(PRESETS[a.preset], a.set)
    except ValueError as e:
        ap.error(str(e))
    inputs = {k: getattr(a, k) for k in PAPER_INPUTS}
    missing = [k for k, v in inputs.items() if not v]
    if p.get("kind") == "paper" and missing and not a.list:
        ap.error("--preset paper needs " + ", ".join("--" + k.replace("_", "-") for k in missing))
    hw = {"device": a.device, "amp": a.amp, "workers": a.workers}
    tasks = build_tasks(work, models_dir, p, a.seed, a.train_seed, a.fix_ablations, hw, inputs)
    if a.list:
        for t in tasks:
            print(f"{t.name:28s} <- {','.join(t.deps) or '-':40s} {' '.join(t.cmd[2:])}")
        return 0
    return run(tasks, work, a.jobs or p.get("jobs", 2), a.only)


if __name__ == "__main__":
    sys.exit(main())
