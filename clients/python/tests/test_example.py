"""The notebook example runs, cell after cell, against the real heapd."""

import json
import pathlib

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "heapd-tour.ipynb"


def test_the_notebook_runs(monkeypatch, server, capsys):
    monkeypatch.setenv("HEAPD_SOCKET", server.socket)
    notebook = json.loads(EXAMPLE.read_text())
    namespace = {}
    cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert len(cells) >= 5
    for cell in cells:
        exec(compile("".join(cell["source"]), str(EXAMPLE), "exec"), namespace)
    assert [phase for phase, _ in namespace["events"]] == ["start", "stop"]
    assert namespace["events"][1][1]["collected"] == 2
    printed = capsys.readouterr().out
    assert "notebook.py:2: size=" in printed
    assert namespace["session"].closed
