"""Gradio demo: text + instruction -> editable plan -> audio, with requested-vs-rendered plots.

A thin layer over :class:`baton.pipeline.Pipeline`: planning, rendering and measuring are the pipeline's
and baton.eval.metrics' own functions; this file only converts between them and the widgets (the figure is
demo/plots.py).

A user error (a cell that is not a number, a value the voice cannot render, words that do not match the
text) is shown as one line in the status line above the plan table; the table keeps the user's edits, the
last audio and plot stay, and the console gets one line, never a traceback (issue 23 item 6). Only
unexpected errors raise.

Run: ``python -m demo.app --port 7860 [--voice ID_OR_DIR] [--conductor embedded]``. It serves on
127.0.0.1 only, with Gradio analytics off (it never contacts the internet).
"""

from __future__ import annotations

import argparse
import html
import math
import os
import sys
from typing import Any, Sequence

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported anywhere

import numpy as np  # noqa: E402

from baton.plan import NUMERIC_FIELDS, Plan, PlanError, load_plan  # noqa: E402
from plan_contract import UserError  # noqa: E402

COLUMNS = ("word", *NUMERIC_FIELDS, "emphasis")
"""Plan table columns: the plan's JSON field names."""
_LABELS = {"pitch_mean": "pitch [Hz]", "pitch_slope": "pitch slope [Hz/s]", "energy_rms": "energy [RMS]",
           "energy_slope": "energy slope [dB/s]", "spectral_centroid": "centroid [Hz]",
           "duration": "duration [s]", "pause_after": "pause [s]"}
HEADERS = ["word", *(_LABELS[name] for name in NUMERIC_FIELDS), "emphasis"]
"""Header labels, short so that all nine columns fit the page (issue 23 item 16)."""
TABLE_CSS = """
#plan-table table { width: 100%; }
#plan-table th, #plan-table td, #plan-table th *, #plan-table td * {
    white-space: normal !important; overflow-wrap: normal !important; word-break: normal !important; }
#status .user-error { color: var(--error-text-color, #b91c1c); }
"""
"""Header labels and words wrap at spaces, numbers never: every column, pause and emphasis included, stays on
a 900 px page; narrower, the table scrolls sideways."""
EXAMPLES = [
    ["I told you not to touch that!", "angrily"],
    ["We won the championship, can you believe it?", "overjoyed, almost shouting"],
    ["I waited by the phone all night, but nobody called.", "like someone who just heard terrible news"],
    ["Please, just tell me the *truth* this time.", "quietly, slowly"],
    ["[happy] The test came back negative. [sad] But the dog is still missing.", ""],
]


def plan_to_rows(plan: Plan) -> list[list[Any]]:
    """One row per segment, COLUMNS order; None (= model predicts) for fields the plan leaves out."""
    rows = []
    for seg in plan.segments:
        row: list[Any] = [seg.word]
        for name in NUMERIC_FIELDS:
            value = getattr(seg, name)
            row.append(None if value is None else float(f"{value:.4g}"))
        row.append(", ".join(seg.emphasis))
        rows.append(row)
    return rows


