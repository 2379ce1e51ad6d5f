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
             "reference_steps": 2000, "reference_batch": 16},
    "smoke": {"per_class": 4, "dev_per_class": 1, "test_per_class": 1, "engine_per_class": 1, "train_mixtures": 1,
              "pretrain_steps": 4, "stage1": 2, "stage2": 2, "default_stage2": 3, "batch": 2,
              "reference_steps": 2, "reference_batch": 2},
}

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


def build_tasks(work: str, models_dir: str, p: Dict, seed: int, train_seed: int = 0,
                fix_ablations: bool = False) -> List[Task]:
    c = os.path.join(work, "corpus")
    runs = os.path.join(work, "runs")
    ev = os.path.join(work, "eval")
    train_m, dev_m, test_m = (os.path.join(c, f"{s}.jsonl") for s in ("train", "dev", "test"))
    backbone = os.path.join(work, "pretrain", "backbone.pt")
    def train(name: str, model: str, deps: List[str], *extra: str, stage2: int = p["stage2"]) -> Task:
        budget = ["--stage1-steps", str(p["stage1"]), "--stage2-steps", str(stage2), "--batch-size", str(p["batch"]),
                  "--seed", str(train_seed)]
        return Task(f"train-{name}", py("merit.train", "--model", model, "--name", name, "--train", train_m,
                                         "--dev", dev_m, "--out", os.path.join(runs, name), *budget, *extra),
                    os.path.join(runs, name, "final.pt"), deps)

    def evaluate(name: str, dep: str, ckpt: str = "final.pt", split: str = "test") -> Task:
        """The test split's result goes to EVAL/<name>.json, the extra splits' to EVAL/<split>/<name>.json."""
        run_dir = name[:-len("-stage1")] if name.endswith("-stage1") else name
        folder = ev if split == "test" else os.path.join(ev, split)
        suffix = "" if split == "test" else f"@{split}"
        return Task(f"eval-{name}{suffix}", py("merit.evaluate", "--checkpoint", os.path.join(runs, run_dir, ckpt),
                                               "--name", name, "--manifest", os.path.join(c, f"{split}.jsonl"),
                                               "--out", os.path.join(folder, f"{name}.json")),
                    os.path.join(folder, f"{name}.json"), [dep])

    def evaluate_all(name: str, dep: str) -> List[Task]:
        return [evaluate(name, dep, split=split) for split in ("test",) + EXTRA_SPLITS]

    def evaluate_reference(split: str, label: str, size: int, emotion: Optional[str]) -> Task:
        out = os.path.join(ev, "speaker-reference", f"{split}-{label}.json")
        extra = ["--speaker-reference", str(size)] + (["--reference-emotion", emotion] if emotion else [])
        return Task(f"eval-reference-{split}-{label}",
                    py("merit.evaluate", "--checkpoint", os.path.join(runs, REFERENCE, "final.pt"),
                       "--manifest", os.path.join(c, f"{split}.jsonl"), "--out", out, *extra),
                    out, [f"train-{REFERENCE}"])

    init = ["--backbone-init", backbone]
    tasks = [
        Task("corpus", py("merit.data.corpus", "--out", c, "--seed", str(seed), "--per-class", str(p["per_class"]),
                          "--dev-per-class", str(p["dev_per_class"]), "--test-per-class", str(p["test_per_class"]),
                          "--engine-per-class", str(p["engine_per_class"]),
                          "--train-mixtures", str(p["train_mixtures"]), "--workers", "2"),
             os.path.join(c, "corpus.json")),
        Task("pretrain", py("merit.pretrain", "--manifest", train_m, "--out", os.path.join(work, "pretrain"),
                            "--steps", str(p["pretrain_steps"]), "--seed", str(train_seed)), backbone, ["corpus"]),
        train("merit-sparse", "sparse_merit", ["pretrain"], *init),
        *evaluate_all("merit-sparse", "train-merit-sparse"),
        train(DEFAULT, "sparse_merit", ["pretrain"], *init, stage2=p["default_stage2"]),
        *evaluate_all(DEFAULT, f"train-{DEFAULT}"),
        Task(f"train-{REFERENCE}", py("merit.train", "--name", REFERENCE, "--train", train_m, "--dev", dev_m,
                                      "--out", os.path.join(runs, REFERENCE), "--speaker-reference",
                                      "--init-checkpoint", os.path.join(runs, DEFAULT, "final.pt"),
                                      "--trainable", "ser_head.reference", "--no-augment", "--stage1-steps", "0",
                                      "--stage2-steps", str(p["reference_steps"]),
                                      "--batch-size", str(p["reference_batch"]), "--seed", str(train_seed)),
             os.path.join(runs, REFERENCE, "final.pt"), [f"train-{DEFAULT}"]),
        *evaluate_all(REFERENCE, f"train-{REFERENCE}"),
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
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", nargs="*", help="run only these stages (their inputs must exist)")
    ap.add_argument("--list", action="store_true", help="print the stages and exit")
    ap.add_argument("--fix-ablations", action="store_true",
                    help="also run the fix ablations (stage-1-only runs with one fix off each) and their report")
    a = ap.parse_args(argv)
    work, models_dir = os.path.abspath(a.work), os.path.abspath(a.models)
    tasks = build_tasks(work, models_dir, PRESETS[a.preset], a.seed, a.train_seed, a.fix_ablations)
    if a.list:
        for t in tasks:
            print(f"{t.name:28s} <- {','.join(t.deps) or '-':40s} {' '.join(t.cmd[2:])}")
        return 0
    return run(tasks, work, a.jobs, a.only)


if __name__ == "__main__":
    sys.exit(main())
