"""A Keras-style summary table of a model's layers."""

from __future__ import annotations

from typing import Any

Model = Any  # a runtime model: the summary reads its layers, topology and shapes (model.py calls this module)

_WIDTHS = (34, 26, 12, 30)


def format_shape(shape: tuple) -> str:
    """``(None, 10, 32)`` as Keras prints it."""
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _shapes_text(calls: list[list[tuple]]) -> str:
    texts = []
    for shapes in calls or [[]]:
        parts = [format_shape(s) for s in shapes]
        texts.append(parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]")
    return texts[0] if len(texts) == 1 else "multiple"


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()


def _widths(rows: list[tuple[str, ...]]) -> list[int]:
    """Keras's column widths, widened where a cell would otherwise touch the next column."""
    return [max(default, *(len(row[i]) + 2 for row in rows)) for i, default in enumerate(_WIDTHS[:len(rows[0])])]


def summary_text(model: Model) -> str:
    """The summary of ``model``: one row per layer (name (type), output shape, param #), then the totals."""
    connected = any(len(spec.calls) > 1 or len(spec.calls[0].args) > 1 for spec in model.topology.layers
                    if spec.calls)
    rows = [("Layer (type)", "Output Shape", "Param #") + (("Connected to",) if connected else ())]
    for layer in model.layers:
        row = (f"{layer.name} ({layer.class_name})", _shapes_text(model.output_shapes_of(layer)),
               str(layer.count_params()))
        if connected:
            calls = model.topology.layer(layer.name).calls
            row += (", ".join(f"{r.layer}[{r.node_index}][{r.tensor_index}]" for c in calls for r in c.refs()),)
        rows.append(row)
    widths = _widths(rows)
    rule = "_" * sum(widths)
    trainable = _trainable_params(model)
    total = model.count_params()
    return "\n".join([f'Model: "{model.name}"', rule, _row(rows[0], widths), "=" * sum(widths),
                      *(_row(row, widths) for row in rows[1:]), "=" * sum(widths),
                      f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                      f"Non-trainable params: {total - trainable:,}", rule])


def summary_dict(model: Model) -> dict:
    """The summary for machines: inputs and outputs in order (name, shape, dtype; ``--input`` follows this order),
    layers (name, class, output shapes of each call, parameter count) and the parameter totals."""
    def specs(items: list) -> list[dict]:
        return [{"name": s.name, "shape": list(s.shape), "dtype": s.dtype} for s in items]

    trainable = _trainable_params(model)
    layers = [{"name": layer.name, "class_name": layer.class_name, "params": layer.count_params(),
               "output_shapes": [[list(shape) for shape in call] for call in model.output_shapes_of(layer)]}
              for layer in model.layers]
    total = model.count_params()
    return {"name": model.name, "inputs": specs(model.inputs), "outputs": specs(model.outputs), "layers": layers,
            "total_params": total, "trainable_params": trainable, "non_trainable_params": total - trainable}


def _trainable_params(model: Model) -> int:
    return sum(v.size for layer in model.layers for v in layer.weights if v.trainable)
