"""Every people operation, its undo and its redo (catalog state compared before and after)."""

import pytest
from people_synth import album_fixture, faces_of_identity, identity, rng_fixture  # noqa: F401

from faceorganizer import people
from faceorganizer.people import NameExistsError, PeopleError, cluster


@pytest.fixture
def grouped(album, rng):
    """An album with three unnamed groups (A, B, C) of 5 faces each, clustered."""
    ids = {}
    for who in "ABC":
        ids[who] = album.faces_alone(faces_of_identity(rng, identity(rng), 5), who)
    cluster(album.cat)
    album.ids = ids
    album.group_of = {who: album.row(f[0])["cluster_id"] for who, f in ids.items()}
    return album


def undoable(album, op):
    """Run op; check undo restores the state before and redo the state after; returns op's result."""
    before = album.state()
    result = op()
    after = album.state()
    assert after != before, "the operation changed nothing"
    assert album.cat.undo() is not None
    assert album.state() == before
    assert album.cat.redo() is not None
    assert album.state() == after
    return result


def test_name_group_creates_a_person(grouped):
    cat = grouped.cat
    pid = undoable(grouped, lambda: people.name_group(cat, grouped.group_of["A"], "  Alice "))
    assert cat.scalar("SELECT name FROM people WHERE id = ?", (pid,)) == "Alice"
    assert {(grouped.row(f)["person_id"], grouped.row(f)["assigned"]) for f in grouped.ids["A"]} == {
        (pid, "user")
    }
    assert all(grouped.row(f)["cluster_id"] is None for f in grouped.ids["A"])
    with pytest.raises(NameExistsError) as e:
        people.name_group(cat, grouped.group_of["B"], "alice")
    assert e.value.person_id == pid and isinstance(e.value, PeopleError)
    same = undoable(grouped, lambda: people.name_group(cat, grouped.group_of["B"], "ALICE", merge=True))
    assert same == pid
    assert people.list_people(cat)[0].face_count == 10
    with pytest.raises(PeopleError, match="no unnamed group #999"):
        people.name_group(cat, 999, "Zed")


@pytest.mark.parametrize(
    "bad, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a\nb", "control"),
        ("x\x00", "control"),
        ("x" * 101, "at most 100"),
        (12, "must be text"),
    ],
)
def test_names_are_validated(grouped, bad, message):
    with pytest.raises(PeopleError, match=message):
        people.name_group(grouped.cat, grouped.group_of["A"], bad)
    assert grouped.cat.scalar("SELECT COUNT(*) FROM people") == 0


def test_rename_and_rename_onto_an_existing_name(grouped):
    cat = grouped.cat
    alice = people.name_group(cat, grouped.group_of["A"], "Alice")
    bob = people.name_group(cat, grouped.group_of["B"], "Bob")
    undoable(grouped, lambda: people.rename_person(cat, alice, "Alicia"))
    assert people.person_by_name(cat, "alicia") == alice
    undoable(grouped, lambda: people.rename_person(cat, alice, "ALICIA"))  # a case change is a rename
    with pytest.raises(NameExistsError):
        people.rename_person(cat, alice, "bob")
    kept = undoable(grouped, lambda: people.rename_person(cat, alice, "Bob", merge=True))
    assert kept == bob and people.person_by_name(cat, "Alicia") is None
    assert cat.scalar("SELECT COUNT(*) FROM faces WHERE person_id = ?", (bob,)) == 10
    with pytest.raises(PeopleError, match="no person with id 999"):
        people.rename_person(cat, 999, "X")


def test_merge_people_and_groups(grouped, rng):
    cat = grouped.cat
    alice = people.name_group(cat, grouped.group_of["A"], "Alice")
    bob = people.name_group(cat, grouped.group_of["B"], "Bob")
    stray = grouped.faces_alone(faces_of_identity(rng, identity(rng), 1), "X")[0]
    people.not_person(cat, [stray], bob)  # "not Bob" must become "not Alice" after the merge
    people.set_cover(cat, bob, grouped.ids["B"][2])
    out = undoable(
        grouped,
        lambda: people.merge(cat, [("person", bob), ("group", grouped.group_of["C"])], ("person", alice)),
    )
    assert out == alice
    assert cat.scalar("SELECT COUNT(*) FROM people") == 1
    assert cat.scalar("SELECT COUNT(*) FROM faces WHERE person_id = ?", (alice,)) == 15
    assert cat.query("SELECT face_id, person_id FROM rejections") == [{"face_id": stray, "person_id": alice}]
    assert cat.scalar("SELECT cover_face_id FROM people WHERE id = ?", (alice,)) == grouped.ids["B"][2]


def test_merge_groups_into_a_group(grouped):
    cat = grouped.cat
    a, b = grouped.group_of["A"], grouped.group_of["B"]
    assert undoable(grouped, lambda: people.merge(cat, [("group", a)], ("group", b))) == b
    assert sorted(grouped.groups()[b]) == sorted(grouped.ids["A"] + grouped.ids["B"])
    alice = people.name_group(cat, grouped.group_of["C"], "Carol")
    with pytest.raises(PeopleError, match="cannot merge a named person into the unnamed group"):
        people.merge(cat, [("person", alice)], ("group", b))
    with pytest.raises(PeopleError, match="nothing to merge"):
        people.merge(cat, [("group", b)], ("group", b))
    with pytest.raises(PeopleError, match="reference"):
        people.merge(cat, [("album", 1)], ("group", b))


