"""COCO class names, in the index order COCO-trained detectors (NanoDet, YOLO) use."""

import difflib

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

PERSON = COCO_CLASSES.index("person")
# words users type for a class, answered with its COCO name (a spelling guess took "people" for "apple")
SYNONYMS = {"people": "person", "human": "person", "man": "person", "woman": "person", "pedestrian": "person",
            "player": "person", "bike": "bicycle", "motorbike": "motorcycle", "sofa": "couch", "tvmonitor": "tv",
            "aeroplane": "airplane", "plane": "airplane", "ball": "sports ball", "phone": "cell phone"}


def class_ids(names: str | list[str] | tuple[str, ...]) -> list[int]:
    """``"person,car"`` or ``["person", "car"]`` -> ``[0, 2]``; unknown names raise ValueError."""
    items = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    if not items:
        raise ValueError("no class named (give one or more COCO class names, e.g. person or person,dog)")
    unknown = [n for n in items if n not in COCO_CLASSES]
    if unknown:
        guesses = {n: [SYNONYMS[n.lower()]] if n.lower() in SYNONYMS else
                   difflib.get_close_matches(n.lower(), COCO_CLASSES, n=1, cutoff=0.75) for n in unknown}
        if all(guesses.values()):  # a typo: the name meant, not all 80
            meant = ", ".join(f"{n!r} (did you mean {g[0]!r}?)" for n, g in guesses.items())
            raise ValueError(f"unknown class {meant}")
        raise ValueError(f"unknown class {', '.join(map(repr, unknown))}; COCO classes are: {', '.join(COCO_CLASSES)}")
    return [COCO_CLASSES.index(n) for n in items]
