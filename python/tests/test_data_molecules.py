"""The molecule tables of the ``mol`` task: every row is a valid species of the task's scope, the
enumerated table is what its generator writes (so the data can be regenerated), and it adds only
molecules the hand-written table lacks."""

from __future__ import annotations

import pytest

pytest.importorskip("rdkit")


def test_tables_hold_valid_distinct_species():
    from equiforce.data.mol_enumerate import ENUMERATED_FILE
    from equiforce.data.molgen import SMILES_FILE, all_species, group_key, read_species

    hand = read_species(SMILES_FILE)  # raises on invalid SMILES, elements, size or spin/charge parity
    enumerated = read_species(ENUMERATED_FILE, first_index=len(hand))
    species = all_species()
    assert [sp.index for sp in species] == list(range(len(hand) + len(enumerated)))
    assert species[len(hand)].smiles == enumerated[0].smiles
    hand_groups = {group_key(sp.smiles) for sp in hand}
    new_groups = {group_key(sp.smiles) for sp in enumerated}
    assert not hand_groups & new_groups
    assert len(new_groups) >= 500
    # ions and radicals: closed-shell anions and cations, neutral radicals, radical ions of neutral parents
    states = {(sp.charge, sp.multiplicity) for sp in enumerated}
    assert {(0, 1), (-1, 1), (1, 1), (0, 2), (1, 2), (-1, 2)} <= states
    for sp in enumerated:
        if sp.multiplicity == 2 and sp.charge != 0:
            assert any(p.smiles == sp.smiles and p.charge == 0 and p.multiplicity == 1 for p in enumerated)


def test_enumerated_table_is_reproducible(tmp_path):
    from equiforce.data import mol_enumerate as me

    out = tmp_path / "enumerated.tsv"
    me.write_table(me.enumerate_species(me.SEED, exclude=me.known_smiles()), str(out))
    with open(me.ENUMERATED_FILE) as f:
        assert out.read_text() == f.read()
