"""A layer-by-layer table of a model: output shape and parameters.

Used from chapter 04 on.
"""

from __future__ import annotations

import torch
from torch import nn

from .train import eval_mode

__all__ = ["layer_table", "markdown_table"]


def _short_repr(module: nn.Module) -> str:
    if isinstance(
        module, nn.modules.batchnorm._BatchNorm
    ):  # its full repr lists every default
        return f"{type(module).__name__}({module.num_features})"
    return repr(module)


def layer_table(model: nn.Module, example: torch.Tensor) -> list[dict]:
    """One row per leaf module that ``model(example)`` calls, in call order.

    Each row: ``name`` (dotted path), ``layer`` (its repr), ``output`` (shape
    without the batch axis) and ``params`` (its own parameters). Parameters a
    container holds itself, such as a ViT's class token and position table,
    get a row each (``layer`` "Parameter", ``output`` their shape without the
    leading 1), placed where the container is entered, so the column sums to
    every parameter of the model.
    """
    rows, hooks = [], []
    for name, module in model.named_modules():
        own = list(module.named_parameters(recurse=False))
        if (
            next(module.children(), None) is not None
        ):  # a container: its leaves get rows
            if own:

                def enter(mod, inputs, name=name, own=own):
                    for pname, p in own:
                        shape = (
                            tuple(p.shape[1:])
                            if p.ndim > 1 and p.shape[0] == 1
                            else tuple(p.shape)
                        )
                        full = f"{name}.{pname}" if name else pname
                        rows.append(
                            {
                                "name": full,
                                "layer": "Parameter",
                                "output": shape,
                                "params": p.numel(),
                            }
                        )

                hooks.append(module.register_forward_pre_hook(enter))
            continue

        def record(mod, inputs, output, name=name):
            rows.append(
                {
                    "name": name,
                    "layer": _short_repr(mod),
                    "output": tuple(output.shape[1:]),
                    "params": sum(p.numel() for p in mod.parameters(recurse=False)),
                }
            )

        hooks.append(module.register_forward_hook(record))
    try:
        with eval_mode(model), torch.no_grad():
            model(example)
    finally:
        for hook in hooks:
            hook.remove()
    return rows


def markdown_table(rows: list[dict], total: bool = True) -> str:
    """Rows of :func:`layer_table` as a Markdown table.

    For ``IPython.display.Markdown``.
    """
    lines = ["| layer | module | output (C, H, W) | parameters |", "|---|---|---|---:|"]
    for row in rows:
        shape = " x ".join(str(s) for s in row["output"])
        lines.append(
            f"| `{row['name']}` | `{row['layer']}` | {shape} | {row['params']:,} |"
        )
    if total:
        lines.append(f"| **total** | | | **{sum(r['params'] for r in rows):,}** |")
    return "\n".join(lines)
