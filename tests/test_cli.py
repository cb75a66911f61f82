"""The ``xlstm-ts forecast`` command: results, files, one-line errors, signals, start-up and output size.

Everything trains with tiny settings (``--max-epochs 1`` or 2, one backtest window, short horizons). Error
cases stop before any training. Tests that need the command's real process (exit status after SIGTERM,
what ``--help`` imports, what lands in a log file) run it with ``python -m xlstm_ts.cli``.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xlstm_ts import xLSTMForecaster
from xlstm_ts.cli import EXIT_ERROR, EXIT_SIGTERM, main
from xlstm_ts.datasets import load_airline_long

CLI = Path(__file__).resolve().parents[1] / "xlstm_ts" / "cli"  # the package of the command
TINY = ["--max-epochs", "1", "--windows", "1", "--horizon", "3", "--no-plot"]


def _run(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "xlstm_ts.cli", *args], cwd=cwd, env=env, text=True, **kwargs
    )


def _monthly_csv(path: Path, edit=None, n_series: int = 1) -> Path:
    long = load_airline_long()
    frames = [long.assign(unique_id=f"s{i}", y=long["y"] * (i + 1)) for i in range(n_series)]
    frame = pd.concat(frames, ignore_index=True)
    frame = edit(frame) if edit is not None else frame
    frame.to_csv(path, index=False)
    return path


def _one_error_line(err: str) -> str:
    """The one ``error:`` line, last on stderr; before it at most the command's notes."""
    *notes, last = err.strip().splitlines()
    assert last.startswith("error: ") and "Traceback" not in err, err
    assert all(n.startswith(("data: ", "backtest: ")) for n in notes), err
    return last


# ------------------------------------------------------------------------------------------------ results
def test_forecast_on_bundled_data_prints_backtest_forecast_and_writes_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "fc.png"
    assert main(["forecast", "--quiet", "--max-epochs", "2", "--windows", "2", "--plot", str(plot)]) == 0
    out, err = capsys.readouterr()
    assert "xLSTMForecaster" in out and "seasonal naive (m=12)" in out
    assert "1961-01-01" in out and "1961-12-01" in out
    assert f"plot written to {plot.resolve()}" in out
    assert plot.is_file() and plot.stat().st_size > 1000
    assert err == ""  # --quiet: nothing but results


