"""Write the sts_pairs sentence-pair relatedness data (provenance script; seeded, no downloads).

Run once from the repository root::

    python -m mlr_copilot_jupyter.tasks.sts_pairs._make_data

Each pair is built from meaning slots (subject, verb, object, adjective, place, time) of one
of several topics. The second sentence keeps some slots (possibly as a synonym, in another word
order or with inserted words) and replaces the others; the relatedness score is 5 x the weighted
share of slots whose meaning is kept, plus Gaussian noise, clipped to 0..5.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 13
SIZES = {"train": 1500, "valid": 500, "test": 500}
WEIGHTS = {"subject": 0.3, "verb": 0.3, "object": 0.2, "adjective": 0.08, "place": 0.07,
           "time": 0.05}
NOISE = 0.35

# topic -> slot -> meanings, each meaning a tuple of interchangeable words (synonyms)
TOPICS: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "kitchen": {
        "subject": [("chef", "cook"), ("woman", "lady"), ("man", "guy"), ("boy", "kid")],
        "verb": [("is slicing", "is cutting"), ("is frying", "is cooking"), ("is peeling",),
                 ("is washing", "is rinsing")],
        "object": [("an onion",), ("some potatoes", "a few potatoes"), ("the meat", "the beef"),
                   ("a tomato",)],
        "adjective": [("young",), ("tired", "weary"), ("cheerful", "happy")],
        "place": [("in the kitchen",), ("at the restaurant", "in the diner"),
                  ("on the counter",)],
        "time": [("this morning",), ("tonight", "this evening"), ("right now",)],
    },
    "sports": {
        "subject": [("player", "athlete"), ("girl", "young woman"), ("team", "squad"),
                    ("goalkeeper", "keeper")],
        "verb": [("is kicking", "is booting"), ("is throwing", "is tossing"),
                 ("is catching", "is grabbing"), ("is chasing", "is running after")],
        "object": [("the ball", "the football"), ("a frisbee",), ("the puck",),
                   ("a tennis ball",)],
        "adjective": [("tall",), ("fast", "quick"), ("talented", "skilled")],
        "place": [("on the field", "on the pitch"), ("in the stadium", "in the arena"),
                  ("at the park",)],
        "time": [("during the match", "during the game"), ("after school",), ("today",)],
    },
    "animals": {
        "subject": [("dog", "puppy"), ("cat", "kitten"), ("horse", "pony"), ("bird",)],
        "verb": [("is chewing", "is gnawing on"), ("is chasing", "is pursuing"),
                 ("is jumping over", "is leaping over"), ("is sniffing", "is smelling")],
        "object": [("a stick", "a branch"), ("the fence",), ("a toy", "a plaything"),
                   ("the grass", "the lawn")],
        "adjective": [("brown",), ("small", "little"), ("playful",)],
        "place": [("in the yard", "in the garden"), ("on the beach", "on the shore"),
                  ("in the snow",)],
        "time": [("at dawn",), ("in the afternoon",), ("all day", "the whole day")],
    },
    "music": {
        "subject": [("musician", "performer"), ("man", "guy"), ("singer", "vocalist"),
                    ("student", "pupil")],
        "verb": [("is playing", "is strumming"), ("is tuning", "is adjusting"),
                 ("is carrying", "is holding"), ("is cleaning", "is polishing")],
        "object": [("a guitar",), ("the piano", "the keyboard"), ("a violin", "a fiddle"),
                   ("the drums",)],
        "adjective": [("old", "elderly"), ("nervous", "anxious"), ("famous", "well-known")],
        "place": [("on stage", "on the stage"), ("in the studio",), ("on the street",)],
        "time": [("at night",), ("before the concert", "before the show"), ("again",)],
    },
    "travel": {
        "subject": [("tourist", "traveller"), ("family",), ("pilot", "aviator"),
                    ("driver", "motorist")],
        "verb": [("is boarding", "is getting on"), ("is leaving", "is departing"),
                 ("is waiting for", "is expecting"), ("is photographing", "is taking a photo of")],
        "object": [("the train",), ("a bus", "a coach"), ("the plane", "the aircraft"),
                   ("a ferry", "a boat")],
        "adjective": [("busy",), ("lost",), ("excited", "thrilled")],
        "place": [("at the station",), ("at the airport",), ("by the harbour", "at the port")],
        "time": [("at noon", "at midday"), ("on monday",), ("late",)],
    },
}
FILLERS = ("clearly", "really", "slowly", "carefully", "quickly", "happily")


def _realise(slots: dict[str, tuple[str, ...]], rng: random.Random, vary: bool) -> str:
    def word(name: str) -> str:
        options = slots[name]
        return rng.choice(options) if vary else options[0]

    subject = f"{word('adjective')} {word('subject')}" if rng.random() < 0.6 else word("subject")
    verb = word("verb")
    if vary and rng.random() < 0.3:
        verb = verb.replace("is ", f"is {rng.choice(FILLERS)} ", 1)
    tail = [word(n) for n in ("place", "time") if rng.random() < 0.7]
    parts = [f"the {subject}", verb, word("object"), *tail]
    if vary and len(tail) == 2 and rng.random() < 0.5:
        parts = [tail[1].capitalize() + ",", f"the {subject}", verb, word("object"), tail[0]]
        return " ".join(parts) + "."
    sentence = " ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def _pair(rng: random.Random) -> tuple[str, str, float]:
    topic = rng.choice(list(TOPICS))
    first = {n: rng.choice(v) for n, v in TOPICS[topic].items()}
    keep_share = rng.choice((1.0, 0.85, 0.7, 0.5, 0.3, 0.15, 0.0))
    other_topic = topic if keep_share > 0 or rng.random() < 0.5 else rng.choice(list(TOPICS))
    second, kept = {}, 0.0
    for name, weight in WEIGHTS.items():
        choices = TOPICS[other_topic][name]
        if rng.random() < keep_share and other_topic == topic:
            second[name], kept = first[name], kept + weight
        else:
            different = [c for c in choices if c != first[name]] or choices
            second[name] = rng.choice(different)
    noise = rng.gauss(0.0, NOISE)
    score = min(5.0, max(0.0, 5.0 * kept + noise))
    return _realise(first, rng, vary=False), _realise(second, rng, vary=True), round(score, 2)


def write_data() -> None:
    rng = random.Random(SEED)
    (HERE / "heldout").mkdir(exist_ok=True)
    for split, size in SIZES.items():
        rows = [_pair(rng) for _ in range(size)]
        frame = pd.DataFrame(rows, columns=["sentence1", "sentence2", "score"])
        path = HERE / ("heldout/test.csv" if split == "test" else f"{split}.csv")
        frame.to_csv(path, index=False)
        print(f"{path}: {len(frame)} rows")


if __name__ == "__main__":
    write_data()
