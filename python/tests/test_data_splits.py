"""Splits are by group (molecule / composition), disjoint, complete, seeded; frames follow their group."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"


def test_split_groups_disjoint_complete_and_seeded():
    from equiforce.data.splits import frame_indices, split_groups

    groups = [f"g{i}" for i in range(50)] + ["Cu", "Ni"]
    frames = [groups[i % len(groups)] for i in range(500)]
    s = split_groups(frames, (0.8, 0.1, 0.1), seed=3, force_train={"Cu", "Ni"})
    sets = [set(s[k]) for k in ("train", "val", "test")]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert set.union(*sets) == set(groups)
    assert {"Cu", "Ni"} <= sets[0]
    assert len(sets[1]) == 5 and len(sets[2]) == 5
    assert s == split_groups(list(reversed(frames)), (0.8, 0.1, 0.1), seed=3, force_train={"Cu", "Ni"})
    assert s != split_groups(frames, (0.8, 0.1, 0.1), seed=4, force_train={"Cu", "Ni"})
    idx = frame_indices(frames, s)
    assert sum(len(v) for v in idx.values()) == len(frames)
    for k in ("train", "val", "test"):
        assert {frames[i] for i in idx[k]} <= set(s[k])
    with pytest.raises(KeyError):
        frame_indices(frames + ["unknown"], s)


@pytest.mark.skipif(not (DATA / "splits.json").exists(), reason="generated data not present")
def test_generated_splits_separate_molecules_and_compositions():
    from equiforce.data.splits import frame_indices, load
    from equiforce.data.store import FrameSet

    split = load(str(DATA / "splits.json"))
    for task in ("mol", "metal"):
        fs = FrameSet.load(str(DATA / f"{task}.npz"))
        names = fs.group_names()
        idx = frame_indices(names, split[task])
        seen = {k: set(names[v]) for k, v in idx.items()}
        assert not (seen["train"] & seen["test"]) and not (seen["train"] & seen["val"])
        assert len(idx["test"]) > 0 and len(idx["val"]) > 0
        assert split["sizes"][task]["train"]["frames"] == len(idx["train"])


def test_states_into_train_moves_the_first_group_of_each_missing_state():
    from equiforce.data.splits import states_into_train

    split = {"train": ["a", "b"], "val": ["c", "e"], "test": ["d", "f"]}
    states = {"a": {(0, 1)}, "b": {(1, 1), (0, 2)}, "c": {(-2, 1)}, "d": {(2, 1), (0, 1)}, "e": {(2, 1)},
              "f": {(0, 1)}}
    out = states_into_train(split, states)
    assert out == {"train": ["a", "b", "c", "d"], "val": ["e"], "test": ["f"]}
    trained = set().union(*(states[g] for g in out["train"]))
    assert trained == set().union(*states.values())
    assert states_into_train(out, states) == out  # nothing missing: unchanged


def test_extend_split_keeps_every_known_group_in_place():
    from equiforce.data.splits import extend_split, split_groups

    old = split_groups([f"g{i}" for i in range(40)], (0.8, 0.1, 0.1), seed=0)
    groups = [f"g{i}" for i in range(40)] + [f"new{i}" for i in range(30)]
    out = extend_split(old, groups, (0.8, 0.1, 0.1), seed=1)
    for name in ("train", "val", "test"):
        assert set(old[name]) <= set(out[name])  # a model trained on the old split never saw old val/test
    added = {name: set(out[name]) - set(old[name]) for name in out}
    assert set.union(*added.values()) == {f"new{i}" for i in range(30)}
    assert len(added["val"]) == 3 and len(added["test"]) == 3
    assert extend_split(out, groups, (0.8, 0.1, 0.1), seed=1) == out  # nothing new: unchanged