def test_panel_plots_the_named_series_says_so_and_saves_the_model(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    csv = _monthly_csv(
        tmp_path / "panel.csv", lambda f: f.rename(columns={"ds": "month", "y": "passengers"}), 2
    )
    plot, saved = tmp_path / "out" / "p.png", tmp_path / "model"
    plot.parent.mkdir()
    args = [
        "forecast",
        "--csv",
        str(csv),
        "--time-col",
        "month",
        "--target",
        "passengers",
        "--id-col",
        "unique_id",
        "--max-epochs",
        "1",
        "--windows",
        "1",
        "--horizon",
        "3",
        "--quantiles",
        "0.1,0.5,0.9",
        "--lookback",
        "12",
        "--series",
        "s1",
        "--plot",
        str(plot),
        "--save",
        str(saved),
    ]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "s0" in out and "s1" in out and "passengers_q0.9" in out
    assert f"plot written to {plot.resolve()} (series 's1' of 2; --series ID plots another)" in out
    assert f"model saved to {saved.resolve()}" in out
    assert "2 series of 144 steps" in err  # a note, on stderr
    model = xLSTMForecaster.load(saved)
    assert model.get_params()["lookback"] == 12 and model.get_params()["quantiles"] == (0.1, 0.5, 0.9)
    assert len(model.predict()) == 6


def test_integer_time_column_is_kept_as_integer_steps(tmp_path, capsys):
    csv = tmp_path / "sunspots.csv"
    years = np.arange(1700, 1751)
    pd.DataFrame({"year": years, "y": 50 + 40 * np.sin(years / 11 * 2 * np.pi)}).to_csv(csv, index=False)
    args = ["forecast", "--csv", str(csv), "--time-col", "year", "--lookback", "8", *TINY, "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    table = out.split("forecast of the next 3 steps")[1].splitlines()[1:4]
    assert [row.split()[0] for row in table] == ["1751", "1752", "1753"]
    assert "1970" not in out


def test_gaps_are_filled_with_freq_and_fill_method(tmp_path, capsys):
    csv = _monthly_csv(tmp_path / "gap.csv", lambda f: f.drop(index=[20, 21, 200]), n_series=2)
    assert (
        main(
            [
                "forecast",
                "--csv",
                str(csv),
                "--id-col",
                "unique_id",
                "--freq",
                "MS",
                "--fill-method",
                "ffill",
                *TINY,
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "3 missing time step(s) added as rows and filled (--fill-method ffill)" in err
    assert "1961-03-01" in out


def test_threads_option_runs(tmp_path, capsys):
    assert main(["forecast", "--threads", "1", "--quiet", *TINY]) == 0
    assert "1961-03-01" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------ errors
def _nan(f):
    return f.assign(y=f["y"].where(f.index != 10))


def _weekly(path: Path) -> Path:
    frame = pd.DataFrame({"ds": pd.date_range("2020-01-06", periods=60, freq="7D"), "y": np.arange(60.0)})
    frame.drop(index=[10]).to_csv(path, index=False)
    return path


def _duplicate(f):
    return pd.concat([f, f.iloc[[5]]]).sort_values("ds", kind="stable")[["ds", "y"]]


def _bad_date(f):
    f = f.astype({"ds": str})
    f.loc[7, "ds"] = "not a date"
    return f


ERROR_CASES = {
    # name: (csv maker, extra arguments, text the one-line message must contain)
    "nan": (lambda p: _monthly_csv(p, _nan), [], "--fill-method ffill"),
    "gap": (lambda p: _monthly_csv(p, lambda f: f.drop(index=[20])), [], "--freq"),
    "weekly-gap": (_weekly, [], "--freq 7D"),
    "gap-with-freq": (
        lambda p: _monthly_csv(p, lambda f: f.drop(index=[20])),
        ["--freq", "MS"],
        "Pass --fill-method to add the missing timestamps",
    ),
    "duplicate": (lambda p: _monthly_csv(p, _duplicate), [], "Drop or aggregate the duplicates."),
    "panel-without-id-col": (
        lambda p: _monthly_csv(p, n_series=2),
        [],
        "name their id column with --id-col (one of ['unique_id'])",
    ),
    "bad-date": (lambda p: _monthly_csv(p, _bad_date), [], "'not a date' in line 9 is not a date"),
    "target-is-time": (_monthly_csv, ["--target", "ds"], "--time-col and --target both name column 'ds'"),
    "missing-column": (_monthly_csv, ["--target", "sales"], "column 'sales' (--target) not in"),
    "text-target": (
        lambda p: _monthly_csv(
            p, lambda f: f.astype({"y": str}).assign(y=lambda g: g["y"].where(g.index != 3, "twelve"))
        ),
        [],
        "'twelve' in line 5 is not a number",
    ),
    "lookback": (_monthly_csv, ["--lookback", "200"], "--lookback 200 + --horizon 12 needs at least 212"),
    "quantiles": (_monthly_csv, ["--quantiles", "0.1,0.9"], "--quantiles must be"),
    "series": (
        lambda p: _monthly_csv(p, n_series=2),
        ["--id-col", "unique_id", "--series", "s7"],
        "--series 's7' is not a series of the data; its series are 's0', 's1'",
    ),
    "plot-folder": (
        _monthly_csv,
        ["--plot", "/nonexistent/folder/p.png"],
        "--plot /nonexistent/folder/p.png",
    ),
    "too-many-windows": (_monthly_csv, ["--windows", "12"], "use fewer --windows or a shorter --horizon"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_data_and_option_errors_are_one_line_with_the_option_to_use(case, tmp_path, capsys):
    make, extra, expected = ERROR_CASES[case]
    csv = make(tmp_path / "data.csv")
    assert main(["forecast", "--csv", str(csv), "--max-epochs", "1", *extra]) == EXIT_ERROR
    out, err = capsys.readouterr()
    line = _one_error_line(err)
    assert expected in line, line
    assert "fill_method=" not in line and "freq=" not in line and "lookback=" not in line
    assert "xLSTMForecaster" not in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--freq", "7X"], "argument --freq: '7X' is not a pandas frequency"),
        (["--quantiles", "0.1,x"], "argument --quantiles: expected comma-separated numbers"),
        (["--quantiles", "0.5,1.5"], "quantile levels lie strictly between 0 and 1"),
        (["--threads", "0"], "argument --threads: expected a positive integer, got '0'"),
        (["--fill-method", "mean"], "argument --fill-method: invalid choice: 'mean'"),
        (["--csv", "/nonexistent.csv"], "--csv /nonexistent.csv: no such file"),
    ],
)
def test_bad_option_values_are_one_line(args, expected, capsys):
    try:
        code = main(["forecast", *args])
    except SystemExit as exit_:  # argparse
        code = exit_.code
    assert code == EXIT_ERROR
    assert expected in _one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------------------------------------ process
def test_sigterm_during_training_exits_non_zero(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xlstm_ts.cli",
            "forecast",
            "--max-epochs",
            "100000",
            "--windows",
            "1",
            "--no-plot",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        started = time.monotonic()
        for line in proc.stderr:  # wait for the note printed just before training starts
            if line.startswith("backtest: training"):
                break
            assert time.monotonic() - started < 120, "the command printed no training note"
        time.sleep(6)  # well into Lightning's fit loop (its own SIGTERM handler is installed by then)
        assert proc.poll() is None, "finished before it could be signalled"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT_SIGTERM == 143
    assert "terminated by SIGTERM" in err and "Traceback" not in err


def test_cli_module_imports_only_the_standard_library_at_start_up():
    tops = set()
    files = sorted(CLI.glob("*.py"))
    assert files, CLI
    for path in files:
        for node in ast.parse(path.read_text()).body:  # module level only; the rest is imported on use
            if isinstance(node, ast.Import):
                tops |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:  # relative: the package's own modules
                tops.add((node.module or "").split(".")[0])
    assert tops <= set(sys.stdlib_module_names) | {"__future__"}, tops


def test_help_does_not_import_torch_or_lightning(tmp_path):
    code = (
        "import sys\n"
        "from xlstm_ts.cli import main\n"
        "for argv in (['--help'], ['forecast', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exit_:\n"
        "        assert exit_.code == 0, exit_.code\n"
        "print('MODULES', *sorted(m for m in ('torch', 'lightning', 'sklearn') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "--fill-method" in done.stdout and "--threads" in done.stdout
    loaded = done.stdout.strip().splitlines()[-1].split()[1:]
    assert "lightning" not in loaded and "sklearn" not in loaded
    assert "torch" not in loaded


def test_output_to_a_file_is_small_plain_and_says_where_the_plot_went(tmp_path):
    pytest.importorskip("matplotlib")
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        done = _run("forecast", "--max-epochs", "2", cwd=tmp_path, stdout=out, stderr=err, timeout=600)
    stdout, stderr = (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text()
    assert done.returncode == 0, stderr
    assert len((stdout + stderr).encode()) < 5000, stdout + stderr
    for banner in (
        "GPU available",
        "TPU available",
        "HPU available",
        "litlogger",
        "litmodels",
        "💡",
        "Epoch ",
    ):
        assert banner not in stdout + stderr, banner
    assert f"plot written to {(tmp_path / 'forecast.png').resolve()}" in stdout
    assert (tmp_path / "forecast.png").is_file()
    # stderr: the command's notes, one per phase, and one summary line per training (4: three backtest
    # windows and the final fit) -- no per-step progress.
    notes = [line for line in stderr.splitlines() if line.startswith(("data: ", "backtest: ", "training "))]
    assert notes == [
        "data: bundled airline passengers (monthly, 1949-1960): 1 series of 144 steps (frequency MS)",
        "backtest: training 3 model(s), one per window ...",
        "training on all the data ...",
    ]
    assert len(stderr.splitlines()) <= len(notes) + 4, stderr
    assert "\r" not in stdout + stderr