def _cell_number(value: Any, row: int, column: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlanError(f"value {value!r} is not a number; type a number or leave the cell empty to let the "
                        "model predict it", segment=row, field_name=column) from None
    return None if math.isnan(number) else number


def rows_to_plan(rows: Any, voice: str | None = None) -> Plan:
    """The (edited) table back into a validated plan. Accepts a list of rows or a pandas DataFrame."""
    if hasattr(rows, "values") and hasattr(rows, "columns"):
        rows = rows.values.tolist()
    segments = []
    for i, row in enumerate(rows or []):
        row = list(row) + [None] * (len(COLUMNS) - len(row))
        if not str(row[0] or "").strip():
            continue  # an emptied row is dropped; the words check below reports what is missing
        seg: dict[str, Any] = {"word": str(row[0])}
        for j, name in enumerate(NUMERIC_FIELDS, start=1):
            seg[name] = _cell_number(row[j], i, name)
        emphasis = str(row[-1] or "").strip()
        if emphasis:
            seg["emphasis"] = [w.strip() for w in emphasis.split(",") if w.strip()]
        segments.append(seg)
    if not segments:
        raise PlanError("the plan table is empty; press 'Plan' first or type the words into the table")
    return load_plan(segments, voice=voice)


def error_status(err: Exception) -> str:
    """The status line for a user error: one line, and what happens to the user's edits."""
    message = html.escape(" ".join(str(err).split()).rstrip("."))  # the message quotes what the user typed
    return (f"<span class='user-error'>Not rendered: {message}.</span> Your table edits are kept: fix the cell "
            "and render again.")


def _log_user_error(err: Exception) -> None:
    sys.stderr.write(f"demo: user error: {' '.join(str(err).split())}\n")


def _audio_value(speech: Any) -> tuple[int, np.ndarray]:
    pcm = (np.clip(speech.audio, -1.0, 1.0) * 32767.0).round().astype(np.int16)
    return speech.sample_rate, pcm


def _seed(value: Any) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def build_app(pipe: Any):
    """The Gradio Blocks app for ``pipe`` (a loaded Pipeline with a voice)."""
    import gradio as gr

    from demo.plots import adherence_figure

    def do_plan(text: str, instruction: str):
        try:
            plan = pipe.plan(text, instruction or None)
        except UserError as err:
            _log_user_error(err)
            return gr.skip(), error_status(err)  # the table keeps what it shows, edits included
        return plan_to_rows(plan), f"Planned {len(plan.segments)} segment(s). Edit the table, then render."

    def do_render(text: str, instruction: str, rows: Any, seed: Any, edited: bool):
        try:
            plan = rows_to_plan(rows, pipe.voice_id) if edited else pipe.plan(text, instruction or None)
            # The plan is checked against the text box (markup and prefix removed), edited or not.
            speech = pipe.speak(text if text and text.strip() else None, instruction or None, plan=plan,
                                seed=_seed(seed))
        except UserError as err:
            # Not gr.Error: Gradio would put its error overlay over every output, the edited table included,
            # and log a traceback. The table, audio and plot keep what they show.
            _log_user_error(err)
            return gr.skip(), gr.skip(), gr.skip(), error_status(err)
        what = "edited plan" if edited else "plan"
        status = (f"Rendered the {what}: {speech.duration_s:.2f} s of audio, {len(plan.segments)} segment(s), "
                  f"seed {speech.seed}, real-time factor {speech.real_time_factor:.2f}.")
        return plan_to_rows(plan), _audio_value(speech), adherence_figure(speech), status

    with gr.Blocks(title="BatonVoice") as app:
        gr.Markdown("# BatonVoice\nType a text and say how it should sound. The conductor writes a plan "
                    "(pitch, energy, duration per phrase); edit any number (empty = the model decides) and "
                    "render again.")
        with gr.Row():
            text = gr.Textbox(label="Text", lines=3, elem_id="text",
                              placeholder="I told you not to touch that!")
            with gr.Column():
                instruction = gr.Textbox(label="Instruction", elem_id="instruction",
                                         placeholder="angrily / like someone who just heard terrible news")
                seed = gr.Number(label="Seed", value=0, precision=0, elem_id="seed")
        with gr.Row():
            speak_btn = gr.Button("Plan and speak", variant="primary", elem_id="speak")
            plan_btn = gr.Button("Plan only", elem_id="plan-only")
            edited_btn = gr.Button("Render edited plan", elem_id="render-edited")
        status = gr.Markdown("", elem_id="status")
        table = gr.Dataframe(headers=HEADERS, datatype=["str", *["number"] * len(NUMERIC_FIELDS), "str"],
                             type="array", interactive=True, label="Plan (editable; empty cell = predicted)",
                             elem_id="plan-table", column_count=len(COLUMNS), wrap=True)
        audio = gr.Audio(label="Speech", type="numpy", elem_id="audio", interactive=False)
        plot = gr.Plot(label="Requested vs rendered, per segment", elem_id="plot")
        gr.Examples(examples=EXAMPLES, inputs=[text, instruction], label="Examples (click one)")

        outputs = [table, audio, plot, status]
        speak_btn.click(lambda t, i, r, s: do_render(t, i, r, s, False), [text, instruction, table, seed], outputs)
        edited_btn.click(lambda t, i, r, s: do_render(t, i, r, s, True), [text, instruction, table, seed], outputs)
        plan_btn.click(do_plan, [text, instruction], [table, status])
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.app", description="BatonVoice Gradio demo")
    parser.add_argument("--port", type=int, default=7860, help="port on 127.0.0.1 (default 7860)")
    parser.add_argument("--voice", help="voice id or folder (default: the shipped voice)")
    parser.add_argument("--conductor", default="embedded", help="embedded (default), openai or transformers")
    args = parser.parse_args(argv)
    from baton.pipeline import Pipeline

    try:
        pipe = Pipeline.load(voice=args.voice, conductor=args.conductor)
    except (UserError, FileNotFoundError) as err:  # start-up boundary: one line, as the CLI does; bugs raise
        sys.stderr.write(f"demo: error: {' '.join(str(err).split())}\n")
        return 1
    import gradio as gr

    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])  # no web fonts: works offline
    build_app(pipe).launch(server_name="127.0.0.1", server_port=args.port, share=False, ssr_mode=False,
                           theme=theme, css=TABLE_CSS, footer_links=[], quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
