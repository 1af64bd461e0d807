"""The molecule tables of the ``mol`` task: every row is a valid species of the task's scope, the
enumerated table is what its generator writes (so the data can be regenerated), and it adds only
molecules the hand-written table lacks."""

from __future__ import annotations

import pytest

pytest.importorskip("rdkit")


def test_tables_hold_valid_distinct_species():
    from equiforce.data.mol_enumerate import ROUND_FILES
    from equiforce.data.molgen import SMILES_FILE, all_species, group_key, read_species

    hand = read_species(SMILES_FILE)  # raises on invalid SMILES, elements, size or spin/charge parity
    rounds, first = [], len(hand)
    for r in sorted(ROUND_FILES):
        rounds.append(read_species(ROUND_FILES[r], first_index=first))
        first += len(rounds[-1])
    species = all_species()
    assert [sp.index for sp in species] == list(range(first))
    start = len(hand)
    for enumerated in rounds:
        assert species[start].smiles == enumerated[0].smiles
        start += len(enumerated)
    earlier_groups = {group_key(sp.smiles) for sp in hand}
    for enumerated, at_least in zip(rounds, (500, 550, 550, 540)):
        new_groups = {group_key(sp.smiles) for sp in enumerated}
        assert not earlier_groups & new_groups  # every round adds only molecules no earlier table has
        assert len(new_groups) >= at_least
        earlier_groups |= new_groups
        # ions and radicals: closed-shell anions and cations, neutral radicals, radical ions of neutral parents
        states = {(sp.charge, sp.multiplicity) for sp in enumerated}
        assert {(0, 1), (-1, 1), (1, 1), (0, 2), (1, 2), (-1, 2)} <= states
        for sp in enumerated:
            if sp.multiplicity == 2 and sp.charge != 0:
                assert any(p.smiles == sp.smiles and p.charge == 0 and p.multiplicity == 1 for p in enumerated)
    for later in rounds[1:]:  # rounds 2-4 are weighted towards the states predicted worst
        assert sum(sp.charge != 0 or sp.multiplicity != 1 for sp in later) >= len(later) // 2


def test_enumerated_tables_are_reproducible(tmp_path):
    from equiforce.data import mol_enumerate as me

    for round_, path in me.ROUND_FILES.items():
        out = tmp_path / f"enumerated{round_}.tsv"
        assert me.main(["--round", str(round_), "--out", str(out)]) == 0
        with open(path) as f:
            assert out.read_text() == f.read()
