"""One colour per label, the same in every picture and on the browser view's timeline.

Colours come from Kelly's list of colours of maximum contrast (1965; white, black and grey left
out: grey is ``uncertain``), extended to 24: no two of them closer than 15 in CIELAB (Delta E 76),
none within 29 of the grey. A label takes the colour at its index in the model's label list, so
every class of a model of up to 24 classes has its own; a label outside that list (or no list)
falls back to a stable hash into the same palette. Hand-written: a colour table and two lines,
where a colour library would add a dependency for nothing else.

Usage::

    label_colour("tennis", labels)          # "#F38400" (hex, for HTML)
    rgb(label_colour("tennis", labels))     # (0.953, 0.518, 0.0) (for matplotlib)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

UNCERTAIN_COLOUR = "#999999"
PALETTE = (
    "#F3C300", "#875692", "#F38400", "#A1CAF1", "#BE0032", "#C2B280", "#008856", "#E68FAC",
    "#0067A5", "#F99379", "#604E97", "#F6A600", "#B3446C", "#DCD300", "#882D17", "#8DB600",
    "#654522", "#E25822", "#2B3D26", "#00A5A5", "#1F1F7A", "#7FD4C1", "#FF00C8", "#5B0A2E",
)  # fmt: skip


def label_colour(label: str, labels: Sequence[str] = ()) -> str:
    """``label``'s colour as ``#RRGGBB``: grey for ``uncertain``, else its place in ``labels``."""
    if label == "uncertain":
        return UNCERTAIN_COLOUR
    if label in labels:
        return PALETTE[list(labels).index(label) % len(PALETTE)]
    return PALETTE[int(hashlib.md5(label.encode()).hexdigest()[:6], 16) % len(PALETTE)]


def rgb(colour: str) -> tuple[float, float, float]:
    """``#RRGGBB`` as three floats in 0-1."""
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]
