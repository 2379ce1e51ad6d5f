"""The recipe's stage graph (what `merit.recipe` would run), checked without running it."""
import pytest

from merit.recipe import REFERENCE, REFERENCE_SETTINGS, COMPARED, DEFAULT, PRESETS, STREAM, build_tasks


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_stage_depends_on_stages_that_exist_and_the_graph_has_no_cycle(preset):
    tasks = {t.name: t for t in build_tasks("/w", "/m", PRESETS[preset], seed=1)}
    assert all(d in tasks for t in tasks.values() for d in t.deps)
    done = set()
    while len(done) < len(tasks):  # a topological order exists
        ready = [n for n, t in tasks.items() if n not in done and set(t.deps) <= done]
        assert ready, f"cycle among {sorted(set(tasks) - done)}"
        done.update(ready)


def _arg(cmd, flag):
    return cmd[cmd.index(flag) + 1]


def test_compared_models_share_one_budget_and_the_default_fine_tunes_longer():
    p = PRESETS["full"]
    tasks = {t.name: t for t in build_tasks("/w", "/m", p, seed=1)}
    for name in ("merit-sparse", "mtl-naive", "merit-dense", "se-preproc-se", "se-preproc-ser"):
        cmd = tasks[f"train-{name}"].cmd
        assert (_arg(cmd, "--stage1-steps"), _arg(cmd, "--stage2-steps")) == (str(p["stage1"]), str(p["stage2"]))
    default = tasks[f"train-{DEFAULT}"].cmd
    assert default.count("--stage2-steps") == 1 and _arg(default, "--stage2-steps") == str(p["default_stage2"])
    assert _arg(tasks["train-merit-sparse-random"].cmd, "--stage2-steps") == "0"


def test_report_covers_every_evaluation_and_the_exports_are_the_four_committed_models():
    tasks = {t.name: t for t in build_tasks("/w", "/m", PRESETS["full"], seed=1)}
    evals = {n for n in tasks if n.startswith("eval-") and not n.startswith("eval-reference-")}
    assert set(tasks["report"].deps) == evals
    reported = {p[len("/w/eval/"):-len(".json")] for p in tasks["report"].cmd if p.startswith("/w/eval/")}
    as_task = {f"eval-{r.split('/')[1]}@{r.split('/')[0]}" if "/" in r else f"eval-{r}" for r in reported}
    assert as_task == evals and set(COMPARED) <= reported
    # every compared model and the default are scored on the unseen engine and on real human speech too
    for split in ("test-engine", "human"):
        assert {f"{split}/{n}" for n in (*COMPARED, DEFAULT)} <= reported
    exported = [p.split("/")[-2] for p in tasks["export"].cmd if p.endswith("final.pt")]
    default = tasks["export-default"].cmd
    assert _arg(default, "--name") == "merit-sparse" and f"/w/runs/{REFERENCE}/final.pt" in default
    assert sorted(exported + ["merit-sparse"]) == sorted(COMPARED)


def test_the_streaming_model_is_the_default_fine_tuned_compared_with_it_and_exported():
    tasks = {t.name: t for t in build_tasks("/w", "/m", PRESETS["full"], seed=1)}
    train, compare, export = tasks[f"train-{STREAM}"], tasks[f"compare-{STREAM}"], tasks[f"export-{STREAM}"]
    assert train.deps == [f"train-{REFERENCE}"] and _arg(train.cmd, "--init-checkpoint") == f"/w/runs/{REFERENCE}/final.pt"
    assert _arg(train.cmd, "--trainable") == "se_head" and _arg(train.cmd, "--crop-seconds") == "1.48"
    assert _arg(compare.cmd, "--window") == f"/w/runs/{REFERENCE}/final.pt" and compare.deps == [f"train-{STREAM}"]
    assert _arg(compare.cmd, "--context") == _arg(export.cmd, "--context") == "0.48"
    assert export.deps == [f"compare-{STREAM}"] and _arg(export.cmd, "--out") == "/m"


def test_the_default_gains_the_speaker_reference_on_top_of_the_long_run_and_is_scored_with_and_without_it():
    tasks = {t.name: t for t in build_tasks("/w", "/m", PRESETS["full"], seed=1)}
    ref = tasks[f"train-{REFERENCE}"]
    assert ref.deps == [f"train-{DEFAULT}"] and _arg(ref.cmd, "--init-checkpoint") == f"/w/runs/{DEFAULT}/final.pt"
    assert "--speaker-reference" in ref.cmd and _arg(ref.cmd, "--trainable") == "ser_head.reference"
    report = tasks["report-reference"]
    inputs = [p for p in report.cmd if p.endswith(".json")]
    assert len(inputs) == len(report.deps) == 2 * (1 + len(REFERENCE_SETTINGS))
    for dep in report.deps:
        assert tasks[dep].output in inputs
    sizes = {_arg(tasks[d].cmd, "--speaker-reference") for d in report.deps if d.startswith("eval-reference-")}
    assert sizes == {"5", "10"}


