"""The recipe's stage graph (what `merit.recipe` would run), checked without running it."""
import pytest

from merit.recipe import REFERENCE, REFERENCE_SETTINGS, COMPARED, DEFAULT, PRESETS, build_tasks


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
