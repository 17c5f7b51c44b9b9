"""A model used as a layer of another: its graph runs inside the outer one, on the outer one's engine."""

from __future__ import annotations

from typing import Any

from ..engines import MaskPolicy, pack
from ..errors import ModelFormatError
from ..facts import KerasFacts
from ..topology import MODEL_CLASSES
from .layers.base import Layer, Shape, register
from .model import Model


@register(*MODEL_CLASSES)
class NestedModel(Layer):
    """A model used as a layer of another: its graph runs inside the outer one."""
    keras = KerasFacts(keras3_mask_argument=True)  # Keras 3's Functional and Sequential take one

    supports_masking = True

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.model = Model(config["topology"], engine)
        for layer in self.model.layers:
            self.weights += layer.weights

    def build(self, input_shape: Shape | list[Shape]) -> None:
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        expected = [spec.shape for spec in self.model.inputs]
        if len(shapes) != len(expected) or any(
                len(s) != len(e) or any(a is not None and b is not None and a != b for a, b in zip(s, e))
                for s, e in zip(shapes, expected)):
            raise ModelFormatError(f"layer {self.name!r} (a nested {self.class_name}) takes inputs of shapes "
                                   f"{expected}, but is called on {shapes}")

    def output_shape(self, input_shape: Shape | list[Shape]) -> Shape | list[Shape]:
        return pack(self.model.output_shapes_for(input_shape if isinstance(input_shape, list) else [input_shape]))

    @property
    def stateful(self) -> bool:
        return self.model.stateful

    def call_with_masks(self, inputs: Any, mask: Any = None,
                        policy: MaskPolicy | None = None) -> tuple[Any, Any]:
        """The outputs and their masks, both of this call (nothing is kept on the layer: calls may overlap)."""
        feeds = inputs if isinstance(inputs, list) else [inputs]
        masks = mask if isinstance(mask, list) else [mask] * len(feeds)
        if policy is None:  # called by a wrapper (TimeDistributed), not by the executor
            policy = self.model.engine.mask_policy()
        policy, masks = policy.for_nested(masks)
        outputs, out_masks = self.model.run(feeds, masks, policy)
        return pack(outputs), pack(out_masks)

    def call(self, inputs: Any, mask: Any = None, policy: MaskPolicy | None = None,
             **kwargs: Any) -> Any:
        return self.call_with_masks(inputs, mask, policy)[0]

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        return self.call_with_masks(inputs, mask)[1]  # the executor takes them from its call instead

    def reset_states(self) -> None:
        self.model.reset_states()
