"""What each recorded Procgen key does, per game, so that action NMI scores codes against effects.

Procgen's 15 actions are the same key combinations in every game; what they do differs. Where a game is
known (CoinRun: left, right, jump, jump-left, jump-right, still) keys with the same effect are grouped;
elsewhere each key is its own class.
"""

import numpy as np

# Procgen action ids: 0 left+down, 1 left, 2 left+up, 3 down, 4 no-op, 5 up, 6 right+down, 7 right, 8 right+up,
# 9-14 the letter keys.
KEY_NAMES = ("left+down", "left", "left+up", "down", "no-op", "up", "right+down", "right", "right+up",
             "D", "A", "W", "S", "Q", "E")
# CoinRun: "up" jumps; down and the letter keys do nothing.
COINRUN_EFFECT_NAMES = ("left", "right", "jump", "jump-left", "jump-right", "still")
COINRUN_EFFECT_OF_ACTION = np.array([0, 0, 3, 5, 5, 2, 1, 1, 4, 5, 5, 5, 5, 5, 5])
KNOWN_EFFECTS = {"coinrun": (COINRUN_EFFECT_OF_ACTION, COINRUN_EFFECT_NAMES)}


def effect_groups(game: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """(effect index of each of the 15 keys, effect names) for `game`; each key its own class for games
    not in KNOWN_EFFECTS."""
    return KNOWN_EFFECTS.get(game, (np.arange(len(KEY_NAMES)), KEY_NAMES))


def effect_names(game: str) -> tuple[str, ...]:
    """The classes the keys of `game` fall into."""
    return effect_groups(game)[1]


def effect_label_names(actions: np.ndarray, games: np.ndarray) -> np.ndarray:
    """actions (C, T) Procgen ids, games (C,) str -> (C, T) object: "game:effect" of each action."""
    names = np.empty(actions.shape, dtype=object)
    for game in np.unique(games):
        rows = games == game
        effect_of_action, names_of_effects = effect_groups(game)
        labels = np.asarray(names_of_effects, dtype=object)[effect_of_action[actions[rows]]]
        names[rows] = game + ":" + labels
    return names


def effect_labels(actions: np.ndarray, games: np.ndarray) -> np.ndarray:
    """actions (C, T) Procgen ids, games (C,) str -> (C, T) int64: one label per distinct (game, effect)."""
    names = effect_label_names(actions, games)
    return np.unique(names, return_inverse=True)[1].reshape(actions.shape).astype(np.int64)


def majority_effects(codes: np.ndarray, effect_names_: np.ndarray, num_codes: int) -> list[dict]:
    """codes (...) int LAM codes, effect_names_ (...) "game:effect" of the true action at the same steps ->
    for each code, its most common true effect and the share of the code's steps that effect has."""
    rows = []
    for code in range(num_codes):
        names, counts = np.unique(effect_names_[codes == code].astype(str), return_counts=True)
        top = int(counts.argmax()) if len(counts) else None
        rows.append({"code": code, "effect": None if top is None else str(names[top]),
                     "share": 0.0 if top is None else round(float(counts[top] / counts.sum()), 3)})
    return rows
