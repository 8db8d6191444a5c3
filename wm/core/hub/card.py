"""The model card (README.md) of a Hub repo: Hub metadata, usage with wm, data, evaluation, training config."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from wm.core.checkpoint import Checkpoint
from wm.core.errors import WMError
from wm.core.hub.format import CONFIG, CONTEXT, SAMPLE, TRAINING_FILES, WEIGHTS, is_hub_folder
from wm.core.imagine.report import VERSION, check_document, flatten

TAGS = ["world-model", "wm", "action-conditioned", "video-prediction", "model-based-rl"]
LIBRARY = "wm"  # the Hub's library_name: https://huggingface.co/models?library=wm
PIPELINE = "image-to-video"  # the Hub task nearest to "frames and actions in, next frames out"
DATASET_PREFIX = "hf://datasets/"


def hub_metadata(config: dict[str, Any]) -> dict[str, Any]:
    """The card keys the Hub indexes beyond library and task: ``datasets`` (the Hub dataset the model
    was trained on, from ``data.path=hf://datasets/USER/NAME``) and ``base_model`` (the Hub models it
    starts from: ``finetune.pretrained_path`` and its pretrained parts' origins), each when there is one."""
    from wm.core.hub.ids import HUB_ID, HUB_SCHEME

    path = str(config.get("data", {}).get("path") or "")
    datasets = [path.removeprefix(DATASET_PREFIX).split("@")[0]] if path.startswith(DATASET_PREFIX) else []
    model = config.get("model", {})
    origins = [config.get("finetune", {}).get("pretrained_path") or ""]
    for part in ("vision", "backbone", "decoder"):
        section = model.get(part) or {}
        origins += [section.get("name_or_path") or "", (section.get("config") or {}).get("_name_or_path") or ""]
    bases = []
    for origin in (str(o).removeprefix(HUB_SCHEME) for o in origins if o):
        match = HUB_ID.fullmatch(origin)
        if match and ".." not in origin and match.group("repo") not in bases:
            bases.append(match.group("repo"))
    found = {"datasets": datasets, "base_model": bases}
    return {key: value for key, value in found.items() if value}


def model_card(
    repo_id: str,
    checkpoint: Checkpoint,
    *,
    files: list[str],
    evaluation: dict[str, Any] | None = None,
    license: str = "mit",  # noqa: A002 - the Hub's metadata key
) -> str:
    """README.md text: YAML metadata block, then the card in markdown."""
    from huggingface_hub import ModelCardData

    spec, config = checkpoint.spec, checkpoint.config
    kind = config.get("model", {}).get("kind", "rssm")
    source = config.get("data", {}).get("path")
    data = {
        "frame_shape": [spec.channels, spec.height, spec.width],
        "action_kind": spec.action_kind,
        "num_actions": spec.num_actions,
        "action_names": list(spec.action_names),
        "has_rewards": spec.has_rewards,
        "has_terminals": spec.has_terminals,
        "fps": spec.fps,
        "source": _source(source),
    }
    name = repo_id.split("/")[-1]
    results = _eval_results(evaluation) if evaluation else None
    metadata = ModelCardData(
        library_name=LIBRARY, pipeline_tag=PIPELINE, license=license, tags=[*TAGS, kind], wm_data=data,
        **hub_metadata(config), **({"model_name": name, "eval_results": results} if results else {}),
    )  # fmt: skip
    sections = [
        f"# {name}\n\nAn action-conditioned world model (`{kind}`) made with `wm`: from a few frames and the "
        f"actions taken, it imagines the frames that follow.",
        _sample(checkpoint) if SAMPLE in files else "",
        _usage(repo_id, name),
        "## Data\n\n" + _table(["", ""], _data_rows(data)),
        evaluation_markdown(evaluation) if evaluation else "",
        _training(checkpoint),
        "## Files\n\n" + "\n".join(f"- `{f}`: {FILE_NOTES[f]}" for f in files if f in FILE_NOTES),
    ]
    return f"---\n{metadata.to_yaml()}\n---\n\n" + "\n\n".join(s for s in sections if s) + "\n"


def _source(path: str | None) -> str:
    """What the model was trained on: a Hub dataset id as given, a file by its name."""
    if not path:
        return "built-in ALE source"
    return path if path.startswith(DATASET_PREFIX) else Path(path).name


FILE_NOTES = {
    CONFIG: "format version, data facts and the resolved training config",
    WEIGHTS: "model weights",
    CONTEXT: "context clips (frames and actions) so that rollout and play need no dataset",
    SAMPLE: "the sample rollout above",
    TRAINING_FILES[0]: "optimizer, scheduler and RNG tensors, to resume training",
    TRAINING_FILES[1]: "the rest of the training state (step, epoch, ...)",
}


def _sample(checkpoint: Checkpoint) -> str:
    count, length = checkpoint.context["frames"].shape[:2]
    return (
        f"![sample rollout]({SAMPLE})\n\n*{count} context clip(s) side by side: {length} real frames, then what "
        f"the model imagines from the recorded (then random) actions.*"
    )


def _usage(repo_id: str, name: str) -> str:
    from wm import DISTRIBUTION

    return (
        f"## Use it with wm\n\n```bash\npip install {DISTRIBUTION}\n"
        f"wm rollout {repo_id} --steps 100 -o dream.gif   # imagine 100 frames from the stored context clips\n"
        f"wm play {repo_id}                               # drive it with the keyboard\n"
        f"wm hub pull {repo_id} -o {name}                # the files, for offline use\n```\n\n"
        f'```python\nfrom wm import WorldModel\n\nmodel = WorldModel.from_pretrained("{repo_id}")\n'
        f'model.push_to_hub("your-name/{name}")  # or model.save_pretrained("{name}")\n```'
    )


def _data_rows(data: dict[str, Any]) -> list[list[str]]:
    channels, height, width = data["frame_shape"]
    names = ", ".join(data["action_names"])
    return [
        ["frames", f"{channels} x {height} x {width} (C x H x W), uint8"],
        ["actions", f"{data['action_kind']}, {data['num_actions']}" + (f": {names}" if names else "")],
        ["rewards", "yes" if data["has_rewards"] else "no"],
        ["terminals", "yes" if data["has_terminals"] else "no"],
        ["fps", str(data["fps"]) if data["fps"] else "unknown"],
        ["source", data["source"]],
    ]


def find_evaluation(path: Path, checkpoint: Checkpoint, eval_file: Path | None) -> dict[str, Any] | None:
    """Evaluation results for the card: ``eval_file`` (``wm eval --json``), else the run's own.

    The run's own are the ``eval/...`` values its trainer logged to metrics.jsonl at the step
    this checkpoint was saved (``path`` is a checkpoint in a run's checkpoints/ or the run folder);
    a pulled Hub folder keeps the results it came with.
    """
    if eval_file is not None:
        try:
            document = json.loads(Path(eval_file).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise WMError(f"--eval {eval_file}: cannot read it as JSON ({err})") from err
        check_document(document, f"--eval {eval_file}")
        return {k: v for k, v in document.items() if k != "windows"}
    if is_hub_folder(path) and not (path / "checkpoints").is_dir():
        return json.loads((path / CONFIG).read_text()).get("evaluation")
    checkpoints = path.resolve().parent
    run = path if path.is_dir() else (checkpoints.parent if checkpoints.name == "checkpoints" else None)
    metrics = run / "metrics.jsonl" if run is not None else None
    step = (checkpoint.training or {}).get("step")
    if metrics is None or step is None or not metrics.is_file():
        return None
    found = None
    for line in metrics.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a crash
            continue
        if record.get("step") == step and any(k.startswith("eval/") for k in record):
            found = {k.removeprefix("eval/"): v for k, v in record.items() if k.startswith("eval/")}
    return found


def evaluation_markdown(evaluation: dict[str, Any]) -> str:
    """A ``wm eval --json`` document or the trainer's flat ``{"method/metric@horizon": value}``, as
    the tables `wm eval` prints (``wm.core.imagine.eval_table``)."""
    from wm.core.imagine.eval_table import eval_tables, notes, verdict

    flat = _flat(evaluation)
    tables = "\n\n".join(f"*{t.title}*\n\n" + _table(t.header, t.rows) for t in eval_tables(flat))
    if "dataset" in evaluation:
        where = f"on {Path(str(evaluation['dataset'])).name}, {evaluation.get('context')} context frames"
    else:
        where = "on held-out episodes at the end of training"
    about = (
        f"Open-loop {where}; horizon h is the h-th imagined frame. `copy_last` repeats the last real frame; "
        f"`shuffled_actions` imagines with the actions shuffled. {notes(flat)}"
    )
    return f"## Evaluation\n\n{about}\n\n**{verdict(flat)}**\n\n{tables}"


def _flat(evaluation: dict[str, Any]) -> dict[str, Any]:
    """Flat ``method/metric@horizon`` keys of a document (version 2, or version 1's wide rows) or of flat keys."""
    if "results" not in evaluation:
        return evaluation
    if evaluation.get("version") == VERSION:
        return flatten(evaluation)
    rows = evaluation["results"]  # version 1: {"method", "horizon", "mse", "psnr", "ssim"}
    return {f"{r['method']}/{k}@{r['horizon']}": v for r in rows for k, v in r.items() if k not in {"method", "horizon"}}


def _eval_results(evaluation: dict[str, Any]) -> list[Any]:
    """The model's PSNR, moving-pixel PSNR and action gap per horizon, as Hub ``model-index`` results."""
    from huggingface_hub import EvalResult

    flat = _flat(evaluation)
    source = Path(str(evaluation["dataset"])).name if "dataset" in evaluation else "held-out episodes"
    names = {"model/psnr": "PSNR", "model/moving_psnr": "moving-pixel PSNR", "action_gap/moving_psnr": "action gap"}
    results = []
    for key, value in flat.items():
        match = re.fullmatch(r"(\w+/\w+)@(\d+)", key)
        if match and match.group(1) in names and isinstance(value, (int, float)):
            results.append(EvalResult(
                task_type="video-prediction", dataset_type="wm-held-out", dataset_name=source, metric_type="psnr",
                metric_value=round(float(value), 3), metric_name=f"{names[match.group(1)]} h{match.group(2)} (dB)",
            ))  # fmt: skip
    return results


def _training(checkpoint: Checkpoint) -> str:
    import yaml

    steps = (checkpoint.training or {}).get("step")
    trained = f"Trained for {steps} optimizer steps. " if steps else ""
    config = yaml.safe_dump(checkpoint.config, sort_keys=False)
    return f"## Training\n\n{trained}The resolved config it was trained with:\n\n```yaml\n{config}```"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