def test_fix_ablations_switch_off_one_fix_each_at_the_reference_budget():
    from merit.recipe import ABLATION_REF, FIX_ABLATIONS

    p = PRESETS["full"]
    plain = {t.name for t in build_tasks("/w", "/m", p, seed=1)}
    tasks = {t.name: t for t in build_tasks("/w", "/m", p, seed=1, fix_ablations=True)}
    assert not any(n.startswith("train-fix-") for n in plain)
    ref = tasks["train-merit-sparse"].cmd
    for name, flags in FIX_ABLATIONS.items():
        cmd = tasks[f"train-fix-{name}"].cmd
        assert (_arg(cmd, "--stage1-steps"), _arg(cmd, "--stage2-steps")) == (_arg(ref, "--stage1-steps"), "0")
        assert " ".join(flags) in " ".join(cmd) and " ".join(flags) not in " ".join(ref)
    report = tasks["report-fixes"].cmd
    assert report[report.index("--fix-report") + 1] == ABLATION_REF
    assert set(tasks["report-fixes"].deps) <= set(tasks)
    # the main report is the same with or without them
    assert tasks["report"].cmd == {t.name: t for t in build_tasks("/w", "/m", p, seed=1)}["report"].cmd


# ------------------------------------------------------------------------------------------------ the paper preset

INPUTS = {"msp_root": "/data/MSP-PODCAST-1.11", "wavlm": "/ckpt/WavLM-Large.pt", "noise_train": "/noise/train",
          "noise_dev": "/noise/dev", "noise_test": "/noise/test"}
SCORED = (*COMPARED, "merit-sparse-stage1")


def paper_tasks(p=None, **hw):
    return build_tasks("/w", "/m", p or PRESETS["paper"], seed=1, hw=hw or None, inputs=INPUTS)


def test_paper_preset_stages_and_their_order():
    tasks = paper_tasks()
    names = [t.name for t in tasks]
    trains = {f"train-{n}" for n in ("merit-sparse", "mtl-naive", "merit-dense", "se-preproc-se", "se-preproc-ser")}
    evals = {f"eval-{n}@{s}" for n in SCORED for s in ("test", "test2")}
    assert len(names) == len(set(names)) and set(names) == {"corpus", "cascade", "report-test", "report-test2",
                                                            *trains, *evals}
    # the list is the run's priority order and a topological one; each model is scored right after its training
    pos = {n: i for i, n in enumerate(names)}
    assert all(pos[d] < pos[t.name] for t in tasks for d in t.deps)
    assert names[:2] == ["corpus", "train-merit-sparse"] and names[-2:] == ["report-test", "report-test2"]
    assert pos["eval-merit-sparse@test2"] < pos["train-mtl-naive"] < pos["eval-mtl-naive@test"] < pos["train-se-preproc-se"]
    # nothing is written to (or read from) the models folder: a WavLM-Large graph is not the job's model
    assert all(t.output.startswith("/w/") and not any(a.startswith("/m") for a in t.cmd) for t in tasks)


def test_paper_preset_corpus_is_msp_podcast_with_separate_noise_folders():
    from merit.data.msp_podcast import build_parser

    corpus = {t.name: t for t in paper_tasks()}["corpus"]
    assert corpus.cmd[1:3] == ["-m", "merit.data.msp_podcast"] and corpus.output == "/w/corpus/corpus.json"
    a = build_parser().parse_args(corpus.cmd[3:])
    assert a.root == INPUTS["msp_root"] and a.out == "/w/corpus"
    noise = (a.noise_train, a.noise_dev, a.noise_test)
    assert noise == (INPUTS["noise_train"], INPUTS["noise_dev"], INPUTS["noise_test"]) and len(set(noise)) == 3


