"""Runs a notebook top to bottom on its Jupyter kernel and writes it back with its outputs.

Usage: run_notebook.py IN.ipynb CWD OUT.ipynb

The executor of tests/ninja_notebook_test.ts, on jupyter_client's public API (Debian's
python3-jupyter-client and python3-nbformat). nbclient would do, but Deno's kernel now and then
publishes a cell's result just after the cell's idle status, and nbclient stops listening at
idle: here each cell waits for its reply and its idle status, then reads on until the output
channel has been quiet for a moment.
"""

import queue
import sys

import nbformat
from jupyter_client.manager import start_new_kernel

TIMEOUT = 300  # seconds a cell may run
QUIET = 0.2  # seconds without output after idle that end a cell

OUTPUTS = {"stream", "display_data", "execute_result", "error"}


def run_cell(kc, cell):
    msg_id = kc.execute(cell.source, allow_stdin=False)
    while True:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    outputs, idle = [], False
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=QUIET if idle else TIMEOUT)
        except queue.Empty:
            if idle:
                break
            raise
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
        elif kind in OUTPUTS:
            out = nbformat.v4.output_from_msg(msg)
            last = outputs[-1] if outputs else None
            if kind == "stream" and last and last.output_type == "stream" and last.name == out.name:
                last.text += out.text
            else:
                outputs.append(out)
    cell.outputs = outputs
    cell.execution_count = reply["content"].get("execution_count")


def main(src, cwd, dst):
    nb = nbformat.read(src, as_version=4)
    km, kc = start_new_kernel(kernel_name=nb.metadata.kernelspec.name, cwd=cwd)
    try:
        for cell in nb.cells:
            if cell.cell_type == "code":
                run_cell(kc, cell)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    nbformat.write(nb, dst)


if __name__ == "__main__":
    main(*sys.argv[1:4])
