"""torchvision's own RetinaNet post-processing on raw head outputs, as the reference for test/detection.test.ts.

Usage: detection-reference.py <folder>. Every subfolder holding a manifest.json is one case:

  manifest.json  {"imageHeight", "imageWidth", "anchors": "default" | {"sizes", "ratios"}, "classes",
                  "levels": [{"height", "width"}], "options": {"scoreThreshold", ...} (missing ones: RetinaNet's defaults)}
  level-<i>-logits.bin, level-<i>-regression.bin   little-endian float32, [h, w, A, K] and [h, w, A, 4]

Writes into the same subfolder: anchors-<i>.bin (float32 [h·w·A, 4]), boxes.bin (float32 [n, 4]), scores.bin
(float32 [n]), labels.bin (int32 [n]) and result.json with the count and the anchor generator's sizes and ratios.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models.detection import RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList


class Backbone(nn.Module):
    """Only what RetinaNet's constructor asks of a backbone: its output channel count for the (unused) head."""

    out_channels = 4


def build_model(manifest):
    anchors = manifest["anchors"]
    generator = None
    if anchors != "default":
        generator = AnchorGenerator(tuple(map(tuple, anchors["sizes"])), tuple(map(tuple, anchors["ratios"])))
    names = {"scoreThreshold": "score_thresh", "nmsThreshold": "nms_thresh",
             "detectionsPerImage": "detections_per_img", "topkCandidates": "topk_candidates"}
    options = {names[key]: value for key, value in manifest.get("options", {}).items()}
    model = RetinaNet(Backbone(), manifest["classes"], anchor_generator=generator, **options)
    return model.eval()


def read_floats(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(shape).copy())


def run_case(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    model = build_model(manifest)
    height, width, classes = manifest["imageHeight"], manifest["imageWidth"], manifest["classes"]
    levels = manifest["levels"]
    per_location = model.anchor_generator.num_anchors_per_location()
    # Anchors come from the generator's forward, which reads the image and feature map sizes off the tensors.
    images = ImageList(torch.zeros(1, 3, height, width), [(height, width)])
    features = [torch.zeros(1, 1, level["height"], level["width"]) for level in levels]
    counts = [level["height"] * level["width"] * a for level, a in zip(levels, per_location)]
    anchors = model.anchor_generator(images, features)[0]
    split_anchors = list(anchors.split(counts))
    logits = [read_floats(folder / f"level-{i}-logits.bin", (1, n, classes)) for i, n in enumerate(counts)]
    regression = [read_floats(folder / f"level-{i}-regression.bin", (1, n, 4)) for i, n in enumerate(counts)]
    with torch.no_grad():
        outputs = {"cls_logits": logits, "bbox_regression": regression}
        detections = model.postprocess_detections(outputs, [split_anchors], [(height, width)])[0]
    for i, level_anchors in enumerate(split_anchors):
        level_anchors.numpy().astype("<f4").tofile(folder / f"anchors-{i}.bin")
    detections["boxes"].numpy().astype("<f4").tofile(folder / "boxes.bin")
    detections["scores"].numpy().astype("<f4").tofile(folder / "scores.bin")
    detections["labels"].numpy().astype("<i4").tofile(folder / "labels.bin")
    generator = model.anchor_generator
    result = {"count": int(detections["scores"].numel()),
              "sizes": [list(s) for s in generator.sizes], "ratios": [list(r) for r in generator.aspect_ratios]}
    (folder / "result.json").write_text(json.dumps(result))


def main():
    root = Path(sys.argv[1])
    cases = sorted(p.parent for p in root.glob("*/manifest.json"))
    if not cases:
        sys.exit(f"no */manifest.json under {root}")
    for folder in cases:
        run_case(folder)


if __name__ == "__main__":
    main()