def test_move_faces_lifts_a_rejection(grouped):
    cat = grouped.cat
    alice = people.name_group(cat, grouped.group_of["A"], "Alice")
    f = grouped.ids["B"][0]
    people.not_person(cat, [f], alice)
    undoable(grouped, lambda: people.move_faces(cat, [f], alice))
    assert (grouped.row(f)["person_id"], grouped.row(f)["assigned"]) == (alice, "user")
    assert cat.scalar("SELECT COUNT(*) FROM rejections") == 0
    with pytest.raises(PeopleError, match="no face with id 9999"):
        people.move_faces(cat, [f, 9999], alice)
    with pytest.raises(PeopleError, match="no faces given"):
        people.move_faces(cat, [], alice)


def test_split_into_a_new_person_or_group(grouped):
    cat = grouped.cat
    alice = people.name_group(cat, grouped.group_of["A"], "Alice")
    two = grouped.ids["A"][:2]
    ref = undoable(grouped, lambda: people.split_faces(cat, two, "Alex"))
    assert ref[0] == "person" and people.person_by_name(cat, "Alex") == ref[1]
    assert {grouped.row(f)["person_id"] for f in two} == {ref[1]}
    assert {(r["face_id"], r["person_id"]) for r in cat.query("SELECT * FROM rejections")} == {
        (f, alice) for f in two
    }
    one = grouped.ids["A"][2:3]
    ref = undoable(grouped, lambda: people.split_faces(cat, one))
    assert ref[0] == "group" and grouped.row(one[0])["cluster_id"] == ref[1]
    assert ref[1] not in grouped.group_of.values()
    # the split-off face is never attached back to Alice by the system (Alex may be suggested)
    cluster(cat)
    assert grouped.row(one[0])["person_id"] != alice


def test_not_person_removes_and_remembers(grouped):
    cat = grouped.cat
    alice = people.name_group(cat, grouped.group_of["A"], "Alice")
    f = grouped.ids["A"][0]
    undoable(grouped, lambda: people.not_person(cat, [f], alice))
    row = grouped.row(f)
    assert (row["person_id"], row["assigned"], row["cluster_id"]) == (None, None, None)
    assert cat.query("SELECT face_id, person_id FROM rejections") == [{"face_id": f, "person_id": alice}]


def test_confirm_and_reject_suggestions(album, rng):
    cat = album.cat
    a = identity(rng)
    alice = people.name_faces(cat, album.faces_alone(faces_of_identity(rng, a, 5), "A"), "Alice")
    s1, s2 = album.faces_alone(faces_of_identity(rng, a, 2, spread=0.5), "A")
    cluster(cat)
    assert {album.row(s1)["assigned"], album.row(s2)["assigned"]} == {"suggested"}
    assert people.list_people(cat)[0].suggested_count == 2
    undoable(album, lambda: people.confirm_suggestions(cat, [s1]))
    assert (album.row(s1)["person_id"], album.row(s1)["assigned"]) == (alice, "user")
    undoable(album, lambda: people.reject_suggestions(cat, [s2]))
    assert album.row(s2)["person_id"] is None
    assert cat.query("SELECT face_id, person_id FROM rejections") == [{"face_id": s2, "person_id": alice}]
    with pytest.raises(PeopleError, match="no pending suggestion"):
        people.confirm_suggestions(cat, [s2])


def test_ignore_hide_cover_delete(grouped):
    cat = grouped.cat
    alice = people.name_group(cat, grouped.group_of["A"], "Alice")
    f = grouped.ids["A"][0]
    undoable(grouped, lambda: people.ignore_faces(cat, [f]))
    assert grouped.row(f)["ignored"] == 1 and grouped.row(f)["person_id"] is None
    undoable(grouped, lambda: people.ignore_faces(cat, [f], ignored=False))
    assert grouped.row(f)["ignored"] == 0

    undoable(grouped, lambda: people.hide_person(cat, alice))
    assert [p.name for p in people.list_people(cat) if p.name] == []
    assert [p.name for p in people.list_people(cat, include_hidden=True) if p.name] == ["Alice"]
    undoable(grouped, lambda: people.hide_person(cat, alice, hidden=False))

    cover = grouped.ids["A"][3]
    undoable(grouped, lambda: people.set_cover(cat, alice, cover))
    assert people.list_people(cat)[0].cover_face_id == cover
    with pytest.raises(PeopleError, match="is not one of Alice's faces"):
        people.set_cover(cat, alice, grouped.ids["B"][0])

    people.not_person(cat, [grouped.ids["B"][0]], alice)
    undoable(grouped, lambda: people.delete_person(cat, alice))
    assert cat.scalar("SELECT COUNT(*) FROM people") == 0
    assert cat.scalar("SELECT COUNT(*) FROM rejections") == 0
    assert all(
        grouped.row(x)["person_id"] is None and grouped.row(x)["assigned"] is None for x in grouped.ids["A"]
    )
    # the unassigned faces are grouped again by the next run
    cluster(cat)
    assert len({grouped.row(x)["cluster_id"] for x in grouped.ids["A"][1:]}) == 1


def test_name_faces_and_the_undo_history(grouped):
    cat = grouped.cat
    pid = undoable(grouped, lambda: people.name_faces(cat, grouped.ids["C"][:2], "Carol"))
    assert cat.can_undo() == "name 2 face(s) 'Carol'"
    with pytest.raises(NameExistsError):
        people.name_faces(cat, grouped.ids["C"][2:], "carol", merge=False)
    assert people.name_faces(cat, grouped.ids["C"][2:], "carol") == pid
    # several undos walk back in order
    cat.undo()
    cat.undo()
    assert cat.scalar("SELECT COUNT(*) FROM people") == 0
    assert cat.undo() is None and cat.can_redo() == "name 2 face(s) 'Carol'"