def test_paper_preset_trains_every_model_with_the_official_settings(tmp_path):
    import numpy as np
    import soundfile as sf

    from merit.train import model_config, parse_run

    tasks = {t.name: t for t in paper_tasks()}
    runs = {}
    for name, t in tasks.items():
        if not name.startswith("train-"):
            continue
        assert t.cmd[1:3] == ["-m", "merit.train"] and t.deps[0] in ("corpus", "train-se-preproc-se")
        a, run = parse_run(t.cmd[3:])
        runs[run.name] = run
        assert (a.train, a.dev, a.out) == ("/w/corpus/train.jsonl", "/w/corpus/dev.jsonl", f"/w/runs/{run.name}")
        assert (run.backbone, run.backbone_checkpoint) == ("wavlm_large", INPUTS["wavlm"])
        assert (run.lr, run.backbone_lr_scale, run.freeze_cnn) == (5e-5, 0.5, True)  # AdamW 5e-5, SSL at 0.5x
        assert (run.stage1_epochs, run.stage2_epochs) == (5, 15)  # 20 epochs, the first 5 with the SSL frozen
        assert run.batch_size * run.accumulate == 32  # effective batch
        assert run.noise_dir == INPUTS["noise_train"] and run.on_the_fly_noise and not run.augment
        assert (a.device, a.amp, a.workers) == ("cuda", "bf16", 8)
    assert {n: r.model for n, r in runs.items()} == {"merit-sparse": "sparse_merit", "mtl-naive": "naive_mtl",
                                                     "merit-dense": "dense_moe", "se-preproc-se": "se_only",
                                                     "se-preproc-ser": "ser_only"}
    assert runs["se-preproc-ser"].enhancer == tasks["train-se-preproc-se"].output
    # and the model each one builds: WavLM-Large from the given checkpoint, experts of the paper's width
    sf.write(str(tmp_path / "a.wav"), 0.1 * np.sin(np.arange(8000) / 5.0).astype(np.float32), 16000)
    recs = [{"clean_path": str(tmp_path / "a.wav"), "emotion": e, "snr_db": 0.0} for e in ("angry", "sad", "happy",
                                                                                       "neutral")]
    for name, run in runs.items():
        cfg = model_config(run, recs)
        assert (cfg.name, cfg.backbone.kind, cfg.backbone.checkpoint_path) == (name, "wavlm_large", INPUTS["wavlm"])
        assert (cfg.training.lr, cfg.training.backbone_lr_scale) == (5e-5, 0.5)
        if run.model in ("sparse_merit", "dense_moe"):
            assert cfg.kind == "sparse_merit" and cfg.moe.expert_hidden == 4096 and cfg.moe.num_experts == 3
            assert cfg.moe.gate_mode == ("dense" if run.model == "dense_moe" else "top1")


def test_paper_preset_scores_each_model_on_both_test_sets_and_reports_them():
    from merit.evaluate import build_parser

    tasks = {t.name: t for t in paper_tasks()}
    for split in ("test", "test2"):
        for name in SCORED:
            t = tasks[f"eval-{name}@{split}"]
            a = build_parser().parse_args(t.cmd[3:])
            ckpt = "stage1.pt" if name.endswith("-stage1") else "final.pt"
            assert a.checkpoint == f"/w/runs/{name.replace('-stage1', '')}/{ckpt}" and a.name == name
            assert a.manifest == f"/w/corpus/{split}.jsonl" and a.out == t.output == f"/w/eval/{split}/{name}.json"
            assert (a.device, a.amp) == ("cuda", "none")  # scored in float32
        report = tasks[f"report-{split}"]
        a = build_parser().parse_args(report.cmd[3:])
        assert a.report == [tasks[d].output for d in report.deps] and len(a.report) == len(SCORED)
        assert a.reference == "merit-sparse" and report.output == f"/w/report/{split}/results.json"


def test_paper_preset_overrides_and_hardware_options():
    from merit.recipe import apply_overrides, main

    p = apply_overrides(PRESETS["paper"], ["batch=32", "accumulate=1", "lr=1e-4"])
    cmd = {t.name: t for t in paper_tasks(p, device="cuda:1", workers=2)}["train-merit-sparse"].cmd
    assert (_arg(cmd, "--batch-size"), _arg(cmd, "--accumulate"), _arg(cmd, "--lr")) == ("32", "1", "0.0001")
    assert (_arg(cmd, "--device"), _arg(cmd, "--amp"), _arg(cmd, "--workers")) == ("cuda:1", "bf16", "2")
    with pytest.raises(ValueError, match="--set 'batches=8'"):
        apply_overrides(PRESETS["paper"], ["batches=8"])
    with pytest.raises(SystemExit):
        main(["--preset", "paper", "--work", "/nonexistent/w", "--msp-root", "/data"])  # the other inputs missing
    # the other presets keep their commands without the options, and pass them on when given
    plain = build_tasks("/w", "/m", PRESETS["full"], seed=1)
    assert not any("--device" in t.cmd for t in plain)
    given = {t.name: t for t in build_tasks("/w", "/m", PRESETS["full"], seed=1,
                                            hw={"device": "cuda", "amp": "bf16", "workers": 4})}
    for name in ("pretrain", "train-merit-sparse", f"train-{REFERENCE}"):
        cmd = given[name].cmd
        assert (_arg(cmd, "--device"), _arg(cmd, "--amp"), _arg(cmd, "--workers")) == ("cuda", "bf16", "4")
    ev = given["eval-merit-sparse"].cmd
    assert _arg(ev, "--device") == "cuda" and "--amp" not in ev  # evaluations score in float32
