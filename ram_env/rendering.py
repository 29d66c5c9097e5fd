"""Pictures of an episode: the canvas enlarged, the current glimpse's patches, earlier fixations."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PATCH_COLOURS = [(255, 64, 64), (255, 200, 0), (64, 200, 255), (180, 100, 255), (80, 255, 120)]
PATH_COLOUR = (0, 255, 0)
TARGET_SIDE = 240  # pixels: small canvases are enlarged to about this size
CAPTION_HEIGHT = 34  # pixels under the picture: the caption, then the legend


def render_frame(
    canvas: np.ndarray,
    boxes: np.ndarray,
    path: np.ndarray,
    caption: str = "",
    prediction: int | None = None,
    label: int | None = None,
) -> np.ndarray:
    """An RGB frame (h, w, 3) uint8 of one moment of an episode; its size depends only on H, W.

    ``canvas`` is (H, W) or (H, W, C) uint8; ``boxes`` the current glimpse's patches as
    ``(top, left, side)`` canvas pixels, finest first; ``path`` the fixations so far, (n, 2)
    locations in [-1, 1] with the current one last. Under the picture goes ``caption`` and, once
    ``prediction`` is given, the prediction next to the true ``label``: green if right, else red;
    on a second line a legend: each patch's colour and side, and the mark of earlier glimpses.
    """
    height, width = canvas.shape[:2]
    zoom = max(1, round(TARGET_SIDE / max(height, width)))
    rgb = _as_rgb(canvas).repeat(zoom, axis=0).repeat(zoom, axis=1)
    frame = Image.new("RGB", (width * zoom, height * zoom + CAPTION_HEIGHT))
    frame.paste(Image.fromarray(rgb), (0, 0))
    draw = ImageDraw.Draw(frame)

    points = [((x + 1) / 2 * width * zoom, (y + 1) / 2 * height * zoom) for x, y in path]
    if len(points) > 1:
        draw.line(points, fill=PATH_COLOUR, width=1)
    for px, py in points[:-1]:
        draw.ellipse([px - 2, py - 2, px + 2, py + 2], outline=PATH_COLOUR)
    for i, (top, left, side) in enumerate(boxes):
        corner = (left * zoom, top * zoom)
        far = ((left + side) * zoom - 1, (top + side) * zoom - 1)
        draw.rectangle([corner, far], outline=PATCH_COLOURS[i % len(PATCH_COLOURS)], width=2)
    colour = (220, 220, 220)
    if prediction is not None:
        caption = f"{caption}  predicted {prediction}, true {label}".strip()
        colour = (80, 255, 80) if prediction == label else (255, 80, 80)
    font = ImageFont.load_default()
    draw.text((4, height * zoom + 3), caption, fill=colour, font=font)
    _legend(draw, (4, height * zoom + 19), [int(side) for _, _, side in boxes], font)
    return np.asarray(frame)


def _legend(draw: ImageDraw.ImageDraw, corner: tuple[int, int], sides: list[int], font) -> None:
    """One line: each patch's colour and side in canvas pixels, then the path's mark."""
    x, y = corner
    for i, side in enumerate(sides):
        draw.rectangle([x, y + 2, x + 7, y + 9], outline=PATCH_COLOURS[i % len(PATCH_COLOURS)])
        label = f"{side}px"
        draw.text((x + 10, y), label, fill=(220, 220, 220), font=font)
        x += 10 + int(draw.textlength(label, font=font)) + 8
    draw.ellipse([x, y + 2, x + 6, y + 8], outline=PATH_COLOUR)
    draw.text((x + 10, y), "earlier glimpses", fill=(220, 220, 220), font=font)


def episode_frame(
    canvas: np.ndarray,
    sensor,
    path: list[np.ndarray],
    step: int,
    num_glimpses: int,
    answer: dict[str, int],
) -> np.ndarray:
    """The frame both envs' ``render()`` draw for one episode: ``canvas``, the patches of the
    ``sensor`` (a :class:`ram_env.sensor.GlimpseSensor`) at the last location of ``path`` (the
    fixations so far), "step s/T", and the ``answer`` (``prediction``, ``label``) once given."""
    boxes = sensor.boxes(path[-1][None], *canvas.shape[:2])[0]
    return render_frame(
        canvas,
        boxes,
        np.array(path),
        caption=f"step {step}/{num_glimpses}",
        prediction=answer.get("prediction"),
        label=answer.get("label"),
    )


def _as_rgb(canvas: np.ndarray) -> np.ndarray:
    if canvas.ndim == 2:
        return np.repeat(canvas[:, :, None], 3, axis=2)
    if canvas.shape[2] == 1:
        return np.repeat(canvas, 3, axis=2)
    return canvas[:, :, :3]
